/* lib/outbound/input.c — a message coming in: header fields held, body passed to the hashers. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mailvet/dmarc.h>

#include "outbound/outbound_int.h"

/* Record the first failure (sticky) and return it. */
static enum mv_status fail(struct mv_outbound *o, enum mv_status st, const char *fmt, ...)
        MV_PRINTF(3, 4);

static enum mv_status fail(struct mv_outbound *o, enum mv_status st, const char *fmt, ...)
{
	va_list ap;

	if (o->failed == MV_OK) {
		o->failed = st;
		va_start(ap, fmt);
		vsnprintf(o->why, sizeof o->why, fmt, ap);
		va_end(ap);
	}
	return o->failed;
}

enum mv_status mv_outbound_new(const struct mv_outbound_config *cfg, struct mv_outbound **out,
                               char *err, size_t errlen)
{
	struct mv_outbound *o;
	enum mv_status st;

	*out = NULL;
	if ((st = mv_outbound_config_check(cfg, err, errlen)) != MV_OK)
		return st;
	if ((o = calloc(1, sizeof *o)) == NULL)
		return MV_ENOMEM;
	o->cfg = cfg;
	mv_msg_limits_default(&o->lim);
	if (cfg->max_header_bytes > 0)
		o->lim.max_header_bytes = cfg->max_header_bytes;
	if (cfg->max_fields > 0)
		o->lim.max_fields = cfg->max_fields;
	mv_buf_init(&o->raw);
	mv_buf_init(&o->fields);
	*out = o;
	return MV_OK;
}

void mv_outbound_free(struct mv_outbound *o)
{
	if (o == NULL)
		return;
	mv_buf_free(&o->raw);
	mv_msg_free(o->msg);
	free(o->author);
	if (o->arc_bh != o->dkim_bh)
		mv_dkim_bodyhash_free(o->arc_bh);
	mv_dkim_bodyhash_free(o->dkim_bh);
	mv_buf_free(&o->fields);
	free(o->field_text);
	free(o->field);
	free(o);
}

enum mv_status mv_outbound_header(struct mv_outbound *o, const char *name, size_t name_len,
                                  const char *value, size_t value_len)
{
	const struct mv_msg_field *f;
	enum mv_status st;

	if (o->failed != MV_OK)
		return o->failed;
	if (o->state != OB_HEADER || o->input == OB_INPUT_DATA)
		return fail(o, MV_EINVAL, "a header field after the header or after raw data");
	o->input = OB_INPUT_FIELDS;
	if (o->msg == NULL && (st = mv_msg_new(&o->lim, &o->msg)) != MV_OK)
		return fail(o, st, "header: %s", mv_status_str(st));
	if ((st = mv_msg_add_field(o->msg, name, name_len, value, value_len)) != MV_OK)
		return fail(o, st, "header field %.*s: %s", (int)(name_len < 64 ? name_len : 64),
		            name ? name : "", mv_status_str(st));
	/* The same bytes as text: the sealed header is parsed from it with the signatures on top. */
	f = mv_msg_field(o->msg, mv_msg_field_count(o->msg) - 1);
	if ((st = mv_buf_append(&o->raw, f->raw, f->raw_len)) != MV_OK)
		return fail(o, st, "header: %s", mv_status_str(st));
	return MV_OK;
}

/*
 * How many bytes of p[0..n) still belong to the header: up to and including
 * the empty line that ends it (*done set), or all of them.
 */
static size_t scan_header(struct mv_outbound *o, const char *p, size_t n, int *done)
{
	size_t i;

	*done = 0;
	for (i = 0; i < n; i++) {
		char c = p[i];
		switch (o->scan) {
		case OB_SCAN_LINE_START:
		case OB_SCAN_CR:
			if (c == '\n') {
				*done = 1;
				return i + 1;
			}
			o->scan = c == '\r' && o->scan == OB_SCAN_LINE_START ? OB_SCAN_CR
			                                                     : OB_SCAN_IN_LINE;
			break;
		case OB_SCAN_IN_LINE:
			if (c == '\n')
				o->scan = OB_SCAN_LINE_START;
			break;
		}
	}
	return n;
}

enum mv_status mv_outbound_data(struct mv_outbound *o, const void *p, size_t n,
                                size_t *header_bytes)
{
	const char *s = p;
	size_t h = 0;
	int done = 0;
	enum mv_status st;

	if (header_bytes != NULL)
		*header_bytes = 0;
	if (o->failed != MV_OK)
		return o->failed;
	if (o->input == OB_INPUT_FIELDS || o->state == OB_ENDED)
		return fail(o, MV_EINVAL, "raw data after header fields or after the end");
	o->input = OB_INPUT_DATA;
	if (o->state == OB_HEADER) {
		h = scan_header(o, s, n, &done);
		if (h > o->lim.max_header_bytes + 2 - o->raw.len) /* + 2: the empty line */
			return fail(o, MV_ETOOBIG, "header: larger than %zu bytes",
			            o->lim.max_header_bytes);
		if ((st = mv_buf_append(&o->raw, s, h)) != MV_OK)
			return fail(o, st, "header: %s", mv_status_str(st));
		if (header_bytes != NULL)
			*header_bytes = h;
		if (!done)
			return MV_OK;
		if ((st = mv_outbound_header_end(o)) != MV_OK)
			return st;
	}
	return h < n ? mv_outbound_body(o, s + h, n - h) : MV_OK;
}

/* Body bytes to every hasher (one when DKIM and ARC share it). */
enum mv_status mv_outbound_body(struct mv_outbound *o, const void *p, size_t n)
{
	enum mv_status st = MV_OK;

	if (o->failed != MV_OK)
		return o->failed;
	if (o->state == OB_ENDED)
		return fail(o, MV_EINVAL, "body after the end");
	if (o->state == OB_HEADER && (st = mv_outbound_header_end(o)) != MV_OK)
		return st;
	if (n == 0)
		return MV_OK;
	if (o->dkim_bh != NULL)
		st = mv_dkim_bodyhash_update(o->dkim_bh, p, n);
	if (st == MV_OK && o->arc_bh != NULL && o->arc_bh != o->dkim_bh)
		st = mv_dkim_bodyhash_update(o->arc_bh, p, n);
	return st == MV_OK ? MV_OK : fail(o, st, "body hash: %s", mv_status_str(st));
}

const struct mv_msg *mv_outbound_msg(const struct mv_outbound *o)
{
	return o->state == OB_HEADER ? NULL : o->msg;
}

const char *mv_outbound_why(const struct mv_outbound *o)
{
	return o->why;
}

enum mv_status mv_outbound_seal(struct mv_outbound *o, const struct mv_outbound_arc *in)
{
	if (o->failed != MV_OK)
		return o->failed;
	if (o->cfg->narc_keys == 0 || o->state == OB_ENDED)
		return MV_EINVAL;
	o->arc = *in;
	o->seal_asked = 1;
	return MV_OK;
}

/* The DKIM keys the site's dkim_choose gives this message (those of the first d=). */
static enum mv_status choose_by_site(struct mv_outbound *o)
{
	const struct mv_outbound_config *c = o->cfg;
	struct mv_outbound_key keys[MV_OUTBOUND_MAX_KEYS];
	struct mv_outbound_result *r = &o->res;
	size_t n;

	memset(&o->dkim, 0, sizeof o->dkim);
	r->dkim_reason[0] = '\0';
	n = c->dkim_choose(c->dkim_choose_arg, o->msg, o->author, keys, MV_OUTBOUND_MAX_KEYS,
	                   r->dkim_reason, sizeof r->dkim_reason);
	for (size_t k = 0; k < n && k < MV_OUTBOUND_MAX_KEYS; k++) {
		if (!keys[k].domain || !keys[k].selector || !keys[k].key ||
		    !mv_ascii_ieq(keys[k].domain, strlen(keys[k].domain), keys[0].domain))
			continue;
		o->dkim.domain = keys[0].domain;
		o->dkim.key[o->dkim.n] = keys[k].key;
		o->dkim.selector[o->dkim.n++] = keys[k].selector;
	}
	if (o->dkim.n == 0) {
		r->dkim = MV_OUTBOUND_NO_KEY;
		if (!r->dkim_reason[0])
			snprintf(r->dkim_reason, sizeof r->dkim_reason, "no DKIM key for %s",
			         o->author ? o->author : "the message");
		return MV_OK;
	}
	r->dkim_reason[0] = '\0';
	r->dkim = MV_OUTBOUND_DONE; /* so far: the end may still fail */
	return mv_dkim_bodyhash_new(c->bcanon, c->body_limit >= 0 ? c->body_limit : -1,
	                            &o->dkim_bh);
}

/* The DKIM keys for this message (the domain rule of mv_outbound_end) and their body hasher. */
static enum mv_status choose_dkim(struct mv_outbound *o)
{
	const struct mv_outbound_config *c = o->cfg;
	const char *dom = c->dkim_domain ? c->dkim_domain : o->author;
	struct mv_outbound_result *r = &o->res;
	enum mv_status st;

	if (c->ndkim_keys == 0 && !c->dkim_choose) {
		r->dkim = MV_OUTBOUND_NOT_ASKED;
		snprintf(r->dkim_reason, sizeof r->dkim_reason, "no DKIM keys configured");
		return MV_OK;
	}
	if (dom == NULL) {
		r->dkim = MV_OUTBOUND_NO_DOMAIN;
		snprintf(r->dkim_reason, sizeof r->dkim_reason, "no author domain: %s",
		         o->author_err);
		return MV_OK;
	}
	if (c->dkim_choose && !c->dkim_domain)
		return choose_by_site(o);
	st = mv_outbound_keys_for(c->dkim_keys, c->ndkim_keys, dom, &o->dkim);
	if (st != MV_OK) {
		r->dkim = st == MV_ENOTFOUND ? MV_OUTBOUND_NO_KEY : MV_OUTBOUND_FAILED;
		snprintf(r->dkim_reason, sizeof r->dkim_reason, "%s DKIM key for %s",
		         st == MV_ENOTFOUND ? "no" : "more than 8 keys: no", dom);
		return MV_OK;
	}
	r->dkim = MV_OUTBOUND_DONE; /* so far: the end may still fail */
	return mv_dkim_bodyhash_new(c->bcanon, c->body_limit >= 0 ? c->body_limit : -1,
	                            &o->dkim_bh);
}

enum mv_status mv_outbound_header_end(struct mv_outbound *o)
{
	const struct mv_outbound_config *c = o->cfg;
	char err[160] = "";
	enum mv_status st;

	o->state = OB_BODY;
	if (o->input != OB_INPUT_FIELDS) {
		st = mv_msg_parse(o->raw.data ? o->raw.data : "", o->raw.len, &o->lim, &o->msg, err,
		                  sizeof err);
		if (st != MV_OK)
			return fail(o, st, "header: %s", err[0] ? err : mv_status_str(st));
	} else if (o->msg == NULL && (st = mv_msg_new(&o->lim, &o->msg)) != MV_OK) {
		return fail(o, st, "header: %s", mv_status_str(st));
	}
	st = mv_dmarc_author_domain(o->msg, &o->author, o->author_err, sizeof o->author_err);
	if (st == MV_ENOMEM)
		return fail(o, st, "author domain: %s", mv_status_str(st));
	if ((st = choose_dkim(o)) != MV_OK)
		return fail(o, st, "body hash: %s", mv_status_str(st));
	if (c->narc_keys == 0)
		return MV_OK;
	/* The AMS hashes the body relaxed without l= (lib/arc/seal.c). */
	if (o->dkim_bh != NULL && c->bcanon == MV_CANON_RELAXED && c->body_limit < 0)
		o->arc_bh = o->dkim_bh;
	else if ((st = mv_dkim_bodyhash_new(MV_CANON_RELAXED, -1, &o->arc_bh)) != MV_OK)
		return fail(o, st, "body hash: %s", mv_status_str(st));
	return MV_OK;
}
