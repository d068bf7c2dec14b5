/* lib/spf/ip.c — client and network addresses for SPF: parsing, prefixes, the %{i}/%{c} forms. */
#include <arpa/inet.h>
#include <string.h>

#include "spf/spf_int.h"

static const uint8_t v4mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

int mv_spf_ip4_network(const char *s, size_t len, uint8_t out[4])
{
	size_t i = 0;
	int octet;

	for (octet = 0; octet < 4; octet++) {
		unsigned v = 0;
		size_t start = i;

		if (octet > 0) {
			if (i >= len || s[i] != '.')
				return 0;
			start = ++i;
		}
		while (i < len && s[i] >= '0' && s[i] <= '9' && i - start < 3)
			v = v * 10 + (unsigned)(s[i++] - '0');
		if (i == start || v > 255 || (s[start] == '0' && i - start > 1))
			return 0; /* empty, too large, or a leading zero (§5.6 qnum) */
		out[octet] = (uint8_t)v;
	}
	return i == len;
}

enum mv_status mv_spf_ip_parse(const char *s, struct mv_spf_ip *out)
{
	uint8_t a6[16];

	memset(out, 0, sizeof *out);
	if (!s)
		return MV_EINVAL;
	if (mv_spf_ip4_network(s, strlen(s), out->a))
		return MV_OK;
	if (inet_pton(AF_INET6, s, a6) != 1)
		return MV_EINVAL;
	if (memcmp(a6, v4mapped_prefix, sizeof v4mapped_prefix) == 0) {
		memcpy(out->a, a6 + 12, 4); /* RFC 7208 §5: compare as IPv4 */
		return MV_OK;
	}
	out->v6 = 1;
	memcpy(out->a, a6, 16);
	return MV_OK;
}

int mv_spf_ip_prefix_eq(const uint8_t *a, const uint8_t *b, unsigned bits)
{
	unsigned whole = bits / 8, rest = bits % 8;
	uint8_t mask;

	if (memcmp(a, b, whole) != 0)
		return 0;
	if (rest == 0)
		return 1;
	mask = (uint8_t)(0xff << (8 - rest));
	return (a[whole] & mask) == (b[whole] & mask);
}

static const char hexdigits[] = "0123456789abcdef";

void mv_spf_ip_dotted(const struct mv_spf_ip *ip, struct mv_buf *out)
{
	int i;

	if (!ip->v6) {
		mv_buf_printf(out, "%u.%u.%u.%u", ip->a[0], ip->a[1], ip->a[2], ip->a[3]);
		return;
	}
	for (i = 0; i < 16; i++) {
		if (i > 0)
			mv_buf_putc(out, '.');
		mv_buf_putc(out, hexdigits[ip->a[i] >> 4]);
		mv_buf_putc(out, '.');
		mv_buf_putc(out, hexdigits[ip->a[i] & 15]);
	}
}

void mv_spf_ip_text(const struct mv_spf_ip *ip, struct mv_buf *out)
{
	char text[INET6_ADDRSTRLEN];

	if (!ip->v6) {
		mv_spf_ip_dotted(ip, out);
		return;
	}
	if (!inet_ntop(AF_INET6, ip->a, text, sizeof text)) {
		mv_buf_puts(out, "unknown");
		return;
	}
	mv_buf_puts(out, text);
}

void mv_spf_ip_reverse_name(const struct mv_spf_ip *ip, struct mv_buf *out)
{
	int i;

	if (!ip->v6) {
		mv_buf_printf(out, "%u.%u.%u.%u.in-addr.arpa", ip->a[3], ip->a[2], ip->a[1],
		              ip->a[0]);
		return;
	}
	for (i = 15; i >= 0; i--) {
		mv_buf_putc(out, hexdigits[ip->a[i] & 15]);
		mv_buf_putc(out, '.');
		mv_buf_putc(out, hexdigits[ip->a[i] >> 4]);
		mv_buf_putc(out, '.');
	}
	mv_buf_puts(out, "ip6.arpa");
}
