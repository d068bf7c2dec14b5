/* cli/cmd_passwd.c — `mailvet passwd`: a password-file line (LOGIN:HASH) for the submission back end. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include <mailvet/auth.h>

#include "commands.h"

#define PW_MAX MV_SASL_FIELD_MAX

static void usage(FILE *f)
{
	fprintf(f, "usage: mailvet passwd [--method yescrypt|bcrypt|sha512] LOGIN\n"
	           "Reads a password from standard input (from a terminal: twice, without\n"
	           "echo; otherwise the first line) and prints LOGIN:HASH, a line for the\n"
	           "password file (sasl = passwd-file:PATH). Default method: yescrypt.\n"
	           "Exit status: 0 printed, 1 empty or mismatched password or bad LOGIN,\n"
	           "2 usage or system error.\n");
}

/* The terminal's settings while echo is off, to restore on exit or a signal. */
static struct termios saved_tty;
static volatile sig_atomic_t echo_off;

static void restore_echo(void)
{
	if (echo_off) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_tty);
		echo_off = 0;
	}
}

static void on_signal(int sig)
{
	restore_echo();
	signal(sig, SIG_DFL);
	raise(sig);
}

static int set_echo(int on)
{
	struct termios t;

	if (on) {
		restore_echo();
		return 0;
	}
	if (tcgetattr(STDIN_FILENO, &saved_tty) != 0)
		return -1;
	t = saved_tty;
	t.c_lflag &= ~(tcflag_t)ECHO;
	t.c_lflag |= ECHONL;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);
	echo_off = 1;
	return tcsetattr(STDIN_FILENO, TCSAFLUSH, &t);
}

/*
 * One line of standard input into buf[0..PW_MAX], without its line end,
 * read with read(2) so no stdio buffer keeps a copy. Returns the length,
 * -1 on a read error, -2 for a line over PW_MAX bytes.
 */
static long read_line(char *buf)
{
	size_t n = 0;
	ssize_t r;
	char c;

	for (;;) {
		r = read(STDIN_FILENO, &c, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0 || c == '\n')
			break;
		if (n == PW_MAX)
			return -2;
		buf[n++] = c;
	}
	if (n > 0 && buf[n - 1] == '\r')
		n--;
	buf[n] = '\0';
	return (long)n;
}

/* The password into pw: from a terminal asked twice. Exit status on failure, else 0. */
static int get_password(char *pw, size_t *len)
{
	static char again[PW_MAX + 1];
	int tty = isatty(STDIN_FILENO), rc = 0;
	long n, m = 0;

	if (tty && set_echo(0) != 0) {
		fprintf(stderr, "mailvet passwd: cannot turn echo off: %s\n", strerror(errno));
		return 2;
	}
	if (tty)
		fputs("Password: ", stderr);
	n = read_line(pw);
	if (tty && n >= 0) {
		fputs("Again: ", stderr);
		m = read_line(again);
	}
	set_echo(1);
	if (n == -1 || m == -1) {
		fprintf(stderr, "mailvet passwd: read: %s\n", strerror(errno));
		rc = 2;
	} else if (n == -2 || m == -2) {
		fprintf(stderr, "mailvet passwd: password longer than %d bytes\n", PW_MAX);
		rc = 1;
	} else if (n == 0) {
		fprintf(stderr, "mailvet passwd: empty password\n");
		rc = 1;
	} else if (tty && (n != m || CRYPTO_memcmp(pw, again, (size_t)n) != 0)) {
		fprintf(stderr, "mailvet passwd: the passwords differ\n");
		rc = 1;
	}
	OPENSSL_cleanse(again, sizeof again);
	*len = n > 0 ? (size_t)n : 0;
	return rc;
}

/* A login the password file can hold: printable, no ':' (the field separator), no space. */
static int login_ok(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	if (*p == '\0' || *p == '#' || strlen(s) > 255)
		return 0;
	for (; *p; p++)
		if (*p <= ' ' || *p == ':' || *p == 0x7f)
			return 0;
	return 1;
}

static int method_of(const char *s, enum mv_passwd_method *m)
{
	if (strcmp(s, "yescrypt") == 0)
		*m = MV_PASSWD_YESCRYPT;
	else if (strcmp(s, "bcrypt") == 0)
		*m = MV_PASSWD_BCRYPT;
	else if (strcmp(s, "sha512") == 0)
		*m = MV_PASSWD_SHA512;
	else
		return 0;
	return 1;
}

int mv_cli_passwd(int argc, char **argv)
{
	static const struct option longopts[] = {
	        {"method", required_argument, NULL, 'm'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	static char pw[PW_MAX + 1];
	enum mv_passwd_method method = MV_PASSWD_YESCRYPT;
	enum mv_status st;
	char *hash = NULL;
	size_t len = 0;
	int c, rc;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (c == 'h') {
			usage(stdout);
			return 0;
		}
		if (c != 'm' || !method_of(optarg, &method)) {
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc - 1) {
		usage(stderr);
		return 2;
	}
	if (!login_ok(argv[optind])) {
		fprintf(stderr, "mailvet passwd: LOGIN must be printable, without ':' or spaces\n");
		return 1;
	}
	if ((rc = get_password(pw, &len)) != 0)
		goto out;
	st = mv_passwd_hash(method, pw, len, &hash);
	if (st == MV_EINVAL) {
		fprintf(stderr, "mailvet passwd: password refused%s\n",
		        method == MV_PASSWD_BCRYPT && len > 72 ? " (bcrypt takes 72 bytes at most)"
		                                               : "");
		rc = 1;
	} else if (st != MV_OK) {
		fprintf(stderr, "mailvet passwd: cannot hash: %s\n", mv_status_str(st));
		rc = 2;
	} else {
		printf("%s:%s\n", argv[optind], hash);
		rc = fflush(stdout) == 0 ? 0 : 2;
	}
out:
	OPENSSL_cleanse(pw, sizeof pw);
	free(hash);
	return rc;
}
