/* lib/spf/authres.c — an SPF verdict as an Authentication-Results result record (RFC 8601 §2.7.2). */
#include <stdio.h>
#include <string.h>

#include <mailvet/authres.h>
#include <mailvet/spf.h>

enum mv_status mv_spf_authres_result(const struct mv_spf_verdict *v, struct mv_result **out)
{
	struct mv_result *res = NULL;
	enum mv_status st;
	char comment[300];

	*out = NULL;
	if ((st = mv_result_new("spf", mv_spf_result_str(v->result), &res)) != MV_OK)
		return st;
	if (v->mechanism) {
		if (strcmp(v->mechanism, "default") == 0)
			snprintf(comment, sizeof comment, "no mechanism matched");
		else
			snprintf(comment, sizeof comment, "matched %s", v->mechanism);
		if ((st = mv_result_set_comment(res, comment)) != MV_OK)
			goto out;
	}
	if (v->problem && *v->problem &&
	    (v->result == MV_SPF_TEMPERROR || v->result == MV_SPF_PERMERROR) &&
	    (st = mv_result_set_reason(res, v->problem)) != MV_OK)
		goto out;
	if (v->domain && *v->domain)
		st = mv_result_add_prop(res, "smtp",
		                        v->identity == MV_SPF_ID_HELO ? "helo" : "mailfrom",
		                        v->domain);
out:
	if (st != MV_OK) {
		mv_result_free(res);
		return st;
	}
	*out = res;
	return MV_OK;
}
