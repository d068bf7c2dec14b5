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

#include "arc_testkit.h"

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
		assert_int_equal(kit_chain_cv(v, algs[k]), MV_ARC_PASS);
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
	char *text = mv_strndup(kit_original, strlen(kit_original));
	struct mv_arc_validator *v = NULL;
	struct mv_msg *m = NULL;
	unsigned hop;
	size_t nsets;

	for (hop = 1; hop <= 3; hop++) {
		char *sealed;
		v = kit_validate(text, &m);
		if (hop > 1)
			assert_pass(v, hop - 1, algs, nalgs, oldest[hop - 1]);
		if (hop == 2)
			text = kit_edit(text, "Subject: hello", "Subject: [list] hello");
		if (hop == 3)
			text = kit_edit(text, "Hi all.\r\n", "Hi all.\r\n-- \r\nlist footer\r\n");
		sealed = kit_seal(text, v, &nsets, k1, k2);
		assert_int_equal(nsets, nalgs);
		free(text);
		text = sealed;
		mv_arc_validator_free(v);
		mv_msg_free(m);
	}
	v = kit_validate(text, &m);
	assert_pass(v, 3, algs, nalgs, oldest[3]);
	mv_arc_validator_free(v);
	mv_msg_free(m);
	free(text);
}

static void rsa_only_chain_of_three_hops_passes(void **state)
{
	static const char *const algs[] = {"rsa-sha256"};
	(void)state;
	three_hops(kit_rsa_key, NULL, algs, 1);
}

static void ed25519_only_chain_of_three_hops_passes(void **state)
{
	static const char *const algs[] = {"ed25519-sha256"};
	(void)state;
	three_hops(kit_ed_key, NULL, algs, 1);
}

static void dual_chains_of_three_hops_pass(void **state)
{
	static const char *const algs[] = {"rsa-sha256", "ed25519-sha256"};
	(void)state;
	three_hops(kit_rsa_key, kit_ed_key, algs, 2);
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
	text = kit_seal(kit_original, NULL, &nsets, kit_rsa_key, NULL); /* rsa-sha256: i=1 */
	text = kit_add_unknown_set(text, 1, 0);
	text = kit_add_unknown_set(text, 2, 1); /* ed448-sha512: i=1..2, the longest */
	v = kit_validate(text, &m);
	assert_int_equal(mv_arc_validator_cv(v, &reason), MV_ARC_FAIL);
	assert_non_null(strstr(reason, "supported algorithm"));
	assert_int_equal(kit_chain_cv(v, "rsa-sha256"), MV_ARC_FAIL); /* shorter: not used */
	/* §5.1: none of the longest chains has an algorithm we sign with: no new set. */
	again = kit_seal(text, NULL, &nsets, kit_rsa_key, kit_ed_key);
	assert_int_equal(nsets, 0);
	free(again);
	mv_arc_validator_free(v);
	mv_msg_free(m);
	free(text);
}

static void dual_chain_with_broken_ed25519_chain_passes_by_rsa(void **state)
{
	struct mv_msg *m = NULL;
	struct mv_arc_validator *v;
	size_t nsets;
	char *text, *next;

	(void)state;
	text = kit_seal(kit_original, NULL, &nsets, kit_rsa_key, kit_ed_key);
	next = kit_seal(text, NULL, &nsets, kit_rsa_key, kit_ed_key);
	free(text);
	text = kit_break_b(next, "ARC-Seal: a=ed25519-sha256"); /* the i=2 ed25519 seal */
	v = kit_validate(text, &m);
	assert_int_equal(kit_chain_cv(v, "rsa-sha256"), MV_ARC_PASS);
	assert_int_equal(kit_chain_cv(v, "ed25519-sha256"), MV_ARC_FAIL);
	assert_int_equal(mv_arc_validator_cv(v, NULL), MV_ARC_PASS); /* any longest chain */
	assert_string_equal(mv_arc_validator_chosen(v)->alg, "rsa-sha256");
	mv_arc_validator_free(v);
	mv_msg_free(m);
	/* §5.2: "The result used when extending an ARC chain MUST be the result from validating that chain" */
	next = kit_seal(text, NULL, &nsets, kit_rsa_key, kit_ed_key);
	assert_int_equal(nsets, 2);
	assert_non_null(strstr(next, "ARC-Seal: a=rsa-sha256; b="));
	assert_non_null(
	        strstr(strstr(next, "ARC-Seal: a=rsa-sha256"), "cv=pass; d=" DOMAIN "; i=3"));
	assert_non_null(
	        strstr(strstr(next, "ARC-Seal: a=ed25519-sha256"), "cv=fail; d=" DOMAIN "; i=3"));
	free(text);
	v = kit_validate(next, &m);
	assert_int_equal(mv_arc_validator_cv(v, NULL), MV_ARC_PASS);
	assert_int_equal(kit_chain_cv(v, "ed25519-sha256"), MV_ARC_FAIL);
	mv_arc_validator_free(v);
	mv_msg_free(m);
	/* And a chain that ended with cv=fail is not extended again (RFC 8617 §5.1). */
	text = kit_seal(next, NULL, &nsets, kit_ed_key, NULL);
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
	text = kit_seal(kit_original, NULL, &nsets, kit_rsa_key, kit_ed_key);
	text = kit_edit(text, "Hi all.", "Hi all!"); /* a body change after sealing */
	v = kit_validate(text, &m);
	assert_int_equal(mv_arc_validator_cv(v, NULL), MV_ARC_FAIL);
	mv_arc_validator_free(v);
	mv_msg_free(m);
	next = kit_seal(text, NULL, &nsets, kit_rsa_key, kit_ed_key);
	assert_int_equal(nsets, 2);
	v = kit_validate(next, &m);
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
	mv_buf_puts(&b, kit_original);
	text = mv_buf_steal(&b, NULL);
	free(kit_seal(text, NULL, &nsets, kit_rsa_key, NULL));
	assert_int_equal(nsets, 0);
	v = kit_validate(text, &m);
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
	v = kit_validate(kit_original, &m);
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
	return cmocka_run_group_tests(tests, kit_setup, kit_teardown);
}
