/* lib/dkim/canon.c — the c= tag (RFC 6376 §3.5), shared by DKIM, ARC and the CLI. */
#include <string.h>

#include <mailvet/dkim.h>

/* One canonicalization name; 1 when it is one. */
static int canon_word(const char *p, size_t n, enum mv_canon *c)
{
	if (n == 6 && memcmp(p, "simple", 6) == 0)
		*c = MV_CANON_SIMPLE;
	else if (n == 7 && memcmp(p, "relaxed", 7) == 0)
		*c = MV_CANON_RELAXED;
	else
		return 0;
	return 1;
}

enum mv_status mv_dkim_canon_parse(const char *v, size_t n, enum mv_canon *h, enum mv_canon *b)
{
	const char *slash = memchr(v, '/', n);
	size_t hl = slash ? (size_t)(slash - v) : n;
	enum mv_canon hc, bc = MV_CANON_SIMPLE;

	if (!canon_word(v, hl, &hc) || (slash && !canon_word(slash + 1, n - hl - 1, &bc)))
		return MV_EUNSUPPORTED;
	*h = hc;
	*b = bc;
	return MV_OK;
}
