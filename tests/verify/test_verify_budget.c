/*
 * tests/verify/test_verify_budget.c — the DNS time budget of one message
 * (struct mv_verify_config budget_ms; issue 7: "DNS down -> the configured
 * tempfail or accept, within a per-message time budget ..., never a hang").
 *
 * The message: From a@example.com, DKIM-signed by example.com (s=sel),
 * delivered from 203.0.113.5 with MAIL FROM b@example.com, so it asks the
 * SPF record, the key, the DMARC record, the PTR and the PTR name's address.
 * The zone answers at once; to spend real time the cases put a slow backend
 * in front of it (each lookup sleeps) or use libunbound against a UDP socket
 * that never answers.
 *
 * The second part (issue 10 item 3) checks what the budget leaves DMARC: an
 * attacker's slow SPF include chain must not turn the From domain's
 * p=reject into dmarc=temperror. There no real time passes: a fake backend
 * advances a fake clock that the budget reads (mv_verify_budget_set_clock()).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cmocka.h>

#include <mailvet/verify.h>

#include "dns/backend.h"
#include "dns/cache.h"
#include "verify/verify_int.h"

#define NOW 1700000000
#define SLACK_MS 250 /* scheduling and sanitizer overhead allowed beyond a bound */

static const unsigned char seed[32] = {9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9,
                                       9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9};
static char *signed_msg; /* the message, DKIM-signed (setup) */
static char *key_record; /* its key's TXT record */

static const struct mv_envelope env = {
        "203.0.113.5", NULL, "mail.example.com", "b@example.com", NULL, NULL, 0};

static long now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000L + t.tv_nsec / 1000000L;
}

static void sleep_ms(unsigned ms)
{
	struct timespec t = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};

	while (nanosleep(&t, &t) != 0)
		;
}

static int setup(void **state)
{
	static const char msg[] = "From: a@example.com\r\nTo: c@example.net\r\nSubject: hi\r\n"
	                          "Message-ID: <1@example.com>\r\n\r\nhello\r\n";
	struct mv_dkim_signkey *key = NULL;
	const struct mv_dkim_signkey *keys[1];
	struct mv_dkim_sign_opts o;
	struct mv_buf out = MV_BUF_INIT;
	struct mv_msg *m = NULL;
	const char *body;
	size_t blen;

	(void)state;
	if (mv_dkim_signkey_ed25519_seed(seed, &key) != MV_OK)
		return -1;
	keys[0] = key;
	key_record = mv_dkim_signkey_record(key);
	mv_dkim_sign_opts_default(&o);
	o.domain = "example.com";
	o.selector = "sel";
	o.now = NOW - 60;
	if (key_record == NULL || mv_msg_parse(msg, strlen(msg), NULL, &m, NULL, 0) != MV_OK)
		return -1;
	mv_msg_body(m, &body, &blen, NULL);
	if (mv_dkim_sign(&o, keys, NULL, 1, m, body, blen, &out) != MV_OK)
		return -1;
	mv_buf_puts(&out, msg);
	signed_msg = mv_buf_steal(&out, NULL);
	mv_msg_free(m);
	mv_dkim_signkey_free(key);
	return signed_msg ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	free(signed_msg);
	free(key_record);
	return 0;
}

/* A zone with every record the message needs (good = 1), or every one of its names timing out. */
static struct mv_resolver *make_zone(int good)
{
	struct mv_buf z = MV_BUF_INIT;
	struct mv_resolver *r = NULL;

	if (good)
		mv_buf_printf(&z,
		              "example.com TXT \"v=spf1 ip4:203.0.113.0/24 -all\"\n"
		              "_dmarc.example.com CNAME _dmarc.policy.example.org\n"
		              "_dmarc.policy.example.org TXT \"v=DMARC1; p=reject\"\n"
		              "sel._domainkey.example.com TXT \"%s\"\n"
		              "5.113.0.203.in-addr.arpa PTR mail.example.com\n"
		              "mail.example.com A 203.0.113.5\n",
		              key_record);
	else
		mv_buf_puts(&z, "example.com TIMEOUT\n"
		                "_dmarc.example.com TIMEOUT\n"
		                "sel._domainkey.example.com TIMEOUT\n"
		                "5.113.0.203.in-addr.arpa TIMEOUT\n");
	assert_int_equal(mv_dns_zone_parse(z.data, z.len, &r, NULL, 0), MV_OK);
	mv_buf_free(&z);
	return r;
}

/*
 * The slow backend: each lookup sleeps delay_ms, then answers from a zone;
 * a prefetch batch sleeps delay_ms. It adds up the time it slept and counts
 * the lookups that started when that sum had reached the budget already
 * (the budget's own account is never smaller, so there must be none).
 */
struct slow {
	struct mv_resolver *zone;
	unsigned delay_ms, budget_ms;
	unsigned slept_ms;
	unsigned lookups, prefetches, late;
	unsigned key_prefetched; /* batches that held the DKIM key's name */
};

static enum mv_status slow_lookup(void *impl, const char *name, enum mv_dns_type type,
                                  struct mv_dns_view *v)
{
	struct slow *s = impl;

	if (s->slept_ms >= s->budget_ms)
		s->late++;
	s->lookups++;
	sleep_ms(s->delay_ms);
	s->slept_ms += s->delay_ms;
	return s->zone->ops->lookup(s->zone->impl, name, type, v);
}

static void slow_release(void *impl, struct mv_dns_view *v)
{
	struct slow *s = impl;

	if (s->zone->ops->release)
		s->zone->ops->release(s->zone->impl, v);
}

static enum mv_status slow_prefetch(void *impl, const struct mv_dns_question *q, size_t n,
                                    mv_dns_deliver_fn deliver, void *arg)
{
	struct slow *s = impl;

	size_t k;

	(void)deliver;
	(void)arg;
	if (s->slept_ms >= s->budget_ms)
		s->late++;
	s->prefetches++;
	for (k = 0; k < n; k++)
		if (strcmp(q[k].name, "sel._domainkey.example.com") == 0)
			s->key_prefetched++;
	sleep_ms(s->delay_ms);
	s->slept_ms += s->delay_ms;
	return MV_OK;
}

static void slow_destroy(void *impl)
{
	struct slow *s = impl;

	mv_dns_free(s->zone);
}

static const struct mv_dns_ops slow_ops = {"slow", slow_lookup, slow_release, slow_prefetch,
                                           slow_destroy};

/* A slow resolver around make_zone(good); *s is its state, valid until mv_dns_free(). */
static struct mv_resolver *make_slow(int good, unsigned delay_ms, unsigned budget_ms,
                                     struct slow *s)
{
	struct mv_resolver *r = NULL;

	memset(s, 0, sizeof *s);
	s->zone = make_zone(good);
	s->delay_ms = delay_ms;
	s->budget_ms = budget_ms;
	assert_int_equal(mv_dns_resolver_new(&slow_ops, s, &r), MV_OK);
	return r;
}

/*
 * Stream text in as a milter would (fields, end of header, body), the
 * envelope e, the budget reading clock (NULL: the monotonic clock).
 */
static struct mv_verify *verify_text(const struct mv_verify_config *cfg, struct mv_resolver *r,
                                     const char *text, const struct mv_envelope *e,
                                     mv_verify_clock_fn clock, void *clock_arg)
{
	struct mv_verify *v = NULL;
	struct mv_msg *m = NULL;
	const char *body;
	size_t blen, k;

	assert_int_equal(mv_msg_parse(text, strlen(text), NULL, &m, NULL, 0), MV_OK);
	assert_int_equal(mv_verify_new(cfg, r, NOW, e, &v), MV_OK);
	mv_verify_budget_set_clock(&v->budget, clock, clock_arg);
	for (k = 0; k < mv_msg_field_count(m); k++) {
		const struct mv_msg_field *f = mv_msg_field(m, k);
		assert_int_equal(mv_verify_header(v, f->name, f->name_len, f->value, f->value_len),
		                 MV_OK);
	}
	assert_int_equal(mv_verify_header_end(v), MV_OK);
	mv_msg_body(m, &body, &blen, NULL);
	assert_int_equal(mv_verify_body(v, body, blen), MV_OK);
	assert_int_equal(mv_verify_end(v), MV_OK);
	mv_msg_free(m);
	return v;
}

/* The signed message from b@example.com, on the real clock. */
static struct mv_verify *verify(const struct mv_verify_config *cfg, struct mv_resolver *r)
{
	return verify_text(cfg, r, signed_msg, &env, NULL, NULL);
}

static const char *result_of(const struct mv_verify *v, const char *method)
{
	const struct mv_authres *ar = mv_verify_results(v);
	size_t k;

	for (k = 0; k < ar->results.count; k++)
		if (strcmp(ar->results.item[k]->method, method) == 0)
			return ar->results.item[k]->result;
	return "(absent)";
}

static void config(struct mv_verify_config *cfg, unsigned budget_ms)
{
	mv_verify_config_default(cfg);
	cfg->authserv_id = "mx.example.net";
	cfg->budget_ms = budget_ms;
}

/* Every result that needs DNS is temperror; DMARC temperror takes the configured action. */
static void assert_all_temperror(const struct mv_verify *v)
{
	assert_string_equal(result_of(v, "spf"), "temperror");
	assert_string_equal(result_of(v, "dkim"), "temperror");
	assert_string_equal(result_of(v, "dmarc"), "temperror");
	assert_string_equal(result_of(v, "iprev"), "temperror");
}

static void generous_budget_changes_nothing(void **state)
{
	struct mv_verify_config cfg;
	struct mv_verify_dns_stats st;
	struct mv_resolver *r = make_zone(1);
	struct mv_verify *v;

	(void)state;
	config(&cfg, 20000);
	v = verify(&cfg, r);
	assert_string_equal(result_of(v, "spf"), "pass");
	assert_string_equal(result_of(v, "dkim"), "pass");
	assert_string_equal(result_of(v, "dmarc"), "pass");
	assert_string_equal(result_of(v, "iprev"), "pass");
	assert_int_equal(mv_verify_action(v), MV_VERIFY_ACCEPT);
	mv_verify_dns_stats(v, &st);
	assert_int_equal(st.budget_ms, 20000);
	assert_int_equal(st.refused, 0);
	assert_int_equal(st.exhausted, 0);
	assert_true(st.queries >= 5); /* SPF, key, DMARC, PTR, A */
	assert_null(strstr(mv_verify_explain(v), "budget"));
	mv_verify_free(v);
	mv_dns_free(r);
}

/*
 * The prefetch is one batch (docs/internals/verify.md): the DKIM key is in it,
 * and the DKIM verifier's own prefetch of the same key is not sent again.
 */
static void one_prefetch_batch_with_the_dkim_key(void **state)
{
	struct mv_verify_config cfg;
	struct slow s;
	struct mv_resolver *r = make_slow(1, 0, 20000, &s);
	struct mv_verify *v;

	(void)state;
	config(&cfg, 20000);
	v = verify(&cfg, r);
	assert_string_equal(result_of(v, "dkim"), "pass");
	assert_int_equal(s.prefetches, 1);
	assert_int_equal(s.key_prefetched, 1);
	mv_verify_free(v);
	mv_dns_free(r);
}

static void zero_budget_asks_nothing_and_tempfails(void **state)
{
	struct mv_verify_config cfg;
	struct mv_verify_dns_stats st;
	struct slow s;
	struct mv_resolver *r = make_slow(1, 50, 0, &s);
	struct mv_verify *v;

	(void)state;
	config(&cfg, 0);
	v = verify(&cfg, r);
	assert_int_equal(s.lookups + s.prefetches, 0);
	assert_all_temperror(v);
	assert_int_equal(mv_verify_action(v), MV_VERIFY_TEMPFAIL);
	assert_non_null(mv_verify_reply(v));
	assert_memory_equal(mv_verify_reply(v), "451 4.4.3 ", 10);
	mv_verify_dns_stats(v, &st);
	assert_int_equal(st.queries, 0);
	assert_true(st.refused >= 4);
	assert_int_equal(st.exhausted, 1);
	assert_non_null(strstr(mv_verify_explain(v), "dns: budget of 0 ms ran out"));
	mv_verify_free(v);
	mv_dns_free(r);
}

static void spent_budget_follows_temperror_action_accept(void **state)
{
	struct mv_verify_config cfg;
	struct mv_resolver *r = make_zone(1);
	struct mv_verify *v;

	(void)state;
	config(&cfg, 0);
	cfg.dmarc_temperror_action = MV_VERIFY_ACCEPT;
	v = verify(&cfg, r);
	assert_all_temperror(v);
	assert_int_equal(mv_verify_action(v), MV_VERIFY_ACCEPT);
	mv_verify_free(v);
	mv_dns_free(r);
}

/*
 * Budget 100 ms, 40 ms a lookup: the first slow answers spend it, the rest
 * are refused. No DMARC reserve here: the whole budget is one account, as
 * the checks before DMARC see theirs (the reserve: the attack cases below).
 */
static void tiny_budget_stops_asking_once_spent(void **state)
{
	struct mv_verify_config cfg;
	struct mv_verify_dns_stats st;
	struct slow s;
	struct mv_resolver *r = make_slow(1, 40, 100, &s);
	struct mv_verify *v;
	long t0 = now_ms(), dt;

	(void)state;
	config(&cfg, 100);
	cfg.dmarc_reserve_pct = 0;
	v = verify(&cfg, r);
	dt = now_ms() - t0;
	assert_int_equal(s.late, 0);
	assert_true(s.lookups + s.prefetches <= 3); /* 3 x 40 ms >= 100 ms */
	assert_true(dt < 100 + 40 + SLACK_MS);
	mv_verify_dns_stats(v, &st);
	assert_int_equal(st.exhausted, 1);
	assert_true(st.refused > 0);
	assert_true(st.spent_ms >= 100);
	assert_string_equal(result_of(v, "dmarc"), "temperror");
	assert_int_equal(mv_verify_action(v), MV_VERIFY_TEMPFAIL);
	assert_non_null(strstr(mv_verify_explain(v), "dns: budget of 100 ms ran out"));
	mv_verify_free(v);
	mv_dns_free(r);
}

/*
 * DNS down: every name times out, each after 60 ms. Without a budget the
 * message waits for each of its questions; with 150 ms it finishes within
 * the budget plus one query, asks fewer, and is tempfailed.
 */
static void dns_down_finishes_within_budget(void **state)
{
	struct mv_verify_config cfg;
	struct slow s;
	struct mv_resolver *r = make_slow(0, 60, 150, &s);
	struct mv_verify *v;
	unsigned unbudgeted;
	long t0, dt;

	(void)state;
	config(&cfg, 600000);
	v = verify(&cfg, r);
	assert_all_temperror(v);
	unbudgeted = s.lookups + s.prefetches;
	mv_verify_free(v);
	mv_dns_free(r);

	r = make_slow(0, 60, 150, &s);
	config(&cfg, 150);
	t0 = now_ms();
	v = verify(&cfg, r);
	dt = now_ms() - t0;
	assert_all_temperror(v);
	assert_int_equal(mv_verify_action(v), MV_VERIFY_TEMPFAIL);
	assert_int_equal(s.late, 0);
	assert_true(s.lookups + s.prefetches < unbudgeted);
	assert_true(dt < 150 + 60 + SLACK_MS);
	mv_verify_free(v);
	mv_dns_free(r);
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

/*
 * libunbound against a server that never answers, 200 ms a query: the
 * prefetch and the DKIM key spend the 225 ms the checks before DMARC may
 * use (about 400 ms), DMARC still asks once within its 75 ms reserve (about
 * 600 ms: the budget plus two resolver timeouts at most); without a budget
 * the message waits 200 ms for each of its waits (about 1 s).
 */
static void unbound_silent_server_finishes_within_budget(void **state)
{
	struct mv_dns_unbound_opts o;
	struct mv_verify_config cfg;
	struct mv_verify_dns_stats st;
	struct mv_resolver *r = NULL;
	struct mv_verify *v;
	char addr[64], err[256];
	int fd = silent_server(addr, sizeof addr);
	long t0, dt;

	memset(&o, 0, sizeof o);
	o.timeout_ms = 200;

	(void)state;
	o.server = addr;
	if (mv_dns_unbound_open(&o, &r, err, sizeof err) != MV_OK)
		fail_msg("unbound open: %s", err);
	config(&cfg, 300);
	t0 = now_ms();
	v = verify(&cfg, r);
	dt = now_ms() - t0;
	/* (not iprev: libunbound answers TEST-NET reverse names itself) */
	assert_string_equal(result_of(v, "spf"), "temperror");
	assert_string_equal(result_of(v, "dkim"), "temperror");
	assert_string_equal(result_of(v, "dmarc"), "temperror");
	assert_int_equal(mv_verify_action(v), MV_VERIFY_TEMPFAIL);
	mv_verify_dns_stats(v, &st);
	assert_int_equal(st.exhausted, 1);
	assert_true(st.refused > 0);
	assert_int_equal(st.dmarc_reserve_ms, 75);
	assert_true(st.dmarc_spent_ms > 0); /* it asked, and waited for the timeout */
	assert_true(st.spent_ms <= 300 + 2 * 200 + SLACK_MS);
	assert_true(dt < 300 + 2 * 200 + SLACK_MS);
	mv_verify_free(v);
	mv_dns_free(r);
	close(fd);
}

/* What the budget refused is recorded as timeouts: the replay gives the same field. */
static void refusals_are_recorded_for_replay(void **state)
{
	char path[] = "/tmp/mv-budget-XXXXXX";
	struct mv_verify_config cfg;
	struct mv_resolver *r = make_zone(1), *replay = NULL;
	struct mv_verify *v, *w;
	char *text = NULL;
	size_t len = 0;
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(mv_dns_record_to(r, path), MV_OK);
	config(&cfg, 0);
	v = verify(&cfg, r);
	assert_int_equal(mv_dns_record_flush(r), MV_OK);
	assert_int_equal(mv_read_file(path, 1 << 20, &text, &len), MV_OK);
	assert_non_null(strstr(text, "_dmarc.example.com TIMEOUT TXT"));
	assert_non_null(strstr(text, "sel._domainkey.example.com TIMEOUT TXT"));
	assert_int_equal(mv_dns_zone_open(path, &replay, NULL, 0), MV_OK);
	config(&cfg, 20000);
	w = verify(&cfg, replay);
	assert_string_equal(mv_verify_header_field(w), mv_verify_header_field(v));
	mv_verify_free(w);
	mv_verify_free(v);
	mv_dns_free(replay);
	mv_dns_free(r);
	free(text);
	unlink(path);
}

/* The budget's resolver answers as the real one does: owner after a CNAME, spelling otherwise. */
static void forwarded_answers_keep_names_and_records(void **state)
{
	struct mv_verify_budget b, none;
	struct mv_resolver *zone = make_zone(1), *r = NULL, *dead = NULL;
	struct mv_dns_answer *a = NULL;

	(void)state;
	assert_int_equal(mv_verify_budget_open(&b, zone, 1000, 0, &r), MV_OK);
	assert_int_equal(mv_dns_query(r, "_DMARC.Example.COM.", MV_DNS_TXT, &a), MV_OK);
	assert_int_equal(a->rcode, MV_DNS_RECORDS);
	assert_string_equal(a->name, "_dmarc.policy.example.org");
	assert_int_equal(a->count, 1);
	assert_string_equal(a->rr[0].txt, "v=DMARC1; p=reject");
	mv_dns_answer_free(a);
	assert_int_equal(mv_dns_query(r, "Mail.Example.com", MV_DNS_A, &a), MV_OK);
	assert_int_equal(a->rcode, MV_DNS_RECORDS);
	assert_string_equal(a->name, "Mail.Example.com");
	assert_memory_equal(a->rr[0].addr, "\xcb\x00\x71\x05", 4);
	mv_dns_answer_free(a);
	assert_int_equal(mv_dns_query(r, "nowhere.example.com", MV_DNS_A, &a), MV_OK);
	assert_int_equal(a->rcode, MV_DNS_NXDOMAIN);
	mv_dns_answer_free(a);
	assert_int_equal(b.queries, 3);
	assert_int_equal(b.refused, 0);

	assert_int_equal(mv_verify_budget_open(&none, zone, 0, 0, &dead), MV_OK);
	assert_int_equal(mv_dns_query(dead, "mail.example.com", MV_DNS_A, &a), MV_OK);
	assert_int_equal(a->rcode, MV_DNS_TIMEOUT);
	assert_int_equal(a->count, 0);
	assert_string_equal(a->name, "mail.example.com");
	mv_dns_answer_free(a);
	assert_int_equal(none.refused, 1);
	assert_int_equal(none.queries, 0);
	mv_dns_free(dead);
	mv_dns_free(r);
	mv_dns_free(zone);
}

/*
 * What the budget leaves DMARC. The message: From ceo@victim.example
 * (_dmarc.victim.example says p=reject), no DKIM signature, MAIL FROM
 * bounce@attacker.example from 192.0.2.1. attacker.example's SPF record
 * includes i1.attacker.example, which includes i2 ... down to i8: eight
 * levels, within RFC 7208's ten DNS-querying terms. The attacker's DNS
 * answers each iN just under the resolver's timeout; every other name
 * answers in 1 ms. The fake backend advances a fake clock by each answer's
 * delay (a prefetch batch by its slowest); with a cache, its prefetch
 * delivers the answers into it, as libunbound's does.
 */
#define INCLUDES 8
#define FAST_MS 1

static const struct mv_envelope attack_env = {
        "192.0.2.1", NULL, "mx.attacker.example", "bounce@attacker.example", NULL, NULL, 0};
static const char attack_msg[] = "From: ceo@victim.example\r\nTo: ap@example.net\r\n"
                                 "Subject: wire the money\r\n"
                                 "Message-ID: <1@attacker.example>\r\n\r\ntoday\r\n";

/* The attacker's DNS in front of a zone, on a fake clock. */
struct slowdns {
	struct mv_resolver *zone;
	unsigned slow_ms;             /* each iN.attacker.example */
	uint64_t now_us;              /* the fake clock */
	unsigned includes_asked;      /* lookups of iN.attacker.example */
	unsigned includes_prefetched; /* ... and prefetches of them (the second round) */
	unsigned dmarc_asked;         /* lookups of _dmarc.victim.example */
	unsigned dmarc_prefetched;    /* ... and prefetches of it */
	uint64_t dmarc_asked_at_us;   /* when it was looked up */
};

static int is_include(const char *name)
{
	static const char suffix[] = ".attacker.example";
	size_t n = strlen(name), s = sizeof suffix - 1;

	return n > s && name[0] == 'i' && strcmp(name + n - s, suffix) == 0;
}

static unsigned delay_ms(const struct slowdns *d, const char *name)
{
	return is_include(name) ? d->slow_ms : FAST_MS;
}

/* The zone's answer, kept 300 s (the zone gives none) so a cache may keep it. */
static enum mv_status zone_view(struct slowdns *d, const char *name, enum mv_dns_type type,
                                struct mv_dns_view *v)
{
	enum mv_status st = d->zone->ops->lookup(d->zone->impl, name, type, v);

	v->ttl = 300;
	return st;
}

static enum mv_status attacker_lookup(void *impl, const char *name, enum mv_dns_type type,
                                      struct mv_dns_view *v)
{
	struct slowdns *d = impl;

	if (is_include(name))
		d->includes_asked++;
	if (strcmp(name, "_dmarc.victim.example") == 0) {
		d->dmarc_asked++;
		d->dmarc_asked_at_us = d->now_us;
	}
	d->now_us += (uint64_t)delay_ms(d, name) * 1000u;
	return zone_view(d, name, type, v);
}

static void attacker_release(void *impl, struct mv_dns_view *v)
{
	struct slowdns *d = impl;

	if (d->zone->ops->release)
		d->zone->ops->release(d->zone->impl, v);
}

/* The batch waits for its slowest answer; each answer goes to deliver (the cache). */
static enum mv_status attacker_prefetch(void *impl, const struct mv_dns_question *q, size_t n,
                                        mv_dns_deliver_fn deliver, void *arg)
{
	struct slowdns *d = impl;
	char norm[MV_DNS_NAME_MAX + 1];
	struct mv_dns_view v;
	unsigned wait = 0;
	size_t k, len;

	for (k = 0; k < n; k++) {
		if (mv_dns_name_norm(q[k].name, strlen(q[k].name), norm, &len) != MV_OK)
			continue;
		if (delay_ms(d, norm) > wait)
			wait = delay_ms(d, norm);
		if (strcmp(norm, "_dmarc.victim.example") == 0)
			d->dmarc_prefetched++;
		if (is_include(norm))
			d->includes_prefetched++;
		memset(&v, 0, sizeof v);
		if (deliver && zone_view(d, norm, q[k].type, &v) == MV_OK) {
			deliver(arg, norm, q[k].type, &v);
			attacker_release(d, &v);
		}
	}
	d->now_us += (uint64_t)wait * 1000u;
	return MV_OK;
}

static void attacker_destroy(void *impl)
{
	struct slowdns *d = impl;

	mv_dns_free(d->zone);
}

static const struct mv_dns_ops attacker_ops = {"attacker", attacker_lookup, attacker_release,
                                               attacker_prefetch, attacker_destroy};

static uint64_t fake_clock(void *arg)
{
	return ((struct slowdns *)arg)->now_us;
}

/* The attacker's DNS, each include answering after slow_ms; with_cache: an answer cache in front. */
static struct mv_resolver *make_attacker_dns(struct slowdns *d, unsigned slow_ms, int with_cache)
{
	struct mv_dns_cache_opts co = {0, 0, 0, 0, 0};
	struct mv_resolver *r = NULL;
	struct mv_buf z = MV_BUF_INIT;
	unsigned k;

	memset(d, 0, sizeof *d);
	d->slow_ms = slow_ms;
	d->now_us = 1000000;
	mv_buf_puts(&z, "attacker.example TXT \"v=spf1 include:i1.attacker.example -all\"\n");
	for (k = 1; k < INCLUDES; k++)
		mv_buf_printf(
		        &z,
		        "i%u.attacker.example TXT \"v=spf1 include:i%u.attacker.example -all\"\n",
		        k, k + 1);
	mv_buf_printf(&z, "i%u.attacker.example TXT \"v=spf1 -all\"\n", INCLUDES);
	mv_buf_puts(&z, "_dmarc.victim.example TXT \"v=DMARC1; p=reject\"\n");
	assert_int_equal(mv_buf_status(&z), MV_OK);
	assert_int_equal(mv_dns_zone_parse(z.data, z.len, &d->zone, NULL, 0), MV_OK);
	mv_buf_free(&z);
	assert_int_equal(mv_dns_resolver_new(&attacker_ops, d, &r), MV_OK);
	if (with_cache)
		assert_int_equal(mv_dns_cache_new(&co, &r->cache), MV_OK);
	return r;
}

/* One run of the attack message: what it was checked with and what came out. */
struct attack_run {
	struct mv_verify_config cfg; /* borrowed by v */
	struct slowdns d;
	struct mv_resolver *r;
	struct mv_verify *v;
	struct mv_verify_dns_stats st; /* the DNS account at the end */
	uint64_t start_us;             /* the fake clock before the message */
};

/*
 * The attack message through every check: budget 20 s with reserve_pct for
 * DMARC, each include slow_ms, an answer cache or none. SPF runs out of
 * time inside the chain and DMARC finds p=reject all the same: 550, not
 * 451, and not the accept that temperror = accept would give.
 */
static void attack(struct attack_run *a, unsigned slow_ms, int with_cache, unsigned reserve_pct)
{
	const struct mv_dmarc_verdict *dm;

	a->r = make_attacker_dns(&a->d, slow_ms, with_cache);
	a->start_us = a->d.now_us;
	config(&a->cfg, 20000);
	a->cfg.dmarc_reserve_pct = reserve_pct;
	a->cfg.dmarc_temperror_action = MV_VERIFY_ACCEPT; /* what the attacker counts on */
	a->v = verify_text(&a->cfg, a->r, attack_msg, &attack_env, fake_clock, &a->d);
	dm = mv_verify_dmarc(a->v);
	assert_string_equal(result_of(a->v, "spf"), "temperror");
	assert_string_equal(result_of(a->v, "dmarc"), "fail");
	assert_int_equal(dm->disposition, MV_DMARC_P_REJECT);
	assert_int_equal(mv_verify_action(a->v), MV_VERIFY_REJECT);
	assert_non_null(mv_verify_reply(a->v));
	assert_memory_equal(mv_verify_reply(a->v), "550 5.7.1 ", 10);
	mv_verify_dns_stats(a->v, &a->st);
}

static void attack_free(struct attack_run *a)
{
	mv_verify_free(a->v);
	mv_dns_free(a->r);
}

/*
 * The defaults (20 s, 25 % for DMARC), the includes 4999 ms each, no
 * cache: the checks before DMARC may start questions until 15 s. i4 starts
 * at 14.999 s and ends at 19.998 s; i5 is refused, so SPF is temperror.
 * DMARC then asks _dmarc.victim.example itself and finds p=reject. (With
 * the whole budget for SPF, i5 ran from 19.998 s to 24.997 s and the DMARC
 * query was refused: dmarc=temperror, and temperror = accept let it in.)
 */
static void slow_spf_include_chain_leaves_dmarc_its_reserve(void **state)
{
	struct attack_run a;

	(void)state;
	attack(&a, 4999, 0, 25);
	assert_int_equal(a.d.includes_asked, 4); /* i1..i4; the rest of the chain never asked */
	assert_true(a.d.dmarc_asked >=
	            1); /* again for the relaxed-alignment org walk when nothing is cached */
	assert_true(a.d.dmarc_asked_at_us - a.start_us >= 15000u * 1000u); /* after SPF's share */
	assert_int_equal(a.st.dmarc_reserve_ms, 5000);
	assert_int_equal(a.st.share_exhausted, 1);
	assert_true(a.st.refused >= 1);
	assert_true(a.st.dmarc_spent_ms >= FAST_MS && a.st.dmarc_spent_ms < a.st.dmarc_reserve_ms);
	assert_true(a.st.spent_ms <= 20000 + 4999); /* the budget plus one resolver timeout */
	attack_free(&a);
}

/*
 * The reserve is DMARC's own even when a query of SPF runs past the whole
 * budget: 10 % reserved (SPF's share ends at 18 s), includes 5500 ms each
 * (a resolver timeout of 6 s). i4 starts at 16.502 s and ends at 22.002 s,
 * past the 20 s budget; DMARC has spent nothing of its 2 s yet, so it asks
 * and finds p=reject. The total stays within the budget plus two timeouts.
 */
static void reserve_holds_when_an_spf_query_overruns_the_whole_budget(void **state)
{
	struct attack_run a;

	(void)state;
	attack(&a, 5500, 0, 10);
	assert_int_equal(a.d.includes_asked, 4);
	assert_true(a.d.dmarc_asked >=
	            1); /* again for the relaxed-alignment org walk when nothing is cached */
	assert_int_equal(a.st.exhausted, 1); /* past 20 s before DMARC asked */
	assert_true(a.st.dmarc_spent_ms >= FAST_MS && a.st.dmarc_spent_ms < a.st.dmarc_reserve_ms);
	assert_true(a.st.spent_ms > 20000 && a.st.spent_ms <= 20000 + 2 * 5500);
	assert_string_equal(result_of(a.v, "iprev"), "temperror"); /* after DMARC: spent */
	attack_free(&a);
}

/*
 * No reserve at all, but a cache: the prefetch put _dmarc.victim.example
 * there. The prefetch's second round (i1) and SPF (i2..i5) spend the whole
 * budget, five slow answers one after the other;
 * DMARC's question then needs no wait, so it is answered from the cache
 * instead of refused, and the message is rejected per policy.
 */
static void prefetched_dmarc_record_is_used_after_the_budget_is_spent(void **state)
{
	struct attack_run a;

	(void)state;
	attack(&a, 4999, 1, 0);
	assert_int_equal(a.d.dmarc_prefetched, 1);
	assert_int_equal(a.d.dmarc_asked, 0); /* only in the prefetch */
	/* i1 in the prefetch's second round (the record it follows was cached), i2..i5 by SPF:
	 * five slow answers either way, the same budget spent */
	assert_int_equal(a.d.includes_prefetched, 1);
	assert_int_equal(a.d.includes_asked, 4);
	assert_int_equal(a.st.exhausted, 1);
	assert_true(a.st.refused >= 1); /* i6: it would need a real wait */
	assert_true(a.st.cached >= 1);  /* the DMARC record (and the PTR) */
	assert_int_equal(a.st.dmarc_spent_ms, 0);
	attack_free(&a);
}

/*
 * The budget's resolver itself, budget 0: a cached answer is served and
 * recorded as the answer it is; an uncached question is a timeout, unasked,
 * recorded as one.
 */
static void past_the_limit_cached_answers_are_served_and_others_refused(void **state)
{
	char path[] = "/tmp/mv-budget-share-XXXXXX";
	struct mv_verify_budget b;
	struct slowdns d;
	struct mv_resolver *inner = make_attacker_dns(&d, 4999, 1), *r = NULL;
	struct mv_dns_answer *a = NULL;
	char *text = NULL;
	size_t len = 0;
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(mv_dns_query(inner, "_dmarc.victim.example", MV_DNS_TXT, &a), MV_OK);
	mv_dns_answer_free(a); /* now in inner's cache */
	assert_int_equal(d.dmarc_asked, 1);
	assert_int_equal(mv_dns_record_to(inner, path), MV_OK);
	assert_int_equal(mv_verify_budget_open(&b, inner, 0, 25, &r), MV_OK);
	mv_verify_budget_set_clock(&b, fake_clock, &d);
	assert_int_equal(mv_dns_query(r, "_DMARC.Victim.Example", MV_DNS_TXT, &a), MV_OK);
	assert_int_equal(a->rcode, MV_DNS_RECORDS);
	assert_string_equal(a->name, "_DMARC.Victim.Example");
	assert_string_equal(a->rr[0].txt, "v=DMARC1; p=reject");
	mv_dns_answer_free(a);
	assert_int_equal(mv_dns_query(r, "i1.attacker.example", MV_DNS_TXT, &a), MV_OK);
	assert_int_equal(a->rcode, MV_DNS_TIMEOUT);
	mv_dns_answer_free(a);
	assert_int_equal(d.dmarc_asked, 1);
	assert_int_equal(d.includes_asked, 0);
	assert_int_equal(b.cached, 1);
	assert_int_equal(b.refused, 1);
	assert_int_equal(b.queries, 0);
	assert_int_equal(mv_dns_record_flush(inner), MV_OK);
	assert_int_equal(mv_read_file(path, 1 << 20, &text, &len), MV_OK);
	assert_non_null(strstr(text, "_dmarc.victim.example TXT \"v=DMARC1; p=reject\""));
	assert_non_null(strstr(text, "i1.attacker.example TIMEOUT TXT"));
	free(text);
	mv_dns_free(r);
	mv_dns_free(inner);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(generous_budget_changes_nothing),
	        cmocka_unit_test(one_prefetch_batch_with_the_dkim_key),
	        cmocka_unit_test(zero_budget_asks_nothing_and_tempfails),
	        cmocka_unit_test(spent_budget_follows_temperror_action_accept),
	        cmocka_unit_test(tiny_budget_stops_asking_once_spent),
	        cmocka_unit_test(dns_down_finishes_within_budget),
	        cmocka_unit_test(unbound_silent_server_finishes_within_budget),
	        cmocka_unit_test(refusals_are_recorded_for_replay),
	        cmocka_unit_test(forwarded_answers_keep_names_and_records),
	        cmocka_unit_test(slow_spf_include_chain_leaves_dmarc_its_reserve),
	        cmocka_unit_test(reserve_holds_when_an_spf_query_overruns_the_whole_budget),
	        cmocka_unit_test(prefetched_dmarc_record_is_used_after_the_budget_is_spent),
	        cmocka_unit_test(past_the_limit_cached_answers_are_served_and_others_refused),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
