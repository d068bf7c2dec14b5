/* daemon/proxy/rewrite.c — the capability rewriter: what IMAP and POP3 share, and its entry points. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "proxy.h"

struct proxy_rw *mvd_proxy_rw_new(enum mvd_proxy_proto proto, const char *authserv_id,
                                  int offer_tls, int tls_active)
{
	struct proxy_rw *rw;

	if (strlen(authserv_id) > PROXY_ID_MAX || !(rw = calloc(1, sizeof *rw)))
		return NULL;
	rw->proto = proto;
	memcpy(rw->id, authserv_id, strlen(authserv_id) + 1);
	rw->offer_tls = offer_tls;
	rw->tls_active = tls_active;
	return rw;
}

void mvd_proxy_rw_free(struct proxy_rw *rw)
{
	if (rw)
		free(rw->held);
	free(rw);
}

size_t mvd_proxy_rw_server(struct proxy_rw *rw, const unsigned char *in, size_t len,
                           proxy_emit_fn *emit, void *arg)
{
	struct proxy_out o = {emit, arg};

	if (rw->starttls_due)
		return 0; /* nothing more until TLS is up */
	if (rw->relay) {
		if (len)
			emit(arg, in, len);
		return len;
	}
	return rw->proto == MVD_PROXY_IMAP ? proxy_imap_server(rw, in, len, &o)
	                                   : proxy_pop3_server(rw, in, len, &o);
}

size_t mvd_proxy_rw_client(struct proxy_rw *rw, const unsigned char *in, size_t len,
                           proxy_emit_fn *emit, void *arg)
{
	struct proxy_out o = {emit, arg};

	if (rw->discard)
		return len; /* RFC 3207 §4.2 logic: nothing sent before TLS may count after it */
	if (rw->relay) {
		if (len)
			emit(arg, in, len);
		return len;
	}
	return rw->proto == MVD_PROXY_IMAP ? proxy_imap_client(rw, in, len, &o)
	                                   : proxy_pop3_client(rw, in, len, &o);
}

uint64_t mvd_proxy_rw_verbatim(const struct proxy_rw *rw, int server)
{
	const struct proxy_dir *d = server ? &rw->s2c : &rw->c2s;

	if (server ? rw->starttls_due : rw->discard)
		return 0;
	if (rw->relay)
		return UINT64_MAX;
	return rw->proto == MVD_PROXY_IMAP ? d->literal : 0;
}

void mvd_proxy_rw_skip(struct proxy_rw *rw, int server, uint64_t n)
{
	struct proxy_dir *d = server ? &rw->s2c : &rw->c2s;

	if (!rw->relay)
		d->literal -= n < d->literal ? n : d->literal;
}

int mvd_proxy_rw_starttls_due(const struct proxy_rw *rw)
{
	return rw->starttls_due;
}

void mvd_proxy_rw_tls_started(struct proxy_rw *rw)
{
	rw->starttls_due = 0;
	rw->discard = 0;
	rw->tls_active = 1;
	rw->c2s.line.len = 0;
	rw->c2s.line.streaming = 0;
	rw->c2s.literal = 0;
	rw->c2s.in_command = 0;
}

/*
 * Gather bytes into l up to and including the next LF. Returns 1 when the
 * line is complete, 0 when more is needed, -1 when the line passed
 * PROXY_LINE_MAX (l->buf is full; the caller streams the rest). *used is
 * what was taken from in.
 */
int proxy_take_line(struct proxy_line *l, const unsigned char *in, size_t len, size_t *used)
{
	const unsigned char *nl = memchr(in, '\n', len);
	size_t want = nl ? (size_t)(nl - in) + 1 : len, room = PROXY_LINE_MAX - l->len;

	if (want > room) {
		memcpy(l->buf + l->len, in, room);
		l->len += room;
		*used = room;
		return -1;
	}
	memcpy(l->buf + l->len, in, want);
	l->len += want;
	*used = want;
	return nl ? 1 : 0;
}

/* Keep the last bytes of a streamed line: enough to see "{n+}\r\n" at its end. */
void proxy_tail_keep(struct proxy_line *l, const unsigned char *p, size_t n)
{
	size_t cap = sizeof l->tail;

	if (n >= cap) {
		memcpy(l->tail, p + n - cap, cap);
		l->tail_len = cap;
		return;
	}
	if (l->tail_len + n > cap) {
		size_t drop = l->tail_len + n - cap;
		memmove(l->tail, l->tail + drop, l->tail_len - drop);
		l->tail_len -= drop;
	}
	memcpy(l->tail + l->tail_len, p, n);
	l->tail_len += n;
}

/* 1 when the n bytes at p are word, ignoring ASCII case. */
int proxy_word_is(const unsigned char *p, size_t n, const char *word)
{
	return n == strlen(word) && strncasecmp((const char *)p, word, n) == 0;
}

/* The length of the line ending of a line of n bytes: 2 (CRLF), 1 (LF) or 0. */
size_t proxy_eol_len(const unsigned char *p, size_t n)
{
	if (n && p[n - 1] == '\n')
		return n >= 2 && p[n - 2] == '\r' ? 2 : 1;
	return 0;
}

void proxy_emit_str(const struct proxy_out *o, const char *s)
{
	o->emit(o->arg, s, strlen(s));
}
