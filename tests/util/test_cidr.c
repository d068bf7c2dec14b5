/* tests/util/test_cidr.c — addresses, prefixes and network lists (internal hosts, SPF ip4/ip6). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <mailvet/util.h>

/* RFC 7208 §5.6 qnum: no leading zeros, at most 255, exactly four octets. */
static void ip4_is_a_strict_dotted_quad(void **state)
{
	static const char *const bad[] = {"01.2.3.4", "1.2.3", "1.2.3.4.5", "256.1.1.1",
	                                  "1..2.3",   "",      "1.2.3.4 ",  "1.2.3.1234"};
	uint8_t a[4];
	size_t k;

	(void)state;
	assert_true(mv_cidr_ip4_parse("192.0.2.10", 10, a));
	assert_memory_equal(a, "\xc0\x00\x02\x0a", 4);
	assert_true(mv_cidr_ip4_parse("0.0.0.0", 7, a));
	for (k = 0; k < sizeof bad / sizeof bad[0]; k++)
		assert_false(mv_cidr_ip4_parse(bad[k], strlen(bad[k]), a));
}

static void mapped_ipv6_parses_as_ipv4(void **state)
{
	struct mv_ip ip;

	(void)state;
	assert_int_equal(mv_cidr_ip_parse("::ffff:192.0.2.1", &ip), MV_OK);
	assert_int_equal(ip.v6, 0);
	assert_memory_equal(ip.a, "\xc0\x00\x02\x01", 4);
	assert_int_equal(mv_cidr_ip_parse("2001:db8::1", &ip), MV_OK);
	assert_int_equal(ip.v6, 1);
	assert_int_equal(mv_cidr_ip_parse("example.com", &ip), MV_EINVAL);
	assert_int_equal(mv_cidr_ip_parse(NULL, &ip), MV_EINVAL);
}

static void prefix_compares_only_its_bits(void **state)
{
	static const uint8_t a[4] = {10, 1, 2, 3}, b[4] = {10, 1, 3, 3};

	(void)state;
	assert_true(mv_cidr_prefix_eq(a, b, 0));
	assert_true(mv_cidr_prefix_eq(a, b, 16));
	assert_true(mv_cidr_prefix_eq(a, b, 23)); /* 2 and 3 differ in the last bit only */
	assert_false(mv_cidr_prefix_eq(a, b, 24));
}

static void list_matches_its_networks(void **state)
{
	struct mv_cidr_list l = {NULL, 0};

	(void)state;
	assert_int_equal(mv_cidr_list_add(&l, "10.0.0.0/8,  192.168.1.0/24\t2001:db8::/32"), MV_OK);
	assert_int_equal(mv_cidr_list_add(&l, "203.0.113.7"), MV_OK);
	assert_int_equal(l.count, 4);
	assert_true(mv_cidr_list_match(&l, "10.200.3.4"));
	assert_true(mv_cidr_list_match(&l, "::ffff:10.200.3.4")); /* as the IPv4 address */
	assert_true(mv_cidr_list_match(&l, "2001:db8:ffff::1"));
	assert_true(mv_cidr_list_match(&l, "203.0.113.7"));
	assert_false(mv_cidr_list_match(&l, "203.0.113.8"));
	assert_false(mv_cidr_list_match(&l, "192.168.2.1"));
	assert_false(mv_cidr_list_match(&l, "not an address"));
	assert_false(mv_cidr_list_match(&l, NULL));
	mv_cidr_list_free(&l);
	assert_int_equal(l.count, 0);
}

static void mapped_address_meets_ipv6_networks_as_written(void **state)
{
	struct mv_cidr_list l = {NULL, 0};

	(void)state;
	assert_int_equal(mv_cidr_list_add(&l, "::ffff:0:0/96"), MV_OK);
	assert_true(mv_cidr_list_match(&l, "::ffff:198.51.100.1"));
	assert_false(mv_cidr_list_match(&l, "198.51.100.1"));
	mv_cidr_list_free(&l);
}

static void bad_entries_are_refused_and_earlier_ones_kept(void **state)
{
	static const char *const bad[] = {"1.2.3.4/33", "1.2.3.4/", "::1/129", "host.example",
	                                  "1.2.3.4/x"};
	struct mv_cidr_list l = {NULL, 0};
	size_t k;

	(void)state;
	for (k = 0; k < sizeof bad / sizeof bad[0]; k++)
		assert_int_equal(mv_cidr_list_add(&l, bad[k]), MV_ESYNTAX);
	assert_int_equal(l.count, 0);
	assert_int_equal(mv_cidr_list_add(&l, "127.0.0.0/8 ::1 999.1.1.1 10.0.0.0/8"), MV_ESYNTAX);
	assert_int_equal(l.count, 2);
	mv_cidr_list_free(&l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(ip4_is_a_strict_dotted_quad),
	        cmocka_unit_test(mapped_ipv6_parses_as_ipv4),
	        cmocka_unit_test(prefix_compares_only_its_bits),
	        cmocka_unit_test(list_matches_its_networks),
	        cmocka_unit_test(mapped_address_meets_ipv6_networks_as_written),
	        cmocka_unit_test(bad_entries_are_refused_and_earlier_ones_kept),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
