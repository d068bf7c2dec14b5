/* daemon/pipeline/submit.c — authenticated mail: may this login use these sender addresses (spamops §3.1)? */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mailvet/auth.h>

#include "log.h"
#include "pipeline_int.h"

#define SUBMIT_FIELD_MAX 8192 /* a From or Sender value kept for the check */

void mvd_pipeline_submit_header(struct mvd_pipeline *p, const char *name, const char *value)
{
	size_t nlen = strlen(name), vlen = strlen(value), n = 0;
	char *copy;

	if (!p->env.auth_id)
		return;
	if (mv_ascii_ieq(name, nlen, "Message-ID") && !p->submit_msgid) {
		while (*value == ' ' || *value == '\t')
			value++;
		p->submit_msgid = mv_strndup(value, strcspn(value, "\r\n"));
		return;
	}
	if (!p->rt->submit.senders ||
	    !(mv_ascii_ieq(name, nlen, "From") || mv_ascii_ieq(name, nlen, "Sender")))
		return;
	if (p->nsubmit_fields == MVD_SUBMIT_FIELDS || vlen > SUBMIT_FIELD_MAX) {
		p->submit_unreadable = 1; /* refused at the end: not checked is not allowed */
		return;
	}
	if (!(copy = malloc(vlen + 1))) {
		mvd_pipeline_failed(p, MV_ENOMEM, "header");
		return;
	}
	for (size_t i = 0; i < vlen; i++) /* unfolded: the line ends go, the WSP stays */
		if (value[i] != '\r' && value[i] != '\n')
			copy[n++] = value[i];
	copy[n] = '\0';
	p->submit_fields[p->nsubmit_fields++] = copy;
}

/* The refusal of a sender the login may not use. */
static void refuse(struct mvd_pipeline *p, struct mvd_outcome *out, const char *addr)
{
	struct mvd_verdict *v = &out->verdict;

	v->action = MVD_ACTION_REJECT;
	snprintf(v->code, sizeof v->code, "550");
	snprintf(v->xcode, sizeof v->xcode, "5.7.1");
	snprintf(v->text, sizeof v->text, "<%.300s>: sender address not allowed for this login",
	         addr);
	snprintf(p->note, sizeof p->note, "sender <%.200s> not allowed for login %.60s", addr,
	         p->env.auth_id);
	out->note = p->note;
}

/* Mail another front end (the MTA, through the milter) authenticated: the per-login message limit. */
static int over_limit(struct mvd_pipeline *p, struct mvd_outcome *out)
{
	const struct mvd_submission_conf *c = &p->rt->cfg.submission;
	struct mvd_verdict *v = &out->verdict;

	if (p->env.limits_counted)
		return 0;
	if (c->recipients_per_message && p->env.nrcpt > c->recipients_per_message) {
		v->action = MVD_ACTION_TEMPFAIL;
		snprintf(v->code, sizeof v->code, "452");
		snprintf(v->xcode, sizeof v->xcode, "4.5.3");
		snprintf(v->text, sizeof v->text,
		         "Too many recipients for this login (at most %u a message)",
		         c->recipients_per_message);
		snprintf(p->note, sizeof p->note, "login %.60s: %u recipients, over %u",
		         p->env.auth_id, p->env.nrcpt, c->recipients_per_message);
		out->note = p->note;
		return 1;
	}
	if (mvd_submit_take_message(c, p->env.auth_id))
		return 0;
	v->action = MVD_ACTION_TEMPFAIL;
	snprintf(v->code, sizeof v->code, "451");
	snprintf(v->xcode, sizeof v->xcode, "4.7.1");
	snprintf(v->text, sizeof v->text, "Message limit reached for this login, try again later");
	snprintf(p->note, sizeof p->note, "login %.60s over %u messages an hour", p->env.auth_id,
	         c->messages_per_hour);
	out->note = p->note;
	return 1;
}

int mvd_pipeline_submit_refused(struct mvd_pipeline *p, struct mvd_outcome *out)
{
	const struct mv_auth_senders *map = p->rt->submit.senders;
	size_t lens[MVD_SUBMIT_FIELDS];
	char *bad = NULL, err[200] = "";
	enum mv_status st;

	if (!p->env.auth_id)
		return 0;
	if (!map)
		return over_limit(p, out);
	if (!mvd_submit_sender_ok(&p->rt->submit, p->env.auth_id, p->env.mail_from)) {
		refuse(p, out, p->env.mail_from);
		return 1;
	}
	if (p->submit_unreadable) {
		refuse(p, out, "(a From or Sender field too long or repeated too often)");
		return 1;
	}
	if (p->nsubmit_fields == 0)
		return 0; /* no From: DMARC's rules for a missing From decide */
	for (size_t i = 0; i < p->nsubmit_fields; i++)
		lens[i] = strlen(p->submit_fields[i]);
	st = mv_auth_senders_check_header(map, p->env.auth_id,
	                                  (const char *const *)p->submit_fields, lens,
	                                  p->nsubmit_fields, &bad, err, sizeof err);
	if (st == MV_ENOMEM) {
		mvd_pipeline_failed(p, st, "sender check");
		return 0;
	}
	if (st != MV_OK) {
		refuse(p, out, "(unreadable From or Sender)");
		mvd_log(MVD_LOG_DEBUG, "submit", "queue_id=%s %s", mvd_pipeline_queue_id(p), err);
		return 1;
	}
	if (bad) {
		refuse(p, out, bad);
		free(bad);
		return 1;
	}
	return over_limit(p, out);
}

void mvd_pipeline_submit_free(struct mvd_pipeline *p)
{
	free(p->submit_msgid);
	p->submit_msgid = NULL;
	for (size_t i = 0; i < p->nsubmit_fields; i++)
		free(p->submit_fields[i]);
	p->nsubmit_fields = 0;
}
