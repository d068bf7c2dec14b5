/* lib/arc/validator.h — the validator's state, shared by validate.c, check.c and result.c. */
#ifndef MAILVET_ARC_VALIDATOR_H
#define MAILVET_ARC_VALIDATOR_H

#include "arc/arc_int.h"

#define ARC_MAX_HASHERS 8 /* distinct (body canonicalization, l=) pairs hashed */

/* A key looked up once per (selector, domain). */
struct arc_key {
	char *s, *d;
	struct mv_dkim_key *key; /* NULL when the lookup failed */
	int temp;                /* key is NULL because of a temporary DNS failure */
	char err[112];           /* why, when key is NULL */
};

/* What checking one AMS or AS came to. */
enum arc_check {
	ARC_CHECK_FAIL, /* it does not verify (or is unusable) */
	ARC_CHECK_PASS,
	ARC_CHECK_TEMP, /* undetermined: its key lookup failed temporarily (SERVFAIL, timeout) */
};

/* One chain (one algorithm) being validated. */
struct arc_chain {
	struct mv_arc_chain_result res;
	struct mv_arc_hop hop[MV_ARC_MAX_INSTANCE];
	struct mv_arc_sig *ams[MV_ARC_MAX_INSTANCE + 1];
	struct mv_arc_sig *as[MV_ARC_MAX_INSTANCE + 1];
	int hasher[MV_ARC_MAX_INSTANCE + 1]; /* index in hashers[] of each AMS, -1 none */
	int evaluate;                        /* longest, supported, structure sound */
	int decided;                         /* res.cv is final */
};

struct mv_arc_validator {
	struct mv_arc_validate_opts o;
	struct mv_resolver *r;
	int64_t now;
	const struct mv_msg *m;
	struct mv_arc_sets sets;
	struct arc_chain chain[MV_ARC_MAX_ALGS];
	size_t nchains;
	struct mv_dkim_bodyhash *hashers[ARC_MAX_HASHERS];
	size_t nhashers;
	struct arc_key *keys;
	size_t nkeys, capkeys;
	enum mv_arc_cv cv;
	int temperror; /* cv is fail only because of a temporary DNS failure */
	char reason[160];
	int chosen; /* index in chain[], -1 for none */
	int have_headers, finished;
	struct mv_buf scratch;
};

/*
 * Verify the AMS / AS of instance i of chain c. ARC_CHECK_PASS, else the
 * reason in why: ARC_CHECK_FAIL, or ARC_CHECK_TEMP when everything that
 * could be checked without the key held and the key lookup failed
 * temporarily (a later attempt may verify it).
 */
enum arc_check mv_arc_check_ams(struct mv_arc_validator *v, struct arc_chain *c, unsigned i,
                                char *why, size_t whylen);
enum arc_check mv_arc_check_as(struct mv_arc_validator *v, struct arc_chain *c, unsigned i,
                               char *why, size_t whylen);
/*
 * The key of (s, d), fetched on first use; NULL with the reason in why, and
 * *temp set to 1 when the lookup failed temporarily (SERVFAIL, timeout:
 * MV_ETEMP or MV_ETIMEOUT from the key fetch), else 0.
 */
const struct mv_dkim_key *mv_arc_key(struct mv_arc_validator *v, const char *s, const char *d,
                                     char *why, size_t whylen, int *temp);

#endif
