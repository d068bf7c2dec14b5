/*
 * tests/store/recorder_trace.c — mailvetd's recorder with trace records
 * (daemon/core/recorder.c), driven directly: a trace store that cannot
 * open -> records in the spool -> the store back -> replayed, the record
 * past retention purged, a trace id stored once; DMARC records go to their
 * own store meanwhile. One process, one run: a stopped recorder stays
 * stopped, so the phases follow each other in one test.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "recorder.h"

static char dir[64], block[96], trace_loc[160], dmarc_loc[160], spool[96];

static void trace(struct mv_trace_record *t, const char *id, int64_t when)
{
	memset(t, 0, sizeof *t);
	t->time = when;
	MV_REPORT_SET(t->trace_id, id);
	MV_REPORT_SET(t->login, "alice@example.com");
	MV_REPORT_SET(t->client_ip, "192.0.2.7");
	MV_REPORT_SET(t->message_id, "<m@example.com>");
	t->rcpt_count = 1;
}

struct ids {
	char id[8][64];
	size_t n;
};

static int collect(void *arg, const struct mv_trace_record *t)
{
	struct ids *x = arg;

	if (x->n < 8)
		snprintf(x->id[x->n++], sizeof x->id[0], "%s", t->trace_id);
	return 0;
}

/* The trace ids in the store, oldest first, space-separated into out ("" when it cannot open). */
static void ids_in_store(char *out, size_t n)
{
	struct mv_store *s = NULL;
	struct mv_trace_query q;
	struct ids x = {.n = 0};
	char err[300];

	out[0] = '\0';
	memset(&q, 0, sizeof q);
	if (mv_store_open(trace_loc, 0, &s, err, sizeof err) != MV_OK)
		return;
	mv_store_find_traces(s, &q, collect, &x);
	mv_store_close(s);
	for (size_t i = 0; i < x.n; i++) {
		size_t len = strlen(out);
		snprintf(out + len, n - len, "%s%s", i ? " " : "", x.id[i]);
	}
}

/* Wait up to 20 s until the store holds exactly `want`. */
static void wait_for_ids(const char *want)
{
	char got[600] = "";

	for (int i = 0; i < 200; i++) {
		ids_in_store(got, sizeof got);
		if (strcmp(got, want) == 0)
			return;
		usleep(100000);
	}
	fail_msg("store holds \"%s\", want \"%s\"", got, want);
}

static size_t spool_bytes(void)
{
	char p[160];
	struct stat st;

	snprintf(p, sizeof p, "%s/trace.spool", spool);
	return stat(p, &st) == 0 ? (size_t)st.st_size : 0;
}

static int count_rows(void *arg, const struct mv_report_meta *m, const struct mv_report_record *r)
{
	(void)m;
	*(uint64_t *)arg += r->count;
	return 0;
}

static void trace_store_down_spooled_replayed_purged(void **state)
{
	struct mvd_reports_conf reports;
	struct mvd_trace_conf tc;
	struct mv_trace_record t;
	struct mv_report_record r;
	struct mv_store *s = NULL;
	struct mv_store_query q = {MV_STORE_RECORDED, 0, INT64_MAX / 2, 0, NULL};
	int64_t now = (int64_t)time(NULL);
	char err[300];
	uint64_t rows = 0;
	FILE *f;

	(void)state;
	/* the trace store's directory is a plain file: it cannot open */
	assert_non_null(f = fopen(block, "w"));
	fclose(f);
	mvd_reports_conf_init(&reports);
	reports.store = dmarc_loc;
	mvd_trace_conf_init(&tc);
	tc.base.store = trace_loc;
	tc.base.spool = spool;
	tc.base.queue = 1;
	mvd_recorder_configure(&reports, &tc);

	trace(&t, "T0", now - 40 * 86400); /* past the 30 days of retention */
	mvd_recorder_put_trace(trace_loc, 1, 10, &t);
	trace(&t, "T1", now - 3);
	mvd_recorder_put_trace(trace_loc, 1, 10, &t);
	trace(&t, "T2", now - 2);
	mvd_recorder_put_trace(trace_loc, 1, 10, &t);
	assert_true(spool_bytes() > 0); /* the queue holds 1: the rest is on disk */
	memset(&r, 0, sizeof r);
	r.time = now;
	MV_REPORT_SET(r.policy_domain, "example.com");
	mvd_recorder_put(dmarc_loc, 10, 10, &r); /* its own store, not held back */

	/* the store is back: the spool is replayed, T0 purged */
	assert_int_equal(unlink(block), 0);
	assert_int_equal(mkdir(block, 0700), 0);
	wait_for_ids("T1 T2");
	assert_int_equal(spool_bytes(), 0);

	trace(&t, "T1", now - 3); /* again: stored once */
	mvd_recorder_put_trace(trace_loc, 1, 10, &t);
	trace(&t, "T3", now - 1);
	mvd_recorder_put_trace(trace_loc, 1, 10, &t);
	mvd_recorder_stop();
	wait_for_ids("T1 T2 T3");

	assert_int_equal(mv_store_open(dmarc_loc, 0, &s, err, sizeof err), MV_OK);
	assert_int_equal(mv_store_query(s, &q, count_rows, &rows), MV_OK);
	assert_int_equal(rows, 1);
	mv_store_close(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(trace_store_down_spooled_replayed_purged),
	};
	char cmd[200];
	int failed;

	snprintf(dir, sizeof dir, "/tmp/mv-rectrace-XXXXXX");
	if (!mkdtemp(dir))
		return 1;
	snprintf(block, sizeof block, "%s/db", dir);
	snprintf(trace_loc, sizeof trace_loc, "sqlite:%s/traces.db", block);
	snprintf(dmarc_loc, sizeof dmarc_loc, "sqlite:%s/dmarc.db", dir);
	snprintf(spool, sizeof spool, "%s/spool", dir);
	failed = cmocka_run_group_tests(tests, NULL, NULL);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		failed++;
	return failed != 0;
}
