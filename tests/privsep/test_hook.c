/* tests/privsep/test_hook.c — the signing hook: a key held elsewhere signs exactly as in process. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <mailvet/dkim.h>
#include <mailvet/msg.h>
#include <mailvet/util.h>

static const char MSG[] = "From: Carol <carol@sign.example>\r\n"
                          "To: dave@far.example\r\n"
                          "Subject: hook\r\n"
                          "\r\n"
                          "Body.\r\n";

/* The "other process": an in-process key behind the callback, and what it saw. */
struct far {
	struct mv_dkim_signkey *real;
	enum mv_status fail; /* MV_OK: sign */
	int calls;
	size_t lie; /* nonzero: claim this length */
};

static enum mv_status far_sign(void *arg, const void *handle, enum mv_dkim_alg alg,
                               const unsigned char digest[32], unsigned char *sig, size_t cap,
                               size_t *siglen)
{
	struct far *f = arg;
	enum mv_status st;

	assert_string_equal(handle, "key-id");
	assert_int_equal(alg, mv_dkim_signkey_alg(f->real));
	f->calls++;
	if (f->fail != MV_OK)
		return f->fail;
	st = mv_dkim_signkey_sign(f->real, digest, sig, cap, siglen);
	if (f->lie)
		*siglen = f->lie;
	return st;
}

static struct mv_dkim_signkey *load(const char *path)
{
	struct mv_dkim_signkey *k = NULL;
	char *pem = NULL;
	size_t len = 0;

	assert_int_equal(mv_read_file(path, 1 << 16, &pem, &len), MV_OK);
	assert_int_equal(mv_dkim_signkey_pem(pem, len, &k, NULL, 0), MV_OK);
	free(pem);
	return k;
}

/* mv_dkim_sign with key k: the status, the fields in out. */
static enum mv_status sign_with(const struct mv_dkim_signkey *k, struct mv_buf *out)
{
	struct mv_dkim_sign_opts o;
	struct mv_msg *m = NULL;
	const char *body;
	size_t blen, off;
	enum mv_status st;

	mv_dkim_sign_opts_default(&o);
	o.domain = "sign.example";
	o.selector = "s";
	o.now = 1700000000;
	assert_int_equal(mv_msg_parse(MSG, sizeof MSG - 1, NULL, &m, NULL, 0), MV_OK);
	mv_msg_body(m, &body, &blen, &off);
	st = mv_dkim_sign(&o, &k, NULL, 1, m, body, blen, out);
	mv_msg_free(m);
	return st;
}

/* Given its public half, an external key publishes the same record as the key in process. */
static void same_record_with_public_half(struct far *f, const struct mv_dkim_signer *signer)
{
	struct mv_buf spki = MV_BUF_INIT;
	struct mv_dkim_signkey *ext = NULL;
	char *r1, *r2;

	assert_int_equal(mv_dkim_signkey_spki(f->real, &spki), MV_OK);
	assert_int_equal(mv_dkim_signkey_external(mv_dkim_signkey_alg(f->real), 0,
	                                          (const unsigned char *)spki.data, spki.len,
	                                          signer, "key-id", &ext),
	                 MV_OK);
	r1 = mv_dkim_signkey_record(f->real);
	r2 = mv_dkim_signkey_record(ext);
	assert_non_null(r2);
	assert_string_equal(r1, r2);
	free(r1);
	free(r2);
	mv_buf_free(&spki);
	mv_dkim_signkey_free(ext);
}

/* RSA PKCS#1 v1.5 and Ed25519 are deterministic: the same digest gives the same b=. */
static void check_same_signature(const char *path)
{
	struct far f = {load(path), MV_OK, 0, 0};
	struct mv_dkim_signer signer = {far_sign, &f};
	struct mv_dkim_signkey *ext = NULL;
	struct mv_buf a = MV_BUF_INIT, b = MV_BUF_INIT;

	assert_int_equal(mv_dkim_signkey_external(mv_dkim_signkey_alg(f.real),
	                                          mv_dkim_signkey_bits(f.real), NULL, 0, &signer,
	                                          "key-id", &ext),
	                 MV_OK);
	assert_int_equal(sign_with(f.real, &a), MV_OK);
	assert_int_equal(sign_with(ext, &b), MV_OK);
	assert_int_equal(f.calls, 1);
	assert_int_equal(a.len, b.len);
	assert_memory_equal(a.data, b.data, a.len);
	assert_null(mv_dkim_signkey_record(ext)); /* no public key here */
	mv_dkim_signkey_free(ext);
	ext = NULL;
	same_record_with_public_half(&f, &signer);
	mv_buf_free(&a);
	mv_buf_free(&b);
	mv_dkim_signkey_free(ext);
	mv_dkim_signkey_free(f.real);
}

static void rsa_through_the_hook_signs_as_in_process(void **state)
{
	(void)state;
	check_same_signature("../daemon/data/rsa1.pem");
}

static void ed25519_through_the_hook_signs_as_in_process(void **state)
{
	(void)state;
	check_same_signature("../daemon/data/ed1.pem");
}

/* A signer that fails, or claims more bytes than it was given room for, fails the signing. */
static void a_failing_or_lying_signer_fails_signing(void **state)
{
	struct far f = {load("../daemon/data/ed1.pem"), MV_EIO, 0, 0};
	struct mv_dkim_signer signer = {far_sign, &f};
	struct mv_dkim_signkey *ext = NULL;
	struct mv_buf out = MV_BUF_INIT;

	(void)state;
	assert_int_equal(mv_dkim_signkey_external(MV_DKIM_ED25519_SHA256, 256, NULL, 0, &signer,
	                                          "key-id", &ext),
	                 MV_OK);
	assert_int_equal(sign_with(ext, &out), MV_EIO);
	f.fail = MV_OK;
	f.lie = MV_DKIM_MAX_SIG + 1;
	mv_buf_reset(&out);
	assert_int_not_equal(sign_with(ext, &out), MV_OK);
	mv_buf_free(&out);
	mv_dkim_signkey_free(ext);
	mv_dkim_signkey_free(f.real);
}

static void only_signing_algorithms_are_external(void **state)
{
	struct mv_dkim_signer signer = {far_sign, NULL};
	struct mv_dkim_signkey *ext = NULL;

	(void)state;
	assert_int_equal(
	        mv_dkim_signkey_external(MV_DKIM_RSA_SHA1, 1024, NULL, 0, &signer, "x", &ext),
	        MV_EINVAL);
	assert_null(ext);
	assert_int_equal(
	        mv_dkim_signkey_external(MV_DKIM_RSA_SHA256, 2048, NULL, 0, NULL, "x", &ext),
	        MV_EINVAL);
	assert_int_equal(mv_dkim_signkey_external(MV_DKIM_RSA_SHA256, 2048,
	                                          (const unsigned char *)"junk", 4, &signer, "x",
	                                          &ext),
	                 MV_ESYNTAX);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(rsa_through_the_hook_signs_as_in_process),
	        cmocka_unit_test(ed25519_through_the_hook_signs_as_in_process),
	        cmocka_unit_test(a_failing_or_lying_signer_fails_signing),
	        cmocka_unit_test(only_signing_algorithms_are_external),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
