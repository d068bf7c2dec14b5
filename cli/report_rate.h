/* cli/report_rate.h — `report send --failure-rate N/h`: failure reports per destination, across runs and nodes. */
#ifndef MV_CLI_REPORT_RATE_H
#define MV_CLI_REPORT_RATE_H

#include <stddef.h>
#include <stdint.h>

/*
 * What was sent to whom lately: a ledger file (".rate" in the spool: one
 * "TIME DESTINATION" line per report sent) read at the start of a run and
 * rewritten (temporary file, rename) at its end, so the limit holds across
 * runs and over the reports of every mailvetd node that shares the spool.
 * limit 0: no limit (mailvetd's failure_rate still applies when it spools).
 */
struct mv_cli_rate_entry {
	int64_t when;
	char *dest;
};
struct mv_cli_rate {
	unsigned limit;  /* reports per destination per window; 0 = none */
	unsigned window; /* seconds */
	struct mv_cli_rate_entry *e;
	size_t n, cap;
	char path[4200];
};

/* "10/h", "5/m", "100/d" into limit and window. 0, or -1 when it is not one. */
int mv_cli_rate_parse(const char *text, struct mv_cli_rate *r);

/* Read dir/.rate, keeping the entries of the last window (at most 100,000). 0, or -1 (memory). */
int mv_cli_rate_load(struct mv_cli_rate *r, const char *dir, int64_t now);

/* May one more report go to dest now? (Counts the ledger's entries for it.) */
int mv_cli_rate_allow(const struct mv_cli_rate *r, const char *dest, int64_t now);

/* A report was sent to dest: noted in the ledger. 0, or -1 (memory). */
int mv_cli_rate_note(struct mv_cli_rate *r, const char *dest, int64_t now);

/* Write the ledger back (when there is a limit). 0, or -1 with errno. */
int mv_cli_rate_save(const struct mv_cli_rate *r);

void mv_cli_rate_free(struct mv_cli_rate *r);

#endif
