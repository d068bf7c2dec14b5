/* cli/cmd_stats.c — `mailvet stats`: mailvetd's /metrics as a table, for hosts without a browser. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mailvet/util.h>

#include "commands.h"
#include "http_get.h"
#include "promtext.h"

#define DEFAULT_URL "http://127.0.0.1:8895"
#define TIMEOUT 10 /* seconds for the connection and each read */

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: mailvet stats [--url URL] [--token-file FILE] [--json]\n"
	        "Fetches mailvetd's counters (URL/metrics; URL defaults to " DEFAULT_URL ",\n"
	        "the [http] listen address of mailvet.conf) and prints them as a table, one\n"
	        "section per metric with its label values and value; histograms as their\n"
	        "buckets (cumulative), sum and count. --json: the same numbers as JSON.\n"
	        "--token-file: the first line of FILE is sent as the bearer token ([http] token).\n"
	        "Exit status: 0 printed, 1 the server answered other than 200 or not in the\n"
	        "Prometheus text format, 2 usage or connection error.\n");
}

/* The first line of path, or NULL after saying why. */
static char *first_line(const char *path)
{
	char line[1024];
	FILE *f = fopen(path, "r");

	if (!f || !fgets(line, sizeof line, f)) {
		fprintf(stderr, "mailvet stats: %s: cannot read a token from it\n", path);
		if (f)
			fclose(f);
		return NULL;
	}
	fclose(f);
	line[strcspn(line, "\r\n")] = '\0';
	return strdup(line);
}

static void json_family(struct mv_buf *b, const struct mv_prom *p, const struct mv_prom_family *f)
{
	mv_buf_puts(b, "{\"name\":");
	mv_json_cstr(b, f->name);
	mv_buf_puts(b, ",\"type\":");
	mv_json_cstr(b, f->type);
	mv_buf_puts(b, ",\"help\":");
	mv_json_cstr(b, f->help);
	mv_buf_puts(b, ",\"samples\":[");
	for (size_t i = f->first; i < f->first + f->n; i++) {
		const struct mv_prom_sample *s = &p->s[i];
		int plain = strcmp(s->value, "+Inf") && strcmp(s->value, "-Inf") &&
		            strcmp(s->value, "NaN");
		mv_buf_puts(b, i > f->first ? ",{\"name\":" : "{\"name\":");
		mv_json_cstr(b, s->name);
		mv_buf_puts(b, ",\"labels\":{");
		for (size_t k = 0; k < s->nlabels; k++) {
			if (k)
				mv_buf_putc(b, ',');
			mv_json_cstr(b, s->labels[k].name);
			mv_buf_putc(b, ':');
			mv_json_cstr(b, s->labels[k].value);
		}
		mv_buf_puts(b, "},\"value\":");
		if (plain && s->value[0] != '+' && s->value[0] != '.')
			mv_buf_puts(b, s->value);
		else
			mv_json_cstr(b, s->value);
		mv_buf_putc(b, '}');
	}
	mv_buf_puts(b, "]}");
}

static void print_json(const char *url, const struct mv_prom *p)
{
	struct mv_buf b = MV_BUF_INIT;

	mv_buf_puts(&b, "{\"url\":");
	mv_json_cstr(&b, url);
	mv_buf_puts(&b, ",\"families\":[");
	for (size_t i = 0; i < p->nf; i++) {
		if (i)
			mv_buf_putc(&b, ',');
		json_family(&b, p, &p->f[i]);
	}
	mv_buf_puts(&b, "]}\n");
	fwrite(b.data, 1, b.len, stdout);
	mv_buf_free(&b);
}

/* The widths of a family's columns: the part (_bucket ...), then each label of its first sample. */
struct columns {
	int w[MV_PROM_LABELS_MAX + 1];
};

static const char *part(const struct mv_prom_family *f, const struct mv_prom_sample *s)
{
	return strcmp(s->name, f->name) ? s->name + strlen(f->name) + 1 : "";
}

static void widths(const struct mv_prom *p, const struct mv_prom_family *f, struct columns *c)
{
	memset(c, 0, sizeof *c);
	for (size_t i = f->first; i < f->first + f->n; i++) {
		const struct mv_prom_sample *s = &p->s[i];
		if ((int)strlen(part(f, s)) > c->w[0])
			c->w[0] = (int)strlen(part(f, s));
		for (size_t k = 0; k < s->nlabels; k++) {
			int n = (int)strlen(s->labels[k].value);
			int h = (int)strlen(s->labels[k].name);
			c->w[k + 1] = n > c->w[k + 1] ? n : c->w[k + 1];
			c->w[k + 1] = h > c->w[k + 1] ? h : c->w[k + 1];
		}
	}
}

/* One sample's row: the part of a histogram, its label values in columns, then the value. */
static void print_row(const struct mv_prom_family *f, const struct mv_prom_sample *s,
                      const struct columns *c)
{
	printf(" ");
	if (c->w[0])
		printf(" %-*s", c->w[0], part(f, s));
	for (size_t k = 0; k < s->nlabels; k++)
		printf(" %-*s", c->w[k + 1], s->labels[k].value);
	printf(" %14s\n", s->value);
}

static void print_table(const char *url, const struct mv_prom *p)
{
	printf("mailvetd counters from %s\n", url);
	for (size_t i = 0; i < p->nf; i++) {
		const struct mv_prom_family *f = &p->f[i];
		struct columns c;
		printf("\n%s\n  [%s, %s]\n", f->help[0] ? f->help : f->name, f->name, f->type);
		widths(p, f, &c);
		if (f->n && p->s[f->first].nlabels) { /* a heading: the label names */
			printf(" ");
			if (c.w[0])
				printf(" %-*s", c.w[0], "");
			for (size_t k = 0; k < p->s[f->first].nlabels; k++)
				printf(" %-*s", c.w[k + 1], p->s[f->first].labels[k].name);
			printf("\n");
		}
		for (size_t k = f->first; k < f->first + f->n; k++)
			print_row(f, &p->s[k], &c);
	}
}

/* url + "/metrics" unless url names a path already; a new string. */
static char *metrics_url(const char *url)
{
	const char *path = strncmp(url, "http://", 7) == 0 ? strchr(url + 7, '/') : NULL;
	struct mv_buf b = MV_BUF_INIT;

	mv_buf_puts(&b, url);
	if (!path || strcmp(path, "/") == 0)
		mv_buf_puts(&b, path ? "metrics" : "/metrics");
	return mv_buf_status(&b) == MV_OK ? mv_buf_steal(&b, NULL) : NULL;
}

/* Fetch and print; the exit status. */
static int stats(const char *url, const char *token, int json)
{
	char err[512], *body = NULL;
	size_t len = 0;
	int status = 0, rc = 2;
	struct mv_prom p;

	if (mv_cli_http_get(url, token, TIMEOUT, &status, &body, &len, err, sizeof err) != 0) {
		fprintf(stderr, "mailvet stats: %s\n", err);
		return 2;
	}
	rc = 1;
	if (status != 200)
		fprintf(stderr, "mailvet stats: %s answered %d%s\n", url, status,
		        status == 401 ? " (credentials required: --token-file)" : "");
	else if (mv_prom_parse(body, len, &p, err, sizeof err) != 0)
		fprintf(stderr, "mailvet stats: %s: not the Prometheus text format: %s\n", url,
		        err);
	else {
		if (json)
			print_json(url, &p);
		else
			print_table(url, &p);
		mv_prom_free(&p);
		rc = 0;
	}
	free(body);
	return rc;
}

int mv_cli_stats(int argc, char **argv)
{
	static const struct option opts[] = {{"url", required_argument, NULL, 'u'},
	                                     {"token-file", required_argument, NULL, 't'},
	                                     {"json", no_argument, NULL, 'j'},
	                                     {"help", no_argument, NULL, 'h'},
	                                     {NULL, 0, NULL, 0}};
	const char *url = DEFAULT_URL, *token_file = NULL;
	char *token = NULL, *full = NULL;
	int json = 0, c, rc = 2;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'u':
			url = optarg;
			break;
		case 't':
			token_file = optarg;
			break;
		case 'j':
			json = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if (token_file && !(token = first_line(token_file)))
		return 2;
	if ((full = metrics_url(url)) != NULL)
		rc = stats(full, token, json);
	free(full);
	free(token);
	return rc;
}
