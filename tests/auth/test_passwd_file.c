/* tests/auth/test_passwd_file.c — password hashes and the passwd-file back end. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <unistd.h>
#include <cmocka.h>

#include <mailvet/auth.h>

static char dir[64];

static int make_dir(void **state)
{
	(void)state;
	snprintf(dir, sizeof dir, "/tmp/mv-auth-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int remove_dir(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* Write text to DIR/name; the path in a static buffer. */
static const char *write_file(const char *name, const char *text)
{
	static char path[128];
	FILE *f;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	assert_non_null(f = fopen(path, "w"));
	fputs(text, f);
	fclose(f);
	return path;
}

static char *hash(enum mv_passwd_method m, const char *pw)
{
	char *h = NULL;

	assert_int_equal(mv_passwd_hash(m, pw, strlen(pw), &h), MV_OK);
	return h;
}

static enum mv_auth_verdict check(struct mv_auth_backend *b, const char *login, const char *pw)
{
	struct mv_auth_request rq = {NULL, login, pw, strlen(pw), "192.0.2.1", 1};
	char err[128], *who = NULL;
	enum mv_auth_verdict v = mv_auth_check(b, &rq, 1000, &who, err, sizeof err);

	assert_false(strstr(err, pw) && pw[0]); /* no password in any reason */
	if (v == MV_AUTH_OK)
		assert_string_equal(who, login);
	else
		assert_null(who);
	free(who);
	return v;
}

static struct mv_auth_backend *open_file(const char *text)
{
	char spec[160], err[200];
	struct mv_auth_backend *b = NULL;

	snprintf(spec, sizeof spec, "passwd-file:%s", write_file("passwd", text));
	assert_int_equal(mv_auth_backend_open(spec, &b, err, sizeof err), MV_OK);
	return b;
}

static void each_method_hashes_and_checks(void **state)
{
	static const char *const prefix[] = {"$y$", "$2b$", "$6$"};
	char text[1024];
	char *h[3];
	struct mv_auth_backend *b;
	int i;

	(void)state;
	for (i = 0; i < 3; i++) {
		h[i] = hash((enum mv_passwd_method)i, "correct horse");
		assert_memory_equal(h[i], prefix[i], strlen(prefix[i]));
		assert_true(mv_passwd_hash_allowed(h[i]));
	}
	snprintf(text, sizeof text,
	         "# users\n\nyes:%s\nbcrypt:%s:1000:1000::/home/b:/bin/sh\r\nsha:%s\n", h[0], h[1],
	         h[2]);
	b = open_file(text);
	assert_int_equal(check(b, "yes", "correct horse"), MV_AUTH_OK);
	assert_int_equal(check(b, "bcrypt", "correct horse"), MV_AUTH_OK);
	assert_int_equal(check(b, "sha", "correct horse"), MV_AUTH_OK);
	assert_int_equal(check(b, "sha", "correct horse "), MV_AUTH_FAIL);
	assert_int_equal(check(b, "yes", ""), MV_AUTH_FAIL);
	assert_int_equal(check(b, "YES", "correct horse"), MV_AUTH_FAIL); /* logins are exact */
	mv_auth_backend_free(b);
	for (i = 0; i < 3; i++)
		free(h[i]);
}

static void unknown_login_fails_after_a_hash(void **state)
{
	char *h = hash(MV_PASSWD_SHA512, "pw"), text[256], err[64];
	struct mv_auth_request rq = {NULL, "nobody", "pw", 2, NULL, 0};
	struct mv_auth_backend *b;

	(void)state;
	snprintf(text, sizeof text, "alice:%s\n", h);
	b = open_file(text);
	assert_int_equal(mv_auth_check(b, &rq, 1000, NULL, err, sizeof err), MV_AUTH_FAIL);
	assert_string_equal(err, "unknown login");
	mv_auth_backend_free(b);
	b = open_file("# nobody yet\n"); /* an empty file still answers (with a yescrypt cost) */
	assert_int_equal(check(b, "alice", "pw"), MV_AUTH_FAIL);
	mv_auth_backend_free(b);
	free(h);
}

/* The load error for a one-line file holding line. */
static void assert_refused(const char *line, const char *why)
{
	char spec[160], err[256], want[256];
	struct mv_auth_backend *b = NULL;
	const char *path = write_file("bad", line);

	snprintf(spec, sizeof spec, "passwd-file:%s", path);
	assert_int_equal(mv_auth_backend_open(spec, &b, err, sizeof err), MV_ESYNTAX);
	assert_null(b);
	snprintf(want, sizeof want, "%s:2: ", path);
	assert_memory_equal(err, want, strlen(want)); /* names file:line */
	assert_non_null(strstr(err, why));
}

static void weak_hashes_are_refused_at_load(void **state)
{
	(void)state;
	assert_refused("# x\nalice:secret\n", "plain-text password or DES");
	assert_refused("# x\nalice:{PLAIN}secret\n", "plain-text password refused");
	assert_refused("# x\nalice:aaQSqAReePlq6\n", "DES"); /* a DES crypt */
	assert_refused("# x\nalice:$1$abc$kAbjLBlfOG6CY4sR3e16o1\n", "MD5-crypt");
	assert_refused("# x\nalice:$5$salt$Gcm6FsVtF/Qa77ZKD.iwsJlCVPY0XSMgLJL0Hnww/c1\n",
	               "hash method refused");
	assert_refused("# x\nalice\n", "no ':'");
	assert_refused("# x\n:$6$a$b\n", "empty login");
	assert_refused("# x\nalice:\n", "empty hash");
}

static void duplicate_login_is_refused(void **state)
{
	char *h = hash(MV_PASSWD_SHA512, "pw"), text[512], spec[160], err[200];
	struct mv_auth_backend *b = NULL;

	(void)state;
	snprintf(text, sizeof text, "alice:%s\nalice:%s\n", h, h);
	snprintf(spec, sizeof spec, "passwd-file:%s", write_file("dup", text));
	assert_int_equal(mv_auth_backend_open(spec, &b, err, sizeof err), MV_ESYNTAX);
	assert_non_null(strstr(err, "alice appears twice"));
	free(h);
}

static void reload_swaps_the_table_and_keeps_it_on_error(void **state)
{
	char *h1 = hash(MV_PASSWD_SHA512, "one"), *h2 = hash(MV_PASSWD_SHA512, "two");
	char text[512], err[200];
	struct mv_auth_backend *b;

	(void)state;
	snprintf(text, sizeof text, "alice:%s\n", h1);
	b = open_file(text);
	assert_int_equal(check(b, "alice", "one"), MV_AUTH_OK);
	snprintf(text, sizeof text, "alice:%s\nbob:%s\n", h2, h1);
	write_file("passwd", text);
	assert_int_equal(mv_auth_backend_reload(b, err, sizeof err), MV_OK);
	assert_int_equal(check(b, "alice", "one"), MV_AUTH_FAIL);
	assert_int_equal(check(b, "alice", "two"), MV_AUTH_OK);
	assert_int_equal(check(b, "bob", "one"), MV_AUTH_OK);
	write_file("passwd", "alice:plain\n");
	assert_int_equal(mv_auth_backend_reload(b, err, sizeof err), MV_ESYNTAX);
	assert_int_equal(check(b, "alice", "two"), MV_AUTH_OK); /* the old table stands */
	mv_auth_backend_free(b);
	free(h1);
	free(h2);
}

static struct mv_auth_backend *shared;
static const char *shared_pw;

static void *checker(void *arg)
{
	struct mv_auth_request rq = {NULL, "alice", NULL, 0, NULL, 0};
	long i, *bad = arg;

	rq.password = shared_pw;
	rq.password_len = strlen(shared_pw);
	for (i = 0; i < 40; i++)
		if (mv_auth_check(shared, &rq, 1000, NULL, NULL, 0) != MV_AUTH_OK)
			(*bad)++;
	return NULL;
}

/* Checks running while the file is reloaded always see a whole table (and ASan no
 * use after free): every reload keeps alice's password. */
static void reload_while_checking(void **state)
{
	char *h = hash(MV_PASSWD_SHA512, "same"), text[512], err[200];
	pthread_t th[2];
	long bad[2] = {0, 0};
	int i;

	(void)state;
	snprintf(text, sizeof text, "alice:%s\n", h);
	shared = open_file(text);
	shared_pw = "same";
	for (i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&th[i], NULL, checker, &bad[i]), 0);
	for (i = 0; i < 20; i++) {
		snprintf(text, sizeof text, "# reload %d\nbob%d:%s\nalice:%s\n", i, i, h, h);
		write_file("passwd", text);
		assert_int_equal(mv_auth_backend_reload(shared, err, sizeof err), MV_OK);
	}
	for (i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	assert_int_equal(bad[0] + bad[1], 0);
	mv_auth_backend_free(shared);
	free(h);
}

static void backend_spec_picks_the_back_end(void **state)
{
	struct mv_auth_backend *b = NULL;
	char err[200];

	(void)state;
	assert_int_equal(mv_auth_backend_open("ldap:x", &b, err, sizeof err), MV_EINVAL);
	assert_int_equal(mv_auth_backend_open("passwd-file:", &b, err, sizeof err), MV_EINVAL);
	assert_int_equal(mv_auth_backend_open("passwd-file:/nonexistent/x", &b, err, sizeof err),
	                 MV_EIO);
	assert_int_equal(mv_auth_backend_open("dovecot:inet:localhost", &b, err, sizeof err),
	                 MV_ESYNTAX);
	assert_int_equal(mv_auth_backend_open("dovecot:inet:[::1]:12345", &b, err, sizeof err),
	                 MV_OK);
	mv_auth_backend_free(b);
	assert_int_equal(
	        mv_auth_backend_open("dovecot:/run/dovecot/auth-client", &b, err, sizeof err),
	        MV_OK);
	assert_int_equal(mv_auth_backend_reload(b, err, sizeof err), MV_OK);
	mv_auth_backend_free(b);
}

static void overlong_credentials_fail_without_a_lookup(void **state)
{
	static char big[MV_SASL_FIELD_MAX + 2];
	struct mv_auth_backend *b = open_file("# empty\n");
	struct mv_auth_request rq = {NULL, "alice", big, sizeof big - 1, NULL, 0};
	char err[100];

	(void)state;
	memset(big, 'x', sizeof big - 1);
	assert_int_equal(mv_auth_check(b, &rq, 1000, NULL, err, sizeof err), MV_AUTH_FAIL);
	assert_string_equal(err, "login or password too long");
	rq.login = big;
	rq.password = "pw";
	rq.password_len = 2;
	assert_int_equal(mv_auth_check(b, &rq, 1000, NULL, err, sizeof err), MV_AUTH_FAIL);
	mv_auth_backend_free(b);
}

static void hash_refuses_what_it_cannot_keep(void **state)
{
	char *h = NULL, long_pw[80];

	(void)state;
	assert_int_equal(mv_passwd_hash(MV_PASSWD_SHA512, "a\0b", 3, &h), MV_EINVAL);
	memset(long_pw, 'x', sizeof long_pw);
	assert_int_equal(mv_passwd_hash(MV_PASSWD_BCRYPT, long_pw, sizeof long_pw, &h), MV_EINVAL);
	assert_null(h);
	assert_false(mv_passwd_hash_allowed("$1$abc$def"));
	assert_false(mv_passwd_hash_allowed("{PLAIN}x"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(each_method_hashes_and_checks),
	        cmocka_unit_test(unknown_login_fails_after_a_hash),
	        cmocka_unit_test(weak_hashes_are_refused_at_load),
	        cmocka_unit_test(duplicate_login_is_refused),
	        cmocka_unit_test(reload_swaps_the_table_and_keeps_it_on_error),
	        cmocka_unit_test(reload_while_checking),
	        cmocka_unit_test(backend_spec_picks_the_back_end),
	        cmocka_unit_test(overlong_credentials_fail_without_a_lookup),
	        cmocka_unit_test(hash_refuses_what_it_cannot_keep),
	};
	return cmocka_run_group_tests(tests, make_dir, remove_dir);
}
