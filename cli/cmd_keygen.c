/* cli/cmd_keygen.c — `mailvet keygen`: a DKIM key pair, the private key to a file, the record to publish. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mailvet/dkim.h>

#include "commands.h"

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: mailvet keygen --algorithm rsa|ed25519 [--bits N] --domain D --selector S\n"
	        "                      [--out FILE] [--force]\n"
	        "Writes the private key (PKCS#8 PEM, mode 0600) to FILE (default\n"
	        "S._domainkey.D.pem) and prints the TXT record to publish, as a zone-file line.\n"
	        "--bits: RSA modulus size, 1024..8192 (default 2048).\n"
	        "FILE must not exist (a symbolic link counts as existing and is never\n"
	        "followed); --force removes what is there (the link, not its target) first.\n");
}

static void say_exists(const char *path)
{
	fprintf(stderr, "mailvet keygen: %s exists; not replaced without --force\n", path);
}

/*
 * Create path for the private key: a new file of mode 0600, never through a
 * symbolic link (O_EXCL refuses any existing name, a link included, and
 * O_NOFOLLOW says so twice). With force, what is at path is unlinked first:
 * a link itself, never the file it points to. Returns the descriptor, or -1
 * after saying why on stderr.
 */
static int create_private(const char *path, int force)
{
	int fd;

	if (force && unlink(path) != 0 && errno != ENOENT) {
		fprintf(stderr, "mailvet keygen: %s: cannot remove: %s\n", path, strerror(errno));
		return -1;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0 && errno == EEXIST)
		say_exists(path);
	else if (fd < 0)
		fprintf(stderr, "mailvet keygen: %s: %s\n", path, strerror(errno));
	else if (fchmod(fd, 0600) != 0) { /* whatever the umask left */
		fprintf(stderr, "mailvet keygen: %s: %s\n", path, strerror(errno));
		close(fd);
		unlink(path);
		fd = -1;
	}
	return fd;
}

/* Write pem to fd and close it; on failure the half-written path is removed. */
static int write_private(int fd, const char *path, const char *pem)
{
	size_t len = strlen(pem), done = 0;
	int rc = 0;

	while (done < len) {
		ssize_t n = write(fd, pem + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = 2;
			break;
		}
		done += (size_t)n;
	}
	if (close(fd) != 0)
		rc = 2;
	if (rc != 0) {
		fprintf(stderr, "mailvet keygen: %s: %s\n", path, strerror(errno));
		unlink(path);
	}
	return rc;
}

/* owner TXT "..." "...": strings of at most 255 bytes (RFC 1035 §3.3.14). */
static void print_record(const char *selector, const char *domain, const char *rec)
{
	size_t len = strlen(rec), i;

	printf("%s._domainkey.%s. TXT", selector, domain);
	for (i = 0; i < len; i += 255)
		printf(" \"%.*s\"", (int)(len - i < 255 ? len - i : 255), rec + i);
	printf("\n");
}

int mv_cli_keygen(int argc, char **argv)
{
	static const struct option longopts[] = {
	        {"algorithm", required_argument, NULL, 'a'},
	        {"bits", required_argument, NULL, 'b'},
	        {"domain", required_argument, NULL, 'd'},
	        {"selector", required_argument, NULL, 's'},
	        {"out", required_argument, NULL, 'o'},
	        {"force", no_argument, NULL, 'f'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	const char *alg = NULL, *domain = NULL, *selector = NULL, *out = NULL;
	char outbuf[1024], *pem = NULL, *rec = NULL, *end;
	struct mv_dkim_signkey *key = NULL;
	unsigned long bits = 2048;
	enum mv_status st;
	struct stat sb;
	int c, rc = 2, force = 0, fd;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'a':
			alg = optarg;
			break;
		case 'b':
			errno = 0;
			bits = strtoul(optarg, &end, 10);
			if (errno || *end != '\0' || end == optarg) {
				fprintf(stderr, "mailvet keygen: bad --bits %s\n", optarg);
				return 2;
			}
			break;
		case 'd':
			domain = optarg;
			break;
		case 's':
			selector = optarg;
			break;
		case 'o':
			out = optarg;
			break;
		case 'f':
			force = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (alg == NULL || domain == NULL || selector == NULL || optind != argc ||
	    (strcmp(alg, "rsa") != 0 && strcmp(alg, "ed25519") != 0)) {
		usage(stderr);
		return 2;
	}
	if (out == NULL) {
		if ((size_t)snprintf(outbuf, sizeof outbuf, "%s._domainkey.%s.pem", selector,
		                     domain) >= sizeof outbuf) {
			fprintf(stderr,
			        "mailvet keygen: selector and domain too long for a file name\n");
			return 2;
		}
		out = outbuf;
	}
	if (!force && lstat(out, &sb) == 0) { /* early, before the work of a key; O_EXCL decides */
		say_exists(out);
		return 2;
	}
	st = mv_dkim_keygen(strcmp(alg, "rsa") == 0 ? MV_DKIM_KEY_RSA : MV_DKIM_KEY_ED25519,
	                    bits > 65536 ? 0 : (unsigned)bits, &key, &pem);
	if (st != MV_OK) {
		fprintf(stderr, "mailvet keygen: %s%s\n", mv_status_str(st),
		        st == MV_EINVAL ? " (RSA keys are 1024 to 8192 bits)" : "");
		goto out;
	}
	if ((rec = mv_dkim_signkey_record(key)) == NULL)
		goto out;
	if ((fd = create_private(out, force)) < 0) /* with --force, only now is the old one gone */
		goto out;
	if ((rc = write_private(fd, out, pem)) == 0)
		print_record(selector, domain, rec);
out:
	free(pem);
	free(rec);
	mv_dkim_signkey_free(key);
	return rc;
}
