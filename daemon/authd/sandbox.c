/* daemon/authd/sandbox.c — the auth process's system-call filter (libseccomp). */
#include <errno.h>
#include <linux/sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <seccomp.h>

#include "authd.h"

/*
 * What the auth process does once its threads run: read and write its
 * sockets and pipes, wait, take locks, allocate, hash (libxcrypt: memory and
 * random bytes), connect to Dovecot's auth socket, and at reload open and
 * read the configuration and the password file, log. Any other call fails
 * with EPERM; starting a program, a process or tracing one kills it.
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
        SCMP_SYS(connect),
        SCMP_SYS(getsockopt),
        SCMP_SYS(shutdown),
        SCMP_SYS(getsockname),
        SCMP_SYS(getpeername),
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

/* A list of calls, all with one action. */
static int add_all(scmp_filter_ctx ctx, uint32_t action, const int *calls, size_t n)
{
	int rc = 0;

	for (size_t i = 0; i < n && rc == 0; i++)
		rc = seccomp_rule_add(ctx, action, calls[i], 0);
	return rc;
}

/* socket(): AF_UNIX always (Dovecot's auth-client socket), IP only for dovecot:inet:. */
static int add_sockets(scmp_filter_ctx ctx, int inet)
{
	static const int inet_families[] = {AF_INET, AF_INET6};
	int rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
	                          SCMP_A0(SCMP_CMP_EQ, AF_UNIX, 0));

	/* ... and what glibc's getaddrinfo needs to look a Dovecot host name up
	 * at each connect (IP_RECVERR, the A and AAAA queries sent together). */
	static const int resolver_calls[] = {SCMP_SYS(setsockopt), SCMP_SYS(sendmmsg),
	                                     SCMP_SYS(recvmmsg), SCMP_SYS(bind)};

	for (size_t i = 0; inet && rc == 0 && i < 2; i++)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
		                      SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)inet_families[i], 0));
	for (size_t i = 0; inet && rc == 0 && i < sizeof resolver_calls / sizeof *resolver_calls;
	     i++)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, resolver_calls[i], 0);
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

int mvd_authd_sandbox(int inet, char *err, size_t errlen)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ERRNO(EPERM));
	int rc = -ENOMEM;

	if (!ctx)
		goto out;
	/* Every thread at once: the server threads already run. */
	if ((rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1)) != 0 ||
	    (rc = add_all(ctx, SCMP_ACT_ALLOW, allowed, sizeof allowed / sizeof allowed[0])) != 0 ||
	    (rc = add_all(ctx, SCMP_ACT_KILL_PROCESS, fatal, sizeof fatal / sizeof fatal[0])) !=
	            0 ||
	    (rc = add_sockets(ctx, inet)) != 0 || (rc = add_clone(ctx)) != 0)
		goto out;
	rc = seccomp_load(ctx);
out:
	if (rc != 0)
		snprintf(err, errlen, "seccomp: %s", strerror(-rc));
	seccomp_release(ctx);
	return rc == 0 ? 0 : -1;
}
