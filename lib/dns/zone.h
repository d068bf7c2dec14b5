/* lib/dns/zone.h — the in-memory zone the zone-file backend answers from. */
#ifndef MAILVET_DNS_ZONE_H
#define MAILVET_DNS_ZONE_H

#include <stddef.h>
#include <stdint.h>

#include <mailvet/dns.h>
#include <mailvet/util.h>

/* Per-type slots: A, CNAME, PTR, MX, TXT, AAAA. */
#define MV_DNS_ZONE_NTYPES 6

/* What a pseudo-type makes a query fail with. */
enum mv_dns_zone_fail {
	MV_DNS_ZONE_OK = 0,
	MV_DNS_ZONE_TIMEOUT,
	MV_DNS_ZONE_SERVFAIL,
};

struct mv_dns_rrset {
	struct mv_dns_rr *rr;
	size_t n, cap;
};

/*
 * One owner name. A node exists for every owner in the file and for every
 * name above one (an empty non-terminal, which answers NODATA).
 */
struct mv_dns_node {
	char *name; /* lowercased, no trailing dot */
	struct mv_dns_rrset set[MV_DNS_ZONE_NTYPES];
	unsigned char fail[MV_DNS_ZONE_NTYPES]; /* "TIMEOUT TXT": this type only */
	unsigned char fail_any;                 /* "TIMEOUT": every type */
};

/* Open addressing keyed by the FNV-1a hash of the lowercased name. */
struct mv_dns_zone {
	struct mv_dns_node *nodes; /* nnodes used of nodecap */
	size_t nnodes, nodecap;
	uint32_t *slots; /* node index + 1, 0 = empty; slotcap is a power of 2 */
	size_t slotcap;
};

/* The slot index (0..5) of a type; -1 when the zone cannot hold it. */
int mv_dns_zone_type_index(enum mv_dns_type type);

/*
 * The node of name (lowercased, no trailing dot), created with its empty
 * non-terminal ancestors when create is set. NULL when absent (or, with
 * create, when memory runs out). The pointer is valid until the next
 * creating call.
 */
struct mv_dns_node *mv_dns_zone_node(struct mv_dns_zone *z, const char *name, size_t len,
                                     int create);

/* Append a copy of rr (host/txt are copied) to node's set of its type. */
enum mv_status mv_dns_zone_add(struct mv_dns_node *node, const struct mv_dns_rr *rr);

void mv_dns_zone_clear(struct mv_dns_zone *z);

/* Bytes in one line and in one entry (lines joined by parentheses). */
#define MV_DNS_ZONE_LINE_MAX 65536

/* zone_entry.c: where the next entry of a zone's text starts. */
struct mv_dns_zone_reader {
	const char *p, *end;
	size_t line;  /* line number of p */
	size_t depth; /* open parentheses */
};

void mv_dns_zone_reader_init(struct mv_dns_zone_reader *rd, const char *text, size_t len);

/*
 * The next entry into out (reset first): one line, or the lines an open
 * parenthesis joins, with comments dropped and parentheses and line breaks
 * turned into blanks; quoted strings and backslash escapes are left as they
 * are for the record parser. *start is the entry's first line (on error,
 * the line at fault). Returns 1 (an entry, maybe blank), 0 at the end of
 * the text, -1 with *why and *st (MV_ESYNTAX, MV_ETOOBIG, MV_ENOMEM).
 */
int mv_dns_zone_entry(struct mv_dns_zone_reader *rd, struct mv_buf *out, size_t *start,
                      const char **why, enum mv_status *st);

/* zone.c: wrap a parsed zone into a resolver (takes z, even on failure). */
enum mv_status mv_dns_zone_resolver(struct mv_dns_zone *z, struct mv_resolver **out);

#endif
