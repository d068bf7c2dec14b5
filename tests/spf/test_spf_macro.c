/* tests/spf/test_spf_macro.c — SPF macro expansion (RFC 7208 §7), the §7.4 examples verbatim. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "spf/spf_int.h"

/* §7.4: <sender> strong-bad@email.example.com, client 192.0.2.3 or 2001:db8::cb01. */
struct fixture {
	struct mv_ip ip4, ip6;
	struct mv_spf_macro_ctx ctx;
};

static const char *ptr_name(void *arg)
{
	(void)arg;
	return "mx.example.org"; /* §7.4: the PTR domain name of the client IP */
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);

	assert_non_null(f);
	assert_int_equal(mv_cidr_ip_parse("192.0.2.3", &f->ip4), MV_OK);
	assert_int_equal(mv_cidr_ip_parse("2001:db8::cb01", &f->ip6), MV_OK);
	f->ctx.sender = "strong-bad@email.example.com";
	f->ctx.local = "strong-bad";
	f->ctx.sender_domain = "email.example.com";
	f->ctx.domain = "email.example.com";
	f->ctx.helo = "mx.example.org";
	f->ctx.ip = &f->ip4;
	f->ctx.receiver = "mx.receiver.example";
	f->ctx.now = 1400000000;
	f->ctx.validated_name = ptr_name;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	free(*state);
	return 0;
}

static void expect_expansion(const struct mv_spf_macro_ctx *ctx, enum mv_spf_macro_mode mode,
                             const char *in, const char *want)
{
	struct mv_buf out = MV_BUF_INIT;

	assert_int_equal(mv_spf_macro_expand(ctx, in, strlen(in), mode, &out), MV_OK);
	assert_non_null(out.data);
	assert_string_equal(out.data, want);
	mv_buf_free(&out);
}

static void expands(const struct mv_spf_macro_ctx *ctx, const char *in, const char *want)
{
	expect_expansion(ctx, MV_SPF_MACRO_DOMAIN, in, want);
}

static void rfc7208_7_4_single_macros(void **state)
{
	struct fixture *f = *state;

	expands(&f->ctx, "%{s}", "strong-bad@email.example.com");
	expands(&f->ctx, "%{o}", "email.example.com");
	expands(&f->ctx, "%{d}", "email.example.com");
	expands(&f->ctx, "%{d4}", "email.example.com");
	expands(&f->ctx, "%{d3}", "email.example.com");
	expands(&f->ctx, "%{d2}", "example.com");
	expands(&f->ctx, "%{d1}", "com");
	expands(&f->ctx, "%{dr}", "com.example.email");
	expands(&f->ctx, "%{d2r}", "example.email");
	expands(&f->ctx, "%{l}", "strong-bad");
	expands(&f->ctx, "%{l-}", "strong.bad");
	expands(&f->ctx, "%{lr}", "strong-bad");
	expands(&f->ctx, "%{lr-}", "bad.strong");
	expands(&f->ctx, "%{l1r-}", "strong");
}

static void rfc7208_7_4_macro_strings_ipv4(void **state)
{
	struct fixture *f = *state;

	expands(&f->ctx, "%{ir}.%{v}._spf.%{d2}", "3.2.0.192.in-addr._spf.example.com");
	expands(&f->ctx, "%{lr-}.lp._spf.%{d2}", "bad.strong.lp._spf.example.com");
	expands(&f->ctx, "%{lr-}.lp.%{ir}.%{v}._spf.%{d2}",
	        "bad.strong.lp.3.2.0.192.in-addr._spf.example.com");
	expands(&f->ctx, "%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}",
	        "3.2.0.192.in-addr.strong.lp._spf.example.com");
	expands(&f->ctx, "%{d2}.trusted-domains.example.net",
	        "example.com.trusted-domains.example.net");
}

static void rfc7208_7_4_macro_string_ipv6(void **state)
{
	struct fixture *f = *state;

	f->ctx.ip = &f->ip6;
	expands(&f->ctx, "%{ir}.%{v}._spf.%{d2}",
	        "1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6._spf.example."
	        "com");
}

/* §7.3: uppercase letters are URL-escaped after expansion; unreserved characters stay. */
static void uppercase_macro_is_url_escaped(void **state)
{
	struct fixture *f = *state;

	f->ctx.local = "~jack&jill=up-a_b3.c";
	expect_expansion(&f->ctx, MV_SPF_MACRO_EXPLAIN, "l=%{L}", "l=~jack%26jill%3Dup-a_b3.c");
	expands(&f->ctx, "%{S}", "strong-bad%40email.example.com");
	expands(&f->ctx, "%{D2R}", "example.email");
}

/* §7.1: "%%", "%_" and "%-" stand for "%", a space and "%20". */
static void escapes_expand(void **state)
{
	struct fixture *f = *state;

	expands(&f->ctx, "macro%%percent%_%_space%-url-space.example.com",
	        "macro%percent  space%20url-space.example.com");
}

/* §7.3: several delimiters split at once; the parts are joined with dots. */
static void multiple_delimiters_split_together(void **state)
{
	struct fixture *f = *state;

	f->ctx.local = "foo-bar+zip+quux";
	expands(&f->ctx, "%{l2r+-}", "bar.foo");
	f->ctx.local = "philip-gladstone-test";
	expands(&f->ctx, "%{l2r-}", "gladstone.philip");
}

/* §7.3: the exp-only letters c, r, t, and %{p} through the lookup callback. */
static void explanation_letters(void **state)
{
	struct fixture *f = *state;

	expect_expansion(&f->ctx, MV_SPF_MACRO_EXPLAIN, "%{c} %{r} %{t} %{p} %{h}",
	                 "192.0.2.3 mx.receiver.example 1400000000 mx.example.org mx.example.org");
	f->ctx.ip = &f->ip6;
	expect_expansion(&f->ctx, MV_SPF_MACRO_EXPLAIN, "%{c} is %{v}", "2001:db8::cb01 is ip6");
}

/* A digit transformer larger than the number of parts keeps them all; 128 must work. */
static void large_digit_keeps_all_parts(void **state)
{
	struct fixture *f = *state;

	expands(&f->ctx, "%{d128}", "email.example.com");
	expands(&f->ctx, "%{d99999}", "email.example.com");
}

static void rejects(enum mv_spf_macro_mode mode, const char *s)
{
	struct mv_buf out = MV_BUF_INIT;

	assert_false(mv_spf_macro_valid(s, strlen(s), mode));
	mv_buf_free(&out);
}

/* §7.1: '%' must be followed by '{', '%', '_' or '-'; letters from the list; no zero digit. */
static void grammar_errors_are_rejected(void **state)
{
	(void)state;
	rejects(MV_SPF_MACRO_DOMAIN, "%(ir).sbl.example.com");
	rejects(MV_SPF_MACRO_DOMAIN, "foo%.sbl.example.com");
	rejects(MV_SPF_MACRO_DOMAIN, "abc%");
	rejects(MV_SPF_MACRO_DOMAIN, "%{a}.example.com");
	rejects(MV_SPF_MACRO_DOMAIN, "%{d0}");
	rejects(MV_SPF_MACRO_DOMAIN, "%{d");
	rejects(MV_SPF_MACRO_DOMAIN, "%{d2r:}");
	rejects(MV_SPF_MACRO_DOMAIN, "a b");
	rejects(MV_SPF_MACRO_DOMAIN, "caf\xc3\xa9");
	/* c, r and t only in explanations (§7.1) */
	rejects(MV_SPF_MACRO_DOMAIN, "%{r}.example.com");
	rejects(MV_SPF_MACRO_DOMAIN, "%{c}.example.com");
	rejects(MV_SPF_MACRO_DOMAIN, "%{t}.example.com");
	assert_true(mv_spf_macro_valid("%{r} %{c} %{t}", 14, MV_SPF_MACRO_EXPLAIN));
	assert_true(mv_spf_macro_valid("%{R}", 4, MV_SPF_MACRO_MODIFIER));
	assert_true(mv_spf_macro_valid("", 0, MV_SPF_MACRO_MODIFIER));
	assert_true(mv_spf_macro_valid("%{iR}", 5, MV_SPF_MACRO_DOMAIN));
}

/* §7.3: more than 253 octets lose labels from the left; a trailing dot goes. */
static void long_names_are_truncated_from_the_left(void **state)
{
	struct mv_buf b = MV_BUF_INIT;
	int i;

	(void)state;
	for (i = 0; i < 30; i++)
		mv_buf_puts(&b, "abcdefghi.");
	mv_buf_puts(&b, "example.com.");
	assert_true(mv_spf_domain_finish(&b));
	assert_true(b.len <= 253);
	assert_int_equal(b.data[b.len - 1], 'm');
	assert_int_equal(memcmp(b.data, "abcdefghi.", 10), 0);
	mv_buf_free(&b);

	mv_buf_puts(&b, "a..b.example");
	assert_false(mv_spf_domain_finish(&b));
	mv_buf_free(&b);
	for (i = 0; i < 64; i++)
		mv_buf_putc(&b, 'x');
	mv_buf_puts(&b, ".example.com");
	assert_false(mv_spf_domain_finish(&b)); /* a 64-octet label cannot be asked about */
	mv_buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(rfc7208_7_4_single_macros, setup, teardown),
	        cmocka_unit_test_setup_teardown(rfc7208_7_4_macro_strings_ipv4, setup, teardown),
	        cmocka_unit_test_setup_teardown(rfc7208_7_4_macro_string_ipv6, setup, teardown),
	        cmocka_unit_test_setup_teardown(uppercase_macro_is_url_escaped, setup, teardown),
	        cmocka_unit_test_setup_teardown(escapes_expand, setup, teardown),
	        cmocka_unit_test_setup_teardown(multiple_delimiters_split_together, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(explanation_letters, setup, teardown),
	        cmocka_unit_test_setup_teardown(large_digit_keeps_all_parts, setup, teardown),
	        cmocka_unit_test(grammar_errors_are_rejected),
	        cmocka_unit_test(long_names_are_truncated_from_the_left),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
