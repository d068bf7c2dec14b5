/* daemon/core/supervise.h — the supervisor: one worker process at a time, restarted when it dies. */
#ifndef MAILVETD_SUPERVISE_H
#define MAILVETD_SUPERVISE_H

/*
 * The worker's side of the control pipe (see mvd_supervise): each byte is one
 * request; end of file means the supervisor is gone, which is a stop too.
 */
enum mvd_control { MVD_CTL_RELOAD = 'H', MVD_CTL_STOP = 'T' };

/*
 * What the worker runs: it gets the read end of the control pipe and the
 * write end of the start-status pipe, and must write one byte on the latter
 * once it serves (0) or could not start (any other value), then return its
 * exit status when it stops. It runs in a child process, so it may build
 * threads and resolvers of its own.
 */
typedef int (*mvd_worker_fn)(int ctl_fd, int ready_fd, void *arg);

/*
 * Run as the supervisor until a stop: fork the worker, tell the waiting
 * start (mvd_process_ready) how its first start went, then forward SIGHUP
 * as MVD_CTL_RELOAD (any number of them, never fatal: the worker coalesces)
 * and SIGTERM/SIGINT as MVD_CTL_STOP. A worker that dies without being
 * asked to (a crash on hostile input, a listener that stopped) is started
 * again at once, and after repeated deaths with a growing pause of at most
 * 10 s; meanwhile the listening socket, opened before and inherited, stays
 * open, so the MTA waits or applies its own default action and no message
 * is lost. After a stop the worker has stop_timeout seconds to leave before
 * it is killed. The supervisor holds no configuration beyond this and
 * parses nothing that comes from the network.
 *
 * Returns the exit status for main(): the last worker's after a stop (0
 * when it stopped cleanly; 128 + signal when it was killed), 1 when the
 * first start failed.
 *
 * aux[0..naux) (at most MVD_AUX_MAX) are the auxiliary processes (the key
 * process daemon/keyd, the auth process daemon/authd), each run the same
 * way with arg: started first, in order, and the first worker only once
 * each said it loaded (else the start fails); restarted whenever one dies;
 * SIGHUP goes to them first and to the worker once all answered (or after
 * 5 s); stopped last.
 */
#define MVD_AUX_MAX 4
struct mvd_aux {
	const char *name; /* its log event: "keyd", "authd" */
	const char *what; /* in messages: "key process", "auth process" */
	mvd_worker_fn fn;
};
int mvd_supervise(mvd_worker_fn worker, const struct mvd_aux *aux, size_t naux, void *arg,
                  unsigned stop_timeout);

#endif
