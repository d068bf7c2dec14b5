/* tests/msg/test_msg_build.c — mv_msg_new / mv_msg_add_field (milter-style building). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <mailvet/msg.h>

static enum mv_status add(struct mv_msg *m, const char *name, const char *value)
{
	return mv_msg_add_field(m, name, strlen(name), value, strlen(value));
}

static void added_fields_get_crlf_raw_form(void **state)
{
	struct mv_msg *m = NULL;
	const struct mv_msg_field *f;
	const char *body = NULL;
	size_t len = 9, off = 9;

	(void)state;
	assert_int_equal(mv_msg_new(NULL, &m), MV_OK);
	assert_int_equal(add(m, "From", " a@example.com"), MV_OK);
	assert_int_equal(add(m, "Subject", "folded\n\tline"), MV_OK);
	assert_int_equal(mv_msg_field_count(m), 2);
	f = mv_msg_field(m, 0);
	assert_string_equal(f->name, "From");
	assert_int_equal(f->raw_len, strlen("From: a@example.com\r\n"));
	assert_memory_equal(f->raw, "From: a@example.com\r\n", f->raw_len);
	assert_int_equal(f->value_len, 14);
	assert_memory_equal(f->value, " a@example.com", 14);
	assert_string_equal(f->unfolded, " a@example.com");
	f = mv_msg_field(m, 1);
	assert_memory_equal(f->raw, "Subject:folded\n\tline\r\n", f->raw_len);
	assert_string_equal(f->unfolded, "folded\tline");
	assert_int_equal(mv_msg_find(m, "subject", 0), 1);
	mv_msg_body(m, &body, &len, &off);
	assert_non_null(body);
	assert_int_equal(len, 0);
	assert_int_equal(off, 0);
	mv_msg_free(m);
}

static void added_field_cannot_smuggle_a_line(void **state)
{
	struct mv_msg *m = NULL;

	(void)state;
	assert_int_equal(mv_msg_new(NULL, &m), MV_OK);
	assert_int_equal(add(m, "Subject", "x\r\nFrom: evil@example.com"), MV_ESYNTAX);
	assert_int_equal(add(m, "Subject", "x\nFrom: evil@example.com"), MV_ESYNTAX);
	assert_int_equal(add(m, "Subject", "x\r\n"), MV_ESYNTAX);
	assert_int_equal(add(m, "Subject", "x\r\n\r\n"), MV_ESYNTAX);
	assert_int_equal(add(m, "Sub ject", "x"), MV_ESYNTAX);
	assert_int_equal(add(m, "Sub:ject", "x"), MV_ESYNTAX);
	assert_int_equal(add(m, "", "x"), MV_ESYNTAX);
	assert_int_equal(mv_msg_add_field(m, NULL, 0, "x", 1), MV_EINVAL);
	assert_int_equal(mv_msg_add_field(NULL, "a", 1, "x", 1), MV_EINVAL);
	assert_int_equal(mv_msg_field_count(m), 0);
	mv_msg_free(m);
}

static void added_fields_obey_limits(void **state)
{
	struct mv_msg_limits lim;
	struct mv_msg *m = NULL;
	char big[200];
	int i;

	(void)state;
	mv_msg_limits_default(&lim);
	lim.max_fields = 3;
	lim.max_line = 50;
	lim.max_header_bytes = 150;
	assert_int_equal(mv_msg_new(&lim, &m), MV_OK);
	memset(big, 'a', sizeof(big));
	/* "X:" + 48 = 50 bytes on the line */
	assert_int_equal(mv_msg_add_field(m, "X", 1, big, 48), MV_OK);
	assert_int_equal(mv_msg_add_field(m, "X", 1, big, 49), MV_ETOOBIG);
	/* a folded value: each physical line counts on its own */
	memcpy(big + 40, "\r\n ", 3);
	assert_int_equal(mv_msg_add_field(m, "X", 1, big, 80), MV_OK);
	/* 52 + 84 bytes used; 16 more would pass 150 */
	assert_int_equal(mv_msg_add_field(m, "Y", 1, "0123456789abc", 13), MV_ETOOBIG);
	assert_int_equal(mv_msg_add_field(m, "Y", 1, "0123456789", 10), MV_OK);
	assert_int_equal(mv_msg_add_field(m, "Z", 1, "", 0), MV_ETOOBIG); /* 4th field */
	assert_int_equal(mv_msg_field_count(m), 3);
	mv_msg_free(m);
	(void)i;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(added_fields_get_crlf_raw_form),
	        cmocka_unit_test(added_field_cannot_smuggle_a_line),
	        cmocka_unit_test(added_fields_obey_limits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
