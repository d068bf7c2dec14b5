/* lib/msg/taglist.c — tag=value lists (RFC 6376 §3.2): a cursor over an explicit length. */
#include <stdlib.h>
#include <string.h>

#include <mailvet/msg.h>
#include <mailvet/util.h>

struct cursor {
	const char *start, *p, *end;
};

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

/*
 * Skip FWS: WSP runs and line breaks (CRLF or bare LF) that are followed
 * by WSP. Returns 0 when it stops at a line break not followed by WSP,
 * which is not FWS (the caller reports it), 1 otherwise.
 */
static int skip_fws(struct cursor *c)
{
	for (;;) {
		const char *q = c->p;
		if (q < c->end && mv_ascii_is_wsp(*q)) {
			c->p++;
			continue;
		}
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

/* Parse one tag-spec whose name starts at c->p; fills t. */
static enum mv_status parse_spec(struct cursor *c, struct mv_tag *t, char *err, size_t errlen)
{
	const char *last_val;

	t->name = c->p;
	while (c->p < c->end && is_namechar(*c->p))
		c->p++;
	t->name_len = (size_t)(c->p - t->name);
	if (!skip_fws(c) || c->p >= c->end || *c->p != '=') {
		mv_errf(err, errlen, "no '=' after tag '%.*s' at %zu", (int)t->name_len, t->name,
		        (size_t)(c->p - c->start));
		return MV_ESYNTAX;
	}
	c->p++;
	t->raw_value = c->p;
	if (!skip_fws(c))
		goto bad;
	t->value = c->p;
	last_val = c->p;
	while (c->p < c->end && *c->p != ';') {
		const char *before = c->p;
		if (is_valchar(*c->p)) {
			c->p++;
			last_val = c->p;
		} else if (!skip_fws(c) || c->p == before) {
			goto bad;
		}
	}
	t->value_len = (size_t)(last_val - t->value);
	t->raw_len = (size_t)(c->p - t->raw_value);
	return MV_OK;
bad:
	mv_errf(err, errlen, "bad byte in value of '%.*s' at %zu", (int)t->name_len, t->name,
	        (size_t)(c->p - c->start));
	return MV_ESYNTAX;
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
	struct cursor c = {text, text, text + len};
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
	while (c.p < c.end) {
		if (!skip_fws(&c)) {
			mv_errf(err, errlen, "bad line break at %zu", (size_t)(c.p - text));
			st = MV_ESYNTAX;
			goto out;
		}
		if (c.p < c.end && *c.p == ';') { /* an empty tag-spec */
			c.p++;
			continue;
		}
		if (c.p >= c.end)
			break;
		if (!is_alpha(*c.p)) {
			mv_errf(err, errlen, "bad tag name at %zu", (size_t)(c.p - text));
			st = MV_ESYNTAX;
			goto out;
		}
		if ((st = parse_spec(&c, &t, err, errlen)) != MV_OK)
			goto out;
		if ((st = check_duplicate(tl, &t, err, errlen)) != MV_OK)
			goto out;
		if (tl->count == MV_TAGLIST_MAX_TAGS) {
			mv_errf(err, errlen, "more than %d tags", MV_TAGLIST_MAX_TAGS);
			st = MV_ETOOBIG;
			goto out;
		}
		tl->tag[tl->count++] = t;
		if (c.p < c.end) /* at the ';' */
			c.p++;
	}
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
		if (!mv_ascii_is_wsp(ch) && ch != '\r' && ch != '\n')
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
