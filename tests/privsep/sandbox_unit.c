/* tests/privsep/sandbox_unit.c — the key process's system-call filter: what it allows, what kills. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "keyd.h"

/* Run fn in a child under the filter; its wait status. */
static int sandboxed(int (*fn)(void))
{
	int status = 0;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		char err[128];
		if (mvd_keyd_sandbox(err, sizeof err) != 0)
			_exit(99);
		_exit(fn());
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return status;
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

/* What a reload and a request need still works; a new socket (to send keys away) does not. */
static int the_key_process_work(void)
{
	char buf[16];
	int fd = open("../daemon/data/ed1.pem", O_RDONLY);
	void *p = malloc(1 << 20);

	if (fd < 0)
		return 10 + (errno & 0x3f);
	if (read(fd, buf, sizeof buf) != (ssize_t)sizeof buf || !p)
		return 1;
	close(fd);
	free(p);
	if (socket(AF_INET, SOCK_STREAM, 0) >= 0 || errno != EPERM)
		return 2;
	return 0;
}

static void *nothing(void *arg)
{
	return arg;
}

static int start_a_thread(void)
{
	pthread_t t;

	if (pthread_create(&t, NULL, nothing, NULL) != 0)
		return 1;
	pthread_join(t, NULL);
	return 0;
}

static void execve_kills_it(void **state)
{
	int st = sandboxed(run_a_program);

	(void)state;
	assert_true(WIFSIGNALED(st));
	assert_int_equal(WTERMSIG(st), SIGSYS);
}

static void fork_kills_it(void **state)
{
	int st = sandboxed(start_a_process);

	(void)state;
	assert_true(WIFSIGNALED(st));
	assert_int_equal(WTERMSIG(st), SIGSYS);
}

static void reading_files_and_threads_are_allowed_sockets_refused(void **state)
{
	int st = sandboxed(the_key_process_work);

	(void)state;
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0); /* 10 + errno: the open failed */
	st = sandboxed(start_a_thread);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(execve_kills_it),
	        cmocka_unit_test(fork_kills_it),
	        cmocka_unit_test(reading_files_and_threads_are_allowed_sockets_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
