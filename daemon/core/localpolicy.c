/* daemon/core/localpolicy.c — the [policy] local-policy lists: read once per load, matched per message. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mailvet/util.h>

#include "config.h"
#include "localpolicy.h"

#define LP_FILE_MAX ((size_t)16 << 20) /* one list file */
#define LP_NAME_MAX 253

/* One domain pattern: "example.com" (exact) or "*.example.com" (below it). */
struct lp_domain {
	char *pattern;   /* as it is matched and logged, lowercase, no trailing dot */
	const char *key; /* pattern, or pattern + 2 for "*." */
	enum mvd_localpolicy_dmarc action;
	size_t order; /* of the line: of equal patterns, the first line wins */
};

/* Domain patterns, each kind sorted by key for bsearch: thousands of lines stay cheap. */
struct lp_domains {
	struct lp_domain *exact, *below;
	size_t nexact, nbelow;
};

struct mvd_localpolicy {
	struct lp_domains overrides;
	struct lp_domains skip_rcpt;
	struct mv_cidr_list skip_clients;
	struct mv_cidr_list internal_clients;
};

/* Where an item came from, for errors: a config key or PATH:LINE. */
struct origin {
	const struct mvd_config *c;
	const char *key;  /* [policy] key */
	const char *path; /* list file, or NULL for the config line itself */
	unsigned line;
};

static void originf(const struct origin *o, char *err, size_t errlen, const char *what,
                    const char *item)
{
	char why[300];

	snprintf(why, sizeof why, "%s \"%.120s\"", what, item);
	if (o->path)
		mvd_config_errf(o->c, mvd_config_line(o->c, "policy", o->key), err, errlen,
		                "[policy] %s: %s:%u: %s", o->key, o->path, o->line, why);
	else
		mvd_config_errf(o->c, mvd_config_line(o->c, "policy", o->key), err, errlen,
		                "[policy] %s: %s", o->key, why);
}

/* ---- [policy] keys ------------------------------------------------------ */

static const char *const conf_keys[] = {"dmarc_override_file", "skip_clients",
                                        "skip_recipient_domains", "internal_clients"};

int mvd_localpolicy_conf_key(const char *key)
{
	for (size_t i = 0; i < sizeof conf_keys / sizeof conf_keys[0]; i++)
		if (strcmp(key, conf_keys[i]) == 0)
			return 1;
	return 0;
}

/* Append " value" to *field (continuation lines and repeated keys add items). */
static int append(char **field, const char *value)
{
	size_t old = *field ? strlen(*field) : 0, n = strlen(value);
	char *s = realloc(*field, old + n + 2);

	if (!s)
		return -1;
	s[old] = ' ';
	memcpy(s + (old ? old + 1 : 0), value, n + 1);
	*field = s;
	return 0;
}

int mvd_localpolicy_conf_set(struct mvd_localpolicy_conf *c, const char *key, const char *value,
                             char *why, size_t whylen)
{
	char **lists[] = {&c->skip_clients, &c->skip_recipient_domains, &c->internal_clients};

	if (strcmp(key, "dmarc_override_file") == 0) {
		if (c->dmarc_override_file) {
			snprintf(why, whylen, "dmarc_override_file is set twice");
			return -1;
		}
		if (value[0] != '/') {
			snprintf(why, whylen, "dmarc_override_file: an absolute path, not \"%s\"",
			         value);
			return -1;
		}
		if (!(c->dmarc_override_file = strdup(value))) {
			snprintf(why, whylen, "out of memory");
			return -1;
		}
		return 0;
	}
	for (size_t i = 1; i < sizeof conf_keys / sizeof conf_keys[0]; i++)
		if (strcmp(key, conf_keys[i]) == 0) {
			if (append(lists[i - 1], value) == 0)
				return 0;
			snprintf(why, whylen, "out of memory");
			return -1;
		}
	snprintf(why, whylen, "unknown key \"%s\" in [policy]", key);
	return -1;
}

void mvd_localpolicy_conf_free(struct mvd_localpolicy_conf *c)
{
	free(c->dmarc_override_file);
	free(c->skip_clients);
	free(c->skip_recipient_domains);
	free(c->internal_clients);
	memset(c, 0, sizeof *c);
}

long mvd_localpolicy_conf_files(const struct mvd_localpolicy_conf *c, char **paths,
                                const char **keys, size_t max)
{
	const char *lists[] = {c->skip_clients, c->skip_recipient_domains, c->internal_clients};
	size_t n = 0;

	if (c->dmarc_override_file && n < max) {
		keys[n] = conf_keys[0];
		paths[n++] = strdup(c->dmarc_override_file);
	}
	for (size_t i = 0; i < 3; i++)
		for (const char *p = lists[i]; p && *p && n < max;) {
			size_t len;
			p += strspn(p, " \t,");
			len = strcspn(p, " \t,");
			if (len && p[0] == '/') {
				keys[n] = conf_keys[i + 1];
				paths[n++] = mv_strndup(p, len);
			}
			p += len;
		}
	for (size_t i = 0; i < n; i++)
		if (!paths[i]) { /* out of memory: nothing is handed over */
			for (size_t k = 0; k < n; k++)
				free(paths[k]);
			return -1;
		}
	return (long)n;
}

const char *mvd_localpolicy_dmarc_str(enum mvd_localpolicy_dmarc a)
{
	switch (a) {
	case MVD_LP_DMARC_QUARANTINE:
		return "quarantine";
	case MVD_LP_DMARC_ACCEPT:
		return "accept";
	case MVD_LP_DMARC_NONE:
		break;
	}
	return "none";
}

/* ---- domain patterns ---------------------------------------------------- */

/*
 * A domain pattern into out (lowercase, no trailing dot): letters, digits,
 * '-', '_' in labels of 1-63 bytes, at most 253 bytes; "*." may lead.
 */
static int domain_pattern(const char *w, size_t n, char out[LP_NAME_MAX + 3])
{
	size_t i, label = 0, start = 0;

	if (n && w[n - 1] == '.')
		n--;
	if (n >= 2 && w[0] == '*' && w[1] == '.')
		start = 2;
	if (n <= start || n - start > LP_NAME_MAX)
		return -1;
	for (i = start; i < n; i++) {
		char ch = w[i];
		if (ch == '.') {
			if (label == 0)
				return -1;
			label = 0;
			continue;
		}
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '-' || ch == '_') ||
		    ++label > 63)
			return -1;
	}
	if (label == 0)
		return -1;
	memcpy(out, w, n);
	out[n] = '\0';
	mv_ascii_lower(out, n);
	return 0;
}

static int domain_add(struct lp_domains *d, const char *pattern, enum mvd_localpolicy_dmarc a)
{
	int below = pattern[0] == '*';
	struct lp_domain **arr = below ? &d->below : &d->exact, *grown;
	size_t *n = below ? &d->nbelow : &d->nexact;

	if (!(grown = realloc(*arr, (*n + 1) * sizeof *grown)))
		return -1;
	*arr = grown;
	if (!(grown[*n].pattern = strdup(pattern)))
		return -1;
	grown[*n].key = grown[*n].pattern + (below ? 2 : 0);
	grown[*n].action = a;
	grown[*n].order = *n;
	(*n)++;
	return 0;
}

static int by_key(const void *a, const void *b)
{
	return strcmp(((const struct lp_domain *)a)->key, ((const struct lp_domain *)b)->key);
}

static int by_key_then_order(const void *a, const void *b)
{
	const struct lp_domain *x = a, *y = b;
	int c = strcmp(x->key, y->key);

	return c ? c : x->order < y->order ? -1 : x->order > y->order;
}

/* Sort for bsearch (qsort is not stable: the line order breaks ties). */
static void domains_sort(struct lp_domains *d)
{
	if (d->nexact)
		qsort(d->exact, d->nexact, sizeof *d->exact, by_key_then_order);
	if (d->nbelow)
		qsort(d->below, d->nbelow, sizeof *d->below, by_key_then_order);
}

/* The first line's entry for key, or NULL. */
static const struct lp_domain *domains_find(const struct lp_domain *arr, size_t n, const char *key)
{
	struct lp_domain probe = {NULL, key, MVD_LP_DMARC_NONE, 0};
	const struct lp_domain *hit = n ? bsearch(&probe, arr, n, sizeof *arr, by_key) : NULL;

	while (hit && hit > arr && strcmp(hit[-1].key, key) == 0)
		hit--;
	return hit;
}

/* The pattern matching name (lowercase, no trailing dot): exact, else the nearest "*.parent". */
static const struct lp_domain *domains_match(const struct lp_domains *d, const char *name)
{
	const struct lp_domain *hit = domains_find(d->exact, d->nexact, name);

	for (const char *p = strchr(name, '.'); !hit && p; p = strchr(p + 1, '.'))
		hit = domains_find(d->below, d->nbelow, p + 1);
	return hit;
}

static void domains_free(struct lp_domains *d)
{
	for (size_t i = 0; i < d->nexact; i++)
		free(d->exact[i].pattern);
	for (size_t i = 0; i < d->nbelow; i++)
		free(d->below[i].pattern);
	free(d->exact);
	free(d->below);
	memset(d, 0, sizeof *d);
}

/* A name as asked (any case, trailing dot) into out; -1 when it cannot be one. */
static int name_norm(const char *name, size_t n, char out[LP_NAME_MAX + 2])
{
	if (n && name[n - 1] == '.')
		n--;
	if (n == 0 || n > LP_NAME_MAX)
		return -1;
	memcpy(out, name, n);
	out[n] = '\0';
	mv_ascii_lower(out, n);
	return 0;
}

/* ---- reading the lists -------------------------------------------------- */

/* A separator between items (strchr() would also match the NUL byte). */
static int is_sep(char ch, int comma)
{
	return ch == ' ' || ch == '\t' || ch == '\r' || (comma && ch == ',');
}

/* What one item of a list is added to. */
struct sink {
	struct mv_cidr_list *nets;  /* networks, or */
	struct lp_domains *domains; /* domain patterns (overrides: one "DOMAIN ACTION" a line) */
	int overrides;
};

static enum mv_status item_add(const struct sink *s, const struct origin *o, const char *w,
                               size_t n, char *err, size_t errlen)
{
	char buf[LP_NAME_MAX + 3];
	enum mv_status st;

	if (n > LP_NAME_MAX + 2) {
		originf(o, err, errlen, "item too long", "");
		return MV_ESYNTAX;
	}
	memcpy(buf, w, n);
	buf[n] = '\0';
	if (s->nets) {
		if ((st = mv_cidr_list_add(s->nets, buf)) == MV_OK)
			return MV_OK;
		if (st == MV_ENOMEM)
			return st;
		originf(o, err, errlen, "bad address or network", buf);
		return MV_ESYNTAX;
	}
	if (domain_pattern(w, n, buf) < 0) {
		originf(o, err, errlen, "bad domain", buf);
		return MV_ESYNTAX;
	}
	return domain_add(s->domains, buf, MVD_LP_DMARC_NONE) == 0 ? MV_OK : MV_ENOMEM;
}

/* The words of text[0..len) (blanks and commas between): each to item_add. */
static enum mv_status words_add(const struct sink *s, const struct origin *o, const char *text,
                                size_t len, char *err, size_t errlen)
{
	const char *p = text, *end = text + len;
	enum mv_status st = MV_OK;

	while (st == MV_OK && p < end) {
		size_t n;
		while (p < end && is_sep(*p, 1))
			p++;
		for (n = 0; p + n < end && !is_sep(p[n], 1); n++)
			;
		if (n)
			st = item_add(s, o, p, n, err, errlen);
		p += n;
	}
	return st;
}

/* One override line: DOMAIN ACTION. */
static enum mv_status override_line(const struct sink *s, const struct origin *o, const char *text,
                                    size_t len, char *err, size_t errlen)
{
	static const char *const names[] = {"quarantine", "accept"};
	static const enum mvd_localpolicy_dmarc actions[] = {MVD_LP_DMARC_QUARANTINE,
	                                                     MVD_LP_DMARC_ACCEPT};
	char pattern[LP_NAME_MAX + 3], line[300];
	const char *p = text, *end = text + len, *w[3];
	size_t n[3], k = 0;

	while (p < end && k < 3) {
		while (p < end && is_sep(*p, 0))
			p++;
		for (w[k] = p, n[k] = 0; p < end && !is_sep(*p, 0); p++)
			n[k]++;
		if (n[k])
			k++;
	}
	if (k == 0)
		return MV_OK;
	snprintf(line, sizeof line, "%.*s", (int)(len > 200 ? 200 : len), text);
	if (k != 2) {
		originf(o, err, errlen, "expected \"DOMAIN quarantine|accept\", not", line);
		return MV_ESYNTAX;
	}
	if (domain_pattern(w[0], n[0], pattern) < 0) {
		originf(o, err, errlen, "bad domain in", line);
		return MV_ESYNTAX;
	}
	for (size_t i = 0; i < 2; i++)
		if (mv_ascii_ieq(w[1], n[1], names[i]))
			return domain_add(s->domains, pattern, actions[i]) == 0 ? MV_OK : MV_ENOMEM;
	originf(o, err, errlen, "unknown action (quarantine or accept) in", line);
	return MV_ESYNTAX;
}

/* A list file: its lines, '#' comments dropped, each to words_add or override_line. */
static enum mv_status file_add(const struct sink *s, struct origin *o, const char *path, char *err,
                               size_t errlen)
{
	char *text = NULL;
	size_t len = 0;
	enum mv_status st = mv_read_regular_file(path, LP_FILE_MAX, &text, &len, NULL);
	const char *p, *end, *eol, *hash;

	if (st != MV_OK) {
		mvd_config_errf(o->c, mvd_config_line(o->c, "policy", o->key), err, errlen,
		                "[policy] %s: %s: %s", o->key, path,
		                st == MV_ETOOBIG ? "larger than 16 MiB" : strerror(errno));
		return st == MV_ENOMEM || st == MV_ETOOBIG ? st : MV_EIO;
	}
	o->path = path;
	o->line = 0;
	for (p = text, end = text + len; st == MV_OK && p < end; p = eol + 1) {
		if (!(eol = memchr(p, '\n', (size_t)(end - p))))
			eol = end;
		o->line++;
		if (memchr(p, '\0', (size_t)(eol - p))) { /* a binary file, not a list */
			originf(o, err, errlen, "NUL byte in the line", "");
			st = MV_ESYNTAX;
			break;
		}
		hash = memchr(p, '#', (size_t)(eol - p));
		if (s->overrides)
			st = override_line(s, o, p, (size_t)((hash ? hash : eol) - p), err, errlen);
		else
			st = words_add(s, o, p, (size_t)((hash ? hash : eol) - p), err, errlen);
	}
	o->path = NULL;
	free(text);
	return st;
}

/* A list key's value: words, where a word starting with '/' names a file of them. */
static enum mv_status list_load(const struct mvd_config *c, const char *key, const char *value,
                                const struct sink *s, char *err, size_t errlen)
{
	struct origin o = {c, key, NULL, 0};
	const char *p = value;
	enum mv_status st = MV_OK;
	char path[4096];

	while (st == MV_OK && p && *p) {
		size_t n;
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		n = strcspn(p, " \t,");
		if (n == 0)
			break;
		if (p[0] == '/') {
			snprintf(path, sizeof path, "%.*s",
			         (int)(n < sizeof path ? n : sizeof path - 1), p);
			st = file_add(s, &o, path, err, errlen);
		} else {
			st = item_add(s, &o, p, n, err, errlen);
		}
		p += n;
	}
	return st;
}

enum mv_status mvd_localpolicy_load(const struct mvd_config *c, struct mvd_localpolicy **out,
                                    char *err, size_t errlen)
{
	const struct mvd_localpolicy_conf *lc = &c->localpolicy;
	struct mvd_localpolicy *lp;
	enum mv_status st = MV_OK;

	*out = NULL;
	if (!lc->dmarc_override_file && !lc->skip_clients && !lc->skip_recipient_domains &&
	    !lc->internal_clients)
		return MV_OK;
	if (!(lp = calloc(1, sizeof *lp))) {
		mvd_config_errf(c, 0, err, errlen, "out of memory");
		return MV_ENOMEM;
	}
	struct sink overrides = {NULL, &lp->overrides, 1}, rcpt = {NULL, &lp->skip_rcpt, 0},
	            skip = {&lp->skip_clients, NULL, 0},
	            internal = {&lp->internal_clients, NULL, 0};
	struct origin o = {c, "dmarc_override_file", NULL, 0};

	if (lc->dmarc_override_file)
		st = file_add(&overrides, &o, lc->dmarc_override_file, err, errlen);
	if (st == MV_OK)
		st = list_load(c, "skip_clients", lc->skip_clients, &skip, err, errlen);
	if (st == MV_OK)
		st = list_load(c, "skip_recipient_domains", lc->skip_recipient_domains, &rcpt, err,
		               errlen);
	if (st == MV_OK)
		st = list_load(c, "internal_clients", lc->internal_clients, &internal, err, errlen);
	if (st == MV_ENOMEM)
		mvd_config_errf(c, 0, err, errlen, "out of memory");
	if (st != MV_OK) {
		mvd_localpolicy_free(lp);
		return st;
	}
	domains_sort(&lp->overrides);
	domains_sort(&lp->skip_rcpt);
	*out = lp;
	return MV_OK;
}

void mvd_localpolicy_free(struct mvd_localpolicy *lp)
{
	if (!lp)
		return;
	domains_free(&lp->overrides);
	domains_free(&lp->skip_rcpt);
	mv_cidr_list_free(&lp->skip_clients);
	mv_cidr_list_free(&lp->internal_clients);
	free(lp);
}

/* ---- questions per message ---------------------------------------------- */

enum mvd_localpolicy_dmarc mvd_localpolicy_dmarc(const struct mvd_localpolicy *lp,
                                                 const char *domain, const char **rule)
{
	char name[LP_NAME_MAX + 2];
	const struct lp_domain *hit;

	if (rule)
		*rule = NULL;
	if (!lp || !domain || name_norm(domain, strlen(domain), name) < 0)
		return MVD_LP_DMARC_NONE;
	if (!(hit = domains_match(&lp->overrides, name)))
		return MVD_LP_DMARC_NONE;
	if (rule)
		*rule = hit->pattern;
	return hit->action;
}

int mvd_localpolicy_skip_client(const struct mvd_localpolicy *lp, const char *ip)
{
	return lp && lp->skip_clients.count && mv_cidr_list_match(&lp->skip_clients, ip);
}

int mvd_localpolicy_internal_client(const struct mvd_localpolicy *lp, const char *ip)
{
	return lp && lp->internal_clients.count && mv_cidr_list_match(&lp->internal_clients, ip);
}

int mvd_localpolicy_wants_rcpt(const struct mvd_localpolicy *lp)
{
	return lp && lp->skip_rcpt.nexact + lp->skip_rcpt.nbelow > 0;
}

int mvd_localpolicy_skip_rcpt(const struct mvd_localpolicy *lp, const char *addr)
{
	char name[LP_NAME_MAX + 2];
	const char *at, *end;

	if (!mvd_localpolicy_wants_rcpt(lp) || !addr)
		return 0;
	if (!(at = strrchr(addr, '@')))
		return 0;
	at++;
	end = at + strcspn(at, ">");
	if (name_norm(at, (size_t)(end - at), name) < 0)
		return 0;
	return domains_match(&lp->skip_rcpt, name) != NULL;
}
