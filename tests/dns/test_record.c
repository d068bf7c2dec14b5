/* tests/dns/test_record.c — recording answers as a zone file and replaying them. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <cmocka.h>

#include <mailvet/dns.h>
#include <mailvet/util.h>

static const char rich_zone[] =
        "mail.example.com A 192.0.2.1\n"
        "mail.example.com A 192.0.2.2\n"
        "mail.example.com AAAA 2001:db8::25\n"
        "example.com MX 10 mail.example.com\n"
        "example.com MX 20 Backup.Example.com.\n"
        "example.com TXT \"v=spf1 mx \" \"-all\"\n"
        "example.com TXT \"v=spf1 +all\"\n"
        "weird.example.com TXT \"quote\\\" back\\\\ nul\\000 hi\\200\\255 tab\\009;\"\n"
        "long.example.com TXT \"" /* 300 bytes: written back as two strings */
        "0123456789012345678901234567890123456789012345678901234567890123456789"
        "0123456789012345678901234567890123456789012345678901234567890123456789"
        "0123456789012345678901234567890123456789012345678901234567890123456789"
        "0123456789012345678901234567890123456789012345678901234567890123456789"
        "01234567890123456789\"\n"
        "2.0.192.in-addr.arpa PTR mail.example.com\n"
        "1.2.0.192.in-addr.arpa PTR mail.example.com\n"
        "www.example.com CNAME web.example.com\n"
        "web.example.com CNAME mail.example.com\n"
        "dead.example.com CNAME gone.example.com\n"
        "a\\032space.example.com TXT \"spaced\"\n"
        "semi\\059colon.example.com A 192.0.2.9\n"
        "slow.example.com TIMEOUT\n"
        "slowtxt.example.com A 192.0.2.3\n"
        "slowtxt.example.com TIMEOUT TXT\n"
        "broken.example.com SERVFAIL\n"
        "loop.example.com CNAME loop.example.com\n"
        "deep.ent.example.com A 192.0.2.4\n"
        "null.example.net MX 0 .\n"
        "mx.example.org MX 0 mail.example.com\n"
        "c1.example.com CNAME c2.example.com\n"
        "c2.example.com CNAME c3.example.com\n"
        "c3.example.com CNAME c4.example.com\n"
        "c4.example.com CNAME c5.example.com\n"
        "c5.example.com CNAME c6.example.com\n"
        "c6.example.com CNAME c7.example.com\n"
        "c7.example.com CNAME c8.example.com\n"
        "c8.example.com CNAME c9.example.com\n"
        "c9.example.com CNAME mail.example.com\n";

struct question {
	const char *name;
	enum mv_dns_type type;
};

/* Every kind of answer: records, NXDOMAIN, NODATA, ENT, CNAMEs, failures. */
static const struct question questions[] = {
        {"mail.example.com", MV_DNS_A},       {"mail.example.com", MV_DNS_AAAA},
        {"mail.example.com", MV_DNS_TXT},     {"example.com", MV_DNS_MX},
        {"EXAMPLE.com.", MV_DNS_TXT},         {"example.com", MV_DNS_A},
        {"weird.example.com", MV_DNS_TXT},    {"long.example.com", MV_DNS_TXT},
        {"2.0.192.in-addr.arpa", MV_DNS_PTR}, {"1.2.0.192.in-addr.arpa", MV_DNS_PTR},
        {"www.example.com", MV_DNS_A},        {"www.example.com", MV_DNS_MX},
        {"www.example.com", MV_DNS_CNAME},    {"web.example.com", MV_DNS_TXT},
        {"dead.example.com", MV_DNS_A},       {"nothing.example.com", MV_DNS_TXT},
        {"a space.example.com", MV_DNS_TXT},  {"semi;colon.example.com", MV_DNS_A},
        {"slow.example.com", MV_DNS_TXT},     {"slowtxt.example.com", MV_DNS_TXT},
        {"slowtxt.example.com", MV_DNS_A},    {"slowtxt.example.com", MV_DNS_MX},
        {"broken.example.com", MV_DNS_A},     {"loop.example.com", MV_DNS_TXT},
        {"ent.example.com", MV_DNS_TXT},      {"null.example.net", MV_DNS_MX},
        {"null.example.net", MV_DNS_TXT},     {"example.net", MV_DNS_A},
        {"mx.example.org", MV_DNS_MX},        {"mail.example.com", MV_DNS_A},
};
#define NQ (sizeof questions / sizeof questions[0])

static void same_answer(const struct mv_dns_answer *a, const struct mv_dns_answer *b,
                        const struct question *q)
{
	size_t i;

	if (a->rcode != b->rcode || a->count != b->count)
		fail_msg("%s/%d: rcode %d/%d count %zu/%zu", q->name, (int)q->type, (int)a->rcode,
		         (int)b->rcode, a->count, b->count);
	if (strcasecmp(a->name, b->name) != 0)
		fail_msg("%s/%d: owner '%s' replayed as '%s'", q->name, (int)q->type, a->name,
		         b->name);
	for (i = 0; i < a->count; i++) {
		assert_int_equal(a->rr[i].type, b->rr[i].type);
		assert_memory_equal(a->rr[i].addr, b->rr[i].addr, 16);
		assert_int_equal(a->rr[i].pref, b->rr[i].pref);
		if (a->rr[i].host)
			assert_true(strcasecmp(a->rr[i].host, b->rr[i].host) == 0);
		else
			assert_null(b->rr[i].host);
		assert_int_equal(a->rr[i].txtlen, b->rr[i].txtlen);
		if (a->rr[i].txt)
			assert_memory_equal(a->rr[i].txt, b->rr[i].txt, a->rr[i].txtlen + 1);
	}
}

static int count_lines(const char *text, const char *line)
{
	const char *p = text;
	int n = 0;

	while ((p = strstr(p, line)) != NULL) {
		n++;
		p++;
	}
	return n;
}

static struct mv_resolver *parse(const char *text, size_t len)
{
	struct mv_resolver *r = NULL;
	char err[128];

	if (mv_dns_zone_parse(text, len, &r, err, sizeof err) != MV_OK)
		fail_msg("zone: %s", err);
	return r;
}

static void replay_gives_every_recorded_answer(void **state)
{
	struct mv_dns_answer *orig[NQ], *again;
	struct mv_resolver *r = parse(rich_zone, strlen(rich_zone)), *replay;
	char path[] = "/tmp/mv-record-XXXXXX", *text;
	size_t i, len;
	int fd;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(mv_dns_record_to(r, path), MV_OK);
	for (i = 0; i < NQ; i++)
		assert_int_equal(mv_dns_query(r, questions[i].name, questions[i].type, &orig[i]),
		                 MV_OK);
	mv_dns_free(r); /* writes the recording */

	assert_int_equal(mv_read_file(path, 1 << 20, &text, &len), MV_OK);
	assert_null(strstr(text, "nothing.example.com")); /* NXDOMAIN needs no line */
	assert_non_null(strstr(text, "slowtxt.example.com TIMEOUT TXT\n"));
	assert_non_null(strstr(text, "a\\032space.example.com TXT \"spaced\"\n"));
	assert_non_null(strstr(text, "\"quote\\034 back\\092 nul\\000 hi\\200\\255 tab\\009;\""));
	/* the repeated question was written once */
	assert_int_equal(count_lines(text, "\nmail.example.com A 192.0.2.1\n"), 1);
	replay = parse(text, len);
	for (i = 0; i < NQ; i++) {
		assert_int_equal(mv_dns_query(replay, questions[i].name, questions[i].type, &again),
		                 MV_OK);
		same_answer(orig[i], again, &questions[i]);
		mv_dns_answer_free(again);
		mv_dns_answer_free(orig[i]);
	}
	mv_dns_free(replay);
	free(text);
	unlink(path);
}

static void flush_writes_what_was_served_so_far(void **state)
{
	struct mv_resolver *r = parse(rich_zone, strlen(rich_zone));
	struct mv_dns_answer *a;
	char path[] = "/tmp/mv-record-XXXXXX", *text;
	size_t len;
	int fd;

	(void)state;
	fd = mkstemp(path);
	close(fd);
	assert_int_equal(mv_dns_record_flush(r), MV_EINVAL); /* not recording yet */
	assert_int_equal(mv_dns_record_to(r, path), MV_OK);
	assert_int_equal(mv_dns_query(r, "example.com", MV_DNS_MX, &a), MV_OK);
	mv_dns_answer_free(a);
	assert_int_equal(mv_dns_record_flush(r), MV_OK);
	assert_int_equal(mv_read_file(path, 1 << 20, &text, &len), MV_OK);
	assert_non_null(strstr(text, "example.com MX 10 mail.example.com\n"));
	assert_non_null(strstr(text, "example.com MX 20 backup.example.com\n"));
	assert_null(strstr(text, " TXT "));
	free(text);
	mv_dns_free(r);
	unlink(path);
}

static void recording_to_an_unwritable_path_fails_at_once(void **state)
{
	struct mv_resolver *r = parse(rich_zone, strlen(rich_zone));

	(void)state;
	assert_int_equal(mv_dns_record_to(r, "/nonexistent-dir/x/zone"), MV_EIO);
	assert_int_equal(mv_dns_record_flush(r), MV_EINVAL);
	mv_dns_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(replay_gives_every_recorded_answer),
	        cmocka_unit_test(flush_writes_what_was_served_so_far),
	        cmocka_unit_test(recording_to_an_unwritable_path_fails_at_once),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
