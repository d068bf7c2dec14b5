/* tests/authres/test_json.c — the JSON shape of a field and of one result. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <mailvet/authres.h>

static void field_as_json(void **state)
{
	const char *v = " example.com; dkim/1=pass reason=\"good \\\"sig\\\"\" header.d=example.com"
	                " header.i=@example.com; spf=none";
	struct mv_authres *ar = NULL;
	struct mv_buf b = MV_BUF_INIT;

	(void)state;
	assert_int_equal(mv_authres_parse(v, strlen(v), 0, &ar, NULL, 0), MV_OK);
	assert_int_equal(mv_authres_json(ar, &b), MV_OK);
	assert_string_equal(
	        b.data, "{\"authserv_id\": \"example.com\", \"version\": null, \"results\": ["
	                "{\"method\": \"dkim\", \"version\": 1, \"result\": \"pass\", "
	                "\"reason\": \"good \\\"sig\\\"\", \"props\": ["
	                "{\"ptype\": \"header\", \"property\": \"d\", \"value\": \"example.com\"}, "
	                "{\"ptype\": \"header\", \"property\": \"i\", \"value\": \"@example.com\"}"
	                "]}, "
	                "{\"method\": \"spf\", \"version\": null, \"result\": \"none\", "
	                "\"reason\": null, \"props\": []}]}");
	mv_buf_free(&b);
	mv_authres_free(ar);
}

static void none_and_missing_id(void **state)
{
	struct mv_authres *ar = NULL;
	struct mv_buf b = MV_BUF_INIT;
	const char *v = "example.org 1; none";

	(void)state;
	assert_int_equal(mv_authres_parse(v, strlen(v), 0, &ar, NULL, 0), MV_OK);
	assert_int_equal(mv_authres_json(ar, &b), MV_OK);
	assert_string_equal(b.data,
	                    "{\"authserv_id\": \"example.org\", \"version\": 1, \"results\": []}");
	mv_authres_free(ar);
	mv_buf_reset(&b);
	v = "spf=pass";
	assert_int_equal(mv_authres_parse(v, strlen(v), MV_AUTHRES_LENIENT, &ar, NULL, 0), MV_OK);
	assert_int_equal(mv_authres_json(ar, &b), MV_OK);
	assert_memory_equal(b.data, "{\"authserv_id\": null, ", 22);
	mv_buf_free(&b);
	mv_authres_free(ar);
}

static void one_result_as_json(void **state)
{
	struct mv_result *r = NULL;
	struct mv_buf b = MV_BUF_INIT;

	(void)state;
	assert_int_equal(mv_result_new("dmarc", "fail", &r), MV_OK);
	assert_int_equal(mv_result_add_prop(r, "header", "from", "b\xc3\xbc\tcher"), MV_OK);
	assert_int_equal(mv_result_json(r, &b), MV_OK);
	assert_string_equal(b.data,
	                    "{\"method\": \"dmarc\", \"version\": null, \"result\": \"fail\", "
	                    "\"reason\": null, \"props\": [{\"ptype\": \"header\", "
	                    "\"property\": \"from\", \"value\": \"b\xc3\xbc\\tcher\"}]}");
	mv_buf_free(&b);
	mv_result_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(field_as_json),
	        cmocka_unit_test(none_and_missing_id),
	        cmocka_unit_test(one_result_as_json),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
