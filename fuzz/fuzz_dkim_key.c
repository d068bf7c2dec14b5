/* fuzz/fuzz_dkim_key.c — the key record parser (RFC 6376 §3.6.1). */
#include <stddef.h>
#include <stdint.h>

#include <mailvet/dkim.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mv_dkim_key *k = NULL;
	char err[128];

	if (mv_dkim_key_parse((const char *)data, size, &k, err, sizeof err) == MV_OK &&
	    !k->revoked && k->pkey == NULL)
		__builtin_trap();
	mv_dkim_key_free(k);
	return 0;
}
