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

int main(int argc, char **argv)
{
	struct store_backend b = {NULL, reset, make_v1, set_version};
	const struct CMUnitTest own[] = {
	        cmocka_unit_test(pg_unreachable_server_refused),
	        cmocka_unit_test_setup(pg_non_utf8_text_stored, store_case_setup),
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
