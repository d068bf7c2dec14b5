/* tests/store/store_sqlite.c — the store's cases (store_cases.c) against SQLite, plus its own: WAL. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "store/sqlite_int.h"
#include "store_cases.h"

static char dir[64], path[128], location[160];

/* Run sql on the file; 0 on success. */
static int sql(const char *text)
{
	sqlite3 *db;
	int rc;

	if (sqlite3_open(path, &db) != SQLITE_OK)
		return -1;
	rc = sqlite3_exec(db, text, NULL, NULL, NULL);
	sqlite3_close(db);
	return rc == SQLITE_OK ? 0 : -1;
}

static int reset(const struct store_backend *b)
{
	char p[160];

	(void)b;
	unlink(path);
	snprintf(p, sizeof p, "%s-wal", path);
	unlink(p);
	snprintf(p, sizeof p, "%s-shm", path);
	unlink(p);
	return 0;
}

static int make_v1(const struct store_backend *b)
{
	(void)b;
	if (sql(mv_store_sqlite_migration(1)) != 0)
		return -1;
	return sql("INSERT INTO schema_migrations VALUES (1, 0)");
}

static int set_version(const struct store_backend *b, int version)
{
	char text[100];

	(void)b;
	snprintf(text, sizeof text, "INSERT INTO schema_migrations VALUES (%d, 0)", version);
	return sql(text);
}

/* SQLite's own: the file is in WAL mode, so readers do not block the writer. */
static void sqlite_file_in_wal_mode(void **state)
{
	struct mv_store *s = NULL;
	sqlite3 *db;
	sqlite3_stmt *st;
	char err[300];

	(void)state;
	assert_int_equal(mv_store_open(location, 0, &s, err, sizeof err), MV_OK);
	mv_store_close(s);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), "wal");
	sqlite3_finalize(st);
	sqlite3_close(db);
}

/* A store in a directory that does not exist is an I/O error with a reason, not a crash. */
static void sqlite_unwritable_place_refused(void **state)
{
	struct mv_store *s = NULL;
	char err[300] = "";

	(void)state;
	assert_int_equal(
	        mv_store_open("sqlite:/nonexistent-dir/x/store.db", 0, &s, err, sizeof err),
	        MV_EIO);
	assert_null(s);
	assert_true(err[0] != '\0');
}

static void unknown_scheme_refused(void **state)
{
	struct mv_store *s = NULL;
	char err[300];

	(void)state;
	assert_int_equal(mv_store_open("mysql:x", 0, &s, err, sizeof err), MV_EINVAL);
	assert_non_null(strstr(err, "unknown store type"));
}

/* A password in a location is never shown: logs and messages get "***". */
static void location_shown_without_password(void **state)
{
	static const char *const cases[][2] = {
	        {"postgresql://mv:s3cret@db.example:5432/mailvet",
	         "postgresql://mv:***@db.example:5432/mailvet"},
	        {"postgres://mv@db.example/mailvet?password=s3cret&sslmode=require",
	         "postgres://mv@db.example/mailvet?password=***&sslmode=require"},
	        {"pg:host=db dbname=mailvet password = 's3 cret' user=mv",
	         "pg:host=db dbname=mailvet password = *** user=mv"},
	        {"pg:password=s3cret", "pg:password=***"},
	        {"postgresql://db.example/mailvet", "postgresql://db.example/mailvet"},
	        {"sqlite:/var/lib/mailvet/password-store.db",
	         "sqlite:/var/lib/mailvet/password-store.db"},
	};
	char out[200], small[8];
	struct mv_store *s = NULL;
	char err[400];

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		mv_store_location_shown(cases[i][0], out, sizeof out);
		assert_string_equal(out, cases[i][1]);
	}
	mv_store_location_shown(cases[0][0], small, sizeof small);
	assert_int_equal(strlen(small), sizeof small - 1);
	assert_int_equal(mv_store_open("mysql://u:s3cret@x/y", 0, &s, err, sizeof err), MV_EINVAL);
	assert_null(strstr(err, "s3cret"));
}

int main(void)
{
	struct store_backend b = {location, reset, make_v1, set_version};
	const struct CMUnitTest own[] = {
	        cmocka_unit_test_setup(sqlite_file_in_wal_mode, store_case_setup),
	        cmocka_unit_test(sqlite_unwritable_place_refused),
	        cmocka_unit_test(unknown_scheme_refused),
	        cmocka_unit_test(location_shown_without_password),
	};
	const struct CMUnitTest *cases;
	char cmd[200];
	size_t n;
	int failed;

	snprintf(dir, sizeof dir, "/tmp/mv-store-XXXXXX");
	if (!mkdtemp(dir))
		return 1;
	snprintf(path, sizeof path, "%s/store.db", dir);
	snprintf(location, sizeof location, "sqlite:%s", path);
	store_cases_use(&b);
	cases = store_cases(&n);
	failed = _cmocka_run_group_tests("store_cases_sqlite", cases, n, NULL, NULL);
	failed += cmocka_run_group_tests_name("store_sqlite", own, NULL, NULL);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		failed++;
	return failed != 0;
}
