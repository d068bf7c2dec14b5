/* lib/arc/questions.c — the key records a validator will ask for, for a caller's prefetch. */
#include "arc/validator.h"

enum mv_status mv_arc_questions(const struct mv_arc_validator *v, struct mv_dns_questions *l)
{
	enum mv_status st = MV_OK;
	size_t k;
	unsigned i;
	int j;

	for (k = 0; k < v->nchains && st == MV_OK; k++) {
		const struct arc_chain *c = &v->chain[k];
		for (i = 1; c->evaluate && i <= c->res.length && st == MV_OK; i++)
			for (j = 0; j < 2 && st == MV_OK; j++) {
				const struct mv_arc_sig *sg = j ? c->as[i] : c->ams[i];
				if (sg != NULL && !sg->bad) /* mv_arc_key() fetches it */
					st = mv_dkim_key_questions(sg->s, sg->d, l);
			}
	}
	return st;
}
