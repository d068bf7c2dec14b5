/* cli/msgfile.c — a message read in pieces and written out again, never held whole. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "msgfile.h"

/*
 * Open the message for two passes: path itself when it is a regular file,
 * else (a pipe) *spool, a temporary file its bytes are copied to as they are
 * read. 0, or 2 after printing why.
 */
int mv_cli_open_message(const char *cmd, const char *path, FILE **in, FILE **spool)
{
	struct stat sb;

	*spool = NULL;
	*in = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	if (*in == NULL) {
		fprintf(stderr, "mailvet %s: %s: %s\n", cmd, path, strerror(errno));
		return 2;
	}
	if (fstat(fileno(*in), &sb) == 0 && S_ISREG(sb.st_mode))
		return 0;
	if ((*spool = tmpfile()) == NULL) {
		fprintf(stderr, "mailvet %s: temporary file: %s\n", cmd, strerror(errno));
		return 2;
	}
	return 0;
}

/* Write text, then the bytes of f from its start; 0 or 2. */
int mv_cli_write_message(const char *cmd, const char *text, size_t len, FILE *f)
{
	char buf[MV_CLI_CHUNK];
	size_t n;

	if (fwrite(text, 1, len, stdout) != len || fseek(f, 0, SEEK_SET) != 0)
		goto fail;
	while ((n = fread(buf, 1, sizeof buf, f)) > 0)
		if (fwrite(buf, 1, n, stdout) != n)
			goto fail;
	if (ferror(f) || fflush(stdout) != 0)
		goto fail;
	return 0;
fail:
	fprintf(stderr, "mailvet %s: write error\n", cmd);
	return 2;
}
