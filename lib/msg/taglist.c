/* lib/msg/taglist.c — tag=value lists (RFC 6376 §3.2): a cursor over an explicit length. */
#include <stdlib.h>
#include <string.h>

#include <mailvet/msg.h>
#include <mailvet/util.h>

static int is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int is_namechar(char c)
{
	return is_alpha(c) || (c >= '0' && c <= '9') || c == '_';
}

/* VALCHAR = %x21-3A / %x3C-7E: visible characters other than ';'. */
static int is_valchar(char c)
{
	unsigned char u = (unsigned char)c;
	return u >= 0x21 && u <= 0x7e && u != ';';
}

/* WSP, CR or LF: DMARC's white space around tag-specs and values. */
static int is_wsp_or_eol(char c)
{
	return mv_ascii_is_wsp(c) || c == '\r' || c == '\n';
}

/*
 * Skip FWS: WSP runs and line breaks (CRLF or bare LF) that are followed
 * by WSP. Returns 0 when it stops at a line break not followed by WSP,
 * which is not FWS (the caller reports it), 1 otherwise.
 */
static int skip_fws(struct mv_cursor *c)
{
	for (;;) {
		const char *q = c->p;
		if (mv_cursor_skip_wsp(c) > 0)
			continue;
		if (q < c->end && *q == '\r')
			q++;
		if (q < c->end && *q == '\n') {
			q++;
			if (q < c->end && mv_ascii_is_wsp(*q)) {
				c->p = q;
				continue;
			}
			return 0;
		}
		if (q != c->p) /* a lone CR */
			return 0;
		return 1;
	}
}

/* White space before a tag-spec or between ';'s: 0 on a DKIM line break that is not FWS. */
static int skip_space(struct mv_taglist_reader *r)
{
	if (r->syntax == MV_TAGLIST_DKIM)
		return skip_fws(&r->c);
	while (r->c.p < r->c.end && is_wsp_or_eol(*r->c.p))
		r->c.p++;
	return 1;
}

/* White space between name and '=' and after '=': FWS (DKIM), WSP (DMARC). */
static int skip_inner_space(struct mv_taglist_reader *r)
{
	if (r->syntax == MV_TAGLIST_DKIM)
		return skip_fws(&r->c);
	mv_cursor_skip_wsp(&r->c);
	return 1;
}

/* DKIM: VALCHARs separated by FWS. Leaves c->p at the ';' or the end. */
static int scan_value_dkim(struct mv_cursor *c, const char **last_val)
{
	*last_val = c->p;
	while (c->p < c->end && *c->p != ';') {
		const char *before = c->p;
		if (is_valchar(*c->p)) {
			c->p++;
			*last_val = c->p;
		} else if (!skip_fws(c) || c->p == before) {
			return 0;
		}
	}
	return 1;
}

/* DMARC: any byte but ';'; the value ends after its last byte that is not white space. */
static void scan_value_dmarc(struct mv_cursor *c, const char **last_val)
{
	*last_val = c->p;
	for (; c->p < c->end && *c->p != ';'; c->p++)
		if (!is_wsp_or_eol(*c->p))
			*last_val = c->p + 1;
}

/* Parse one tag-spec whose name starts at r->c.p; fills t. */
static enum mv_status parse_spec(struct mv_taglist_reader *r, struct mv_tag *t, char *err,
                                 size_t errlen)
{
	struct mv_cursor *c = &r->c;
	const char *last_val;

	t->name = c->p;
	while (c->p < c->end && is_namechar(*c->p))
		c->p++;
	t->name_len = (size_t)(c->p - t->name);
	if (!skip_inner_space(r) || !mv_cursor_eat(c, '=')) {
		mv_errf(err, errlen, "no '=' after tag '%.*s' at %zu", (int)t->name_len, t->name,
		        mv_cursor_offset(c));
		return MV_ESYNTAX;
	}
	t->raw_value = c->p;
	if (!skip_inner_space(r))
		goto bad;
	t->value = c->p;
	if (r->syntax == MV_TAGLIST_DMARC)
		scan_value_dmarc(c, &last_val);
	else if (!scan_value_dkim(c, &last_val))
		goto bad;
	t->value_len = (size_t)(last_val - t->value);
	t->raw_len = (size_t)(c->p - t->raw_value);
	return MV_OK;
bad:
	mv_errf(err, errlen, "bad byte in value of '%.*s' at %zu", (int)t->name_len, t->name,
	        mv_cursor_offset(c));
	return MV_ESYNTAX;
}

void mv_taglist_reader_init(struct mv_taglist_reader *r, const char *text, size_t len,
                            enum mv_taglist_syntax syntax)
{
	mv_cursor_init(&r->c, text, len);
	r->syntax = syntax;
}

enum mv_status mv_taglist_next(struct mv_taglist_reader *r, struct mv_tag *t, char *err,
                               size_t errlen)
{
	struct mv_cursor *c = &r->c;
	enum mv_status st;

	for (;;) {
		if (!skip_space(r)) {
			mv_errf(err, errlen, "bad line break at %zu", mv_cursor_offset(c));
			return MV_ESYNTAX;
		}
		if (c->p == c->end)
			return MV_ENOTFOUND;
		if (!mv_cursor_eat(c, ';')) /* not an empty tag-spec */
			break;
	}
	if (!is_alpha(*c->p)) {
		mv_errf(err, errlen, "bad tag name at %zu", mv_cursor_offset(c));
		return MV_ESYNTAX;
	}
	if ((st = parse_spec(r, t, err, errlen)) != MV_OK)
		return st;
	mv_cursor_eat(c, ';');
	return MV_OK;
}

static enum mv_status check_duplicate(const struct mv_taglist *tl, const struct mv_tag *t,
                                      char *err, size_t errlen)
{
	size_t i;

	for (i = 0; i < tl->count; i++) {
		if (tl->tag[i].name_len == t->name_len &&
		    memcmp(tl->tag[i].name, t->name, t->name_len) == 0) {
			mv_errf(err, errlen, "duplicate tag '%.*s'", (int)t->name_len, t->name);
			return MV_ESYNTAX;
		}
	}
	return MV_OK;
}

enum mv_status mv_taglist_parse(const char *text, size_t len, struct mv_taglist *tl, char *err,
                                size_t errlen)
{
	struct mv_taglist_reader r;
	enum mv_status st = MV_OK;
	struct mv_tag t;

	tl->count = 0;
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (len > MV_TAGLIST_MAX_LEN) {
		mv_errf(err, errlen, "tag-list of %zu bytes is over the limit", len);
		st = MV_ETOOBIG;
		goto out;
	}
	mv_taglist_reader_init(&r, text, len, MV_TAGLIST_DKIM);
	while ((st = mv_taglist_next(&r, &t, err, errlen)) == MV_OK) {
		if ((st = check_duplicate(tl, &t, err, errlen)) != MV_OK)
			goto out;
		if (tl->count == MV_TAGLIST_MAX_TAGS) {
			mv_errf(err, errlen, "more than %d tags", MV_TAGLIST_MAX_TAGS);
			st = MV_ETOOBIG;
			goto out;
		}
		tl->tag[tl->count++] = t;
	}
	if (st == MV_ENOTFOUND)
		st = MV_OK;
out:
	if (st != MV_OK)
		tl->count = 0;
	return st;
}

const struct mv_tag *mv_taglist_get(const struct mv_taglist *tl, const char *name)
{
	size_t i, n = strlen(name);

	for (i = 0; i < tl->count; i++)
		if (tl->tag[i].name_len == n && memcmp(tl->tag[i].name, name, n) == 0)
			return &tl->tag[i];
	return NULL;
}

char *mv_taglist_value_nows(const struct mv_tag *t, size_t *lenp)
{
	char *s = malloc(t->value_len + 1);
	size_t i, n = 0;

	if (s == NULL)
		return NULL;
	for (i = 0; i < t->value_len; i++) {
		char ch = t->value[i];
		if (!is_wsp_or_eol(ch))
			s[n++] = ch;
	}
	s[n] = '\0';
	if (lenp != NULL)
		*lenp = n;
	return s;
}

char *mv_taglist_value_dup(const struct mv_tag *t)
{
	return mv_strndup(t->value, t->value_len);
}

int64_t mv_taglist_number(const struct mv_tag *t)
{
	int64_t v = 0;
	size_t i;

	if (t->value_len == 0 || t->value_len > 76)
		return -1;
	for (i = 0; i < t->value_len; i++) {
		int dgt = t->value[i] - '0';
		if (dgt < 0 || dgt > 9)
			return -1;
		v = v > (INT64_MAX - dgt) / 10 ? INT64_MAX : v * 10 + dgt;
	}
	return v;
}
