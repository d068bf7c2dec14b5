/* lib/dns/wire.h — bounded reading of DNS wire format (RFC 1035 §3.1, §4.1). */
#ifndef MAILVET_DNS_WIRE_H
#define MAILVET_DNS_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "dns/backend.h"

#define MV_DNS_WIRE_NAME_MAX 255 /* octets, with length bytes and the root */

/*
 * Read the name at buf[off] into out (uncompressed wire form, *outlen
 * octets including the root label). With a packet (allow_ptr set)
 * compression pointers are followed, at most 64 of them and only
 * backwards; *next is the offset just past the name where it started.
 * Returns 0, or -1 for a truncated, overlong or badly pointed name.
 */
int mv_dns_wire_name(const uint8_t *buf, size_t len, size_t off, int allow_ptr,
                     uint8_t out[MV_DNS_WIRE_NAME_MAX], size_t *outlen, size_t *next);

/*
 * A wire name as mailvet text: labels joined by dots, lowercased, no
 * trailing dot ("" for the root). Returns -1 when a label holds a NUL or
 * a dot (no text form can say it) or the text is not a valid name.
 */
int mv_dns_wire_to_text(const uint8_t *wire, size_t wirelen, char out[MV_DNS_NAME_MAX + 1]);

/*
 * Follow the CNAME chain of qname (text, lowercased) through the answer
 * section of a DNS response: chain[0..*n) are the targets in order, at most
 * max of them. Returns 0, or -1 if the packet cannot be read.
 */
int mv_dns_wire_cname_chain(const uint8_t *pkt, size_t len, const char *qname,
                            char chain[][MV_DNS_NAME_MAX + 1], size_t max, size_t *n);

/*
 * The TTL a response may be kept for: the smallest TTL of the answer
 * section's records (the CNAME links and the answer) and of an SOA in the
 * authority section, whose TTL counts as min(TTL, MINIMUM) (RFC 2308 §5).
 * TTLs with the top bit set count as 0 (RFC 2181 §8). Returns 1 with *ttl
 * set, 0 when there is no such record (*ttl 0), -1 if the packet cannot be
 * read.
 */
int mv_dns_wire_min_ttl(const uint8_t *pkt, size_t len, uint32_t *ttl);

/*
 * Parse the rdata rd[0..len) of one record of type into rr (type set, the
 * unused fields zero). host and txt are written to buf, which must hold
 * len + MV_DNS_NAME_MAX + 2 bytes: TXT strings are concatenated and
 * NUL-terminated; names are read without compression (as libunbound hands
 * them over), lowercased. Returns the bytes of buf used, or -1 when the
 * rdata is malformed (bad length, truncated string, unreadable name).
 */
long mv_dns_wire_rdata(enum mv_dns_type type, const uint8_t *rd, size_t len, struct mv_dns_rr *rr,
                       char *buf);

#endif
