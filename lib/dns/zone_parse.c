/* lib/dns/zone_parse.c — read the zone-file format (DESIGN.md "Zone file format") into a zone. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mailvet/util.h>

#include "dns/backend.h"
#include "dns/zone.h"

struct parser {
	struct mv_dns_zone *zone;
	struct mv_buf txt; /* a TXT record's decoded strings */
	const char *why;   /* reason of the first error */
	char why_buf[96];  /* for reasons that name a word */
};

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

static void skip_space(struct mv_cursor *c)
{
	while (c->p < c->end && is_space(*c->p))
		c->p++;
}

/* At the end of the line's content (only blanks or a comment remain)? */
static int at_end(struct mv_cursor *c)
{
	skip_space(c);
	return c->p == c->end || *c->p == ';';
}

/*
 * RFC 1035 §5.1 escapes: \DDD (three decimal digits, at most 255) for any
 * byte, \X for X itself. c->p is just past the backslash.
 */
static int unescape(struct mv_cursor *c, unsigned char *out)
{
	unsigned v = 0;
	int i;

	if (c->p == c->end)
		return -1;
	if (*c->p < '0' || *c->p > '9') {
		*out = (unsigned char)*c->p++;
		return 0;
	}
	for (i = 0; i < 3; i++) {
		if (c->p == c->end || *c->p < '0' || *c->p > '9')
			return -1;
		v = v * 10 + (unsigned)(*c->p++ - '0');
	}
	if (v > 255)
		return -1;
	*out = (unsigned char)v;
	return 0;
}

/*
 * A name word (owner or rdata host): decoded, validated, lowercased, with
 * no trailing dot, into out. Names are text, so a decoded NUL is refused
 * and a decoded dot separates labels as a plain one does.
 */
static int name_word(struct parser *ps, struct mv_cursor *c, char out[MV_DNS_NAME_MAX + 1],
                     size_t *outlen, const char *what)
{
	char raw[MV_DNS_NAME_MAX + 2];
	size_t n = 0;
	unsigned char b;

	skip_space(c);
	if (c->p == c->end || *c->p == ';') {
		snprintf(ps->why_buf, sizeof ps->why_buf, "missing %s", what);
		ps->why = ps->why_buf;
		return -1;
	}
	while (c->p < c->end && !is_space(*c->p) && *c->p != ';') {
		b = (unsigned char)*c->p++;
		if (b == '\\' && unescape(c, &b) < 0) {
			ps->why = "bad \\DDD escape in a name";
			return -1;
		}
		if (b == '\0') {
			ps->why = "NUL byte in a name";
			return -1;
		}
		if (n == sizeof raw - 1)
			goto bad;
		raw[n++] = (char)b;
	}
	if (mv_dns_name_norm(raw, n, out, outlen) == MV_OK)
		return 0;
bad:
	snprintf(ps->why_buf, sizeof ps->why_buf,
	         "bad %s (empty label, label over 63 or name over 253 octets)", what);
	ps->why = ps->why_buf;
	return -1;
}

/* A plain word (type, number, address) as [*w, *w + *n). */
static int word(struct mv_cursor *c, const char **w, size_t *n)
{
	skip_space(c);
	*w = c->p;
	while (c->p < c->end && !is_space(*c->p) && *c->p != ';')
		c->p++;
	*n = (size_t)(c->p - *w);
	return *n ? 0 : -1;
}

static int parse_addr(struct parser *ps, struct mv_cursor *c, int af, struct mv_dns_rr *rr)
{
	char buf[64];
	const char *w;
	size_t n;

	if (word(c, &w, &n) < 0 || n >= sizeof buf) {
		ps->why = af == AF_INET ? "bad A address" : "bad AAAA address";
		return -1;
	}
	memcpy(buf, w, n);
	buf[n] = '\0';
	if (inet_pton(af, buf, rr->addr) != 1) {
		ps->why = af == AF_INET ? "bad A address" : "bad AAAA address";
		return -1;
	}
	return 0;
}

static int parse_pref(struct parser *ps, struct mv_cursor *c, unsigned *pref)
{
	const char *w;
	size_t n, i;
	unsigned long v = 0;

	if (word(c, &w, &n) < 0 || n > 5)
		goto bad;
	for (i = 0; i < n; i++) {
		if (w[i] < '0' || w[i] > '9')
			goto bad;
		v = v * 10 + (unsigned long)(w[i] - '0');
	}
	if (v > 65535)
		goto bad;
	*pref = (unsigned)v;
	return 0;
bad:
	ps->why = "bad MX preference (0-65535)";
	return -1;
}

/* One "quoted string": appended, decoded, to ps->txt. c->p is at the quote. */
static int txt_string(struct parser *ps, struct mv_cursor *c)
{
	unsigned char b;

	c->p++;
	while (c->p < c->end && *c->p != '"') {
		b = (unsigned char)*c->p++;
		if (b == '\\' && unescape(c, &b) < 0) {
			ps->why = "bad \\DDD escape in a TXT string";
			return -1;
		}
		mv_buf_putc(&ps->txt, (char)b);
	}
	if (c->p == c->end) {
		ps->why = "unterminated TXT string";
		return -1;
	}
	c->p++;
	if (c->p < c->end && !is_space(*c->p) && *c->p != ';') {
		ps->why = "TXT strings must be separated by blanks";
		return -1;
	}
	return 0;
}

static int parse_txt(struct parser *ps, struct mv_cursor *c, struct mv_dns_rr *rr)
{
	mv_buf_reset(&ps->txt);
	mv_buf_append(&ps->txt, "", 0);
	if (at_end(c)) {
		ps->why = "TXT needs at least one \"string\"";
		return -1;
	}
	while (!at_end(c)) {
		if (*c->p != '"') {
			ps->why = "TXT strings must be quoted";
			return -1;
		}
		if (txt_string(ps, c) < 0)
			return -1;
	}
	if (mv_buf_status(&ps->txt) != MV_OK) {
		ps->why = "out of memory";
		return -1;
	}
	rr->txt = ps->txt.data;
	rr->txtlen = ps->txt.len;
	return 0;
}

/* "TIMEOUT", "SERVFAIL" [TYPE], "NODATA": no records, only behaviour. */
static int parse_pseudo(struct parser *ps, struct mv_cursor *c, struct mv_dns_node *node, int fail)
{
	static const enum mv_dns_type types[] = {MV_DNS_A,  MV_DNS_CNAME, MV_DNS_PTR,
	                                         MV_DNS_MX, MV_DNS_TXT,   MV_DNS_AAAA};
	const char *w;
	size_t n, i;

	if (at_end(c)) {
		if (fail && !node->fail_any)
			node->fail_any = (unsigned char)fail;
		return 0;
	}
	if (!fail || word(c, &w, &n) < 0)
		goto bad;
	for (i = 0; i < sizeof types / sizeof types[0]; i++) {
		if (mv_ascii_ieq(w, n, mv_dns_type_str(types[i]))) {
			int ti = mv_dns_zone_type_index(types[i]);
			if (!node->fail[ti])
				node->fail[ti] = (unsigned char)fail;
			return 0;
		}
	}
bad:
	ps->why = fail ? "TIMEOUT and SERVFAIL take no data but an optional type"
	               : "NODATA takes no data";
	return -1;
}

/* The rdata of a record type into rr (host/txt borrowed from ps or hostbuf). */
static int parse_rdata(struct parser *ps, struct mv_cursor *c, struct mv_dns_rr *rr,
                       char hostbuf[MV_DNS_NAME_MAX + 1])
{
	size_t n;

	switch (rr->type) {
	case MV_DNS_A:
		return parse_addr(ps, c, AF_INET, rr);
	case MV_DNS_AAAA:
		return parse_addr(ps, c, AF_INET6, rr);
	case MV_DNS_MX:
		if (parse_pref(ps, c, &rr->pref) < 0)
			return -1;
		/* fall through */
	case MV_DNS_PTR:
	case MV_DNS_CNAME:
		if (name_word(ps, c, hostbuf, &n, "target name") < 0)
			return -1;
		rr->host = hostbuf;
		return 0;
	case MV_DNS_TXT:
		return parse_txt(ps, c, rr);
	}
	return -1;
}

static int record_type(const char *w, size_t n, enum mv_dns_type *type)
{
	static const enum mv_dns_type types[] = {MV_DNS_A,   MV_DNS_AAAA,  MV_DNS_MX,
	                                         MV_DNS_PTR, MV_DNS_CNAME, MV_DNS_TXT};
	size_t i;

	for (i = 0; i < sizeof types / sizeof types[0]; i++) {
		if (mv_ascii_ieq(w, n, mv_dns_type_str(types[i]))) {
			*type = types[i];
			return 0;
		}
	}
	return -1;
}

/* One line that is not blank: owner TYPE rdata [; comment]. */
static int parse_line(struct parser *ps, struct mv_cursor *c)
{
	char owner[MV_DNS_NAME_MAX + 1], host[MV_DNS_NAME_MAX + 1];
	struct mv_dns_rr rr;
	struct mv_dns_node *node;
	const char *w;
	size_t n, ownerlen;
	int fail = -1;

	if (name_word(ps, c, owner, &ownerlen, "owner name") < 0)
		return -1;
	if (word(c, &w, &n) < 0) {
		ps->why = "missing type";
		return -1;
	}
	memset(&rr, 0, sizeof rr);
	if (mv_ascii_ieq(w, n, "TIMEOUT"))
		fail = MV_DNS_ZONE_TIMEOUT;
	else if (mv_ascii_ieq(w, n, "SERVFAIL"))
		fail = MV_DNS_ZONE_SERVFAIL;
	else if (mv_ascii_ieq(w, n, "NODATA"))
		fail = MV_DNS_ZONE_OK;
	else if (record_type(w, n, &rr.type) < 0) {
		snprintf(ps->why_buf, sizeof ps->why_buf, "unknown type '%.*s'",
		         n > 16 ? 16 : (int)n, w);
		ps->why = ps->why_buf;
		return -1;
	}
	if (fail < 0 && parse_rdata(ps, c, &rr, host) < 0)
		return -1;
	if (!(node = mv_dns_zone_node(ps->zone, owner, ownerlen, 1))) {
		ps->why = "out of memory";
		return -1;
	}
	if (fail >= 0 && parse_pseudo(ps, c, node, fail) < 0)
		return -1;
	if (!at_end(c)) {
		ps->why = "trailing text after the record";
		return -1;
	}
	if (fail < 0 && mv_dns_zone_add(node, &rr) != MV_OK) {
		ps->why = "out of memory";
		return -1;
	}
	return 0;
}

#define LINE_MAX_BYTES 65536

static enum mv_status parse_text(struct parser *ps, const char *text, size_t len, size_t *lineno)
{
	const char *p = text, *end = text + len, *eol;
	struct mv_cursor c;

	for (*lineno = 1; p < end; (*lineno)++, p = eol + 1) {
		eol = memchr(p, '\n', (size_t)(end - p));
		if (!eol)
			eol = end;
		if ((size_t)(eol - p) > LINE_MAX_BYTES) {
			ps->why = "line longer than 65536 bytes";
			return MV_ETOOBIG;
		}
		if (memchr(p, '\0', (size_t)(eol - p))) {
			ps->why = "NUL byte (write \\000)";
			return MV_ESYNTAX;
		}
		mv_cursor_init(&c, p, (size_t)(eol - p));
		if (at_end(&c))
			continue;
		if (parse_line(ps, &c) < 0)
			return strcmp(ps->why, "out of memory") == 0 ? MV_ENOMEM : MV_ESYNTAX;
	}
	return MV_OK;
}

enum mv_status mv_dns_zone_parse(const char *text, size_t len, struct mv_resolver **out, char *err,
                                 size_t errlen)
{
	struct parser ps;
	enum mv_status st;
	size_t lineno = 0;

	*out = NULL;
	if (err && errlen)
		err[0] = '\0';
	memset(&ps, 0, sizeof ps);
	if (len > MV_DNS_ZONE_MAX) {
		if (err && errlen)
			snprintf(err, errlen, "zone larger than %zu bytes", MV_DNS_ZONE_MAX);
		return MV_ETOOBIG;
	}
	if (!(ps.zone = calloc(1, sizeof *ps.zone)))
		return MV_ENOMEM;
	mv_buf_init(&ps.txt);
	st = text || len == 0 ? parse_text(&ps, text, len, &lineno) : MV_EINVAL;
	mv_buf_free(&ps.txt);
	if (st != MV_OK) {
		if (err && errlen && ps.why)
			snprintf(err, errlen, "line %zu: %s", lineno, ps.why);
		mv_dns_zone_clear(ps.zone);
		free(ps.zone);
		return st;
	}
	return mv_dns_zone_resolver(ps.zone, out);
}

enum mv_status mv_dns_zone_open(const char *path, struct mv_resolver **out, char *err,
                                size_t errlen)
{
	enum mv_status st;
	char *text = NULL;
	size_t len = 0;

	*out = NULL;
	if (err && errlen)
		err[0] = '\0';
	st = mv_read_file(path, MV_DNS_ZONE_MAX, &text, &len);
	if (st != MV_OK) {
		if (err && errlen)
			snprintf(err, errlen, "%s: %s", path,
			         st == MV_ETOOBIG ? "zone larger than 64 MiB" : strerror(errno));
		return st;
	}
	st = mv_dns_zone_parse(text, len, out, err, errlen);
	free(text);
	return st;
}
