/* daemon/core/spool.c — records waiting on disk while their store is down (the recorder's spool). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "spool.h"

#define MAGIC 0x3153564du /* "MVS1" */

struct entry_head {
	uint32_t magic, kind, size, crc;
};

int mvd_spool_init(struct mvd_spool *s, const char *dir, const char *name, uint32_t kind,
                   size_t size, uint64_t max)
{
	memset(s, 0, sizeof *s);
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return -1;
	if ((size_t)snprintf(s->path, sizeof s->path, "%s/%s.spool", dir, name) >= sizeof s->path ||
	    (size_t)snprintf(s->replay, sizeof s->replay, "%s/%s.replay", dir, name) >=
	            sizeof s->replay) {
		errno = ENAMETOOLONG;
		return -1;
	}
	s->kind = kind;
	s->size = size;
	s->max = max;
	return 0;
}

static uint64_t file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
}

/* write() all of n bytes; a short write is undone so no torn entry stays behind. */
static int write_all(int fd, const void *p, size_t n, off_t start)
{
	const char *c = p;

	while (n > 0) {
		ssize_t w = write(fd, c, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			int e = errno;
			if (ftruncate(fd, start) != 0) {
				/* the CRC makes the replay stop at the torn entry */
			}
			errno = w == 0 ? EIO : e;
			return -1;
		}
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

int mvd_spool_append(struct mvd_spool *s, const void *record)
{
	struct entry_head h = {MAGIC, s->kind, (uint32_t)s->size, 0};
	uint64_t used = file_size(s->path) + file_size(s->replay);
	off_t start;
	int fd, rc = -1;

	if (used + sizeof h + s->size > s->max) {
		errno = EFBIG;
		return -1;
	}
	h.crc = (uint32_t)crc32(0L, record, (uInt)s->size);
	if ((fd = open(s->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600)) < 0)
		return -1;
	start = lseek(fd, 0, SEEK_END);
	if (write_all(fd, &h, sizeof h, start) == 0 && write_all(fd, record, s->size, start) == 0)
		rc = 0;
	close(fd);
	return rc;
}

int mvd_spool_pending(const struct mvd_spool *s)
{
	return s->path[0] && (file_size(s->path) > 0 || file_size(s->replay) > 0);
}

int mvd_spool_replay_start(struct mvd_spool *s)
{
	if (file_size(s->replay) > 0)
		return 1;
	if (rename(s->path, s->replay) != 0)
		return errno == ENOENT ? 0 : -1;
	return file_size(s->replay) > 0;
}

int mvd_spool_replay_read(const struct mvd_spool *s, int (*fn)(void *arg, const void *record),
                          void *arg, uint64_t *count, int *bad)
{
	struct entry_head h;
	size_t got;
	FILE *f;
	void *rec;
	int rc = 0;

	*count = 0;
	*bad = 0;
	if ((rec = malloc(s->size)) == NULL)
		return -1;
	if ((f = fopen(s->replay, "rbe")) == NULL) {
		free(rec);
		return errno == ENOENT ? 0 : -1;
	}
	while ((got = fread(&h, 1, sizeof h, f)) > 0) {
		if (got != sizeof h || h.magic != MAGIC || h.kind != s->kind || h.size != s->size ||
		    fread(rec, s->size, 1, f) != 1 ||
		    (uint32_t)crc32(0L, rec, (uInt)s->size) != h.crc) {
			*bad = 1;
			break;
		}
		if (fn(arg, rec) != 0) {
			rc = -1;
			break;
		}
		++*count;
	}
	if (!*bad && rc == 0 && ferror(f))
		*bad = 1;
	fclose(f);
	free(rec);
	return rc;
}

void mvd_spool_replay_done(const struct mvd_spool *s, int damaged)
{
	char kept[PATH_MAX + 16];
	size_t len = strlen(s->replay) - strlen(".replay");

	if (damaged &&
	    (size_t)snprintf(kept, sizeof kept, "%.*s.damaged", (int)len, s->replay) <
	            sizeof kept &&
	    rename(s->replay, kept) == 0)
		return;
	unlink(s->replay);
}
