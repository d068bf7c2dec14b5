/* lib/util/json.c — JSON string output that is valid for any input bytes. */
#include <string.h>

#include <mailvet/util.h>

/*
 * Length of the valid UTF-8 sequence at s[0..n), or 0 if it is not one
 * (overlong forms, surrogates and code points past U+10FFFF are invalid).
 */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	unsigned c = s[0];
	size_t len, i;
	unsigned long cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		cp = c & 0x07;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

enum mv_status mv_json_string(struct mv_buf *b, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, len;

	mv_buf_putc(b, '"');
	while (i < n) {
		unsigned char c = p[i];
		size_t j = i;
		while (j < n && p[j] >= 0x20 && p[j] < 0x7f && p[j] != '"' && p[j] != '\\')
			j++;
		if (j > i) {
			mv_buf_append(b, p + i, j - i);
			i = j;
			continue;
		}
		if (c == '"' || c == '\\') {
			mv_buf_putc(b, '\\');
			mv_buf_putc(b, (char)c);
			i++;
		} else if (c < 0x20 || c == 0x7f) {
			switch (c) {
			case '\n':
				mv_buf_puts(b, "\\n");
				break;
			case '\r':
				mv_buf_puts(b, "\\r");
				break;
			case '\t':
				mv_buf_puts(b, "\\t");
				break;
			default:
				mv_buf_printf(b, "\\u%04x", c);
			}
			i++;
		} else if ((len = utf8_len(p + i, n - i)) > 0) {
			mv_buf_append(b, p + i, len);
			i += len;
		} else {
			mv_buf_puts(b, "\\ufffd");
			i++;
		}
	}
	return mv_buf_putc(b, '"');
}

enum mv_status mv_json_cstr(struct mv_buf *b, const char *s)
{
	if (!s)
		return mv_buf_puts(b, "null");
	return mv_json_string(b, s, strlen(s));
}
