/* lib/arc/sealhash.c — the ARC-Seal header hash (RFC 8617 §5.1.1). */
#include <openssl/evp.h>

#include "arc/arc_int.h"

/* Append the relaxed form of a field with raw[off..off+n) deleted, without its final CRLF. */
static enum mv_status canon_last(const char *raw, size_t len, size_t off, size_t n,
                                 struct mv_buf *scratch)
{
	struct mv_buf tmp = MV_BUF_INIT;
	enum mv_status st;

	if (off > len || n > len - off)
		return MV_EINVAL;
	mv_buf_append(&tmp, raw, off);
	mv_buf_append(&tmp, raw + off + n, len - off - n);
	if ((st = mv_buf_status(&tmp)) == MV_OK)
		st = mv_canon_header(MV_CANON_RELAXED, tmp.data, tmp.len, scratch);
	if (st == MV_OK && scratch->len >= 2 && scratch->data[scratch->len - 2] == '\r' &&
	    scratch->data[scratch->len - 1] == '\n')
		scratch->len -= 2;
	mv_buf_free(&tmp);
	return st;
}

enum mv_status mv_arc_seal_hash(const struct mv_arc_rawset *sets, size_t nsets, const char *as_raw,
                                size_t as_raw_len, size_t b_off, size_t b_len,
                                struct mv_buf *scratch, unsigned char out[ARC_HASHLEN])
{
	enum mv_status st = MV_OK;
	size_t k;

	mv_buf_reset(scratch);
	for (k = 0; k < nsets && st == MV_OK; k++) {
		/* Within a set: AAR, AMS, AS; the newest AS is the one being checked. */
		st = mv_canon_header(MV_CANON_RELAXED, sets[k].aar, sets[k].aar_len, scratch);
		if (st == MV_OK)
			st = mv_canon_header(MV_CANON_RELAXED, sets[k].ams, sets[k].ams_len,
			                     scratch);
		if (st == MV_OK && k + 1 < nsets)
			st = mv_canon_header(MV_CANON_RELAXED, sets[k].as, sets[k].as_len, scratch);
	}
	if (st == MV_OK)
		st = canon_last(as_raw, as_raw_len, b_off, b_len, scratch);
	if (st != MV_OK)
		return st;
	return EVP_Digest(scratch->data, scratch->len, out, NULL, EVP_sha256(), NULL) == 1
	               ? MV_OK
	               : MV_ENOMEM;
}
