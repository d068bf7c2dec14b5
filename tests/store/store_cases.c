/*
 * tests/store/store_cases.c — the store's contract, one list of cases run
 * against every back end: created on first use, newer schema refused,
 * records grouped, mark_sent once, received reports once, trace records
 * (add, search, purge, a trace id once), and the migration from 1 to 2.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "store_cases.h"

static const struct store_backend *current; /* set by the runner before the group */

int store_case_setup(void **state)
{
	*state = (void *)current;
	return current->reset(current) == 0 ? 0 : -1;
}

static struct mv_store *open_ok(const struct store_backend *b)
{
	struct mv_store *s = NULL;
	char err[400];

	if (mv_store_open(b->location, 0, &s, err, sizeof err) != MV_OK)
		fail_msg("open %s: %s", b->location, err);
	return s;
}

static void record(struct mv_report_record *r, int64_t t, const char *ip, const char *disp)
{
	memset(r, 0, sizeof *r);
	r->time = t;
	MV_REPORT_SET(r->source_ip, ip);
	MV_REPORT_SET(r->header_from, "example.com");
	MV_REPORT_SET(r->envelope_from, "example.com");
	MV_REPORT_SET(r->policy_domain, "example.com");
	MV_REPORT_SET(r->discovery, "treewalk");
	MV_REPORT_SET(r->p, "reject");
	MV_REPORT_SET(r->adkim, "r");
	MV_REPORT_SET(r->aspf, "r");
	MV_REPORT_SET(r->testing, "n");
	MV_REPORT_SET(r->psd, "u");
	MV_REPORT_SET(r->rua, "mailto:dmarc@example.com");
	MV_REPORT_SET(r->disposition, disp);
	MV_REPORT_SET(r->dkim_aligned, strcmp(disp, "pass") == 0 ? "pass" : "fail");
	MV_REPORT_SET(r->spf_aligned, "fail");
	r->ndkim = 1;
	MV_REPORT_SET(r->dkim[0].domain, "example.com");
	MV_REPORT_SET(r->dkim[0].selector, "sel 1/x");
	MV_REPORT_SET(r->dkim[0].result, strcmp(disp, "pass") == 0 ? "pass" : "fail");
	MV_REPORT_SET(r->spf_domain, "example.com");
	MV_REPORT_SET(r->spf_scope, "mfrom");
	MV_REPORT_SET(r->spf_result, "softfail");
}

struct rows {
	struct mv_report_record r[8];
	struct mv_report_meta m[8];
	size_t n;
};

static int collect(void *arg, const struct mv_report_meta *m, const struct mv_report_record *r)
{
	struct rows *rows = arg;

	if (rows->n < 8) {
		rows->r[rows->n] = *r;
		if (m)
			rows->m[rows->n] = *m;
		rows->n++;
	}
	return 0;
}

/* An empty store gets the current schema; migrating it again does nothing. */
static void created_on_first_use(void **state)
{
	struct mv_store *s = open_ok(*state);
	int version = -1, from = -1, to = -1;

	assert_int_equal(mv_store_version(s, &version), MV_OK);
	assert_int_equal(version, MV_STORE_SCHEMA_VERSION);
	assert_int_equal(mv_store_migrate(s, &from, &to), MV_OK);
	assert_int_equal(from, MV_STORE_SCHEMA_VERSION);
	assert_int_equal(to, MV_STORE_SCHEMA_VERSION);
	mv_store_close(s);
}

/* A schema newer than ours is refused with a reason. */
static void newer_schema_refused(void **state)
{
	const struct store_backend *b = *state;
	struct mv_store *s = open_ok(b);
	char err[400];

	mv_store_close(s);
	assert_int_equal(b->set_version(b, 99), 0);
	assert_int_equal(mv_store_open(b->location, 1, &s, err, sizeof err), MV_EUNSUPPORTED);
	assert_null(s);
	assert_non_null(strstr(err, "newer"));
}

/* Messages of one bucket with the same row fields come back as one row with a count. */
static void records_grouped_by_bucket_and_row(void **state)
{
	struct mv_store *s = open_ok(*state);
	struct mv_report_record r;
	struct mv_store_query q = {MV_STORE_RECORDED, 7200, 7200 + 7200, 3600, NULL};
	struct rows rows = {0};

	assert_int_equal(mv_store_begin(s), MV_OK);
	record(&r, 7200 + 10, "192.0.2.1", "pass");
	assert_int_equal(mv_store_add_record(s, &r), MV_OK);
	record(&r, 7200 + 20, "192.0.2.1", "pass");
	assert_int_equal(mv_store_add_record(s, &r), MV_OK);
	record(&r, 7200 + 30, "192.0.2.2", "reject");
	assert_int_equal(mv_store_add_record(s, &r), MV_OK);
	record(&r, 7200 + 3600, "192.0.2.1", "pass"); /* the next hour */
	MV_REPORT_SET(r.p, "quarantine");
	assert_int_equal(mv_store_add_record(s, &r), MV_OK);
	assert_int_equal(mv_store_commit(s), MV_OK);

	assert_int_equal(mv_store_query(s, &q, collect, &rows), MV_OK);
	assert_int_equal(rows.n, 3);
	assert_int_equal(rows.r[0].time, 7200);
	assert_int_equal(rows.r[0].count, 2);
	assert_string_equal(rows.r[0].source_ip, "192.0.2.1");
	assert_int_equal(rows.r[0].ndkim, 1);
	assert_string_equal(rows.r[0].dkim[0].selector, "sel 1/x");
	assert_int_equal(rows.r[1].count, 1);
	assert_string_equal(rows.r[1].disposition, "reject");
	assert_int_equal(rows.r[2].time, 7200 + 3600);
	assert_string_equal(rows.r[2].p, "quarantine");

	rows.n = 0;
	q.domain = "other.example";
	assert_int_equal(mv_store_query(s, &q, collect, &rows), MV_OK);
	assert_int_equal(rows.n, 0);
	rows.n = 0;
	q.domain = "example.com";
	q.bucket = 0; /* one bucket: the two pass rows of both hours are one group */
	assert_int_equal(mv_store_query(s, &q, collect, &rows), MV_OK);
	assert_int_equal(rows.n, 2);
	assert_int_equal(rows.r[0].count + rows.r[1].count, 4);
	mv_store_close(s);
}

/* Marking a report sent twice marks it once: the second call says so. */
static void mark_sent_once(void **state)
{
	struct mv_store *s = open_ok(*state);
	int already = -1, sent = -1;

	assert_int_equal(mv_store_is_sent(s, "r1", "mailto:a@example.com", &sent), MV_OK);
	assert_int_equal(sent, 0);
	assert_int_equal(mv_store_mark_sent(s, "r1", "mailto:a@example.com", 100, &already), MV_OK);
	assert_int_equal(already, 0);
	assert_int_equal(mv_store_mark_sent(s, "r1", "mailto:a@example.com", 200, &already), MV_OK);
	assert_int_equal(already, 1);
	assert_int_equal(mv_store_is_sent(s, "r1", "mailto:a@example.com", &sent), MV_OK);
	assert_int_equal(sent, 1);
	assert_int_equal(mv_store_is_sent(s, "r1", "mailto:b@example.com", &sent), MV_OK);
	assert_int_equal(sent, 0);
	mv_store_close(s);
}

/* A received report is imported once; the same org and report_id again is a duplicate. */
static void received_report_imported_once(void **state)
{
	struct mv_store *s = open_ok(*state);
	struct mv_report_record r[2];
	struct mv_report_meta m;
	struct mv_store_query q = {MV_STORE_RECEIVED, 0, 1000000, 0, "example.com"};
	struct rows rows = {0};
	int dup = -1;

	memset(&m, 0, sizeof m);
	MV_REPORT_SET(m.org_name, "Reporter");
	MV_REPORT_SET(m.report_id, "abc");
	m.begin = 86400;
	m.end = 86400 * 2 - 1;
	m.version = 2;
	record(&r[0], 0, "192.0.2.1", "pass");
	r[0].count = 7;
	record(&r[1], 0, "192.0.2.9", "none");
	r[1].count = 1;
	assert_int_equal(mv_store_add_received(s, &m, r, 2, &dup), MV_OK);
	assert_int_equal(dup, 0);
	assert_int_equal(mv_store_add_received(s, &m, r, 2, &dup), MV_OK);
	assert_int_equal(dup, 1);
	assert_int_equal(mv_store_query(s, &q, collect, &rows), MV_OK);
	assert_int_equal(rows.n, 2);
	assert_int_equal(rows.r[0].count, 7);
	assert_string_equal(rows.m[0].report_id, "abc");
	assert_string_equal(rows.m[1].org_name, "Reporter");
	assert_int_equal(rows.m[1].end, 86400 * 2 - 1);
	assert_string_equal(rows.r[1].source_ip, "192.0.2.9");
	assert_string_equal(rows.r[1].p, "reject");
	rows.n = 0;
	q.domain = NULL;
	assert_int_equal(mv_store_query(s, &q, collect, &rows), MV_OK);
	assert_int_equal(rows.n, 2);
	mv_store_close(s);
}

static void trace(struct mv_trace_record *t, int64_t when, const char *id, const char *login,
                  const char *msgid)
{
	memset(t, 0, sizeof *t);
	t->time = when;
	MV_REPORT_SET(t->trace_id, id);
	MV_REPORT_SET(t->login, login);
	MV_REPORT_SET(t->client_ip, "2001:db8::25");
	MV_REPORT_SET(t->message_id, msgid);
	MV_REPORT_SET(t->envelope_from, "alice@example.com");
	t->rcpt_count = 3;
	MV_REPORT_SET(t->dkim_domain, "example.com");
	MV_REPORT_SET(t->dkim_selector, "s2026");
}

struct traces {
	struct mv_trace_record t[8];
	size_t n;
	size_t stop_after; /* 0: never */
};

static int collect_trace(void *arg, const struct mv_trace_record *t)
{
	struct traces *x = arg;

	if (x->n < 8)
		x->t[x->n++] = *t;
	return x->stop_after && x->n >= x->stop_after;
}

static size_t find(struct mv_store *s, const struct mv_trace_query *q, struct traces *x)
{
	memset(x, 0, sizeof *x);
	assert_int_equal(mv_store_find_traces(s, q, collect_trace, x), MV_OK);
	return x->n;
}

/* Three submissions; each search finds what its members select, oldest first. */
static void traces_found_by_each_member(void **state)
{
	struct mv_store *s = open_ok(*state);
	struct mv_trace_record t;
	struct mv_trace_query q;
	struct traces x;

	trace(&t, 1000, "T1", "alice", "<one@example.com>");
	assert_int_equal(mv_store_add_trace(s, &t), MV_OK);
	trace(&t, 2000, "T2", "bob", "two@example.com");
	MV_REPORT_SET(t.dkim_domain, "");
	MV_REPORT_SET(t.dkim_selector, "");
	assert_int_equal(mv_store_add_trace(s, &t), MV_OK);
	trace(&t, 3000, "T3", "alice", "");
	assert_int_equal(mv_store_add_trace(s, &t), MV_OK);

	memset(&q, 0, sizeof q);
	assert_int_equal(find(s, &q, &x), 3);
	assert_string_equal(x.t[0].trace_id, "T1");
	assert_int_equal(x.t[0].time, 1000);
	assert_string_equal(x.t[0].client_ip, "2001:db8::25");
	assert_string_equal(x.t[0].envelope_from, "alice@example.com");
	assert_int_equal(x.t[0].rcpt_count, 3);
	assert_string_equal(x.t[0].dkim_domain, "example.com");
	assert_string_equal(x.t[0].dkim_selector, "s2026");
	assert_string_equal(x.t[1].dkim_domain, "");
	assert_string_equal(x.t[2].trace_id, "T3");

	q.message_id = "one@example.com"; /* stored with brackets */
	assert_int_equal(find(s, &q, &x), 1);
	assert_string_equal(x.t[0].trace_id, "T1");
	q.message_id = "<two@example.com>"; /* stored without */
	assert_int_equal(find(s, &q, &x), 1);
	assert_string_equal(x.t[0].trace_id, "T2");
	q.message_id = "<one@example.com>";
	assert_int_equal(find(s, &q, &x), 1);
	q.message_id = "none@example.com";
	assert_int_equal(find(s, &q, &x), 0);

	memset(&q, 0, sizeof q);
	q.login = "alice";
	assert_int_equal(find(s, &q, &x), 2);
	q.begin = 1500; /* [1500, end) */
	assert_int_equal(find(s, &q, &x), 1);
	assert_string_equal(x.t[0].trace_id, "T3");
	q.login = NULL;
	q.end = 3000; /* end is excluded */
	assert_int_equal(find(s, &q, &x), 1);
	assert_string_equal(x.t[0].trace_id, "T2");
	memset(&q, 0, sizeof q);
	q.trace_id = "T2";
	assert_int_equal(find(s, &q, &x), 1);
	assert_string_equal(x.t[0].login, "bob");
	memset(&q, 0, sizeof q);
	q.limit = 2;
	assert_int_equal(find(s, &q, &x), 2);
	memset(&q, 0, sizeof q);
	memset(&x, 0, sizeof x);
	x.stop_after = 1; /* the callback stops the search */
	assert_int_equal(mv_store_find_traces(s, &q, collect_trace, &x), MV_OK);
	assert_int_equal(x.n, 1);
	mv_store_close(s);
}

/* A trace id is stored once: a replayed record is not a second row. */
static void trace_id_stored_once(void **state)
{
	struct mv_store *s = open_ok(*state);
	struct mv_trace_record t;
	struct mv_trace_query q;
	struct traces x;

	trace(&t, 1000, "T1", "alice", "<one@example.com>");
	assert_int_equal(mv_store_add_trace(s, &t), MV_OK);
	assert_int_equal(mv_store_add_trace(s, &t), MV_OK);
	trace(&t, 1000, "", "alice", "<a@example.com>"); /* no id: never merged */
	assert_int_equal(mv_store_add_trace(s, &t), MV_OK);
	assert_int_equal(mv_store_add_trace(s, &t), MV_OK);
	memset(&q, 0, sizeof q);
	assert_int_equal(find(s, &q, &x), 3);
	mv_store_close(s);
}

/* Purging removes what is older than the cut and says how much. */
static void traces_purged_before(void **state)
{
	struct mv_store *s = open_ok(*state);
	struct mv_trace_record t;
	struct mv_trace_query q;
	struct traces x;
	uint64_t removed = 99;

	trace(&t, 1000, "T1", "alice", "");
	assert_int_equal(mv_store_add_trace(s, &t), MV_OK);
	trace(&t, 2000, "T2", "alice", "");
	assert_int_equal(mv_store_add_trace(s, &t), MV_OK);
	assert_int_equal(mv_store_purge_traces(s, 2000, &removed), MV_OK);
	assert_int_equal(removed, 1);
	memset(&q, 0, sizeof q);
	assert_int_equal(find(s, &q, &x), 1);
	assert_string_equal(x.t[0].trace_id, "T2");
	assert_int_equal(mv_store_purge_traces(s, 2000, NULL), MV_OK);
	q.end = 1; /* end before begin is refused */
	q.begin = 5;
	assert_int_equal(mv_store_find_traces(s, &q, collect_trace, &x), MV_EINVAL);
	mv_store_close(s);
}

/*
 * A version-1 store (before trace records): refused until migrated, then
 * migrated to 2 with its DMARC records kept, and takes trace records.
 */
static void migration_from_1_to_2(void **state)
{
	const struct store_backend *b = *state;
	struct mv_store *s = NULL;
	struct mv_report_record r;
	struct mv_store_query q = {MV_STORE_RECORDED, 0, 100000, 0, NULL};
	struct mv_trace_record t;
	struct mv_trace_query tq;
	struct traces x;
	struct rows rows = {0};
	char err[400];
	int from = -1, to = -1, version = -1;

	assert_int_equal(b->make_v1(b), 0);
	assert_int_equal(mv_store_open(b->location, 0, &s, err, sizeof err), MV_EUNSUPPORTED);
	assert_non_null(strstr(err, "migrate"));
	if (mv_store_open(b->location, 1, &s, err, sizeof err) != MV_OK)
		fail_msg("open for migration: %s", err);
	assert_int_equal(mv_store_version(s, &version), MV_OK);
	assert_int_equal(version, 1);
	record(&r, 50, "192.0.2.1", "pass"); /* the v1 tables work */
	assert_int_equal(mv_store_add_record(s, &r), MV_OK);
	assert_int_equal(mv_store_migrate(s, &from, &to), MV_OK);
	assert_int_equal(from, 1);
	assert_int_equal(to, 2);
	mv_store_close(s);

	s = open_ok(b);
	assert_int_equal(mv_store_query(s, &q, collect, &rows), MV_OK);
	assert_int_equal(rows.n, 1);
	trace(&t, 60, "T1", "alice", "");
	assert_int_equal(mv_store_add_trace(s, &t), MV_OK);
	memset(&tq, 0, sizeof tq);
	assert_int_equal(find(s, &tq, &x), 1);
	mv_store_close(s);
}

#define CASE(f) cmocka_unit_test_setup(f, store_case_setup)
static const struct CMUnitTest cases[] = {
        CASE(created_on_first_use),
        CASE(newer_schema_refused),
        CASE(records_grouped_by_bucket_and_row),
        CASE(mark_sent_once),
        CASE(received_report_imported_once),
        CASE(traces_found_by_each_member),
        CASE(trace_id_stored_once),
        CASE(traces_purged_before),
        CASE(migration_from_1_to_2),
};

const struct CMUnitTest *store_cases(size_t *n)
{
	*n = sizeof cases / sizeof cases[0];
	return cases;
}

void store_cases_use(const struct store_backend *b)
{
	current = b;
}
