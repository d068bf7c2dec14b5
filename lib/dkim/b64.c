/* lib/dkim/b64.c — base64 for b=, bh= and p= through OpenSSL's codec. */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "dkim/dkim_int.h"

static int is_b64(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '+' || c == '/';
}

/*
 * EVP_DecodeBlock wants groups of four and counts padding as zero bytes,
 * so we check the alphabet ourselves, pad what was left unpadded, and
 * take the padding off the length.
 */
unsigned char *mv_dkim_b64_decode(const char *s, size_t n, size_t *outlen, enum mv_status *st)
{
	unsigned char *in = NULL, *out = NULL;
	size_t i, chars = 0, pad = 0, inlen;
	int got;

	*outlen = 0;
	*st = MV_ESYNTAX;
	for (i = 0; i < n; i++) {
		if (is_b64(s[i]) && pad == 0)
			chars++;
		else if (s[i] == '=' && pad < 2)
			pad++;
		else
			goto out;
	}
	if (chars % 4 == 1 || (pad > 0 && (chars + pad) % 4 != 0) || n > ((size_t)1 << 20))
		goto out;
	inlen = (chars + 3) / 4 * 4;
	*st = MV_ENOMEM;
	if ((in = malloc(inlen + 1)) == NULL || (out = malloc(inlen / 4 * 3 + 1)) == NULL)
		goto out;
	memcpy(in, s, chars);
	memset(in + chars, '=', inlen - chars);
	if (inlen == 0) {
		*st = MV_OK;
		goto out;
	}
	got = EVP_DecodeBlock(out, in, (int)inlen);
	if (got < 0) {
		*st = MV_ESYNTAX;
		free(out);
		out = NULL;
		goto out;
	}
	*outlen = (size_t)got - (inlen - chars);
	*st = MV_OK;
out:
	free(in);
	if (*st != MV_OK) {
		free(out);
		out = NULL;
	}
	return out;
}

enum mv_status mv_dkim_b64_encode(const unsigned char *p, size_t n, struct mv_buf *b)
{
	unsigned char *tmp;
	enum mv_status st;
	int got;

	if (n > ((size_t)1 << 20))
		return MV_ETOOBIG;
	if ((tmp = malloc((n + 2) / 3 * 4 + 1)) == NULL)
		return MV_ENOMEM;
	got = EVP_EncodeBlock(tmp, p, (int)n);
	st = mv_buf_append(b, tmp, (size_t)got);
	free(tmp);
	return st;
}
