/*
 * tests/dns/test_cache.c — the answer cache in front of a backend: hits,
 * TTLs on an injected clock, negative answers, failures never kept, the
 * bounds, recording of hits, prefetch, threads. The backend is a fake that
 * counts its lookups and answers by the name's first label:
 *   nx.* NXDOMAIN, nodata.* NODATA, servfail.* SERVFAIL, timeout.* TIMEOUT,
 *   alias.* a CNAME to target.example (followed by the backend), which has
 *   records; anything else one TXT record holding the asked name.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <unistd.h>
#include <cmocka.h>

#include <mailvet/dns.h>
#include <mailvet/util.h>

#include "dns/backend.h"
#include "dns/cache.h"

struct fake {
	pthread_mutex_t lock;
	unsigned lookups, prefetched;
	unsigned ttl; /* every answer's */
	uint64_t now; /* the cache's clock, ms */
};

struct fake_view {
	struct mv_dns_rr rr;
	const char *chain[1];
	char txt[MV_DNS_NAME_MAX + 1];
};

static int starts(const char *name, const char *label)
{
	return strncmp(name, label, strlen(label)) == 0;
}

static void fake_answer(struct fake *f, const char *name, enum mv_dns_type type,
                        struct mv_dns_view *v, struct fake_view *m)
{
	static const char *const target = "target.example";

	memset(v, 0, sizeof *v);
	v->ttl = f->ttl;
	v->priv = m;
	if (starts(name, "nx.")) {
		v->rcode = MV_DNS_NXDOMAIN;
	} else if (starts(name, "nodata.")) {
		v->rcode = MV_DNS_NODATA;
	} else if (starts(name, "servfail.")) {
		v->rcode = MV_DNS_SERVFAIL;
	} else if (starts(name, "timeout.")) {
		v->rcode = MV_DNS_TIMEOUT;
	} else {
		if (starts(name, "alias.")) {
			m->chain[0] = target;
			v->chain = m->chain;
			v->nchain = 1;
			name = target;
		}
		memset(&m->rr, 0, sizeof m->rr);
		m->rr.type = type;
		memcpy(m->txt, name, strlen(name) + 1);
		m->rr.txt = m->txt;
		m->rr.txtlen = strlen(name);
		v->rcode = MV_DNS_RECORDS;
		v->rr = &m->rr;
		v->count = 1;
	}
}

static enum mv_status fake_lookup(void *impl, const char *name, enum mv_dns_type type,
                                  struct mv_dns_view *v)
{
	struct fake *f = impl;
	struct fake_view *m = malloc(sizeof *m);

	if (!m)
		return MV_ENOMEM;
	pthread_mutex_lock(&f->lock);
	f->lookups++;
	pthread_mutex_unlock(&f->lock);
	fake_answer(f, name, type, v, m);
	return MV_OK;
}

static void fake_release(void *impl, struct mv_dns_view *v)
{
	(void)impl;
	free(v->priv);
}

static enum mv_status fake_prefetch(void *impl, const struct mv_dns_question *q, size_t n,
                                    mv_dns_deliver_fn deliver, void *arg)
{
	struct fake *f = impl;
	struct fake_view m;
	struct mv_dns_view v;
	char norm[MV_DNS_NAME_MAX + 1];
	size_t i, len;

	for (i = 0; i < n; i++) {
		f->prefetched++;
		if (deliver &&
		    mv_dns_name_norm(q[i].name, strlen(q[i].name), norm, &len) == MV_OK) {
			fake_answer(f, norm, q[i].type, &v, &m);
			deliver(arg, norm, q[i].type, &v);
		}
	}
	return MV_OK;
}

static void fake_destroy(void *impl)
{
	(void)impl;
}

static const struct mv_dns_ops fake_ops = {
        .name = "fake",
        .lookup = fake_lookup,
        .release = fake_release,
        .prefetch = fake_prefetch,
        .destroy = fake_destroy,
};

static uint64_t fake_clock(void *arg)
{
	return ((struct fake *)arg)->now;
}

static struct fake F;

/* A resolver around the fake with a cache of these options (clock: F.now). */
static struct mv_resolver *open_fake(size_t entries, size_t bytes, unsigned min_ttl,
                                     unsigned max_ttl, unsigned neg_ttl)
{
	struct mv_dns_cache_opts o = {entries, bytes, min_ttl, max_ttl, neg_ttl};
	struct mv_resolver *r;

	memset(&F, 0, sizeof F);
	pthread_mutex_init(&F.lock, NULL);
	F.ttl = 300;
	F.now = 1000000;
	assert_int_equal(mv_dns_resolver_new(&fake_ops, &F, &r), MV_OK);
	assert_int_equal(mv_dns_cache_new(&o, &r->cache), MV_OK);
	mv_dns_cache_set_clock(r->cache, fake_clock, &F);
	return r;
}

static struct mv_dns_answer *ask(struct mv_resolver *r, const char *name, enum mv_dns_type t)
{
	struct mv_dns_answer *a = NULL;

	assert_int_equal(mv_dns_query(r, name, t, &a), MV_OK);
	assert_non_null(a);
	return a;
}

/* Ask and drop the answer; returns the backend's lookup count after. */
static unsigned ask_count(struct mv_resolver *r, const char *name, enum mv_dns_type t)
{
	mv_dns_answer_free(ask(r, name, t));
	return F.lookups;
}

static void repeated_question_is_served_from_the_cache(void **state)
{
	struct mv_resolver *r = open_fake(0, 0, 0, 0, 0);
	struct mv_dns_answer *a, *b;
	struct mv_dns_cache_stats st;

	(void)state;
	a = ask(r, "Host.Example.", MV_DNS_TXT);
	F.now += 10500;
	b = ask(r, "HOST.example", MV_DNS_TXT);
	assert_int_equal(F.lookups, 1);
	assert_int_equal(b->rcode, MV_DNS_RECORDS);
	assert_int_equal(b->count, 1);
	assert_string_equal(b->rr[0].txt, "host.example");
	assert_int_equal(b->rr[0].txtlen, a->rr[0].txtlen);
	assert_string_equal(a->name, "Host.Example"); /* each caller's own spelling */
	assert_string_equal(b->name, "HOST.example");
	assert_int_equal(a->ttl, 300);
	assert_int_equal(b->ttl, 289); /* 289.5 s left */
	mv_dns_cache_stats(r->cache, &st);
	assert_int_equal(st.hits, 1);
	assert_int_equal(st.misses, 1);
	assert_int_equal(st.entries, 1);
	mv_dns_answer_free(a);
	mv_dns_answer_free(b);
	mv_dns_free(r);
}

static void key_is_name_and_type(void **state)
{
	struct mv_resolver *r = open_fake(0, 0, 0, 0, 0);

	(void)state;
	assert_int_equal(ask_count(r, "a.example", MV_DNS_TXT), 1);
	assert_int_equal(ask_count(r, "a.example", MV_DNS_MX), 2);
	assert_int_equal(ask_count(r, "b.example", MV_DNS_TXT), 3);
	assert_int_equal(ask_count(r, "a.example.", MV_DNS_TXT), 3);
	assert_int_equal(ask_count(r, "a.example", MV_DNS_MX), 3);
	assert_int_equal(ask_count(r, "aa.example", MV_DNS_TXT), 4);
	mv_dns_free(r);
}

static void entry_expires_after_its_ttl(void **state)
{
	struct mv_resolver *r = open_fake(0, 0, 0, 0, 0);
	struct mv_dns_cache_stats st;

	(void)state;
	F.ttl = 10;
	assert_int_equal(ask_count(r, "a.example", MV_DNS_TXT), 1);
	F.now += 9999;
	assert_int_equal(ask_count(r, "a.example", MV_DNS_TXT), 1);
	F.now += 1;
	assert_int_equal(ask_count(r, "a.example", MV_DNS_TXT), 2);
	assert_int_equal(ask_count(r, "a.example", MV_DNS_TXT), 2); /* cached again */
	mv_dns_cache_stats(r->cache, &st);
	assert_int_equal(st.expired, 1);
	assert_int_equal(st.entries, 1);
	mv_dns_free(r);
}

static void ttl_is_clamped_to_min_and_max(void **state)
{
	struct mv_resolver *r = open_fake(0, 0, 5, 100, 0);

	(void)state;
	F.ttl = 1;
	assert_int_equal(ask_count(r, "short.example", MV_DNS_TXT), 1);
	F.now += 4999;
	assert_int_equal(ask_count(r, "short.example", MV_DNS_TXT), 1);
	F.ttl = 100000;
	assert_int_equal(ask_count(r, "long.example", MV_DNS_TXT), 2);
	F.now += 99999;
	assert_int_equal(ask_count(r, "long.example", MV_DNS_TXT), 2);
	F.now += 1;
	assert_int_equal(ask_count(r, "long.example", MV_DNS_TXT), 3);
	mv_dns_free(r);
}

static void zero_ttl_is_not_kept(void **state)
{
	struct mv_resolver *r = open_fake(0, 0, 0, 0, 0);

	(void)state;
	F.ttl = 0;
	assert_int_equal(ask_count(r, "a.example", MV_DNS_TXT), 1);
	assert_int_equal(ask_count(r, "a.example", MV_DNS_TXT), 2);
	mv_dns_free(r);
}

static void negative_answers_are_kept_at_most_neg_ttl(void **state)
{
	struct mv_resolver *r = open_fake(0, 0, 0, 0, 30);
	struct mv_dns_answer *a;

	(void)state;
	F.ttl = 300;
	assert_int_equal(ask_count(r, "nx.example", MV_DNS_A), 1);
	assert_int_equal(ask_count(r, "nodata.example", MV_DNS_A), 2);
	F.now += 29000;
	a = ask(r, "nx.example", MV_DNS_A);
	assert_int_equal(a->rcode, MV_DNS_NXDOMAIN);
	assert_int_equal(a->count, 0);
	assert_int_equal(a->ttl, 1);
	mv_dns_answer_free(a);
	a = ask(r, "nodata.example", MV_DNS_A);
	assert_int_equal(a->rcode, MV_DNS_NODATA);
	mv_dns_answer_free(a);
	assert_int_equal(F.lookups, 2);
	F.now += 1000;
	assert_int_equal(ask_count(r, "nx.example", MV_DNS_A), 3);
	assert_int_equal(ask_count(r, "nodata.example", MV_DNS_A), 4);
	assert_int_equal(ask_count(r, "records.example", MV_DNS_A), 5); /* records: 300 s */
	F.now += 200000;
	assert_int_equal(ask_count(r, "records.example", MV_DNS_A), 5);
	mv_dns_free(r);
}

static void servfail_and_timeout_are_never_kept(void **state)
{
	struct mv_resolver *r = open_fake(0, 0, 60, 0, 0);
	struct mv_dns_cache_stats st;
	struct mv_dns_answer *a;

	(void)state;
	a = ask(r, "servfail.example", MV_DNS_TXT);
	assert_int_equal(a->rcode, MV_DNS_SERVFAIL);
	mv_dns_answer_free(a);
	a = ask(r, "timeout.example", MV_DNS_TXT);
	assert_int_equal(a->rcode, MV_DNS_TIMEOUT);
	mv_dns_answer_free(a);
	assert_int_equal(ask_count(r, "servfail.example", MV_DNS_TXT), 3);
	assert_int_equal(ask_count(r, "timeout.example", MV_DNS_TXT), 4);
	mv_dns_cache_stats(r->cache, &st);
	assert_int_equal(st.entries, 0);
	assert_int_equal(st.inserts, 0);
	mv_dns_free(r);
}

static void cname_answer_keeps_its_owner(void **state)
{
	struct mv_resolver *r = open_fake(0, 0, 0, 0, 0);
	struct mv_dns_answer *a;

	(void)state;
	mv_dns_answer_free(ask(r, "alias.example", MV_DNS_TXT));
	a = ask(r, "ALIAS.example", MV_DNS_TXT);
	assert_int_equal(F.lookups, 1);
	assert_string_equal(a->name, "target.example");
	assert_string_equal(a->rr[0].txt, "target.example");
	mv_dns_answer_free(a);
	mv_dns_free(r);
}

static char *slurp(const char *path)
{
	size_t len;
	char *text = NULL;

	assert_int_equal(mv_read_file(path, 1 << 20, &text, &len), MV_OK);
	return text;
}

/* Recording starts after the first (missed) query: the lines come from the hit. */
static void hits_are_recorded(void **state)
{
	struct mv_resolver *r = open_fake(0, 0, 0, 0, 0);
	char path[] = "/tmp/mv-cache-record-XXXXXX";
	char *text;
	int fd;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	mv_dns_answer_free(ask(r, "alias.example", MV_DNS_TXT));
	mv_dns_answer_free(ask(r, "nx.example", MV_DNS_A));
	assert_int_equal(mv_dns_record_to(r, path), MV_OK);
	mv_dns_answer_free(ask(r, "alias.example", MV_DNS_TXT));
	mv_dns_answer_free(ask(r, "nodata.example", MV_DNS_A));
	mv_dns_answer_free(ask(r, "nodata.example", MV_DNS_A));
	assert_int_equal(F.lookups, 3);
	assert_int_equal(mv_dns_record_flush(r), MV_OK);
	text = slurp(path);
	assert_non_null(strstr(text, "alias.example CNAME target.example"));
	assert_non_null(strstr(text, "target.example TXT \"target.example\""));
	assert_non_null(strstr(text, "nodata.example NODATA"));
	free(text);
	mv_dns_free(r);
	unlink(path);
}

static void entry_bound_evicts(void **state)
{
	struct mv_resolver *r = open_fake(64, 0, 0, 0, 0);
	struct mv_dns_cache_stats st;
	char name[64];
	unsigned i, before;

	(void)state;
	for (i = 0; i < 1000; i++) {
		snprintf(name, sizeof name, "n%u.example", i);
		mv_dns_answer_free(ask(r, name, MV_DNS_TXT));
	}
	mv_dns_cache_stats(r->cache, &st);
	assert_true(st.entries <= 64);
	assert_true(st.entries >= 32); /* every shard is full */
	assert_int_equal(st.evictions, 1000 - st.entries);
	before = F.lookups;
	assert_int_equal(ask_count(r, "n999.example", MV_DNS_TXT), before); /* the newest stays */
	assert_int_equal(ask_count(r, "n0.example", MV_DNS_TXT), before + 1);
	mv_dns_free(r);
}

static void one_entry_cache_keeps_the_newest(void **state)
{
	struct mv_resolver *r = open_fake(1, 0, 0, 0, 0);

	(void)state;
	assert_int_equal(ask_count(r, "a.example", MV_DNS_TXT), 1);
	assert_int_equal(ask_count(r, "b.example", MV_DNS_TXT), 2);
	assert_int_equal(ask_count(r, "b.example", MV_DNS_TXT), 2);
	assert_int_equal(ask_count(r, "a.example", MV_DNS_TXT), 3);
	assert_int_equal(ask_count(r, "b.example", MV_DNS_TXT), 4);
	mv_dns_free(r);
}

static void byte_bound_evicts_and_refuses_giants(void **state)
{
	struct mv_resolver *r = open_fake(1000, 32 * 1024, 0, 0, 0);
	struct mv_dns_cache_stats st;
	char name[MV_DNS_NAME_MAX + 1];
	unsigned i;

	(void)state;
	for (i = 0; i < 500; i++) {
		snprintf(name, sizeof name, "%u.%0*u.example", i, 60, i);
		mv_dns_answer_free(ask(r, name, MV_DNS_TXT));
	}
	mv_dns_cache_stats(r->cache, &st);
	assert_true(st.bytes <= 32 * 1024);
	assert_true(st.evictions > 0);
	mv_dns_free(r);

	r = open_fake(1000, 32 * 64, 0, 0, 0); /* 64 bytes a shard: nothing fits */
	assert_int_equal(ask_count(r, "a.example", MV_DNS_TXT), 1);
	assert_int_equal(ask_count(r, "a.example", MV_DNS_TXT), 2);
	mv_dns_free(r);
}

static void prefetch_skips_cached_questions_and_fills_the_cache(void **state)
{
	static const struct mv_dns_question q[] = {
	        {"a.example", MV_DNS_TXT},     {"B.example.", MV_DNS_TXT},
	        {"nx.example", MV_DNS_A},      {"bad..name", MV_DNS_A},
	        {"alias.example", MV_DNS_TXT}, {"servfail.example", MV_DNS_TXT},
	};
	struct mv_resolver *r = open_fake(0, 0, 0, 0, 0);
	struct mv_dns_answer *a;

	(void)state;
	assert_int_equal(ask_count(r, "a.example", MV_DNS_TXT), 1);
	assert_int_equal(mv_dns_prefetch(r, q, sizeof q / sizeof q[0]), MV_OK);
	assert_int_equal(F.prefetched, 4); /* not a.example, not the bad name */
	a = ask(r, "b.example", MV_DNS_TXT);
	assert_string_equal(a->rr[0].txt, "b.example");
	assert_string_equal(a->name, "b.example");
	mv_dns_answer_free(a);
	a = ask(r, "alias.example", MV_DNS_TXT);
	assert_string_equal(a->name, "target.example");
	mv_dns_answer_free(a);
	assert_int_equal(ask_count(r, "nx.example", MV_DNS_A), 1);
	assert_int_equal(ask_count(r, "servfail.example", MV_DNS_TXT), 2); /* not kept */
	F.prefetched = 0;
	assert_int_equal(mv_dns_prefetch(r, q, 3), MV_OK); /* all cached: nothing sent */
	assert_int_equal(F.prefetched, 0);
	mv_dns_free(r);
}

struct worker {
	struct mv_resolver *r;
	unsigned seed;
	int bad;
};

static void *query_many(void *arg)
{
	struct worker *w = arg;
	struct mv_dns_answer *a;
	char name[64];
	int i;

	for (i = 0; i < 4000; i++) {
		w->seed = w->seed * 1103515245u + 12345u;
		snprintf(name, sizeof name, "t%u.example", (w->seed >> 16) % 100);
		if (mv_dns_query(w->r, name, MV_DNS_TXT, &a) != MV_OK) {
			w->bad++;
			continue;
		}
		if (a->rcode != MV_DNS_RECORDS || a->count != 1 ||
		    strcmp(a->rr[0].txt, name) != 0 || strcmp(a->name, name) != 0)
			w->bad++;
		mv_dns_answer_free(a);
	}
	return NULL;
}

/* Four threads over 100 names in a 64-entry cache: hits, misses, evictions at once. */
static void threads_share_the_cache(void **state)
{
	struct mv_resolver *r = open_fake(64, 0, 0, 0, 0);
	struct mv_dns_cache_stats st;
	struct worker w[4];
	pthread_t t[4];
	int i;

	(void)state;
	for (i = 0; i < 4; i++) {
		w[i].r = r;
		w[i].seed = (unsigned)i * 7919u + 1;
		w[i].bad = 0;
		assert_int_equal(pthread_create(&t[i], NULL, query_many, &w[i]), 0);
	}
	for (i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(w[i].bad, 0);
	}
	mv_dns_cache_stats(r->cache, &st);
	assert_int_equal(st.hits + st.misses, 16000);
	assert_int_equal(st.misses, F.lookups);
	assert_true(st.hits > 0);
	assert_true(st.evictions > 0);
	assert_true(st.entries <= 64);
	mv_dns_free(r);
}

static void cache_off_is_no_cache(void **state)
{
	struct mv_dns_cache_opts o = {MV_DNS_CACHE_OFF, 0, 0, 0, 0};
	struct mv_dns_unbound_opts uo = {.cache_entries = MV_DNS_CACHE_OFF};
	struct mv_dns_cache *c = (struct mv_dns_cache *)1;
	struct mv_resolver *r;
	char err[128];

	(void)state;
	assert_int_equal(mv_dns_cache_new(&o, &c), MV_EINVAL);
	assert_null(c);
	uo.server = "127.0.0.1@9";
	assert_int_equal(mv_dns_unbound_open(&uo, &r, err, sizeof err), MV_OK);
	assert_null(r->cache);
	mv_dns_free(r);
	uo.cache_entries = 0;
	assert_int_equal(mv_dns_unbound_open(&uo, &r, err, sizeof err), MV_OK);
	assert_non_null(r->cache);
	mv_dns_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(repeated_question_is_served_from_the_cache),
	        cmocka_unit_test(key_is_name_and_type),
	        cmocka_unit_test(entry_expires_after_its_ttl),
	        cmocka_unit_test(ttl_is_clamped_to_min_and_max),
	        cmocka_unit_test(zero_ttl_is_not_kept),
	        cmocka_unit_test(negative_answers_are_kept_at_most_neg_ttl),
	        cmocka_unit_test(servfail_and_timeout_are_never_kept),
	        cmocka_unit_test(cname_answer_keeps_its_owner),
	        cmocka_unit_test(hits_are_recorded),
	        cmocka_unit_test(entry_bound_evicts),
	        cmocka_unit_test(one_entry_cache_keeps_the_newest),
	        cmocka_unit_test(byte_bound_evicts_and_refuses_giants),
	        cmocka_unit_test(prefetch_skips_cached_questions_and_fills_the_cache),
	        cmocka_unit_test(threads_share_the_cache),
	        cmocka_unit_test(cache_off_is_no_cache),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
