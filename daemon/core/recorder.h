/* daemon/core/recorder.h — DMARC records into the store, batched by one writer thread off the message path. */
#ifndef MAILVETD_CORE_RECORDER_H
#define MAILVETD_CORE_RECORDER_H

#include <stdint.h>

#include <mailvet/store.h>

/*
 * Hand one message's record to the writer. Never blocks on the store: the
 * record is copied into a bounded in-memory queue (at most queue records;
 * beyond that the oldest is dropped and counted) and the writer thread,
 * started on the first call, writes it in a batch of at most batch records
 * per transaction. location is the [reports] store; when it differs from
 * the one the writer has open (a reload changed it) the writer switches,
 * and what is queued goes to the new store. A store that cannot be opened
 * or written is logged, retried every few seconds, and meanwhile records
 * wait in the queue; the number dropped is logged. Thread-safe.
 */
void mvd_recorder_put(const char *location, unsigned queue, unsigned batch,
                      const struct mv_report_record *r);

/*
 * Stop the writer: what is queued is written if the store takes it, else
 * dropped and counted; then the totals are logged. Safe without a start
 * and more than once.
 */
void mvd_recorder_stop(void);

/* Totals since the start: records written to the store, records dropped. */
void mvd_recorder_counts(uint64_t *written, uint64_t *dropped);

#endif
