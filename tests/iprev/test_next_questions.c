/* tests/iprev/test_next_questions.c — the forward questions a cached PTR answer leads to, for the prefetch's second round. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <mailvet/iprev.h>

#include "dns/backend.h"
#include "dns/cache.h"

static const char zone[] =
        "1.2.0.192.in-addr.arpa PTR a.example.com\n"
        "1.2.0.192.in-addr.arpa PTR b.example.com\n"
        "1.2.0.192.in-addr.arpa PTR c.example.com\n"
        "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa "
        "PTR six.example.com\n";

/* A zone resolver with an answer cache; the PTR of ip asked first (the first round) when ask. */
static struct mv_resolver *cached_zone(const char *ip, int ask)
{
	struct mv_dns_cache_opts co = {0, 0, 60, 3600, 60}; /* zone answers carry no TTL */
	struct mv_resolver *r = NULL;
	struct mv_dns_answer *a = NULL;
	char name[MV_IPREV_PTR_NAME_MAX];

	assert_int_equal(mv_dns_zone_parse(zone, strlen(zone), &r, NULL, 0), MV_OK);
	assert_int_equal(mv_dns_cache_new(&co, &r->cache), MV_OK);
	if (ask) {
		assert_int_equal(mv_iprev_ptr_name(ip, name, sizeof name), MV_OK);
		assert_int_equal(mv_dns_query(r, name, MV_DNS_PTR, &a), MV_OK);
		mv_dns_answer_free(a);
	}
	return r;
}

/* The first max_names names, A for an IPv4 client (also written IPv4-mapped), AAAA for IPv6. */
static void forward_questions_of_the_cached_names(void **state)
{
	struct mv_resolver *r = cached_zone("192.0.2.1", 1);
	struct mv_dns_questions l = MV_DNS_QUESTIONS_INIT;

	(void)state;
	assert_int_equal(mv_iprev_next_questions(r, "192.0.2.1", 2, &l), MV_OK);
	assert_int_equal(l.n, 2);
	assert_true(mv_dns_questions_has(&l, "a.example.com", MV_DNS_A));
	assert_true(mv_dns_questions_has(&l, "b.example.com", MV_DNS_A));
	mv_dns_questions_free(&l);
	assert_int_equal(mv_iprev_next_questions(r, "::ffff:192.0.2.1", 0, &l), MV_OK);
	assert_int_equal(l.n, 3);
	assert_true(mv_dns_questions_has(&l, "c.example.com", MV_DNS_A));
	mv_dns_questions_free(&l);
	mv_dns_free(r);
	r = cached_zone("2001:db8::1", 1);
	assert_int_equal(mv_iprev_next_questions(r, "2001:db8::1", 0, &l), MV_OK);
	assert_int_equal(l.n, 1);
	assert_true(mv_dns_questions_has(&l, "six.example.com", MV_DNS_AAAA));
	mv_dns_questions_free(&l);
	mv_dns_free(r);
}

/* Nothing before the PTR is cached, for no names, for a bad address. */
static void nothing_without_cached_names(void **state)
{
	struct mv_resolver *r = cached_zone("192.0.2.1", 0);
	struct mv_dns_questions l = MV_DNS_QUESTIONS_INIT;

	(void)state;
	assert_int_equal(mv_iprev_next_questions(r, "192.0.2.1", 0, &l), MV_OK);
	assert_int_equal(l.n, 0);
	mv_dns_free(r);
	r = cached_zone("192.0.2.7", 1); /* NXDOMAIN, cached */
	assert_int_equal(mv_iprev_next_questions(r, "192.0.2.7", 0, &l), MV_OK);
	assert_int_equal(mv_iprev_next_questions(r, "not-an-ip", 0, &l), MV_OK);
	assert_int_equal(mv_iprev_next_questions(NULL, "192.0.2.1", 0, &l), MV_OK);
	assert_int_equal(l.n, 0);
	mv_dns_questions_free(&l);
	mv_dns_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(forward_questions_of_the_cached_names),
	        cmocka_unit_test(nothing_without_cached_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
