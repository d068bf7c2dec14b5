/* daemon/core/keytable.c — the OpenDKIM KeyTable and SigningTable formats: lines, files, checks. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mailvet/util.h>

#include "keytable_int.h"

#define MAX_FIELDS 8

/* One line cut into blank-separated fields (the text is a copy the line owns). */
struct fields {
	char buf[MVD_KEYTABLE_MAX_LINE + 1];
	char *f[MAX_FIELDS];
	size_t n;
};

void mvd_keytable_errf(char *err, size_t errlen, const char *file, unsigned line, const char *fmt,
                       ...)
{
	va_list ap;
	int n;

	if (!err || !errlen)
		return;
	n = line ? snprintf(err, errlen, "%s:%u: ", file, line)
	         : snprintf(err, errlen, "%s: ", file);
	if (n < 0 || (size_t)n >= errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
	va_end(ap);
}

/*
 * Cut line[0..len) into fields; '#' starts a comment (OpenDKIM's data
 * files). 0 with f->n = 0 for a blank line; -1 when the line is too long or
 * has too many fields.
 */
static int split(const char *line, size_t len, struct fields *f)
{
	char *p, *end;

	f->n = 0;
	if (len > MVD_KEYTABLE_MAX_LINE)
		return -1;
	memcpy(f->buf, line, len);
	f->buf[len] = '\0';
	if ((p = memchr(f->buf, '#', len)) != NULL)
		*p = '\0';
	p = f->buf;
	end = f->buf + strlen(f->buf);
	while (p < end) {
		while (p < end && (*p == ' ' || *p == '\t' || *p == '\r'))
			p++;
		if (p == end)
			break;
		if (f->n == MAX_FIELDS)
			return -1;
		f->f[f->n++] = p;
		while (p < end && *p != ' ' && *p != '\t' && *p != '\r')
			p++;
		*p++ = '\0';
	}
	return 0;
}

/* Strip OpenDKIM's dataset prefix: "file:" (exact) or "refile:" (patterns, *wild = 1). */
static const char *dataset_path(const char *spec, int *wild)
{
	*wild = 0;
	if (strncmp(spec, "refile:", 7) == 0) {
		*wild = 1;
		return spec + 7;
	}
	if (strncmp(spec, "file:", 5) == 0)
		return spec + 5;
	return spec;
}

int64_t mvd_keytable_date(const char *s)
{
	unsigned y, m, d;
	static const unsigned mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int64_t yy, era, yoe, doy, doe;

	for (size_t i = 0; i < 10; i++)
		if (i == 4 || i == 7 ? s[i] != '-' : (s[i] < '0' || s[i] > '9'))
			return -1;
	if (s[10] != '\0')
		return -1;
	y = (unsigned)((s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + s[3] - '0');
	m = (unsigned)((s[5] - '0') * 10 + s[6] - '0');
	d = (unsigned)((s[8] - '0') * 10 + s[9] - '0');
	if (y < 1970 || m < 1 || m > 12 || d < 1 || d > mdays[m - 1])
		return -1;
	if (m == 2 && d == 29 && !(y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)))
		return -1;
	/* Days since 1970-01-01 of a proleptic Gregorian date (civil-from-days inverted). */
	yy = (int64_t)y - (m <= 2);
	era = yy / 400;
	yoe = yy - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return (era * 146097 + doe - 719468) * 86400;
}

/* 1 when s[0..n) is a DNS label sequence a selector or domain may be. */
int mvd_keytable_name_ok(const char *s, size_t n)
{
	size_t label = 0;

	if (n == 0 || n > 253)
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '.') {
			if (label == 0)
				return 0;
			label = 0;
		} else if (c >= 0x80 || c == '-' || c == '_' || (c >= '0' && c <= '9') ||
		           ((c | 0x20) >= 'a' && (c | 0x20) <= 'z')) {
			if (++label > 63)
				return 0;
		} else {
			return 0;
		}
	}
	return label > 0;
}

/* not_before=DATE / not_after=DATE (mailvet's extension) into k. NULL, or why not. */
static const char *key_option(struct mvd_kt_key *k, const char *opt)
{
	int64_t t;

	if (strncmp(opt, "not_before=", 11) == 0) {
		if ((t = mvd_keytable_date(opt + 11)) < 0)
			return "not_before: expected a date YYYY-MM-DD";
		k->not_before = t;
		return NULL;
	}
	if (strncmp(opt, "not_after=", 10) == 0) {
		if ((t = mvd_keytable_date(opt + 10)) < 0)
			return "not_after: expected a date YYYY-MM-DD";
		k->not_after = t + 86400; /* the whole day named */
		return NULL;
	}
	return "expected \"NAME DOMAIN:SELECTOR:/path/to/key [not_before=YYYY-MM-DD] "
	       "[not_after=YYYY-MM-DD]\"";
}

/* One KeyTable line into k (its strings owned by k). NULL, or why it is refused. */
static const char *key_line(const struct fields *f, struct mvd_kt_key *k)
{
	const char *v, *c1, *c2, *why;

	if (f->n < 2)
		return "expected \"NAME DOMAIN:SELECTOR:/path/to/key\"";
	v = f->f[1];
	if (!(c1 = strchr(v, ':')) || !(c2 = strchr(c1 + 1, ':')))
		return "expected DOMAIN:SELECTOR:/path/to/key after the name";
	if (!(c1 - v == 1 && v[0] == '%') && !mvd_keytable_name_ok(v, (size_t)(c1 - v)))
		return "bad domain name before the first ':'";
	if (!mvd_keytable_name_ok(c1 + 1, (size_t)(c2 - c1 - 1)))
		return "bad selector between the ':'s";
	if (c2[1] != '/')
		return "the key must be an absolute path (key data inline is not supported: "
		       "put it in a file)";
	for (size_t i = 2; i < f->n; i++)
		if ((why = key_option(k, f->f[i])) != NULL)
			return why;
	if (k->not_after && k->not_after <= k->not_before)
		return "not_after is before not_before";
	k->name = strdup(f->f[0]);
	k->domain = mv_strndup(v, (size_t)(c1 - v));
	k->selector = mv_strndup(c1 + 1, (size_t)(c2 - c1 - 1));
	k->path = strdup(c2 + 1);
	if (!k->name || !k->domain || !k->selector || !k->path)
		return "out of memory";
	mv_ascii_lower(k->domain, strlen(k->domain));
	return NULL;
}

/* One SigningTable line into e. NULL, or why it is refused. */
static const char *sign_line(const struct fields *f, struct mvd_st_entry *e)
{
	if (f->n < 2 || f->n > 3)
		return "expected \"PATTERN KEYNAME [SIGNER]\"";
	if (strlen(f->f[0]) > 320)
		return "pattern longer than an address";
	e->pattern = strdup(f->f[0]);
	e->keyname = strdup(f->f[1]);
	if (!e->pattern || !e->keyname)
		return "out of memory";
	mv_ascii_lower(e->pattern, strlen(e->pattern));
	return NULL;
}

typedef const char *(*line_fn)(void *arg, const struct fields *f, unsigned line);

/*
 * Cut text[0..len) into lines: each line that is not blank goes to add(),
 * which returns NULL or why the line is refused (MV_ESYNTAX, err says
 * PATH:LINE).
 */
static enum mv_status parse_lines(const char *text, size_t len, const char *path, void *arg,
                                  line_fn add, char *err, size_t errlen)
{
	struct fields *f = malloc(sizeof *f);
	unsigned line = 0;
	enum mv_status st = MV_OK;

	if (!f)
		return MV_ENOMEM;
	for (size_t pos = 0; pos < len;) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;
		const char *why;

		line++;
		if (memchr(text + pos, '\0', n)) {
			mvd_keytable_errf(err, errlen, path, line, "a NUL byte");
			st = MV_ESYNTAX;
			break;
		}
		if (split(text + pos, n, f) != 0) {
			mvd_keytable_errf(err, errlen, path, line,
			                  "line longer than %d bytes or more than %d fields",
			                  MVD_KEYTABLE_MAX_LINE, MAX_FIELDS);
			st = MV_ESYNTAX;
			break;
		}
		pos += n + 1;
		if (f->n && (why = add(arg, f, line)) != NULL) {
			mvd_keytable_errf(err, errlen, path, line, "%s", why);
			st = strcmp(why, "out of memory") == 0 ? MV_ENOMEM : MV_ESYNTAX;
			break;
		}
	}
	free(f);
	return st;
}

/* Read a table file and parse it (parse_lines). MV_EIO when the file cannot be read. */
static enum mv_status read_table(const char *path, void *arg, line_fn add, char *err, size_t errlen)
{
	char *text = NULL;
	size_t len = 0;
	unsigned mode;
	enum mv_status st;

	st = mv_read_regular_file(path, MVD_KEYTABLE_MAX_FILE, &text, &len, &mode);
	if (st != MV_OK) {
		mvd_keytable_errf(err, errlen, path, 0, "%s",
		                  st == MV_EIO       ? strerror(errno)
		                  : st == MV_EINVAL  ? "not a regular file"
		                  : st == MV_ETOOBIG ? "larger than 64 MiB"
		                                     : mv_status_str(st));
		return st == MV_ENOMEM ? st : st == MV_ETOOBIG ? MV_ESYNTAX : MV_EIO;
	}
	st = parse_lines(text, len, path, arg, add, err, errlen);
	free(text);
	return st;
}

/* Grow *arr (of *n elements of size sz) by one zeroed element; NULL when memory runs out. */
void *mvd_keytable_grow(void *arr_p, size_t *n, size_t *cap, size_t sz)
{
	void **arr = arr_p;

	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 : 64;
		void *g = realloc(*arr, nc * sz);
		if (!g)
			return NULL;
		*arr = g;
		*cap = nc;
	}
	memset((char *)*arr + *n * sz, 0, sz);
	return (char *)*arr + (*n)++ * sz;
}

struct reader {
	struct mvd_keytable *t;
	size_t cap;
};

static const char *add_key(void *arg, const struct fields *f, unsigned line)
{
	struct reader *r = arg;
	struct mvd_kt_key *k = mvd_keytable_grow(&r->t->keys, &r->t->nkeys, &r->cap, sizeof *k);

	if (!k)
		return "out of memory";
	k->file = r->t->kt_file;
	k->line = line;
	return key_line(f, k);
}

static const char *add_sign(void *arg, const struct fields *f, unsigned line)
{
	struct reader *r = arg;
	struct mvd_st_entry *e = mvd_keytable_grow(&r->t->sign, &r->t->nsign, &r->cap, sizeof *e);

	if (!e)
		return "out of memory";
	e->line = line;
	return sign_line(f, e);
}

static int key_cmp(const void *a, const void *b)
{
	const struct mvd_kt_key *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	if (c == 0 && x->domain && y->domain)
		c = strcmp(x->domain, y->domain);
	if (c == 0 && x->selector && y->selector)
		c = strcmp(x->selector, y->selector);
	return c ? c : (x->line > y->line) - (x->line < y->line);
}

static int entry_cmp(const void *a, const void *b)
{
	const struct mvd_st_entry *x = a, *y = b;
	int c = strcmp(x->pattern, y->pattern);

	return c ? c : (x->line > y->line) - (x->line < y->line);
}

/*
 * Lines of one keyname are the versions of a key (rotation): two that
 * would be chosen at the same time, with the same not_before, are refused.
 */
static enum mv_status check_versions(const struct mvd_keytable *t, char *err, size_t errlen)
{
	for (size_t i = 1; i < t->nkeys; i++) {
		const struct mvd_kt_key *a = &t->keys[i - 1], *b = &t->keys[i];
		if (strcmp(a->name, b->name) != 0)
			continue;
		for (size_t j = i; j < t->nkeys && strcmp(t->keys[j].name, a->name) == 0; j++)
			if (t->keys[j].not_before == a->not_before) {
				mvd_keytable_errf(err, errlen, t->kt_file, t->keys[j].line,
				                  "key %s is also on line %u with the same "
				                  "not_before: give the "
				                  "newer version not_before=YYYY-MM-DD",
				                  a->name, a->line);
				return MV_ESYNTAX;
			}
	}
	return MV_OK;
}

/* Every keyname the signing table names is in the key table ("%": any domain, checked per message). */
static enum mv_status check_names(const struct mvd_keytable *t, char *err, size_t errlen)
{
	for (size_t i = 0; i < t->nsign; i++) {
		const char *name = t->sign[i].keyname;
		struct mvd_kt_key probe = {.name = (char *)name};
		size_t lo = 0, hi = t->nkeys;

		if (strcmp(name, "%") == 0)
			continue;
		while (lo < hi) { /* the first line of that name */
			size_t mid = lo + (hi - lo) / 2;
			if (strcmp(t->keys[mid].name, probe.name) < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo == t->nkeys || strcmp(t->keys[lo].name, name) != 0) {
			mvd_keytable_errf(err, errlen, t->st_file, t->sign[i].line,
			                  "key name \"%s\" is not in the key table %s", name,
			                  t->kt_file);
			return MV_ESYNTAX;
		}
	}
	return MV_OK;
}

/* A refile line the domain index holds: "*@DOMAIN" with no other '*'. */
static int indexed(const char *p)
{
	return strncmp(p, "*@", 2) == 0 && p[2] && !strchr(p + 2, '*');
}

/* refile: index the "*@DOMAIN" patterns (the usual line of a site) by domain. */
static enum mv_status index_domains(struct mvd_keytable *t)
{
	size_t cap = 0, gcap = 0;

	for (size_t i = 0; i < t->nsign; i++) {
		const char *p = t->sign[i].pattern;
		struct mvd_st_entry *e;
		size_t *g;
		if (!indexed(p)) {
			if (!(g = mvd_keytable_grow(&t->general, &t->ngeneral, &gcap, sizeof *g)))
				return MV_ENOMEM;
			*g = i;
			continue;
		}
		if (!(e = mvd_keytable_grow(&t->byd, &t->nbyd, &cap, sizeof *e)))
			return MV_ENOMEM;
		e->pattern = (char *)p + 2; /* borrowed from sign[i] */
		e->keyname = t->sign[i].keyname;
		e->line = (unsigned)i;
	}
	if (t->nbyd)
		qsort(t->byd, t->nbyd, sizeof *t->byd, entry_cmp);
	return MV_OK;
}

static enum mv_status finish_tables(struct mvd_keytable *t, char *err, size_t errlen);

/* key_table + signing_table into t. */
static enum mv_status read_tables(struct mvd_keytable *t, char *err, size_t errlen)
{
	struct reader r = {t, 0};
	enum mv_status st;

	if (t->kt_file[0] != '/' || t->st_file[0] != '/') {
		mvd_keytable_errf(err, errlen, t->kt_file[0] != '/' ? t->kt_file : t->st_file, 0,
		                  "must be an absolute path (the daemon works from /)");
		return MV_ESYNTAX;
	}
	if ((st = read_table(t->kt_file, &r, add_key, err, errlen)) != MV_OK)
		return st;
	r.cap = 0;
	if ((st = read_table(t->st_file, &r, add_sign, err, errlen)) != MV_OK)
		return st;
	return finish_tables(t, err, errlen);
}

/* Both tables read: sort, check the versions and the names, index the patterns. */
static enum mv_status finish_tables(struct mvd_keytable *t, char *err, size_t errlen)
{
	enum mv_status st;

	if (t->nkeys)
		qsort(t->keys, t->nkeys, sizeof *t->keys, key_cmp);
	if (!t->st_wild && t->nsign)
		qsort(t->sign, t->nsign, sizeof *t->sign, entry_cmp);
	if ((st = check_versions(t, err, errlen)) != MV_OK ||
	    (st = check_names(t, err, errlen)) != MV_OK)
		return st;
	if (t->st_wild && (st = index_domains(t)) != MV_OK)
		mvd_keytable_errf(err, errlen, t->st_file, 0, "out of memory");
	return st;
}

enum mv_status mvd_keytable_read(const char *key_table, const char *signing_table,
                                 const char *key_directory, struct mvd_keytable **out, char *err,
                                 size_t errlen)
{
	struct mvd_keytable *t;
	int has_kt = key_table && key_table[0], has_st = signing_table && signing_table[0];
	int wild;
	enum mv_status st = MV_OK;

	*out = NULL;
	if (has_kt != has_st) {
		snprintf(err, errlen, "[signing] %s needs %s too",
		         has_kt ? "key_table" : "signing_table",
		         has_kt ? "signing_table" : "key_table");
		return MV_ESYNTAX;
	}
	if (!has_kt && !(key_directory && key_directory[0]))
		return MV_OK;
	if (!(t = calloc(1, sizeof *t))) {
		snprintf(err, errlen, "out of memory");
		return MV_ENOMEM;
	}
	t->kt_file = strdup(has_kt ? dataset_path(key_table, &wild) : "");
	t->st_file = strdup(has_st ? dataset_path(signing_table, &t->st_wild) : "");
	t->dir = strdup(key_directory ? key_directory : "");
	if (!t->kt_file || !t->st_file || !t->dir) {
		snprintf(err, errlen, "out of memory");
		st = MV_ENOMEM;
	}
	if (st == MV_OK && has_kt)
		st = read_tables(t, err, errlen);
	if (st == MV_OK && t->dir[0])
		st = mvd_keytable_read_dir(t, err, errlen);
	if (st != MV_OK)
		mvd_keytable_free(t);
	else
		*out = t;
	return st;
}

static void key_free(struct mvd_kt_key *k)
{
	free(k->name);
	free(k->domain);
	free(k->selector);
	free(k->path);
	if (!k->borrowed)
		mv_dkim_signkey_free(k->key);
}

void mvd_keytable_free(struct mvd_keytable *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->nkeys; i++)
		key_free(&t->keys[i]);
	for (size_t i = 0; i < t->ndirkeys; i++)
		key_free(&t->dirkeys[i]);
	for (size_t i = 0; i < t->nsign; i++) {
		free(t->sign[i].pattern);
		free(t->sign[i].keyname);
	}
	free(t->keys);
	free(t->dirkeys);
	free(t->sign);
	free(t->byd);
	free(t->general);
	free(t->kt_file);
	free(t->st_file);
	free(t->dir);
	free(t);
}

enum mv_status mvd_keytable_parse(const char *kt, size_t kt_len, const char *st_text, size_t st_len,
                                  int wild, struct mvd_keytable **out, char *err, size_t errlen)
{
	struct mvd_keytable *t = calloc(1, sizeof *t);
	struct reader r = {t, 0};
	enum mv_status st = MV_ENOMEM;

	*out = NULL;
	if (!t || !(t->kt_file = strdup("KeyTable")) || !(t->st_file = strdup("SigningTable")) ||
	    !(t->dir = strdup("")))
		goto out;
	t->st_wild = wild;
	if ((st = parse_lines(kt, kt_len, t->kt_file, &r, add_key, err, errlen)) != MV_OK)
		goto out;
	r.cap = 0;
	if ((st = parse_lines(st_text, st_len, t->st_file, &r, add_sign, err, errlen)) != MV_OK)
		goto out;
	st = finish_tables(t, err, errlen);
out:
	if (st != MV_OK)
		mvd_keytable_free(t);
	else
		*out = t;
	return st;
}
