/*
 * tests/store/trace_put.c — add trace records to a store through the
 * library, for the tests of `mailvet trace`: trace_put LOCATION and one
 * record per line on stdin, tab-separated: time, trace id, login, client
 * ip, message id, envelope from, rcpt count, dkim domain, dkim selector.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mailvet/store.h>

#define FIELDS 9

/* Split line at tabs into f[FIELDS]; 0 when the count is wrong. */
static int split(char *line, char **f)
{
	int n = 0;
	char *p = line;

	line[strcspn(line, "\n")] = '\0';
	while (n < FIELDS) {
		f[n++] = p;
		if ((p = strchr(p, '\t')) == NULL)
			break;
		*p++ = '\0';
	}
	return n == FIELDS && p == NULL;
}

int main(int argc, char **argv)
{
	struct mv_store *s = NULL;
	struct mv_trace_record t;
	char line[4096], err[400], *f[FIELDS];
	int rc = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: trace_put LOCATION < records\n");
		return 2;
	}
	if (mv_store_open(argv[1], 0, &s, err, sizeof err) != MV_OK) {
		fprintf(stderr, "trace_put: %s\n", err);
		return 3;
	}
	while (rc == 0 && fgets(line, sizeof line, stdin)) {
		if (!split(line, f)) {
			fprintf(stderr, "trace_put: want %d tab-separated fields\n", FIELDS);
			rc = 2;
			break;
		}
		memset(&t, 0, sizeof t);
		t.time = strtoll(f[0], NULL, 10);
		MV_REPORT_SET(t.trace_id, f[1]);
		MV_REPORT_SET(t.login, f[2]);
		MV_REPORT_SET(t.client_ip, f[3]);
		MV_REPORT_SET(t.message_id, f[4]);
		MV_REPORT_SET(t.envelope_from, f[5]);
		t.rcpt_count = (uint32_t)strtoul(f[6], NULL, 10);
		MV_REPORT_SET(t.dkim_domain, f[7]);
		MV_REPORT_SET(t.dkim_selector, f[8]);
		if (mv_store_add_trace(s, &t) != MV_OK) {
			fprintf(stderr, "trace_put: %s\n", mv_store_error(s));
			rc = 3;
		}
	}
	mv_store_close(s);
	return rc;
}
