/* daemon/process.h — becoming a daemon: background, pid file, privilege drop. */
#ifndef MAILVETD_PROCESS_H
#define MAILVETD_PROCESS_H

#include <stddef.h>

/*
 * Go to the background: fork, setsid, chdir /, stdin and stdout to
 * /dev/null (stderr too unless keep_stderr). The parent does not return:
 * it waits until the child calls mvd_process_ready() and exits with the
 * status the child reports (so a start that fails after the fork still
 * fails the command). Returns 0 in the child, -1 when fork failed.
 */
int mvd_process_background(int keep_stderr);
/* Tell the waiting parent (if any) how the start went: 0 = running. */
void mvd_process_ready(int status);

/* Write our pid to path (nothing when path is ""). 0 on success, -1 (errno). */
int mvd_process_pidfile(const char *path);

/*
 * When running as root and user is not "": switch to user (and group, or
 * the user's primary group), dropping supplementary groups; first hand
 * `chown_path` (a unix socket, may be NULL) to them. 0 on success, -1 with
 * a reason in err.
 */
int mvd_process_drop(const char *user, const char *group, const char *chown_path, char *err,
                     size_t errlen);

#endif
