/* fuzz/fuzz_capability.c — the IMAP/POP3 capability rewriter (daemon/proxy/rewrite*.c) on any conversation. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proxy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct sink {
	unsigned char *p;
	size_t len, cap;
};

static void emit(void *arg, const void *p, size_t n)
{
	struct sink *s = arg;

	if (s->len + n > s->cap) {
		s->cap = (s->len + n) * 2 + 64;
		if (!(s->p = realloc(s->p, s->cap)))
			abort();
	}
	if (n)
		memcpy(s->p + s->len, p, n);
	s->len += n;
}

/*
 * Feed one piece in steps of step bytes (0: whole), starting TLS whenever
 * it is due. With steps, bytes the rewriter calls verbatim are moved past
 * it as the session does (mvd_proxy_rw_skip), so both ways are compared.
 */
static void feed(struct proxy_rw *rw, int server, const uint8_t *p, size_t n, size_t step,
                 struct sink *out)
{
	while (n) {
		size_t want = step && step < n ? step : n, used;
		uint64_t pass = step ? mvd_proxy_rw_verbatim(rw, server) : 0;
		if (pass) {
			used = pass < n ? (size_t)pass : n;
			emit(&out[server], p, used);
			mvd_proxy_rw_skip(rw, server, used);
			p += used;
			n -= used;
			continue;
		}
		used = server ? mvd_proxy_rw_server(rw, p, want, emit, &out[1])
		              : mvd_proxy_rw_client(rw, p, want, emit, &out[0]);
		if (used > want)
			abort();
		if (mvd_proxy_rw_starttls_due(rw))
			mvd_proxy_rw_tls_started(rw);
		else if (used < want)
			abort(); /* only STARTTLS may leave bytes unread */
		p += used;
		n -= used;
	}
}

/*
 * Byte 0: protocol and listener flags. Then records: a byte (top bit: from
 * the server; low bits: length) and that many bytes. The conversation is
 * run whole and again one byte at a time: what comes out must not depend
 * on how TCP cut it.
 */
static void run(const uint8_t *data, size_t size, size_t step, struct sink *out)
{
	struct proxy_rw *rw =
	        mvd_proxy_rw_new(data[0] & 1 ? MVD_PROXY_POP3 : MVD_PROXY_IMAP, "mx.example.org",
	                         (data[0] >> 1) & 1, (data[0] >> 2) & 1);
	size_t i = 1;

	if (!rw)
		abort();
	while (i < size) {
		size_t n = data[i] & 0x7f;
		int server = data[i] >> 7;
		i++;
		if (n > size - i)
			n = size - i;
		feed(rw, server, data + i, n, step, out);
		i += n;
	}
	mvd_proxy_rw_free(rw);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sink whole[2] = {{0}}, bytes[2] = {{0}};

	if (size < 1)
		return 0;
	run(data, size, 0, whole);
	run(data, size, 1, bytes);
	for (int d = 0; d < 2; d++) {
		if (whole[d].len != bytes[d].len ||
		    (whole[d].len && memcmp(whole[d].p, bytes[d].p, whole[d].len) != 0))
			abort();
		free(whole[d].p);
		free(bytes[d].p);
	}
	return 0;
}
