/* daemon/fuzz/fuzz_pipeline.c — the message pipeline as a whole, checked against lib/verify. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <mailvet/msg.h>
#include <mailvet/verify.h>

#include "config.h"
#include "pipeline.h"
#include "pipeline_int.h"
#include "runtime.h"

/*
 * One input is one SMTP transaction through daemon/pipeline with an
 * offline zone. Layout:
 *   byte 0  bits 0-2 client (clients[]), bit 3 SMTP AUTH, bit 4 raw front end
 *   byte 1  MAIL FROM (mail_froms[])
 *   byte 2  seed of the body chunk sizes
 *   byte 3  0xF0 and above: the first field is given 985 + 2 * (b & 15)
 *           times more (the 1,000-field limit)
 *   rest    the message; every bare LF becomes CRLF (SMTP line ends)
 * The header ends at the first empty line. How lines become fields is the
 * front end's choice, so both are modelled:
 *   - strict MTA (Postfix, Sendmail): a line that is not ftext+ WSP* ':'
 *     ends the header and starts the body;
 *   - raw front end: every line is handed over; name = the bytes before
 *     the first colon minus trailing WSP, value = the rest (leading space
 *     kept); a line without a colon is a name with an empty value; a
 *     continuation before any field is a field with an empty name.
 * Continuation lines join their field's value with CRLF. Names and values
 * are C strings, as a milter gets them (a NUL cuts them).
 *
 * Invariants, abort() when broken:
 *   1. a field lib/verify refused (nbad_headers) means REJECT or TEMPFAIL,
 *      and the library's parser refuses the message too;
 *   2. otherwise the verdict equals lib/verify's on the same message as
 *      bytes (the fields handed over, CRLF, the body: what `mailvet verify`
 *      reads), mapped through the default [policy], with the same
 *      runtime, envelope and clock (skipped when the second changed);
 *      the Authentication-Results field inserted is the library's.
 */

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_INPUT (64 * 1024)

static const char *const clients[] = {"192.0.2.10",   "198.51.100.7",  "127.0.0.2",
                                      "2001:db8::25", "203.0.113.9",   "192.0.2.10",
                                      "198.51.100.7", "not-an-address"};
static const char *const mail_froms[] = {
        "",
        "user@pass.example",
        "user@reject.example",
        "user@none.example",
        "user@sign.example",
        "user@temp.example",
        "user@quarantine.example",
        "bounce@attacker.example",
};

static const char zone[] =
        "pass.example TXT \"v=spf1 ip4:192.0.2.10 -all\"\n"
        "_dmarc.pass.example TXT \"v=DMARC1; p=reject\"\n"
        "10.2.0.192.in-addr.arpa PTR mx.pass.example\n"
        "mx.pass.example A 192.0.2.10\n"
        "reject.example TXT \"v=spf1 -all\"\n"
        "_dmarc.reject.example TXT \"v=DMARC1; p=reject\"\n"
        "none.example TXT \"v=spf1 ?all\"\n"
        "_dmarc.none.example TXT \"v=DMARC1; p=none\"\n"
        "quarantine.example TXT \"v=spf1 -all\"\n"
        "_dmarc.quarantine.example TXT \"v=DMARC1; p=quarantine; sp=reject\"\n"
        "temp.example TIMEOUT\n"
        "_dmarc.temp.example TIMEOUT\n"
        "sign.example TXT \"v=spf1 ip4:127.0.0.2 -all\"\n"
        "_dmarc.sign.example TXT \"v=DMARC1; p=reject\"\n"
        "rsa1._domainkey.sign.example TXT \"v=DKIM1; k=rsa; "
        "p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQC8bdCJmUIMPfrk/ie0HGrvoKvYY4CwbZkhvmqR/"
        "5TSQLtLvDEOg8srg3NM6DNynd+xujPJehnAtXHzYtnJksjPA6vNgHuDfn8KUxXml5k1R/OxuJ/zNmr/"
        "jG0oVGRSrbVJAxGHJZLdXSJ0Qff8Uc3/YsPDvroUQGcFetdXBCgRVQIDAQAB\"\n"
        "ed1._domainkey.sign.example TXT \"v=DKIM1; k=ed25519; "
        "p=et0RDJneClKucAoxwKURt2MsEmElhI5pMbM61iBiUEg=\"\n"
        "attacker.example TXT \"v=spf1 ip4:198.51.100.7 -all\"\n"
        "_dmarc.attacker.example TXT \"v=DMARC1; p=none\"\n"
        "2.0.0.127.in-addr.arpa PTR localhost.test\n"
        "localhost.test A 127.0.0.2\n";

static struct mvd_runtime *rt;
static int verbose; /* FUZZ_PIPELINE_VERBOSE set: one line per input on stderr */

/* One header field as handed to the pipeline; both strings owned. */
struct field {
	char *name, *value;
};

/* One decoded input. */
struct input {
	struct mvd_client client;
	struct mvd_envelope env;
	uint32_t seed;
	size_t repeat; /* extra copies of fields[0] */
	char *msg;     /* the message, CRLF line ends */
	size_t len;
	struct field *fields;
	size_t nfields;
	const char *body; /* into msg */
	size_t body_len;
};

static void die(const char *what, const struct input *in, const char *detail)
{
	fprintf(stderr,
	        "fuzz_pipeline: INVARIANT BROKEN: %s\n  client %s auth %s mail_from <%s>\n%s\n",
	        what, in->client.ip, in->env.auth_id ? in->env.auth_id : "-", in->env.mail_from,
	        detail ? detail : "");
	abort();
}

/* The zone into a temporary file, the configuration parsed, the runtime built. */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char path[] = "/tmp/fuzz_pipeline_zone_XXXXXX", text[512], err[256];
	struct mvd_config cfg;
	int fd;

	(void)argc;
	(void)argv;
	if ((fd = mkstemp(path)) < 0 || write(fd, zone, sizeof zone - 1) != sizeof zone - 1) {
		perror("fuzz_pipeline: zone file");
		abort();
	}
	close(fd);
	snprintf(text, sizeof text,
	         "[verify]\nauthserv_id = mx.test.example\n[log]\ndestination = stderr\n"
	         "[outbound]\nsign = no\narc_seal = no\n[dns]\nzone_file = %s\n"
	         /* the per-login limits count across inputs: the verdict would depend on
	          * the run's history, not on the input (they have their own tests) */
	         "[submission]\nmessages_per_hour = 0\nrecipients_per_message = 0\n",
	         path);
	if (mvd_config_init(&cfg) != MV_OK ||
	    mvd_config_parse(&cfg, text, err, sizeof err) != MV_OK ||
	    mvd_runtime_open(&cfg, &rt, err, sizeof err) != MV_OK) {
		fprintf(stderr, "fuzz_pipeline: configuration: %s\n", err);
		abort();
	}
	unlink(path);
	verbose = getenv("FUZZ_PIPELINE_VERBOSE") != NULL;
	return 0;
}

static uint32_t next_rand(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

/* data with every LF not after a CR made CRLF; NULL for memory. */
static char *crlf(const uint8_t *data, size_t size, size_t *len)
{
	char *out = malloc(2 * size + 1);
	size_t n = 0;

	if (!out)
		return NULL;
	for (size_t i = 0; i < size; i++) {
		if (data[i] == '\n' && (i == 0 || data[i - 1] != '\r'))
			out[n++] = '\r';
		out[n++] = (char)data[i];
	}
	out[n] = '\0';
	*len = n;
	return out;
}

static int is_ftext(unsigned char c)
{
	return c > ' ' && c < 127 && c != ':';
}

/* A strict MTA's test: ftext+ WSP* ':'. */
static int is_field_line(const char *p, size_t n)
{
	size_t i = 0;

	while (i < n && is_ftext((unsigned char)p[i]))
		i++;
	if (i == 0)
		return 0;
	while (i < n && (p[i] == ' ' || p[i] == '\t'))
		i++;
	return i < n && p[i] == ':';
}

static char *copy(const char *p, size_t n)
{
	char *s = malloc(n + 1);

	if (s) {
		memcpy(s, p, n);
		s[n] = '\0';
	}
	return s;
}

/* Start a new field from the line [p, p+n); 0 for memory. */
static int add_field(struct input *in, const char *p, size_t n)
{
	const char *colon = memchr(p, ':', n), *value = colon ? colon + 1 : p + n;
	size_t nlen = colon ? (size_t)(colon - p) : n;
	struct field *f, *grown;

	if (p[0] == ' ' || p[0] == '\t') /* a continuation before any field: no name */
		nlen = 0, value = p;
	nlen = strnlen(p, nlen); /* the name as a C string, then without trailing WSP */
	while (nlen && (p[nlen - 1] == ' ' || p[nlen - 1] == '\t'))
		nlen--;
	if (!(grown = realloc(in->fields, (in->nfields + 1) * sizeof *grown)))
		return 0;
	in->fields = grown;
	f = &in->fields[in->nfields];
	f->name = copy(p, nlen);
	f->value = copy(value, (size_t)(p + n - value));
	if (!f->name || !f->value) {
		free(f->name);
		free(f->value);
		return 0;
	}
	in->nfields++;
	return 1;
}

/* Append CRLF + the continuation line [p, p+n) to the last field's value. */
static int continue_field(struct input *in, const char *p, size_t n)
{
	struct field *f = &in->fields[in->nfields - 1];
	size_t old = strlen(f->value);
	char *v = realloc(f->value, old + 2 + n + 1);

	if (!v)
		return 0;
	memcpy(v + old, "\r\n", 2);
	memcpy(v + old + 2, p, n);
	v[old + 2 + n] = '\0';
	f->value = v;
	return 1;
}

/* Split in->msg into fields and body as the chosen front end would; 0 for memory. */
static int split(struct input *in, int raw)
{
	size_t pos = 0;

	in->body = in->msg + in->len;
	in->body_len = 0;
	while (pos < in->len) {
		/* every LF follows a CR (crlf()) */
		const char *p = in->msg + pos, *lf = memchr(p, '\n', in->len - pos);
		size_t n = lf ? (size_t)(lf - 1 - p) : in->len - pos, next = pos + n + (lf ? 2 : 0);
		int wsp = n > 0 && (p[0] == ' ' || p[0] == '\t');

		if (n == 0) {
			in->body = in->msg + next;
			in->body_len = in->len - next;
			return 1;
		}
		if (!raw && !(wsp && in->nfields) && !is_field_line(p, n)) {
			in->body = p;
			in->body_len = in->len - pos;
			return 1;
		}
		if (!(wsp && in->nfields ? continue_field(in, p, n) : add_field(in, p, n)))
			return 0;
		pos = next;
	}
	return 1;
}

static void input_free(struct input *in)
{
	for (size_t i = 0; i < in->nfields; i++) {
		free(in->fields[i].name);
		free(in->fields[i].value);
	}
	free(in->fields);
	free(in->msg);
}

/* The i-th field handed over, counting the repeated copies of the first. */
static const struct field *nth(const struct input *in, size_t i)
{
	return &in->fields[i <= in->repeat ? 0 : i - in->repeat];
}

static size_t field_count(const struct input *in)
{
	return in->nfields ? in->nfields + in->repeat : 0;
}

/* Decode one input; 0 when it is too short or memory ran out. */
static int decode(const uint8_t *data, size_t size, struct input *in)
{
	memset(in, 0, sizeof *in);
	if (size < 4 || size > MAX_INPUT)
		return 0;
	snprintf(in->client.ip, sizeof in->client.ip, "%s", clients[data[0] & 7]);
	in->client.helo = "mx.sender.example";
	in->client.internal = mv_cidr_list_match(&rt->cfg.internal_hosts, in->client.ip);
	in->env.auth_id = data[0] & 8 ? "alice" : NULL;
	in->env.mail_from = mail_froms[data[1] % (sizeof mail_froms / sizeof mail_froms[0])];
	in->seed = 0x9e3779b9u * (data[2] + 1u);
	if (!(in->msg = crlf(data + 4, size - 4, &in->len)) || !split(in, data[0] & 16))
		return 0;
	if (data[3] >= 0xF0 && in->nfields &&
	    strlen(in->fields[0].name) + strlen(in->fields[0].value) <= 200)
		in->repeat = 985 + 2 * (size_t)(data[3] & 15);
	return 1;
}

/* Hand the message to the pipeline: the fields, the end of header, the body in random pieces. */
static void feed(struct mvd_pipeline *p, struct input *in)
{
	uint32_t s = in->seed;
	size_t off = 0;

	for (size_t i = 0; i < field_count(in); i++)
		mvd_pipeline_header(p, nth(in, i)->name, nth(in, i)->value);
	mvd_pipeline_header_end(p);
	while (off < in->body_len) {
		uint32_t r = next_rand(&s);
		size_t left = in->body_len - off, n;

		switch (r & 3) {
		case 0:
			n = (r >> 8) % 3; /* 0, 1 or 2: CR and LF apart */
			break;
		case 1:
			n = 1 + (r >> 8) % 64;
			break;
		case 2:
			n = 1 + (r >> 8) % 1500;
			break;
		default:
			n = left;
		}
		n = n < left ? n : left;
		mvd_pipeline_body(p, in->body + off, n);
		off += n;
	}
}

/* The message as bytes: each field handed over as "name:value" CRLF, CRLF, the body. */
static char *as_bytes(const struct input *in, size_t *len)
{
	struct mv_buf b = MV_BUF_INIT;

	for (size_t i = 0; i < field_count(in); i++)
		mv_buf_printf(&b, "%s:%s\r\n", nth(in, i)->name, nth(in, i)->value);
	mv_buf_puts(&b, "\r\n");
	mv_buf_append(&b, in->body, in->body_len);
	if (mv_buf_status(&b) != MV_OK) {
		mv_buf_free(&b);
		return NULL;
	}
	return mv_buf_steal(&b, len);
}

static const char *action_name(enum mvd_action a)
{
	static const char *const names[] = {"ACCEPT", "QUARANTINE", "REJECT", "TEMPFAIL"};

	return (unsigned)a < 4 ? names[a] : "?";
}

/* What the pipeline must answer for the library's action under the default [policy]. */
static enum mvd_action expected_action(enum mv_verify_action a, int outbound)
{
	switch (a) {
	case MV_VERIFY_ACCEPT:
		return MVD_ACTION_ACCEPT;
	case MV_VERIFY_REJECT: /* dmarc_reject = reject */
		return outbound ? MVD_ACTION_ACCEPT : MVD_ACTION_REJECT;
	case MV_VERIFY_QUARANTINE:
		return outbound ? MVD_ACTION_ACCEPT : MVD_ACTION_QUARANTINE;
	case MV_VERIFY_TEMPFAIL: /* temperror = tempfail */
		return MVD_ACTION_TEMPFAIL;
	}
	return MVD_ACTION_TEMPFAIL;
}

/* Invariant 1: a refused field refuses the message, and the parser refuses it too. */
static void check_unreadable(const struct mvd_pipeline *p, const struct mvd_outcome *out,
                             const struct input *in, const char *bytes, size_t len)
{
	struct mv_msg *m = NULL;
	char detail[700];
	enum mv_status st;

	snprintf(detail, sizeof detail, "  %zu fields refused, first %s (%s); verdict %s",
	         p->nbad_headers, p->bad_header_name, mv_status_str(p->bad_header_st),
	         action_name(out->verdict.action));
	if (out->verdict.action != MVD_ACTION_REJECT && out->verdict.action != MVD_ACTION_TEMPFAIL)
		die("a field lib/verify refused, yet the message is not refused", in, detail);
	st = mv_msg_parse(bytes, len, NULL, &m, NULL, 0);
	mv_msg_free(m);
	if (st == MV_OK)
		die("the pipeline refused a field of a message mv_msg_parse reads whole", in,
		    detail);
}

/* Our Authentication-Results field among the edits, as "Authentication-Results:value". */
static char *our_field(const struct mvd_outcome *out)
{
	struct mv_buf b = MV_BUF_INIT;

	for (size_t i = 0; i < out->nedits; i++)
		if (out->edits[i].kind == MVD_EDIT_INSERT &&
		    strcmp(out->edits[i].name, "Authentication-Results") == 0)
			mv_buf_printf(&b, "%s%s:%s", b.len ? "\r\n" : "", out->edits[i].name,
			              out->edits[i].value);
	return mv_buf_steal(&b, NULL);
}

/* Invariant 2: the pipeline's verdict and field are the library's on the same bytes. */
static void check_library(const struct mvd_pipeline *p, const struct mvd_outcome *out,
                          const struct input *in, time_t now, const char *bytes, size_t len)
{
	struct mv_envelope env = {in->client.ip,
	                          in->client.name,
	                          in->client.helo,
	                          in->env.mail_from,
	                          in->env.auth_id,
	                          in->env.queue_id,
	                          0};
	struct mv_verify *v = NULL;
	enum mvd_action want;
	char detail[4096], *ours = NULL;
	enum mv_status st;

	if (p->failed) { /* an internal error (too many forged fields): [policy] on_error */
		if (out->verdict.action != MVD_ACTION_TEMPFAIL)
			die("an internal error not answered tempfail", in, p->fail_where);
		return;
	}
	st = mv_verify_message(&rt->vcfg, rt->resolver, now, &env, bytes, len, &v);
	if (st == MV_ENOMEM)
		return;
	if (st != MV_OK) {
		snprintf(detail, sizeof detail, "  library: %s; pipeline: %s", mv_status_str(st),
		         action_name(out->verdict.action));
		die("the pipeline took every field, the library refuses the message", in, detail);
	}
	want = expected_action(mv_verify_action(v), p->outbound);
	if (want != out->verdict.action) {
		snprintf(detail, sizeof detail, "  library: %s -> %s; pipeline: %s (%s)\n  %s",
		         mv_verify_action_str(mv_verify_action(v)), action_name(want),
		         action_name(out->verdict.action), out->note ? out->note : "",
		         mv_verify_header_field(v));
		die("the pipeline's verdict is not the library's", in, detail);
	}
	if (want == MVD_ACTION_ACCEPT || want == MVD_ACTION_QUARANTINE) {
		ours = our_field(out);
		/* Outbound mail carries no field of ours unless [outbound] authentication_results. */
		if (p->outbound && !rt->cfg.outbound_results) {
			if (ours && ours[0])
				die("outbound mail got our Authentication-Results", in, ours);
		} else if (!ours || strcmp(ours, mv_verify_header_field(v)) != 0) {
			snprintf(detail, sizeof detail, "  library:  %s\n  pipeline: %s",
			         mv_verify_header_field(v), ours ? ours : "(none)");
			die("the pipeline's Authentication-Results is not the library's", in,
			    detail);
		}
	}
	free(ours);
	mv_verify_free(v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mvd_pipeline *p = NULL;
	struct mvd_outcome out;
	struct input in;
	char *bytes = NULL;
	size_t len = 0;
	time_t t0, t1;

	if (!decode(data, size, &in))
		goto out;
	t0 = time(NULL);
	if (mvd_pipeline_new(rt, &in.client, &in.env, &p) != MV_OK)
		goto out;
	t1 = time(NULL);
	feed(p, &in);
	mvd_pipeline_end(p, &out);
	if (!(bytes = as_bytes(&in, &len)))
		goto out;
	if (verbose)
		fprintf(stderr,
		        "fuzz_pipeline: %s %s <%s> %zu fields (%zu refused) %zu body bytes: "
		        "%s%s%s\n",
		        data[0] & 16 ? "raw" : "strict", in.client.ip, in.env.mail_from,
		        field_count(&in), p->nbad_headers, in.body_len,
		        action_name(out.verdict.action), out.note ? " - " : "",
		        out.note ? out.note : "");
	if (p->nbad_headers)
		check_unreadable(p, &out, &in, bytes, len);
	else if (t0 == t1)
		check_library(p, &out, &in, t0, bytes, len);
out:
	free(bytes);
	mvd_pipeline_free(p);
	input_free(&in);
	return 0;
}
