/*
 * tests/msg/canon_tool.c — a filter for canon_dkimpy.py: reads messages
 * (4-byte big-endian length + bytes) on stdin and writes, for each, the
 * simple and relaxed canonical forms of all header fields and of the body
 * (each as 4-byte length + bytes). The body goes in 7-byte chunks.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <mailvet/msg.h>

static void sink(void *arg, const void *p, size_t n)
{
	mv_buf_append(arg, p, n);
}

static int put_record(const struct mv_buf *b)
{
	unsigned char h[4] = {(unsigned char)(b->len >> 24), (unsigned char)(b->len >> 16),
	                      (unsigned char)(b->len >> 8), (unsigned char)b->len};

	return fwrite(h, 1, 4, stdout) == 4 &&
	       fwrite(b->data ? b->data : "", 1, b->len, stdout) == b->len;
}

static int canon_body(enum mv_canon c, const char *body, size_t len, struct mv_buf *out)
{
	struct mv_canon_body *cb = NULL;
	size_t i;

	if (mv_canon_body_new(c, -1, sink, out, &cb) != MV_OK)
		return 0;
	for (i = 0; i < len; i += 7)
		mv_canon_body_update(cb, body + i, len - i < 7 ? len - i : 7);
	mv_canon_body_final(cb);
	mv_canon_body_free(cb);
	return 1;
}

static int one_message(const char *data, size_t len)
{
	struct mv_buf out[4] = {MV_BUF_INIT, MV_BUF_INIT, MV_BUF_INIT, MV_BUF_INIT};
	struct mv_msg *m = NULL;
	const char *body;
	size_t i, blen, off;
	int ok = 0;
	char err[128];

	if (mv_msg_parse(data, len, NULL, &m, err, sizeof(err)) != MV_OK) {
		fprintf(stderr, "canon_tool: %s\n", err);
		return 0;
	}
	for (i = 0; i < mv_msg_field_count(m); i++) {
		const struct mv_msg_field *f = mv_msg_field(m, i);
		mv_canon_header(MV_CANON_SIMPLE, f->raw, f->raw_len, &out[0]);
		mv_canon_header(MV_CANON_RELAXED, f->raw, f->raw_len, &out[1]);
	}
	mv_msg_body(m, &body, &blen, &off);
	if (canon_body(MV_CANON_SIMPLE, body, blen, &out[2]) &&
	    canon_body(MV_CANON_RELAXED, body, blen, &out[3]))
		ok = put_record(&out[0]) && put_record(&out[1]) && put_record(&out[2]) &&
		     put_record(&out[3]);
	for (i = 0; i < 4; i++)
		mv_buf_free(&out[i]);
	mv_msg_free(m);
	return ok;
}

int main(void)
{
	unsigned char h[4];
	char *data;
	size_t len;

	while (fread(h, 1, 4, stdin) == 4) {
		len = (size_t)h[0] << 24 | (size_t)h[1] << 16 | (size_t)h[2] << 8 | h[3];
		if ((data = malloc(len + 1)) == NULL || fread(data, 1, len, stdin) != len)
			return 1;
		if (!one_message(data, len))
			return 1;
		free(data);
	}
	return fflush(stdout) == 0 ? 0 : 1;
}
