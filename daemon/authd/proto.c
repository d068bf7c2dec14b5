/* daemon/authd/proto.c — the auth process's messages: encode and parse, strictly and bounded. */
#include <string.h>

#include <openssl/crypto.h>

#include "authd.h"

/* A field's bytes: where they start in the record and how many. */
struct span {
	const unsigned char *p;
	size_t n;
};

static void put16(unsigned char *p, size_t v)
{
	p[0] = (unsigned char)(v >> 8);
	p[1] = (unsigned char)v;
}

static void put_seq(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (24 - 8 * i));
}

static size_t get16(const unsigned char *p)
{
	return (size_t)p[0] << 8 | p[1];
}

static uint32_t get_seq(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* The characters of a textual IPv4 or IPv6 address (a zone's name aside: none here). */
static int ip_ok(const char *s, size_t n)
{
	if (n == 0 || n > MVD_AUTHD_MAX_IP)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!strchr("0123456789abcdefABCDEF.:", s[i]) || s[i] == '\0')
			return 0;
	return 1;
}

/* No NUL in a login, authzid or secret (the back ends take C strings). */
static int no_nul(const char *s, size_t n)
{
	return memchr(s, '\0', n) == NULL;
}

/* A reason for the log, or a login sent back: printable, no control byte. */
static int printable(const char *s, size_t n, int ascii_only)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c == 0x7f || (ascii_only && c > 0x7e))
			return 0;
	}
	return 1;
}

size_t mvd_authd_req_encode(const struct mvd_authd_req *r, unsigned char *buf)
{
	size_t ip = strlen(r->ip), az = strlen(r->authzid), lg = strlen(r->login);
	size_t n = MVD_AUTHD_REQ_HEAD + ip + az + lg + r->secret_len;
	unsigned char *p = buf + MVD_AUTHD_REQ_HEAD;

	if (!ip_ok(r->ip, ip) || az > MVD_AUTHD_MAX_NAME || lg > MVD_AUTHD_MAX_NAME ||
	    r->secret_len > MVD_AUTHD_MAX_SECRET || !no_nul(r->secret, r->secret_len))
		return 0;
	put16(buf, n);
	buf[2] = MVD_AUTHD_VERSION;
	buf[3] = r->op;
	put_seq(buf + 4, r->seq);
	buf[8] = r->mech;
	buf[9] = r->flags;
	buf[10] = (unsigned char)ip;
	buf[11] = (unsigned char)az;
	buf[12] = (unsigned char)lg;
	buf[13] = 0;
	put16(buf + 14, r->secret_len);
	memcpy(p, r->ip, ip);
	memcpy(p += ip, r->authzid, az);
	memcpy(p += az, r->login, lg);
	memcpy(p + lg, r->secret, r->secret_len);
	return n;
}

size_t mvd_authd_rep_encode(const struct mvd_authd_rep *r, unsigned char *buf)
{
	size_t lg = strlen(r->login), rs = strlen(r->reason);
	size_t n = MVD_AUTHD_REP_HEAD + lg + rs;

	if (lg > MVD_AUTHD_MAX_NAME || rs > MVD_AUTHD_MAX_REASON || !printable(r->login, lg, 0) ||
	    !printable(r->reason, rs, 1))
		return 0;
	put16(buf, n);
	buf[2] = MVD_AUTHD_VERSION;
	buf[3] = r->status;
	put_seq(buf + 4, r->seq);
	buf[8] = r->delay;
	buf[9] = r->flags;
	buf[10] = (unsigned char)lg;
	buf[11] = (unsigned char)rs;
	memcpy(buf + MVD_AUTHD_REP_HEAD, r->login, lg);
	memcpy(buf + MVD_AUTHD_REP_HEAD + lg, r->reason, rs);
	return n;
}

/* Copy a field into a NUL-terminated buffer (its bound checked by the caller). */
static void take(char *dst, struct span s)
{
	memcpy(dst, s.p, s.n);
	dst[s.n] = '\0';
}

/* Cut the fields after the header; 0 when their lengths add up to the record's. */
static int cut(const unsigned char *p, size_t n, size_t head, const size_t *len, size_t nf,
               struct span *out)
{
	size_t at = head;

	for (size_t i = 0; i < nf; i++) {
		if (len[i] > n - at)
			return -1;
		out[i].p = p + at;
		out[i].n = len[i];
		at += len[i];
	}
	return at == n ? 0 : -1;
}

enum mv_status mvd_authd_req_parse(const unsigned char *p, size_t n, struct mvd_authd_req *out)
{
	struct span f[4];
	size_t len[4];

	memset(out, 0, sizeof *out);
	if (n > MVD_AUTHD_MAX_REQ)
		return MV_ETOOBIG;
	if (n < MVD_AUTHD_REQ_HEAD || get16(p) != n || p[2] != MVD_AUTHD_VERSION)
		return MV_ESYNTAX;
	out->op = p[3];
	out->seq = get_seq(p + 4);
	out->mech = p[8];
	out->flags = p[9];
	len[0] = p[10];
	len[1] = p[11];
	len[2] = p[12];
	len[3] = get16(p + 14);
	if (out->op != MVD_AUTHD_CHECK ||
	    (out->mech != MVD_AUTHD_PLAIN && out->mech != MVD_AUTHD_LOGIN) ||
	    (out->flags & ~MVD_AUTHD_SECURED) || p[13] != 0 || len[0] > MVD_AUTHD_MAX_IP ||
	    len[3] > MVD_AUTHD_MAX_SECRET || cut(p, n, MVD_AUTHD_REQ_HEAD, len, 4, f) != 0)
		return MV_ESYNTAX;
	take(out->ip, f[0]);
	take(out->authzid, f[1]);
	take(out->login, f[2]);
	take(out->secret, f[3]);
	out->secret_len = f[3].n;
	if (!ip_ok(out->ip, f[0].n) || !no_nul(out->authzid, f[1].n) ||
	    !no_nul(out->login, f[2].n) || !no_nul(out->secret, f[3].n))
		return MV_ESYNTAX;
	return MV_OK;
}

enum mv_status mvd_authd_rep_parse(const unsigned char *p, size_t n, struct mvd_authd_rep *out)
{
	struct span f[2];
	size_t len[2];

	memset(out, 0, sizeof *out);
	if (n > MVD_AUTHD_MAX_REP)
		return MV_ETOOBIG;
	if (n < MVD_AUTHD_REP_HEAD || get16(p) != n || p[2] != MVD_AUTHD_VERSION)
		return MV_ESYNTAX;
	out->status = p[3];
	out->seq = get_seq(p + 4);
	out->delay = p[8];
	out->flags = p[9];
	len[0] = p[10];
	len[1] = p[11];
	if (out->status > MVD_AUTHD_BAD_REQUEST || len[1] > MVD_AUTHD_MAX_REASON ||
	    (out->flags & ~MVD_AUTHD_NOW_BLOCKED) ||
	    (out->status != MVD_AUTHD_FAIL && (out->delay || out->flags)) ||
	    (out->status == MVD_AUTHD_OK) != (len[0] != 0) ||
	    cut(p, n, MVD_AUTHD_REP_HEAD, len, 2, f) != 0)
		return MV_ESYNTAX;
	take(out->login, f[0]);
	take(out->reason, f[1]);
	if (!printable(out->login, f[0].n, 0) || !printable(out->reason, f[1].n, 1))
		return MV_ESYNTAX;
	return MV_OK;
}

void mvd_authd_req_wipe(struct mvd_authd_req *r, unsigned char *buf, size_t n)
{
	if (r) {
		OPENSSL_cleanse(r->secret, sizeof r->secret);
		r->secret_len = 0;
	}
	if (buf && n)
		OPENSSL_cleanse(buf, n);
}
