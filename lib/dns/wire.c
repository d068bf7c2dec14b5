/* lib/dns/wire.c — bounded reading of DNS wire format: names, compression, the answer section. */
#include <string.h>

#include <mailvet/util.h>

#include "dns/wire.h"

#define MAX_POINTERS 64
#define DNS_HEADER 12
#define TYPE_CNAME 5
#define TYPE_SOA 6
#define TTL_MAX 0x7fffffffu /* RFC 2181 §8: a TTL with the top bit set means 0 */

int mv_dns_wire_name(const uint8_t *buf, size_t len, size_t off, int allow_ptr,
                     uint8_t out[MV_DNS_WIRE_NAME_MAX], size_t *outlen, size_t *next)
{
	size_t n = 0, pos = off, lab;
	int jumps = 0, jumped = 0;

	for (;;) {
		if (pos >= len)
			return -1;
		lab = buf[pos];
		if ((lab & 0xc0) == 0xc0) {
			size_t target;
			if (!allow_ptr || pos + 1 >= len || ++jumps > MAX_POINTERS)
				return -1;
			target = ((lab & 0x3f) << 8) | buf[pos + 1];
			if (target >= pos)
				return -1; /* only backwards: no loops */
			if (!jumped)
				*next = pos + 2;
			jumped = 1;
			pos = target;
			continue;
		}
		if (lab & 0xc0)
			return -1; /* extended label types (RFC 6891 §5) */
		if (n + lab + 1 > MV_DNS_WIRE_NAME_MAX || pos + 1 + lab > len)
			return -1;
		memcpy(out + n, buf + pos, lab + 1);
		n += lab + 1;
		pos += lab + 1;
		if (lab == 0)
			break;
	}
	if (!jumped)
		*next = pos;
	*outlen = n;
	return 0;
}

int mv_dns_wire_to_text(const uint8_t *wire, size_t wirelen, char out[MV_DNS_NAME_MAX + 1])
{
	size_t pos = 0, n = 0, lab, i;
	char c;

	while (pos < wirelen && (lab = wire[pos]) != 0) {
		if (lab > MV_DNS_LABEL_MAX || pos + 1 + lab > wirelen)
			return -1;
		if (n > 0) {
			if (n >= MV_DNS_NAME_MAX)
				return -1;
			out[n++] = '.';
		}
		if (n + lab > MV_DNS_NAME_MAX)
			return -1;
		for (i = 0; i < lab; i++) {
			c = (char)wire[pos + 1 + i];
			if (c == '\0' || c == '.')
				return -1;
			out[n++] = mv_ascii_tolower(c);
		}
		pos += lab + 1;
	}
	if (pos >= wirelen)
		return -1; /* no root label */
	out[n] = '\0';
	return 0;
}

static unsigned get16(const uint8_t *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

/* One resource record of the answer section: owner, type and rdata offsets. */
struct wire_rr {
	char owner[MV_DNS_NAME_MAX + 1];
	int owner_ok;
	unsigned type;
	uint32_t ttl;
	size_t rdata, rdlen;
};

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int read_rr(const uint8_t *pkt, size_t len, size_t *pos, struct wire_rr *rr)
{
	uint8_t name[MV_DNS_WIRE_NAME_MAX];
	size_t nlen, next;

	if (mv_dns_wire_name(pkt, len, *pos, 1, name, &nlen, &next) < 0 || next + 10 > len)
		return -1;
	rr->owner_ok = mv_dns_wire_to_text(name, nlen, rr->owner) == 0;
	rr->type = get16(pkt + next);
	rr->ttl = get32(pkt + next + 4);
	if (rr->ttl > TTL_MAX)
		rr->ttl = 0;
	rr->rdlen = get16(pkt + next + 8);
	rr->rdata = next + 10;
	if (rr->rdata + rr->rdlen > len)
		return -1;
	*pos = rr->rdata + rr->rdlen;
	return 0;
}

int mv_dns_wire_cname_chain(const uint8_t *pkt, size_t len, const char *qname,
                            char chain[][MV_DNS_NAME_MAX + 1], size_t max, size_t *n)
{
	uint8_t name[MV_DNS_WIRE_NAME_MAX];
	char cur[MV_DNS_NAME_MAX + 1];
	size_t qd, an, i, pos = DNS_HEADER, nlen, next, start, round;
	struct wire_rr rr;
	int found;

	*n = 0;
	if (len < DNS_HEADER)
		return -1;
	qd = get16(pkt + 4);
	an = get16(pkt + 6);
	for (i = 0; i < qd; i++) {
		if (mv_dns_wire_name(pkt, len, pos, 1, name, &nlen, &next) < 0 || next + 4 > len)
			return -1;
		pos = next + 4;
	}
	start = pos;
	memcpy(cur, qname, strlen(qname) + 1);
	/* each round finds the next link; a chain has at most `an` links */
	for (round = 0; round < an && *n < max; round++) {
		found = 0;
		for (i = 0, pos = start; i < an && !found; i++) {
			if (read_rr(pkt, len, &pos, &rr) < 0)
				return -1;
			if (rr.type != TYPE_CNAME || !rr.owner_ok || strcmp(rr.owner, cur) != 0)
				continue;
			if (mv_dns_wire_name(pkt, rr.rdata + rr.rdlen, rr.rdata, 1, name, &nlen,
			                     &next) < 0 ||
			    mv_dns_wire_to_text(name, nlen, chain[*n]) < 0)
				return -1;
			memcpy(cur, chain[*n], strlen(chain[*n]) + 1);
			(*n)++;
			found = 1;
		}
		if (!found)
			break;
	}
	return 0;
}

int mv_dns_wire_min_ttl(const uint8_t *pkt, size_t len, uint32_t *ttl)
{
	uint8_t name[MV_DNS_WIRE_NAME_MAX];
	size_t qd, an, ns, i, pos = DNS_HEADER, nlen, next;
	struct wire_rr rr;
	uint32_t t;
	int found = 0;

	*ttl = 0;
	if (len < DNS_HEADER)
		return -1;
	qd = get16(pkt + 4);
	an = get16(pkt + 6);
	ns = get16(pkt + 8);
	for (i = 0; i < qd; i++) {
		if (mv_dns_wire_name(pkt, len, pos, 1, name, &nlen, &next) < 0 || next + 4 > len)
			return -1;
		pos = next + 4;
	}
	for (i = 0; i < an + ns; i++) {
		if (read_rr(pkt, len, &pos, &rr) < 0)
			return -1;
		t = rr.ttl;
		if (i >= an) { /* authority: only the SOA says how long a negative answer lives */
			if (rr.type != TYPE_SOA)
				continue;
			if (rr.rdlen < 20)
				return -1;
			if (get32(pkt + rr.rdata + rr.rdlen - 4) < t)
				t = get32(pkt + rr.rdata + rr.rdlen - 4); /* MINIMUM */
		}
		if (!found || t < *ttl)
			*ttl = t;
		found = 1;
	}
	return found;
}

/* A name that fills the rest of the rdata, as text in buf. */
static long rdata_name(const uint8_t *rd, size_t len, char *buf)
{
	uint8_t name[MV_DNS_WIRE_NAME_MAX];
	size_t nlen, next;

	if (mv_dns_wire_name(rd, len, 0, 0, name, &nlen, &next) < 0 || next != len ||
	    mv_dns_wire_to_text(name, nlen, buf) < 0)
		return -1;
	return (long)strlen(buf) + 1;
}

long mv_dns_wire_rdata(enum mv_dns_type type, const uint8_t *rd, size_t len, struct mv_dns_rr *rr,
                       char *buf)
{
	size_t pos = 0, n = 0, slen;

	memset(rr, 0, sizeof *rr);
	rr->type = type;
	switch (type) {
	case MV_DNS_A:
	case MV_DNS_AAAA:
		if (len != (type == MV_DNS_A ? 4u : 16u))
			return -1;
		memcpy(rr->addr, rd, len);
		return 0;
	case MV_DNS_MX:
		if (len < 3)
			return -1;
		rr->pref = get16(rd);
		rr->host = buf;
		return rdata_name(rd + 2, len - 2, buf);
	case MV_DNS_PTR:
	case MV_DNS_CNAME:
		rr->host = buf;
		return rdata_name(rd, len, buf);
	case MV_DNS_TXT:
		/* RFC 1035 §3.3.14: one or more <character-string>s */
		if (len == 0)
			return -1;
		while (pos < len) {
			slen = rd[pos++];
			if (pos + slen > len)
				return -1;
			memcpy(buf + n, rd + pos, slen);
			n += slen;
			pos += slen;
		}
		buf[n] = '\0';
		rr->txt = buf;
		rr->txtlen = n;
		return (long)n + 1;
	}
	return -1;
}
