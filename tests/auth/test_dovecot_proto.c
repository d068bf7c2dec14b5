/*
 * tests/auth/test_dovecot_proto.c — the Dovecot auth-client protocol against a
 * scripted server: what the AUTH request carries, and every odd answer (temp
 * failures, CONT, a wrong version, no PLAIN, an endless line, a hang-up) a
 * clear verdict. The real Dovecot is submission.dovecot_auth.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <cmocka.h>

#include <mailvet/auth.h>

#define HELLO                                                                                      \
	"VERSION\t1\t2\nMECH\tPLAIN\tplaintext\nMECH\tLOGIN\tplaintext\nSPID\t7\nCUID\t1\nCOOKIE"  \
	"\t0123abcd\nDONE\n"

/* One scripted conversation: the server's handshake, then its reply (%s: the request id). */
struct script {
	const char *hello;
	const char *reply;
	char request[4096]; /* the AUTH line the client sent */
	int fd;
};

static char sock_path[108];

static void send_all(int fd, const char *s, size_t n)
{
	ssize_t w;

	while (n > 0 && (w = send(fd, s, n, MSG_NOSIGNAL)) > 0) {
		s += w;
		n -= (size_t)w;
	}
}

/* Read until a line starting with "AUTH\t" has arrived; keep it in sc->request. */
static void read_request(int c, struct script *sc)
{
	char buf[8192];
	size_t len = 0;
	ssize_t r;
	char *a, *nl;

	while (len < sizeof buf - 1 && (r = recv(c, buf + len, sizeof buf - 1 - len, 0)) > 0) {
		len += (size_t)r;
		buf[len] = '\0';
		if ((a = strstr(buf, "AUTH\t")) != NULL && (nl = strchr(a, '\n')) != NULL) {
			snprintf(sc->request, sizeof sc->request, "%.*s", (int)(nl - a), a);
			return;
		}
	}
}

static void *serve(void *arg)
{
	struct script *sc = arg;
	char id[16] = "", out[32768];
	const char *mark;
	int c = accept(sc->fd, NULL, NULL);

	if (c < 0)
		return NULL;
	send_all(c, sc->hello, strlen(sc->hello));
	if (sc->reply != NULL) {
		read_request(c, sc);
		sscanf(sc->request, "AUTH\t%15[0-9]", id);
		if ((mark = strstr(sc->reply, "%s")) != NULL) /* the id goes where %s stands */
			snprintf(out, sizeof out, "%.*s%s%s", (int)(mark - sc->reply), sc->reply,
			         id, mark + 2);
		else
			snprintf(out, sizeof out, "%s", sc->reply);
		send_all(c, out, strlen(out));
	}
	close(c);
	return NULL;
}

/* Run one check against the script; the verdict, with err and the login. */
static enum mv_auth_verdict run(struct script *sc, const char *ip, char *err, size_t errlen,
                                char **who)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	struct mv_auth_backend *b = NULL;
	struct mv_auth_request rq = {NULL, "alice", "pw", 2, ip, 1};
	char spec[160];
	pthread_t th;
	enum mv_auth_verdict v;

	snprintf(sun.sun_path, sizeof sun.sun_path, "%s", sock_path);
	unlink(sock_path);
	sc->fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(sc->fd, (struct sockaddr *)&sun, sizeof sun), 0);
	assert_int_equal(listen(sc->fd, 1), 0);
	assert_int_equal(pthread_create(&th, NULL, serve, sc), 0);
	snprintf(spec, sizeof spec, "dovecot:%s", sock_path);
	assert_int_equal(mv_auth_backend_open(spec, &b, err, errlen), MV_OK);
	v = mv_auth_check(b, &rq, 2000, who, err, errlen);
	pthread_join(th, NULL);
	close(sc->fd);
	mv_auth_backend_free(b);
	return v;
}

static int setup(void **state)
{
	(void)state;
	snprintf(sock_path, sizeof sock_path, "/tmp/mv-dcproto-%ld", (long)getpid());
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(sock_path);
	return 0;
}

static void ok_carries_the_request_and_the_user(void **state)
{
	struct script sc = {HELLO, "OK\t%s\tuser=alice@example.org\n", "", -1};
	char err[200] = "", *who = NULL;

	(void)state;
	assert_int_equal(run(&sc, "192.0.2.9", err, sizeof err, &who), MV_AUTH_OK);
	assert_string_equal(who, "alice@example.org"); /* the server's name for the user */
	free(who);
	/* PLAIN "\0alice\0pw" = AGFsaWNlAHB3 */
	assert_non_null(strstr(sc.request, "\tPLAIN\tservice=smtp\t"));
	assert_non_null(strstr(sc.request, "\tsecured"));
	assert_non_null(strstr(sc.request, "\tno-penalty"));
	assert_non_null(strstr(sc.request, "\trip=192.0.2.9"));
	assert_non_null(strstr(sc.request, "\tresp=AGFsaWNlAHB3"));
}

static void ok_without_user_keeps_our_login(void **state)
{
	struct script sc = {HELLO, "OK\t%s\n", "", -1};
	char err[200] = "", *who = NULL;

	(void)state;
	assert_int_equal(run(&sc, NULL, err, sizeof err, &who), MV_AUTH_OK);
	assert_string_equal(who, "alice");
	free(who);
	assert_null(strstr(sc.request, "rip="));
}

static void hostile_ip_is_not_sent(void **state)
{
	struct script sc = {HELLO, "OK\t%s\n", "", -1};
	char err[200] = "";

	(void)state;
	assert_int_equal(run(&sc, "192.0.2.9\tuser=root", err, sizeof err, NULL), MV_AUTH_OK);
	assert_null(strstr(sc.request, "rip="));
	assert_null(strstr(sc.request, "root"));
}

static void fail_is_a_failure_and_temp_a_tempfail(void **state)
{
	struct script sc = {HELLO, "FAIL\t%s\treason=Password mismatch\n", "", -1};
	struct script tmp = {HELLO, "FAIL\t%s\ttemp\treason=db down\n", "", -1};
	char err[200] = "";

	(void)state;
	assert_int_equal(run(&sc, NULL, err, sizeof err, NULL), MV_AUTH_FAIL);
	assert_string_equal(err, "dovecot: Password mismatch");
	assert_int_equal(run(&tmp, NULL, err, sizeof err, NULL), MV_AUTH_TEMPFAIL);
	assert_string_equal(err, "dovecot: db down");
}

static void hostile_reply_texts_are_contained(void **state)
{
	struct script fail = {HELLO, "FAIL\t%s\treason=bad\001nLOG forged\n", "", -1};
	struct script user = {HELLO, "OK\t%s\tuser=alice\001r\001nX-Injected: 1\n", "", -1};
	char err[200] = "", *who = NULL;

	(void)state;
	assert_int_equal(run(&fail, NULL, err, sizeof err, NULL), MV_AUTH_FAIL);
	assert_string_equal(err, "dovecot: bad?LOG forged"); /* no line break for the log */
	assert_int_equal(run(&user, NULL, err, sizeof err, &who), MV_AUTH_TEMPFAIL);
	assert_null(who); /* a login with CR LF never reaches a header field */
	assert_string_equal(err, "dovecot: unprintable user= in OK");
}

static void replies_to_other_ids_are_skipped(void **state)
{
	struct script sc = {HELLO, "FAIL\t999999\nOK\t%s\n", "", -1};
	char err[200] = "";

	(void)state;
	assert_int_equal(run(&sc, NULL, err, sizeof err, NULL), MV_AUTH_OK);
}

static void odd_answers_are_tempfail(void **state)
{
	struct script cont = {HELLO, "CONT\t%s\tAAAA\n", "", -1};
	struct script v2 = {"VERSION\t2\t0\nMECH\tPLAIN\nDONE\n", "OK\t%s\n", "", -1};
	struct script noplain = {"VERSION\t1\t2\nMECH\tLOGIN\nDONE\n", "OK\t%s\n", "", -1};
	struct script hangup = {HELLO, "", "", -1};
	struct script nodone = {"VERSION\t1\t2\nMECH\tPLAIN\n", NULL, "", -1};
	char err[200] = "";

	(void)state;
	assert_int_equal(run(&cont, NULL, err, sizeof err, NULL), MV_AUTH_TEMPFAIL);
	assert_string_equal(err, "dovecot: unexpected CONT reply");
	assert_int_equal(run(&v2, NULL, err, sizeof err, NULL), MV_AUTH_TEMPFAIL);
	assert_string_equal(err, "dovecot: unsupported protocol version");
	assert_int_equal(run(&noplain, NULL, err, sizeof err, NULL), MV_AUTH_TEMPFAIL);
	assert_string_equal(err, "dovecot: server does not offer PLAIN");
	assert_int_equal(run(&hangup, NULL, err, sizeof err, NULL), MV_AUTH_TEMPFAIL);
	assert_string_equal(err, "dovecot: no answer");
	assert_int_equal(run(&nodone, NULL, err, sizeof err, NULL), MV_AUTH_TEMPFAIL);
	assert_string_equal(err, "dovecot: handshake cut short");
}

static void endless_line_is_refused(void **state)
{
	static char big[20000 + 1];
	struct script sc = {big, NULL, "", -1};
	char err[200] = "";

	(void)state;
	memset(big, 'A', sizeof big - 1);
	assert_int_equal(run(&sc, NULL, err, sizeof err, NULL), MV_AUTH_TEMPFAIL);
	assert_string_equal(err, "dovecot: line too long in handshake");
}

static void endless_handshake_is_refused(void **state)
{
	static char many[100 * 12 + 1];
	struct script sc = {many, NULL, "", -1};
	char err[200] = "";
	int i;

	(void)state;
	for (i = 0; i < 100; i++)
		memcpy(many + i * 12, "SPID\t123456\n", 12);
	assert_int_equal(run(&sc, NULL, err, sizeof err, NULL), MV_AUTH_TEMPFAIL);
	assert_string_equal(err, "dovecot: handshake too long");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(ok_carries_the_request_and_the_user),
	        cmocka_unit_test(ok_without_user_keeps_our_login),
	        cmocka_unit_test(hostile_ip_is_not_sent),
	        cmocka_unit_test(fail_is_a_failure_and_temp_a_tempfail),
	        cmocka_unit_test(hostile_reply_texts_are_contained),
	        cmocka_unit_test(replies_to_other_ids_are_skipped),
	        cmocka_unit_test(odd_answers_are_tempfail),
	        cmocka_unit_test(endless_line_is_refused),
	        cmocka_unit_test(endless_handshake_is_refused),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
