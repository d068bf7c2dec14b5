/* daemon/core/process.h — becoming a daemon: background, pid file, privilege drop. */
#ifndef MAILVETD_PROCESS_H
#define MAILVETD_PROCESS_H

#include <stddef.h>
#include <sys/resource.h>

/*
 * Go to the background: fork, setsid, chdir /, stdin and stdout to
 * /dev/null (stderr too unless keep_stderr). The parent does not return:
 * it waits until the child calls mvd_process_ready() and exits with the
 * status the child reports (so a start that fails after the fork still
 * fails the command). Returns 0 in the child, -1 when fork failed.
 */
int mvd_process_background(int keep_stderr);
/* Tell the waiting parent (if any) how the start went: 0 = running; the start is over. */
void mvd_process_ready(int status);

/*
 * Write our pid to path (nothing when path is ""), creating its directory
 * (one level, mode 0755, handed to user and group as root) when missing, so
 * that the daemon can still remove the file once it has dropped to user.
 * The directory stays open for mvd_process_pidfile_remove(). 0 on success,
 * -1 with a reason in err.
 */
int mvd_process_pidfile(const char *path, const char *user, const char *group, char *err,
                        size_t errlen);
/*
 * At exit, in the process that wrote it: remove the pid file through the
 * directory opened before the drop, only if it is still the file written
 * (same inode, our pid in it); a failure is logged.
 */
void mvd_process_pidfile_remove(void);
/*
 * Whether user (with group, or the user's primary group, and no
 * supplementary group) will be able to remove a file from path's directory
 * after the drop (its permission bits; a sticky directory must be the
 * user's). A missing directory is fine: mvd_process_pidfile() creates it.
 * 0 when it can (or when not root or user is ""), -1 with a reason in err.
 */
int mvd_process_pidfile_removable_as(const char *path, const char *user, const char *group,
                                     char *err, size_t errlen);

/*
 * The directory of a unix socket (path without "unix:"): when it does not
 * exist, create it with mode 0750 and, as root, hand it to user and
 * socket_group (or the user's group when socket_group is ""), so that only
 * the daemon and the MTA's group can reach the socket. An existing
 * directory is left as it is (a warning is logged when anyone may enter
 * it). 0 on success, -1 with a reason in err.
 */
int mvd_process_socket_dir(const char *socket, const char *user, const char *socket_group,
                           char *err, size_t errlen);

/*
 * When running as root and user is not "": hand `chown_path` (a unix
 * socket, may be NULL) to user and socket_group (user's group, or group,
 * when ""). The supervisor does this and stays root; each child drops
 * with mvd_process_become(). 0 on success, -1 with a reason in err.
 */
int mvd_process_give_socket(const char *user, const char *group, const char *chown_path,
                            const char *socket_group, char *err, size_t errlen);

/*
 * When running as root and user is not "": switch to user for good (and
 * group, or the user's primary group), dropping supplementary groups, and
 * check that root cannot be regained. 0 on success (or nothing to do), -1
 * with a reason in err.
 */
int mvd_process_become(const char *user, const char *group, char *err, size_t errlen);

/*
 * Raise the soft limit of open files to the hard one (inherited by the
 * children): every SMTP session holds two sockets (and a spool file), every
 * IMAP/POP3 session two (four while it splices), so the usual soft limit of
 * 1,024 would cap a busy front end near 500 sessions. Returns the limit now
 * in force (0: unknown).
 */
rlim_t mvd_process_raise_nofile(void);

/*
 * Which of paths[0..n) user could not open for reading once dropped to as
 * mvd_process_become() drops (group, or the user's primary group, and no
 * supplementary group): tried for real, in a child process that drops and
 * opens each path (non-blocking, so a FIFO cannot hang it). Returns n when
 * every path opens (and at once when not root or user is ""), else the
 * index of the first that does not, with its errno in *why; -1 with a
 * reason in err when the test itself could not run.
 */
long mvd_process_unreadable_as(const char *user, const char *group, const char *const *paths,
                               size_t n, int *why, char *err, size_t errlen);

#endif
