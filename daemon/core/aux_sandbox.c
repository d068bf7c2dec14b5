/* daemon/core/aux_sandbox.c — the system-call filter the key and auth processes share. */
#include <errno.h>
#include <linux/sched.h>
#include <stdio.h>
#include <string.h>

#include "aux_sandbox.h"

/*
 * What both helper processes do once their threads run: read and write
 * their sockets and pipes, wait, take locks, allocate, and at reload open
 * and read the configuration and their files (and list a directory), log.
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

/* What an attacker who took a helper over would want first. */
static const int fatal[] = {
        SCMP_SYS(execve),
        SCMP_SYS(execveat),
        SCMP_SYS(fork),
        SCMP_SYS(vfork),
        SCMP_SYS(ptrace),
        SCMP_SYS(process_vm_readv),
        SCMP_SYS(process_vm_writev),
};

int mvd_aux_filter_add(scmp_filter_ctx ctx, uint32_t action, const int *calls, size_t n)
{
	int rc = 0;

	for (size_t i = 0; i < n && rc == 0; i++)
		rc = seccomp_rule_add(ctx, action, calls[i], 0);
	return rc;
}

/* A new thread, yes (CLONE_THREAD); a new process, never; clone3 hides its flags: ENOSYS. */
static int add_clone(scmp_filter_ctx ctx)
{
	int rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
	                          SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD));

	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_KILL_PROCESS, SCMP_SYS(clone), 1,
		                      SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, 0));
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
	return rc;
}

int mvd_aux_sandbox(const struct mvd_aux_filter *f, char *err, size_t errlen)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ERRNO(EPERM));
	int rc = -ENOMEM;

	if (!ctx)
		goto out;
	/* Every thread at once: the server threads already run. */
	if ((rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1)) != 0 ||
	    (rc = mvd_aux_filter_add(ctx, SCMP_ACT_ALLOW, allowed,
	                             sizeof allowed / sizeof *allowed)) != 0 ||
	    (rc = mvd_aux_filter_add(ctx, SCMP_ACT_ALLOW, f->allow, f->nallow)) != 0 ||
	    (rc = mvd_aux_filter_add(ctx, SCMP_ACT_KILL_PROCESS, fatal,
	                             sizeof fatal / sizeof *fatal)) != 0 ||
	    (rc = add_clone(ctx)) != 0 || (f->more && (rc = f->more(ctx, f->arg)) != 0))
		goto out;
	rc = seccomp_load(ctx);
out:
	if (rc != 0)
		snprintf(err, errlen, "seccomp: %s", strerror(-rc));
	seccomp_release(ctx);
	return rc == 0 ? 0 : -1;
}
