/* tests/dns/test_zone_master.c — RFC 1035 §5 master-file syntax in zone files (docs/zone-file.md). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <mailvet/dns.h>

#include "dns/backend.h"

static struct mv_resolver *zone(const char *text)
{
	struct mv_resolver *r = NULL;
	char err[160];

	if (mv_dns_zone_parse(text, strlen(text), &r, err, sizeof err) != MV_OK)
		fail_msg("zone does not parse: %s", err);
	return r;
}

/* The answer's rcode, its count, and (when records) the first host or TXT. */
static void expect(struct mv_resolver *r, const char *name, enum mv_dns_type t,
                   enum mv_dns_rcode rcode, size_t count, const char *first)
{
	struct mv_dns_answer *a = NULL;

	assert_int_equal(mv_dns_query(r, name, t, &a), MV_OK);
	if (a->rcode != rcode || a->count != count)
		fail_msg("%s %s: rcode %d count %zu, want %d %zu", name, mv_dns_type_str(t),
		         (int)a->rcode, a->count, (int)rcode, count);
	if (first && t == MV_DNS_TXT)
		assert_string_equal(a->rr[0].txt, first);
	else if (first)
		assert_string_equal(a->rr[0].host, first);
	mv_dns_answer_free(a);
}

/* Our own zone in the shape of RFC 1035 §5.3's example: $ORIGIN, @, a SOA in parentheses, blank owners. */
static void rfc1035_style_zone(void **state)
{
	struct mv_resolver *r = zone("$ORIGIN example.org.\n"
	                             "$TTL 3600\n"
	                             "@   IN  SOA ns1 hostmaster.example.org. (\n"
	                             "            2026120301 ; serial\n"
	                             "            7200       ; refresh\n"
	                             "            3600 1209600\n"
	                             "            300 )      ; minimum\n"
	                             "    IN  NS  ns1\n"
	                             "    NS      ns2.example.net.\n"
	                             "    IN  MX  10 mail\n"
	                             "        MX  20 mail.example.net.\n"
	                             "    600 IN TXT \"v=spf1 mx -all\"\n"
	                             "mail    IN  A   192.0.2.25\n"
	                             "        IN 300  AAAA 2001:db8::25\n"
	                             "ns1     A   192.0.2.53\n"
	                             "www     CNAME @\n"
	                             "_dmarc  TXT ( \"v=DMARC1; \"\n"
	                             "              \"p=reject\" )\n"
	                             "$ORIGIN 2.0.192.in-addr.arpa.\n"
	                             "25      PTR mail.example.org.\n");

	(void)state;
	expect(r, "example.org", MV_DNS_MX, MV_DNS_RECORDS, 2, "mail.example.org");
	expect(r, "example.org", MV_DNS_TXT, MV_DNS_RECORDS, 1, "v=spf1 mx -all");
	expect(r, "example.org", MV_DNS_A, MV_DNS_NODATA, 0, NULL); /* SOA and NS: name exists */
	expect(r, "mail.example.org", MV_DNS_A, MV_DNS_RECORDS, 1, NULL);
	expect(r, "mail.example.org", MV_DNS_AAAA, MV_DNS_RECORDS, 1, NULL);
	expect(r, "ns1.example.org", MV_DNS_A, MV_DNS_RECORDS, 1, NULL);
	expect(r, "www.example.org", MV_DNS_CNAME, MV_DNS_RECORDS, 1, "example.org");
	expect(r, "_dmarc.example.org", MV_DNS_TXT, MV_DNS_RECORDS, 1, "v=DMARC1; p=reject");
	expect(r, "25.2.0.192.in-addr.arpa", MV_DNS_PTR, MV_DNS_RECORDS, 1, "mail.example.org");
	expect(r, "ns2.example.net", MV_DNS_A, MV_DNS_NXDOMAIN, 0, NULL);
	mv_dns_free(r);
}

/* What `dig +noall +answer` and `dig axfr` print: absolute names, TTL and class columns, ;; comments. */
static void dig_output_is_a_zone(void **state)
{
	struct mv_resolver *r = zone(
	        "\n; <<>> DiG 9.18.28 <<>> axfr example.com @127.0.0.1\n"
	        ";; global options: +cmd\n"
	        "example.com.\t\t86400\tIN\tSOA\tns.example.com. root.example.com. 1 7200 3600 "
	        "1209600 300\n"
	        "example.com.\t\t86400\tIN\tNS\tns.example.com.\n"
	        "example.com.\t\t300\tIN\tTXT\t\"v=spf1 ip4:192.0.2.0/24 \" \"-all\"\n"
	        "example.com.\t\t300\tIN\tMX\t0 .\n"
	        "sel._domainkey.example.com. 300 IN\tTXT\t\"v=DKIM1; k=ed25519; "
	        "p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=\"\n"
	        "x.example.com.\t\t60\tIN\tRRSIG\tA 13 3 60 20261231000000 20261201000000 1 "
	        "example.com. AAAA==\n"
	        "example.com.\t\t86400\tIN\tSOA\tns.example.com. root.example.com. 1 7200 3600 "
	        "1209600 300\n"
	        ";; Query time: 1 msec\n");

	(void)state;
	expect(r, "example.com", MV_DNS_TXT, MV_DNS_RECORDS, 1, "v=spf1 ip4:192.0.2.0/24 -all");
	expect(r, "example.com", MV_DNS_MX, MV_DNS_RECORDS, 1, "");
	expect(r, "sel._domainkey.example.com", MV_DNS_TXT, MV_DNS_RECORDS, 1, NULL);
	expect(r, "x.example.com", MV_DNS_A, MV_DNS_NODATA, 0, NULL);
	mv_dns_free(r);
}

/* A zone as nsd's documentation writes one, with the pseudo-records beside it. */
static void nsd_style_zone_with_pseudo_records(void **state)
{
	struct mv_resolver *r = zone("$ORIGIN example.net.\n"
	                             "$TTL 1h30m\n"
	                             "example.net. IN SOA ns0.example.net. admin.example.net. (\n"
	                             "\t2026120301 28800 7200 604800 86400 )\n"
	                             "@ IN NS ns0\n"
	                             "ns0 IN A 192.0.2.1\n"
	                             "slow 300 IN TIMEOUT\n"
	                             "broken SERVFAIL TXT\n"
	                             "broken A 192.0.2.2\n"
	                             "empty NODATA\n"
	                             "old.example.org TXT \"absolute? no: relative\"\n");

	(void)state;
	expect(r, "slow.example.net", MV_DNS_TXT, MV_DNS_TIMEOUT, 0, NULL);
	expect(r, "broken.example.net", MV_DNS_TXT, MV_DNS_SERVFAIL, 0, NULL);
	expect(r, "broken.example.net", MV_DNS_A, MV_DNS_RECORDS, 1, NULL);
	expect(r, "empty.example.net", MV_DNS_A, MV_DNS_NODATA, 0, NULL);
	/* after $ORIGIN a name without its trailing dot is relative */
	expect(r, "old.example.org.example.net", MV_DNS_TXT, MV_DNS_RECORDS, 1, NULL);
	expect(r, "old.example.org", MV_DNS_TXT, MV_DNS_NXDOMAIN, 0, NULL);
	mv_dns_free(r);
}

/* Before any $ORIGIN, names are absolute (the one-line format); $ORIGIN may be relative. */
static void origin_rules(void **state)
{
	struct mv_resolver *r = zone("plain.example TXT \"one\"\n"
	                             "$ORIGIN example.\n"
	                             "rel TXT \"two\"\n"
	                             "$ORIGIN sub\n"
	                             "deeper TXT \"three\"\n"
	                             "@ TXT \"four\"\n"
	                             "abs.example. CNAME @\n");

	(void)state;
	expect(r, "plain.example", MV_DNS_TXT, MV_DNS_RECORDS, 1, "one");
	expect(r, "rel.example", MV_DNS_TXT, MV_DNS_RECORDS, 1, "two");
	expect(r, "deeper.sub.example", MV_DNS_TXT, MV_DNS_RECORDS, 1, "three");
	expect(r, "sub.example", MV_DNS_TXT, MV_DNS_RECORDS, 1, "four");
	expect(r, "abs.example", MV_DNS_CNAME, MV_DNS_RECORDS, 1, "sub.example");
	mv_dns_free(r);
}

/* RFC 1035 §5.1 character strings: several per TXT, \DDD and \" escapes, ( ) and ; inside quotes. */
static void txt_strings_in_master_syntax(void **state)
{
	struct mv_resolver *r = zone("t.example. 60 IN TXT \"a\\\"b\" \"(c;d)\" \"\\065\\066C\"\n"
	                             "u.example. IN 60 TXT (\n"
	                             "  \"first \"   ; a comment inside the parentheses\n"
	                             "  \"second\"\n"
	                             ")\n");

	(void)state;
	expect(r, "t.example", MV_DNS_TXT, MV_DNS_RECORDS, 1, "a\"b(c;d)ABC");
	expect(r, "u.example", MV_DNS_TXT, MV_DNS_RECORDS, 1, "first second");
	mv_dns_free(r);
}

struct bad_case {
	const char *what, *text, *err;
};

static const struct bad_case bad_cases[] = {
        {"include", "$INCLUDE /etc/passwd\n", "line 1: directive $INCLUDE is not supported"},
        {"unknown directive", "a.example A 192.0.2.1\n$GENERATE 1-9 x A 1.2.3.$\n",
         "line 2: directive $GENERATE is not supported"},
        {"bad ttl", "$TTL forever\n", "line 1: bad $TTL"},
        {"origin missing", "$ORIGIN\n", "line 1: missing $ORIGIN name"},
        {"class ch", "a.example 60 CH TXT \"x\"\n", "line 1: class CH is not served (only IN)"},
        {"unclosed paren", "a.example A 192.0.2.1\nb.example TXT ( \"x\"\n\"y\"\n",
         "line 2: '(' not closed before the end of the zone"},
        {"close without open", "a.example TXT \"x\" )\n", "line 1: ')' without '('"},
        {"error inside parentheses names the entry", "\na.example MX (\n 10\n)\n",
         "line 2: missing target name"},
        {"string broken across lines", "a.example TXT ( \"x\ny\" )\n",
         "line 1: unterminated TXT string"},
        {"ttl only", "a.example 300 IN\n", "line 1: missing type"},
};

static void bad_master_files_name_line_and_reason(void **state)
{
	struct mv_resolver *r;
	char err[160];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
		const struct bad_case *c = &bad_cases[i];
		r = (struct mv_resolver *)1;
		assert_int_equal(mv_dns_zone_parse(c->text, strlen(c->text), &r, err, sizeof err),
		                 MV_ESYNTAX);
		assert_null(r);
		if (strncmp(err, c->err, strlen(c->err)) != 0)
			fail_msg("%s: got '%s', want '%s'", c->what, err, c->err);
	}
}

/* Parentheses can join many lines, but an entry is bounded like a line. */
static void entry_over_the_limit_is_refused(void **state)
{
	size_t i, n = 0, cap = 80000;
	char *text = malloc(cap), err[128];
	struct mv_resolver *r;

	(void)state;
	n += (size_t)snprintf(text, cap, "a.example TXT (\n");
	for (i = 0; i < 7000; i++)
		n += (size_t)snprintf(text + n, cap - n, "\"xxxxxxx\"\n");
	n += (size_t)snprintf(text + n, cap - n, ")\n");
	assert_int_equal(mv_dns_zone_parse(text, n, &r, err, sizeof err), MV_ETOOBIG);
	assert_non_null(strstr(err, "record longer than 65536 bytes"));
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(rfc1035_style_zone),
	        cmocka_unit_test(dig_output_is_a_zone),
	        cmocka_unit_test(nsd_style_zone_with_pseudo_records),
	        cmocka_unit_test(origin_rules),
	        cmocka_unit_test(txt_strings_in_master_syntax),
	        cmocka_unit_test(bad_master_files_name_line_and_reason),
	        cmocka_unit_test(entry_over_the_limit_is_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
