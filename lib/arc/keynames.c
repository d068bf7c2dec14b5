/* lib/arc/keynames.c — the key records a validator will ask for, for a caller's prefetch batch. */
#include <string.h>

#include "arc/keynames.h"
#include "arc/validator.h"

void mv_arc_validator_key_names(const struct mv_arc_validator *v,
                                void (*fn)(void *arg, const char *s, const char *d), void *arg)
{
	size_t k;
	unsigned i;
	int j;

	for (k = 0; k < v->nchains; k++) {
		const struct arc_chain *c = &v->chain[k];
		for (i = 1; c->evaluate && i <= c->res.length; i++)
			for (j = 0; j < 2; j++) {
				const struct mv_arc_sig *sg = j ? c->as[i] : c->ams[i];
				if (sg != NULL && !sg->bad)
					fn(arg, sg->s, sg->d);
			}
	}
}

void mv_arc_validator_set_resolver(struct mv_arc_validator *v, struct mv_resolver *r)
{
	v->r = r;
}
