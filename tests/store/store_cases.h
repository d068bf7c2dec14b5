/* tests/store/store_cases.h — store test cases every back end must pass (SQLite and PostgreSQL). */
#ifndef MV_TESTS_STORE_CASES_H
#define MV_TESTS_STORE_CASES_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <mailvet/store.h>

/*
 * A back end under test: the location of an empty store, and a hook that
 * makes it empty again before each case and one that writes a version-1
 * schema (for the migration case). *state of each case is a struct
 * store_backend *.
 */
struct store_backend {
	const char *location;
	int (*reset)(const struct store_backend *b);   /* 0 on success */
	int (*make_v1)(const struct store_backend *b); /* a store at schema version 1 */
	int (*set_version)(const struct store_backend *b,
	                   int version); /* a row in schema_migrations */
};

/* The cases, as cmocka tests with store_case_setup as setup; *n is their number. */
const struct CMUnitTest *store_cases(size_t *n);

/* The back end the cases run against (borrowed until they end). */
void store_cases_use(const struct store_backend *b);

/* cmocka setup: the back end given to store_cases_use(), reset. */
int store_case_setup(void **state);

#endif
