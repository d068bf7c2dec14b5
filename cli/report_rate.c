/* cli/report_rate.c — a ledger of failure reports sent, per destination, for `--failure-rate`. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "report_rate.h"

#define ENTRIES_MAX 100000
#define LINE_MAX_LEN 1200

int mv_cli_rate_parse(const char *text, struct mv_cli_rate *r)
{
	char *end;
	unsigned long n = strtoul(text, &end, 10);

	if (end == text || text[0] == '-' || n == 0 || n > 1000000 || end[0] != '/' || !end[1] ||
	    end[2])
		return -1;
	r->limit = (unsigned)n;
	r->window = end[1] == 'm' ? 60 : end[1] == 'h' ? 3600 : end[1] == 'd' ? 86400 : 0;
	return r->window ? 0 : -1;
}

static int add(struct mv_cli_rate *r, int64_t when, const char *dest)
{
	if (r->n == r->cap) {
		size_t cap = r->cap ? 2 * r->cap : 64;
		struct mv_cli_rate_entry *grown = realloc(r->e, cap * sizeof *grown);
		if (!grown)
			return -1;
		r->e = grown;
		r->cap = cap;
	}
	if (!(r->e[r->n].dest = strdup(dest)))
		return -1;
	r->e[r->n++].when = when;
	return 0;
}

int mv_cli_rate_load(struct mv_cli_rate *r, const char *dir, int64_t now)
{
	char line[LINE_MAX_LEN], dest[LINE_MAX_LEN];
	long long when;
	FILE *f;
	int rc = 0;

	snprintf(r->path, sizeof r->path, "%s/.rate", dir);
	if (r->limit == 0 || (f = fopen(r->path, "r")) == NULL)
		return 0; /* no limit, or nothing sent yet */
	while (rc == 0 && r->n < ENTRIES_MAX && fgets(line, sizeof line, f))
		if (sscanf(line, "%lld %1199s", &when, dest) == 2 && when > now - r->window &&
		    when <= now)
			rc = add(r, when, dest);
	fclose(f);
	return rc;
}

int mv_cli_rate_allow(const struct mv_cli_rate *r, const char *dest, int64_t now)
{
	unsigned n = 0;

	if (r->limit == 0)
		return 1;
	for (size_t i = 0; i < r->n; i++)
		n += r->e[i].when > now - r->window && strcmp(r->e[i].dest, dest) == 0;
	return n < r->limit;
}

int mv_cli_rate_note(struct mv_cli_rate *r, const char *dest, int64_t now)
{
	return r->limit ? add(r, now, dest) : 0;
}

int mv_cli_rate_save(const struct mv_cli_rate *r)
{
	char tmp[4300];
	FILE *f;
	int rc = 0;

	if (r->limit == 0)
		return 0;
	snprintf(tmp, sizeof tmp, "%s.tmp", r->path);
	if ((f = fopen(tmp, "w")) == NULL)
		return -1;
	for (size_t i = 0; i < r->n; i++)
		if (fprintf(f, "%" PRId64 " %s\n", r->e[i].when, r->e[i].dest) < 0)
			rc = -1;
	if (fclose(f) != 0)
		rc = -1;
	if (rc == 0 && rename(tmp, r->path) != 0)
		rc = -1;
	if (rc != 0)
		unlink(tmp);
	return rc;
}

void mv_cli_rate_free(struct mv_cli_rate *r)
{
	for (size_t i = 0; i < r->n; i++)
		free(r->e[i].dest);
	free(r->e);
	r->e = NULL;
	r->n = r->cap = 0;
}
