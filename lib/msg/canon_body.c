/* lib/msg/canon_body.c — streaming DKIM body canonicalization (RFC 6376 §3.4.3, §3.4.4). */
#include <stdlib.h>
#include <string.h>

#include <mailvet/msg.h>

/*
 * Line ends: CRLF, and a bare LF, which counts as CRLF (the message is
 * read as the CRLF form it had on the wire, as dkimpy and OpenDKIM do).
 * A CR not followed by LF is an ordinary byte of its line. A CR at the end
 * of a chunk waits (pending_cr) for the next byte to decide.
 *
 * Nothing but counts and flags is held back: the empty lines not yet known
 * not to be trailing (blank_lines), a run of WSP in relaxed mode (pending_wsp).
 * Output goes through a small staging buffer so the sink sees a few large
 * pieces rather than one per word; it is flushed at the end of every update.
 */
#define STAGE_SIZE 4096
#define DIRECT_MIN 512 /* spans at least this long skip the staging buffer */

enum byte_class {
	BYTE_PLAIN,
	BYTE_WSP,
	BYTE_CR,
	BYTE_LF,
};

struct mv_canon_body {
	enum mv_canon canon;
	int64_t limit; /* -1: none */
	mv_canon_sink sink;
	void *arg;
	uint64_t total;       /* canonical bytes so far, before the limit */
	uint64_t blank_lines; /* empty lines held back */
	int pending_cr;       /* last byte seen was a CR */
	int pending_wsp;      /* relaxed: WSP seen since the last plain byte */
	int line_has_content; /* something of this line was emitted */
	int finished;
	size_t staged;
	unsigned char stage[STAGE_SIZE];
};

static enum byte_class classify(unsigned char c)
{
	switch (c) {
	case ' ':
	case '\t':
		return BYTE_WSP;
	case '\r':
		return BYTE_CR;
	case '\n':
		return BYTE_LF;
	default:
		return BYTE_PLAIN;
	}
}

/*
 * Hand p[0..n), the canonical bytes from offset `at` on, to the sink: the
 * part of them that is within the limit, if any. The limit is applied
 * here, where bytes leave, so that everything before may count freely.
 */
static void deliver(struct mv_canon_body *cb, const unsigned char *p, size_t n, uint64_t at)
{
	if (cb->limit >= 0) {
		if (at >= (uint64_t)cb->limit)
			return;
		if ((uint64_t)cb->limit - at < n)
			n = (size_t)((uint64_t)cb->limit - at);
	}
	if (n > 0)
		cb->sink(cb->arg, p, n);
}

static void flush(struct mv_canon_body *cb)
{
	if (cb->staged) {
		deliver(cb, cb->stage, cb->staged, cb->total - cb->staged);
		cb->staged = 0;
	}
}

/* n more canonical bytes: staged, or (a long span) straight to the sink. */
static void emit(struct mv_canon_body *cb, const void *p, size_t n)
{
	if (n >= DIRECT_MIN) {
		flush(cb);
		deliver(cb, p, n, cb->total);
		cb->total += n;
		return;
	}
	if (n > STAGE_SIZE - cb->staged)
		flush(cb);
	memcpy(cb->stage + cb->staged, p, n);
	cb->staged += n;
	cb->total += n;
}

/* Emit the held-back empty lines: something follows them after all. */
static void release_blank_lines(struct mv_canon_body *cb)
{
	for (; cb->blank_lines; cb->blank_lines--)
		emit(cb, "\r\n", 2);
}

/* Bytes of the current line that are not line ends (nor, relaxed, WSP). */
static void content(struct mv_canon_body *cb, const void *p, size_t n)
{
	if (!cb->line_has_content) {
		release_blank_lines(cb);
		cb->line_has_content = 1;
	}
	if (cb->pending_wsp) {
		emit(cb, " ", 1);
		cb->pending_wsp = 0;
	}
	emit(cb, p, n);
}

static void line_end(struct mv_canon_body *cb)
{
	cb->pending_wsp = 0; /* relaxed: WSP at the end of a line is ignored */
	if (cb->line_has_content)
		emit(cb, "\r\n", 2);
	else
		cb->blank_lines++;
	cb->line_has_content = 0;
}

enum mv_status mv_canon_body_new(enum mv_canon c, int64_t limit, mv_canon_sink sink, void *arg,
                                 struct mv_canon_body **out)
{
	struct mv_canon_body *cb;

	if (!out)
		return MV_EINVAL;
	*out = NULL;
	if (!sink || (c != MV_CANON_SIMPLE && c != MV_CANON_RELAXED) || limit < -1)
		return MV_EINVAL;
	if ((cb = calloc(1, sizeof(*cb))) == NULL)
		return MV_ENOMEM;
	cb->canon = c;
	cb->limit = limit;
	cb->sink = sink;
	cb->arg = arg;
	*out = cb;
	return MV_OK;
}

/* Bytes that end a run of plain bytes in relaxed mode: SP, HTAB, CR, LF. */
static const unsigned char special[256] = {['\t'] = 1, ['\n'] = 1, ['\r'] = 1, [' '] = 1};

/*
 * Word-at-a-time scanning: eight bytes are tested together in a uint64_t,
 * byte k of the input in bits 8k..8k+7 whatever the machine's byte order.
 * Every lane test below is exact (no carry or borrow crosses a lane): it
 * sets bit 7 of a lane that matches and nothing else.
 */
#define LANE_ONES 0x0101010101010101ull
#define LANE_HIGH 0x8080808080808080ull

static inline uint64_t load8(const unsigned char *p)
{
	return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 | (uint64_t)p[3] << 24 |
	       (uint64_t)p[4] << 32 | (uint64_t)p[5] << 40 | (uint64_t)p[6] << 48 |
	       (uint64_t)p[7] << 56;
}

/* The lanes of w that are zero. */
static uint64_t lanes_zero(uint64_t w)
{
	return ~(((w & ~LANE_HIGH) + ~LANE_HIGH) | w | ~LANE_HIGH);
}

/* The lanes of w equal to c. */
static uint64_t lanes_eq(uint64_t w, unsigned char c)
{
	return lanes_zero(w ^ (c * LANE_ONES));
}

/* The lanes of w that are <= 0x20 (SP, HTAB, CR, LF and other controls). */
static uint64_t lanes_le_sp(uint64_t w)
{
	return ~(((w & ~LANE_HIGH) + (0x80 - 0x21) * LANE_ONES) | w) & LANE_HIGH;
}

/* The index (0-7) of the lowest set lane of a nonzero lane mask. */
static size_t first_lane(uint64_t lanes)
{
	uint64_t lowest = lanes & (~lanes + 1);

	return (size_t)(((lowest >> 7) * 0x0001020304050607ull) >> 56);
}

/*
 * Relaxed: the lanes of p[0..8) that may not go out unchanged (p[8] must be
 * readable). Plain bytes do, and an SP followed by a byte > 0x20 (a single
 * SP before a plain byte). Other control bytes are flagged although they
 * are plain: the byte-by-byte step then takes them.
 */
static uint64_t relaxed_word_stops(const unsigned char *p)
{
	uint64_t w = load8(p), ctl = lanes_le_sp(w), sp = lanes_eq(w, ' ');

	return (ctl & ~sp) | (sp & lanes_le_sp(load8(p + 1)));
}

/* Simple: the CRs and LFs of p[0..8). */
static uint64_t simple_word_stops(const unsigned char *p)
{
	uint64_t w = load8(p);

	return lanes_eq(w, '\r') | lanes_eq(w, '\n');
}

/*
 * Relaxed, the common case in bulk. p[0] is a plain byte (not SP, HTAB, CR,
 * LF). Takes it and what follows as long as the input is made of: plain
 * bytes; a WSP run then a plain byte (-> SP and the byte); optional WSP, a
 * line end (CRLF or bare LF) then a plain byte (-> CRLF and the byte: the
 * line had content, the next one has too). Every step ends on a plain
 * byte, so whatever stops it (an empty line, a line starting with WSP, a
 * lone CR, the end of the chunk) leaves the state "in a line with content,
 * nothing pending" for the byte-by-byte steps. The canonical bytes are
 * written straight into the staging buffer. Returns the bytes taken (>= 1).
 */
static size_t relaxed_bulk(struct mv_canon_body *cb, const unsigned char *p, size_t n)
{
	unsigned char *o;
	size_t i = 0, j;
	uint64_t stops;

	content(cb, p, 0); /* held-back empty lines and WSP go first */
	o = cb->stage + cb->staged;
	for (;;) {
		/* room for one pass: an 8-byte store, or up to 7 bytes of a word and 3 more */
		if (o + 10 > cb->stage + STAGE_SIZE) {
			cb->total += (size_t)(o - cb->stage) - cb->staged;
			cb->staged = (size_t)(o - cb->stage);
			flush(cb);
			o = cb->stage;
		}
		stops = 0;
		if (n - i >= 9) {
			memcpy(o, p + i, 8); /* the bytes before the first stop are kept */
			if ((stops = relaxed_word_stops(p + i)) == 0) {
				i += 8;
				o += 8;
				continue;
			}
			i += first_lane(stops);
			o += first_lane(stops);
		}
		if (i == n)
			break;
		if (!special[p[i]]) {
			*o++ = p[i++];
			continue;
		}
		for (j = i; j < n && (p[j] == ' ' || p[j] == '\t'); j++)
			;
		if (j > i && j < n && !special[p[j]]) {
			*o++ = ' ';
			*o++ = p[j];
			i = j + 1;
		} else if (n - j >= 3 && p[j] == '\r' && p[j + 1] == '\n' && !special[p[j + 2]]) {
			*o++ = '\r';
			*o++ = '\n';
			*o++ = p[j + 2];
			i = j + 3;
		} else if (n - j >= 2 && p[j] == '\n' && !special[p[j + 1]]) {
			*o++ = '\r';
			*o++ = '\n';
			*o++ = p[j + 1];
			i = j + 2;
		} else {
			break;
		}
	}
	cb->total += (size_t)(o - cb->stage) - cb->staged;
	cb->staged = (size_t)(o - cb->stage);
	return i;
}

static size_t simple_run(const unsigned char *p, size_t n)
{
	size_t i;
	uint64_t stops;

	if (n == 0 || p[0] == '\r' || p[0] == '\n')
		return 0;
	i = 1; /* invariant: p[i - 1] is neither CR nor LF */
	for (;;) {
		for (stops = 0; n - i >= 8; i += 8)
			if ((stops = simple_word_stops(p + i)) != 0)
				break;
		if (stops)
			i += first_lane(stops);
		else if (i == n)
			return n;
		if (p[i] != '\r' && p[i] != '\n')
			i++;
		else if (p[i] == '\r' && n - i >= 3 && p[i + 1] == '\n' && p[i + 2] != '\r' &&
		         p[i + 2] != '\n')
			i += 3;
		else
			return i;
	}
}

enum mv_status mv_canon_body_update(struct mv_canon_body *cb, const void *data, size_t n)
{
	const unsigned char *p = data;
	size_t i = 0, run;

	if (!cb || (!data && n) || cb->finished)
		return MV_EINVAL;
	if (n && cb->pending_cr) {
		cb->pending_cr = 0;
		if (p[0] == '\n') {
			line_end(cb);
			i = 1;
		} else {
			content(cb, "\r", 1);
		}
	}
	while (i < n) {
		if (cb->canon == MV_CANON_RELAXED && !special[p[i]]) {
			i += relaxed_bulk(cb, p + i, n - i);
			continue;
		}
		if (cb->canon == MV_CANON_SIMPLE && (run = simple_run(p + i, n - i)) > 0) {
			content(cb, p + i, run);
			i += run;
			continue;
		}
		switch (classify(p[i])) {
		case BYTE_LF:
			line_end(cb);
			i++;
			break;
		case BYTE_CR:
			if (i + 1 == n) {
				cb->pending_cr = 1;
				i++;
			} else if (p[i + 1] == '\n') {
				line_end(cb);
				i += 2;
			} else {
				content(cb, "\r", 1);
				i++;
			}
			break;
		case BYTE_WSP: /* relaxed only: simple_run() takes WSP */
			while (i < n && classify(p[i]) == BYTE_WSP)
				i++;
			cb->pending_wsp = 1;
			break;
		case BYTE_PLAIN:
			break; /* not reached: relaxed_bulk() or simple_run() took it */
		}
	}
	flush(cb);
	return MV_OK;
}

/*
 * End of body. A last line without a line break is completed with CRLF
 * (RFC 6376 §3.4.4 "a CRLF is added"); in relaxed mode its trailing WSP,
 * not being at the end of a line, stays as one SP, as in dkimpy. Held-back
 * empty lines are dropped. Simple canonicalization of an empty body is CRLF
 * (RFC 6376 erratum 3192 / §3.4.3); relaxed of an empty body is empty.
 */
enum mv_status mv_canon_body_final(struct mv_canon_body *cb)
{
	if (!cb || cb->finished)
		return MV_EINVAL;
	cb->finished = 1;
	if (cb->pending_cr) {
		cb->pending_cr = 0;
		content(cb, "\r", 1);
	}
	if (cb->pending_wsp)
		content(cb, "", 0);
	if (cb->line_has_content)
		emit(cb, "\r\n", 2);
	if (cb->canon == MV_CANON_SIMPLE && cb->total == 0)
		emit(cb, "\r\n", 2);
	flush(cb);
	return MV_OK;
}

uint64_t mv_canon_body_length(const struct mv_canon_body *cb)
{
	return cb ? cb->total : 0;
}

void mv_canon_body_free(struct mv_canon_body *cb)
{
	free(cb);
}
