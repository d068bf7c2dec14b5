/* tests/auth/test_relay.c — RCPT TO: only unambiguous addresses of our domains are local. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <mailvet/auth.h>

static const char *const ours[] = {"ourdomain.example", "xn--bcher-kva.example"};

static enum mv_auth_rcpt classify(const char *path, const char **reason)
{
	return mv_auth_rcpt_classify(path, strlen(path), ours, 2, reason);
}

static void assert_bad(const char *path, const char *why)
{
	const char *reason = NULL;

	assert_int_equal(classify(path, &reason), MV_AUTH_RCPT_BAD);
	assert_string_equal(reason, why);
}

static void plain_local_address_is_local(void **state)
{
	(void)state;
	assert_int_equal(classify("<user@ourdomain.example>", NULL), MV_AUTH_RCPT_LOCAL);
	assert_int_equal(classify("user@OurDomain.Example", NULL), MV_AUTH_RCPT_LOCAL);
	assert_int_equal(classify("<first.last+tag@ourdomain.example.>", NULL), MV_AUTH_RCPT_LOCAL);
	assert_int_equal(classify("<\"john smith\"@ourdomain.example>", NULL), MV_AUTH_RCPT_LOCAL);
	assert_int_equal(classify("<Postmaster>", NULL), MV_AUTH_RCPT_LOCAL);
}

static void ulabel_domain_matches_its_alabel(void **state)
{
	(void)state;
	assert_int_equal(classify("<user@b\xc3\xbc"
	                          "cher.example>",
	                          NULL),
	                 MV_AUTH_RCPT_LOCAL);
}

static void other_domain_is_remote(void **state)
{
	const char *reason = NULL;

	(void)state;
	assert_int_equal(classify("<user@other.example>", &reason), MV_AUTH_RCPT_REMOTE);
	assert_string_equal(reason, "not a local domain");
	assert_int_equal(classify("<user@sub.ourdomain.example>", NULL), MV_AUTH_RCPT_REMOTE);
	assert_int_equal(classify("<user@ourdomain.example.evil>", NULL), MV_AUTH_RCPT_REMOTE);
}

static void percent_hack_is_not_local(void **state)
{
	(void)state;
	assert_bad("<user%other.example@ourdomain.example>", "'%' routing in local part");
}

static void source_route_is_not_local(void **state)
{
	(void)state;
	assert_bad("<@a.example,@b.example:user@ourdomain.example>", "source route");
	assert_bad("<@ourdomain.example:user@other.example>", "source route");
}

static void second_at_is_not_local(void **state)
{
	(void)state;
	assert_bad("<user@other.example@ourdomain.example>", "more than one '@'");
}

static void quoted_local_part_with_at_is_not_local(void **state)
{
	(void)state;
	assert_bad("<\"user@other.example\"@ourdomain.example>",
	           "quoted local part holds a routing character");
	assert_bad("<\"user%other.example\"@ourdomain.example>",
	           "quoted local part holds a routing character");
	assert_bad("<\"other!user\"@ourdomain.example>",
	           "quoted local part holds a routing character");
	assert_bad("<\"unterminated@ourdomain.example>", "unterminated quoted local part");
}

static void bang_path_is_not_local(void **state)
{
	(void)state;
	assert_bad("<other.example!user@ourdomain.example>", "bang path in local part");
}

static void ip_literal_is_not_local(void **state)
{
	(void)state;
	assert_bad("<user@[192.0.2.1]>", "address literal");
	assert_bad("<user@[IPv6:2001:db8::1]>", "address literal");
}

static void malformed_paths_are_not_local(void **state)
{
	char big[600];

	(void)state;
	assert_bad("<>", "empty path");
	assert_bad("<user>", "no domain");
	assert_bad("<user@>", "empty domain");
	assert_bad("<@>", "source route");
	assert_bad("<user @ourdomain.example>", "invalid character in local part");
	assert_bad("<user@ourdomain.example\r\n>", "control byte in path");
	assert_bad("<<user@ourdomain.example>>", "invalid character in local part");
	assert_bad("<user@ourdomain.example >", "space or bracket in domain");
	assert_int_equal(mv_auth_rcpt_classify("<user\0@ourdomain.example>", 25, ours, 2, NULL),
	                 MV_AUTH_RCPT_BAD); /* a NUL is a control byte */
	assert_bad("<user@bad_domain!>", "malformed domain");
	assert_bad("<us[er@ourdomain.example>", "invalid character in local part");
	assert_bad("<us,er@ourdomain.example>", "invalid character in local part");
	memset(big, 'a', sizeof big);
	assert_int_equal(mv_auth_rcpt_classify(big, sizeof big, ours, 2, NULL), MV_AUTH_RCPT_BAD);
	assert_int_equal(mv_auth_rcpt_classify("user@ourdomain.example", 22, NULL, 0, NULL),
	                 MV_AUTH_RCPT_REMOTE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(plain_local_address_is_local),
	        cmocka_unit_test(ulabel_domain_matches_its_alabel),
	        cmocka_unit_test(other_domain_is_remote),
	        cmocka_unit_test(percent_hack_is_not_local),
	        cmocka_unit_test(source_route_is_not_local),
	        cmocka_unit_test(second_at_is_not_local),
	        cmocka_unit_test(quoted_local_part_with_at_is_not_local),
	        cmocka_unit_test(bang_path_is_not_local),
	        cmocka_unit_test(ip_literal_is_not_local),
	        cmocka_unit_test(malformed_paths_are_not_local),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
