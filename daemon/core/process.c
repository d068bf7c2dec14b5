/* daemon/core/process.c — background with a start-status pipe, pid file, privilege drop. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

int mvd_process_pidfile(const char *path)
{
	FILE *f;
	int ok;

	if (!path[0])
		return 0;
	if (!(f = fopen(path, "w")))
		return -1;
	ok = fprintf(f, "%ld\n", (long)getpid()) > 0;
	ok &= fclose(f) == 0;
	return ok ? 0 : -1;
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

int mvd_process_socket_dir(const char *socket, const char *user, const char *socket_group,
                           char *err, size_t errlen)
{
	char dir[4096];
	const char *slash = strrchr(socket, '/');
	size_t n = slash ? (size_t)(slash - socket) : 0;
	struct passwd *pw;
	struct stat sb;
	gid_t gid;

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
	if (geteuid() != 0 || !user[0])
		return 0;
	if (!(pw = getpwnam(user))) {
		snprintf(err, errlen, "user %s does not exist", user);
		return -1;
	}
	if (lookup_gid(user, socket_group, &gid, err, errlen) != 0)
		return -1;
	if (chown(dir, pw->pw_uid, gid) != 0) {
		snprintf(err, errlen, "chown %s: %s", dir, strerror(errno));
		return -1;
	}
	return 0;
}

int mvd_process_drop(const char *user, const char *group, const char *chown_path,
                     const char *socket_group, char *err, size_t errlen)
{
	struct passwd *pw;
	gid_t gid, sgid;

	if (geteuid() != 0 || !user[0])
		return 0;
	if (!(pw = getpwnam(user))) {
		snprintf(err, errlen, "user %s does not exist", user);
		return -1;
	}
	if (lookup_gid(user, group, &gid, err, errlen) != 0)
		return -1;
	sgid = gid;
	if (socket_group[0] && lookup_gid(user, socket_group, &sgid, err, errlen) != 0)
		return -1;
	if (chown_path && chown(chown_path, pw->pw_uid, sgid) != 0) {
		snprintf(err, errlen, "chown %s: %s", chown_path, strerror(errno));
		return -1;
	}
	if (setgroups(1, &gid) != 0 || setgid(gid) != 0 || setuid(pw->pw_uid) != 0) {
		snprintf(err, errlen, "cannot become %s: %s", user, strerror(errno));
		return -1;
	}
	if (setuid(0) == 0) {
		snprintf(err, errlen, "privileges could be regained after the drop");
		return -1;
	}
	return 0;
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
	struct passwd *pw;
	gid_t gid;
	int fds[2];
	pid_t pid;
	ssize_t got;

	*why = 0;
	if (geteuid() != 0 || !user[0] || n == 0)
		return (long)n;
	if (!(pw = getpwnam(user))) {
		snprintf(err, errlen, "user %s does not exist", user);
		return -1;
	}
	if (lookup_gid(user, group, &gid, err, errlen) != 0)
		return -1;
	if (pipe(fds) != 0 || (pid = fork()) < 0) {
		snprintf(err, errlen, "cannot test the files as %s: %s", user, strerror(errno));
		return -1;
	}
	if (pid == 0) {
		close(fds[0]);
		try_paths_as(pw->pw_uid, gid, paths, n, fds[1]);
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
