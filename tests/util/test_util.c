/* tests/util/test_util.c — buffers, JSON strings, string helpers. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <mailvet/util.h>

static void buf_appends_and_steals(void **state)
{
	struct mv_buf b = MV_BUF_INIT;
	size_t len = 0;
	char *s;
	int i;

	(void)state;
	for (i = 0; i < 1000; i++)
		mv_buf_printf(&b, "%d,", i % 10);
	assert_int_equal(mv_buf_status(&b), MV_OK);
	assert_int_equal(b.len, 2000);
	s = mv_buf_steal(&b, &len);
	assert_non_null(s);
	assert_int_equal(len, 2000);
	assert_memory_equal(s, "0,1,2,", 6);
	assert_null(b.data);
	free(s);
}

static void empty_buf_steals_empty_string(void **state)
{
	struct mv_buf b = MV_BUF_INIT;
	char *s;

	(void)state;
	s = mv_buf_steal(&b, NULL);
	assert_string_equal(s, "");
	free(s);
}

static void buf_reset_keeps_memory(void **state)
{
	struct mv_buf b = MV_BUF_INIT;

	(void)state;
	mv_buf_puts(&b, "hello");
	mv_buf_reset(&b);
	assert_int_equal(b.len, 0);
	assert_string_equal(b.data, "");
	mv_buf_putc(&b, 'x');
	assert_string_equal(b.data, "x");
	mv_buf_free(&b);
	assert_null(b.data);
}

static char *json(const char *s, size_t n)
{
	struct mv_buf b = MV_BUF_INIT;

	mv_json_string(&b, s, n);
	return mv_buf_steal(&b, NULL);
}

static void json_escapes_specials(void **state)
{
	char *s;

	(void)state;
	s = json("a\"b\\c\r\n\t\x01", 9);
	assert_string_equal(s, "\"a\\\"b\\\\c\\r\\n\\t\\u0001\"");
	free(s);
}

static void json_keeps_utf8_and_replaces_invalid(void **state)
{
	char *s;

	(void)state;
	s = json("\xc3\xa9", 2); /* é */
	assert_string_equal(s, "\"\xc3\xa9\"");
	free(s);
	s = json("\xff\xc3", 2); /* invalid byte, truncated sequence */
	assert_string_equal(s, "\"\\ufffd\\ufffd\"");
	free(s);
	s = json("\xed\xa0\x80", 3); /* a UTF-16 surrogate is not UTF-8 */
	assert_string_equal(s, "\"\\ufffd\\ufffd\\ufffd\"");
	free(s);
	s = json("\xc0\xaf", 2); /* overlong '/' */
	assert_string_equal(s, "\"\\ufffd\\ufffd\"");
	free(s);
}

static void json_null_is_null(void **state)
{
	struct mv_buf b = MV_BUF_INIT;

	(void)state;
	mv_json_cstr(&b, NULL);
	assert_string_equal(b.data, "null");
	mv_buf_free(&b);
}

static void ascii_helpers(void **state)
{
	char s[] = "MiXeD\xc3\x89";
	char *d;

	(void)state;
	mv_ascii_lower(s, strlen(s));
	assert_string_equal(s, "mixed\xc3\x89");
	assert_true(mv_ascii_ieq("DKIM", 4, "dkim"));
	assert_false(mv_ascii_ieq("DKIM", 3, "dkim"));
	assert_false(mv_ascii_ieq("DKIMX", 5, "dkim"));
	assert_true(mv_ascii_ieq_mem("Example.COM", 11, "example.com", 11));
	assert_false(mv_ascii_ieq_mem("example.com", 11, "example.co", 10));
	assert_false(mv_ascii_ieq_mem("a\0b", 3, "a\0c", 3));
	assert_true(mv_ascii_is_wsp(' ') && mv_ascii_is_wsp('\t'));
	assert_false(mv_ascii_is_wsp('\r') || mv_ascii_is_wsp('\n') || mv_ascii_is_wsp('\v'));
	assert_false(mv_ascii_is_wsp((char)0xa0) || mv_ascii_is_wsp(0xa0));
	assert_int_equal(mv_ascii_tolower('Q'), 'q');
	assert_int_equal(mv_ascii_tolower('@'), '@');
	assert_int_equal(mv_ascii_tolower('['), '[');
	assert_int_equal(mv_ascii_tolower((char)0xc3), (char)0xc3);
	d = mv_strndup("abcdef", 3);
	assert_string_equal(d, "abc");
	free(d);
}

static void errf_is_bounded_and_null_safe(void **state)
{
	char err[8];

	(void)state;
	mv_errf(err, sizeof err, "bad tag '%s' at %d", "x", 17);
	assert_string_equal(err, "bad tag");
	mv_errf(NULL, 0, "nothing %d", 1);
	err[0] = 'x';
	mv_errf(err, 0, "nothing %d", 1);
	assert_int_equal(err[0], 'x');
}

static void status_strings_exist(void **state)
{
	(void)state;
	assert_string_equal(mv_status_str(MV_OK), "ok");
	assert_string_equal(mv_status_str(MV_ETOOBIG), "input too large");
	assert_string_equal(mv_status_str((enum mv_status)999), "unknown status");
}

static void read_file_bounded(void **state)
{
	char *data = NULL;
	size_t len = 0;

	(void)state;
	/* This test's own source is well over 16 bytes. */
	assert_int_equal(mv_read_file("test_util.c", 16, &data, &len), MV_ETOOBIG);
	assert_null(data);
	assert_int_equal(mv_read_file("test_util.c", 1 << 20, &data, &len), MV_OK);
	assert_true(len > 16);
	assert_memory_equal(data, "/* tests/util", 13);
	free(data);
	assert_int_equal(mv_read_file("no/such/file", 10, &data, &len), MV_EIO);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(buf_appends_and_steals),
	        cmocka_unit_test(empty_buf_steals_empty_string),
	        cmocka_unit_test(buf_reset_keeps_memory),
	        cmocka_unit_test(json_escapes_specials),
	        cmocka_unit_test(json_keeps_utf8_and_replaces_invalid),
	        cmocka_unit_test(json_null_is_null),
	        cmocka_unit_test(ascii_helpers),
	        cmocka_unit_test(errf_is_bounded_and_null_safe),
	        cmocka_unit_test(status_strings_exist),
	        cmocka_unit_test(read_file_bounded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
