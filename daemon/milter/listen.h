/* daemon/milter/listen.h — the milter's socket, and the worker process that serves it with libmilter. */
#ifndef MAILVETD_MILTER_LISTEN_H
#define MAILVETD_MILTER_LISTEN_H

#include <stddef.h>

#include "config.h"

/*
 * Register with libmilter and open [milter] socket (as root, before the
 * privilege drop; the worker inherits it). 0, or -1 with the reason in err.
 */
int mvd_milter_bind(const struct mvd_config *c, char *err, size_t errlen);

/*
 * The worker process (an mvd_worker_fn; arg is the configuration's path):
 * load the configuration, run libmilter on the inherited socket, and obey
 * the supervisor's control pipe (reload, stop) until a stop, then drain.
 */
int mvd_milter_worker(int ctl_fd, int ready_fd, void *arg);

#endif
