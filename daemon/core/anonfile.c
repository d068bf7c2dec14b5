/* daemon/core/anonfile.c — a file without a name (see anonfile.h). */
#define _GNU_SOURCE /* O_TMPFILE, memfd_create */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "anonfile.h"

FILE *mvd_anon_file(const char *dir, int *in_memory)
{
	const char *d = dir ? dir : getenv("TMPDIR");
	/* O_EXCL: the file can never be given a name (linkat), whatever the filter allows */
	int fd = open(d && *d ? d : "/tmp", O_TMPFILE | O_EXCL | O_RDWR | O_CLOEXEC, 0600), mem = 0;
	FILE *f;

	/* Only "this directory cannot": a full disk or a quota is not a reason for memory. */
	if (fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL ||
	               errno == ENOENT || errno == ENOTDIR)) {
		fd = memfd_create("mailvetd-spool", MFD_CLOEXEC);
		mem = 1;
	}
	if (fd < 0)
		return NULL;
	if (!(f = fdopen(fd, "w+"))) {
		int e = errno;
		close(fd);
		errno = e;
		return NULL;
	}
	if (in_memory)
		*in_memory = mem;
	return f;
}
