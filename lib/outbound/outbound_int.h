/* lib/outbound/outbound_int.h — what the outbound files share and nobody else sees. */
#ifndef MAILVET_OUTBOUND_INT_H
#define MAILVET_OUTBOUND_INT_H

#include <mailvet/outbound.h>

/* Where the message is. */
enum ob_state {
	OB_HEADER, /* header fields still coming */
	OB_BODY,   /* header held and parsed; body passing through the hashers */
	OB_ENDED,  /* mv_outbound_end() ran */
};

/* How the header arrives (one or the other per message). */
enum ob_input {
	OB_INPUT_NONE,
	OB_INPUT_FIELDS, /* mv_outbound_header(): field by field */
	OB_INPUT_DATA,   /* mv_outbound_data(): raw bytes */
};

/* Where the search for the empty line that ends a raw header stands. */
enum ob_scan {
	OB_SCAN_LINE_START, /* at the start of a line */
	OB_SCAN_CR,         /* a CR at the start of a line */
	OB_SCAN_IN_LINE,    /* inside a line */
};

/* The keys a table gives one domain (borrowed from the configuration). */
struct ob_keyset {
	const char *domain;
	const struct mv_dkim_signkey *key[MV_OUTBOUND_MAX_KEYS];
	const char *selector[MV_OUTBOUND_MAX_KEYS];
	size_t n;
};

struct mv_outbound {
	const struct mv_outbound_config *cfg;
	struct mv_msg_limits lim;
	enum ob_state state;
	enum ob_input input;
	enum ob_scan scan;
	enum mv_status failed; /* sticky: MV_OK until a call fails */
	char why[200];
	struct mv_buf raw;  /* the header block as text, byte for byte */
	struct mv_msg *msg; /* the header, parsed (fields mode: built as the fields come) */
	char *author;       /* the author domain, NULL when there is none */
	char author_err[160];
	struct ob_keyset dkim;                     /* the keys chosen at the end of the header */
	struct mv_dkim_bodyhash *dkim_bh, *arc_bh; /* arc_bh may be dkim_bh */
	int seal_asked;
	struct mv_outbound_arc arc;
	struct mv_outbound_result res;
	struct mv_buf fields; /* res.fields */
	char *field_text;     /* a copy of res.fields cut into names and values */
	struct mv_outbound_field *field;
};

/*
 * The entries of table[0..n) for domain (ASCII case-insensitive, exact) into
 * *ks. MV_ENOTFOUND: none; MV_ETOOBIG: more than MV_OUTBOUND_MAX_KEYS.
 */
enum mv_status mv_outbound_keys_for(const struct mv_outbound_key *table, size_t n,
                                    const char *domain, struct ob_keyset *ks);

/* End of header: parse what was held, find the author domain, choose the DKIM keys, start the hashers. */
enum mv_status mv_outbound_header_end(struct mv_outbound *o);

/* Sign (DKIM) at the end; fills o->res.dkim* and appends the fields to sigs. */
enum mv_status mv_outbound_sign(struct mv_outbound *o, int64_t now, struct mv_buf *sigs);

/* Seal (ARC) the message with sigs on top; fills o->res.arc* and appends the set(s) to out. */
enum mv_status mv_outbound_seal_sets(struct mv_outbound *o, int64_t now, const struct mv_buf *sigs,
                                     struct mv_buf *out);

#endif
