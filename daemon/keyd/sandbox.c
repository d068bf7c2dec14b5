/* daemon/keyd/sandbox.c — the key process's system-call filter (libseccomp). */
#include <errno.h>
#include <linux/sched.h>
#include <stdio.h>
#include <string.h>

#include <seccomp.h>

#include "keyd.h"

/*
 * What the key process does once its threads run: read and write its
 * sockets and pipes, wait, take locks, allocate, and at reload open and read
 * the configuration and key files (and list the key directory), log. Any
 * other call fails with EPERM; starting a program, a process or tracing one
 * kills it (what an attacker who took it over would want first).
 */
static const int allowed[] = {
        SCMP_SYS(read),
        SCMP_SYS(write),
        SCMP_SYS(readv),
        SCMP_SYS(writev),
        SCMP_SYS(pread64),
        SCMP_SYS(recvfrom),
        SCMP_SYS(recvmsg),
        SCMP_SYS(sendto),
        SCMP_SYS(sendmsg),
        SCMP_SYS(poll),
        SCMP_SYS(ppoll),
        SCMP_SYS(futex),
        SCMP_SYS(clock_gettime),
        SCMP_SYS(clock_nanosleep),
        SCMP_SYS(nanosleep),
        SCMP_SYS(gettimeofday),
        SCMP_SYS(getpid),
        SCMP_SYS(gettid),
        SCMP_SYS(openat),
        SCMP_SYS(open),
        SCMP_SYS(close),
        SCMP_SYS(fstat),
        SCMP_SYS(newfstatat),
        SCMP_SYS(stat),
        SCMP_SYS(lstat),
        SCMP_SYS(statx),
        SCMP_SYS(lseek),
        SCMP_SYS(getdents64),
        SCMP_SYS(fcntl),
        SCMP_SYS(mmap),
        SCMP_SYS(munmap),
        SCMP_SYS(mremap),
        SCMP_SYS(brk),
        SCMP_SYS(madvise),
        SCMP_SYS(mprotect),
        SCMP_SYS(exit),
        SCMP_SYS(exit_group),
        SCMP_SYS(rt_sigreturn),
        SCMP_SYS(rt_sigprocmask),
        SCMP_SYS(sigaltstack),
        SCMP_SYS(getrandom),
        SCMP_SYS(sched_yield),
        SCMP_SYS(set_robust_list),
        SCMP_SYS(rseq),
        SCMP_SYS(restart_syscall),
        SCMP_SYS(getuid),
        SCMP_SYS(geteuid),
        SCMP_SYS(getgid),
        SCMP_SYS(getegid),
        SCMP_SYS(uname),
        SCMP_SYS(tgkill),
        /* the C library and the sanitizers look at the thread's limits and CPUs */
        SCMP_SYS(sched_getaffinity),
        SCMP_SYS(prlimit64),
        SCMP_SYS(getrlimit),
};

static const int fatal[] = {
        SCMP_SYS(execve),
        SCMP_SYS(execveat),
        SCMP_SYS(fork),
        SCMP_SYS(vfork),
        SCMP_SYS(ptrace),
        SCMP_SYS(process_vm_readv),
        SCMP_SYS(process_vm_writev),
};

int mvd_keyd_sandbox(char *err, size_t errlen)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ERRNO(EPERM));
	int rc = -ENOMEM;
	size_t i;

	if (!ctx)
		goto out;
	/* Every thread at once: the server threads already run. */
	if ((rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1)) != 0)
		goto out;
	for (i = 0; i < sizeof allowed / sizeof allowed[0]; i++)
		if ((rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, allowed[i], 0)) != 0)
			goto out;
	for (i = 0; i < sizeof fatal / sizeof fatal[0]; i++)
		if ((rc = seccomp_rule_add(ctx, SCMP_ACT_KILL_PROCESS, fatal[i], 0)) != 0)
			goto out;
	/* A new thread, yes (CLONE_THREAD); a new process, never. */
	if ((rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
	                           SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD))) != 0 ||
	    (rc = seccomp_rule_add(ctx, SCMP_ACT_KILL_PROCESS, SCMP_SYS(clone), 1,
	                           SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, 0))) != 0)
		goto out;
	/* clone3 hides its flags from the filter: ENOSYS makes the C library use clone. */
	if ((rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0)) != 0)
		goto out;
	rc = seccomp_load(ctx);
out:
	if (rc != 0)
		snprintf(err, errlen, "seccomp: %s", strerror(-rc));
	seccomp_release(ctx);
	return rc == 0 ? 0 : -1;
}
