/* lib/util/file.c — read a whole file, bounded. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

enum mv_status mv_read_regular_file(const char *path, size_t max, char **out, size_t *lenp,
                                    unsigned *mode)
{
	struct mv_buf b = MV_BUF_INIT;
	enum mv_status st = MV_OK;
	char chunk[65536];
	struct stat sb;
	ssize_t n;
	int fd, saved;

	*out = NULL;
	/* O_NONBLOCK: opening a FIFO must not wait for a writer that never comes. */
	fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return MV_EIO;
	if (fstat(fd, &sb) != 0) {
		st = MV_EIO;
		goto out;
	}
	if (!S_ISREG(sb.st_mode)) {
		errno = EINVAL;
		st = MV_EINVAL;
		goto out;
	}
	if (mode)
		*mode = (unsigned)(sb.st_mode & 07777);
	while ((n = read(fd, chunk, sizeof chunk)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			st = MV_EIO;
			goto out;
		}
		if (b.len + (size_t)n > max) {
			st = MV_ETOOBIG;
			goto out;
		}
		if ((st = mv_buf_append(&b, chunk, (size_t)n)) != MV_OK)
			goto out;
	}
	*out = mv_buf_steal(&b, lenp);
	if (!*out)
		st = MV_ENOMEM;
out:
	saved = errno;
	close(fd);
	errno = saved;
	if (b.data)
		explicit_bzero(b.data, b.len);
	mv_buf_free(&b);
	return st;
}
