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

static int tls_kind_ok(unsigned a)
{
	return a == MVD_KEYD_TLS_RSA || a == MVD_KEYD_TLS_EC;
}

/* The alg of an OK reply to op: a DKIM algorithm or a TLS key's kind. */
static int rep_alg_ok(unsigned a)
{
	return alg_ok(a) || tls_kind_ok(a);
}

/* An EC input is a digest (SHA-1 .. SHA-512); an RSA one a whole modulus block. */
static int tls_in_ok(unsigned alg, size_t inlen)
{
	if (alg == MVD_KEYD_TLS_EC)
		return inlen >= MVD_KEYD_MIN_TLS_IN && inlen <= 64;
	return inlen >= 64 && inlen <= MVD_KEYD_MAX_TLS_IN; /* 512 bits and up */
}

size_t mvd_keyd_req_encode(const struct mvd_keyd_req *r, unsigned char *buf)
{
	size_t n = MVD_KEYD_REQ_HEAD + r->idlen + r->inlen;

	if (r->idlen == 0 || r->idlen > MVD_KEYD_MAX_ID || r->inlen > MVD_KEYD_MAX_TLS_IN)
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
	if (r->inlen)
		memcpy(buf + MVD_KEYD_REQ_HEAD + r->idlen, r->in, r->inlen);
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
	size_t idlen, inlen;
	int ok;

	if (n > MVD_KEYD_MAX_REQ)
		return MV_ETOOBIG;
	if (n < MVD_KEYD_REQ_HEAD || get16(p) != n || p[2] != MVD_KEYD_VERSION || p[9] != 0)
		return MV_ESYNTAX;
	out->op = p[3];
	out->seq = get32(p + 4);
	out->alg = p[8];
	idlen = get16(p + 10);
	if (idlen == 0 || idlen > MVD_KEYD_MAX_ID || MVD_KEYD_REQ_HEAD + idlen > n)
		return MV_ESYNTAX;
	inlen = n - MVD_KEYD_REQ_HEAD - idlen;
	memcpy(out->digest, p + 12, 32);
	switch (out->op) {
	case MVD_KEYD_SIGN:
		ok = alg_ok(out->alg) && inlen == 0;
		break;
	case MVD_KEYD_TLS_SIGN:
		ok = tls_kind_ok(out->alg) && tls_in_ok(out->alg, inlen);
		break;
	case MVD_KEYD_INFO:
	case MVD_KEYD_TLS_INFO:
		ok = out->alg == 0 && inlen == 0 && !memcmp(out->digest, zero, 32);
		break;
	default:
		ok = 0;
	}
	if (!ok || memchr(p + MVD_KEYD_REQ_HEAD, '\0', idlen))
		return MV_ESYNTAX;
	memcpy(out->id, p + MVD_KEYD_REQ_HEAD, idlen);
	out->id[idlen] = '\0';
	out->idlen = idlen;
	memcpy(out->in, p + MVD_KEYD_REQ_HEAD + idlen, inlen);
	out->inlen = inlen;
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
	    (out->status == MVD_KEYD_OK && !rep_alg_ok(out->alg)))
		return MV_ESYNTAX;
	memcpy(out->sig, p + MVD_KEYD_REP_HEAD, siglen);
	out->siglen = siglen;
	return MV_OK;
}
