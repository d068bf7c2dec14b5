/* lib/authres/parse.c — RFC 8601 §2.2: an Authentication-Results value into a struct mv_authres. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mailvet/authres.h>

#include "authres/lex.h"

/* The parse state: the cursor, the flags and where comments go. */
struct parser {
	struct mv_ar_cursor c;
	unsigned flags;
	struct mv_buf field_comments;
	struct mv_buf result_comments;
};

static int at(const struct parser *p, char ch)
{
	return p->c.pos < p->c.len && p->c.s[p->c.pos] == ch;
}

static int at_end(const struct parser *p)
{
	return p->c.pos >= p->c.len;
}

/* CFWS, with the errors folded into the cursor. Returns 1 when some was skipped. */
static int cfws(struct parser *p)
{
	int r = mv_ar_cfws(&p->c);
	return r > 0;
}

/* A new lowercase copy of the keyword at the cursor, or NULL with the error `what`. */
static char *keyword(struct parser *p, const char *what)
{
	size_t n = mv_ar_span_keyword(&p->c);
	char *k;

	if (n == 0 || p->c.s[p->c.pos + n - 1] == '-') {
		mv_ar_fail(&p->c, what);
		return NULL;
	}
	if (!(k = mv_strndup(p->c.s + p->c.pos, n))) {
		p->c.st = MV_ENOMEM;
		return NULL;
	}
	mv_ascii_lower(k, n);
	p->c.pos += n;
	return k;
}

/* RFC 2045 value (token / quoted-string) appended to out. */
static enum mv_status read_value(struct parser *p, struct mv_buf *out, const char *what)
{
	size_t n;

	if (at(p, '"'))
		return mv_ar_quoted(&p->c, out);
	if ((n = mv_ar_span_token(&p->c)) == 0)
		return mv_ar_fail(&p->c, what);
	mv_buf_append(out, p->c.s + p->c.pos, n);
	p->c.pos += n;
	return mv_buf_status(out);
}

/* "@" domain-name, appended to out with its '@'. */
static enum mv_status at_domain(struct parser *p, struct mv_buf *out)
{
	size_t n;

	p->c.pos++; /* '@' */
	if ((n = mv_ar_span_domain(&p->c)) == 0)
		return mv_ar_fail(&p->c, "expected domain name after '@'");
	mv_buf_putc(out, '@');
	mv_buf_append(out, p->c.s + p->c.pos, n);
	p->c.pos += n;
	return mv_buf_status(out);
}

/* Consumer mode: any run of visible bytes but ; ( ) " \ as one value. */
static enum mv_status loose_value(struct parser *p, struct mv_buf *out)
{
	size_t start = p->c.pos;

	while (!at_end(p)) {
		unsigned char ch = (unsigned char)p->c.s[p->c.pos];
		if (ch <= 0x20 || ch == 0x7f || strchr(";()\"\\", ch))
			break;
		p->c.pos++;
	}
	if (p->c.pos == start)
		return mv_ar_fail(&p->c, "expected value");
	return mv_buf_append(out, p->c.s + start, p->c.pos - start);
}

/*
 * pvalue = [CFWS] ( value / [ [ local-part ] "@" ] domain-name ) [CFWS]
 * (the CFWS around it is the caller's). A quoted local-part keeps its quotes
 * in the value ("\"a b\"@example.com"), so the value says which form it was.
 */
static enum mv_status pvalue(struct parser *p, struct mv_buf *out)
{
	size_t n;

	if (at(p, '"')) {
		struct mv_buf q = MV_BUF_INIT;
		enum mv_status st = mv_ar_quoted(&p->c, &q);
		if (st == MV_OK && at(p, '@')) {
			mv_buf_putc(out, '"');
			for (n = 0; n < q.len; n++) {
				if (q.data[n] == '"' || q.data[n] == '\\')
					mv_buf_putc(out, '\\');
				mv_buf_putc(out, q.data[n]);
			}
			mv_buf_putc(out, '"');
			st = at_domain(p, out);
		} else if (st == MV_OK) {
			st = mv_buf_append(out, q.data ? q.data : "", q.len);
		}
		mv_buf_free(&q);
		return st;
	}
	if (p->flags & MV_AUTHRES_LENIENT)
		return loose_value(p, out); /* the same text for every conforming value */
	if (at(p, '@'))
		return at_domain(p, out);
	n = mv_ar_span_atext(&p->c);
	if (n > 0 && p->c.pos + n < p->c.len && p->c.s[p->c.pos + n] == '@') {
		mv_buf_append(out, p->c.s + p->c.pos, n); /* local-part */
		p->c.pos += n;
		return at_domain(p, out);
	}
	return read_value(p, out, "expected value");
}

/* Move the value of b into a new string in *dst (an empty value is ""). */
static enum mv_status take(struct mv_buf *b, char **dst)
{
	if (mv_buf_status(b) != MV_OK)
		return mv_buf_status(b);
	if (!(*dst = mv_buf_steal(b, NULL)))
		return MV_ENOMEM;
	return MV_OK;
}

/* Fail with "unexpected 'c'" for the byte at the cursor. */
static enum mv_status unexpected(struct parser *p)
{
	unsigned char ch = (unsigned char)p->c.s[p->c.pos];
	char what[32];

	if (ch > 0x20 && ch < 0x7f)
		snprintf(what, sizeof what, "unexpected '%c'", ch);
	else
		snprintf(what, sizeof what, "unexpected byte 0x%02x", ch);
	return mv_ar_fail(&p->c, what);
}

/* The CFWS that must separate two statements; returns MV_OK when it was there. */
static enum mv_status separator(struct parser *p)
{
	int skipped = cfws(p);

	if (p->c.st != MV_OK)
		return p->c.st;
	if (!skipped && !at_end(p) && !at(p, ';'))
		return unexpected(p);
	return MV_OK;
}

/*
 * A value the registry gives a type must have it (mv_authres_valid_value):
 * "dmarc=pass header.from=.net" parses as a token but names no domain.
 * Strict: a syntax error pointing at the value (which starts at start).
 * Consumer mode: the property is dropped, never trusted, and what is kept
 * still formats into a field the strict parser reads back. Returns 1 to
 * keep the property, 0 to drop it, -1 on error (p->c.st set).
 */
static int check_value(struct parser *p, const char *method, const char *ptype, const char *prop,
                       const char *val, size_t start)
{
	enum mv_status st = mv_authres_valid_value(method, ptype, prop, val);
	char what[96];

	if (st == MV_OK)
		return 1;
	if (st == MV_ENOMEM) {
		p->c.st = MV_ENOMEM;
		return -1;
	}
	if (p->flags & MV_AUTHRES_LENIENT)
		return 0;
	snprintf(what, sizeof what, "%.20s %.20s.%.20s is not a domain name", method, ptype, prop);
	p->c.pos = start;
	mv_ar_fail(&p->c, what);
	return -1;
}

/* propspec after its ptype: [CFWS] "." [CFWS] property [CFWS] "=" pvalue. */
static enum mv_status propspec(struct parser *p, struct mv_result *r, char *ptype)
{
	struct mv_buf v = MV_BUF_INIT;
	struct mv_result_prop *np;
	char *prop = NULL, *val = NULL;
	enum mv_status st = MV_ENOMEM;
	size_t start;
	int keep;

	p->c.pos++; /* '.' */
	cfws(p);
	if (p->c.st != MV_OK || !(prop = keyword(p, "expected property after '.'")))
		goto out;
	cfws(p);
	if (!at(p, '=')) {
		mv_ar_fail(&p->c, "expected '=' after property");
		goto out;
	}
	p->c.pos++;
	cfws(p);
	start = p->c.pos;
	if (p->c.st != MV_OK || pvalue(p, &v) != MV_OK || take(&v, &val) != MV_OK)
		goto out;
	if ((keep = check_value(p, r->method, ptype, prop, val, start)) <= 0) {
		st = MV_OK; /* dropped (0), or the error is in p->c.st (-1) */
		goto out;
	}
	if (!(np = realloc(r->props, (r->nprops + 1) * sizeof *np)))
		goto out;
	r->props = np;
	np[r->nprops].ptype = ptype;
	np[r->nprops].property = prop;
	np[r->nprops].value = val;
	r->nprops++;
	ptype = prop = val = NULL;
	st = MV_OK;
out:
	free(ptype);
	free(prop);
	free(val);
	mv_buf_free(&v);
	if (p->c.st == MV_OK && st != MV_OK)
		p->c.st = st;
	return p->c.st;
}

/* reasonspec after "reason": [CFWS] "=" [CFWS] value. */
static enum mv_status reasonspec(struct parser *p, struct mv_result *r)
{
	struct mv_buf v = MV_BUF_INIT;
	enum mv_status st;

	p->c.pos++; /* '=' */
	cfws(p);
	if (p->c.st != MV_OK)
		return p->c.st;
	if ((st = read_value(p, &v, "expected value after 'reason='")) == MV_OK)
		st = take(&v, &r->reason);
	mv_buf_free(&v);
	if (st != MV_OK && p->c.st == MV_OK)
		p->c.st = st;
	return st;
}

/* Consumer mode: skip "name=value" where a propspec should be. */
static enum mv_status skip_loose(struct parser *p)
{
	struct mv_buf v = MV_BUF_INIT;
	enum mv_status st;

	p->c.pos++; /* '=' */
	cfws(p);
	st = p->c.st != MV_OK ? p->c.st : pvalue(p, &v);
	mv_buf_free(&v);
	return st;
}

/* One statement after the result: a reasonspec or a propspec. */
static enum mv_status statement(struct parser *p, struct mv_result *r)
{
	char *k;
	int is_reason;

	if (!(k = keyword(p, "expected property")))
		return p->c.st;
	cfws(p);
	if (p->c.st != MV_OK) {
		free(k);
		return p->c.st;
	}
	if (at(p, '.'))
		return propspec(p, r, k);
	is_reason = strcmp(k, "reason") == 0;
	free(k);
	if (at(p, '=') && is_reason && !r->reason && r->nprops == 0)
		return reasonspec(p, r);
	if (at(p, '=') && (p->flags & MV_AUTHRES_LENIENT))
		return skip_loose(p);
	if (at(p, '=') && is_reason)
		return mv_ar_fail(&p->c, r->reason ? "second reason" : "reason after properties");
	return mv_ar_fail(&p->c, "expected '.' after ptype");
}

/* methodspec: [CFWS] method [CFWS] "=" [CFWS] result, method with its version. */
static enum mv_status methodspec(struct parser *p, struct mv_result *r)
{
	cfws(p);
	if (p->c.st != MV_OK || !(r->method = keyword(p, "expected method")))
		return p->c.st;
	cfws(p);
	if (at(p, '/')) {
		p->c.pos++;
		cfws(p);
		if (p->c.st != MV_OK)
			return p->c.st;
		if (!mv_ar_version(&p->c, &r->version))
			return mv_ar_fail(&p->c, "expected method version after '/'");
		cfws(p);
	}
	if (p->c.st != MV_OK)
		return p->c.st;
	if (!at(p, '='))
		return mv_ar_fail(&p->c, "expected '=' after method");
	p->c.pos++;
	cfws(p);
	if (p->c.st != MV_OK || !(r->result = keyword(p, "expected result after '='")))
		return p->c.st;
	return MV_OK;
}

/* resinfo after its ';': methodspec [CFWS reasonspec] *(CFWS propspec). */
static enum mv_status resinfo(struct parser *p, struct mv_authres *ar)
{
	struct mv_result *r;
	enum mv_status st;

	if (!(r = calloc(1, sizeof *r)))
		return p->c.st = MV_ENOMEM;
	if ((st = methodspec(p, r)) != MV_OK)
		goto fail;
	for (;;) {
		if ((st = separator(p)) != MV_OK)
			goto fail;
		if (at_end(p) || at(p, ';'))
			break;
		if ((st = statement(p, r)) != MV_OK)
			goto fail;
	}
	if ((p->flags & MV_AUTHRES_COMMENTS) && p->result_comments.len &&
	    !(r->comment = mv_strndup(p->result_comments.data, p->result_comments.len)))
		goto nomem;
	if (mv_buf_status(&p->result_comments) != MV_OK)
		goto nomem;
	return (st = mv_result_list_add(&ar->results, r)) == MV_OK ? MV_OK : (p->c.st = st);
nomem:
	st = p->c.st = MV_ENOMEM;
fail:
	mv_result_free(r);
	return st;
}

/*
 * Consumer mode: does the field start with a resinfo instead of an
 * authserv-id? (a ';' first, or a Keyword followed by '=' or '/').
 */
static int starts_without_servid(const struct mv_ar_cursor *c)
{
	struct mv_ar_cursor probe = *c;
	size_t n;

	probe.comments = NULL;
	probe.err = NULL;
	if (probe.pos < probe.len && probe.s[probe.pos] == ';')
		return 1;
	if ((n = mv_ar_span_keyword(&probe)) == 0)
		return 0;
	probe.pos += n;
	if (mv_ar_cfws(&probe) < 0 || probe.pos >= probe.len)
		return 0;
	return probe.s[probe.pos] == '=' || probe.s[probe.pos] == '/';
}

/* authserv-id [CFWS authres-version]; the cursor ends before the first ';'. */
static enum mv_status head(struct parser *p, struct mv_authres *ar)
{
	struct mv_buf id = MV_BUF_INIT;
	enum mv_status st;

	p->c.comments = (p->flags & MV_AUTHRES_COMMENTS) ? &p->field_comments : NULL;
	cfws(p);
	if (p->c.st != MV_OK)
		return p->c.st;
	if ((p->flags & MV_AUTHRES_LENIENT) && starts_without_servid(&p->c))
		return MV_OK;
	if ((st = read_value(p, &id, "expected authserv-id")) == MV_OK)
		st = take(&id, &ar->serv_id);
	mv_buf_free(&id);
	if (st != MV_OK)
		return p->c.st != MV_OK ? p->c.st : (p->c.st = st);
	if (!cfws(p) && p->c.st == MV_OK && !at_end(p) && !at(p, ';'))
		return mv_ar_fail(&p->c, "expected ';' after authserv-id");
	if (p->c.st != MV_OK)
		return p->c.st;
	if (mv_ar_version(&p->c, &ar->version))
		cfws(p);
	return p->c.st;
}

/* Start collecting the comments of a new resinfo. */
static void result_comments(struct parser *p)
{
	mv_buf_reset(&p->result_comments);
	p->c.comments = (p->flags & MV_AUTHRES_COMMENTS) ? &p->result_comments : NULL;
}

/* After the first ';': is it the "none" of no-result? (consumed if so) */
static int no_result(struct parser *p)
{
	struct mv_ar_cursor save = p->c;
	size_t clen = p->result_comments.len;

	if (mv_ar_span_keyword(&p->c) != 4 || !mv_ascii_ieq(p->c.s + p->c.pos, 4, "none"))
		return 0;
	p->c.pos += 4;
	cfws(p);
	if (p->c.st != MV_OK || at_end(p))
		return 1;
	p->c = save;
	p->result_comments.len = clen;
	if (p->result_comments.data)
		p->result_comments.data[clen] = '\0';
	return 0;
}

/* ( no-result / 1*resinfo ) [CFWS]; the authserv-id has been read. */
static enum mv_status body(struct parser *p, struct mv_authres *ar)
{
	int first = 1;

	if (!ar->serv_id && (p->flags & MV_AUTHRES_LENIENT) && !at(p, ';')) {
		result_comments(p); /* no authserv-id: the field starts with a resinfo */
		if (resinfo(p, ar) != MV_OK)
			return p->c.st;
		first = 0;
	}
	while (first || !at_end(p)) {
		if (!at(p, ';'))
			return mv_ar_fail(&p->c, first && ar->serv_id
			                                 ? "expected ';' after authserv-id"
			                                 : "expected ';'");
		p->c.pos++;
		result_comments(p);
		cfws(p);
		if (p->c.st != MV_OK)
			return p->c.st;
		if ((p->flags & MV_AUTHRES_LENIENT) && at_end(p) && !first)
			break; /* trailing ';' */
		if (first && no_result(p))
			return p->c.st;
		first = 0;
		if (resinfo(p, ar) != MV_OK)
			return p->c.st;
	}
	return MV_OK;
}

enum mv_status mv_authres_parse(const char *value, size_t len, unsigned flags,
                                struct mv_authres **out, char *err, size_t errlen)
{
	struct parser p;
	struct mv_authres *ar = NULL;
	enum mv_status st;

	*out = NULL;
	if (err && errlen)
		err[0] = '\0';
	if (len > MV_AUTHRES_MAX) {
		if (err && errlen)
			snprintf(err, errlen, "field longer than %zu bytes", MV_AUTHRES_MAX);
		return MV_ETOOBIG;
	}
	memset(&p, 0, sizeof p);
	p.c.s = value;
	p.c.len = len;
	p.c.err = err;
	p.c.errlen = errlen;
	p.flags = flags;
	mv_buf_init(&p.field_comments);
	mv_buf_init(&p.result_comments);
	if (!(ar = calloc(1, sizeof *ar))) {
		st = MV_ENOMEM;
		goto out;
	}
	if ((st = head(&p, ar)) != MV_OK || (st = body(&p, ar)) != MV_OK)
		goto out;
	st = MV_ENOMEM;
	if (mv_buf_status(&p.field_comments) != MV_OK)
		goto out;
	if (p.field_comments.len && !(ar->comment = mv_buf_steal(&p.field_comments, NULL)))
		goto out;
	st = MV_OK;
	*out = ar;
	ar = NULL;
out:
	if (st == MV_ENOMEM && err && errlen)
		snprintf(err, errlen, "out of memory");
	mv_authres_free(ar);
	mv_buf_free(&p.field_comments);
	mv_buf_free(&p.result_comments);
	return st;
}

enum mv_status mv_authres_peek(const char *value, size_t len, char **serv_id, unsigned *version)
{
	struct parser p;
	struct mv_buf id = MV_BUF_INIT;
	enum mv_status st = MV_OK;

	*serv_id = NULL;
	*version = 0;
	memset(&p, 0, sizeof p);
	p.c.s = value;
	p.c.len = len > MV_AUTHRES_MAX ? MV_AUTHRES_MAX : len;
	if (mv_ar_cfws(&p.c) < 0 || at_end(&p) || starts_without_servid(&p.c))
		return MV_OK;
	if (read_value(&p, &id, "expected authserv-id") != MV_OK) {
		st = mv_buf_status(&id) == MV_ENOMEM ? MV_ENOMEM : MV_OK;
		goto out;
	}
	if ((st = take(&id, serv_id)) != MV_OK)
		goto out;
	if (mv_ar_cfws(&p.c) >= 0)
		mv_ar_version(&p.c, version);
out:
	mv_buf_free(&id);
	return st;
}
