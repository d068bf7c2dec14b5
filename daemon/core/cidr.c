/* daemon/core/cidr.c — lists of IPv4/IPv6 networks, matched against a client address. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cidr.h"

#define MAX_ENTRY 64

/* Parse one "ADDR" or "ADDR/PREFIX" of n bytes into *out. */
static enum mv_status parse_entry(const char *s, size_t n, struct mvd_cidr *out)
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
	if (inet_pton(AF_INET, buf, out->addr) == 1) {
		out->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, buf, out->addr) == 1) {
		out->family = AF_INET6;
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

enum mv_status mvd_cidr_add(struct mvd_cidr_list *l, const char *text)
{
	const char *p = text;

	while (*p) {
		size_t n;
		struct mvd_cidr c, *grown;
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

/* 1 when the first `bits` bits of a and b are equal. */
static int prefix_equal(const unsigned char *a, const unsigned char *b, unsigned bits)
{
	unsigned whole = bits / 8, rest = bits % 8;

	if (memcmp(a, b, whole) != 0)
		return 0;
	if (rest == 0)
		return 1;
	return ((a[whole] ^ b[whole]) & (0xff << (8 - rest)) & 0xff) == 0;
}

int mvd_cidr_match(const struct mvd_cidr_list *l, const char *ip)
{
	unsigned char a4[4], a6[16];
	int is4 = 0, is6 = 0;
	static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

	if (!ip)
		return 0;
	if (inet_pton(AF_INET, ip, a4) == 1) {
		is4 = 1;
	} else if (inet_pton(AF_INET6, ip, a6) == 1) {
		is6 = 1;
		if (memcmp(a6, mapped, sizeof mapped) == 0) {
			memcpy(a4, a6 + 12, 4);
			is4 = 1;
		}
	}
	for (size_t i = 0; i < l->count; i++) {
		const struct mvd_cidr *c = &l->item[i];
		if (c->family == AF_INET && is4 && prefix_equal(c->addr, a4, c->prefix))
			return 1;
		if (c->family == AF_INET6 && is6 && prefix_equal(c->addr, a6, c->prefix))
			return 1;
	}
	return 0;
}

void mvd_cidr_free(struct mvd_cidr_list *l)
{
	free(l->item);
	l->item = NULL;
	l->count = 0;
}
