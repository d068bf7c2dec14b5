/*
 * tests/verify/test_questions.c — no drift between what the checks say they
 * will ask and what they ask. Each case runs a message through every check
 * on a backend that logs each question it gets: the prefetch batch, and every
 * query the checks make afterwards. Every query must be in the batch (each
 * check's *_questions() list), or be one of the case's follow-ups — the
 * questions that depend on an answer (the forward query of a PTR target),
 * which no prefetch can know. The backend keeps no answers, so every query
 * of a check reaches it (a zone recording would miss the NXDOMAIN ones).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <mailvet/verify.h>

#include "arc_testkit.h"
#include "dns/backend.h"

/* The logging backend: a zone behind it; what was prefetched and what was asked. */
struct logdns {
	struct mv_resolver *zone;
	struct mv_dns_questions batch; /* the questions of every prefetch batch */
	struct mv_dns_questions asked; /* the questions of every lookup */
	unsigned batches;
};

static enum mv_status log_lookup(void *impl, const char *name, enum mv_dns_type type,
                                 struct mv_dns_view *v)
{
	struct logdns *d = impl;

	assert_int_equal(mv_dns_questions_add(&d->asked, name, type), MV_OK);
	return d->zone->ops->lookup(d->zone->impl, name, type, v);
}

static void log_release(void *impl, struct mv_dns_view *v)
{
	struct logdns *d = impl;

	if (d->zone->ops->release)
		d->zone->ops->release(d->zone->impl, v);
}

static enum mv_status log_prefetch(void *impl, const struct mv_dns_question *q, size_t n,
                                   mv_dns_deliver_fn deliver, void *arg)
{
	struct logdns *d = impl;
	size_t k;

	(void)deliver;
	(void)arg;
	d->batches++;
	for (k = 0; k < n; k++)
		assert_int_equal(mv_dns_questions_add(&d->batch, q[k].name, q[k].type), MV_OK);
	return MV_OK;
}

static void log_destroy(void *impl)
{
	(void)impl; /* the test owns the state and the zone */
}

static const struct mv_dns_ops log_ops = {"log", log_lookup, log_release, log_prefetch,
                                          log_destroy};

static struct mv_resolver *zone; /* every case's records */
static char *signed_msg;         /* DKIM-signed by example.com (s=sel) */
static char *sealed_msg;         /* ARC-sealed twice by lists.example.org, RSA and Ed25519 */

static int setup(void **state)
{
	static const char plain[] = "From: a@example.com\r\nTo: c@example.net\r\nSubject: hi\r\n"
	                            "Message-ID: <1@example.com>\r\n\r\nhello\r\n";
	const struct mv_dkim_signkey *keys[1];
	struct mv_dkim_sign_opts o;
	struct mv_buf z = MV_BUF_INIT, out = MV_BUF_INIT;
	struct mv_msg *m = NULL;
	const char *body;
	char *rec, *once;
	size_t blen, nsets;

	if (kit_setup(state) != 0)
		return -1;
	/* DKIM with the kit's Ed25519 key, published as sel._domainkey.example.com */
	keys[0] = kit_ed_key;
	mv_dkim_sign_opts_default(&o);
	o.domain = "example.com";
	o.selector = "sel";
	o.now = NOW - 60;
	if (mv_msg_parse(plain, strlen(plain), NULL, &m, NULL, 0) != MV_OK)
		return -1;
	mv_msg_body(m, &body, &blen, NULL);
	if (mv_dkim_sign(&o, keys, NULL, 1, m, body, blen, &out) != MV_OK)
		return -1;
	mv_msg_free(m);
	mv_buf_puts(&out, plain);
	signed_msg = mv_buf_steal(&out, NULL);
	once = kit_seal(kit_original, NULL, &nsets, kit_rsa_key, kit_ed_key);
	sealed_msg = kit_seal(once, NULL, &nsets, kit_rsa_key, kit_ed_key);
	free(once);
	mv_buf_puts(&z, "example.com TXT \"v=spf1 ip4:203.0.113.0/24 -all\"\n"
	                "_dmarc.example.com TXT \"v=DMARC1; p=reject\"\n"
	                "5.113.0.203.in-addr.arpa PTR mail.example.com\n"
	                "mail.example.com A 203.0.113.5\n"
	                "mx.example.net TXT \"v=spf1 -all\"\n"
	                "lists.example.org TXT \"v=spf1 ip4:192.0.2.7 -all\"\n");
	rec = mv_dkim_signkey_record(kit_ed_key);
	mv_buf_printf(&z, "sel._domainkey.example.com TXT \"%s\"\n", rec);
	mv_buf_printf(&z, "ed._domainkey." DOMAIN " TXT \"%s\"\n", rec);
	free(rec);
	rec = mv_dkim_signkey_record(kit_rsa_key);
	mv_buf_printf(&z, "rsa._domainkey." DOMAIN " TXT \"%s\"\n", rec);
	free(rec);
	if (mv_dns_zone_parse(z.data, z.len, &zone, NULL, 0) != MV_OK)
		return -1;
	mv_buf_free(&z);
	return signed_msg && sealed_msg ? 0 : -1;
}

static int teardown(void **state)
{
	free(signed_msg);
	free(sealed_msg);
	mv_dns_free(zone);
	return kit_teardown(state);
}

/* One case: the envelope, the message, what depends on answers, and results to expect. */
struct dcase {
	struct mv_envelope env;
	const char *text;
	const char *followups[4];    /* "name TYPE": asked after an answer named it */
	const char *method, *result; /* one result the checks must reach */
};

static enum mv_dns_type type_of(const char *s)
{
	return strcmp(s, "A") == 0 ? MV_DNS_A : strcmp(s, "AAAA") == 0 ? MV_DNS_AAAA : MV_DNS_TXT;
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

/* Run c; every query asked is in the one prefetch batch or among its follow-ups. */
static void run(const struct dcase *c)
{
	struct mv_dns_questions follow = MV_DNS_QUESTIONS_INIT;
	struct mv_verify_config cfg;
	struct mv_resolver *r = NULL;
	struct mv_verify *v = NULL;
	struct logdns d;
	char name[256], type[8];
	size_t k;

	memset(&d, 0, sizeof d);
	d.zone = zone;
	assert_int_equal(mv_dns_resolver_new(&log_ops, &d, &r), MV_OK);
	for (k = 0; k < 4 && c->followups[k]; k++) {
		assert_int_equal(sscanf(c->followups[k], "%255s %7s", name, type), 2);
		assert_int_equal(mv_dns_questions_add(&follow, name, type_of(type)), MV_OK);
	}
	mv_verify_config_default(&cfg);
	cfg.authserv_id = "mx.example.net";
	assert_int_equal(mv_verify_message(&cfg, r, NOW, &c->env, c->text, strlen(c->text), &v),
	                 MV_OK);
	assert_string_equal(result_of(v, c->method), c->result);
	assert_int_equal(d.batches, 1);
	assert_true(d.asked.n > 0);
	for (k = 0; k < d.asked.n; k++) {
		const struct mv_dns_question *q = &d.asked.q[k];
		if (!mv_dns_questions_has(&d.batch, q->name, q->type) &&
		    !mv_dns_questions_has(&follow, q->name, q->type))
			fail_msg("asked %s (type %d), which no check published", q->name, q->type);
	}
	mv_verify_free(v);
	mv_dns_free(r);
	mv_dns_questions_free(&d.batch);
	mv_dns_questions_free(&d.asked);
	mv_dns_questions_free(&follow);
}

/* SPF, a DKIM key, the DMARC record, the PTR: all in the batch; the PTR's target follows. */
static void signed_message_asks_only_what_was_published(void **state)
{
	const struct dcase c = {
	        {"203.0.113.5", NULL, "mail.example.com", "b@example.com", NULL, NULL, 0},
	        signed_msg,
	        {"mail.example.com A", NULL},
	        "dkim",
	        "pass"};

	(void)state;
	run(&c);
}

/* A null sender (SPF of the HELO name), an 8-step DMARC walk that finds nothing, IPv6 without PTR. */
static void long_walk_and_null_sender_ask_only_what_was_published(void **state)
{
	const struct dcase c = {{"2001:db8::5", NULL, "mx.example.net", "", NULL, NULL, 0},
	                        "From: x@a.b.c.d.e.f.g.h.i.example\r\nSubject: hi\r\n\r\nhello\r\n",
	                        {NULL},
	                        "spf",
	                        "fail"};

	(void)state;
	run(&c);
}

/* Relaxed alignment: the Organizational Domain walks stay within the names of the policy walk. */
static void relaxed_alignment_asks_only_what_was_published(void **state)
{
	const struct dcase c = {
	        {"203.0.113.5", NULL, "mail.example.com", "b@example.com", NULL, NULL, 0},
	        "From: a@mail.example.com\r\nSubject: hi\r\n\r\nhello\r\n",
	        {"mail.example.com A", NULL},
	        "dmarc",
	        "pass"};

	(void)state;
	run(&c);
}

/* Two ARC sets of two chains (RSA, Ed25519): both keys in the batch, no other query for them. */
static void arc_sealed_message_asks_only_what_was_published(void **state)
{
	const struct dcase c = {
	        {"192.0.2.7", NULL, "lists.example.org", "bounce@lists.example.org", NULL, NULL, 0},
	        sealed_msg,
	        {NULL},
	        "arc",
	        "pass"};

	(void)state;
	run(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(signed_message_asks_only_what_was_published),
	        cmocka_unit_test(long_walk_and_null_sender_ask_only_what_was_published),
	        cmocka_unit_test(relaxed_alignment_asks_only_what_was_published),
	        cmocka_unit_test(arc_sealed_message_asks_only_what_was_published),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
