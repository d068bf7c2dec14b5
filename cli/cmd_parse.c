/* cli/cmd_parse.c — `mailvet parse`: Authentication-Results fields (RFC 8601) into data. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mailvet/authres.h>
#include <mailvet/msg.h>
#include <mailvet/util.h>

#include "commands.h"

#define INPUT_MAX ((size_t)64 << 20) /* 64 MiB: a whole message is fine */

enum output {
	OUT_SUMMARY,  /* one line per result */
	OUT_JSON,     /* a JSON array, one object per field */
	OUT_REFORMAT, /* each field as mv_authres_format writes it (round-trip tests) */
};

static void usage(FILE *f)
{
	fprintf(f, "usage: mailvet parse [--json] [--lenient] [FILE]\n"
	           "\n"
	           "Read a message, or just header fields, from FILE (standard input when FILE\n"
	           "is absent or \"-\") and print every Authentication-Results field (RFC 8601)\n"
	           "in the order they appear: one line per result, or with --json a JSON array\n"
	           "with one object per field:\n"
	           "  {\"authserv_id\": \"...\", \"version\": 1 or null, \"results\": "
	           "[{\"method\": \"...\",\n"
	           "   \"version\": 1 or null, \"result\": \"...\", \"reason\": \"...\" or null,\n"
	           "   \"props\": [{\"ptype\": \"...\", \"property\": \"...\", \"value\": "
	           "\"...\"}]}]}\n"
	           "A field saying \"none\" has \"results\": []. A malformed field is printed as\n"
	           "{\"error\": \"<why>\", \"header\": \"<field>\"} in its place.\n"
	           "\n"
	           "options:\n"
	           "  --json       print JSON\n"
	           "  --lenient    accept the common deviations of real-world producers: no\n"
	           "               authserv-id (printed as null), a trailing ';', values that\n"
	           "               are not tokens (header.b=ab/cd), name=value without ptype\n"
	           "               (skipped)\n"
	           "  --reformat   (for tests) print each field again as mailvet writes it,\n"
	           "               folded at 78 columns, CRLF line ends\n"
	           "\n"
	           "exit status: 0 every field parsed, 1 a field (or the message) is malformed,\n"
	           "2 usage or input/output error.\n");
}

/* "<authserv-id>[ (version N)]: method[/v]=result [reason=...] ptype.property=value ..." */
static void summary(struct mv_buf *b, const struct mv_authres *ar)
{
	size_t i;

	if (ar->results.count == 0) {
		mv_authres_summary_value(b, ar->serv_id ? ar->serv_id : "(no authserv-id)");
		if (ar->version)
			mv_buf_printf(b, " (version %u)", ar->version);
		mv_buf_puts(b, ": none\n");
	}
	for (i = 0; i < ar->results.count; i++) {
		const struct mv_result *r = ar->results.item[i];
		if (ar->serv_id)
			mv_authres_summary_value(b, ar->serv_id);
		else
			mv_buf_puts(b, "(no authserv-id)");
		if (ar->version)
			mv_buf_printf(b, " (version %u)", ar->version);
		mv_buf_puts(b, ": ");
		mv_result_summary(r, b);
		mv_buf_putc(b, '\n');
	}
}

/* The field as written, without its final line break. */
static size_t field_len(const struct mv_msg_field *f)
{
	size_t n = f->raw_len;

	if (n && f->raw[n - 1] == '\n')
		n--;
	if (n && f->raw[n - 1] == '\r')
		n--;
	return n;
}

/* Parse one field and append what `out` asks for; returns 0, or 1 when malformed. */
static int one_field(struct mv_buf *b, const struct mv_msg_field *f, unsigned flags,
                     enum output out, int first)
{
	struct mv_authres *ar = NULL;
	char err[160];
	int bad = 0;

	if (out == OUT_JSON)
		mv_buf_puts(b, first ? "\n  " : ",\n  ");
	if (mv_authres_parse(f->value, f->value_len, flags, &ar, err, sizeof err) != MV_OK) {
		bad = 1;
		if (out == OUT_JSON) {
			mv_buf_puts(b, "{\"error\": ");
			mv_json_cstr(b, err);
			mv_buf_puts(b, ", \"header\": ");
			mv_json_string(b, f->raw, field_len(f));
			mv_buf_putc(b, '}');
		} else {
			mv_buf_printf(b, "error: %s: ", err);
			mv_buf_append(b, f->raw, field_len(f));
			mv_buf_putc(b, '\n');
		}
	} else if (out == OUT_JSON) {
		mv_authres_json(ar, b);
	} else if (out == OUT_REFORMAT) {
		if (mv_authres_format(ar, b) != MV_OK)
			bad = 1;
		mv_buf_puts(b, "\r\n");
	} else {
		summary(b, ar);
	}
	mv_authres_free(ar);
	return bad;
}

/* Every Authentication-Results field of the message, in order. */
static int run(const char *data, size_t len, unsigned flags, enum output out)
{
	struct mv_msg *m = NULL;
	struct mv_buf b = MV_BUF_INIT;
	char err[160];
	size_t i, n = 0;
	int status = 0;

	if (mv_msg_parse(data, len, NULL, &m, err, sizeof err) != MV_OK) {
		fprintf(stderr, "mailvet parse: %s\n", err);
		return 1;
	}
	if (out == OUT_JSON)
		mv_buf_putc(&b, '[');
	for (i = mv_msg_find(m, "Authentication-Results", 0); i != (size_t)-1;
	     i = mv_msg_find(m, "Authentication-Results", i + 1))
		status |= one_field(&b, mv_msg_field(m, i), flags, out, n++ == 0);
	if (out == OUT_JSON)
		mv_buf_puts(&b, n ? "\n]\n" : "]\n");
	if (mv_buf_status(&b) != MV_OK) {
		fprintf(stderr, "mailvet parse: %s\n", mv_status_str(mv_buf_status(&b)));
		status = 2;
	} else if (b.len && fwrite(b.data, 1, b.len, stdout) != b.len) {
		status = 2;
	}
	mv_buf_free(&b);
	mv_msg_free(m);
	return status;
}

int mv_cli_parse(int argc, char **argv)
{
	enum output out = OUT_SUMMARY;
	unsigned flags = 0;
	const char *path = NULL;
	char *data = NULL;
	size_t len = 0;
	enum mv_status st;
	int i, status;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return 0;
		} else if (strcmp(argv[i], "--json") == 0) {
			out = OUT_JSON;
		} else if (strcmp(argv[i], "--reformat") == 0) {
			out = OUT_REFORMAT;
		} else if (strcmp(argv[i], "--lenient") == 0) {
			flags |= MV_AUTHRES_LENIENT;
		} else if (argv[i][0] == '-' && argv[i][1] != '\0') {
			fprintf(stderr, "mailvet parse: unknown option '%s'\n", argv[i]);
			usage(stderr);
			return 2;
		} else if (!path) {
			path = argv[i];
		} else {
			usage(stderr);
			return 2;
		}
	}
	if ((st = mv_read_file(path ? path : "-", INPUT_MAX, &data, &len)) != MV_OK) {
		fprintf(stderr, "mailvet parse: %s: %s\n", path ? path : "standard input",
		        mv_cli_read_error(st));
		return 2;
	}
	status = run(data, len, flags, out);
	free(data);
	if (fflush(stdout) != 0)
		status = 2;
	return status;
}
