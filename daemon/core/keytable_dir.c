/* daemon/core/keytable_dir.c — [signing] key_directory (DIR/DOMAIN/SELECTOR.pem), and loading every key once. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mailvet/util.h>

#include "keyfile.h"
#include "keytable_int.h"

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
	return mvd_keytable_name_ok(name, n) ? n : 0;
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
			mvd_keytable_errf(err, errlen, t->dir, 0, "more than %d key files",
			                  MVD_KEYTABLE_MAX_DIR);
			st = MV_ETOOBIG;
		} else if (!(k = mvd_keytable_grow(&t->dirkeys, &t->ndirkeys, cap, sizeof *k))) {
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
		mvd_keytable_errf(err, errlen, t->dir, 0, "out of memory");
	return st;
}

/* key_directory: every DIR/DOMAIN/SELECTOR.pem (or .private, opendkim-genkey's name). */
enum mv_status mvd_keytable_read_dir(struct mvd_keytable *t, char *err, size_t errlen)
{
	DIR *d;
	struct dirent *de;
	size_t cap = 0;
	enum mv_status st = MV_OK;

	if (t->dir[0] != '/') {
		mvd_keytable_errf(err, errlen, t->dir, 0, "key_directory must be an absolute path");
		return MV_ESYNTAX;
	}
	if (!(d = opendir(t->dir))) {
		mvd_keytable_errf(err, errlen, t->dir, 0, "%s", strerror(errno));
		return MV_EIO;
	}
	while (st == MV_OK && (de = readdir(d)) != NULL)
		if (de->d_name[0] != '.' && mvd_keytable_name_ok(de->d_name, strlen(de->d_name)))
			st = read_domain_dir(t, de->d_name, &cap, err, errlen);
	closedir(d);
	if (st == MV_OK && t->ndirkeys)
		qsort(t->dirkeys, t->ndirkeys, sizeof *t->dirkeys, dirkey_cmp);
	return st;
}

/* Load one key file into k->key (keyfile.c: here or through the key process). */
static enum mv_status load_one(struct mvd_kt_key *k, char *err, size_t errlen)
{
	char why[400] = "";
	enum mv_status st = mvd_keyfile_open(k->path, &k->key, why, sizeof why);

	if (st != MV_OK)
		mvd_keytable_errf(err, errlen, k->file, k->line, "%s", why);
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
