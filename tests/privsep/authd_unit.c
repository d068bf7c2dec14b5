/* tests/privsep/authd_unit.c — the auth process's messages, its answers, and its system-call filter. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "authd.h"
#include "submission_config.h"

static struct mvd_authd_req sample_req(void)
{
	struct mvd_authd_req r;

	memset(&r, 0, sizeof r);
	r.op = MVD_AUTHD_CHECK;
	r.mech = MVD_AUTHD_PLAIN;
	r.flags = MVD_AUTHD_SECURED;
	r.seq = 0x01020304;
	memcpy(r.ip, "2001:db8::25", 13);
	memcpy(r.authzid, "boss", 5);
	memcpy(r.login, "alice", 6);
	memcpy(r.secret, "s3cret pass", 11);
	r.secret_len = 11;
	return r;
}

static void request_round_trip(void **state)
{
	struct mvd_authd_req r = sample_req(), back;
	unsigned char buf[MVD_AUTHD_MAX_REQ];
	size_t n = mvd_authd_req_encode(&r, buf);

	(void)state;
	assert_int_equal(n, MVD_AUTHD_REQ_HEAD + 12 + 4 + 5 + 11);
	assert_int_equal(mvd_authd_req_parse(buf, n, &back), MV_OK);
	assert_int_equal(back.seq, r.seq);
	assert_int_equal(back.mech, MVD_AUTHD_PLAIN);
	assert_int_equal(back.flags, MVD_AUTHD_SECURED);
	assert_string_equal(back.ip, "2001:db8::25");
	assert_string_equal(back.authzid, "boss");
	assert_string_equal(back.login, "alice");
	assert_int_equal(back.secret_len, 11);
	assert_memory_equal(back.secret, "s3cret pass", 11);
	mvd_authd_req_wipe(&back, buf, n);
	assert_int_equal(back.secret_len, 0);
	for (size_t i = 0; i < sizeof back.secret; i++)
		assert_int_equal(back.secret[i], 0);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(buf[i], 0);
}

static void reply_round_trip(void **state)
{
	struct mvd_authd_rep r, back;
	unsigned char buf[MVD_AUTHD_MAX_REP];
	size_t n;

	(void)state;
	memset(&r, 0, sizeof r);
	r.status = MVD_AUTHD_FAIL;
	r.seq = 77;
	r.delay = 4;
	r.flags = MVD_AUTHD_NOW_BLOCKED;
	memcpy(r.reason, "wrong password", 15);
	n = mvd_authd_rep_encode(&r, buf);
	assert_int_equal(mvd_authd_rep_parse(buf, n, &back), MV_OK);
	assert_int_equal(back.status, MVD_AUTHD_FAIL);
	assert_int_equal(back.seq, 77);
	assert_int_equal(back.delay, 4);
	assert_int_equal(back.flags, MVD_AUTHD_NOW_BLOCKED);
	assert_string_equal(back.reason, "wrong password");
	memset(&r, 0, sizeof r);
	r.status = MVD_AUTHD_OK;
	memcpy(r.login, "alice@example.org", 18);
	n = mvd_authd_rep_encode(&r, buf);
	assert_int_equal(mvd_authd_rep_parse(buf, n, &back), MV_OK);
	assert_string_equal(back.login, "alice@example.org");
}

/* Change one byte of a good request; the parser must refuse it. */
static void refuse_req(size_t at, unsigned char v)
{
	struct mvd_authd_req r = sample_req(), back;
	unsigned char buf[MVD_AUTHD_MAX_REQ];
	size_t n = mvd_authd_req_encode(&r, buf);

	buf[at] = v;
	assert_int_not_equal(mvd_authd_req_parse(buf, n, &back), MV_OK);
}

static void request_lies_refused(void **state)
{
	struct mvd_authd_req r = sample_req(), back;
	unsigned char buf[MVD_AUTHD_MAX_REQ + 8];
	size_t n = mvd_authd_req_encode(&r, buf);

	(void)state;
	refuse_req(1, (unsigned char)(n + 1));          /* length field */
	refuse_req(2, 2);                               /* version */
	refuse_req(3, 2);                               /* op */
	refuse_req(8, 3);                               /* mech */
	refuse_req(9, 0x02);                            /* unknown flag */
	refuse_req(10, 13);                             /* ip length past the record's fields */
	refuse_req(13, 1);                              /* the zero byte */
	refuse_req(MVD_AUTHD_REQ_HEAD, 'x');            /* not an address character */
	refuse_req(MVD_AUTHD_REQ_HEAD + 12 + 4 + 1, 0); /* a NUL in the login */
	refuse_req(n - 1, 0);                           /* a NUL in the secret */
	/* truncated, one byte too many, too long for the protocol */
	assert_int_not_equal(mvd_authd_req_parse(buf, n - 1, &back), MV_OK);
	buf[n] = 'x';
	assert_int_not_equal(mvd_authd_req_parse(buf, n + 1, &back), MV_OK);
	assert_int_equal(mvd_authd_req_parse(buf, MVD_AUTHD_MAX_REQ + 1, &back), MV_ETOOBIG);
	assert_int_not_equal(mvd_authd_req_parse(buf, 3, &back), MV_OK);
	/* what the encoder will not send */
	r.secret_len = MVD_AUTHD_MAX_SECRET + 1;
	assert_int_equal(mvd_authd_req_encode(&r, buf), 0);
	r = sample_req();
	r.ip[0] = '\0';
	assert_int_equal(mvd_authd_req_encode(&r, buf), 0);
}

static void reply_lies_refused(void **state)
{
	struct mvd_authd_rep r, back;
	unsigned char buf[MVD_AUTHD_MAX_REP];
	size_t n;

	(void)state;
	memset(&r, 0, sizeof r);
	r.status = MVD_AUTHD_TEMPFAIL;
	memcpy(r.reason, "down", 5);
	n = mvd_authd_rep_encode(&r, buf);
	buf[3] = 9; /* unknown status */
	assert_int_not_equal(mvd_authd_rep_parse(buf, n, &back), MV_OK);
	buf[3] = MVD_AUTHD_TEMPFAIL;
	buf[8] = 2; /* a delay on a TEMPFAIL */
	assert_int_not_equal(mvd_authd_rep_parse(buf, n, &back), MV_OK);
	buf[8] = 0;
	buf[3] = MVD_AUTHD_OK; /* OK without a login */
	assert_int_not_equal(mvd_authd_rep_parse(buf, n, &back), MV_OK);
	buf[3] = MVD_AUTHD_TEMPFAIL;
	buf[n - 1] = '\n'; /* a control byte in the reason */
	assert_int_not_equal(mvd_authd_rep_parse(buf, n, &back), MV_OK);
	memset(&r, 0, sizeof r);
	r.status = MVD_AUTHD_OK;
	memcpy(r.login, "a\tb", 4); /* a login the log could not show */
	assert_int_equal(mvd_authd_rep_encode(&r, buf), 0);
}

/* The server's answer to one check through a password file. */
static struct mvd_authd_rep ask(struct mv_auth_backend *b, const struct mvd_submission_conf *sub,
                                const char *login, const char *secret, uint32_t seq)
{
	struct mvd_authd_req r = sample_req();
	struct mvd_authd_rep rep;
	unsigned char req[MVD_AUTHD_MAX_REQ], out[MVD_AUTHD_MAX_REP];
	size_t n, m;

	memcpy(r.ip, "192.0.2.7", 10);
	r.authzid[0] = '\0';
	snprintf(r.login, sizeof r.login, "%s", login);
	r.secret_len = strlen(secret);
	memcpy(r.secret, secret, r.secret_len);
	r.seq = seq;
	n = mvd_authd_req_encode(&r, req);
	assert_true(n > 0);
	m = mvd_authd_answer(b, sub, req, n, out);
	assert_int_equal(mvd_authd_rep_parse(out, m, &rep), MV_OK);
	assert_int_equal(rep.seq, seq);
	return rep;
}

/* A password file with one user; the back end that reads it. */
static struct mv_auth_backend *passwd_backend(char *path)
{
	char *hash = NULL, spec[128], err[256] = "";
	struct mv_auth_backend *b = NULL;
	FILE *f;
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(mv_passwd_hash(MV_PASSWD_SHA512, "right horse", 11, &hash), MV_OK);
	assert_non_null(f = fdopen(fd, "w"));
	fprintf(f, "carol:%s\n", hash);
	fclose(f);
	free(hash);
	snprintf(spec, sizeof spec, "passwd-file:%s", path);
	assert_int_equal(mv_auth_backend_open(spec, &b, err, sizeof err), MV_OK);
	return b;
}

static void answers_and_the_limiter(void **state)
{
	char path[] = "/tmp/authd-unit-XXXXXX";
	struct mv_auth_backend *b = passwd_backend(path);
	struct mvd_submission_conf sub;
	struct mvd_authd_rep rep;
	unsigned char out[MVD_AUTHD_MAX_REP], junk[4] = {0, 4, 1, 1};
	size_t m;

	(void)state;
	mvd_submission_conf_init(&sub);
	sub.auth_failures = 3;
	rep = ask(b, &sub, "carol", "right horse", 1);
	assert_int_equal(rep.status, MVD_AUTHD_OK);
	assert_string_equal(rep.login, "carol");
	rep = ask(b, &sub, "carol", "wrong", 2);
	assert_int_equal(rep.status, MVD_AUTHD_FAIL);
	assert_int_equal(rep.delay, 1);
	assert_int_equal(rep.flags, 0);
	rep = ask(b, &sub, "nobody", "wrong", 3);
	assert_int_equal(rep.status, MVD_AUTHD_FAIL);
	assert_int_equal(rep.delay, 2);
	rep = ask(b, &sub, "", "", 4); /* what the worker sends for a login too long */
	assert_int_equal(rep.status, MVD_AUTHD_FAIL);
	assert_int_equal(rep.flags, MVD_AUTHD_NOW_BLOCKED);
	/* Blocked now: even the right password is not tried. */
	rep = ask(b, &sub, "carol", "right horse", 5);
	assert_int_equal(rep.status, MVD_AUTHD_BLOCKED);
	assert_int_equal(rep.login[0], '\0');
	/* No back end configured: a temporary failure; junk: a bad request. */
	rep = ask(NULL, &sub, "carol", "right horse", 6);
	assert_int_equal(rep.status, MVD_AUTHD_TEMPFAIL);
	m = mvd_authd_answer(b, &sub, junk, sizeof junk, out);
	assert_int_equal(mvd_authd_rep_parse(out, m, &rep), MV_OK);
	assert_int_equal(rep.status, MVD_AUTHD_BAD_REQUEST);
	mv_auth_backend_free(b);
	unlink(path);
	mvd_submission_conf_free(&sub);
}

/* Run fn in a child under the filter; its wait status. */
static int sandboxed(int (*fn)(void), int inet)
{
	int status = 0;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		char err[128];
		if (mvd_authd_sandbox(inet, err, sizeof err) != 0)
			_exit(99);
		_exit(fn());
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return status;
}

static int start_a_process(void)
{
	return fork() >= 0 ? 4 : 5;
}

static int run_a_program(void)
{
	char *const argv[] = {"/bin/true", NULL};

	execv("/bin/true", argv);
	return 3;
}

/* Dovecot's socket is a unix one: allowed; an IP socket (to send passwords away) is not. */
static int sockets(void)
{
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	if (fd < 0)
		return 1;
	close(fd);
	if (socket(AF_INET, SOCK_STREAM, 0) >= 0 || errno != EPERM)
		return 2;
	if (socket(AF_NETLINK, SOCK_RAW, 0) >= 0 || errno != EPERM)
		return 3;
	return 0;
}

static int inet_sockets(void)
{
	int fd = socket(AF_INET6, SOCK_STREAM, 0);

	if (fd < 0)
		return 1;
	close(fd);
	return 0;
}

static void the_filter(void **state)
{
	int st;

	(void)state;
	st = sandboxed(start_a_process, 0);
	assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS);
	st = sandboxed(run_a_program, 0);
	assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS);
	st = sandboxed(sockets, 0);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	st = sandboxed(inet_sockets, 1); /* dovecot:inet: */
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(request_round_trip),      cmocka_unit_test(reply_round_trip),
	        cmocka_unit_test(request_lies_refused),    cmocka_unit_test(reply_lies_refused),
	        cmocka_unit_test(answers_and_the_limiter), cmocka_unit_test(the_filter),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
