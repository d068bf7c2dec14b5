/* tests/spf/test_spf_check.c — the mv_spf_check() API: verdict fields, Received-SPF, mv_result. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <mailvet/authres.h>
#include <mailvet/dns.h>
#include <mailvet/spf.h>

static const char zone[] =
        "example.com TXT \"v=spf1 ip4:192.0.2.0/24 include:_spf.example.net -all\"\n"
        "_spf.example.net TXT \"v=spf1 ip6:2001:db8::/32 ~all\"\n"
        "mx.example.org TXT \"v=spf1 a -all\"\n"
        "mx.example.org A 198.51.100.7\n"
        "broken.example.com TXT \"v=spf1 ip4:300.1.1.1 -all\"\n"
        "two.example.com TXT \"v=spf1 -all\"\n"
        "two.example.com TXT \"v=spf1 +all\"\n";

static int setup(void **state)
{
	struct mv_resolver *r = NULL;
	char err[160];

	assert_int_equal(mv_dns_zone_parse(zone, sizeof zone - 1, &r, err, sizeof err), MV_OK);
	*state = r;
	return 0;
}

static int teardown(void **state)
{
	mv_dns_free(*state);
	return 0;
}

static void check(void **state, const char *ip, const char *helo, const char *mail_from,
                  enum mv_spf_identity id, struct mv_spf_verdict *v)
{
	struct mv_spf_request req = {0};

	req.ip = ip;
	req.helo = helo;
	req.mail_from = mail_from;
	req.identity = id;
	req.receiver = "mx.receiver.example";
	req.now = 1400000000;
	assert_int_equal(mv_spf_check(*state, &req, v), MV_OK);
}

/* §4.6.2: the first matching directive decides, and the verdict says which. */
static void pass_names_the_mechanism(void **state)
{
	struct mv_spf_verdict v;

	check(state, "192.0.2.9", "mx.example.org", "Alice@Example.COM", MV_SPF_ID_MAILFROM, &v);
	assert_int_equal(v.result, MV_SPF_PASS);
	assert_int_equal(v.identity, MV_SPF_ID_MAILFROM);
	assert_string_equal(v.domain, "example.com");
	assert_string_equal(v.sender, "Alice@Example.COM");
	assert_string_equal(v.mechanism, "ip4:192.0.2.0/24");
	assert_null(v.explanation);
	assert_null(v.problem);
	assert_int_equal(v.dns_terms, 0);
	mv_spf_verdict_clear(&v);
}

/* §5.2: include counts as a DNS term; a softfail inside does not match; -all fails. */
static void fail_after_include_has_default_explanation(void **state)
{
	struct mv_spf_verdict v;

	check(state, "203.0.113.5", "mx.example.org", "bob@example.com", MV_SPF_ID_MAILFROM, &v);
	assert_int_equal(v.result, MV_SPF_FAIL);
	assert_string_equal(v.mechanism, "-all");
	assert_int_equal(v.dns_terms, 1);
	assert_true(v.explanation_default);
	assert_string_equal(v.explanation,
	                    "example.com does not designate 203.0.113.5 as a permitted sender");
	mv_spf_verdict_clear(&v);
}

/* §2.3: the HELO identity is postmaster@<helo>. */
static void helo_identity(void **state)
{
	struct mv_spf_verdict v;

	check(state, "198.51.100.7", "mx.example.org", "bob@example.com", MV_SPF_ID_HELO, &v);
	assert_int_equal(v.result, MV_SPF_PASS);
	assert_int_equal(v.identity, MV_SPF_ID_HELO);
	assert_string_equal(v.domain, "mx.example.org");
	assert_string_equal(v.sender, "postmaster@mx.example.org");
	mv_spf_verdict_clear(&v);
}

/* §4.6 and §4.5: a syntax error and two records are permerror, with a problem given. */
static void permerrors_give_a_problem(void **state)
{
	struct mv_spf_verdict v;

	check(state, "192.0.2.1", "mx.example.org", "x@broken.example.com", MV_SPF_ID_MAILFROM, &v);
	assert_int_equal(v.result, MV_SPF_PERMERROR);
	assert_non_null(v.problem);
	assert_non_null(strstr(v.problem, "ip4:300.1.1.1"));
	assert_null(v.mechanism);
	mv_spf_verdict_clear(&v);
	check(state, "192.0.2.1", "mx.example.org", "x@two.example.com", MV_SPF_ID_MAILFROM, &v);
	assert_int_equal(v.result, MV_SPF_PERMERROR);
	assert_non_null(strstr(v.problem, "2 SPF records"));
	mv_spf_verdict_clear(&v);
}

static void bad_ip_is_einval(void **state)
{
	struct mv_spf_request req = {0};
	struct mv_spf_verdict v;

	req.ip = "192.0.2.256";
	req.mail_from = "a@example.com";
	assert_int_equal(mv_spf_check(*state, &req, &v), MV_EINVAL);
	assert_null(v.domain);
}

/* §9.1: result, comment, key=value pairs; values that are not dot-atoms are quoted. */
static void received_spf_field(void **state)
{
	struct mv_spf_request req = {0};
	struct mv_spf_verdict v;
	struct mv_buf b = MV_BUF_INIT;

	req.ip = "192.0.2.9";
	req.helo = "mx.example.org";
	req.mail_from = "alice@example.com";
	req.receiver = "mx.receiver.example";
	assert_int_equal(mv_spf_check(*state, &req, &v), MV_OK);
	assert_int_equal(mv_spf_received_spf(&req, &v, &b), MV_OK);
	assert_string_equal(b.data, "pass (mx.receiver.example: domain of alice@example.com "
	                            "designates 192.0.2.9 as permitted sender) "
	                            "client-ip=192.0.2.9; envelope-from=\"alice@example.com\"; "
	                            "helo=mx.example.org; receiver=mx.receiver.example; "
	                            "identity=mailfrom; mechanism=\"ip4:192.0.2.0/24\"");
	mv_buf_free(&b);
	mv_spf_verdict_clear(&v);
}

/* RFC 8601 §2.7.2: spf=<result> smtp.mailfrom=<domain>, or smtp.helo for HELO. */
static void result_record_for_authres(void **state)
{
	struct mv_spf_verdict v;
	struct mv_result *res = NULL;

	check(state, "192.0.2.9", "mx.example.org", "alice@example.com", MV_SPF_ID_MAILFROM, &v);
	assert_int_equal(mv_spf_authres_result(&v, &res), MV_OK);
	assert_string_equal(res->method, "spf");
	assert_string_equal(res->result, "pass");
	assert_string_equal(mv_result_prop_value(res, "smtp", "mailfrom"), "example.com");
	assert_null(mv_result_prop_value(res, "smtp", "helo"));
	mv_result_free(res);
	mv_spf_verdict_clear(&v);

	check(state, "198.51.100.8", "mx.example.org", "", MV_SPF_ID_HELO, &v);
	assert_int_equal(mv_spf_authres_result(&v, &res), MV_OK);
	assert_string_equal(res->result, "fail");
	assert_string_equal(mv_result_prop_value(res, "smtp", "helo"), "mx.example.org");
	mv_result_free(res);
	mv_spf_verdict_clear(&v);
}

static void result_names_round_trip(void **state)
{
	enum mv_spf_result r, back;

	(void)state;
	for (r = MV_SPF_NONE; r <= MV_SPF_PERMERROR; r++) {
		assert_int_equal(mv_spf_result_parse(mv_spf_result_str(r), &back), MV_OK);
		assert_int_equal(back, r);
	}
	assert_int_equal(mv_spf_result_parse("SoftFail", &back), MV_OK);
	assert_int_equal(back, MV_SPF_SOFTFAIL);
	assert_int_equal(mv_spf_result_parse("unknown", &back), MV_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(pass_names_the_mechanism, setup, teardown),
	        cmocka_unit_test_setup_teardown(fail_after_include_has_default_explanation, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(helo_identity, setup, teardown),
	        cmocka_unit_test_setup_teardown(permerrors_give_a_problem, setup, teardown),
	        cmocka_unit_test_setup_teardown(bad_ip_is_einval, setup, teardown),
	        cmocka_unit_test_setup_teardown(received_spf_field, setup, teardown),
	        cmocka_unit_test_setup_teardown(result_record_for_authres, setup, teardown),
	        cmocka_unit_test(result_names_round_trip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
