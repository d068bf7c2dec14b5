/* tests/spf/test_spf_record.c — the SPF record grammar (RFC 7208 §4.5, §4.6.1, §5, §6, §7.1). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "spf/spf_int.h"

static struct mv_spf_record *parse_ok(const char *s)
{
	struct mv_spf_record *rec = NULL;
	char err[160];

	if (mv_spf_record_parse(s, strlen(s), &rec, err, sizeof err) != MV_OK)
		fail_msg("'%s' did not parse: %s", s, err);
	return rec;
}

static void syntax_error(const char *s, size_t len)
{
	struct mv_spf_record *rec = (void *)1;
	char err[160];

	if (mv_spf_record_parse(s, len, &rec, err, sizeof err) != MV_ESYNTAX)
		fail_msg("'%.*s' parsed but should not", (int)len, s);
	assert_null(rec);
	assert_true(err[0] != '\0');
}

#define BAD(lit) syntax_error(lit, sizeof(lit) - 1)

/* §4.5: "v=spf1" (any case) followed by a space or the end. */
static void version_must_end_at_space_or_end(void **state)
{
	(void)state;
	assert_true(mv_spf_record_is_spf1("v=spf1", 6));
	assert_true(mv_spf_record_is_spf1("V=SpF1 -all", 11));
	assert_false(mv_spf_record_is_spf1("v=spf10", 7));
	assert_false(mv_spf_record_is_spf1("v=spf1mx", 8));
	assert_false(mv_spf_record_is_spf1("v=spf", 5));
	assert_false(mv_spf_record_is_spf1(" v=spf1", 7));
}

/* Every mechanism and qualifier of §4.6.2 and §5, with their arguments. */
static void every_mechanism_parses(void **state)
{
	struct mv_spf_record *rec;

	(void)state;
	rec = parse_ok("v=spf1 +all -include:_spf.example.com ~a ?a:mail.example.com/24 "
	               "a/24//64 mx:%{d}//48 mx ptr ptr:example.org ip4:192.0.2.0/24 "
	               "ip6:2001:db8::/32 exists:%{ir}.%{l1r+-}._spf.%{d} IP4:192.0.2.1");
	assert_int_equal(rec->nterms, 13);
	assert_int_equal(rec->terms[0].mech, MV_SPF_M_ALL);
	assert_int_equal(rec->terms[0].qualifier, MV_SPF_PASS);
	assert_int_equal(rec->terms[1].mech, MV_SPF_M_INCLUDE);
	assert_int_equal(rec->terms[1].qualifier, MV_SPF_FAIL);
	assert_string_equal(rec->terms[1].domain, "_spf.example.com");
	assert_int_equal(rec->terms[2].qualifier, MV_SPF_SOFTFAIL);
	assert_null(rec->terms[2].domain);
	assert_int_equal(rec->terms[3].qualifier, MV_SPF_NEUTRAL);
	assert_string_equal(rec->terms[3].domain, "mail.example.com");
	assert_int_equal(rec->terms[3].cidr4, 24);
	assert_int_equal(rec->terms[3].cidr6, 128);
	assert_int_equal(rec->terms[4].cidr4, 24);
	assert_int_equal(rec->terms[4].cidr6, 64);
	assert_string_equal(rec->terms[5].domain, "%{d}");
	assert_int_equal(rec->terms[5].cidr4, 32);
	assert_int_equal(rec->terms[5].cidr6, 48);
	assert_int_equal(rec->terms[7].mech, MV_SPF_M_PTR);
	assert_int_equal(rec->terms[9].mech, MV_SPF_M_IP4);
	assert_memory_equal(rec->terms[9].net, "\xc0\x00\x02\x00", 4);
	assert_int_equal(rec->terms[10].mech, MV_SPF_M_IP6);
	assert_int_equal(rec->terms[10].cidr6, 32);
	assert_int_equal(rec->terms[11].mech, MV_SPF_M_EXISTS);
	assert_int_equal(rec->terms[12].mech, MV_SPF_M_IP4);
	assert_true(rec->has_all);
	mv_spf_record_free(rec);
}

/* §6: redirect and exp; unknown modifiers are ignored but checked (§4.6.1, §12). */
static void modifiers_parse(void **state)
{
	struct mv_spf_record *rec;

	(void)state;
	rec = parse_ok("v=spf1  mx  redirect=_spf.example.com exp=explain.%{d} "
	               "moo.cow-far_out=man:dog/cat default=+ empty= ");
	assert_int_equal(rec->nterms, 1);
	assert_string_equal(rec->redirect, "_spf.example.com");
	assert_string_equal(rec->exp, "explain.%{d}");
	assert_false(rec->has_all);
	mv_spf_record_free(rec);
	rec = parse_ok("v=spf1");
	assert_int_equal(rec->nterms, 0);
	mv_spf_record_free(rec);
}

/* §7.1: a domain-spec ends in a macro or in "." toplabel ["."]; any visible character but '%' before. */
static void domain_spec_grammar(void **state)
{
	(void)state;
	assert_true(mv_spf_domain_spec_valid("foo:bar/baz.example.com", 23));
	assert_true(mv_spf_domain_spec_valid("foo.example.xn--zckzah", 22));
	assert_true(mv_spf_domain_spec_valid("example.com.", 12));
	assert_true(mv_spf_domain_spec_valid("%{d}", 4));
	assert_true(mv_spf_domain_spec_valid("_spf.%{d2}", 10));
	assert_true(mv_spf_domain_spec_valid("mail.example...com", 18));
	assert_true(mv_spf_domain_spec_valid("a.123-456", 9));
	assert_false(mv_spf_domain_spec_valid("museum", 6));
	assert_false(mv_spf_domain_spec_valid("museum.", 7));
	assert_false(mv_spf_domain_spec_valid("abc.123", 7));
	assert_false(mv_spf_domain_spec_valid("example.-com", 12));
	assert_false(mv_spf_domain_spec_valid("example.com-", 12));
	assert_false(mv_spf_domain_spec_valid("example.com:8080", 16));
	assert_false(mv_spf_domain_spec_valid("111.222.33.44", 13));
	assert_false(mv_spf_domain_spec_valid("foo-bar", 7));
	assert_false(mv_spf_domain_spec_valid("%{d}.", 5));
	assert_false(mv_spf_domain_spec_valid("", 0));
}

/* The syntax errors of the RFC 7208 test suite's record sections, and others of §4.6.1/§5. */
static void syntax_errors_anywhere_are_found(void **state)
{
	(void)state;
	BAD("v=spf1 ip4:1.2.3.4 -all moo");        /* unknown mechanism (§4.6.1) */
	BAD("v=spf1 moo.cow/far_out=man:dog/cat"); /* not a modifier name */
	BAD("v=spf1 moo.cow:far_out=man:dog/cat");
	BAD("v=spf1 ip4:1.2.3.4 redirect:t2.example.com");
	BAD("v=spf1 a:foo-bar -all");
	BAD("v=spf1 -all.");
	BAD("v=spf1 -all:foobar");
	BAD("v=spf1 -all/8");
	BAD("v=spf1 ptr/0 -all");
	BAD("v=spf1 ptr:");
	BAD("v=spf1 a/33 -all");
	BAD("v=spf1 a//129 -all");
	BAD("v=spf1 a/24/64 -all");
	BAD("v=spf1 a:example.com:8080");
	BAD("v=spf1 a:111.222.33.44");
	BAD("v=spf1 a:abc.123");
	BAD("v=spf1 a:museum");
	BAD("v=spf1 a:museum.");
	BAD("v=spf1 a:example.-com");
	BAD("v=spf1 a:");
	BAD("v=spf1 a:foo.example.com\0");
	BAD("v=spf1 include +all");
	BAD("v=spf1 include: -all");
	BAD("v=spf1 include:ip5.example.com/24 -all");
	BAD("v=spf1 mx//129 -all");
	BAD("v=spf1 mx: -all");
	BAD("v=spf1 exists:");
	BAD("v=spf1 exists");
	BAD("v=spf1 exists:mail.example.com/24");
	BAD("v=spf1 ip4:1.2.3.4/33 -all");
	BAD("v=spf1 ip4:1.2.3.4/032 -all");
	BAD("v=spf1 ip4");
	BAD("v=spf1 ip4:1.2.3.4//32");
	BAD("v=spf1 ip4:1.2.3.4:8080");
	BAD("v=spf1 ip4:1.2.3");
	BAD("v=spf1 ip4:01.2.3.4");
	BAD("v=spf1 -all ip6");
	BAD("v=spf1 ip6:::1.1.1.1/129");
	BAD("v=spf1 ip6:::1.1.1.1//33");
	BAD("v=spf1 ip6::CAFE::BABE");
	BAD("v=spf1 1up=foo");
	BAD("v=spf1 =all");
	BAD("v=spf1 -all foo=%abc");
	BAD("v=spf1 exp= -all");
	BAD("v=spf1 exp=-all");
	BAD("v=spf1 redirect=-all ?all");
	BAD("v=spf1 ?all redirect=");
	BAD("v=spf1 exp=a.example.com -all exp=b.example.com");
	BAD("v=spf1 redirect=a.example.com -all redirect=a.example.com");
	BAD("v=spf1 -all exp=%{r}.example.com");
	BAD("v=spf1 exists:%{a}.example.com");
	BAD("v=spf1 a:ctrl.example.com\rptr -all");
	BAD("v=spf1 ip4:192.0.2.5\n include:example.com ~all");
	BAD("v=spf1 a:\xEF\xBB\xBFgarbage.example.net -all");
	BAD("v=spf1 \x80"
	    "a:example.net -all");
	BAD("v=spf1 a:example.net \x96"
	    "all");
	BAD("v=spf10");
}

/* §4.6.1: terms are separated by one or more spaces; trailing spaces are fine. */
static void spaces_between_and_after_terms(void **state)
{
	struct mv_spf_record *rec;

	(void)state;
	rec = parse_ok("v=spf1 a  -all ");
	assert_int_equal(rec->nterms, 2);
	mv_spf_record_free(rec);
}

/* §4.6.1 and DESIGN.md: a record longer than the limit is refused, not truncated. */
static void oversized_record_is_too_big(void **state)
{
	size_t n = MV_SPF_RECORD_MAX + 10;
	char *s = malloc(n);
	struct mv_spf_record *rec = NULL;

	(void)state;
	assert_non_null(s);
	memset(s, ' ', n);
	memcpy(s, "v=spf1", 6);
	assert_int_equal(mv_spf_record_parse(s, n, &rec, NULL, 0), MV_ETOOBIG);
	assert_null(rec);
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(version_must_end_at_space_or_end),
	        cmocka_unit_test(every_mechanism_parses),
	        cmocka_unit_test(modifiers_parse),
	        cmocka_unit_test(domain_spec_grammar),
	        cmocka_unit_test(syntax_errors_anywhere_are_found),
	        cmocka_unit_test(spaces_between_and_after_terms),
	        cmocka_unit_test(oversized_record_is_too_big),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
