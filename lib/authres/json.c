/* lib/authres/json.c — a parsed field or one result as JSON (the shape `mailvet parse --json` prints). */
#include <mailvet/authres.h>

static void version(struct mv_buf *b, unsigned v)
{
	if (v)
		mv_buf_printf(b, "%u", v);
	else
		mv_buf_puts(b, "null");
}

enum mv_status mv_result_json(const struct mv_result *r, struct mv_buf *out)
{
	size_t i;

	mv_buf_puts(out, "{\"method\": ");
	mv_json_cstr(out, r->method);
	mv_buf_puts(out, ", \"version\": ");
	version(out, r->version);
	mv_buf_puts(out, ", \"result\": ");
	mv_json_cstr(out, r->result);
	mv_buf_puts(out, ", \"reason\": ");
	mv_json_cstr(out, r->reason);
	mv_buf_puts(out, ", \"props\": [");
	for (i = 0; i < r->nprops; i++) {
		mv_buf_puts(out, i ? ", {\"ptype\": " : "{\"ptype\": ");
		mv_json_cstr(out, r->props[i].ptype);
		mv_buf_puts(out, ", \"property\": ");
		mv_json_cstr(out, r->props[i].property);
		mv_buf_puts(out, ", \"value\": ");
		mv_json_cstr(out, r->props[i].value);
		mv_buf_putc(out, '}');
	}
	return mv_buf_puts(out, "]}");
}

enum mv_status mv_authres_json(const struct mv_authres *ar, struct mv_buf *out)
{
	size_t i;

	mv_buf_puts(out, "{\"authserv_id\": ");
	mv_json_cstr(out, ar->serv_id);
	mv_buf_puts(out, ", \"version\": ");
	version(out, ar->version);
	mv_buf_puts(out, ", \"results\": [");
	for (i = 0; i < ar->results.count; i++) {
		if (i)
			mv_buf_puts(out, ", ");
		mv_result_json(ar->results.item[i], out);
	}
	return mv_buf_puts(out, "]}");
}
