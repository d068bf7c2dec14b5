/*
 * tests/dns/test_unbound.c — the libunbound backend. The timeout and option
 * tests run everywhere; the answer tests need the real DNS server that
 * tests/dns/unbound-integration.sh starts (MV_DNS_TEST_SERVER=127.0.0.1@PORT,
 * zone in unbound-test.conf.in) and skip without it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <pthread.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <cmocka.h>

#include <mailvet/dns.h>
#include <mailvet/util.h>

#include "dns/backend.h"
#include "dns/cache.h"

static long now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000L + t.tv_nsec / 1000000L;
}

/* A UDP socket on 127.0.0.1 that nobody reads: queries to it never get answers. */
static int silent_server(char *addr, size_t len)
{
	struct sockaddr_in sin;
	socklen_t slen = sizeof sin;
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	assert_true(fd >= 0);
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof sin), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &slen), 0);
	snprintf(addr, len, "127.0.0.1@%u", (unsigned)ntohs(sin.sin_port));
	return fd;
}

static struct mv_resolver *open_ub(const char *server, unsigned timeout_ms)
{
	struct mv_dns_unbound_opts o = {.server = server, .timeout_ms = timeout_ms};
	struct mv_resolver *r = NULL;
	char err[256];

	if (mv_dns_unbound_open(&o, &r, err, sizeof err) != MV_OK)
		fail_msg("unbound open: %s", err);
	return r;
}

static void silent_server_times_out_within_the_timeout(void **state)
{
	struct mv_dns_answer *a = NULL;
	struct mv_resolver *r;
	char addr[64];
	long t0, dt;
	int fd = silent_server(addr, sizeof addr);

	(void)state;
	r = open_ub(addr, 300);
	t0 = now_ms();
	assert_int_equal(mv_dns_query(r, "example.com", MV_DNS_TXT, &a), MV_OK);
	dt = now_ms() - t0;
	assert_int_equal(a->rcode, MV_DNS_TIMEOUT);
	assert_int_equal(a->count, 0);
	assert_true(dt >= 250);
	assert_true(dt < 2000);
	mv_dns_answer_free(a);
	mv_dns_free(r);
	close(fd);
}

static void prefetch_waits_at_most_one_timeout(void **state)
{
	static const struct mv_dns_question q[] = {
	        {"a.example.com", MV_DNS_TXT},
	        {"b.example.com", MV_DNS_A},
	        {"bad..name", MV_DNS_A},
	        {"c.example.com", MV_DNS_MX},
	};
	struct mv_resolver *r;
	char addr[64];
	long t0, dt;
	int fd = silent_server(addr, sizeof addr);

	(void)state;
	r = open_ub(addr, 300);
	t0 = now_ms();
	assert_int_equal(mv_dns_prefetch(r, q, sizeof q / sizeof q[0]), MV_OK);
	dt = now_ms() - t0;
	assert_true(dt < 2000);
	mv_dns_free(r);
	close(fd);
}

static void bad_server_addresses_are_refused(void **state)
{
	static const char *const bad[] = {
	        "",
	        "example.com",
	        "127.0.0.1@",
	        "127.0.0.1@0",
	        "127.0.0.1@65536",
	        "127.0.0.1@53x",
	        "@53",
	        "1.2.3.4.5",
	};
	struct mv_dns_unbound_opts o = {.timeout_ms = 100};
	struct mv_resolver *r;
	char err[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		o.server = bad[i];
		r = (struct mv_resolver *)1;
		if (mv_dns_unbound_open(&o, &r, err, sizeof err) != MV_EINVAL)
			fail_msg("'%s' accepted", bad[i]);
		assert_null(r);
		assert_non_null(strstr(err, "bad resolver address"));
	}
	o.server = "::1@5353";
	assert_int_equal(mv_dns_unbound_open(&o, &r, err, sizeof err), MV_OK);
	mv_dns_free(r);
}

/* ---- against the real server ---- */

static const char *live_server(void)
{
	return getenv("MV_DNS_TEST_SERVER");
}

#define NEED_SERVER()                                                                              \
	do {                                                                                       \
		if (!live_server()) {                                                              \
			print_message(                                                             \
			        "MV_DNS_TEST_SERVER not set (see unbound-integration.sh)\n");      \
			fail();                                                                    \
		}                                                                                  \
	} while (0)

static struct mv_dns_answer *ask(struct mv_resolver *r, const char *name, enum mv_dns_type t)
{
	struct mv_dns_answer *a = NULL;

	assert_int_equal(mv_dns_query(r, name, t, &a), MV_OK);
	return a;
}

static void expect(struct mv_resolver *r, const char *name, enum mv_dns_type t,
                   enum mv_dns_rcode rcode, size_t count, const char *owner)
{
	struct mv_dns_answer *a = ask(r, name, t);

	if (a->rcode != rcode || a->count != count)
		fail_msg("%s/%d: rcode %d count %zu, want %d %zu", name, (int)t, (int)a->rcode,
		         a->count, (int)rcode, count);
	if (strcasecmp(a->name, owner) != 0)
		fail_msg("%s/%d: owner %s, want %s", name, (int)t, a->name, owner);
	assert_int_equal(a->secure, 0);
	mv_dns_answer_free(a);
}

static void live_records_of_every_type(void **state)
{
	static const uint8_t v4[4] = {192, 0, 2, 1};
	static const uint8_t v6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
	struct mv_resolver *r;
	struct mv_dns_answer *a;
	static const char esc[] = "a\"b\\c\0d";

	(void)state;
	NEED_SERVER();
	r = open_ub(live_server(), 3000);
	a = ask(r, "host.mv.example", MV_DNS_A);
	assert_int_equal(a->rcode, MV_DNS_RECORDS);
	assert_int_equal(a->count, 1);
	assert_memory_equal(a->rr[0].addr, v4, 4);
	mv_dns_answer_free(a);

	a = ask(r, "HOST.mv.example.", MV_DNS_AAAA);
	assert_int_equal(a->count, 1);
	assert_memory_equal(a->rr[0].addr, v6, 16);
	mv_dns_answer_free(a);

	a = ask(r, "mv.example", MV_DNS_MX);
	assert_int_equal(a->count, 1);
	assert_int_equal(a->rr[0].pref, 10);
	assert_string_equal(a->rr[0].host, "host.mv.example");
	mv_dns_answer_free(a);

	a = ask(r, "4.3.2.1.in-addr.arpa", MV_DNS_PTR);
	assert_int_equal(a->count, 1);
	assert_string_equal(a->rr[0].host, "host.mv.example");
	mv_dns_answer_free(a);

	a = ask(r, "mv.example", MV_DNS_TXT); /* two records, one of two strings */
	assert_int_equal(a->count, 2);
	assert_true((strcmp(a->rr[0].txt, "v=spf1 -all") == 0 &&
	             strcmp(a->rr[1].txt, "second record") == 0) ||
	            (strcmp(a->rr[1].txt, "v=spf1 -all") == 0 &&
	             strcmp(a->rr[0].txt, "second record") == 0));
	mv_dns_answer_free(a);

	a = ask(r, "esc.mv.example", MV_DNS_TXT);
	assert_int_equal(a->count, 1);
	assert_int_equal(a->rr[0].txtlen, sizeof esc - 1);
	assert_memory_equal(a->rr[0].txt, esc, sizeof esc - 1);
	mv_dns_answer_free(a);

	a = ask(r, "alias.mv.example", MV_DNS_CNAME);
	assert_int_equal(a->count, 1);
	assert_string_equal(a->rr[0].host, "host.mv.example");
	mv_dns_answer_free(a);
	mv_dns_free(r);
}

static void live_negative_answers_and_cnames(void **state)
{
	struct mv_resolver *r;

	(void)state;
	NEED_SERVER();
	r = open_ub(live_server(), 3000);
	expect(r, "nothing.mv.example", MV_DNS_A, MV_DNS_NXDOMAIN, 0, "nothing.mv.example");
	expect(r, "host.mv.example", MV_DNS_TXT, MV_DNS_NODATA, 0, "host.mv.example");
	expect(r, "ent.mv.example", MV_DNS_A, MV_DNS_NODATA, 0, "ent.mv.example");
	expect(r, "alias.mv.example", MV_DNS_A, MV_DNS_RECORDS, 1, "host.mv.example");
	expect(r, "alias2.mv.example", MV_DNS_AAAA, MV_DNS_RECORDS, 1, "host.mv.example");
	expect(r, "alias2.mv.example", MV_DNS_TXT, MV_DNS_NODATA, 0, "host.mv.example");
	expect(r, "dangling.mv.example", MV_DNS_A, MV_DNS_NXDOMAIN, 0, "gone.mv.example");
	mv_dns_free(r);
}

static void live_prefetch_then_query(void **state)
{
	static const struct mv_dns_question q[] = {
	        {"host.mv.example", MV_DNS_A},
	        {"mv.example", MV_DNS_TXT},
	        {"mv.example", MV_DNS_MX},
	        {"nothing.mv.example", MV_DNS_TXT},
	        {"a..b", MV_DNS_A},
	};
	struct mv_dns_cache_stats st;
	struct mv_resolver *r;

	(void)state;
	NEED_SERVER();
	r = open_ub(live_server(), 3000);
	assert_int_equal(mv_dns_prefetch(r, q, sizeof q / sizeof q[0]), MV_OK);
	expect(r, "mv.example", MV_DNS_MX, MV_DNS_RECORDS, 1, "mv.example");
	expect(r, "nothing.mv.example", MV_DNS_TXT, MV_DNS_NXDOMAIN, 0, "nothing.mv.example");
	mv_dns_cache_stats(r->cache, &st); /* both answered by the answer cache */
	assert_int_equal(st.hits, 2);
	assert_int_equal(st.misses, 0);
	assert_int_equal(st.entries, 4);
	mv_dns_free(r);
}

/* TTLs as the server gave them (unbound-test.conf.in), and repeats served from the cache. */
static void live_cache_serves_repeats_for_their_ttl(void **state)
{
	static const struct {
		const char *name;
		enum mv_dns_type type;
		enum mv_dns_rcode rcode;
		unsigned ttl;
	} qs[] = {
	        {"host.mv.example", MV_DNS_A, MV_DNS_RECORDS, 3600},
	        {"nothing.mv.example", MV_DNS_A, MV_DNS_NXDOMAIN, 300}, /* SOA MINIMUM */
	        {"host.mv.example", MV_DNS_TXT, MV_DNS_NODATA, 300},
	        {"short.mv.example", MV_DNS_A, MV_DNS_RECORDS, 60}, /* the CNAME's TTL */
	};
	struct mv_dns_cache_stats st;
	struct mv_dns_answer *a;
	struct mv_resolver *r;
	size_t i, round;

	(void)state;
	NEED_SERVER();
	r = open_ub(live_server(), 3000);
	for (round = 0; round < 2; round++) {
		for (i = 0; i < sizeof qs / sizeof qs[0]; i++) {
			a = ask(r, qs[i].name, qs[i].type);
			if (a->rcode != qs[i].rcode || a->ttl > qs[i].ttl ||
			    a->ttl + 10 < qs[i].ttl)
				fail_msg("%s/%d: rcode %d ttl %u, want %d %u", qs[i].name,
				         (int)qs[i].type, (int)a->rcode, a->ttl, (int)qs[i].rcode,
				         qs[i].ttl);
			mv_dns_answer_free(a);
		}
	}
	mv_dns_cache_stats(r->cache, &st);
	assert_int_equal(st.misses, 4);
	assert_int_equal(st.hits, 4);
	mv_dns_free(r);
}

static long ns_per_query(struct mv_resolver *r, int n)
{
	struct mv_dns_answer *a;
	struct timespec t0, t1;
	int i;

	mv_dns_answer_free(ask(r, "mv.example", MV_DNS_TXT)); /* warm both caches */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < n; i++) {
		if (mv_dns_query(r, "mv.example", MV_DNS_TXT, &a) != MV_OK ||
		    a->rcode != MV_DNS_RECORDS)
			fail_msg("query %d failed", i);
		mv_dns_answer_free(a);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	return ((t1.tv_sec - t0.tv_sec) * 1000000000L + (t1.tv_nsec - t0.tv_nsec)) / n;
}

/* The micro-benchmark: a warm query through libunbound alone, then through the answer cache. */
static void live_cache_hit_is_cheaper_than_libunbound(void **state)
{
	struct mv_dns_unbound_opts o = {.timeout_ms = 3000, .cache_entries = MV_DNS_CACHE_OFF};
	struct mv_resolver *r;
	char err[256];
	long off, on;

	(void)state;
	NEED_SERVER();
	o.server = live_server();
	assert_int_equal(mv_dns_unbound_open(&o, &r, err, sizeof err), MV_OK);
	off = ns_per_query(r, 5000);
	mv_dns_free(r);
	r = open_ub(live_server(), 3000);
	on = ns_per_query(r, 5000);
	mv_dns_free(r);
	print_message(
	        "mv_dns_query, warm: libunbound only %ld ns/query, answer cache %ld ns/query\n",
	        off, on);
	assert_true(on < off);
}

struct worker {
	struct mv_resolver *r;
	int bad;
};

static void *query_many(void *arg)
{
	struct worker *w = arg;
	struct mv_dns_answer *a;
	int i;

	for (i = 0; i < 50; i++) {
		if (mv_dns_query(w->r, i % 2 ? "host.mv.example" : "alias.mv.example", MV_DNS_A,
		                 &a) != MV_OK ||
		    a->rcode != MV_DNS_RECORDS)
			w->bad++;
		mv_dns_answer_free(a);
	}
	return NULL;
}

static void live_threads_share_one_resolver(void **state)
{
	struct worker w[4];
	pthread_t t[4];
	struct mv_resolver *r;
	int i;

	(void)state;
	NEED_SERVER();
	r = open_ub(live_server(), 3000);
	for (i = 0; i < 4; i++) {
		w[i].r = r;
		w[i].bad = 0;
		assert_int_equal(pthread_create(&t[i], NULL, query_many, &w[i]), 0);
	}
	for (i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(w[i].bad, 0);
	}
	mv_dns_free(r);
}

/* A recording of live answers replays offline to the same answers. */
static void live_recording_replays(void **state)
{
	static const struct {
		const char *name;
		enum mv_dns_type type;
	} qs[] = {
	        {"host.mv.example", MV_DNS_A},
	        {"host.mv.example", MV_DNS_AAAA},
	        {"mv.example", MV_DNS_TXT},
	        {"esc.mv.example", MV_DNS_TXT},
	        {"mv.example", MV_DNS_MX},
	        {"alias2.mv.example", MV_DNS_A},
	        {"nothing.mv.example", MV_DNS_A},
	        {"host.mv.example", MV_DNS_TXT},
	        {"ent.mv.example", MV_DNS_TXT},
	        {"dangling.mv.example", MV_DNS_A},
	        {"4.3.2.1.in-addr.arpa", MV_DNS_PTR},
	};
	struct mv_dns_answer *a[sizeof qs / sizeof qs[0]], *b;
	char path[] = "/tmp/mv-ub-record-XXXXXX", err[128];
	struct mv_resolver *r, *z;
	size_t i, j;
	int fd;

	(void)state;
	NEED_SERVER();
	fd = mkstemp(path);
	close(fd);
	r = open_ub(live_server(), 3000);
	assert_int_equal(mv_dns_record_to(r, path), MV_OK);
	for (i = 0; i < sizeof qs / sizeof qs[0]; i++)
		a[i] = ask(r, qs[i].name, qs[i].type);
	mv_dns_free(r);
	if (mv_dns_zone_open(path, &z, err, sizeof err) != MV_OK)
		fail_msg("replay: %s", err);
	for (i = 0; i < sizeof qs / sizeof qs[0]; i++) {
		b = ask(z, qs[i].name, qs[i].type);
		if (b->rcode != a[i]->rcode || b->count != a[i]->count ||
		    strcasecmp(a[i]->name, b->name) != 0)
			fail_msg("%s: replay differs", qs[i].name);
		for (j = 0; j < b->count; j++) {
			assert_memory_equal(a[i]->rr[j].addr, b->rr[j].addr, 16);
			assert_int_equal(a[i]->rr[j].txtlen, b->rr[j].txtlen);
		}
		mv_dns_answer_free(b);
		mv_dns_answer_free(a[i]);
	}
	mv_dns_free(z);
	unlink(path);
}

/*
 * The offline cases always run. The live ones need the server that
 * tests/dns/unbound-integration.sh starts (ctest dns.unbound_integration runs
 * this program with MV_DNS_TEST_SERVER set); the standalone ctest entry,
 * dns.test_unbound, has no server and runs the offline group only, so no
 * case is skipped in either.
 */
int main(void)
{
	const struct CMUnitTest offline[] = {
	        cmocka_unit_test(silent_server_times_out_within_the_timeout),
	        cmocka_unit_test(prefetch_waits_at_most_one_timeout),
	        cmocka_unit_test(bad_server_addresses_are_refused),
	};
	const struct CMUnitTest live[] = {
	        cmocka_unit_test(live_records_of_every_type),
	        cmocka_unit_test(live_negative_answers_and_cnames),
	        cmocka_unit_test(live_prefetch_then_query),
	        cmocka_unit_test(live_cache_serves_repeats_for_their_ttl),
	        cmocka_unit_test(live_cache_hit_is_cheaper_than_libunbound),
	        cmocka_unit_test(live_threads_share_one_resolver),
	        cmocka_unit_test(live_recording_replays),
	};
	int failed = cmocka_run_group_tests_name("offline", offline, NULL, NULL);

	if (live_server())
		failed += cmocka_run_group_tests_name("live", live, NULL, NULL);
	else
		print_message(
		        "live cases: run by dns.unbound_integration, which starts the server\n");
	return failed;
}
