/* tests/authres/test_format.c — mv_authres_format: folding, quoting, and parse(format(x)) == x. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <mailvet/authres.h>

static struct mv_result *result(const char *method, const char *res)
{
	struct mv_result *r = NULL;

	assert_int_equal(mv_result_new(method, res, &r), MV_OK);
	return r;
}

static void add(struct mv_authres *ar, struct mv_result *r)
{
	assert_int_equal(mv_result_list_add(&ar->results, r), MV_OK);
}

static char *format(const struct mv_authres *ar)
{
	struct mv_buf b = MV_BUF_INIT;

	assert_int_equal(mv_authres_format(ar, &b), MV_OK);
	return mv_buf_steal(&b, NULL);
}

/* Appendix B.4's first field, as mailvet writes it: one result a line when they do not fit. */
static void b4_layout(void **state)
{
	struct mv_authres *ar = NULL;
	struct mv_result *r;
	char *s;

	(void)state;
	assert_int_equal(mv_authres_new("example.com", 0, &ar), MV_OK);
	r = result("auth", "pass");
	assert_int_equal(mv_result_set_comment(r, "cram-md5"), MV_OK);
	assert_int_equal(mv_result_add_prop(r, "smtp", "auth", "sender@example.net"), MV_OK);
	add(ar, r);
	r = result("spf", "pass");
	assert_int_equal(mv_result_add_prop(r, "smtp", "mailfrom", "example.net"), MV_OK);
	add(ar, r);
	s = format(ar);
	assert_string_equal(s, "Authentication-Results: example.com;\r\n"
	                       "    auth=pass (cram-md5) smtp.auth=sender@example.net;\r\n"
	                       "    spf=pass smtp.mailfrom=example.net");
	free(s);
	mv_authres_free(ar);
}

/* What fits stays on one line (Appendix B.3). */
static void short_field_on_one_line(void **state)
{
	struct mv_authres *ar = NULL;
	struct mv_result *r;
	char *s;

	(void)state;
	assert_int_equal(mv_authres_new("example.com", 0, &ar), MV_OK);
	r = result("spf", "pass");
	assert_int_equal(mv_result_add_prop(r, "smtp", "mailfrom", "example.net"), MV_OK);
	add(ar, r);
	s = format(ar);
	assert_string_equal(s, "Authentication-Results: example.com; spf=pass "
	                       "smtp.mailfrom=example.net");
	free(s);
	mv_authres_free(ar);
}

static void none_and_version(void **state)
{
	struct mv_authres *ar = NULL;
	struct mv_buf b = MV_BUF_INIT;

	(void)state;
	assert_int_equal(mv_authres_new("example.org", 1, &ar), MV_OK);
	assert_int_equal(mv_authres_format_value(ar, &b), MV_OK);
	assert_string_equal(b.data, " example.org 1; none");
	mv_buf_free(&b);
	mv_authres_free(ar);
}

/* A result longer than a line is split between its statements, never inside one. */
static void long_result_splits_between_statements(void **state)
{
	struct mv_authres *ar = NULL;
	struct mv_result *r;
	char *s, *line, *save = NULL;
	int lines = 0;

	(void)state;
	assert_int_equal(mv_authres_new("mx.example.com", 0, &ar), MV_OK);
	r = result("dkim", "pass");
	assert_int_equal(mv_result_set_reason(r, "signature verified with a 2048-bit key"), MV_OK);
	assert_int_equal(mv_result_add_prop(r, "header", "d", "newyork.example.com"), MV_OK);
	assert_int_equal(mv_result_add_prop(r, "header", "i", "@newyork.example.com"), MV_OK);
	assert_int_equal(mv_result_add_prop(r, "header", "s", "selector-2024-long"), MV_OK);
	assert_int_equal(mv_result_add_prop(r, "header", "a", "rsa-sha256"), MV_OK);
	assert_int_equal(mv_result_add_prop(r, "header", "b", "abcdefgh"), MV_OK);
	add(ar, r);
	s = format(ar);
	assert_string_equal(
	        s, "Authentication-Results: mx.example.com;\r\n"
	           "    dkim=pass reason=\"signature verified with a 2048-bit key\"\r\n"
	           "    header.d=newyork.example.com header.i=@newyork.example.com\r\n"
	           "    header.s=selector-2024-long header.a=rsa-sha256 header.b=abcdefgh");
	for (line = strtok_r(s, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		assert_true(strlen(line) <= MV_AUTHRES_FOLD + 1); /* + the CR */
		lines++;
	}
	assert_int_equal(lines, 4);
	free(s);
	mv_authres_free(ar);
}

/* How each value is written in a property (pvalue) and as a reason (value). */
struct quoting_case {
	const char *name;
	const char *value;
	const char *as_pvalue;
	const char *as_reason;
};

static const struct quoting_case quoting_cases[] = {
        {"token", "pass-1.2", "pass-1.2", "pass-1.2"},
        {"domain", "example.com", "example.com", "example.com"},
        {"address", "user@example.com", "user@example.com", "\"user@example.com\""},
        {"at-domain", "@example.com", "@example.com", "\"@example.com\""},
        {"slash in local-part", "a/b@example.com", "a/b@example.com", "\"a/b@example.com\""},
        {"slash alone", "ab/cd", "\"ab/cd\"", "\"ab/cd\""},
        {"empty", "", "\"\"", "\"\""},
        {"space", "a b", "\"a b\"", "\"a b\""},
        {"quote and backslash", "a\"b\\c", "\"a\\\"b\\\\c\"", "\"a\\\"b\\\\c\""},
        {"semicolon", "a;b", "\"a;b\"", "\"a;b\""},
        {"equals", "a=b", "\"a=b\"", "\"a=b\""},
        {"single-label domain", "user@localhost", "\"user@localhost\"", "\"user@localhost\""},
        {"U-label domain",
         "b\xc3\xbc"
         "cher.example",
         "b\xc3\xbc"
         "cher.example",
         "\"b\xc3\xbc"
         "cher.example\""},
        {"IPv6", "2001:db8::1", "\"2001:db8::1\"", "\"2001:db8::1\""},
        {"double dot local-part", "a..b@example.com", "\"a..b@example.com\"",
         "\"a..b@example.com\""},
};

static void values_quoted_where_needed(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof quoting_cases / sizeof quoting_cases[0]; i++) {
		const struct quoting_case *c = &quoting_cases[i];
		struct mv_authres *ar = NULL;
		struct mv_result *r = result("x-test", "pass");
		char want[256], *s;

		assert_int_equal(mv_result_set_reason(r, c->value), MV_OK);
		assert_int_equal(mv_result_add_prop(r, "header", "v", c->value), MV_OK);
		assert_int_equal(mv_authres_new("a.example", 0, &ar), MV_OK);
		add(ar, r);
		s = format(ar);
		snprintf(want, sizeof want, "x-test=pass reason=%s", c->as_reason);
		if (!strstr(s, want) || !strchr(" \r", strstr(s, want)[strlen(want)]))
			fail_msg("%s: reason written as \"%s\", want \"%s\"", c->name, s, want);
		snprintf(want, sizeof want, "header.v=%s", c->as_pvalue);
		if (strcmp(s + strlen(s) - strlen(want), want) != 0)
			fail_msg("%s: pvalue written as \"%s\", want \"%s\"", c->name, s, want);
		free(s);
		mv_authres_free(ar);
	}
}

static void refuses_what_cannot_be_written(void **state)
{
	struct mv_authres *ar = NULL;
	struct mv_result *r;
	struct mv_buf b = MV_BUF_INIT;

	(void)state;
	assert_int_equal(mv_authres_new(NULL, 0, &ar), MV_OK);
	assert_int_equal(mv_authres_format(ar, &b), MV_EINVAL);
	mv_authres_free(ar);
	assert_int_equal(mv_authres_new("example.com", 0, &ar), MV_OK);
	r = result("spf", "pass");
	assert_int_equal(mv_result_add_prop(r, "smtp", "helo", "x"), MV_OK);
	r->props[0].value[0] = '\n'; /* broken behind the builder's back */
	add(ar, r);
	mv_buf_reset(&b);
	assert_int_equal(mv_authres_format(ar, &b), MV_EINVAL);
	mv_buf_free(&b);
	mv_authres_free(ar);
}

/* ---- Round trip over many built lists ----------------------------------- */

static const char *const awkward[] = {
        "",
        "pass",
        "example.com",
        "a b",
        "  leading and trailing  ",
        "\"",
        "\\",
        "a\"b\\c\"",
        "@",
        "@example.com",
        "user@example.com",
        "a/b=c?d@mail.example.org",
        "\"q d\"@example.com",
        "a;b",
        "a=b",
        ";",
        "=",
        "(not a comment)",
        "unbalanced ) paren (",
        "UTF-8: gr\xc3\xbc\xc3\x9f"
        "e \xe2\x9c\x93",
        "b\xc3\xbc"
        "cher.example",
        "tab\there",
        "2001:db8::1",
        "none",
        "reason",
        "-",
        "1",
        "x.y.",
        "user@localhost",
        "a..b@example.com",
        "Qgi/FoC0",
        "a very long value that goes on and on, longer than any line could hold, "
        "so the formatter has to put it on a line of its own and let it overflow",
};

static const char *const keywords[] = {"spf",  "dkim", "DMARC",  "x-custom", "reason",
                                       "none", "smtp", "header", "policy",   "mailfrom",
                                       "i",    "d",    "b",      "a1-2",     "9"};

/* A small deterministic generator, so a failure names a reproducible case. */
static unsigned next(unsigned *seed)
{
	*seed = *seed * 1103515245u + 12345u;
	return (*seed >> 16) & 0x7fff;
}

static const char *pick(const char *const *a, size_t n, unsigned *seed)
{
	return a[next(seed) % n];
}

#define AWKWARD(seed) pick(awkward, sizeof awkward / sizeof awkward[0], seed)
#define KEYWORD(seed) pick(keywords, sizeof keywords / sizeof keywords[0], seed)

static struct mv_authres *build(unsigned *seed)
{
	static const unsigned versions[] = {0, 0, 1, 2, 17, MV_AUTHRES_VERSION_UNKNOWN};
	struct mv_authres *ar = NULL;
	size_t i, j, nres = next(seed) % 6, nprops;

	assert_int_equal(mv_authres_new(AWKWARD(seed), versions[next(seed) % 6], &ar), MV_OK);
	if (next(seed) % 4 == 0)
		ar->comment = strdup(AWKWARD(seed));
	for (i = 0; i < nres; i++) {
		struct mv_result *r = result(KEYWORD(seed), KEYWORD(seed));
		mv_result_set_version(r, versions[next(seed) % 6]);
		if (next(seed) % 3 == 0)
			assert_int_equal(mv_result_set_reason(r, AWKWARD(seed)), MV_OK);
		if (next(seed) % 3 == 0)
			assert_int_equal(mv_result_set_comment(r, AWKWARD(seed)), MV_OK);
		nprops = next(seed) % 5;
		for (j = 0; j < nprops; j++) {
			const char *ptype = KEYWORD(seed), *prop = KEYWORD(seed),
			           *val = AWKWARD(seed);
			/* a property the registry types (dkim header.d) parses back only as such */
			if (mv_authres_valid_value(r->method, ptype, prop, val) != MV_OK)
				val = "example.com";
			assert_int_equal(mv_result_add_prop(r, ptype, prop, val), MV_OK);
		}
		add(ar, r);
	}
	return ar;
}

/* Folding as promised: CRLF + 4 spaces, and a line passes 78 only for one unit. */
static void check_layout(const char *s)
{
	const char *p = s, *eol;

	assert_memory_equal(s, "Authentication-Results:", 23);
	for (;;) {
		eol = strstr(p, "\r\n");
		if (!eol)
			break;
		assert_memory_equal(eol + 2, "    ", 4);
		assert_true(eol[6] != ' ' && eol[6] != '\t');
		p = eol + 2;
	}
	for (p = s; *p; p++)
		if (*p == '\n')
			assert_true(p > s && p[-1] == '\r');
}

static void round_trip_many_lists(void **state)
{
	unsigned seed = 20240601u;
	int n;

	(void)state;
	for (n = 0; n < 3000; n++) {
		unsigned at = seed;
		struct mv_authres *x = build(&seed), *y = NULL, *z = NULL;
		char *s = format(x), err[128];
		size_t off = strlen("Authentication-Results:");
		check_layout(s);
		if (mv_authres_parse(s + off, strlen(s) - off, MV_AUTHRES_COMMENTS, &y, err,
		                     sizeof err) != MV_OK)
			fail_msg("case seed %u: \"%s\" does not parse: %s", at, s, err);
		if (!mv_authres_equal(x, y))
			fail_msg("case seed %u: \"%s\" parses to another field", at, s);
		assert_int_equal(mv_authres_parse(s + off, strlen(s) - off,
		                                  MV_AUTHRES_COMMENTS | MV_AUTHRES_LENIENT, &z, err,
		                                  sizeof err),
		                 MV_OK);
		assert_true(mv_authres_equal(x, z));
		free(s);
		mv_authres_free(x);
		mv_authres_free(y);
		mv_authres_free(z);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(b4_layout),
	        cmocka_unit_test(short_field_on_one_line),
	        cmocka_unit_test(none_and_version),
	        cmocka_unit_test(long_result_splits_between_statements),
	        cmocka_unit_test(values_quoted_where_needed),
	        cmocka_unit_test(refuses_what_cannot_be_written),
	        cmocka_unit_test(round_trip_many_lists),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
