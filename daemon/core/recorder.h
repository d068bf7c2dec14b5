/* daemon/core/recorder.h — DMARC and trace records into their stores, batched by writer threads off the message path. */
#ifndef MAILVETD_CORE_RECORDER_H
#define MAILVETD_CORE_RECORDER_H

#include <stdint.h>

#include <mailvet/store.h>

#include "reports_config.h"
#include "trace_config.h"

/*
 * Hand one message's record to the writer. Never blocks on the store: the
 * record is copied into a bounded in-memory queue (at most queue records)
 * and the writer thread, started on the first call, writes it in a batch
 * of at most batch records per transaction. location is the [reports]
 * store; when it differs from the one the writer has open (a reload
 * changed it) the writer switches, and what is queued goes to the new
 * store. A store that cannot be opened or written is logged, retried every
 * few seconds, and meanwhile records wait in the queue; when the queue is
 * full, the oldest go to the spool ([reports] spool, see
 * mvd_recorder_configure()) and are replayed into the store when it is
 * back; without a spool (or when it is full) they are dropped and counted.
 * Thread-safe.
 */
void mvd_recorder_put(const char *location, unsigned queue, unsigned batch,
                      const struct mv_report_record *r);

/*
 * The same for one submission trace record ([trace] store, which may be
 * another store than the DMARC records'), with a writer thread of its own
 * that also purges the records older than [trace] retention once an hour.
 */
void mvd_recorder_put_trace(const char *location, unsigned queue, unsigned batch,
                            const struct mv_trace_record *t);

/*
 * Apply the [reports] and [trace] settings the puts do not carry: the
 * spool directories and bounds, the trace retention. Called at start and
 * after each reload (borrowed for the call). A spool left by an earlier
 * run starts its writer, which replays it once its store opens.
 */
void mvd_recorder_configure(const struct mvd_reports_conf *reports,
                            const struct mvd_trace_conf *trace);

/*
 * Stop the writers: what is queued is written if the store takes it, else
 * goes to the spool (dropped and counted when there is none); then the
 * totals are logged. Safe without a start and more than once.
 */
void mvd_recorder_stop(void);

/* Totals since the start for DMARC records: written to the store, dropped. */
void mvd_recorder_counts(uint64_t *written, uint64_t *dropped);

#endif
