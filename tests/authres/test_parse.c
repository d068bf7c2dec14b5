/* tests/authres/test_parse.c — mv_authres_parse and mv_authres_peek against RFC 8601 §2.2. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <mailvet/authres.h>

static struct mv_authres *parse_flags(const char *v, unsigned flags)
{
	struct mv_authres *ar = NULL;
	char err[128];
	enum mv_status st = mv_authres_parse(v, strlen(v), flags, &ar, err, sizeof err);

	if (st != MV_OK)
		fail_msg("parse of \"%s\" failed: %s", v, err);
	return ar;
}

static struct mv_authres *parse_ok(const char *v)
{
	return parse_flags(v, 0);
}

static void assert_result(const struct mv_authres *ar, size_t i, const char *method,
                          const char *result)
{
	assert_true(i < ar->results.count);
	assert_string_equal(ar->results.item[i]->method, method);
	assert_string_equal(ar->results.item[i]->result, result);
}

static void assert_prop(const struct mv_authres *ar, size_t i, size_t j, const char *ptype,
                        const char *property, const char *value)
{
	const struct mv_result *r = ar->results.item[i];

	assert_true(j < r->nprops);
	assert_string_equal(r->props[j].ptype, ptype);
	assert_string_equal(r->props[j].property, property);
	assert_string_equal(r->props[j].value, value);
}

/* RFC 8601 Appendix B.2: version and "none". */
static void none_with_version(void **state)
{
	struct mv_authres *ar = parse_ok(" example.org 1; none");

	(void)state;
	assert_string_equal(ar->serv_id, "example.org");
	assert_int_equal(ar->version, 1);
	assert_int_equal(ar->results.count, 0);
	mv_authres_free(ar);
}

/* Appendix B.4: several results, a comment after the result, local-part@domain. */
static void several_results_with_folding(void **state)
{
	struct mv_authres *ar = parse_ok(" example.com;\r\n    auth=pass (cram-md5) "
	                                 "smtp.auth=sender@example.net;\r\n    spf=pass "
	                                 "smtp.mailfrom=example.net");

	(void)state;
	assert_string_equal(ar->serv_id, "example.com");
	assert_int_equal(ar->version, 0);
	assert_int_equal(ar->results.count, 2);
	assert_result(ar, 0, "auth", "pass");
	assert_prop(ar, 0, 0, "smtp", "auth", "sender@example.net");
	assert_null(ar->results.item[0]->comment); /* comments only on request */
	assert_result(ar, 1, "spf", "pass");
	assert_prop(ar, 1, 0, "smtp", "mailfrom", "example.net");
	mv_authres_free(ar);
}

/* Appendix B.6: reason as quoted-string, pvalue "@domain". */
static void reason_and_at_domain(void **state)
{
	struct mv_authres *ar =
	        parse_ok(" example.com;\r\n    dkim=pass reason=\"good signature\"\r\n"
	                 "    header.i=@mail-router.example.net;\r\n    dkim=fail "
	                 "reason=\"bad signature\"\r\n    header.i=@newyork.example.com");

	(void)state;
	assert_int_equal(ar->results.count, 2);
	assert_string_equal(ar->results.item[0]->reason, "good signature");
	assert_prop(ar, 0, 0, "header", "i", "@mail-router.example.net");
	assert_string_equal(ar->results.item[1]->reason, "bad signature");
	assert_prop(ar, 1, 0, "header", "i", "@newyork.example.com");
	mv_authres_free(ar);
}

/* Appendix B.7: comments may stand between every token. */
static void comment_heavy_example_parses(void **state)
{
	struct mv_authres *ar =
	        parse_ok("foo.example.net (foobar) 1 (baz);"
	                 " dkim (Because I like it) / 1 (One yay) = (wait for it) fail"
	                 " policy (A dot can go here) . (like that) expired"
	                 " (this surprised me) = (as I wasn't expecting it) 1362471462");

	(void)state;
	assert_string_equal(ar->serv_id, "foo.example.net");
	assert_int_equal(ar->version, 1);
	assert_int_equal(ar->results.count, 1);
	assert_result(ar, 0, "dkim", "fail");
	assert_int_equal(ar->results.item[0]->version, 1);
	assert_prop(ar, 0, 0, "policy", "expired", "1362471462");
	assert_null(ar->comment);
	mv_authres_free(ar);
}

/* With MV_AUTHRES_COMMENTS the comments are kept where they stood. */
static void comments_kept_on_request(void **state)
{
	struct mv_authres *ar = parse_flags(" example.com (the (inner) one) 1;"
	                                    " auth=pass (cram-md5) smtp.auth=a@example.net"
	                                    " (trailing \\) paren);"
	                                    " spf=pass smtp.mailfrom=example.net",
	                                    MV_AUTHRES_COMMENTS);

	(void)state;
	assert_string_equal(ar->comment, "the (inner) one");
	assert_string_equal(ar->results.item[0]->comment, "cram-md5 trailing ) paren");
	assert_null(ar->results.item[1]->comment);
	mv_authres_free(ar);
}

/* Keywords are case-insensitive and stored lowercase; values keep their case. */
static void keywords_are_lowercased(void **state)
{
	struct mv_authres *ar = parse_ok("Example.COM; SPF=Pass Reason=OK "
	                                 "SMTP.MailFrom=User@Example.NET");

	(void)state;
	assert_string_equal(ar->serv_id, "Example.COM");
	assert_result(ar, 0, "spf", "pass");
	assert_string_equal(ar->results.item[0]->reason, "OK");
	assert_prop(ar, 0, 0, "smtp", "mailfrom", "User@Example.NET");
	mv_authres_free(ar);
}

/* The python-authres case: an IPv6 address must be quoted, and then parses. */
static void quoted_values_unescape(void **state)
{
	struct mv_authres *ar =
	        parse_ok("\"example\\\\.com\"; iprev=pass "
	                 "policy.iprev=\"2001:748:100:40::2:2\" (mout0.freenet.de); "
	                 "x-q=pass reason=\"a \\\"q\\\" b\" header.x=\"\"");

	(void)state;
	assert_string_equal(ar->serv_id, "example\\.com");
	assert_prop(ar, 0, 0, "policy", "iprev", "2001:748:100:40::2:2");
	assert_string_equal(ar->results.item[1]->reason, "a \"q\" b");
	assert_prop(ar, 1, 0, "header", "x", "");
	mv_authres_free(ar);
}

/* pvalue's local-part may hold atext a token may not ('/', '=', '?'), and be quoted. */
static void local_part_forms(void **state)
{
	struct mv_authres *ar = parse_ok("example.com; auth=pass smtp.auth=a/b=c?d@example.net "
	                                 "smtp.mailfrom=\"john doe\"@example.net "
	                                 "header.d=b\xc3\xbc"
	                                 "cher.example");

	(void)state;
	assert_prop(ar, 0, 0, "smtp", "auth", "a/b=c?d@example.net");
	assert_prop(ar, 0, 1, "smtp", "mailfrom", "\"john doe\"@example.net");
	assert_prop(ar, 0, 2, "header", "d",
	            "b\xc3\xbc"
	            "cher.example");
	mv_authres_free(ar);
}

/* "none" is the no-result form only alone; "none=..." is a method named none. */
static void none_as_method(void **state)
{
	struct mv_authres *ar = parse_ok("example.com; none=pass");

	(void)state;
	assert_int_equal(ar->results.count, 1);
	assert_result(ar, 0, "none", "pass");
	mv_authres_free(ar);
	ar = parse_ok("example.com; NONE (nothing done)\r\n ");
	assert_int_equal(ar->results.count, 0);
	mv_authres_free(ar);
}

/* Versions: "0" and overlong numbers are versions nobody supports. */
static void odd_versions(void **state)
{
	struct mv_authres *ar = parse_ok("example.com 0; dkim/0001=pass; spf/12345678901=none");

	(void)state;
	assert_int_equal(ar->version, MV_AUTHRES_VERSION_UNKNOWN);
	assert_int_equal(ar->results.item[0]->version, 1);
	assert_int_equal(ar->results.item[1]->version, MV_AUTHRES_VERSION_UNKNOWN);
	mv_authres_free(ar);
}

/* Each case: a value outside the grammar and the reason the parser gives. */
struct bad_case {
	const char *name;
	const char *value;
	const char *err;
};

static const struct bad_case bad_cases[] = {
        {"empty value", "", "expected authserv-id at 0"},
        {"no resinfo", "example.com", "expected ';' after authserv-id at 11"},
        {"no authserv-id", "spf=pass smtp.mailfrom=x", "expected ';' after authserv-id at 3"},
        {"method without '='", "example.com; spf pass", "expected '=' after method at 17"},
        {"missing result", "example.com; spf=", "expected result after '=' at 17"},
        {"ptype without property", "example.com; spf=pass smtp=x",
         "expected '.' after ptype at 26"},
        {"property without '='", "example.com; spf=pass smtp.mailfrom x",
         "expected '=' after property at 36"},
        {"slash in a token value", "example.com; dkim=pass header.b=ab/cd", "unexpected '/' at 34"},
        {"colon in a token value", "x; iprev=pass policy.iprev=2001:db8::1",
         "unexpected ':' at 31"},
        {"trailing semicolon", "example.com; spf=pass;", "expected method at 22"},
        {"empty resinfo", "example.com;; spf=pass", "expected method at 12"},
        {"none then more", "example.com; none; spf=pass", "expected '=' after method at 17"},
        {"unterminated comment", "example.com (oops; spf=pass", "unterminated comment at 12"},
        {"unterminated quote", "example.com; spf=pass reason=\"x",
         "unterminated quoted-string at 29"},
        {"bare line break", "example.com;\r\nspf=pass", "expected method at 12"},
        {"control character in quote", "example.com; spf=pass reason=\"a\x01\"",
         "control character in quoted-string at 31"},
        {"second reason", "x; spf=pass reason=a reason=b", "second reason at 27"},
        {"reason after properties", "x; spf=pass smtp.helo=a reason=b",
         "reason after properties at 30"},
        {"keyword ending in hyphen", "x; spf-=pass", "expected method at 3"},
        {"at without domain", "x; auth=pass smtp.auth=user@",
         "expected domain name after '@' at 28"},
        {"single-label domain", "x; auth=pass smtp.auth=user@localhost",
         "expected domain name after '@' at 28"},
        {"no space between statements", "x; spf=pass smtp.helo=\"a\"smtp.mailfrom=b",
         "unexpected 's' at 25"},
        {"method version missing", "x; dkim/=pass", "expected method version after '/' at 8"},
        /* values the registry says are domain names (mv_authres_valid_value) */
        {"dmarc header.from not a domain", "x; dmarc=pass header.from=.net",
         "dmarc header.from is not a domain name at 26"},
        {"quoted header.from not a domain", "x; dmarc=pass header.from=\"a b.example\"",
         "dmarc header.from is not a domain name at 26"},
        {"header.d of one label", "x; dkim=pass header.d=com",
         "dkim header.d is not a domain name at 22"},
        {"header.d with an empty label", "x; DKIM=pass Header.D=a..example",
         "dkim header.d is not a domain name at 22"},
        {"vbr header.md starting with '-'", "x; vbr=pass header.md=-a.example",
         "vbr header.md is not a domain name at 22"},
        {"vbr header.mv with '_'", "x; vbr=pass header.mv=a_b.example",
         "vbr header.mv is not a domain name at 22"},
        {"dnswl dns.zone with a trailing dot", "x; dnswl=pass dns.zone=list.example.",
         "dnswl dns.zone is not a domain name at 23"},
};

static void bad_values_fail_with_reason(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
		const struct bad_case *c = &bad_cases[i];
		struct mv_authres *ar = (struct mv_authres *)1;
		char err[128];
		enum mv_status st =
		        mv_authres_parse(c->value, strlen(c->value), 0, &ar, err, sizeof err);
		if (st != MV_ESYNTAX || strcmp(err, c->err) != 0)
			fail_msg("%s: status %d, err \"%s\", want \"%s\"", c->name, st,
			         st == MV_OK ? "" : err, c->err);
		assert_null(ar);
	}
}

/*
 * Only the registry's domain-valued properties are checked: the same text
 * under another method and a domain that is one (also a single-label From
 * domain and a U-label) parse as before. Consumer mode drops a property
 * that fails the check and keeps the rest of the field.
 */
static void domain_valued_properties(void **state)
{
	struct mv_authres *ar = parse_ok("x; dmarc=pass header.from=example.com;"
	                                 " dmarc=none header.from=\"localhost\";"
	                                 " dkim=pass header.d=b\xc3\xbc"
	                                 "cher.example header.i=.net;"
	                                 " x-foo=pass header.from=.net;"
	                                 " dkim-adsp=pass header.from=.net");

	(void)state;
	assert_int_equal(ar->results.count, 5);
	assert_prop(ar, 1, 0, "header", "from", "localhost");
	assert_prop(ar, 3, 0, "header", "from", ".net");
	mv_authres_free(ar);
	ar = parse_flags("x; dmarc=fail header.from=.net policy.dmarc=reject", MV_AUTHRES_LENIENT);
	assert_result(ar, 0, "dmarc", "fail");
	assert_int_equal(ar->results.item[0]->nprops, 1);
	assert_prop(ar, 0, 0, "policy", "dmarc", "reject");
	mv_authres_free(ar);
}

/* A hostile field of '(' costs one pass and ends at the nesting bound. */
static void deep_comments_are_refused(void **state)
{
	char v[200];
	struct mv_authres *ar = NULL;
	char err[128];

	(void)state;
	memset(v, '(', sizeof v);
	assert_int_equal(mv_authres_parse(v, sizeof v, 0, &ar, err, sizeof err), MV_ESYNTAX);
	assert_string_equal(err, "comments nested too deep at 32");
	assert_null(ar);
}

/* Nesting up to the bound is fine. */
static void nesting_to_the_bound_parses(void **state)
{
	char v[200];
	size_t i, n = 0;
	struct mv_authres *ar;

	(void)state;
	n += (size_t)snprintf(v, sizeof v, "x ");
	for (i = 0; i < MV_AUTHRES_MAX_DEPTH; i++)
		v[n++] = '(';
	for (i = 0; i < MV_AUTHRES_MAX_DEPTH; i++)
		v[n++] = ')';
	n += (size_t)snprintf(v + n, sizeof v - n, "; none");
	ar = parse_ok(v);
	assert_string_equal(ar->serv_id, "x");
	mv_authres_free(ar);
}

static void size_limit(void **state)
{
	size_t n = MV_AUTHRES_MAX + 1;
	char *v = malloc(n + 1);
	struct mv_authres *ar = NULL;
	char err[128];

	(void)state;
	memset(v, ' ', n);
	memcpy(v, "x; none", 7);
	assert_int_equal(mv_authres_parse(v, n, 0, &ar, err, sizeof err), MV_ETOOBIG);
	assert_null(ar);
	assert_string_equal(err, "field longer than 65536 bytes");
	assert_int_equal(mv_authres_parse(v, n - 1, 0, &ar, err, sizeof err), MV_OK);
	mv_authres_free(ar);
	free(v);
}

/* The input is bounded by len, not by a NUL. */
static void length_bounds_the_input(void **state)
{
	const char *v = "example.com; spf=pass smtp.mailfrom=example.net; dkim=fail";
	struct mv_authres *ar = NULL;

	(void)state;
	assert_int_equal(mv_authres_parse(v, strlen("example.com; spf=pass"), 0, &ar, NULL, 0),
	                 MV_OK);
	assert_int_equal(ar->results.count, 1);
	assert_int_equal(ar->results.item[0]->nprops, 0);
	mv_authres_free(ar);
}

/* Consumer mode: the deviations of real-world producers, and nothing is trusted. */
static void lenient_mode(void **state)
{
	struct mv_authres *ar;

	(void)state;
	ar = parse_flags(" spf=pass smtp.mailfrom=x", MV_AUTHRES_LENIENT);
	assert_null(ar->serv_id);
	assert_result(ar, 0, "spf", "pass");
	assert_prop(ar, 0, 0, "smtp", "mailfrom", "x");
	mv_authres_free(ar);

	ar = parse_flags("mx.example; dkim=pass header.b=Qgi/FoC0 header.i=@example.net; "
	                 "x-tls=pass version=TLSv1.2 bits=256; iprev=pass "
	                 "policy.iprev=2001:db8::1; auth=pass smtp.auth=root@localhost;",
	                 MV_AUTHRES_LENIENT);
	assert_string_equal(ar->serv_id, "mx.example");
	assert_int_equal(ar->results.count, 4);
	assert_prop(ar, 0, 0, "header", "b", "Qgi/FoC0");
	assert_prop(ar, 0, 1, "header", "i", "@example.net");
	assert_int_equal(ar->results.item[1]->nprops, 0);
	assert_prop(ar, 2, 0, "policy", "iprev", "2001:db8::1");
	assert_prop(ar, 3, 0, "smtp", "auth", "root@localhost");
	mv_authres_free(ar);

	ar = parse_flags("; dkim/1=pass", MV_AUTHRES_LENIENT);
	assert_null(ar->serv_id);
	assert_int_equal(ar->results.item[0]->version, 1);
	mv_authres_free(ar);
}

/* A conforming field parses the same in both modes. */
static void lenient_mode_agrees_on_conforming_fields(void **state)
{
	const char *v = "example.com 1; dkim=pass reason=\"good\" header.i=@a.example "
	                "header.d=a.example; spf=none smtp.mailfrom=u@b.example";
	struct mv_authres *a = parse_ok(v), *b = parse_flags(v, MV_AUTHRES_LENIENT);

	(void)state;
	assert_true(mv_authres_equal(a, b));
	mv_authres_free(a);
	mv_authres_free(b);
}

static void peek_reads_id_and_version(void **state)
{
	char *id = NULL;
	unsigned v = 7;
	const char *s;

	(void)state;
	s = " (c) example.com 2; this is a grammar from the future";
	assert_int_equal(mv_authres_peek(s, strlen(s), &id, &v), MV_OK);
	assert_string_equal(id, "example.com");
	assert_int_equal(v, 2);
	free(id);
	s = "\"example.com\"; spf=pass";
	assert_int_equal(mv_authres_peek(s, strlen(s), &id, &v), MV_OK);
	assert_string_equal(id, "example.com");
	assert_int_equal(v, 0);
	free(id);
	s = "spf=pass smtp.mailfrom=x";
	assert_int_equal(mv_authres_peek(s, strlen(s), &id, &v), MV_OK);
	assert_null(id);
	s = "  (unterminated";
	assert_int_equal(mv_authres_peek(s, strlen(s), &id, &v), MV_OK);
	assert_null(id);
	assert_int_equal(mv_authres_peek("", 0, &id, &v), MV_OK);
	assert_null(id);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(none_with_version),
	        cmocka_unit_test(several_results_with_folding),
	        cmocka_unit_test(reason_and_at_domain),
	        cmocka_unit_test(comment_heavy_example_parses),
	        cmocka_unit_test(comments_kept_on_request),
	        cmocka_unit_test(keywords_are_lowercased),
	        cmocka_unit_test(quoted_values_unescape),
	        cmocka_unit_test(local_part_forms),
	        cmocka_unit_test(none_as_method),
	        cmocka_unit_test(odd_versions),
	        cmocka_unit_test(bad_values_fail_with_reason),
	        cmocka_unit_test(domain_valued_properties),
	        cmocka_unit_test(deep_comments_are_refused),
	        cmocka_unit_test(nesting_to_the_bound_parses),
	        cmocka_unit_test(size_limit),
	        cmocka_unit_test(length_bounds_the_input),
	        cmocka_unit_test(lenient_mode),
	        cmocka_unit_test(lenient_mode_agrees_on_conforming_fields),
	        cmocka_unit_test(peek_reads_id_and_version),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
