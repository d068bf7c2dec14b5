/* fuzz/fuzz_canon_body.c — body canonicalization: any split of the input gives the same bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <mailvet/msg.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void sink(void *arg, const void *p, size_t n)
{
	mv_buf_append(arg, p, n);
}

/* Canonicalize data cut at `cut` (and, when step > 0, into step-byte pieces after it). */
static uint64_t run(enum mv_canon c, int64_t limit, const uint8_t *data, size_t size, size_t cut,
                    size_t step, struct mv_buf *out)
{
	struct mv_canon_body *cb = NULL;
	uint64_t len;
	size_t i;

	if (mv_canon_body_new(c, limit, sink, out, &cb) != MV_OK)
		abort();
	mv_canon_body_update(cb, data, cut);
	for (i = cut; i < size; i += step ? step : size - i) {
		size_t n = step && step < size - i ? step : size - i;
		mv_canon_body_update(cb, data + i, n);
	}
	mv_canon_body_final(cb);
	len = mv_canon_body_length(cb);
	mv_canon_body_free(cb);
	return len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mv_buf one = MV_BUF_INIT, split = MV_BUF_INIT;
	enum mv_canon c;
	size_t cut, step;
	int64_t limit;
	uint64_t l1, l2;

	if (size < 3)
		return 0;
	/* the first three bytes choose the mode, the split point, the piece size */
	c = (data[0] & 1) ? MV_CANON_RELAXED : MV_CANON_SIMPLE;
	limit = (data[0] & 2) ? (int64_t)(data[0] >> 2) : -1;
	cut = data[1];
	step = data[2] & 7;
	data += 3;
	size -= 3;
	if (cut > size)
		cut = size;
	l1 = run(c, limit, data, size, size, 0, &one);
	l2 = run(c, limit, data, size, cut, step, &split);
	if (l1 != l2 || one.len != split.len || (one.len && memcmp(one.data, split.data, one.len)))
		abort();
	if (limit >= 0 ? one.len > (uint64_t)limit : one.len != l1)
		abort();
	mv_buf_free(&one);
	mv_buf_free(&split);
	return 0;
}
