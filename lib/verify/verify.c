/* lib/verify/verify.c — one message through every check: header, body, end, results. */
#include <stdlib.h>
#include <string.h>

#include "verify/verify_int.h"

void mv_verify_config_default(struct mv_verify_config *c)
{
	memset(c, 0, sizeof *c);
	c->dkim_max_sigs = 5;
	c->dkim_allow_l = 1;
	c->iprev_max_names = MV_IPREV_MAX_NAMES;
	c->budget_ms = 20000;
	c->dmarc_reserve_pct = 25;
	mv_dmarc_config_default(&c->dmarc);
	c->dmarc_enforce = 1;
	c->dmarc_temperror_action = MV_VERIFY_TEMPFAIL;
	c->dmarc_reject_action = MV_VERIFY_REJECT;
	c->from_permerror_action = MV_VERIFY_ACCEPT;
	c->from_permerror_protect = 1; /* reject if protected */
	c->iprev = 1;
	c->arc = 1;
}

const char *mv_verify_action_str(enum mv_verify_action a)
{
	static const char *const names[] = {"accept", "reject", "quarantine", "tempfail"};

	return (unsigned)a < sizeof names / sizeof names[0] ? names[a] : "accept";
}

static char *dup_or_null(const char *s, int *fail)
{
	char *d;

	if (s == NULL)
		return NULL;
	if ((d = strdup(s)) == NULL)
		*fail = 1;
	return d;
}

void mv_verify_free(struct mv_verify *v)
{
	if (v == NULL)
		return;
	free((char *)v->env.client_ip);
	free((char *)v->env.client_name);
	free((char *)v->env.helo);
	free((char *)v->env.mail_from);
	free((char *)v->env.auth_id);
	free((char *)v->env.queue_id);
	mv_msg_free(v->msg);
	free(v->author);
	mv_dkim_verifier_free(v->dkim);
	mv_arc_validator_free(v->arc);
	free(v->arc_override);
	mv_spf_verdict_clear(&v->spf);
	mv_dmarc_verdict_clear(&v->dmarc);
	mv_buf_free(&v->dmarc.explain);
	mv_iprev_verdict_clear(&v->iprev);
	mv_authres_free(v->ar);
	free(v->field);
	free(v->reply);
	mv_buf_free(&v->explain);
	mv_dns_free(v->res); /* the budget's resolver; the caller's stays */
	free(v);
}

/* mv_verify_new(), with an empty message to take fields when with_msg (else v->msg is NULL). */
static enum mv_status make(const struct mv_verify_config *c, struct mv_resolver *r, time_t now,
                           const struct mv_envelope *env, int with_msg, struct mv_verify **out)
{
	struct mv_verify *v;
	struct mv_dkim_verify_opts o;
	enum mv_status st;
	int fail = 0;

	*out = NULL;
	if (c == NULL || r == NULL || env == NULL || c->authserv_id == NULL)
		return MV_EINVAL;
	if ((v = calloc(1, sizeof *v)) == NULL)
		return MV_ENOMEM;
	v->cfg = c;
	v->now = now;
	mv_buf_init(&v->explain);
	mv_buf_init(&v->dmarc.explain);
	v->env.client_ip = dup_or_null(env->client_ip, &fail);
	v->env.client_name = dup_or_null(env->client_name, &fail);
	v->env.helo = dup_or_null(env->helo, &fail);
	v->env.mail_from = dup_or_null(env->mail_from, &fail);
	v->env.auth_id = dup_or_null(env->auth_id, &fail);
	v->env.queue_id = dup_or_null(env->queue_id, &fail);
	v->env.outbound = env->outbound;
	mv_dkim_verify_opts_default(&o);
	o.max_signatures = c->dkim_max_sigs;
	o.refuse_l = !c->dkim_allow_l;
	o.keycache = c->dkim_keycache;
	o.no_prefetch = 1; /* its keys join the message's one batch (prefetch.c) */
	st = fail ? MV_ENOMEM : with_msg ? mv_msg_new(NULL, &v->msg) : MV_OK;
	/* every check asks through the budget (lib/verify/budget.c) */
	if (st == MV_OK)
		st = mv_verify_budget_open(&v->budget, r, c->budget_ms, c->dmarc_reserve_pct,
		                           &v->res);
	if (st == MV_OK)
		st = mv_dkim_verifier_new(&o, v->res, (int64_t)now, &v->dkim);
	/* The validator gets the resolver after the prefetch (mv_verify_header_end). */
	if (st == MV_OK && c->arc) {
		struct mv_arc_validate_opts ao;

		mv_arc_validate_opts_default(&ao);
		ao.keycache = c->dkim_keycache; /* the sealers' keys, decoded once */
		st = mv_arc_validator_new(&ao, NULL, (int64_t)now, &v->arc);
	}
	if (st != MV_OK) {
		mv_verify_free(v);
		return st;
	}
	*out = v;
	return MV_OK;
}

enum mv_status mv_verify_new(const struct mv_verify_config *c, struct mv_resolver *r, time_t now,
                             const struct mv_envelope *env, struct mv_verify **out)
{
	return make(c, r, now, env, 1, out);
}

enum mv_status mv_verify_header(struct mv_verify *v, const char *name, size_t name_len,
                                const char *value, size_t value_len)
{
	if (v->state != VERIFY_HEADER)
		return MV_EINVAL;
	return mv_msg_add_field(v->msg, name, name_len, value, value_len);
}

void mv_verify_defer_prefetch(struct mv_verify *v)
{
	if (v && v->state == VERIFY_HEADER)
		v->prefetch_deferred = 1;
}

enum mv_status mv_verify_header_end(struct mv_verify *v)
{
	enum mv_status st;

	if (v->state != VERIFY_HEADER)
		return MV_EINVAL;
	v->state = VERIFY_BODY;
	st = mv_dmarc_author_domain(v->msg, &v->author, v->author_err, sizeof v->author_err);
	if (st == MV_ENOMEM)
		return st;
	/* ARC first (no DNS yet): its key names join the one prefetch batch. */
	if (v->arc && (st = mv_arc_validator_headers(v->arc, v->msg)) != MV_OK)
		return st;
	st = mv_verify_prefetch(v); /* DKIM takes the header in there */
	if (v->arc)
		mv_arc_validator_set_resolver(v->arc, v->res);
	return st;
}

enum mv_status mv_verify_body(struct mv_verify *v, const void *p, size_t n)
{
	enum mv_status st;

	if (v->state != VERIFY_BODY)
		return MV_EINVAL;
	if ((st = mv_dkim_verifier_body(v->dkim, p, n)) != MV_OK)
		return st;
	return v->arc && n > 0 ? mv_arc_validator_body(v->arc, p, n) : MV_OK;
}

int mv_verify_spf_request(const struct mv_verify *v, struct mv_spf_request *req)
{
	memset(req, 0, sizeof *req);
	if (v->env.mail_from == NULL || v->env.client_ip == NULL)
		return 0; /* unknown envelope: spf=none */
	req->ip = v->env.client_ip;
	req->helo = v->env.helo;
	req->mail_from = v->env.mail_from;
	req->identity = MV_SPF_ID_MAILFROM;
	req->receiver = v->cfg->receiver ? v->cfg->receiver : v->cfg->authserv_id;
	req->now = (long long)v->now;
	return 1;
}

/* SPF of the MAIL FROM identity (RFC 7208 §2.4; a null sender checks postmaster@HELO). */
static enum mv_status run_spf(struct mv_verify *v)
{
	struct mv_spf_request req;
	enum mv_status st;

	if (!mv_verify_spf_request(v, &req))
		return MV_OK;
	st = mv_spf_check(v->res, &req, &v->spf);
	if (st == MV_OK)
		v->spf_done = 1;
	return st == MV_EINVAL ? MV_OK : st; /* a bad client IP: no SPF result */
}

static enum mv_status run_dmarc(struct mv_verify *v)
{
	struct mv_dmarc_input in;
	const char *doms[64], *tempdoms[64];
	enum mv_status st;
	size_t k, n = 0, nt = 0;

	memset(&in, 0, sizeof in);
	in.author_domain = v->author;
	in.author_problem = v->author_err;
	in.spf = v->spf_done ? v->spf.result : MV_SPF_NONE;
	in.spf_domain = v->spf_done ? v->spf.domain : NULL;
	for (k = 0; k < mv_dkim_verifier_count(v->dkim) && n < 64; k++) {
		const struct mv_dkim_result *d = mv_dkim_verifier_result(v->dkim, k);
		if (d->res == MV_DKIM_PASS && d->d)
			doms[n++] = d->d;
		else if (d->res == MV_DKIM_TEMPERROR && d->d && nt < 64)
			tempdoms[nt++] = d->d;
	}
	in.dkim_domains = doms;
	in.ndkim = n;
	in.dkim_temperror_domains = tempdoms;
	in.ndkim_temperror = nt;
	mv_buf_free(&v->dmarc.explain);
	/* DMARC's own share of the DNS budget: SPF cannot starve it (budget.c) */
	mv_verify_budget_phase(&v->budget, MV_VERIFY_BUDGET_DMARC);
	st = mv_dmarc_check(v->res, &v->cfg->dmarc, &in, &v->dmarc);
	mv_verify_budget_phase(&v->budget, MV_VERIFY_BUDGET_AFTER_DMARC);
	return st;
}

/* Append the record a maker produced (st is the maker's status; r its output). */
static enum mv_status add(struct mv_authres *ar, enum mv_status st, struct mv_result **r)
{
	struct mv_result *res = *r;

	*r = NULL;
	if (st != MV_OK)
		return st;
	return mv_result_list_add(&ar->results, res);
}

/*
 * spf=none when SPF was not run, with the reason why it was not checked (RFC
 * 7208 §2.6.1: none when no identity could be taken from the SMTP session;
 * RFC 8601 §2.3: a reasonspec may go with any result), so that it does not
 * read as a domain without an SPF record.
 */
static enum mv_status spf_not_checked(const struct mv_verify *v, struct mv_result **out)
{
	const char *why = !v->env.client_ip   ? "not checked: no client IP address"
	                  : !v->env.mail_from ? "not checked: no MAIL FROM"
	                                      : "not checked: the client IP address is not valid";
	enum mv_status st = mv_result_new("spf", "none", out);

	if (st == MV_OK && (st = mv_result_set_reason(*out, why)) != MV_OK) {
		mv_result_free(*out);
		*out = NULL;
	}
	return st;
}

/* The result list in a fixed order: spf, dkim..., arc, dmarc, iprev, auth. */
static enum mv_status build_results(struct mv_verify *v)
{
	struct mv_result *r = NULL;
	enum mv_status st;
	size_t k;

	if ((st = mv_authres_new(v->cfg->authserv_id, 0, &v->ar)) != MV_OK)
		return st;
	if (v->spf_done)
		st = mv_spf_authres_result(&v->spf, &r);
	else
		st = spf_not_checked(v, &r);
	st = add(v->ar, st, &r);
	for (k = 0; st == MV_OK && k < mv_dkim_verifier_count(v->dkim); k++) {
		st = mv_dkim_result_authres(mv_dkim_verifier_result(v->dkim, k), &r);
		st = add(v->ar, st, &r);
	}
	if (st == MV_OK && v->arc) { /* RFC 8617 §10.1 */
		st = mv_arc_result_authres(v->arc, v->env.client_ip, &r);
		st = add(v->ar, st, &r);
	}
	if (st == MV_OK) {
		st = mv_verify_dmarc_authres(v, &r);
		st = add(v->ar, st, &r);
	}
	if (st == MV_OK && v->iprev_done) {
		st = mv_iprev_authres_result(&v->iprev, &r);
		st = add(v->ar, st, &r);
	}
	if (st == MV_OK && v->env.auth_id) {
		st = mv_verify_auth_result(v->env.auth_id, &r);
		st = add(v->ar, st, &r);
	}
	return st;
}

enum mv_status mv_verify_end(struct mv_verify *v)
{
	struct mv_buf b = MV_BUF_INIT;
	enum mv_status st;

	if (v->state != VERIFY_BODY)
		return MV_EINVAL;
	v->state = VERIFY_DONE;
	if (v->prefetch_deferred)
		mv_verify_prefetch_ask(v);
	if ((st = mv_dkim_verifier_final(v->dkim)) != MV_OK ||
	    (v->arc && (st = mv_arc_validator_final(v->arc)) != MV_OK) ||
	    (st = run_spf(v)) != MV_OK || (st = run_dmarc(v)) != MV_OK ||
	    (st = mv_verify_arc_policy(v)) != MV_OK)
		return st;
	if (v->cfg->iprev && v->env.client_ip) {
		st = mv_iprev_check(v->res, v->env.client_ip, v->cfg->iprev_max_names, &v->iprev);
		if (st == MV_ENOMEM)
			return st;
		v->iprev_done = st == MV_OK;
	}
	/* The decision first: the dmarc result says what was done (policy.dmarc). */
	if ((st = mv_verify_decide(v)) != MV_OK || (st = build_results(v)) != MV_OK ||
	    (st = mv_authres_format(v->ar, &b)) != MV_OK) {
		mv_buf_free(&b);
		return st;
	}
	if ((v->field = mv_buf_steal(&b, NULL)) == NULL)
		return MV_ENOMEM;
	return MV_OK;
}

enum mv_status mv_verify_message(const struct mv_verify_config *c, struct mv_resolver *r,
                                 time_t now, const struct mv_envelope *env, const char *data,
                                 size_t len, struct mv_verify **out)
{
	struct mv_verify *v = NULL;
	const char *body;
	size_t blen;
	enum mv_status st;

	*out = NULL;
	if ((st = make(c, r, now, env, 0, &v)) != MV_OK)
		return st;
	if ((st = mv_msg_parse(data, len, NULL, &v->msg, NULL, 0)) != MV_OK)
		goto out;
	mv_msg_body(v->msg, &body, &blen, NULL);
	if ((st = mv_verify_header_end(v)) != MV_OK ||
	    (st = mv_verify_body(v, body, blen)) != MV_OK)
		goto out;
	st = mv_verify_end(v);
out:
	if (st != MV_OK) {
		mv_verify_free(v);
		return st;
	}
	*out = v;
	return MV_OK;
}

const struct mv_authres *mv_verify_results(const struct mv_verify *v)
{
	return v->state == VERIFY_DONE ? v->ar : NULL;
}

const char *mv_verify_header_field(const struct mv_verify *v)
{
	return v->field;
}

enum mv_verify_action mv_verify_action(const struct mv_verify *v)
{
	return v->action;
}

const char *mv_verify_reply(const struct mv_verify *v)
{
	return v->reply;
}

const struct mv_verify_verdict *mv_verify_verdict(const struct mv_verify *v)
{
	return &v->verdict;
}

const struct mv_arc_validator *mv_verify_arc(const struct mv_verify *v)
{
	return v->state == VERIFY_DONE ? v->arc : NULL;
}

const char *mv_verify_arc_override(const struct mv_verify *v)
{
	return v->arc_override;
}

const struct mv_dmarc_verdict *mv_verify_dmarc(const struct mv_verify *v)
{
	return v->state == VERIFY_DONE ? &v->dmarc : NULL;
}

enum mv_status mv_verify_auth_result(const char *identity, struct mv_result **out)
{
	struct mv_result *r = NULL;
	enum mv_status st;

	*out = NULL;
	if ((st = mv_result_new("auth", "pass", &r)) != MV_OK)
		return st;
	if ((st = mv_result_add_prop(r, "smtp", "auth", identity)) != MV_OK) {
		mv_result_free(r);
		return st;
	}
	*out = r;
	return MV_OK;
}
