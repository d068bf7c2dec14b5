/* lib/util/buf.c — the growable byte buffer (struct mv_buf). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mailvet/util.h>

void mv_buf_init(struct mv_buf *b)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->err = MV_OK;
}

void mv_buf_free(struct mv_buf *b)
{
	free(b->data);
	mv_buf_init(b);
}

void mv_buf_reset(struct mv_buf *b)
{
	b->len = 0;
	b->err = MV_OK;
	if (b->data)
		b->data[0] = '\0';
}

enum mv_status mv_buf_status(const struct mv_buf *b)
{
	return b->err;
}

/* Make room for n more bytes plus the NUL; sets the sticky error on failure. */
static enum mv_status reserve(struct mv_buf *b, size_t n)
{
	size_t need, cap;
	char *p;

	if (b->err != MV_OK)
		return b->err;
	if (n > MV_BUF_MAX - b->len - 1) {
		b->err = MV_ETOOBIG;
		return b->err;
	}
	need = b->len + n + 1;
	if (need <= b->cap)
		return MV_OK;
	cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap = cap > MV_BUF_MAX / 2 ? MV_BUF_MAX : cap * 2;
	p = realloc(b->data, cap);
	if (!p) {
		b->err = MV_ENOMEM;
		return b->err;
	}
	b->data = p;
	b->cap = cap;
	return MV_OK;
}

enum mv_status mv_buf_append(struct mv_buf *b, const void *p, size_t n)
{
	if (reserve(b, n) != MV_OK)
		return b->err;
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return MV_OK;
}

enum mv_status mv_buf_puts(struct mv_buf *b, const char *s)
{
	return mv_buf_append(b, s, strlen(s));
}

enum mv_status mv_buf_putc(struct mv_buf *b, char c)
{
	return mv_buf_append(b, &c, 1);
}

enum mv_status mv_buf_vprintf(struct mv_buf *b, const char *fmt, va_list ap)
{
	va_list ap2;
	int n;

	if (b->err != MV_OK)
		return b->err;
	va_copy(ap2, ap);
	n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0) {
		b->err = MV_EINVAL;
		return b->err;
	}
	if (reserve(b, (size_t)n) != MV_OK)
		return b->err;
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return MV_OK;
}

enum mv_status mv_buf_printf(struct mv_buf *b, const char *fmt, ...)
{
	enum mv_status st;
	va_list ap;

	va_start(ap, fmt);
	st = mv_buf_vprintf(b, fmt, ap);
	va_end(ap);
	return st;
}

char *mv_buf_steal(struct mv_buf *b, size_t *lenp)
{
	char *s = NULL;

	if (b->err == MV_OK && reserve(b, 0) == MV_OK) {
		s = b->data;
		s[b->len] = '\0';
		if (lenp)
			*lenp = b->len;
		mv_buf_init(b);
		return s;
	}
	mv_buf_free(b);
	return NULL;
}
