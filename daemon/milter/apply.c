/* daemon/milter/apply.c — end of message: the pipeline's outcome handed to the MTA through libmilter. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "session.h"

/* The verdict's reply to libmilter, which reads '%' as a format character. */
static void set_reply(SMFICTX *ctx, const struct mvd_verdict *v)
{
	char text[2 * sizeof v->text];
	size_t o = 0;

	for (const char *p = v->text; *p && o + 2 < sizeof text; p++) {
		text[o++] = *p;
		if (*p == '%')
			text[o++] = '%';
	}
	text[o] = '\0';
	if (smfi_setreply(ctx, (char *)v->code, (char *)v->xcode, text) != MI_SUCCESS)
		mvd_log(MVD_LOG_WARNING, "reply", "the MTA library refused the reply \"%s %s %s\"",
		        v->code, v->xcode, text);
}

/*
 * Insert a field at the top. The MTA wants line breaks as LF, and the
 * leading space of the value only when it keeps leading spaces.
 */
static int insert_field(SMFICTX *ctx, const struct mvd_session *s, const struct mvd_edit *e)
{
	struct mv_buf value = MV_BUF_INIT;
	const char *p = e->value;
	int ok = 0;

	if (!s->leadspc)
		while (*p == ' ' || *p == '\t')
			p++;
	for (; *p; p++)
		if (*p != '\r')
			mv_buf_putc(&value, *p);
	mv_buf_putc(&value, '\0');
	if (mv_buf_status(&value) == MV_OK)
		ok = smfi_insheader(ctx, 0, (char *)e->name, value.data) == MI_SUCCESS;
	mv_buf_free(&value);
	return ok;
}

/* Apply the edits in their order; 0 when the MTA refused one. */
static int apply_edits(SMFICTX *ctx, const struct mvd_session *s, const struct mvd_outcome *o)
{
	for (size_t i = 0; i < o->nedits; i++) {
		const struct mvd_edit *e = &o->edits[i];
		int ok = e->kind == MVD_EDIT_DELETE
		                 ? smfi_chgheader(ctx, (char *)e->name, (int)e->index, NULL) ==
		                           MI_SUCCESS
		                 : insert_field(ctx, s, e);
		if (!ok)
			return 0;
	}
	return 1;
}

/* The outcome through libmilter; 0 when the MTA refused part of it. */
static int apply(SMFICTX *ctx, const struct mvd_session *s, const struct mvd_outcome *o)
{
	if (o->verdict.action == MVD_ACTION_REJECT || o->verdict.action == MVD_ACTION_TEMPFAIL) {
		set_reply(ctx, &o->verdict);
		return 1;
	}
	if (!apply_edits(ctx, s, o))
		return 0;
	return o->verdict.action != MVD_ACTION_QUARANTINE ||
	       smfi_quarantine(ctx, (char *)o->verdict.reason) == MI_SUCCESS;
}

static sfsistat answer(const struct mvd_outcome *o)
{
	switch (o->verdict.action) {
	case MVD_ACTION_REJECT:
		return SMFIS_REJECT;
	case MVD_ACTION_TEMPFAIL:
		return SMFIS_TEMPFAIL;
	case MVD_ACTION_ACCEPT:
	case MVD_ACTION_QUARANTINE:
		break;
	}
	return SMFIS_CONTINUE;
}

sfsistat mvd_milter_apply(SMFICTX *ctx, struct mvd_session *s)
{
	struct mvd_message *m = &s->m;
	struct mvd_outcome o;

	if (!m->p) { /* out of memory before the message could start */
		mvd_log(MVD_LOG_ERR, "message", "queue_id=%s: out of memory",
		        m->queue_id ? m->queue_id : "-");
		return s->rt->cfg.on_error == MVD_FAIL_ACCEPT ? SMFIS_ACCEPT : SMFIS_TEMPFAIL;
	}
	if (!m->queue_id && smfi_getsymval(ctx, "i"))
		mvd_pipeline_set_queue_id(m->p, smfi_getsymval(ctx, "i"));
	if (m->nomem)
		mvd_pipeline_fail(m->p, "milter", &o);
	else
		mvd_pipeline_end(m->p, &o);
	if (!apply(ctx, s, &o)) {
		mvd_pipeline_fail(m->p, "header changes", &o);
		apply(ctx, s, &o);
	}
	mvd_pipeline_log(m->p, &o);
	return answer(&o);
}
