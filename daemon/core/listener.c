/* daemon/core/listener.c — the [listener NAME] sections: a table of keys, defaults, checks. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <mailvet/util.h>

#include "listener.h"

enum lkey_type { LK_STR, LK_BOOL, LK_UINT, LK_SIZE, LK_ENUM, LK_CIDR };

struct lkey {
	const char *name;
	enum lkey_type type;
	size_t off;
	unsigned long min, max;
	const char *const *names; /* LK_ENUM: value i is names[i] */
};

static const char *const roles[] = {"inbound", "submission", NULL};
static const char *const tls_modes[] = {"none", "starttls", "implicit", NULL};
static const char *const protos[] = {"smtp", "lmtp", NULL};
static const char *const advs[] = {"id", "bare", "off", NULL};

#define O(f) offsetof(struct mvd_listener_conf, f)
static const struct lkey lkeys[] = {
        {"role", LK_ENUM, O(role), 0, 0, roles},
        {"listen", LK_STR, O(listen), 0, 0, NULL},
        {"next_hop", LK_STR, O(next_hop), 0, 0, NULL},
        {"next_hop_protocol", LK_ENUM, O(next_hop_proto), 0, 0, protos},
        {"authserv_advertise", LK_ENUM, O(authserv_adv), 0, 0, advs},
        {"max_message_size", LK_SIZE, O(max_message_size), 1024, (unsigned long)1 << 31, NULL},
        {"max_header_size", LK_SIZE, O(max_header_size), 4096, (unsigned long)16 << 20, NULL},
        {"max_recipients", LK_UINT, O(max_recipients), 100, 100000, NULL},
        {"max_connections", LK_UINT, O(max_connections), 1, 100000, NULL},
        {"timeout_command", LK_UINT, O(timeout_command), 1, 3600, NULL},
        {"timeout_data", LK_UINT, O(timeout_data), 1, 3600, NULL},
        {"next_hop_timeout", LK_UINT, O(next_hop_timeout), 1, 3600, NULL},
        {"next_hop_data_timeout", LK_UINT, O(next_hop_data_final), 1, 3600, NULL},
        {"xclient", LK_BOOL, O(xclient), 0, 0, NULL},
        {"tls_cert", LK_STR, O(tls_cert), 0, 0, NULL},
        {"tls_key", LK_STR, O(tls_key), 0, 0, NULL},
        {"tls", LK_ENUM, O(tls_mode), 0, 0, tls_modes},
        {"auth", LK_BOOL, O(auth), 0, 0, NULL},
        {"hostname", LK_STR, O(hostname), 0, 0, NULL},
        {"proxy_from", LK_CIDR, O(proxy_from), 0, 0, NULL},
};
#undef O

static int dup_into(char **dst, const char *v)
{
	char *s = strdup(v);

	if (!s)
		return -1;
	free(*dst);
	*dst = s;
	return 0;
}

/* Defaults of mailvet.conf(5); RFC 5321 §4.5.3.2 for the timeouts. */
static int defaults(struct mvd_listener_conf *c, const char *name)
{
	memset(c, 0, sizeof *c);
	c->role = MVD_ROLE_INBOUND;
	c->next_hop_proto = MVD_NEXT_HOP_SMTP;
	c->tls_mode = MVD_TLS_STARTTLS;
	c->authserv_adv = MVD_AUTHSERV_ID;
	c->max_message_size = 10240000; /* Postfix's message_size_limit */
	c->max_header_size = (size_t)1 << 20;
	c->max_recipients = 1000;
	c->max_connections = 1000;
	c->timeout_command = 300;
	c->timeout_data = 180;
	c->next_hop_timeout = 300;
	c->next_hop_data_final = 600;
	if (dup_into(&c->name, name) || dup_into(&c->listen, "") || dup_into(&c->next_hop, "") ||
	    dup_into(&c->tls_cert, "") || dup_into(&c->tls_key, "") || dup_into(&c->hostname, ""))
		return -1;
	return 0;
}

static void conf_free(struct mvd_listener_conf *c)
{
	free(c->name);
	free(c->listen);
	free(c->next_hop);
	free(c->tls_cert);
	free(c->tls_key);
	free(c->hostname);
	mv_cidr_list_free(&c->proxy_from);
}

static struct mvd_listener_conf *section_get(struct mvd_listeners *l, const char *name)
{
	struct mvd_listener_conf *grown;

	for (size_t i = 0; i < l->count; i++)
		if (strcmp(l->item[i].name, name) == 0)
			return &l->item[i];
	if (!(grown = realloc(l->item, (l->count + 1) * sizeof *grown)))
		return NULL;
	l->item = grown;
	if (defaults(&l->item[l->count], name) != 0) {
		conf_free(&l->item[l->count]);
		return NULL;
	}
	return &l->item[l->count++];
}

static int parse_bool(const char *v, int *out)
{
	static const char *const yes[] = {"yes", "true", "on", "1"};
	static const char *const no[] = {"no", "false", "off", "0"};

	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(v, yes[i]) == 0)
			return *out = 1, 1;
		if (strcasecmp(v, no[i]) == 0)
			return *out = 0, 1;
	}
	return 0;
}

/* A decimal number in [min, max] with an optional k/M/G suffix (powers of 1024). */
static int parse_num(const char *v, unsigned long min, unsigned long max, int suffix,
                     unsigned long *out)
{
	char *end;
	unsigned long n;

	if (*v < '0' || *v > '9')
		return 0;
	n = strtoul(v, &end, 10);
	if (suffix && *end) {
		unsigned shift = *end == 'k' || *end == 'K' ? 10
		                 : *end == 'M'              ? 20
		                 : *end == 'G'              ? 30
		                                            : 0;
		if (!shift || end[1] || n > (max >> shift))
			return 0;
		n <<= shift;
		end++;
	}
	if (*end || n < min || n > max)
		return 0;
	*out = n;
	return 1;
}

static int set_one(struct mvd_listener_conf *c, const struct lkey *k, const char *v, char *why,
                   size_t whylen)
{
	char *field = (char *)c + k->off;
	unsigned long n;
	int b;

	switch (k->type) {
	case LK_STR:
		if (dup_into((char **)(void *)field, v) != 0)
			return snprintf(why, whylen, "out of memory"), -1;
		return 0;
	case LK_BOOL:
		if (!parse_bool(v, &b))
			return snprintf(why, whylen, "%s: expected yes or no, not \"%s\"", k->name,
			                v),
			       -1;
		*(int *)(void *)field = b;
		return 0;
	case LK_UINT:
	case LK_SIZE:
		if (!parse_num(v, k->min, k->max, k->type == LK_SIZE, &n))
			return snprintf(why, whylen,
			                "%s: expected a number from %lu to %lu, not \"%s\"",
			                k->name, k->min, k->max, v),
			       -1;
		if (k->type == LK_UINT)
			*(unsigned *)(void *)field = (unsigned)n;
		else
			*(size_t *)(void *)field = n;
		return 0;
	case LK_CIDR:
		if (mv_cidr_list_add((struct mv_cidr_list *)(void *)field, v) != MV_OK)
			return snprintf(why, whylen, "%s: bad address or network in \"%s\"",
			                k->name, v),
			       -1;
		return 0;
	case LK_ENUM:
		for (int i = 0; k->names[i]; i++)
			if (strcmp(v, k->names[i]) == 0)
				return *(int *)(void *)field = i, 0;
		snprintf(why, whylen, "%s: \"%s\" is not one of the allowed values", k->name, v);
		return -1;
	}
	return snprintf(why, whylen, "internal error"), -1;
}

int mvd_listener_set(struct mvd_listeners *l, const char *section, const char *key,
                     const char *value, char *why, size_t whylen)
{
	struct mvd_listener_conf *c;

	if (!*section || strcspn(section, " \t[]") != strlen(section) || strlen(section) > 64)
		return snprintf(why, whylen, "[listener NAME]: bad name \"%s\"", section), -1;
	if (!(c = section_get(l, section)))
		return snprintf(why, whylen, "out of memory"), -1;
	for (size_t i = 0; i < sizeof lkeys / sizeof lkeys[0]; i++)
		if (strcmp(lkeys[i].name, key) == 0)
			return set_one(c, &lkeys[i], value, why, whylen);
	snprintf(why, whylen, "unknown key \"%s\" in [listener %s]", key, section);
	return -1;
}

int mvd_listener_split_addr(const char *spec, char *host, size_t hostlen, unsigned *port)
{
	const char *colon, *h = spec;
	size_t hl;
	unsigned long n;

	if (*spec == '[') {
		const char *close = strchr(spec, ']');
		if (!close || close[1] != ':')
			return -1;
		h = spec + 1;
		hl = (size_t)(close - h);
		colon = close + 1;
	} else {
		if (!(colon = strrchr(spec, ':')) || memchr(spec, ':', (size_t)(colon - spec)))
			return -1;
		hl = (size_t)(colon - spec);
	}
	if (hl == 0 || hl >= hostlen || !parse_num(colon + 1, 1, 65535, 0, &n))
		return -1;
	memcpy(host, h, hl);
	host[hl] = '\0';
	*port = (unsigned)n;
	return 0;
}

static int next_hop_ok(const char *spec)
{
	char host[256];
	unsigned port;

	if (strncmp(spec, "unix:", 5) == 0)
		return spec[5] == '/';
	if (strncmp(spec, "inet:", 5) == 0)
		return mvd_listener_split_addr(spec + 5, host, sizeof host, &port) == 0;
	return 0;
}

enum mv_status mvd_listeners_check(const struct mvd_listeners *l, char *err, size_t errlen)
{
	char host[256];
	unsigned port;

	for (size_t i = 0; i < l->count; i++) {
		const struct mvd_listener_conf *c = &l->item[i];

		if (mvd_listener_split_addr(c->listen, host, sizeof host, &port) != 0) {
			snprintf(err, errlen,
			         "[listener %s] listen: expected ADDRESS:PORT or [IPV6]:PORT, not "
			         "\"%s\"",
			         c->name, c->listen);
			return MV_ESYNTAX;
		}
		if (!next_hop_ok(c->next_hop)) {
			snprintf(err, errlen,
			         "[listener %s] next_hop: expected inet:HOST:PORT or unix:/path, "
			         "not \"%s\"",
			         c->name, c->next_hop);
			return MV_ESYNTAX;
		}
		if (!c->tls_cert[0] != !c->tls_key[0]) {
			snprintf(err, errlen, "[listener %s] tls_cert and tls_key go together",
			         c->name);
			return MV_ESYNTAX;
		}
		if (c->tls_mode == MVD_TLS_IMPLICIT && !c->tls_cert[0]) {
			snprintf(err, errlen,
			         "[listener %s] tls = implicit needs tls_cert and tls_key",
			         c->name);
			return MV_ESYNTAX;
		}
		if ((c->role == MVD_ROLE_SUBMISSION || c->auth) &&
		    (!c->tls_cert[0] || c->tls_mode == MVD_TLS_NONE)) {
			snprintf(err, errlen,
			         "[listener %s] %s: AUTH is only offered over TLS, so tls_cert and "
			         "tls_key must be set (and tls not none)",
			         c->name, c->auth ? "auth = yes" : "role = submission");
			return MV_ESYNTAX;
		}
		if (strcspn(c->hostname, " \t\r\n") != strlen(c->hostname)) {
			snprintf(err, errlen, "[listener %s] hostname: one word", c->name);
			return MV_ESYNTAX;
		}
		for (size_t j = 0; j < i; j++)
			if (strcmp(l->item[j].listen, c->listen) == 0) {
				snprintf(err, errlen,
				         "[listener %s] listens on %s like [listener %s]", c->name,
				         c->listen, l->item[j].name);
				return MV_ESYNTAX;
			}
	}
	return MV_OK;
}

const struct mvd_listener_conf *mvd_listener_find(const struct mvd_listeners *l, const char *name)
{
	for (size_t i = 0; i < l->count; i++)
		if (strcmp(l->item[i].name, name) == 0)
			return &l->item[i];
	return NULL;
}

void mvd_listeners_free(struct mvd_listeners *l)
{
	for (size_t i = 0; i < l->count; i++)
		conf_free(&l->item[i]);
	free(l->item);
	l->item = NULL;
	l->count = 0;
}
