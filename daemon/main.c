/* daemon/main.c — mailvetd: load the configuration, bind, drop privileges, run the milter, handle signals. */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
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
#include "supervise.h"

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
	fprintf(f,
	        "usage: mailvetd [-c FILE] [-n] [-f]\n"
	        "Email authentication milter (SPF, DKIM, DMARC, ARC) for Postfix and Sendmail.\n"
	        "  -c, --config FILE  configuration (default " DEFAULT_CONFIG ")\n"
	        "  -n, --check        check the configuration (keys, zone file included) and exit\n"
	        "  -f, --foreground   stay in the foreground\n"
	        "  -V, --version      print the version and exit\n"
	        "  -h, --help         print this help and exit\n"
	        "Signals: SIGHUP reloads the configuration, SIGTERM drains and stops.\n"
	        "See mailvetd(8) and mailvet.conf(5).\n");
}

static int parse_args(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
	        {"config", required_argument, NULL, 'c'}, {"check", no_argument, NULL, 'n'},
	        {"foreground", no_argument, NULL, 'f'},   {"version", no_argument, NULL, 'V'},
	        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0}};
	int ch;

	o->config = DEFAULT_CONFIG;
	while ((ch = getopt_long(argc, argv, "c:nfhV", longopts, NULL)) != -1) {
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
 * The worker: the milter itself, in a process the supervisor restarts when
 * it dies. It is steered through the control pipe only (reload, stop, or
 * end of file when the supervisor is gone): several reload requests that
 * arrive during one reload are served by one more reload, never lost and
 * never fatal.
 */
static int worker(int ctl_fd, int ready_fd, void *arg)
{
	const struct options *o = arg;
	struct mvd_runtime *rt;
	char err[512] = "";
	unsigned char status = 1;
	pthread_t tid;
	int stop = 0, rc = 0;

	if (!(rt = load(o->config, err, sizeof err))) {
		mvd_log(MVD_LOG_ERR, "start", "%s: %s", o->config, err);
		goto told;
	}
	mvd_log_setup(&rt->cfg);
	mvd_runtime_install(rt);
	if (pthread_create(&tid, NULL, milter_thread, NULL) != 0) {
		mvd_log(MVD_LOG_ERR, "start", "cannot start the milter thread");
		mvd_runtime_install(NULL);
		goto told;
	}
	pthread_detach(tid);
	status = 0;
told:
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
		if (reloads && !stop)
			reload(o->config);
		if (!stop && atomic_load(&milter_done)) {
			mvd_log(MVD_LOG_ERR, "stop", "the milter listener stopped (status %d)",
			        atomic_load(&milter_status));
			rc = 1;
			break;
		}
	}
	rt = mvd_runtime_acquire();
	drain(rt ? rt->cfg.drain_timeout : 30);
	mvd_runtime_release(rt);
	mvd_runtime_install(NULL);
	return rc;
}

/*
 * Everything the supervisor does before its worker runs, with the
 * privileges it started with: the socket (and its directory), the pid
 * file, then the drop to [milter] user.
 */
static int prepare(const struct mvd_config *c, const struct options *o)
{
	char err[512] = "";
	const char *path = socket_path(c->socket);

	if (path && mvd_process_socket_dir(path, c->user, c->socket_group, err, sizeof err) != 0)
		goto fail;
	if (bind_milter(c, err, sizeof err) != 0)
		goto fail;
	if (mvd_process_pidfile(c->pid_file) != 0) {
		snprintf(err, sizeof err, "pid file %s: %s", c->pid_file, strerror(errno));
		goto fail;
	}
	if (mvd_process_drop(c->user, c->group, path, c->socket_group, err, sizeof err) != 0)
		goto fail;
	mvd_log(MVD_LOG_INFO, "start", "mailvetd %s listening on %s as uid %ld%s", MV_VERSION,
	        c->socket, (long)geteuid(), o->foreground ? " (foreground)" : "");
	return 0;
fail:
	mvd_log(MVD_LOG_ERR, "start", "%s", err);
	if (!o->foreground || c->log_dest != MVD_LOG_STDERR)
		fprintf(stderr, "mailvetd: %s\n", err);
	return -1;
}

/* -n: load everything a start would (keys, zone file) and say whether it works. */
static int check_only(const char *path)
{
	char err[512] = "";
	struct mvd_runtime *rt = load(path, err, sizeof err);

	if (!rt) {
		fprintf(stderr, "mailvetd: %s: %s\n", path, err);
		return 1;
	}
	printf("mailvetd: %s: configuration OK\n", path);
	mvd_runtime_release(rt);
	return 0;
}

int main(int argc, char **argv)
{
	struct options o = {0};
	struct mvd_runtime *rt;
	struct mvd_config c;
	char err[512] = "";
	int rc;

	if (parse_args(argc, argv, &o) != 0)
		return 2;
	signal(SIGPIPE, SIG_IGN);
	/* Until the supervisor takes them, SIGTERM and SIGINT end the process at once. */
	if (o.check)
		return check_only(o.config);
	/* Load everything once before the fork to fail early, on the terminal. */
	if (!(rt = load(o.config, err, sizeof err))) {
		fprintf(stderr, "mailvetd: %s: %s\n", o.config, err);
		return 1;
	}
	mvd_runtime_release(rt); /* its resolver threads end here, before any fork */
	if (mvd_config_load(&c, o.config, err, sizeof err) != MV_OK) {
		fprintf(stderr, "mailvetd: %s: %s\n", o.config, err);
		mvd_config_free(&c);
		return 1;
	}
	if (!o.foreground && mvd_process_background(c.log_dest == MVD_LOG_STDERR) != 0) {
		fprintf(stderr, "mailvetd: cannot go to the background: %s\n", strerror(errno));
		mvd_config_free(&c);
		return 1;
	}
	mvd_log_setup(&c);
	if (prepare(&c, &o) != 0) {
		mvd_process_ready(1);
		mvd_config_free(&c);
		return 1;
	}
	rc = mvd_supervise(worker, &o, c.drain_timeout);
	if (c.pid_file[0])
		unlink(c.pid_file);
	mvd_log(MVD_LOG_INFO, "stop", "exiting");
	mvd_config_free(&c);
	return rc;
}
