/* tests/dkim/test_questions.c — the key records a verifier publishes for the prefetch. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../dns/questions_check.h"

#include <mailvet/dkim.h>

#define NOW 1700000000
#define SIG(tags)                                                                                  \
	"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; h=from:subject; " tags              \
	"; bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; b=dGVzdA==\r\n"
#define REST "From: a@example.com\r\nSubject: hi\r\n\r\nhello\r\n"

/* The verifier's questions for text (max signatures evaluated: max) are exactly want[]. */
static void assert_questions(const char *text, size_t max, const char *const *want)
{
	struct mv_dns_questions l = MV_DNS_QUESTIONS_INIT;
	struct mv_dkim_verify_opts o;
	struct mv_dkim_verifier *v = NULL;
	struct mv_msg *m = NULL;

	mv_dkim_verify_opts_default(&o);
	o.max_signatures = max;
	o.no_prefetch = 1; /* no resolver is needed to take the header */
	assert_int_equal(mv_msg_parse(text, strlen(text), NULL, &m, NULL, 0), MV_OK);
	assert_int_equal(mv_dkim_verifier_new(&o, NULL, NOW, &v), MV_OK);
	assert_int_equal(mv_dkim_questions(v, &l), MV_OK);
	assert_int_equal(l.n, 0); /* nothing before the header */
	assert_int_equal(mv_dkim_verifier_headers(v, m), MV_OK);
	assert_int_equal(mv_dkim_questions(v, &l), MV_OK);
	assert_questions_are(&l, want, MV_DNS_TXT);
	mv_dns_questions_free(&l);
	mv_dkim_verifier_free(v);
	mv_msg_free(m);
}

/* RFC 6376 §3.6.2.1: each signature's key is at s._domainkey.d, in header order. */
static void each_signature_asks_its_key(void **state)
{
	static const char *const want[] = {"sel1._domainkey.example.com",
	                                   "sel2._domainkey.lists.example.org", NULL};

	(void)state;
	assert_questions(SIG("d=Example.COM; s=sel1") SIG("d=lists.example.org; s=sel2") REST, 5,
	                 want);
}

/* Two signatures with one key: one question. */
static void a_shared_key_is_asked_once(void **state)
{
	static const char *const want[] = {"sel1._domainkey.example.com", NULL};

	(void)state;
	assert_questions(SIG("d=example.com; s=sel1") SIG("d=example.com; s=sel1; i=@example.com")
	                         REST,
	                 5, want);
}

/* Signatures decided from the header alone (expired, unparsable, past the limit) ask nothing. */
static void signatures_decided_without_a_key_ask_nothing(void **state)
{
	static const char *const want[] = {"live._domainkey.example.com", NULL};

	(void)state;
	assert_questions(
	        SIG("d=example.com; s=old; x=1000") "DKIM-Signature: v=1; d=broken\r\n" SIG(
	                "d=example.com; s=live") SIG("d=example.com; s=late") REST,
	        3, want);
}

/* An unsigned message asks nothing. */
static void unsigned_message_asks_nothing(void **state)
{
	static const char *const none[] = {NULL};

	(void)state;
	assert_questions(REST, 5, none);
}

/* The question mv_dkim_key_fetch() asks, for a caller with (s, d) in hand (ARC). */
static void key_question_is_the_fetch_name(void **state)
{
	struct mv_dns_questions l = MV_DNS_QUESTIONS_INIT;

	(void)state;
	assert_int_equal(mv_dkim_key_questions("Sel", "Example.org", &l), MV_OK);
	assert_int_equal(mv_dkim_key_questions("bad..sel", "example.org", &l),
	                 MV_OK); /* not asked */
	assert_int_equal(l.n, 1);
	assert_string_equal(l.q[0].name, "sel._domainkey.example.org");
	mv_dns_questions_free(&l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(each_signature_asks_its_key),
	        cmocka_unit_test(a_shared_key_is_asked_once),
	        cmocka_unit_test(signatures_decided_without_a_key_ask_nothing),
	        cmocka_unit_test(unsigned_message_asks_nothing),
	        cmocka_unit_test(key_question_is_the_fetch_name),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
