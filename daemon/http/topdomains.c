/* daemon/http/topdomains.c — the top sending domains of the last day, read from the report store. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <mailvet/store.h>

#include "http_int.h"

#define DOMAINS_KEPT 512 /* distinct domains counted; more are summed as "others" */
#define DOMAINS_SHOWN 10

struct tally {
	char domain[MV_REPORT_DOMAIN_MAX];
	unsigned long long pass, fail;
};

struct tallies {
	struct tally t[DOMAINS_KEPT];
	size_t n;
	unsigned long long other_pass, other_fail;
};

/* One grouped row: DMARC passes when either identifier aligned with a pass. */
static int add_row(void *arg, const struct mv_report_meta *meta, const struct mv_report_record *r)
{
	struct tallies *ts = arg;
	int pass = strcmp(r->dkim_aligned, "pass") == 0 || strcmp(r->spf_aligned, "pass") == 0;
	struct tally *t = NULL;

	(void)meta;
	for (size_t i = 0; i < ts->n && !t; i++)
		if (strcmp(ts->t[i].domain, r->header_from) == 0)
			t = &ts->t[i];
	if (!t && ts->n < DOMAINS_KEPT) {
		t = &ts->t[ts->n++];
		MV_REPORT_SET(t->domain, r->header_from);
	}
	if (!t)
		*(pass ? &ts->other_pass : &ts->other_fail) += r->count;
	else
		*(pass ? &t->pass : &t->fail) += r->count;
	return 0;
}

static int by_total(const void *a, const void *b)
{
	const struct tally *x = a, *y = b;
	unsigned long long tx = x->pass + x->fail, ty = y->pass + y->fail;

	return tx < ty ? 1 : tx > ty ? -1 : strcmp(x->domain, y->domain);
}

static void rows(struct mv_buf *b, struct tallies *ts)
{
	qsort(ts->t, ts->n, sizeof ts->t[0], by_total);
	for (size_t i = 0; i < ts->n && i < DOMAINS_SHOWN; i++) {
		mv_buf_puts(b, "<tr><td>");
		mvd_html_puts(b, ts->t[i].domain[0] ? ts->t[i].domain : "(none)");
		mv_buf_printf(b, "</td><td class=\"n\">%llu</td><td class=\"n\">%llu</td></tr>\n",
		              ts->t[i].pass, ts->t[i].fail);
	}
	if (ts->n == 0)
		mv_buf_puts(
		        b,
		        "<tr><td colspan=\"3\">no messages recorded in the last day</td></tr>\n");
}

void mvd_status_top_domains(struct mv_buf *b, const char *location, time_t now)
{
	const char *path = strncmp(location, "sqlite:", 7) == 0 ? location + 7 : location;
	struct mv_store_query q = {MV_STORE_RECORDED, (int64_t)now - 86400, (int64_t)now + 60, 0,
	                           NULL};
	struct mv_store *s = NULL;
	struct tallies *ts = NULL;
	struct stat sb;
	char err[256] = "";

	/* Read only: a store the recorder has not created yet is not created here. */
	if (stat(path, &sb) != 0) {
		mv_buf_puts(b, "<p>The report store has no records yet.</p>\n");
		return;
	}
	if (mv_store_open(location, 0, &s, err, sizeof err) != MV_OK ||
	    !(ts = calloc(1, sizeof *ts)) || mv_store_query(s, &q, add_row, ts) != MV_OK) {
		mv_buf_puts(b, "<p>The report store could not be read: ");
		mvd_html_puts(b, err[0] ? err : s ? mv_store_error(s) : "out of memory");
		mv_buf_puts(b, "</p>\n");
		goto out;
	}
	mv_buf_puts(b,
	            "<table id=\"top-domains\"><tr><th>header From domain</th><th>DMARC pass</th>"
	            "<th>DMARC fail</th></tr>\n");
	rows(b, ts);
	mv_buf_puts(b, "</table>\n");
out:
	free(ts);
	mv_store_close(s);
}
