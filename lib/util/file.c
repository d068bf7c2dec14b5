/* lib/util/file.c — read a whole file, bounded. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mailvet/util.h>

enum mv_status mv_read_file(const char *path, size_t max, char **out, size_t *lenp)
{
	struct mv_buf b = MV_BUF_INIT;
	enum mv_status st = MV_OK;
	char chunk[65536];
	FILE *f;
	size_t n;

	*out = NULL;
	f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	if (!f)
		return MV_EIO;
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
		if (b.len + n > max) {
			st = MV_ETOOBIG;
			goto out;
		}
		if ((st = mv_buf_append(&b, chunk, n)) != MV_OK)
			goto out;
	}
	if (ferror(f)) {
		st = MV_EIO;
		goto out;
	}
	*out = mv_buf_steal(&b, lenp);
	if (!*out)
		st = MV_ENOMEM;
out:
	if (f != stdin) {
		int saved = errno;
		fclose(f);
		errno = saved;
	}
	mv_buf_free(&b);
	return st;
}
