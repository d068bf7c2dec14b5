/* cli/report_failure.c — the spooled DMARC failure reports sent as ARF, each once per destination. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "report_dest.h"
#include "report_failure.h"

#define FILES_MAX 100000 /* spool files read in one run */

/* One destination of a report: 1 when it is done with (sent, or never to be sent). */
static int to_destination(struct mv_cli_failure_send *fs, const struct mv_report_failure *f,
                          const char *id, const char *dest)
{
	struct mv_buf msg = MV_BUF_INIT;
	const char *to = dest + 7;
	char why[600], path[4200];
	int sent = 0, already, done = 0;

	if (mv_store_is_sent(fs->store, id, dest, &sent) != MV_OK) {
		fprintf(stderr, "mailvet report send: %s\n", mv_store_error(fs->store));
		fs->rc = 2;
		return 0;
	}
	if (sent)
		return 1;
	if (!mv_cli_rate_allow(&fs->rate, dest, fs->now)) {
		fs->dropped++;
		fprintf(stderr,
		        "mailvet report send: failure report %s -> %s dropped: over --failure-rate "
		        "%u per %us\n",
		        id, to, fs->rate.limit, fs->rate.window);
		return 1;
	}
	switch (mv_cli_report_dest_check(fs->resolver, f->policy_domain, dest, why, sizeof why)) {
	case MV_REPORT_DEST_OK:
		break;
	case MV_REPORT_DEST_REFUSED:
		fs->unauthorized++;
		fprintf(stderr, "mailvet report send: failure report %s -> %s skipped: %s\n", id,
		        to, why);
		return 1;
	case MV_REPORT_DEST_TEMP:
		fs->refused++;
		fprintf(stderr, "mailvet report send: failure report %s -> %s: %s (next run)\n", id,
		        to, why);
		fs->rc = fs->rc ? fs->rc : 1;
		return 0;
	}
	if (mv_report_failure_email(fs->info, f, id, fs->from, to, fs->now, &msg) != MV_OK) {
		fprintf(stderr, "mailvet report send: failure report %s: cannot build it for %s\n",
		        id, to);
		fs->rc = 2;
		goto out;
	}
	if (fs->dry_dir) {
		FILE *o;
		snprintf(path, sizeof path, "%s/%s.%s.eml", fs->dry_dir, id, to);
		if ((o = fopen(path, "wb")) == NULL || fwrite(msg.data, 1, msg.len, o) != msg.len) {
			fprintf(stderr, "mailvet report send: %s: %s\n", path, strerror(errno));
			fs->rc = 2;
		} else
			printf("%s -> %s (failure report)\n", path, dest);
		if (o)
			fclose(o);
		goto out;
	}
	switch (mv_cli_outlet_send(fs->outlet, fs->from, to, msg.data, msg.len, why, sizeof why)) {
	case MV_SMTP_ACCEPTED:
		if (mv_store_mark_sent(fs->store, id, dest, fs->now, &already) != MV_OK) {
			fprintf(stderr, "mailvet report send: %s to %s sent but not marked: %s\n",
			        id, to, mv_store_error(fs->store));
			fs->rc = 2;
			goto out;
		}
		fs->sent++;
		done = 1;
		if (mv_cli_rate_note(&fs->rate, dest, fs->now) != 0)
			fs->rc = 2;
		printf("sent failure report %s (%s) -> %s [%s]\n", id, f->reported_domain, to, why);
		break;
	case MV_SMTP_REFUSED:
	case MV_SMTP_FAILED:
		fs->refused++;
		fs->rc = fs->rc ? fs->rc : 1;
		fprintf(stderr,
		        "mailvet report send: failure report %s -> %s not sent (next run "
		        "retries): %s\n",
		        id, to, why);
		break;
	}
out:
	mv_buf_free(&msg);
	return done;
}

/* One spool file: each destination, then removed when all are done. */
static void one_file(struct mv_cli_failure_send *fs, const char *dir, const char *name)
{
	struct mv_report_failure f;
	char path[4200], bad[4300], id[300], err[200], *data = NULL;
	size_t len, n = strlen(name) - 4; /* without ".ruf" */
	const char *p;
	int all = 1;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	snprintf(id, sizeof id, "ruf-%.*s", (int)(n < 250 ? n : 250), name);
	if (mv_read_file(path, MV_REPORT_FAILURE_MAX, &data, &len) != MV_OK ||
	    mv_report_failure_read(data, len, &f, err, sizeof err) != MV_OK) {
		fprintf(stderr,
		        "mailvet report send: %s: not a failure report, set aside as .bad\n", path);
		snprintf(bad, sizeof bad, "%s.bad", path);
		rename(path, bad);
		fs->bad++;
		fs->rc = fs->rc ? fs->rc : 1;
		goto out;
	}
	for (p = f.destinations ? f.destinations : ""; *p;) {
		char dest[MV_REPORT_URI_MAX];
		size_t k = strcspn(p, ",");
		if (k > 7 && k < sizeof dest && mv_ascii_ieq(p, 7, "mailto:")) {
			memcpy(dest, p, k);
			dest[k] = '\0';
			all &= to_destination(fs, &f, id, dest);
		}
		p += k;
		p += *p == ',';
	}
	if (all && !fs->dry_dir && unlink(path) != 0)
		fprintf(stderr, "mailvet report send: %s: %s\n", path, strerror(errno));
out:
	free(data);
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void mv_cli_report_send_failures(struct mv_cli_failure_send *fs, const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **names = NULL, **grown;
	size_t n = 0, cap = 0;

	if (!d || mv_cli_rate_load(&fs->rate, dir, fs->now) != 0) {
		fprintf(stderr, "mailvet report send: %s: %s\n", dir, strerror(errno));
		fs->rc = 2;
		if (d)
			closedir(d);
		return;
	}
	while ((e = readdir(d)) != NULL && n < FILES_MAX) {
		size_t k = strlen(e->d_name);
		if (e->d_name[0] == '.' || k < 5 || strcmp(e->d_name + k - 4, ".ruf") != 0)
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 64;
			if (!(grown = realloc(names, cap * sizeof *names)))
				break;
			names = grown;
		}
		if (!(names[n] = strdup(e->d_name)))
			break;
		n++;
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof *names,
		      by_name); /* oldest first: names start with the time */
	for (size_t i = 0; i < n; i++) {
		if (fs->rc != 2)
			one_file(fs, dir, names[i]);
		free(names[i]);
	}
	free(names);
	if (!fs->dry_dir && mv_cli_rate_save(&fs->rate) != 0) {
		fprintf(stderr, "mailvet report send: %s: %s\n", fs->rate.path, strerror(errno));
		fs->rc = 2;
	}
	mv_cli_rate_free(&fs->rate);
}
