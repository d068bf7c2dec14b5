/* daemon/core/process.c — background with a start-status pipe, pid file, privilege drop. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "process.h"

static int ready_fd = -1;

int mvd_process_background(int keep_stderr)
{
	int fds[2], null;
	pid_t pid;
	unsigned char status = 1;

	if (pipe(fds) != 0)
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid > 0) {
		close(fds[1]);
		while (read(fds[0], &status, 1) < 0 && errno == EINTR)
			;
		_exit(status);
	}
	close(fds[0]);
	ready_fd = fds[1];
	setsid();
	if (chdir("/") != 0)
		return -1;
	if ((null = open("/dev/null", O_RDWR)) >= 0) {
		dup2(null, 0);
		dup2(null, 1);
		if (!keep_stderr)
			dup2(null, 2);
		if (null > 2)
			close(null);
	}
	return 0;
}

void mvd_process_ready(int status)
{
	unsigned char b = (unsigned char)status;

	mvd_log_start_over();
	if (ready_fd < 0)
		return;
	if (write(ready_fd, &b, 1) < 0) {
		/* the parent is gone: nothing to tell */
	}
	close(ready_fd);
	ready_fd = -1;
}

/* The gid of group name g, or of user u's primary group when g is "". -1 if unknown. */
static int lookup_gid(const char *u, const char *g, gid_t *gid, char *err, size_t errlen)
{
	struct passwd *pw;
	struct group *gr;

	if (g[0]) {
		if (!(gr = getgrnam(g))) {
			snprintf(err, errlen, "group %s does not exist", g);
			return -1;
		}
		*gid = gr->gr_gid;
		return 0;
	}
	if (!(pw = getpwnam(u))) {
		snprintf(err, errlen, "user %s does not exist", u);
		return -1;
	}
	*gid = pw->pw_gid;
	return 0;
}

/* user's uid, and the gid lookup_gid() gives for group. -1 with a reason in err. */
static int lookup_ids(const char *user, const char *group, uid_t *uid, gid_t *gid, char *err,
                      size_t errlen)
{
	struct passwd *pw = getpwnam(user);

	if (!pw) {
		snprintf(err, errlen, "user %s does not exist", user);
		return -1;
	}
	*uid = pw->pw_uid;
	return lookup_gid(user, group, gid, err, errlen);
}

/* As root with a user: hand the directory just made to user and group (its group when ""). */
static int give_dir(const char *dir, const char *user, const char *group, char *err, size_t errlen)
{
	uid_t uid;
	gid_t gid;

	if (geteuid() != 0 || !user[0])
		return 0;
	if (lookup_ids(user, group, &uid, &gid, err, errlen) != 0)
		return -1;
	if (chown(dir, uid, gid) != 0) {
		snprintf(err, errlen, "chown %s: %s", dir, strerror(errno));
		return -1;
	}
	return 0;
}

/* The pid file written by mvd_process_pidfile(), to be removed at exit if it is still ours. */
static struct {
	int dir_fd; /* its directory, opened before the drop; -1: none written */
	char name[256];
	dev_t dev;
	ino_t ino;
	pid_t pid;
} pidfile = {-1, "", 0, 0, 0};

/* Split path (absolute) into dir (at least "/") and its last component. -1 if too long. */
static int split_path(const char *path, char *dir, size_t dirlen, const char **base)
{
	const char *slash = strrchr(path, '/');
	size_t n = slash ? (size_t)(slash - path) : 0;

	if (!slash || n + 2 > dirlen || !slash[1]) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(dir, path, n ? n : 1);
	dir[n ? n : 1] = '\0';
	*base = slash + 1;
	return 0;
}

/* Create dir (one level) for user and its group, mode 0755, when it does not exist. */
static int pid_dir(const char *dir, const char *user, const char *group, char *err, size_t errlen)
{
	if (mkdir(dir, 0755) != 0) {
		if (errno == EEXIST)
			return 0;
		snprintf(err, errlen, "pid file directory %s: %s", dir, strerror(errno));
		return -1;
	}
	return give_dir(dir, user, group, err, errlen);
}

int mvd_process_pidfile(const char *path, const char *user, const char *group, char *err,
                        size_t errlen)
{
	char dir[4096], line[32];
	const char *base;
	struct stat sb;
	int fd = -1, len, rc = -1;

	if (!path[0])
		return 0;
	if (split_path(path, dir, sizeof dir, &base) != 0 || strlen(base) >= sizeof pidfile.name) {
		snprintf(err, errlen, "pid file %s: %s", path, strerror(ENAMETOOLONG));
		return -1;
	}
	if (pid_dir(dir, user, group, err, errlen) != 0)
		return -1;
	pidfile.dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (pidfile.dir_fd < 0)
		goto fail;
	fd = openat(pidfile.dir_fd, base, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
	            0644);
	len = snprintf(line, sizeof line, "%ld\n", (long)getpid());
	if (fd < 0 || write(fd, line, (size_t)len) != len || fstat(fd, &sb) != 0)
		goto fail;
	memcpy(pidfile.name, base, strlen(base) + 1);
	pidfile.dev = sb.st_dev;
	pidfile.ino = sb.st_ino;
	pidfile.pid = getpid();
	rc = 0;
fail:
	if (rc != 0) {
		snprintf(err, errlen, "pid file %s: %s", path, strerror(errno));
		if (pidfile.dir_fd >= 0)
			close(pidfile.dir_fd);
		pidfile.dir_fd = -1;
	}
	if (fd >= 0 && close(fd) != 0 && rc == 0) {
		snprintf(err, errlen, "pid file %s: %s", path, strerror(errno));
		rc = -1;
	}
	return rc;
}

void mvd_process_pidfile_remove(void)
{
	char line[32], want[32];
	struct stat sb;
	ssize_t got = -1;
	int fd;

	if (pidfile.dir_fd < 0 || getpid() != pidfile.pid)
		return;
	snprintf(want, sizeof want, "%ld\n", (long)pidfile.pid);
	fd = openat(pidfile.dir_fd, pidfile.name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd >= 0 && fstat(fd, &sb) == 0 && sb.st_dev == pidfile.dev && sb.st_ino == pidfile.ino)
		got = read(fd, line, sizeof line - 1);
	if (fd >= 0)
		close(fd);
	/* Another start's file (or none): not ours to remove. */
	if (got == (ssize_t)strlen(want) && memcmp(line, want, (size_t)got) == 0 &&
	    unlinkat(pidfile.dir_fd, pidfile.name, 0) != 0)
		mvd_log(MVD_LOG_WARNING, "stop", "pid file %s left behind: %s", pidfile.name,
		        strerror(errno));
	close(pidfile.dir_fd);
	pidfile.dir_fd = -1;
}

int mvd_process_pidfile_removable_as(const char *path, const char *user, const char *group,
                                     char *err, size_t errlen)
{
	char dir[4096];
	const char *base;
	uid_t uid;
	struct stat sb;
	gid_t gid;
	mode_t bits;

	if (!path[0] || geteuid() != 0 || !user[0])
		return 0;
	if (split_path(path, dir, sizeof dir, &base) != 0) {
		snprintf(err, errlen, "%s", strerror(errno));
		return -1;
	}
	if (lookup_ids(user, group, &uid, &gid, err, errlen) != 0)
		return -1;
	if (stat(dir, &sb) != 0) {
		if (errno == ENOENT)
			return 0; /* created for the user at the start */
		snprintf(err, errlen, "directory %s: %s", dir, strerror(errno));
		return -1;
	}
	/* Supplementary groups are dropped: owner, else the one group, else others. */
	bits = sb.st_uid == uid ? sb.st_mode >> 6 : sb.st_gid == gid ? sb.st_mode >> 3 : sb.st_mode;
	if ((bits & 03) == 03 && (!(sb.st_mode & S_ISVTX) || sb.st_uid == uid))
		return 0;
	snprintf(err, errlen,
	         "user %s, which the daemon runs as, cannot remove a file from %s, so the pid file "
	         "would be left behind at exit: use a directory of its own (created for the user "
	         "when missing), such as /run/mailvetd/mailvetd.pid",
	         user, dir);
	return -1;
}

int mvd_process_socket_dir(const char *socket, const char *user, const char *socket_group,
                           char *err, size_t errlen)
{
	char dir[4096];
	const char *slash = strrchr(socket, '/');
	size_t n = slash ? (size_t)(slash - socket) : 0;
	struct stat sb;

	if (n == 0 || n >= sizeof dir)
		return 0; /* "/x.sock" or a relative name: nothing of ours to make */
	memcpy(dir, socket, n);
	dir[n] = '\0';
	if (stat(dir, &sb) == 0) {
		if (sb.st_mode & 0001)
			mvd_log(MVD_LOG_WARNING, "start",
			        "anyone may enter %s, the milter socket's directory: make it "
			        "0750 with the MTA's group",
			        dir);
		return 0;
	}
	if (errno != ENOENT || mkdir(dir, 0750) != 0) {
		snprintf(err, errlen, "socket directory %s: %s", dir, strerror(errno));
		return -1;
	}
	return give_dir(dir, user, socket_group, err, errlen);
}

int mvd_process_give_socket(const char *user, const char *group, const char *chown_path,
                            const char *socket_group, char *err, size_t errlen)
{
	uid_t uid;
	gid_t gid, sgid;

	if (geteuid() != 0 || !user[0] || !chown_path)
		return 0;
	if (lookup_ids(user, group, &uid, &gid, err, errlen) != 0)
		return -1;
	sgid = gid;
	if (socket_group[0] && lookup_gid(user, socket_group, &sgid, err, errlen) != 0)
		return -1;
	if (chown(chown_path, uid, sgid) != 0) {
		snprintf(err, errlen, "chown %s: %s", chown_path, strerror(errno));
		return -1;
	}
	return 0;
}

int mvd_process_become(const char *user, const char *group, char *err, size_t errlen)
{
	uid_t uid;
	gid_t gid;

	if (geteuid() != 0 || !user[0])
		return 0;
	if (lookup_ids(user, group, &uid, &gid, err, errlen) != 0)
		return -1;
	if (setgroups(1, &gid) != 0 || setgid(gid) != 0 || setuid(uid) != 0) {
		snprintf(err, errlen, "cannot become %s: %s", user, strerror(errno));
		return -1;
	}
	if (setuid(0) == 0) {
		snprintf(err, errlen, "privileges could be regained after the drop");
		return -1;
	}
	return 0;
}

rlim_t mvd_process_raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return 0;
	if (rl.rlim_cur < rl.rlim_max) {
		rlim_t was = rl.rlim_cur;
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
			return was;
	}
	return rl.rlim_cur;
}

/* The child of mvd_process_unreadable_as(): drop, open each path, report {index, errno}. */
static void try_paths_as(uid_t uid, gid_t gid, const char *const *paths, size_t n, int fd)
{
	long rep[2] = {(long)n, 0};

	if (setgroups(1, &gid) != 0 || setgid(gid) != 0 || setuid(uid) != 0) {
		rep[0] = -1;
		rep[1] = errno;
	}
	for (size_t i = 0; rep[0] >= 0 && i < n; i++) {
		int f = open(paths[i], O_RDONLY | O_NONBLOCK | O_CLOEXEC);
		if (f < 0) {
			rep[0] = (long)i;
			rep[1] = errno;
			break;
		}
		close(f);
	}
	if (write(fd, rep, sizeof rep) != (ssize_t)sizeof rep)
		_exit(1);
	_exit(0);
}

long mvd_process_unreadable_as(const char *user, const char *group, const char *const *paths,
                               size_t n, int *why, char *err, size_t errlen)
{
	long rep[2] = {-1, 0};
	uid_t uid;
	gid_t gid;
	int fds[2];
	pid_t pid;
	ssize_t got;

	*why = 0;
	if (geteuid() != 0 || !user[0] || n == 0)
		return (long)n;
	if (lookup_ids(user, group, &uid, &gid, err, errlen) != 0)
		return -1;
	if (pipe(fds) != 0 || (pid = fork()) < 0) {
		snprintf(err, errlen, "cannot test the files as %s: %s", user, strerror(errno));
		return -1;
	}
	if (pid == 0) {
		close(fds[0]);
		try_paths_as(uid, gid, paths, n, fds[1]);
	}
	close(fds[1]);
	while ((got = read(fds[0], rep, sizeof rep)) < 0 && errno == EINTR)
		;
	close(fds[0]);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	if (got != (ssize_t)sizeof rep || rep[0] < 0) {
		snprintf(err, errlen, "cannot test the files as %s: %s", user,
		         got == (ssize_t)sizeof rep ? strerror((int)rep[1]) : "no answer");
		return -1;
	}
	*why = (int)rep[1];
	return rep[0];
}
