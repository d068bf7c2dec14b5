/* lib/msg/canon_header.c — DKIM header field canonicalization (RFC 6376 §3.4.1, §3.4.2). */
#include <string.h>

#include <mailvet/msg.h>

/*
 * simple: the field unchanged, except that line breaks are written as CRLF
 * (a bare LF, from a message stored with Unix line ends, was a CRLF on the
 * wire) and a field without a final line break gets one.
 */
static void canon_simple(const char *raw, size_t len, struct mv_buf *out)
{
	size_t i = 0;

	while (i < len) {
		const char *lf = memchr(raw + i, '\n', len - i);
		size_t end = lf ? (size_t)(lf - raw) : len;

		if (lf && (end == i || raw[end - 1] != '\r')) {
			mv_buf_append(out, raw + i, end - i);
			mv_buf_append(out, "\r\n", 2);
		} else {
			mv_buf_append(out, raw + i, (lf ? end + 1 : len) - i);
		}
		i = end + 1;
	}
	if (len == 0 || raw[len - 1] != '\n')
		mv_buf_append(out, "\r\n", 2);
}

/*
 * relaxed: name lowercased, WSP before the colon dropped; value unfolded
 * (every CRLF or bare LF removed), WSP runs reduced to one SP, WSP at its
 * start and end removed; then ":" and CRLF.
 */
static void canon_relaxed(const char *raw, size_t len, size_t colon, struct mv_buf *out)
{
	size_t name_end = colon, i, start;
	int wsp = 0, any = 0;

	while (name_end > 0 && mv_ascii_is_wsp(raw[name_end - 1]))
		name_end--;
	start = out->len;
	mv_buf_append(out, raw, name_end);
	if (mv_buf_status(out) == MV_OK)
		mv_ascii_lower(out->data + start, name_end);
	mv_buf_putc(out, ':');
	for (i = colon + 1; i < len;) {
		size_t run = i;
		while (run < len && !mv_ascii_is_wsp(raw[run]) && raw[run] != '\r' &&
		       raw[run] != '\n')
			run++;
		if (run > i) {
			if (wsp && any)
				mv_buf_putc(out, ' ');
			mv_buf_append(out, raw + i, run - i);
			wsp = 0;
			any = 1;
			i = run;
			continue;
		}
		if (raw[i] == '\n' || (raw[i] == '\r' && i + 1 < len && raw[i + 1] == '\n')) {
			i += raw[i] == '\r' ? 2 : 1; /* unfold */
			continue;
		}
		if (raw[i] == '\r') { /* a lone CR is an ordinary byte */
			if (wsp && any)
				mv_buf_putc(out, ' ');
			mv_buf_putc(out, '\r');
			wsp = 0;
			any = 1;
			i++;
			continue;
		}
		wsp = 1;
		i++;
	}
	mv_buf_append(out, "\r\n", 2);
}

enum mv_status mv_canon_header(enum mv_canon c, const char *raw, size_t len, struct mv_buf *out)
{
	const char *colon;

	if (!out || (!raw && len))
		return MV_EINVAL;
	colon = len ? memchr(raw, ':', len) : NULL;
	if (!colon)
		return MV_ESYNTAX;
	if (c == MV_CANON_SIMPLE)
		canon_simple(raw, len, out);
	else if (c == MV_CANON_RELAXED)
		canon_relaxed(raw, len, (size_t)(colon - raw), out);
	else
		return MV_EINVAL;
	return mv_buf_status(out);
}
