/* lib/dkim/dkim_int.h — what the DKIM files share and nobody else sees. */
#ifndef MAILVET_DKIM_INT_H
#define MAILVET_DKIM_INT_H

#include <stddef.h>
#include <stdint.h>

#include <mailvet/dkim.h>

#define MV_DKIM_HASHLEN 32 /* SHA-256 */

/*
 * Base64 (RFC 4648 §4) through OpenSSL. Decode: s[0..n) without FWS; the
 * padding may be omitted. Returns a new buffer (*outlen bytes) or NULL
 * with *st MV_ESYNTAX (not base64) or MV_ENOMEM. Encode appends to b.
 */
unsigned char *mv_dkim_b64_decode(const char *s, size_t n, size_t *outlen, enum mv_status *st);
enum mv_status mv_dkim_b64_encode(const unsigned char *p, size_t n, struct mv_buf *b);

/*
 * Verify sig over the SHA-256 hash of the header data: RSASSA-PKCS1-v1_5
 * with SHA-256 for RSA keys, PureEd25519 over the 32-byte hash for
 * Ed25519 (RFC 8463 §3). MV_OK: valid; MV_ESYNTAX: not valid.
 */
enum mv_status mv_dkim_crypto_verify(struct evp_pkey_st *pkey, const unsigned char *hash,
                                     const unsigned char *sig, size_t siglen);
/* Sign the hash the same way; *sig is new (caller frees), *siglen its length. */
enum mv_status mv_dkim_crypto_sign(struct evp_pkey_st *pkey, const unsigned char *hash,
                                   unsigned char **sig, size_t *siglen);

/*
 * The header hash of RFC 6376 §3.7: the fields named in h (selected
 * bottom-up, each instance once; a name with no instance left adds
 * nothing), each canonicalized with c, then the signature field sigraw
 * (name, colon and value; a final line break is optional) with the
 * b_len bytes at b_off deleted, canonicalized and without its final CRLF.
 * When sigraw is the raw text of a field of m (verification), h never
 * selects that field. out gets the SHA-256. scratch is a buffer the caller may reuse.
 */
enum mv_status mv_dkim_hash_headers(const struct mv_msg *m, enum mv_canon c, char *const *h,
                                    size_t nh, const char *sigraw, size_t sigraw_len, size_t b_off,
                                    size_t b_len, struct mv_buf *scratch,
                                    unsigned char out[MV_DKIM_HASHLEN]);

/* The streaming body hash (struct mv_dkim_bodyhash) is public: <mailvet/dkim.h>. */

/*
 * mv_dkim_sig_parse, and with tmpl set, b= and bh= may be empty (the
 * signer's template, filled in later).
 */
enum mv_status mv_dkim_sig_parse_ex(const char *value, size_t len, int tmpl,
                                    struct mv_dkim_sig **out, char *err, size_t errlen);

/*
 * The key cache's two halves: get a shared copy of the key parsed from
 * exactly this record text (MV_ENOTFOUND when not cached), put one after
 * parsing (silently skipped when memory is short).
 */
enum mv_status mv_dkim_keycache_get(struct mv_dkim_keycache *c, const char *txt, size_t len,
                                    struct mv_dkim_key **out);
void mv_dkim_keycache_put(struct mv_dkim_keycache *c, const char *txt, size_t len,
                          const struct mv_dkim_key *k);

/* ASCII case-insensitive: is domain `sub` equal to or below `dom`? */
int mv_dkim_domain_within(const char *sub, const char *dom);

/* The key record's name, s._domainkey.d (RFC 6376 §3.6.2.1): new (free()), NULL when memory runs out. */
char *mv_dkim_key_name(const char *s, const char *d);

/*
 * After mv_dkim_verifier_headers(): the number of entries (one per
 * DKIM-Signature; 0 before), and the signature of entry i when the
 * verifier will fetch its key (it was not decided from the header alone),
 * else NULL. Borrowed from v.
 */
size_t mv_dkim_verifier_entries(const struct mv_dkim_verifier *v);
const struct mv_dkim_sig *mv_dkim_verifier_pending(const struct mv_dkim_verifier *v, size_t i);

#endif
