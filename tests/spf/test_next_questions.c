/* tests/spf/test_next_questions.c — what a cached SPF record leads to, for the prefetch's second round. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <mailvet/spf.h>

#include "dns/backend.h"
#include "dns/cache.h"

/* A zone resolver with an answer cache, as the daemon's resolver has one. */
static struct mv_resolver *cached_zone(const char *text)
{
	struct mv_dns_cache_opts co = {0, 0, 60, 3600, 60}; /* zone answers carry no TTL */
	struct mv_resolver *r = NULL;

	assert_int_equal(mv_dns_zone_parse(text, strlen(text), &r, NULL, 0), MV_OK);
	assert_int_equal(mv_dns_cache_new(&co, &r->cache), MV_OK);
	return r;
}

/* The first round: <domain>'s record asked (and so cached) when ask is set. */
static void next_of(struct mv_resolver *r, const char *ip, const char *mail_from, int ask,
                    struct mv_dns_questions *l)
{
	struct mv_spf_request req;
	struct mv_dns_answer *a = NULL;

	memset(&req, 0, sizeof req);
	req.ip = ip;
	req.helo = "mx.example.net";
	req.mail_from = mail_from;
	req.identity = MV_SPF_ID_MAILFROM;
	if (ask) {
		assert_int_equal(mv_dns_query(r, strchr(mail_from, '@') + 1, MV_DNS_TXT, &a),
		                 MV_OK);
		mv_dns_answer_free(a);
	}
	assert_int_equal(mv_spf_next_questions(r, &req, l), MV_OK);
}

static const char zone[] =
        "example.com TXT \"v=spf1 ip4:192.0.2.9 include:_spf.example.com a mx:mail.example.com "
        "exists:e.example.com include:%{i}.m.example.com ptr redirect=r.example.com\"\n"
        "_spf.example.com TXT \"v=spf1 include:deeper.example.com -all\"\n"
        "two.example TXT \"v=spf1 include:a.example -all\"\n"
        "two.example TXT \"v=spf1 include:b.example -all\"\n"
        "bad.example TXT \"v=spf1 include: -all\"\n"
        "macro.example TXT \"v=spf1 redirect=%{d}.x.example\"\n";

static void assert_q(const struct mv_dns_questions *l, size_t k, const char *name,
                     enum mv_dns_type type)
{
	assert_true(k < l->n);
	assert_string_equal(l->q[k].name, name);
	assert_int_equal(l->q[k].type, type);
}

/* Each DNS-querying term's target, in order, then redirect=; none with macros, none for ptr. */
static void direct_targets_of_the_cached_record(void **state)
{
	struct mv_resolver *r = cached_zone(zone);
	struct mv_dns_questions l = MV_DNS_QUESTIONS_INIT;

	(void)state;
	next_of(r, "192.0.2.1", "b@example.com", 1, &l);
	assert_int_equal(l.n, 5);
	assert_q(&l, 0, "_spf.example.com", MV_DNS_TXT);
	assert_q(&l, 1, "example.com", MV_DNS_A); /* a: <domain>, the client's family */
	assert_q(&l, 2, "mail.example.com", MV_DNS_MX);
	assert_q(&l, 3, "e.example.com", MV_DNS_A);
	assert_q(&l, 4, "r.example.com", MV_DNS_TXT);
	/* only the first record's terms: _spf's include is not followed even when cached */
	mv_dns_questions_free(&l);
	next_of(r, "2001:db8::1", "b@example.com", 1, &l);
	assert_true(mv_dns_questions_has(&l, "example.com", MV_DNS_AAAA));
	assert_false(mv_dns_questions_has(&l, "deeper.example.com", MV_DNS_TXT));
	mv_dns_questions_free(&l);
	mv_dns_free(r);
}

/* Nothing before the first round answered, and nothing where the check would stop. */
static void nothing_without_one_good_cached_record(void **state)
{
	struct mv_resolver *r = cached_zone(zone);
	struct mv_dns_questions l = MV_DNS_QUESTIONS_INIT;

	(void)state;
	next_of(r, "192.0.2.1", "b@example.com", 0, &l); /* not cached: nothing asked */
	assert_int_equal(l.n, 0);
	next_of(r, "192.0.2.1", "b@two.example", 1, &l); /* two records: permerror */
	assert_int_equal(l.n, 0);
	next_of(r, "192.0.2.1", "b@bad.example", 1, &l); /* a syntax error: permerror */
	assert_int_equal(l.n, 0);
	next_of(r, "192.0.2.1", "b@macro.example", 1, &l); /* only the check expands macros */
	assert_int_equal(l.n, 0);
	next_of(r, "192.0.2.1", "b@nowhere.example", 1, &l); /* NXDOMAIN */
	assert_int_equal(l.n, 0);
	next_of(r, "not-an-ip", "b@example.com", 1, &l);
	assert_int_equal(l.n, 0);
	mv_dns_questions_free(&l);
	mv_dns_free(r);
}

/* A hostile record cannot fan the prefetch out: MV_SPF_NEXT_MAX questions, the first ones. */
static void a_long_record_is_cut_at_the_cap(void **state)
{
	char text[4096];
	size_t off;
	struct mv_resolver *r;
	struct mv_dns_questions l = MV_DNS_QUESTIONS_INIT;
	unsigned k;

	(void)state;
	off = (size_t)snprintf(text, sizeof text, "fan.example TXT \"v=spf1");
	for (k = 0; k < 40; k++)
		off += (size_t)snprintf(text + off, sizeof text - off, " include:i%u.fan.example",
		                        k);
	snprintf(text + off, sizeof text - off, " -all\"\n");
	r = cached_zone(text);
	next_of(r, "192.0.2.1", "b@fan.example", 1, &l);
	assert_int_equal(l.n, MV_SPF_NEXT_MAX);
	assert_q(&l, 0, "i0.fan.example", MV_DNS_TXT);
	assert_q(&l, MV_SPF_NEXT_MAX - 1, "i9.fan.example", MV_DNS_TXT);
	mv_dns_questions_free(&l);
	mv_dns_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(direct_targets_of_the_cached_record),
	        cmocka_unit_test(nothing_without_one_good_cached_record),
	        cmocka_unit_test(a_long_record_is_cut_at_the_cap),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
