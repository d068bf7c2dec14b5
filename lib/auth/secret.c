/* lib/auth/secret.c — wiping secrets and checking credential text. */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "auth/auth_int.h"
#include "msg/addr_priv.h"

int mv_auth_text_valid(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, k;

	while (i < n) {
		if (p[i] < 0x20 || p[i] == 0x7f)
			return 0; /* NUL, CR, LF, TAB...: nothing a login or password holds */
		if (p[i] < 0x80) {
			i++;
			continue;
		}
		if ((k = mv_addr_utf8_len(p + i, n - i)) == 0)
			return 0;
		i += k;
	}
	return 1;
}

void mv_auth_free_secret(void *p, size_t n)
{
	if (p == NULL)
		return;
	OPENSSL_cleanse(p, n);
	free(p);
}

void mv_auth_free_secret_str(char *s)
{
	if (s != NULL)
		mv_auth_free_secret(s, strlen(s));
}
