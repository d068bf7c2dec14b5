/* lib/arc/arc_int.h — what the ARC files share and nobody else sees. */
#ifndef MAILVET_ARC_INT_H
#define MAILVET_ARC_INT_H

#include <stddef.h>
#include <stdint.h>

#include <mailvet/arc.h>

/*
 * ARC builds on the DKIM internals: base64, the signature primitive, the
 * streaming body hash, the header hash and the private key inside a
 * struct mv_dkim_signkey. They are not in <mailvet/dkim.h> yet; the DKIM
 * module should export them there (see docs/internals/arc.md). Until then
 * ARC includes the DKIM module's private headers here, and only here, so
 * the compiler checks every use against the definitions.
 */
#include "dkim/dkim_int.h"
#include "dkim/signkey.h"

#define ARC_HASHLEN MV_DKIM_HASHLEN

enum arc_kind {
	ARC_AAR,
	ARC_AMS,
	ARC_AS,
};

/* Which ARC field a header name is, or -1. */
int mv_arc_field_kind(const char *name, size_t len);

/*
 * The instance of an AAR value: "i=" 1*2DIGIT ";" with FWS allowed around
 * each token (RFC 8617 §4.1.1). Returns 1..50 and sets *payload to the
 * first byte after the ';', or 0 when malformed.
 */
unsigned mv_arc_aar_instance(const char *value, size_t len, size_t *payload);

/* An i= tag value: 1..50, or 0 when it is not 1*2DIGIT in range. */
unsigned mv_arc_instance_value(const char *p, size_t n);

/* A parsed ARC-Message-Signature or ARC-Seal (RFC 8617 §4.1.2, §4.1.3). */
struct mv_arc_sig {
	enum arc_kind kind;
	size_t field; /* index in the message */
	unsigned instance;
	char *a;
	enum mv_dkim_alg alg;
	char *d, *s;
	char **h; /* AMS: h= names, lowercased; empty names dropped */
	size_t nh;
	enum mv_canon hcanon, bcanon; /* AMS c= (default simple/simple) */
	unsigned char *b, *bh;
	size_t blen, bhlen;
	int64_t t, x, l;     /* -1 when absent */
	enum mv_arc_cv cv;   /* AS */
	size_t b_off, b_len; /* the raw b= value inside the field's raw bytes */
	int bad;             /* a tag is missing or malformed (why says which) */
	char why[96];
};

/*
 * Parse the AMS or AS that is field `idx` of m. Always returns a struct
 * (NULL only when memory runs out, *nomem set) whose `bad` tells whether it
 * can be used; the caller frees it with mv_arc_sig_free().
 */
struct mv_arc_sig *mv_arc_sig_parse(const struct mv_msg *m, size_t idx, enum arc_kind kind,
                                    int *nomem);
void mv_arc_sig_free(struct mv_arc_sig *s);

/*
 * The ARC-Seal header hash (RFC 8617 §5.1.1): relaxed canonical AAR, AMS
 * and AS of each instance in `from`..`upto` in increasing order, the last
 * AS (field as_raw, its b= span at b_off/b_len deleted) without its final
 * CRLF. aar/ams/as: the raw fields of instances from..upto (index k is
 * instance from + k); the AS of instance `upto` is as_raw, not as[].
 */
struct mv_arc_rawset {
	const char *aar, *ams, *as;
	size_t aar_len, ams_len, as_len;
};
enum mv_status mv_arc_seal_hash(const struct mv_arc_rawset *sets, size_t nsets, const char *as_raw,
                                size_t as_raw_len, size_t b_off, size_t b_len,
                                struct mv_buf *scratch, unsigned char out[ARC_HASHLEN]);

/*
 * The AAR payload to seal with: the results of every Authentication-Results
 * field of m whose authserv-id is serv_id, in order, each as written
 * (trimmed), joined with ";\r\n "; appended to out after "serv_id; ".
 * "none" when there are none.
 */
enum mv_status mv_arc_aar_payload(const struct mv_msg *m, const char *serv_id, struct mv_buf *out);

#endif
