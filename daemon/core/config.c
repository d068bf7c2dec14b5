/* daemon/core/config.c — mailvet.conf: defaults, a table of keys, parsing with inih, checks. */
#include <errno.h>
#include <ini.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mailvet/util.h>

#include "config.h"
#include "log.h"

#define MAX_CONFIG_BYTES ((size_t)1 << 20)
#define DOMAIN_PREFIX "domain "
#define LISTENER_PREFIX "listener "

/* How a key's value is read. */
enum key_type {
	KEY_STR,   /* char * */
	KEY_BOOL,  /* int, yes/no */
	KEY_UINT,  /* unsigned, within [min, max] */
	KEY_SIZE,  /* size_t, within [min, max] */
	KEY_OCTAL, /* unsigned, octal (umask) */
	KEY_ENUM,  /* int-sized enum, one of names[] */
	KEY_LIST,  /* struct mvd_strlist, words accumulate */
	KEY_CIDR,  /* struct mv_cidr_list, networks accumulate */
	KEY_CANON, /* "simple/relaxed" into sign_hcanon, sign_bcanon */
};

struct key {
	const char *section, *name;
	enum key_type type;
	size_t off;
	unsigned long min, max;
	const char *const *names; /* KEY_ENUM: value i is names[i] */
};

static const char *const log_dests[] = {"syslog", "stderr", NULL};
static const char *const log_formats[] = {"kv", "json", NULL};
static const char *const quarantine_modes[] = {"milter", "header", NULL};
static const char *const fail_modes[] = {"tempfail", "accept", NULL};
static const char *const refuse_modes[] = {"reject", "tempfail", NULL};

/*
 * The daemon's own keys. [verify] also takes every key of lib/verify's
 * settings table (mv_verify_settings()), read by verify_key().
 */
#define O(f) offsetof(struct mvd_config, f)
static const struct key keys[] = {
        {"milter", "socket", KEY_STR, O(socket), 0, 0, NULL},
        {"milter", "user", KEY_STR, O(user), 0, 0, NULL},
        {"milter", "group", KEY_STR, O(group), 0, 0, NULL},
        {"privsep", "key_user", KEY_STR, O(key_user), 0, 0, NULL},
        {"privsep", "auth_user", KEY_STR, O(auth_user), 0, 0, NULL},
        {"milter", "pid_file", KEY_STR, O(pid_file), 0, 0, NULL},
        {"milter", "socket_group", KEY_STR, O(socket_group), 0, 0, NULL},
        {"milter", "socket_umask", KEY_OCTAL, O(socket_umask), 0, 0777, NULL},
        {"milter", "timeout", KEY_UINT, O(milter_timeout), 1, 86400, NULL},
        {"milter", "drain_timeout", KEY_UINT, O(drain_timeout), 0, 3600, NULL},
        {"log", "destination", KEY_ENUM, O(log_dest), 0, 0, log_dests},
        {"log", "facility", KEY_STR, O(log_facility), 0, 0, NULL},
        {"log", "format", KEY_ENUM, O(log_format), 0, 0, log_formats},
        {"log", "debug", KEY_BOOL, O(log_debug), 0, 0, NULL},
        {"verify", "authserv_id", KEY_STR, O(authserv_id), 0, 0, NULL},
        {"verify", "authserv_subdomains", KEY_BOOL, O(authserv_subdomains), 0, 0, NULL},
        {"verify", "internal_hosts", KEY_CIDR, O(internal_hosts), 0, 0, NULL},
        {"verify", "trust_internal_versions", KEY_BOOL, O(trust_versions), 0, 0, NULL},
        {"verify", "delete_foreign", KEY_BOOL, O(delete_foreign), 0, 0, NULL},
        {"policy", "quarantine", KEY_ENUM, O(quarantine), 0, 0, quarantine_modes},
        {"policy", "quarantine_header", KEY_STR, O(quarantine_header), 0, 0, NULL},
        {"policy", "on_error", KEY_ENUM, O(on_error), 0, 0, fail_modes},
        {"policy", "unreadable_header", KEY_ENUM, O(unreadable_header), 0, 0, refuse_modes},
        {"policy", "trusted_arc_sealers", KEY_LIST, O(trusted_arc_sealers), 0, 0, NULL},
        {"dns", "resolver", KEY_STR, O(resolver), 0, 0, NULL},
        {"dns", "timeout_ms", KEY_UINT, O(dns_timeout_ms), 100, 60000, NULL},
        {"dns", "trust_anchor_file", KEY_STR, O(trust_anchor_file), 0, 0, NULL},
        {"dns", "zone_file", KEY_STR, O(zone_file), 0, 0, NULL},
        {"outbound", "sign", KEY_BOOL, O(sign), 0, 0, NULL},
        {"outbound", "arc_seal", KEY_BOOL, O(arc_seal), 0, 0, NULL},
        {"outbound", "authentication_results", KEY_BOOL, O(outbound_results), 0, 0, NULL},
        {"outbound", "max_message_bytes", KEY_SIZE, O(sign_max_bytes), 1024, (unsigned long)1 << 30,
         NULL},
        {"outbound", "canonicalization", KEY_CANON, 0, 0, 0, NULL},
        {"outbound", "headers", KEY_STR, O(sign_headers), 0, 0, NULL},
        {"outbound", "expire", KEY_UINT, O(sign_expire), 0, 315360000, NULL},
        {"signing", "key_table", KEY_STR, O(key_table), 0, 0, NULL},
        {"signing", "signing_table", KEY_STR, O(signing_table), 0, 0, NULL},
        {"signing", "key_directory", KEY_STR, O(key_directory), 0, 0, NULL},
};
#undef O

/*
 * Parser state handed to the inih callbacks. The reader hands inih one
 * line at a time, so `line` is the line the handler is called for, and
 * `cont` says whether it is a continuation line (it starts with a blank).
 */
struct parse_ctx {
	struct mvd_config *c;
	char *err;
	size_t errlen;
	int failed;
	unsigned fail_line;
	unsigned char seen[sizeof keys / sizeof keys[0]]; /* list keys met in the file */
	const char *text;                                 /* the reader's position */
	unsigned line;
	int cont, at_line_start;
	struct mvd_config_line *sections; /* the section lines met, to refuse a second */
	size_t nsections;
};

static int fail(struct parse_ctx *p, const char *fmt, ...) MV_PRINTF(2, 3);
static int fail(struct parse_ctx *p, const char *fmt, ...)
{
	va_list ap;

	if (!p->failed && p->err && p->errlen) {
		va_start(ap, fmt);
		vsnprintf(p->err, p->errlen, fmt, ap);
		va_end(ap);
		p->fail_line = p->line;
	}
	p->failed = 1;
	return 0;
}

/* Append {section, name, line} to *v (n entries). 0 when out of memory. */
static int line_add(struct mvd_config_line **v, size_t *n, const char *section, const char *name,
                    unsigned line)
{
	struct mvd_config_line *grown = realloc(*v, (*n + 1) * sizeof *grown);

	if (!grown)
		return 0;
	*v = grown;
	grown[*n].section = strdup(section);
	grown[*n].name = strdup(name);
	grown[*n].line = line;
	(*n)++;
	return grown[*n - 1].section && grown[*n - 1].name;
}

static const struct mvd_config_line *line_find(const struct mvd_config_line *v, size_t n,
                                               const char *section, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i].section, section) == 0 && strcmp(v[i].name, name) == 0)
			return &v[i];
	return NULL;
}

/*
 * Note that section/name is set on this line. A key other than a list key
 * (repeat = 1) met again on a line that does not continue it is refused:
 * a second value would silently win or be lost.
 */
static int note_key(struct parse_ctx *p, const char *section, const char *name, int repeat)
{
	const struct mvd_config_line *l = line_find(p->c->lines, p->c->nlines, section, name);

	if (!l)
		return line_add(&p->c->lines, &p->c->nlines, section, name, p->line)
		               ? 1
		               : fail(p, "out of memory");
	if (!repeat && !p->cont && l->line != p->line)
		return fail(p, "\"%s\" is set twice in [%s] (first at line %u)", name, section,
		            l->line);
	return 1;
}

static int set_str(char **dst, const char *v)
{
	char *s = strdup(v);

	if (!s)
		return 0;
	free(*dst);
	*dst = s;
	return 1;
}

/* yes/no as lib/verify's settings read it, so every boolean key is spelt alike. */
static int parse_bool(const char *v, int *out)
{
	return mv_verify_setting_bool(v, out) == MV_OK;
}

static int parse_ulong(const char *v, int base, unsigned long min, unsigned long max,
                       unsigned long *out)
{
	char *end;
	unsigned long n;

	if (*v < '0' || *v > '9')
		return 0;
	errno = 0;
	n = strtoul(v, &end, base);
	if (errno || *end || n < min || n > max)
		return 0;
	*out = n;
	return 1;
}

static int parse_canon(const char *v, enum mv_canon *h, enum mv_canon *b)
{
	static const struct {
		const char *text;
		enum mv_canon h, b;
	} forms[] = {
	        {"simple", MV_CANON_SIMPLE, MV_CANON_SIMPLE},
	        {"relaxed", MV_CANON_RELAXED, MV_CANON_SIMPLE},
	        {"simple/simple", MV_CANON_SIMPLE, MV_CANON_SIMPLE},
	        {"simple/relaxed", MV_CANON_SIMPLE, MV_CANON_RELAXED},
	        {"relaxed/simple", MV_CANON_RELAXED, MV_CANON_SIMPLE},
	        {"relaxed/relaxed", MV_CANON_RELAXED, MV_CANON_RELAXED},
	};

	for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
		if (strcmp(v, forms[i].text) == 0) {
			*h = forms[i].h;
			*b = forms[i].b;
			return 1;
		}
	}
	return 0;
}

/* Append each word of v (separated by spaces or commas) to l. */
static int list_add(struct mvd_strlist *l, const char *v)
{
	while (*v) {
		size_t n;
		char **grown;

		while (*v == ' ' || *v == '\t' || *v == ',')
			v++;
		n = strcspn(v, " \t,");
		if (n == 0)
			break;
		grown = realloc(l->item, (l->count + 1) * sizeof *grown);
		if (!grown)
			return 0;
		l->item = grown;
		if (!(l->item[l->count] = mv_strndup(v, n)))
			return 0;
		mv_ascii_lower(l->item[l->count], n);
		l->count++;
		v += n;
	}
	return 1;
}

static void list_free(struct mvd_strlist *l)
{
	for (size_t i = 0; i < l->count; i++)
		free(l->item[i]);
	free(l->item);
	l->item = NULL;
	l->count = 0;
}

/* Store value v of key k into the configuration. */
static int set_key(struct parse_ctx *p, const struct key *k, const char *v)
{
	char *field = (char *)p->c + k->off;
	unsigned long n;
	int b;

	/* A list key in the file replaces its default; later lines add to it. */
	if (!p->seen[k - keys]) {
		p->seen[k - keys] = 1;
		if (k->type == KEY_LIST)
			list_free((struct mvd_strlist *)(void *)field);
		else if (k->type == KEY_CIDR)
			mv_cidr_list_free((struct mv_cidr_list *)(void *)field);
	}

	switch (k->type) {
	case KEY_STR:
		return set_str((char **)(void *)field, v) ? 1 : fail(p, "out of memory");
	case KEY_BOOL:
		if (!parse_bool(v, &b))
			return fail(p, "%s: expected yes or no, not \"%s\"", k->name, v);
		*(int *)(void *)field = b;
		return 1;
	case KEY_UINT:
	case KEY_OCTAL:
		if (!parse_ulong(v, k->type == KEY_OCTAL ? 8 : 10, k->min, k->max ? k->max : 0777,
		                 &n))
			return fail(p, "%s: expected a number in [%lu, %lu], not \"%s\"", k->name,
			            k->min, k->max, v);
		*(unsigned *)(void *)field = (unsigned)n;
		return 1;
	case KEY_SIZE:
		if (!parse_ulong(v, 10, k->min, k->max, &n))
			return fail(p, "%s: expected a number in [%lu, %lu], not \"%s\"", k->name,
			            k->min, k->max, v);
		*(size_t *)(void *)field = n;
		return 1;
	case KEY_ENUM:
		for (int i = 0; k->names[i]; i++) {
			if (strcmp(v, k->names[i]) == 0) {
				*(int *)(void *)field = i;
				return 1;
			}
		}
		return fail(p, "%s: unknown value \"%s\"", k->name, v);
	case KEY_LIST:
		return list_add((struct mvd_strlist *)(void *)field, v) ? 1
		                                                        : fail(p, "out of memory");
	case KEY_CIDR:
		if (mv_cidr_list_add((struct mv_cidr_list *)(void *)field, v) != MV_OK)
			return fail(p, "%s: bad address or network in \"%s\"", k->name, v);
		return 1;
	case KEY_CANON:
		if (!parse_canon(v, &p->c->sign_hcanon, &p->c->sign_bcanon))
			return fail(p, "%s: expected simple or relaxed (header/body), not \"%s\"",
			            k->name, v);
		return 1;
	}
	return fail(p, "internal error");
}

/*
 * 1 when name[0..n) can be a signing domain: dot-separated labels of
 * letters, digits, '-' and '_' (or UTF-8 bytes), each 1 to 63 bytes, 253
 * in all. A wildcard is none: outbound mail would never match it.
 */
static int domain_name_ok(const char *name, size_t n)
{
	size_t label = 0;

	if (n == 0 || n > 253)
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)name[i];
		if (ch == '.') {
			if (label == 0)
				return 0;
			label = 0;
			continue;
		}
		if (!(ch >= 0x80 || ch == '-' || ch == '_' || (ch >= '0' && ch <= '9') ||
		      ((ch | 0x20) >= 'a' && (ch | 0x20) <= 'z')) ||
		    ++label > 63)
			return 0;
	}
	return label > 0;
}

/*
 * The [domain NAME] section named `name`, created on first use; `header`
 * says the call is for the section's own line, where a name met before
 * (in any case, with or without the trailing dot) is a second section.
 */
static struct mvd_domain_conf *domain_section(struct parse_ctx *p, const char *name, int header)
{
	struct mvd_config *c = p->c;
	struct mvd_domain_conf *grown, *d;
	size_t n = strlen(name);

	while (n && name[n - 1] == '.')
		n--;
	for (size_t i = 0; i < c->ndomains; i++) {
		if (!mv_ascii_ieq(name, n, c->domains[i].name))
			continue;
		if (header) {
			fail(p, "[domain %s] appears twice (first at line %u)", c->domains[i].name,
			     c->domains[i].line);
			return NULL;
		}
		return &c->domains[i];
	}
	if (strchr(name, '*')) {
		fail(p,
		     "[domain %s]: a wildcard never matches; name the domain and set "
		     "\"subdomains = yes\" for the names below it",
		     name);
		return NULL;
	}
	if (!domain_name_ok(name, n)) {
		fail(p, "[domain NAME]: bad domain name \"%s\"", name);
		return NULL;
	}
	grown = realloc(c->domains, (c->ndomains + 1) * sizeof *grown);
	if (!grown) {
		fail(p, "out of memory");
		return NULL;
	}
	c->domains = grown;
	d = &c->domains[c->ndomains];
	memset(d, 0, sizeof *d);
	if (!(d->name = mv_strndup(name, n))) {
		fail(p, "out of memory");
		return NULL;
	}
	mv_ascii_lower(d->name, n);
	d->line = p->line;
	c->ndomains++;
	return d;
}

/* key = SELECTOR PATH */
static int domain_key(struct parse_ctx *p, struct mvd_domain_conf *d, const char *v)
{
	size_t sl = strcspn(v, " \t");
	const char *path = v + sl;
	struct mvd_key_conf *grown;

	while (*path == ' ' || *path == '\t')
		path++;
	if (sl == 0 || *path == '\0')
		return fail(p, "key: expected \"SELECTOR /path/to/key.pem\", not \"%s\"", v);
	grown = realloc(d->keys, (d->nkeys + 1) * sizeof *grown);
	if (!grown)
		return fail(p, "out of memory");
	d->keys = grown;
	d->keys[d->nkeys].selector = mv_strndup(v, sl);
	d->keys[d->nkeys].path = strdup(path);
	d->keys[d->nkeys].line = p->line;
	d->nkeys++;
	if (!d->keys[d->nkeys - 1].selector || !d->keys[d->nkeys - 1].path)
		return fail(p, "out of memory");
	return 1;
}

/* Table keys under another section or name, kept from before the table. */
static const struct {
	const char *section, *name, *setting;
} verify_aliases[] = {
        {"policy", "bad_from", "bad_from"},           {"policy", "dmarc_reject", "dmarc_reject"},
        {"policy", "reject_text", "reject_text"},     {"policy", "temperror", "dmarc_temperror"},
        {"policy", "tempfail_text", "tempfail_text"},
};

/* The setting of lib/verify's table that section/name is, or NULL. */
static const struct mv_verify_setting *verify_setting(const char *section, const char *name)
{
	if (strcmp(section, "verify") == 0)
		return mv_verify_setting_find(name);
	for (size_t i = 0; i < sizeof verify_aliases / sizeof verify_aliases[0]; i++)
		if (strcmp(verify_aliases[i].section, section) == 0 &&
		    strcmp(verify_aliases[i].name, name) == 0)
			return mv_verify_setting_find(verify_aliases[i].setting);
	return NULL;
}

/*
 * A key of the settings table into c->verify. A string setting keeps its
 * pointer, so the value is copied into c->verify_texts first (each line a
 * copy of its own: an earlier value may still be the one in use until the
 * new one is accepted).
 */
static int verify_key(struct parse_ctx *p, const struct mv_verify_setting *s, const char *name,
                      const char *v)
{
	struct mvd_strlist *t = &p->c->verify_texts;
	char why[200];

	if (s->type == MV_VERIFY_SETTING_STRING) {
		char **grown = realloc(t->item, (t->count + 1) * sizeof *grown);
		if (!grown)
			return fail(p, "out of memory");
		t->item = grown;
		if (!(t->item[t->count] = strdup(v)))
			return fail(p, "out of memory");
		v = t->item[t->count++];
	}
	if (mv_verify_setting_set(s, &p->c->verify, v, why, sizeof why) != MV_OK)
		return fail(p, "%s: %s", name, why);
	return 1;
}

static int handler(void *user, const char *section, const char *name, const char *value)
{
	const struct mv_verify_setting *vs;
	struct parse_ctx *p = user;

	if (p->failed)
		return 0;
	if (strncmp(section, DOMAIN_PREFIX, strlen(DOMAIN_PREFIX)) == 0) {
		struct mvd_domain_conf *d = domain_section(p, section + strlen(DOMAIN_PREFIX), 0);
		int b;

		if (!d || !note_key(p, section, name, strcmp(name, "key") == 0))
			return 0;
		if (strcmp(name, "key") == 0)
			return domain_key(p, d, value);
		if (strcmp(name, "subdomains") == 0) {
			if (!parse_bool(value, &b))
				return fail(p, "subdomains: expected yes or no, not \"%s\"", value);
			d->subdomains = b;
			return 1;
		}
		return fail(p, "unknown key \"%s\" in [%s]", name, section);
	}
	if (strncmp(section, LISTENER_PREFIX, strlen(LISTENER_PREFIX)) == 0) {
		char why[256];
		if (mvd_listener_set(&p->c->listeners, section + strlen(LISTENER_PREFIX), name,
		                     value, why, sizeof why) != 0)
			return fail(p, "%s", why);
		return note_key(p, section, name, 1); /* its line, for mvd_config_check */
	}
	if (strcmp(section, "reports") == 0) {
		char why[256];
		if (!note_key(p, section, name, 0) ||
		    mvd_reports_conf_set(&p->c->reports, name, value, why, sizeof why) != 0)
			return p->failed ? 0 : fail(p, "%s", why);
		return 1;
	}
	if (strcmp(section, "http") == 0) {
		char why[256];
		if (!note_key(p, section, name, 0) ||
		    mvd_http_conf_set(&p->c->http, name, value, why, sizeof why) != 0)
			return p->failed ? 0 : fail(p, "%s", why);
		return 1;
	}
	if (strcmp(section, "trace") == 0) {
		char why[256];
		if (!note_key(p, section, name, 0) ||
		    mvd_trace_conf_set(&p->c->trace, name, value, why, sizeof why) != 0)
			return p->failed ? 0 : fail(p, "%s", why);
		return 1;
	}
	if (strcmp(section, "submission") == 0) {
		char why[256];
		if (!note_key(p, section, name, strcmp(name, "local_domains") == 0) ||
		    mvd_submission_conf_set(&p->c->submission, name, value, why, sizeof why) != 0)
			return p->failed ? 0 : fail(p, "%s", why);
		return 1;
	}
	if (strcmp(section, "policy") == 0 && mvd_localpolicy_conf_key(name)) {
		char why[256];
		/* the lists accumulate over lines, as internal_hosts does */
		if (!note_key(p, section, name, strcmp(name, "dmarc_override_file") != 0) ||
		    mvd_localpolicy_conf_set(&p->c->localpolicy, name, value, why, sizeof why) != 0)
			return p->failed ? 0 : fail(p, "%s", why);
		return 1;
	}
	if ((vs = verify_setting(section, name)) != NULL)
		return note_key(p, section, name, 0) && verify_key(p, vs, name, value);
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
		if (strcmp(keys[i].section, section) == 0 && strcmp(keys[i].name, name) == 0)
			return note_key(p, section, name,
			                keys[i].type == KEY_LIST || keys[i].type == KEY_CIDR) &&
			       set_key(p, &keys[i], value);
	return fail(p, "unknown key \"%s\" in [%s]", name, section);
}

enum mv_status mvd_config_init(struct mvd_config *c)
{
	char host[256];
	int ok = 1;

	memset(c, 0, sizeof *c);
	mvd_reports_conf_init(&c->reports);
	mvd_http_conf_init(&c->http);
	mvd_trace_conf_init(&c->trace);
	mvd_submission_conf_init(&c->submission);
	if (gethostname(host, sizeof host) != 0 || host[0] == '\0')
		snprintf(host, sizeof host, "localhost");
	host[sizeof host - 1] = '\0';
	ok &= set_str(&c->socket, MVD_DEFAULT_SOCKET);
	ok &= set_str(&c->socket_group, "");
	ok &= set_str(&c->user, "mailvet");
	ok &= set_str(&c->group, "");
	ok &= set_str(&c->key_user, "");
	ok &= set_str(&c->auth_user, "");
	ok &= set_str(&c->pid_file, "");
	c->socket_umask = 0007;
	c->milter_timeout = 600;
	c->drain_timeout = 30;
	c->log_dest = MVD_LOG_SYSLOG;
	ok &= set_str(&c->log_facility, "mail");
	c->log_format = MVD_LOG_KV;
	ok &= set_str(&c->authserv_id, host);
	c->trust_versions = 1;
	mv_verify_config_default(&c->verify);
	c->quarantine = MVD_QUARANTINE_MILTER;
	ok &= set_str(&c->quarantine_header, "X-Mailvet-Quarantine");
	c->on_error = MVD_FAIL_TEMPFAIL;
	c->unreadable_header = MVD_REFUSE_REJECT;
	ok &= set_str(&c->resolver, "system");
	c->dns_timeout_ms = 5000;
	ok &= set_str(&c->trust_anchor_file, "");
	ok &= set_str(&c->zone_file, "");
	c->sign = 1;
	c->arc_seal = 0;
	c->sign_max_bytes = (size_t)64 << 20;
	c->sign_hcanon = MV_CANON_RELAXED;
	c->sign_bcanon = MV_CANON_RELAXED;
	ok &= set_str(&c->sign_headers, "");
	ok &= set_str(&c->key_table, "");
	ok &= set_str(&c->signing_table, "");
	ok &= set_str(&c->key_directory, "");
	if (!ok)
		return MV_ENOMEM;
	return mv_cidr_list_add(&c->internal_hosts, "127.0.0.0/8 ::1");
}

void mvd_config_free(struct mvd_config *c)
{
	char **strs[] = {&c->path,          &c->socket,
	                 &c->socket_group,  &c->user,
	                 &c->group,         &c->key_user,
	                 &c->pid_file,      &c->log_facility,
	                 &c->authserv_id,   &c->quarantine_header,
	                 &c->resolver,      &c->trust_anchor_file,
	                 &c->zone_file,     &c->sign_headers,
	                 &c->key_table,     &c->signing_table,
	                 &c->key_directory, &c->auth_user};

	for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++) {
		free(*strs[i]);
		*strs[i] = NULL;
	}
	mv_cidr_list_free(&c->internal_hosts);
	list_free(&c->trusted_arc_sealers);
	list_free(&c->verify_texts);
	for (size_t i = 0; i < c->ndomains; i++) {
		for (size_t k = 0; k < c->domains[i].nkeys; k++) {
			free(c->domains[i].keys[k].selector);
			free(c->domains[i].keys[k].path);
		}
		free(c->domains[i].keys);
		free(c->domains[i].name);
	}
	free(c->domains);
	c->domains = NULL;
	c->ndomains = 0;
	mvd_listeners_free(&c->listeners);
	mvd_reports_conf_free(&c->reports);
	mvd_http_conf_free(&c->http);
	mvd_trace_conf_free(&c->trace);
	mvd_submission_conf_free(&c->submission);
	mvd_localpolicy_conf_free(&c->localpolicy);
	for (size_t i = 0; i < c->nlines; i++) {
		free(c->lines[i].section);
		free(c->lines[i].name);
	}
	free(c->lines);
	c->lines = NULL;
	c->nlines = 0;
}

/*
 * A [section] line, met by the reader before inih: a section seen before
 * is refused, and a [domain NAME] is created here, so that one without a
 * key line still exists for mvd_config_check() to refuse.
 */
static void section_line(struct parse_ctx *p, const char *s)
{
	const char *end;
	char name[256];

	while (*s == ' ' || *s == '\t')
		s++;
	if (*s != '[' || !(end = strchr(s, ']')) || (size_t)(end - s - 1) >= sizeof name)
		return; /* not a section line, or one inih refuses */
	memcpy(name, s + 1, (size_t)(end - s - 1));
	name[end - s - 1] = '\0';
	if (strncmp(name, DOMAIN_PREFIX, strlen(DOMAIN_PREFIX)) == 0) {
		domain_section(p, name + strlen(DOMAIN_PREFIX), 1);
		return;
	}
	const struct mvd_config_line *l = line_find(p->sections, p->nsections, name, "");
	if (l)
		fail(p, "[%s] appears twice (first at line %u)", name, l->line);
	else if (!line_add(&p->sections, &p->nsections, name, "", p->line))
		fail(p, "out of memory");
}

/*
 * inih's reader over p->text, cut as ini_parse_string() cuts (at most
 * num-1 bytes, up to and including a newline), so inih's line numbers and
 * ours agree: it counts the lines, notes continuation lines (a leading
 * blank) and shows each [section] line to section_line() first.
 */
static char *read_line(char *str, int num, void *stream)
{
	struct parse_ctx *p = stream;
	int n = 0;

	if (!p->text[0] || num < 2)
		return NULL;
	while (n < num - 1 && p->text[n])
		if (p->text[n++] == '\n')
			break;
	memcpy(str, p->text, (size_t)n);
	str[n] = '\0';
	p->text += n;
	p->line++;
	if (p->at_line_start) {
		p->cont = str[0] == ' ' || str[0] == '\t';
		if (!p->failed)
			section_line(p, str);
	}
	p->at_line_start = str[n - 1] == '\n';
	return str;
}

enum mv_status mvd_config_parse(struct mvd_config *c, const char *text, char *err, size_t errlen)
{
	struct parse_ctx p = {0};
	char why[300] = "";
	int line;

	p.c = c;
	p.err = why;
	p.errlen = sizeof why;
	p.text = text;
	p.at_line_start = 1;
	if (err && errlen)
		err[0] = '\0';
	/* inih gives the first line it could not read; the handler's first failure has its own. */
	line = ini_parse_stream(read_line, &p, handler, &p);
	for (size_t i = 0; i < p.nsections; i++) {
		free(p.sections[i].section);
		free(p.sections[i].name);
	}
	free(p.sections);
	if (line < 0) {
		mvd_config_errf(c, 0, err, errlen, "cannot parse the configuration");
		return MV_ESYNTAX;
	}
	if (line > 0 && (!p.failed || (unsigned)line < p.fail_line)) {
		mvd_config_errf(c, (unsigned)line, err, errlen,
		                "not \"key = value\" or [section] (or a line over 200 bytes)");
		return MV_ESYNTAX;
	}
	if (p.failed) {
		mvd_config_errf(c, p.fail_line, err, errlen, "%s", why);
		return MV_ESYNTAX;
	}
	return mvd_config_check(c, err, errlen);
}

enum mv_status mvd_config_load(struct mvd_config *c, const char *path, char *err, size_t errlen)
{
	char *text = NULL;
	size_t len = 0;
	enum mv_status st;

	if ((st = mvd_config_init(c)) != MV_OK || !(c->path = strdup(path))) {
		snprintf(err, errlen, "out of memory");
		return st != MV_OK ? st : MV_ENOMEM;
	}
	st = mv_read_regular_file(path, MAX_CONFIG_BYTES, &text, &len, NULL);
	if (st != MV_OK) {
		mvd_config_errf(c, 0, err, errlen, "%s",
		                st == MV_EIO      ? strerror(errno)
		                : st == MV_EINVAL ? "not a regular file"
		                                  : mv_status_str(st));
		return st;
	}
	if (strlen(text) != len) {
		mvd_config_errf(c, 0, err, errlen, "holds a NUL byte");
		st = MV_ESYNTAX;
	} else {
		st = mvd_config_parse(c, text, err, errlen);
	}
	free(text);
	return st;
}

unsigned mvd_config_line(const struct mvd_config *c, const char *section, const char *name)
{
	const struct mvd_config_line *l = line_find(c->lines, c->nlines, section, name);

	return l ? l->line : 0;
}

void mvd_config_errf(const struct mvd_config *c, unsigned line, char *err, size_t errlen,
                     const char *fmt, ...)
{
	char why[512];
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(why, sizeof why, fmt, ap);
	va_end(ap);
	if (c->path && line)
		snprintf(err, errlen, "%s:%u: %s", c->path, line, why);
	else if (c->path)
		snprintf(err, errlen, "%s: %s", c->path, why);
	else if (line)
		snprintf(err, errlen, "line %u: %s", line, why);
	else
		snprintf(err, errlen, "%s", why);
}

/* 1 when s is a plausible header field name (RFC 5322 ftext). */
static int field_name_ok(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (*s <= ' ' || *s >= 127 || *s == ':')
			return 0;
	return 1;
}

/*
 * NULL when spec is a socket libmilter listens on as written: unix:/path,
 * local:/path, /path, inet:PORT[@HOST], inet6:PORT[@HOST]; else why not
 * (libmilter itself takes "8891" as a unix socket in the working
 * directory, and port 99999 as another port).
 */
static const char *socket_problem(const char *spec)
{
	const char *rest, *at;
	char digits[8];
	unsigned long port;
	size_t n;

	if (strncmp(spec, "unix:", 5) == 0 || strncmp(spec, "local:", 6) == 0) {
		rest = strchr(spec, ':') + 1;
		return rest[0] == '/' ? NULL : "a unix socket needs an absolute path";
	}
	if (spec[0] == '/')
		return NULL;
	if (strncmp(spec, "inet:", 5) == 0)
		rest = spec + 5;
	else if (strncmp(spec, "inet6:", 6) == 0)
		rest = spec + 6;
	else
		return "expected unix:/path, inet:PORT@HOST or inet6:PORT@HOST";
	at = strchr(rest, '@');
	n = at ? (size_t)(at - rest) : strlen(rest);
	if (n == 0 || n >= sizeof digits)
		return "the port must be a number from 1 to 65535";
	memcpy(digits, rest, n);
	digits[n] = '\0';
	if (!parse_ulong(digits, 10, 1, 65535, &port))
		return "the port must be a number from 1 to 65535";
	if (at && at[1] == '\0')
		return "no host after '@'";
	return NULL;
}

/* The name of the first file key that is set to a relative path, or NULL. */
static const char *relative_path(const struct mvd_config *c)
{
	if (c->pid_file[0] && c->pid_file[0] != '/')
		return "pid_file";
	if (c->zone_file[0] && c->zone_file[0] != '/')
		return "zone_file";
	if (c->trust_anchor_file[0] && c->trust_anchor_file[0] != '/')
		return "trust_anchor_file";
	return NULL;
}

/* The [listener] checks, their error on the line of the key at fault (else of the section's role or listen). */
static enum mv_status listeners_check(const struct mvd_config *c, char *err, size_t errlen)
{
	const char *name = NULL, *key = NULL;
	char why[512], section[80];
	unsigned line;

	if (mvd_listeners_check_at(&c->listeners, why, sizeof why, &name, &key) == MV_OK)
		return MV_OK;
	snprintf(section, sizeof section, "%s%s", LISTENER_PREFIX, name ? name : "");
	if (!(line = mvd_config_line(c, section, key)) &&
	    !(line = mvd_config_line(c, section, "role")))
		line = mvd_config_line(c, section, "listen");
	mvd_config_errf(c, line, err, errlen, "%s", why);
	return MV_ESYNTAX;
}

enum mv_status mvd_config_check(const struct mvd_config *c, char *err, size_t errlen)
{
	const char *why;

	if (c->authserv_id[0] == '\0' ||
	    strcspn(c->authserv_id, " \t;()\"\\") != strlen(c->authserv_id)) {
		mvd_config_errf(c, mvd_config_line(c, "verify", "authserv_id"), err, errlen,
		                "[verify] authserv_id must be a domain name");
		return MV_ESYNTAX;
	}
	/* An empty [milter] socket turns the milter off: then an SMTP listener must serve. */
	if (c->socket[0] == '\0' && c->listeners.count + c->listeners.nproxy == 0) {
		mvd_config_errf(c, mvd_config_line(c, "milter", "socket"), err, errlen,
		                "[milter] socket is empty and there is no [listener]");
		return MV_ESYNTAX;
	}
	if (c->socket[0] && (why = socket_problem(c->socket)) != NULL) {
		mvd_config_errf(c, mvd_config_line(c, "milter", "socket"), err, errlen,
		                "[milter] socket = \"%s\": %s", c->socket, why);
		return MV_ESYNTAX;
	}
	if (mvd_log_facility_code(c->log_facility) < 0) {
		mvd_config_errf(c, mvd_config_line(c, "log", "facility"), err, errlen,
		                "[log] facility = \"%s\": not a syslog facility (mail, daemon, "
		                "user, local0 ... local7)",
		                c->log_facility);
		return MV_ESYNTAX;
	}
	if (listeners_check(c, err, errlen) != MV_OK)
		return MV_ESYNTAX;
	if (mvd_http_conf_check(c, err, errlen) != MV_OK)
		return MV_ESYNTAX;
	for (size_t i = 0; i < c->listeners.count; i++) {
		const struct mvd_listener_conf *lc = &c->listeners.item[i];
		char sect[128];

		if ((lc->role != MVD_ROLE_SUBMISSION && !lc->auth) ||
		    (c->submission.sasl && c->submission.sasl[0]))
			continue;
		snprintf(sect, sizeof sect, "listener %s", lc->name);
		mvd_config_errf(c, mvd_config_line(c, sect, lc->auth ? "auth" : "role"), err,
		                errlen,
		                "[listener %s] offers AUTH but [submission] sasl is not set "
		                "(passwd-file:/path or dovecot:/path)",
		                lc->name);
		return MV_ESYNTAX;
	}
	if (!field_name_ok(c->quarantine_header)) {
		mvd_config_errf(c, mvd_config_line(c, "policy", "quarantine_header"), err, errlen,
		                "[policy] quarantine_header is not a header field name");
		return MV_ESYNTAX;
	}
	if ((why = relative_path(c)) != NULL) {
		mvd_config_errf(c, mvd_config_line(c, why[0] == 'p' ? "milter" : "dns", why), err,
		                errlen, "%s must be an absolute path (the daemon works from /)",
		                why);
		return MV_ESYNTAX;
	}
	for (size_t i = 0; i < c->ndomains; i++) {
		for (size_t k = 0; k < c->domains[i].nkeys; k++)
			if (c->domains[i].keys[k].path[0] != '/') {
				mvd_config_errf(
				        c, c->domains[i].keys[k].line, err, errlen,
				        "key %s must be an absolute path (the daemon works from /)",
				        c->domains[i].keys[k].path);
				return MV_ESYNTAX;
			}
		if (c->domains[i].nkeys == 0) {
			mvd_config_errf(
			        c, c->domains[i].line, err, errlen,
			        "[domain %s] has no key: add \"key = SELECTOR /path/to/key.pem\"",
			        c->domains[i].name);
			return MV_ESYNTAX;
		}
	}
	return MV_OK;
}

const struct mvd_domain_conf *mvd_config_domain(const struct mvd_config *c, const char *domain)
{
	size_t n = strlen(domain);

	while (n && domain[n - 1] == '.')
		n--;
	for (size_t i = 0; i < c->ndomains; i++) {
		const struct mvd_domain_conf *d = &c->domains[i];
		size_t dl = strlen(d->name);
		if (mv_ascii_ieq(domain, n, d->name))
			return d;
		if (d->subdomains && n > dl + 1 && domain[n - dl - 1] == '.' &&
		    mv_ascii_ieq(domain + n - dl, dl, d->name))
			return d;
	}
	return NULL;
}
