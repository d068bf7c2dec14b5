/* daemon/proxy/rewrite_imap.c — IMAP (RFC 3501, RFC 9051): follow lines and literals both ways, rewrite capability data. */
#include <stdlib.h>
#include <string.h>

#include "proxy.h"

/* A literal's size above this is not followed: the session becomes a relay. */
#define LITERAL_MAX ((uint64_t)1 << 62)

/* How a line was handed over: held whole (may be rewritten), or already passed (its tail only). */
enum line_kind { LINE_HELD, LINE_PASSED };

typedef void line_fn(struct proxy_rw *rw, const unsigned char *p, size_t n, enum line_kind k,
                     const struct proxy_out *o);

/*
 * Does the line of n bytes (its ending included) end in a literal
 * announcement "{n}" or "{n+}" (RFC 7888)? 1 with *size and *sync set, 0
 * when not, -1 when the size is beyond what is followed.
 */
static int line_literal(const unsigned char *p, size_t n, uint64_t *size, int *sync)
{
	size_t e = n - proxy_eol_len(p, n), d;
	uint64_t v = 0;

	if (e == 0 || p[e - 1] != '}')
		return 0;
	e--;
	*sync = !(e > 0 && p[e - 1] == '+');
	if (!*sync)
		e--;
	for (d = e; d > 0 && p[d - 1] >= '0' && p[d - 1] <= '9'; d--)
		;
	if (d == e || d == 0 || p[d - 1] != '{')
		return 0;
	if (e - d > 19)
		return -1;
	for (size_t i = d; i < e; i++)
		v = v * 10 + (uint64_t)(p[i] - '0');
	if (v > LITERAL_MAX)
		return -1;
	*size = v;
	return 1;
}

/* Split off the first word (up to a space or the line's end); p and n advance past one space. */
static size_t word(const unsigned char **p, size_t *n, const unsigned char **w)
{
	size_t len = 0;

	*w = *p;
	while (len < *n && (*p)[len] != ' ' && (*p)[len] != '\r' && (*p)[len] != '\n')
		len++;
	*p += len;
	*n -= len;
	if (*n && **p == ' ')
		(*p)++, (*n)--;
	return len;
}

/* A capability the proxy sets itself, whatever the server said. */
static int ours(const unsigned char *t, size_t n)
{
	return proxy_word_is(t, n, "STARTTLS") || proxy_word_is(t, n, "AUTHSERV") ||
	       (n > 9 && proxy_word_is(t, 9, "AUTHSERV=")) ||
	       (n > 9 && proxy_word_is(t, 9, "COMPRESS="));
}

/*
 * Emit the capability list of n bytes at p (space separated), without the
 * ones the proxy decides, then STARTTLS when it is offered and AUTHSERV:
 * bare before authentication, "=id" after (draft §4).
 */
static void emit_caps(struct proxy_rw *rw, const unsigned char *p, size_t n,
                      const struct proxy_out *o)
{
	const char *sep = "";

	while (n) {
		const unsigned char *t = p;
		size_t len = 0;

		while (len < n && p[len] != ' ')
			len++;
		if (len && !ours(t, len)) {
			proxy_emit_str(o, sep);
			o->emit(o->arg, t, len);
			sep = " ";
		}
		p += len < n ? len + 1 : len;
		n -= len < n ? len + 1 : len;
	}
	if (rw->offer_tls && !rw->tls_active && !rw->authed) {
		proxy_emit_str(o, sep);
		proxy_emit_str(o, "STARTTLS");
		sep = " ";
	}
	proxy_emit_str(o, sep);
	proxy_emit_str(o, "AUTHSERV");
	if (rw->authed) {
		proxy_emit_str(o, "=");
		proxy_emit_str(o, rw->id);
	}
}

/*
 * The rest of a status response (p, n: after "OK "): rewrite a leading
 * [CAPABILITY ...] response code. 0 when there is none (nothing emitted).
 */
static int code_caps(struct proxy_rw *rw, const unsigned char *line, const unsigned char *p,
                     size_t n, const struct proxy_out *o)
{
	const unsigned char *close;
	size_t head = 11; /* "[CAPABILITY" */

	if (n < head + 1 || !proxy_word_is(p, head, "[CAPABILITY") ||
	    (p[head] != ' ' && p[head] != ']'))
		return 0;
	if (!(close = memchr(p + head, ']', n - head)))
		return 0;
	o->emit(o->arg, line, (size_t)(p - line) + head);
	proxy_emit_str(o, " ");
	emit_caps(rw, p + head, (size_t)(close - (p + head)), o);
	o->emit(o->arg, close, n - (size_t)(close - p));
	return 1;
}

static int tag_find(const struct proxy_rw *rw, const unsigned char *t, size_t n)
{
	for (size_t i = 0; i < rw->ntags; i++)
		if (strlen(rw->tags[i].tag) == n && memcmp(rw->tags[i].tag, t, n) == 0)
			return (int)i;
	return -1;
}

static int tag_is(const char *tag, const unsigned char *t, size_t n)
{
	return tag[0] && strlen(tag) == n && memcmp(tag, t, n) == 0;
}

/* The proxy's own reply to a command it answered itself; 1 when it replaced the line. */
static int own_reply(struct proxy_rw *rw, enum proxy_cmd cmd, const unsigned char *t, size_t tn,
                     const unsigned char *eol, size_t eoln, const struct proxy_out *o)
{
	const char *text = cmd == PROXY_CMD_STARTTLS ? " OK Begin TLS negotiation now"
	                   : cmd == PROXY_CMD_NO_TLS ? " BAD STARTTLS is not available now"
	                   : cmd == PROXY_CMD_NO_COMPRESS
	                           ? " NO COMPRESS is not available through this proxy"
	                           : NULL;

	if (!text)
		return 0;
	o->emit(o->arg, t, tn);
	proxy_emit_str(o, text);
	o->emit(o->arg, eol, eoln);
	if (cmd == PROXY_CMD_STARTTLS)
		rw->starttls_due = 1;
	return 1;
}

/* A tagged reply: what it completes. 1 when the line was replaced (emitted). */
static int tagged(struct proxy_rw *rw, const unsigned char *t, size_t tn, const unsigned char *st,
                  size_t sn, const unsigned char *line, size_t n, const struct proxy_out *o)
{
	int i = tag_find(rw, t, tn), ok = proxy_word_is(st, sn, "OK");
	enum proxy_cmd cmd;

	if (tag_is(rw->owner_tag, t, tn))
		rw->owner_tag[0] = '\0';
	if (tag_is(rw->sync_tag, t, tn)) {
		rw->sync_tag[0] = '\0';
		if (rw->c2s.literal) { /* refused before its literal came: the client won't send it */
			rw->c2s.literal = 0;
			rw->c2s.in_command = 0;
		}
	}
	if (i < 0)
		return 0;
	cmd = rw->tags[i].cmd;
	rw->tags[i] = rw->tags[--rw->ntags];
	if ((cmd == PROXY_CMD_LOGIN || cmd == PROXY_CMD_AUTH) && ok)
		rw->authed = 1;
	if (cmd == PROXY_CMD_UNAUTH && ok)
		rw->authed = 0;
	return line && own_reply(rw, cmd, t, tn, line + n - proxy_eol_len(line, n),
	                         proxy_eol_len(line, n), o);
}

/* "* CAPABILITY ..." (t and st its first two words, p the rest): rewritten. */
static void untagged_caps(struct proxy_rw *rw, const unsigned char *line, size_t n,
                          const unsigned char *st, size_t sn, const unsigned char *p, size_t left,
                          const struct proxy_out *o)
{
	size_t eol = proxy_eol_len(line, n);

	o->emit(o->arg, line, (size_t)(st - line) + sn);
	proxy_emit_str(o, " ");
	emit_caps(rw, p, left - eol, o);
	o->emit(o->arg, line + n - eol, eol);
}

static int login_pending(const struct proxy_rw *rw)
{
	for (size_t i = 0; i < rw->ntags; i++)
		if (rw->tags[i].cmd == PROXY_CMD_LOGIN || rw->tags[i].cmd == PROXY_CMD_AUTH)
			return 1;
	return 0;
}

/*
 * A server may answer LOGIN with "* CAPABILITY" (its post-login list)
 * before the tagged OK: that line waits for the OK, which decides which
 * AUTHSERV it gets. Held lines go out before anything after them.
 */
void proxy_imap_flush_held(struct proxy_rw *rw, const struct proxy_out *o)
{
	const unsigned char *p = rw->held, *t, *st;
	size_t left = rw->held_len, sn;

	if (!rw->held_len)
		return;
	word(&p, &left, &t);
	sn = word(&p, &left, &st);
	untagged_caps(rw, rw->held, rw->held_len, st, sn, p, left, o);
	rw->held_len = 0;
}

static int hold(struct proxy_rw *rw, const unsigned char *line, size_t n)
{
	if (rw->held_len || !login_pending(rw) ||
	    (!rw->held && !(rw->held = malloc(PROXY_LINE_MAX))))
		return 0;
	memcpy(rw->held, line, n);
	rw->held_len = n;
	return 1;
}

/* Before a held line goes out: does this line complete a login successfully? */
static void login_result(struct proxy_rw *rw, const unsigned char *t, size_t tn,
                         const unsigned char *st, size_t sn)
{
	int i = tag_find(rw, t, tn);

	if (i >= 0 && proxy_word_is(st, sn, "OK") &&
	    (rw->tags[i].cmd == PROXY_CMD_LOGIN || rw->tags[i].cmd == PROXY_CMD_AUTH))
		rw->authed = 1;
}

/* A server line held whole: rewrite its capability data, follow the commands it completes. */
static void server_held(struct proxy_rw *rw, const unsigned char *line, size_t n,
                        const struct proxy_out *o)
{
	const unsigned char *p = line, *t, *st;
	size_t left = n, tn = word(&p, &left, &t), sn = word(&p, &left, &st);
	int sync, status, star = tn == 1 && t[0] == '*', plus = tn == 1 && t[0] == '+';
	uint64_t lit;

	rw->s2c.greeted = 1;
	if (rw->held_len) {
		if (!star && !plus)
			login_result(rw, t, tn, st, sn);
		proxy_imap_flush_held(rw, o);
	}
	status = proxy_word_is(st, sn, "OK") || proxy_word_is(st, sn, "NO") ||
	         proxy_word_is(st, sn, "BAD") || proxy_word_is(st, sn, "PREAUTH") ||
	         proxy_word_is(st, sn, "BYE");
	if (star) {
		if (proxy_word_is(st, sn, "PREAUTH"))
			rw->authed = 1;
		if (proxy_word_is(st, sn, "CAPABILITY") &&
		    line_literal(line, n, &lit, &sync) == 0) {
			if (!hold(rw, line, n))
				untagged_caps(rw, line, n, st, sn, p, left, o);
			return;
		}
	} else if (!plus && tn && tagged(rw, t, tn, st, sn, line, n, o)) {
		return;
	}
	if (status && !plus && line_literal(line, n, &lit, &sync) == 0 &&
	    code_caps(rw, line, p, left, o))
		return;
	o->emit(o->arg, line, n);
}

static void server_line(struct proxy_rw *rw, const unsigned char *p, size_t n, enum line_kind k,
                        const struct proxy_out *o)
{
	uint64_t lit;
	int sync, r = line_literal(p, n, &lit, &sync);

	if (k == LINE_HELD)
		server_held(rw, p, n, o);
	if (r < 0)
		rw->relay = 1;
	else if (r > 0)
		rw->s2c.literal = lit;
}

/* The command a client line starts. Replaced by NOOP when the proxy answers it itself. */
static void client_command(struct proxy_rw *rw, const unsigned char *line, size_t n,
                           const struct proxy_out *o)
{
	const unsigned char *p = line, *t, *c;
	size_t left = n, tn = word(&p, &left, &t), cn = word(&p, &left, &c);
	enum proxy_cmd cmd = PROXY_CMD_OTHER;
	int noop = 0;

	if (tn == 0 || tn >= sizeof rw->cur_tag) {
		o->emit(o->arg, line, n);
		return;
	}
	memcpy(rw->cur_tag, t, tn);
	rw->cur_tag[tn] = '\0';
	if (proxy_word_is(c, cn, "STARTTLS")) {
		int can = rw->offer_tls && !rw->tls_active && !rw->authed;
		cmd = can ? PROXY_CMD_STARTTLS : PROXY_CMD_NO_TLS;
		noop = 1;
	} else if (proxy_word_is(c, cn, "COMPRESS")) {
		cmd = PROXY_CMD_NO_COMPRESS;
		noop = 1;
	} else if (proxy_word_is(c, cn, "LOGIN")) {
		cmd = PROXY_CMD_LOGIN;
	} else if (proxy_word_is(c, cn, "AUTHENTICATE")) {
		cmd = PROXY_CMD_AUTH;
	} else if (proxy_word_is(c, cn, "IDLE")) {
		cmd = PROXY_CMD_IDLE;
	} else if (proxy_word_is(c, cn, "UNAUTHENTICATE")) {
		cmd = PROXY_CMD_UNAUTH;
	}
	if (cmd != PROXY_CMD_OTHER) {
		if (rw->ntags == PROXY_TAGS_MAX) {
			rw->relay = 1; /* too many in flight to follow: relay from here */
			o->emit(o->arg, line, n);
			return;
		}
		memcpy(rw->tags[rw->ntags].tag, rw->cur_tag, tn + 1);
		rw->tags[rw->ntags++].cmd = cmd;
	}
	if (cmd == PROXY_CMD_AUTH || cmd == PROXY_CMD_IDLE)
		memcpy(rw->owner_tag, rw->cur_tag, tn + 1);
	if (!noop) {
		o->emit(o->arg, line, n);
		return;
	}
	o->emit(o->arg, t, tn);
	proxy_emit_str(o, " NOOP");
	o->emit(o->arg, line + n - proxy_eol_len(line, n), proxy_eol_len(line, n));
	if (cmd == PROXY_CMD_STARTTLS)
		rw->discard = 1;
}

static void client_line(struct proxy_rw *rw, const unsigned char *p, size_t n, enum line_kind k,
                        const struct proxy_out *o)
{
	uint64_t lit;
	int sync, r;

	if (rw->owner_tag[0]) { /* SASL responses, or DONE: data of the command in progress */
		if (k == LINE_HELD)
			o->emit(o->arg, p, n);
		return;
	}
	if (k == LINE_HELD && !rw->c2s.in_command)
		client_command(rw, p, n, o);
	else if (k == LINE_HELD)
		o->emit(o->arg, p, n);
	r = line_literal(p, n, &lit, &sync);
	if (r < 0) {
		rw->relay = 1;
	} else if (r > 0) {
		rw->c2s.literal = lit;
		rw->c2s.in_command = 1;
		if (sync)
			memcpy(rw->sync_tag, rw->cur_tag, sizeof rw->sync_tag);
	} else {
		rw->c2s.in_command = 0;
	}
}

/*
 * One direction: literals pass as they come, lines are held whole up to
 * PROXY_LINE_MAX (longer ones pass as they come, their end kept to see a
 * literal), and each line goes to fn.
 */
static size_t feed(struct proxy_rw *rw, struct proxy_dir *d, const unsigned char *in, size_t len,
                   line_fn *fn, const struct proxy_out *o)
{
	int *stop = d == &rw->c2s ? &rw->discard : &rw->starttls_due;
	size_t i = 0, used;
	int r;

	while (i < len && !rw->relay && !*stop) {
		struct proxy_line *l = &d->line;
		if (d->literal) {
			size_t n = len - i < d->literal ? len - i : (size_t)d->literal;
			o->emit(o->arg, in + i, n);
			d->literal -= n;
			i += n;
		} else if (l->streaming) {
			const unsigned char *nl = memchr(in + i, '\n', len - i);
			size_t n = nl ? (size_t)(nl - (in + i)) + 1 : len - i;
			o->emit(o->arg, in + i, n);
			proxy_tail_keep(l, in + i, n);
			i += n;
			if (nl) {
				l->streaming = 0;
				fn(rw, l->tail, l->tail_len, LINE_PASSED, o);
			}
		} else {
			r = proxy_take_line(l, in + i, len - i, &used);
			i += used;
			if (r == 0)
				continue; /* the line goes on in the next piece */
			if (r < 0) {      /* too long to hold: pass it, follow its end */
				proxy_imap_flush_held(rw, o);
				o->emit(o->arg, l->buf, l->len);
				l->tail_len = 0;
				proxy_tail_keep(l, l->buf, l->len);
				l->streaming = 1;
			} else {
				fn(rw, l->buf, l->len, LINE_HELD, o);
			}
			l->len = 0;
		}
	}
	if (rw->relay && i < len) {
		o->emit(o->arg, in + i, len - i);
		i = len;
	}
	if (rw->discard && d == &rw->c2s)
		i = len; /* after STARTTLS: dropped until TLS is up */
	return i;
}

size_t proxy_imap_server(struct proxy_rw *rw, const unsigned char *in, size_t len,
                         const struct proxy_out *o)
{
	return feed(rw, &rw->s2c, in, len, server_line, o);
}

size_t proxy_imap_client(struct proxy_rw *rw, const unsigned char *in, size_t len,
                         const struct proxy_out *o)
{
	return feed(rw, &rw->c2s, in, len, client_line, o);
}
