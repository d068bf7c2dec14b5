/* fuzz/fuzz_authres_parse.c — parse any field value; what parses must survive format + re-parse. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mailvet/authres.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * The first byte picks the flags (comments, lenient), the rest is the value.
 * A field that parses is formatted, the value re-parsed with the same flags
 * and compared: any difference, or a formatter refusal, is a bug (abort).
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mv_authres *ar = NULL, *again = NULL;
	struct mv_buf b = MV_BUF_INIT;
	unsigned flags;
	char err[128];
	const char *v;

	if (size < 1)
		return 0;
	flags = data[0] & (MV_AUTHRES_COMMENTS | MV_AUTHRES_LENIENT);
	v = (const char *)data + 1;
	if (mv_authres_parse(v, size - 1, flags, &ar, err, sizeof err) != MV_OK)
		return 0;
	mv_json_cstr(&b, ar->serv_id); /* touch every string */
	mv_authres_json(ar, &b);
	mv_buf_reset(&b);
	if (ar->serv_id) {
		if (mv_authres_format_value(ar, &b) != MV_OK)
			abort();
		if (mv_authres_parse(b.data, b.len, flags & MV_AUTHRES_COMMENTS, &again, err,
		                     sizeof err) != MV_OK) {
			fprintf(stderr, "re-parse of \"%s\" failed: %s\n", b.data, err);
			abort();
		}
		if (!mv_authres_equal(ar, again)) {
			fprintf(stderr, "\"%s\" re-parses to another field\n", b.data);
			abort();
		}
	}
	mv_authres_free(again);
	mv_authres_free(ar);
	mv_buf_free(&b);
	return 0;
}
