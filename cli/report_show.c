/* cli/report_show.c — `mailvet report show`: who sends as each domain, how much passes, what fails and why. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mailvet/report.h>
#include <mailvet/store.h>

#include "commands.h"
#include "report_cmd.h"

#define MAX_WHY 4 /* distinct failure reasons kept per source */

struct why {
	char text[200];
	uint64_t count;
};

struct source {
	char domain[MV_REPORT_DOMAIN_MAX];
	char ip[64];
	uint64_t messages, pass, fail;
	struct why why[MAX_WHY];
	size_t nwhy;
};

struct show {
	struct source *src;
	size_t n, cap;
	int failed;
};

/* Why a row failed DMARC: its DKIM and SPF results and the disposition. */
static void reason(const struct mv_report_record *r, char *out, size_t n)
{
	struct mv_buf b = MV_BUF_INIT;
	size_t i;

	mv_buf_puts(&b, "dkim=");
	for (i = 0; i < r->ndkim; i++)
		mv_buf_printf(&b, "%s%s(%s)", i ? "," : "", r->dkim[i].result, r->dkim[i].domain);
	if (r->ndkim == 0)
		mv_buf_puts(&b, "none");
	mv_buf_printf(&b, " spf=%s(%s) disposition=%s", r->spf_result[0] ? r->spf_result : "none",
	              r->spf_domain, r->disposition);
	if (r->reason[0])
		mv_buf_printf(&b, " override=%s", r->reason);
	mv_report_field_set(out, n, b.data ? b.data : "");
	mv_buf_free(&b);
}

static struct source *find(struct show *sh, const struct mv_report_record *r)
{
	struct source *grown;
	size_t i;

	for (i = 0; i < sh->n; i++)
		if (strcmp(sh->src[i].domain, r->policy_domain) == 0 &&
		    strcmp(sh->src[i].ip, r->source_ip) == 0)
			return &sh->src[i];
	if (sh->n == sh->cap) {
		size_t cap = sh->cap ? 2 * sh->cap : 32;
		if ((grown = realloc(sh->src, cap * sizeof *grown)) == NULL)
			return NULL;
		sh->src = grown;
		sh->cap = cap;
	}
	memset(&sh->src[sh->n], 0, sizeof sh->src[0]);
	MV_REPORT_SET(sh->src[sh->n].domain, r->policy_domain);
	MV_REPORT_SET(sh->src[sh->n].ip, r->source_ip);
	return &sh->src[sh->n++];
}

static int add(void *arg, const struct mv_report_meta *meta, const struct mv_report_record *r)
{
	struct show *sh = arg;
	struct source *s = find(sh, r);
	char text[200];
	size_t i;

	(void)meta;
	if (s == NULL) {
		sh->failed = 1;
		return 1;
	}
	s->messages += r->count;
	if (strcmp(r->dkim_aligned, "pass") == 0 || strcmp(r->spf_aligned, "pass") == 0) {
		s->pass += r->count;
		return 0;
	}
	s->fail += r->count;
	reason(r, text, sizeof text);
	for (i = 0; i < s->nwhy && strcmp(s->why[i].text, text) != 0; i++)
		;
	if (i == s->nwhy && s->nwhy < MAX_WHY)
		MV_REPORT_SET(s->why[s->nwhy++].text, text);
	if (i < s->nwhy)
		s->why[i].count += r->count;
	return 0;
}

static int by_domain_then_count(const void *a, const void *b)
{
	const struct source *x = a, *y = b;
	int c = strcmp(x->domain, y->domain);

	if (c)
		return c;
	return x->messages < y->messages   ? 1
	       : x->messages > y->messages ? -1
	                                   : strcmp(x->ip, y->ip);
}

static void print_json(const struct show *sh)
{
	struct mv_buf b = MV_BUF_INIT;
	size_t i, k;

	for (i = 0; i < sh->n; i++) {
		const struct source *s = &sh->src[i];
		mv_buf_puts(&b, "{\"domain\": ");
		mv_json_cstr(&b, s->domain);
		mv_buf_puts(&b, ", \"source_ip\": ");
		mv_json_cstr(&b, s->ip);
		mv_buf_printf(&b,
		              ", \"messages\": %" PRIu64 ", \"pass\": %" PRIu64
		              ", \"fail\": %" PRIu64 ", \"failures\": [",
		              s->messages, s->pass, s->fail);
		for (k = 0; k < s->nwhy; k++) {
			mv_buf_puts(&b, k ? ", {\"why\": " : "{\"why\": ");
			mv_json_cstr(&b, s->why[k].text);
			mv_buf_printf(&b, ", \"count\": %" PRIu64 "}", s->why[k].count);
		}
		mv_buf_puts(&b, "]}\n");
	}
	if (b.data)
		fputs(b.data, stdout);
	mv_buf_free(&b);
}

static void print_table(const struct show *sh)
{
	size_t i, k;

	printf("%-30s %-39s %9s %9s %9s\n", "DOMAIN", "SOURCE IP", "MESSAGES", "PASS", "FAIL");
	for (i = 0; i < sh->n; i++) {
		const struct source *s = &sh->src[i];
		printf("%-30s %-39s %9" PRIu64 " %9" PRIu64 " %9" PRIu64 "\n", s->domain, s->ip,
		       s->messages, s->pass, s->fail);
		for (k = 0; k < s->nwhy; k++)
			printf("    %" PRIu64 " x %s\n", s->why[k].count, s->why[k].text);
	}
}

int mv_cli_report_show(int argc, char **argv)
{
	static const struct option opts[] = {
	        {"json", no_argument, NULL, 'j'},
	        {"recorded", no_argument, NULL, 'r'},
	        {"domain", required_argument, NULL, 'd'},
	        {NULL, 0, NULL, 0},
	};
	struct mv_store_query q = {MV_STORE_RECEIVED, 0, INT64_MAX, 0, NULL};
	struct show sh = {NULL, 0, 0, 0};
	struct mv_store *s = NULL;
	char err[400];
	int c, json = 0, rc = 0;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'j')
			json = 1;
		else if (c == 'r')
			q.source = MV_STORE_RECORDED;
		else if (c == 'd')
			q.domain = optarg;
		else
			return 2;
	}
	if (optind + 1 != argc) {
		fprintf(stderr,
		        "usage: mailvet report show STORE [--json] [--recorded] [--domain D]\n");
		return 2;
	}
	if (mv_store_open(argv[optind], 0, &s, err, sizeof err) != MV_OK) {
		fprintf(stderr, "mailvet report show: %s\n", err);
		return 2;
	}
	q.bucket = INT64_MAX / 2;
	if (mv_store_query(s, &q, add, &sh) != MV_OK || sh.failed) {
		fprintf(stderr, "mailvet report show: %s\n",
		        sh.failed ? "out of memory" : mv_store_error(s));
		rc = 2;
		goto out;
	}
	if (sh.n)
		qsort(sh.src, sh.n, sizeof sh.src[0], by_domain_then_count);
	if (json)
		print_json(&sh);
	else
		print_table(&sh);
out:
	free(sh.src);
	mv_store_close(s);
	return rc;
}
