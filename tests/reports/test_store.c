/* tests/reports/test_store.c — the SQLite store: created on first use, records, queries, sent marks, imports. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include <mailvet/store.h>

struct fixture {
	char dir[64];
	char path[128];
	char location[160];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);

	snprintf(f->dir, sizeof f->dir, "/tmp/mv-store-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof f->path, "%s/store.db", f->dir);
	snprintf(f->location, sizeof f->location, "sqlite:%s", f->path);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[200];

	snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static struct mv_store *open_ok(const struct fixture *f)
{
	struct mv_store *s = NULL;
	char err[300];

	if (mv_store_open(f->location, 0, &s, err, sizeof err) != MV_OK)
		fail_msg("open: %s", err);
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
	MV_REPORT_SET(r->dkim[0].selector, "sel 1/x"); /* escaped in the column */
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

/* A store that does not exist is created with the current schema, in WAL mode. */
static void created_on_first_use_with_schema(void **state)
{
	struct fixture *f = *state;
	struct mv_store *s = open_ok(f);
	sqlite3 *db;
	sqlite3_stmt *st;
	int version = -1, from = -1, to = -1;

	assert_int_equal(mv_store_version(s, &version), MV_OK);
	assert_int_equal(version, MV_STORE_SCHEMA_VERSION);
	assert_int_equal(mv_store_migrate(s, &from, &to), MV_OK);
	assert_int_equal(from, to); /* nothing to do */
	mv_store_close(s);

	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), "wal");
	sqlite3_finalize(st);
	sqlite3_close(db);
}

/* A schema newer than ours is refused with a reason, never written to. */
static void newer_schema_refused(void **state)
{
	struct fixture *f = *state;
	struct mv_store *s = open_ok(f);
	sqlite3 *db;
	char err[300];

	mv_store_close(s);
	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	assert_int_equal(
	        sqlite3_exec(db, "INSERT INTO schema_migrations VALUES (99, 0)", NULL, NULL, NULL),
	        SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(mv_store_open(f->location, 1, &s, err, sizeof err), MV_EUNSUPPORTED);
	assert_null(s);
	assert_non_null(strstr(err, "newer"));
}

static void unknown_scheme_refused(void **state)
{
	struct mv_store *s = NULL;
	char err[300];

	(void)state;
	assert_int_equal(mv_store_open("mysql:x", 0, &s, err, sizeof err), MV_EINVAL);
	assert_non_null(strstr(err, "unknown store type"));
}

/* Messages of one bucket with the same row fields come back as one row with a count. */
static void records_grouped_by_bucket_and_row(void **state)
{
	struct fixture *f = *state;
	struct mv_store *s = open_ok(f);
	struct mv_report_record r;
	struct mv_store_query q = {MV_STORE_RECORDED, 0, 0, 3600, NULL};
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

	q.begin = 7200;
	q.end = 7200 + 7200;
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
	mv_store_close(s);
}

/* Marking a report sent twice marks it once: the second call says so. */
static void mark_sent_is_idempotent(void **state)
{
	struct fixture *f = *state;
	struct mv_store *s = open_ok(f);
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
	struct fixture *f = *state;
	struct mv_store *s = open_ok(f);
	struct mv_report_record r[2];
	struct mv_report_meta m;
	struct mv_store_query q = {MV_STORE_RECEIVED, 0, 100000, 0, "example.com"};
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
	mv_store_close(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(created_on_first_use_with_schema, setup, teardown),
	        cmocka_unit_test_setup_teardown(newer_schema_refused, setup, teardown),
	        cmocka_unit_test(unknown_scheme_refused),
	        cmocka_unit_test_setup_teardown(records_grouped_by_bucket_and_row, setup, teardown),
	        cmocka_unit_test_setup_teardown(mark_sent_is_idempotent, setup, teardown),
	        cmocka_unit_test_setup_teardown(received_report_imported_once, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
