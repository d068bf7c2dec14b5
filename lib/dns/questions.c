/* lib/dns/questions.c — a list of DNS questions, as the checks publish them for one prefetch batch. */
#include <stdlib.h>
#include <string.h>

#include <mailvet/util.h>

#include "dns/backend.h"

/* The normal form of name into norm; MV_EINVAL for no DNS name, and for the root. */
static enum mv_status normal(const char *name, char norm[MV_DNS_NAME_MAX + 1])
{
	size_t len;

	if (name == NULL || mv_dns_name_norm(name, strlen(name), norm, &len) != MV_OK || len == 0)
		return MV_EINVAL;
	return MV_OK;
}

/* Index of (norm, type) in l, or l->n. */
static size_t find(const struct mv_dns_questions *l, const char *norm, enum mv_dns_type type)
{
	size_t k;

	for (k = 0; k < l->n; k++)
		if (l->q[k].type == type && strcmp(l->q[k].name, norm) == 0)
			break;
	return k;
}

enum mv_status mv_dns_questions_add(struct mv_dns_questions *l, const char *name,
                                    enum mv_dns_type type)
{
	char norm[MV_DNS_NAME_MAX + 1];
	char *copy;

	if (mv_dns_type_str(type) == NULL || normal(name, norm) != MV_OK)
		return MV_EINVAL;
	if (find(l, norm, type) < l->n)
		return MV_OK;
	if (l->n >= MV_DNS_QUESTIONS_MAX)
		return MV_ETOOBIG;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 8;
		struct mv_dns_question *q = realloc(l->q, cap * sizeof *q);
		if (q == NULL)
			return MV_ENOMEM;
		l->q = q;
		l->cap = cap;
	}
	if ((copy = mv_strndup(norm, strlen(norm))) == NULL)
		return MV_ENOMEM;
	l->q[l->n].name = copy;
	l->q[l->n].type = type;
	l->n++;
	return MV_OK;
}

int mv_dns_questions_has(const struct mv_dns_questions *l, const char *name, enum mv_dns_type type)
{
	char norm[MV_DNS_NAME_MAX + 1];

	return normal(name, norm) == MV_OK && find(l, norm, type) < l->n;
}

void mv_dns_questions_free(struct mv_dns_questions *l)
{
	size_t k;

	for (k = 0; k < l->n; k++)
		free((char *)l->q[k].name);
	free(l->q);
	memset(l, 0, sizeof *l);
}
