/* lib/msg/msg.c — the message object: building field by field, accessors, limits. */
#include <stdlib.h>
#include <string.h>

#include <mailvet/msg.h>

#include "msg/msg_priv.h"

void mv_msg_limits_default(struct mv_msg_limits *lim)
{
	lim->max_header_bytes = (size_t)1024 * 1024;
	lim->max_fields = 1000;
	lim->max_line = (size_t)64 * 1024;
}

size_t mv_msg_unfold(const char *value, size_t len, char *dst)
{
	size_t i = 0, n = 0;

	while (i < len) {
		const char *lf = memchr(value + i, '\n', len - i);
		size_t end = lf ? (size_t)(lf - value) : len; /* index of the LF */
		size_t keep = end;

		if (lf && end + 1 < len && (value[end + 1] == ' ' || value[end + 1] == '\t')) {
			if (end > i && value[end - 1] == '\r')
				keep = end - 1; /* CRLF before WSP */
			memcpy(dst + n, value + i, keep - i);
			n += keep - i;
			i = end + 1;
			continue;
		}
		/* no fold here: copy through the LF (or to the end) */
		keep = lf ? end + 1 : len;
		memcpy(dst + n, value + i, keep - i);
		n += keep - i;
		i = keep;
	}
	dst[n] = '\0';
	return n;
}

enum mv_status mv_msg_slot_push(struct mv_msg *m, struct mv_msg_slot **out)
{
	struct mv_msg_slot *s;

	if (m->count >= m->lim.max_fields)
		return MV_ETOOBIG;
	if (m->count == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 32;
		if (cap > m->lim.max_fields)
			cap = m->lim.max_fields;
		s = realloc(m->slot, cap * sizeof(*s));
		if (!s)
			return MV_ENOMEM;
		m->slot = s;
		m->cap = cap;
	}
	s = &m->slot[m->count++];
	memset(s, 0, sizeof(*s));
	*out = s;
	return MV_OK;
}

enum mv_status mv_msg_new(const struct mv_msg_limits *lim, struct mv_msg **out)
{
	struct mv_msg *m;

	*out = NULL;
	m = calloc(1, sizeof(*m));
	if (!m)
		return MV_ENOMEM;
	if (lim)
		m->lim = *lim;
	else
		mv_msg_limits_default(&m->lim);
	*out = m;
	return MV_OK;
}

/*
 * Check a milter-supplied value: every line break (CRLF or LF) must be
 * followed by WSP (a fold), so that the field cannot smuggle a second field
 * or end the header; every physical line must fit lim.max_line.
 */
static enum mv_status check_added_value(const struct mv_msg *m, size_t first_line,
                                        const char *value, size_t len)
{
	size_t i = 0, line_start = 0, line = first_line;

	while (i < len) {
		const char *lf = memchr(value + i, '\n', len - i);
		size_t end = lf ? (size_t)(lf - value) : len;

		line += end - line_start;
		if (line > m->lim.max_line)
			return MV_ETOOBIG;
		if (!lf)
			break;
		if (end + 1 >= len || (value[end + 1] != ' ' && value[end + 1] != '\t'))
			return MV_ESYNTAX; /* a line break that is not a fold */
		line = 0;
		i = line_start = end + 1;
	}
	return MV_OK;
}

enum mv_status mv_msg_add_field(struct mv_msg *m, const char *name, size_t name_len,
                                const char *value, size_t value_len)
{
	enum mv_status st;
	struct mv_msg_slot *s = NULL;
	size_t i, raw_len, need;
	char *p;

	if (!m || !name || (!value && value_len))
		return MV_EINVAL;
	if (name_len == 0)
		return MV_ESYNTAX;
	for (i = 0; i < name_len; i++)
		if (!mv_msg_is_ftext((unsigned char)name[i]))
			return MV_ESYNTAX;
	if ((st = check_added_value(m, name_len + 1, value, value_len)) != MV_OK)
		return st;
	if (value_len > m->lim.max_header_bytes || name_len > m->lim.max_header_bytes)
		return MV_ETOOBIG;
	raw_len = name_len + 1 + value_len + 2;
	if (raw_len > m->lim.max_header_bytes - m->header_bytes)
		return MV_ETOOBIG;
	need = raw_len + name_len + 1 + value_len + 1;
	if ((p = malloc(need)) == NULL)
		return MV_ENOMEM;
	if ((st = mv_msg_slot_push(m, &s)) != MV_OK) {
		free(p);
		return st;
	}
	s->own = p;
	memcpy(p, name, name_len);
	p[name_len] = ':';
	if (value_len)
		memcpy(p + name_len + 1, value, value_len);
	memcpy(p + name_len + 1 + value_len, "\r\n", 2);
	s->f.raw = p;
	s->f.raw_len = raw_len;
	s->f.value = p + name_len + 1;
	s->f.value_len = value_len;
	p += raw_len;
	memcpy(p, name, name_len);
	p[name_len] = '\0';
	s->f.name = p;
	s->f.name_len = name_len;
	p += name_len + 1;
	s->f.unfolded = p;
	s->f.unfolded_len = mv_msg_unfold(s->f.value, value_len, p);
	m->header_bytes += raw_len;
	return MV_OK;
}

void mv_msg_free(struct mv_msg *m)
{
	size_t i;

	if (!m)
		return;
	for (i = 0; i < m->count; i++)
		free(m->slot[i].own);
	free(m->slot);
	free(m->block);
	free(m);
}

size_t mv_msg_field_count(const struct mv_msg *m)
{
	return m ? m->count : 0;
}

const struct mv_msg_field *mv_msg_field(const struct mv_msg *m, size_t i)
{
	if (!m || i >= m->count)
		return NULL;
	return &m->slot[i].f;
}

size_t mv_msg_find(const struct mv_msg *m, const char *name, size_t from)
{
	size_t i;

	if (!m || !name)
		return (size_t)-1;
	for (i = from; i < m->count; i++) {
		const struct mv_msg_field *f = &m->slot[i].f;
		if (mv_ascii_ieq(f->name, f->name_len, name))
			return i;
	}
	return (size_t)-1;
}

void mv_msg_body(const struct mv_msg *m, const char **body, size_t *len, size_t *off)
{
	if (body)
		*body = m && m->body ? m->body : "";
	if (len)
		*len = m ? m->body_len : 0;
	if (off)
		*off = m ? m->body_off : 0;
}
