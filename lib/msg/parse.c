/* lib/msg/parse.c — mv_msg_parse: split raw message bytes into header fields and body. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mailvet/msg.h>

#include "msg/msg_priv.h"

/* One physical line: content [start, end) and the line break after it, if any. */
struct line {
	size_t start, end; /* content, without the line break */
	size_t next;       /* start of the following line */
};

struct parser {
	const char *data;
	size_t len;
	const struct mv_msg_limits *lim;
	size_t lineno;
	char *err;
	size_t errlen;
};

static enum mv_status fail(struct parser *ps, enum mv_status st, const char *why)
{
	if (ps->err && ps->errlen)
		snprintf(ps->err, ps->errlen, "line %zu: %s", ps->lineno, why);
	return st;
}

/*
 * Read the line at pos: the line break is CRLF or a bare LF; a last line may
 * have none. A line longer than lim->max_line is MV_ETOOBIG; memchr never
 * looks further than that, so a hostile line costs only the limit.
 */
static enum mv_status next_line(struct parser *ps, size_t pos, struct line *ln)
{
	size_t room = ps->len - pos, look = ps->lim->max_line + 2;
	const char *lf = memchr(ps->data + pos, '\n', room < look ? room : look);

	ln->start = pos;
	if (!lf) {
		if (room > ps->lim->max_line)
			return fail(ps, MV_ETOOBIG, "header line too long");
		ln->end = ln->next = ps->len;
		return MV_OK;
	}
	ln->next = (size_t)(lf - ps->data) + 1;
	ln->end = ln->next - 1;
	if (ln->end > pos && ps->data[ln->end - 1] == '\r')
		ln->end--;
	if (ln->end - pos > ps->lim->max_line)
		return fail(ps, MV_ETOOBIG, "header line too long");
	return MV_OK;
}

/* An empty line (or a lone CR at the very end of the input) ends the header. */
static int is_blank(const struct parser *ps, const struct line *ln)
{
	if (ln->end == ln->start)
		return 1;
	return ln->next == ps->len && ln->end == ps->len && ln->end - ln->start == 1 &&
	       ps->data[ln->start] == '\r';
}

/*
 * Pass one: find where the header ends (*hdr_len: bytes of all fields, the
 * empty line excluded) and where the body starts (*body_off), enforcing the
 * line length and block size limits.
 */
static enum mv_status find_header_end(struct parser *ps, size_t *hdr_len, size_t *body_off)
{
	enum mv_status st;
	struct line ln;
	size_t pos = 0;

	ps->lineno = 0;
	while (pos < ps->len) {
		ps->lineno++;
		if ((st = next_line(ps, pos, &ln)) != MV_OK)
			return st;
		if (is_blank(ps, &ln)) {
			*hdr_len = pos;
			*body_off = ln.next;
			return MV_OK;
		}
		if (ln.next > ps->lim->max_header_bytes)
			return fail(ps, MV_ETOOBIG, "header block too large");
		pos = ln.next;
	}
	*hdr_len = *body_off = ps->len;
	return MV_OK;
}

/*
 * The name of the field starting on the line [p, p+n): ftext up to an
 * optional run of WSP (RFC 5322 §4.5.3 obs-optional) and the colon.
 * Returns the length of the name and sets *colon to the colon's index.
 */
static enum mv_status field_name(struct parser *ps, const char *p, size_t n, size_t *name_len,
                                 size_t *colon)
{
	size_t i = 0, j;

	while (i < n && mv_msg_is_ftext((unsigned char)p[i]))
		i++;
	j = i;
	while (j < n && (p[j] == ' ' || p[j] == '\t'))
		j++;
	if (j == n || !memchr(p + j, ':', n - j))
		return fail(ps, MV_ESYNTAX, "no colon in header field");
	if (p[j] != ':')
		return fail(ps, MV_ESYNTAX, "invalid character in header field name");
	if (i == 0)
		return fail(ps, MV_ESYNTAX, "empty header field name");
	*name_len = i;
	*colon = j;
	return MV_OK;
}

/*
 * Complete the field in slot s whose raw bytes are [raw, raw_end) of the
 * copied header, with value [value, value_end): copy its name and unfolded
 * value to *strs, advancing it.
 */
static void finish_field(struct mv_msg_slot *s, const char *raw, size_t raw_len, size_t name_len,
                         const char *value, size_t value_len, char **strs)
{
	char *p = *strs;

	s->f.raw = raw;
	s->f.raw_len = raw_len;
	s->f.value = value;
	s->f.value_len = value_len;
	memcpy(p, raw, name_len);
	p[name_len] = '\0';
	s->f.name = p;
	s->f.name_len = name_len;
	p += name_len + 1;
	s->f.unfolded = p;
	s->f.unfolded_len = mv_msg_unfold(value, value_len, p);
	*strs = p + s->f.unfolded_len + 1;
}

/* The field being collected by split_fields. */
struct pending {
	struct mv_msg_slot *slot; /* NULL before the first field */
	size_t raw, name_len, value, value_end, raw_end;
};

/*
 * Pass two, over the copy of the header in m->block: one slot per field,
 * continuation lines appended to the field before them. Names and unfolded
 * values go to the block after the header copy (they fit: see mv_msg_parse).
 */
static enum mv_status split_fields(struct parser *ps, struct mv_msg *m, size_t hdr_len)
{
	enum mv_status st;
	const char *h = m->block;
	char *strs = m->block + hdr_len;
	struct pending cur = {NULL, 0, 0, 0, 0, 0};
	struct line ln;
	size_t pos = 0, colon;

	ps->data = h;
	ps->len = hdr_len;
	ps->lineno = 0;
	while (pos < hdr_len) {
		ps->lineno++;
		if ((st = next_line(ps, pos, &ln)) != MV_OK)
			return st;
		if (h[pos] == ' ' || h[pos] == '\t') {
			if (!cur.slot)
				return fail(ps, MV_ESYNTAX, "continuation line before any field");
		} else {
			if (cur.slot)
				finish_field(cur.slot, h + cur.raw, cur.raw_end - cur.raw,
				             cur.name_len, h + cur.value, cur.value_end - cur.value,
				             &strs);
			if ((st = field_name(ps, h + pos, ln.end - pos, &cur.name_len, &colon)) !=
			    MV_OK)
				return st;
			if ((st = mv_msg_slot_push(m, &cur.slot)) != MV_OK)
				return fail(ps, st,
				            st == MV_ETOOBIG ? "too many header fields"
				                             : "out of memory");
			cur.raw = pos;
			cur.value = pos + colon + 1;
		}
		cur.value_end = ln.end;
		cur.raw_end = ln.next;
		pos = ln.next;
	}
	if (cur.slot)
		finish_field(cur.slot, h + cur.raw, cur.raw_end - cur.raw, cur.name_len,
		             h + cur.value, cur.value_end - cur.value, &strs);
	m->header_bytes = hdr_len;
	return MV_OK;
}

enum mv_status mv_msg_parse(const char *data, size_t len, const struct mv_msg_limits *lim,
                            struct mv_msg **out, char *err, size_t errlen)
{
	enum mv_status st;
	struct mv_msg *m = NULL;
	struct parser ps;
	size_t hdr_len = 0, body_off = 0;

	if (err && errlen)
		err[0] = '\0';
	if (!out || (!data && len))
		return MV_EINVAL;
	*out = NULL;
	if ((st = mv_msg_new(lim, &m)) != MV_OK)
		goto out;
	ps = (struct parser){data, len, &m->lim, 0, err, errlen};
	if ((st = find_header_end(&ps, &hdr_len, &body_off)) != MV_OK)
		goto out;
	/*
	 * One block: the header copy, then each name + NUL (no longer than the
	 * name and its colon) and each unfolded value + NUL (no longer than the
	 * value and its line break, +1 for a last line without one).
	 */
	if ((m->block = malloc(2 * hdr_len + 1)) == NULL) {
		st = fail(&ps, MV_ENOMEM, "out of memory");
		goto out;
	}
	if (hdr_len)
		memcpy(m->block, data, hdr_len);
	if ((st = split_fields(&ps, m, hdr_len)) != MV_OK)
		goto out;
	m->body = data ? data + body_off : "";
	m->body_len = len - body_off;
	m->body_off = body_off;
	*out = m;
	m = NULL;
out:
	mv_msg_free(m);
	return st;
}
