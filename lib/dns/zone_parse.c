/*
 * lib/dns/zone_parse.c — read a zone file (docs/zone-file.md: RFC 1035 §5
 * master-file syntax plus the TIMEOUT, SERVFAIL and NODATA pseudo-records)
 * into a zone. ldns reads master files too, but it has no place for the
 * pseudo-records, and the one-line format that predates this one must keep
 * its meaning (a name without a trailing dot is absolute until a $ORIGIN),
 * so the entries are parsed here, bounded, and fuzzed (fuzz/fuzz_dns_zone.c).
 */
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
	struct mv_buf txt;   /* a TXT record's decoded strings */
	struct mv_buf entry; /* the entry being parsed (zone_entry.c) */
	/* $ORIGIN, normalized; "" (the root) until one is given */
	char origin[MV_DNS_NAME_MAX + 1];
	size_t originlen;
	/* the last owner, for entries that start with a blank */
	char prev[MV_DNS_NAME_MAX + 1];
	size_t prevlen;
	int have_prev;
	const char *why;  /* reason of the first error */
	char why_buf[96]; /* for reasons that name a word */
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

/* Append ".origin" to the raw name (a relative name); -1 when it does not fit. */
static int append_origin(const struct parser *ps, char *raw, size_t *n, size_t cap)
{
	if (ps->originlen == 0)
		return 0; /* no $ORIGIN yet: the name is absolute, as in the one-line format */
	if (*n + 1 + ps->originlen >= cap)
		return -1;
	raw[(*n)++] = '.';
	memcpy(raw + *n, ps->origin, ps->originlen);
	*n += ps->originlen;
	return 0;
}

/*
 * A name word (owner or rdata host): decoded, validated, lowercased, with
 * no trailing dot, into out. Names are text, so a decoded NUL is refused
 * and a decoded dot separates labels as a plain one does. "@" is the
 * origin; a name without a plain trailing dot is relative to the origin.
 */
static int name_word(struct parser *ps, struct mv_cursor *c, char out[MV_DNS_NAME_MAX + 1],
                     size_t *outlen, const char *what)
{
	char raw[2 * MV_DNS_NAME_MAX + 4];
	size_t n = 0;
	unsigned char b;
	int absolute = 0, escaped;

	skip_space(c);
	if (c->p == c->end || *c->p == ';') {
		snprintf(ps->why_buf, sizeof ps->why_buf, "missing %s", what);
		ps->why = ps->why_buf;
		return -1;
	}
	if (c->end - c->p >= 1 && *c->p == '@' && (c->end - c->p == 1 || is_space(c->p[1]))) {
		c->p++;
		memcpy(out, ps->origin, ps->originlen + 1);
		*outlen = ps->originlen;
		return 0;
	}
	while (c->p < c->end && !is_space(*c->p) && *c->p != ';') {
		b = (unsigned char)*c->p++;
		escaped = b == '\\';
		if (escaped && unescape(c, &b) < 0) {
			ps->why = "bad \\DDD escape in a name";
			return -1;
		}
		if (b == '\0') {
			ps->why = "NUL byte in a name";
			return -1;
		}
		if (n >= MV_DNS_NAME_MAX + 1)
			goto bad;
		absolute = b == '.' && !escaped;
		raw[n++] = (char)b;
	}
	if (!absolute && append_origin(ps, raw, &n, sizeof raw) < 0)
		goto bad;
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

/*
 * Types a zone as nsd, BIND or `dig` writes it holds but no check asks:
 * their owner exists (so it answers NODATA, as in real DNS) and their rdata
 * is skipped. RFC 3597 TYPEnnn too.
 */
static int ignored_type(const char *w, size_t n)
{
	static const char *const names[] = {
	        "NS",    "SOA",   "SRV",  "CAA",        "DS",    "DNSKEY", "RRSIG",
	        "NSEC",  "NSEC3", "TLSA", "NSEC3PARAM", "SSHFP", "HINFO",  "NAPTR",
	        "HTTPS", "SVCB",  "CDS",  "CDNSKEY",    "LOC",   "ZONEMD", "OPENPGPKEY"};
	size_t i;

	for (i = 0; i < sizeof names / sizeof names[0]; i++)
		if (mv_ascii_ieq(w, n, names[i]))
			return 1;
	if (n > 4 && n <= 9 && mv_ascii_ieq(w, 4, "TYPE")) {
		for (i = 4; i < n; i++)
			if (w[i] < '0' || w[i] > '9')
				return 0;
		return 1;
	}
	return 0;
}

/* A TTL: seconds, or BIND's units ("1h30m", "2d"); the value is not kept. */
static int is_ttl(const char *w, size_t n)
{
	size_t i;
	int digit = 0;

	if (n == 0 || n > 24 || w[0] < '0' || w[0] > '9')
		return 0;
	for (i = 0; i < n; i++) {
		if (w[i] >= '0' && w[i] <= '9')
			digit = 1;
		else if (digit && strchr("smhdwSMHDW", w[i]))
			digit = 0;
		else
			return 0;
	}
	return 1;
}

static int is_class(const char *w, size_t n)
{
	return mv_ascii_ieq(w, n, "IN") || mv_ascii_ieq(w, n, "CH") || mv_ascii_ieq(w, n, "HS") ||
	       mv_ascii_ieq(w, n, "CS");
}

/*
 * The optional TTL and class, in either order (RFC 1035 §5.1), then the
 * type word into [*w, *w + *n). Only class IN is served.
 */
static int ttl_class_type(struct parser *ps, struct mv_cursor *c, const char **w, size_t *n)
{
	int seen_ttl = 0, seen_class = 0;

	for (;;) {
		if (word(c, w, n) < 0) {
			ps->why = "missing type";
			return -1;
		}
		if (!seen_ttl && is_ttl(*w, *n)) {
			seen_ttl = 1;
		} else if (!seen_class && is_class(*w, *n)) {
			seen_class = 1;
			if (!mv_ascii_ieq(*w, *n, "IN")) {
				snprintf(ps->why_buf, sizeof ps->why_buf,
				         "class %.*s is not served (only IN)", (int)*n, *w);
				ps->why = ps->why_buf;
				return -1;
			}
		} else {
			return 0;
		}
	}
}

/* Would this word, first on an indented line, be a TTL, class or type (not an owner)? */
static int starts_without_owner(const char *w, size_t n)
{
	enum mv_dns_type t;

	return is_ttl(w, n) || is_class(w, n) || record_type(w, n, &t) == 0 || ignored_type(w, n) ||
	       mv_ascii_ieq(w, n, "TIMEOUT") || mv_ascii_ieq(w, n, "SERVFAIL") ||
	       mv_ascii_ieq(w, n, "NODATA");
}

/*
 * The owner of an entry. A line that starts with a blank continues the
 * previous owner (RFC 1035 §5.1) when its first word is a TTL, class or
 * type; otherwise, as in the one-line format, the first word is the owner.
 */
static int owner_name(struct parser *ps, struct mv_cursor *c, char owner[MV_DNS_NAME_MAX + 1],
                      size_t *ownerlen)
{
	struct mv_cursor peek = *c;
	const char *w;
	size_t n;

	if (ps->have_prev && c->p < c->end && is_space(*c->p) && word(&peek, &w, &n) == 0 &&
	    starts_without_owner(w, n)) {
		memcpy(owner, ps->prev, ps->prevlen + 1);
		*ownerlen = ps->prevlen;
		return 0;
	}
	if (name_word(ps, c, owner, ownerlen, "owner name") < 0)
		return -1;
	memcpy(ps->prev, owner, *ownerlen + 1);
	ps->prevlen = *ownerlen;
	ps->have_prev = 1;
	return 0;
}

/* The type word: a record type, a pseudo-type (*fail >= 0) or an ignored type (*ignored). */
static int entry_type(struct parser *ps, const char *w, size_t n, struct mv_dns_rr *rr, int *fail,
                      int *ignored)
{
	if (mv_ascii_ieq(w, n, "TIMEOUT"))
		*fail = MV_DNS_ZONE_TIMEOUT;
	else if (mv_ascii_ieq(w, n, "SERVFAIL"))
		*fail = MV_DNS_ZONE_SERVFAIL;
	else if (mv_ascii_ieq(w, n, "NODATA"))
		*fail = MV_DNS_ZONE_OK;
	else if (ignored_type(w, n))
		*ignored = 1;
	else if (record_type(w, n, &rr->type) < 0) {
		snprintf(ps->why_buf, sizeof ps->why_buf, "unknown type '%.*s'",
		         n > 16 ? 16 : (int)n, w);
		ps->why = ps->why_buf;
		return -1;
	}
	return 0;
}

/* One entry that is not blank: owner [TTL] [class] TYPE rdata. */
static int parse_record(struct parser *ps, struct mv_cursor *c)
{
	char owner[MV_DNS_NAME_MAX + 1], host[MV_DNS_NAME_MAX + 1];
	struct mv_dns_rr rr;
	struct mv_dns_node *node;
	const char *w;
	size_t n, ownerlen;
	int fail = -1, ignored = 0;

	if (owner_name(ps, c, owner, &ownerlen) < 0)
		return -1;
	if (ttl_class_type(ps, c, &w, &n) < 0)
		return -1;
	memset(&rr, 0, sizeof rr);
	if (entry_type(ps, w, n, &rr, &fail, &ignored) < 0)
		return -1;
	if (fail < 0 && !ignored && parse_rdata(ps, c, &rr, host) < 0)
		return -1;
	if (!(node = mv_dns_zone_node(ps->zone, owner, ownerlen, 1))) {
		ps->why = "out of memory";
		return -1;
	}
	if (ignored)
		return 0;
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

/* $ORIGIN name (relative to the current origin unless absolute), $TTL ttl. */
static int parse_directive(struct parser *ps, struct mv_cursor *c)
{
	char name[MV_DNS_NAME_MAX + 1];
	const char *w;
	size_t n;

	word(c, &w, &n);
	if (mv_ascii_ieq(w, n, "$ORIGIN")) {
		if (name_word(ps, c, name, &n, "$ORIGIN name") < 0)
			return -1;
		memcpy(ps->origin, name, n + 1);
		ps->originlen = n;
	} else if (mv_ascii_ieq(w, n, "$TTL")) {
		if (word(c, &w, &n) < 0 || !is_ttl(w, n)) {
			ps->why = "bad $TTL (seconds, or units as 1h30m)";
			return -1;
		}
	} else {
		/* $INCLUDE would let a zone read any file the process can: refused */
		snprintf(ps->why_buf, sizeof ps->why_buf, "directive %.*s is not supported",
		         n > 16 ? 16 : (int)n, w);
		ps->why = ps->why_buf;
		return -1;
	}
	if (!at_end(c)) {
		ps->why = "trailing text after the directive";
		return -1;
	}
	return 0;
}

static enum mv_status parse_text(struct parser *ps, const char *text, size_t len, size_t *lineno)
{
	struct mv_dns_zone_reader rd;
	struct mv_cursor c, blank;
	enum mv_status st = MV_OK;
	int got, bad;

	mv_dns_zone_reader_init(&rd, text, len);
	while ((got = mv_dns_zone_entry(&rd, &ps->entry, lineno, &ps->why, &st)) > 0) {
		mv_cursor_init(&c, ps->entry.data ? ps->entry.data : "", ps->entry.len);
		blank = c; /* at_end() skips blanks; c keeps its indent for owner_name() */
		if (c.p < c.end && *c.p == '$')
			bad = parse_directive(ps, &c);
		else if (at_end(&blank))
			bad = 0;
		else
			bad = parse_record(ps, &c);
		if (bad < 0)
			return strcmp(ps->why, "out of memory") == 0 ? MV_ENOMEM : MV_ESYNTAX;
	}
	return got < 0 ? st : MV_OK;
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
	mv_buf_init(&ps.entry);
	st = text || len == 0 ? parse_text(&ps, text, len, &lineno) : MV_EINVAL;
	mv_buf_free(&ps.txt);
	mv_buf_free(&ps.entry);
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
