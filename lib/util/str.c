/* lib/util/str.c — small bounded string helpers. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mailvet/util.h>

char *mv_strndup(const char *s, size_t n)
{
	char *p = malloc(n + 1);

	if (!p)
		return NULL;
	if (n)
		memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

void mv_errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

void mv_ascii_lower(char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		s[i] = mv_ascii_tolower(s[i]);
}

int mv_ascii_ieq(const char *a, size_t alen, const char *b)
{
	size_t i;

	for (i = 0; i < alen; i++)
		if (b[i] == '\0' || mv_ascii_tolower(a[i]) != mv_ascii_tolower(b[i]))
			return 0;
	return b[alen] == '\0';
}

int mv_ascii_ieq_mem(const char *a, size_t alen, const char *b, size_t blen)
{
	size_t i;

	if (alen != blen)
		return 0;
	for (i = 0; i < alen; i++)
		if (mv_ascii_tolower(a[i]) != mv_ascii_tolower(b[i]))
			return 0;
	return 1;
}
