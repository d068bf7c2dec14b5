/* tests/authres/test_result.c — building, copying and comparing result records and fields. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <mailvet/authres.h>

static void new_lowercases_keywords(void **state)
{
	struct mv_result *r = NULL;

	(void)state;
	assert_int_equal(mv_result_new("DKIM", "Pass", &r), MV_OK);
	assert_string_equal(r->method, "dkim");
	assert_string_equal(r->result, "pass");
	assert_int_equal(r->version, 0);
	assert_null(r->reason);
	assert_null(r->comment);
	assert_int_equal(r->nprops, 0);
	mv_result_free(r);
	mv_result_free(NULL);
}

/* RFC 5321 Keyword = Ldh-str: letters, digits, '-', not ending in '-'. */
static void new_refuses_non_keywords(void **state)
{
	static const char *const bad[] = {"", "dkim-", "x_tls", "a b", "spf=", "d\xc3\xa9", "a.b"};
	struct mv_result *r = (struct mv_result *)1;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		assert_int_equal(mv_result_new(bad[i], "pass", &r), MV_EINVAL);
		assert_null(r);
		assert_int_equal(mv_result_new("spf", bad[i], &r), MV_EINVAL);
		assert_null(r);
	}
	assert_int_equal(mv_result_new(NULL, "pass", &r), MV_EINVAL);
}

static void reason_comment_and_props(void **state)
{
	struct mv_result *r = NULL;

	(void)state;
	assert_int_equal(mv_result_new("spf", "fail", &r), MV_OK);
	mv_result_set_version(r, 1);
	assert_int_equal(r->version, 1);
	assert_int_equal(mv_result_set_reason(r, "no \"match\""), MV_OK);
	assert_string_equal(r->reason, "no \"match\"");
	assert_int_equal(mv_result_set_reason(r, "bad\r\nline"), MV_EINVAL);
	assert_string_equal(r->reason, "no \"match\""); /* unchanged */
	assert_int_equal(mv_result_set_reason(r, NULL), MV_OK);
	assert_null(r->reason);
	assert_int_equal(mv_result_set_comment(r, "tab\tis fine"), MV_OK);
	assert_string_equal(r->comment, "tab\tis fine");
	assert_int_equal(mv_result_set_comment(r, ""), MV_OK); /* empty = none */
	assert_null(r->comment);
	assert_int_equal(mv_result_add_prop(r, "SMTP", "MailFrom", "User@Example.com"), MV_OK);
	assert_int_equal(mv_result_add_prop(r, "smtp", "helo", ""), MV_OK);
	assert_int_equal(mv_result_add_prop(r, "smtp", "helo", "a\x01"), MV_EINVAL);
	assert_int_equal(mv_result_add_prop(r, "smtp.x", "helo", "a"), MV_EINVAL);
	assert_int_equal(mv_result_add_prop(r, "smtp", "helo", NULL), MV_EINVAL);
	assert_int_equal(r->nprops, 2);
	assert_string_equal(r->props[0].ptype, "smtp");
	assert_string_equal(r->props[0].property, "mailfrom");
	assert_string_equal(r->props[0].value, "User@Example.com");
	assert_string_equal(mv_result_prop_value(r, "smtp", "MAILFROM"), "User@Example.com");
	assert_string_equal(mv_result_prop_value(r, "smtp", "helo"), "");
	assert_null(mv_result_prop_value(r, "header", "d"));
	mv_result_free(r);
}

static void dup_and_equal(void **state)
{
	struct mv_result *a = NULL, *b = NULL;

	(void)state;
	assert_int_equal(mv_result_new("dkim", "pass", &a), MV_OK);
	mv_result_set_version(a, 1);
	assert_int_equal(mv_result_set_reason(a, "ok"), MV_OK);
	assert_int_equal(mv_result_set_comment(a, "2048-bit"), MV_OK);
	assert_int_equal(mv_result_add_prop(a, "header", "d", "example.com"), MV_OK);
	assert_int_equal(mv_result_dup(a, &b), MV_OK);
	assert_true(mv_result_equal(a, b));
	assert_int_equal(mv_result_set_comment(b, "other"), MV_OK);
	assert_false(mv_result_equal(a, b));
	assert_int_equal(mv_result_set_comment(b, "2048-bit"), MV_OK);
	mv_result_set_version(b, 0);
	assert_false(mv_result_equal(a, b));
	mv_result_set_version(b, 1);
	assert_int_equal(mv_result_add_prop(b, "header", "i", "@example.com"), MV_OK);
	assert_false(mv_result_equal(a, b));
	mv_result_free(a);
	mv_result_free(b);
}

static struct mv_result *made(const char *method)
{
	struct mv_result *r = NULL;

	assert_int_equal(mv_result_new(method, "pass", &r), MV_OK);
	return r;
}

static void list_add_remove_clear(void **state)
{
	struct mv_result_list l = MV_RESULT_LIST_INIT, m = MV_RESULT_LIST_INIT;
	static const char *const names[] = {"spf", "dkim", "dmarc", "arc", "iprev", "auth"};
	size_t i;

	(void)state;
	for (i = 0; i < 6; i++) {
		assert_int_equal(mv_result_list_add(&l, made(names[i])), MV_OK);
		assert_int_equal(mv_result_list_add(&m, made(names[i])), MV_OK);
	}
	assert_int_equal(l.count, 6);
	assert_true(mv_result_list_equal(&l, &m));
	mv_result_list_remove(&l, 1);
	mv_result_list_remove(&l, 99); /* out of range: nothing */
	assert_int_equal(l.count, 5);
	assert_string_equal(l.item[0]->method, "spf");
	assert_string_equal(l.item[1]->method, "dmarc");
	assert_string_equal(l.item[4]->method, "auth");
	assert_false(mv_result_list_equal(&l, &m));
	mv_result_list_clear(&l);
	assert_int_equal(l.count, 0);
	assert_null(l.item);
	assert_int_equal(mv_result_list_add(&l, made("spf")), MV_OK); /* reusable */
	mv_result_list_clear(&l);
	mv_result_list_clear(&m);
}

static void field_new_and_equal(void **state)
{
	struct mv_authres *a = NULL, *b = NULL;

	(void)state;
	assert_int_equal(mv_authres_new("example.com", 1, &a), MV_OK);
	assert_int_equal(mv_authres_new("example.com", 1, &b), MV_OK);
	assert_string_equal(a->serv_id, "example.com");
	assert_true(mv_authres_equal(a, b));
	assert_int_equal(mv_result_list_add(&a->results, made("spf")), MV_OK);
	assert_false(mv_authres_equal(a, b));
	assert_int_equal(mv_result_list_add(&b->results, made("spf")), MV_OK);
	assert_true(mv_authres_equal(a, b));
	b->version = 0;
	assert_false(mv_authres_equal(a, b));
	mv_authres_free(a);
	mv_authres_free(b);
	assert_int_equal(mv_authres_new("bad\nid", 0, &a), MV_EINVAL);
	assert_null(a);
	assert_int_equal(mv_authres_new(NULL, 0, &a), MV_OK);
	assert_null(a->serv_id);
	mv_authres_free(a);
	mv_authres_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(new_lowercases_keywords),
	        cmocka_unit_test(new_refuses_non_keywords),
	        cmocka_unit_test(reason_comment_and_props),
	        cmocka_unit_test(dup_and_equal),
	        cmocka_unit_test(list_add_remove_clear),
	        cmocka_unit_test(field_new_and_equal),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
