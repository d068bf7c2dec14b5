/* tests/proxy/rw_helpers.h — feed the capability rewriter and collect what it emits. */
#ifndef MV_TEST_PROXY_RW_HELPERS_H
#define MV_TEST_PROXY_RW_HELPERS_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proxy.h"

#define ID "authserv.example.com"

struct sink {
	char *p;
	size_t len, cap;
};

static void sink_emit(void *arg, const void *p, size_t n)
{
	struct sink *s = arg;

	if (s->len + n + 1 > s->cap) {
		s->cap = (s->len + n + 1) * 2;
		s->p = realloc(s->p, s->cap);
		assert_non_null(s->p);
	}
	memcpy(s->p + s->len, p, n);
	s->len += n;
	s->p[s->len] = '\0';
}

/* What the rewriter emits for text from the server (server != 0) or the client. */
static char *feed(struct proxy_rw *rw, int server, const char *text)
{
	static struct sink s;
	size_t n = strlen(text), used;

	s.len = 0;
	sink_emit(&s, "", 0);
	used = server ? mvd_proxy_rw_server(rw, (const unsigned char *)text, n, sink_emit, &s)
	              : mvd_proxy_rw_client(rw, (const unsigned char *)text, n, sink_emit, &s);
	assert_int_equal(used, n);
	return s.p;
}

/* The same, one byte at a time: a reply split across TCP segments. */
static char *feed_bytes(struct proxy_rw *rw, int server, const char *text)
{
	static struct sink s;

	s.len = 0;
	sink_emit(&s, "", 0);
	for (size_t i = 0; text[i]; i++) {
		size_t used = server ? mvd_proxy_rw_server(rw, (const unsigned char *)text + i, 1,
		                                           sink_emit, &s)
		                     : mvd_proxy_rw_client(rw, (const unsigned char *)text + i, 1,
		                                           sink_emit, &s);
		assert_int_equal(used, 1);
	}
	return s.p;
}

#define S(rw, in, out) assert_string_equal(feed(rw, 1, in), out)
#define C(rw, in, out) assert_string_equal(feed(rw, 0, in), out)
#define SAME_S(rw, in) S(rw, in, in)
#define SAME_C(rw, in) C(rw, in, in)

#endif
