/* cli/cmd_report.c — `mailvet report`: migrate the store, import received reports; send and show elsewhere. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mailvet/report.h>
#include <mailvet/store.h>

#include "commands.h"
#include "report_cmd.h"
#include "verify_sources.h"

#define MAX_INPUT ((size_t)64 << 20) /* one received file: a message or an archive */

static void usage(FILE *f)
{
	fprintf(f, "usage: mailvet report migrate STORE\n"
	           "       mailvet report import STORE FILE|DIR ...\n"
	           "       mailvet report show STORE [--json] [--recorded] [--domain D]\n"
	           "       mailvet report send STORE (--relay HOST:PORT | --sendmail [PATH] | "
	           "--dry-run DIR)\n"
	           "                 [--from ADDR] [--failure-spool DIR [--failure-rate N/h]]\n"
	           "                 [--period 24h] [--now T]\n"
	           "                 [--receiver DOMAIN] [--org-name NAME] [--email ADDR]\n"
	           "STORE is sqlite:PATH (created on first use) or a PostgreSQL location\n"
	           "(postgresql://USER@HOST:PORT/DB, pg:KEYWORDS). migrate applies the schema\n"
	           "migrations the store lacks. import reads DMARC aggregate reports (RFC 7489,\n"
	           "RFC 9990) from XML, .xml.gz and .zip files and messages (a Maildir or files)\n"
	           "into the store. show summarizes imported reports (--recorded: our own\n"
	           "records) by domain and source IP. send mails the reports of the complete\n"
	           "periods, one per DMARC Policy Domain and destination, through the relay\n"
	           "or sendmail (-t -oi -f FROM), each marked sent after the relay's 250 or\n"
	           "sendmail's exit 0 (--dry-run: written to DIR); --failure-spool also sends\n"
	           "the failure reports (ARF) mailvetd spooled there, each once.\n"
	           "Exit status 0 on success, 1 when an input holds no readable report or a\n"
	           "report was not sent,\n"
	           "2 on usage or system errors.\n");
}

static int migrate(int argc, char **argv)
{
	struct mv_store *s = NULL;
	char err[400];
	int from = 0, to = 0, rc = 2;

	if (argc != 2) {
		usage(stderr);
		return 2;
	}
	if (mv_store_open(argv[1], 1, &s, err, sizeof err) != MV_OK) {
		fprintf(stderr, "mailvet report migrate: %s\n", err);
		return 2;
	}
	if (mv_store_migrate(s, &from, &to) != MV_OK) {
		fprintf(stderr, "mailvet report migrate: %s\n", mv_store_error(s));
		goto out;
	}
	if (from == to)
		printf("%s: schema version %d, up to date\n", argv[1], to);
	else
		printf("%s: schema version %d -> %d\n", argv[1], from, to);
	rc = 0;
out:
	mv_store_close(s);
	return rc;
}

struct import {
	struct mv_store *store;
	const char *file;
	int rc;
};

/* One report found in a file: parsed and stored. */
static int import_one(void *arg, const char *name, const char *xml, size_t len)
{
	struct import *im = arg;
	struct mv_report_meta meta;
	struct mv_report_record *rows = NULL;
	size_t n = 0;
	char err[300];
	int dup = 0;
	enum mv_status st;

	st = mv_report_parse(xml, len, &meta, &rows, &n, err, sizeof err);
	if (st != MV_OK) {
		fprintf(stderr, "mailvet report import: %s%s%s: %s\n", im->file,
		        name[0] ? ": " : "", name, err);
		im->rc = im->rc > 1 ? im->rc : 1;
		return st == MV_ENOMEM;
	}
	if (mv_store_add_received(im->store, &meta, rows, n, &dup) != MV_OK) {
		fprintf(stderr, "mailvet report import: %s\n", mv_store_error(im->store));
		im->rc = 2;
	} else {
		printf("%s: %s report %s from %s, %zu records\n", im->file,
		       dup ? "already imported:" : "imported", meta.report_id, meta.org_name, n);
	}
	free(rows);
	return im->rc == 2;
}

static int import(int argc, char **argv)
{
	struct mv_cli_files files = {NULL, 0, 0};
	struct import im = {NULL, NULL, 0};
	char err[400], *data;
	size_t len, k;
	int i;

	if (argc < 3) {
		usage(stderr);
		return 2;
	}
	for (i = 2; i < argc; i++)
		if (mv_cli_files_add(&files, argv[i]) != 0) {
			fprintf(stderr, "mailvet report import: %s: %s\n", argv[i],
			        strerror(errno));
			im.rc = 2;
			goto out;
		}
	if (mv_store_open(argv[1], 0, &im.store, err, sizeof err) != MV_OK) {
		fprintf(stderr, "mailvet report import: %s\n", err);
		im.rc = 2;
		goto out;
	}
	for (k = 0; k < files.n && im.rc < 2; k++) {
		im.file = files.path[k];
		if (mv_read_file(im.file, MAX_INPUT, &data, &len) != MV_OK) {
			fprintf(stderr,
			        "mailvet report import: %s: cannot read (or over %zu bytes)\n",
			        im.file, MAX_INPUT);
			im.rc = im.rc > 1 ? im.rc : 1;
			continue;
		}
		if (mv_report_extract(data, len, import_one, &im, err, sizeof err) != MV_OK) {
			fprintf(stderr, "mailvet report import: %s: %s\n", im.file, err);
			im.rc = im.rc > 1 ? im.rc : 1;
		}
		free(data);
	}
out:
	mv_store_close(im.store);
	mv_cli_files_free(&files);
	return im.rc;
}

int mv_cli_report(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "--help") == 0) {
		usage(stdout);
		return 0;
	}
	if (argc < 3) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "migrate") == 0)
		return migrate(argc - 1, argv + 1);
	if (strcmp(argv[1], "import") == 0)
		return import(argc - 1, argv + 1);
	if (strcmp(argv[1], "show") == 0)
		return mv_cli_report_show(argc - 1, argv + 1);
	if (strcmp(argv[1], "send") == 0)
		return mv_cli_report_send(argc - 1, argv + 1);
	usage(stderr);
	return 2;
}
