/* daemon/fuzz/fuzz_keytable.c — the KeyTable and SigningTable parsers and lookups on arbitrary text. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "keytable.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * Input: one byte (bit 0: refile:), then the KeyTable, a NUL byte, the
 * SigningTable. Looks up a few addresses when the tables parse.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const addrs[][2] = {{"bob", "example.com"},
	                                       {"a", "b.c.example.org"},
	                                       {"", "x"},
	                                       {"ceo", "example.com"}};
	struct mvd_keytable *t = NULL;
	struct mv_outbound_key keys[8];
	const char *kt, *st, *nul;
	size_t kt_len, st_len;
	char why[256];

	if (size < 1 || size > 256 * 1024)
		return 0;
	kt = (const char *)data + 1;
	nul = memchr(kt, '\0', size - 1);
	kt_len = nul ? (size_t)(nul - kt) : size - 1;
	st = nul ? nul + 1 : kt + kt_len;
	st_len = size - 1 - kt_len - (nul ? 1 : 0);
	if (mvd_keytable_parse(kt, kt_len, st, st_len, data[0] & 1, &t, why, sizeof why) == MV_OK) {
		for (size_t i = 0; i < sizeof addrs / sizeof addrs[0]; i++) {
			(void)mvd_keytable_lookup(t, addrs[i][0], addrs[i][1], NULL);
			(void)mvd_keytable_choose(t, addrs[i][0], addrs[i][1], 1700000000, keys, 8,
			                          why, sizeof why);
		}
		mvd_keytable_free(t);
	}
	return 0;
}
