/* daemon/pipeline/message.c — one message in: envelope, header fields and body into lib/verify. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mailvet/authres.h>

#include "log.h"
#include "pipeline_int.h"

void mvd_pipeline_failed(struct mvd_pipeline *p, enum mv_status st, const char *where)
{
	if (p->failed)
		return;
	p->failed = 1;
	p->fail_st = st;
	p->fail_where = where;
}

const char *mvd_pipeline_queue_id(const struct mvd_pipeline *p)
{
	if (p->queue_id)
		return p->queue_id;
	return p->env.queue_id ? p->env.queue_id : "-";
}

enum mv_status mvd_pipeline_new(struct mvd_runtime *rt, const struct mvd_client *client,
                                const struct mvd_envelope *env, struct mvd_pipeline **out)
{
	struct mvd_pipeline *p = calloc(1, sizeof *p);
	struct mv_envelope venv;
	enum mv_status st;

	*out = NULL;
	if (!p)
		return MV_ENOMEM;
	p->rt = rt;
	p->client = client;
	p->env = *env;
	clock_gettime(CLOCK_MONOTONIC, &p->start);
	p->outbound = client->internal || env->auth_id != NULL;
	if (mvd_pipeline_local_start(p)) { /* [policy] skip_*: no checks at all */
		*out = p;
		return MV_OK;
	}
	venv.client_ip = client->ip;
	venv.client_name = client->name;
	venv.helo = client->helo;
	venv.mail_from = env->mail_from;
	venv.auth_id = env->auth_id;
	venv.queue_id = env->queue_id;
	venv.outbound = p->outbound;
	if ((st = mv_verify_new(&rt->vcfg, rt->resolver, time(NULL), &venv, &p->v)) != MV_OK)
		mvd_pipeline_failed(p, st, "verify_new");
	if (p->outbound && (rt->cfg.sign || rt->cfg.arc_seal) &&
	    (rt->keys->ntable || (rt->keys->kt && rt->cfg.sign)) &&
	    (st = mv_outbound_new(&rt->outcfg, &p->ob, NULL, 0)) != MV_OK)
		mvd_pipeline_failed(p, st, "outbound");
	*out = p;
	return MV_OK;
}

void mvd_pipeline_set_queue_id(struct mvd_pipeline *p, const char *queue_id)
{
	if (p->queue_id || !queue_id || !*queue_id)
		return;
	p->queue_id = strdup(queue_id);
}

/* Judge an Authentication-Results field by RFC 8601 §5; remember it for deletion (1). */
static int judge_authres(struct mvd_pipeline *p, const char *value)
{
	const char *why = NULL;

	p->ar_seen++;
	if (mv_authres_judge(&p->rt->arpolicy, value, strlen(value), p->client->internal, &why) !=
	    MV_AUTHRES_DELETE)
		return 0;
	if (p->ndelete == MVD_MAX_AR_DELETE) {
		mvd_pipeline_failed(p, MV_ELIMIT, "too many forged Authentication-Results");
		return 1;
	}
	p->ar_delete[p->ndelete++] = (unsigned)p->ar_seen;
	mvd_log(MVD_LOG_DEBUG, "authres-delete", "queue_id=%s index=%zu why=%s",
	        mvd_pipeline_queue_id(p), p->ar_seen, why ? why : "");
	return 1;
}

void mvd_pipeline_header(struct mvd_pipeline *p, const char *name, const char *value)
{
	size_t nlen = strlen(name), vlen = strlen(value);
	int deleted = 0;
	enum mv_status st;

	if (p->skip)
		return;
	if (mv_ascii_ieq(name, nlen, "Authentication-Results"))
		deleted = judge_authres(p, value);
	if (p->failed)
		return;
	mvd_pipeline_submit_header(p, name, value);
	st = mv_verify_header(p->v, name, nlen, value, vlen);
	if (st == MV_ESYNTAX || st == MV_ETOOBIG) {
		/* The verdict would miss this field (a From, maybe): the end refuses the message. */
		if (p->nbad_headers++ == 0) {
			p->bad_header_st = st;
			snprintf(p->bad_header_name, sizeof p->bad_header_name, "%s", name);
		}
	} else if (st != MV_OK) {
		mvd_pipeline_failed(p, st, "header");
	}
	/* The signer sees the header as it leaves: without the fields deleted at the end. */
	if (p->ob && !deleted) {
		st = mv_outbound_header(p->ob, name, nlen, value, vlen);
		if (st == MV_ENOMEM) {
			mvd_pipeline_failed(p, st, "header");
		} else if (st != MV_OK) { /* cannot be signed as received: do not sign */
			snprintf(p->not_signed, sizeof p->not_signed, "header cannot be signed: %s",
			         mv_outbound_why(p->ob));
			mvd_log(MVD_LOG_INFO, "sign", "queue_id=%s: not signed: %s",
			        mvd_pipeline_queue_id(p), mv_outbound_why(p->ob));
			mv_outbound_free(p->ob);
			p->ob = NULL;
		}
	}
}

void mvd_pipeline_header_end(struct mvd_pipeline *p)
{
	enum mv_status st;

	if (!p->skip && !p->failed && (st = mv_verify_header_end(p->v)) != MV_OK)
		mvd_pipeline_failed(p, st, "eoh");
}

void mvd_pipeline_defer_prefetch(struct mvd_pipeline *p)
{
	if (p && p->v)
		mv_verify_defer_prefetch(p->v);
}

void mvd_pipeline_body(struct mvd_pipeline *p, const void *data, size_t len)
{
	enum mv_status st;

	p->body_bytes += len;
	if (p->skip)
		return;
	if (!p->failed && (st = mv_verify_body(p->v, data, len)) != MV_OK)
		mvd_pipeline_failed(p, st, "body");
	/* Hashed as it passes, never held: a message of any size is signed. */
	if (p->ob && !p->failed && (st = mv_outbound_body(p->ob, data, len)) != MV_OK)
		mvd_pipeline_failed(p, st, "signing");
}

void mvd_pipeline_free(struct mvd_pipeline *p)
{
	if (!p)
		return;
	mvd_pipeline_record(p);
	mv_verify_free(p->v);
	mv_outbound_free(p->ob);
	mvd_pipeline_submit_free(p);
	for (size_t i = 0; i < p->nowned; i++)
		free(p->owned[i]);
	free(p->queue_id);
	mv_buf_free(&p->lp_field);
	free(p);
}
