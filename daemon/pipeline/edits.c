/* daemon/pipeline/edits.c — the header edits of a message's outcome, and their storage. */
#include <string.h>

#include <mailvet/util.h>

#include "pipeline_int.h"

int mvd_pipeline_edit(struct mvd_pipeline *p, enum mvd_edit_kind kind, const char *name,
                      unsigned index, const char *value, size_t len)
{
	struct mvd_edit *e;

	if (p->nedits == MVD_MAX_EDITS)
		return 0;
	e = &p->edits[p->nedits];
	e->kind = kind;
	e->index = index;
	e->name = name;
	e->value = NULL;
	if (kind == MVD_EDIT_INSERT) {
		char *copy = mv_strndup(value, len);
		if (!copy)
			return 0;
		p->owned[p->nowned++] = copy;
		e->value = copy;
	}
	p->nedits++;
	return 1;
}

int mvd_pipeline_insert_fields(struct mvd_pipeline *p, const char *text, size_t len)
{
	const char *start[16];
	size_t n = 0;

	for (const char *q = text; q < text + len && *q && n < 16;) {
		const char *e = q;
		start[n++] = q;
		while ((e = strstr(e, "\r\n")) && (e[2] == ' ' || e[2] == '\t'))
			e += 2;
		q = e ? e + 2 : q + strlen(q);
	}
	/* Inserted at the top one after another: the last one given ends on top. */
	for (size_t i = n; i-- > 0;) {
		const char *end = i + 1 < n ? start[i + 1] : text + len;
		const char *colon = memchr(start[i], ':', (size_t)(end - start[i]));
		char *name;
		size_t vlen;

		if (!colon)
			return 0;
		vlen = (size_t)(end - colon - 1);
		while (vlen && (colon[vlen] == '\n' || colon[vlen] == '\r'))
			vlen--;
		if (!(name = mv_strndup(start[i], (size_t)(colon - start[i]))))
			return 0;
		p->owned[p->nowned++] = name;
		if (!mvd_pipeline_edit(p, MVD_EDIT_INSERT, name, 0, colon + 1, vlen))
			return 0;
	}
	return 1;
}
