/* daemon/pipeline/sign.h — outbound DKIM signing and ARC sealing with the [domain] keys. */
#ifndef MAILVETD_PIPELINE_SIGN_H
#define MAILVETD_PIPELINE_SIGN_H

#include <stddef.h>
#include <time.h>

#include <mailvet/arc.h>
#include <mailvet/dns.h>
#include <mailvet/msg.h>
#include <mailvet/util.h>

#include "keys.h"

/*
 * Sign a message whose header is m and body body[0..len) with every key of
 * the domain section that covers the From domain. Appends the
 * "DKIM-Signature: ...\r\n" fields to out and sets *domain to the d= used
 * (borrowed from the configuration). MV_ENOTFOUND: no From domain that a
 * section covers (nothing appended); MV_ESYNTAX: no parsable From.
 */
enum mv_status mvd_sign_dkim(const struct mvd_keys *k, const struct mv_msg *m, const void *body,
                             size_t len, time_t now, struct mv_buf *out, const char **domain);

/*
 * ARC-seal (RFC 8617 §5.1) an outbound message that leaves with header m
 * (new DKIM-Signatures on top, forged Authentication-Results left out) and
 * body body[0..len), with the keys of the [domain] section that covers the
 * From domain, else the one that covers the MAIL FROM domain (a list
 * re-sends its members' mail, From foreign, under its own envelope). The
 * AAR carries our Authentication-Results fields of m; v is the validation
 * of the chain as this hop received it (cv=), or NULL to validate m with r.
 * Appends the "ARC-Seal: ...\r\n", AMS and AAR fields to out, sets *domain
 * (borrowed from the configuration) and *nsets (0: no chain to extend).
 * MV_ENOTFOUND: no section covers either domain.
 */
enum mv_status mvd_sign_seal(const struct mvd_keys *k, const struct mv_msg *m,
                             const char *mail_from, const void *body, size_t len,
                             const struct mv_arc_validator *v, struct mv_resolver *r, time_t now,
                             struct mv_buf *out, const char **domain, size_t *nsets);

/*
 * The header of the message as it leaves, for sealing: the fields of top
 * ("Name: value\r\n" each, folded with CRLF + WSP) first, then those of
 * hdr except the Authentication-Results fields whose 1-based index among
 * them is in del[0..ndel). On MV_OK *out is new (mv_msg_free()).
 */
enum mv_status mvd_seal_header(const char *top, size_t toplen, const struct mv_msg *hdr,
                               const unsigned *del, size_t ndel, struct mv_msg **out);

/* 1 when m holds an Authentication-Results field whose authserv-id is serv_id. */
int mvd_has_own_results(const struct mv_msg *m, const char *serv_id);

#endif
