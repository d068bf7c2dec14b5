/* daemon/pipeline/decide.c — the end of a message: the verdict as data and the header edits. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "pipeline_int.h"

#define DEFAULT_REJECT                                                                             \
	"550 5.7.1 Message rejected: it fails the DMARC policy of its author's domain"
#define DEFAULT_TEMPFAIL                                                                           \
	"451 4.7.0 Temporary failure while authenticating the message, try again later"
#define DEFAULT_ERROR "451 4.3.0 Temporary local problem, try again later"
#define DEFAULT_UNREADABLE_REJECT "550 5.6.0 Message refused: its header could not be read whole"
#define DEFAULT_UNREADABLE_TEMPFAIL "451 4.6.0 Message deferred: its header could not be read whole"

/* Length of an RFC 3463 enhanced status code ("5.7.1") at the start of p, or 0. */
static size_t enhanced_code(const char *p)
{
	size_t n = 0;

	for (int part = 0; part < 3; part++) {
		size_t digits = 0;
		while (p[n] >= '0' && p[n] <= '9' && digits < 3) {
			n++;
			digits++;
		}
		if (digits == 0 || (part < 2 && p[n++] != '.'))
			return 0;
	}
	return p[n] == ' ' || p[n] == '\0' ? n : 0;
}

/*
 * The reply of a refusal: the configured text, else the library's, else
 * the default. Each may be "550 5.7.1 text", "5.7.1 text" or "text";
 * missing codes come from the default, and codes of the wrong class (a 4xx
 * for a rejection) are replaced by the default's. The text is made one
 * line of printable ASCII.
 */
static void reply(struct mvd_verdict *v, enum mvd_action action, const char *configured,
                  const char *lib, const char *dflt)
{
	const char *p = configured && configured[0] ? configured : lib && lib[0] ? lib : dflt;
	size_t n, o = 0;

	v->action = action;
	memcpy(v->code, dflt, 3);
	v->code[3] = '\0';
	n = enhanced_code(dflt + 4);
	memcpy(v->xcode, dflt + 4, n);
	v->xcode[n] = '\0';
	if (p[0] == dflt[0] && p[1] >= '0' && p[1] <= '9' && p[2] >= '0' && p[2] <= '9' &&
	    p[3] == ' ') {
		memcpy(v->code, p, 3);
		p += 4;
	}
	if ((n = enhanced_code(p)) > 0 && n < sizeof v->xcode && p[0] == dflt[0]) {
		memcpy(v->xcode, p, n);
		v->xcode[n] = '\0';
		p += n;
	}
	while (*p == ' ')
		p++;
	for (; *p && o + 1 < sizeof v->text; p++) {
		char ch = (*p == '\r' || *p == '\n' || *p == '\t') ? ' ' : *p;
		if ((unsigned char)ch >= ' ' && ch != 127)
			v->text[o++] = ch;
	}
	v->text[o] = '\0';
}

int mvd_pipeline_edit(struct mvd_pipeline *p, enum mvd_edit_kind kind, const char *name,
                      unsigned index, const char *value, size_t len)
{
	struct mvd_edit *e;

	if (p->nedits == MVD_MAX_EDITS)
		return 0;
	e = &p->edits[p->nedits];
	e->kind = kind;
	e->index = index;
	e->name = name;
	e->value = NULL;
	if (kind == MVD_EDIT_INSERT) {
		char *copy = mv_strndup(value, len);
		if (!copy)
			return 0;
		p->owned[p->nowned++] = copy;
		e->value = copy;
	}
	p->nedits++;
	return 1;
}

int mvd_pipeline_insert_fields(struct mvd_pipeline *p, const char *text, size_t len)
{
	const char *start[16];
	size_t n = 0;

	for (const char *q = text; q < text + len && *q && n < 16;) {
		const char *e = q;
		start[n++] = q;
		while ((e = strstr(e, "\r\n")) && (e[2] == ' ' || e[2] == '\t'))
			e += 2;
		q = e ? e + 2 : q + strlen(q);
	}
	/* Inserted at the top one after another: the last one given ends on top. */
	for (size_t i = n; i-- > 0;) {
		const char *end = i + 1 < n ? start[i + 1] : text + len;
		const char *colon = memchr(start[i], ':', (size_t)(end - start[i]));
		char *name;
		size_t vlen;

		if (!colon)
			return 0;
		vlen = (size_t)(end - colon - 1);
		while (vlen && (colon[vlen] == '\n' || colon[vlen] == '\r'))
			vlen--;
		if (!(name = mv_strndup(start[i], (size_t)(colon - start[i]))))
			return 0;
		p->owned[p->nowned++] = name;
		if (!mvd_pipeline_edit(p, MVD_EDIT_INSERT, name, 0, colon + 1, vlen))
			return 0;
	}
	return 1;
}

/* The deletions of forged fields, last first so that earlier indexes stay valid. */
static int delete_forged(struct mvd_pipeline *p)
{
	for (size_t i = p->ndelete; i-- > 0;)
		if (!mvd_pipeline_edit(p, MVD_EDIT_DELETE, "Authentication-Results",
		                       p->ar_delete[i], NULL, 0))
			return 0;
	return 1;
}

/* The library's action, mapped through [policy]; outbound mail is never refused for DMARC. */
static enum mvd_action decide(struct mvd_pipeline *p, const char **note)
{
	const struct mvd_config *c = &p->rt->cfg;

	switch (mv_verify_action(p->v)) {
	case MV_VERIFY_ACCEPT:
		return MVD_ACTION_ACCEPT;
	case MV_VERIFY_REJECT:
		if (p->outbound) {
			*note = "outbound: policy not applied";
			return MVD_ACTION_ACCEPT;
		}
		if (c->dmarc_reject == MVD_REJECT_REJECT)
			return MVD_ACTION_REJECT;
		if (c->dmarc_reject == MVD_REJECT_QUARANTINE)
			return MVD_ACTION_QUARANTINE;
		*note = "dmarc_reject=header";
		return MVD_ACTION_ACCEPT;
	case MV_VERIFY_QUARANTINE:
		if (p->outbound) {
			*note = "outbound: policy not applied";
			return MVD_ACTION_ACCEPT;
		}
		return MVD_ACTION_QUARANTINE;
	case MV_VERIFY_TEMPFAIL:
		if (c->temperror == MVD_FAIL_TEMPFAIL)
			return MVD_ACTION_TEMPFAIL;
		*note = "temperror=accept";
		return MVD_ACTION_ACCEPT;
	}
	return MVD_ACTION_ACCEPT;
}

/*
 * A message whose header lib/verify could not take whole (a malformed
 * field, or more fields than the limit) is never judged without the fields
 * it lost: one of them may be the From that decides DMARC. It is refused as
 * [policy] unreadable_header says, whatever its direction.
 */
static void unreadable(struct mvd_pipeline *p, struct mvd_outcome *out)
{
	int tempfail = p->rt->cfg.unreadable_header == MVD_REFUSE_TEMPFAIL;

	snprintf(p->note, sizeof p->note,
	         "header not read whole: %zu field%s refused, the first (%s) %s", p->nbad_headers,
	         p->nbad_headers == 1 ? "" : "s", p->bad_header_name,
	         p->bad_header_st == MV_ETOOBIG ? "past the header limits" : "malformed");
	out->note = p->note;
	if (tempfail)
		reply(&out->verdict, MVD_ACTION_TEMPFAIL, NULL, NULL, DEFAULT_UNREADABLE_TEMPFAIL);
	else
		reply(&out->verdict, MVD_ACTION_REJECT, NULL, NULL, DEFAULT_UNREADABLE_REJECT);
}

/* Quarantine: the MTA's (the verdict's reason) or a header field of ours. */
static int quarantine(struct mvd_pipeline *p, struct mvd_outcome *out)
{
	const struct mvd_config *c = &p->rt->cfg;
	char value[300];

	if (c->quarantine == MVD_QUARANTINE_MILTER) {
		snprintf(out->verdict.reason, sizeof out->verdict.reason,
		         "mailvetd: DMARC policy of the author's domain (%s)", c->authserv_id);
		return 1;
	}
	snprintf(value, sizeof value, " %s; dmarc=fail", c->authserv_id);
	return mvd_pipeline_edit(p, MVD_EDIT_INSERT, c->quarantine_header, 0, value, strlen(value));
}

/* The steps of an accepted message: deletions, our field, quarantine, outbound. */
static void accepted(struct mvd_pipeline *p, struct mvd_outcome *out)
{
	const char *field = mv_verify_header_field(p->v);
	int seal_tempfail = 0;

	if (!delete_forged(p) || !field || !mvd_pipeline_insert_fields(p, field, strlen(field))) {
		mvd_pipeline_fail(p, "header changes", out);
		return;
	}
	if (out->verdict.action == MVD_ACTION_QUARANTINE && !quarantine(p, out)) {
		mvd_pipeline_fail(p, "quarantine", out);
		return;
	}
	if (p->outbound && !mvd_pipeline_outbound(p, out, &seal_tempfail)) {
		mvd_pipeline_fail(p, "signing", out);
		return;
	}
	if (seal_tempfail) { /* the edits are dropped with the message */
		p->nedits = 0;
		reply(&out->verdict, MVD_ACTION_TEMPFAIL, NULL, NULL,
		      "451 4.4.3 Temporary DNS failure while ARC-sealing the message, try again "
		      "later");
	}
}

void mvd_pipeline_end(struct mvd_pipeline *p, struct mvd_outcome *out)
{
	const struct mvd_config *c = &p->rt->cfg;
	const char *note = NULL;
	enum mv_status st;

	memset(out, 0, sizeof *out);
	p->nedits = 0;
	if (!p->failed && (st = mv_verify_end(p->v)) != MV_OK)
		mvd_pipeline_failed(p, st, "verify_end");
	if (p->failed) {
		mvd_pipeline_fail(p, p->fail_where, out);
		return;
	}
	if (p->nbad_headers) {
		unreadable(p, out);
		return;
	}
	out->verdict.action = decide(p, &note);
	if (!note && mv_verify_arc_override(p->v)) {
		snprintf(p->note, sizeof p->note,
		         "dmarc policy overridden by trusted ARC sealer %s",
		         mv_verify_arc_override(p->v));
		note = p->note;
	}
	out->note = note;
	if (out->verdict.action == MVD_ACTION_REJECT)
		reply(&out->verdict, MVD_ACTION_REJECT, c->reject_text, mv_verify_reply(p->v),
		      DEFAULT_REJECT);
	else if (out->verdict.action == MVD_ACTION_TEMPFAIL)
		reply(&out->verdict, MVD_ACTION_TEMPFAIL, c->tempfail_text, mv_verify_reply(p->v),
		      DEFAULT_TEMPFAIL);
	else
		accepted(p, out);
	out->edits = p->edits;
	out->nedits = p->nedits;
}

void mvd_pipeline_fail(struct mvd_pipeline *p, const char *what, struct mvd_outcome *out)
{
	const struct mvd_config *c = &p->rt->cfg;

	if (!p->failed)
		mvd_pipeline_failed(p, MV_EIO, what);
	snprintf(p->note, sizeof p->note, "internal error in %s: %s", what,
	         mv_status_str(p->fail_st));
	memset(out, 0, sizeof *out);
	out->note = p->note;
	p->nedits = 0;
	if (c->on_error == MVD_FAIL_ACCEPT && delete_forged(p)) {
		/* Forged fields go even now: they would otherwise pass as ours. */
		out->verdict.action = MVD_ACTION_ACCEPT;
	} else {
		p->nedits = 0;
		reply(&out->verdict, MVD_ACTION_TEMPFAIL, NULL, NULL, DEFAULT_ERROR);
	}
	out->edits = p->edits;
	out->nedits = p->nedits;
}
