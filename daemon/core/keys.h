/* daemon/core/keys.h — the private keys of every [domain] section, loaded from their files. */
#ifndef MAILVETD_KEYS_H
#define MAILVETD_KEYS_H

#include <stddef.h>

#include <mailvet/dkim.h>
#include <mailvet/outbound.h>

#include "config.h"

/* One [domain] section with its keys loaded (keys[i] has selector selectors[i]). */
struct mvd_keys_domain {
	const struct mvd_domain_conf *conf;
	struct mv_dkim_signkey **keys;
	const char **selectors; /* borrowed from conf */
};

/* Every [domain] section's keys; read-only once loaded. */
struct mvd_keys {
	const struct mvd_config *cfg; /* borrowed for the table's life */
	struct mvd_keys_domain *d;
	size_t n;
	struct mv_outbound_key *table; /* every key as lib/outbound's key table */
	size_t ntable;
};

/*
 * Load the private key of every [domain] key (PEM, regular files only; a
 * key that others may read is logged as a warning). On MV_OK *out is
 * freed with mvd_keys_free(); otherwise err says which file failed. c is
 * borrowed for the table's life.
 */
enum mv_status mvd_keys_load(const struct mvd_config *c, struct mvd_keys **out, char *err,
                             size_t errlen);
void mvd_keys_free(struct mvd_keys *k); /* NULL is fine */

/* The section covering domain (ASCII, any case; see mvd_config_domain), or NULL. */
const struct mvd_keys_domain *mvd_keys_for(const struct mvd_keys *k, const char *domain);

#endif
