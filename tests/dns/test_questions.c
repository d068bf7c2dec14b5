/* tests/dns/test_questions.c — the question list the checks publish for one prefetch batch. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <mailvet/dns.h>

/* Names are kept in normal form: lowercase, no trailing dot. */
static void names_are_kept_lowercase_without_the_trailing_dot(void **state)
{
	struct mv_dns_questions l = MV_DNS_QUESTIONS_INIT;

	(void)state;
	assert_int_equal(mv_dns_questions_add(&l, "Sel._DomainKey.Example.COM.", MV_DNS_TXT),
	                 MV_OK);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.q[0].name, "sel._domainkey.example.com");
	assert_int_equal(l.q[0].type, MV_DNS_TXT);
	assert_true(mv_dns_questions_has(&l, "SEL._domainkey.example.com", MV_DNS_TXT));
	assert_false(mv_dns_questions_has(&l, "sel._domainkey.example.com", MV_DNS_A));
	mv_dns_questions_free(&l);
	assert_int_equal(l.n, 0);
	assert_null(l.q);
}

/* The same question twice is asked once; the same name of another type is another question. */
static void a_repeated_question_is_kept_once(void **state)
{
	struct mv_dns_questions l = MV_DNS_QUESTIONS_INIT;

	(void)state;
	assert_int_equal(mv_dns_questions_add(&l, "example.com", MV_DNS_TXT), MV_OK);
	assert_int_equal(mv_dns_questions_add(&l, "EXAMPLE.com.", MV_DNS_TXT), MV_OK);
	assert_int_equal(mv_dns_questions_add(&l, "example.com", MV_DNS_MX), MV_OK);
	assert_int_equal(l.n, 2);
	assert_int_equal(l.q[1].type, MV_DNS_MX);
	mv_dns_questions_free(&l);
}

/* What mv_dns_query() would refuse to ask is refused here too, and the list is unchanged. */
static void names_dns_cannot_ask_are_refused(void **state)
{
	struct mv_dns_questions l = MV_DNS_QUESTIONS_INIT;
	char label[70];

	(void)state;
	memset(label, 'a', 64);
	snprintf(label + 64, sizeof label - 64, ".com");
	assert_int_equal(mv_dns_questions_add(&l, "", MV_DNS_TXT), MV_EINVAL);
	assert_int_equal(mv_dns_questions_add(&l, ".", MV_DNS_TXT), MV_EINVAL);
	assert_int_equal(mv_dns_questions_add(&l, "a..example", MV_DNS_TXT), MV_EINVAL);
	assert_int_equal(mv_dns_questions_add(&l, label, MV_DNS_TXT), MV_EINVAL);
	assert_int_equal(mv_dns_questions_add(&l, NULL, MV_DNS_TXT), MV_EINVAL);
	assert_int_equal(mv_dns_questions_add(&l, "example.com", (enum mv_dns_type)99), MV_EINVAL);
	assert_int_equal(l.n, 0);
	mv_dns_questions_free(&l);
}

/* A list is bounded: past MV_DNS_QUESTIONS_MAX a new question is MV_ETOOBIG, a repeat still MV_OK. */
static void a_full_list_refuses_new_questions(void **state)
{
	struct mv_dns_questions l = MV_DNS_QUESTIONS_INIT;
	char name[32];
	size_t k;

	(void)state;
	for (k = 0; k < MV_DNS_QUESTIONS_MAX; k++) {
		snprintf(name, sizeof name, "n%zu.example", k);
		assert_int_equal(mv_dns_questions_add(&l, name, MV_DNS_TXT), MV_OK);
	}
	assert_int_equal(mv_dns_questions_add(&l, "one-more.example", MV_DNS_TXT), MV_ETOOBIG);
	assert_int_equal(mv_dns_questions_add(&l, "n0.example", MV_DNS_TXT), MV_OK);
	assert_int_equal(l.n, MV_DNS_QUESTIONS_MAX);
	assert_string_equal(l.q[MV_DNS_QUESTIONS_MAX - 1].name, "n63.example");
	mv_dns_questions_free(&l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(names_are_kept_lowercase_without_the_trailing_dot),
	        cmocka_unit_test(a_repeated_question_is_kept_once),
	        cmocka_unit_test(names_dns_cannot_ask_are_refused),
	        cmocka_unit_test(a_full_list_refuses_new_questions),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
