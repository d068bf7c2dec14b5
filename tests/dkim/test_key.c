/* tests/dkim/test_key.c — key records, RFC 6376 §3.6.1 (and RFC 8463 §4 for ed25519). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <mailvet/dkim.h>

/* RFC 8463 Appendix A.2's ed25519 key and a 1024-bit RSA key of RFC 8463 A.2. */
#define ED_P "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="
#define RSA_P                                                                                      \
	"MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWRiGs5V6NpP3idY6Wk08a5qhdR6wy5bdOKb2jLQi" \
	"Y/J16JYi0Qvx/byYzCNb3W91y3FutACDfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hstT5QjvHO9Pzox"   \
	"ZyVYLzBfO2EeC3Ip3G+2kryOTIKT+l/K4w3QIDAQAB"

static char err[160];

static enum mv_status parse(const char *s, struct mv_dkim_key **k)
{
	return mv_dkim_key_parse(s, strlen(s), k, err, sizeof err);
}

/* §3.6.1: k= defaults to rsa; v=, h=, s=, t= absent mean no restriction. */
static void minimal_rsa_record(void **state)
{
	struct mv_dkim_key *k;

	(void)state;
	assert_int_equal(parse("p=" RSA_P, &k), MV_OK);
	assert_int_equal(k->type, MV_DKIM_KEY_RSA);
	assert_int_equal(k->bits, 1024);
	assert_true(k->sha256 && k->email);
	assert_false(k->testing || k->strict || k->revoked);
	mv_dkim_key_free(k);
}

/* RFC 8463 §4.2: p= is the raw 32-byte Ed25519 public key. */
static void ed25519_record(void **state)
{
	struct mv_dkim_key *k;

	(void)state;
	assert_int_equal(parse("v=DKIM1; k=ed25519; p=" ED_P, &k), MV_OK);
	assert_int_equal(k->type, MV_DKIM_KEY_ED25519);
	assert_non_null(k->pkey);
	mv_dkim_key_free(k);
	assert_int_equal(parse("v=DKIM1; k=ed25519; p=" RSA_P, &k), MV_ESYNTAX);
}

/* §3.6.1 p=: "An empty value means that this public key has been revoked." */
static void empty_p_is_a_revoked_key(void **state)
{
	struct mv_dkim_key *k;

	(void)state;
	assert_int_equal(parse("v=DKIM1; k=rsa; p=", &k), MV_OK);
	assert_true(k->revoked);
	assert_null(k->pkey);
	mv_dkim_key_free(k);
}

/* §3.6.1 t=: y (testing) and s (no subdomains in i=), other flags ignored. */
static void flags_are_read(void **state)
{
	struct mv_dkim_key *k;

	(void)state;
	assert_int_equal(parse("v=DKIM1; t=y : s : q; p=" RSA_P, &k), MV_OK);
	assert_true(k->testing);
	assert_true(k->strict);
	mv_dkim_key_free(k);
	assert_int_equal(parse("h=sha1; s=email; p=" RSA_P, &k), MV_OK);
	assert_false(k->sha256);
	assert_true(k->email);
	mv_dkim_key_free(k);
	assert_int_equal(parse("h=sha1:sha256; s=*; p=" RSA_P, &k), MV_OK);
	assert_true(k->sha256 && k->email);
	mv_dkim_key_free(k);
	assert_int_equal(parse("s=tlsrpt; p=" RSA_P, &k), MV_OK);
	assert_false(k->email);
	mv_dkim_key_free(k);
}

/* A bare RSAPublicKey (PKCS#1) in p= is accepted as well as SubjectPublicKeyInfo. */
static void pkcs1_rsa_key_is_accepted(void **state)
{
	/* RSA_P without its SubjectPublicKeyInfo wrapper (the BIT STRING content). */
	static const char pkcs1[] =
	        "p=MIGJAoGBAOQeU5CgFPNZGIazlXo2k/eJ1jpaTTxrmqF1HrDLlt04pvaMtCJj8nXolmLRC/H9vJjMI1t"
	        "b3XXLcW60AIN/PBD8EL97/y4GwJH7LPUvGP48vqUe+owqszesbiGy1PlCO8c70/"
	        "OjFnJVgvMF87YR4Lcinc"
	        "b7aSvI5MgpP6X8rjDdAgMBAAE=";
	struct mv_dkim_key *k;

	(void)state;
	assert_int_equal(parse(pkcs1, &k), MV_OK);
	assert_int_equal(k->bits, 1024);
	mv_dkim_key_free(k);
}

struct bad {
	const char *why, *text;
	enum mv_status st;
};

static void malformed_records_are_refused(void **state)
{
	static const struct bad cases[] = {
	        {"v= not DKIM1 (§3.6.1: discard)", "v=DKIM2; p=" RSA_P, MV_ESYNTAX},
	        {"v= not first", "k=rsa; v=DKIM1; p=" RSA_P, MV_ESYNTAX},
	        {"no p=", "v=DKIM1; k=rsa", MV_ESYNTAX},
	        {"p= not base64", "v=DKIM1; p=!!!!", MV_ESYNTAX},
	        {"p= base64 but not a key", "v=DKIM1; p=QUJDRA==", MV_ESYNTAX},
	        {"unknown k=", "v=DKIM1; k=dsa; p=" RSA_P, MV_EUNSUPPORTED},
	        {"duplicate p=", "v=DKIM1; p=" RSA_P "; p=", MV_ESYNTAX},
	        {"not a tag-list", "this is an SPF record", MV_ESYNTAX},
	};
	struct mv_dkim_key *k;
	enum mv_status st;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		st = parse(cases[i].text, &k);
		if (st != cases[i].st)
			fail_msg("%s: status %s (%s)", cases[i].why, mv_status_str(st), err);
		assert_null(k);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(minimal_rsa_record),
	        cmocka_unit_test(ed25519_record),
	        cmocka_unit_test(empty_p_is_a_revoked_key),
	        cmocka_unit_test(flags_are_read),
	        cmocka_unit_test(pkcs1_rsa_key_is_accepted),
	        cmocka_unit_test(malformed_records_are_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
