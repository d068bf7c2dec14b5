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

/* Run libmilter on the bound socket in a thread of its own. 0, or -1. */
int mvd_milter_start(void);

/* 1 once libmilter stopped by itself (its status in *status). */
int mvd_milter_stopped(int *status);

/*
 * Stop: new connections and messages get the on_error answer, messages
 * in flight have timeout seconds to finish, then libmilter stops.
 */
void mvd_milter_finish(unsigned timeout);

#endif
