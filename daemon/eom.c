/* daemon/eom.c — end of message: remove forged fields, prepend ours, apply policy, sign, seal. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "session.h"

#define DEFAULT_REJECT                                                                             \
	"550 5.7.1 Message rejected: it fails the DMARC policy of its author's domain"
#define DEFAULT_TEMPFAIL                                                                           \
	"451 4.7.0 Temporary failure while authenticating the message, try again later"
#define DEFAULT_ERROR "451 4.3.0 Temporary local problem, try again later"
#define DEFAULT_UNREADABLE_REJECT "550 5.6.0 Message refused: its header could not be read whole"
#define DEFAULT_UNREADABLE_TEMPFAIL "451 4.6.0 Message deferred: its header could not be read whole"
#define DEFAULT_SEAL_TEMPFAIL                                                                      \
	"451 4.4.3 Temporary DNS failure while ARC-sealing the message, try again later"

/* What the MTA is told, after the configuration had its say. */
enum verdict { V_ACCEPT, V_REJECT, V_QUARANTINE, V_TEMPFAIL };

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
 * Hand an SMTP reply to the MTA: the configured text, else the library's,
 * else the default. Each may be "550 5.7.1 text", "5.7.1 text" or "text";
 * missing codes come from the default, and a reply code of the wrong class
 * (a 4xx for a rejection) is replaced by the default's. libmilter refuses
 * CR/LF and reads '%' as a format character, so the text is made safe.
 */
static int set_reply(SMFICTX *ctx, const char *configured, const char *lib, const char *dflt)
{
	const char *reply = configured && configured[0] ? configured : lib && lib[0] ? lib : dflt;
	char rcode[4], xcode[16], text[512];
	size_t o = 0, n;
	const char *p = reply;

	memcpy(rcode, dflt, 3);
	rcode[3] = '\0';
	n = enhanced_code(dflt + 4);
	memcpy(xcode, dflt + 4, n);
	xcode[n] = '\0';
	if (p[0] == dflt[0] && p[1] >= '0' && p[1] <= '9' && p[2] >= '0' && p[2] <= '9' &&
	    p[3] == ' ') {
		memcpy(rcode, p, 3);
		p += 4;
	}
	if ((n = enhanced_code(p)) > 0 && n < sizeof xcode && p[0] == dflt[0]) {
		memcpy(xcode, p, n);
		xcode[n] = '\0';
		p += n;
	}
	while (*p == ' ')
		p++;
	for (; *p && o + 2 < sizeof text; p++) {
		char ch = (*p == '\r' || *p == '\n' || *p == '\t') ? ' ' : *p;
		if ((unsigned char)ch < ' ' || ch == 127)
			continue;
		text[o++] = ch;
		if (ch == '%')
			text[o++] = '%';
	}
	text[o] = '\0';
	if (smfi_setreply(ctx, rcode, xcode, text) == MI_SUCCESS)
		return 1;
	mvd_log(MVD_LOG_WARNING, "reply", "the MTA library refused the reply \"%s %s %s\"", rcode,
	        xcode, text);
	return 0;
}

/*
 * Insert a whole header field ("Name: value", folded with CRLF, optional
 * final CRLF) at index idx. The MTA wants name and value apart, line breaks
 * as LF, and the leading space only when it keeps leading spaces.
 */
static int insert_field(SMFICTX *ctx, const struct mvd_session *s, int idx, const char *field,
                        size_t len)
{
	const char *colon = memchr(field, ':', len);
	char *name = NULL;
	struct mv_buf value = MV_BUF_INIT;
	const char *p;
	int ok = 0;

	if (!colon)
		return 0;
	while (len && (field[len - 1] == '\n' || field[len - 1] == '\r'))
		len--;
	name = mv_strndup(field, (size_t)(colon - field));
	p = colon + 1;
	if (!s->leadspc)
		while (p < field + len && (*p == ' ' || *p == '\t'))
			p++;
	for (; p < field + len; p++)
		if (*p != '\r')
			mv_buf_putc(&value, *p);
	mv_buf_putc(&value, '\0');
	if (name && mv_buf_status(&value) == MV_OK)
		ok = smfi_insheader(ctx, idx, name, value.data) == MI_SUCCESS;
	free(name);
	mv_buf_free(&value);
	return ok;
}

/* Step 1: delete the forged fields, last first so earlier indexes stay valid. */
static int delete_forged(SMFICTX *ctx, const struct mvd_message *m)
{
	for (size_t i = m->ndelete; i-- > 0;)
		if (smfi_chgheader(ctx, "Authentication-Results", (int)m->ar_delete[i], NULL) !=
		    MI_SUCCESS)
			return 0;
	return 1;
}

/* The library's action, mapped through [policy]; outbound mail is never refused for DMARC. */
static enum verdict decide(const struct mvd_session *s, const char **note)
{
	const struct mvd_config *c = &s->rt->cfg;

	switch (mv_verify_action(s->m.v)) {
	case MV_VERIFY_ACCEPT:
		return V_ACCEPT;
	case MV_VERIFY_REJECT:
		if (s->m.outbound) {
			*note = "outbound: policy not applied";
			return V_ACCEPT;
		}
		if (c->dmarc_reject == MVD_REJECT_REJECT)
			return V_REJECT;
		if (c->dmarc_reject == MVD_REJECT_QUARANTINE)
			return V_QUARANTINE;
		*note = "dmarc_reject=header";
		return V_ACCEPT;
	case MV_VERIFY_QUARANTINE:
		if (s->m.outbound) {
			*note = "outbound: policy not applied";
			return V_ACCEPT;
		}
		return V_QUARANTINE;
	case MV_VERIFY_TEMPFAIL:
		if (c->temperror == MVD_FAIL_TEMPFAIL)
			return V_TEMPFAIL;
		*note = "temperror=accept";
		return V_ACCEPT;
	}
	return V_ACCEPT;
}

static int quarantine(SMFICTX *ctx, const struct mvd_session *s)
{
	const struct mvd_config *c = &s->rt->cfg;
	char reason[300];

	snprintf(reason, sizeof reason, "mailvetd: DMARC policy of the author's domain (%s)",
	         c->authserv_id);
	if (c->quarantine == MVD_QUARANTINE_MILTER)
		return smfi_quarantine(ctx, reason) == MI_SUCCESS;
	snprintf(reason, sizeof reason, " %s; dmarc=fail", c->authserv_id);
	return smfi_insheader(ctx, 0, c->quarantine_header, s->leadspc ? reason : reason + 1) ==
	       MI_SUCCESS;
}

/* Insert the fields of text ("Name: value\r\n" each, folded) at the top, in their order. */
static int insert_fields(SMFICTX *ctx, const struct mvd_session *s, const char *text, size_t len)
{
	const char *start[16];
	size_t n = 0;
	int ok = 1;

	for (const char *p = text; p && p < text + len && *p && n < 16;) {
		start[n++] = p;
		const char *e = p;
		while ((e = strstr(e, "\r\n")) && (e[2] == ' ' || e[2] == '\t'))
			e += 2;
		p = e ? e + 2 : p + strlen(p);
	}
	for (size_t i = n; ok && i-- > 0;) {
		const char *end = i + 1 < n ? start[i + 1] : text + len;
		ok = insert_field(ctx, s, 0, start[i], (size_t)(end - start[i]));
	}
	return ok;
}

/*
 * Step 4: DKIM-sign outbound mail with the keys of its From domain. The
 * signatures go on top and stay in sigs (for the seal). Returns 0 only when
 * the MTA refused the change; a message that cannot be signed goes out
 * unsigned (and the log says why).
 */
static int sign(SMFICTX *ctx, const struct mvd_session *s, struct mv_buf *sigs,
                const char **signed_by, const char **note)
{
	const struct mvd_message *m = &s->m;
	enum mv_status st;

	if (!m->hdr || !s->rt->cfg.sign)
		return 1;
	if (m->body_too_big) {
		*note = "not signed: larger than [outbound] max_message_bytes";
		return 1;
	}
	st = mvd_signer_sign(s->rt->signer, m->hdr, m->body.data ? m->body.data : "", m->body.len,
	                     time(NULL), sigs, signed_by);
	if (st == MV_OK)
		return insert_fields(ctx, s, sigs->data, sigs->len);
	mv_buf_free(sigs);
	if (st != MV_ENOTFOUND) {
		*note = "not signed: signing failed";
		mvd_log(MVD_LOG_WARNING, "sign", "queue_id=%s: %s", m->queue_id ? m->queue_id : "-",
		        mv_status_str(st));
	}
	return 1;
}

/*
 * Step 4, after signing: ARC-seal (RFC 8617 §5.1) outbound mail that carries
 * our own earlier Authentication-Results, i.e. mail we received, checked and
 * now forward or a list re-sends out of the domain. The message sealed is
 * the one leaving (new DKIM-Signatures on top, forged fields gone; the field
 * we add for this hop is not copied into the AAR: it describes the list's
 * own submission, not the author's message); cv= comes from lib/verify's
 * validation of the chain as received. Returns 0 only when the MTA refused
 * the change; a message that cannot be sealed goes out unsealed (logged).
 * A chain left undetermined by a temporary DNS failure (MV_ETEMP) is not
 * sealed with cv=fail, which would end it for good: with [policy]
 * temperror = tempfail *tempfail is set (the caller answers 451 4.4.3),
 * else the message goes out unsealed (logged).
 */
static int seal(SMFICTX *ctx, struct mvd_session *s, const struct mv_buf *sigs, const char **note,
                int *tempfail)
{
	struct mvd_message *m = &s->m;
	struct mv_msg *out = NULL;
	struct mv_buf arc = MV_BUF_INIT;
	size_t nsets = 0;
	enum mv_status st;
	int ok = 1;

	if (!m->hdr || !s->rt->cfg.arc_seal)
		return 1;
	st = mvd_seal_header(sigs->data, sigs->len, m->hdr, m->ar_delete, m->ndelete, &out);
	if (st != MV_OK || !mvd_has_own_results(out, s->rt->cfg.authserv_id))
		goto out;
	if (m->body_too_big) {
		*note = "not sealed: larger than [outbound] max_message_bytes";
		goto out;
	}
	st = mvd_signer_seal(s->rt->signer, out, m->mail_from, m->body.data ? m->body.data : "",
	                     m->body.len, mv_verify_arc(m->v), s->rt->resolver, time(NULL), &arc,
	                     &m->sealed_by, &nsets);
	if (st == MV_OK && nsets > 0)
		ok = insert_fields(ctx, s, arc.data, arc.len);
	else
		m->sealed_by = NULL;
out:
	if (st == MV_ETEMP) {
		*tempfail = s->rt->cfg.temperror == MVD_FAIL_TEMPFAIL;
		*note = *tempfail ? "not sealed: temporary DNS failure validating the ARC chain"
		                  : "not sealed: temporary DNS failure validating the ARC chain "
		                    "(temperror=accept)";
		mvd_log(MVD_LOG_WARNING, "seal", "queue_id=%s: %s", m->queue_id ? m->queue_id : "-",
		        *note);
	} else if (st != MV_OK && st != MV_ENOTFOUND) {
		*note = "not sealed: sealing failed";
		mvd_log(MVD_LOG_WARNING, "seal", "queue_id=%s: %s", m->queue_id ? m->queue_id : "-",
		        mv_status_str(st));
	}
	mv_buf_free(&arc);
	mv_msg_free(out);
	return ok;
}

/* An internal error: the configured on_error, never a crash or a lost message. */
static sfsistat internal_error(SMFICTX *ctx, struct mvd_session *s, const char *what)
{
	const struct mvd_config *c = &s->rt->cfg;
	char note[200];

	snprintf(note, sizeof note, "internal error in %s: %s", what, mv_status_str(s->m.fail_st));
	if (c->on_error == MVD_FAIL_ACCEPT) {
		/* Forged fields go even now: they would otherwise pass as ours. */
		delete_forged(ctx, &s->m);
		mvd_report(s, "accept", NULL, note);
		return SMFIS_ACCEPT;
	}
	set_reply(ctx, NULL, NULL, DEFAULT_ERROR);
	mvd_report(s, "tempfail", NULL, note);
	return SMFIS_TEMPFAIL;
}

/*
 * A message whose header lib/verify could not take whole (a malformed
 * field, or more fields than the limit) is never judged without the fields
 * it lost: one of them may be the From that decides DMARC. It is refused as
 * [policy] unreadable_header says, whatever its direction.
 */
static sfsistat unreadable(SMFICTX *ctx, struct mvd_session *s)
{
	const struct mvd_message *m = &s->m;
	int tempfail = s->rt->cfg.unreadable_header == MVD_REFUSE_TEMPFAIL;
	char note[200];

	snprintf(note, sizeof note, "header not read whole: %zu field%s refused, the first (%s) %s",
	         m->nbad_headers, m->nbad_headers == 1 ? "" : "s", m->bad_header_name,
	         m->bad_header_st == MV_ETOOBIG ? "past the header limits" : "malformed");
	set_reply(ctx, NULL, NULL,
	          tempfail ? DEFAULT_UNREADABLE_TEMPFAIL : DEFAULT_UNREADABLE_REJECT);
	mvd_report(s, tempfail ? "tempfail" : "reject", NULL, note);
	return tempfail ? SMFIS_TEMPFAIL : SMFIS_REJECT;
}

sfsistat mvd_eom(SMFICTX *ctx, struct mvd_session *s)
{
	struct mvd_message *m = &s->m;
	const struct mvd_config *c = &s->rt->cfg;
	const char *note = NULL, *signed_by = NULL;
	const char *field;
	char override[300];
	struct mv_buf sigs = MV_BUF_INIT;
	enum mv_status st;
	enum verdict v;
	int seal_tempfail = 0;

	if (!m->queue_id)
		m->queue_id = smfi_getsymval(ctx, "i") ? strdup(smfi_getsymval(ctx, "i")) : NULL;
	if (!m->failed && (st = mv_verify_end(m->v)) != MV_OK)
		mvd_message_fail(m, st, "verify_end");
	if (m->failed)
		return internal_error(ctx, s, m->fail_where);
	if (m->nbad_headers)
		return unreadable(ctx, s);
	v = decide(s, &note);
	if (!note && mv_verify_arc_override(m->v)) {
		snprintf(override, sizeof override,
		         "dmarc policy overridden by trusted ARC sealer %s",
		         mv_verify_arc_override(m->v));
		note = override;
	}
	if (v == V_REJECT) {
		set_reply(ctx, c->reject_text, mv_verify_reply(m->v), DEFAULT_REJECT);
		mvd_report(s, "reject", NULL, note);
		return SMFIS_REJECT;
	}
	if (v == V_TEMPFAIL) {
		set_reply(ctx, c->tempfail_text, mv_verify_reply(m->v), DEFAULT_TEMPFAIL);
		mvd_report(s, "tempfail", NULL, note);
		return SMFIS_TEMPFAIL;
	}
	field = mv_verify_header_field(m->v);
	if (!delete_forged(ctx, m) || !field || !insert_field(ctx, s, 0, field, strlen(field))) {
		mvd_message_fail(m, MV_EIO, "header changes");
		return internal_error(ctx, s, "header changes");
	}
	if (v == V_QUARANTINE && !quarantine(ctx, s)) {
		mvd_message_fail(m, MV_EIO, "quarantine");
		return internal_error(ctx, s, "quarantine");
	}
	if (m->outbound && (!sign(ctx, s, &sigs, &signed_by, &note) ||
	                    !seal(ctx, s, &sigs, &note, &seal_tempfail))) {
		mv_buf_free(&sigs);
		mvd_message_fail(m, MV_EIO, "signing");
		return internal_error(ctx, s, "signing");
	}
	mv_buf_free(&sigs);
	if (seal_tempfail) {
		set_reply(ctx, NULL, NULL, DEFAULT_SEAL_TEMPFAIL);
		mvd_report(s, "tempfail", NULL, note); /* the MTA drops our changes */
		return SMFIS_TEMPFAIL;
	}
	mvd_report(s, v == V_QUARANTINE ? "quarantine" : "accept", signed_by, note);
	return SMFIS_CONTINUE;
}
