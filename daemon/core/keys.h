/* daemon/core/keys.h — the signing keys: [domain] sections and the [signing] tables, loaded. */
#ifndef MAILVETD_KEYS_H
#define MAILVETD_KEYS_H

#include <stddef.h>
#include <stdio.h>

#include <mailvet/dkim.h>
#include <mailvet/outbound.h>

#include "config.h"
#include "keytable.h"

/* One [domain] section with its keys loaded (keys[i] has selector selectors[i]). */
struct mvd_keys_domain {
	const struct mvd_domain_conf *conf;
	struct mv_dkim_signkey **keys;
	const char **selectors; /* borrowed from conf */
};

/*
 * Every signing key; read-only once loaded. The [domain] sections come
 * first, then the signing table (with its key table), then the key
 * directory: mvd_keys_choose() says which signs a message.
 */
struct mvd_keys {
	const struct mvd_config *cfg; /* borrowed for the table's life */
	struct mvd_keys_domain *d;
	size_t n;
	struct mvd_keytable *kt; /* [signing] tables, NULL when none is set */
	/*
	 * Every key as lib/outbound's key table: the [domain] keys, the key
	 * table's keys active at load (one version per name, not "%"), the key
	 * directory's. ARC sealing uses it as it is; DKIM goes through
	 * mvd_keys_choose.
	 */
	struct mv_outbound_key *table;
	size_t ntable;
};

/*
 * Load the private key of every [domain] key and of the [signing] tables
 * (PEM, regular files only; a key that others may read is logged as a
 * warning). On MV_OK *out is freed with mvd_keys_free(); otherwise err
 * says which file (and line) failed. c is borrowed for the table's life.
 */
enum mv_status mvd_keys_load(const struct mvd_config *c, struct mvd_keys **out, char *err,
                             size_t errlen);
void mvd_keys_free(struct mvd_keys *k); /* NULL is fine */

/* The section covering domain (ASCII, any case; see mvd_config_domain), or NULL. */
const struct mvd_keys_domain *mvd_keys_for(const struct mvd_keys *k, const char *domain);

/*
 * lib/outbound's dkim_choose for mailvetd (arg: the struct mvd_keys): the
 * [domain] section covering the author domain, else the signing table's
 * key for the From address valid now, else the key directory's keys.
 */
size_t mvd_keys_choose(void *arg, const struct mv_msg *header, const char *author,
                       struct mv_outbound_key *keys, size_t max, char *why, size_t whylen);

/* The same choice at time now for author local@domain (tests, --check-dns). */
size_t mvd_keys_choose_at(const struct mvd_keys *k, const char *local, const char *domain,
                          int64_t now, struct mv_outbound_key *keys, size_t max, char *why,
                          size_t whylen);

/*
 * `mailvetd -n --check-dns`: mv_dkim_keycheck() for every key of every
 * source ([domain] keys, every version in the key table, the key
 * directory), one line each on out ("NAME (FILE:LINE): ok|problem|
 * dns-failure: notes"). Returns how many keys are not ok; -1 when memory
 * runs out.
 */
long mvd_keys_check_dns(const struct mvd_keys *k, struct mv_resolver *r, FILE *out);

#endif
