/* lib/dkim/authres.c — a DKIM result as an Authentication-Results record (RFC 8601, RFC 6008). */
#include <stddef.h>

#include <mailvet/dkim.h>

/* A tag value is reported only when it can stand in a header field. */
static enum mv_status add(struct mv_result *res, const char *property, const char *value)
{
	enum mv_status st;

	if (value == NULL || value[0] == '\0')
		return MV_OK;
	st = mv_result_add_prop(res, "header", property, value);
	return st == MV_EINVAL ? MV_OK : st;
}

enum mv_status mv_dkim_result_authres(const struct mv_dkim_result *r, struct mv_result **out)
{
	struct mv_result *res = NULL;
	enum mv_status st;

	*out = NULL;
	if ((st = mv_result_new("dkim", mv_dkim_res_str(r->res), &res)) != MV_OK)
		return st;
	if (r->reason[0] != '\0' && (st = mv_result_set_reason(res, r->reason)) != MV_OK &&
	    st != MV_EINVAL)
		goto out;
	if ((st = add(res, "d", r->d)) != MV_OK || (st = add(res, "i", r->i)) != MV_OK ||
	    (st = add(res, "s", r->s)) != MV_OK || (st = add(res, "a", r->a)) != MV_OK ||
	    (st = add(res, "b", r->b)) != MV_OK)
		goto out;
	*out = res;
	res = NULL;
out:
	mv_result_free(res);
	return st;
}
