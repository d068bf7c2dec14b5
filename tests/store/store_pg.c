/*
 * tests/store/store_pg.c — the store's cases (store_cases.c) against a
 * PostgreSQL database: store_pg.c LOCATION, run by store_pg_test.py, which
 * starts the server. Each case starts from an empty public schema.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <libpq-fe.h>

#include "store/pg_int.h"
#include "store_cases.h"

/* Run sql (several statements allowed, no parameters); 0 on success. */
static int sql(const struct store_backend *b, const char *text)
{
	PGconn *c = PQconnectdb(b->location);
	PGresult *res;
	int rc = -1;

	if (PQstatus(c) == CONNECTION_OK) {
		res = PQexec(c, text);
		rc = PQresultStatus(res) == PGRES_COMMAND_OK ? 0 : -1;
		if (rc)
			fprintf(stderr, "store_pg: %s", PQresultErrorMessage(res));
		PQclear(res);
	} else {
		fprintf(stderr, "store_pg: %s", PQerrorMessage(c));
	}
	PQfinish(c);
	return rc;
}

static int reset(const struct store_backend *b)
{
	return sql(b, "SET client_min_messages = warning; DROP SCHEMA public CASCADE;"
	              " CREATE SCHEMA public");
}

static int make_v1(const struct store_backend *b)
{
	if (sql(b, mv_store_pg_migration(1)) != 0)
		return -1;
	return sql(b, "INSERT INTO schema_migrations VALUES (1, 0)");
}

static int set_version(const struct store_backend *b, int version)
{
	char text[100];

	snprintf(text, sizeof text, "INSERT INTO schema_migrations VALUES (%d, 0)", version);
	return sql(b, text);
}

/* A location that names no server is an I/O error with libpq's reason. */
static void pg_unreachable_server_refused(void **state)
{
	struct mv_store *s = NULL;
	char err[400] = "";

	(void)state;
	assert_int_equal(
	        mv_store_open("postgresql://nobody@127.0.0.1:1/none", 0, &s, err, sizeof err),
	        MV_EIO);
	assert_null(s);
	assert_non_null(strstr(err, "connect"));
}

static int count_rows(void *arg, const struct mv_report_meta *m, const struct mv_report_record *r)
{
	(void)m;
	(void)r;
	++*(uint64_t *)arg;
	return 0;
}

static int count(void *arg, const struct mv_trace_record *t)
{
	(void)t;
	++*(int *)arg;
	return 0;
}

/* Text that is not UTF-8 (a hostile header) is stored, its bad bytes as '?'. */
static void pg_non_utf8_text_stored(void **state)
{
	struct mv_store *s = NULL;
	struct mv_trace_record t;
	struct mv_trace_query q;
	const struct store_backend *b = *state;
	char err[400];
	int n = 0;

	assert_int_equal(mv_store_open(b->location, 0, &s, err, sizeof err), MV_OK);
	memset(&t, 0, sizeof t);
	t.time = 5;
	MV_REPORT_SET(t.trace_id, "T\xff");
	MV_REPORT_SET(t.message_id, "<\xc3\x28@example.com>");
	assert_int_equal(mv_store_add_trace(s, &t), MV_OK);
	memset(&q, 0, sizeof q);
	q.trace_id = "T?";
	assert_int_equal(mv_store_find_traces(s, &q, count, &n), MV_OK);
	assert_int_equal(n, 1);
	mv_store_close(s);
}

#define RACE_ITEMS 60

/*
 * One writer of the race: mark each report sent and import each received
 * report; the number it was first for (marked, imported) into fd. A
 * failure counts as 1000 so the sum shows it.
 */
static void race_writer(const char *location, int fd)
{
	struct mv_store *s = NULL;
	struct mv_report_meta m;
	struct mv_report_record r;
	char err[400], id[32];
	int counts[2] = {0, 0}, already, dup;

	if (mv_store_open(location, 0, &s, err, sizeof err) != MV_OK)
		counts[0] = 1000;
	for (int i = 0; s && i < RACE_ITEMS; i++) {
		snprintf(id, sizeof id, "race-%d", i);
		if (mv_store_mark_sent(s, id, "mailto:d@example.com", 1, &already) != MV_OK)
			counts[0] += 1000;
		else
			counts[0] += !already;
		memset(&m, 0, sizeof m);
		MV_REPORT_SET(m.org_name, "Reporter");
		MV_REPORT_SET(m.report_id, id);
		memset(&r, 0, sizeof r);
		r.count = 1;
		if (mv_store_add_received(s, &m, &r, 1, &dup) != MV_OK)
			counts[1] += 1000;
		else
			counts[1] += !dup;
	}
	mv_store_close(s);
	if (write(fd, counts, sizeof counts) != (ssize_t)sizeof counts)
		_exit(1);
	_exit(0);
}

/*
 * Two processes (two mailvet nodes) mark the same reports sent and import
 * the same reports at the same moment: each is marked and imported once in
 * all, the database's constraints decide who was first, nobody fails.
 */
static void pg_two_writers_mark_and_import_once(void **state)
{
	const struct store_backend *b = *state;
	struct mv_store *s = NULL;
	struct mv_store_query q = {MV_STORE_RECEIVED, 0, 1, 0, NULL};
	int fds[2], counts[2], total[2] = {0, 0}, status;
	uint64_t rows = 0;
	pid_t pid[2];
	char err[400];

	assert_int_equal(mv_store_open(b->location, 0, &s, err, sizeof err), MV_OK); /* schema */
	assert_int_equal(pipe(fds), 0);
	for (int k = 0; k < 2; k++) {
		pid[k] = fork();
		assert_true(pid[k] >= 0);
		if (pid[k] == 0)
			race_writer(b->location, fds[1]);
	}
	close(fds[1]);
	for (int k = 0; k < 2; k++) {
		assert_int_equal(read(fds[0], counts, sizeof counts), (ssize_t)sizeof counts);
		total[0] += counts[0];
		total[1] += counts[1];
	}
	close(fds[0]);
	for (int k = 0; k < 2; k++) {
		assert_int_equal(waitpid(pid[k], &status, 0), pid[k]);
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	assert_int_equal(total[0], RACE_ITEMS);
	assert_int_equal(total[1], RACE_ITEMS);
	assert_int_equal(mv_store_query(s, &q, count_rows, &rows), MV_OK);
	assert_int_equal(rows, RACE_ITEMS);
	mv_store_close(s);
}

int main(int argc, char **argv)
{
	struct store_backend b = {NULL, reset, make_v1, set_version};
	const struct CMUnitTest own[] = {
	        cmocka_unit_test(pg_unreachable_server_refused),
	        cmocka_unit_test_setup(pg_non_utf8_text_stored, store_case_setup),
	        cmocka_unit_test_setup(pg_two_writers_mark_and_import_once, store_case_setup),
	};
	const struct CMUnitTest *cases;
	size_t n;
	int failed;

	if (argc != 2) {
		fprintf(stderr, "usage: store_pg LOCATION\n");
		return 2;
	}
	b.location = argv[1];
	store_cases_use(&b);
	cases = store_cases(&n);
	failed = _cmocka_run_group_tests("store_cases_pg", cases, n, NULL, NULL);
	failed += cmocka_run_group_tests_name("store_pg", own, NULL, NULL);
	return failed != 0;
}
