/* fuzz/fuzz_dns_zone.c — the zone-file parser, then a few lookups in what it parsed. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <mailvet/dns.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Ask the owner of each of the first lines, and some fixed names, every type. */
static void ask_some(struct mv_resolver *r, const char *text, size_t len)
{
	static const enum mv_dns_type types[] = {MV_DNS_A,   MV_DNS_AAAA,  MV_DNS_MX,
	                                         MV_DNS_PTR, MV_DNS_CNAME, MV_DNS_TXT};
	static const char *const fixed[] = {"example.com", "a.example.com", ".", "com"};
	char name[300];
	struct mv_dns_answer *a;
	size_t i, t, n, lines = 0;
	const char *p = text, *end = text + len;

	for (i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
		for (t = 0; t < sizeof types / sizeof types[0]; t++)
			if (mv_dns_query(r, fixed[i], types[t], &a) == MV_OK)
				mv_dns_answer_free(a);
	while (p < end && lines++ < 8) {
		while (p < end && (*p == ' ' || *p == '\t' || *p == '\n'))
			p++;
		for (n = 0; p + n < end && n < sizeof name - 1 && p[n] != ' ' && p[n] != '\n' &&
		            p[n] != '\0';
		     n++)
			name[n] = p[n];
		name[n] = '\0';
		for (t = 0; t < sizeof types / sizeof types[0]; t++)
			if (mv_dns_query(r, name, types[t], &a) == MV_OK)
				mv_dns_answer_free(a);
		p = memchr(p, '\n', (size_t)(end - p));
		if (!p)
			break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mv_resolver *r = NULL;
	char err[128];

	if (mv_dns_zone_parse((const char *)data, size, &r, err, sizeof err) == MV_OK) {
		ask_some(r, (const char *)data, size);
		mv_dns_free(r);
	}
	return 0;
}
