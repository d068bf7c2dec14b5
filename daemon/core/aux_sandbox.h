/* daemon/core/aux_sandbox.h — the system-call filter the key and auth processes share. */
#ifndef MAILVETD_CORE_AUX_SANDBOX_H
#define MAILVETD_CORE_AUX_SANDBOX_H

#include <stddef.h>

#include <seccomp.h>

/*
 * What a helper process (key process, auth process) adds to the common
 * filter: extra calls allowed with any arguments, and a hook for rules with
 * argument checks (NULL: none) that returns 0 or a negative errno.
 */
struct mvd_aux_filter {
	const int *allow; /* SCMP_SYS() numbers */
	size_t nallow;
	int (*more)(scmp_filter_ctx ctx, const void *arg);
	const void *arg;
};

/* A list of calls, all with one action: 0 or libseccomp's negative errno. */
int mvd_aux_filter_add(scmp_filter_ctx ctx, uint32_t action, const int *calls, size_t n);

/*
 * Install a helper process's filter on every one of its threads (TSYNC: its
 * server threads already run). Allowed: reading and writing its sockets and
 * pipes, waiting, locks, memory, opening and reading files (its reloads),
 * new threads, and what f adds. Starting a program or a process, tracing
 * one or reading its memory kills the process; clone3 fails with ENOSYS (its
 * flags hide from the filter, the C library falls back to clone); any other
 * call fails with EPERM. 0, or -1 with the reason in err.
 */
int mvd_aux_sandbox(const struct mvd_aux_filter *f, char *err, size_t errlen);

#endif
