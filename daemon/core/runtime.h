/* daemon/core/runtime.h — one loaded configuration: settings, resolver, keys; swapped on reload. */
#ifndef MAILVETD_CORE_RUNTIME_H
#define MAILVETD_CORE_RUNTIME_H

#include <mailvet/authres.h>
#include <mailvet/dns.h>
#include <mailvet/outbound.h>
#include <mailvet/verify.h>

#include "config.h"
#include "keys.h"
#include "submit.h"
#include "localpolicy.h"

/*
 * Everything a message is handled with. Reference counted: a milter
 * connection holds the runtime it started with until it closes, so a
 * reload (SIGHUP) applies to new connections while old ones finish with
 * theirs. Read-only once built, so threads share it without locks.
 */
struct mvd_runtime {
	struct mvd_config cfg;
	struct mv_resolver *resolver;
	struct mv_verify_config vcfg;
	struct mv_outbound_config outcfg; /* signing and sealing ([outbound], [domain] keys) */
	struct mv_authres_servid servid;
	struct mv_authres_policy arpolicy;
	struct mvd_keys *keys;             /* [domain] signing keys */
	struct mv_dkim_keycache *keycache; /* decoded DKIM and ARC keys, shared by all sessions */
	struct mv_dmarc_psl *psl;          /* [verify] dmarc_mode = rfc7489: vcfg.dmarc.psl */
	struct mvd_submit submit;          /* [submission]: credentials and the sender map */
	/* [policy] overrides and skips (localpolicy.h); NULL = none */
	struct mvd_localpolicy *localpolicy;
	int refs; /* guarded by the holder's lock */
};

/*
 * Build a runtime from a parsed configuration, which it takes over (cfg
 * is zeroed; the caller frees nothing of it, on any status): opens the
 * resolver (zone_file, or libunbound) and loads the signing keys. On MV_OK
 * *out holds one reference; err says what failed otherwise.
 */
enum mv_status mvd_runtime_open(struct mvd_config *cfg, struct mvd_runtime **out, char *err,
                                size_t errlen);

/* Make rt the runtime new connections get (takes over the caller's reference). */
void mvd_runtime_install(struct mvd_runtime *rt);
/* A new reference to the current runtime (NULL before the first install). */
struct mvd_runtime *mvd_runtime_acquire(void);
/* Drop a reference; the last one frees. NULL is fine. */
void mvd_runtime_release(struct mvd_runtime *rt);

/* Read, parse and open the configuration at path; NULL with the reason in err. */
struct mvd_runtime *mvd_runtime_load(const char *path, char *err, size_t errlen);

/*
 * Load path again and install it for new connections; a configuration
 * that does not load is logged and the running one kept.
 */
void mvd_runtime_reload(const char *path);

#endif
