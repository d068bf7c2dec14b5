/* tests/dns/test_zone_parse.c — the zone-file format (DESIGN.md "Zone file format"). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <string.h>
#include <cmocka.h>

#include <mailvet/dns.h>

static struct mv_resolver *zone(const char *text)
{
	struct mv_resolver *r = NULL;
	char err[128];

	if (mv_dns_zone_parse(text, strlen(text), &r, err, sizeof err) != MV_OK)
		fail_msg("zone does not parse: %s", err);
	return r;
}

static struct mv_dns_answer *ask(struct mv_resolver *r, const char *name, enum mv_dns_type t)
{
	struct mv_dns_answer *a = NULL;

	assert_int_equal(mv_dns_query(r, name, t, &a), MV_OK);
	assert_non_null(a);
	return a;
}

static void every_type_parses(void **state)
{
	struct mv_resolver *r = zone("a.example A 192.0.2.1\n"
	                             "a.example AAAA 2001:db8::1\n"
	                             "a.example MX 10 mx.example.\n"
	                             "4.3.2.1.in-addr.arpa PTR host.example\n"
	                             "alias.example CNAME a.example\n"
	                             "a.example TXT \"v=spf1 \" \"-all\"\n");
	struct mv_dns_answer *a;
	static const uint8_t v4[4] = {192, 0, 2, 1};
	static const uint8_t v6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};

	(void)state;
	a = ask(r, "a.example", MV_DNS_A);
	assert_int_equal(a->rcode, MV_DNS_RECORDS);
	assert_int_equal(a->count, 1);
	assert_int_equal(a->rr[0].type, MV_DNS_A);
	assert_memory_equal(a->rr[0].addr, v4, 4);
	mv_dns_answer_free(a);

	a = ask(r, "a.example", MV_DNS_AAAA);
	assert_int_equal(a->count, 1);
	assert_memory_equal(a->rr[0].addr, v6, 16);
	mv_dns_answer_free(a);

	a = ask(r, "a.example", MV_DNS_MX);
	assert_int_equal(a->count, 1);
	assert_int_equal(a->rr[0].pref, 10);
	assert_string_equal(a->rr[0].host, "mx.example"); /* no trailing dot */
	mv_dns_answer_free(a);

	a = ask(r, "4.3.2.1.in-addr.arpa", MV_DNS_PTR);
	assert_string_equal(a->rr[0].host, "host.example");
	mv_dns_answer_free(a);

	a = ask(r, "alias.example", MV_DNS_CNAME);
	assert_int_equal(a->rcode, MV_DNS_RECORDS);
	assert_string_equal(a->rr[0].host, "a.example");
	mv_dns_answer_free(a);

	a = ask(r, "a.example", MV_DNS_TXT);
	assert_int_equal(a->count, 1);
	assert_int_equal(a->rr[0].txtlen, strlen("v=spf1 -all"));
	assert_string_equal(a->rr[0].txt, "v=spf1 -all"); /* strings concatenated */
	mv_dns_answer_free(a);
	mv_dns_free(r);
}

static void several_txt_lines_are_several_records(void **state)
{
	struct mv_resolver *r = zone("two.example TXT \"v=spf1 -all\"\n"
	                             "two.example TXT \"v=spf1 +all\"\n");
	struct mv_dns_answer *a = ask(r, "two.example", MV_DNS_TXT);

	(void)state;
	assert_int_equal(a->count, 2);
	assert_string_equal(a->rr[0].txt, "v=spf1 -all");
	assert_string_equal(a->rr[1].txt, "v=spf1 +all");
	mv_dns_answer_free(a);
	mv_dns_free(r);
}

/* RFC 1035 §5.1 escapes inside TXT strings: \" \\ and \DDD, including NUL. */
static void txt_escapes_decode(void **state)
{
	struct mv_resolver *r = zone("e.example TXT \"q\\\"b\\\\s\\000n\\255\\;x\" ; comment\n");
	struct mv_dns_answer *a = ask(r, "e.example", MV_DNS_TXT);
	static const char want[] = "q\"b\\s\0n\xff;x";

	(void)state;
	assert_int_equal(a->rr[0].txtlen, sizeof want - 1);
	assert_memory_equal(a->rr[0].txt, want, sizeof want - 1);
	assert_int_equal(a->rr[0].txt[a->rr[0].txtlen], '\0');
	mv_dns_answer_free(a);
	mv_dns_free(r);
}

static void semicolon_inside_a_string_is_not_a_comment(void **state)
{
	struct mv_resolver *r = zone("s.example TXT \"a;b\" \"c\" ; real comment \"d\"\n");
	struct mv_dns_answer *a = ask(r, "s.example", MV_DNS_TXT);

	(void)state;
	assert_string_equal(a->rr[0].txt, "a;bc");
	mv_dns_answer_free(a);
	mv_dns_free(r);
}

static void empty_txt_string_is_a_record(void **state)
{
	struct mv_resolver *r = zone("e.example TXT \"\"\n");
	struct mv_dns_answer *a = ask(r, "e.example", MV_DNS_TXT);

	(void)state;
	assert_int_equal(a->rcode, MV_DNS_RECORDS);
	assert_int_equal(a->count, 1);
	assert_int_equal(a->rr[0].txtlen, 0);
	assert_string_equal(a->rr[0].txt, "");
	mv_dns_answer_free(a);
	mv_dns_free(r);
}

static void owner_escapes_decode(void **state)
{
	struct mv_resolver *r = zone("a\\032b.example A 192.0.2.7\n"
	                             "x\\\\y.example. A 192.0.2.8\n");
	struct mv_dns_answer *a;

	(void)state;
	a = ask(r, "a b.example", MV_DNS_A);
	assert_int_equal(a->rcode, MV_DNS_RECORDS);
	mv_dns_answer_free(a);
	a = ask(r, "x\\y.example", MV_DNS_A);
	assert_int_equal(a->rcode, MV_DNS_RECORDS);
	mv_dns_answer_free(a);
	mv_dns_free(r);
}

static void comments_blank_lines_crlf_and_case(void **state)
{
	struct mv_resolver *r = zone("; a zone\r\n"
	                             "\r\n"
	                             "   \t\n"
	                             "  Mixed.EXAMPLE.   txt   \"x\"   ; trailing\r\n"
	                             "null.example mx 0 .\n");
	struct mv_dns_answer *a;

	(void)state;
	a = ask(r, "mixed.example", MV_DNS_TXT);
	assert_string_equal(a->rr[0].txt, "x");
	mv_dns_answer_free(a);
	a = ask(r, "null.example", MV_DNS_MX); /* RFC 7505 null MX: host "" */
	assert_int_equal(a->count, 1);
	assert_string_equal(a->rr[0].host, "");
	mv_dns_answer_free(a);
	mv_dns_free(r);
}

static void empty_zone_answers_nxdomain(void **state)
{
	struct mv_resolver *r = zone("");
	struct mv_dns_answer *a = ask(r, "example.com", MV_DNS_A);

	(void)state;
	assert_int_equal(a->rcode, MV_DNS_NXDOMAIN);
	mv_dns_answer_free(a);
	mv_dns_free(r);
}

/* Each bad zone and the line number and reason its error must name. */
struct bad_case {
	const char *what;
	const char *text;
	const char *err;
	enum mv_status st;
};

static const struct bad_case bad_cases[] = {
        {"unknown type", "a.example A 192.0.2.1\nb.example SPF \"v=spf1\"\n",
         "line 2: unknown type 'SPF'", MV_ESYNTAX},
        {"missing type", "a.example\n", "line 1: missing type", MV_ESYNTAX},
        {"bad ipv4", "a.example A 192.0.2.300\n", "line 1: bad A address", MV_ESYNTAX},
        {"ipv6 in A", "a.example A 2001:db8::1\n", "line 1: bad A address", MV_ESYNTAX},
        {"bad ipv6", "\n\na.example AAAA 192.0.2.1\n", "line 3: bad AAAA address", MV_ESYNTAX},
        {"mx without host", "a.example MX 10\n", "line 1: missing target name", MV_ESYNTAX},
        {"mx pref too big", "a.example MX 65536 mx.example\n",
         "line 1: bad MX preference (0-65535)", MV_ESYNTAX},
        {"mx pref not a number", "a.example MX ten mx.example\n",
         "line 1: bad MX preference (0-65535)", MV_ESYNTAX},
        {"unterminated string", "a.example TXT \"abc\n", "line 1: unterminated TXT string",
         MV_ESYNTAX},
        {"unquoted txt", "a.example TXT abc\n", "line 1: TXT strings must be quoted", MV_ESYNTAX},
        {"txt without string", "a.example TXT ; nothing\n",
         "line 1: TXT needs at least one \"string\"", MV_ESYNTAX},
        {"bad ddd escape", "a.example TXT \"\\25x\"\n", "line 1: bad \\DDD escape in a TXT string",
         MV_ESYNTAX},
        {"ddd over 255", "a.example TXT \"\\256\"\n", "line 1: bad \\DDD escape in a TXT string",
         MV_ESYNTAX},
        {"trailing text", "a.example A 192.0.2.1 extra\n", "line 1: trailing text after the record",
         MV_ESYNTAX},
        {"empty label in owner", "a..example A 192.0.2.1\n", "line 1: bad owner name", MV_ESYNTAX},
        {"label over 63 in owner",
         "a1234567890123456789012345678901234567890123456789012345678901234.example A 192.0.2.1\n",
         "line 1: bad owner name", MV_ESYNTAX},
        {"nul escape in owner", "a\\000b.example A 192.0.2.1\n", "line 1: NUL byte in a name",
         MV_ESYNTAX},
        {"pseudo with rdata", "a.example TIMEOUT 5\n",
         "line 1: TIMEOUT and SERVFAIL take no data but an optional type", MV_ESYNTAX},
        {"nodata with rdata", "a.example NODATA TXT\n", "line 1: NODATA takes no data", MV_ESYNTAX},
};

static void bad_zones_name_line_and_reason(void **state)
{
	struct mv_resolver *r;
	char err[160];
	size_t i, len;

	(void)state;
	for (i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
		const struct bad_case *c = &bad_cases[i];
		len = strlen(c->text);
		r = (struct mv_resolver *)1;
		assert_int_equal(mv_dns_zone_parse(c->text, len, &r, err, sizeof err), c->st);
		assert_null(r);
		if (strncmp(err, c->err, strlen(c->err)) != 0)
			fail_msg("%s: got '%s', want '%s'", c->what, err, c->err);
	}
}

static void raw_nul_byte_is_refused(void **state)
{
	static const char text[] = "a.example TXT \"a\0b\"\n";
	struct mv_resolver *r;
	char err[64];

	(void)state;
	assert_int_equal(mv_dns_zone_parse(text, sizeof text - 1, &r, err, sizeof err), MV_ESYNTAX);
	assert_string_equal(err, "line 1: NUL byte (write \\000)");
}

static void error_message_is_bounded_by_errlen(void **state)
{
	struct mv_resolver *r;
	char err[8];

	(void)state;
	memset(err, 'x', sizeof err);
	assert_int_equal(mv_dns_zone_parse("a.example BOGUS\n", 16, &r, err, sizeof err),
	                 MV_ESYNTAX);
	assert_string_equal(err, "line 1:");
	assert_int_equal(mv_dns_zone_parse("a.example BOGUS\n", 16, &r, NULL, 0), MV_ESYNTAX);
}

static void line_too_long_is_refused(void **state)
{
	size_t n = 70000, pre = strlen("a.example TXT \"");
	char *text = malloc(n + 3), err[128];
	struct mv_resolver *r;

	(void)state;
	memcpy(text, "a.example TXT \"", pre);
	memset(text + pre, 'x', n - pre);
	memcpy(text + n, "\"\n", 3);
	assert_int_equal(mv_dns_zone_parse(text, n + 2, &r, err, sizeof err), MV_ETOOBIG);
	assert_string_equal(err, "line 1: line longer than 65536 bytes");
	free(text);
}

static void zone_over_the_size_limit_is_refused(void **state)
{
	struct mv_resolver *r;
	char err[128];

	(void)state;
	/* the length is checked before a byte is read */
	assert_int_equal(mv_dns_zone_parse("", MV_DNS_ZONE_MAX + 1, &r, err, sizeof err),
	                 MV_ETOOBIG);
	assert_null(r);
}

static void zone_open_reads_a_file_and_reports_missing_ones(void **state)
{
	struct mv_resolver *r;
	char err[256], path[] = "/tmp/mv-zone-XXXXXX";
	struct mv_dns_answer *a;
	FILE *f;
	int fd;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	fputs("file.example A 192.0.2.9\n", f);
	fclose(f);
	assert_int_equal(mv_dns_zone_open(path, &r, err, sizeof err), MV_OK);
	a = ask(r, "file.example", MV_DNS_A);
	assert_int_equal(a->rcode, MV_DNS_RECORDS);
	mv_dns_answer_free(a);
	mv_dns_free(r);
	unlink(path);
	assert_int_equal(mv_dns_zone_open(path, &r, err, sizeof err), MV_EIO);
	assert_null(r);
	assert_non_null(strstr(err, path));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(every_type_parses),
	        cmocka_unit_test(several_txt_lines_are_several_records),
	        cmocka_unit_test(txt_escapes_decode),
	        cmocka_unit_test(semicolon_inside_a_string_is_not_a_comment),
	        cmocka_unit_test(empty_txt_string_is_a_record),
	        cmocka_unit_test(owner_escapes_decode),
	        cmocka_unit_test(comments_blank_lines_crlf_and_case),
	        cmocka_unit_test(empty_zone_answers_nxdomain),
	        cmocka_unit_test(bad_zones_name_line_and_reason),
	        cmocka_unit_test(raw_nul_byte_is_refused),
	        cmocka_unit_test(error_message_is_bounded_by_errlen),
	        cmocka_unit_test(line_too_long_is_refused),
	        cmocka_unit_test(zone_over_the_size_limit_is_refused),
	        cmocka_unit_test(zone_open_reads_a_file_and_reports_missing_ones),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
