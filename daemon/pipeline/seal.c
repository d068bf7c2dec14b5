/* daemon/seal.c — the header of an outbound message as it leaves, for ARC sealing. */
#include <stdlib.h>
#include <string.h>

#include <mailvet/authres.h>

#include "sign.h"

/* Add the fields of text ("Name: value\r\n" each, folded with CRLF + WSP) to m. */
static enum mv_status add_text_fields(struct mv_msg *m, const char *text, size_t len)
{
	const char *p = text, *end = text + len;
	enum mv_status st = MV_OK;

	while (st == MV_OK && p < end) {
		const char *e = p, *colon;
		while ((e = memchr(e, '\n', (size_t)(end - e))) && e + 1 < end &&
		       (e[1] == ' ' || e[1] == '\t'))
			e++;
		if (!e)
			e = end;
		if (!(colon = memchr(p, ':', (size_t)(e - p))))
			return MV_ESYNTAX;
		size_t vlen = (size_t)(e - colon - 1);
		if (vlen && colon[vlen] == '\r') /* the CR of the final CRLF */
			vlen--;
		st = mv_msg_add_field(m, p, (size_t)(colon - p), colon + 1, vlen);
		p = e < end ? e + 1 : end;
	}
	return st;
}

enum mv_status mvd_seal_header(const char *top, size_t toplen, const struct mv_msg *hdr,
                               const unsigned *del, size_t ndel, struct mv_msg **out)
{
	struct mv_msg *m = NULL;
	enum mv_status st;
	unsigned ar = 0;

	*out = NULL;
	if ((st = mv_msg_new(NULL, &m)) != MV_OK)
		return st;
	if (top && toplen)
		st = add_text_fields(m, top, toplen);
	for (size_t i = 0; st == MV_OK && i < mv_msg_field_count(hdr); i++) {
		const struct mv_msg_field *f = mv_msg_field(hdr, i);
		int skip = 0;
		if (mv_ascii_ieq(f->name, f->name_len, "Authentication-Results")) {
			ar++;
			for (size_t k = 0; k < ndel; k++)
				skip |= del[k] == ar;
		}
		if (!skip)
			st = mv_msg_add_field(m, f->name, f->name_len, f->value, f->value_len);
	}
	if (st != MV_OK) {
		mv_msg_free(m);
		return st;
	}
	*out = m;
	return MV_OK;
}

int mvd_has_own_results(const struct mv_msg *m, const char *serv_id)
{
	int found = 0;

	for (size_t i = mv_msg_find(m, "Authentication-Results", 0); !found && i != (size_t)-1;
	     i = mv_msg_find(m, "Authentication-Results", i + 1)) {
		const struct mv_msg_field *f = mv_msg_field(m, i);
		char *id = NULL;
		unsigned version;
		if (mv_authres_peek(f->unfolded, f->unfolded_len, &id, &version) == MV_OK && id)
			found = mv_ascii_ieq(id, strlen(id), serv_id);
		free(id);
	}
	return found;
}
