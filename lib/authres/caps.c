/*
 * lib/authres/caps.c — the AUTHSERV capability of draft-kucherawy-sender-auth-caps-00
 * read out of an SMTP EHLO reply, an IMAP CAPABILITY response or a POP3 CAPA reply.
 */
#include <stdlib.h>
#include <string.h>

#include <mailvet/authres.h>

#include "authres/lex.h"

#define KEYWORD "AUTHSERV"
#define KEYWORD_LEN 8

/* One reading: where the answer goes and where an error is written. */
struct caps_ctx {
	struct mv_authres_caps *out;
	char *err;
	size_t errlen;
};

/* One line of the reply, without its line break. */
struct line {
	const char *s;
	size_t len;
};

/*
 * The next line of [*p, end): CRLF or LF ends it (a CR before the LF is not
 * part of it); the last line may lack a line break. 0 at the end of the text.
 */
static int next_line(const char **p, const char *end, struct line *l)
{
	const char *nl;

	if (*p >= end)
		return 0;
	nl = memchr(*p, '\n', (size_t)(end - *p));
	l->s = *p;
	l->len = (size_t)((nl ? nl : end) - *p);
	*p = nl ? nl + 1 : end;
	if (l->len > 0 && l->s[l->len - 1] == '\r')
		l->len--;
	while (l->len > 0 && mv_ascii_is_wsp(l->s[l->len - 1]))
		l->len--; /* trailing white space says nothing */
	return 1;
}

static enum mv_status fail(struct caps_ctx *c, const char *what, size_t lineno)
{
	mv_errf(c->err, c->errlen, "line %zu: %s", lineno, what);
	return MV_ESYNTAX;
}

/*
 * AUTHSERV seen, with a value (v, n) or without one (v NULL). A second
 * AUTHSERV must say the same as the first.
 */
static enum mv_status record(struct caps_ctx *c, const char *v, size_t n, size_t lineno)
{
	struct mv_authres_caps *o = c->out;

	if (v && !mv_authres_is_token(v, n))
		return fail(c, "AUTHSERV value is not an authserv-id (a token)", lineno);
	if (o->state != MV_AUTHRES_CAPS_ABSENT) {
		int same =
		        v ? (o->serv_id && strlen(o->serv_id) == n && memcmp(o->serv_id, v, n) == 0)
		          : o->serv_id == NULL;
		if (!same)
			return fail(c, "AUTHSERV listed twice with different values", lineno);
		o->notes |= MV_AUTHRES_CAPS_REPEATED;
		return MV_OK;
	}
	o->state = v ? MV_AUTHRES_CAPS_ID : MV_AUTHRES_CAPS_CLAIMED;
	if (v && !(o->serv_id = mv_strndup(v, n)))
		return MV_ENOMEM;
	return MV_OK;
}

/* Is s[0..n) the keyword, case-insensitively? */
static int is_keyword(const char *s, size_t n)
{
	return mv_ascii_ieq(s, n, KEYWORD);
}

/*
 * One capability written "NAME[=value]" or "NAME[ params]": if NAME is
 * AUTHSERV, record it. sep_ok says which separator the protocol uses ('='
 * or ' '); the other one is accepted with note `other_note`, or refused when
 * other_note is 0.
 */
static enum mv_status one_cap(struct caps_ctx *c, const char *s, size_t n, char sep_ok,
                              unsigned other_note, size_t lineno)
{
	size_t k = 0;
	const char *v;
	size_t vn;

	c->out->ncaps++;
	while (k < n && s[k] != '=' && s[k] != ' ')
		k++;
	if (!is_keyword(s, k))
		return MV_OK;
	if (k == n)
		return record(c, NULL, 0, lineno);
	if (s[k] != sep_ok) {
		if (!other_note)
			return fail(c, "AUTHSERV parameter in the wrong form", lineno);
		c->out->notes |= other_note;
	}
	v = s + k + 1;
	vn = n - k - 1;
	while (vn > 0 && *v == ' ') {
		v++;
		vn--;
	}
	if (vn == 0)
		return fail(c, "AUTHSERV with an empty value", lineno);
	if (memchr(v, ' ', vn))
		return fail(c, "AUTHSERV with more than one parameter", lineno);
	return record(c, v, vn, lineno);
}

/* RFC 5321 §4.1.1.1: "250-domain", "250-KEYWORD[ params]", ..., "250 KEYWORD". */
static enum mv_status parse_smtp(struct caps_ctx *c, const char *p, const char *end)
{
	struct line l;
	size_t lineno = 0;
	int last = 0;
	enum mv_status st;

	while (next_line(&p, end, &l)) {
		lineno++;
		if (last)
			return fail(c, "text after the last line of the reply", lineno);
		if (l.len < 3 || memcmp(l.s, "250", 3) != 0 ||
		    (l.len > 3 && l.s[3] != '-' && l.s[3] != ' '))
			return fail(c, "not a 250 reply line", lineno);
		last = l.len == 3 || l.s[3] == ' ';
		if (lineno == 1 || l.len <= 4)
			continue; /* the greeting line names the server, not an extension */
		if ((st = one_cap(c, l.s + 4, l.len - 4, '=', MV_AUTHRES_CAPS_SPACE_PARAM,
		                  lineno)) != MV_OK)
			return st;
	}
	if (!last)
		return fail(c, "the reply has no final \"250 \" line", lineno);
	return MV_OK;
}

/* RFC 9051 atom-specials, CTL and bytes >= 0x80 cannot stand in an atom. */
static int is_atom_char(unsigned char ch)
{
	return ch > 0x20 && ch < 0x7f && !strchr("(){%*\"\\]", ch);
}

/* The capability list of an IMAP response line: (*list, *n), or 0 when there is none. */
static int imap_list(const struct line *l, const char **list, size_t *n)
{
	static const char cap[] = "CAPABILITY ";
	const size_t caplen = sizeof cap - 1;
	const char *s = l->s, *end = l->s + l->len, *sp, *close;

	if (l->len > 2 + caplen && memcmp(s, "* ", 2) == 0 && mv_ascii_ieq(s + 2, caplen, cap)) {
		*list = s + 2 + caplen;
		*n = (size_t)(end - *list);
		return 1;
	}
	/* tag SP ("OK" / "PREAUTH" / ...) SP "[CAPABILITY " list "]" */
	if (!(sp = memchr(s, ' ', l->len)) || !(sp = memchr(sp + 1, ' ', (size_t)(end - sp - 1))))
		return 0;
	sp++;
	if ((size_t)(end - sp) < 1 + caplen || *sp != '[' || !mv_ascii_ieq(sp + 1, caplen, cap))
		return 0;
	*list = sp + 1 + caplen;
	if (!(close = memchr(*list, ']', (size_t)(end - *list))))
		return 0;
	*n = (size_t)(close - *list);
	return 1;
}

/* RFC 9051 §7.2.2: capability *(SP capability), each an atom; AUTHSERV[=id]. */
static enum mv_status parse_imap(struct caps_ctx *c, const char *p, const char *end)
{
	struct line l;
	const char *list, *a;
	size_t n, i, start;
	enum mv_status st;

	if (!next_line(&p, end, &l) || p < end)
		return fail(c, "not one response line", 1);
	if (!imap_list(&l, &list, &n))
		return fail(c, "no capability list in the response", 1);
	for (start = 0; start < n; start = i + 1) {
		for (i = start; i < n && list[i] != ' '; i++)
			if (!is_atom_char((unsigned char)list[i]))
				return fail(c, "a capability is not an atom", 1);
		a = list + start;
		if (i > start && (st = one_cap(c, a, i - start, '=', 0, 1)) != MV_OK)
			return st;
	}
	return MV_OK;
}

/* RFC 2449 §5: "+OK", capa-tag *(SP param) lines, "." (dot-stuffed). */
static enum mv_status parse_pop3(struct caps_ctx *c, const char *p, const char *end)
{
	struct line l;
	size_t lineno = 1;
	enum mv_status st;

	if (!next_line(&p, end, &l) || l.len < 3 || memcmp(l.s, "+OK", 3) != 0 ||
	    (l.len > 3 && l.s[3] != ' '))
		return fail(c, "not a +OK reply", 1);
	while (next_line(&p, end, &l)) {
		lineno++;
		if (l.len == 1 && l.s[0] == '.') {
			if (p < end)
				return fail(c, "text after the terminating \".\"", lineno + 1);
			return MV_OK;
		}
		if (l.len > 0 && l.s[0] == '.') {
			l.s++;
			l.len--;
		}
		if (l.len == 0)
			continue;
		if ((st = one_cap(c, l.s, l.len, ' ', MV_AUTHRES_CAPS_EQUALS_PARAM, lineno)) !=
		    MV_OK)
			return st;
	}
	return fail(c, "the reply has no terminating \".\" line", lineno);
}

enum mv_status mv_authres_caps_parse(enum mv_authres_caps_proto proto, int authenticated,
                                     const char *text, size_t len, struct mv_authres_caps *out,
                                     char *err, size_t errlen)
{
	struct caps_ctx c = {out, err, errlen};
	enum mv_status st;

	memset(out, 0, sizeof *out);
	if (len > MV_AUTHRES_CAPS_MAX) {
		mv_errf(err, errlen, "reply longer than %zu bytes", MV_AUTHRES_CAPS_MAX);
		return MV_ETOOBIG;
	}
	if (proto == MV_AUTHRES_CAPS_SMTP)
		st = parse_smtp(&c, text, text + len);
	else if (proto == MV_AUTHRES_CAPS_IMAP)
		st = parse_imap(&c, text, text + len);
	else
		st = parse_pop3(&c, text, text + len);
	if (st != MV_OK) {
		if (st == MV_ENOMEM)
			mv_errf(err, errlen, "out of memory");
		mv_authres_caps_clear(out);
		return st;
	}
	if (proto != MV_AUTHRES_CAPS_SMTP && authenticated && out->state == MV_AUTHRES_CAPS_CLAIMED)
		out->notes |= MV_AUTHRES_CAPS_NO_VALUE_AFTER_LOGIN;
	if (proto != MV_AUTHRES_CAPS_SMTP && !authenticated && out->state == MV_AUTHRES_CAPS_ID)
		out->notes |= MV_AUTHRES_CAPS_VALUE_BEFORE_LOGIN;
	return MV_OK;
}

void mv_authres_caps_clear(struct mv_authres_caps *c)
{
	free(c->serv_id);
	memset(c, 0, sizeof *c);
}

const char *mv_authres_caps_note_str(unsigned note)
{
	switch (note) {
	case MV_AUTHRES_CAPS_VALUE_BEFORE_LOGIN:
		return "AUTHSERV has a value before login (the draft: none until login)";
	case MV_AUTHRES_CAPS_NO_VALUE_AFTER_LOGIN:
		return "AUTHSERV has no value after login (the draft: always one)";
	case MV_AUTHRES_CAPS_SPACE_PARAM:
		return "EHLO keyword written \"AUTHSERV <id>\" (the draft: \"AUTHSERV=<id>\")";
	case MV_AUTHRES_CAPS_EQUALS_PARAM:
		return "CAPA tag written \"AUTHSERV=<id>\" (the draft: \"AUTHSERV <id>\")";
	case MV_AUTHRES_CAPS_REPEATED:
		return "AUTHSERV listed more than once";
	default:
		return "";
	}
}
