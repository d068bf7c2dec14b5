/* tests/util/test_cursor.c — the bounded reader: it never reads or moves past its end. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <mailvet/util.h>

static void init_covers_exactly_the_given_bytes(void **state)
{
	static const char text[] = "abcXYZ";
	struct mv_cursor c;

	(void)state;
	mv_cursor_init(&c, text, 3); /* "XYZ" is not ours to read */
	assert_int_equal(mv_cursor_left(&c), 3);
	assert_int_equal(mv_cursor_offset(&c), 0);
	assert_true(mv_cursor_eat(&c, 'a'));
	assert_true(mv_cursor_eat(&c, 'b'));
	assert_true(mv_cursor_eat(&c, 'c'));
	assert_int_equal(mv_cursor_left(&c), 0);
	assert_false(mv_cursor_eat(&c, 'X')); /* at the end: nothing read, nothing moved */
	assert_int_equal(mv_cursor_offset(&c), 3);
}

static void eat_consumes_only_a_match(void **state)
{
	struct mv_cursor c;

	(void)state;
	mv_cursor_init(&c, "=x", 2);
	assert_false(mv_cursor_eat(&c, ';'));
	assert_int_equal(mv_cursor_offset(&c), 0);
	assert_true(mv_cursor_eat(&c, '='));
	assert_int_equal(mv_cursor_offset(&c), 1);
}

static void skip_wsp_stops_at_other_bytes_and_at_the_end(void **state)
{
	struct mv_cursor c;

	(void)state;
	mv_cursor_init(&c, " \t \r\n x", 7);
	assert_int_equal(mv_cursor_skip_wsp(&c), 3); /* CR is not WSP */
	assert_int_equal(*c.p, '\r');
	mv_cursor_init(&c, "  \t", 3);
	assert_int_equal(mv_cursor_skip_wsp(&c), 3);
	assert_int_equal(mv_cursor_left(&c), 0);
	assert_int_equal(mv_cursor_skip_wsp(&c), 0);
}

static void empty_input_is_at_its_end(void **state)
{
	struct mv_cursor c;

	(void)state;
	mv_cursor_init(&c, "", 0);
	assert_int_equal(mv_cursor_left(&c), 0);
	assert_false(mv_cursor_eat(&c, '\0'));
	assert_int_equal(mv_cursor_skip_wsp(&c), 0);
	assert_int_equal(mv_cursor_offset(&c), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(init_covers_exactly_the_given_bytes),
	        cmocka_unit_test(eat_consumes_only_a_match),
	        cmocka_unit_test(skip_wsp_stops_at_other_bytes_and_at_the_end),
	        cmocka_unit_test(empty_input_is_at_its_end),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
