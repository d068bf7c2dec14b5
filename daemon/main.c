/* daemon/main.c — mailvetd: load the configuration, bind, drop privileges, run the milter, handle signals. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <libmilter/mfapi.h>

#include "config.h"
#include "log.h"
#include "process.h"
#include "runtime.h"
#include "session.h"

#define DEFAULT_CONFIG "/etc/mailvet/mailvet.conf"

struct options {
	const char *config;
	int check;
	int foreground;
};

static atomic_int milter_done;
static atomic_int milter_status;

static void usage(FILE *f)
{
	fprintf(f, "usage: mailvetd [-c FILE] [-n] [-f]\n"
	           "  -c FILE  configuration (default " DEFAULT_CONFIG ")\n"
	           "  -n       check the configuration (keys, zone file included) and exit\n"
	           "  -f       stay in the foreground\n"
	           "  -V       print the version\n");
}

static int parse_args(int argc, char **argv, struct options *o)
{
	int ch;

	o->config = DEFAULT_CONFIG;
	while ((ch = getopt(argc, argv, "c:nfhV")) != -1) {
		switch (ch) {
		case 'c':
			o->config = optarg;
			break;
		case 'n':
			o->check = 1;
			break;
		case 'f':
			o->foreground = 1;
			break;
		case 'V':
			printf("mailvetd %s\n", MV_VERSION);
			exit(0);
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -1;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return -1;
	}
	return 0;
}

/* Load and open a configuration; err says why when it returns NULL. */
static struct mvd_runtime *load(const char *path, char *err, size_t errlen)
{
	struct mvd_config c;
	struct mvd_runtime *rt = NULL;

	if (mvd_config_load(&c, path, err, errlen) != MV_OK) {
		mvd_config_free(&c);
		return NULL;
	}
	if (mvd_runtime_open(&c, &rt, err, errlen) != MV_OK)
		return NULL;
	return rt;
}

static void *milter_thread(void *arg)
{
	(void)arg;
	atomic_store(&milter_status, smfi_main());
	atomic_store(&milter_done, 1);
	return NULL;
}

/* The unix socket's path in a "unix:/path" or "local:/path" spec, else NULL. */
static const char *socket_path(const char *spec)
{
	if (strncmp(spec, "unix:", 5) == 0)
		return spec + 5;
	if (strncmp(spec, "local:", 6) == 0)
		return spec + 6;
	if (spec[0] == '/')
		return spec;
	return NULL;
}

/*
 * libmilter writes each modification and the final reply of end of message
 * as separate packets; with Nagle's algorithm the second waits for the MTA's
 * delayed ACK (40 ms on Linux), per message. libmilter keeps its listening
 * socket to itself, so find it among our descriptors and set TCP_NODELAY,
 * which Linux hands down to every accepted connection.
 */
static void listener_nodelay(void)
{
	for (int fd = 3; fd < 1024; fd++) {
		int on = 0, family = 0, one = 1;
		socklen_t len = sizeof on, flen = sizeof family;

		if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &on, &len) != 0 || !on)
			continue;
		if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &family, &flen) != 0 ||
		    (family != AF_INET && family != AF_INET6))
			continue;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	}
}

/* Register with libmilter and bind the socket (as root, before the drop). */
static int bind_milter(const struct mvd_config *c, char *err, size_t errlen)
{
	mode_t old;
	int r;

	if (smfi_register(*mvd_milter_desc()) != MI_SUCCESS ||
	    smfi_setconn((char *)c->socket) != MI_SUCCESS ||
	    smfi_settimeout((int)c->milter_timeout) != MI_SUCCESS) {
		snprintf(err, errlen, "libmilter refused the socket %s", c->socket);
		return -1;
	}
	old = umask((mode_t)c->socket_umask);
	r = smfi_opensocket(1);
	umask(old);
	if (r != MI_SUCCESS) {
		snprintf(err, errlen, "cannot listen on %s", c->socket);
		return -1;
	}
	listener_nodelay();
	return 0;
}

static void reload(const char *path)
{
	char err[512] = "";
	struct mvd_runtime *rt = load(path, err, sizeof err);

	if (!rt) {
		mvd_log(MVD_LOG_ERR, "reload", "%s; keeping the running configuration", err);
		return;
	}
	mvd_log_setup(&rt->cfg);
	mvd_runtime_install(rt);
	mvd_log(MVD_LOG_INFO, "reload",
	        "configuration reloaded for new connections (socket, user and pid_file "
	        "changes need a restart)");
}

/* SIGTERM: stop accepting, let messages in flight finish (drain_timeout), leave. */
static void drain(unsigned timeout)
{
	struct timespec step = {0, 50 * 1000 * 1000};
	long waited_ms = 0;

	mvd_milter_drain();
	while (mvd_milter_in_flight() > 0 && waited_ms < (long)timeout * 1000) {
		nanosleep(&step, NULL);
		waited_ms += 50;
	}
	if (mvd_milter_in_flight() > 0)
		mvd_log(MVD_LOG_WARNING, "stop", "%d messages still in flight after %u s",
		        mvd_milter_in_flight(), timeout);
	/* Now libmilter may close what is left; smfi_main returns within about a second. */
	smfi_stop();
	for (int i = 0; i < 100 && !atomic_load(&milter_done); i++)
		nanosleep(&step, NULL);
}

/*
 * Work the signals ask for (reload, drain), done by a control thread so
 * that the main thread, which takes the signals (see signal_loop()), never
 * blocks on it.
 */
struct control {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int reloads; /* SIGHUPs not handled yet */
	int stop;    /* SIGTERM/SIGINT seen */
	int done;    /* drained: the main thread may leave */
	const char *path;
	unsigned drain_timeout;
};

static void *control_thread(void *arg)
{
	struct control *c = arg;

	pthread_mutex_lock(&c->lock);
	for (;;) {
		while (!c->reloads && !c->stop)
			pthread_cond_wait(&c->cond, &c->lock);
		if (c->stop)
			break;
		c->reloads = 0;
		pthread_mutex_unlock(&c->lock);
		reload(c->path);
		struct mvd_runtime *rt = mvd_runtime_acquire();
		pthread_mutex_lock(&c->lock);
		if (rt)
			c->drain_timeout = rt->cfg.drain_timeout;
		mvd_runtime_release(rt);
	}
	pthread_mutex_unlock(&c->lock);
	drain(c->drain_timeout);
	pthread_mutex_lock(&c->lock);
	c->done = 1;
	pthread_mutex_unlock(&c->lock);
	return NULL;
}

/* Counted by the handlers below; read and reset by the main thread only. */
static volatile sig_atomic_t got_hup, got_term, term_signal;

static void on_signal(int sig)
{
	if (sig == SIGHUP)
		got_hup = 1;
	else {
		term_signal = sig;
		got_term = 1;
	}
}

/*
 * The main thread only takes signals and hands them to the control thread.
 * libmilter's own signal thread sigwait()s for SIGHUP and SIGTERM too and
 * stops the milter on either; every other thread blocks them. The main
 * thread therefore keeps them unblocked, with handlers, at every moment:
 * Linux offers a signal sent to the process to its main thread first
 * whenever that thread does not block it, so libmilter never sees one. (A
 * sigtimedwait() loop would leave them blocked between two waits, and a
 * signal arriving then went to libmilter, which stopped the milter.)
 */
static int signal_loop(const sigset_t *set, const char *path, unsigned drain_timeout)
{
	struct control c = {
	        PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, 0, path, drain_timeout};
	struct timespec tick = {0, 100 * 1000 * 1000};
	struct sigaction sa;
	pthread_t tid;
	int rc = 0;

	if (pthread_create(&tid, NULL, control_thread, &c) != 0) {
		mvd_log(MVD_LOG_ERR, "start", "cannot start the control thread");
		return 1;
	}
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	pthread_sigmask(SIG_UNBLOCK, set, NULL);
	for (;;) {
		nanosleep(&tick, NULL); /* a signal cuts it short */
		pthread_mutex_lock(&c.lock);
		if (got_hup) {
			got_hup = 0;
			c.reloads++;
			pthread_cond_signal(&c.cond);
		}
		if (got_term && !c.stop) {
			mvd_log(MVD_LOG_INFO, "stop", "signal %d: draining", (int)term_signal);
			c.stop = 1;
			pthread_cond_signal(&c.cond);
		} else if (!c.stop && atomic_load(&milter_done)) {
			mvd_log(MVD_LOG_ERR, "stop", "the milter listener stopped (status %d)",
			        atomic_load(&milter_status));
			c.stop = 1;
			rc = 1;
			pthread_cond_signal(&c.cond);
		}
		if (c.done) {
			pthread_mutex_unlock(&c.lock);
			break;
		}
		pthread_mutex_unlock(&c.lock);
	}
	pthread_join(tid, NULL);
	return rc;
}

/* Everything between the parsed configuration and the running milter. */
static int start(struct mvd_runtime *rt, const struct options *o, pthread_t *tid)
{
	const struct mvd_config *c = &rt->cfg;
	char err[512] = "";

	if (bind_milter(c, err, sizeof err) != 0)
		goto fail;
	if (mvd_process_pidfile(c->pid_file) != 0) {
		snprintf(err, sizeof err, "pid file %s: %s", c->pid_file, strerror(errno));
		goto fail;
	}
	if (mvd_process_drop(c->user, c->group, socket_path(c->socket), err, sizeof err) != 0)
		goto fail;
	if (pthread_create(tid, NULL, milter_thread, NULL) != 0) {
		snprintf(err, sizeof err, "cannot start the milter thread");
		goto fail;
	}
	mvd_log(MVD_LOG_INFO, "start", "mailvetd %s listening on %s as uid %ld%s", MV_VERSION,
	        c->socket, (long)geteuid(), o->foreground ? " (foreground)" : "");
	return 0;
fail:
	mvd_log(MVD_LOG_ERR, "start", "%s", err);
	if (!o->foreground || c->log_dest != MVD_LOG_STDERR)
		fprintf(stderr, "mailvetd: %s\n", err);
	return -1;
}

int main(int argc, char **argv)
{
	struct options o = {0};
	struct mvd_runtime *rt;
	char err[512] = "";
	sigset_t set;
	pthread_t tid;
	unsigned drain_timeout;
	char *pid_file;
	int rc;

	if (parse_args(argc, argv, &o) != 0)
		return 2;
	/* Block the signals in every thread to come; signal_loop() takes them in this one. */
	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (o.check) {
		if (!(rt = load(o.config, err, sizeof err))) {
			fprintf(stderr, "mailvetd: %s: %s\n", o.config, err);
			return 1;
		}
		printf("mailvetd: %s: configuration OK\n", o.config);
		mvd_runtime_release(rt);
		return 0;
	}
	{
		/* Read once before the fork to fail early and know where to log. */
		struct mvd_config c;
		if (mvd_config_load(&c, o.config, err, sizeof err) != MV_OK) {
			fprintf(stderr, "mailvetd: %s: %s\n", o.config, err);
			mvd_config_free(&c);
			return 1;
		}
		if (!o.foreground && mvd_process_background(c.log_dest == MVD_LOG_STDERR) != 0) {
			fprintf(stderr, "mailvetd: cannot go to the background: %s\n",
			        strerror(errno));
			mvd_config_free(&c);
			return 1;
		}
		mvd_log_setup(&c);
		mvd_config_free(&c);
	}
	/* Resolver threads start here, after the fork. */
	if (!(rt = load(o.config, err, sizeof err))) {
		mvd_log(MVD_LOG_ERR, "start", "%s: %s", o.config, err);
		fprintf(stderr, "mailvetd: %s: %s\n", o.config, err);
		mvd_process_ready(1);
		return 1;
	}
	drain_timeout = rt->cfg.drain_timeout;
	pid_file = strdup(rt->cfg.pid_file);
	mvd_runtime_install(rt);
	if (!pid_file || start(rt, &o, &tid) != 0) {
		mvd_process_ready(1);
		mvd_runtime_install(NULL);
		free(pid_file);
		return 1;
	}
	mvd_process_ready(0);
	rc = signal_loop(&set, o.config, drain_timeout);
	mvd_runtime_install(NULL);
	if (pid_file[0])
		unlink(pid_file);
	free(pid_file);
	mvd_log(MVD_LOG_INFO, "stop", "exiting");
	return rc;
}
