/*
 * tests/auth/dovecot_auth.c — submission.dovecot_auth: the Dovecot back end
 * against a real Dovecot (Debian's dovecot-core) started here with its own
 * configuration and passwd-file, over its unix socket and over TCP; and a
 * socket that never answers, which must time out cleanly. A Dovecot that
 * does not start is a failure, not a skip.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include <mailvet/auth.h>

static char dir[64];
static pid_t dovecot_pid = -1;
static int inet_port;

static const char conf_fmt[] = "base_dir = %s/run\n"
                               "state_dir = %s/state\n"
                               "log_path = %s/dovecot.log\n"
                               "instance_name = mailvet-test-%ld\n"
                               "protocols =\n"
                               "ssl = no\n"
                               "disable_plaintext_auth = no\n"
                               "auth_mechanisms = plain login\n"
                               "auth_failure_delay = 0\n"
                               "passdb {\n"
                               "  driver = passwd-file\n"
                               "  args = scheme=CRYPT %s/passwd\n"
                               "}\n"
                               "service auth {\n"
                               "  unix_listener auth-client {\n"
                               "    mode = 0666\n"
                               "  }\n"
                               "  inet_listener auth-inet {\n"
                               "    address = 127.0.0.1\n"
                               "    port = %d\n"
                               "  }\n"
                               "}\n";

static void write_file(const char *name, const char *text)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	if ((f = fopen(path, "w")) == NULL)
		fail_msg("%s: %s", path, strerror(errno));
	fputs(text, f);
	fclose(f);
}

/*
 * A TCP port on 127.0.0.1 for Dovecot, picked the way tests/daemon/testports.py
 * picks them all: outside the kernel's ephemeral range (where bind(0) ports and
 * every outgoing connection's source port come from), reserved for this process
 * by an exclusive flock on /tmp/mailvet-test-ports/PORT that stays held until it
 * exits (the fd is never closed), and free for a bind now. So neither a parallel
 * test nor a client connection takes it before Dovecot binds it.
 */
static int free_port(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	const char *lockdir = "/tmp/mailvet-test-ports";
	long lo = 32768, hi = 60999, first, last;
	char path[64];
	FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");
	int i, port, fd, s, ok;

	if (f != NULL) {
		if (fscanf(f, "%ld %ld", &lo, &hi) != 2)
			lo = 32768, hi = 60999;
		fclose(f);
	}
	if (lo - 1 - 20000 >= 1000)
		first = 20000, last = lo - 1;
	else if (65535 - (hi + 1) >= 1000)
		first = hi + 1, last = 65535;
	else
		return -1;
	if (mkdir(lockdir, 01777) == 0)
		chmod(lockdir, 01777); /* every user's tests share it */
	srand((unsigned)getpid() ^ (unsigned)time(NULL));
	for (i = 0; i < 2000; i++) {
		port = (int)(first + rand() % (last - first + 1));
		snprintf(path, sizeof path, "%s/%d", lockdir, port);
		/* Read-only: flock needs no write access to another user's lock file. */
		if ((fd = open(path, O_RDONLY | O_CREAT | O_CLOEXEC, 0666)) < 0)
			continue;
		if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
			close(fd);
			continue;
		}
		sa.sin_port = htons((uint16_t)port);
		s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		ok = s >= 0 && bind(s, (struct sockaddr *)&sa, sizeof sa) == 0;
		if (s >= 0)
			close(s);
		if (ok)
			return port; /* fd stays open: the port is ours until we exit */
		close(fd);
	}
	return -1;
}

static void write_config(void)
{
	char *yes = NULL, *sha = NULL, text[2048];

	assert_int_equal(mv_passwd_hash(MV_PASSWD_YESCRYPT, "right horse", 11, &yes), MV_OK);
	assert_int_equal(mv_passwd_hash(MV_PASSWD_SHA512, "s3cret pw", 9, &sha), MV_OK);
	snprintf(text, sizeof text, "alice:{CRYPT}%s\nbob:{CRYPT}%s\n", yes, sha);
	write_file("passwd", text);
	free(yes);
	free(sha);
	snprintf(text, sizeof text, conf_fmt, dir, dir, dir, (long)getpid(), dir, inet_port);
	write_file("dovecot.conf", text);
}

/* Wait up to 15 s for path (the auth-client socket) and the TCP port to be there. */
static int wait_ready(const char *sock)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	struct stat st;
	int i, fd, up;

	sa.sin_port = htons((uint16_t)inet_port);
	for (i = 0; i < 150; i++) {
		if (waitpid(dovecot_pid, NULL, WNOHANG) == dovecot_pid) {
			dovecot_pid = -1;
			return -1; /* it exited */
		}
		fd = socket(AF_INET, SOCK_STREAM, 0);
		up = stat(sock, &st) == 0 && connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
		close(fd);
		if (up)
			return 0;
		usleep(100000);
	}
	return -1;
}

static void print_log(void)
{
	char cmd[128];

	snprintf(cmd, sizeof cmd, "cat %s/dovecot.log >&2", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "(no Dovecot log)\n");
}

static int start_dovecot(void **state)
{
	char conf[128], sock[128], run[128];

	(void)state;
	snprintf(dir, sizeof dir, "/tmp/mv-dovecot-XXXXXX");
	if (mkdtemp(dir) == NULL || (inet_port = free_port()) < 0)
		return -1;
	snprintf(run, sizeof run, "%s/run", dir);
	mkdir(run, 0755);
	snprintf(run, sizeof run, "%s/state", dir);
	mkdir(run, 0755);
	chmod(dir, 0755); /* Dovecot's unprivileged processes read the passwd-file */
	write_config();
	snprintf(conf, sizeof conf, "%s/dovecot.conf", dir);
	snprintf(sock, sizeof sock, "%s/run/auth-client", dir);
	if ((dovecot_pid = fork()) == 0) {
		execlp("dovecot", "dovecot", "-F", "-c", conf, (char *)NULL);
		_exit(127);
	}
	if (dovecot_pid < 0 || wait_ready(sock) != 0) {
		fprintf(stderr, "submission.dovecot_auth: Dovecot did not start\n");
		print_log();
		return -1;
	}
	return 0;
}

static int stop_dovecot(void **state)
{
	char cmd[128];
	int i;

	(void)state;
	if (dovecot_pid > 0) {
		kill(dovecot_pid, SIGTERM);
		for (i = 0; i < 100 && waitpid(dovecot_pid, NULL, WNOHANG) != dovecot_pid; i++)
			usleep(100000);
		if (i == 100) {
			kill(dovecot_pid, SIGKILL);
			waitpid(dovecot_pid, NULL, 0);
		}
	}
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static enum mv_auth_verdict check(const char *spec, const char *login, const char *pw,
                                  unsigned timeout_ms, char *err, size_t errlen)
{
	struct mv_auth_backend *b = NULL;
	struct mv_auth_request rq = {NULL, login, pw, strlen(pw), "192.0.2.7", 1};
	char *who = NULL;
	enum mv_auth_verdict v;

	assert_int_equal(mv_auth_backend_open(spec, &b, err, errlen), MV_OK);
	v = mv_auth_check(b, &rq, timeout_ms, &who, err, errlen);
	if (v == MV_AUTH_OK) {
		assert_non_null(who);
		assert_string_equal(who, login);
	} else {
		assert_null(who);
	}
	if (pw[0] != '\0')
		assert_null(strstr(err, pw)); /* no password in any reason */
	if (v != MV_AUTH_OK)
		fprintf(stderr, "  %s %s: %s\n", spec, login, err);
	free(who);
	mv_auth_backend_free(b);
	return v;
}

static void unix_socket(char *spec, size_t n)
{
	snprintf(spec, n, "dovecot:%s/run/auth-client", dir);
}

static void right_password_is_accepted(void **state)
{
	char spec[160], err[200] = "";

	(void)state;
	unix_socket(spec, sizeof spec);
	assert_int_equal(check(spec, "alice", "right horse", 5000, err, sizeof err), MV_AUTH_OK);
	assert_int_equal(check(spec, "bob", "s3cret pw", 5000, err, sizeof err), MV_AUTH_OK);
}

static void wrong_password_is_refused(void **state)
{
	char spec[160], err[200] = "";

	(void)state;
	unix_socket(spec, sizeof spec);
	assert_int_equal(check(spec, "alice", "wrong horse", 5000, err, sizeof err), MV_AUTH_FAIL);
	assert_int_equal(check(spec, "bob", "", 5000, err, sizeof err), MV_AUTH_FAIL);
}

static void unknown_user_is_refused(void **state)
{
	char spec[160], err[200] = "";

	(void)state;
	unix_socket(spec, sizeof spec);
	assert_int_equal(check(spec, "mallory", "right horse", 5000, err, sizeof err),
	                 MV_AUTH_FAIL);
}

static void inet_listener_works_too(void **state)
{
	char spec[160], err[200] = "";

	(void)state;
	snprintf(spec, sizeof spec, "dovecot:inet:127.0.0.1:%d", inet_port);
	assert_int_equal(check(spec, "alice", "right horse", 5000, err, sizeof err), MV_AUTH_OK);
	assert_int_equal(check(spec, "alice", "right hors", 5000, err, sizeof err), MV_AUTH_FAIL);
}

static void silent_socket_times_out_cleanly(void **state)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	struct timespec t0, t1;
	char spec[160], err[200] = "";
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	long ms;

	(void)state;
	snprintf(sun.sun_path, sizeof sun.sun_path, "%s/silent", dir);
	assert_int_equal(bind(fd, (struct sockaddr *)&sun, sizeof sun), 0);
	assert_int_equal(listen(fd, 4), 0); /* accepted by the kernel, never answered */
	snprintf(spec, sizeof spec, "dovecot:%s", sun.sun_path);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(check(spec, "alice", "right horse", 500, err, sizeof err),
	                 MV_AUTH_TEMPFAIL);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	assert_true(ms >= 450 && ms < 3000);
	assert_non_null(strstr(err, "timeout"));
	close(fd);
	/* nobody there at all: a prompt temporary failure */
	snprintf(spec, sizeof spec, "dovecot:%s/nobody", dir);
	assert_int_equal(check(spec, "alice", "x", 500, err, sizeof err), MV_AUTH_TEMPFAIL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(right_password_is_accepted),
	        cmocka_unit_test(wrong_password_is_refused),
	        cmocka_unit_test(unknown_user_is_refused),
	        cmocka_unit_test(inet_listener_works_too),
	        cmocka_unit_test(silent_socket_times_out_cleanly),
	};
	return cmocka_run_group_tests(tests, start_dovecot, stop_dovecot);
}
