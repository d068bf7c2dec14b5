/* daemon/core/aux_server.h — the server the key and auth processes share. */
#ifndef MAILVETD_CORE_AUX_SERVER_H
#define MAILVETD_CORE_AUX_SERVER_H

#include <pthread.h>
#include <stddef.h>

/*
 * What a helper process (key process, auth process) plugs into the shared
 * server: how to load its state from the configuration, answer one request
 * record with it, and install its filter.
 */
struct mvd_aux_ops {
	const char *tag;  /* the log tag: "keyd" */
	const char *held; /* what a failed reload keeps: "the keys" */
	size_t max_req;   /* the longest request record; longer ones arrive truncated */
	size_t max_rep;   /* the longest reply */
	/*
	 * 1: recv blocks with SO_RCVTIMEO (a slice at a time, then the stop flag
	 * is looked at): one system call per wait. 0, or if the option cannot be
	 * set: poll, then recv without blocking.
	 */
	int timed;
	/* The state of the configuration at path; NULL (logged) when it fails. */
	void *(*load)(const char *path);
	/*
	 * At reload, before fresh is published: take over from old what must
	 * outlive it (may be NULL). Other threads may still be answering with
	 * old, so carry only reads it; old is freed once the last of them is done.
	 */
	void (*carry)(void *fresh, const void *old);
	/* Free a state; may run on a server thread (the last to let go of a replaced one). */
	void (*free)(void *state);
	/*
	 * Answer one request of n bytes (max_req + 1: it was longer) with a state
	 * that stays alive till it returns, even when a reload has published the
	 * next one meanwhile (so several threads, and two states, run it at once);
	 * the reply goes to rep (max_rep bytes), its length returned (0: no
	 * reply). req may be wiped.
	 */
	size_t (*answer)(void *state, unsigned char *req, size_t n, unsigned char *rep);
	/* Right after server thread i started (may be NULL); arg is started_arg. */
	void (*started)(pthread_t t, unsigned i, void *arg);
	void *started_arg;
	/* Install the filter once every thread runs: 0, or -1 with the reason in why. */
	int (*sandbox)(const void *state, char *why, size_t whylen);
};

/*
 * The helper process's life after its sockets are taken: load the state,
 * one thread per socket of fds[n] answering requests, the filter, then a
 * status byte to ready_fd (0: all of that done, so the process is ready
 * when it says so; 1: the load failed or a thread did not start), then the
 * control pipe ctl_fd: MVD_CTL_RELOAD loads again (its own status byte; a
 * failure keeps the running state), MVD_CTL_STOP or its closing stops the
 * threads. Returns the process's exit status: 0, or 1 when it was not ready.
 */
int mvd_aux_serve(const struct mvd_aux_ops *ops, const int *fds, int n, int ctl_fd, int ready_fd,
                  const char *path);

#endif
