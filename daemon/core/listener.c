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

static const char *const roles[] = {"inbound", "imap", "pop3", "submission", NULL};
static const char *const tlsmodes[] = {"none", "starttls", "implicit", NULL};
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
        {"hostname", LK_STR, O(hostname), 0, 0, NULL},
        {"proxy_from", LK_CIDR, O(proxy_from), 0, 0, NULL},
        {"upstream", LK_STR, O(upstream), 0, 0, NULL},
        {"tls", LK_ENUM, O(tls_mode), 0, 0, tlsmodes},
        {"auth", LK_BOOL, O(auth), 0, 0, NULL},
        {"upstream_tls", LK_BOOL, O(upstream_tls), 0, 0, NULL},
        {"timeout_idle", LK_UINT, O(timeout_idle), 1, 86400, NULL},
        {"authserv_id", LK_STR, O(authserv_id), 0, 0, NULL},
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
	c->authserv_adv = MVD_AUTHSERV_ID;
	c->max_message_size = 10240000; /* Postfix's message_size_limit */
	c->max_header_size = (size_t)1 << 20;
	c->max_recipients = 1000;
	c->max_connections = 1000;
	c->timeout_command = 300;
	c->timeout_data = 180;
	c->next_hop_timeout = 300;
	c->next_hop_data_final = 600;
	c->timeout_idle = 1800; /* RFC 9051 §5.4: an autologout timer of at least 30 minutes */
	if (dup_into(&c->name, name) || dup_into(&c->listen, "") || dup_into(&c->next_hop, "") ||
	    dup_into(&c->tls_cert, "") || dup_into(&c->tls_key, "") || dup_into(&c->hostname, "") ||
	    dup_into(&c->upstream, "") || dup_into(&c->authserv_id, ""))
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
	free(c->upstream);
	free(c->authserv_id);
	mv_cidr_list_free(&c->proxy_from);
}

static int is_proxy(const struct mvd_listener_conf *c)
{
	return c->role == MVD_ROLE_IMAP || c->role == MVD_ROLE_POP3;
}

/*
 * After role is set: keep the section in the array of its kind (SMTP or
 * proxy), so that daemon/smtp never sees a proxy. Returns the section's
 * new place, or NULL when out of memory.
 */
static struct mvd_listener_conf *file_by_role(struct mvd_listeners *l, struct mvd_listener_conf *c)
{
	struct mvd_listener_conf **from = &l->item, **to = &l->proxy, *grown;
	size_t *nfrom = &l->count, *nto = &l->nproxy, at;

	if (!is_proxy(c)) {
		from = &l->proxy, nfrom = &l->nproxy;
		to = &l->item, nto = &l->count;
	}
	if (c < *from || c >= *from + *nfrom)
		return c; /* already where it belongs */
	if (!(grown = realloc(*to, (*nto + 1) * sizeof *grown)))
		return NULL;
	*to = grown;
	at = (size_t)(c - *from);
	grown[(*nto)++] = *c;
	memmove(*from + at, *from + at + 1, (*nfrom - at - 1) * sizeof **from);
	(*nfrom)--;
	return &grown[*nto - 1];
}

static struct mvd_listener_conf *section_get(struct mvd_listeners *l, const char *name)
{
	struct mvd_listener_conf *grown;

	for (size_t i = 0; i < l->count; i++)
		if (strcmp(l->item[i].name, name) == 0)
			return &l->item[i];
	for (size_t i = 0; i < l->nproxy; i++)
		if (strcmp(l->proxy[i].name, name) == 0)
			return &l->proxy[i];
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
	for (size_t i = 0; i < sizeof lkeys / sizeof lkeys[0]; i++) {
		if (strcmp(lkeys[i].name, key) != 0)
			continue;
		if (set_one(c, &lkeys[i], value, why, whylen) != 0)
			return -1;
		if (lkeys[i].type == LK_ENUM && lkeys[i].names == roles && !file_by_role(l, c))
			return snprintf(why, whylen, "out of memory"), -1;
		return 0;
	}
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

/* The checks of a role inbound section; 0, or -1 with the reason in err. */
static int check_smtp(const struct mvd_listener_conf *c, char *err, size_t errlen, const char **key)
{
	*key = "next_hop";
	if (!next_hop_ok(c->next_hop)) {
		snprintf(
		        err, errlen,
		        "[listener %s] next_hop: expected inet:HOST:PORT or unix:/path, not \"%s\"",
		        c->name, c->next_hop);
		return -1;
	}
	*key = c->tls_cert[0] ? "tls_cert" : "tls_key";
	if (!c->tls_cert[0] != !c->tls_key[0]) {
		snprintf(err, errlen, "[listener %s] tls_cert and tls_key go together", c->name);
		return -1;
	}
	*key = "tls";
	if (c->tls_mode == MVD_TLS_IMPLICIT && !c->tls_cert[0]) {
		snprintf(err, errlen, "[listener %s] tls = implicit needs tls_cert and tls_key",
		         c->name);
		return -1;
	}
	*key = c->auth ? "auth" : "role";
	if ((c->role == MVD_ROLE_SUBMISSION || c->auth) && mvd_listener_tls(c) == MVD_TLS_NONE) {
		snprintf(err, errlen,
		         "[listener %s] %s: AUTH is only offered over TLS, so tls_cert and tls_key "
		         "must be set",
		         c->name, c->auth ? "auth = yes" : "role = submission");
		return -1;
	}
	*key = "hostname";
	if (strcspn(c->hostname, " \t\r\n") != strlen(c->hostname)) {
		snprintf(err, errlen, "[listener %s] hostname: one word", c->name);
		return -1;
	}
	return 0;
}

enum mvd_tls_mode mvd_listener_tls(const struct mvd_listener_conf *c)
{
	if (c->role == MVD_ROLE_IMAP || c->role == MVD_ROLE_POP3 || c->tls_mode == MVD_TLS_IMPLICIT)
		return c->tls_mode;
	return c->tls_cert[0] && c->tls_key[0] ? MVD_TLS_STARTTLS : MVD_TLS_NONE;
}

/* The checks of a role imap or pop3 section; 0, or -1 with the reason in err. */
static int check_proxy(const struct mvd_listener_conf *c, char *err, size_t errlen,
                       const char **key)
{
	*key = "upstream";
	if (!next_hop_ok(c->upstream)) {
		snprintf(
		        err, errlen,
		        "[listener %s] upstream: expected inet:HOST:PORT or unix:/path, not \"%s\"",
		        c->name, c->upstream);
		return -1;
	}
	*key = "next_hop";
	if (c->next_hop[0]) {
		snprintf(err, errlen, "[listener %s] next_hop is for role inbound; use upstream",
		         c->name);
		return -1;
	}
	*key = "tls";
	if (c->tls_mode != MVD_TLS_NONE && (!c->tls_cert[0] || !c->tls_key[0])) {
		snprintf(err, errlen, "[listener %s] tls = %s needs tls_cert and tls_key", c->name,
		         c->tls_mode == MVD_TLS_IMPLICIT ? "implicit" : "starttls");
		return -1;
	}
	*key = c->tls_cert[0] ? "tls_cert" : "tls_key";
	if (c->tls_mode == MVD_TLS_NONE && (c->tls_cert[0] || c->tls_key[0])) {
		snprintf(err, errlen,
		         "[listener %s] tls_cert and tls_key need tls = starttls or implicit",
		         c->name);
		return -1;
	}
	*key = "authserv_id";
	if (strcspn(c->authserv_id, " \t\r\n;()\"\\") != strlen(c->authserv_id)) {
		snprintf(err, errlen, "[listener %s] authserv_id must be a domain name", c->name);
		return -1;
	}
	return 0;
}

/* The i-th section of either kind (SMTP first, then proxies). */
static const struct mvd_listener_conf *nth(const struct mvd_listeners *l, size_t i)
{
	return i < l->count ? &l->item[i] : &l->proxy[i - l->count];
}

enum mv_status mvd_listeners_check_at(const struct mvd_listeners *l, char *err, size_t errlen,
                                      const char **name, const char **key)
{
	char host[256];
	unsigned port;
	const char *k;

	for (size_t i = 0; i < l->count + l->nproxy; i++) {
		const struct mvd_listener_conf *c = nth(l, i);

		*name = c->name;
		*key = "listen";
		if (mvd_listener_split_addr(c->listen, host, sizeof host, &port) != 0) {
			snprintf(err, errlen,
			         "[listener %s] listen: expected ADDRESS:PORT or [IPV6]:PORT, not "
			         "\"%s\"",
			         c->name, c->listen);
			return MV_ESYNTAX;
		}
		if ((is_proxy(c) ? check_proxy : check_smtp)(c, err, errlen, &k) != 0)
			return *key = k, MV_ESYNTAX;
		*key = "listen";
		for (size_t j = 0; j < i; j++)
			if (strcmp(nth(l, j)->listen, c->listen) == 0) {
				snprintf(err, errlen,
				         "[listener %s] listens on %s like [listener %s]", c->name,
				         c->listen, nth(l, j)->name);
				return MV_ESYNTAX;
			}
	}
	return MV_OK;
}

enum mv_status mvd_listeners_check(const struct mvd_listeners *l, char *err, size_t errlen)
{
	const char *name, *key;

	return mvd_listeners_check_at(l, err, errlen, &name, &key);
}

const struct mvd_listener_conf *mvd_listener_find(const struct mvd_listeners *l, const char *name)
{
	for (size_t i = 0; i < l->count + l->nproxy; i++)
		if (strcmp(nth(l, i)->name, name) == 0)
			return nth(l, i);
	return NULL;
}

void mvd_listeners_free(struct mvd_listeners *l)
{
	for (size_t i = 0; i < l->count; i++)
		conf_free(&l->item[i]);
	for (size_t i = 0; i < l->nproxy; i++)
		conf_free(&l->proxy[i]);
	free(l->item);
	free(l->proxy);
	l->item = l->proxy = NULL;
	l->count = l->nproxy = 0;
}
