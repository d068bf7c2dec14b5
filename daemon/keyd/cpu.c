/* daemon/keyd/cpu.c — which sockets serve which CPUs, so that a request wakes a thread on its own CPU. */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <unistd.h>

#include "keyd.h"

/*
 * Socket i belongs to CPU group i % n, and CPU c to group c % n, with n the
 * number of groups: the CPUs, at most MVD_KEYD_SOCKETS. The key process
 * binds socket i's thread to its group's CPUs; the worker's thread asks on a
 * socket of the group of the CPU it runs on. The key process's thread then
 * wakes on the CPU the worker's thread is about to leave, which on a virtual
 * machine costs a fraction of waking another CPU (an interprocessor interrupt
 * through the hypervisor: docs/internals/privsep.md, "Cost").
 */
unsigned mvd_keyd_groups(void)
{
	long n = sysconf(_SC_NPROCESSORS_CONF);

	if (n < 1)
		return 1;
	return n > MVD_KEYD_SOCKETS ? MVD_KEYD_SOCKETS : (unsigned)n;
}

int mvd_keyd_current_group(unsigned groups)
{
	int c = sched_getcpu(); /* the vDSO: no system call */

	return c < 0 || groups == 0 ? -1 : (int)((unsigned)c % groups);
}

int mvd_keyd_group_cpus(unsigned socket, unsigned groups, const cpu_set_t *allowed, cpu_set_t *out)
{
	int any = 0;

	CPU_ZERO(out);
	if (groups < 2)
		return 0;
	for (int c = 0; c < CPU_SETSIZE; c++) {
		if (CPU_ISSET(c, allowed) && (unsigned)c % groups == socket % groups) {
			CPU_SET(c, out);
			any = 1;
		}
	}
	return any;
}

int mvd_keyd_bind_thread(pthread_t t, unsigned socket, unsigned groups)
{
	cpu_set_t allowed, mine;

	if (sched_getaffinity(0, sizeof allowed, &allowed) != 0 ||
	    !mvd_keyd_group_cpus(socket, groups, &allowed, &mine))
		return -1; /* one group, or none of the group's CPUs is ours: the thread stays free */
	return pthread_setaffinity_np(t, sizeof mine, &mine);
}
