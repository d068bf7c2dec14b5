/* lib/dns/zone_entry.c — split zone-file text into entries (RFC 1035 §5.1: parentheses join lines). */
#include <string.h>

#include <mailvet/util.h>

#include "dns/zone.h"

void mv_dns_zone_reader_init(struct mv_dns_zone_reader *rd, const char *text, size_t len)
{
	rd->p = text;
	rd->end = text + len;
	rd->line = 1;
	rd->depth = 0;
}

/*
 * Copy one physical line [p, eol) into out: comments dropped, '(' and ')'
 * turned into blanks (and counted in rd->depth), quoted strings and
 * backslash escapes copied as they are. A quoted string ends on its line.
 */
static int copy_line(struct mv_dns_zone_reader *rd, const char *p, const char *eol,
                     struct mv_buf *out, const char **why)
{
	int quoted = 0;

	for (; p < eol; p++) {
		char ch = *p;

		if (ch == '\\') {
			mv_buf_putc(out, ch);
			if (p + 1 < eol)
				mv_buf_putc(out, *++p);
			continue;
		}
		if (quoted) {
			quoted = ch != '"';
		} else if (ch == '"') {
			quoted = 1;
		} else if (ch == ';') {
			break;
		} else if (ch == '(' || ch == ')') {
			if (ch == ')' && rd->depth == 0) {
				*why = "')' without '('";
				return -1;
			}
			rd->depth += ch == '(' ? 1 : -1;
			ch = ' ';
		}
		mv_buf_putc(out, ch);
	}
	if (quoted) {
		*why = "unterminated TXT string";
		return -1;
	}
	return 0;
}

int mv_dns_zone_entry(struct mv_dns_zone_reader *rd, struct mv_buf *out, size_t *start,
                      const char **why, enum mv_status *st)
{
	const char *eol;
	size_t first = rd->line;

	mv_buf_reset(out);
	*start = first;
	*st = MV_ESYNTAX;
	if (rd->p >= rd->end)
		return 0;
	do {
		if (rd->p >= rd->end) {
			*start = first;
			*why = "'(' not closed before the end of the zone";
			return -1;
		}
		eol = memchr(rd->p, '\n', (size_t)(rd->end - rd->p));
		if (!eol)
			eol = rd->end;
		*start = rd->line; /* errors of one line name that line */
		if ((size_t)(eol - rd->p) > MV_DNS_ZONE_LINE_MAX) {
			*why = "line longer than 65536 bytes";
			*st = MV_ETOOBIG;
			return -1;
		}
		if (memchr(rd->p, '\0', (size_t)(eol - rd->p))) {
			*why = "NUL byte (write \\000)";
			return -1;
		}
		if (out->len)
			mv_buf_putc(out, ' '); /* a line break inside parentheses is a blank */
		if (copy_line(rd, rd->p, eol, out, why) < 0)
			return -1;
		if (out->len > MV_DNS_ZONE_LINE_MAX) {
			*why = "record longer than 65536 bytes";
			*st = MV_ETOOBIG;
			return -1;
		}
		rd->p = eol < rd->end ? eol + 1 : eol;
		if (rd->depth)
			rd->line++; /* the entry goes on: errors name the line it started on */
	} while (rd->depth);
	*start = first;
	rd->line++;
	if (mv_buf_status(out) != MV_OK) {
		*why = "out of memory";
		*st = MV_ENOMEM;
		return -1;
	}
	return 1;
}
