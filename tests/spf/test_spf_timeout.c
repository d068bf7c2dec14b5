/*
 * tests/spf/test_spf_timeout.c — the elapsed-time limit of one check (RFC 7208
 * §4.6.4: "MTAs or other processors SHOULD impose a limit on the maximum
 * amount of elapsed time to evaluate check_host(). Such a limit SHOULD allow
 * at least 20 seconds. If such a limit is exceeded, the result of
 * authorization SHOULD be "temperror".").
 *
 * The zone backend answers at once, so time comes from a fake clock given
 * to mv_spf_check_clock(): it advances a fixed step at every reading, and
 * the check reads it once at its start and once before every DNS query, so
 * the number of readings also counts the queries asked.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <mailvet/dns.h>
#include <mailvet/spf.h>

#include "spf/spf_int.h"

#define MX_TERMS 10 /* the §4.6.4 term limit allows this many mx terms ... */
#define MX_HOSTS 10 /* ... each with this many hosts (more is permerror) */
/* hostile.example: its TXT, then per mx term one MX and one A per host. */
#define HOSTILE_QUERIES (1 + MX_TERMS * (1 + MX_HOSTS))

struct fake_clock {
	uint64_t now, step;
	unsigned readings;
};

static uint64_t tick(void *arg)
{
	struct fake_clock *c = arg;

	c->readings++;
	c->now += c->step;
	return c->now;
}

/*
 * hostile.example: ten mx terms, each naming a domain with ten MX hosts
 * whose addresses never match; legal (ten DNS-querying terms, ten MX
 * records each) and 111 queries long. inc.example includes it;
 * ptr.example uses ptr; quick.example passes on ip4 before its mx terms.
 */
static int setup(void **state)
{
	struct mv_buf z = MV_BUF_INIT;
	struct mv_resolver *r = NULL;
	unsigned t, h;

	mv_buf_puts(&z, "hostile.example TXT \"v=spf1");
	for (t = 1; t <= MX_TERMS; t++)
		mv_buf_printf(&z, " mx:m%u.hostile.example", t);
	mv_buf_puts(&z, " -all\"\n");
	for (t = 1; t <= MX_TERMS; t++)
		for (h = 1; h <= MX_HOSTS; h++) {
			mv_buf_printf(&z, "m%u.hostile.example MX %u h%u.m%u.hostile.example\n", t,
			              h, h, t);
			mv_buf_printf(&z, "h%u.m%u.hostile.example A 198.51.100.%u\n", h, t, h);
		}
	mv_buf_puts(&z, "inc.example TXT \"v=spf1 include:hostile.example ~all\"\n"
	                "quick.example TXT \"v=spf1 ip4:192.0.2.0/24 mx:m1.hostile.example -all\"\n"
	                "ptr.example TXT \"v=spf1 ptr -all\"\n"
	                "1.2.0.192.in-addr.arpa PTR mail.ptr.example\n"
	                "mail.ptr.example A 192.0.2.1\n");
	assert_int_equal(mv_buf_status(&z), MV_OK);
	assert_int_equal(mv_dns_zone_parse(z.data, z.len, &r, NULL, 0), MV_OK);
	mv_buf_free(&z);
	*state = r;
	return 0;
}

static int teardown(void **state)
{
	mv_dns_free(*state);
	return 0;
}

/* Check user@domain from 192.0.2.1 with limit_ms, the clock advancing step_ms a reading. */
static void run(void **state, const char *domain, unsigned limit_ms, uint64_t step_ms,
                struct fake_clock *c, struct mv_spf_verdict *v)
{
	struct mv_spf_request req = {0};
	char from[64];

	snprintf(from, sizeof from, "user@%s", domain);
	req.ip = "192.0.2.1";
	req.helo = "client.example";
	req.mail_from = from;
	req.identity = MV_SPF_ID_MAILFROM;
	req.now = 1700000000;
	req.timeout_ms = limit_ms;
	memset(c, 0, sizeof *c);
	c->step = step_ms;
	assert_int_equal(mv_spf_check_clock(*state, &req, tick, c, v), MV_OK);
}

static void assert_time_limit(const struct mv_spf_verdict *v, const char *limit_text)
{
	assert_int_equal(v->result, MV_SPF_TEMPERROR);
	assert_null(v->mechanism);
	assert_non_null(v->problem);
	if (strstr(v->problem, limit_text) == NULL)
		print_error("problem: %s\n", v->problem);
	assert_non_null(strstr(v->problem, limit_text));
}

/* Without a limit in the way the hostile record costs 111 queries and fails. */
static void hostile_record_within_a_long_limit_is_evaluated_to_the_end(void **state)
{
	struct mv_spf_verdict v;
	struct fake_clock c;

	run(state, "hostile.example", 1000000, 1000, &c, &v);
	assert_int_equal(v.result, MV_SPF_FAIL);
	assert_string_equal(v.mechanism, "-all");
	assert_int_equal(v.dns_terms, MX_TERMS);
	assert_int_equal(c.readings, 1 + HOSTILE_QUERIES); /* the start, then one per query */
	mv_spf_verdict_clear(&v);
}

/* timeout_ms 0: 20 s. With a second a query, the 20th query is not asked: temperror. */
static void hostile_record_hits_the_default_limit_of_twenty_seconds(void **state)
{
	struct mv_spf_verdict v;
	struct fake_clock c;

	run(state, "hostile.example", 0, 1000, &c, &v);
	assert_time_limit(&v, "time limit of 20000 ms (RFC 7208 section 4.6.4)");
	assert_int_equal(c.readings, 1 + 20); /* 19 queries asked; none after the limit */
	mv_spf_verdict_clear(&v);
	/* Just under: a query every 180 ms keeps 111 queries below 20 s (111 * 180 < 20000). */
	run(state, "hostile.example", 0, 180, &c, &v);
	assert_int_equal(v.result, MV_SPF_FAIL);
	mv_spf_verdict_clear(&v);
}

static void limit_is_checked_before_every_query(void **state)
{
	struct mv_spf_verdict v;
	struct fake_clock c;

	run(state, "hostile.example", 5000, 1000, &c, &v);
	assert_time_limit(&v, "time limit of 5000 ms");
	assert_int_equal(c.readings, 1 + 5); /* 4 queries: TXT, MX, two A; the 5th is too late */
	mv_spf_verdict_clear(&v);
}

/* Past the limit inside an include: temperror (not permerror, not the ~all of the includer). */
static void limit_reached_inside_an_include_is_temperror(void **state)
{
	struct mv_spf_verdict v;
	struct fake_clock c;

	run(state, "inc.example", 3000, 1000, &c, &v);
	assert_time_limit(&v, "time limit of 3000 ms");
	mv_spf_verdict_clear(&v);
}

/*
 * ptr's lookups failing do not match (§5.5), but the time limit is no DNS
 * failure of the term: past it the check is temperror, not the -all that
 * follows. Queries: TXT, PTR, then the A of the PTR name (too late).
 */
static void limit_reached_in_ptr_validation_is_temperror(void **state)
{
	struct mv_spf_verdict v;
	struct fake_clock c;

	run(state, "ptr.example", 3000, 1000, &c, &v);
	assert_time_limit(&v, "time limit of 3000 ms");
	mv_spf_verdict_clear(&v);
	run(state, "ptr.example", 4000, 1000, &c, &v); /* one second more: the name validates */
	assert_int_equal(v.result, MV_SPF_PASS);
	assert_string_equal(v.mechanism, "ptr");
	mv_spf_verdict_clear(&v);
}

/* A result decided before the limit stands, however close to it. */
static void result_decided_within_the_limit_stands(void **state)
{
	struct mv_spf_verdict v;
	struct fake_clock c;

	run(state, "quick.example", 1000, 999, &c, &v);
	assert_int_equal(v.result, MV_SPF_PASS);
	assert_string_equal(v.mechanism, "ip4:192.0.2.0/24");
	assert_int_equal(c.readings, 2); /* the start and the TXT query */
	mv_spf_verdict_clear(&v);
	run(state, "quick.example", 1000, 1000, &c, &v); /* the TXT query itself is too late */
	assert_time_limit(&v, "before the query for quick.example");
	mv_spf_verdict_clear(&v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(hostile_record_within_a_long_limit_is_evaluated_to_the_end),
	        cmocka_unit_test(hostile_record_hits_the_default_limit_of_twenty_seconds),
	        cmocka_unit_test(limit_is_checked_before_every_query),
	        cmocka_unit_test(limit_reached_inside_an_include_is_temperror),
	        cmocka_unit_test(limit_reached_in_ptr_validation_is_temperror),
	        cmocka_unit_test(result_decided_within_the_limit_stands),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
