/* tests/dkim/test_key_cache.c — the decoded-key cache: one key per record text, bounded, shared by threads. */
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/evp.h>

#include <mailvet/dkim.h>

#include "dkim/dkim_int.h"
#include "dkim/signkey.h"

#define NOW 1700000000
#define THREADS 4
#define ROUNDS 40
#define MSG                                                                                        \
	"From: Alice <alice@example.com>\r\n"                                                      \
	"To: Bob <bob@example.net>\r\n"                                                            \
	"Subject: cached keys\r\n"                                                                 \
	"Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n"                                                \
	"\r\n"                                                                                     \
	"Each key is decoded once.\r\n"

static struct mv_dkim_signkey *rsa, *rsa2, *ed;
static char *zone_text;    /* rsa, rsa2 (another p=), ed, testing (rsa's p=, t=y), garbage */
static char *signed_msg;   /* MSG signed by rsa and by ed */
static char *signed_wrong; /* MSG signed by rsa2 under selector rsa: must fail */
static struct mv_resolver *zone;

/* A zone line with the record split into strings of at most 255 bytes. */
static void zone_txt(struct mv_buf *z, const char *owner, const char *rec)
{
	size_t len = strlen(rec), i;

	mv_buf_printf(z, "%s._domainkey.example.com TXT", owner);
	for (i = 0; i < len; i += 255)
		mv_buf_printf(z, " \"%.*s\"", (int)(len - i < 255 ? len - i : 255), rec + i);
	mv_buf_puts(z, "\n");
}

static char *sign_by(const struct mv_dkim_signkey *const *keys, const char *const *selectors,
                     size_t n)
{
	struct mv_buf out = MV_BUF_INIT;
	struct mv_msg *m = NULL;
	const char *body;
	size_t blen, off, i;

	assert_int_equal(mv_msg_parse(MSG, strlen(MSG), NULL, &m, NULL, 0), MV_OK);
	mv_msg_body(m, &body, &blen, &off);
	for (i = 0; i < n; i++) {
		struct mv_dkim_sign_opts o;

		mv_dkim_sign_opts_default(&o);
		o.domain = "example.com";
		o.selector = selectors[i];
		o.now = NOW;
		assert_int_equal(mv_dkim_sign(&o, &keys[i], NULL, 1, m, body, blen, &out), MV_OK);
	}
	mv_buf_puts(&out, MSG);
	mv_msg_free(m);
	return mv_buf_steal(&out, NULL);
}

static int setup(void **state)
{
	struct mv_buf z = MV_BUF_INIT;
	char *pem = NULL, *rec, errbuf[128];
	const struct mv_dkim_signkey *keys[2];
	const char *sels[2];

	(void)state;
	assert_int_equal(mv_dkim_keygen(MV_DKIM_KEY_RSA, 2048, &rsa, &pem), MV_OK);
	free(pem);
	assert_int_equal(mv_dkim_keygen(MV_DKIM_KEY_RSA, 2048, &rsa2, &pem), MV_OK);
	free(pem);
	assert_int_equal(mv_dkim_keygen(MV_DKIM_KEY_ED25519, 0, &ed, &pem), MV_OK);
	free(pem);
	rec = mv_dkim_signkey_record(rsa);
	zone_txt(&z, "rsa", rec);
	{
		/* the same p= in another record text: a key of its own (t= differs) */
		struct mv_buf t = MV_BUF_INIT;
		const char *p = strstr(rec, "p=");
		mv_buf_printf(&t, "%.*st=y; %s", (int)(p - rec), rec, p);
		zone_txt(&z, "testing", t.data);
		mv_buf_free(&t);
	}
	free(rec);
	rec = mv_dkim_signkey_record(rsa2);
	zone_txt(&z, "rsa2", rec);
	free(rec);
	rec = mv_dkim_signkey_record(ed);
	zone_txt(&z, "ed", rec);
	free(rec);
	zone_txt(&z, "garbage", "v=DKIM1; p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA");
	zone_text = mv_buf_steal(&z, NULL);
	assert_int_equal(
	        mv_dns_zone_parse(zone_text, strlen(zone_text), &zone, errbuf, sizeof errbuf),
	        MV_OK);
	keys[0] = rsa;
	keys[1] = ed;
	sels[0] = "rsa";
	sels[1] = "ed";
	signed_msg = sign_by(keys, sels, 2);
	keys[0] = rsa2;
	signed_wrong = sign_by(keys, sels, 1);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	mv_dns_free(zone);
	mv_dkim_signkey_free(rsa);
	mv_dkim_signkey_free(rsa2);
	mv_dkim_signkey_free(ed);
	free(zone_text);
	free(signed_msg);
	free(signed_wrong);
	return 0;
}

static struct mv_dkim_key *fetch(struct mv_dkim_keycache *c, const char *sel)
{
	struct mv_dkim_key *k = NULL;
	char err[160];

	assert_int_equal(mv_dkim_key_fetch(zone, c, sel, "example.com", &k, err, sizeof err),
	                 MV_OK);
	assert_non_null(k->pkey);
	return k;
}

static struct mv_dkim_keycache_stats stats(struct mv_dkim_keycache *c)
{
	struct mv_dkim_keycache_stats s;

	memset(&s, 0xff, sizeof s);
	mv_dkim_keycache_stats(c, &s);
	return s;
}

/* The same record text twice: decoded once, the second fetch shares the first's EVP_PKEY. */
static void same_record_gives_the_cached_key(void **state)
{
	struct mv_dkim_keycache *c;
	struct mv_dkim_key *a, *b;
	struct mv_dkim_keycache_stats s;

	(void)state;
	assert_int_equal(mv_dkim_keycache_new(8, &c), MV_OK);
	s = stats(c);
	assert_true(s.hits == 0 && s.misses == 0 && s.inserts == 0 && s.entries == 0);
	a = fetch(c, "rsa");
	b = fetch(c, "rsa");
	assert_ptr_equal(a->pkey, b->pkey);
	s = stats(c);
	assert_int_equal(s.misses, 1);
	assert_int_equal(s.hits, 1);
	assert_int_equal(s.inserts, 1);
	assert_int_equal(s.entries, 1);
	mv_dkim_key_free(a);
	mv_dkim_key_free(b);
	/* the cache's own reference keeps the key: a third fetch still hits */
	a = fetch(c, "rsa");
	assert_int_equal(stats(c).hits, 2);
	mv_dkim_key_free(a);
	mv_dkim_keycache_free(c);
}

/* Another p=, or the same p= in another record text: another entry. */
static void different_record_gives_another_key(void **state)
{
	struct mv_dkim_keycache *c;
	struct mv_dkim_key *a, *b, *t;

	(void)state;
	assert_int_equal(mv_dkim_keycache_new(8, &c), MV_OK);
	a = fetch(c, "rsa");
	b = fetch(c, "rsa2");
	t = fetch(c, "testing");
	assert_ptr_not_equal(a->pkey, b->pkey);
	assert_int_not_equal(EVP_PKEY_eq(a->pkey, b->pkey), 1);
	assert_ptr_not_equal(a->pkey, t->pkey);
	assert_int_equal(EVP_PKEY_eq(a->pkey, t->pkey), 1); /* same key material */
	assert_false(a->testing);
	assert_true(t->testing); /* the flags come from each record, not from the first */
	assert_int_equal(stats(c).misses, 3);
	assert_int_equal(stats(c).hits, 0);
	assert_int_equal(stats(c).entries, 3);
	mv_dkim_key_free(a);
	mv_dkim_key_free(b);
	mv_dkim_key_free(t);
	mv_dkim_keycache_free(c);
}

/* More records than entries: the oldest goes, a key still held elsewhere stays usable. */
static void full_cache_evicts_the_oldest(void **state)
{
	struct mv_dkim_keycache *c;
	struct mv_dkim_key *a, *k;
	struct mv_dkim_keycache_stats s;

	(void)state;
	assert_int_equal(mv_dkim_keycache_new(2, &c), MV_OK);
	a = fetch(c, "rsa");
	mv_dkim_key_free(fetch(c, "rsa2"));
	mv_dkim_key_free(fetch(c, "ed")); /* pushes out rsa */
	s = stats(c);
	assert_int_equal(s.entries, 2);
	assert_int_equal(s.inserts, 3);
	assert_int_equal(s.evictions, 1);
	/* a's EVP_PKEY lost the cache's reference, not ours (ASan would see a use after free) */
	assert_int_equal(EVP_PKEY_get_bits(a->pkey), 2048);
	k = fetch(c, "rsa"); /* decoded again: a miss, and it pushes out rsa2 */
	assert_ptr_not_equal(k->pkey, a->pkey);
	mv_dkim_key_free(k);
	mv_dkim_key_free(fetch(c, "ed")); /* still there */
	s = stats(c);
	assert_int_equal(s.misses, 4);
	assert_int_equal(s.hits, 1);
	assert_int_equal(s.evictions, 2);
	assert_int_equal(s.entries, 2);
	mv_dkim_key_free(a);
	mv_dkim_keycache_free(c);
}

/*
 * A long mixed sequence through a tiny cache (1 and 2 entries: 2 and 4 buckets,
 * so chains share buckets and lose members from the middle): hits and misses
 * exactly as a first-in first-out model of the cache says, each key the record's own.
 */
static void evictions_keep_the_index_right(void **state)
{
	static const char *const sels[] = {"rsa", "rsa2", "ed", "testing"};
	struct mv_dkim_keycache *c;
	size_t cap, i;

	(void)state;
	for (cap = 1; cap <= 2; cap++) {
		int held[2] = {-1, -1}; /* the model: which selector each slot holds */
		size_t next = 0;
		uint64_t hits = 0, misses = 0;

		assert_int_equal(mv_dkim_keycache_new(cap, &c), MV_OK);
		for (i = 0; i < 60; i++) {
			int sel = (int)((i * 7 + i / 5) % 4), hit = 0;
			struct mv_dkim_key *k = fetch(c, sels[sel]),
			                   *plain = fetch(NULL, sels[sel]);
			size_t j;

			assert_int_equal(EVP_PKEY_eq(k->pkey, plain->pkey), 1);
			assert_int_equal(k->testing, plain->testing);
			for (j = 0; j < cap; j++)
				hit |= held[j] == sel;
			if (hit) {
				hits++;
			} else {
				misses++;
				held[next] = sel;
				next = (next + 1) % cap;
			}
			mv_dkim_key_free(k);
			mv_dkim_key_free(plain);
		}
		assert_int_equal(stats(c).hits, hits);
		assert_int_equal(stats(c).misses, misses);
		assert_true(hits > 0);
		assert_int_equal(stats(c).entries, cap);
		mv_dkim_keycache_free(c);
	}
}

/* A record whose key does not decode is not stored: each fetch fails the same way. */
static void undecodable_key_is_not_cached(void **state)
{
	struct mv_dkim_keycache *c;
	struct mv_dkim_key *k = NULL;
	char err[160];
	int i;

	(void)state;
	assert_int_equal(mv_dkim_keycache_new(4, &c), MV_OK);
	for (i = 0; i < 2; i++) {
		assert_int_equal(
		        mv_dkim_key_fetch(zone, c, "garbage", "example.com", &k, err, sizeof err),
		        MV_ESYNTAX);
		assert_null(k);
	}
	assert_int_equal(stats(c).misses, 2);
	assert_int_equal(stats(c).inserts, 0);
	assert_int_equal(stats(c).entries, 0);
	mv_dkim_keycache_free(c);
}

struct worker {
	struct mv_dkim_keycache *cache;
	pthread_barrier_t *start; /* all threads miss the empty cache at once */
	int passed, failed_as_expected;
};

/* ROUNDS messages through a verifier sharing the cache; a resolver of its own per thread. */
static void *verify_loop(void *arg)
{
	struct worker *w = arg;
	struct mv_resolver *r = NULL;
	struct mv_dkim_verify_opts o;
	char errbuf[128];
	int i;

	if (mv_dns_zone_parse(zone_text, strlen(zone_text), &r, errbuf, sizeof errbuf) != MV_OK)
		return NULL;
	pthread_barrier_wait(w->start);
	mv_dkim_verify_opts_default(&o);
	o.keycache = w->cache;
	for (i = 0; i < ROUNDS; i++) {
		const char *text = i % 4 == 3 ? signed_wrong : signed_msg;
		struct mv_msg *m = NULL;
		struct mv_dkim_verifier *v = NULL;

		if (mv_msg_parse(text, strlen(text), NULL, &m, NULL, 0) == MV_OK &&
		    mv_dkim_verifier_new(&o, r, NOW, &v) == MV_OK &&
		    mv_dkim_verifier_message(v, m) == MV_OK) {
			if (text == signed_msg && mv_dkim_verifier_count(v) == 2 &&
			    mv_dkim_verifier_result(v, 0)->res == MV_DKIM_PASS &&
			    mv_dkim_verifier_result(v, 1)->res == MV_DKIM_PASS)
				w->passed++;
			if (text == signed_wrong && mv_dkim_verifier_count(v) == 1 &&
			    mv_dkim_verifier_result(v, 0)->res == MV_DKIM_FAIL)
				w->failed_as_expected++;
		}
		mv_dkim_verifier_free(v);
		mv_msg_free(m);
	}
	mv_dns_free(r);
	return NULL;
}

/* Threads verifying at once with one cache: every verdict right, each record stored once. */
static void threads_share_the_cache(void **state)
{
	struct mv_dkim_keycache *c;
	struct worker w[THREADS];
	pthread_t t[THREADS];
	struct mv_dkim_keycache_stats s;
	pthread_barrier_t start;
	int i;

	(void)state;
	assert_int_equal(mv_dkim_keycache_new(16, &c), MV_OK);
	assert_int_equal(pthread_barrier_init(&start, NULL, THREADS), 0);
	for (i = 0; i < THREADS; i++) {
		w[i].cache = c;
		w[i].start = &start;
		w[i].passed = w[i].failed_as_expected = 0;
		assert_int_equal(pthread_create(&t[i], NULL, verify_loop, &w[i]), 0);
	}
	for (i = 0; i < THREADS; i++) {
		assert_int_equal(pthread_join(t[i], NULL), 0);
		assert_int_equal(w[i].passed, ROUNDS - ROUNDS / 4);
		assert_int_equal(w[i].failed_as_expected, ROUNDS / 4);
	}
	pthread_barrier_destroy(&start);
	s = stats(c);
	/* 2 keys a good message, 1 a bad one; the rsa and ed records, stored once each */
	assert_int_equal(s.hits + s.misses, THREADS * (2 * (ROUNDS - ROUNDS / 4) + ROUNDS / 4));
	assert_int_equal(s.inserts, 2);
	assert_int_equal(s.entries, 2);
	assert_true(s.misses >= 2 && s.misses <= 2 * THREADS);
	mv_dkim_keycache_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(same_record_gives_the_cached_key),
	        cmocka_unit_test(different_record_gives_another_key),
	        cmocka_unit_test(full_cache_evicts_the_oldest),
	        cmocka_unit_test(evictions_keep_the_index_right),
	        cmocka_unit_test(undecodable_key_is_not_cached),
	        cmocka_unit_test(threads_share_the_cache),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
