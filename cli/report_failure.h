/* cli/report_failure.h — `mailvet report send --failure-spool DIR`: the failure reports mailvetd spooled. */
#ifndef MV_CLI_REPORT_FAILURE_H
#define MV_CLI_REPORT_FAILURE_H

#include <stddef.h>
#include <stdint.h>

#include <mailvet/dns.h>
#include <mailvet/report.h>
#include <mailvet/store.h>

#include "report_outlet.h"
#include "report_rate.h"

/* What one run needs and what it counts. Pointers borrowed for the run. */
struct mv_cli_failure_send {
	struct mv_store *store;       /* sent marks: each report once per destination */
	struct mv_resolver *resolver; /* external destinations' authorization */
	const struct mv_report_info *info;
	const struct mv_cli_outlet *outlet;
	const char *from;
	const char *dry_dir; /* --dry-run: the messages written here, nothing sent or removed */
	int64_t now;
	struct mv_cli_rate rate; /* --failure-rate: limit and window set by the caller */
	size_t sent, refused, unauthorized, bad, dropped;
	int rc; /* 0, 1 (something left for the next run), 2 (a system error) */
};

/*
 * Send each spool file (*.ruf) of dir as an ARF message (lib/report/failure.c)
 * to each of its destinations that is authorized (RFC 9990 "Verifying
 * External Destinations", with ruf for rua) and not marked sent; marked
 * after the relay's 250 or sendmail's exit 0. A file is removed once every
 * destination has it or refused it; one that cannot be read is renamed
 * *.bad. mailvetd's failure_rate was applied when it spooled the report;
 * fs->rate (--failure-rate) adds a limit per destination over every run
 * and node: a report past it is dropped for that destination (counted,
 * printed), not kept.
 */
void mv_cli_report_send_failures(struct mv_cli_failure_send *fs, const char *dir);

#endif
