/* lib/authres/format.c — a struct mv_authres into an Authentication-Results field, folded. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mailvet/authres.h>

#include "authres/lex.h"

#define FIELD_NAME "Authentication-Results:"
#define INDENT "    "

/* Where the output stands: its buffer, the column and whether a line was just begun. */
struct line {
	struct mv_buf *out;
	size_t col;
	int fresh;
};

/* Append one unit (never split), preceded by a space or, if it passes the fold column, a fold. */
static void put_unit(struct line *l, const char *s, size_t n)
{
	if (!l->fresh && l->col + 1 + n > MV_AUTHRES_FOLD) {
		mv_buf_puts(l->out, "\r\n" INDENT);
		l->col = sizeof INDENT - 1;
		l->fresh = 1;
	}
	if (!l->fresh) {
		mv_buf_putc(l->out, ' ');
		l->col++;
	}
	mv_buf_append(l->out, s, n);
	l->col += n;
	l->fresh = 0;
}

static void quoted(struct mv_buf *b, const char *s)
{
	mv_buf_putc(b, '"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			mv_buf_putc(b, '\\');
		mv_buf_putc(b, *s);
	}
	mv_buf_putc(b, '"');
}

/*
 * A value as the grammar reads it back: bare when it is a token (or, for a
 * pvalue, a domain-name or [local-part]@domain-name), quoted otherwise.
 */
static void value(struct mv_buf *b, const char *s, int is_pvalue)
{
	size_t n = strlen(s);

	if (mv_authres_is_token(s, n) ||
	    (is_pvalue && (mv_authres_is_domain(s, n) || mv_authres_is_addr(s, n))))
		mv_buf_append(b, s, n);
	else
		quoted(b, s);
}

/* "(text)" with the characters a comment cannot hold plainly escaped. */
static void comment(struct mv_buf *b, const char *s)
{
	mv_buf_putc(b, '(');
	for (; *s; s++) {
		if (*s == '(' || *s == ')' || *s == '\\')
			mv_buf_putc(b, '\\');
		mv_buf_putc(b, *s);
	}
	mv_buf_putc(b, ')');
}

static int has_text(const char *s)
{
	return s && *s;
}

/* Every string of r can be written and read back as it is. */
static int result_ok(const struct mv_result *r)
{
	size_t i;

	if (!r->method || !r->result || !mv_authres_is_keyword(r->method, strlen(r->method)) ||
	    !mv_authres_is_keyword(r->result, strlen(r->result)) ||
	    (r->reason && !mv_authres_is_text(r->reason, strlen(r->reason))) ||
	    (r->comment && !mv_authres_is_text(r->comment, strlen(r->comment))))
		return 0;
	for (i = 0; i < r->nprops; i++) {
		const struct mv_result_prop *p = &r->props[i];
		if (!p->ptype || !p->property || !p->value ||
		    !mv_authres_is_keyword(p->ptype, strlen(p->ptype)) ||
		    !mv_authres_is_keyword(p->property, strlen(p->property)) ||
		    !mv_authres_is_text(p->value, strlen(p->value)))
			return 0;
	}
	return 1;
}

/*
 * The units of one resinfo, each ended by a NUL in text: methodspec,
 * comment, reasonspec, propspecs; `last` says whether to end with ';'.
 * Returns the number of units (at most 3 + nprops).
 */
static size_t result_units(const struct mv_result *r, int last, struct mv_buf *text, size_t *off)
{
	size_t n = 0, i;

	off[n++] = text->len;
	mv_buf_puts(text, r->method);
	if (r->version)
		mv_buf_printf(text, "/%u", r->version);
	mv_buf_printf(text, "=%s", r->result);
	if (has_text(r->comment)) {
		mv_buf_putc(text, '\0');
		off[n++] = text->len;
		comment(text, r->comment);
	}
	if (r->reason) {
		mv_buf_putc(text, '\0');
		off[n++] = text->len;
		mv_buf_puts(text, "reason=");
		value(text, r->reason, 0);
	}
	for (i = 0; i < r->nprops; i++) {
		mv_buf_putc(text, '\0');
		off[n++] = text->len;
		mv_buf_printf(text, "%s.%s=", r->props[i].ptype, r->props[i].property);
		value(text, r->props[i].value, 1);
	}
	if (!last)
		mv_buf_putc(text, ';');
	mv_buf_putc(text, '\0');
	off[n] = text->len;
	return n;
}

/* One resinfo: on the current line if it fits, else from a new line, split if need be. */
static enum mv_status put_result(struct line *l, const struct mv_result *r, int last)
{
	struct mv_buf text = MV_BUF_INIT;
	size_t *off, n, i, total = 0;
	enum mv_status st;

	if (!(off = calloc(r->nprops + 5, sizeof *off)))
		return MV_ENOMEM;
	n = result_units(r, last, &text, off);
	if ((st = mv_buf_status(&text)) != MV_OK)
		goto out;
	for (i = 0; i < n; i++)
		total += off[i + 1] - off[i]; /* unit and its NUL: the NUL counts for the space */
	if (!l->fresh && l->col + total > MV_AUTHRES_FOLD) {
		mv_buf_puts(l->out, "\r\n" INDENT);
		l->col = sizeof INDENT - 1;
		l->fresh = 1;
	}
	for (i = 0; i < n; i++)
		put_unit(l, text.data + off[i], off[i + 1] - off[i] - 1);
out:
	free(off);
	mv_buf_free(&text);
	return st;
}

/* authserv-id [version] [comment] ";" — or "; none" when there are no results. */
static enum mv_status put_head(struct line *l, const struct mv_authres *ar)
{
	struct mv_buf u = MV_BUF_INIT;
	int none = ar->results.count == 0;
	enum mv_status st;

	value(&u, ar->serv_id, 0);
	if (ar->version) {
		put_unit(l, u.data, u.len);
		mv_buf_reset(&u);
		mv_buf_printf(&u, "%u", ar->version);
	}
	if (has_text(ar->comment)) {
		put_unit(l, u.data, u.len);
		mv_buf_reset(&u);
		comment(&u, ar->comment);
	}
	mv_buf_putc(&u, ';');
	if (mv_buf_status(&u) == MV_OK)
		put_unit(l, u.data, u.len);
	if (none)
		put_unit(l, "none", 4);
	st = mv_buf_status(&u);
	mv_buf_free(&u);
	return st;
}

enum mv_status mv_authres_format_value(const struct mv_authres *ar, struct mv_buf *out)
{
	struct line l = {out, sizeof FIELD_NAME - 1, 0};
	enum mv_status st;
	size_t i;

	if (!ar->serv_id || !mv_authres_is_text(ar->serv_id, strlen(ar->serv_id)) ||
	    (ar->comment && !mv_authres_is_text(ar->comment, strlen(ar->comment))))
		return MV_EINVAL;
	for (i = 0; i < ar->results.count; i++)
		if (!result_ok(ar->results.item[i]))
			return MV_EINVAL;
	if ((st = put_head(&l, ar)) != MV_OK)
		return st;
	for (i = 0; i < ar->results.count; i++)
		if ((st = put_result(&l, ar->results.item[i], i + 1 == ar->results.count)) != MV_OK)
			return st;
	return mv_buf_status(out);
}

enum mv_status mv_authres_format(const struct mv_authres *ar, struct mv_buf *out)
{
	mv_buf_puts(out, FIELD_NAME);
	return mv_authres_format_value(ar, out);
}

void mv_authres_summary_value(struct mv_buf *b, const char *s)
{
	const char *p;
	int plain = *s != '\0';

	for (p = s; *p && plain; p++)
		plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		        (*p >= '0' && *p <= '9') || strchr("-._@+/:=!#$%&'*^`{|}~", *p) != NULL;
	if (plain)
		mv_buf_puts(b, s);
	else
		mv_json_cstr(b, s);
}

enum mv_status mv_result_summary(const struct mv_result *r, struct mv_buf *out)
{
	size_t j;

	mv_buf_puts(out, r->method);
	if (r->version)
		mv_buf_printf(out, "/%u", r->version);
	mv_buf_printf(out, "=%s", r->result);
	if (r->reason) {
		mv_buf_puts(out, " reason=");
		mv_json_cstr(out, r->reason);
	}
	for (j = 0; j < r->nprops; j++) {
		mv_buf_printf(out, " %s.%s=", r->props[j].ptype, r->props[j].property);
		mv_authres_summary_value(out, r->props[j].value);
	}
	return mv_buf_status(out);
}
