/* daemon/core/spool.h — records waiting on disk while their store is down (the recorder's spool). */
#ifndef MAILVETD_CORE_SPOOL_H
#define MAILVETD_CORE_SPOOL_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

/*
 * A spool is two files in a directory: NAME.spool, where records are
 * appended, and NAME.replay, the spool being replayed into the store (the
 * spool is renamed to it when a replay starts, so appends go on into a new
 * file). Each entry is a header (magic, kind, size, CRC-32) and the record
 * as it is in memory: a spool is read back by the build that wrote it, and
 * an entry whose header or CRC does not match (a torn write, another
 * version) ends the replay of that file, logged. Both files together hold
 * at most max bytes. Not thread-safe: the recorder holds its lock.
 */
struct mvd_spool {
	char path[PATH_MAX], replay[PATH_MAX];
	uint32_t kind;
	size_t size; /* bytes of one record */
	uint64_t max;
};

/* Set s up for records of `size` bytes in dir (created if missing, 0700). 0, or -1 with errno. */
int mvd_spool_init(struct mvd_spool *s, const char *dir, const char *name, uint32_t kind,
                   size_t size, uint64_t max);

/* Append one record: 0, or -1 (errno; EFBIG when it would pass max). */
int mvd_spool_append(struct mvd_spool *s, const void *record);

/* 1 when a spool or replay file holds something. */
int mvd_spool_pending(const struct mvd_spool *s);

/*
 * Start a replay: NAME.spool becomes NAME.replay unless a replay file is
 * there already (a replay that failed: it goes first). 1 when there is a
 * replay file to read, 0 when not, -1 with errno.
 */
int mvd_spool_replay_start(struct mvd_spool *s);

/*
 * Hand every record of the replay file to fn (nonzero from fn stops: -1).
 * *count gets how many were handed, *bad 1 when a damaged entry ended the
 * file. 0 when the file was read to its end (or to a damaged entry).
 */
int mvd_spool_replay_read(const struct mvd_spool *s, int (*fn)(void *arg, const void *record),
                          void *arg, uint64_t *count, int *bad);

/*
 * The replay went into the store: the replay file is removed, or, when
 * damaged is 1 (an entry it could not read), kept as NAME.damaged for a
 * person to look at (replacing an older one).
 */
void mvd_spool_replay_done(const struct mvd_spool *s, int damaged);

#endif
