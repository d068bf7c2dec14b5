/* include/mailvet/arc.h — ARC (RFC 8617, draft-ietf-dmarc-arc-multi-02): validate and seal. */
#ifndef MAILVET_ARC_H
#define MAILVET_ARC_H

#include <stddef.h>
#include <stdint.h>

#include <mailvet/authres.h>
#include <mailvet/dkim.h>
#include <mailvet/dns.h>
#include <mailvet/msg.h>
#include <mailvet/status.h>
#include <mailvet/util.h>

#define MV_ARC_MAX_INSTANCE 50 /* RFC 8617 §4.2.1: i= is 1..50 */
#define MV_ARC_MAX_ALGS 4      /* distinct a= values (chains) a message may carry */
#define MV_ARC_ALG_MAX 32      /* longest a= value kept */
#define MV_ARC_NOFIELD ((size_t)-1)

/* Chain validation status (RFC 8617 §4.4). */
enum mv_arc_cv {
	MV_ARC_NONE,
	MV_ARC_PASS,
	MV_ARC_FAIL,
};
const char *mv_arc_cv_str(enum mv_arc_cv cv); /* "none", "pass", "fail" */

/* ---- The ARC set collector ---------------------------------------------- */

/*
 * The ARC header fields of one chain: of one algorithm
 * (draft-ietf-dmarc-arc-multi-02 §4: one chain per signing algorithm), or of
 * every set when there is one set per instance (mv_arc_sets.single).
 * ams[i] / as[i] are indexes of message fields for instance i
 * (1..MV_ARC_MAX_INSTANCE), MV_ARC_NOFIELD when absent.
 */
struct mv_arc_chain_fields {
	char alg[MV_ARC_ALG_MAX]; /* a= as written ("" when absent or too long);
	                           * for a single chain, that of the newest ARC-Seal */
	size_t ams[MV_ARC_MAX_INSTANCE + 1];
	size_t as[MV_ARC_MAX_INSTANCE + 1];
	unsigned length; /* highest instance with an AMS or AS of this algorithm */
	int dup;         /* some instance has two AMS or two AS of this algorithm */
};

/*
 * Every ARC field of a message, sorted by instance and algorithm. The
 * ARC-Authentication-Results field carries no algorithm: each instance has
 * one, shared by the chains of every algorithm.
 *
 * When every instance 1..N has exactly one AAR, one AMS and one AS, the
 * sets are one RFC 8617 chain whatever algorithms they use (a sealer that
 * knows nothing of draft-ietf-dmarc-arc-multi may switch algorithm from one
 * hop to the next): then single is 1 and chain[0], the only chain, holds
 * every set, its alg the a= of the newest ARC-Seal. Only when some instance
 * has more than one set are the chains split by algorithm (arc-multi §4).
 */
struct mv_arc_sets {
	unsigned count; /* N: the highest instance (0: no ARC field) */
	size_t aar[MV_ARC_MAX_INSTANCE + 1];
	size_t nchains;
	struct mv_arc_chain_fields chain[MV_ARC_MAX_ALGS];
	int malformed; /* 1: no chain can be valid (why says which field and why) */
	char why[128];
	int single; /* 1: one set per instance, one chain (chain[0]) of any algorithms */
};

/*
 * Collect the ARC sets of m (RFC 8617 §5.2 steps 1 and 3): read the instance
 * of every ARC-Seal, ARC-Message-Signature and ARC-Authentication-Results
 * field and the algorithm (a=) of each AMS and AS. out->malformed is set
 * when a field cannot be placed (an AMS or AS that is not a tag-list or has
 * no valid i=; an AAR whose value does not start with "i=N;"), when an
 * instance is outside 1..50, when two AARs share an instance or one is
 * missing below N, or when more than MV_ARC_MAX_ALGS algorithms appear.
 * out->single is set, and the sets form one chain, when every instance has
 * exactly one of each field (see struct mv_arc_sets). No allocation; fills *out. MV_EINVAL for NULL arguments only.
 */
enum mv_status mv_arc_collect(const struct mv_msg *m, struct mv_arc_sets *out);

/* ---- Validation (RFC 8617 §5.2) ----------------------------------------- */

/* One instance of a validated chain; strings borrowed from the validator. */
struct mv_arc_hop {
	unsigned instance;
	const char *as_d, *as_s;   /* the seal's d= and s= (NULL if unreadable) */
	const char *ams_d, *ams_s; /* the message signature's d= and s= */
	enum mv_arc_cv cv;         /* the seal's cv= */
	const char *aar;           /* the AAR's payload after "i=N;" (folding kept), or NULL */
	size_t aar_len;
	int ams_pass; /* 1 the AMS verified, 0 it did not, -1 not checked */
};

/* The outcome of one chain (one algorithm). Borrowed from the validator. */
struct mv_arc_chain_result {
	const char *alg; /* a= of the chain */
	int supported;   /* rsa-sha256 or ed25519-sha256 */
	int longest;     /* among the longest chains, so it counted */
	unsigned length;
	enum mv_arc_cv cv;
	char reason[160];     /* empty for a pass */
	unsigned oldest_pass; /* RFC 8617 §5.2 step 5: 0 = every AMS verified */
	int ended;            /* its newest seal says cv=fail: not to be extended */
	int temperror;        /* cv is fail only because a key lookup failed temporarily
	                       * (SERVFAIL, timeout): undetermined, no signature failed;
	                       * reason starts "temporary DNS failure: " */
	size_t nhops;
	const struct mv_arc_hop *hop; /* hop[k] is instance k + 1 (when structure allowed) */
};

struct mv_arc_validate_opts {
	int64_t max_future;                /* t= may be this far ahead of now (default 300 s) */
	struct mv_dkim_keycache *keycache; /* decoded keys shared across messages, or NULL;
	                                    * borrowed (see mv_dkim_keycache_new()) */
};
void mv_arc_validate_opts_default(struct mv_arc_validate_opts *o);

struct mv_arc_validator;

/*
 * A validator for one message, used like the DKIM verifier: new,
 * headers once, body per chunk, final, then the results. o may be NULL
 * for the defaults; r is borrowed until mv_arc_validator_free(); now is the
 * clock (Unix seconds). On MV_OK *out is freed with mv_arc_validator_free().
 */
enum mv_status mv_arc_validator_new(const struct mv_arc_validate_opts *o, struct mv_resolver *r,
                                    int64_t now, struct mv_arc_validator **out);
void mv_arc_validator_free(struct mv_arc_validator *v); /* NULL is fine */

/*
 * Take the header: collect the sets, choose the longest chains, parse their
 * AMS and AS, start the body hashes and prefetch the keys. m must stay
 * alive until mv_arc_validator_final() returns (the AS and AMS hashes read
 * its fields). MV_ENOMEM is the only failure: bad chains are results.
 */
enum mv_status mv_arc_validator_headers(struct mv_arc_validator *v, const struct mv_msg *m);

/*
 * The DNS questions the validator will ask after mv_arc_validator_headers():
 * the key record (TXT) of each AMS and AS of the chains it will verify
 * (longest, supported, structurally sound), the names mv_dkim_key_fetch()
 * asks, each once, appended to l for a caller's prefetch. None before the
 * header. MV_ENOMEM, MV_ETOOBIG (l is full): what was added stays.
 */
enum mv_status mv_arc_questions(const struct mv_arc_validator *v, struct mv_dns_questions *l);

/*
 * Give the resolver to a validator made with r = NULL (which then asked
 * nothing in mv_arc_validator_headers(): the caller prefetched
 * mv_arc_questions() with its own). r is borrowed until
 * mv_arc_validator_free().
 */
void mv_arc_validator_set_resolver(struct mv_arc_validator *v, struct mv_resolver *r);
enum mv_status mv_arc_validator_body(struct mv_arc_validator *v, const void *p, size_t n);
/* End of body: verify AMSs and ASs (RFC 8617 §5.2 steps 2-7). */
enum mv_status mv_arc_validator_final(struct mv_arc_validator *v);
/* headers + the body mv_msg_parse() found + final. */
enum mv_status mv_arc_validator_message(struct mv_arc_validator *v, const struct mv_msg *m);

/*
 * After final: the overall status. With several longest chains of supported
 * algorithms the reported one is a passing chain if there is one
 * (draft-ietf-dmarc-arc-multi-02 §5.2: "can be that of any"). *reason (if
 * not NULL) gets the reason, borrowed from v ("" for pass and none); the chain reported
 * is mv_arc_validator_chosen() (NULL when there is none: cv none, or a
 * failure before any chain could be examined).
 */
enum mv_arc_cv mv_arc_validator_cv(const struct mv_arc_validator *v, const char **reason);
const struct mv_arc_chain_result *mv_arc_validator_chosen(const struct mv_arc_validator *v);

/*
 * After final: 1 when the outcome is undetermined because of a temporary
 * DNS failure (DESIGN.md: "a DNS failure gives temperror, never a hang"):
 * no longest chain of a supported algorithm passed, and one of them (the
 * chosen chain, whose temperror flag is set) had no signature that failed
 * but a key whose lookup timed out or got SERVFAIL. mv_arc_validator_cv()
 * then says MV_ARC_FAIL (arc= has no temperror result: RFC 8617 §10.1
 * registers none, pass, fail) with the reason "temporary DNS failure: ...";
 * callers that act on the result (a policy override, a seal) test this
 * first and treat the message as a temperror, not as a failed chain.
 * 0 otherwise (pass, none, a failure that a new attempt would not change).
 */
int mv_arc_validator_temperror(const struct mv_arc_validator *v);
/* Every chain found (longest or not), in order of first appearance. */
size_t mv_arc_validator_nchains(const struct mv_arc_validator *v);
const struct mv_arc_chain_result *mv_arc_validator_chain(const struct mv_arc_validator *v,
                                                         size_t k);
/* The highest instance N in the message (0 when there is no ARC field). */
unsigned mv_arc_validator_count(const struct mv_arc_validator *v);

/*
 * The result as an RFC 8601 record (RFC 8617 §10.1): arc=pass|fail|none,
 * the reason, smtp.remote-ip=remote_ip (when not NULL),
 * header.oldest-pass (for a pass) and a comment naming the chain's
 * algorithm and the signing domain of each seal. On MV_OK *out is a new
 * record the caller frees with mv_result_free().
 */
enum mv_status mv_arc_result_authres(const struct mv_arc_validator *v, const char *remote_ip,
                                     struct mv_result **out);

/*
 * For lib/verify: validate a parsed message (header and the body
 * mv_msg_parse found) and return the arc= record as mv_arc_result_authres.
 */
enum mv_status mv_arc_verify_message(const struct mv_msg *m, struct mv_resolver *r, int64_t now,
                                     const char *remote_ip, struct mv_result **out);

/* ---- Sealing (RFC 8617 §5.1) -------------------------------------------- */

struct mv_arc_seal_opts {
	const char *domain;      /* d= (required) */
	const char *selector;    /* s= (required, unless per-key selectors are given) */
	const char *authserv_id; /* our authserv-id: the AR fields copied into the AAR */
	const char *headers;     /* AMS h= as "from:to:...", NULL for the default list
	                          * (MV_DKIM_DEFAULT_HEADERS and DKIM-Signature, those
	                          * present, From over-signed). ARC-Seal and
	                          * ARC-Message-Signature may not be named. */
	int64_t now;             /* t= (required, >= 0) */
	const char *aar_results; /* the AAR's results after "i=N; authserv-id; " as the
	                          * caller has them ("spf=pass smtp.mailfrom=...;
	                          * dkim=pass ..."; folds CRLF + WSP only), or NULL
	                          * to copy them from m (see mv_arc_seal) */
};
void mv_arc_seal_opts_default(struct mv_arc_seal_opts *o);

/*
 * Seal a message: add an ARC set per chain it continues (draft-ietf-dmarc-
 * arc-multi-02 §5.1): for a message without ARC fields one set per key
 * (every algorithm, first key of each algorithm); otherwise the longest
 * chains whose algorithm one of the keys has, each with its own cv= and
 * nothing when none of them has a key. A chain whose newest seal says
 * cv=fail is not extended (RFC 8617 §5.1 step 1), nor is any chain at
 * i=50. A failed chain is sealed with cv=fail, the seal covering only its
 * own set (RFC 8617 §5.1.2).
 *
 * The AAR is "i=N; authserv-id; " followed by o->aar_results, or when it
 * is NULL by the results of every Authentication-Results field of m whose
 * authserv-id is o->authserv_id, in order, as written ("none" when there
 * are none); MV_EINVAL when o->aar_results holds a line break that is not
 * a fold. The AMS uses
 * relaxed/relaxed.
 *
 * v: the finished validation of the message as this hop received it (a
 * hop may change the message, e.g. tag the subject, after validating and
 * before sealing: the chains' results are taken from v, the ARC fields from
 * m, which must hold the same ones: MV_EINVAL otherwise), or NULL to
 * validate m here with r at o->now (r may be NULL only when m has no ARC
 * field).
 * selectors: one per key, or NULL for o->selector. m and body/body_len: the
 * message. Appends the new fields ("ARC-Seal: ...\r\n", AMS, then the
 * AAR), ready to be prepended, to out; *nsets (may be NULL) gets the number
 * of sets added (0: nothing to add, out unchanged). MV_EINVAL: missing
 * domain/selector/authserv-id/now or a refused h= name. MV_ETEMP: a chain
 * a set would continue is undetermined because a key lookup failed
 * temporarily (its mv_arc_chain_result.temperror): nothing is added, since
 * sealing it with cv=fail would end the chain for good; try again later.
 */
enum mv_status mv_arc_seal(const struct mv_arc_seal_opts *o,
                           const struct mv_dkim_signkey *const *keys, const char *const *selectors,
                           size_t nkeys, const struct mv_msg *m, const void *body, size_t body_len,
                           const struct mv_arc_validator *v, struct mv_resolver *r,
                           struct mv_buf *out, size_t *nsets);

/*
 * mv_arc_seal for a body that streams: the body is given by its hash bh,
 * made with mv_dkim_bodyhash_new(MV_CANON_RELAXED, -1) (the AMS is
 * relaxed/relaxed, without l=) and fed the whole body (it is finished here
 * if it was not); MV_EINVAL for a hasher of anything else.
 * The status of the chains m carries comes from v when it is not NULL (as
 * mv_arc_seal). With v NULL it is cv, the caller's validation of the chain
 * as received (lib/verify's arc=), given to every set added: a message
 * without ARC fields gets one set per key algorithm with cv=none (cv is not
 * read); otherwise each longest chain of an algorithm a key has is
 * continued, unless its newest seal says cv=fail, with cv=pass when cv is
 * MV_ARC_PASS, else cv=fail (a chain that cannot be read gets a set of its
 * own with cv=fail). A message with chains of several algorithms that
 * validated differently needs v. A chain that is undetermined (a key lookup
 * failed temporarily) must not be given as MV_ARC_FAIL: do not seal it.
 * Everything else as mv_arc_seal.
 */
enum mv_status mv_arc_seal_hashed(const struct mv_arc_seal_opts *o,
                                  const struct mv_dkim_signkey *const *keys,
                                  const char *const *selectors, size_t nkeys,
                                  const struct mv_msg *m, struct mv_dkim_bodyhash *bh,
                                  const struct mv_arc_validator *v, enum mv_arc_cv cv,
                                  struct mv_buf *out, size_t *nsets);

#endif
