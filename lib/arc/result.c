/* lib/arc/result.c — the arc= result as an RFC 8601 record (RFC 8617 §10.1). */
#include <stdio.h>
#include <string.h>

#include <mailvet/arc.h>

/* "rsa-sha256: i=1 example.org, i=2 lists.example.net" — who sealed the reported chain. */
static enum mv_status set_comment(struct mv_result *res, const struct mv_arc_chain_result *c)
{
	struct mv_buf b = MV_BUF_INIT;
	enum mv_status st;
	size_t k;

	mv_buf_printf(&b, "%s:", c->alg);
	for (k = 0; k < c->nhops; k++)
		mv_buf_printf(&b, "%s i=%u %s", k ? "," : "", c->hop[k].instance,
		              c->hop[k].as_d ? c->hop[k].as_d : "?");
	if ((st = mv_buf_status(&b)) == MV_OK)
		st = mv_result_set_comment(res, b.data);
	mv_buf_free(&b);
	return st;
}

enum mv_status mv_arc_result_authres(const struct mv_arc_validator *v, const char *remote_ip,
                                     struct mv_result **out)
{
	const struct mv_arc_chain_result *c = mv_arc_validator_chosen(v);
	struct mv_result *res = NULL;
	const char *reason;
	enum mv_arc_cv cv = mv_arc_validator_cv(v, &reason);
	enum mv_status st;
	char num[16];

	*out = NULL;
	if ((st = mv_result_new("arc", mv_arc_cv_str(cv), &res)) != MV_OK)
		return st;
	if (reason[0] != '\0' && (st = mv_result_set_reason(res, reason)) != MV_OK)
		goto out;
	if (c != NULL && c->nhops > 0 && (st = set_comment(res, c)) != MV_OK)
		goto out;
	if (remote_ip != NULL &&
	    (st = mv_result_add_prop(res, "smtp", "remote-ip", remote_ip)) != MV_OK)
		goto out;
	if (cv == MV_ARC_PASS && c != NULL) {
		snprintf(num, sizeof num, "%u", c->oldest_pass);
		if ((st = mv_result_add_prop(res, "header", "oldest-pass", num)) != MV_OK)
			goto out;
	}
	*out = res;
	res = NULL;
out:
	mv_result_free(res);
	return st;
}

enum mv_status mv_arc_verify_message(const struct mv_msg *m, struct mv_resolver *r, int64_t now,
                                     const char *remote_ip, struct mv_result **out)
{
	struct mv_arc_validator *v = NULL;
	enum mv_status st;

	*out = NULL;
	if ((st = mv_arc_validator_new(NULL, r, now, &v)) != MV_OK)
		return st;
	if ((st = mv_arc_validator_message(v, m)) == MV_OK)
		st = mv_arc_result_authres(v, remote_ip, out);
	mv_arc_validator_free(v);
	return st;
}
