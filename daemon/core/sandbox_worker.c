/* daemon/core/sandbox_worker.c — the worker's system-call filter (libseccomp). */
#define _GNU_SOURCE /* O_TMPFILE */
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <termios.h>

#include <seccomp.h>

#include "config.h"
#include "sandbox_worker.h"

#if defined(__SANITIZE_ADDRESS__)
#define MVD_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MVD_SANITIZED 1
#endif
#endif

/*
 * The groups, each for a role of the worker (docs/internals/privsep.md,
 * "Worker sandbox"). Calls not listed fail with EPERM.
 */
static const int allowed[] = {
        /* descriptors: the milter, SMTP, IMAP/POP3 and HTTP connections, pipes, files */
        SCMP_SYS(read),
        SCMP_SYS(write),
        SCMP_SYS(readv),
        SCMP_SYS(writev),
        SCMP_SYS(pread64),
        SCMP_SYS(pwrite64),
        SCMP_SYS(preadv),
        SCMP_SYS(pwritev),
        SCMP_SYS(preadv2),
        SCMP_SYS(pwritev2),
        SCMP_SYS(lseek),
        SCMP_SYS(close),
        SCMP_SYS(dup),
        SCMP_SYS(dup2),
        SCMP_SYS(dup3),
        SCMP_SYS(fcntl),
        SCMP_SYS(pipe),
        SCMP_SYS(pipe2),
        SCMP_SYS(sendfile),
        SCMP_SYS(splice), /* the IMAP proxy's literals, socket -> pipe -> socket (proxy/splice.c) */
        /* waiting: libevent (epoll), libmilter and libmicrohttpd (poll/select), libunbound */
        SCMP_SYS(poll),
        SCMP_SYS(ppoll),
        SCMP_SYS(select),
        SCMP_SYS(pselect6),
        SCMP_SYS(epoll_create),
        SCMP_SYS(epoll_create1),
        SCMP_SYS(epoll_ctl),
        SCMP_SYS(epoll_wait),
        SCMP_SYS(epoll_pwait),
        SCMP_SYS(epoll_pwait2),
        SCMP_SYS(eventfd),
        SCMP_SYS(eventfd2),
        SCMP_SYS(timerfd_create),
        SCMP_SYS(timerfd_settime),
        SCMP_SYS(timerfd_gettime),
        /* the network: accepting on the inherited listeners, next-hop relays, DNS (libunbound
           binds its own random ports), PostgreSQL, syslog (socket() is checked below) */
        SCMP_SYS(accept),
        SCMP_SYS(accept4),
        SCMP_SYS(connect),
        SCMP_SYS(bind),
        SCMP_SYS(listen),
        SCMP_SYS(shutdown),
        SCMP_SYS(getsockname),
        SCMP_SYS(getpeername),
        SCMP_SYS(getsockopt),
        SCMP_SYS(setsockopt),
        SCMP_SYS(sendto),
        SCMP_SYS(recvfrom),
        SCMP_SYS(sendmsg),
        SCMP_SYS(recvmsg),
        SCMP_SYS(sendmmsg),
        SCMP_SYS(recvmmsg),
        SCMP_SYS(socketpair),
        /* reading files: the configuration and its lists at a reload, the zone and trust
           anchor, resolv.conf and hosts, the key directory's listing, /proc/self */
        SCMP_SYS(close_range),
        SCMP_SYS(fstat),
        SCMP_SYS(newfstatat),
        SCMP_SYS(stat),
        SCMP_SYS(lstat),
        SCMP_SYS(statx),
        SCMP_SYS(statfs),
        SCMP_SYS(fstatfs),
        SCMP_SYS(access),
        SCMP_SYS(faccessat),
        SCMP_SYS(faccessat2),
        SCMP_SYS(readlink),
        SCMP_SYS(readlinkat),
        SCMP_SYS(getdents64),
        SCMP_SYS(getdents),
        SCMP_SYS(getcwd),
        SCMP_SYS(fadvise64),
        /* memory */
        SCMP_SYS(mmap),
        SCMP_SYS(munmap),
        SCMP_SYS(mremap),
        SCMP_SYS(mprotect),
        SCMP_SYS(brk),
        SCMP_SYS(madvise),
        SCMP_SYS(mincore),
        SCMP_SYS(membarrier),
        /* threads (clone is checked below), locks, signals within the process */
        SCMP_SYS(futex),
        SCMP_SYS(set_robust_list),
        SCMP_SYS(get_robust_list),
        SCMP_SYS(rseq),
        SCMP_SYS(set_tid_address),
        SCMP_SYS(sched_yield),
        SCMP_SYS(sched_getaffinity),
        SCMP_SYS(getcpu), /* sched_getcpu where the vDSO has none (keyd/cpu.c) */
        SCMP_SYS(sched_getparam),
        SCMP_SYS(sched_getscheduler),
        SCMP_SYS(gettid),
        SCMP_SYS(getpid),
        SCMP_SYS(getppid),
        SCMP_SYS(tgkill),
        SCMP_SYS(tkill),
        SCMP_SYS(exit),
        SCMP_SYS(exit_group),
        SCMP_SYS(rt_sigaction),
        SCMP_SYS(rt_sigprocmask),
        SCMP_SYS(rt_sigreturn),
        SCMP_SYS(rt_sigtimedwait),
        SCMP_SYS(rt_sigpending),
        SCMP_SYS(sigaltstack),
        SCMP_SYS(restart_syscall),
        /* time */
        SCMP_SYS(clock_gettime),
        SCMP_SYS(clock_getres),
        SCMP_SYS(gettimeofday),
        SCMP_SYS(time),
        SCMP_SYS(nanosleep),
        SCMP_SYS(clock_nanosleep),
        /* looking at itself: ids, limits, load (the status page), randomness */
        SCMP_SYS(getuid),
        SCMP_SYS(geteuid),
        SCMP_SYS(getgid),
        SCMP_SYS(getegid),
        SCMP_SYS(getgroups),
        SCMP_SYS(getresuid),
        SCMP_SYS(getresgid),
        SCMP_SYS(uname),
        SCMP_SYS(getrlimit),
        SCMP_SYS(getrusage),
        SCMP_SYS(sysinfo),
        SCMP_SYS(getpriority),
        SCMP_SYS(getrandom),
};

/* With write_files: the stores (SQLite's database, journal and WAL files) and the spools. */
static const int writing[] = {
        SCMP_SYS(open),
        SCMP_SYS(openat),
        SCMP_SYS(creat),
        SCMP_SYS(ftruncate),
        SCMP_SYS(fallocate),
        SCMP_SYS(fsync),
        SCMP_SYS(fdatasync),
        SCMP_SYS(unlink),
        SCMP_SYS(unlinkat),
        SCMP_SYS(rename),
        SCMP_SYS(renameat),
        SCMP_SYS(renameat2),
        SCMP_SYS(mkdir),
        SCMP_SYS(mkdirat),
        SCMP_SYS(rmdir),
        SCMP_SYS(link),
        SCMP_SYS(linkat),
        SCMP_SYS(fchmod),
        SCMP_SYS(flock),
        SCMP_SYS(umask),
        SCMP_SYS(sync_file_range),
        /* SQLite hands a new journal to the database's owner when it runs as root */
        SCMP_SYS(fchown),
};

/*
 * What a process that parses mail has no use for, and what an attacker who
 * took it over would want first: running a program, making or tracing a
 * process, reading another's memory, changing identity or namespaces,
 * loading code into the kernel (modules, BPF), io_uring (whose operations a filter never sees), mounting, personality
 * changes (which undo address randomisation).
 */
static const int fatal_worker[] = {
        SCMP_SYS(fork),      SCMP_SYS(vfork),    SCMP_SYS(setuid),    SCMP_SYS(setgid),
        SCMP_SYS(setreuid),  SCMP_SYS(setregid), SCMP_SYS(setresuid), SCMP_SYS(setresgid),
        SCMP_SYS(setgroups), SCMP_SYS(setfsuid), SCMP_SYS(setfsgid),
};

/* ... and what no process of mailvetd has a use for, the supervisor included. */
static const int fatal[] = {
        SCMP_SYS(execve),
        SCMP_SYS(execveat),
        SCMP_SYS(process_vm_readv),
        SCMP_SYS(process_vm_writev),
        SCMP_SYS(pidfd_getfd),
        SCMP_SYS(kcmp),
        SCMP_SYS(capset),
        SCMP_SYS(unshare),
        SCMP_SYS(setns),
        SCMP_SYS(mount),
        SCMP_SYS(umount2),
        SCMP_SYS(pivot_root),
        SCMP_SYS(chroot),
        SCMP_SYS(open_tree),
        SCMP_SYS(move_mount),
        SCMP_SYS(fsopen),
        SCMP_SYS(fsmount),
        SCMP_SYS(bpf),
        SCMP_SYS(perf_event_open),
        SCMP_SYS(userfaultfd),
        SCMP_SYS(init_module),
        SCMP_SYS(finit_module),
        SCMP_SYS(delete_module),
        SCMP_SYS(kexec_load),
        SCMP_SYS(kexec_file_load),
        SCMP_SYS(personality),
        SCMP_SYS(io_uring_setup),
        SCMP_SYS(io_uring_enter),
        SCMP_SYS(io_uring_register),
        SCMP_SYS(open_by_handle_at),
        SCMP_SYS(name_to_handle_at),
        SCMP_SYS(reboot),
        SCMP_SYS(swapon),
        SCMP_SYS(swapoff),
        SCMP_SYS(iopl),
        SCMP_SYS(ioperm),
        SCMP_SYS(syslog),
        SCMP_SYS(acct),
        SCMP_SYS(settimeofday),
        SCMP_SYS(clock_settime),
        SCMP_SYS(adjtimex),
        SCMP_SYS(sethostname),
        SCMP_SYS(setdomainname),
        SCMP_SYS(mknod),
        SCMP_SYS(mknodat),
        SCMP_SYS(quotactl),
#ifndef MVD_SANITIZED
        /* (allowed in sanitizer builds: LeakSanitizer's exit check traces the process) */
        SCMP_SYS(ptrace),
#endif
};

/* The ioctls of stdio (a terminal?) and of the libraries' non-blocking sockets. */
static const unsigned long ioctls[] = {FIONREAD, FIONBIO, FIOCLEX, FIONCLEX, TCGETS};

#ifndef MVD_SANITIZED
/* prctl: a thread's name (libraries name theirs); anything else (no new privileges...) not. */
static const int prctls[] = {PR_SET_NAME, PR_GET_NAME, PR_GET_DUMPABLE};
#endif

/* Socket families: local (syslog), the Internet, route netlink (getaddrinfo's address check). */
static const int families[] = {AF_UNIX, AF_INET, AF_INET6, AF_NETLINK};

#define ADD(ctx, act, sys, ...)                                                                    \
	do {                                                                                       \
		if ((rc = seccomp_rule_add(ctx, act, sys, __VA_ARGS__)) != 0)                      \
			goto out;                                                                  \
	} while (0)

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* The rules whose arguments matter: clone, socket, ioctl, prctl, prlimit, opens. */
static int add_checked(scmp_filter_ctx ctx, int write_files)
{
	const scmp_datum_t wr = O_WRONLY | O_RDWR | O_CREAT | O_TRUNC | O_APPEND;
	const scmp_datum_t tmp = O_TMPFILE & ~O_DIRECTORY;
	int rc = 0;
	size_t i;

	/* A new thread, yes (CLONE_THREAD); a new process, never. */
	ADD(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
	    SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD));
#ifdef MVD_SANITIZED
	/* LeakSanitizer's tracer: shares the memory, no thread; fork() never passes CLONE_VM */
	ADD(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
	    SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD | CLONE_VM, CLONE_VM));
	ADD(ctx, SCMP_ACT_KILL_PROCESS, SCMP_SYS(clone), 1,
	    SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD | CLONE_VM, 0));
	ADD(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ptrace), 0);
	ADD(ctx, SCMP_ACT_ALLOW, SCMP_SYS(wait4), 0);
	ADD(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prctl), 0);
#else
	ADD(ctx, SCMP_ACT_KILL_PROCESS, SCMP_SYS(clone), 1,
	    SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, 0));
	for (i = 0; i < N(prctls); i++)
		ADD(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prctl), 1,
		    SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)prctls[i], 0));
#endif
	/* clone3 hides its flags from the filter: ENOSYS makes the C library use clone. */
	ADD(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
	/* openat2's flags are behind a pointer too: ENOSYS, the C library has openat */
	ADD(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(openat2), 0);
	for (i = 0; i < N(families); i++)
		ADD(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
		    SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)families[i], 0));
	for (i = 0; i < N(ioctls); i++)
		ADD(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1, SCMP_A1(SCMP_CMP_EQ, ioctls[i], 0));
	/* the SMTP spool in memory where the temporary directory has no O_TMPFILE
	 * (core/anonfile.c): no other flag (MFD_HUGETLB would draw on the huge pages) */
	ADD(ctx, SCMP_ACT_ALLOW, SCMP_SYS(memfd_create), 1,
	    SCMP_A1(SCMP_CMP_EQ, (scmp_datum_t)MFD_CLOEXEC, 0));
	/* reading a limit (new limit NULL), never raising one */
	ADD(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prlimit64), 1, SCMP_A2(SCMP_CMP_EQ, 0, 0));
	if (write_files) {
		for (i = 0; i < N(writing); i++)
			ADD(ctx, SCMP_ACT_ALLOW, writing[i], 0);
	} else { /* reading only: no flag that writes, creates or truncates */
		ADD(ctx, SCMP_ACT_ALLOW, SCMP_SYS(open), 1, SCMP_A1(SCMP_CMP_MASKED_EQ, wr, 0));
		ADD(ctx, SCMP_ACT_ALLOW, SCMP_SYS(openat), 1, SCMP_A2(SCMP_CMP_MASKED_EQ, wr, 0));
		/*
		 * ... and a file without a name (O_TMPFILE): the SMTP front end's
		 * message spool (core/anonfile.c). It never appears in a directory:
		 * O_EXCL, and the calls that could give it a name (linkat) are not
		 * allowed.
		 */
		ADD(ctx, SCMP_ACT_ALLOW, SCMP_SYS(openat), 1,
		    SCMP_A2(SCMP_CMP_MASKED_EQ, tmp | O_CREAT | O_TRUNC | O_APPEND, tmp));
	}
out:
	return rc;
}

int mvd_worker_sandbox(int write_files, char *err, size_t errlen)
{
	const char *mode = getenv("MAILVETD_SECCOMP");
	int log = mode && strcmp(mode, "log") == 0;
	scmp_filter_ctx ctx = seccomp_init(log ? SCMP_ACT_LOG : SCMP_ACT_ERRNO(EPERM));
	int rc = -ENOMEM;
	size_t i;

	if (!ctx)
		goto out;
	/* Every thread at once: the front ends' threads already run. */
	if ((rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1)) != 0)
		goto out;
	for (i = 0; i < N(allowed); i++)
		ADD(ctx, SCMP_ACT_ALLOW, allowed[i], 0);
	for (i = 0; i < N(fatal); i++)
		ADD(ctx, SCMP_ACT_KILL_PROCESS, fatal[i], 0);
	for (i = 0; i < N(fatal_worker); i++)
		ADD(ctx, SCMP_ACT_KILL_PROCESS, fatal_worker[i], 0);
	if ((rc = add_checked(ctx, write_files)) != 0)
		goto out;
	rc = seccomp_load(ctx);
out:
	if (rc != 0)
		snprintf(err, errlen, "seccomp: %s", strerror(rc < 0 ? -rc : rc));
	seccomp_release(ctx);
	return rc == 0 ? 0 : -1;
}

/* A store given as a path or sqlite: is a file; postgres and pg: are network stores. */
static int file_store(const char *store)
{
	if (!store || !store[0])
		return 0;
	return strncmp(store, "postgres", 8) != 0 && strncmp(store, "pg:", 3) != 0;
}

static int store_writes(const struct mvd_reports_conf *r)
{
	return file_store(r->store) || (r->spool && r->spool[0]) || r->failure.enabled;
}

int mvd_worker_sandbox_writes(const struct mvd_config *c)
{
	return store_writes(&c->reports) || store_writes(&c->trace.base);
}

/*
 * The supervisor's filter: a denylist (it forks the children and each child
 * becomes its user before its own filter, so fork, clone and the set*id
 * calls stay; every child inherits this filter under its own).
 */
int mvd_supervisor_sandbox(char *err, size_t errlen)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	int rc = -ENOMEM;

	if (!ctx)
		goto out;
	for (size_t i = 0; i < N(fatal); i++)
		ADD(ctx, SCMP_ACT_KILL_PROCESS, fatal[i], 0);
	rc = seccomp_load(ctx);
out:
	if (rc != 0)
		snprintf(err, errlen, "seccomp: %s", strerror(rc < 0 ? -rc : rc));
	seccomp_release(ctx);
	return rc == 0 ? 0 : -1;
}
