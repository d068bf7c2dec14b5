/* lib/spf/explain.c — the explanation of a fail (RFC 7208 §6.2): exp= or our default. */
#include <stdlib.h>
#include <string.h>

#include <mailvet/dns.h>

#include "spf/spf_int.h"

/* Used when the record has no exp= or it cannot be used; macros expanded like exp text. */
#define DEFAULT_EXPLANATION "%{o} does not designate %{c} as a permitted sender"

/*
 * The exp= text of rec, expanded, into out. 0 when any step fails, which
 * §6.2 says means "as if no exp modifier was given": an empty or bad name,
 * a DNS error, not exactly one TXT record, a syntax error in the text.
 * exp= lookups do not count towards the §4.6.4 limits.
 */
static int exp_text(struct mv_spf_eval *ev, const struct mv_spf_record *rec, const char *domain,
                    struct mv_buf *out)
{
	struct mv_buf name = MV_BUF_INIT;
	struct mv_dns_answer *ans = NULL;
	struct mv_spf_macro_ctx ctx;
	int valid, ok = 0;

	if (mv_spf_eval_target(ev, rec->exp, domain, &name, &valid) != MV_OK || !valid)
		goto out;
	if (mv_spf_eval_query(ev, name.data, MV_DNS_TXT, &ans) != MV_OK)
		goto out;
	if (ans->rcode != MV_DNS_RECORDS || ans->count != 1 || ans->rr[0].type != MV_DNS_TXT)
		goto out;
	mv_spf_eval_macro_ctx(ev, domain, &ctx);
	mv_buf_reset(out);
	ok = mv_spf_macro_expand(&ctx, ans->rr[0].txt, ans->rr[0].txtlen, MV_SPF_MACRO_EXPLAIN,
	                         out) == MV_OK;
out:
	mv_dns_answer_free(ans);
	mv_buf_free(&name);
	return ok;
}

enum mv_status mv_spf_explain(struct mv_spf_eval *ev, const struct mv_spf_record *rec,
                              const char *domain, char **out, int *is_default)
{
	struct mv_buf text = MV_BUF_INIT;
	struct mv_spf_macro_ctx ctx;
	enum mv_status st;

	*out = NULL;
	*is_default = 0;
	if (!rec->exp || !exp_text(ev, rec, domain, &text)) {
		*is_default = 1;
		mv_buf_reset(&text);
		mv_spf_eval_macro_ctx(ev, domain, &ctx);
		st = mv_spf_macro_expand(&ctx, DEFAULT_EXPLANATION, strlen(DEFAULT_EXPLANATION),
		                         MV_SPF_MACRO_EXPLAIN, &text);
		if (st != MV_OK) {
			mv_buf_free(&text);
			return st;
		}
	}
	if (text.len > MV_SPF_EXPLAIN_MAX) {
		text.len = MV_SPF_EXPLAIN_MAX;
		text.data[text.len] = '\0';
	}
	if (!(*out = mv_buf_steal(&text, NULL)))
		return MV_ENOMEM;
	return MV_OK;
}
