/* tests/iprev/test_questions.c — the PTR question iprev publishes for the prefetch. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <mailvet/iprev.h>

/* The one question for ip, or none (want NULL). */
static void assert_question(const char *ip, const char *want)
{
	struct mv_dns_questions l = MV_DNS_QUESTIONS_INIT;

	assert_int_equal(mv_iprev_questions(ip, &l), MV_OK);
	if (want == NULL) {
		assert_int_equal(l.n, 0);
	} else {
		assert_int_equal(l.n, 1);
		assert_string_equal(l.q[0].name, want);
		assert_int_equal(l.q[0].type, MV_DNS_PTR);
	}
	mv_dns_questions_free(&l);
}

/* RFC 1035 §3.5: the octets reversed under in-addr.arpa. */
static void ipv4_asks_its_in_addr_arpa_name(void **state)
{
	(void)state;
	assert_question("203.0.113.5", "5.113.0.203.in-addr.arpa");
}

/* RFC 3596 §2.5: nibbles reversed under ip6.arpa. */
static void ipv6_asks_its_nibbles_under_ip6_arpa(void **state)
{
	(void)state;
	assert_question("2001:db8::1",
	                "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2."
	                "ip6.arpa");
}

/* The check takes an IPv4-mapped address as IPv4, and so does its question. */
static void mapped_ipv6_asks_as_ipv4(void **state)
{
	(void)state;
	assert_question("::ffff:192.0.2.1", "1.2.0.192.in-addr.arpa");
}

/* What the check refuses asks nothing. */
static void no_address_asks_nothing(void **state)
{
	(void)state;
	assert_question("not-an-ip", NULL);
	assert_question(NULL, NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(ipv4_asks_its_in_addr_arpa_name),
	        cmocka_unit_test(ipv6_asks_its_nibbles_under_ip6_arpa),
	        cmocka_unit_test(mapped_ipv6_asks_as_ipv4),
	        cmocka_unit_test(no_address_asks_nothing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
