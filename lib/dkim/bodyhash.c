/* lib/dkim/bodyhash.c — SHA-256 of a canonicalized body, fed chunk by chunk. */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "dkim/dkim_int.h"

struct mv_dkim_bodyhash {
	enum mv_canon c;
	int64_t l;
	struct mv_canon_body *cb;
	EVP_MD_CTX *md;
	int failed; /* a digest update failed */
	int done;
	unsigned char digest[MV_DKIM_HASHLEN];
	uint64_t length;
};

/* The canonicalizer's sink: canonical bytes straight into the digest. */
static void sink(void *arg, const void *p, size_t n)
{
	struct mv_dkim_bodyhash *bh = arg;

	if (EVP_DigestUpdate(bh->md, p, n) != 1)
		bh->failed = 1;
}

enum mv_status mv_dkim_bodyhash_new(enum mv_canon c, int64_t l, struct mv_dkim_bodyhash **out)
{
	struct mv_dkim_bodyhash *bh = calloc(1, sizeof *bh);
	enum mv_status st = MV_ENOMEM;

	*out = NULL;
	if (bh == NULL)
		return MV_ENOMEM;
	bh->c = c;
	bh->l = l;
	if ((bh->md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(bh->md, EVP_sha256(), NULL) != 1)
		goto out;
	if ((st = mv_canon_body_new(c, l, sink, bh, &bh->cb)) != MV_OK)
		goto out;
	*out = bh;
out:
	if (st != MV_OK)
		mv_dkim_bodyhash_free(bh);
	return st;
}

enum mv_status mv_dkim_bodyhash_update(struct mv_dkim_bodyhash *bh, const void *p, size_t n)
{
	enum mv_status st;

	if (bh->done)
		return MV_EINVAL;
	st = mv_canon_body_update(bh->cb, p, n);
	return st == MV_OK && bh->failed ? MV_ENOMEM : st;
}

enum mv_status mv_dkim_bodyhash_final(struct mv_dkim_bodyhash *bh)
{
	enum mv_status st;

	if (bh->done)
		return MV_OK;
	if ((st = mv_canon_body_final(bh->cb)) != MV_OK)
		return st;
	if (bh->failed || EVP_DigestFinal_ex(bh->md, bh->digest, NULL) != 1)
		return MV_ENOMEM;
	bh->length = mv_canon_body_length(bh->cb);
	bh->done = 1;
	return MV_OK;
}

const unsigned char *mv_dkim_bodyhash_digest(const struct mv_dkim_bodyhash *bh)
{
	return bh->digest;
}

uint64_t mv_dkim_bodyhash_length(const struct mv_dkim_bodyhash *bh)
{
	return bh->length;
}

int mv_dkim_bodyhash_matches(const struct mv_dkim_bodyhash *bh, enum mv_canon c, int64_t l)
{
	return bh->c == c && bh->l == l;
}

/* The number of canonical bytes a limit l (-1: none) lets through a body of len bytes. */
static uint64_t hashed_bytes(int64_t l, uint64_t len)
{
	return l >= 0 && (uint64_t)l < len ? (uint64_t)l : len;
}

int mv_dkim_bodyhash_covers(const struct mv_dkim_bodyhash *bh, enum mv_canon c, int64_t l)
{
	return bh->done && bh->c == c &&
	       hashed_bytes(bh->l, bh->length) == hashed_bytes(l, bh->length);
}

void mv_dkim_bodyhash_free(struct mv_dkim_bodyhash *bh)
{
	if (bh == NULL)
		return;
	mv_canon_body_free(bh->cb);
	EVP_MD_CTX_free(bh->md);
	free(bh);
}
