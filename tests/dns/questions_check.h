/*
 * tests/dns/questions_check.h — for the tests of each check's *_questions():
 * a question list is exactly the names want[] (NULL-terminated), in order,
 * each of one type. Include after <cmocka.h>.
 */
#ifndef MAILVET_TESTS_QUESTIONS_CHECK_H
#define MAILVET_TESTS_QUESTIONS_CHECK_H

#include <mailvet/dns.h>

static inline void assert_questions_are(const struct mv_dns_questions *l, const char *const *want,
                                        enum mv_dns_type type)
{
	size_t k;

	for (k = 0; want[k] != NULL; k++) {
		assert_true(k < l->n);
		assert_string_equal(l->q[k].name, want[k]);
		assert_int_equal(l->q[k].type, type);
	}
	assert_int_equal(l->n, k);
}

#endif
