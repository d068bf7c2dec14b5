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
	assert_int_equal(mv_authres_known_method("dnswl"), MV_AUTHRES_ACTIVE); /* RFC 8904 */
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

/*
 * "Email Authentication Result Names", every row as IANA lists it (2025-04-04),
 * one line per method. domainkeys' first "temperror" row is read as "fail" (see
 * registry.c).
 */
static const struct {
	const char *method, *codes;
} result_names[] = {
        {"arc", "fail none pass"},
        {"auth", "fail none pass permerror temperror"},
        {"dkim", "fail neutral none pass permerror policy temperror"},
        {"dkim-adsp", "discard fail none nxdomain pass permerror temperror unknown"},
        {"dkim-atps", "fail none pass permerror temperror"},
        {"dmarc", "fail none pass permerror temperror"},
        {"dnswl", "none pass permerror temperror"},
        {"domainkeys", "fail neutral none permerror policy pass temperror"},
        {"iprev", "fail pass permerror temperror"},
        {"rrvs", "fail none pass permerror temperror unknown"},
        {"sender-id", "fail hardfail neutral none pass permerror policy softfail temperror"},
        {"smime", "fail neutral none pass permerror policy temperror"},
        {"spf", "fail hardfail neutral none pass permerror policy softfail temperror"},
        {"vbr", "fail none pass permerror temperror"},
};

/* Every code the registry lists for some method. */
static const char *const all_codes[] = {
        "discard", "fail",   "hardfail", "neutral", "none",      "nxdomain",
        "pass",    "policy", "softfail", "unknown", "permerror", "temperror",
};

/* 1 when code is one of the space-separated words of list (exact match). */
static int listed(const char *list, const char *code)
{
	size_t n = strlen(code);

	while (*list) {
		size_t l = strcspn(list, " ");
		if (l == n && memcmp(list, code, n) == 0)
			return 1;
		list += l;
		while (*list == ' ')
			list++;
	}
	return 0;
}

/* Each method accepts exactly the codes its registry rows name, no others. */
static void results_match_the_registry_row_for_row(void **state)
{
	size_t i, j;

	(void)state;
	for (i = 0; i < sizeof result_names / sizeof result_names[0]; i++)
		for (j = 0; j < sizeof all_codes / sizeof all_codes[0]; j++) {
			int want = listed(result_names[i].codes, all_codes[j]);
			if (mv_authres_known_result(result_names[i].method, all_codes[j]) != want)
				fail_msg("%s=%s: registered %d", result_names[i].method,
				         all_codes[j], want);
		}
}

/* What the hand-typed table lacked: the registry rows, quoted. */
static void rows_the_first_table_missed(void **state)
{
	(void)state;
	/* "sender-id  hardfail  [RFC5451] section 2.4.2  deprecated" */
	assert_true(mv_authres_known_result("sender-id", "hardfail"));
	/* "smime  [RFC7281]  body  smime-identifer  ...  active  1" (sic) */
	assert_true(mv_authres_known_property("smime", "body", "smime-identifer"));
}

/* "Email Authentication Methods": every method/ptype/property row (2025-04-04). */
static const char *const method_rows[][3] = {
        {"arc", "smtp", "remote-ip"},      {"arc", "header", "oldest-pass"},
        {"auth", "smtp", "auth"},          {"auth", "smtp", "mailfrom"},
        {"dkim", "header", "d"},           {"dkim", "header", "i"},
        {"dkim", "header", "b"},           {"dkim", "header", "a"},
        {"dkim", "header", "s"},           {"dkim-adsp", "header", "from"},
        {"dkim-atps", "header", "from"},   {"dmarc", "header", "from"},
        {"dmarc", "policy", "dmarc"},      {"dnswl", "dns", "zone"},
        {"dnswl", "policy", "ip"},         {"dnswl", "policy", "txt"},
        {"dnswl", "dns", "sec"},           {"domainkeys", "header", "d"},
        {"domainkeys", "header", "from"},  {"domainkeys", "header", "sender"},
        {"iprev", "policy", "iprev"},      {"rrvs", "smtp", "rcptto"},
        {"sender-id", "header", "from"}, /* "name of header field used by PRA" */
        {"smime", "body", "smime-part"},   {"smime", "body", "smime-identifer"}, /* sic */
        {"smime", "body", "smime-serial"}, {"smime", "body", "smime-issuer"},
        {"spf", "smtp", "mailfrom"},       {"spf", "smtp", "helo"},
        {"vbr", "header", "md"},           {"vbr", "header", "mv"},
};

static void every_registered_property_is_known(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof method_rows / sizeof method_rows[0]; i++) {
		const char *const *r = method_rows[i];
		if (!mv_authres_known_property(r[0], r[1], r[2]))
			fail_msg("%s %s.%s is registered", r[0], r[1], r[2]);
		/* each row names its ptype: the same property under another ptype is not it */
		if (mv_authres_known_property(r[0], strcmp(r[1], "smtp") ? "smtp" : "header", r[2]))
			fail_msg("%s %s.%s has the wrong ptype", r[0], r[1], r[2]);
	}
	/* the registered misspelling, and the RFC 7281 spelling seen in the field */
	assert_true(mv_authres_known_property("smime", "body", "smime-identifer"));
	assert_true(mv_authres_known_property("smime", "body", "smime-identifier"));
	assert_true(mv_authres_known_property("dmarc", "policy", "dmarc"));
	assert_false(mv_authres_known_property("dmarc", "policy", "iprev"));
	assert_false(mv_authres_known_property("dnswl", "header", "zone"));
	assert_false(mv_authres_known_property("rrvs", "smtp", "mailfrom"));
}

static void ptypes_and_properties(void **state)
{
	(void)state;
	assert_true(mv_authres_known_ptype("smtp"));
	assert_true(mv_authres_known_ptype("Header"));
	assert_true(mv_authres_known_ptype("body"));
	assert_true(mv_authres_known_ptype("policy"));
	assert_true(mv_authres_known_ptype("dns")); /* RFC 8904 */
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

/* The domain-valued properties, and nothing else, must hold a domain name. */
static void valid_values(void **state)
{
	(void)state;
	assert_int_equal(mv_authres_valid_value("dmarc", "header", "from", "example.com"), MV_OK);
	assert_int_equal(mv_authres_valid_value("DMARC", "Header", "From", ".net"), MV_ESYNTAX);
	assert_int_equal(mv_authres_valid_value("dmarc", "header", "from", "localhost"), MV_OK);
	assert_int_equal(mv_authres_valid_value("dkim", "header", "d", "localhost"), MV_ESYNTAX);
	assert_int_equal(mv_authres_valid_value("domainkeys", "header", "d", "a(b.example"),
	                 MV_ESYNTAX);
	assert_int_equal(mv_authres_valid_value("vbr", "header", "md", ""), MV_ESYNTAX);
	assert_int_equal(mv_authres_valid_value("vbr", "header", "mv", "v.example"), MV_OK);
	assert_int_equal(mv_authres_valid_value("dnswl", "dns", "zone", "a..b"), MV_ESYNTAX);
	/* "contents of the From field" and addresses are not domain names */
	assert_int_equal(mv_authres_valid_value("dkim-atps", "header", "from", ".net"), MV_OK);
	assert_int_equal(mv_authres_valid_value("domainkeys", "header", "from", ".net"), MV_OK);
	assert_int_equal(mv_authres_valid_value("spf", "smtp", "mailfrom", "@x"), MV_OK);
	assert_int_equal(mv_authres_valid_value("dkim", "header", "i", ".net"), MV_OK);
	assert_int_equal(mv_authres_valid_value("x-dmarc", "header", "from", ".net"), MV_OK);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(methods),
	        cmocka_unit_test(results),
	        cmocka_unit_test(results_match_the_registry_row_for_row),
	        cmocka_unit_test(rows_the_first_table_missed),
	        cmocka_unit_test(every_registered_property_is_known),
	        cmocka_unit_test(ptypes_and_properties),
	        cmocka_unit_test(filter_drops_what_must_be_ignored),
	        cmocka_unit_test(filter_follows_the_consumers_methods),
	        cmocka_unit_test(filter_refuses_unknown_field_versions),
	        cmocka_unit_test(valid_values),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
