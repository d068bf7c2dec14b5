/* tests/privsep/proto_unit.c — the key process's messages: strict parsing, round trips. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "keyd.h"

static struct mvd_keyd_req sign_req(void)
{
	struct mvd_keyd_req r;

	memset(&r, 0, sizeof r);
	r.op = MVD_KEYD_SIGN;
	r.seq = 0x01020304;
	r.alg = MV_DKIM_ED25519_SHA256;
	for (int i = 0; i < 32; i++)
		r.digest[i] = (unsigned char)i;
	r.idlen = strlen("/etc/mailvet/keys/ed1.pem");
	memcpy(r.id, "/etc/mailvet/keys/ed1.pem", r.idlen);
	return r;
}

static void a_request_round_trips(void **state)
{
	struct mvd_keyd_req r = sign_req(), back;
	unsigned char buf[MVD_KEYD_MAX_REQ];
	size_t n = mvd_keyd_req_encode(&r, buf);

	(void)state;
	assert_int_equal(n, MVD_KEYD_REQ_HEAD + r.idlen);
	assert_int_equal(mvd_keyd_req_parse(buf, n, &back), MV_OK);
	assert_int_equal(back.seq, r.seq);
	assert_int_equal(back.alg, r.alg);
	assert_memory_equal(back.digest, r.digest, 32);
	assert_string_equal(back.id, r.id);
}

/* Every way a record can lie about itself is refused. */
static void a_bad_request_is_refused(void **state)
{
	struct mvd_keyd_req r = sign_req(), back;
	unsigned char buf[MVD_KEYD_MAX_REQ + 8];
	size_t n = mvd_keyd_req_encode(&r, buf);

	(void)state;
	for (size_t cut = 0; cut < n; cut++) /* short */
		assert_int_not_equal(mvd_keyd_req_parse(buf, cut, &back), MV_OK);
	buf[1] ^= 1; /* length field */
	assert_int_equal(mvd_keyd_req_parse(buf, n, &back), MV_ESYNTAX);
	buf[1] ^= 1;
	buf[2] = 2; /* version */
	assert_int_equal(mvd_keyd_req_parse(buf, n, &back), MV_ESYNTAX);
	buf[2] = 1;
	buf[3] = 9; /* op */
	assert_int_equal(mvd_keyd_req_parse(buf, n, &back), MV_ESYNTAX);
	buf[3] = MVD_KEYD_SIGN;
	buf[8] = MV_DKIM_RSA_SHA1; /* an algorithm we never sign with */
	assert_int_equal(mvd_keyd_req_parse(buf, n, &back), MV_ESYNTAX);
	buf[8] = MV_DKIM_RSA_SHA256;
	buf[9] = 1; /* the zero byte */
	assert_int_equal(mvd_keyd_req_parse(buf, n, &back), MV_ESYNTAX);
	buf[9] = 0;
	buf[MVD_KEYD_REQ_HEAD + 3] = '\0'; /* a NUL in the id */
	assert_int_equal(mvd_keyd_req_parse(buf, n, &back), MV_ESYNTAX);
	assert_int_equal(mvd_keyd_req_parse(buf, MVD_KEYD_MAX_REQ + 1, &back), MV_ETOOBIG);
}

static void info_carries_no_digest(void **state)
{
	struct mvd_keyd_req r = sign_req(), back;
	unsigned char buf[MVD_KEYD_MAX_REQ];
	size_t n;

	(void)state;
	r.op = MVD_KEYD_INFO;
	r.alg = 0;
	n = mvd_keyd_req_encode(&r, buf);
	assert_int_equal(mvd_keyd_req_parse(buf, n, &back), MV_ESYNTAX); /* digest not zero */
	memset(r.digest, 0, 32);
	n = mvd_keyd_req_encode(&r, buf);
	assert_int_equal(mvd_keyd_req_parse(buf, n, &back), MV_OK);
}

static void an_id_out_of_range_is_not_encoded(void **state)
{
	struct mvd_keyd_req r = sign_req();
	unsigned char buf[MVD_KEYD_MAX_REQ];

	(void)state;
	r.idlen = 0;
	assert_int_equal(mvd_keyd_req_encode(&r, buf), 0);
	r.idlen = MVD_KEYD_MAX_ID + 1;
	assert_int_equal(mvd_keyd_req_encode(&r, buf), 0);
}

static void a_reply_round_trips_and_lies_are_refused(void **state)
{
	struct mvd_keyd_rep r, back;
	unsigned char buf[MVD_KEYD_MAX_REP];
	size_t n;

	(void)state;
	memset(&r, 0, sizeof r);
	r.seq = 77;
	r.alg = MV_DKIM_RSA_SHA256;
	r.bits = 2048;
	r.siglen = 256;
	memset(r.sig, 0xab, r.siglen);
	n = mvd_keyd_rep_encode(&r, buf);
	assert_int_equal(mvd_keyd_rep_parse(buf, n, &back), MV_OK);
	assert_int_equal(back.bits, 2048);
	assert_int_equal(back.siglen, 256);
	assert_memory_equal(back.sig, r.sig, 256);
	buf[3] = MVD_KEYD_FAILED; /* an error with a signature */
	assert_int_equal(mvd_keyd_rep_parse(buf, n, &back), MV_ESYNTAX);
	buf[3] = MVD_KEYD_OK;
	assert_int_equal(mvd_keyd_rep_parse(buf, n - 1, &back), MV_ESYNTAX);
	r.siglen = MVD_KEYD_MAX_DATA + 1;
	assert_int_equal(mvd_keyd_rep_encode(&r, buf), 0);
}

static struct mvd_keyd_req tls_req(uint8_t kind, size_t inlen)
{
	struct mvd_keyd_req r;

	memset(&r, 0, sizeof r);
	r.op = MVD_KEYD_TLS_SIGN;
	r.seq = 9;
	r.alg = kind;
	r.idlen = strlen("/etc/ssl/private/mx.key");
	memcpy(r.id, "/etc/ssl/private/mx.key", r.idlen);
	memset(r.digest, 0xee, sizeof r.digest); /* the public key's SHA-256 */
	for (size_t i = 0; i < inlen && i < sizeof r.in; i++)
		r.in[i] = (unsigned char)(i * 7);
	r.inlen = inlen; /* may lie, to see the encoder refuse */
	return r;
}

static void a_tls_request_round_trips(void **state)
{
	struct mvd_keyd_req r = tls_req(MVD_KEYD_TLS_RSA, 512), back;
	unsigned char buf[MVD_KEYD_MAX_REQ];
	size_t n = mvd_keyd_req_encode(&r, buf);

	(void)state;
	assert_int_equal(n, MVD_KEYD_REQ_HEAD + r.idlen + 512);
	assert_int_equal(mvd_keyd_req_parse(buf, n, &back), MV_OK);
	assert_int_equal(back.op, MVD_KEYD_TLS_SIGN);
	assert_int_equal(back.alg, MVD_KEYD_TLS_RSA);
	assert_int_equal(back.inlen, 512);
	assert_memory_equal(back.in, r.in, 512);
	assert_memory_equal(back.digest, r.digest, 32);
	assert_string_equal(back.id, r.id);
	r = tls_req(MVD_KEYD_TLS_EC, 48);
	n = mvd_keyd_req_encode(&r, buf);
	assert_int_equal(mvd_keyd_req_parse(buf, n, &back), MV_OK);
	assert_int_equal(back.inlen, 48);
	r = tls_req(MVD_KEYD_TLS_RSA, MVD_KEYD_MAX_TLS_IN);
	n = mvd_keyd_req_encode(&r, buf);
	assert_int_equal(n, MVD_KEYD_REQ_HEAD + r.idlen + MVD_KEYD_MAX_TLS_IN);
	assert_int_equal(mvd_keyd_req_parse(buf, n, &back), MV_OK);
}

/* Inputs out of their op's bounds, DKIM algorithms on TLS ops, data where none goes. */
static void a_bad_tls_request_is_refused(void **state)
{
	unsigned char buf[MVD_KEYD_MAX_REQ + 8];
	struct mvd_keyd_req r, back;
	size_t n;

	(void)state;
	r = tls_req(MVD_KEYD_TLS_EC, MVD_KEYD_MIN_TLS_IN - 1); /* shorter than SHA-1 */
	n = mvd_keyd_req_encode(&r, buf);
	assert_int_equal(mvd_keyd_req_parse(buf, n, &back), MV_ESYNTAX);
	r = tls_req(MVD_KEYD_TLS_EC, 65); /* longer than SHA-512 */
	n = mvd_keyd_req_encode(&r, buf);
	assert_int_equal(mvd_keyd_req_parse(buf, n, &back), MV_ESYNTAX);
	r = tls_req(MVD_KEYD_TLS_RSA, 63); /* under 512 bits */
	n = mvd_keyd_req_encode(&r, buf);
	assert_int_equal(mvd_keyd_req_parse(buf, n, &back), MV_ESYNTAX);
	r = tls_req(MVD_KEYD_TLS_RSA, 0);
	n = mvd_keyd_req_encode(&r, buf);
	assert_int_equal(mvd_keyd_req_parse(buf, n, &back), MV_ESYNTAX);
	r = tls_req(MVD_KEYD_TLS_RSA, MVD_KEYD_MAX_TLS_IN + 1); /* not even encoded */
	assert_int_equal(mvd_keyd_req_encode(&r, buf), 0);
	r = tls_req(MV_DKIM_RSA_SHA256, 256); /* a DKIM algorithm */
	n = mvd_keyd_req_encode(&r, buf);
	assert_int_equal(mvd_keyd_req_parse(buf, n, &back), MV_ESYNTAX);
	r = tls_req(MVD_KEYD_TLS_RSA, 0);
	r.op = MVD_KEYD_TLS_INFO;
	r.alg = 0;
	memset(r.digest, 0, sizeof r.digest);
	n = mvd_keyd_req_encode(&r, buf);
	assert_int_equal(mvd_keyd_req_parse(buf, n, &back), MV_OK);
	r.digest[5] = 1; /* TLS_INFO names no public key */
	n = mvd_keyd_req_encode(&r, buf);
	assert_int_equal(mvd_keyd_req_parse(buf, n, &back), MV_ESYNTAX);
	r.digest[5] = 0;
	r.inlen = 32; /* INFO carries no input */
	n = mvd_keyd_req_encode(&r, buf);
	assert_int_equal(mvd_keyd_req_parse(buf, n, &back), MV_ESYNTAX);
	r = sign_req();
	r.inlen = 32; /* nor does SIGN */
	n = mvd_keyd_req_encode(&r, buf);
	assert_int_equal(mvd_keyd_req_parse(buf, n, &back), MV_ESYNTAX);
	assert_int_equal(mvd_keyd_req_parse(buf, MVD_KEYD_MAX_REQ + 1, &back), MV_ETOOBIG);
}

static void a_tls_reply_round_trips(void **state)
{
	struct mvd_keyd_rep r, back;
	unsigned char buf[MVD_KEYD_MAX_REP];
	size_t n;

	(void)state;
	memset(&r, 0, sizeof r);
	r.alg = MVD_KEYD_TLS_EC;
	r.bits = 384;
	r.siglen = 104;
	memset(r.sig, 0x30, r.siglen);
	n = mvd_keyd_rep_encode(&r, buf);
	assert_int_equal(mvd_keyd_rep_parse(buf, n, &back), MV_OK);
	assert_int_equal(back.alg, MVD_KEYD_TLS_EC);
	buf[8] = 0x12; /* no such kind */
	assert_int_equal(mvd_keyd_rep_parse(buf, n, &back), MV_ESYNTAX);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(a_request_round_trips),
	        cmocka_unit_test(a_bad_request_is_refused),
	        cmocka_unit_test(info_carries_no_digest),
	        cmocka_unit_test(an_id_out_of_range_is_not_encoded),
	        cmocka_unit_test(a_reply_round_trips_and_lies_are_refused),
	        cmocka_unit_test(a_tls_request_round_trips),
	        cmocka_unit_test(a_bad_tls_request_is_refused),
	        cmocka_unit_test(a_tls_reply_round_trips),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
