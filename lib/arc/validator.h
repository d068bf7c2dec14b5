/* lib/arc/validator.h — the validator's state, shared by validate.c, check.c and result.c. */
#ifndef MAILVET_ARC_VALIDATOR_H
#define MAILVET_ARC_VALIDATOR_H

#include "arc/arc_int.h"

#define ARC_MAX_HASHERS 8 /* distinct (body canonicalization, l=) pairs hashed */

/* A key looked up once per (selector, domain). */
struct arc_key {
	char *s, *d;
	struct mv_dkim_key *key; /* NULL when the lookup failed */
	char err[112];           /* why, when key is NULL */
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
	char reason[160];
	int chosen; /* index in chain[], -1 for none */
	int have_headers, finished;
	struct mv_buf scratch;
};

/* Verify the AMS / AS of instance i of chain c; MV_OK or the reason in why. */
int mv_arc_check_ams(struct mv_arc_validator *v, struct arc_chain *c, unsigned i, char *why,
                     size_t whylen);
int mv_arc_check_as(struct mv_arc_validator *v, struct arc_chain *c, unsigned i, char *why,
                    size_t whylen);
/* The key of (s, d), fetched on first use; NULL with the reason in why. MV_ENOMEM in *st. */
const struct mv_dkim_key *mv_arc_key(struct mv_arc_validator *v, const char *s, const char *d,
                                     char *why, size_t whylen);

#endif
