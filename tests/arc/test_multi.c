/*
 * tests/arc/test_multi.c — several signing algorithms (draft-ietf-dmarc-arc-
 * multi-02): rsa-sha256 only, ed25519-sha256 only and dual chains of 1 to 3
 * hops, each hop changing the message before it seals (as a list does); a
 * longest chain of an algorithm we do not support; a dual chain with one
 * algorithm's chain broken; the i=50 ceiling.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <mailvet/arc.h>

#define NOW 1700000000
#define DOMAIN "lists.example.org"
#define SERV_ID "mx.lists.example.org"

static struct mv_dkim_signkey *rsa_key, *ed_key;
static struct mv_resolver *zone;

static int setup(void **state)
{
	struct mv_buf z = MV_BUF_INIT;
	char *pem = NULL, *rec;

	(void)state;
	if (mv_dkim_keygen(MV_DKIM_KEY_RSA, 1024, &rsa_key, &pem) != MV_OK)
		return -1;
	free(pem);
	if (mv_dkim_keygen(MV_DKIM_KEY_ED25519, 0, &ed_key, &pem) != MV_OK)
		return -1;
	free(pem);
	rec = mv_dkim_signkey_record(rsa_key);
	mv_buf_printf(&z, "rsa._domainkey." DOMAIN " TXT \"%s\"\n", rec);
	free(rec);
	rec = mv_dkim_signkey_record(ed_key);
	mv_buf_printf(&z, "ed._domainkey." DOMAIN " TXT \"%s\"\n", rec);
	free(rec);
	if (mv_dns_zone_parse(z.data, z.len, &zone, NULL, 0) != MV_OK)
		return -1;
	mv_buf_free(&z);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	mv_dkim_signkey_free(rsa_key);
	mv_dkim_signkey_free(ed_key);
	mv_dns_free(zone);
	return 0;
}

static const char ORIGINAL[] =
        "Authentication-Results: " SERV_ID "; spf=pass smtp.mailfrom=a@example.com\r\n"
        "From: Alice <a@example.com>\r\n"
        "To: list@lists.example.org\r\n"
        "Subject: hello\r\n"
        "Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n"
        "\r\n"
        "Hi all.\r\n";

/* Seal text with the keys given (NULL-terminated); returns the new message (caller frees). */
static char *seal_v(const char *text, const struct mv_arc_validator *v, size_t *nsets,
                    const struct mv_dkim_signkey *k1, const struct mv_dkim_signkey *k2)
{
	const struct mv_dkim_signkey *keys[2] = {k1, k2};
	const char *sels[2];
	struct mv_arc_seal_opts o;
	struct mv_buf out = MV_BUF_INIT;
	struct mv_msg *m = NULL;
	const char *body;
	size_t blen, k, n = k2 ? 2 : 1;

	for (k = 0; k < n; k++)
		sels[k] = mv_dkim_signkey_alg(keys[k]) == MV_DKIM_RSA_SHA256 ? "rsa" : "ed";
	assert_int_equal(mv_msg_parse(text, strlen(text), NULL, &m, NULL, 0), MV_OK);
	mv_msg_body(m, &body, &blen, NULL);
	mv_arc_seal_opts_default(&o);
	o.domain = DOMAIN;
	o.authserv_id = SERV_ID;
	o.now = NOW;
	assert_int_equal(mv_arc_seal(&o, keys, sels, n, m, body, blen, v, zone, &out, nsets),
	                 MV_OK);
	mv_buf_puts(&out, text);
	mv_msg_free(m);
	return mv_buf_steal(&out, NULL);
}

/* Seal text as received (the sealer validates it itself). */
static char *seal(const char *text, size_t *nsets, const struct mv_dkim_signkey *k1,
                  const struct mv_dkim_signkey *k2)
{
	return seal_v(text, NULL, nsets, k1, k2);
}

/* Validate text; returns the validator (caller frees). */
static struct mv_arc_validator *validate(const char *text, struct mv_msg **m)
{
	struct mv_arc_validator *v = NULL;

	assert_int_equal(mv_msg_parse(text, strlen(text), NULL, m, NULL, 0), MV_OK);
	assert_int_equal(mv_arc_validator_new(NULL, zone, NOW, &v), MV_OK);
	assert_int_equal(mv_arc_validator_message(v, *m), MV_OK);
	return v;
}

/* Replace the first `from` in text by `to` (a new string). */
static char *edit(char *text, const char *from, const char *to)
{
	struct mv_buf b = MV_BUF_INIT;
	char *p = strstr(text, from);

	assert_non_null(p);
	mv_buf_append(&b, text, (size_t)(p - text));
	mv_buf_puts(&b, to);
	mv_buf_puts(&b, p + strlen(from));
	free(text);
	return mv_buf_steal(&b, NULL);
}

/* The cv of chain `alg` in v, or -1 when there is no such chain. */
static int chain_cv(const struct mv_arc_validator *v, const char *alg)
{
	size_t k;

	for (k = 0; k < mv_arc_validator_nchains(v); k++)
		if (strcmp(mv_arc_validator_chain(v, k)->alg, alg) == 0)
			return (int)mv_arc_validator_chain(v, k)->cv;
	return -1;
}

/* Check a validation: pass, n sets, every chain of algs passing, oldest-pass as given. */
static void assert_pass(const struct mv_arc_validator *v, unsigned n, const char *const *algs,
                        size_t nalgs, unsigned oldest_pass)
{
	const char *reason;
	size_t k;

	if (mv_arc_validator_cv(v, &reason) != MV_ARC_PASS)
		print_error("i=%u: %s\n", n, reason);
	assert_int_equal(mv_arc_validator_cv(v, NULL), MV_ARC_PASS);
	assert_int_equal(mv_arc_validator_count(v), n);
	assert_int_equal(mv_arc_validator_nchains(v), nalgs);
	for (k = 0; k < nalgs; k++)
		assert_int_equal(chain_cv(v, algs[k]), MV_ARC_PASS);
	assert_int_equal(mv_arc_validator_chosen(v)->oldest_pass, oldest_pass);
}

/*
 * Three hops, as lists do: each validates what it received, then changes it
 * (the second tags the subject, the third adds a footer) and seals with the
 * result of its validation.
 */
static void three_hops(const struct mv_dkim_signkey *k1, const struct mv_dkim_signkey *k2,
                       const char *const *algs, size_t nalgs)
{
	/* oldest-pass seen on receipt at hop 2 and 3, and at the end */
	static const unsigned oldest[] = {0, 0, 2, 3};
	char *text = mv_strndup(ORIGINAL, strlen(ORIGINAL));
	struct mv_arc_validator *v = NULL;
	struct mv_msg *m = NULL;
	unsigned hop;
	size_t nsets;

	for (hop = 1; hop <= 3; hop++) {
		char *sealed;
		v = validate(text, &m);
		if (hop > 1)
			assert_pass(v, hop - 1, algs, nalgs, oldest[hop - 1]);
		if (hop == 2)
			text = edit(text, "Subject: hello", "Subject: [list] hello");
		if (hop == 3)
			text = edit(text, "Hi all.\r\n", "Hi all.\r\n-- \r\nlist footer\r\n");
		sealed = seal_v(text, v, &nsets, k1, k2);
		assert_int_equal(nsets, nalgs);
		free(text);
		text = sealed;
		mv_arc_validator_free(v);
		mv_msg_free(m);
	}
	v = validate(text, &m);
	assert_pass(v, 3, algs, nalgs, oldest[3]);
	mv_arc_validator_free(v);
	mv_msg_free(m);
	free(text);
}

static void rsa_only_chain_of_three_hops_passes(void **state)
{
	static const char *const algs[] = {"rsa-sha256"};
	(void)state;
	three_hops(rsa_key, NULL, algs, 1);
}

static void ed25519_only_chain_of_three_hops_passes(void **state)
{
	static const char *const algs[] = {"ed25519-sha256"};
	(void)state;
	three_hops(ed_key, NULL, algs, 1);
}

static void dual_chains_of_three_hops_pass(void **state)
{
	static const char *const algs[] = {"rsa-sha256", "ed25519-sha256"};
	(void)state;
	three_hops(rsa_key, ed_key, algs, 2);
}

/* A fake ARC set of an algorithm nobody implements. */
static char *add_unknown_set(char *text, unsigned i)
{
	struct mv_buf b = MV_BUF_INIT;

	mv_buf_printf(&b,
	              "ARC-Seal: a=ed448-sha512; b=AAAA; cv=%s; d=" DOMAIN "; i=%u; s=x; t=1\r\n"
	              "ARC-Message-Signature: a=ed448-sha512; b=AAAA; bh=AAAA; d=" DOMAIN
	              "; h=from; i=%u; s=x; t=1\r\n",
	              i == 1 ? "none" : "pass", i, i);
	mv_buf_puts(&b, text);
	free(text);
	return mv_buf_steal(&b, NULL);
}

/* §5.2: "If a validator cannot interpret the signing algorithm on any of the longest chains, validation fails" */
static void longest_chain_of_unsupported_algorithm_fails(void **state)
{
	char *text, *again;
	struct mv_msg *m = NULL;
	struct mv_arc_validator *v;
	const char *reason;
	size_t nsets;

	(void)state;
	text = seal(ORIGINAL, &nsets, rsa_key, NULL); /* rsa-sha256: i=1 */
	text = add_unknown_set(text, 1);
	text = edit(text, "ARC-Seal: a=ed448",
	            "ARC-Authentication-Results: i=2; " SERV_ID "; none\r\nARC-Seal: a=ed448");
	text = add_unknown_set(text, 2); /* ed448-sha512: i=1..2, the longest */
	v = validate(text, &m);
	assert_int_equal(mv_arc_validator_cv(v, &reason), MV_ARC_FAIL);
	assert_non_null(strstr(reason, "supported algorithm"));
	assert_int_equal(chain_cv(v, "rsa-sha256"), MV_ARC_FAIL); /* shorter: not used */
	/* §5.1: none of the longest chains has an algorithm we sign with: no new set. */
	again = seal(text, &nsets, rsa_key, ed_key);
	assert_int_equal(nsets, 0);
	free(again);
	mv_arc_validator_free(v);
	mv_msg_free(m);
	free(text);
}

/* Break one character of the b= of the first field that starts with `field`. */
static char *break_b(char *text, const char *field)
{
	char *p = strstr(text, field), *b;

	assert_non_null(p);
	b = strstr(p, "b=");
	assert_non_null(b);
	b[4] = b[4] == 'A' ? 'B' : 'A';
	return text;
}

static void dual_chain_with_broken_ed25519_chain_passes_by_rsa(void **state)
{
	struct mv_msg *m = NULL;
	struct mv_arc_validator *v;
	size_t nsets;
	char *text, *next;

	(void)state;
	text = seal(ORIGINAL, &nsets, rsa_key, ed_key);
	next = seal(text, &nsets, rsa_key, ed_key);
	free(text);
	text = break_b(next, "ARC-Seal: a=ed25519-sha256"); /* the i=2 ed25519 seal */
	v = validate(text, &m);
	assert_int_equal(chain_cv(v, "rsa-sha256"), MV_ARC_PASS);
	assert_int_equal(chain_cv(v, "ed25519-sha256"), MV_ARC_FAIL);
	assert_int_equal(mv_arc_validator_cv(v, NULL), MV_ARC_PASS); /* any longest chain */
	assert_string_equal(mv_arc_validator_chosen(v)->alg, "rsa-sha256");
	mv_arc_validator_free(v);
	mv_msg_free(m);
	/* §5.2: "The result used when extending an ARC chain MUST be the result from validating that chain" */
	next = seal(text, &nsets, rsa_key, ed_key);
	assert_int_equal(nsets, 2);
	assert_non_null(strstr(next, "ARC-Seal: a=rsa-sha256; b="));
	assert_non_null(
	        strstr(strstr(next, "ARC-Seal: a=rsa-sha256"), "cv=pass; d=" DOMAIN "; i=3"));
	assert_non_null(
	        strstr(strstr(next, "ARC-Seal: a=ed25519-sha256"), "cv=fail; d=" DOMAIN "; i=3"));
	free(text);
	v = validate(next, &m);
	assert_int_equal(mv_arc_validator_cv(v, NULL), MV_ARC_PASS);
	assert_int_equal(chain_cv(v, "ed25519-sha256"), MV_ARC_FAIL);
	mv_arc_validator_free(v);
	mv_msg_free(m);
	/* And a chain that ended with cv=fail is not extended again (RFC 8617 §5.1). */
	text = seal(next, &nsets, ed_key, NULL);
	assert_int_equal(nsets, 0);
	free(text);
	free(next);
}

/* Both chains broken: fail, and the next hop seals both with cv=fail over its own set only. */
static void dual_chain_both_broken_is_sealed_as_fail(void **state)
{
	struct mv_msg *m = NULL;
	struct mv_arc_validator *v;
	size_t nsets;
	char *text, *next;

	(void)state;
	text = seal(ORIGINAL, &nsets, rsa_key, ed_key);
	text = edit(text, "Hi all.", "Hi all!"); /* a body change after sealing */
	v = validate(text, &m);
	assert_int_equal(mv_arc_validator_cv(v, NULL), MV_ARC_FAIL);
	mv_arc_validator_free(v);
	mv_msg_free(m);
	next = seal(text, &nsets, rsa_key, ed_key);
	assert_int_equal(nsets, 2);
	v = validate(next, &m);
	assert_int_equal(mv_arc_validator_cv(v, NULL), MV_ARC_FAIL);
	assert_int_equal(mv_arc_validator_chosen(v)->ended, 1);
	mv_arc_validator_free(v);
	mv_msg_free(m);
	free(text);
	free(next);
}

/* RFC 8617 §4.2.1: i= stops at 50; a sealer never writes i=51. */
static void no_seal_above_instance_fifty(void **state)
{
	struct mv_buf b = MV_BUF_INIT;
	struct mv_msg *m = NULL;
	struct mv_arc_validator *v;
	size_t nsets;
	char *text;

	(void)state;
	mv_buf_puts(&b, "ARC-Authentication-Results: i=50; " SERV_ID "; none\r\n");
	mv_buf_puts(&b, ORIGINAL);
	text = mv_buf_steal(&b, NULL);
	free(seal(text, &nsets, rsa_key, NULL));
	assert_int_equal(nsets, 0);
	v = validate(text, &m);
	assert_int_equal(mv_arc_validator_cv(v, NULL), MV_ARC_FAIL);
	mv_arc_validator_free(v);
	mv_msg_free(m);
	free(text);
}

static void message_without_arc_is_none(void **state)
{
	struct mv_msg *m = NULL;
	struct mv_arc_validator *v;
	struct mv_result *r = NULL;

	(void)state;
	v = validate(ORIGINAL, &m);
	assert_int_equal(mv_arc_validator_cv(v, NULL), MV_ARC_NONE);
	assert_int_equal(mv_arc_result_authres(v, "192.0.2.1", &r), MV_OK);
	assert_string_equal(r->result, "none");
	assert_string_equal(mv_result_prop_value(r, "smtp", "remote-ip"), "192.0.2.1");
	mv_result_free(r);
	mv_arc_validator_free(v);
	mv_msg_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(rsa_only_chain_of_three_hops_passes),
	        cmocka_unit_test(ed25519_only_chain_of_three_hops_passes),
	        cmocka_unit_test(dual_chains_of_three_hops_pass),
	        cmocka_unit_test(longest_chain_of_unsupported_algorithm_fails),
	        cmocka_unit_test(dual_chain_with_broken_ed25519_chain_passes_by_rsa),
	        cmocka_unit_test(dual_chain_both_broken_is_sealed_as_fail),
	        cmocka_unit_test(no_seal_above_instance_fifty),
	        cmocka_unit_test(message_without_arc_is_none),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
