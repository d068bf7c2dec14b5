/* daemon/core/keytable.h — signing keys for many domains: OpenDKIM KeyTable/SigningTable, a key directory. */
#ifndef MAILVETD_KEYTABLE_H
#define MAILVETD_KEYTABLE_H

#include <stddef.h>
#include <stdint.h>

#include <mailvet/dkim.h>
#include <mailvet/outbound.h>

#define MVD_KEYTABLE_MAX_FILE ((size_t)64 << 20) /* a table file */
#define MVD_KEYTABLE_MAX_LINE 4096               /* one line of a table */
#define MVD_KEYTABLE_MAX_DIR 100000              /* key files under key_directory */

/* Where a key came from, for messages and for `mailvetd -n --check-dns`. */
enum mvd_key_source { MVD_KEY_DOMAIN_SECTION, MVD_KEY_TABLE, MVD_KEY_DIRECTORY };

/*
 * One key: a KeyTable line ("NAME DOMAIN:SELECTOR:PATH [not_before=DATE]
 * [not_after=DATE]") or a file of the key directory (NAME is then
 * "DOMAIN/SELECTOR"). Active from not_before (0: always) until not_after
 * (0: never ends), epoch seconds, half-open. DOMAIN "%" stands for the
 * author domain of the message.
 */
struct mvd_kt_key {
	char *name, *domain, *selector, *path;
	int64_t not_before, not_after;
	const char *file; /* the table file (borrowed from the table), or the directory */
	unsigned line;    /* 0 for the key directory */
	struct mv_dkim_signkey *key; /* NULL until mvd_keytable_load_keys() */
	int borrowed;                /* key is another entry's (the same file) */
};

/* One SigningTable line: "PATTERN KEYNAME [SIGNER]" (SIGNER is read and not used). */
struct mvd_st_entry {
	char *pattern; /* lowercase */
	char *keyname;
	unsigned line;
};

/* The [signing] tables, read-only once loaded (threads share it without locks). */
struct mvd_keytable {
	char *kt_file, *st_file, *dir; /* the paths, without their file:/refile: prefix */
	int st_wild;                   /* refile: patterns in file order; else exact lookups */
	struct mvd_kt_key *keys;       /* sorted by name, then line */
	size_t nkeys;
	struct mvd_st_entry *sign; /* refile: file order; else sorted by pattern */
	size_t nsign;
	struct mvd_st_entry *byd; /* refile: the "*@DOMAIN" patterns sorted by domain (pattern
	                           * is the domain, line its rank in sign[]) */
	size_t nbyd;
	struct mvd_kt_key *dirkeys; /* the key directory, sorted by domain then selector */
	size_t ndirkeys;
	size_t *general; /* refile: the ranks in sign[] of the lines byd does not index */
	size_t ngeneral;
};

/*
 * Read the tables: key_table and signing_table (both or neither; a
 * "file:" or "refile:" prefix as OpenDKIM writes it: refile: makes the
 * signing table's keys wildcard patterns), key_directory (DIR/DOMAIN/
 * SELECTOR.pem or .private). Keys are not loaded. Any of the three may be
 * NULL or "". A malformed line, a keyname the key table does not hold, a
 * relative path, a file over the limits is MV_ESYNTAX with "FILE:LINE: why"
 * in err; MV_EIO when a table cannot be read. On MV_OK *out is freed with
 * mvd_keytable_free() (NULL when nothing is configured).
 */
enum mv_status mvd_keytable_read(const char *key_table, const char *signing_table,
                                 const char *key_directory, struct mvd_keytable **out, char *err,
                                 size_t errlen);

/*
 * The same on texts in memory (the fuzz target, tests): kt and st_text
 * need no NUL; wild as refile:. Errors read "KeyTable:LINE" or
 * "SigningTable:LINE". No key directory, no key loaded.
 */
enum mv_status mvd_keytable_parse(const char *kt, size_t kt_len, const char *st_text, size_t st_len,
                                  int wild, struct mvd_keytable **out, char *err, size_t errlen);

/*
 * Load the private key of every entry, each file once (sites often sign
 * many domains with one key); err reads "FILE:LINE: key PATH: why".
 */
enum mv_status mvd_keytable_load_keys(struct mvd_keytable *t, char *err, size_t errlen);

void mvd_keytable_free(struct mvd_keytable *t); /* NULL is fine */

/* Parse "YYYY-MM-DD" (a date of the Gregorian calendar) into its 00:00 UTC. -1 if not. */
int64_t mvd_keytable_date(const char *s);

/*
 * The key of keyname active at now: among its lines whose window holds now,
 * the one with the latest not_before. NULL when none.
 */
const struct mvd_kt_key *mvd_keytable_key(const struct mvd_keytable *t, const char *name,
                                          int64_t now);

/*
 * The keyname the signing table gives the author local@domain (both
 * lowercase or not: compared ASCII case-insensitively), or NULL. refile:
 * the first pattern in file order that matches "local@domain" ('*' stands
 * for any run of bytes). Otherwise OpenDKIM's order of exact lookups:
 * local@domain, domain, local@.parent and .parent for each parent, local@*,
 * *. *line gets the matching line.
 */
const char *mvd_keytable_lookup(const struct mvd_keytable *t, const char *local, const char *domain,
                                unsigned *line);

/*
 * The keys for one message from author local@domain at now: the signing
 * table's key (its "%" replaced by domain), else every key of the key
 * directory for domain. Fills keys[0..max) (borrowed from t) and returns
 * how many; 0 with why when none.
 */
size_t mvd_keytable_choose(const struct mvd_keytable *t, const char *local, const char *domain,
                           int64_t now, struct mv_outbound_key *keys, size_t max, char *why,
                           size_t whylen);

/* 1 when glob pattern p ('*' = any run of bytes, ASCII case-insensitive) matches s. */
int mvd_keytable_glob(const char *p, const char *s);

#endif
