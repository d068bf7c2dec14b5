/* tests/verify/test_verify_verdict.c — the verdict as data: action, codes, text and note. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include <mailvet/authres.h>
#include <mailvet/dns.h>
#include <mailvet/verify.h>

#define NOW 1767225600 /* 2026-01-01 */

static const char zone[] = "bank.example TXT \"v=spf1 -all\"\n"
                           "_dmarc.bank.example TXT \"v=DMARC1; p=reject\"\n"
                           "slow.example TIMEOUT\n"
                           "_dmarc.slow.example TIMEOUT\n";

static const char spoof[] = "From: ceo@bank.example\r\nSubject: wire\r\n\r\npay\r\n";
static const char slow[] = "From: x@slow.example\r\nSubject: hi\r\n\r\nhello\r\n";

/* Verify msg from 198.51.100.7 (no SPF pass anywhere) under c. */
static struct mv_verify *run(const struct mv_verify_config *c, const char *msg, int outbound)
{
	struct mv_envelope env = {"198.51.100.7", NULL, "bad.example", "x@bank.example",
	                          NULL,           NULL, outbound};
	struct mv_resolver *r = NULL;
	struct mv_verify *v = NULL;
	char err[200];

	assert_int_equal(mv_dns_zone_parse(zone, strlen(zone), &r, err, sizeof err), MV_OK);
	assert_int_equal(mv_verify_message(c, r, NOW, &env, msg, strlen(msg), &v), MV_OK);
	mv_dns_free(r); /* the verdict is final: the resolver is no longer used */
	return v;
}

static void config(struct mv_verify_config *c)
{
	mv_verify_config_default(c);
	c->authserv_id = "mx.test.example";
	c->iprev = 0;
}

static void dmarc_reject_is_550_5_7_1_naming_the_domain(void **state)
{
	struct mv_verify_config c;
	struct mv_verify *v;
	const struct mv_verify_verdict *d;

	(void)state;
	config(&c);
	v = run(&c, spoof, 0);
	d = mv_verify_verdict(v);
	assert_int_equal(d->action, MV_VERIFY_REJECT);
	assert_string_equal(d->code, "550");
	assert_string_equal(d->xcode, "5.7.1");
	assert_non_null(strstr(d->text, "bank.example"));
	assert_string_equal(d->note, "");
	assert_int_equal(mv_verify_action(v), MV_VERIFY_REJECT);
	assert_memory_equal(mv_verify_reply(v), "550 5.7.1 ", 10);
	mv_verify_free(v);
}

static void configured_text_replaces_ours_but_not_the_class(void **state)
{
	struct mv_verify_config c;
	struct mv_verify *v;
	const struct mv_verify_verdict *d;

	(void)state;
	config(&c);
	c.reject_text = "554 5.7.26 Go away,\nforger";
	v = run(&c, spoof, 0);
	d = mv_verify_verdict(v);
	assert_string_equal(d->code, "554");
	assert_string_equal(d->xcode, "5.7.26");
	assert_string_equal(d->text, "Go away, forger");
	mv_verify_free(v);
	c.reject_text = "451 4.7.1 try later"; /* a 4xx never stands for a rejection */
	v = run(&c, spoof, 0);
	d = mv_verify_verdict(v);
	assert_int_equal(d->action, MV_VERIFY_REJECT);
	assert_string_equal(d->code, "550");
	assert_string_equal(d->xcode, "5.7.1");
	assert_string_equal(d->text, "451 4.7.1 try later");
	mv_verify_free(v);
}

static void dmarc_reject_action_quarantine_and_header(void **state)
{
	struct mv_verify_config c;
	struct mv_verify *v;
	const struct mv_verify_verdict *d;

	(void)state;
	config(&c);
	c.dmarc_reject_action = MV_VERIFY_QUARANTINE;
	v = run(&c, spoof, 0);
	d = mv_verify_verdict(v);
	assert_int_equal(d->action, MV_VERIFY_QUARANTINE);
	assert_string_equal(d->code, "250");
	assert_string_equal(d->note, "dmarc_reject=quarantine");
	mv_verify_free(v);
	c.dmarc_reject_action = MV_VERIFY_ACCEPT;
	v = run(&c, spoof, 0);
	d = mv_verify_verdict(v);
	assert_int_equal(d->action, MV_VERIFY_ACCEPT);
	assert_string_equal(d->code, "");
	assert_string_equal(d->note, "dmarc_reject=header");
	assert_null(mv_verify_reply(v));
	mv_verify_free(v);
}

static void outbound_mail_is_never_refused_for_dmarc(void **state)
{
	struct mv_verify_config c;
	struct mv_verify *v;
	const struct mv_verify_verdict *d;

	(void)state;
	config(&c);
	v = run(&c, spoof, 1);
	d = mv_verify_verdict(v);
	assert_int_equal(d->action, MV_VERIFY_ACCEPT);
	assert_string_equal(d->note, "outbound: policy not applied");
	mv_verify_free(v);
}

/* The dmarc result record of v's field: its comment and policy.dmarc. */
static const struct mv_result *dmarc_of(const struct mv_verify *v)
{
	const struct mv_authres *ar = mv_verify_results(v);

	for (size_t i = 0; i < ar->results.count; i++)
		if (strcmp(ar->results.item[i]->method, "dmarc") == 0)
			return ar->results.item[i];
	fail_msg("no dmarc result");
	return NULL;
}

static void results_field_says_what_was_done_with_the_dmarc_policy(void **state)
{
	static const char pass[] = "From: ceo@bank.example\r\nSubject: hi\r\n\r\nhi\r\n";
	struct mv_envelope env = {"198.51.100.7", NULL, "bad.example", "x@bank.example", NULL,
	                          NULL,           0};
	struct mv_verify_config c;
	struct mv_resolver *r = NULL;
	struct mv_verify *v;
	const struct mv_result *d;
	char err[200];
	static const char passzone[] = "bank.example TXT \"v=spf1 ip4:198.51.100.7 -all\"\n"
	                               "_dmarc.bank.example TXT \"v=DMARC1; p=reject\"\n";
	static const struct {
		enum mv_verify_action reject_action;
		int outbound, enforce;
		const char *comment, *policy;
	} fails[] = {
	        {MV_VERIFY_REJECT, 0, 1, "p=reject; p applied", "reject"},
	        {MV_VERIFY_QUARANTINE, 0, 1,
	         "p=reject; p applied as quarantine: dmarc_reject=quarantine", "quarantine"},
	        {MV_VERIFY_ACCEPT, 0, 1, "p=reject; p not applied: dmarc_reject=header", "none"},
	        {MV_VERIFY_REJECT, 1, 1, "p=reject; p not applied: outbound mail", "none"},
	        {MV_VERIFY_REJECT, 0, 0, "p=reject; p not applied: report only", "none"},
	};

	(void)state;
	config(&c);
	/* A pass: the record's policy, nothing "applied", policy.dmarc=none. */
	assert_int_equal(mv_dns_zone_parse(passzone, strlen(passzone), &r, err, sizeof err), MV_OK);
	assert_int_equal(mv_verify_message(&c, r, NOW, &env, pass, strlen(pass), &v), MV_OK);
	d = dmarc_of(v);
	assert_string_equal(d->result, "pass");
	assert_string_equal(d->comment, "p=reject");
	assert_string_equal(mv_result_prop_value(d, "policy", "dmarc"), "none");
	mv_verify_free(v);
	mv_dns_free(r);
	/* Failures: policy.dmarc is what was done; the comment says why when not as asked. */
	for (size_t i = 0; i < sizeof fails / sizeof fails[0]; i++) {
		c.dmarc_reject_action = fails[i].reject_action;
		c.dmarc_enforce = fails[i].enforce;
		v = run(&c, spoof, fails[i].outbound);
		d = dmarc_of(v);
		assert_string_equal(d->comment, fails[i].comment);
		assert_string_equal(mv_result_prop_value(d, "policy", "dmarc"), fails[i].policy);
		mv_verify_free(v);
	}
}

static void temperror_is_451_4_4_3_or_accepted_with_a_note(void **state)
{
	struct mv_verify_config c;
	struct mv_verify *v;
	const struct mv_verify_verdict *d;

	(void)state;
	config(&c);
	c.budget_ms = 1000;
	v = run(&c, slow, 0);
	d = mv_verify_verdict(v);
	assert_int_equal(d->action, MV_VERIFY_TEMPFAIL);
	assert_string_equal(d->code, "451");
	assert_string_equal(d->xcode, "4.4.3");
	mv_verify_free(v);
	c.dmarc_temperror_action = MV_VERIFY_ACCEPT;
	v = run(&c, slow, 1); /* a temporary failure is not exempt for outbound mail */
	d = mv_verify_verdict(v);
	assert_int_equal(d->action, MV_VERIFY_ACCEPT);
	assert_string_equal(d->note, "dmarc_temperror=accept");
	mv_verify_free(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(dmarc_reject_is_550_5_7_1_naming_the_domain),
	        cmocka_unit_test(configured_text_replaces_ours_but_not_the_class),
	        cmocka_unit_test(dmarc_reject_action_quarantine_and_header),
	        cmocka_unit_test(outbound_mail_is_never_refused_for_dmarc),
	        cmocka_unit_test(temperror_is_451_4_4_3_or_accepted_with_a_note),
	        cmocka_unit_test(results_field_says_what_was_done_with_the_dmarc_policy),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
