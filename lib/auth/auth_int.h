/* lib/auth/auth_int.h — helpers shared by the files of lib/auth (not public). */
#ifndef MAILVET_AUTH_INT_H
#define MAILVET_AUTH_INT_H

#include <stddef.h>

#include <mailvet/status.h>

/* 1 when s[0..n) is valid UTF-8 (RFC 3629) without NUL or other C0 controls, else 0. */
int mv_auth_text_valid(const char *s, size_t n);

/* free() a secret after wiping its n bytes (OPENSSL_cleanse). NULL is fine. */
void mv_auth_free_secret(void *p, size_t n);

/* strlen-and-wipe variant for NUL-terminated secrets. NULL is fine. */
void mv_auth_free_secret_str(char *s);

/*
 * Split "local@domain" (optionally in angle brackets) at its last '@' into
 * a new lowercase A-label domain (*domain, free()) and the local part
 * unquoted (*local, free()): a quoted local part loses its quotes and
 * quoted-pairs. MV_ESYNTAX for no '@', an empty side, a bad quoted string,
 * control bytes or spaces outside quotes, a domain IDNA refuses.
 */
enum mv_status mv_auth_addr_split(const char *addr, size_t len, char **local, char **domain);

#endif
