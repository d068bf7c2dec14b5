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
};

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
static void run_worker(struct sup *s, int ctl_r, int ready_w)
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
	exit(s->fn(ctl_r, ready_w, s->arg));
}

/* Fork a worker. 0, or -1 when it could not be started (logged). */
static int spawn(struct sup *s)
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
		run_worker(s, ctl[0], ready[1]);
	}
	close(ctl[0]);
	close(ready[1]);
	/* A full pipe must never block the supervisor: requests then coalesce. */
	fcntl(ctl[1], F_SETFL, O_NONBLOCK);
	fcntl(ctl[1], F_SETFD, FD_CLOEXEC);
	fcntl(ready[0], F_SETFD, FD_CLOEXEC);
	s->pid = pid;
	s->ctl_fd = ctl[1];
	s->ready_fd = ready[0];
	mvd_log(MVD_LOG_INFO, "worker", "worker %ld started", (long)pid);
	return 0;
fail:
	mvd_log(MVD_LOG_ERR, "worker", "cannot start a worker: %s", strerror(errno));
	return -1;
}

static void send_ctl(struct sup *s, char c)
{
	if (s->ctl_fd >= 0 && write(s->ctl_fd, &c, 1) < 0 && errno != EAGAIN)
		close_fd(&s->ctl_fd);
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
		got_hup = 0;
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

int mvd_supervise(mvd_worker_fn worker, void *arg, unsigned stop_timeout)
{
	struct sup s = {worker, arg, 0, -1, -1, 0, 0, 0, 0, 0, 0};
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
	if (spawn(&s) != 0) {
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
		if (pselect(nfds, &rd, NULL, NULL, &ts, &waitmask) > 0 && s.ready_fd >= 0 &&
		    FD_ISSET(s.ready_fd, &rd))
			read_ready(&s);
		handle_signals(&s, stop_timeout);
		got_chld = 0;
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
	return rc;
}
