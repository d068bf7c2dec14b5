/* daemon/http/http.h — the metrics and status listener ([http], GNU libmicrohttpd). */
#ifndef MAILVETD_HTTP_H
#define MAILVETD_HTTP_H

#include <stddef.h>

#include "config.h"

/*
 * Start the counters' clock and, when [http] listen is set, the listener
 * (its own thread, GET and HEAD only: /metrics and the status page /) and
 * the background key check. The address and the credentials are the ones
 * of c: a reload does not change them (a restart does). 0, or -1 with the
 * reason in err (errlen bytes).
 */
int mvd_http_start(const struct mvd_config *c, char *err, size_t errlen);

/* Stop the listener and the key check (waits for both); nothing when not started. */
void mvd_http_stop(void);

#endif
