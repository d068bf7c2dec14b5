/* lib/arc/aar.c — the ARC-Authentication-Results a sealer writes (RFC 8617 §4.1.1, §5.1). */
#include <stdlib.h>
#include <string.h>

#include "arc/arc_int.h"

#define MAX_PIECES 256 /* results taken from one field */

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/*
 * Split v[0..n) at the ';' that stand outside comments and quoted strings
 * (RFC 8601 §2.2 CFWS); cut[] gets the offset of each. Returns the count,
 * or -1 when the value has an unterminated comment or string, nests
 * comments deeper than MV_AUTHRES_MAX_DEPTH or has too many parts.
 */
static int split(const char *v, size_t n, size_t *cut)
{
	int depth = 0, quoted = 0, nc = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		char c = v[i];
		if ((quoted || depth > 0) && c == '\\') {
			i++;
			continue;
		}
		if (quoted) {
			quoted = c != '"';
		} else if (c == '(') {
			if (++depth > MV_AUTHRES_MAX_DEPTH)
				return -1;
		} else if (c == ')' && depth > 0) {
			depth--;
		} else if (depth == 0 && c == '"') {
			quoted = 1;
		} else if (depth == 0 && c == ';') {
			if (nc == MAX_PIECES)
				return -1;
			cut[nc++] = i;
		}
	}
	return quoted || depth ? -1 : nc;
}

/* Append the results of one of our fields (unfolded value v[0..n)); *first tracks separators. */
static void append_results(const char *v, size_t n, struct mv_buf *out, int *first)
{
	size_t cut[MAX_PIECES], k, s, e;
	int nc = split(v, n, cut);

	for (k = 0; nc > 0 && k < (size_t)nc; k++) {
		s = cut[k] + 1;
		e = k + 1 < (size_t)nc ? cut[k + 1] : n;
		while (s < e && is_space(v[s]))
			s++;
		while (e > s && is_space(v[e - 1]))
			e--;
		if (e == s || mv_ascii_ieq(v + s, e - s, "none"))
			continue;
		if (!*first)
			mv_buf_puts(out, ";\r\n ");
		mv_buf_append(out, v + s, e - s);
		*first = 0;
	}
}

enum mv_status mv_arc_aar_payload(const struct mv_msg *m, const char *serv_id, struct mv_buf *out)
{
	size_t idx, nf = mv_msg_field_count(m);
	enum mv_status st = MV_OK;
	int first = 1;

	mv_buf_puts(out, serv_id);
	mv_buf_puts(out, "; ");
	for (idx = 0; idx < nf; idx++) {
		const struct mv_msg_field *f = mv_msg_field(m, idx);
		char *id = NULL;
		unsigned version;
		if (!mv_ascii_ieq(f->name, f->name_len, "Authentication-Results"))
			continue;
		if ((st = mv_authres_peek(f->unfolded, f->unfolded_len, &id, &version)) != MV_OK)
			break;
		if (id != NULL && mv_ascii_ieq(id, strlen(id), serv_id))
			append_results(f->unfolded, f->unfolded_len, out, &first);
		free(id);
	}
	if (first)
		mv_buf_puts(out, "none");
	return st != MV_OK ? st : mv_buf_status(out);
}
