/* lib/auth/passwd_hash.c — password hashes through libxcrypt: making one, and which we accept. */
#include <crypt.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include <mailvet/auth.h>
#include <mailvet/util.h>

#include "auth/auth_int.h"

/* bcrypt cost: libxcrypt's default (5) is too cheap today; 10 takes ~70 ms. */
#define BCRYPT_COST 10

/* The hash prefixes a password file may hold: slow, salted, still recommended. */
static const char *const allowed_prefix[] = {"$y$", "$2b$", "$2y$", "$6$"};

int mv_passwd_hash_allowed(const char *hash)
{
	size_t i;

	for (i = 0; i < sizeof allowed_prefix / sizeof allowed_prefix[0]; i++)
		if (strncmp(hash, allowed_prefix[i], strlen(allowed_prefix[i])) == 0)
			return 1;
	return 0;
}

static const char *method_prefix(enum mv_passwd_method m)
{
	switch (m) {
	case MV_PASSWD_YESCRYPT:
		return "$y$";
	case MV_PASSWD_BCRYPT:
		return "$2b$";
	case MV_PASSWD_SHA512:
		return "$6$";
	}
	return NULL;
}

enum mv_status mv_passwd_hash(enum mv_passwd_method m, const char *password, size_t len, char **out)
{
	char setting[CRYPT_GENSALT_OUTPUT_SIZE];
	struct crypt_data *cd = NULL;
	char *pw = NULL;
	const char *prefix = method_prefix(m);
	enum mv_status st = MV_EINVAL;

	*out = NULL;
	if (prefix == NULL || len > MV_SASL_FIELD_MAX || memchr(password, '\0', len) ||
	    (m == MV_PASSWD_BCRYPT && len > 72))
		goto out;
	st = MV_ENOMEM;
	if ((pw = mv_strndup(password, len)) == NULL || (cd = calloc(1, sizeof *cd)) == NULL)
		goto out;
	st = MV_EIO;
	/* NULL rbytes: libxcrypt draws the salt from the OS random source */
	if (crypt_gensalt_rn(prefix, m == MV_PASSWD_BCRYPT ? BCRYPT_COST : 0, NULL, 0, setting,
	                     sizeof setting) == NULL)
		goto out;
	if (crypt_rn(pw, setting, cd, sizeof *cd) == NULL || cd->output[0] == '*')
		goto out;
	st = (*out = strdup(cd->output)) ? MV_OK : MV_ENOMEM;
out:
	mv_auth_free_secret(pw, len);
	mv_auth_free_secret(cd, sizeof *cd);
	return st;
}
