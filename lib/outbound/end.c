/* lib/outbound/end.c — end of an outbound message: sign, seal, hand out the new fields. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "outbound/outbound_int.h"

#define MAX_FIELDS (MV_OUTBOUND_MAX_KEYS + 3 * MV_ARC_MAX_ALGS + 1)

enum mv_status mv_outbound_sign(struct mv_outbound *o, int64_t now, struct mv_buf *sigs)
{
	const struct mv_outbound_config *c = o->cfg;
	struct mv_outbound_result *r = &o->res;
	struct mv_dkim_sign_opts so;
	int64_t len;
	enum mv_status st;

	if (r->dkim != MV_OUTBOUND_DONE)
		return MV_OK; /* decided at the end of the header */
	if ((st = mv_dkim_bodyhash_final(o->dkim_bh)) != MV_OK)
		return st;
	len = (int64_t)mv_dkim_bodyhash_length(o->dkim_bh);
	mv_dkim_sign_opts_default(&so);
	so.domain = o->dkim.domain;
	so.identity = c->identity;
	so.hcanon = c->hcanon;
	so.bcanon = c->bcanon;
	so.headers = c->headers;
	so.now = now;
	so.expire = c->expire;
	/* l= past the body would make every verifier fail: say what was hashed. */
	so.body_limit = c->body_limit >= 0 && c->body_limit > len ? len : c->body_limit;
	st = mv_dkim_sign_hashed(&so, o->dkim.key, o->dkim.selector, o->dkim.n, o->msg, o->dkim_bh,
	                         sigs);
	if (st == MV_ENOMEM)
		return st;
	if (st != MV_OK) {
		r->dkim = MV_OUTBOUND_FAILED;
		snprintf(r->dkim_reason, sizeof r->dkim_reason, "signing for %s failed: %s",
		         o->dkim.domain, mv_status_str(st));
		return MV_OK;
	}
	r->dkim_domain = o->dkim.domain;
	r->nsignatures = o->dkim.n;
	return MV_OK;
}

/* The seal domain (mv_outbound_end's rule) and its keys; 0 with the outcome set when there are none. */
static int choose_arc(struct mv_outbound *o, struct ob_keyset *ks)
{
	const struct mv_outbound_config *c = o->cfg;
	struct mv_outbound_result *r = &o->res;
	const char *cand[2];
	size_t n = 0, k;
	enum mv_status st = MV_ENOTFOUND;

	if (c->arc_domain != NULL) {
		cand[n++] = c->arc_domain;
	} else {
		if (o->author != NULL)
			cand[n++] = o->author;
		if (o->arc.envelope_domain != NULL && o->arc.envelope_domain[0] != '\0')
			cand[n++] = o->arc.envelope_domain;
	}
	for (k = 0; k < n && st == MV_ENOTFOUND; k++)
		st = mv_outbound_keys_for(c->arc_keys, c->narc_keys, cand[k], ks);
	if (st == MV_OK)
		return 1;
	r->arc = st == MV_ENOTFOUND ? MV_OUTBOUND_NO_KEY : MV_OUTBOUND_FAILED;
	snprintf(r->arc_reason, sizeof r->arc_reason, "%s ARC key for %s%s%s",
	         st == MV_ENOTFOUND ? "no" : "more than 8 keys: no",
	         n > 0 ? cand[0] : "(no domain)", n > 1 ? " or " : "", n > 1 ? cand[1] : "");
	return 0;
}

/* The header as it will leave: sigs on top of the fields held, parsed. */
static enum mv_status leaving_header(struct mv_outbound *o, const struct mv_buf *sigs,
                                     struct mv_msg **out)
{
	struct mv_buf b = MV_BUF_INIT;
	enum mv_status st;

	mv_buf_append(&b, sigs->data, sigs->len);
	mv_buf_append(&b, o->raw.data, o->raw.len);
	if ((st = mv_buf_status(&b)) == MV_OK)
		st = mv_msg_parse(b.data ? b.data : "", b.len, NULL, out, NULL, 0);
	mv_buf_free(&b);
	return st;
}

enum mv_status mv_outbound_seal_sets(struct mv_outbound *o, int64_t now, const struct mv_buf *sigs,
                                     struct mv_buf *out)
{
	const struct mv_outbound_config *c = o->cfg;
	struct mv_outbound_result *r = &o->res;
	struct mv_arc_seal_opts ao;
	struct ob_keyset ks;
	struct mv_msg *m = NULL;
	enum mv_status st = MV_OK;

	r->arc = MV_OUTBOUND_NOT_ASKED;
	if (!o->seal_asked || !choose_arc(o, &ks))
		goto out;
	if ((st = leaving_header(o, sigs, &m)) != MV_OK)
		goto out;
	mv_arc_seal_opts_default(&ao);
	ao.domain = ks.domain;
	ao.authserv_id = c->authserv_id;
	ao.headers = c->arc_headers;
	ao.now = now;
	ao.aar_results = o->arc.aar_results;
	st = mv_arc_seal_hashed(&ao, ks.key, ks.selector, ks.n, m, o->arc_bh, o->arc.validation,
	                        o->arc.cv, out, &r->nsets);
	r->arc = st == MV_OK && r->nsets > 0 ? MV_OUTBOUND_DONE
	         : st == MV_OK               ? MV_OUTBOUND_NO_CHAIN
	         : st == MV_ETEMP            ? MV_OUTBOUND_TEMPFAIL
	                                     : MV_OUTBOUND_FAILED;
	if (r->arc == MV_OUTBOUND_DONE)
		r->arc_domain = ks.domain;
	else if (r->arc == MV_OUTBOUND_NO_CHAIN)
		snprintf(r->arc_reason, sizeof r->arc_reason, "no chain a key of %s can extend",
		         ks.domain);
	else
		snprintf(r->arc_reason, sizeof r->arc_reason, "sealing for %s: %s", ks.domain,
		         st == MV_ETEMP ? "a chain is undetermined (temporary DNS failure)"
		                        : mv_status_str(st));
	if (st != MV_ENOMEM)
		st = MV_OK;
out:
	mv_msg_free(m);
	return st;
}

/* res.field: a copy of res.fields cut at each field's first colon and final CRLF. */
static enum mv_status cut_fields(struct mv_outbound *o)
{
	struct mv_outbound_result *r = &o->res;
	char *p, *end;

	if (o->fields.len == 0)
		return MV_OK;
	if ((o->field_text = mv_strndup(o->fields.data, o->fields.len)) == NULL ||
	    (o->field = calloc(MAX_FIELDS, sizeof *o->field)) == NULL)
		return MV_ENOMEM;
	p = o->field_text;
	end = p + o->fields.len;
	while (p < end && r->nfields < MAX_FIELDS) {
		char *colon = memchr(p, ':', (size_t)(end - p)), *e = p;
		while ((e = strstr(e, "\r\n")) != NULL && (e[2] == ' ' || e[2] == '\t'))
			e += 2;
		if (colon == NULL || e == NULL || colon > e)
			return MV_EINVAL; /* our own output: cannot happen */
		*colon = '\0';
		*e = '\0';
		o->field[r->nfields].name = p;
		o->field[r->nfields].value = colon + 1;
		r->nfields++;
		p = e + 2;
	}
	r->field = o->field;
	return MV_OK;
}

enum mv_status mv_outbound_end(struct mv_outbound *o, int64_t now,
                               const struct mv_outbound_result **out)
{
	struct mv_buf sigs = MV_BUF_INIT;
	enum mv_status st;

	*out = NULL;
	if (o->failed != MV_OK)
		return o->failed;
	if (o->state == OB_ENDED)
		return MV_EINVAL;
	if (o->state == OB_HEADER && (st = mv_outbound_header_end(o)) != MV_OK)
		return st;
	o->state = OB_ENDED;
	if ((st = mv_outbound_sign(o, now, &sigs)) != MV_OK)
		goto out;
	if ((st = mv_outbound_seal_sets(o, now, &sigs, &o->fields)) != MV_OK)
		goto out;
	mv_buf_append(&o->fields, sigs.data, sigs.len);
	if ((st = mv_buf_status(&o->fields)) != MV_OK || (st = cut_fields(o)) != MV_OK)
		goto out;
	o->res.fields = o->fields.data ? o->fields.data : "";
	o->res.fields_len = o->fields.len;
	*out = &o->res;
out:
	mv_buf_free(&sigs);
	return st;
}
