/* daemon/core/anonfile.h — a file without a name, for a message's spool. */
#ifndef MAILVETD_ANONFILE_H
#define MAILVETD_ANONFILE_H

#include <stdio.h>

/*
 * A new read/write file that no directory lists and that goes away with its
 * last descriptor: O_TMPFILE | O_EXCL in dir (NULL: $TMPDIR, else /tmp),
 * else, only where that file system cannot (EOPNOTSUPP, EISDIR, EINVAL: an
 * overlay file system before Linux 6.6, NFS; ENOENT, ENOTDIR: no such
 * directory), anonymous memory (memfd_create), which counts against the
 * process's memory as a tmpfs /tmp would. Never a named file: the worker's
 * system-call filter refuses creating one without a store, and a name
 * could be left behind. *in_memory (when not NULL) says which. NULL with
 * errno set when neither works (a full disk, too many open files).
 */
FILE *mvd_anon_file(const char *dir, int *in_memory);

#endif
