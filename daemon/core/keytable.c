/* daemon/core/keytable.c — the OpenDKIM KeyTable and SigningTable formats, and a key directory. */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <mailvet/util.h>

#include "keytable.h"

#define MAX_KEY_FILE ((size_t)64 * 1024)
#define MAX_FIELDS 8

/* One line cut into blank-separated fields (the text is a copy the line owns). */
struct fields {
	char buf[MVD_KEYTABLE_MAX_LINE + 1];
	char *f[MAX_FIELDS];
	size_t n;
};

static void errf(char *err, size_t errlen, const char *file, unsigned line, const char *fmt, ...)
        MV_PRINTF(5, 6);
static void errf(char *err, size_t errlen, const char *file, unsigned line, const char *fmt, ...)
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
static int name_ok(const char *s, size_t n)
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
	if (!(c1 - v == 1 && v[0] == '%') && !name_ok(v, (size_t)(c1 - v)))
		return "bad domain name before the first ':'";
	if (!name_ok(c1 + 1, (size_t)(c2 - c1 - 1)))
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

/*
 * Read a table file line by line: each line that is not blank goes to
 * add(), which returns NULL or why the line is refused. MV_EIO when the
 * file cannot be read, MV_ESYNTAX on a refused line (err says FILE:LINE).
 */
static enum mv_status read_table(const char *path, void *arg,
                                 const char *(*add)(void *arg, const struct fields *f,
                                                    unsigned line),
                                 char *err, size_t errlen)
{
	char *text = NULL;
	size_t len = 0;
	unsigned mode, line = 0;
	enum mv_status st;
	struct fields *f = NULL;

	st = mv_read_regular_file(path, MVD_KEYTABLE_MAX_FILE, &text, &len, &mode);
	if (st != MV_OK) {
		errf(err, errlen, path, 0, "%s",
		     st == MV_EIO       ? strerror(errno)
		     : st == MV_EINVAL  ? "not a regular file"
		     : st == MV_ETOOBIG ? "larger than 64 MiB"
		                        : mv_status_str(st));
		return st == MV_ENOMEM ? st : st == MV_ETOOBIG ? MV_ESYNTAX : MV_EIO;
	}
	if (!(f = malloc(sizeof *f))) {
		st = MV_ENOMEM;
		goto out;
	}
	for (size_t pos = 0; pos < len;) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;
		const char *why;

		line++;
		if (memchr(text + pos, '\0', n)) {
			errf(err, errlen, path, line, "a NUL byte");
			st = MV_ESYNTAX;
			goto out;
		}
		if (split(text + pos, n, f) != 0) {
			errf(err, errlen, path, line,
			     "line longer than %d bytes or more than %d fields",
			     MVD_KEYTABLE_MAX_LINE, MAX_FIELDS);
			st = MV_ESYNTAX;
			goto out;
		}
		pos += n + 1;
		if (f->n && (why = add(arg, f, line)) != NULL) {
			errf(err, errlen, path, line, "%s", why);
			st = strcmp(why, "out of memory") == 0 ? MV_ENOMEM : MV_ESYNTAX;
			goto out;
		}
	}
out:
	free(f);
	free(text);
	return st;
}

/* Grow *arr (of *n elements of size sz) by one zeroed element; NULL when memory runs out. */
static void *grow(void *arr_p, size_t *n, size_t *cap, size_t sz)
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
	struct mvd_kt_key *k = grow(&r->t->keys, &r->t->nkeys, &r->cap, sizeof *k);

	if (!k)
		return "out of memory";
	k->file = r->t->kt_file;
	k->line = line;
	return key_line(f, k);
}

static const char *add_sign(void *arg, const struct fields *f, unsigned line)
{
	struct reader *r = arg;
	struct mvd_st_entry *e = grow(&r->t->sign, &r->t->nsign, &r->cap, sizeof *e);

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
				errf(err, errlen, t->kt_file, t->keys[j].line,
				     "key %s is also on line %u with the same not_before: give the "
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
			errf(err, errlen, t->st_file, t->sign[i].line,
			     "key name \"%s\" is not in the key table %s", name, t->kt_file);
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
			if (!(g = grow(&t->general, &t->ngeneral, &gcap, sizeof *g)))
				return MV_ENOMEM;
			*g = i;
			continue;
		}
		if (!(e = grow(&t->byd, &t->nbyd, &cap, sizeof *e)))
			return MV_ENOMEM;
		e->pattern = (char *)p + 2; /* borrowed from sign[i] */
		e->keyname = t->sign[i].keyname;
		e->line = (unsigned)i;
	}
	if (t->nbyd)
		qsort(t->byd, t->nbyd, sizeof *t->byd, entry_cmp);
	return MV_OK;
}

static int dirkey_cmp(const void *a, const void *b)
{
	const struct mvd_kt_key *x = a, *y = b;
	int c = strcmp(x->domain, y->domain);

	return c ? c : strcmp(x->selector, y->selector);
}

/* The selector a key directory file name gives (SELECTOR.pem, SELECTOR.private), or 0. */
static size_t key_file_selector(const char *name)
{
	size_t n = strlen(name);

	if (n > 4 && strcmp(name + n - 4, ".pem") == 0)
		n -= 4;
	else if (n > 8 && strcmp(name + n - 8, ".private") == 0)
		n -= 8;
	else
		return 0;
	return name_ok(name, n) ? n : 0;
}

/* The key files of one DIR/DOMAIN directory into t->dirkeys. */
static enum mv_status read_domain_dir(struct mvd_keytable *t, const char *domain, size_t *cap,
                                      char *err, size_t errlen)
{
	char path[4096];
	DIR *d;
	struct dirent *de;
	enum mv_status st = MV_OK;

	snprintf(path, sizeof path, "%s/%s", t->dir, domain);
	if (!(d = opendir(path)))
		return MV_OK; /* a file beside the domains: not ours */
	while (st == MV_OK && (de = readdir(d)) != NULL) {
		size_t sl = key_file_selector(de->d_name);
		struct mvd_kt_key *k;
		if (!sl)
			continue;
		if (t->ndirkeys == MVD_KEYTABLE_MAX_DIR) {
			errf(err, errlen, t->dir, 0, "more than %d key files",
			     MVD_KEYTABLE_MAX_DIR);
			st = MV_ETOOBIG;
		} else if (!(k = grow(&t->dirkeys, &t->ndirkeys, cap, sizeof *k))) {
			st = MV_ENOMEM;
		} else {
			k->file = t->dir;
			k->domain = strdup(domain);
			k->selector = mv_strndup(de->d_name, sl);
			k->path = malloc(strlen(path) + strlen(de->d_name) + 2);
			k->name = malloc(strlen(domain) + sl + 2);
			if (!k->domain || !k->selector || !k->path || !k->name)
				st = MV_ENOMEM;
			else {
				snprintf(k->path, strlen(path) + strlen(de->d_name) + 2, "%s/%s",
				         path, de->d_name);
				snprintf(k->name, strlen(domain) + sl + 2, "%s/%s", domain,
				         k->selector);
				mv_ascii_lower(k->domain, strlen(k->domain));
			}
		}
	}
	closedir(d);
	if (st == MV_ENOMEM)
		errf(err, errlen, t->dir, 0, "out of memory");
	return st;
}

/* key_directory: every DIR/DOMAIN/SELECTOR.pem (or .private, opendkim-genkey's name). */
static enum mv_status read_dir(struct mvd_keytable *t, char *err, size_t errlen)
{
	DIR *d;
	struct dirent *de;
	size_t cap = 0;
	enum mv_status st = MV_OK;

	if (t->dir[0] != '/') {
		errf(err, errlen, t->dir, 0, "key_directory must be an absolute path");
		return MV_ESYNTAX;
	}
	if (!(d = opendir(t->dir))) {
		errf(err, errlen, t->dir, 0, "%s", strerror(errno));
		return MV_EIO;
	}
	while (st == MV_OK && (de = readdir(d)) != NULL)
		if (de->d_name[0] != '.' && name_ok(de->d_name, strlen(de->d_name)))
			st = read_domain_dir(t, de->d_name, &cap, err, errlen);
	closedir(d);
	if (st == MV_OK && t->ndirkeys)
		qsort(t->dirkeys, t->ndirkeys, sizeof *t->dirkeys, dirkey_cmp);
	return st;
}

/* key_table + signing_table into t. */
static enum mv_status read_tables(struct mvd_keytable *t, char *err, size_t errlen)
{
	struct reader r = {t, 0};
	enum mv_status st;

	if (t->kt_file[0] != '/' || t->st_file[0] != '/') {
		errf(err, errlen, t->kt_file[0] != '/' ? t->kt_file : t->st_file, 0,
		     "must be an absolute path (the daemon works from /)");
		return MV_ESYNTAX;
	}
	if ((st = read_table(t->kt_file, &r, add_key, err, errlen)) != MV_OK)
		return st;
	r.cap = 0;
	if ((st = read_table(t->st_file, &r, add_sign, err, errlen)) != MV_OK)
		return st;
	if (t->nkeys)
		qsort(t->keys, t->nkeys, sizeof *t->keys, key_cmp);
	if (!t->st_wild && t->nsign)
		qsort(t->sign, t->nsign, sizeof *t->sign, entry_cmp);
	if ((st = check_versions(t, err, errlen)) != MV_OK ||
	    (st = check_names(t, err, errlen)) != MV_OK)
		return st;
	if (t->st_wild && (st = index_domains(t)) != MV_OK)
		errf(err, errlen, t->st_file, 0, "out of memory");
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
		st = read_dir(t, err, errlen);
	if (st != MV_OK)
		mvd_keytable_free(t);
	else
		*out = t;
	return st;
}

/* Load one PEM key file into k->key. */
static enum mv_status load_one(struct mvd_kt_key *k, char *err, size_t errlen)
{
	char *pem = NULL, why[128] = "";
	size_t len = 0;
	unsigned mode = 0;
	enum mv_status st;

	st = mv_read_regular_file(k->path, MAX_KEY_FILE, &pem, &len, &mode);
	if (st != MV_OK) {
		errf(err, errlen, k->file, k->line, "key %s: %s", k->path,
		     st == MV_EIO      ? strerror(errno)
		     : st == MV_EINVAL ? "not a regular file"
		                       : mv_status_str(st));
		return st;
	}
	st = mv_dkim_signkey_pem(pem, len, &k->key, why, sizeof why);
	if (st != MV_OK)
		errf(err, errlen, k->file, k->line, "key %s: %s", k->path,
		     why[0] ? why : mv_status_str(st));
	memset(pem, 0, len);
	free(pem);
	return st;
}

static int path_cmp(const void *a, const void *b)
{
	const struct mvd_kt_key *const *x = a, *const *y = b;

	return strcmp((*x)->path, (*y)->path);
}

enum mv_status mvd_keytable_load_keys(struct mvd_keytable *t, char *err, size_t errlen)
{
	size_t n = t->nkeys + t->ndirkeys;
	struct mvd_kt_key **by_path = n ? calloc(n, sizeof *by_path) : NULL;
	enum mv_status st = MV_OK;

	if (n && !by_path) {
		snprintf(err, errlen, "out of memory");
		return MV_ENOMEM;
	}
	for (size_t i = 0; i < t->nkeys; i++)
		by_path[i] = &t->keys[i];
	for (size_t i = 0; i < t->ndirkeys; i++)
		by_path[t->nkeys + i] = &t->dirkeys[i];
	if (n)
		qsort(by_path, n, sizeof *by_path, path_cmp);
	for (size_t i = 0; st == MV_OK && i < n; i++) {
		struct mvd_kt_key *k = by_path[i];
		if (i > 0 && strcmp(by_path[i - 1]->path, k->path) == 0) {
			k->key = by_path[i - 1]->key; /* one file, one load */
			k->borrowed = 1;
		} else {
			st = load_one(k, err, errlen);
		}
	}
	free(by_path);
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

const struct mvd_kt_key *mvd_keytable_key(const struct mvd_keytable *t, const char *name,
                                          int64_t now)
{
	const struct mvd_kt_key *best = NULL;
	size_t lo = 0, hi = t->nkeys;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(t->keys[mid].name, name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = lo; i < t->nkeys && strcmp(t->keys[i].name, name) == 0; i++) {
		const struct mvd_kt_key *k = &t->keys[i];
		if (now < k->not_before || (k->not_after && now >= k->not_after))
			continue;
		if (!best || k->not_before > best->not_before)
			best = k;
	}
	return best;
}

int mvd_keytable_glob(const char *p, const char *s)
{
	const char *star = NULL, *resume = NULL;

	/* Greedy with one backtrack point: O(len(p) * len(s)) at worst, never recursive. */
	while (*s) {
		if (*p == '*') {
			star = p++;
			resume = s;
		} else if (*p && ((unsigned char)*p | 0x20) == ((unsigned char)*s | 0x20) &&
		           ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || *p == *s)) {
			p++;
			s++;
		} else if (star) {
			p = star + 1;
			s = ++resume;
		} else {
			return 0;
		}
	}
	while (*p == '*')
		p++;
	return *p == '\0';
}

/* The exact-lookup entry for key, or NULL. */
static const struct mvd_st_entry *exact(const struct mvd_keytable *t, const char *key)
{
	size_t lo = 0, hi = t->nsign;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(t->sign[mid].pattern, key);
		if (c == 0)
			return &t->sign[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* OpenDKIM's order of exact lookups for local@domain (both lowercased by the caller). */
static const struct mvd_st_entry *lookup_exact(const struct mvd_keytable *t, const char *local,
                                               const char *domain)
{
	char key[700];
	const struct mvd_st_entry *e;
	const char *d;

	snprintf(key, sizeof key, "%s@%s", local, domain);
	if ((e = exact(t, key)) || (e = exact(t, domain)))
		return e;
	for (d = strchr(domain, '.'); d; d = strchr(d + 1, '.')) {
		snprintf(key, sizeof key, "%s@%s", local, d);
		if ((e = exact(t, key)))
			return e;
	}
	for (d = strchr(domain, '.'); d; d = strchr(d + 1, '.'))
		if ((e = exact(t, d)))
			return e;
	snprintf(key, sizeof key, "%s@*", local);
	if ((e = exact(t, key)))
		return e;
	return exact(t, "*");
}

/* refile: the first pattern in file order matching local@domain. */
static const struct mvd_st_entry *lookup_wild(const struct mvd_keytable *t, const char *local,
                                              const char *domain)
{
	char addr[700];
	size_t first = t->nsign, lo = 0, hi = t->nbyd;

	/* The "*@DOMAIN" lines through the index: the earliest of that domain bounds the scan. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(t->byd[mid].pattern, domain) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < t->nbyd && strcmp(t->byd[lo].pattern, domain) == 0)
		first = t->byd[lo].line;
	snprintf(addr, sizeof addr, "%s@%s", local, domain);
	for (size_t g = 0; g < t->ngeneral && t->general[g] < first; g++)
		if (mvd_keytable_glob(t->sign[t->general[g]].pattern, addr))
			return &t->sign[t->general[g]];
	return first < t->nsign ? &t->sign[first] : NULL;
}

const char *mvd_keytable_lookup(const struct mvd_keytable *t, const char *local, const char *domain,
                                unsigned *line)
{
	char l[320], d[256];
	const struct mvd_st_entry *e;

	if (!t->nsign || strlen(local) >= sizeof l || strlen(domain) >= sizeof d)
		return NULL;
	memcpy(l, local, strlen(local) + 1);
	memcpy(d, domain, strlen(domain) + 1);
	mv_ascii_lower(l, strlen(l));
	mv_ascii_lower(d, strlen(d));
	e = t->st_wild ? lookup_wild(t, l, d) : lookup_exact(t, l, d);
	if (e && line)
		*line = e->line;
	return e ? e->keyname : NULL;
}

/* Every key of the key directory for domain into keys[0..max). */
static size_t dir_keys(const struct mvd_keytable *t, const char *domain,
                       struct mv_outbound_key *keys, size_t max)
{
	size_t lo = 0, hi = t->ndirkeys, n = 0;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(t->dirkeys[mid].domain, domain) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = lo; i < t->ndirkeys && n < max && strcmp(t->dirkeys[i].domain, domain) == 0;
	     i++) {
		keys[n].domain = t->dirkeys[i].domain;
		keys[n].selector = t->dirkeys[i].selector;
		keys[n].key = t->dirkeys[i].key;
		keys[n].subdomains = 0;
		n++;
	}
	return n;
}

size_t mvd_keytable_choose(const struct mvd_keytable *t, const char *local, const char *domain,
                           int64_t now, struct mv_outbound_key *keys, size_t max, char *why,
                           size_t whylen)
{
	unsigned line = 0;
	const char *name = mvd_keytable_lookup(t, local ? local : "", domain, &line);
	const struct mvd_kt_key *k;
	char lower[256];

	if (strlen(domain) >= sizeof lower) {
		snprintf(why, whylen, "author domain too long");
		return 0;
	}
	memcpy(lower, domain, strlen(domain) + 1);
	mv_ascii_lower(lower, strlen(lower));
	if (name) {
		k = mvd_keytable_key(t, strcmp(name, "%") == 0 ? lower : name, now);
		if (!k || !k->key || max == 0) {
			snprintf(why, whylen,
			         "no DKIM key for %s: %s:%u gives key %s, which has no version "
			         "valid now",
			         domain, t->st_file, line, name);
			return 0;
		}
		keys[0].domain = strcmp(k->domain, "%") == 0 ? domain : k->domain;
		keys[0].selector = k->selector;
		keys[0].key = k->key;
		keys[0].subdomains = 0;
		return 1;
	}
	if (t->ndirkeys) {
		size_t n = dir_keys(t, lower, keys, max);
		if (n > 0)
			return n;
	}
	snprintf(why, whylen,
	         "no DKIM key for %s (no [domain] section, no match for %s@%s in %s%s)", domain,
	         local ? local : "", domain, t->nsign ? t->st_file : "",
	         t->dir[0] ? (t->nsign ? " or the key directory" : "the key directory") : "");
	return 0;
}
