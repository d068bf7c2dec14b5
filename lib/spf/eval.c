/* lib/spf/eval.c — check_host() (RFC 7208 §4): identities, record lookup, terms, include, redirect. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mailvet/dns.h>

#include "spf/spf_int.h"

/* include nests at most this deep; the term limit stops it long before. */
#define MAX_INCLUDE_DEPTH (MV_SPF_MAX_DNS_TERMS + 1)

/* What one check_host() call decided; strings and record owned. */
struct host_result {
	enum mv_spf_result result;
	char *mechanism;           /* the matching directive, or "default" */
	struct mv_spf_record *rec; /* the record that decided (after redirects) */
	char *domain;              /* its <domain> */
};

static void host_result_clear(struct host_result *h)
{
	free(h->mechanism);
	mv_spf_record_free(h->rec);
	free(h->domain);
	memset(h, 0, sizeof *h);
}

enum mv_spf_outcome mv_spf_eval_fail(struct mv_spf_eval *ev, enum mv_spf_outcome o, const char *fmt,
                                     ...)
{
	va_list ap;

	if (ev->problem[0] == '\0') {
		va_start(ap, fmt);
		vsnprintf(ev->problem, sizeof ev->problem, fmt, ap);
		va_end(ap);
	}
	return o;
}

enum mv_status mv_spf_eval_query(struct mv_spf_eval *ev, const char *name, enum mv_dns_type type,
                                 struct mv_dns_answer **out)
{
	*out = NULL;
	if (!ev->expired && ev->clock_ms(ev->clock_arg) >= ev->deadline_ms) {
		ev->expired = 1;
		snprintf(ev->problem, sizeof ev->problem,
		         "SPF check exceeded its time limit of %u ms (RFC 7208 section 4.6.4) "
		         "before the query for %.100s",
		         ev->timeout_ms, name);
	}
	if (ev->expired)
		return MV_ETIMEOUT;
	return mv_dns_query(ev->r, name, type, out);
}

enum mv_spf_outcome mv_spf_eval_count_term(struct mv_spf_eval *ev, const char *term)
{
	if (++ev->dns_terms > MV_SPF_MAX_DNS_TERMS)
		return mv_spf_eval_fail(ev, MV_SPF_O_PERMERROR,
		                        "more than %d DNS-querying terms at '%s'",
		                        MV_SPF_MAX_DNS_TERMS, term);
	return MV_SPF_O_NOMATCH;
}

void mv_spf_eval_macro_ctx(struct mv_spf_eval *ev, const char *domain, struct mv_spf_macro_ctx *ctx)
{
	memset(ctx, 0, sizeof *ctx);
	ctx->sender = ev->sender;
	ctx->local = ev->local;
	ctx->sender_domain = ev->sender_domain;
	ctx->domain = domain;
	ctx->helo = ev->helo;
	ctx->ip = &ev->ip;
	ctx->receiver = ev->receiver;
	ctx->now = ev->now;
	ctx->validated_name = mv_spf_ptr_macro;
	ctx->arg = ev;
	ev->domain = domain;
}

enum mv_status mv_spf_eval_target(struct mv_spf_eval *ev, const char *spec, const char *domain,
                                  struct mv_buf *out, int *valid)
{
	struct mv_spf_macro_ctx ctx;
	enum mv_status st;

	*valid = 0;
	mv_buf_reset(out);
	if (!spec) {
		mv_buf_puts(out, domain);
	} else {
		mv_spf_eval_macro_ctx(ev, domain, &ctx);
		if ((st = mv_spf_macro_expand(&ctx, spec, strlen(spec), MV_SPF_MACRO_DOMAIN,
		                              out)) != MV_OK)
			return st;
	}
	if ((st = mv_buf_status(out)) != MV_OK)
		return st;
	*valid = mv_spf_domain_finish(out);
	return MV_OK;
}

int mv_spf_name_within(const char *name, const char *suffix)
{
	size_t n = strlen(name), m = strlen(suffix);

	if (n > 0 && name[n - 1] == '.')
		n--;
	if (m > 0 && suffix[m - 1] == '.')
		m--;
	if (m == 0 || m > n || (n > m && name[n - m - 1] != '.'))
		return 0;
	return mv_ascii_ieq_mem(name + n - m, m, suffix, m);
}

/*
 * §4.4, §4.5: fetch and parse the SPF record of domain. On MV_OK either
 * *rec is set, or *res says what the lookup came to (none, temperror,
 * permerror) and *rec is NULL.
 */
static enum mv_status fetch_record(struct mv_spf_eval *ev, const char *domain,
                                   struct mv_spf_record **rec, enum mv_spf_result *res)
{
	struct mv_dns_answer *ans = NULL;
	const struct mv_dns_rr *found = NULL;
	enum mv_status st;
	size_t i, n = 0;
	char err[160];

	*rec = NULL;
	*res = MV_SPF_NONE;
	st = mv_spf_eval_query(ev, domain, MV_DNS_TXT, &ans);
	if (st == MV_ETIMEOUT) { /* the time limit (§4.6.4); the problem says so */
		*res = MV_SPF_TEMPERROR;
		return MV_OK;
	}
	if (st == MV_EINVAL) { /* not a name DNS can ask about: §4.3 */
		mv_spf_eval_fail(ev, 0, "'%s' is not a valid domain name", domain);
		return MV_OK;
	}
	if (st != MV_OK)
		return st;
	switch (ans->rcode) {
	case MV_DNS_SERVFAIL:
	case MV_DNS_TIMEOUT:
		*res = MV_SPF_TEMPERROR;
		mv_spf_eval_fail(ev, 0, "DNS %s for TXT %s",
		                 ans->rcode == MV_DNS_TIMEOUT ? "timeout" : "failure", domain);
		goto out;
	case MV_DNS_NXDOMAIN:
	case MV_DNS_NODATA:
		mv_spf_eval_fail(ev, 0, "no SPF record at %s", domain);
		goto out;
	case MV_DNS_RECORDS:
		break;
	}
	for (i = 0; i < ans->count; i++)
		if (ans->rr[i].type == MV_DNS_TXT &&
		    mv_spf_record_is_spf1(ans->rr[i].txt, ans->rr[i].txtlen)) {
			found = &ans->rr[i];
			n++;
		}
	if (n == 0) {
		mv_spf_eval_fail(ev, 0, "no SPF record at %s", domain);
		goto out;
	}
	if (n > 1) {
		*res = MV_SPF_PERMERROR;
		mv_spf_eval_fail(ev, 0, "%zu SPF records at %s", n, domain);
		goto out;
	}
	st = mv_spf_record_parse(found->txt, found->txtlen, rec, err, sizeof err);
	if (st == MV_ESYNTAX || st == MV_ETOOBIG) {
		*res = MV_SPF_PERMERROR;
		mv_spf_eval_fail(ev, 0, "SPF record of %s: %s", domain, err);
		st = MV_OK;
	}
out:
	mv_dns_answer_free(ans);
	return st;
}

static enum mv_status check_host(struct mv_spf_eval *ev, const char *domain, int depth,
                                 struct host_result *hr);

/* §5.2 include: recursive check_host() with the target; its result mapped. */
static enum mv_status eval_include(struct mv_spf_eval *ev, const struct mv_spf_term *t,
                                   const char *domain, int depth, enum mv_spf_outcome *o)
{
	struct mv_buf target = MV_BUF_INIT;
	struct host_result sub = {0};
	enum mv_status st;
	int valid;

	if ((*o = mv_spf_eval_count_term(ev, t->text)) != MV_SPF_O_NOMATCH)
		return MV_OK;
	if ((st = mv_spf_eval_target(ev, t->domain, domain, &target, &valid)) != MV_OK)
		goto out;
	if (!valid) {
		*o = mv_spf_eval_fail(ev, MV_SPF_O_PERMERROR,
		                      "include target of '%s' is not a name", t->text);
		goto out;
	}
	if (depth + 1 > MAX_INCLUDE_DEPTH) {
		*o = mv_spf_eval_fail(ev, MV_SPF_O_PERMERROR, "includes nested too deep");
		goto out;
	}
	if ((st = check_host(ev, target.data, depth + 1, &sub)) != MV_OK)
		goto out;
	switch (sub.result) {
	case MV_SPF_PASS:
		*o = MV_SPF_O_MATCH;
		break;
	case MV_SPF_FAIL:
	case MV_SPF_SOFTFAIL:
	case MV_SPF_NEUTRAL:
		*o = MV_SPF_O_NOMATCH;
		break;
	case MV_SPF_TEMPERROR:
		*o = MV_SPF_O_TEMPERROR;
		break;
	case MV_SPF_NONE:
		*o = mv_spf_eval_fail(ev, MV_SPF_O_PERMERROR, "'%s': no SPF record at %s", t->text,
		                      target.data);
		break;
	case MV_SPF_PERMERROR:
		*o = MV_SPF_O_PERMERROR;
		break;
	}
out:
	host_result_clear(&sub);
	mv_buf_free(&target);
	return st;
}

/* §4.6.2: the terms of rec in order until one matches. */
static enum mv_status eval_terms(struct mv_spf_eval *ev, const struct mv_spf_record *rec,
                                 const char *domain, int depth, const struct mv_spf_term **hit,
                                 enum mv_spf_outcome *o)
{
	enum mv_status st = MV_OK;
	size_t i;

	*hit = NULL;
	*o = MV_SPF_O_NOMATCH;
	for (i = 0; i < rec->nterms && *o == MV_SPF_O_NOMATCH; i++) {
		const struct mv_spf_term *t = &rec->terms[i];
		if (t->mech == MV_SPF_M_INCLUDE)
			st = eval_include(ev, t, domain, depth, o);
		else
			st = mv_spf_mech_eval(ev, t, domain, o);
		if (st != MV_OK)
			return st;
		if (ev->expired)
			*o = MV_SPF_O_TEMPERROR; /* past the time limit, whatever the term said */
		if (*o != MV_SPF_O_NOMATCH)
			*hit = t;
	}
	return MV_OK;
}

/* The redirect target of rec (§6.1) into *next (owned), or a permerror. */
static enum mv_status follow_redirect(struct mv_spf_eval *ev, const struct mv_spf_record *rec,
                                      const char *domain, char **next, enum mv_spf_outcome *o)
{
	struct mv_buf target = MV_BUF_INIT;
	enum mv_status st;
	int valid;

	*next = NULL;
	if ((*o = mv_spf_eval_count_term(ev, "redirect")) != MV_SPF_O_NOMATCH)
		return MV_OK;
	if ((st = mv_spf_eval_target(ev, rec->redirect, domain, &target, &valid)) != MV_OK)
		goto out;
	if (!valid) {
		*o = mv_spf_eval_fail(ev, MV_SPF_O_PERMERROR, "redirect target is not a name");
		goto out;
	}
	if (!(*next = mv_buf_steal(&target, NULL)))
		st = MV_ENOMEM;
out:
	mv_buf_free(&target);
	return st;
}

static enum mv_spf_result outcome_result(enum mv_spf_outcome o, const struct mv_spf_term *t)
{
	if (o == MV_SPF_O_TEMPERROR)
		return MV_SPF_TEMPERROR;
	if (o == MV_SPF_O_PERMERROR)
		return MV_SPF_PERMERROR;
	return t->qualifier;
}

/*
 * check_host(<ip>, <domain>, <sender>) of §4, iterative over redirect
 * (§6.1), recursive over include (depth-bounded). hr is filled; its record
 * and domain are those that decided.
 */
static enum mv_status check_host(struct mv_spf_eval *ev, const char *domain, int depth,
                                 struct host_result *hr)
{
	enum mv_status st = MV_OK;
	const struct mv_spf_term *hit;
	enum mv_spf_outcome o;
	int redirected = 0;
	char *next;

	memset(hr, 0, sizeof *hr);
	if (!(hr->domain = mv_strndup(domain, strlen(domain))))
		return MV_ENOMEM;
	for (;;) {
		if ((st = fetch_record(ev, hr->domain, &hr->rec, &hr->result)) != MV_OK)
			return st;
		if (!hr->rec) {
			if (redirected && hr->result == MV_SPF_NONE)
				hr->result = MV_SPF_PERMERROR; /* §6.1 */
			return MV_OK;
		}
		if ((st = eval_terms(ev, hr->rec, hr->domain, depth, &hit, &o)) != MV_OK)
			return st;
		if (hit) {
			hr->result = outcome_result(o, hit);
			if (o == MV_SPF_O_MATCH &&
			    !(hr->mechanism = mv_strndup(hit->text, strlen(hit->text))))
				return MV_ENOMEM;
			return MV_OK;
		}
		if (!hr->rec->redirect || hr->rec->has_all) {
			hr->result = MV_SPF_NEUTRAL; /* §4.7 */
			hr->mechanism = mv_strndup("default", 7);
			return hr->mechanism ? MV_OK : MV_ENOMEM;
		}
		if ((st = follow_redirect(ev, hr->rec, hr->domain, &next, &o)) != MV_OK)
			return st;
		if (o != MV_SPF_O_NOMATCH) {
			hr->result = MV_SPF_PERMERROR;
			return MV_OK;
		}
		mv_spf_record_free(hr->rec);
		hr->rec = NULL;
		free(hr->domain);
		hr->domain = next;
		redirected = 1;
	}
}

/* Copy the decision of the top-level check_host() into the verdict. */
static enum mv_status fill_verdict(struct mv_spf_eval *ev, struct host_result *hr,
                                   struct mv_spf_verdict *out)
{
	enum mv_status st = MV_OK;

	out->result = hr->result;
	out->mechanism = hr->mechanism;
	hr->mechanism = NULL;
	if (hr->result == MV_SPF_FAIL && hr->rec)
		st = mv_spf_explain(ev, hr->rec, hr->domain, &out->explanation,
		                    &out->explanation_default);
	if (st == MV_OK && (hr->result == MV_SPF_NONE || hr->result == MV_SPF_TEMPERROR ||
	                    hr->result == MV_SPF_PERMERROR)) {
		if (!(out->problem = mv_strndup(ev->problem, strlen(ev->problem))))
			st = MV_ENOMEM;
	}
	return st;
}

enum mv_status mv_spf_check_clock(struct mv_resolver *r, const struct mv_spf_request *req,
                                  uint64_t (*clock_ms)(void *arg), void *arg,
                                  struct mv_spf_verdict *out)
{
	struct mv_spf_eval ev;
	struct mv_spf_ident id = {0};
	struct host_result hr = {0};
	enum mv_status st;

	if (!out)
		return MV_EINVAL;
	memset(out, 0, sizeof *out);
	memset(&ev, 0, sizeof ev);
	if (!req || !r || mv_cidr_ip_parse(req->ip, &ev.ip) != MV_OK)
		return MV_EINVAL;
	out->identity = req->identity;
	if ((st = mv_spf_ident_build(req, &id)) != MV_OK)
		goto out;
	ev.r = r;
	ev.clock_ms = clock_ms;
	ev.clock_arg = arg;
	ev.timeout_ms = req->timeout_ms ? req->timeout_ms : MV_SPF_TIMEOUT_MS;
	ev.deadline_ms = clock_ms(arg) + ev.timeout_ms;
	ev.sender = id.sender;
	ev.local = id.local;
	ev.sender_domain = id.domain;
	ev.helo = req->helo ? req->helo : "";
	ev.receiver = req->receiver;
	ev.now = req->now;
	out->domain = mv_strndup(id.domain, strlen(id.domain));
	out->sender = mv_strndup(id.sender, strlen(id.sender));
	if (!out->domain || !out->sender) {
		st = MV_ENOMEM;
		goto out;
	}
	mv_ascii_lower(out->domain, strlen(out->domain));
	if (!mv_spf_domain_checkable(id.domain)) {
		out->result = MV_SPF_NONE; /* §4.3 */
		mv_spf_eval_fail(&ev, 0, "'%s' is not a domain SPF can check", id.domain);
		out->problem = mv_strndup(ev.problem, strlen(ev.problem));
		st = out->problem ? MV_OK : MV_ENOMEM;
		goto out;
	}
	if ((st = check_host(&ev, id.domain, 0, &hr)) != MV_OK)
		goto out;
	if (ev.expired) { /* §4.6.4: "the result of authorization SHOULD be temperror" */
		hr.result = MV_SPF_TEMPERROR;
		free(hr.mechanism);
		hr.mechanism = NULL;
	}
	st = fill_verdict(&ev, &hr, out);
out:
	out->dns_terms = ev.dns_terms;
	out->void_lookups = ev.voids;
	host_result_clear(&hr);
	mv_spf_ident_clear(&id);
	free(ev.pname);
	free(ev.pname_domain);
	if (st != MV_OK) {
		enum mv_spf_identity idt = out->identity;
		mv_spf_verdict_clear(out);
		out->identity = idt;
	}
	return st;
}

/* CLOCK_MONOTONIC in milliseconds. */
static uint64_t monotonic_ms(void *arg)
{
	struct timespec ts;

	(void)arg;
	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
		return 0; /* cannot happen for CLOCK_MONOTONIC; the limit then never expires */
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

enum mv_status mv_spf_check(struct mv_resolver *r, const struct mv_spf_request *req,
                            struct mv_spf_verdict *out)
{
	return mv_spf_check_clock(r, req, monotonic_ms, NULL, out);
}
