/* daemon/keyd/proto.c — the key process's messages: encode and parse, strictly and bounded. */
#include <string.h>

#include "keyd.h"

static void put16(unsigned char *p, unsigned v)
{
	p[0] = (unsigned char)(v >> 8);
	p[1] = (unsigned char)v;
}

static void put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

static unsigned get16(const unsigned char *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

static uint32_t get32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int alg_ok(unsigned a)
{
	return a == MV_DKIM_RSA_SHA256 || a == MV_DKIM_ED25519_SHA256;
}

size_t mvd_keyd_req_encode(const struct mvd_keyd_req *r, unsigned char *buf)
{
	size_t n = MVD_KEYD_REQ_HEAD + r->idlen;

	if (r->idlen == 0 || r->idlen > MVD_KEYD_MAX_ID)
		return 0;
	put16(buf, (unsigned)n);
	buf[2] = MVD_KEYD_VERSION;
	buf[3] = r->op;
	put32(buf + 4, r->seq);
	buf[8] = r->alg;
	buf[9] = 0;
	put16(buf + 10, (unsigned)r->idlen);
	memcpy(buf + 12, r->digest, 32);
	memcpy(buf + MVD_KEYD_REQ_HEAD, r->id, r->idlen);
	return n;
}

size_t mvd_keyd_rep_encode(const struct mvd_keyd_rep *r, unsigned char *buf)
{
	size_t n = MVD_KEYD_REP_HEAD + r->siglen;

	if (r->siglen > MVD_KEYD_MAX_DATA)
		return 0;
	put16(buf, (unsigned)n);
	buf[2] = MVD_KEYD_VERSION;
	buf[3] = r->status;
	put32(buf + 4, r->seq);
	buf[8] = r->alg;
	buf[9] = 0;
	put16(buf + 10, (unsigned)r->siglen);
	put32(buf + 12, r->bits);
	memcpy(buf + MVD_KEYD_REP_HEAD, r->sig, r->siglen);
	return n;
}

enum mv_status mvd_keyd_req_parse(const unsigned char *p, size_t n, struct mvd_keyd_req *out)
{
	static const unsigned char zero[32];
	size_t idlen;

	if (n > MVD_KEYD_MAX_REQ)
		return MV_ETOOBIG;
	if (n < MVD_KEYD_REQ_HEAD || get16(p) != n || p[2] != MVD_KEYD_VERSION || p[9] != 0)
		return MV_ESYNTAX;
	out->op = p[3];
	out->seq = get32(p + 4);
	out->alg = p[8];
	idlen = get16(p + 10);
	if (idlen == 0 || idlen > MVD_KEYD_MAX_ID || MVD_KEYD_REQ_HEAD + idlen != n)
		return MV_ESYNTAX;
	memcpy(out->digest, p + 12, 32);
	if (out->op == MVD_KEYD_SIGN) {
		if (!alg_ok(out->alg))
			return MV_ESYNTAX;
	} else if (out->op != MVD_KEYD_INFO || out->alg != 0 || memcmp(out->digest, zero, 32)) {
		return MV_ESYNTAX;
	}
	if (memchr(p + MVD_KEYD_REQ_HEAD, '\0', idlen))
		return MV_ESYNTAX;
	memcpy(out->id, p + MVD_KEYD_REQ_HEAD, idlen);
	out->id[idlen] = '\0';
	out->idlen = idlen;
	return MV_OK;
}

enum mv_status mvd_keyd_rep_parse(const unsigned char *p, size_t n, struct mvd_keyd_rep *out)
{
	size_t siglen;

	if (n > MVD_KEYD_MAX_REP)
		return MV_ETOOBIG;
	if (n < MVD_KEYD_REP_HEAD || get16(p) != n || p[2] != MVD_KEYD_VERSION || p[9] != 0 ||
	    p[3] > MVD_KEYD_BAD_REQUEST)
		return MV_ESYNTAX;
	out->status = p[3];
	out->seq = get32(p + 4);
	out->alg = p[8];
	siglen = get16(p + 10);
	out->bits = get32(p + 12);
	if (MVD_KEYD_REP_HEAD + siglen != n || (siglen && out->status != MVD_KEYD_OK) ||
	    (out->status == MVD_KEYD_OK && !alg_ok(out->alg)))
		return MV_ESYNTAX;
	memcpy(out->sig, p + MVD_KEYD_REP_HEAD, siglen);
	out->siglen = siglen;
	return MV_OK;
}
