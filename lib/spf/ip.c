/* lib/spf/ip.c — the client address as SPF writes it: the %{i}/%{c} forms, the reverse name. */
#include <arpa/inet.h>
#include <string.h>

#include "spf/spf_int.h"

static const char hexdigits[] = "0123456789abcdef";

void mv_spf_ip_dotted(const struct mv_ip *ip, struct mv_buf *out)
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

void mv_spf_ip_text(const struct mv_ip *ip, struct mv_buf *out)
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

void mv_spf_ip_reverse_name(const struct mv_ip *ip, struct mv_buf *out)
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
