/* lib/util/cursor.c — a bounded reader: the bytes still to read, never past their end. */
#include <mailvet/util.h>

void mv_cursor_init(struct mv_cursor *c, const char *s, size_t len)
{
	c->start = s;
	c->p = s;
	c->end = s + len;
}

size_t mv_cursor_left(const struct mv_cursor *c)
{
	return (size_t)(c->end - c->p);
}

size_t mv_cursor_offset(const struct mv_cursor *c)
{
	return (size_t)(c->p - c->start);
}

int mv_cursor_eat(struct mv_cursor *c, char ch)
{
	if (c->p == c->end || *c->p != ch)
		return 0;
	c->p++;
	return 1;
}

size_t mv_cursor_skip_wsp(struct mv_cursor *c)
{
	const char *from = c->p;

	while (c->p < c->end && mv_ascii_is_wsp(*c->p))
		c->p++;
	return (size_t)(c->p - from);
}
