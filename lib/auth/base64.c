/*
 * lib/auth/base64.c — strict base64 for SASL (RFC 4648 §4).
 *
 * OpenSSL's EVP_DecodeBlock does the decoding, but it counts '=' padding as
 * zero bytes, skips leading white space and accepts a few things RFC 4954
 * clients never send; so the text is checked first and the padding bytes
 * taken off the length after.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include <mailvet/auth.h>

#include "auth/auth_int.h"

/* The 6-bit value of an alphabet byte, or -1. */
static int b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* Number of '=' at the end (0..2) when the text is canonical base64, or -1. */
static int b64_check(const unsigned char *in, size_t len)
{
	size_t i;
	int pad = 0, last;

	if (len % 4 != 0)
		return -1;
	if (len >= 1 && in[len - 1] == '=')
		pad = (len >= 2 && in[len - 2] == '=') ? 2 : 1;
	for (i = 0; i < len - (size_t)pad; i++)
		if (b64_value(in[i]) < 0)
			return -1;
	if (pad == 0)
		return 0;
	/* RFC 4648 §3.5: the bits the padding stands for must be zero. */
	last = b64_value(in[len - (size_t)pad - 1]);
	if ((pad == 1 && (last & 0x03) != 0) || (pad == 2 && (last & 0x0f) != 0))
		return -1;
	return pad;
}

enum mv_status mv_base64_decode_strict(const char *in, size_t len, unsigned char **out,
                                       size_t *outlen)
{
	const unsigned char *u = (const unsigned char *)in;
	unsigned char *buf;
	int pad, n;

	*out = NULL;
	*outlen = 0;
	if ((pad = b64_check(u, len)) < 0 || len > (size_t)MV_SASL_LINE_MAX * 2)
		return MV_ESYNTAX;
	if ((buf = malloc(len / 4 * 3 + 1)) == NULL)
		return MV_ENOMEM;
	n = len ? EVP_DecodeBlock(buf, u, (int)len) : 0;
	if (n < 0 || (size_t)n != len / 4 * 3) {
		mv_auth_free_secret(buf, len / 4 * 3 + 1);
		return MV_ESYNTAX;
	}
	*outlen = (size_t)n - (size_t)pad;
	buf[*outlen] = '\0';
	*out = buf;
	return MV_OK;
}
