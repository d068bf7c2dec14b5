/* daemon/core/submission_config.c — the [submission] section of mailvet.conf: SMTP AUTH and its rules. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <mailvet/util.h>

#include "submission_config.h"

void mvd_submission_conf_init(struct mvd_submission_conf *c)
{
	memset(c, 0, sizeof *c);
	c->auth_failures = MVD_SUBMIT_FAILURES_DEFAULT;
	c->auth_failure_window = MVD_SUBMIT_FAILURE_WINDOW;
	c->messages_per_hour = MVD_SUBMIT_MESSAGES_DEFAULT;
	c->recipients_per_message = MVD_SUBMIT_RECIPIENTS_DEFAULT;
	c->auth_timeout = MVD_SUBMIT_AUTH_TIMEOUT_DEFAULT;
}

/* A decimal in [min, max] into *out; 0 when it is not. */
static int number(const char *v, unsigned min, unsigned max, unsigned *out)
{
	char *end;
	unsigned long n;

	errno = 0;
	n = strtoul(v, &end, 10);
	if (errno || end == v || *end || v[0] == '-' || n < min || n > max)
		return 0;
	*out = (unsigned)n;
	return 1;
}

static int yesno(const char *v, int *out)
{
	if (strcmp(v, "yes") == 0 || strcmp(v, "no") == 0) {
		*out = v[0] == 'y';
		return 1;
	}
	return 0;
}

/* "passwd-file:/abs" or "dovecot:/abs" or "dovecot:inet:HOST:PORT" (or ""). */
static int sasl_ok(const char *v, char *why, size_t whylen)
{
	const char *path = NULL;

	if (v[0] == '\0')
		return 1;
	if (strncmp(v, "passwd-file:", 12) == 0)
		path = v + 12;
	else if (strncmp(v, "dovecot:inet:", 13) == 0)
		return strchr(v + 13, ':') != NULL ||
		       (snprintf(why, whylen, "sasl = \"%s\": expected dovecot:inet:HOST:PORT", v),
		        0);
	else if (strncmp(v, "dovecot:", 8) == 0)
		path = v + 8;
	if (!path) {
		snprintf(
		        why, whylen,
		        "sasl = \"%s\": expected passwd-file:/path or dovecot:/path/to/auth-client",
		        v);
		return 0;
	}
	if (path[0] != '/') {
		snprintf(why, whylen,
		         "sasl = \"%s\": the path must be absolute (the daemon works "
		         "from /)",
		         v);
		return 0;
	}
	return 1;
}

static int set_string(char **dst, const char *v, char *why, size_t whylen)
{
	char *s = strdup(v);

	if (!s) {
		snprintf(why, whylen, "out of memory");
		return -1;
	}
	free(*dst);
	*dst = s;
	return 0;
}

/* "a.example, b.example" (commas or blanks) into the list, lowercased, trailing dot cut. */
static int set_domains(struct mvd_submission_conf *c, const char *v, char *why, size_t whylen)
{
	const char *p = v;

	while (*p) {
		size_t n;
		char *d, **g;

		p += strspn(p, ", \t");
		n = strcspn(p, ", \t");
		if (n == 0)
			break;
		if (n > 253 || memchr(p, '@', n)) {
			snprintf(why, whylen, "local_domains: \"%.*s\" is not a domain", (int)n, p);
			return -1;
		}
		if (!(d = mv_strndup(p, p[n - 1] == '.' ? n - 1 : n)) ||
		    !(g = realloc(c->local_domains, (c->nlocal_domains + 1) * sizeof *g))) {
			free(d);
			snprintf(why, whylen, "out of memory");
			return -1;
		}
		for (char *q = d; *q; q++)
			*q = mv_ascii_tolower(*q);
		c->local_domains = g;
		c->local_domains[c->nlocal_domains++] = d;
		p += n;
	}
	return 0;
}

int mvd_submission_conf_set(struct mvd_submission_conf *c, const char *key, const char *value,
                            char *why, size_t whylen)
{
	static const struct {
		const char *key;
		size_t off;
		unsigned min, max;
	} nums[] = {
	        {"auth_failures", offsetof(struct mvd_submission_conf, auth_failures), 1, 1000},
	        {"auth_failure_window", offsetof(struct mvd_submission_conf, auth_failure_window),
	         1, 86400},
	        {"messages_per_hour", offsetof(struct mvd_submission_conf, messages_per_hour), 0,
	         1000000},
	        {"recipients_per_message",
	         offsetof(struct mvd_submission_conf, recipients_per_message), 0, 100000},
	        {"auth_timeout", offsetof(struct mvd_submission_conf, auth_timeout), 1, 300},
	};

	if (strcmp(key, "sasl") == 0)
		return sasl_ok(value, why, whylen) ? set_string(&c->sasl, value, why, whylen) : -1;
	if (strcmp(key, "sender_login_map") == 0) {
		if (value[0] && value[0] != '/') {
			snprintf(why, whylen, "sender_login_map = \"%s\": must be an absolute path",
			         value);
			return -1;
		}
		return set_string(&c->sender_login_map, value, why, whylen);
	}
	if (strcmp(key, "local_domains") == 0)
		return set_domains(c, value, why, whylen);
	if (strcmp(key, "allow_authzid") == 0 || strcmp(key, "received_login") == 0) {
		if (!yesno(value, key[0] == 'a' ? &c->allow_authzid : &c->received_login)) {
			snprintf(why, whylen, "%s: expected yes or no, not \"%s\"", key, value);
			return -1;
		}
		return 0;
	}
	for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++) {
		if (strcmp(key, nums[i].key) != 0)
			continue;
		if (!number(value, nums[i].min, nums[i].max,
		            (unsigned *)((char *)c + nums[i].off))) {
			snprintf(why, whylen, "%s: expected a number from %u to %u, not \"%s\"",
			         key, nums[i].min, nums[i].max, value);
			return -1;
		}
		return 0;
	}
	snprintf(why, whylen, "unknown key \"%s\" in [submission]", key);
	return -1;
}

int mvd_submission_local_domain(const struct mvd_submission_conf *c, const char *domain)
{
	size_t n = strlen(domain);

	if (n && domain[n - 1] == '.')
		n--;
	for (size_t i = 0; i < c->nlocal_domains; i++)
		if (strlen(c->local_domains[i]) == n &&
		    mv_ascii_ieq(domain, n, c->local_domains[i]))
			return 1;
	return 0;
}

void mvd_submission_conf_free(struct mvd_submission_conf *c)
{
	free(c->sasl);
	free(c->sender_login_map);
	for (size_t i = 0; i < c->nlocal_domains; i++)
		free(c->local_domains[i]);
	free(c->local_domains);
	memset(c, 0, sizeof *c);
}
