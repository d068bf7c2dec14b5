/* lib/msg/msg_priv.h — the message object's layout, shared by msg.c and parse.c. */
#ifndef MV_MSG_PRIV_H
#define MV_MSG_PRIV_H

#include <stddef.h>

#include <mailvet/msg.h>

/*
 * One field as stored: the public view plus, for fields added with
 * mv_msg_add_field(), the allocation that holds its strings (NULL for parsed
 * fields, whose strings live in the message's shared block).
 */
struct mv_msg_slot {
	struct mv_msg_field f;
	char *own;
};

struct mv_msg {
	struct mv_msg_limits lim;
	struct mv_msg_slot *slot;
	size_t count, cap;
	size_t header_bytes; /* raw bytes of all fields so far */
	char *block;         /* parsed messages: header copy, names, unfolded values */
	const char *body;    /* borrowed from the parsed data */
	size_t body_len, body_off;
};

/* Is c a byte allowed in a field name (RFC 5322 ftext: printable ASCII but ':')? */
static inline int mv_msg_is_ftext(unsigned char c)
{
	return c >= 33 && c <= 126 && c != ':';
}

/*
 * Copy value[0..len) to dst without the line breaks (CRLF or bare LF) that
 * precede WSP, NUL-terminate it and return its length. dst must hold len+1
 * bytes.
 */
size_t mv_msg_unfold(const char *value, size_t len, char *dst);

/* Append one empty slot (zeroed); MV_ETOOBIG past lim.max_fields. */
enum mv_status mv_msg_slot_push(struct mv_msg *m, struct mv_msg_slot **out);

#endif
