/* cli/record_to.c — `mailvet verify --record-to STORE`: each verdict's DMARC record into the store. */
#include <stdio.h>

#include <mailvet/report.h>
#include <mailvet/store.h>

#include "commands.h"

int mv_cli_record_open(const char *location, struct mv_store **out)
{
	char err[400];

	if (mv_store_open(location, 0, out, err, sizeof err) != MV_OK) {
		fprintf(stderr, "mailvet verify: --record-to: %s\n", err);
		return 2;
	}
	return 0;
}

int mv_cli_record(struct mv_store *s, const struct mv_verify *v, time_t now)
{
	struct mv_report_record r;

	if (mv_report_record_from_verify(v, NULL, (int64_t)now, &r) != MV_OK)
		return 0; /* nothing to report for this message */
	if (mv_store_add_record(s, &r) != MV_OK) {
		fprintf(stderr, "mailvet verify: --record-to: %s\n", mv_store_error(s));
		return 2;
	}
	return 0;
}
