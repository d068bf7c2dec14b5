/* tests/spf/test_questions.c — the SPF record question a check publishes for the prefetch. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <mailvet/spf.h>

/* The questions for (ip, helo, mail_from, identity): the one TXT name, or none (want NULL). */
static void assert_question(const char *ip, const char *helo, const char *mail_from,
                            enum mv_spf_identity id, const char *want)
{
	struct mv_dns_questions l = MV_DNS_QUESTIONS_INIT;
	struct mv_spf_request req;

	memset(&req, 0, sizeof req);
	req.ip = ip;
	req.helo = helo;
	req.mail_from = mail_from;
	req.identity = id;
	assert_int_equal(mv_spf_questions(&req, &l), MV_OK);
	if (want == NULL) {
		assert_int_equal(l.n, 0);
	} else {
		assert_int_equal(l.n, 1);
		assert_string_equal(l.q[0].name, want);
		assert_int_equal(l.q[0].type, MV_DNS_TXT);
	}
	mv_dns_questions_free(&l);
}

/* RFC 7208 §2.4: the MAIL FROM identity asks the record of its domain. */
static void mail_from_asks_its_domain(void **state)
{
	(void)state;
	assert_question("192.0.2.1", "mx.example.net", "Bounce@Mail.Example.COM",
	                MV_SPF_ID_MAILFROM, "mail.example.com");
}

/* §2.4: the null reverse-path is checked as postmaster@<helo>. */
static void null_sender_asks_the_helo_domain(void **state)
{
	(void)state;
	assert_question("192.0.2.1", "mx.example.net", "", MV_SPF_ID_MAILFROM, "mx.example.net");
}

/* §2.3: the HELO identity asks the HELO name. */
static void helo_identity_asks_the_helo_name(void **state)
{
	(void)state;
	assert_question("2001:db8::1", "mx.example.net", "a@example.com", MV_SPF_ID_HELO,
	                "mx.example.net");
}

/* §4.3: a domain SPF cannot check (one label, an address literal) is not asked. */
static void uncheckable_domains_ask_nothing(void **state)
{
	(void)state;
	assert_question("192.0.2.1", "localhost", "", MV_SPF_ID_MAILFROM, NULL);
	assert_question("192.0.2.1", "[192.0.2.1]", "", MV_SPF_ID_HELO, NULL);
	assert_question("192.0.2.1", NULL, "", MV_SPF_ID_MAILFROM, NULL);
}

/* mv_spf_check() refuses a request without an IP address, so nothing is asked. */
static void no_client_address_asks_nothing(void **state)
{
	(void)state;
	assert_question("not-an-ip", "mx.example.net", "a@example.com", MV_SPF_ID_MAILFROM, NULL);
	assert_question(NULL, "mx.example.net", "a@example.com", MV_SPF_ID_MAILFROM, NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(mail_from_asks_its_domain),
	        cmocka_unit_test(null_sender_asks_the_helo_domain),
	        cmocka_unit_test(helo_identity_asks_the_helo_name),
	        cmocka_unit_test(uncheckable_domains_ask_nothing),
	        cmocka_unit_test(no_client_address_asks_nothing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
