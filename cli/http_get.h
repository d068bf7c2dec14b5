/* cli/http_get.h — a small blocking HTTP/1.1 client: one GET, the whole body. */
#ifndef MV_CLI_HTTP_GET_H
#define MV_CLI_HTTP_GET_H

#include <stddef.h>

#define MV_HTTP_BODY_MAX ((size_t)8 << 20) /* a longer answer is refused */

/*
 * GET url ("http://HOST:PORT/path", HOST a name, an IPv4 literal or a
 * bracketed IPv6 literal; no https) with "Authorization: Bearer token"
 * when token is not NULL. Reads the answer to its Content-Length (or to
 * the close); a chunked answer is decoded. On success (any status) returns
 * 0 with *status set and *body a new NUL-terminated string of *len bytes
 * the caller frees; -1 with the reason in err otherwise.
 */
int mv_cli_http_get(const char *url, const char *token, unsigned timeout, int *status, char **body,
                    size_t *len, char *err, size_t errlen);

#endif
