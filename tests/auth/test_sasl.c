/* tests/auth/test_sasl.c — the AUTH exchange (RFC 4954, RFC 4616): every hostile line a clear reply. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/evp.h>

#include <mailvet/auth.h>

/* base64 of p[0..n) in a static buffer (test inputs are short). */
static const char *b64(const void *p, size_t n)
{
	static unsigned char out[512];

	assert_true(n < 300);
	EVP_EncodeBlock(out, p, (int)n);
	return (const char *)out;
}

static struct mv_sasl *start(unsigned flags, const char *args, enum mv_sasl_step want)
{
	struct mv_sasl *s = NULL;

	assert_int_equal(mv_sasl_new(flags, &s), MV_OK);
	assert_int_equal(mv_sasl_start(s, args, strlen(args)), want);
	return s;
}

static struct mv_sasl *start_ir(const void *msg, size_t n, enum mv_sasl_step want)
{
	char args[600];

	snprintf(args, sizeof args, "PLAIN %s", b64(msg, n));
	return start(0, args, want);
}

static void plain_initial_response_gives_credentials(void **state)
{
	struct mv_sasl *s = start_ir("\0alice\0s3cret", 13, MV_SASL_DONE);
	const struct mv_sasl_cred *c = mv_sasl_cred(s);

	(void)state;
	assert_non_null(c);
	assert_string_equal(c->mech, "PLAIN");
	assert_string_equal(c->authzid, "");
	assert_string_equal(c->login, "alice");
	assert_string_equal(c->password, "s3cret");
	assert_int_equal(c->password_len, 6);
	assert_string_equal(mv_sasl_reply(s), "");
	mv_sasl_free(s);
}

static void plain_without_initial_response_sends_empty_challenge(void **state)
{
	struct mv_sasl *s = start(0, "plain", MV_SASL_CHALLENGE);
	const char *resp = b64("alice\0alice\0pw", 14);

	(void)state;
	assert_string_equal(mv_sasl_reply(s), "334 ");
	assert_null(mv_sasl_cred(s));
	assert_int_equal(mv_sasl_feed(s, resp, strlen(resp)), MV_SASL_DONE);
	assert_string_equal(mv_sasl_cred(s)->authzid, "alice"); /* same as the login: fine */
	assert_string_equal(mv_sasl_cred(s)->password, "pw");
	mv_sasl_free(s);
}

static void login_asks_username_then_password(void **state)
{
	struct mv_sasl *s = start(0, "LOGIN", MV_SASL_CHALLENGE);
	const char *u = "Ym9i", *p = "aHVudGVyMg=="; /* bob, hunter2 */

	(void)state;
	assert_string_equal(mv_sasl_reply(s), "334 VXNlcm5hbWU6");
	assert_int_equal(mv_sasl_feed(s, u, strlen(u)), MV_SASL_CHALLENGE);
	assert_string_equal(mv_sasl_reply(s), "334 UGFzc3dvcmQ6");
	assert_int_equal(mv_sasl_feed(s, p, strlen(p)), MV_SASL_DONE);
	assert_string_equal(mv_sasl_cred(s)->mech, "LOGIN");
	assert_string_equal(mv_sasl_cred(s)->login, "bob");
	assert_string_equal(mv_sasl_cred(s)->password, "hunter2");
	mv_sasl_free(s);
}

static void login_initial_response_is_the_username(void **state)
{
	struct mv_sasl *s = start(0, "LOGIN Ym9i", MV_SASL_CHALLENGE);

	(void)state;
	assert_string_equal(mv_sasl_reply(s), "334 UGFzc3dvcmQ6");
	assert_int_equal(mv_sasl_feed(s, "", 0), MV_SASL_DONE); /* an empty password */
	assert_string_equal(mv_sasl_cred(s)->login, "bob");
	assert_int_equal(mv_sasl_cred(s)->password_len, 0);
	mv_sasl_free(s);
}

static void bad_base64_is_501_5_5_2(void **state)
{
	static const char *const bad[] = {
	        "PLAIN AGFsaWNlAHB3!!",   /* outside the alphabet */
	        "PLAIN AGFsaWNlAHB3d",    /* not a multiple of 4 */
	        "PLAIN AG=saWNlAHB3",     /* '=' inside */
	        "PLAIN AGFsaWNlAHB3dx==", /* pad bits not zero */
	        "PLAIN  AGFsaWNlAHB3",    /* two spaces: an empty argument */
	};
	size_t i;
	struct mv_sasl *s;

	(void)state;
	for (i = 0; i < 4; i++) {
		s = start(0, bad[i], MV_SASL_ERROR);
		assert_string_equal(mv_sasl_reply(s), "501 5.5.2 Cannot decode response");
		mv_sasl_free(s);
	}
	s = start(0, bad[4], MV_SASL_ERROR);
	assert_string_equal(mv_sasl_reply(s),
	                    "501 5.5.4 Syntax: AUTH mechanism [initial-response]");
	mv_sasl_free(s);
	s = start(0, "LOGIN", MV_SASL_CHALLENGE);
	assert_int_equal(mv_sasl_feed(s, "Ym9i\r", 5), MV_SASL_ERROR); /* a stray CR */
	assert_string_equal(mv_sasl_reply(s), "501 5.5.2 Cannot decode response");
	mv_sasl_free(s);
}

static void strict_base64_decoder_handles_padding(void **state)
{
	unsigned char *out;
	size_t n;

	(void)state;
	assert_int_equal(mv_base64_decode_strict("YQ==", 4, &out, &n), MV_OK);
	assert_int_equal(n, 1); /* EVP_DecodeBlock alone would say 3 */
	assert_memory_equal(out, "a", 1);
	free(out);
	assert_int_equal(mv_base64_decode_strict("YWI=", 4, &out, &n), MV_OK);
	assert_int_equal(n, 2);
	free(out);
	assert_int_equal(mv_base64_decode_strict("", 0, &out, &n), MV_OK);
	assert_int_equal(n, 0);
	free(out);
	assert_int_equal(mv_base64_decode_strict(" YQ==", 5, &out, &n), MV_ESYNTAX);
	assert_int_equal(mv_base64_decode_strict("YQ=a", 4, &out, &n), MV_ESYNTAX);
	assert_int_equal(mv_base64_decode_strict("YR==", 4, &out, &n), MV_ESYNTAX);
	assert_int_equal(mv_base64_decode_strict("====", 4, &out, &n), MV_ESYNTAX);
	assert_null(out);
}

static void auth_line_of_100_kb_is_500_5_5_6(void **state)
{
	size_t n = 100 * 1024;
	char *line = malloc(n + 1);
	struct mv_sasl *s = NULL;

	(void)state;
	memcpy(line, "PLAIN ", 6);
	memset(line + 6, 'A', n - 6);
	line[n] = '\0';
	s = start(0, line, MV_SASL_ERROR);
	assert_string_equal(mv_sasl_reply(s), "500 5.5.6 Authentication exchange line is too long");
	mv_sasl_free(s);
	/* the same for a continuation line */
	s = start(0, "PLAIN", MV_SASL_CHALLENGE);
	assert_int_equal(mv_sasl_feed(s, line, n), MV_SASL_ERROR);
	assert_string_equal(mv_sasl_reply(s), "500 5.5.6 Authentication exchange line is too long");
	mv_sasl_free(s);
	free(line);
}

static void longest_allowed_line_is_decoded(void **state)
{
	/* 12288 octets in all: "AUTH PLAIN " + 12277 is not a multiple of 4, so the
	 * longest well-formed one is a continuation line of 12288 base64 bytes */
	size_t n = MV_SASL_LINE_MAX;
	char *line = malloc(n);
	struct mv_sasl *s = start(0, "PLAIN", MV_SASL_CHALLENGE);

	(void)state;
	memset(line, 'A', n); /* decodes to NULs: a malformed PLAIN message, not "too long" */
	assert_int_equal(mv_sasl_feed(s, line, n), MV_SASL_ERROR);
	assert_string_equal(mv_sasl_reply(s), "501 5.5.2 Empty login");
	mv_sasl_free(s);
	free(line);
}

static void star_cancels_with_501_5_0_0(void **state)
{
	struct mv_sasl *s = start(0, "LOGIN", MV_SASL_CHALLENGE);

	(void)state;
	assert_int_equal(mv_sasl_feed(s, "*", 1), MV_SASL_CANCEL);
	assert_string_equal(mv_sasl_reply(s), "501 5.0.0 Authentication cancelled");
	assert_null(mv_sasl_cred(s));
	/* nothing is accepted after a cancel */
	assert_int_equal(mv_sasl_feed(s, "Ym9i", 4), MV_SASL_ERROR);
	assert_string_equal(mv_sasl_reply(s), "503 5.5.1 Bad sequence of commands");
	mv_sasl_free(s);
	s = start(0, "PLAIN *", MV_SASL_CANCEL);
	mv_sasl_free(s);
}

static void authzid_mismatch_is_refused_unless_allowed(void **state)
{
	struct mv_sasl *s = start_ir("boss\0alice\0pw", 13, MV_SASL_ERROR);
	char args[600];

	(void)state;
	assert_string_equal(mv_sasl_reply(s), "535 5.7.8 Authorization identity not allowed");
	assert_null(mv_sasl_cred(s));
	mv_sasl_free(s);
	snprintf(args, sizeof args, "PLAIN %s", b64("boss\0alice\0pw", 13));
	s = start(MV_SASL_ALLOW_AUTHZID, args, MV_SASL_DONE);
	assert_string_equal(mv_sasl_cred(s)->authzid, "boss");
	assert_string_equal(mv_sasl_cred(s)->login, "alice");
	mv_sasl_free(s);
}

static void nul_in_names_is_501(void **state)
{
	struct mv_sasl *s;
	const char *u;

	(void)state;
	/* a third NUL: it would sit inside the password */
	s = start_ir("\0alice\0pw\0x", 11, MV_SASL_ERROR);
	assert_string_equal(mv_sasl_reply(s), "501 5.5.2 Invalid characters in login or password");
	mv_sasl_free(s);
	/* LOGIN: a user name holding NUL */
	s = start(0, "LOGIN", MV_SASL_CHALLENGE);
	u = b64("ali\0ce", 6);
	assert_int_equal(mv_sasl_feed(s, u, strlen(u)), MV_SASL_ERROR);
	assert_string_equal(mv_sasl_reply(s), "501 5.5.2 Invalid characters in login or password");
	mv_sasl_free(s);
	/* no NUL at all, one NUL only, an empty login */
	s = start_ir("alice", 5, MV_SASL_ERROR);
	assert_string_equal(mv_sasl_reply(s), "501 5.5.2 Malformed PLAIN response");
	mv_sasl_free(s);
	s = start_ir("\0alice", 6, MV_SASL_ERROR);
	assert_string_equal(mv_sasl_reply(s), "501 5.5.2 Malformed PLAIN response");
	mv_sasl_free(s);
	s = start_ir("\0\0pw", 4, MV_SASL_ERROR);
	assert_string_equal(mv_sasl_reply(s), "501 5.5.2 Empty login");
	mv_sasl_free(s);
}

static void non_utf8_and_controls_are_501(void **state)
{
	struct mv_sasl *s;

	(void)state;
	s = start_ir("\0al\xff"
	             "ce\0pw",
	             10, MV_SASL_ERROR);
	assert_string_equal(mv_sasl_reply(s), "501 5.5.2 Invalid characters in login or password");
	mv_sasl_free(s);
	s = start_ir("\0alice\0p\r\nw", 11, MV_SASL_ERROR);
	assert_string_equal(mv_sasl_reply(s), "501 5.5.2 Invalid characters in login or password");
	mv_sasl_free(s);
	s = start_ir("\0j\xc3\xbcrgen\0p\xc3\xa4ss", 14, MV_SASL_DONE); /* UTF-8 is fine */
	assert_string_equal(mv_sasl_cred(s)->login, "j\xc3\xbcrgen");
	mv_sasl_free(s);
}

static void unknown_mechanism_is_504_5_5_4(void **state)
{
	struct mv_sasl *s = start(0, "CRAM-MD5", MV_SASL_ERROR);

	(void)state;
	assert_string_equal(mv_sasl_reply(s), "504 5.5.4 Unrecognized authentication type");
	mv_sasl_free(s);
	s = start(0, "PLAINX dGVzdA==", MV_SASL_ERROR);
	assert_string_equal(mv_sasl_reply(s), "504 5.5.4 Unrecognized authentication type");
	mv_sasl_free(s);
	s = start(0, "", MV_SASL_ERROR);
	assert_string_equal(mv_sasl_reply(s),
	                    "501 5.5.4 Syntax: AUTH mechanism [initial-response]");
	mv_sasl_free(s);
	s = start(0, "PLAIN AAAA AAAA", MV_SASL_ERROR);
	assert_string_equal(mv_sasl_reply(s),
	                    "501 5.5.4 Syntax: AUTH mechanism [initial-response]");
	mv_sasl_free(s);
}

static void equals_is_an_empty_initial_response(void **state)
{
	struct mv_sasl *s = start(0, "PLAIN =", MV_SASL_ERROR);

	(void)state;
	/* empty is not a valid PLAIN message, but it was read as empty, not as base64 */
	assert_string_equal(mv_sasl_reply(s), "501 5.5.2 Malformed PLAIN response");
	mv_sasl_free(s);
}

static void auth_repeated_is_503(void **state)
{
	struct mv_sasl *s = start_ir("\0alice\0pw", 9, MV_SASL_DONE);

	(void)state;
	assert_int_equal(mv_sasl_start(s, "PLAIN", 5), MV_SASL_ERROR);
	assert_string_equal(mv_sasl_reply(s), "503 5.5.1 Bad sequence of commands");
	assert_non_null(mv_sasl_cred(s)); /* the finished exchange keeps its credentials */
	assert_string_equal(mv_sasl_cred(s)->login, "alice");
	assert_int_equal(mv_sasl_feed(s, "AAAA", 4), MV_SASL_ERROR);
	assert_non_null(mv_sasl_cred(s));
	mv_sasl_free(s);
	s = start(0, "PLAIN", MV_SASL_CHALLENGE);
	assert_int_equal(mv_sasl_start(s, "PLAIN", 5), MV_SASL_ERROR);
	mv_sasl_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(plain_initial_response_gives_credentials),
	        cmocka_unit_test(plain_without_initial_response_sends_empty_challenge),
	        cmocka_unit_test(login_asks_username_then_password),
	        cmocka_unit_test(login_initial_response_is_the_username),
	        cmocka_unit_test(bad_base64_is_501_5_5_2),
	        cmocka_unit_test(strict_base64_decoder_handles_padding),
	        cmocka_unit_test(auth_line_of_100_kb_is_500_5_5_6),
	        cmocka_unit_test(longest_allowed_line_is_decoded),
	        cmocka_unit_test(star_cancels_with_501_5_0_0),
	        cmocka_unit_test(authzid_mismatch_is_refused_unless_allowed),
	        cmocka_unit_test(nul_in_names_is_501),
	        cmocka_unit_test(non_utf8_and_controls_are_501),
	        cmocka_unit_test(unknown_mechanism_is_504_5_5_4),
	        cmocka_unit_test(equals_is_an_empty_initial_response),
	        cmocka_unit_test(auth_repeated_is_503),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
