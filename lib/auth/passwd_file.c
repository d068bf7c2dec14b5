/*
 * lib/auth/passwd_file.c — the embedded credential back end: a file of
 * "login:hash[:ignored...]" lines checked with crypt(3) from libxcrypt.
 * The table is immutable once read; a reload builds a new one and swaps it
 * in under a lock, so checks running meanwhile keep a consistent view.
 */
#include <crypt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include <mailvet/auth.h>
#include <mailvet/util.h>

#include "auth/auth_int.h"
#include "auth/backend.h"

#define PASSWD_FILE_MAX ((size_t)64 << 20)

struct pw_entry {
	char *login, *hash;
};

struct pw_table {
	struct pw_entry *e; /* sorted by login */
	size_t n;
	char dummy[CRYPT_GENSALT_OUTPUT_SIZE]; /* setting hashed for unknown logins */
	unsigned long refs;                    /* checks using it; guarded by pw_file.lock */
};

struct pw_file {
	char *path;
	pthread_mutex_t lock; /* guards t and the tables' refs */
	struct pw_table *t;
};

static void table_free(struct pw_table *t)
{
	size_t i;

	if (t == NULL)
		return;
	for (i = 0; i < t->n; i++) {
		free(t->e[i].login);
		mv_auth_free_secret_str(t->e[i].hash);
	}
	free(t->e);
	free(t);
}

static int entry_cmp(const void *a, const void *b)
{
	return strcmp(((const struct pw_entry *)a)->login, ((const struct pw_entry *)b)->login);
}

/* Why hash is refused, or NULL when it is one we accept. */
static const char *hash_refusal(const char *h, size_t n)
{
	if (n == 0)
		return "empty hash";
	if (n >= 7 && mv_ascii_ieq(h, 7, "{PLAIN}"))
		return "plain-text password refused; write a hash with `mailvet passwd`";
	if (h[0] == '{')
		return "scheme prefix refused; write a bare crypt(3) hash";
	if (h[0] != '$')
		return "plain-text password or DES hash refused";
	if (n >= 3 && memcmp(h, "$1$", 3) == 0)
		return "MD5-crypt hash refused";
	if (memchr(h, ' ', n) || memchr(h, '\t', n))
		return "space inside the hash";
	return NULL;
}

/* Parse one non-comment line into e. Returns NULL, or why the line is refused. */
static const char *parse_line(const char *p, size_t n, struct pw_entry *e)
{
	const char *colon = memchr(p, ':', n), *hend, *why;
	size_t hlen;

	if (colon == NULL)
		return "no ':' (want login:hash)";
	if (colon == p)
		return "empty login";
	if (!mv_auth_text_valid(p, (size_t)(colon - p)))
		return "login is not printable UTF-8";
	hend = memchr(colon + 1, ':', n - (size_t)(colon + 1 - p));
	hlen = (size_t)((hend ? hend : p + n) - (colon + 1));
	if ((why = hash_refusal(colon + 1, hlen)) != NULL)
		return why;
	e->login = mv_strndup(p, (size_t)(colon - p));
	e->hash = mv_strndup(colon + 1, hlen);
	if (e->login == NULL || e->hash == NULL)
		return "out of memory";
	if (!mv_passwd_hash_allowed(e->hash))
		return "hash method refused (yescrypt $y$, bcrypt $2b$ or sha512-crypt $6$ only)";
	return NULL;
}

static enum mv_status table_add(struct pw_table *t, size_t *cap)
{
	struct pw_entry *ne;

	if (t->n < *cap)
		return MV_OK;
	*cap = *cap ? *cap * 2 : 64;
	if ((ne = realloc(t->e, *cap * sizeof *ne)) == NULL)
		return MV_ENOMEM;
	t->e = ne;
	return MV_OK;
}

/* Parse the whole text into a new table. */
static enum mv_status table_parse(const char *path, const char *text, size_t len,
                                  struct pw_table **out, char *err, size_t errlen)
{
	struct pw_table *t = calloc(1, sizeof *t);
	const char *p = text, *end = text + len, *nl, *why;
	size_t lineno = 0, cap = 0, n, i;
	enum mv_status st = MV_ENOMEM;

	if (t == NULL)
		goto out;
	for (; p < end; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		n = (size_t)(nl - p);
		lineno++;
		if (n && p[n - 1] == '\r')
			n--;
		while (n && mv_ascii_is_wsp(p[n - 1]))
			n--;
		if (n == 0 || p[0] == '#')
			continue;
		if ((st = table_add(t, &cap)) != MV_OK)
			goto out;
		memset(&t->e[t->n], 0, sizeof t->e[0]);
		why = parse_line(p, n, &t->e[t->n]);
		t->n++;
		if (why != NULL) {
			mv_errf(err, errlen, "%s:%zu: %s", path, lineno, why);
			st = MV_ESYNTAX;
			goto out;
		}
	}
	if (t->n)
		qsort(t->e, t->n, sizeof t->e[0], entry_cmp);
	for (i = 1; i < t->n; i++)
		if (strcmp(t->e[i - 1].login, t->e[i].login) == 0) {
			mv_errf(err, errlen, "%s: login %s appears twice", path, t->e[i].login);
			st = MV_ESYNTAX;
			goto out;
		}
	/* an unknown login is hashed with the first entry's method and cost */
	st = MV_EIO;
	if (t->n)
		snprintf(t->dummy, sizeof t->dummy, "%.*s", (int)(sizeof t->dummy - 1),
		         t->e[0].hash);
	else if (crypt_gensalt_rn("$y$", 0, NULL, 0, t->dummy, sizeof t->dummy) == NULL)
		goto out;
	st = MV_OK;
out:
	if (st != MV_OK) {
		table_free(t);
		t = NULL;
	}
	*out = t;
	return st;
}

static enum mv_status table_load(const char *path, struct pw_table **out, char *err, size_t errlen)
{
	char *text = NULL;
	size_t len = 0;
	enum mv_status st;

	*out = NULL;
	st = mv_read_regular_file(path, PASSWD_FILE_MAX, &text, &len, NULL);
	if (st != MV_OK) {
		mv_errf(err, errlen, "%s: cannot read: %s", path, mv_status_str(st));
		return st;
	}
	st = table_parse(path, text, len, out, err, errlen);
	mv_auth_free_secret(text, len);
	return st;
}

enum mv_status mv_auth_passwd_file_open(const char *path, void **self, char *err, size_t errlen)
{
	struct pw_file *f;
	enum mv_status st;

	*self = NULL;
	if ((f = calloc(1, sizeof *f)) == NULL || (f->path = strdup(path)) == NULL) {
		free(f);
		return MV_ENOMEM;
	}
	if ((st = table_load(path, &f->t, err, errlen)) != MV_OK) {
		free(f->path);
		free(f);
		return st;
	}
	pthread_mutex_init(&f->lock, NULL);
	*self = f;
	return MV_OK;
}

/* crypt_rn(password, setting) equals hash, compared in constant time. */
static int hash_matches(const char *password, const char *setting, const char *hash)
{
	struct crypt_data *cd = calloc(1, sizeof *cd);
	int ok = 0;
	size_t hl = strlen(hash);

	if (cd == NULL)
		return 0;
	if (crypt_rn(password, setting, cd, sizeof *cd) != NULL && cd->output[0] != '*' &&
	    strlen(cd->output) == hl)
		ok = CRYPTO_memcmp(cd->output, hash, hl) == 0;
	mv_auth_free_secret(cd, sizeof *cd);
	return ok;
}

/* Take a reference to the current table (released by table_put). */
static struct pw_table *table_get(struct pw_file *f)
{
	struct pw_table *t;

	pthread_mutex_lock(&f->lock);
	t = f->t;
	t->refs++;
	pthread_mutex_unlock(&f->lock);
	return t;
}

/* Release t; the last user of a table a reload replaced frees it. */
static void table_put(struct pw_file *f, struct pw_table *t)
{
	int gone;

	pthread_mutex_lock(&f->lock);
	gone = --t->refs == 0 && t != f->t;
	pthread_mutex_unlock(&f->lock);
	if (gone)
		table_free(t);
}

static enum mv_auth_verdict pw_check(void *self, const struct mv_auth_request *req,
                                     unsigned timeout_ms, char **ok_login, char *err, size_t errlen)
{
	struct pw_file *f = self;
	struct pw_table *t = table_get(f);
	struct pw_entry key = {(char *)req->login, NULL}, *e;
	int ok;

	(void)timeout_ms; /* a local file: no network wait to bound */
	e = t->n ? bsearch(&key, t->e, t->n, sizeof t->e[0], entry_cmp) : NULL;
	if (e != NULL && strlen(req->password) == req->password_len)
		ok = hash_matches(req->password, e->hash, e->hash);
	else {
		(void)hash_matches(req->password, t->dummy, ""); /* the same cost, never a match */
		ok = 0;
	}
	table_put(f, t);
	if (!ok) {
		mv_errf(err, errlen, e ? "wrong password" : "unknown login");
		return MV_AUTH_FAIL;
	}
	if (ok_login && (*ok_login = strdup(req->login)) == NULL) {
		mv_errf(err, errlen, "out of memory");
		return MV_AUTH_TEMPFAIL;
	}
	return MV_AUTH_OK;
}

/* Swap in a freshly read table; the old one goes when its last check ends. */
static enum mv_status pw_reload(void *self, char *err, size_t errlen)
{
	struct pw_file *f = self;
	struct pw_table *t, *old;
	enum mv_status st;
	int gone;

	if ((st = table_load(f->path, &t, err, errlen)) != MV_OK)
		return st;
	pthread_mutex_lock(&f->lock);
	old = f->t;
	f->t = t;
	gone = old->refs == 0;
	pthread_mutex_unlock(&f->lock);
	if (gone)
		table_free(old);
	return MV_OK;
}

static void pw_free(void *self)
{
	struct pw_file *f = self;

	if (f == NULL)
		return;
	table_free(f->t);
	pthread_mutex_destroy(&f->lock);
	free(f->path);
	free(f);
}

const struct mv_auth_backend_ops mv_auth_passwd_file_ops = {"passwd-file", pw_check, pw_reload,
                                                            pw_free};
