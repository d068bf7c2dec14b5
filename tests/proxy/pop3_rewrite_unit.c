/* tests/proxy/pop3_rewrite_unit.c — the POP3 capability rewriter (daemon/proxy/rewrite_pop3.c). */
#include "rw_helpers.h"

static struct proxy_rw *pop3(int offer_tls, int tls_active)
{
	struct proxy_rw *rw = mvd_proxy_rw_new(MVD_PROXY_POP3, ID, offer_tls, tls_active);

	assert_non_null(rw);
	return rw;
}

#define B3_CAPS "TOP\r\nUSER\r\nSASL CRAM-MD5\r\nRESP-CODES\r\n"

/* draft-kucherawy-sender-auth-caps Appendix B.3, line by line. */
static void appendix_b3(void **state)
{
	struct proxy_rw *rw = pop3(0, 0);

	(void)state;
	SAME_S(rw, "+OK POP3 server ready\r\n");
	SAME_C(rw, "CAPA\r\n");
	S(rw, "+OK Capability list follows\r\n" B3_CAPS ".\r\n",
	  "+OK Capability list follows\r\n" B3_CAPS "AUTHSERV\r\n.\r\n");
	SAME_C(rw, "USER u\r\n");
	SAME_S(rw, "+OK\r\n");
	SAME_C(rw, "PASS p\r\n");
	SAME_S(rw, "+OK Logged in.\r\n");
	SAME_C(rw, "CAPA\r\n");
	assert_string_equal(feed_bytes(rw, 1, "+OK Capability list follows\r\n" B3_CAPS ".\r\n"),
	                    "+OK Capability list follows\r\n" B3_CAPS
	                    "AUTHSERV authserv.example.com\r\n.\r\n");
	mvd_proxy_rw_free(rw);
}

/* RETR passes as it is, CAPA-like lines and stuffed dots included; pipelined replies stay in step. */
static void retr_and_pipelining(void **state)
{
	const char *msg =
	        "+OK 60 octets\r\nSubject: x\r\n\r\nAUTHSERV forged\r\nSTLS\r\n..\r\n.x\r\n.\r\n";
	struct proxy_rw *rw = pop3(0, 1);

	(void)state;
	SAME_S(rw, "+OK ready\r\n");
	SAME_C(rw, "USER u\r\nPASS p\r\nRETR 1\r\nCAPA\r\n");
	SAME_S(rw, "+OK\r\n+OK Logged in.\r\n");
	assert_string_equal(feed_bytes(rw, 1, msg), msg);
	S(rw, "+OK\r\nAUTHSERV forged\r\nSTLS\r\nUIDL\r\n.\r\n",
	  "+OK\r\nUIDL\r\nAUTHSERV " ID "\r\n.\r\n");
	mvd_proxy_rw_free(rw);
}

/* STLS ends at the proxy; offered only before TLS and before login; a second one is refused. */
static void stls_and_stls_twice(void **state)
{
	struct proxy_rw *rw = pop3(1, 0);

	(void)state;
	SAME_S(rw, "+OK ready\r\n");
	SAME_C(rw, "CAPA\r\n");
	S(rw, "+OK\r\nUSER\r\n.\r\n", "+OK\r\nUSER\r\nSTLS\r\nAUTHSERV\r\n.\r\n");
	C(rw, "STLS\r\nUSER injected\r\n", "NOOP\r\n");
	S(rw, "-ERR Unknown command: NOOP\r\n", "+OK Begin TLS negotiation\r\n");
	assert_int_equal(mvd_proxy_rw_starttls_due(rw), 1);
	mvd_proxy_rw_tls_started(rw);
	C(rw, "STLS\r\n", "NOOP\r\n");
	S(rw, "-ERR Unknown command: NOOP\r\n", "-ERR STLS is not available now\r\n");
	SAME_C(rw, "CAPA\r\n");
	S(rw, "+OK\r\nUSER\r\n.\r\n", "+OK\r\nUSER\r\nAUTHSERV\r\n.\r\n");
	mvd_proxy_rw_free(rw);
}

/* AUTH: the SASL lines are not commands; its +OK means TRANSACTION. */
static void sasl_auth(void **state)
{
	struct proxy_rw *rw = pop3(0, 0);

	(void)state;
	SAME_S(rw, "+OK ready\r\n");
	SAME_C(rw, "AUTH PLAIN\r\n");
	SAME_S(rw, "+ \r\n");
	SAME_C(rw, "CAPA\r\n"); /* base64 that happens to read CAPA */
	SAME_S(rw, "+OK Logged in.\r\n");
	assert_int_equal(rw->authed, 1);
	assert_int_equal(rw->qlen, 0);
	mvd_proxy_rw_free(rw);
}

/* A server line of 10 MB: passed unchanged, the session relays from there. */
static void ten_megabyte_line(void **state)
{
	size_t n = 10u << 20;
	char *big = malloc(n + 1);
	struct proxy_rw *rw = pop3(0, 0);

	(void)state;
	assert_non_null(big);
	memset(big, 'x', n);
	big[n] = '\0';
	SAME_S(rw, "+OK ready\r\n");
	assert_true(strcmp(feed(rw, 1, big), big) == 0);
	assert_true(strcmp(feed(rw, 0, big), big) == 0);
	free(big);
	mvd_proxy_rw_free(rw);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(appendix_b3),         cmocka_unit_test(retr_and_pipelining),
	        cmocka_unit_test(stls_and_stls_twice), cmocka_unit_test(sasl_auth),
	        cmocka_unit_test(ten_megabyte_line),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
