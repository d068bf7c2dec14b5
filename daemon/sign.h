/* daemon/sign.h — outbound DKIM signing with the configured domains and keys. */
#ifndef MAILVETD_SIGN_H
#define MAILVETD_SIGN_H

#include <stddef.h>
#include <time.h>

#include <mailvet/msg.h>
#include <mailvet/util.h>

#include "config.h"

struct mvd_signer; /* every [domain] section's keys, loaded */

/*
 * Load the private key of every [domain] key (PEM files). Called before the
 * privilege drop, and again on reload (then the files must be readable by
 * the unprivileged user). On MV_OK *out is freed with mvd_signer_free();
 * otherwise err says which file failed. c is borrowed for the signer's life.
 */
enum mv_status mvd_signer_load(const struct mvd_config *c, struct mvd_signer **out, char *err,
                               size_t errlen);
void mvd_signer_free(struct mvd_signer *s); /* NULL is fine */

/*
 * Sign a message whose header is m and body body[0..len) with every key of
 * the domain section that covers the From domain. Appends the
 * "DKIM-Signature: ...\r\n" fields to out and sets *domain to the d= used
 * (borrowed from the configuration). MV_ENOTFOUND: no From domain that a
 * section covers (nothing appended); MV_ESYNTAX: no parsable From.
 */
enum mv_status mvd_signer_sign(const struct mvd_signer *s, const struct mv_msg *m, const void *body,
                               size_t len, time_t now, struct mv_buf *out, const char **domain);

#endif
