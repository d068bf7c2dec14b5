/* include/mailvet/util.h — buffers, strings, a bounded cursor, JSON output, IP networks: shared by all modules. */
#ifndef MAILVET_UTIL_H
#define MAILVET_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <mailvet/status.h>

#if defined(__GNUC__)
#define MV_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define MV_PRINTF(f, a)
#endif

/*
 * A growable byte buffer, always NUL-terminated after the first append.
 * Errors are sticky: once an append fails (MV_ENOMEM, or the buffer would
 * pass MV_BUF_MAX) every later append is a no-op and mv_buf_status() reports
 * the first error, so a writer can append many pieces and check once.
 * Initialise with MV_BUF_INIT or mv_buf_init(); release with mv_buf_free().
 */
struct mv_buf {
	char *data; /* NULL until the first append */
	size_t len; /* bytes used, not counting the NUL */
	size_t cap; /* bytes allocated */
	enum mv_status err;
};
#define MV_BUF_INIT                                                                                \
	{                                                                                          \
		NULL, 0, 0, MV_OK                                                                  \
	}
#define MV_BUF_MAX ((size_t)1 << 30) /* 1 GiB: no single buffer grows past it */

void mv_buf_init(struct mv_buf *b);
void mv_buf_free(struct mv_buf *b);  /* frees data and re-initialises */
void mv_buf_reset(struct mv_buf *b); /* len = 0 and error cleared; keeps memory */
enum mv_status mv_buf_status(const struct mv_buf *b);
enum mv_status mv_buf_append(struct mv_buf *b, const void *p, size_t n);
enum mv_status mv_buf_puts(struct mv_buf *b, const char *s);
enum mv_status mv_buf_putc(struct mv_buf *b, char c);
enum mv_status mv_buf_printf(struct mv_buf *b, const char *fmt, ...) MV_PRINTF(2, 3);
enum mv_status mv_buf_vprintf(struct mv_buf *b, const char *fmt, va_list ap) MV_PRINTF(2, 0);
/*
 * Hand the bytes to the caller: returns a NUL-terminated string the caller
 * frees with free() (an empty string if nothing was appended), or NULL if the
 * buffer is in error or memory runs out. The buffer is re-initialised either way.
 */
char *mv_buf_steal(struct mv_buf *b, size_t *lenp);

/*
 * Append s[0..n) as a JSON string with its quotes. Control characters and
 * '"' and '\\' are escaped; valid UTF-8 is copied; each byte of an invalid
 * UTF-8 sequence becomes U+FFFD, so the output is always valid JSON.
 */
enum mv_status mv_json_string(struct mv_buf *b, const char *s, size_t n);
/* As mv_json_string for a NUL-terminated string; NULL appends `null`. */
enum mv_status mv_json_cstr(struct mv_buf *b, const char *s);

/* A NUL-terminated copy of s[0..n); NULL when memory runs out. */
char *mv_strndup(const char *s, size_t n);
/*
 * Write a short reason into the caller's error buffer err[0..errlen), as
 * snprintf would (truncated, always NUL-terminated). Nothing happens when
 * err is NULL or errlen is 0, so callers can pass their err on unchecked.
 */
void mv_errf(char *err, size_t errlen, const char *fmt, ...) MV_PRINTF(3, 4);

/* 1 for WSP (RFC 5234: SP or HTAB), 0 for every other byte (char or unsigned char). */
static inline int mv_ascii_is_wsp(int c)
{
	return c == ' ' || c == '\t';
}
/* c with A-Z lowered to a-z; every other byte (>= 0x80 too) as it is. */
static inline char mv_ascii_tolower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}
/* ASCII lowercase in place (bytes >= 0x80 are left alone). */
void mv_ascii_lower(char *s, size_t n);
/* ASCII case-insensitive equality of a[0..alen) and the string b. */
int mv_ascii_ieq(const char *a, size_t alen, const char *b);
/* ASCII case-insensitive equality of a[0..alen) and b[0..blen) (NULs are bytes). */
int mv_ascii_ieq_mem(const char *a, size_t alen, const char *b, size_t blen);

/*
 * A bounded reader over the bytes s[0..len) that a parser walks: [p, end)
 * are still to read, start is where reading began (error messages give
 * offsets from it). The helpers advance p and never past end; code that
 * reads *p itself checks p < end first. The bytes are borrowed.
 */
struct mv_cursor {
	const char *start, *p, *end;
};

void mv_cursor_init(struct mv_cursor *c, const char *s, size_t len);
size_t mv_cursor_left(const struct mv_cursor *c);   /* end - p */
size_t mv_cursor_offset(const struct mv_cursor *c); /* p - start */
/* 1 and the byte consumed when the next byte is ch; 0 (nothing consumed) otherwise. */
int mv_cursor_eat(struct mv_cursor *c, char ch);
/* Skip SP and HTAB; returns how many bytes were skipped. */
size_t mv_cursor_skip_wsp(struct mv_cursor *c);

/* ---- IP addresses and networks (lib/util/cidr.c) ------------------------ */

/* An address; v6 = 0: IPv4 in a[0..4), v6 = 1: IPv6 in a[0..16) (network order). */
struct mv_ip {
	int v6;
	uint8_t a[16];
};

/* A network: the addresses whose first `prefix` bits are those of net. */
struct mv_cidr {
	struct mv_ip net;
	unsigned prefix;
};

/*
 * Dotted-quad IPv4 of s[0..len): four decimal octets without leading zeros
 * (RFC 7208 §5.6 ip4-network). 1 and the address in out[0..4) if it is one,
 * else 0.
 */
int mv_cidr_ip4_parse(const char *s, size_t len, uint8_t out[4]);

/*
 * Parse an address as text: dotted IPv4 or IPv6; an IPv4-mapped IPv6
 * address (::ffff:a.b.c.d) becomes the IPv4 address (as RFC 7208 §5 wants
 * it compared). MV_EINVAL if s is NULL or neither.
 */
enum mv_status mv_cidr_ip_parse(const char *s, struct mv_ip *out);

/* Whether the first `bits` bits of a and b agree (bits <= 8 * their length). */
int mv_cidr_prefix_eq(const uint8_t *a, const uint8_t *b, unsigned bits);

/* Whether ip lies in net (same family, first net->prefix bits equal). */
int mv_cidr_contains(const struct mv_cidr *net, const struct mv_ip *ip);

/* A list of networks, e.g. a site's internal hosts. Zero-initialise; free with mv_cidr_list_free(). */
struct mv_cidr_list {
	struct mv_cidr *item;
	size_t count;
};

/*
 * Add the networks in `text`: addresses or ADDR/PREFIX (inet_pton forms;
 * PREFIX decimal, at most 32 or 128), separated by spaces, tabs or commas
 * ("127.0.0.0/8, ::1"). An entry longer than 63 bytes is MV_ESYNTAX.
 * MV_ESYNTAX for a bad entry (the list keeps those before it), MV_ENOMEM.
 */
enum mv_status mv_cidr_list_add(struct mv_cidr_list *l, const char *text);

/*
 * 1 when the textual address ip (NULL is no match) is inside one of the
 * networks. An IPv4-mapped IPv6 address (::ffff:a.b.c.d) matches IPv4
 * networks as the IPv4 address, and IPv6 networks as written.
 */
int mv_cidr_list_match(const struct mv_cidr_list *l, const char *ip);

void mv_cidr_list_free(struct mv_cidr_list *l); /* empties it; it can be reused */

/*
 * Read a whole file ("-" = standard input) into a new NUL-terminated buffer
 * the caller frees. Files larger than max bytes give MV_ETOOBIG; open or read
 * errors give MV_EIO with errno set.
 */
enum mv_status mv_read_file(const char *path, size_t max, char **out, size_t *lenp);

/*
 * mv_read_file() for configuration and key files: only a regular file is
 * read (a FIFO, device or directory is MV_EINVAL with errno EINVAL, and
 * opening never blocks), so a misplaced special file cannot hang a start
 * or a reload. When mode is not NULL it receives the permission bits
 * (st_mode & 07777), e.g. to warn about a private key others can read.
 * A partial read is wiped before it is freed.
 */
enum mv_status mv_read_regular_file(const char *path, size_t max, char **out, size_t *lenp,
                                    unsigned *mode);

#endif
