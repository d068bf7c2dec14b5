/* tests/arc/test_questions.c — the key records an ARC validator publishes for the prefetch. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../dns/questions_check.h"

#include <mailvet/arc.h>

#include "arc_testkit.h"

#define RSA_KEY "rsa._domainkey." DOMAIN
#define ED_KEY "ed._domainkey." DOMAIN

/* The questions a validator without a resolver publishes for text are exactly want[]. */
static void assert_questions(const char *text, const char *const *want)
{
	struct mv_dns_questions l = MV_DNS_QUESTIONS_INIT;
	struct mv_arc_validator *v = NULL;
	struct mv_msg *m = NULL;

	assert_int_equal(mv_msg_parse(text, strlen(text), NULL, &m, NULL, 0), MV_OK);
	assert_int_equal(mv_arc_validator_new(NULL, NULL, NOW, &v), MV_OK);
	assert_int_equal(mv_arc_questions(v, &l), MV_OK);
	assert_int_equal(l.n, 0); /* nothing before the header */
	assert_int_equal(mv_arc_validator_headers(v, m), MV_OK);
	assert_int_equal(mv_arc_questions(v, &l), MV_OK);
	assert_questions_are(&l, want, MV_DNS_TXT);
	mv_dns_questions_free(&l);
	mv_arc_validator_free(v);
	mv_msg_free(m);
}

/* Three hops sealed with one key: the AMS and AS of every set ask the same record, once. */
static void one_key_over_three_hops_is_one_question(void **state)
{
	static const char *const want[] = {RSA_KEY, NULL};
	char *text = mv_strndup(kit_original, strlen(kit_original));
	size_t nsets, hop;

	(void)state;
	for (hop = 0; hop < 3; hop++) {
		char *sealed = kit_seal(text, NULL, &nsets, kit_rsa_key, NULL);
		free(text);
		text = sealed;
	}
	assert_questions(text, want);
	free(text);
}

/* draft-ietf-dmarc-arc-multi-02: a dual chain asks the key of each algorithm's chain. */
static void dual_chain_asks_both_keys(void **state)
{
	static const char *const want[] = {RSA_KEY, ED_KEY, NULL};
	size_t nsets;
	char *text = kit_seal(kit_original, NULL, &nsets, kit_rsa_key, kit_ed_key);

	(void)state;
	assert_questions(text, want);
	free(text);
}

/* A chain the validator will not verify (an algorithm nobody implements) asks nothing. */
static void unsupported_chain_asks_nothing(void **state)
{
	static const char *const none[] = {NULL};
	char *text = kit_add_unknown_set(mv_strndup(kit_original, strlen(kit_original)), 1, 1);

	(void)state;
	assert_questions(text, none);
	free(text);
}

/* An unsealed message asks nothing. */
static void unsealed_message_asks_nothing(void **state)
{
	static const char *const none[] = {NULL};

	(void)state;
	assert_questions(kit_original, none);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(one_key_over_three_hops_is_one_question),
	        cmocka_unit_test(dual_chain_asks_both_keys),
	        cmocka_unit_test(unsupported_chain_asks_nothing),
	        cmocka_unit_test(unsealed_message_asks_nothing),
	};
	return cmocka_run_group_tests(tests, kit_setup, kit_teardown);
}
