/* lib/auth/keytable.h — a bounded table of per-key windows, shared by the limiter and counters. */
#ifndef MAILVET_AUTH_KEYTABLE_H
#define MAILVET_AUTH_KEYTABLE_H

#include <stddef.h>
#include <time.h>

#include <mailvet/status.h>

/* What is kept per key. */
struct kt_val {
	time_t start;         /* when the key's window opened */
	unsigned long count;  /* units counted in that window */
	unsigned consecutive; /* failures since the last success (the delay's exponent) */
};

/*
 * At most max entries, found by hash, kept in least-recently-touched order;
 * a new key evicts the oldest when full. Not locked: its owner locks.
 */
struct kt;

enum mv_status mv_kt_new(size_t max, struct kt **out);
void mv_kt_free(struct kt *t);

/*
 * The value of key (at most MV_AUTH_KEY_MAX bytes, longer keys are cut),
 * marked as just touched; with create, a zeroed value is made when absent.
 * NULL when absent and not created.
 */
struct kt_val *mv_kt_get(struct kt *t, const char *key, int create);

#endif
