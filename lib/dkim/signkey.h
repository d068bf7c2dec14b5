/* lib/dkim/signkey.h — what a signing key holds (shared by signkey.c and sign.c). */
#ifndef MAILVET_DKIM_SIGNKEY_H
#define MAILVET_DKIM_SIGNKEY_H

#include <mailvet/dkim.h>

struct mv_dkim_signkey {
	struct evp_pkey_st *pkey;
	enum mv_dkim_alg alg; /* rsa-sha256 or ed25519-sha256 */
};

#endif
