/* fuzz/fuzz_msg_parse.c — mv_msg_parse on arbitrary bytes; checks the field invariants. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <mailvet/msg.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mv_msg_limits lim;
	struct mv_msg *m = NULL;
	char err[128];
	size_t i, n, total = 0, off = 0, blen = 0;
	const char *body = NULL;

	mv_msg_limits_default(&lim);
	lim.max_line = 4096; /* small limits so the fuzzer reaches them */
	lim.max_fields = 64;
	if (mv_msg_parse((const char *)data, size, &lim, &m, err, sizeof(err)) != MV_OK)
		return 0;
	n = mv_msg_field_count(m);
	for (i = 0; i < n; i++) {
		const struct mv_msg_field *f = mv_msg_field(m, i);
		/* the raw fields tile the header, byte-exact */
		if (total + f->raw_len > size || memcmp(f->raw, data + total, f->raw_len) != 0)
			abort();
		if (f->unfolded_len > f->value_len || strlen(f->name) != f->name_len)
			abort();
		if (mv_msg_find(m, f->name, 0) > i)
			abort();
		total += f->raw_len;
	}
	mv_msg_body(m, &body, &blen, &off);
	if (off < total || off + blen != size)
		abort();
	mv_msg_free(m);
	return 0;
}
