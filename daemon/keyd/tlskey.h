/* daemon/keyd/tlskey.h — the worker's TLS private keys: public halves whose private operations the key process does. */
#ifndef MAILVETD_KEYD_TLSKEY_H
#define MAILVETD_KEYD_TLSKEY_H

#include <stddef.h>

#include <openssl/ssl.h>

/* 1 once mvd_keyd_client_attach() ran: the keys are the key process's, not to be read here. */
int mvd_keyd_attached(void);

/*
 * Give ctx, which has its certificate already, the TLS key that the key
 * process read from file path: a key that holds only the certificate's
 * public half and asks the key process for each private operation. Fails,
 * with the reason in err, when the key process has no such key, does not
 * answer, or its key does not match the certificate (what
 * SSL_CTX_check_private_key would say of a key read here). Also takes RSA
 * key exchange off the ctx: the key process signs, it never decrypts.
 * 0, or -1.
 */
int mvd_tlskey_use(SSL_CTX *ctx, const char *path, char *err, size_t errlen);

#endif
