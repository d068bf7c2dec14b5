/* tests/msg/test_msg_parse.c — mv_msg_parse: fields, folding, line ends, body, limits. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <mailvet/msg.h>

static struct mv_msg *parse_ok(const char *s)
{
	struct mv_msg *m = NULL;
	char err[128];

	assert_int_equal(mv_msg_parse(s, strlen(s), NULL, &m, err, sizeof(err)), MV_OK);
	assert_non_null(m);
	return m;
}

static void assert_field(const struct mv_msg *m, size_t i, const char *name, const char *raw,
                         const char *value, const char *unfolded)
{
	const struct mv_msg_field *f = mv_msg_field(m, i);

	assert_non_null(f);
	assert_string_equal(f->name, name);
	assert_int_equal(f->name_len, strlen(name));
	assert_int_equal(f->raw_len, strlen(raw));
	assert_memory_equal(f->raw, raw, f->raw_len);
	assert_int_equal(f->value_len, strlen(value));
	assert_memory_equal(f->value, value, f->value_len);
	assert_string_equal(f->unfolded, unfolded);
	assert_int_equal(f->unfolded_len, strlen(unfolded));
}

static void assert_body(const struct mv_msg *m, const char *data, const char *body)
{
	const char *b = NULL;
	size_t len = 99, off = 99;

	mv_msg_body(m, &b, &len, &off);
	assert_int_equal(len, strlen(body));
	assert_memory_equal(b, body, len);
	assert_int_equal(off, strlen(data) - strlen(body));
	assert_ptr_equal(b, data + off);
}

static void crlf_message_splits_into_fields_and_body(void **state)
{
	const char *s = "From: a@example.com\r\nSubject: hi\r\n\r\nbody line\r\n";
	struct mv_msg *m = parse_ok(s);

	(void)state;
	assert_int_equal(mv_msg_field_count(m), 2);
	assert_field(m, 0, "From", "From: a@example.com\r\n", " a@example.com", " a@example.com");
	assert_field(m, 1, "Subject", "Subject: hi\r\n", " hi", " hi");
	assert_body(m, s, "body line\r\n");
	assert_null(mv_msg_field(m, 2));
	mv_msg_free(m);
}

static void bare_lf_message_keeps_bare_lf_in_raw(void **state)
{
	const char *s = "From: a@example.com\nSubject: hi\n  there\n\nbody\n";
	struct mv_msg *m = parse_ok(s);

	(void)state;
	assert_int_equal(mv_msg_field_count(m), 2);
	assert_field(m, 0, "From", "From: a@example.com\n", " a@example.com", " a@example.com");
	assert_field(m, 1, "Subject", "Subject: hi\n  there\n", " hi\n  there", " hi  there");
	assert_body(m, s, "body\n");
	mv_msg_free(m);
}

/* RFC 5322 §2.2.3: unfolding removes the CRLF that precedes WSP, nothing else. */
static void folded_field_keeps_raw_and_unfolds_value(void **state)
{
	const char *s = "Subject: This\r\n is a test\r\n\tof folding\r\nTo: x\r\n\r\n";
	struct mv_msg *m = parse_ok(s);

	(void)state;
	assert_field(m, 0, "Subject", "Subject: This\r\n is a test\r\n\tof folding\r\n",
	             " This\r\n is a test\r\n\tof folding", " This is a test\tof folding");
	assert_field(m, 1, "To", "To: x\r\n", " x", " x");
	assert_body(m, s, "");
	mv_msg_free(m);
}

static void mixed_line_ends_are_each_kept(void **state)
{
	const char *s = "A: 1\r\n 2\n 3\r\nB:4\n\r\nrest";
	struct mv_msg *m = parse_ok(s);

	(void)state;
	assert_field(m, 0, "A", "A: 1\r\n 2\n 3\r\n", " 1\r\n 2\n 3", " 1 2 3");
	assert_field(m, 1, "B", "B:4\n", "4", "4");
	assert_body(m, s, "rest");
	mv_msg_free(m);
}

static void lone_cr_stays_inside_value(void **state)
{
	const char *s = "X: a\rb\r\n\r\n";
	struct mv_msg *m = parse_ok(s);

	(void)state;
	assert_field(m, 0, "X", "X: a\rb\r\n", " a\rb", " a\rb");
	mv_msg_free(m);
}

/* RFC 5322 §4.5.3 obs-optional: WSP between the name and the colon. */
static void whitespace_before_colon_is_accepted(void **state)
{
	const char *s = "Subject \t: hi\r\n\r\n";
	struct mv_msg *m = parse_ok(s);

	(void)state;
	assert_field(m, 0, "Subject", "Subject \t: hi\r\n", " hi", " hi");
	mv_msg_free(m);
}

static void header_without_empty_line_has_no_body(void **state)
{
	const char *s = "From: a\r\nTo: b";
	struct mv_msg *m = parse_ok(s);

	(void)state;
	assert_int_equal(mv_msg_field_count(m), 2);
	assert_field(m, 1, "To", "To: b", " b", " b");
	assert_body(m, s, "");
	mv_msg_free(m);
}

static void empty_message_has_nothing(void **state)
{
	const char *s = "";
	struct mv_msg *m = parse_ok(s);

	(void)state;
	assert_int_equal(mv_msg_field_count(m), 0);
	assert_body(m, s, "");
	mv_msg_free(m);
}

static void message_starting_with_empty_line_is_all_body(void **state)
{
	const char *s = "\r\nFrom: not a field\r\n";
	struct mv_msg *m = parse_ok(s);

	(void)state;
	assert_int_equal(mv_msg_field_count(m), 0);
	assert_body(m, s, "From: not a field\r\n");
	mv_msg_free(m);
}

/* A line of only WSP is a continuation (obs-FWS), not the end of the header. */
static void whitespace_only_line_continues_field(void **state)
{
	const char *s = "A: 1\r\n \r\nB: 2\r\n\r\nbody";
	struct mv_msg *m = parse_ok(s);

	(void)state;
	assert_int_equal(mv_msg_field_count(m), 2);
	assert_field(m, 0, "A", "A: 1\r\n \r\n", " 1\r\n ", " 1 ");
	assert_body(m, s, "body");
	mv_msg_free(m);
}

static void empty_value_is_empty(void **state)
{
	const char *s = "X:\r\nY: \r\n\r\n";
	struct mv_msg *m = parse_ok(s);

	(void)state;
	assert_field(m, 0, "X", "X:\r\n", "", "");
	assert_field(m, 1, "Y", "Y: \r\n", " ", " ");
	mv_msg_free(m);
}

static void nul_in_value_is_kept_with_lengths(void **state)
{
	static const char s[] = "X: a\0b\r\n\r\n";
	struct mv_msg *m = NULL;
	const struct mv_msg_field *f;

	(void)state;
	assert_int_equal(mv_msg_parse(s, sizeof(s) - 1, NULL, &m, NULL, 0), MV_OK);
	f = mv_msg_field(m, 0);
	assert_int_equal(f->value_len, 4);
	assert_memory_equal(f->value, " a\0b", 4);
	assert_int_equal(f->unfolded_len, 4);
	mv_msg_free(m);
}

static void find_is_case_insensitive_and_ordered(void **state)
{
	const char *s = "Received: 1\r\nDKIM-Signature: a\r\nreceived: 2\r\n"
	                "dkim-signature: b\r\n\r\n";
	struct mv_msg *m = parse_ok(s);
	size_t i;

	(void)state;
	i = mv_msg_find(m, "DKIM-SIGNATURE", 0);
	assert_int_equal(i, 1);
	i = mv_msg_find(m, "dkim-signature", i + 1);
	assert_int_equal(i, 3);
	assert_int_equal(mv_msg_find(m, "dkim-signature", i + 1), (size_t)-1);
	assert_int_equal(mv_msg_find(m, "received", 0), 0);
	assert_int_equal(mv_msg_find(m, "Received", 1), 2);
	assert_int_equal(mv_msg_find(m, "Receive", 0), (size_t)-1);
	assert_int_equal(mv_msg_find(m, "Received-SPF", 0), (size_t)-1);
	assert_int_equal(mv_msg_find(m, "received", 99), (size_t)-1);
	mv_msg_free(m);
}

/* Strings stay valid after the input is gone (the message holds a copy). */
static void fields_outlive_input(void **state)
{
	char *s = strdup("Subject: copy\r\n\r\n");
	struct mv_msg *m = NULL;

	(void)state;
	assert_int_equal(mv_msg_parse(s, strlen(s), NULL, &m, NULL, 0), MV_OK);
	memset(s, 'z', strlen(s));
	free(s);
	assert_field(m, 0, "Subject", "Subject: copy\r\n", " copy", " copy");
	mv_msg_free(m);
}

struct bad_case {
	const char *what;
	const char *msg;
	enum mv_status st;
	const char *err_has;
};

static const struct bad_case bad_cases[] = {
        {"no colon", "From a@example.com\r\n\r\n", MV_ESYNTAX, "line 1: no colon"},
        {"no colon on later line", "A: 1\r\nB: 2\r\nbroken\r\n\r\n", MV_ESYNTAX, "line 3"},
        {"continuation first", " folded: x\r\nA: 1\r\n\r\n", MV_ESYNTAX, "continuation"},
        {"empty name", ": x\r\n\r\n", MV_ESYNTAX, "empty header field name"},
        {"space inside name", "Sub ject: x\r\n\r\n", MV_ESYNTAX, "invalid character"},
        {"8-bit in name", "Sub\xc3\xa9: x\r\n\r\n", MV_ESYNTAX, "invalid character"},
        {"nul in name", "Su\0b: x\r\n\r\n", MV_ESYNTAX, "invalid character"},
        {"mbox From line", "From someone Mon Jan  1 00:00:00 2024\r\nA: 1\r\n\r\n", MV_ESYNTAX,
         "line 1"},
};

static void malformed_headers_are_errors(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *c = &bad_cases[i];
		struct mv_msg *m = (struct mv_msg *)&m; /* must be reset to NULL */
		char err[128];
		size_t n = strlen(c->msg);

		if (strcmp(c->what, "nul in name") == 0)
			n = 17;
		assert_int_equal(mv_msg_parse(c->msg, n, NULL, &m, err, sizeof(err)), c->st);
		assert_null(m);
		if (!strstr(err, c->err_has))
			fail_msg("%s: error \"%s\" lacks \"%s\"", c->what, err, c->err_has);
	}
}

static char *repeat_field(size_t count, size_t value_len, const char *eol)
{
	size_t per = 3 + value_len + strlen(eol), i;
	char *s = malloc(per * count + 1), *p = s;

	for (i = 0; i < count; i++) {
		memcpy(p, "X: ", 3);
		memset(p + 3, 'v', value_len);
		memcpy(p + 3 + value_len, eol, strlen(eol));
		p += per;
	}
	*p = '\0';
	return s;
}

static void field_count_limit(void **state)
{
	struct mv_msg_limits lim;
	struct mv_msg *m = NULL;
	char err[128];
	char *s;

	(void)state;
	mv_msg_limits_default(&lim);
	assert_int_equal(lim.max_fields, 1000);
	lim.max_fields = 10;
	s = repeat_field(10, 5, "\r\n");
	assert_int_equal(mv_msg_parse(s, strlen(s), &lim, &m, err, sizeof(err)), MV_OK);
	assert_int_equal(mv_msg_field_count(m), 10);
	mv_msg_free(m);
	free(s);
	s = repeat_field(11, 5, "\r\n");
	assert_int_equal(mv_msg_parse(s, strlen(s), &lim, &m, err, sizeof(err)), MV_ETOOBIG);
	assert_non_null(strstr(err, "too many header fields"));
	assert_null(m);
	free(s);
	/* the default limit */
	s = repeat_field(1001, 1, "\n");
	assert_int_equal(mv_msg_parse(s, strlen(s), NULL, &m, err, sizeof(err)), MV_ETOOBIG);
	free(s);
}

static void line_length_limit(void **state)
{
	struct mv_msg_limits lim;
	struct mv_msg *m = NULL;
	char err[128];
	char *s;

	(void)state;
	mv_msg_limits_default(&lim);
	assert_int_equal(lim.max_line, 64 * 1024);
	lim.max_line = 100;
	s = repeat_field(1, 97, "\r\n"); /* "X: " + 97 = 100 bytes */
	assert_int_equal(mv_msg_parse(s, strlen(s), &lim, &m, err, sizeof(err)), MV_OK);
	mv_msg_free(m);
	free(s);
	s = repeat_field(1, 98, "\r\n");
	assert_int_equal(mv_msg_parse(s, strlen(s), &lim, &m, err, sizeof(err)), MV_ETOOBIG);
	assert_non_null(strstr(err, "line 1: header line too long"));
	free(s);
	s = repeat_field(1, 98, ""); /* last line without a line break */
	assert_int_equal(mv_msg_parse(s, strlen(s), &lim, &m, err, sizeof(err)), MV_ETOOBIG);
	free(s);
	/* a long body line is not a header line */
	s = strdup("A: 1\r\n\r\n");
	{
		size_t n = strlen(s) + 500;
		char *big = calloc(1, n + 1);
		memcpy(big, s, strlen(s));
		memset(big + strlen(s), 'b', 500);
		assert_int_equal(mv_msg_parse(big, n, &lim, &m, err, sizeof(err)), MV_OK);
		mv_msg_free(m);
		free(big);
	}
	free(s);
}

static void header_size_limit(void **state)
{
	struct mv_msg_limits lim;
	struct mv_msg *m = NULL;
	char err[128];
	char *s;

	(void)state;
	mv_msg_limits_default(&lim);
	assert_int_equal(lim.max_header_bytes, 1024 * 1024);
	lim.max_header_bytes = 100;
	s = repeat_field(10, 5, "\n"); /* 10 x 9 = 90 bytes */
	assert_int_equal(mv_msg_parse(s, strlen(s), &lim, &m, err, sizeof(err)), MV_OK);
	mv_msg_free(m);
	free(s);
	s = repeat_field(12, 5, "\n"); /* 108 bytes */
	assert_int_equal(mv_msg_parse(s, strlen(s), &lim, &m, err, sizeof(err)), MV_ETOOBIG);
	assert_non_null(strstr(err, "header block too large"));
	free(s);
}

static void null_arguments_are_einval(void **state)
{
	struct mv_msg *m = NULL;

	(void)state;
	assert_int_equal(mv_msg_parse(NULL, 5, NULL, &m, NULL, 0), MV_EINVAL);
	assert_int_equal(mv_msg_parse("A: b\r\n", 6, NULL, NULL, NULL, 0), MV_EINVAL);
	assert_int_equal(mv_msg_field_count(NULL), 0);
	assert_null(mv_msg_field(NULL, 0));
	assert_int_equal(mv_msg_find(NULL, "a", 0), (size_t)-1);
	mv_msg_free(NULL);
}

/* A big realistic header parses, and every field's raw bytes tile the header. */
static void raw_fields_tile_the_header(void **state)
{
	const char *s = "Received: from a by b;\r\n\tMon, 1 Jan 2024 00:00:00 +0000\r\n"
	                "DKIM-Signature: v=1; a=rsa-sha256; d=example.com;\r\n s=sel; "
	                "h=from:to;\r\n b=abc\r\n\tdef\r\nFrom: \"Joe\" <joe@example.com>\r\n"
	                "To: x@example.org\r\n\r\nHello\r\n";
	struct mv_msg *m = parse_ok(s);
	size_t i, off = 0;

	(void)state;
	assert_int_equal(mv_msg_field_count(m), 4);
	for (i = 0; i < mv_msg_field_count(m); i++) {
		const struct mv_msg_field *f = mv_msg_field(m, i);
		assert_memory_equal(f->raw, s + off, f->raw_len);
		assert_ptr_equal(f->value, f->raw + f->name_len + 1);
		off += f->raw_len;
	}
	assert_int_equal(off + 2, strlen(s) - strlen("Hello\r\n"));
	mv_msg_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(crlf_message_splits_into_fields_and_body),
	        cmocka_unit_test(bare_lf_message_keeps_bare_lf_in_raw),
	        cmocka_unit_test(folded_field_keeps_raw_and_unfolds_value),
	        cmocka_unit_test(mixed_line_ends_are_each_kept),
	        cmocka_unit_test(lone_cr_stays_inside_value),
	        cmocka_unit_test(whitespace_before_colon_is_accepted),
	        cmocka_unit_test(header_without_empty_line_has_no_body),
	        cmocka_unit_test(empty_message_has_nothing),
	        cmocka_unit_test(message_starting_with_empty_line_is_all_body),
	        cmocka_unit_test(whitespace_only_line_continues_field),
	        cmocka_unit_test(empty_value_is_empty),
	        cmocka_unit_test(nul_in_value_is_kept_with_lengths),
	        cmocka_unit_test(find_is_case_insensitive_and_ordered),
	        cmocka_unit_test(fields_outlive_input),
	        cmocka_unit_test(malformed_headers_are_errors),
	        cmocka_unit_test(field_count_limit),
	        cmocka_unit_test(line_length_limit),
	        cmocka_unit_test(header_size_limit),
	        cmocka_unit_test(null_arguments_are_einval),
	        cmocka_unit_test(raw_fields_tile_the_header),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
