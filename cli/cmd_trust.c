/*
 * cli/cmd_trust.c — `mailvet trust`: per message, the Authentication-Results results a
 * mail reader may act on (lib/authres/trust.c), and every other field with its reason.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mailvet/authres.h>
#include <mailvet/msg.h>
#include <mailvet/util.h>

#include "commands.h"
#include "discover.h"
#include "verify_sources.h"

#define INPUT_MAX ((size_t)64 << 20)
#define TRUST_NO_ID 8 /* --discover: the server revealed no authserv-id */

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: mailvet trust (--authserv-id ID | --discover URL [discover options])\n"
	        "                     [--json] [FILE|DIR ...]\n"
	        "\n"
	        "Print, for each message, the Authentication-Results results a mail reader in\n"
	        "the ADMD whose authserv-id is ID may act on (RFC 8601 §4.1, §5, §7), and\n"
	        "every other field as untrusted with the reason. Trusted: fields with our id\n"
	        "from the topmost one down to the first Received field below it (the one our\n"
	        "entry MTA wrote); below that, a field with our id may come from outside.\n"
	        "The id compares ignoring ASCII case and one trailing dot, an A-label equal\n"
	        "to its U-label; look-alikes (other scripts, full-width forms) are other ids.\n"
	        "Trusted fields are read as 'mailvet parse --lenient' reads them; what only\n"
	        "that mode accepts is reported as a note. Results of unregistered or\n"
	        "unsupported methods, result codes or ptypes are listed as untrusted (§4.1).\n"
	        "FILE: a message or an mbox (standard input when absent or \"-\"); DIR: a\n"
	        "Maildir (cur/ and new/) or a directory of messages.\n"
	        "\n"
	        "options:\n"
	        "  --authserv-id ID   our authserv-id\n"
	        "  --discover URL     take it from the server, as 'mailvet discover URL' does;\n"
	        "                     --starttls, --user, --password-file, --ca, --insecure and\n"
	        "                     --timeout go with it\n"
	        "  --json             a JSON array, one object per message:\n"
	        "    {\"message\", \"authserv_id\", \"trusted\": [{\"field\": N, \"authserv_id\",\n"
	        "     \"deviation\": \"...\"|null, \"result\": RESULT or null for \"none\"}],\n"
	        "     \"untrusted\": [{\"field\": N, \"authserv_id\": \"...\"|null, \"reason\",\n"
	        "     \"result\": RESULT (only for results of a trusted field)}]}\n"
	        "    (RESULT as in 'mailvet parse --json'; N counts header fields from 1)\n"
	        "\n"
	        "exit status: 0 done, 1 a message could not be read as a message, 2 usage or\n"
	        "input/output error; with --discover also 3-7 as 'mailvet discover' (the\n"
	        "session failed) and 8 when the server reveals no authserv-id.\n");
}

struct trust_ctx {
	const char *ours;
	int json;
	const char *path;
	size_t nmsg; /* messages printed so far (JSON separators) */
	struct mv_buf out;
	int status;
};

/* An authserv-id as written: bare when printable ASCII, else as a JSON string. */
static void put_id(struct mv_buf *b, const char *s)
{
	const char *p;
	int plain = 1;

	for (p = s; *p && plain; p++)
		plain = (unsigned char)*p > ' ' && *p != '"' && *p != '\\' &&
		        (unsigned char)*p < 0x7f;
	if (plain)
		mv_buf_puts(b, s);
	else
		mv_json_cstr(b, s);
}

/* "KIND: field N (ID): " */
static void text_head(struct mv_buf *b, const char *kind, const struct mv_authres_trust_field *f)
{
	mv_buf_printf(b, "%s: field %zu (", kind, f->index + 1);
	if (f->serv_id)
		put_id(b, f->serv_id);
	else
		mv_buf_puts(b, "no authserv-id");
	mv_buf_puts(b, "): ");
}

static void text_report(struct trust_ctx *t, const struct mv_authres_trust_report *rep,
                        const char *name)
{
	struct mv_buf *b = &t->out;
	size_t i, k;

	mv_buf_printf(b, "== %s\n", name);
	for (i = 0; i < rep->count; i++) {
		const struct mv_authres_trust_field *f = &rep->field[i];
		if (f->trust != MV_AUTHRES_TRUSTED) {
			text_head(b, "untrusted", f);
			mv_buf_printf(b, "%s%s%s\n", f->why, f->error ? ": " : "",
			              f->error ? f->error : "");
			continue;
		}
		if (f->deviation) {
			text_head(b, "note", f);
			mv_buf_printf(b, "read leniently: %s\n", f->deviation);
		}
		if (f->ar->results.count == 0) {
			text_head(b, "trusted", f);
			mv_buf_puts(b, "none\n");
		}
		for (k = 0; k < f->ar->results.count; k++) {
			text_head(b, f->ignored[k] ? "untrusted" : "trusted", f);
			mv_result_summary(f->ar->results.item[k], b);
			if (f->ignored[k])
				mv_buf_printf(b, ": %s", f->ignored[k]);
			mv_buf_putc(b, '\n');
		}
	}
}

/* {"field": N, "authserv_id": ... — the common start of both kinds of entry. */
static void json_entry(struct mv_buf *b, const struct mv_authres_trust_field *f, int *first)
{
	mv_buf_printf(b, "%s{\"field\": %zu, \"authserv_id\": ", *first ? "" : ", ", f->index + 1);
	if (f->serv_id)
		mv_json_cstr(b, f->serv_id);
	else
		mv_buf_puts(b, "null");
	*first = 0;
}

/* The trusted (want = 1) or untrusted (want = 0) entries of a report. */
static void json_entries(struct mv_buf *b, const struct mv_authres_trust_report *rep, int want)
{
	size_t i, k;
	int first = 1;

	for (i = 0; i < rep->count; i++) {
		const struct mv_authres_trust_field *f = &rep->field[i];
		if (f->trust != MV_AUTHRES_TRUSTED) {
			if (want)
				continue;
			json_entry(b, f, &first);
			mv_buf_puts(b, ", \"reason\": ");
			mv_json_cstr(b, f->why);
			mv_buf_putc(b, '}');
			continue;
		}
		for (k = 0; k < f->ar->results.count || (want && k == 0); k++) {
			const struct mv_result *r =
			        k < f->ar->results.count ? f->ar->results.item[k] : NULL;
			if (r && (f->ignored[k] == NULL) != want)
				continue;
			json_entry(b, f, &first);
			if (want) {
				mv_buf_puts(b, ", \"deviation\": ");
				if (f->deviation)
					mv_json_cstr(b, f->deviation);
				else
					mv_buf_puts(b, "null");
			} else {
				mv_buf_puts(b, ", \"reason\": ");
				mv_json_cstr(b, f->ignored[k]);
			}
			mv_buf_puts(b, ", \"result\": ");
			if (r)
				mv_result_json(r, b);
			else
				mv_buf_puts(b, "null"); /* a "none" field */
			mv_buf_putc(b, '}');
		}
	}
}

static void json_report(struct trust_ctx *t, const struct mv_authres_trust_report *rep,
                        const char *name)
{
	struct mv_buf *b = &t->out;

	mv_buf_puts(b, t->nmsg ? ",\n  {\"message\": " : "\n  {\"message\": ");
	mv_json_cstr(b, name);
	mv_buf_puts(b, ", \"authserv_id\": ");
	mv_json_cstr(b, t->ours);
	mv_buf_puts(b, ", \"trusted\": [");
	json_entries(b, rep, 1);
	mv_buf_puts(b, "], \"untrusted\": [");
	json_entries(b, rep, 0);
	mv_buf_puts(b, "]}");
}

/* One message of the current file (mv_cli_msg_fn). */
static int trust_one(void *arg, size_t index, int is_mbox, char *data, size_t len)
{
	struct trust_ctx *t = arg;
	struct mv_msg *m = NULL;
	struct mv_authres_trust_report rep;
	char err[160], name[4200];
	enum mv_status st;

	snprintf(name, sizeof name, is_mbox ? "%s#%zu" : "%s", t->path, index + 1);
	if (mv_msg_parse(data, len, NULL, &m, err, sizeof err) != MV_OK) {
		fprintf(stderr, "mailvet trust: %s: %s\n", name, err);
		t->status = t->status ? t->status : 1;
		return 0;
	}
	if ((st = mv_authres_trust(m, t->ours, NULL, &rep)) != MV_OK) {
		fprintf(stderr, "mailvet trust: %s: %s\n", name, mv_status_str(st));
		t->status = 2;
	} else {
		if (t->json)
			json_report(t, &rep, name);
		else
			text_report(t, &rep, name);
		t->nmsg++;
		mv_authres_trust_free(&rep);
	}
	mv_msg_free(m);
	if (mv_buf_status(&t->out) == MV_OK &&
	    fwrite(t->out.data, 1, t->out.len, stdout) != t->out.len)
		t->status = 2;
	mv_buf_reset(&t->out);
	return 0;
}

/* --discover: the authserv-id the server reveals, into *id (free()). 0 or an exit status. */
static int discover_id(const struct mv_cli_discover_opts *o, char **id)
{
	struct mv_cli_discovery d;
	const struct mv_authres_caps *c;
	int rc = mv_cli_discover_run(o, &d);

	if (rc != 0) {
		fprintf(stderr, "mailvet trust: %s: %s\n", o->url, d.err);
	} else if ((c = mv_cli_discovery_caps(&d))->state != MV_AUTHRES_CAPS_ID) {
		fprintf(stderr, "mailvet trust: %s: no authserv-id revealed (%s)\n", o->url,
		        c->state == MV_AUTHRES_CAPS_ABSENT ? "AUTHSERV not advertised"
		                                           : "AUTHSERV without a value; --user?");
		rc = TRUST_NO_ID;
	} else if (!(*id = mv_strndup(c->serv_id, strlen(c->serv_id)))) {
		rc = 2;
	}
	mv_cli_discovery_free(&d);
	return rc;
}

/* Every message of every file. */
static void run(struct trust_ctx *t, const struct mv_cli_files *files)
{
	size_t i, len;
	char *data;
	enum mv_status st;

	if (t->json)
		fputs("[", stdout);
	for (i = 0; i < files->n; i++) {
		t->path = files->path[i];
		if ((st = mv_read_file(t->path, INPUT_MAX, &data, &len)) != MV_OK) {
			fprintf(stderr, "mailvet trust: %s: %s\n", t->path, mv_cli_read_error(st));
			t->status = 2;
			continue;
		}
		mv_cli_split_messages(data, len, trust_one, t);
		free(data);
	}
	if (t->json)
		fputs(t->nmsg ? "\n]\n" : "]\n", stdout);
}

/* Options; 0, or an exit status after printing why (-1: --help printed). */
static int options(int argc, char **argv, struct trust_ctx *t, struct mv_cli_discover_opts *o,
                   struct mv_cli_files *files)
{
	int i, r;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return -1;
		} else if (strcmp(argv[i], "--json") == 0) {
			t->json = 1;
		} else if (strcmp(argv[i], "--authserv-id") == 0 && i + 1 < argc) {
			t->ours = argv[++i];
		} else if (strcmp(argv[i], "--discover") == 0 && i + 1 < argc) {
			o->url = argv[++i];
		} else if ((r = mv_cli_discover_option(o, "trust", argc, argv, &i)) != 0) {
			if (r < 0)
				return 2;
		} else if (argv[i][0] == '-' && argv[i][1] != '\0') {
			fprintf(stderr, "mailvet trust: unknown option or missing argument '%s'\n",
			        argv[i]);
			return 2;
		} else if (mv_cli_files_add(files, argv[i]) != 0) {
			fprintf(stderr, "mailvet trust: %s: %s\n", argv[i], strerror(errno));
			return 2;
		}
	}
	if (!t->ours == !o->url) {
		fprintf(stderr, "mailvet trust: give one of --authserv-id and --discover\n");
		return 2;
	}
	if (t->ours && !*t->ours) {
		fprintf(stderr, "mailvet trust: --authserv-id: empty\n");
		return 2;
	}
	if (files->n == 0 && mv_cli_files_add(files, "-") != 0)
		return 2;
	return 0;
}

int mv_cli_trust(int argc, char **argv)
{
	struct trust_ctx t;
	struct mv_cli_discover_opts o = {0};
	struct mv_cli_files files = {0};
	char *found = NULL;
	int rc;

	memset(&t, 0, sizeof t);
	mv_buf_init(&t.out);
	o.timeout_s = MV_DISC_TIMEOUT_DEFAULT;
	if ((rc = options(argc, argv, &t, &o, &files)) != 0) {
		if (rc > 0)
			usage(stderr);
		rc = rc < 0 ? 0 : rc;
	} else if (!o.url || (rc = discover_id(&o, &found)) == 0) {
		if (found)
			t.ours = found;
		run(&t, &files);
		rc = t.status;
		if (fflush(stdout) != 0)
			rc = 2;
	}
	free(found);
	mv_buf_free(&t.out);
	mv_cli_files_free(&files);
	return rc;
}
