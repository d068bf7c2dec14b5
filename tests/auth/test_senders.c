/* tests/auth/test_senders.c — the sender login map: envelope and header addresses per login. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <mailvet/auth.h>

static const char map_text[] = "# login  patterns\n"
                               "alice    alice@example.org, Alice.Smith@example.org\n"
                               "alice    @lists.example.org\n"
                               "\n"
                               "bob      @example.net @b\xc3\xbc"
                               "cher.example\r\n"
                               "  carol  \"carol x\"@example.org\n"
                               "admin    *\n";

static struct mv_auth_senders *map(void)
{
	struct mv_auth_senders *m = NULL;
	char err[200] = "";

	assert_int_equal(mv_auth_senders_parse(map_text, sizeof map_text - 1, "senders", &m, err,
	                                       sizeof err),
	                 MV_OK);
	return m;
}

static void exact_address_allowed_ignoring_ascii_case(void **state)
{
	struct mv_auth_senders *m = map();

	(void)state;
	assert_true(mv_auth_senders_allowed(m, "alice", "alice@example.org"));
	assert_true(mv_auth_senders_allowed(m, "alice", "<ALICE@Example.ORG>"));
	assert_true(mv_auth_senders_allowed(m, "alice", "alice.smith@example.org"));
	assert_false(mv_auth_senders_allowed(m, "alice", "bob@example.org"));
	assert_false(mv_auth_senders_allowed(m, "alice", "alice@sub.example.org"));
	assert_true(mv_auth_senders_allowed(m, "carol", "\"carol x\"@example.org"));
	assert_false(mv_auth_senders_allowed(m, "carol", "carolx@example.org"));
	mv_auth_senders_free(m);
}

static void domain_pattern_covers_the_domain_only(void **state)
{
	struct mv_auth_senders *m = map();

	(void)state;
	assert_true(mv_auth_senders_allowed(m, "alice", "anything@lists.example.org"));
	assert_true(mv_auth_senders_allowed(m, "bob", "x@EXAMPLE.net"));
	assert_false(mv_auth_senders_allowed(m, "bob", "x@sub.example.net"));
	/* U-label and A-label forms are the same domain */
	assert_true(mv_auth_senders_allowed(m, "bob", "x@xn--bcher-kva.example"));
	assert_true(mv_auth_senders_allowed(m, "bob",
	                                    "x@B\xc3\xbc"
	                                    "cher.example"));
	mv_auth_senders_free(m);
}

static void star_pattern_and_unknown_login(void **state)
{
	struct mv_auth_senders *m = map();

	(void)state;
	assert_true(mv_auth_senders_allowed(m, "admin", "ceo@anywhere.example"));
	assert_false(mv_auth_senders_allowed(m, "mallory", "alice@example.org"));
	assert_false(mv_auth_senders_allowed(m, "Alice", "alice@example.org")); /* logins exact */
	assert_false(mv_auth_senders_allowed(m, "admin", "<>"));
	assert_false(mv_auth_senders_allowed(m, "admin", ""));
	assert_false(mv_auth_senders_allowed(m, "admin", "no-domain"));
	mv_auth_senders_free(m);
}

static void assert_map_refused(const char *text, const char *why)
{
	struct mv_auth_senders *m = NULL;
	char err[200] = "";

	assert_int_equal(mv_auth_senders_parse(text, strlen(text), "f", &m, err, sizeof err),
	                 MV_ESYNTAX);
	assert_null(m);
	assert_non_null(strstr(err, why));
}

static void star_login_is_refused(void **state)
{
	(void)state;
	assert_map_refused("alice @example.org\n*  *\n", "f:2: a '*' login");
	assert_map_refused("alice\n", "login without a pattern");
	assert_map_refused("alice example.org\n", "a pattern is an address, @domain or *");
	assert_map_refused("alice @bad..example\n", "bad domain");
	assert_map_refused("alice a@\n", "bad address");
}

static void long_line_is_refused(void **state)
{
	char *text = malloc(9000);

	(void)state;
	memset(text, 'a', 8999);
	text[8999] = '\0';
	assert_map_refused(text, "f:1: line longer than 8192 bytes");
	free(text);
}

static char *check(struct mv_auth_senders *m, const char *login, const char *from,
                   const char *sender, enum mv_status want)
{
	const char *values[2] = {from, sender};
	size_t lens[2] = {strlen(from), sender ? strlen(sender) : 0};
	char *bad = NULL, err[200] = "";

	assert_int_equal(mv_auth_senders_check_header(m, login, values, lens, sender ? 2 : 1, &bad,
	                                              err, sizeof err),
	                 want);
	return bad;
}

static void header_from_allowed_and_refused(void **state)
{
	struct mv_auth_senders *m = map();
	char *bad;

	(void)state;
	assert_null(check(m, "alice", "Alice <alice@example.org>", NULL, MV_OK));
	bad = check(m, "alice", "Alice <alice@example.org>, Bob <bob@example.net>", NULL, MV_OK);
	assert_string_equal(bad, "bob@example.net"); /* the second From address */
	free(bad);
	bad = check(m, "alice", "alice@example.org", "boss@example.com", MV_OK);
	assert_string_equal(bad, "boss@example.com"); /* the Sender field */
	free(bad);
	mv_auth_senders_free(m);
}

static void display_name_looking_like_an_address_is_not_one(void **state)
{
	struct mv_auth_senders *m = map();
	char *bad;

	(void)state;
	/* the display names hold the allowed address; the mailboxes are what counts */
	bad = check(m, "alice", "\"alice@example.org\" <ceo@bank.example>", NULL, MV_OK);
	assert_string_equal(bad, "ceo@bank.example");
	free(bad);
	bad = check(m, "alice", "=?utf-8?q?alice=40example.org?= <ceo@bank.example>", NULL, MV_OK);
	assert_string_equal(bad, "ceo@bank.example");
	free(bad);
	bad = check(m, "alice", "alice@example.org (ceo@bank.example)", NULL, MV_OK);
	assert_null(bad); /* a comment is not an address either */
	mv_auth_senders_free(m);
}

static void group_syntax_is_read_as_its_mailboxes(void **state)
{
	struct mv_auth_senders *m = map();
	char *bad;

	(void)state;
	assert_null(
	        check(m, "alice", "team: alice@example.org, x@lists.example.org;", NULL, MV_OK));
	bad = check(m, "alice", "team: alice@example.org, ceo@bank.example;", NULL, MV_OK);
	assert_string_equal(bad, "ceo@bank.example");
	free(bad);
	assert_null(check(m, "alice", "undisclosed:;", NULL, MV_ESYNTAX)); /* no mailbox */
	assert_null(check(m, "alice", "<alice@example.org", NULL, MV_ESYNTAX));
	mv_auth_senders_free(m);
}

static void load_reads_a_file(void **state)
{
	struct mv_auth_senders *m = NULL;
	char err[200];

	(void)state;
	assert_int_equal(mv_auth_senders_load("/nonexistent/senders", &m, err, sizeof err), MV_EIO);
	assert_non_null(strstr(err, "/nonexistent/senders"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(exact_address_allowed_ignoring_ascii_case),
	        cmocka_unit_test(domain_pattern_covers_the_domain_only),
	        cmocka_unit_test(star_pattern_and_unknown_login),
	        cmocka_unit_test(star_login_is_refused),
	        cmocka_unit_test(long_line_is_refused),
	        cmocka_unit_test(header_from_allowed_and_refused),
	        cmocka_unit_test(display_name_looking_like_an_address_is_not_one),
	        cmocka_unit_test(group_syntax_is_read_as_its_mailboxes),
	        cmocka_unit_test(load_reads_a_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
