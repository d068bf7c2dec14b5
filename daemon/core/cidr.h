/* daemon/core/cidr.h — lists of IPv4/IPv6 networks (internal hosts). */
#ifndef MAILVETD_CIDR_H
#define MAILVETD_CIDR_H

#include <stddef.h>

#include <mailvet/status.h>

struct mvd_cidr {
	int family;             /* AF_INET or AF_INET6 */
	unsigned char addr[16]; /* network order; IPv4 in the first 4 bytes */
	unsigned prefix;        /* bits that must match */
};

struct mvd_cidr_list {
	struct mvd_cidr *item;
	size_t count;
};

/*
 * Add the networks in `text`: addresses or ADDR/PREFIX, separated by
 * spaces or commas ("127.0.0.0/8, ::1"). MV_ESYNTAX for a bad entry (the
 * list keeps those before it), MV_ENOMEM.
 */
enum mv_status mvd_cidr_add(struct mvd_cidr_list *l, const char *text);
/*
 * 1 when the textual address ip is inside one of the networks. An
 * IPv4-mapped IPv6 address (::ffff:a.b.c.d) matches as the IPv4 address.
 */
int mvd_cidr_match(const struct mvd_cidr_list *l, const char *ip);
void mvd_cidr_free(struct mvd_cidr_list *l);

#endif
