/* tests/msg/test_taglist.c — tag=value lists, RFC 6376 §3.2. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <mailvet/msg.h>

static struct mv_taglist tl;

static enum mv_status parse(const char *s)
{
	return mv_taglist_parse(s, strlen(s), &tl, NULL, 0);
}

static void assert_tag(const char *name, const char *value)
{
	const struct mv_tag *t = mv_taglist_get(&tl, name);

	if (t == NULL)
		fail_msg("no tag %s", name);
	if (t->value_len != strlen(value) || memcmp(t->value, value, t->value_len) != 0)
		fail_msg("%s=[%.*s], want [%s]", name, (int)t->value_len, t->value, value);
}

/* §3.2: whitespace around names, '=' and values is not part of them. */
static void whitespace_around_tags_is_ignored(void **state)
{
	(void)state;
	assert_int_equal(parse(" v = 1 ;\ta=rsa-sha256;  d\t=\texample.com  "), MV_OK);
	assert_int_equal(tl.count, 3);
	assert_tag("v", "1");
	assert_tag("a", "rsa-sha256");
	assert_tag("d", "example.com");
}

/* §3.2: a value may be folded; the folding stays inside the value. */
static void folding_inside_a_value_is_kept(void **state)
{
	(void)state;
	assert_int_equal(parse("h=from : to :\r\n subject; b=abc\r\n\tdef"), MV_OK);
	assert_tag("h", "from : to :\r\n subject");
	assert_tag("b", "abc\r\n\tdef");
}

/* The raw span of b= runs from '=' to ';' with the FWS, as §3.7 deletes it. */
static void raw_value_includes_surrounding_fws(void **state)
{
	const char *s = "b= abc \r\n def ;bh=x";
	const struct mv_tag *t;

	(void)state;
	assert_int_equal(parse(s), MV_OK);
	t = mv_taglist_get(&tl, "b");
	assert_ptr_equal(t->raw_value, s + 2);
	assert_int_equal(t->raw_len, strlen(" abc \r\n def "));
}

/* §3.2: "Tags with duplicate names MUST NOT occur within a single tag-list". */
static void duplicate_tag_is_an_error(void **state)
{
	char err[64];

	(void)state;
	assert_int_equal(mv_taglist_parse("d=a; s=b; d=c", 13, &tl, err, sizeof err), MV_ESYNTAX);
	assert_string_equal(err, "duplicate tag 'd'");
	assert_int_equal(tl.count, 0);
}

/* §3.2: tag names are case-sensitive, so "D" and "d" are different tags. */
static void tag_names_are_case_sensitive(void **state)
{
	(void)state;
	assert_int_equal(parse("d=lower; D=upper"), MV_OK);
	assert_tag("d", "lower");
	assert_tag("D", "upper");
}

/* A trailing ';' is allowed; empty values are values. */
static void trailing_semicolon_and_empty_value(void **state)
{
	(void)state;
	assert_int_equal(parse("p=; t=y;"), MV_OK);
	assert_int_equal(tl.count, 2);
	assert_tag("p", "");
}

/* Deployed records have ";;": tolerated as an empty tag-spec. */
static void empty_tag_spec_is_tolerated(void **state)
{
	(void)state;
	assert_int_equal(parse("v=DKIM1;; k=rsa; ;p=abc"), MV_OK);
	assert_int_equal(tl.count, 3);
}

struct bad_case {
	const char *name, *text;
};

/* Each of these breaks the grammar of §3.2. */
static void grammar_violations_are_errors(void **state)
{
	static const struct bad_case cases[] = {
	        {"no equals sign", "v=1; abc; d=x"},
	        {"name starting with a digit", "1a=b"},
	        {"name with a hyphen", "a-b=c"},
	        {"control byte in a value", "a=b\001c"},
	        {"8-bit byte in a value", "a=caf\xc3\xa9"},
	        {"line break not followed by whitespace", "a=b\r\nc=d"},
	        {"lone CR", "a=b\rc"},
	        {"line break at the end", "a=b\r\n"},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++)
		if (parse(cases[i].text) != MV_ESYNTAX)
			fail_msg("%s: accepted", cases[i].name);
}

/* Bounds: more tags than MV_TAGLIST_MAX_TAGS, or a text over the size limit. */
static void limits_are_enforced(void **state)
{
	char buf[MV_TAGLIST_MAX_TAGS * 8 + 16];
	size_t n = 0;
	int i;
	char *big;

	(void)state;
	for (i = 0; i <= MV_TAGLIST_MAX_TAGS; i++)
		n += (size_t)snprintf(buf + n, sizeof buf - n, "t%d=1;", i);
	assert_int_equal(parse(buf), MV_ETOOBIG);
	big = malloc(MV_TAGLIST_MAX_LEN + 2);
	memset(big, 'a', MV_TAGLIST_MAX_LEN + 1);
	big[0] = 'a';
	big[1] = '=';
	big[MV_TAGLIST_MAX_LEN + 1] = '\0';
	assert_int_equal(parse(big), MV_ETOOBIG);
	free(big);
}

/* Base64 values lose every space and line break. */
static void value_without_whitespace(void **state)
{
	char *v;
	size_t n;

	(void)state;
	assert_int_equal(parse("b=AB CD\r\n\tEF=="), MV_OK);
	v = mv_taglist_value_nows(mv_taglist_get(&tl, "b"), &n);
	assert_string_equal(v, "ABCDEF==");
	assert_int_equal(n, 8);
	free(v);
}

/* RFC 6376 §3.5: l=, t= and x= are 1 to 76 digits; larger values saturate. */
static void numbers_are_bounded_digits(void **state)
{
	(void)state;
	assert_int_equal(
	        parse("t=1528637909; x=0; l=" /* 77 digits */
	              "12345678901234567890123456789012345678901234567890123456789012345678"
	              "901234567; a=99999999999999999999; b=12a; c="),
	        MV_OK);
	assert_int_equal(mv_taglist_number(mv_taglist_get(&tl, "t")), 1528637909);
	assert_int_equal(mv_taglist_number(mv_taglist_get(&tl, "x")), 0);
	assert_int_equal(mv_taglist_number(mv_taglist_get(&tl, "l")), -1);
	assert_true(mv_taglist_number(mv_taglist_get(&tl, "a")) == INT64_MAX);
	assert_int_equal(mv_taglist_number(mv_taglist_get(&tl, "b")), -1);
	assert_int_equal(mv_taglist_number(mv_taglist_get(&tl, "c")), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(whitespace_around_tags_is_ignored),
	        cmocka_unit_test(folding_inside_a_value_is_kept),
	        cmocka_unit_test(raw_value_includes_surrounding_fws),
	        cmocka_unit_test(duplicate_tag_is_an_error),
	        cmocka_unit_test(tag_names_are_case_sensitive),
	        cmocka_unit_test(trailing_semicolon_and_empty_value),
	        cmocka_unit_test(empty_tag_spec_is_tolerated),
	        cmocka_unit_test(grammar_violations_are_errors),
	        cmocka_unit_test(limits_are_enforced),
	        cmocka_unit_test(numbers_are_bounded_digits),
	        cmocka_unit_test(value_without_whitespace),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
