/* lib/dkim/hhash.c — the header hash (RFC 6376 §3.7, §5.4.2): selection and canonicalization. */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "dkim/dkim_int.h"

/*
 * The index of the bottom-most field named `name` not used yet, or
 * (size_t)-1. RFC 6376 §5.4.2: the k-th occurrence of a name in h= signs
 * the k-th instance counted from the bottom of the header.
 */
static size_t pick(const struct mv_msg *m, const char *name, const unsigned char *used)
{
	size_t i = mv_msg_field_count(m);

	while (i-- > 0) {
		const struct mv_msg_field *f = mv_msg_field(m, i);
		if (!used[i] && mv_ascii_ieq(f->name, f->name_len, name))
			return i;
	}
	return (size_t)-1;
}

/* Append the signature field with its b= value deleted, canonicalized, without the final CRLF. */
static enum mv_status canon_sigfield(enum mv_canon c, const char *raw, size_t len, size_t b_off,
                                     size_t b_len, struct mv_buf *scratch)
{
	struct mv_buf tmp = MV_BUF_INIT;
	enum mv_status st;

	if (b_off > len || b_len > len - b_off)
		return MV_EINVAL;
	mv_buf_append(&tmp, raw, b_off);
	mv_buf_append(&tmp, raw + b_off + b_len, len - b_off - b_len);
	if ((st = mv_buf_status(&tmp)) != MV_OK)
		goto out;
	if ((st = mv_canon_header(c, tmp.data, tmp.len, scratch)) != MV_OK)
		goto out;
	if (scratch->len >= 2 && scratch->data[scratch->len - 2] == '\r' &&
	    scratch->data[scratch->len - 1] == '\n')
		scratch->len -= 2;
out:
	mv_buf_free(&tmp);
	return st;
}

enum mv_status mv_dkim_hash_headers(const struct mv_msg *m, enum mv_canon c, char *const *h,
                                    size_t nh, const char *sigraw, size_t sigraw_len, size_t b_off,
                                    size_t b_len, struct mv_buf *scratch,
                                    unsigned char out[MV_DKIM_HASHLEN])
{
	size_t nf = mv_msg_field_count(m), k, j;
	const struct mv_msg_field *f;
	unsigned char *used = calloc(nf + 1, 1);
	enum mv_status st = MV_ENOMEM;

	if (used == NULL)
		goto out;
	/*
	 * The signature field itself enters the hash once, last, with b=
	 * empty (RFC 6376 §3.7). When it is a field of m (verifying), h= must
	 * not select it again: the signer hashed before it existed, so an
	 * occurrence of its name beyond the earlier fields signed an absence.
	 */
	for (j = 0; j < nf; j++)
		if (mv_msg_field(m, j)->raw == sigraw)
			used[j] = 1;
	mv_buf_reset(scratch);
	for (k = 0; k < nh; k++) {
		if ((j = pick(m, h[k], used)) == (size_t)-1)
			continue; /* over-signed: the absent field adds nothing */
		used[j] = 1;
		f = mv_msg_field(m, j);
		if ((st = mv_canon_header(c, f->raw, f->raw_len, scratch)) != MV_OK)
			goto out;
	}
	if ((st = canon_sigfield(c, sigraw, sigraw_len, b_off, b_len, scratch)) != MV_OK)
		goto out;
	st = EVP_Digest(scratch->data, scratch->len, out, NULL, EVP_sha256(), NULL) == 1
	             ? MV_OK
	             : MV_ENOMEM;
out:
	free(used);
	return st;
}
