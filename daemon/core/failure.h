/* daemon/core/failure.h — DMARC failure reports (ruf=, fo=): rate-limited, redacted, written to the spool. */
#ifndef MAILVETD_CORE_FAILURE_H
#define MAILVETD_CORE_FAILURE_H

#include <mailvet/report.h>
#include <mailvet/verify.h>

#include "reports_config.h"

/*
 * The failure report of one finished inbound message whose DMARC record
 * is r (mv_report_record_from_verify), when c->enabled, the record names
 * ruf= mailto: destinations (not with psd=y: failure-reporting §2) and its
 * fo= asks for one (mv_report_failure_wanted). Each destination is allowed
 * c->rate reports per c->window seconds; past that it is dropped for that
 * destination, counted and logged. What is left becomes one spool file in
 * c->spool (header fields redacted when c->redact, our
 * Authentication-Results, source IP, envelope, the destinations), written
 * under a temporary name and renamed, so `mailvet report send` never reads
 * half a file; a spool past c->spool_max takes nothing (counted, logged).
 * Called on the message path: it does one small file write, no DNS.
 */
void mvd_failure_report(const struct mvd_failure_conf *c, const struct mv_verify *v,
                        const struct mv_report_record *r, const char *queue_id);

#endif
