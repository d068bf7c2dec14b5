/* include/mailvet/dkim.h — DKIM (RFC 6376, RFC 8301, RFC 8463): verify and sign. */
#ifndef MAILVET_DKIM_H
#define MAILVET_DKIM_H

#include <stddef.h>
#include <stdint.h>

#include <mailvet/authres.h>
#include <mailvet/dns.h>
#include <mailvet/msg.h>
#include <mailvet/status.h>
#include <mailvet/util.h>

struct evp_pkey_st; /* OpenSSL's EVP_PKEY */

/* Signing algorithms (a=). Only the first two can ever pass. */
enum mv_dkim_alg {
	MV_DKIM_RSA_SHA256,
	MV_DKIM_ED25519_SHA256,
	MV_DKIM_RSA_SHA1, /* RFC 8301: never valid */
	MV_DKIM_ALG_UNKNOWN,
};
/* "rsa-sha256", "ed25519-sha256", "rsa-sha1" or "unknown". */
const char *mv_dkim_alg_str(enum mv_dkim_alg a);

#define MV_DKIM_MIN_RSA_BITS 1024 /* RFC 8301 §3.2 */
#define MV_DKIM_MAX_RSA_BITS 8192 /* larger keys are refused (cost bound) */
#define MV_DKIM_MAX_H 128         /* names in h= */

/* ---- Signature (RFC 6376 §3.5) ------------------------------------------ */

/*
 * A parsed DKIM-Signature. Strings are NUL-terminated, owned by the
 * struct, NULL when the tag is absent (i is "@d" when i= is absent).
 * Numbers are -1 when absent.
 */
struct mv_dkim_sig {
	enum mv_dkim_alg alg;
	char *a; /* a= as written */
	enum mv_canon hcanon, bcanon;
	char *d; /* as written */
	char *s;
	char *i;
	char **h; /* h= names, lowercased, FWS removed */
	size_t nh;
	char *b64; /* b= without FWS */
	unsigned char *b;
	size_t blen;
	unsigned char *bh;
	size_t bhlen;
	int64_t l, t, x;
	size_t b_off, b_len; /* the raw b= value (FWS included) in the parsed text */
};

/*
 * Parse the value of a DKIM-Signature field (after the colon, folding
 * kept). Checks everything that does not need the message or the key:
 * required tags (v a b bh d h s), v=1, the syntax of each known tag,
 * c= values, q= includes dns/txt, From in h=, i= within d=, x= not
 * before t=. Unknown tags are ignored.
 *
 * *out is set whenever memory allows, even when the result is not MV_OK,
 * holding what could be read (d, s, i, a, b64 for reporting); the caller
 * frees it with mv_dkim_sig_free(). MV_ESYNTAX: malformed (err says why);
 * MV_EUNSUPPORTED: well-formed but an unknown algorithm, canonicalization
 * or query method, or rsa-sha1 (err says which). err holds at most
 * errlen-1 bytes.
 */
enum mv_status mv_dkim_sig_parse(const char *value, size_t len, struct mv_dkim_sig **out, char *err,
                                 size_t errlen);
void mv_dkim_sig_free(struct mv_dkim_sig *sig); /* NULL is fine */

/* ---- Key record (RFC 6376 §3.6.1) --------------------------------------- */

enum mv_dkim_keytype {
	MV_DKIM_KEY_RSA,
	MV_DKIM_KEY_ED25519,
};

struct mv_dkim_key {
	enum mv_dkim_keytype type;
	struct evp_pkey_st *pkey; /* NULL when revoked */
	unsigned bits;            /* RSA modulus size; 256 for ed25519 */
	int revoked;              /* p= empty */
	int testing;              /* t=y */
	int strict;               /* t=s: i= domain must equal d= */
	int sha256;               /* h= absent or lists sha256 */
	int email;                /* s= absent, "*" or lists "email" */
};

/*
 * Parse one key record (a TXT string). MV_OK with key->revoked set for an
 * empty p=. MV_ESYNTAX: not a tag-list, v= not DKIM1 or not first, p=
 * missing, bad base64 or not a key of type k=; MV_EUNSUPPORTED: unknown
 * k=. On MV_OK *out is new, freed with mv_dkim_key_free(); otherwise NULL.
 */
enum mv_status mv_dkim_key_parse(const char *txt, size_t len, struct mv_dkim_key **out, char *err,
                                 size_t errlen);
void mv_dkim_key_free(struct mv_dkim_key *k); /* NULL is fine */

/*
 * A cache of parsed keys, shared by verifiers (and threads): keyed by the
 * exact text of the key record, so DNS is still asked every time (TTL and
 * revocation hold) but each key is decoded once. At most `entries` keys;
 * when full, the oldest entry is replaced. Free with mv_dkim_keycache_free()
 * after every verifier using it.
 */
struct mv_dkim_keycache;
enum mv_status mv_dkim_keycache_new(size_t entries, struct mv_dkim_keycache **out);
void mv_dkim_keycache_free(struct mv_dkim_keycache *c); /* NULL is fine */

/*
 * What a key cache has done since it was made: lookups that found the
 * record (hits) or not (misses), keys stored (inserts; a key another
 * thread stored first is not stored twice) and keys pushed out to make
 * room (evictions); entries is how many keys it holds now (at most the
 * `entries` it was made with). For tests, benchmarks and metrics.
 */
struct mv_dkim_keycache_stats {
	uint64_t hits, misses, inserts, evictions;
	size_t entries;
};
void mv_dkim_keycache_stats(struct mv_dkim_keycache *c, struct mv_dkim_keycache_stats *out);

/*
 * Look up and parse the key of selector s in domain d
 * (s._domainkey.d, TXT), through cache c when it is not NULL. MV_ENOTFOUND: NXDOMAIN or NODATA; MV_ETEMP:
 * SERVFAIL or timeout; MV_ESYNTAX / MV_EUNSUPPORTED as mv_dkim_key_parse,
 * and MV_ESYNTAX when several TXT records answer (RFC 6376 §3.6.2.2 leaves the result undefined; we do
 * not guess); MV_EINVAL: s._domainkey.d is not a DNS name.
 */
enum mv_status mv_dkim_key_fetch(struct mv_resolver *r, struct mv_dkim_keycache *c, const char *s,
                                 const char *d, struct mv_dkim_key **out, char *err, size_t errlen);

/*
 * The question mv_dkim_key_fetch(r, c, s, d, ...) asks (s._domainkey.d TXT),
 * appended to l. A name DNS cannot ask is left out (MV_OK). MV_ENOMEM,
 * MV_ETOOBIG (l is full).
 */
enum mv_status mv_dkim_key_questions(const char *s, const char *d, struct mv_dns_questions *l);

/* ---- Key check (mailvet testkey, mailvetd -n --check-dns) -------------- */

/* What a key check concluded: the values are `mailvet testkey`'s exit codes. */
enum mv_dkim_keycheck_status {
	MV_KEYCHECK_OK = 0,      /* the record publishes this key (warnings may remain) */
	MV_KEYCHECK_PROBLEM = 1, /* no record, a bad record, revoked, not this key, ... */
	MV_KEYCHECK_DNS = 3,     /* DNS did not answer (SERVFAIL, timeout): nothing known */
};

#define MV_KEYCHECK_MAX_NOTES 8

/* The outcome of mv_dkim_keycheck(); every string is NUL-terminated, in the struct. */
struct mv_dkim_keycheck {
	enum mv_dkim_keycheck_status status;
	char name[300];            /* s._domainkey.d */
	enum mv_dkim_alg alg;      /* of the private key */
	unsigned bits;             /* of the private key (256 for ed25519) */
	int published;             /* a record answered and parsed */
	enum mv_dkim_keytype type; /* of the published key, when published */
	unsigned pub_bits;
	int revoked, testing, matches;
	size_t nproblems, nwarnings;
	char problem[MV_KEYCHECK_MAX_NOTES][200]; /* why status is PROBLEM or DNS */
	char warning[MV_KEYCHECK_MAX_NOTES][200]; /* t=y, RSA under 2048 bits */
};

/*
 * Fetch the key record of selector s in domain d (no cache) and compare it
 * with the private key: the public key bits must be the same, the record
 * must not be revoked (p= empty), its h= must allow sha256 and its s=
 * email; an RSA key under 1024 bits is a problem (RFC 8301), under 2048 a
 * warning, as is t=y. MV_OK with *out filled (its status says what the
 * check found), MV_ENOMEM.
 */
struct mv_dkim_signkey;
enum mv_status mv_dkim_keycheck(struct mv_resolver *r, const char *s, const char *d,
                                const struct mv_dkim_signkey *key, struct mv_dkim_keycheck *out);

/* "ok", "problem", "dns-failure". */
const char *mv_dkim_keycheck_status_str(enum mv_dkim_keycheck_status st);

/* ---- Verification ------------------------------------------------------- */

/* RFC 8601 §2.7.1 result codes. */
enum mv_dkim_res {
	MV_DKIM_NONE,
	MV_DKIM_PASS,
	MV_DKIM_FAIL,
	MV_DKIM_NEUTRAL,
	MV_DKIM_POLICY,
	MV_DKIM_TEMPERROR,
	MV_DKIM_PERMERROR,
};
const char *mv_dkim_res_str(enum mv_dkim_res r); /* "pass", ... */

struct mv_dkim_verify_opts {
	size_t max_signatures;             /* signatures evaluated; later ones are neutral
	                        * "not evaluated: limit". Default 5 */
	int refuse_l;                      /* 1: a signature with l= is "policy" */
	int64_t max_future;                /* t= may be this many seconds ahead of now;
	                        * default 300 */
	struct mv_dkim_keycache *keycache; /* borrowed; NULL: no cache */
	int no_prefetch;                   /* 1: mv_dkim_verifier_headers() prefetches
	                        * nothing; the caller puts mv_dkim_questions()
	                        * into its own batch. Default 0 */
};
void mv_dkim_verify_opts_default(struct mv_dkim_verify_opts *o);

/* One signature's outcome. Strings are owned by the verifier. */
struct mv_dkim_result {
	enum mv_dkim_res res;
	char reason[160];  /* empty for a plain pass */
	const char *d;     /* header.d, NULL when unknown */
	const char *i;     /* header.i */
	const char *s;     /* header.s */
	const char *a;     /* header.a */
	char b[9];         /* header.b: first 8 characters of b= (RFC 6008) */
	int64_t l;         /* l= or -1 */
	uint64_t body_len; /* canonical body length under this signature's c= */
	int testing;       /* key has t=y */
	unsigned key_bits; /* 0 when no key was used */
};

/*
 * The result as an RFC 8601 record: dkim=<res> with the reason (if any)
 * and header.d, header.i, header.s, header.a, header.b (those known). On
 * MV_OK *out is a new record the caller frees with mv_result_free().
 */
enum mv_status mv_dkim_result_authres(const struct mv_dkim_result *r, struct mv_result **out);

struct mv_dkim_verifier;

/*
 * A verifier for one message. o may be NULL for the defaults; r is
 * borrowed until mv_dkim_verifier_free(); now is the current time (Unix
 * seconds) used for t= and x= (x= before now is permerror, RFC 6376
 * §6.1.1; x == now still verifies). Then: mv_dkim_verifier_headers() once,
 * mv_dkim_verifier_body() for each chunk of the body as it arrives,
 * mv_dkim_verifier_final() once, and read the results.
 */
enum mv_status mv_dkim_verifier_new(const struct mv_dkim_verify_opts *o, struct mv_resolver *r,
                                    int64_t now, struct mv_dkim_verifier **out);
void mv_dkim_verifier_free(struct mv_dkim_verifier *v); /* NULL is fine */

/*
 * Take the header: parse every DKIM-Signature, hash the signed header
 * fields of those evaluated, set up one body hasher per distinct
 * (body canonicalization, l=), and prefetch the keys. m is only read
 * during the call. MV_ENOMEM is the only failure; bad signatures are
 * results.
 */
enum mv_status mv_dkim_verifier_headers(struct mv_dkim_verifier *v, const struct mv_msg *m);

/*
 * The DNS questions the verifier will ask after mv_dkim_verifier_headers():
 * the key record (TXT) of each signature it will verify (not those decided
 * from the header alone, nor those past max_signatures), exactly the names
 * mv_dkim_key_fetch() asks, appended to l for a caller's prefetch.
 * None before mv_dkim_verifier_headers(). MV_ENOMEM, MV_ETOOBIG (l is
 * full): what was added stays.
 */
enum mv_status mv_dkim_questions(const struct mv_dkim_verifier *v, struct mv_dns_questions *l);

/* Feed n bytes of the body (any chunking; nothing is kept but the hashes). */
enum mv_status mv_dkim_verifier_body(struct mv_dkim_verifier *v, const void *p, size_t n);

/* End of body: fetch keys, compare body hashes, verify. */
enum mv_status mv_dkim_verifier_final(struct mv_dkim_verifier *v);

/* Headers, the body mv_msg_parse() found, and final, in one call. */
enum mv_status mv_dkim_verifier_message(struct mv_dkim_verifier *v, const struct mv_msg *m);

/*
 * Results after final: one per DKIM-Signature in header order, or a
 * single MV_DKIM_NONE when the message has none. Borrowed from v.
 */
size_t mv_dkim_verifier_count(const struct mv_dkim_verifier *v);
const struct mv_dkim_result *mv_dkim_verifier_result(const struct mv_dkim_verifier *v, size_t i);

/* ---- Signing ------------------------------------------------------------ */

struct mv_dkim_signkey; /* a private key and its algorithm */

/*
 * Load a private key from PEM: RSA (PKCS#1 or PKCS#8) gives rsa-sha256,
 * Ed25519 (PKCS#8) ed25519-sha256. RSA keys under 1024 bits are refused
 * (MV_EUNSUPPORTED). On MV_OK *out is freed with mv_dkim_signkey_free().
 */
enum mv_status mv_dkim_signkey_pem(const char *pem, size_t len, struct mv_dkim_signkey **out,
                                   char *err, size_t errlen);
/* An Ed25519 key from its 32-byte seed (RFC 8032), as RFC 8463 prints it. */
enum mv_status mv_dkim_signkey_ed25519_seed(const unsigned char seed[32],
                                            struct mv_dkim_signkey **out);
enum mv_dkim_alg mv_dkim_signkey_alg(const struct mv_dkim_signkey *k);
void mv_dkim_signkey_free(struct mv_dkim_signkey *k); /* NULL is fine */

/*
 * Signing outside the process (privilege separation): the private key lives
 * elsewhere (mailvetd's key process) and this callback signs for it. The
 * signers only ever hand over the 32-byte SHA-256 digest of the header data:
 * RSA-SHA256 is RSASSA-PKCS1-v1_5 over it, Ed25519-SHA256 (RFC 8463) is
 * PureEd25519 over it. sign writes at most cap bytes (MV_DKIM_MAX_SIG) to
 * sig, the length to *siglen, and returns MV_OK, or any other status for a
 * failure (MV_EIO: the signer is unavailable now). It is called from
 * whatever thread signs, so it must be thread-safe. handle is the key's
 * opaque id, borrowed until the signkey is freed.
 */
#define MV_DKIM_MAX_SIG 1024 /* an 8192-bit RSA signature */
struct mv_dkim_signer {
	enum mv_status (*sign)(void *arg, const void *handle, enum mv_dkim_alg alg,
	                       const unsigned char digest[32], unsigned char *sig, size_t cap,
	                       size_t *siglen);
	void *arg;
};

/*
 * A signing key held by signer (borrowed until mv_dkim_signkey_free()): alg
 * is rsa-sha256 or ed25519-sha256 (else MV_EINVAL), bits its size (for the
 * log). spki/spki_len, optional (NULL, 0), is its public key as DER
 * SubjectPublicKeyInfo (mv_dkim_signkey_spki): then mv_dkim_signkey_record()
 * and mv_dkim_keycheck() work as for a key in process; without it the
 * record is NULL and the check reports a problem. MV_ESYNTAX: spki is not a
 * public key of alg's type.
 */
enum mv_status mv_dkim_signkey_external(enum mv_dkim_alg alg, unsigned bits,
                                        const unsigned char *spki, size_t spki_len,
                                        const struct mv_dkim_signer *signer, const void *handle,
                                        struct mv_dkim_signkey **out);

/* The public key of k as DER SubjectPublicKeyInfo, appended to out. MV_ENOTFOUND: none known. */
enum mv_status mv_dkim_signkey_spki(const struct mv_dkim_signkey *k, struct mv_buf *out);

/* Its size in bits (RSA modulus; 256 for Ed25519). */
unsigned mv_dkim_signkey_bits(const struct mv_dkim_signkey *k);

/*
 * Sign a 32-byte SHA-256 digest as DKIM and ARC do (see struct
 * mv_dkim_signer), in process or through the signer. At most cap bytes go
 * to sig. MV_OK, MV_ETOOBIG (cap too small), or the failure.
 */
enum mv_status mv_dkim_signkey_sign(const struct mv_dkim_signkey *k, const unsigned char digest[32],
                                    unsigned char *sig, size_t cap, size_t *siglen);

/*
 * The key record value to publish for k ("v=DKIM1; k=rsa; p=..."), a new
 * string the caller frees; NULL when memory runs out.
 */
char *mv_dkim_signkey_record(const struct mv_dkim_signkey *k);

struct mv_dkim_sign_opts {
	const char *domain;   /* d= */
	const char *selector; /* s= (unless mv_dkim_sign gets one per key) */
	const char *identity; /* i=, NULL for none */
	enum mv_canon hcanon, bcanon;
	const char *headers; /* h= as "from:to:...", NULL for the default list:
	                       * those of MV_DKIM_DEFAULT_HEADERS present, From
	                       * once more (over-signed) */
	int64_t now;         /* t= */
	int64_t expire;      /* x= = now + expire when > 0 */
	int64_t body_limit;  /* l= (canonical body bytes) when >= 0, else -1;
	                       * written as given, even past the body (lib/outbound
	                       * writes at most the body's length) */
	const char *tmpl;    /* optional: the exact tag-list to use, with empty
	                       * "bh=" and "b=" (filled in); then the fields above
	                       * but the key are ignored, the tags are read
	                       * from it */
};
#define MV_DKIM_DEFAULT_HEADERS                                                                    \
	"from:reply-to:subject:date:to:cc:resent-date:resent-from:resent-to:resent-cc:"            \
	"in-reply-to:references:list-id:list-help:list-unsubscribe:list-subscribe:list-post:"      \
	"list-owner:list-archive:message-id:mime-version:content-type:content-transfer-encoding"
void mv_dkim_sign_opts_default(struct mv_dkim_sign_opts *o); /* relaxed/relaxed, no x=, l= */

/*
 * Sign a message with each of n keys (same tags otherwise, the body hashed
 * once per canonicalization). selectors: one s= per key, or NULL to use
 * o->selector for all. m is the header; body/body_len the body.
 * Appends one "DKIM-Signature: ...\r\n" field per key, in key order, to
 * out, ready to be prepended to the message. MV_EINVAL: missing domain or
 * selector, or a template without "bh=" and "b="; MV_ESYNTAX: a bad template.
 */
enum mv_status mv_dkim_sign(const struct mv_dkim_sign_opts *o,
                            const struct mv_dkim_signkey *const *keys, const char *const *selectors,
                            size_t n, const struct mv_msg *m, const void *body, size_t body_len,
                            struct mv_buf *out);

/* ---- Signing a body that streams --------------------------------------- */

/*
 * A SHA-256 body hash under one body canonicalization and l= (RFC 6376
 * §3.7), fed chunk by chunk: nothing of the body is kept. l >= 0 hashes at
 * most l canonical bytes; -1 the whole body. On MV_OK *out is freed with
 * mv_dkim_bodyhash_free(). update: MV_EINVAL after final.
 * final is idempotent; afterwards digest (32 bytes) and length (canonical
 * body bytes before l=, what l= may at most say) are valid.
 * matches: 1 when bh was made for (c, l); covers (after final): 1 when its
 * digest is the hash for (c, l) of this body (the same bytes were hashed).
 */
struct mv_dkim_bodyhash;
enum mv_status mv_dkim_bodyhash_new(enum mv_canon c, int64_t l, struct mv_dkim_bodyhash **out);
enum mv_status mv_dkim_bodyhash_update(struct mv_dkim_bodyhash *bh, const void *p, size_t n);
enum mv_status mv_dkim_bodyhash_final(struct mv_dkim_bodyhash *bh);
const unsigned char *mv_dkim_bodyhash_digest(const struct mv_dkim_bodyhash *bh);
uint64_t mv_dkim_bodyhash_length(const struct mv_dkim_bodyhash *bh);
int mv_dkim_bodyhash_matches(const struct mv_dkim_bodyhash *bh, enum mv_canon c, int64_t l);
int mv_dkim_bodyhash_covers(const struct mv_dkim_bodyhash *bh, enum mv_canon c, int64_t l);
void mv_dkim_bodyhash_free(struct mv_dkim_bodyhash *bh); /* NULL is fine */

/*
 * The body canonicalization and l= the signatures of o need (from the
 * template when o->tmpl is set, else o->bcanon and o->body_limit): make the
 * mv_dkim_bodyhash for mv_dkim_sign_hashed() with these. MV_ESYNTAX: a bad
 * template.
 */
enum mv_status mv_dkim_sign_body_params(const struct mv_dkim_sign_opts *o, enum mv_canon *c,
                                        int64_t *l);

/*
 * mv_dkim_sign's second half: sign the header m with each of n keys, the
 * body given by its hash bh (made with mv_dkim_sign_body_params(o); fed the
 * whole body; finished here if it was not). bh may have been made with
 * another l= as long as it hashed the same bytes (both limits at or past
 * the body's canonical length: a hasher made with body_limit N serves l=
 * min(N, length)). Output and errors as mv_dkim_sign, and MV_EINVAL when bh
 * hashed other bytes. mv_dkim_sign is this after hashing the body.
 */
enum mv_status mv_dkim_sign_hashed(const struct mv_dkim_sign_opts *o,
                                   const struct mv_dkim_signkey *const *keys,
                                   const char *const *selectors, size_t n, const struct mv_msg *m,
                                   struct mv_dkim_bodyhash *bh, struct mv_buf *out);

/*
 * Check signing options before a message comes: d= set, c= and l= in
 * range, and h= (when given) names From, which RFC 6376 §5.4 says MUST be
 * signed. MV_OK, or MV_EINVAL with the reason in err (at most errlen-1
 * bytes; err may be NULL).
 */
enum mv_status mv_dkim_sign_opts_check(const struct mv_dkim_sign_opts *o, char *err, size_t errlen);

/*
 * Generate a key: MV_DKIM_KEY_RSA with `bits` (1024..8192) or
 * MV_DKIM_KEY_ED25519 (bits ignored). *pem gets the private key as PKCS#8
 * PEM (caller frees).
 */
enum mv_status mv_dkim_keygen(enum mv_dkim_keytype type, unsigned bits,
                              struct mv_dkim_signkey **out, char **pem);

/*
 * Parse a c= value, "header[/body]" (RFC 6376 §3.5): each "simple" or
 * "relaxed"; the body defaults to simple. MV_OK sets *h and *b;
 * MV_EUNSUPPORTED (an unknown or empty name) leaves them unchanged.
 */
enum mv_status mv_dkim_canon_parse(const char *v, size_t n, enum mv_canon *h, enum mv_canon *b);

#endif
