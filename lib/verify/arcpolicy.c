/*
 * lib/verify/arcpolicy.c — trusted ARC sealers may override a DMARC failure
 * (draft-ietf-dmarc-arc-usage-06).
 *
 * The draft leaves the rule to local policy (§3.2: a receiver "may decide to
 * do so only for a limited number of ARC-enabled ADMDs"; §3.5: "with a valid
 * chain and good reputations ... a local policy override"; §3.3: a broken
 * chain counts as no chain). mailvet's rule, all of:
 *   - DMARC fails with a real record whose disposition is quarantine or
 *     reject (nothing to override otherwise; a virtual record never acts);
 *   - the ARC chain validates (arc=pass, RFC 8617 §5.2);
 *   - the d= of the newest ARC-Seal of the reported chain is a configured
 *     trusted sealer (case-insensitive, exact: a subdomain is another sealer).
 * The newest sealer is the one that handed us the message and vouches, in
 * its AAR and by its seal over every earlier set, for what the earlier hops
 * and its own inbound checks saw (§3.2: the last participant's AMS shows the
 * message was not altered since). Older trusted sealers are not enough: an
 * untrusted newer hop could have changed the message and resealed it (§3.10).
 * The override sets the disposition to none: policy.dmarc is the disposition
 * applied (RFC 9989 §10 / RFC 8601 registry), dmarc= stays fail, and the
 * comment names the sealer, as RFC 7489 §7.2's local_policy/trusted_forwarder
 * override reason would in a report.
 */
#include <stdlib.h>
#include <string.h>

#include "verify/verify_int.h"

/* The d= of the newest seal of the chain reported, or NULL. */
static const char *newest_sealer(const struct mv_arc_validator *a)
{
	const struct mv_arc_chain_result *c = mv_arc_validator_chosen(a);

	if (c == NULL || c->nhops == 0)
		return NULL;
	return c->hop[c->nhops - 1].as_d;
}

static int trusted(const struct mv_verify_config *c, const char *d)
{
	size_t k;

	for (k = 0; d != NULL && k < c->ntrusted_arc_sealers; k++)
		if (c->trusted_arc_sealers[k] != NULL &&
		    mv_ascii_ieq(d, strlen(d), c->trusted_arc_sealers[k]))
			return 1;
	return 0;
}

enum mv_status mv_verify_arc_policy(struct mv_verify *v)
{
	struct mv_dmarc_verdict *d = &v->dmarc;
	const char *sealer;

	if (v->arc == NULL || d->result != MV_DMARC_FAIL || d->virtual_record || !d->have_record ||
	    (d->disposition != MV_DMARC_P_REJECT && d->disposition != MV_DMARC_P_QUARANTINE))
		return MV_OK;
	if (mv_arc_validator_cv(v->arc, NULL) != MV_ARC_PASS)
		return MV_OK;
	sealer = newest_sealer(v->arc);
	if (!trusted(v->cfg, sealer))
		return MV_OK;
	if ((v->arc_override = strdup(sealer)) == NULL)
		return MV_ENOMEM;
	d->disposition = MV_DMARC_P_NONE;
	return MV_OK;
}
