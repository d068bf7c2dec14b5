/* daemon/main.c — mailvetd: options, the start (socket, pid file, privileges), then the supervisor. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "authd/authd.h"
#include "config.h"
#include "keyd/keyd.h"
#include "log.h"
#include "process.h"
#include "runtime.h"
#include "sandbox_worker.h"
#include "listen.h"
#include "proxy.h"
#include "smtp.h"
#include "supervise.h"
#include "worker.h"

#define DEFAULT_CONFIG "/etc/mailvet/mailvet.conf"

struct options {
	const char *config; /* absolute, or as given when realpath() failed */
	int check;
	int check_dns; /* -n --check-dns: also each key against its DNS record */
	int foreground;
};

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: mailvetd [-c FILE] [-n [--check-dns]] [-f]\n"
	        "Email authentication (SPF, DKIM, DMARC, ARC): a milter for Postfix and Sendmail,\n"
	        "and an SMTP front end that relays to the next hop.\n"
	        "  -c, --config FILE  configuration (default " DEFAULT_CONFIG ")\n"
	        "  -n, --check        check the configuration (keys, zone file included) and exit\n"
	        "      --check-dns    with -n: check each signing key's published DNS record\n"
	        "  -f, --foreground   stay in the foreground\n"
	        "  -V, --version      print the version and exit\n"
	        "  -h, --help         print this help and exit\n"
	        "Signals: SIGHUP reloads the configuration, SIGTERM drains and stops.\n"
	        "See mailvetd(8) and mailvet.conf(5).\n");
}

static int parse_args(int argc, char **argv, struct options *o)
{
	static char *config_abs;
	static const struct option longopts[] = {{"config", required_argument, NULL, 'c'},
	                                         {"check", no_argument, NULL, 'n'},
	                                         {"foreground", no_argument, NULL, 'f'},
	                                         {"version", no_argument, NULL, 'V'},
	                                         {"help", no_argument, NULL, 'h'},
	                                         {"check-dns", no_argument, NULL, 'D'},
	                                         {NULL, 0, NULL, 0}};
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
		case 'D':
			o->check_dns = 1;
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
	if (optind != argc || (o->check_dns && !o->check)) {
		if (o->check_dns && !o->check)
			fprintf(stderr, "mailvetd: --check-dns goes with -n\n");
		usage(stderr);
		return -1;
	}
	/* The worker reads it again after the move to / (and on every reload); kept till exit. */
	if (o->config[0] != '/' && (config_abs = realpath(o->config, NULL)) != NULL)
		o->config = config_abs;
	return 0;
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
 * Who each child becomes when mailvetd starts as root (from the start's
 * configuration: a change needs a restart). The supervisor stays root, so
 * that every restart can start each child as its own user; it parses no
 * input (docs/internals/privsep.md, "Users").
 */
static struct {
	const char *user, *group;           /* the worker: [milter] user and group */
	const char *key_user, *key_group;   /* the key process: [privsep] key_user, or the same */
	const char *auth_user, *auth_group; /* the auth process: [privsep] auth_user, or the same */
} ids = {"", "", "", "", "", ""};

/* A child's first step: become its user; 1 (a failed start, logged) when that fails. */
static int become(const char *who, const char *user, const char *group)
{
	char err[512] = "";

	if (mvd_process_become(user, group, err, sizeof err) == 0)
		return 0;
	mvd_log(MVD_LOG_ERR, "start", "%s: %s", who, err);
	return 1;
}

static int worker_start(int ctl_fd, int ready_fd, void *arg)
{
	if (become("worker", ids.user, ids.group) != 0)
		return 1; /* no status byte: the supervisor sees a start that failed */
	return mvd_worker(ctl_fd, ready_fd, arg);
}

/*
 * Everything the supervisor does before its children run, with the
 * privileges it started with: the socket (and its directory, handed to
 * [milter] user), the pid file. It keeps them: each child drops in its
 * own start (worker_start, run_keyd, run_authd).
 */
static int prepare(const struct mvd_config *c, const struct options *o)
{
	char err[512] = "", proxies[64] = "";
	const char *path = socket_path(c->socket);
	rlim_t nofile;

	if (path && mvd_process_socket_dir(path, c->user, c->socket_group, err, sizeof err) != 0)
		goto fail;
	if (c->socket[0] && mvd_milter_bind(c, err, sizeof err) != 0)
		goto fail;
	if (mvd_smtp_bind(c, err, sizeof err) != 0 || mvd_proxy_bind(c, err, sizeof err) != 0)
		goto fail;
	if (mvd_process_pidfile(c->pid_file, c->user, c->group, err, sizeof err) != 0)
		goto fail;
	if (mvd_process_give_socket(c->user, c->group, path, c->socket_group, err, sizeof err) != 0)
		goto fail;
	ids.user = c->user;
	ids.group = c->group;
	ids.key_user = c->key_user[0] ? c->key_user : c->user;
	ids.key_group = c->key_user[0] ? "" : c->group;
	ids.auth_user = c->auth_user[0] ? c->auth_user : c->user;
	ids.auth_group = c->auth_user[0] ? "" : c->group;
	if (mvd_proxy_count())
		snprintf(proxies, sizeof proxies, " and %zu IMAP/POP3 listener(s)",
		         mvd_proxy_count());
	nofile = mvd_process_raise_nofile();
	mvd_log(MVD_LOG_INFO, "start",
	        "mailvetd %s listening on %s%s%zu SMTP listener(s)%s as uid %ld (worker: %s, key "
	        "process: %s), open files %lu%s",
	        MV_VERSION, c->socket[0] ? c->socket : "", c->socket[0] ? " and " : "",
	        mvd_smtp_count(), proxies, (long)geteuid(), ids.user[0] ? ids.user : "the same",
	        ids.key_user[0] ? ids.key_user : "the same", (unsigned long)nofile,
	        o->foreground ? " (foreground)" : "");
	return 0;
fail:
	mvd_log(MVD_LOG_ERR, "start", "%s", err); /* on the terminal too: mvd_log_start_terminal */
	return -1;
}

/*
 * -n: load everything a start would (keys, zone file) and say whether it
 * works; with --check-dns, also each key against its published record.
 */
static int check_only(const char *path, int check_dns)
{
	char err[512] = "";
	struct mvd_runtime *rt = mvd_runtime_load(path, err, sizeof err);
	long bad = 0;

	if (!rt) {
		fprintf(stderr, "mailvetd: %s\n", err);
		return 1;
	}
	if (check_dns && (bad = mvd_keys_check_dns(rt->keys, rt->resolver, stdout)) < 0)
		fprintf(stderr, "mailvetd: out of memory\n");
	if (bad == 0)
		printf("mailvetd: %s: configuration OK\n", path);
	mvd_runtime_release(rt);
	return bad != 0;
}

/*
 * The start's early check (the configuration loads, keys included) runs in a
 * child that exits: the private keys it reads never enter the supervisor's
 * memory, which every worker is forked from (docs/internals/privsep.md).
 * 0 when it loaded; the reason is on stderr otherwise.
 */
static int check_in_child(const char *path)
{
	pid_t pid = fork();
	int status = 0;

	if (pid < 0) {
		fprintf(stderr, "mailvetd: fork: %s\n", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		char err[512] = "";
		struct mvd_runtime *rt = mvd_runtime_load(path, err, sizeof err);
		if (!rt)
			fprintf(stderr, "mailvetd: %s\n", err);
		mvd_runtime_release(rt);
		fflush(NULL);
		_exit(rt ? 0 : 1);
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

/* 1 when a listener may offer AUTH: then the password back end needs its own process. */
static int wants_auth_process(const struct mvd_config *c)
{
	for (size_t i = 0; i < c->listeners.count; i++)
		if (c->listeners.item[i].role == MVD_ROLE_SUBMISSION || c->listeners.item[i].auth)
			return 1;
	return 0;
}

/* The key process holds no end of the auth process's channel. */
static int run_keyd(int ctl_fd, int ready_fd, void *arg)
{
	mvd_authd_channel_close();
	if (become("key process", ids.key_user, ids.key_group) != 0)
		return 1;
	return mvd_keyd_main(ctl_fd, ready_fd, arg);
}

/* The auth process holds no end of the key process's channel. */
static int run_authd(int ctl_fd, int ready_fd, void *arg)
{
	int fds[MVD_KEYD_SOCKETS];

	mvd_keyd_channel_client(fds);
	for (int i = 0; i < MVD_KEYD_SOCKETS; i++)
		close(fds[i]);
	if (become("auth process", ids.auth_user, ids.auth_group) != 0)
		return 1;
	return mvd_authd_main(ctl_fd, ready_fd, arg);
}

/*
 * The processes beside the worker: the key process always, the auth
 * process when a listener may offer AUTH (its channel opened here). *n
 * gets their count; -1 when a channel cannot be made (logged).
 */
static int aux_processes(const struct mvd_config *c, struct mvd_aux *aux, size_t *n)
{
	*n = 0;
	if (mvd_keyd_channel_open() != 0)
		goto fail;
	aux[(*n)++] = (struct mvd_aux){"keyd", "key process", run_keyd};
	if (wants_auth_process(c)) {
		if (mvd_authd_channel_open() != 0)
			goto fail;
		aux[(*n)++] = (struct mvd_aux){"authd", "auth process", run_authd};
	}
	return 0;
fail:
	mvd_log(MVD_LOG_ERR, "start", "socketpair: %s", strerror(errno));
	return -1;
}

/*
 * From the first listener on, SIGHUP, SIGTERM and SIGINT wait for the
 * supervisor, which unblocks them once its handlers are in place: a reload
 * asked for during the start is done then, a stop drains as at any other
 * time. Before, one sent as soon as the port answered ended the process by
 * the default action, leaving its socket and pid file behind.
 */
static void block_stop_and_reload(void)
{
	sigset_t early;

	sigemptyset(&early);
	sigaddset(&early, SIGHUP);
	sigaddset(&early, SIGTERM);
	sigaddset(&early, SIGINT);
	sigprocmask(SIG_BLOCK, &early, NULL);
}

int main(int argc, char **argv)
{
	struct mvd_aux aux[2];
	size_t naux = 0;
	struct options o = {0};
	struct mvd_config c;
	char err[512] = "";
	int rc;

	if (parse_args(argc, argv, &o) != 0)
		return 2;
	signal(SIGPIPE, SIG_IGN);
	/* Until the listeners are bound, SIGTERM and SIGINT end the process at once. */
	if (o.check)
		return check_only(o.config, o.check_dns);
	/* Load everything once before the fork to fail early, on the terminal. */
	if (check_in_child(o.config) != 0)
		return 1;
	if (mvd_config_load(&c, o.config, err, sizeof err) != MV_OK) {
		fprintf(stderr, "mailvetd: %s\n", err);
		mvd_config_free(&c);
		return 1;
	}
	/* From here until the daemon runs, errors reach the terminal whatever the log's way. */
	mvd_log_start_terminal(dup(2));
	if (!o.foreground && mvd_process_background(c.log_dest == MVD_LOG_STDERR) != 0) {
		fprintf(stderr, "mailvetd: cannot go to the background: %s\n", strerror(errno));
		mvd_config_free(&c);
		return 1;
	}
	mvd_log_setup(&c);
	block_stop_and_reload();
	if (prepare(&c, &o) != 0) {
		mvd_process_ready(1);
		mvd_config_free(&c);
		return 1;
	}
	if (aux_processes(&c, aux, &naux) != 0) {
		mvd_process_ready(1);
		mvd_config_free(&c);
		return 1;
	}
	/* Before any child: each inherits it beneath its own filter. */
	if (mvd_supervisor_sandbox(err, sizeof err) != 0) {
		mvd_log(MVD_LOG_ERR, "start", "supervisor: %s", err);
		mvd_process_ready(1);
		mvd_config_free(&c);
		return 1;
	}
	rc = mvd_supervise(worker_start, aux, naux, (void *)o.config, c.drain_timeout);
	/* The worker's filter forbids unlink (libmilter's own removal fails): the supervisor, which bound it, removes it. */
	if (socket_path(c.socket) && unlink(socket_path(c.socket)) != 0 && errno != ENOENT)
		mvd_log(MVD_LOG_WARNING, "stop", "cannot remove %s: %s", socket_path(c.socket),
		        strerror(errno));
	mvd_process_pidfile_remove();
	mvd_log(MVD_LOG_INFO, "stop", "exiting");
	mvd_config_free(&c);
	return rc;
}
