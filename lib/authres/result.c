/* lib/authres/result.c — building, copying and comparing result records and fields. */
#include <stdlib.h>
#include <string.h>

#include <mailvet/authres.h>

#include "authres/lex.h"

/* A lowercase copy of a Keyword, or NULL (bad keyword or no memory; *st says which). */
static char *keyword_dup(const char *s, enum mv_status *st)
{
	char *p;

	if (!s || !mv_authres_is_keyword(s, strlen(s))) {
		*st = MV_EINVAL;
		return NULL;
	}
	p = mv_strndup(s, strlen(s));
	if (!p) {
		*st = MV_ENOMEM;
		return NULL;
	}
	mv_ascii_lower(p, strlen(p));
	return p;
}

/* Replace *slot with a copy of text (NULL clears) after checking it can be written. */
static enum mv_status set_text(char **slot, const char *text)
{
	char *p = NULL;

	if (text) {
		if (!mv_authres_is_text(text, strlen(text)))
			return MV_EINVAL;
		if (!(p = mv_strndup(text, strlen(text))))
			return MV_ENOMEM;
	}
	free(*slot);
	*slot = p;
	return MV_OK;
}

enum mv_status mv_result_new(const char *method, const char *result, struct mv_result **out)
{
	enum mv_status st = MV_OK;
	struct mv_result *r;

	*out = NULL;
	if (!(r = calloc(1, sizeof *r)))
		return MV_ENOMEM;
	if (!(r->method = keyword_dup(method, &st)) || !(r->result = keyword_dup(result, &st))) {
		mv_result_free(r);
		return st;
	}
	*out = r;
	return MV_OK;
}

void mv_result_free(struct mv_result *r)
{
	size_t i;

	if (!r)
		return;
	for (i = 0; i < r->nprops; i++) {
		free(r->props[i].ptype);
		free(r->props[i].property);
		free(r->props[i].value);
	}
	free(r->props);
	free(r->method);
	free(r->result);
	free(r->reason);
	free(r->comment);
	free(r);
}

void mv_result_set_version(struct mv_result *r, unsigned version)
{
	r->version = version;
}

enum mv_status mv_result_set_reason(struct mv_result *r, const char *reason)
{
	return set_text(&r->reason, reason);
}

enum mv_status mv_result_set_comment(struct mv_result *r, const char *comment)
{
	return set_text(&r->comment, comment && *comment ? comment : NULL);
}

enum mv_status mv_result_add_prop(struct mv_result *r, const char *ptype, const char *property,
                                  const char *value)
{
	enum mv_status st = MV_OK;
	struct mv_result_prop p = {NULL, NULL, NULL}, *np;

	if (!value || !mv_authres_is_text(value, strlen(value)))
		return MV_EINVAL;
	if (!(p.ptype = keyword_dup(ptype, &st)) || !(p.property = keyword_dup(property, &st)))
		goto fail;
	st = MV_ENOMEM;
	if (!(p.value = mv_strndup(value, strlen(value))))
		goto fail;
	if (r->nprops >= (size_t)-1 / sizeof *np / 2)
		goto fail;
	if (!(np = realloc(r->props, (r->nprops + 1) * sizeof *np)))
		goto fail;
	r->props = np;
	r->props[r->nprops++] = p;
	return MV_OK;
fail:
	free(p.ptype);
	free(p.property);
	free(p.value);
	return st;
}

const char *mv_result_prop_value(const struct mv_result *r, const char *ptype, const char *property)
{
	size_t i;

	for (i = 0; i < r->nprops; i++)
		if (mv_ascii_ieq(ptype, strlen(ptype), r->props[i].ptype) &&
		    mv_ascii_ieq(property, strlen(property), r->props[i].property))
			return r->props[i].value;
	return NULL;
}

enum mv_status mv_result_dup(const struct mv_result *r, struct mv_result **out)
{
	enum mv_status st;
	struct mv_result *c = NULL;
	size_t i;

	*out = NULL;
	if ((st = mv_result_new(r->method, r->result, &c)) != MV_OK)
		goto out;
	c->version = r->version;
	if ((st = mv_result_set_reason(c, r->reason)) != MV_OK ||
	    (st = mv_result_set_comment(c, r->comment)) != MV_OK)
		goto out;
	for (i = 0; i < r->nprops; i++)
		if ((st = mv_result_add_prop(c, r->props[i].ptype, r->props[i].property,
		                             r->props[i].value)) != MV_OK)
			goto out;
	*out = c;
	c = NULL;
out:
	mv_result_free(c);
	return st;
}

/* Equal strings, where NULL equals only NULL. */
static int str_eq(const char *a, const char *b)
{
	if (!a || !b)
		return a == b;
	return strcmp(a, b) == 0;
}

/* Equal comments: an empty comment is no comment. */
static int comment_eq(const char *a, const char *b)
{
	return str_eq(a && *a ? a : NULL, b && *b ? b : NULL);
}

int mv_result_equal(const struct mv_result *a, const struct mv_result *b)
{
	size_t i;

	if (!str_eq(a->method, b->method) || a->version != b->version ||
	    !str_eq(a->result, b->result) || !str_eq(a->reason, b->reason) ||
	    !comment_eq(a->comment, b->comment) || a->nprops != b->nprops)
		return 0;
	for (i = 0; i < a->nprops; i++)
		if (!str_eq(a->props[i].ptype, b->props[i].ptype) ||
		    !str_eq(a->props[i].property, b->props[i].property) ||
		    !str_eq(a->props[i].value, b->props[i].value))
			return 0;
	return 1;
}

enum mv_status mv_result_list_add(struct mv_result_list *l, struct mv_result *r)
{
	struct mv_result **n;
	size_t cap;

	if (l->count == l->cap) {
		cap = l->cap ? l->cap * 2 : 4;
		if (cap > (size_t)-1 / sizeof *n || !(n = realloc(l->item, cap * sizeof *n))) {
			mv_result_free(r);
			return MV_ENOMEM;
		}
		l->item = n;
		l->cap = cap;
	}
	l->item[l->count++] = r;
	return MV_OK;
}

void mv_result_list_remove(struct mv_result_list *l, size_t i)
{
	if (i >= l->count)
		return;
	mv_result_free(l->item[i]);
	memmove(l->item + i, l->item + i + 1, (l->count - i - 1) * sizeof *l->item);
	l->count--;
}

void mv_result_list_clear(struct mv_result_list *l)
{
	size_t i;

	for (i = 0; i < l->count; i++)
		mv_result_free(l->item[i]);
	free(l->item);
	l->item = NULL;
	l->count = 0;
	l->cap = 0;
}

int mv_result_list_equal(const struct mv_result_list *a, const struct mv_result_list *b)
{
	size_t i;

	if (a->count != b->count)
		return 0;
	for (i = 0; i < a->count; i++)
		if (!mv_result_equal(a->item[i], b->item[i]))
			return 0;
	return 1;
}

enum mv_status mv_authres_new(const char *serv_id, unsigned version, struct mv_authres **out)
{
	struct mv_authres *ar;
	enum mv_status st;

	*out = NULL;
	if (!(ar = calloc(1, sizeof *ar)))
		return MV_ENOMEM;
	if ((st = set_text(&ar->serv_id, serv_id)) != MV_OK) {
		free(ar);
		return st;
	}
	ar->version = version;
	*out = ar;
	return MV_OK;
}

void mv_authres_free(struct mv_authres *ar)
{
	if (!ar)
		return;
	mv_result_list_clear(&ar->results);
	free(ar->serv_id);
	free(ar->comment);
	free(ar);
}

int mv_authres_equal(const struct mv_authres *a, const struct mv_authres *b)
{
	return str_eq(a->serv_id, b->serv_id) && a->version == b->version &&
	       comment_eq(a->comment, b->comment) && mv_result_list_equal(&a->results, &b->results);
}
