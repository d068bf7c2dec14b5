/* daemon/core/supervise.c — the supervisor: one worker process at a time, restarted when it dies. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "process.h"
#include "supervise.h"

#define DEATH_WINDOW_S 60 /* deaths further apart than this start the count again */
#define MAX_PAUSE_S 10

static volatile sig_atomic_t got_hup, got_term, got_chld;

static void on_signal(int sig)
{
	if (sig == SIGHUP)
		got_hup = 1;
	else if (sig == SIGCHLD)
		got_chld = 1;
	else
		got_term = sig;
}

/* What the supervisor knows of its worker. */
struct sup {
	mvd_worker_fn fn;
	void *arg;
	pid_t pid;       /* 0: none running */
	int ctl_fd;      /* write end of the control pipe, or -1 */
	int ready_fd;    /* read end of the start-status pipe until it spoke, or -1 */
	int started;     /* the first worker reported a successful start */
	int stopping;    /* a stop was asked for */
	time_t deadline; /* stopping: when the worker is killed */
	unsigned deaths; /* unasked deaths within DEATH_WINDOW_S of each other */
	time_t last_death, respawn_at;
	struct aux *aux; /* the auxiliary processes, naux of them */
	size_t naux;
};

/*
 * An auxiliary process (the key process daemon/keyd, the auth process
 * daemon/authd): started before the first worker and restarted whenever it
 * dies; its start-status pipe stays open, one byte per (re)load, so a
 * reload reaches the worker only once every one of them reloaded.
 */
struct aux {
	const struct mvd_aux *def;
	pid_t pid;
	int ctl_fd, ready_fd;
	unsigned deaths;
	time_t last_death, respawn_at;
	int hup_pending;     /* a reload waits for this process's word */
	time_t hup_deadline; /* ... at most until then */
};

#define AUX_RELOAD_WAIT_S 5

static time_t now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* The worker's start: signals as the worker wants them, then its function. */
static void run_worker(mvd_worker_fn fn, void *arg, int ctl_r, int ready_w)
{
	struct sigaction sa;
	sigset_t all;

	/*
	 * Signals sent to the worker's pid are discarded (SIG_IGN, unblocked
	 * in the thread that the kernel offers process signals to first), so
	 * libmilter's own signal thread never gets one: the worker is steered
	 * through the control pipe only.
	 */
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = SIG_DFL;
	sigaction(SIGCHLD, &sa, NULL);
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	exit(fn(ctl_r, ready_w, arg));
}

static void close_others(const struct sup *s)
{
	if (s->ctl_fd >= 0)
		close(s->ctl_fd);
	if (s->ready_fd >= 0)
		close(s->ready_fd);
	for (size_t i = 0; i < s->naux; i++) {
		if (s->aux[i].ctl_fd >= 0)
			close(s->aux[i].ctl_fd);
		if (s->aux[i].ready_fd >= 0)
			close(s->aux[i].ready_fd);
	}
}

/* Fork a child running fn: its pid, the write end of its control pipe, the read end of its status pipe. */
static int fork_child(const struct sup *s, mvd_worker_fn fn, pid_t *pidp, int *ctl_fd,
                      int *ready_fd)
{
	int ctl[2], ready[2];
	pid_t pid;

	if (pipe(ctl) != 0)
		goto fail;
	if (pipe(ready) != 0) {
		close(ctl[0]);
		close(ctl[1]);
		goto fail;
	}
	pid = fork();
	if (pid < 0) {
		close(ctl[0]);
		close(ctl[1]);
		close(ready[0]);
		close(ready[1]);
		goto fail;
	}
	if (pid == 0) {
		close(ctl[1]);
		close(ready[0]);
		close_others(s); /* a child holds no end of another child's pipes */
		run_worker(fn, s->arg, ctl[0], ready[1]);
	}
	close(ctl[0]);
	close(ready[1]);
	/* A full pipe must never block the supervisor: requests then coalesce. */
	fcntl(ctl[1], F_SETFL, O_NONBLOCK);
	fcntl(ctl[1], F_SETFD, FD_CLOEXEC);
	fcntl(ready[0], F_SETFD, FD_CLOEXEC);
	*pidp = pid;
	*ctl_fd = ctl[1];
	*ready_fd = ready[0];
	return 0;
fail:
	return -1;
}

/* Fork a worker. 0, or -1 when it could not be started (logged). */
static int spawn(struct sup *s)
{
	if (fork_child(s, s->fn, &s->pid, &s->ctl_fd, &s->ready_fd) != 0) {
		mvd_log(MVD_LOG_ERR, "worker", "cannot start a worker: %s", strerror(errno));
		return -1;
	}
	mvd_log(MVD_LOG_INFO, "worker", "worker %ld started", (long)s->pid);
	return 0;
}

static void write_ctl(int *fd, char c)
{
	if (*fd >= 0 && write(*fd, &c, 1) < 0 && errno != EAGAIN)
		close_fd(fd);
}

static void send_ctl(struct sup *s, char c)
{
	write_ctl(&s->ctl_fd, c);
}

/* The worker's first word: 0 = serving. */
static void read_ready(struct sup *s)
{
	unsigned char b = 1;
	ssize_t n;

	while ((n = read(s->ready_fd, &b, 1)) < 0 && errno == EINTR)
		;
	close_fd(&s->ready_fd);
	if (n != 1)
		return; /* died before it spoke: reaping tells the rest */
	if (!s->started && b == 0) {
		s->started = 1;
		mvd_process_ready(0);
	} else if (b != 0) {
		mvd_log(MVD_LOG_ERR, "worker", "worker %ld could not start", (long)s->pid);
	}
}

/* The pause before the next start after an unasked death. */
static unsigned pause_after(unsigned deaths)
{
	unsigned p;

	if (deaths <= 3)
		return 0;
	p = 1u << (deaths - 4 < 4 ? deaths - 4 : 4);
	return p < MAX_PAUSE_S ? p : MAX_PAUSE_S;
}

/* Reap the worker if it ended; 1 when it did. */
static int reap(struct sup *s, int *status)
{
	pid_t r;

	if (!s->pid)
		return 0;
	while ((r = waitpid(s->pid, status, WNOHANG)) < 0 && errno == EINTR)
		;
	if (r != s->pid)
		return 0;
	if (s->ready_fd >= 0)
		read_ready(s);
	close_fd(&s->ctl_fd);
	if (WIFSIGNALED(*status))
		mvd_log(s->stopping ? MVD_LOG_WARNING : MVD_LOG_ERR, "worker",
		        "worker %ld killed by signal %d", (long)s->pid, WTERMSIG(*status));
	else if (!s->stopping || WEXITSTATUS(*status) != 0)
		mvd_log(s->stopping ? MVD_LOG_WARNING : MVD_LOG_ERR, "worker",
		        "worker %ld exited with status %d", (long)s->pid, WEXITSTATUS(*status));
	s->pid = 0;
	return 1;
}

/* An unasked death: count it and schedule the next start. */
static void schedule_restart(struct sup *s)
{
	time_t t = now_s();
	unsigned p;

	if (t - s->last_death > DEATH_WINDOW_S)
		s->deaths = 0;
	s->deaths++;
	s->last_death = t;
	p = pause_after(s->deaths);
	s->respawn_at = t + (time_t)p;
	mvd_log(MVD_LOG_WARNING, "worker", "starting a new worker%s%u s", p ? " in " : " now, ", p);
}

static void handle_signals(struct sup *s, unsigned stop_timeout)
{
	if (got_hup) {
		int waiting = 0;
		got_hup = 0;
		/* Keys and passwords first; the worker when they are in (aux_release_hup). */
		for (size_t i = 0; i < s->naux; i++) {
			struct aux *a = &s->aux[i];
			if (!a->pid)
				continue;
			write_ctl(&a->ctl_fd, MVD_CTL_RELOAD);
			a->hup_pending = waiting = 1;
			a->hup_deadline = now_s() + AUX_RELOAD_WAIT_S;
		}
		if (!waiting)
			send_ctl(s, MVD_CTL_RELOAD);
	}
	if (got_term && !s->stopping) {
		mvd_log(MVD_LOG_INFO, "stop", "signal %d: draining", (int)got_term);
		s->stopping = 1;
		s->deadline = now_s() + (time_t)stop_timeout + 5;
		send_ctl(s, MVD_CTL_STOP);
	}
}

/* How long the next wait may last. */
static struct timespec wait_time(const struct sup *s)
{
	struct timespec ts = {1, 0};
	time_t t = now_s();

	if (!s->pid && !s->stopping && s->respawn_at > t)
		ts.tv_sec = s->respawn_at - t;
	return ts;
}

/* Fork an auxiliary process. 0, or -1 (logged). */
static int aux_spawn(struct sup *s, struct aux *a)
{
	if (fork_child(s, a->def->fn, &a->pid, &a->ctl_fd, &a->ready_fd) != 0) {
		mvd_log(MVD_LOG_ERR, a->def->name, "cannot start the %s: %s", a->def->what,
		        strerror(errno));
		return -1;
	}
	mvd_log(MVD_LOG_INFO, a->def->name, "%s %ld started", a->def->what, (long)a->pid);
	return 0;
}

/* The first start, before any worker: each must load, or mailvetd does not start. */
static int aux_first_start(struct sup *s)
{
	for (size_t i = 0; i < s->naux; i++) {
		struct aux *a = &s->aux[i];
		unsigned char b = 1;
		ssize_t n;

		if (aux_spawn(s, a) != 0)
			return -1;
		while ((n = read(a->ready_fd, &b, 1)) < 0 && errno == EINTR)
			;
		if (n != 1 || b != 0) {
			mvd_log(MVD_LOG_ERR, a->def->name, "the %s could not load", a->def->what);
			return -1;
		}
	}
	return 0;
}

/* One process answered a reload (or will not): the worker's turn once none waits. */
static void aux_release_hup(struct sup *s, struct aux *a)
{
	if (!a->hup_pending)
		return;
	a->hup_pending = 0;
	for (size_t i = 0; i < s->naux; i++)
		if (s->aux[i].hup_pending)
			return;
	send_ctl(s, MVD_CTL_RELOAD);
}

/* A process's word after a (re)load; end of file: it died (reaping tells the rest). */
static void aux_read(struct sup *s, struct aux *a)
{
	unsigned char b[16];
	ssize_t n = read(a->ready_fd, b, sizeof b);

	if (n <= 0 && !(n < 0 && errno == EINTR))
		close_fd(&a->ready_fd);
	for (ssize_t i = 0; i < n; i++)
		if (b[i] != 0)
			mvd_log(MVD_LOG_ERR, a->def->name, "the %s could not reload", a->def->what);
	if (n > 0)
		aux_release_hup(s, a);
}

/*
 * Reap a dead auxiliary process and start another: at once, then with the
 * same growing pause as the worker's after repeated deaths. Requests wait
 * in its channel meanwhile (the worker gives up after its timeout).
 */
static void aux_tend(struct sup *s, struct aux *a)
{
	int status;
	pid_t r = 0;

	if (a->pid) {
		while ((r = waitpid(a->pid, &status, WNOHANG)) < 0 && errno == EINTR)
			;
	}
	if (a->pid && r == a->pid) {
		if (WIFSIGNALED(status))
			mvd_log(MVD_LOG_ERR, a->def->name, "%s %ld killed by signal %d",
			        a->def->what, (long)a->pid, WTERMSIG(status));
		else
			mvd_log(MVD_LOG_ERR, a->def->name, "%s %ld exited with status %d",
			        a->def->what, (long)a->pid, WEXITSTATUS(status));
		a->pid = 0;
		close_fd(&a->ctl_fd);
		close_fd(&a->ready_fd);
		aux_release_hup(s, a);
		if (now_s() - a->last_death > DEATH_WINDOW_S)
			a->deaths = 0;
		a->deaths++;
		a->last_death = now_s();
		a->respawn_at = a->last_death + (time_t)pause_after(a->deaths);
	}
	if (a->hup_pending && now_s() >= a->hup_deadline)
		aux_release_hup(s, a);
	if (!a->pid && !s->stopping && now_s() >= a->respawn_at && aux_spawn(s, a) != 0)
		a->respawn_at = now_s() + 1;
}

/* At the end: close its control pipe (a stop), wait a little, then kill it. */
static void aux_stop(struct aux *a)
{
	struct timespec pause = {0, 50 * 1000 * 1000};
	pid_t got = 0;
	int status;

	if (!a->pid)
		return;
	write_ctl(&a->ctl_fd, MVD_CTL_STOP);
	close_fd(&a->ctl_fd);
	for (int i = 0; i < 100; i++) {
		if ((got = waitpid(a->pid, &status, WNOHANG)) < 0 && errno == EINTR)
			got = 0;
		if (got != 0)
			break;
		nanosleep(&pause, NULL);
	}
	if (got == 0) { /* still ours and running (once reaped, its pid may be another's) */
		kill(a->pid, SIGKILL);
		waitpid(a->pid, &status, 0);
	}
	close_fd(&a->ready_fd);
	a->pid = 0;
}

/* Stop them all, the last started first. */
static void aux_stop_all(struct sup *s)
{
	for (size_t i = s->naux; i-- > 0;)
		aux_stop(&s->aux[i]);
}

int mvd_supervise(mvd_worker_fn worker, const struct mvd_aux *aux, size_t naux, void *arg,
                  unsigned stop_timeout)
{
	struct aux ax[MVD_AUX_MAX];
	struct sup s = {worker, arg, 0, -1, -1, 0, 0, 0, 0, 0, 0, ax, 0};
	struct sigaction sa;
	sigset_t block, waitmask;
	int status = 0, rc = 0;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigemptyset(&block);
	sigaddset(&block, SIGHUP);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGCHLD);
	sigprocmask(SIG_BLOCK, &block, &waitmask);
	sigdelset(&waitmask, SIGHUP);
	sigdelset(&waitmask, SIGTERM);
	sigdelset(&waitmask, SIGINT);
	sigdelset(&waitmask, SIGCHLD);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGCHLD, &sa, NULL);
	for (size_t i = 0; i < naux && i < MVD_AUX_MAX; i++)
		ax[s.naux++] = (struct aux){&aux[i], 0, -1, -1, 0, 0, 0, 0, 0};
	if (aux_first_start(&s) != 0 || spawn(&s) != 0) {
		aux_stop_all(&s);
		mvd_process_ready(1);
		return 1;
	}
	for (;;) {
		struct timespec ts = wait_time(&s);
		fd_set rd;
		int nfds = 0;

		FD_ZERO(&rd);
		if (s.ready_fd >= 0) {
			FD_SET(s.ready_fd, &rd);
			nfds = s.ready_fd + 1;
		}
		for (size_t i = 0; i < s.naux; i++) {
			if (ax[i].ready_fd < 0)
				continue;
			FD_SET(ax[i].ready_fd, &rd);
			nfds = ax[i].ready_fd >= nfds ? ax[i].ready_fd + 1 : nfds;
		}
		if (pselect(nfds, &rd, NULL, NULL, &ts, &waitmask) > 0) {
			if (s.ready_fd >= 0 && FD_ISSET(s.ready_fd, &rd))
				read_ready(&s);
			for (size_t i = 0; i < s.naux; i++)
				if (ax[i].ready_fd >= 0 && FD_ISSET(ax[i].ready_fd, &rd))
					aux_read(&s, &ax[i]);
		}
		handle_signals(&s, stop_timeout);
		got_chld = 0;
		for (size_t i = 0; i < s.naux; i++)
			aux_tend(&s, &ax[i]);
		if (reap(&s, &status)) {
			if (s.stopping) { /* the last worker's status: a sanitizer's report shows */
				rc = WIFEXITED(status) ? WEXITSTATUS(status)
				                       : 128 + WTERMSIG(status);
				break;
			}
			if (!s.started) { /* the first start failed: say so, do not loop */
				mvd_process_ready(1);
				rc = 1;
				break;
			}
			schedule_restart(&s);
		}
		if (s.stopping && s.pid && now_s() >= s.deadline) {
			mvd_log(MVD_LOG_ERR, "stop", "worker %ld did not stop: killing it",
			        (long)s.pid);
			kill(s.pid, SIGKILL);
		}
		if (s.stopping && !s.pid)
			break;
		if (!s.pid && !s.stopping && now_s() >= s.respawn_at && spawn(&s) != 0)
			s.respawn_at = now_s() + 1;
	}
	close_fd(&s.ctl_fd);
	close_fd(&s.ready_fd);
	aux_stop_all(&s);
	return rc;
}
