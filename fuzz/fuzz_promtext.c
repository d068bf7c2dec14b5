/* fuzz/fuzz_promtext.c — `mailvet stats`'s reader of the Prometheus text format, on any answer. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "promtext.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * What comes out must hold its promises: every family's samples lie in the
 * sample array, and every sample has a name and a value.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mv_prom p;
	char err[200];

	if (mv_prom_parse((const char *)data, size, &p, err, sizeof err) != 0)
		return 0;
	for (size_t i = 0; i < p.nf; i++)
		if (p.f[i].first + p.f[i].n > p.ns || !p.f[i].name || !p.f[i].type || !p.f[i].help)
			abort();
	for (size_t i = 0; i < p.ns; i++)
		if (!p.s[i].name || !p.s[i].value || p.s[i].nlabels > MV_PROM_LABELS_MAX)
			abort();
	mv_prom_free(&p);
	return 0;
}
