/* daemon/core/sandbox_worker.h — the worker's system-call filter (seccomp, libseccomp). */
#ifndef MAILVETD_CORE_SANDBOX_WORKER_H
#define MAILVETD_CORE_SANDBOX_WORKER_H

#include <stddef.h>

struct mvd_config;

/*
 * 1 when the configuration has the worker write files: a file store
 * (SQLite) or a spool for [reports] or [trace], or failure reports (their
 * spool). Without one the filter refuses every open for writing.
 */
int mvd_worker_sandbox_writes(const struct mvd_config *c);

/*
 * Install the worker's filter on every thread of the process (TSYNC): the
 * calls its roles need are allowed (docs/internals/privsep.md, "Worker
 * sandbox"), any other fails with EPERM, and starting a program or a
 * process, tracing one, loading kernel code or changing identity kills the
 * process (SIGSYS). write_files: allow opening files for writing and
 * creating, renaming, removing them (mvd_worker_sandbox_writes()); 0 allows
 * only opens for reading.
 *
 * With MAILVETD_SECCOMP=log in the environment the calls that would fail
 * are allowed and logged by the kernel (audit, "type=1326" in dmesg)
 * instead: how the allowlist is found (the killing calls still kill).
 *
 * 0, or -1 with the reason in err (at most errlen-1 bytes).
 */
int mvd_worker_sandbox(int write_files, char *err, size_t errlen);

/*
 * Install the supervisor's filter on the calling (single-threaded) process,
 * before it starts any child: every call is allowed but those no process of
 * mailvetd has a use for (running a program, tracing or reading another
 * process, namespaces, mounting, kernel code, keyrings, io_uring,
 * personality...), which kill it (SIGSYS). Its children inherit it beneath
 * their own filters. 0, or -1 with the reason in err.
 */
int mvd_supervisor_sandbox(char *err, size_t errlen);

#endif
