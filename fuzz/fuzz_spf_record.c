/* fuzz/fuzz_spf_record.c — the SPF record parser (RFC 7208 §4.6) on arbitrary bytes. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "spf/spf_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mv_spf_record *rec = NULL;
	char err[160];
	size_t i;

	if (mv_spf_record_parse((const char *)data, size, &rec, err, sizeof err) == MV_OK) {
		/* every domain-spec kept must be one the grammar accepts */
		for (i = 0; i < rec->nterms; i++)
			if (rec->terms[i].domain &&
			    !mv_spf_domain_spec_valid(rec->terms[i].domain,
			                              strlen(rec->terms[i].domain)))
				__builtin_trap();
		mv_spf_record_free(rec);
	} else if (rec != NULL || memchr(err, '\0', sizeof err) == NULL) {
		__builtin_trap();
	}
	mv_spf_domain_spec_valid((const char *)data, size);
	return 0;
}
