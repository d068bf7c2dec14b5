/*
 * fuzz/fuzz_dns_wire.c — the wire-format readers the libunbound backend runs
 * on server data: the CNAME chain of a response, its TTL and each record
 * type's rdata.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "dns/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum mv_dns_type types[] = {MV_DNS_A,   MV_DNS_AAAA,  MV_DNS_MX,
	                                         MV_DNS_PTR, MV_DNS_CNAME, MV_DNS_TXT};
	char chain[MV_DNS_CHAIN_MAX][MV_DNS_NAME_MAX + 1];
	static char buf[65536 + MV_DNS_NAME_MAX + 2];
	struct mv_dns_rr rr;
	uint32_t ttl;
	size_t n, i;

	(void)mv_dns_wire_cname_chain(data, size, "example.com", chain, MV_DNS_CHAIN_MAX - 1, &n);
	(void)mv_dns_wire_min_ttl(data, size, &ttl);
	if (size <= 65536)
		for (i = 0; i < sizeof types / sizeof types[0]; i++)
			(void)mv_dns_wire_rdata(types[i], data, size, &rr, buf);
	return 0;
}
