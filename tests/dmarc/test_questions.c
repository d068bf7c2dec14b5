/* tests/dmarc/test_questions.c — the names DMARC policy discovery publishes for the prefetch. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "../dns/questions_check.h"

#include <mailvet/dmarc.h>

/* The questions for author under c are exactly want[] (NULL-terminated), TXT each, in order. */
static void assert_questions(const struct mv_dmarc_config *c, const char *author,
                             const char *const *want)
{
	struct mv_dns_questions l = MV_DNS_QUESTIONS_INIT;

	assert_int_equal(mv_dmarc_questions(c, author, &l), MV_OK);
	assert_questions_are(&l, want, MV_DNS_TXT);
	mv_dns_questions_free(&l);
}

/* RFC 9989 §4.10: the Author Domain, then one label less each time, up to the TLD. */
static void walk_asks_each_shorter_name(void **state)
{
	static const char *const want[] = {"_dmarc.a.b.c.example", "_dmarc.b.c.example",
	                                   "_dmarc.c.example", "_dmarc.example", NULL};
	struct mv_dmarc_config c;

	(void)state;
	mv_dmarc_config_default(&c);
	assert_questions(&c, "a.b.c.example", want);
}

/* §4.10 step 5: past 7 labels the walk jumps to the last 7; 8 queries at most. */
static void long_names_jump_to_seven_labels(void **state)
{
	static const char *const want[] = {"_dmarc.a.b.c.d.e.f.g.h.i.example",
	                                   "_dmarc.d.e.f.g.h.i.example",
	                                   "_dmarc.e.f.g.h.i.example",
	                                   "_dmarc.f.g.h.i.example",
	                                   "_dmarc.g.h.i.example",
	                                   "_dmarc.h.i.example",
	                                   "_dmarc.i.example",
	                                   "_dmarc.example",
	                                   NULL};
	struct mv_dmarc_config c;

	(void)state;
	mv_dmarc_config_default(&c);
	assert_questions(&c, "a.b.c.d.e.f.g.h.i.example", want);
}

/* The check folds the Author Domain's case; so do its questions. */
static void author_domain_case_is_folded(void **state)
{
	static const char *const want[] = {"_dmarc.mail.example.com", "_dmarc.example.com",
	                                   "_dmarc.com", NULL};
	struct mv_dmarc_config c;

	(void)state;
	mv_dmarc_config_default(&c);
	assert_questions(&c, "Mail.EXAMPLE.com", want);
}

/* A name whose _dmarc. form passes 253 octets is not asked; the walk asks the shorter ones. */
static void names_too_long_for_dmarc_are_skipped(void **state)
{
	char x[61], author[256], q1[256], q2[256], q3[256];
	const char *want[] = {q1, q2, q3, "_dmarc.example", NULL};
	struct mv_dmarc_config c;

	(void)state;
	mv_dmarc_config_default(&c);
	memset(x, 'x', 60);
	x[60] = '\0';
	/* 4 * 61 + 7 = 251 octets: a DNS name, but _dmarc.<it> would be 258 */
	snprintf(author, sizeof author, "%s.%s.%s.%s.example", x, x, x, x);
	snprintf(q1, sizeof q1, "_dmarc.%s.%s.%s.example", x, x, x);
	snprintf(q2, sizeof q2, "_dmarc.%s.%s.example", x, x);
	snprintf(q3, sizeof q3, "_dmarc.%s.example", x);
	assert_questions(&c, author, want);
}

/* No Author Domain (permerror) and a 7489 config without a PSL (refused) ask nothing. */
static void nothing_to_discover_asks_nothing(void **state)
{
	static const char *const none[] = {NULL};
	struct mv_dmarc_config c;

	(void)state;
	mv_dmarc_config_default(&c);
	assert_questions(&c, NULL, none);
	assert_questions(&c, "", none);
	assert_questions(&c, "example.com.", none); /* a trailing dot: no walk */
	c.mode = MV_DMARC_MODE_7489;
	assert_questions(&c, "example.com", none);
}

/* RFC 7489 §6.6.3: the Author Domain, then its Organizational Domain from the PSL. */
static void rfc7489_asks_author_then_psl_org(void **state)
{
	static const char *const want[] = {"_dmarc.mail.example.co.uk", "_dmarc.example.co.uk",
	                                   NULL};
	static const char *const own[] = {"_dmarc.example.co.uk", NULL};
	struct mv_dmarc_psl *psl = NULL;
	struct mv_dmarc_config c;

	(void)state;
	if (mv_dmarc_psl_open(NULL, &psl) != MV_OK)
		fail_msg("no public suffix list (publicsuffix, libpsl5: scripts/install-deps)");
	mv_dmarc_config_default(&c);
	c.mode = MV_DMARC_MODE_7489;
	c.psl = psl;
	assert_questions(&c, "mail.example.co.uk", want);
	assert_questions(&c, "example.co.uk", own); /* its own Organizational Domain: once */
	mv_dmarc_psl_free(psl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(walk_asks_each_shorter_name),
	        cmocka_unit_test(long_names_jump_to_seven_labels),
	        cmocka_unit_test(author_domain_case_is_folded),
	        cmocka_unit_test(names_too_long_for_dmarc_are_skipped),
	        cmocka_unit_test(nothing_to_discover_asks_nothing),
	        cmocka_unit_test(rfc7489_asks_author_then_psl_org),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
