/* lib/dkim/signkey.h — what a signing key holds (shared by signkey.c and sign.c). */
#ifndef MAILVET_DKIM_SIGNKEY_H
#define MAILVET_DKIM_SIGNKEY_H

#include <mailvet/dkim.h>

/* In process (pkey set) or held by a signer elsewhere (signer set, pkey NULL). */
struct mv_dkim_signkey {
	struct evp_pkey_st *pkey;
	enum mv_dkim_alg alg; /* rsa-sha256 or ed25519-sha256 */
	const struct mv_dkim_signer *signer;
	const void *handle;
	struct evp_pkey_st *pub; /* external keys: the public half, or NULL */
	unsigned bits;
};

/* mv_dkim_signkey_sign into a new buffer *sig (freed by the caller). */
enum mv_status mv_dkim_signkey_sign_alloc(const struct mv_dkim_signkey *k,
                                          const unsigned char *digest, unsigned char **sig,
                                          size_t *siglen);

#endif
