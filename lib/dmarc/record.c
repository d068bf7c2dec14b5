/* lib/dmarc/record.c — the DMARC policy record (RFC 9989 §4.7): a tag-list starting v=DMARC1. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mailvet/dmarc.h>
#include <mailvet/msg.h>

static int is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

const char *mv_dmarc_policy_str(enum mv_dmarc_policy p)
{
	switch (p) {
	case MV_DMARC_P_NONE:
		return "none";
	case MV_DMARC_P_QUARANTINE:
		return "quarantine";
	case MV_DMARC_P_REJECT:
		return "reject";
	case MV_DMARC_P_INVALID:
		return "invalid";
	case MV_DMARC_P_ABSENT:
		break;
	}
	return "absent";
}

/* Trim WSP (and the CR/LF of folded TXT text) from both ends of [*s, *e). */
static void trim(const char **s, const char **e)
{
	while (*s < *e && (mv_ascii_is_wsp(**s) || **s == '\r' || **s == '\n'))
		(*s)++;
	while (*e > *s && (mv_ascii_is_wsp((*e)[-1]) || (*e)[-1] == '\r' || (*e)[-1] == '\n'))
		(*e)--;
}

static enum mv_dmarc_policy parse_policy(const char *v, size_t n)
{
	if (mv_ascii_ieq(v, n, "none"))
		return MV_DMARC_P_NONE;
	if (mv_ascii_ieq(v, n, "quarantine"))
		return MV_DMARC_P_QUARANTINE;
	if (mv_ascii_ieq(v, n, "reject"))
		return MV_DMARC_P_REJECT;
	return MV_DMARC_P_INVALID;
}

/* RFC 3986 scheme ":" followed by at least one byte without WSP: enough for "syntactically valid". */
static int uri_valid(const char *s, const char *e)
{
	trim(&s, &e);
	if (s == e || !is_alpha(*s))
		return 0;
	while (s < e && (is_alpha(*s) || is_digit(*s) || *s == '+' || *s == '-' || *s == '.'))
		s++;
	if (s == e || *s != ':' || ++s == e)
		return 0;
	for (; s < e; s++)
		if (mv_ascii_is_wsp(*s) || (unsigned char)*s < 0x20)
			return 0;
	return 1;
}

/* rua is a comma-separated list of URIs; 1 when one of them is valid. */
static int rua_any_valid(const char *v, size_t n)
{
	const char *p = v, *end = v + n, *comma;

	while (p < end) {
		comma = memchr(p, ',', (size_t)(end - p));
		if (comma == NULL)
			comma = end;
		if (uri_valid(p, comma))
			return 1;
		p = comma + 1;
	}
	return 0;
}

static enum mv_status set_str(char **dst, const char *v, size_t n)
{
	*dst = mv_strndup(v, n);
	return *dst ? MV_OK : MV_ENOMEM;
}

/* Record the value of one known tag; unknown tags (and pct, rf, ri) are ignored. */
static enum mv_status apply_tag(struct mv_dmarc_record *rec, const char *name, size_t nlen,
                                const char *v, size_t vlen)
{
	if (mv_ascii_ieq(name, nlen, "p"))
		rec->p = parse_policy(v, vlen);
	else if (mv_ascii_ieq(name, nlen, "sp"))
		rec->sp = parse_policy(v, vlen);
	else if (mv_ascii_ieq(name, nlen, "np"))
		rec->np = parse_policy(v, vlen);
	else if (mv_ascii_ieq(name, nlen, "adkim") || mv_ascii_ieq(name, nlen, "aspf")) {
		enum mv_dmarc_align *a =
		        (name[1] == 'd' || name[1] == 'D') ? &rec->adkim : &rec->aspf;
		if (mv_ascii_ieq(v, vlen, "s"))
			*a = MV_DMARC_STRICT;
		else
			*a = MV_DMARC_RELAXED; /* "r" or an invalid value: the default */
	} else if (mv_ascii_ieq(name, nlen, "psd")) {
		if (mv_ascii_ieq(v, vlen, "y"))
			rec->psd = MV_DMARC_PSD_Y;
		else if (mv_ascii_ieq(v, vlen, "n"))
			rec->psd = MV_DMARC_PSD_N;
		else
			rec->psd = MV_DMARC_PSD_U;
	} else if (mv_ascii_ieq(name, nlen, "t"))
		rec->testing = mv_ascii_ieq(v, vlen, "y");
	else if (mv_ascii_ieq(name, nlen, "rua")) {
		rec->rua_valid = rua_any_valid(v, vlen);
		return set_str(&rec->rua, v, vlen);
	} else if (mv_ascii_ieq(name, nlen, "ruf"))
		return set_str(&rec->ruf, v, vlen);
	else if (mv_ascii_ieq(name, nlen, "fo"))
		return set_str(&rec->fo, v, vlen);
	return MV_OK;
}

#define MAX_TAGS 64 /* distinct tags remembered for the duplicate check */

/* Tag names seen so far, compared case-insensitively. */
struct seen_tags {
	struct {
		const char *name;
		size_t len;
	} tag[MAX_TAGS];
	size_t count;
};

/* MV_ESYNTAX when t's name was seen before; otherwise it is remembered (while there is room). */
static enum mv_status check_duplicate(struct seen_tags *seen, const struct mv_tag *t, char *err,
                                      size_t errlen)
{
	size_t k;

	for (k = 0; k < seen->count; k++)
		if (mv_ascii_ieq_mem(seen->tag[k].name, seen->tag[k].len, t->name, t->name_len)) {
			mv_errf(err, errlen, "duplicate tag '%.*s'", (int)t->name_len, t->name);
			return MV_ESYNTAX;
		}
	if (seen->count < MAX_TAGS) {
		seen->tag[seen->count].name = t->name;
		seen->tag[seen->count++].len = t->name_len;
	}
	return MV_OK;
}

/* "v" *WSP "=" *WSP "DMARC1" then WSP* and ';' or the end. */
static int version_ok(struct mv_cursor *c)
{
	struct mv_cursor v = *c;

	if (!mv_cursor_eat(&v, 'v'))
		return 0;
	mv_cursor_skip_wsp(&v);
	if (!mv_cursor_eat(&v, '='))
		return 0;
	mv_cursor_skip_wsp(&v);
	if (mv_cursor_left(&v) < 6 || memcmp(v.p, "DMARC1", 6) != 0)
		return 0;
	v.p += 6;
	mv_cursor_skip_wsp(&v);
	if (mv_cursor_left(&v) > 0 && *v.p != ';')
		return 0;
	*c = v;
	return 1;
}

enum mv_status mv_dmarc_record_parse(const char *txt, size_t len, struct mv_dmarc_record *out,
                                     char *err, size_t errlen)
{
	struct mv_taglist_reader r;
	struct seen_tags seen;
	struct mv_tag t;
	enum mv_status st;

	memset(out, 0, sizeof *out);
	seen.count = 0;
	if (err && errlen)
		err[0] = '\0';
	if (len > MV_DMARC_RECORD_MAX) {
		mv_errf(err, errlen, "record too long");
		return MV_ETOOBIG;
	}
	mv_taglist_reader_init(&r, txt, len, MV_TAGLIST_DMARC);
	if (!version_ok(&r.c)) {
		mv_errf(err, errlen, "not v=DMARC1 '%.*s'", (int)(len > 40 ? 40 : len), txt);
		return MV_ENOTFOUND;
	}
	while ((st = mv_taglist_next(&r, &t, err, errlen)) == MV_OK) {
		if ((st = check_duplicate(&seen, &t, err, errlen)) != MV_OK)
			break;
		if ((st = apply_tag(out, t.name, t.name_len, t.value, t.value_len)) != MV_OK)
			break;
	}
	return st == MV_ENOTFOUND ? MV_OK : st;
}

void mv_dmarc_record_clear(struct mv_dmarc_record *rec)
{
	if (rec == NULL)
		return;
	free(rec->rua);
	free(rec->ruf);
	free(rec->fo);
	memset(rec, 0, sizeof *rec);
}

enum mv_status mv_dmarc_record_summary(const struct mv_dmarc_record *rec, struct mv_buf *out)
{
	const char *sep = "";

	if (rec->p != MV_DMARC_P_ABSENT) {
		mv_buf_printf(out, "p=%s", mv_dmarc_policy_str(rec->p));
		sep = " ";
	}
	if (rec->sp != MV_DMARC_P_ABSENT) {
		mv_buf_printf(out, "%ssp=%s", sep, mv_dmarc_policy_str(rec->sp));
		sep = " ";
	}
	if (rec->np != MV_DMARC_P_ABSENT) {
		mv_buf_printf(out, "%snp=%s", sep, mv_dmarc_policy_str(rec->np));
		sep = " ";
	}
	if (rec->adkim == MV_DMARC_STRICT) {
		mv_buf_printf(out, "%sadkim=s", sep);
		sep = " ";
	}
	if (rec->aspf == MV_DMARC_STRICT) {
		mv_buf_printf(out, "%saspf=s", sep);
		sep = " ";
	}
	if (rec->psd != MV_DMARC_PSD_U) {
		mv_buf_printf(out, "%spsd=%s", sep, rec->psd == MV_DMARC_PSD_Y ? "y" : "n");
		sep = " ";
	}
	if (rec->testing)
		mv_buf_printf(out, "%st=y", sep);
	return mv_buf_status(out);
}
