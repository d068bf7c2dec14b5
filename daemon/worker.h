/* daemon/worker.h — the worker process: the front ends (milter, SMTP listeners) and the control pipe. */
#ifndef MAILVETD_WORKER_H
#define MAILVETD_WORKER_H

/*
 * The worker process (an mvd_worker_fn; arg is the configuration's path):
 * load the configuration, serve the milter socket (when [milter] socket is
 * set) and the SMTP listeners (each in a thread of its own) on the
 * descriptors the supervisor bound, and obey the control pipe (reload,
 * stop) until a stop, then drain both.
 */
int mvd_worker(int ctl_fd, int ready_fd, void *arg);

#endif
