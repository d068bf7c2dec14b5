/* tests/privsep/worker_sandbox_unit.c — the worker's system-call filter: what it allows, refuses, kills. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "anonfile.h"
#include "sandbox_worker.h"

static char dir[] = "/tmp/mv-worker-sandbox-XXXXXX";

/* Run fn in a child under the filter (write_files as given); its wait status. */
static int sandboxed(int write_files, int (*fn)(void))
{
	int status = 0;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		char err[128];
		if (mvd_worker_sandbox(write_files, err, sizeof err) != 0)
			_exit(99);
		_exit(fn());
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return status;
}

static void killed(int st)
{
	assert_true(WIFSIGNALED(st));
	assert_int_equal(WTERMSIG(st), SIGSYS);
}

static void exited_zero(int st)
{
	if (WIFSIGNALED(st))
		fail_msg("killed by signal %d", WTERMSIG(st));
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

static int run_a_program(void)
{
	char *const argv[] = {"/bin/true", NULL};

	execv("/bin/true", argv);
	return 3; /* not reached: the filter kills first */
}

static int start_a_process(void)
{
	return fork() >= 0 ? 4 : 5;
}

static int change_identity(void)
{
	return setuid(getuid()) == 0 ? 4 : 5;
}

static int mount_something(void)
{
	return mount("none", "/tmp", "tmpfs", 0, NULL) == 0 ? 4 : 5;
}

static int undo_randomisation(void)
{
	return personality(ADDR_NO_RANDOMIZE) >= 0 ? 4 : 5;
}

static void execve_kills_it(void **state)
{
	(void)state;
	killed(sandboxed(0, run_a_program));
	killed(sandboxed(1, run_a_program));
}

static void fork_kills_it(void **state)
{
	(void)state;
	killed(sandboxed(0, start_a_process));
	killed(sandboxed(1, start_a_process));
}

static void setuid_mount_personality_kill_it(void **state)
{
	(void)state;
	killed(sandboxed(0, change_identity));
	killed(sandboxed(0, mount_something));
	killed(sandboxed(0, undo_randomisation));
}

/* Run fn in a child under the supervisor's filter; its wait status. */
static int supervised(int (*fn)(void))
{
	int status = 0;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		char err[128];
		if (mvd_supervisor_sandbox(err, sizeof err) != 0)
			_exit(99);
		_exit(fn());
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return status;
}

/* What the supervisor does: start a child, which changes its identity. */
static int start_a_child_that_drops(void)
{
	int status = 0;
	pid_t pid = fork();

	if (pid < 0)
		return 6;
	if (pid == 0)
		_exit(setgid(getgid()) == 0 && setuid(getuid()) == 0 ? 0 : 7);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return 8;
	return WEXITSTATUS(status);
}

static void supervisor_starts_children_but_no_program(void **state)
{
	(void)state;
	exited_zero(supervised(start_a_child_that_drops));
	killed(supervised(run_a_program));
	killed(supervised(mount_something));
	killed(supervised(undo_randomisation));
}

/* Calls the worker has no use for fail with EPERM, and the process goes on. */
static int forbidden_calls_fail(void)
{
	if (kill(getppid(), 0) == 0 || errno != EPERM)
		return 1;
	if (socket(AF_PACKET, SOCK_RAW, 0) >= 0 || errno != EPERM)
		return 2;
	if (chmod(dir, 0777) == 0 || errno != EPERM)
		return 3;
	if (symlink("/etc/passwd", "/tmp/mv-worker-sandbox-link") == 0 || errno != EPERM)
		return 4;
	/* memory files: MFD_CLOEXEC alone (the spool), no huge pages, no sealing */
	if (memfd_create("x", MFD_CLOEXEC | MFD_HUGETLB) >= 0 || errno != EPERM)
		return 5;
	if (memfd_create("x", MFD_CLOEXEC | MFD_ALLOW_SEALING) >= 0 || errno != EPERM)
		return 6;
	return 0;
}

static void forbidden_calls_get_eperm(void **state)
{
	(void)state;
	exited_zero(sandboxed(0, forbidden_calls_fail));
	exited_zero(sandboxed(1, forbidden_calls_fail));
}

/* Whether dir's file system makes files without a name (asked before any filter). */
static int dir_has_tmpfile;

/* mvd_anon_file(d) gives a working file, in memory or not as want_memory says; 0 if so. */
static int spool_works(const char *d, int want_memory)
{
	char back[32] = "";
	int mem = -1;
	FILE *f = mvd_anon_file(d, &mem);

	if (!f)
		return 1;
	if (mem != want_memory || fputs("spooled body", f) < 0 || fflush(f) != 0 ||
	    fseek(f, 0, SEEK_SET) != 0 || !fgets(back, sizeof back, f) ||
	    strcmp(back, "spooled body") != 0) {
		fclose(f);
		return 1;
	}
	fclose(f);
	return 0;
}

/* Reading files, a file without a name; never a new named file nor a write. */
static int read_only_files(void)
{
	char path[128], buf[16];
	int fd = open("/etc/hosts", O_RDONLY | O_CLOEXEC);

	if (fd < 0 || read(fd, buf, sizeof buf) < 0)
		return 10 + (errno & 0x3f);
	close(fd);
	snprintf(path, sizeof path, "%s/new", dir);
	if (open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600) >= 0 || errno != EPERM)
		return 1;
	if (open("/etc/hosts", O_RDWR | O_CLOEXEC) >= 0 || errno != EPERM)
		return 2;
	snprintf(path, sizeof path, "%s/old", dir);
	if (open(path, O_WRONLY | O_APPEND | O_CLOEXEC) >= 0 || errno != EPERM)
		return 3;
	if (unlink(path) == 0 || errno != EPERM)
		return 4;
	/* The SMTP spool: O_TMPFILE where the directory can, memory where it cannot. */
	if (spool_works(dir, !dir_has_tmpfile) || spool_works("/proc", 1) ||
	    spool_works("/nonexistent", 1))
		return 6;
	return 0;
}

/* With a store or spool: create, write, rename, remove. */
static int writing_files(void)
{
	char a[128], b[128];
	int fd;

	snprintf(a, sizeof a, "%s/spool.tmp", dir);
	snprintf(b, sizeof b, "%s/spool", dir);
	if ((fd = open(a, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0)
		return 10 + (errno & 0x3f);
	if (write(fd, "x", 1) != 1 || fsync(fd) != 0 || close(fd) != 0)
		return 1;
	if (rename(a, b) != 0 || unlink(b) != 0)
		return 2;
	return 0;
}

static void files_are_read_only_without_a_store(void **state)
{
	char path[128];
	int fd;

	(void)state;
	snprintf(path, sizeof path, "%s/old", dir);
	assert_true((fd = open(path, O_WRONLY | O_CREAT, 0600)) >= 0);
	close(fd);
	exited_zero(sandboxed(0, read_only_files));
	exited_zero(sandboxed(1, writing_files));
	assert_int_equal(access(path, F_OK), 0);
	unlink(path);
}

static void *nothing(void *arg)
{
	return arg;
}

/* What every role needs: threads, memory, pipes, waiting, time, a socket and a connection. */
static int the_basics(void)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001)};
	socklen_t len = sizeof sin;
	struct pollfd pfd;
	struct timespec ts;
	pthread_t t;
	void *p = malloc(1 << 20);
	int fds[2], l, c, a;

	if (!p || pthread_create(&t, NULL, nothing, NULL) != 0 || pthread_join(t, NULL) != 0)
		return 1;
	free(p);
	if (pipe2(fds, O_CLOEXEC) != 0 || write(fds[1], "x", 1) != 1)
		return 2;
	pfd = (struct pollfd){fds[0], POLLIN, 0};
	if (poll(&pfd, 1, 1000) != 1 || clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
		return 3;
	close(fds[0]);
	close(fds[1]);
	if ((l = socket(AF_INET, SOCK_STREAM, 0)) < 0 ||
	    bind(l, (struct sockaddr *)&sin, sizeof sin) != 0 || listen(l, 1) != 0 ||
	    getsockname(l, (struct sockaddr *)&sin, &len) != 0)
		return 4;
	if ((c = socket(AF_INET, SOCK_STREAM, 0)) < 0 ||
	    connect(c, (struct sockaddr *)&sin, sizeof sin) != 0 || (a = accept(l, NULL, NULL)) < 0)
		return 5;
	if (write(c, "EHLO", 4) != 4 || recv(a, fds, 4, 0) != 4)
		return 6;
	close(a);
	close(c);
	close(l);
	if (socket(AF_UNIX, SOCK_DGRAM, 0) < 0) /* syslog */
		return 7;
	return 0;
}

static void the_basics_work(void **state)
{
	(void)state;
	exited_zero(sandboxed(0, the_basics));
	exited_zero(sandboxed(1, the_basics));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(execve_kills_it),
	        cmocka_unit_test(fork_kills_it),
	        cmocka_unit_test(setuid_mount_personality_kill_it),
	        cmocka_unit_test(forbidden_calls_get_eperm),
	        cmocka_unit_test(files_are_read_only_without_a_store),
	        cmocka_unit_test(the_basics_work),
	        cmocka_unit_test(supervisor_starts_children_but_no_program),
	};
	int rc;

	if (!mkdtemp(dir))
		return 1;
	if ((rc = open(dir, O_TMPFILE | O_EXCL | O_RDWR | O_CLOEXEC, 0600)) >= 0) {
		dir_has_tmpfile = 1;
		close(rc);
	}
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	rmdir(dir);
	return rc;
}
