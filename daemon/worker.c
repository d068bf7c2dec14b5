/* daemon/worker.c — the worker process: the front ends (milter, SMTP listeners) and the control pipe. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "authd/authd.h"
#include "http.h"
#include "keyd/keyd.h"
#include "listen.h"
#include "log.h"
#include "proxy.h"
#include "recorder.h"
#include "runtime.h"
#include "sandbox_worker.h"
#include "smtp.h"
#include "submit.h"
#include "supervise.h"
#include "worker.h"

/* Start what the configuration asks for; 0 when everything serves. */
static int start(const struct mvd_runtime *rt, int *milter)
{
	char err[512] = "";

	*milter = rt->cfg.socket[0] != '\0';
	if (*milter && mvd_milter_start() != 0) {
		mvd_log(MVD_LOG_ERR, "start", "cannot start the milter thread");
		return -1;
	}
	if (mvd_smtp_start(err, sizeof err) != 0 || mvd_proxy_start(err, sizeof err) != 0 ||
	    mvd_http_start(&rt->cfg, err, sizeof err) != 0) {
		mvd_log(MVD_LOG_ERR, "start", "%s", err);
		return -1;
	}
	return 0;
}

static int sandbox_writes = -1; /* what the filter was installed with; -1: none */

/*
 * Once everything runs (the threads exist: the filter goes on all of them),
 * the system-call filter: from here a takeover of this process cannot start
 * a program or a process, nor open a file for writing unless a store or
 * spool needs it. 0, or 1 (a failed start) when it cannot be installed.
 */
static unsigned char sandbox(const struct mvd_runtime *rt)
{
	char err[128] = "";
	int writes = mvd_worker_sandbox_writes(&rt->cfg);

	if (mvd_worker_sandbox(writes, err, sizeof err) == 0) {
		sandbox_writes = writes;
		return 0;
	}
	mvd_log(MVD_LOG_ERR, "start", "worker: no system-call filter: %s", err);
	return 1;
}

/*
 * The filter's write permission is fixed when it is installed: a reload that
 * adds the first file store or spool cannot use it until a new worker (which
 * reads the configuration again) starts. Said at the reload, where an
 * administrator looks, not at each failed write; not under
 * MAILVETD_SECCOMP=log, where the writes go through.
 */
static void writes_need_restart(const struct mvd_runtime *rt)
{
	const char *mode = getenv("MAILVETD_SECCOMP");

	if (sandbox_writes == 0 && mvd_worker_sandbox_writes(&rt->cfg) &&
	    !(mode && strcmp(mode, "log") == 0))
		mvd_log(MVD_LOG_ERR, "reload",
		        "the new configuration writes files (a file store, a spool or failure "
		        "reports) and this worker's system-call filter was installed without file "
		        "writes: restart mailvetd (or end worker %ld: the supervisor starts a new "
		        "one); until then those writes fail",
		        (long)getpid());
}

/* A front end that stopped by itself ends the worker (the supervisor starts another). */
static int front_end_died(int milter)
{
	int status;

	if (milter && mvd_milter_stopped(&status)) {
		mvd_log(MVD_LOG_ERR, "stop", "the milter listener stopped (status %d)", status);
		return 1;
	}
	if (mvd_smtp_count() && !mvd_smtp_running()) {
		mvd_log(MVD_LOG_ERR, "stop", "the SMTP event loop stopped");
		return 1;
	}
	if (mvd_proxy_count() && !mvd_proxy_running()) {
		mvd_log(MVD_LOG_ERR, "stop", "the IMAP/POP3 proxy event loop stopped");
		return 1;
	}
	return 0;
}

/*
 * Several reload requests that arrive during one reload are served by one
 * more reload, never lost and never fatal.
 */
int mvd_worker(int ctl_fd, int ready_fd, void *arg)
{
	const char *config = arg;
	struct mvd_runtime *rt;
	char err[512] = "";
	unsigned char status = 1;
	int stop = 0, rc = 0, milter = 0;
	unsigned timeout;

	mvd_keyd_client_attach();  /* keys are the key process's: this process never reads them */
	mvd_authd_client_attach(); /* and passwords the auth process's */
	mvd_submit_backend_elsewhere();
	if (!(rt = mvd_runtime_load(config, err, sizeof err))) {
		mvd_log(MVD_LOG_ERR, "start", "%s", err);
		goto told;
	}
	mvd_log_setup(&rt->cfg);
	mvd_runtime_install(rt);
	rt = mvd_runtime_acquire();
	mvd_recorder_configure(&rt->cfg.reports, &rt->cfg.trace); /* spools, trace retention */
	status = start(rt, &milter) == 0 ? 0 : 1;
	if (status == 0)
		status = sandbox(rt);
	mvd_runtime_release(rt);
told:
	mvd_log_start_over();
	if (write(ready_fd, &status, 1) != 1 || status != 0) {
		close(ready_fd);
		return 1;
	}
	close(ready_fd);
	while (!stop) {
		struct pollfd pfd = {ctl_fd, POLLIN, 0};
		char req[64];
		int reloads = 0;
		ssize_t n;

		if (poll(&pfd, 1, 200) > 0) {
			if ((n = read(ctl_fd, req, sizeof req)) <= 0)
				stop = n == 0 || errno != EINTR;
			for (ssize_t i = 0; i < n; i++) {
				reloads |= req[i] == MVD_CTL_RELOAD;
				stop |= req[i] == MVD_CTL_STOP;
			}
		}
		if (reloads && !stop) {
			mvd_runtime_reload(config);
			mvd_smtp_reload();
			if ((rt = mvd_runtime_acquire()) != NULL) {
				mvd_recorder_configure(&rt->cfg.reports, &rt->cfg.trace);
				writes_need_restart(rt);
			}
			mvd_runtime_release(rt);
			mvd_proxy_reload();
		}
		if (!stop && front_end_died(milter)) {
			rc = 1;
			break;
		}
	}
	rt = mvd_runtime_acquire();
	timeout = rt ? rt->cfg.drain_timeout : 30;
	mvd_runtime_release(rt);
	mvd_http_stop();
	mvd_proxy_stop();
	mvd_smtp_stop(timeout);
	if (milter)
		mvd_milter_finish(timeout);
	mvd_recorder_stop(); /* what is queued goes to the store */
	mvd_runtime_install(NULL);
	return rc;
}
