/* tests/dns/test_zone_lookup.c — what a zone answers (DESIGN.md, RFC 1034 §3.6.2, §4.3.2). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <cmocka.h>

#include <mailvet/dns.h>

static const char lookup_zone[] = "; names with records\n"
                                  "host.example.com A 192.0.2.1\n"
                                  "host.example.com A 192.0.2.2\n"
                                  "host.example.com TXT \"hello\"\n"
                                  "deep.below.ent.example.com A 192.0.2.3\n"
                                  /* pseudo-types */
                                  "alltimeout.example.com TIMEOUT\n"
                                  "servfail.example.com SERVFAIL\n"
                                  "txttimeout.example.com A 192.0.2.4\n"
                                  "txttimeout.example.com TIMEOUT\n"
                                  "typed.example.com TIMEOUT TXT\n"
                                  "typed.example.com SERVFAIL MX\n"
                                  "marker.example.com NODATA\n"
                                  /* CNAME chains */
                                  "alias.example.com CNAME host.example.com.\n"
                                  "alias2.example.com CNAME ALIAS.example.com\n"
                                  "dangling.example.com CNAME nowhere.example.com\n"
                                  "toent.example.com CNAME ent.example.com\n"
                                  "loop1.example.com CNAME loop2.example.com\n"
                                  "loop2.example.com CNAME loop1.example.com\n"
                                  "self.example.com CNAME SELF.example.com\n"
                                  "c1.example.com CNAME c2.example.com\n"
                                  "c2.example.com CNAME c3.example.com\n"
                                  "c3.example.com CNAME c4.example.com\n"
                                  "c4.example.com CNAME c5.example.com\n"
                                  "c5.example.com CNAME c6.example.com\n"
                                  "c6.example.com CNAME c7.example.com\n"
                                  "c7.example.com CNAME c8.example.com\n"
                                  "c8.example.com CNAME c9.example.com\n"
                                  "c9.example.com CNAME host.example.com\n"
                                  "c2b.example.com CNAME c3.example.com\n"
                                  "totimeout.example.com CNAME alltimeout.example.com\n";

/* One question, its answer, and what the case shows. */
struct lookup_case {
	const char *what;
	const char *name;
	enum mv_dns_type type;
	enum mv_dns_rcode rcode;
	size_t count;
	const char *owner; /* answer->name, compared case-insensitively */
};

static const struct lookup_case lookup_cases[] = {
        {"records of the asked type", "host.example.com", MV_DNS_A, MV_DNS_RECORDS, 2,
         "host.example.com"},
        {"name with other types only is nodata", "host.example.com", MV_DNS_MX, MV_DNS_NODATA, 0,
         "host.example.com"},
        {"unknown name is nxdomain", "nope.example.com", MV_DNS_A, MV_DNS_NXDOMAIN, 0,
         "nope.example.com"},
        {"name below a leaf is nxdomain", "x.host.example.com", MV_DNS_A, MV_DNS_NXDOMAIN, 0,
         "x.host.example.com"},
        {"empty non-terminal is nodata", "ent.example.com", MV_DNS_A, MV_DNS_NODATA, 0,
         "ent.example.com"},
        {"deeper empty non-terminal is nodata", "below.ent.example.com", MV_DNS_TXT, MV_DNS_NODATA,
         0, "below.ent.example.com"},
        {"zone apex above owners is nodata", "example.com", MV_DNS_TXT, MV_DNS_NODATA, 0,
         "example.com"},
        {"case-insensitive owner", "HOST.Example.COM", MV_DNS_A, MV_DNS_RECORDS, 2,
         "HOST.Example.COM"},
        {"trailing dot", "host.example.com.", MV_DNS_TXT, MV_DNS_RECORDS, 1, "host.example.com"},
        {"timeout alone times every type out", "alltimeout.example.com", MV_DNS_A, MV_DNS_TIMEOUT,
         0, "alltimeout.example.com"},
        {"timeout alone times txt out", "alltimeout.example.com", MV_DNS_TXT, MV_DNS_TIMEOUT, 0,
         "alltimeout.example.com"},
        {"servfail", "servfail.example.com", MV_DNS_TXT, MV_DNS_SERVFAIL, 0,
         "servfail.example.com"},
        {"records of the type beat timeout", "txttimeout.example.com", MV_DNS_A, MV_DNS_RECORDS, 1,
         "txttimeout.example.com"},
        {"timeout for a type without records", "txttimeout.example.com", MV_DNS_TXT, MV_DNS_TIMEOUT,
         0, "txttimeout.example.com"},
        {"typed timeout applies to its type", "typed.example.com", MV_DNS_TXT, MV_DNS_TIMEOUT, 0,
         "typed.example.com"},
        {"typed servfail applies to its type", "typed.example.com", MV_DNS_MX, MV_DNS_SERVFAIL, 0,
         "typed.example.com"},
        {"typed pseudo-types leave other types nodata", "typed.example.com", MV_DNS_A,
         MV_DNS_NODATA, 0, "typed.example.com"},
        {"nodata marker makes the name exist", "marker.example.com", MV_DNS_TXT, MV_DNS_NODATA, 0,
         "marker.example.com"},
        {"cname followed", "alias.example.com", MV_DNS_A, MV_DNS_RECORDS, 2, "host.example.com"},
        {"cname chain of two followed", "alias2.example.com", MV_DNS_TXT, MV_DNS_RECORDS, 1,
         "host.example.com"},
        {"cname asked for is not followed", "alias2.example.com", MV_DNS_CNAME, MV_DNS_RECORDS, 1,
         "alias2.example.com"},
        {"cname to a missing name is nxdomain at the target", "dangling.example.com", MV_DNS_A,
         MV_DNS_NXDOMAIN, 0, "nowhere.example.com"},
        {"cname to an empty non-terminal is nodata", "toent.example.com", MV_DNS_A, MV_DNS_NODATA,
         0, "ent.example.com"},
        {"cname then nodata", "alias.example.com", MV_DNS_MX, MV_DNS_NODATA, 0, "host.example.com"},
        {"cname loop is servfail", "loop1.example.com", MV_DNS_A, MV_DNS_SERVFAIL, 0, NULL},
        {"cname to itself is servfail", "self.example.com", MV_DNS_TXT, MV_DNS_SERVFAIL, 0, NULL},
        {"chain of nine links is servfail", "c1.example.com", MV_DNS_A, MV_DNS_SERVFAIL, 0, NULL},
        {"chain of eight links is followed", "c2.example.com", MV_DNS_A, MV_DNS_RECORDS, 2,
         "host.example.com"},
        {"cname to a timeout times out", "totimeout.example.com", MV_DNS_TXT, MV_DNS_TIMEOUT, 0,
         "alltimeout.example.com"},
};

static void lookups_answer_as_dns_would(void **state)
{
	struct mv_resolver *r = NULL;
	struct mv_dns_answer *a;
	char err[128];
	size_t i;

	(void)state;
	assert_int_equal(mv_dns_zone_parse(lookup_zone, strlen(lookup_zone), &r, err, sizeof err),
	                 MV_OK);
	for (i = 0; i < sizeof lookup_cases / sizeof lookup_cases[0]; i++) {
		const struct lookup_case *c = &lookup_cases[i];
		a = NULL;
		assert_int_equal(mv_dns_query(r, c->name, c->type, &a), MV_OK);
		if (a->rcode != c->rcode || a->count != c->count)
			fail_msg("%s: rcode %d count %zu, want %d %zu", c->what, (int)a->rcode,
			         a->count, (int)c->rcode, c->count);
		if (c->owner && strcasecmp(a->name, c->owner) != 0)
			fail_msg("%s: owner '%s', want '%s'", c->what, a->name, c->owner);
		assert_int_equal(a->type, c->type);
		assert_int_equal(a->secure, 0);
		if (a->rcode != MV_DNS_RECORDS)
			assert_null(a->rr);
		mv_dns_answer_free(a);
	}
	mv_dns_free(r);
}

/* The names mv_dns_query() refuses (RFC 1035 §2.3.4: labels 63, names 255 octets wire). */
static void invalid_names_are_einval(void **state)
{
	static const char *const bad[] = {
	        "",
	        "..",
	        "a..example",
	        ".example",
	        "example..",
	        "a123456789012345678901234567890123456789012345678901234567890123.example",
	};
	struct mv_resolver *r = NULL;
	struct mv_dns_answer *a;
	char longname[300], err[64];
	size_t i;

	(void)state;
	assert_int_equal(mv_dns_zone_parse("x.example A 192.0.2.1\n", 22, &r, err, sizeof err),
	                 MV_OK);
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		a = (struct mv_dns_answer *)1;
		if (mv_dns_query(r, bad[i], MV_DNS_A, &a) != MV_EINVAL)
			fail_msg("'%s' was accepted", bad[i]);
		assert_null(a);
	}
	/* 254 octets of text is one too many; 253 (and a trailing dot) is fine */
	memset(longname, 'a', sizeof longname);
	for (i = 63; i < sizeof longname; i += 64)
		longname[i] = '.';
	longname[254] = '\0';
	assert_int_equal(mv_dns_query(r, longname, MV_DNS_A, &a), MV_EINVAL);
	longname[253] = '\0';
	if (longname[252] == '.')
		longname[252] = 'a';
	assert_int_equal(mv_dns_query(r, longname, MV_DNS_A, &a), MV_OK);
	assert_int_equal(a->rcode, MV_DNS_NXDOMAIN);
	mv_dns_answer_free(a);
	longname[253] = '.';
	longname[254] = '\0';
	assert_int_equal(mv_dns_query(r, longname, MV_DNS_A, &a), MV_OK);
	mv_dns_answer_free(a);
	/* a 63-octet label is fine */
	assert_int_equal(
	        mv_dns_query(r,
	                     "a12345678901234567890123456789012345678901234567890123456789012."
	                     "example",
	                     MV_DNS_A, &a),
	        MV_OK);
	mv_dns_answer_free(a);
	/* a type the interface does not know */
	assert_int_equal(mv_dns_query(r, "x.example", (enum mv_dns_type)99, &a), MV_EINVAL);
	assert_int_equal(mv_dns_query(NULL, "x.example", MV_DNS_A, &a), MV_EINVAL);
	mv_dns_free(r);
}

static void root_is_a_valid_name(void **state)
{
	struct mv_resolver *r = NULL;
	struct mv_dns_answer *a = NULL;
	char err[64];

	(void)state;
	assert_int_equal(mv_dns_zone_parse("x.example A 192.0.2.1\n", 22, &r, err, sizeof err),
	                 MV_OK);
	assert_int_equal(mv_dns_query(r, ".", MV_DNS_TXT, &a), MV_OK);
	assert_int_equal(a->rcode, MV_DNS_NODATA); /* the root holds x.example */
	assert_string_equal(a->name, "");
	mv_dns_answer_free(a);
	mv_dns_free(r);
}

static void prefetch_is_a_no_op_for_zones(void **state)
{
	static const struct mv_dns_question q[] = {
	        {"x.example", MV_DNS_A},
	        {"bad..name", MV_DNS_TXT},
	};
	struct mv_resolver *r = NULL;
	struct mv_dns_answer *a = NULL;
	char err[64];

	(void)state;
	assert_int_equal(mv_dns_zone_parse("x.example A 192.0.2.1\n", 22, &r, err, sizeof err),
	                 MV_OK);
	assert_int_equal(mv_dns_prefetch(r, q, 2), MV_OK);
	assert_int_equal(mv_dns_prefetch(r, NULL, 0), MV_OK);
	assert_int_equal(mv_dns_query(r, "x.example", MV_DNS_A, &a), MV_OK);
	assert_int_equal(a->rcode, MV_DNS_RECORDS);
	mv_dns_answer_free(a);
	mv_dns_free(r);
}

static void null_is_fine_to_free(void **state)
{
	(void)state;
	mv_dns_answer_free(NULL);
	mv_dns_free(NULL);
}

/* Many owners: the hash table grows and every name stays reachable. */
static void many_names_stay_reachable(void **state)
{
	struct mv_buf_like {
		char *p;
		size_t len, cap;
	} t = {NULL, 0, 0};
	struct mv_resolver *r = NULL;
	struct mv_dns_answer *a;
	char name[64], err[64];
	int i, n = 20000;

	(void)state;
	t.cap = (size_t)n * 48;
	t.p = malloc(t.cap);
	for (i = 0; i < n; i++)
		t.len += (size_t)snprintf(t.p + t.len, t.cap - t.len,
		                          "h%d.s%d.example TXT \"%d\"\n", i, i % 97, i);
	assert_int_equal(mv_dns_zone_parse(t.p, t.len, &r, err, sizeof err), MV_OK);
	for (i = 0; i < n; i += 7) {
		snprintf(name, sizeof name, "H%d.S%d.example", i, i % 97);
		assert_int_equal(mv_dns_query(r, name, MV_DNS_TXT, &a), MV_OK);
		assert_int_equal(a->rcode, MV_DNS_RECORDS);
		assert_int_equal(strtol(a->rr[0].txt, NULL, 10), i);
		mv_dns_answer_free(a);
	}
	snprintf(name, sizeof name, "s%d.example", 5);
	assert_int_equal(mv_dns_query(r, name, MV_DNS_TXT, &a), MV_OK);
	assert_int_equal(a->rcode, MV_DNS_NODATA);
	mv_dns_answer_free(a);
	mv_dns_free(r);
	free(t.p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(lookups_answer_as_dns_would),
	        cmocka_unit_test(invalid_names_are_einval),
	        cmocka_unit_test(root_is_a_valid_name),
	        cmocka_unit_test(prefetch_is_a_no_op_for_zones),
	        cmocka_unit_test(null_is_fine_to_free),
	        cmocka_unit_test(many_names_stay_reachable),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
