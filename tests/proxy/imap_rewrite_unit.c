/* tests/proxy/imap_rewrite_unit.c — the IMAP capability rewriter (daemon/proxy/rewrite_imap.c). */
#include "rw_helpers.h"

static struct proxy_rw *imap(int offer_tls, int tls_active)
{
	struct proxy_rw *rw = mvd_proxy_rw_new(MVD_PROXY_IMAP, ID, offer_tls, tls_active);

	assert_non_null(rw);
	return rw;
}

/* draft-kucherawy-sender-auth-caps Appendix B.2, line by line (the wrapped replies joined). */
static void appendix_b2(void **state)
{
	struct proxy_rw *rw = imap(0, 0);

	(void)state;
	SAME_S(rw, "* OK IMAP server IMAP4rev1 ready\r\n");
	SAME_C(rw, "x CAPABILITY\r\n");
	S(rw, "* CAPABILITY CAPABILITY IMAP4 IMAP4rev1 UIDPLUS\r\n",
	  "* CAPABILITY CAPABILITY IMAP4 IMAP4rev1 UIDPLUS AUTHSERV\r\n");
	SAME_S(rw, "x OK CAPABILITY COMPLETED\r\n");
	SAME_C(rw, "a LOGIN user secret\r\n");
	SAME_S(rw, "a OK Logged in\r\n");
	SAME_C(rw, "x CAPABILITY\r\n");
	S(rw, "* CAPABILITY CAPABILITY IMAP4 IMAP4rev1 UIDPLUS\r\n",
	  "* CAPABILITY CAPABILITY IMAP4 IMAP4rev1 UIDPLUS AUTHSERV=authserv.example.com\r\n");
	SAME_S(rw, "x OK CAPABILITY COMPLETED\r\n");
	mvd_proxy_rw_free(rw);
}

/* The greeting's and the tagged OK's [CAPABILITY] codes; the server's own AUTHSERV replaced. */
static void response_codes(void **state)
{
	struct proxy_rw *rw = imap(1, 0);

	(void)state;
	S(rw,
	  "* OK [CAPABILITY IMAP4rev1 STARTTLS AUTHSERV=forged.example COMPRESS=DEFLATE ID] "
	  "ready\r\n",
	  "* OK [CAPABILITY IMAP4rev1 ID STARTTLS AUTHSERV] ready\r\n");
	SAME_C(rw, "a1 AUTHENTICATE PLAIN\r\n");
	SAME_S(rw, "+ \r\n");
	SAME_C(rw, "AGZvbwBiYXI=\r\n");
	S(rw, "a1 OK [CAPABILITY IMAP4rev1 IDLE] Logged in\r\n",
	  "a1 OK [CAPABILITY IMAP4rev1 IDLE AUTHSERV=" ID "] Logged in\r\n");
	mvd_proxy_rw_free(rw);
}

/*
 * Dovecot answers LOGIN with "* CAPABILITY" before the tagged OK when the
 * client asked for capabilities before: the list is post-login if the OK says so.
 */
static void capability_before_the_login_ok(void **state)
{
	struct proxy_rw *rw = imap(0, 0);

	(void)state;
	SAME_S(rw, "* OK hi\r\n");
	SAME_C(rw, "a LOGIN alice wrong\r\n");
	S(rw, "* CAPABILITY IMAP4rev1\r\na NO [AUTHENTICATIONFAILED] no\r\n",
	  "* CAPABILITY IMAP4rev1 AUTHSERV\r\na NO [AUTHENTICATIONFAILED] no\r\n");
	SAME_C(rw, "b LOGIN alice secret\r\n");
	S(rw, "* CAPABILITY IMAP4rev1 SORT\r\n", "");
	S(rw, "b OK Logged in\r\n",
	  "* CAPABILITY IMAP4rev1 SORT AUTHSERV=" ID "\r\nb OK Logged in\r\n");
	mvd_proxy_rw_free(rw);
}

/* A message body with "* CAPABILITY" lines is a literal: unchanged, whole or byte by byte. */
static void capability_inside_a_literal(void **state)
{
	const char *fetch =
	        "* 1 FETCH (BODY[] {44}\r\n* CAPABILITY IMAP4rev1\r\n* OK [CAPABILITY X]\r\n)\r\n";
	struct proxy_rw *rw = imap(0, 0);

	(void)state;
	SAME_S(rw, "* OK hi\r\n");
	SAME_S(rw, fetch);
	assert_string_equal(feed_bytes(rw, 1, fetch), fetch);
	S(rw, "* CAPABILITY IMAP4rev1\r\n", "* CAPABILITY IMAP4rev1 AUTHSERV\r\n");
	assert_string_equal(feed_bytes(rw, 1, "* CAPABILITY IMAP4rev1\r\n"),
	                    "* CAPABILITY IMAP4rev1 AUTHSERV\r\n");
	mvd_proxy_rw_free(rw);
}

/* The client's literals are followed too: an APPEND holding "a STARTTLS" is not a command. */
static void client_literal_is_not_a_command(void **state)
{
	struct proxy_rw *rw = imap(1, 0);

	(void)state;
	SAME_S(rw, "* OK hi\r\n");
	SAME_C(rw, "a APPEND INBOX {24+}\r\nb STARTTLS\r\nc LOGIN x y\r\n\r\n");
	assert_int_equal(rw->discard, 0);
	assert_int_equal(rw->ntags, 0);
	/* A synchronizing literal refused before it is sent: the next line is a command. */
	SAME_C(rw, "d APPEND INBOX {10}\r\n");
	SAME_S(rw, "d NO [OVERQUOTA] no room\r\n");
	C(rw, "e STARTTLS\r\n", "e NOOP\r\n");
	assert_int_equal(rw->discard, 1);
	mvd_proxy_rw_free(rw);
}

/* STARTTLS ends at the proxy: NOOP upstream, our reply back, then nothing until TLS; twice is BAD. */
static void starttls_and_starttls_twice(void **state)
{
	struct proxy_rw *rw = imap(1, 0);

	(void)state;
	S(rw, "* OK [CAPABILITY IMAP4rev1 LOGINDISABLED] hi\r\n",
	  "* OK [CAPABILITY IMAP4rev1 LOGINDISABLED STARTTLS AUTHSERV] hi\r\n");
	C(rw, "t STARTTLS\r\nu LOGIN injected before tls\r\n", "t NOOP\r\n");
	C(rw, "v LOGOUT\r\n", "");
	S(rw, "t OK NOOP completed.\r\n", "t OK Begin TLS negotiation now\r\n");
	assert_int_equal(mvd_proxy_rw_starttls_due(rw), 1);
	mvd_proxy_rw_tls_started(rw);
	assert_int_equal(mvd_proxy_rw_starttls_due(rw), 0);
	SAME_C(rw, "c CAPABILITY\r\n");
	S(rw, "* CAPABILITY IMAP4rev1 STARTTLS\r\n", "* CAPABILITY IMAP4rev1 AUTHSERV\r\n");
	C(rw, "t2 STARTTLS\r\n", "t2 NOOP\r\n");
	S(rw, "t2 OK NOOP completed.\r\n", "t2 BAD STARTTLS is not available now\r\n");
	assert_int_equal(mvd_proxy_rw_starttls_due(rw), 0);
	mvd_proxy_rw_free(rw);
}

static void compress_is_refused(void **state)
{
	struct proxy_rw *rw = imap(0, 1);

	(void)state;
	C(rw, "z COMPRESS DEFLATE\r\n", "z NOOP\r\n");
	S(rw, "z OK NOOP completed.\r\n", "z NO COMPRESS is not available through this proxy\r\n");
	mvd_proxy_rw_free(rw);
}

/* IDLE: "DONE" is data of the command; PREAUTH means authenticated. */
static void idle_and_preauth(void **state)
{
	struct proxy_rw *rw = imap(0, 0);

	(void)state;
	S(rw, "* PREAUTH [CAPABILITY IMAP4rev1 IDLE] ready\r\n",
	  "* PREAUTH [CAPABILITY IMAP4rev1 IDLE AUTHSERV=" ID "] ready\r\n");
	SAME_C(rw, "i IDLE\r\n");
	SAME_S(rw, "+ idling\r\n");
	SAME_S(rw, "* 3 EXISTS\r\n");
	SAME_C(rw, "DONE\r\n");
	SAME_S(rw, "i OK Idle completed.\r\n");
	assert_int_equal(rw->owner_tag[0], '\0');
	mvd_proxy_rw_free(rw);
}

/* A literal of 4 GB is followed byte for byte; one beyond 2^62 makes the session a relay. */
static void huge_and_negative_literals(void **state)
{
	struct proxy_rw *rw = imap(0, 0);

	(void)state;
	SAME_S(rw, "* 1 FETCH (BODY[] {4294967296}\r\n");
	assert_true(rw->s2c.literal == 4294967296ULL);
	SAME_S(rw, "* CAPABILITY IMAP4rev1\r\n");
	mvd_proxy_rw_free(rw);

	rw = imap(0, 0);
	SAME_S(rw, "* 1 FETCH (BODY[] {-1}\r\n"); /* not a literal in RFC 3501's grammar */
	S(rw, "* CAPABILITY IMAP4rev1\r\n", "* CAPABILITY IMAP4rev1 AUTHSERV\r\n");
	SAME_S(rw, "* 1 FETCH (BODY[] {99999999999999999999}\r\n");
	assert_int_equal(rw->relay, 1);
	SAME_S(rw, "* CAPABILITY IMAP4rev1\r\n");
	SAME_C(rw, "a STARTTLS\r\n");
	mvd_proxy_rw_free(rw);
}

/* A 10 MB line without an end passes unchanged through a bounded buffer; the next line counts. */
static void ten_megabyte_line(void **state)
{
	size_t n = 10u << 20;
	char *big = malloc(n + 1);
	struct proxy_rw *rw = imap(0, 0);

	(void)state;
	assert_non_null(big);
	memset(big, 'x', n);
	big[0] = '*', big[1] = ' ';
	memcpy(big + 2, "CAPABILITY ", 11);
	big[n] = '\0';
	assert_true(strcmp(feed(rw, 1, big), big) == 0);
	SAME_S(rw, " {3}\r\nabc)\r\n");
	S(rw, "* CAPABILITY IMAP4rev1\r\n", "* CAPABILITY IMAP4rev1 AUTHSERV\r\n");
	assert_true(strcmp(feed(rw, 0, big), big) == 0);
	free(big);
	mvd_proxy_rw_free(rw);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(appendix_b2),
	        cmocka_unit_test(response_codes),
	        cmocka_unit_test(capability_before_the_login_ok),
	        cmocka_unit_test(capability_inside_a_literal),
	        cmocka_unit_test(client_literal_is_not_a_command),
	        cmocka_unit_test(starttls_and_starttls_twice),
	        cmocka_unit_test(compress_is_refused),
	        cmocka_unit_test(idle_and_preauth),
	        cmocka_unit_test(huge_and_negative_literals),
	        cmocka_unit_test(ten_megabyte_line),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
