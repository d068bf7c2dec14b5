/* tests/privsep/cpu_unit.c — the key process's CPU groups (daemon/keyd/cpu.c). */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>

#include <cmocka.h>

#include "keyd.h"

static unsigned expected_groups(void)
{
	long n = sysconf(_SC_NPROCESSORS_CONF);

	return n < 1 ? 1 : n > MVD_KEYD_SOCKETS ? MVD_KEYD_SOCKETS : (unsigned)n;
}

/* One group per CPU, at most one per socket: every socket then has a group. */
static void groups_are_the_cpus_up_to_the_sockets(void **state)
{
	unsigned g = mvd_keyd_groups();

	(void)state;
	assert_true(g >= 1 && g <= MVD_KEYD_SOCKETS);
	assert_int_equal(g, expected_groups());
}

/* Bound to one CPU in turn, the thread reports that CPU's group. */
static void the_current_group_follows_the_cpu(void **state)
{
	unsigned g = mvd_keyd_groups();
	cpu_set_t allowed, one;
	int tried = 0;

	(void)state;
	assert_int_equal(sched_getaffinity(0, sizeof allowed, &allowed), 0);
	for (int c = 0; c < CPU_SETSIZE; c++) {
		if (!CPU_ISSET(c, &allowed))
			continue;
		CPU_ZERO(&one);
		CPU_SET(c, &one);
		assert_int_equal(sched_setaffinity(0, sizeof one, &one), 0);
		assert_int_equal(mvd_keyd_current_group(g), (int)((unsigned)c % g));
		tried++;
	}
	assert_int_equal(sched_setaffinity(0, sizeof allowed, &allowed), 0);
	assert_true(tried >= 1);
	assert_int_equal(mvd_keyd_current_group(0), -1);
}

static void *park(void *arg)
{
	pthread_barrier_wait(arg);
	return NULL;
}

/*
 * A server thread bound for socket i may run exactly on the allowed CPUs of
 * group i % groups. With one group, or none of the group's CPUs allowed (a
 * narrower affinity than the machine), there is nothing to bind to and it
 * stays free.
 */
static void a_thread_is_bound_to_its_sockets_group(void **state)
{
	unsigned g = mvd_keyd_groups();
	cpu_set_t allowed;

	(void)state;
	assert_int_equal(sched_getaffinity(0, sizeof allowed, &allowed), 0);
	for (unsigned sock = 0; sock < MVD_KEYD_SOCKETS; sock++) {
		pthread_barrier_t b;
		pthread_t t;
		cpu_set_t got, want;
		int rc, bound = 0;

		CPU_ZERO(&want);
		for (int c = 0; g >= 2 && c < CPU_SETSIZE; c++) {
			if (CPU_ISSET(c, &allowed) && (unsigned)c % g == sock % g) {
				CPU_SET(c, &want);
				bound = 1;
			}
		}
		if (!bound)
			want = allowed;
		pthread_barrier_init(&b, NULL, 2);
		assert_int_equal(pthread_create(&t, NULL, park, &b), 0);
		rc = mvd_keyd_bind_thread(t, sock, g);
		assert_int_equal(pthread_getaffinity_np(t, sizeof got, &got), 0);
		assert_true(CPU_EQUAL(&got, &want));
		assert_int_equal(rc, bound ? 0 : -1);
		pthread_barrier_wait(&b);
		pthread_join(t, NULL);
		pthread_barrier_destroy(&b);
	}
}

static cpu_set_t cpus(const int *list, size_t n)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	for (size_t i = 0; i < n; i++)
		CPU_SET(list[i], &set);
	return set;
}

/* The mapping on fixed machines, written out by hand (not recomputed). */
static void the_mapping_on_fixed_machines(void **state)
{
	static const int four[] = {0, 1, 2, 3}, one[] = {1},
	                 sixteen[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},
	                 three_eleven[] = {3, 11}, even[] = {0, 2}, zero[] = {0};
	cpu_set_t allowed, got, want;

	(void)state;
	/* 4 CPUs, 4 groups: socket 5 serves CPU 1 */
	allowed = cpus(four, 4);
	assert_int_equal(mvd_keyd_group_cpus(5, 4, &allowed, &got), 1);
	want = cpus(one, 1);
	assert_true(CPU_EQUAL(&got, &want));
	/* 16 CPUs, 8 groups: socket 3 serves CPUs 3 and 11 */
	allowed = cpus(sixteen, 16);
	assert_int_equal(mvd_keyd_group_cpus(3, 8, &allowed, &got), 1);
	want = cpus(three_eleven, 2);
	assert_true(CPU_EQUAL(&got, &want));
	/* only CPUs 0 and 2 allowed of 2 groups: socket 1's group has none, socket 6 has both */
	allowed = cpus(even, 2);
	assert_int_equal(mvd_keyd_group_cpus(1, 2, &allowed, &got), 0);
	assert_int_equal(CPU_COUNT(&got), 0);
	assert_int_equal(mvd_keyd_group_cpus(6, 2, &allowed, &got), 1);
	assert_true(CPU_EQUAL(&got, &allowed));
	/* one group: nothing to bind */
	allowed = cpus(zero, 1);
	assert_int_equal(mvd_keyd_group_cpus(0, 1, &allowed, &got), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(groups_are_the_cpus_up_to_the_sockets),
	        cmocka_unit_test(the_current_group_follows_the_cpu),
	        cmocka_unit_test(a_thread_is_bound_to_its_sockets_group),
	        cmocka_unit_test(the_mapping_on_fixed_machines),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
