/* tests/smtp/parse_unit.c — the SMTP server's parsers: commands, paths, DATA lines (cmocka). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <arpa/inet.h>

#include "parse.h"

static struct smtp_data_line line(const char *text, int after_crlf)
{
	struct smtp_data_line dl;

	smtp_data_line(text, strlen(text), after_crlf, &dl);
	return dl;
}

/* RFC 5321 §4.1.1.4: the end of the mail data is <CRLF>.<CRLF>. */
static void end_of_data_is_only_crlf_dot_crlf(void **state)
{
	(void)state;
	assert_true(line(".\r\n", 1).end_of_data);
	assert_false(line(".\r\n", 0).end_of_data); /* <LF>.<CR><LF> */
	assert_false(line(".\n", 1).end_of_data);   /* <CRLF>.<LF> */
	assert_false(line(".\n", 0).end_of_data);   /* <LF>.<LF> */
	assert_false(line(". \r\n", 1).end_of_data);
	assert_false(line("..\r\n", 1).end_of_data);
}

/* The smuggling separators are seen as what they are: bare line ends. */
static void bare_cr_and_lf_are_flagged(void **state)
{
	struct smtp_data_line dl;

	(void)state;
	dl = line("body\n", 1);
	assert_int_equal(dl.end, SMTP_END_BARE_LF);
	dl = line("body\r.\rMAIL FROM:<a@b>\r\n", 1);
	assert_int_equal(dl.end, SMTP_END_CRLF);
	assert_true(dl.bare_cr);
	dl = line("fine\r\n", 1);
	assert_int_equal(dl.end, SMTP_END_CRLF);
	assert_false(dl.bare_cr);
}

/* RFC 5321 §4.5.2: one leading dot is removed. */
static void dot_unstuffing_removes_one_dot(void **state)
{
	struct smtp_data_line dl = line("..dot\r\n", 1);

	(void)state;
	assert_int_equal(dl.len, 6);
	assert_memory_equal(dl.text, ".dot\r\n", 6);
	dl = line("plain\r\n", 1);
	assert_int_equal(dl.len, 7);
}

static void verbs_are_case_insensitive(void **state)
{
	struct smtp_cmd c;

	(void)state;
	smtp_cmd_parse("ehlo client.test", 16, &c);
	assert_int_equal(c.verb, SMTP_EHLO);
	assert_int_equal(c.arglen, 11);
	assert_memory_equal(c.arg, "client.test", 11);
	smtp_cmd_parse("StartTLS", 8, &c);
	assert_int_equal(c.verb, SMTP_STARTTLS);
	smtp_cmd_parse("DATAX", 5, &c);
	assert_int_equal(c.verb, SMTP_UNKNOWN);
	smtp_cmd_parse("", 0, &c);
	assert_int_equal(c.verb, SMTP_UNKNOWN);
}

static void paths_and_parameters(void **state)
{
	struct smtp_path p;
	const char *why = NULL;
	const char *a = "FROM:<alice@good.example> SIZE=1000 BODY=8BITMIME SMTPUTF8";

	(void)state;
	assert_int_equal(smtp_path_parse("FROM:", a, strlen(a), &p, &why), 0);
	assert_string_equal(p.addr, "alice@good.example");
	assert_int_equal(p.nparams, 3);
	assert_string_equal(smtp_path_param(&p, "size"), "1000");
	assert_string_equal(smtp_path_param(&p, "SMTPUTF8"), "");
	assert_null(smtp_path_param(&p, "RET"));
	a = "from: <>";
	assert_int_equal(smtp_path_parse("FROM:", a, strlen(a), &p, &why), 0);
	assert_string_equal(p.addr, "");
	a = "TO:<@relay.example,@b.example:bob@dest.example>"; /* RFC 5321 Appendix C */
	assert_int_equal(smtp_path_parse("TO:", a, strlen(a), &p, &why), 0);
	assert_string_equal(p.addr, "bob@dest.example");
}

static void bad_paths_are_refused_with_a_reply(void **state)
{
	static const char *const bad[] = {
	        "FROM:alice@good.example",
	        "FROM:<alice@good.example",
	        "FROM:<a b@c>",
	        "FROM:<a@b>junk",
	        "TO:<a@b>",
	        "FROM:<a\001@b>",
	        "FROM:<a@b> =x",
	};
	struct smtp_path p;

	(void)state;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		const char *why = NULL;
		assert_int_equal(smtp_path_parse("FROM:", bad[i], strlen(bad[i]), &p, &why), -1);
		assert_non_null(why);
		assert_true(why[0] == '5');
	}
}

static void a_path_over_256_octets_is_refused(void **state)
{
	char a[400];
	struct smtp_path p;
	const char *why = NULL;

	(void)state;
	memcpy(a, "FROM:<", 6);
	memset(a + 6, 'x', 300);
	memcpy(a + 306, "@b>", 4);
	assert_int_equal(smtp_path_parse("FROM:", a, strlen(a), &p, &why), -1);
	assert_string_equal(why, "501 5.1.3 Path too long");
}

static enum smtp_proxy_result proxy(const void *buf, size_t len, char *ip, size_t *used)
{
	return smtp_proxy_parse(buf, len, ip, INET6_ADDRSTRLEN, used);
}

/* haproxy's proxy-protocol.txt §2.1, the human-readable header. */
static void proxy_v1_names_the_client(void **state)
{
	static const char h[] = "PROXY TCP4 192.0.2.7 198.51.100.1 4242 25\r\nEHLO x\r\n";
	char ip[INET6_ADDRSTRLEN];
	size_t used;

	(void)state;
	assert_int_equal(proxy(h, strlen(h), ip, &used), SMTP_PROXY_DONE);
	assert_string_equal(ip, "192.0.2.7");
	assert_int_equal(used, strlen(h) - strlen("EHLO x\r\n"));
	assert_int_equal(proxy("PROXY TCP6 2001:db8::7 2001:db8::1 1 25\r\n", 41, ip, &used),
	                 SMTP_PROXY_DONE);
	assert_string_equal(ip, "2001:db8::7");
	assert_int_equal(proxy("PROXY UNKNOWN\r\n", 15, ip, &used), SMTP_PROXY_DONE);
	assert_string_equal(ip, "");
	assert_int_equal(proxy("PROXY TCP4 192.0.2.7", 20, ip, &used), SMTP_PROXY_MORE);
	assert_int_equal(proxy("PROX", 4, ip, &used), SMTP_PROXY_MORE);
	assert_int_equal(proxy("EHLO x\r\n", 8, ip, &used), SMTP_PROXY_BAD);
	assert_int_equal(proxy("PROXY TCP4 2001:db8::7 192.0.2.1 1 25\r\n", 39, ip, &used),
	                 SMTP_PROXY_BAD);
	assert_int_equal(proxy("PROXY TCP4 192.0.2.7 192.0.2.1 1 99999\r\n", 40, ip, &used),
	                 SMTP_PROXY_BAD);
}

/* §2.2, the binary header: version 2, PROXY or LOCAL, TCP over IPv4 or IPv6. */
static void proxy_v2_names_the_client(void **state)
{
	unsigned char h[16 + 36] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51,
	                            0x55, 0x49, 0x54, 0x0A, 0x21, 0x11, 0x00, 12,
	                            192,  0,    2,    9,    198,  51,   100,  1};
	char ip[INET6_ADDRSTRLEN];
	size_t used;

	(void)state;
	assert_int_equal(proxy(h, 28, ip, &used), SMTP_PROXY_DONE);
	assert_string_equal(ip, "192.0.2.9");
	assert_int_equal(used, 28);
	assert_int_equal(proxy(h, 20, ip, &used), SMTP_PROXY_MORE);
	h[12] = 0x20; /* LOCAL */
	assert_int_equal(proxy(h, 28, ip, &used), SMTP_PROXY_DONE);
	assert_string_equal(ip, "");
	h[12] = 0x31; /* version 3 */
	assert_int_equal(proxy(h, 28, ip, &used), SMTP_PROXY_BAD);
	h[12] = 0x21;
	h[13] = 0x21; /* TCP over IPv6 */
	h[15] = 36;
	memset(h + 16, 0, 36);
	h[16] = 0x20;
	h[17] = 0x01;
	h[18] = 0x0d;
	h[19] = 0xb8;
	h[31] = 7;
	assert_int_equal(proxy(h, sizeof h, ip, &used), SMTP_PROXY_DONE);
	assert_string_equal(ip, "2001:db8::7");
	h[7] = 0x00; /* a broken signature */
	assert_int_equal(proxy(h, sizeof h, ip, &used), SMTP_PROXY_BAD);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(end_of_data_is_only_crlf_dot_crlf),
	        cmocka_unit_test(bare_cr_and_lf_are_flagged),
	        cmocka_unit_test(dot_unstuffing_removes_one_dot),
	        cmocka_unit_test(verbs_are_case_insensitive),
	        cmocka_unit_test(paths_and_parameters),
	        cmocka_unit_test(bad_paths_are_refused_with_a_reply),
	        cmocka_unit_test(a_path_over_256_octets_is_refused),
	        cmocka_unit_test(proxy_v1_names_the_client),
	        cmocka_unit_test(proxy_v2_names_the_client),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
