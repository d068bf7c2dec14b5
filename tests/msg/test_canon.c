/* tests/msg/test_canon.c — DKIM canonicalization (RFC 6376 §3.4): header fields and body. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <mailvet/msg.h>

static void sink_to_buf(void *arg, const void *p, size_t n)
{
	mv_buf_append(arg, p, n);
}

/* Canonicalize body[0..n) cut at the given offsets (ascending, in (0, n)). */
static void canon_cuts(enum mv_canon c, int64_t limit, const char *body, size_t n,
                       const size_t *cuts, size_t ncuts, struct mv_buf *out, uint64_t *length)
{
	struct mv_canon_body *cb = NULL;
	size_t prev = 0, k;

	mv_buf_reset(out);
	mv_buf_append(out, "", 0);
	assert_int_equal(mv_canon_body_new(c, limit, sink_to_buf, out, &cb), MV_OK);
	for (k = 0; k <= ncuts; k++) {
		size_t end = k < ncuts ? cuts[k] : n;
		assert_int_equal(mv_canon_body_update(cb, body + prev, end - prev), MV_OK);
		prev = end;
	}
	assert_int_equal(mv_canon_body_final(cb), MV_OK);
	if (length)
		*length = mv_canon_body_length(cb);
	mv_canon_body_free(cb);
	assert_int_equal(mv_buf_status(out), MV_OK);
}

static char *canon_str(enum mv_canon c, const char *body)
{
	struct mv_buf out = MV_BUF_INIT;

	canon_cuts(c, -1, body, strlen(body), NULL, 0, &out, NULL);
	return mv_buf_steal(&out, NULL);
}

static void assert_body_canon(enum mv_canon c, const char *body, const char *want)
{
	char *got = canon_str(c, body);

	if (strcmp(got, want) != 0)
		fail_msg("%s of \"%s\": got \"%s\", want \"%s\"",
		         c == MV_CANON_SIMPLE ? "simple" : "relaxed", body, got, want);
	free(got);
}

struct body_case {
	const char *what;
	const char *body;
	const char *simple;
	const char *relaxed;
};

static const struct body_case body_cases[] = {
        /* RFC 6376 §3.4.5 */
        {"rfc6376 example", " C \r\nD \t E\r\n\r\n\r\n", " C \r\nD \t E\r\n", " C\r\nD E\r\n"},
        /* RFC 6376 §3.4.3 and erratum 3192: an empty body is CRLF in simple, empty in relaxed */
        {"empty body", "", "\r\n", ""},
        {"only one empty line", "\r\n", "\r\n", ""},
        {"only empty lines", "\r\n\r\n\r\n", "\r\n", ""},
        {"only whitespace lines", " \r\n\t\r\n", " \r\n\t\r\n", ""},
        {"trailing empty lines dropped", "a\r\n\r\n\r\n", "a\r\n", "a\r\n"},
        {"inner empty lines kept", "\r\na\r\n\r\nb\r\n", "\r\na\r\n\r\nb\r\n",
         "\r\na\r\n\r\nb\r\n"},
        {"no final line break", "abc", "abc\r\n", "abc\r\n"},
        {"no final line break after lines", "a\r\n\r\nb", "a\r\n\r\nb\r\n", "a\r\n\r\nb\r\n"},
        {"bare lf is a line end", "a\nb\n\n", "a\r\nb\r\n", "a\r\nb\r\n"},
        {"mixed line ends", "a\r\nb\n\r\n\n", "a\r\nb\r\n", "a\r\nb\r\n"},
        {"lone cr is content", "a\rb\r\n", "a\rb\r\n", "a\rb\r\n"},
        {"cr before crlf is content", "a\r\r\n", "a\r\r\n", "a\r\r\n"},
        {"lone cr at end", "a\r", "a\r\r\n", "a\r\r\n"},
        {"lone cr line is not empty", "a\r\n\r\r\n", "a\r\n\r\r\n", "a\r\n\r\r\n"},
        {"wsp around lone cr", "a \t\r  b\r\n", "a \t\r  b\r\n", "a \r b\r\n"},
        {"whitespace runs", "a  \t b\t\r\n", "a  \t b\t\r\n", "a b\r\n"},
        {"leading whitespace kept as one sp", "\t\t a\r\n", "\t\t a\r\n", " a\r\n"},
        {"trailing whitespace line then text", "a\r\n \r\nb\r\n", "a\r\n \r\nb\r\n",
         "a\r\n\r\nb\r\n"},
        {"trailing wsp on unterminated line", "a  ", "a  \r\n", "a \r\n"},
        {"whitespace-only unterminated line", "a\r\n\r\n  ", "a\r\n\r\n  \r\n", "a\r\n\r\n \r\n"},
        {"nul is content", "a\0b", "a\r\n", "a\r\n"}, /* strlen stops at the NUL */
        {"8-bit bytes are content", "\xc3\xa9 \xff\r\n", "\xc3\xa9 \xff\r\n", "\xc3\xa9 \xff\r\n"},
};

static void body_canonicalization_cases(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(body_cases) / sizeof(body_cases[0]); i++) {
		assert_body_canon(MV_CANON_SIMPLE, body_cases[i].body, body_cases[i].simple);
		assert_body_canon(MV_CANON_RELAXED, body_cases[i].body, body_cases[i].relaxed);
	}
}

/*
 * Every way of cutting a small body into chunks (every subset of the n-1
 * inner cut points) gives the output of the single chunk.
 */
static void check_every_split(enum mv_canon c, int64_t limit, const char *body, size_t n)
{
	struct mv_buf one = MV_BUF_INIT, got = MV_BUF_INIT;
	size_t cuts[32], mask, k, nc;
	uint64_t len1 = 0, len2 = 0;

	assert_true(n <= 16);
	canon_cuts(c, limit, body, n, NULL, 0, &one, &len1);
	for (mask = 1; n > 1 && mask < ((size_t)1 << (n - 1)); mask++) {
		for (nc = 0, k = 0; k < n - 1; k++)
			if (mask & ((size_t)1 << k))
				cuts[nc++] = k + 1;
		canon_cuts(c, limit, body, n, cuts, nc, &got, &len2);
		if (got.len != one.len || memcmp(got.data, one.data, one.len) != 0 || len1 != len2)
			fail_msg("split mask %zx of a %zu-byte body differs", mask, n);
	}
	mv_buf_free(&one);
	mv_buf_free(&got);
}

static void every_chunk_split_gives_same_output(void **state)
{
	static const char *const bodies[] = {
	        "",
	        "\r\n",
	        "a\r\n\r\n",
	        " C \r\nD \t E\r\n\r\n",
	        "a\r\rb\n\n",
	        "\r\r\n\r",
	        "x \t\r\n \r\n",
	        "\n\n\r\n \t",
	        "ab  cd\r\n\r\n\r\n",
	        "\r\n\r\n\r\n\r\n\r\n",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		check_every_split(MV_CANON_SIMPLE, -1, bodies[i], strlen(bodies[i]));
		check_every_split(MV_CANON_RELAXED, -1, bodies[i], strlen(bodies[i]));
		check_every_split(MV_CANON_SIMPLE, 3, bodies[i], strlen(bodies[i]));
		check_every_split(MV_CANON_RELAXED, 5, bodies[i], strlen(bodies[i]));
	}
}

/*
 * A second, non-streaming implementation written from RFC 6376 §3.4.3-4 (and
 * the line-end rules of docs/internals/msg.md): split into lines, apply the
 * rules line by line, drop trailing empty lines.
 */
static void reference_canon(enum mv_canon c, const char *in, size_t n, struct mv_buf *out)
{
	struct mv_buf line = MV_BUF_INIT;
	size_t i = 0, blanks = 0;
	int any = 0;

	mv_buf_reset(out);
	mv_buf_append(out, "", 0);
	while (i < n) {
		size_t s = i, e;
		int terminated = 0;
		while (i < n && in[i] != '\n' && !(in[i] == '\r' && i + 1 < n && in[i + 1] == '\n'))
			i++;
		e = i;
		if (i < n) {
			terminated = 1;
			i += in[i] == '\r' ? 2 : 1;
		}
		mv_buf_reset(&line);
		mv_buf_append(&line, "", 0);
		if (c == MV_CANON_RELAXED) {
			size_t k = s;
			while (k < e) {
				if (in[k] == ' ' || in[k] == '\t') {
					while (k < e && (in[k] == ' ' || in[k] == '\t'))
						k++;
					if (k < e || !terminated)
						mv_buf_putc(&line, ' ');
				} else {
					mv_buf_putc(&line, in[k++]);
				}
			}
		} else {
			mv_buf_append(&line, in + s, e - s);
		}
		if (line.len == 0) {
			blanks++;
			continue;
		}
		for (; blanks; blanks--)
			mv_buf_append(out, "\r\n", 2);
		mv_buf_append(out, line.data, line.len);
		mv_buf_append(out, "\r\n", 2);
		any = 1;
	}
	if (!any && c == MV_CANON_SIMPLE)
		mv_buf_append(out, "\r\n", 2);
	mv_buf_free(&line);
}

/* All bodies of up to 6 bytes over {a, SP, TAB, CR, LF}, against the reference, split in two. */
static void small_bodies_match_reference(void **state)
{
	static const char alpha[] = {'a', ' ', '\t', '\r', '\n'};
	struct mv_buf want = MV_BUF_INIT, got = MV_BUF_INIT;
	char body[8];
	size_t n, idx, total, k, cut;
	int c;

	(void)state;
	for (n = 0; n <= 6; n++) {
		for (total = 1, k = 0; k < n; k++)
			total *= sizeof(alpha);
		for (idx = 0; idx < total; idx++) {
			size_t x = idx;
			for (k = 0; k < n; k++, x /= sizeof(alpha))
				body[k] = alpha[x % sizeof(alpha)];
			for (c = MV_CANON_SIMPLE; c <= MV_CANON_RELAXED; c++) {
				reference_canon((enum mv_canon)c, body, n, &want);
				for (cut = 0; cut <= n; cut++) {
					size_t cuts[1] = {cut};
					int nc = cut > 0 && cut < n;
					canon_cuts((enum mv_canon)c, -1, body, n, cuts, (size_t)nc,
					           &got, NULL);
					if (got.len != want.len ||
					    memcmp(got.data, want.data, want.len) != 0)
						fail_msg("body #%zu/%zu canon %d cut %zu differs "
						         "from the "
						         "reference",
						         idx, n, c, cut);
				}
			}
		}
	}
	mv_buf_free(&want);
	mv_buf_free(&got);
}

/*
 * Longer bodies reach the word-at-a-time and bulk paths (runs of 8 bytes and
 * more) that the exhaustive test above cannot: 20,000 bodies of up to 300
 * bytes, drawn with a fixed seed from an alphabet weighted towards plain
 * bytes, each cut at up to four random points, must match the reference.
 */
static void long_random_bodies_match_reference(void **state)
{
	static const char alpha[] = "abcdefghijklmnopqrstuvwxyz   \t\r\n\n";
	struct mv_buf want = MV_BUF_INIT, got = MV_BUF_INIT;
	char body[300];
	size_t cuts[4], n, k, ncuts;
	unsigned long seed = 12345;
	int iter, c;

	(void)state;
	for (iter = 0; iter < 20000; iter++) {
		seed = seed * 6364136223846793005ul + 1442695040888963407ul;
		n = (size_t)(seed >> 33) % sizeof body;
		for (k = 0; k < n; k++) {
			seed = seed * 6364136223846793005ul + 1442695040888963407ul;
			body[k] = alpha[(seed >> 33) % (sizeof alpha - 1)];
		}
		ncuts = 0;
		if (n > 1) {
			seed = seed * 6364136223846793005ul + 1442695040888963407ul;
			ncuts = (size_t)(seed >> 33) % 5;
			for (k = 0; k < ncuts; k++) {
				seed = seed * 6364136223846793005ul + 1442695040888963407ul;
				cuts[k] = 1 + (size_t)(seed >> 33) % (n - 1);
			}
			for (k = 1; k < ncuts; k++) { /* ascending, duplicates allowed */
				size_t j = k, t;
				while (j > 0 && cuts[j - 1] > cuts[j]) {
					t = cuts[j];
					cuts[j] = cuts[j - 1];
					cuts[j - 1] = t;
					j--;
				}
			}
		}
		for (c = MV_CANON_SIMPLE; c <= MV_CANON_RELAXED; c++) {
			reference_canon((enum mv_canon)c, body, n, &want);
			canon_cuts((enum mv_canon)c, -1, body, n, cuts, ncuts, &got, NULL);
			if (got.len != want.len || memcmp(got.data, want.data, want.len) != 0)
				fail_msg("random body %d (%zu bytes, %zu cuts) canon %d differs "
				         "from the reference",
				         iter, n, ncuts, c);
			if (want.len > 2) { /* l= cuts the same output short */
				int64_t limit = (int64_t)(want.len / 2);
				canon_cuts((enum mv_canon)c, limit, body, n, cuts, ncuts, &got,
				           NULL);
				if (got.len != (size_t)limit ||
				    memcmp(got.data, want.data, (size_t)limit) != 0)
					fail_msg("random body %d canon %d with l=%lld differs",
					         iter, c, (long long)limit);
			}
		}
	}
	mv_buf_free(&want);
	mv_buf_free(&got);
}

static void length_limit_truncates_output_not_length(void **state)
{
	struct mv_buf out = MV_BUF_INIT;
	const char *body = "abc  def\r\n\r\n";
	uint64_t len = 0;

	(void)state;
	canon_cuts(MV_CANON_RELAXED, 0, body, strlen(body), NULL, 0, &out, &len);
	assert_int_equal(out.len, 0);
	assert_int_equal(len, strlen("abc def\r\n"));
	canon_cuts(MV_CANON_RELAXED, 5, body, strlen(body), NULL, 0, &out, &len);
	assert_int_equal(out.len, 5);
	assert_memory_equal(out.data, "abc d", 5);
	assert_int_equal(len, 9);
	canon_cuts(MV_CANON_SIMPLE, 100, body, strlen(body), NULL, 0, &out, &len);
	assert_string_equal(out.data, "abc  def\r\n");
	assert_int_equal(len, 10);
	/* the empty body's CRLF counts too */
	canon_cuts(MV_CANON_SIMPLE, 1, "", 0, NULL, 0, &out, &len);
	assert_int_equal(out.len, 1);
	assert_int_equal(len, 2);
	mv_buf_free(&out);
}

static void very_long_lines_pass_through(void **state)
{
	size_t n = (size_t)3 * 1024 * 1024 + 7, i;
	char *body = malloc(n + 2);
	struct mv_buf out = MV_BUF_INIT;
	size_t cuts[2] = {1, n / 2 + 3};
	uint64_t len = 0;

	(void)state;
	memset(body, 'x', n);
	for (i = 1000; i < 200000; i++)
		body[i] = (i & 1) ? ' ' : '\t'; /* one long WSP run */
	body[n] = '\r';
	body[n + 1] = '\n';
	canon_cuts(MV_CANON_SIMPLE, -1, body, n + 2, cuts, 2, &out, &len);
	assert_int_equal(out.len, n + 2);
	assert_memory_equal(out.data, body, n + 2);
	canon_cuts(MV_CANON_RELAXED, -1, body, n + 2, cuts, 2, &out, &len);
	assert_int_equal(out.len, n + 2 - (200000 - 1000) + 1);
	assert_int_equal(len, out.len);
	assert_int_equal(out.data[1000], ' ');
	assert_int_equal(out.data[1001], 'x');
	mv_buf_free(&out);
	free(body);
}

static void misuse_is_einval(void **state)
{
	struct mv_canon_body *cb = NULL;
	struct mv_buf out = MV_BUF_INIT;

	(void)state;
	assert_int_equal(mv_canon_body_new(MV_CANON_SIMPLE, -1, NULL, NULL, &cb), MV_EINVAL);
	assert_null(cb);
	assert_int_equal(mv_canon_body_new((enum mv_canon)7, -1, sink_to_buf, &out, &cb),
	                 MV_EINVAL);
	assert_int_equal(mv_canon_body_new(MV_CANON_SIMPLE, -2, sink_to_buf, &out, &cb), MV_EINVAL);
	assert_int_equal(mv_canon_body_new(MV_CANON_SIMPLE, -1, sink_to_buf, &out, &cb), MV_OK);
	assert_int_equal(mv_canon_body_update(cb, NULL, 3), MV_EINVAL);
	assert_int_equal(mv_canon_body_update(cb, NULL, 0), MV_OK);
	assert_int_equal(mv_canon_body_final(cb), MV_OK);
	assert_int_equal(mv_canon_body_update(cb, "x", 1), MV_EINVAL);
	assert_int_equal(mv_canon_body_final(cb), MV_EINVAL);
	assert_int_equal(mv_canon_body_length(cb), 2);
	mv_canon_body_free(cb);
	mv_canon_body_free(NULL);
	assert_int_equal(mv_canon_body_length(NULL), 0);
	mv_buf_free(&out);
}

/* ---- header fields -------------------------------------------------------- */

static void assert_header_canon(enum mv_canon c, const char *raw, const char *want)
{
	struct mv_buf out = MV_BUF_INIT;

	mv_buf_puts(&out, "prefix|"); /* the result is appended */
	assert_int_equal(mv_canon_header(c, raw, strlen(raw), &out), MV_OK);
	if (strncmp(out.data, "prefix|", 7) != 0 || strcmp(out.data + 7, want) != 0)
		fail_msg("%s of \"%s\": got \"%s\", want \"%s\"",
		         c == MV_CANON_SIMPLE ? "simple" : "relaxed", raw, out.data + 7, want);
	mv_buf_free(&out);
}

struct header_case {
	const char *what;
	const char *raw;
	const char *simple;
	const char *relaxed;
};

static const struct header_case header_cases[] = {
        /* RFC 6376 §3.4.5 */
        {"rfc6376 example a", "A: X\r\n", "A: X\r\n", "a:X\r\n"},
        {"rfc6376 example b", "B : Y\t\r\n\tZ  \r\n", "B : Y\t\r\n\tZ  \r\n", "b:Y Z\r\n"},
        {"name lowercased", "Content-TYPE: Text/Plain\r\n", "Content-TYPE: Text/Plain\r\n",
         "content-type:Text/Plain\r\n"},
        {"empty value", "X:\r\n", "X:\r\n", "x:\r\n"},
        {"whitespace value", "X: \t \r\n", "X: \t \r\n", "x:\r\n"},
        {"folding whitespace collapses", "Subject: a \r\n\t b\r\n  c\r\n",
         "Subject: a \r\n\t b\r\n  c\r\n", "subject:a b c\r\n"},
        {"bare lf becomes crlf", "Subject: a\n b\n", "Subject: a\r\n b\r\n", "subject:a b\r\n"},
        {"no final line break", "To: x", "To: x\r\n", "to:x\r\n"},
        {"lone cr is content", "X: a\rb \r\n", "X: a\rb \r\n", "x:a\rb\r\n"},
        {"colon in value", "X: a:b : c\r\n", "X: a:b : c\r\n", "x:a:b : c\r\n"},
        {"8-bit value", "X: \xc3\xa9  t\r\n", "X: \xc3\xa9  t\r\n", "x:\xc3\xa9 t\r\n"},
};

static void header_canonicalization_cases(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(header_cases) / sizeof(header_cases[0]); i++) {
		assert_header_canon(MV_CANON_SIMPLE, header_cases[i].raw, header_cases[i].simple);
		assert_header_canon(MV_CANON_RELAXED, header_cases[i].raw, header_cases[i].relaxed);
	}
}

static void header_canon_of_parsed_fields(void **state)
{
	const char *s = "DKIM-Signature: v=1;\r\n\td=example.com; b=ab\r\n  cd\r\n\r\n";
	struct mv_msg *m = NULL;
	struct mv_buf out = MV_BUF_INIT;
	const struct mv_msg_field *f;

	(void)state;
	assert_int_equal(mv_msg_parse(s, strlen(s), NULL, &m, NULL, 0), MV_OK);
	f = mv_msg_field(m, 0);
	assert_int_equal(mv_canon_header(MV_CANON_RELAXED, f->raw, f->raw_len, &out), MV_OK);
	assert_string_equal(out.data, "dkim-signature:v=1; d=example.com; b=ab cd\r\n");
	mv_buf_reset(&out);
	assert_int_equal(mv_canon_header(MV_CANON_SIMPLE, f->raw, f->raw_len, &out), MV_OK);
	assert_int_equal(out.len, f->raw_len);
	assert_memory_equal(out.data, f->raw, f->raw_len);
	mv_buf_free(&out);
	mv_msg_free(m);
}

static void header_without_colon_is_error(void **state)
{
	struct mv_buf out = MV_BUF_INIT;

	(void)state;
	assert_int_equal(mv_canon_header(MV_CANON_RELAXED, "X y\r\n", 5, &out), MV_ESYNTAX);
	assert_int_equal(mv_canon_header(MV_CANON_SIMPLE, "", 0, &out), MV_ESYNTAX);
	assert_int_equal(mv_canon_header((enum mv_canon)9, "X:y", 3, &out), MV_EINVAL);
	assert_int_equal(mv_canon_header(MV_CANON_SIMPLE, NULL, 3, &out), MV_EINVAL);
	assert_int_equal(out.len, 0);
	mv_buf_free(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(body_canonicalization_cases),
	        cmocka_unit_test(every_chunk_split_gives_same_output),
	        cmocka_unit_test(small_bodies_match_reference),
	        cmocka_unit_test(long_random_bodies_match_reference),
	        cmocka_unit_test(length_limit_truncates_output_not_length),
	        cmocka_unit_test(very_long_lines_pass_through),
	        cmocka_unit_test(misuse_is_einval),
	        cmocka_unit_test(header_canonicalization_cases),
	        cmocka_unit_test(header_canon_of_parsed_fields),
	        cmocka_unit_test(header_without_colon_is_error),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
