/* lib/util/cidr.c — IP addresses and networks: parsing, prefix match, lists of networks. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <mailvet/util.h>

#define MAX_ENTRY 64 /* one ADDR/PREFIX of a list, NUL included */

static const uint8_t v4mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

int mv_cidr_ip4_parse(const char *s, size_t len, uint8_t out[4])
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

enum mv_status mv_cidr_ip_parse(const char *s, struct mv_ip *out)
{
	uint8_t a6[16];

	memset(out, 0, sizeof *out);
	if (!s)
		return MV_EINVAL;
	if (mv_cidr_ip4_parse(s, strlen(s), out->a))
		return MV_OK;
	if (inet_pton(AF_INET6, s, a6) != 1)
		return MV_EINVAL;
	if (memcmp(a6, v4mapped_prefix, sizeof v4mapped_prefix) == 0) {
		memcpy(out->a, a6 + 12, 4);
		return MV_OK;
	}
	out->v6 = 1;
	memcpy(out->a, a6, 16);
	return MV_OK;
}

int mv_cidr_prefix_eq(const uint8_t *a, const uint8_t *b, unsigned bits)
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

int mv_cidr_contains(const struct mv_cidr *net, const struct mv_ip *ip)
{
	return net->net.v6 == ip->v6 && mv_cidr_prefix_eq(net->net.a, ip->a, net->prefix);
}

/* Parse one "ADDR" or "ADDR/PREFIX" of n bytes into *out. */
static enum mv_status parse_entry(const char *s, size_t n, struct mv_cidr *out)
{
	char buf[MAX_ENTRY];
	char *slash, *end;
	unsigned long prefix;
	unsigned max;

	if (n == 0 || n >= sizeof buf)
		return MV_ESYNTAX;
	memcpy(buf, s, n);
	buf[n] = '\0';
	memset(out, 0, sizeof *out);
	slash = strchr(buf, '/');
	if (slash)
		*slash = '\0';
	if (inet_pton(AF_INET, buf, out->net.a) == 1) {
		max = 32;
	} else if (inet_pton(AF_INET6, buf, out->net.a) == 1) {
		out->net.v6 = 1; /* ::ffff:a.b.c.d stays an IPv6 network, as written */
		max = 128;
	} else {
		return MV_ESYNTAX;
	}
	out->prefix = max;
	if (slash) {
		if (slash[1] < '0' || slash[1] > '9')
			return MV_ESYNTAX;
		errno = 0;
		prefix = strtoul(slash + 1, &end, 10);
		if (errno || *end || prefix > max)
			return MV_ESYNTAX;
		out->prefix = (unsigned)prefix;
	}
	return MV_OK;
}

enum mv_status mv_cidr_list_add(struct mv_cidr_list *l, const char *text)
{
	const char *p = text;

	while (*p) {
		size_t n;
		struct mv_cidr c, *grown;
		enum mv_status st;

		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		n = strcspn(p, " \t,");
		if (n == 0)
			break;
		if ((st = parse_entry(p, n, &c)) != MV_OK)
			return st;
		grown = realloc(l->item, (l->count + 1) * sizeof *grown);
		if (!grown)
			return MV_ENOMEM;
		l->item = grown;
		l->item[l->count++] = c;
		p += n;
	}
	return MV_OK;
}

int mv_cidr_list_match(const struct mv_cidr_list *l, const char *ip)
{
	struct mv_ip a, as6;
	int mapped;
	size_t i;

	if (mv_cidr_ip_parse(ip, &a) != MV_OK)
		return 0;
	/* a mapped address parsed as IPv4; it meets IPv6 networks as written */
	memset(&as6, 0, sizeof as6);
	as6.v6 = 1;
	mapped = !a.v6 && inet_pton(AF_INET6, ip, as6.a) == 1;
	for (i = 0; i < l->count; i++)
		if (mv_cidr_contains(&l->item[i], &a) ||
		    (mapped && mv_cidr_contains(&l->item[i], &as6)))
			return 1;
	return 0;
}

void mv_cidr_list_free(struct mv_cidr_list *l)
{
	free(l->item);
	l->item = NULL;
	l->count = 0;
}
