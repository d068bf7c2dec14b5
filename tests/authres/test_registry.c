/* tests/authres/test_registry.c — IANA registries (RFC 8601 §6) and the §4.1 filter. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <mailvet/authres.h>

static void methods(void **state)
{
	(void)state;
	assert_int_equal(mv_authres_known_method("dkim"), MV_AUTHRES_ACTIVE);
	assert_int_equal(mv_authres_known_method("SPF"), MV_AUTHRES_ACTIVE);
	assert_int_equal(mv_authres_known_method("dmarc"), MV_AUTHRES_ACTIVE);
	assert_int_equal(mv_authres_known_method("arc"), MV_AUTHRES_ACTIVE);
	assert_int_equal(mv_authres_known_method("iprev"), MV_AUTHRES_ACTIVE);
	assert_int_equal(mv_authres_known_method("auth"), MV_AUTHRES_ACTIVE);
	assert_int_equal(mv_authres_known_method("dkim-atps"), MV_AUTHRES_ACTIVE);
	assert_int_equal(mv_authres_known_method("vbr"), MV_AUTHRES_ACTIVE);
	assert_int_equal(mv_authres_known_method("rrvs"), MV_AUTHRES_ACTIVE);
	assert_int_equal(mv_authres_known_method("smime"), MV_AUTHRES_ACTIVE);
	/* §6.3 and §6.7: the historic ones are deprecated. */
	assert_int_equal(mv_authres_known_method("sender-id"), MV_AUTHRES_DEPRECATED);
	assert_int_equal(mv_authres_known_method("domainkeys"), MV_AUTHRES_DEPRECATED);
	assert_int_equal(mv_authres_known_method("dkim-adsp"), MV_AUTHRES_DEPRECATED);
	assert_int_equal(mv_authres_known_method("x-tls"), MV_AUTHRES_EXPERIMENTAL);
	assert_int_equal(mv_authres_known_method("x-"), MV_AUTHRES_UNREGISTERED);
	assert_int_equal(mv_authres_known_method("tls"), MV_AUTHRES_UNREGISTERED);
	assert_int_equal(mv_authres_known_method("dkim2"), MV_AUTHRES_UNREGISTERED);
}

static void results(void **state)
{
	(void)state;
	/* §2.7.1 */
	assert_true(mv_authres_known_result("dkim", "policy"));
	assert_true(mv_authres_known_result("dkim", "NEUTRAL"));
	assert_false(mv_authres_known_result("dkim", "softfail"));
	/* §2.7.2 */
	assert_true(mv_authres_known_result("spf", "softfail"));
	assert_true(mv_authres_known_result("spf", "policy"));
	/* §2.7.3: iprev has no "none" */
	assert_false(mv_authres_known_result("iprev", "none"));
	assert_true(mv_authres_known_result("iprev", "permerror"));
	/* §2.7.4 */
	assert_false(mv_authres_known_result("auth", "policy"));
	assert_true(mv_authres_known_result("dmarc", "fail"));
	assert_false(mv_authres_known_result("dmarc", "quarantine"));
	assert_true(mv_authres_known_result("arc", "none"));
	assert_false(mv_authres_known_result("arc", "temperror"));
	assert_false(mv_authres_known_result("x-tls", "pass"));
	assert_false(mv_authres_known_result("spf", ""));
	assert_false(mv_authres_known_result("spf", "pas"));
}

static void ptypes_and_properties(void **state)
{
	(void)state;
	assert_true(mv_authres_known_ptype("smtp"));
	assert_true(mv_authres_known_ptype("Header"));
	assert_true(mv_authres_known_ptype("body"));
	assert_true(mv_authres_known_ptype("policy"));
	assert_false(mv_authres_known_ptype("x"));
	assert_false(mv_authres_known_ptype("smt"));
	assert_true(mv_authres_known_property("dkim", "header", "s")); /* §6.3.2 */
	assert_true(mv_authres_known_property("dkim", "header", "a")); /* §6.3.1 */
	assert_true(mv_authres_known_property("spf", "smtp", "helo"));
	assert_true(mv_authres_known_property("iprev", "policy", "iprev"));
	assert_true(mv_authres_known_property("auth", "smtp", "mailfrom"));
	assert_true(mv_authres_known_property("sender-id", "header", "resent-from"));
	assert_false(mv_authres_known_property("spf", "header", "from"));
	assert_false(mv_authres_known_property("dkim", "header", "x"));
	assert_false(mv_authres_known_property("dk", "header", "d"));
}

static struct mv_authres *parse(const char *v)
{
	struct mv_authres *ar = NULL;

	assert_int_equal(mv_authres_parse(v, strlen(v), 0, &ar, NULL, 0), MV_OK);
	return ar;
}

/* §4.1: unknown results, ptypes and methods, and unsupported versions, are ignored. */
static void filter_drops_what_must_be_ignored(void **state)
{
	struct mv_authres *ar = parse("example.com; spf=pass smtp.mailfrom=a.example;"
	                              " spf=hardpass smtp.mailfrom=a.example;"
	                              " dkim=pass foo.bar=x;"
	                              " dkim/2=pass header.d=a.example;"
	                              " dkim/1=fail header.d=a.example;"
	                              " tls=pass; x-tls=pass; sender-id=pass header.from=a.example;"
	                              " dmarc=pass header.from=a.example");
	size_t dropped = 0;

	(void)state;
	assert_int_equal(mv_authres_filter(ar, NULL, &dropped), MV_OK);
	assert_int_equal(dropped, 6);
	assert_int_equal(ar->results.count, 3);
	assert_string_equal(ar->results.item[0]->method, "spf");
	assert_string_equal(ar->results.item[1]->result, "fail");
	assert_string_equal(ar->results.item[2]->method, "dmarc");
	mv_authres_free(ar);
}

static void filter_follows_the_consumers_methods(void **state)
{
	static const char *const mine[] = {"dmarc", "x-tls", "sender-id"};
	struct mv_authres_filter_opts o = {mine, 3, 0};
	struct mv_authres *ar = parse("example.com; spf=pass; x-tls=pass; x-other=pass;"
	                              " sender-id=pass; dmarc=pass");
	size_t dropped = 0;

	(void)state;
	assert_int_equal(mv_authres_filter(ar, &o, &dropped), MV_OK);
	assert_int_equal(dropped, 2);
	assert_int_equal(ar->results.count, 3);
	assert_string_equal(ar->results.item[0]->method, "x-tls");
	assert_string_equal(ar->results.item[1]->method, "sender-id");
	mv_authres_free(ar);

	o.methods = NULL;
	o.nmethods = 0;
	o.experimental = 1;
	ar = parse("example.com; x-other=whatever; spf=pass");
	assert_int_equal(mv_authres_filter(ar, &o, NULL), MV_OK);
	assert_int_equal(ar->results.count, 2);
	mv_authres_free(ar);
}

/* §2.6: a field version we do not know means nothing in it can be used. */
static void filter_refuses_unknown_field_versions(void **state)
{
	struct mv_authres *ar = parse("example.com 2; spf=pass");
	size_t dropped = 0;

	(void)state;
	assert_int_equal(mv_authres_filter(ar, NULL, &dropped), MV_EUNSUPPORTED);
	assert_int_equal(dropped, 1);
	assert_int_equal(ar->results.count, 0);
	mv_authres_free(ar);
	ar = parse("example.com 1; spf=pass");
	assert_int_equal(mv_authres_filter(ar, NULL, NULL), MV_OK);
	assert_int_equal(ar->results.count, 1);
	mv_authres_free(ar);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(methods),
	        cmocka_unit_test(results),
	        cmocka_unit_test(ptypes_and_properties),
	        cmocka_unit_test(filter_drops_what_must_be_ignored),
	        cmocka_unit_test(filter_follows_the_consumers_methods),
	        cmocka_unit_test(filter_refuses_unknown_field_versions),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
