/* daemon/core/keyfile.c — one signing key by its file: read here, or held by the key process. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include <mailvet/util.h>

#include "keyfile.h"
#include "log.h"

#define MAX_KEY_FILE ((size_t)64 * 1024)

/* Set before threads start (mvd_worker), read-only afterwards. */
static mvd_keyfile_remote_fn remote;

void mvd_keyfile_set_remote(mvd_keyfile_remote_fn fn)
{
	remote = fn;
}

int mvd_keyfile_remote(void)
{
	return remote != NULL;
}

enum mv_status mvd_keyfile_open(const char *path, struct mv_dkim_signkey **out, char *why,
                                size_t whylen)
{
	char *pem = NULL, reason[200] = "";
	size_t len = 0;
	unsigned mode = 0;
	enum mv_status st;

	*out = NULL;
	if (remote) {
		st = remote(path, out, reason, sizeof reason);
		goto out;
	}
	st = mv_read_regular_file(path, MAX_KEY_FILE, &pem, &len, &mode);
	if (st != MV_OK) {
		snprintf(reason, sizeof reason, "%s",
		         st == MV_EIO      ? strerror(errno)
		         : st == MV_EINVAL ? "not a regular file"
		                           : mv_status_str(st));
		goto out;
	}
	if (mode & 0007)
		mvd_log(MVD_LOG_WARNING, "key",
		        "private key %s is readable by others (mode %04o): chmod o-rwx", path,
		        mode);
	st = mv_dkim_signkey_pem(pem, len, out, reason, sizeof reason);
	OPENSSL_cleanse(pem, len);
	free(pem);
out:
	if (st != MV_OK)
		snprintf(why, whylen, "key %s: %s", path, reason[0] ? reason : mv_status_str(st));
	return st;
}
