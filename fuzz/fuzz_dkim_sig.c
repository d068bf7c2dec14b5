/* fuzz/fuzz_dkim_sig.c — the DKIM-Signature parser (and the tag-list parser under it). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <mailvet/dkim.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mv_dkim_sig *sig = NULL;
	struct mv_taglist tl;
	char err[128];
	size_t k;

	if (mv_taglist_parse((const char *)data, size, &tl, err, sizeof err) == MV_OK) {
		for (k = 0; k < tl.count; k++) /* every span lies inside the input */
			if (tl.tag[k].raw_value < (const char *)data ||
			    tl.tag[k].raw_value + tl.tag[k].raw_len > (const char *)data + size)
				__builtin_trap();
	}
	if (mv_dkim_sig_parse((const char *)data, size, &sig, err, sizeof err) == MV_OK &&
	    sig->b_off + sig->b_len > size)
		__builtin_trap();
	mv_dkim_sig_free(sig);
	return 0;
}
