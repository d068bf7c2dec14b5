/* cli/args.c — option-argument helpers shared by the subcommands. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mailvet/util.h>

#include "commands.h"

int mv_cli_number(const char *s, long long min, long long max, long long *v)
{
	char *end;
	long long n;

	errno = 0;
	n = strtoll(s, &end, 10);
	if (errno || end == s || *end != '\0' || n < min || n > max)
		return -1;
	*v = n;
	return 0;
}

/*
 * A private key others can read is a key others may have: say so on stderr
 * (not fatal: the key still works), as ssh does for identity files. The
 * mode is that of the file read (stat follows a link as the read did).
 */
static void warn_open_mode(const char *cmd, const char *path)
{
	struct stat sb;

	if (stat(path, &sb) == 0 && S_ISREG(sb.st_mode) && (sb.st_mode & (S_IRWXG | S_IRWXO)))
		fprintf(stderr,
		        "mailvet %s: warning: private key %s is accessible by group or others"
		        " (mode %04o); chmod 600 it\n",
		        cmd, path, (unsigned)(sb.st_mode & 07777));
}

int mv_cli_load_signkey(const char *cmd, const char *path, struct mv_dkim_signkey **key)
{
	char *pem = NULL, err[160];
	size_t len;
	enum mv_status st;

	if ((st = mv_read_file(path, 1 << 20, &pem, &len)) != MV_OK) {
		fprintf(stderr, "mailvet %s: %s: %s\n", cmd, path, mv_cli_read_error(st));
		return 2;
	}
	warn_open_mode(cmd, path);
	st = mv_dkim_signkey_pem(pem, len, key, err, sizeof err);
	free(pem);
	if (st != MV_OK) {
		fprintf(stderr, "mailvet %s: %s: %s\n", cmd, path, err);
		return 2;
	}
	return 0;
}

const char *mv_cli_read_error(enum mv_status st)
{
	return st == MV_EIO && errno ? strerror(errno) : mv_status_str(st);
}

int mv_cli_ip_valid(const char *s)
{
	unsigned char addr[16];

	return inet_pton(AF_INET, s, addr) == 1 || inet_pton(AF_INET6, s, addr) == 1;
}

const char *mv_cli_authserv_id(void)
{
	static char host[256];

	if (gethostname(host, sizeof host) != 0 || !host[0])
		snprintf(host, sizeof host, "localhost");
	host[sizeof host - 1] = '\0';
	return host;
}
