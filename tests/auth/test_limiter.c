/* tests/auth/test_limiter.c — failed logins per IP, growing delays, per-key counters, bounded tables. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <cmocka.h>

#include <mailvet/auth.h>

#define T0 ((time_t)1700000000)

static struct mv_auth_limiter *limiter(unsigned max, unsigned window, size_t entries)
{
	struct mv_auth_limits lim = {max, window, 8, entries};
	struct mv_auth_limiter *l = NULL;

	assert_int_equal(mv_auth_limiter_new(&lim, &l), MV_OK);
	return l;
}

static void five_failures_block_for_the_rest_of_the_window(void **state)
{
	struct mv_auth_limiter *l = limiter(0, 0, 0); /* the defaults: 5 in 10 minutes */
	int i;

	(void)state;
	for (i = 0; i < 4; i++) {
		mv_auth_limiter_failure(l, "192.0.2.1", T0 + i);
		assert_false(mv_auth_limiter_blocked(l, "192.0.2.1", T0 + i));
	}
	mv_auth_limiter_failure(l, "192.0.2.1", T0 + 60);
	assert_true(mv_auth_limiter_blocked(l, "192.0.2.1", T0 + 61));
	assert_true(mv_auth_limiter_blocked(l, "192.0.2.1", T0 + 599));
	assert_false(mv_auth_limiter_blocked(l, "192.0.2.2", T0 + 61));  /* another client */
	assert_false(mv_auth_limiter_blocked(l, "192.0.2.1", T0 + 600)); /* the window is over */
	mv_auth_limiter_free(l);
}

static void success_does_not_clear_the_window(void **state)
{
	struct mv_auth_limiter *l = limiter(3, 100, 16);

	(void)state;
	mv_auth_limiter_failure(l, "ip", T0);
	mv_auth_limiter_failure(l, "ip", T0 + 1);
	mv_auth_limiter_success(l, "ip", T0 + 2);
	mv_auth_limiter_failure(l, "ip", T0 + 3);
	assert_true(mv_auth_limiter_blocked(l, "ip", T0 + 4));
	mv_auth_limiter_free(l);
}

static void delay_doubles_and_is_capped(void **state)
{
	struct mv_auth_limiter *l = limiter(100, 600, 16);
	static const unsigned want[] = {1, 2, 4, 8, 8, 8};
	size_t i;

	(void)state;
	for (i = 0; i < 6; i++)
		assert_int_equal(mv_auth_limiter_failure(l, "ip", T0), want[i]);
	mv_auth_limiter_success(l, "ip", T0);
	assert_int_equal(mv_auth_limiter_failure(l, "ip", T0), 1); /* starts again */
	for (i = 0; i < 100; i++)                                  /* no overflow however many */
		assert_true(mv_auth_limiter_failure(l, "ip", T0) <= 8);
	mv_auth_limiter_free(l);
}

static void table_is_bounded_and_evicts_the_oldest(void **state)
{
	struct mv_auth_limiter *l = limiter(1, 600, 4);
	char key[32];
	int i;

	(void)state;
	mv_auth_limiter_failure(l, "old", T0);
	for (i = 0; i < 3; i++) {
		snprintf(key, sizeof key, "k%d", i);
		mv_auth_limiter_failure(l, key, T0 + 1);
	}
	assert_true(mv_auth_limiter_blocked(l, "old", T0 + 2)); /* touched: now the newest */
	for (i = 3; i < 10000; i++) {                           /* a flood of new keys */
		snprintf(key, sizeof key, "k%d", i);
		mv_auth_limiter_failure(l, key, T0 + 2);
	}
	assert_false(mv_auth_limiter_blocked(l, "old", T0 + 3)); /* evicted */
	assert_true(mv_auth_limiter_blocked(l, "k9999", T0 + 3));
	mv_auth_limiter_free(l);
}

static void limits_are_checked(void **state)
{
	struct mv_auth_limits lim = {5, 600, 8, ((size_t)1 << 20) + 1};
	struct mv_auth_limiter *l = NULL;
	struct mv_auth_counter *c = NULL;

	(void)state;
	assert_int_equal(mv_auth_limiter_new(&lim, &l), MV_EINVAL);
	assert_int_equal(mv_auth_counter_new(0, 3600, 10, &c), MV_EINVAL);
	assert_int_equal(mv_auth_counter_new(10, 0, 10, &c), MV_EINVAL);
	assert_int_equal(mv_auth_counter_new(10, 3600, 0, &c), MV_EINVAL);
	assert_null(c);
}

static void counter_allows_the_limit_per_window(void **state)
{
	struct mv_auth_counter *c = NULL;
	int i;

	(void)state;
	assert_int_equal(mv_auth_counter_new(100, 3600, 1000, &c), MV_OK);
	for (i = 0; i < 100; i++)
		assert_true(mv_auth_counter_take(c, "alice", 1, T0 + i));
	assert_false(mv_auth_counter_take(c, "alice", 1, T0 + 200)); /* the 101st message */
	assert_int_equal(mv_auth_counter_used(c, "alice", T0 + 200), 100);
	assert_true(mv_auth_counter_take(c, "bob", 1, T0 + 200));
	assert_false(mv_auth_counter_take(c, "bob", 100, T0 + 200)); /* refused whole */
	assert_int_equal(mv_auth_counter_used(c, "bob", T0 + 200), 1);
	assert_true(mv_auth_counter_take(c, "alice", 1, T0 + 3600)); /* a new hour */
	assert_int_equal(mv_auth_counter_used(c, "nobody", T0), 0);
	assert_false(mv_auth_counter_take(c, "carol", (unsigned long)-1, T0));
	mv_auth_counter_free(c);
}

static struct mv_auth_counter *shared;

static void *taker(void *arg)
{
	int i;

	(void)arg;
	for (i = 0; i < 10000; i++)
		mv_auth_counter_take(shared, i % 2 ? "a" : "b", 1, T0);
	return NULL;
}

static void counter_is_thread_safe(void **state)
{
	pthread_t th[4];
	int i;

	(void)state;
	assert_int_equal(mv_auth_counter_new(1000000, 3600, 8, &shared), MV_OK);
	for (i = 0; i < 4; i++)
		pthread_create(&th[i], NULL, taker, NULL);
	for (i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	assert_int_equal(mv_auth_counter_used(shared, "a", T0), 20000);
	assert_int_equal(mv_auth_counter_used(shared, "b", T0), 20000);
	mv_auth_counter_free(shared);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(five_failures_block_for_the_rest_of_the_window),
	        cmocka_unit_test(success_does_not_clear_the_window),
	        cmocka_unit_test(delay_doubles_and_is_capped),
	        cmocka_unit_test(table_is_bounded_and_evicts_the_oldest),
	        cmocka_unit_test(limits_are_checked),
	        cmocka_unit_test(counter_allows_the_limit_per_window),
	        cmocka_unit_test(counter_is_thread_safe),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
