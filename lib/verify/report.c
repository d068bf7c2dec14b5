/*
 * lib/verify/report.c — what a finished verification tells a DMARC report
 * (lib/report/record.c): the envelope, the SPF verdict, each DKIM result,
 * the configuration it ran with. Read-only views of struct mv_verify.
 */
#include <mailvet/verify.h>

#include "verify/verify_int.h"

const struct mv_envelope *mv_verify_envelope(const struct mv_verify *v)
{
	return &v->env;
}

const struct mv_msg *mv_verify_msg(const struct mv_verify *v)
{
	return v->msg;
}

const struct mv_verify_config *mv_verify_get_config(const struct mv_verify *v)
{
	return v->cfg;
}

const struct mv_spf_verdict *mv_verify_spf(const struct mv_verify *v)
{
	return v->state == VERIFY_DONE && v->spf_done ? &v->spf : NULL;
}

size_t mv_verify_dkim_count(const struct mv_verify *v)
{
	return v->state == VERIFY_DONE && v->dkim ? mv_dkim_verifier_count(v->dkim) : 0;
}

const struct mv_dkim_result *mv_verify_dkim_result(const struct mv_verify *v, size_t i)
{
	return i < mv_verify_dkim_count(v) ? mv_dkim_verifier_result(v->dkim, i) : NULL;
}
