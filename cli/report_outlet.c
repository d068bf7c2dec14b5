/* cli/report_outlet.c — a built report handed to the SMTP relay or to a sendmail-compatible program. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "report_outlet.h"

/* Write all of p to fd, CRLF turned into LF (sendmail's local line ends), by the deadline. */
static int write_lf(int fd, const char *p, size_t n, time_t deadline)
{
	char chunk[8192];
	size_t i = 0;

	while (i < n) {
		size_t k = 0, off = 0;
		for (; i < n && k < sizeof chunk; i++)
			if (!(p[i] == '\r' && i + 1 < n && p[i + 1] == '\n'))
				chunk[k++] = p[i];
		while (off < k) {
			struct pollfd pfd = {fd, POLLOUT, 0};
			ssize_t w;
			int left = (int)(deadline - time(NULL));
			if (left <= 0 || poll(&pfd, 1, left * 1000) <= 0)
				return -1;
			if ((w = write(fd, chunk + off, k - off)) < 0) {
				if (errno == EINTR || errno == EAGAIN)
					continue;
				return -1;
			}
			off += (size_t)w;
		}
	}
	return 0;
}

/* Wait for pid until the deadline; killed past it. The exit status, or -1. */
static int reap(pid_t pid, time_t deadline, char *why, size_t whylen)
{
	int status;

	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);
		if (r == pid)
			break;
		if (r < 0 && errno != EINTR) {
			snprintf(why, whylen, "waitpid: %s", strerror(errno));
			return -1;
		}
		if (time(NULL) >= deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			snprintf(why, whylen, "sendmail did not finish in time (killed)");
			return -1;
		}
		usleep(20000);
	}
	if (WIFEXITED(status)) {
		snprintf(why, whylen, "sendmail exited with status %d", WEXITSTATUS(status));
		return WEXITSTATUS(status);
	}
	snprintf(why, whylen, "sendmail killed by signal %d",
	         WIFSIGNALED(status) ? WTERMSIG(status) : 0);
	return -1;
}

static enum mv_smtp_outcome sendmail(const struct mv_cli_outlet *o, const char *from,
                                     const char *msg, size_t len, char *why, size_t whylen)
{
	time_t deadline = time(NULL) + (o->timeout ? o->timeout : 60);
	void (*old)(int) = signal(SIGPIPE, SIG_IGN);
	int fds[2], wrote;
	pid_t pid;

	if (pipe(fds) != 0) {
		snprintf(why, whylen, "pipe: %s", strerror(errno));
		return MV_SMTP_FAILED;
	}
	if ((pid = fork()) < 0) {
		snprintf(why, whylen, "fork: %s", strerror(errno));
		close(fds[0]);
		close(fds[1]);
		return MV_SMTP_FAILED;
	}
	if (pid == 0) {
		char *argv[] = {(char *)o->sendmail, "-t", "-oi", "-f", (char *)from, NULL};
		dup2(fds[0], 0);
		close(fds[0]);
		close(fds[1]);
		execv(o->sendmail, argv);
		_exit(127);
	}
	close(fds[0]);
	wrote = write_lf(fds[1], msg, len, deadline);
	close(fds[1]);
	signal(SIGPIPE, old);
	if (reap(pid, deadline, why, whylen) != 0)
		return MV_SMTP_FAILED;
	if (wrote != 0) {
		snprintf(why, whylen, "sendmail did not read the whole message");
		return MV_SMTP_FAILED;
	}
	snprintf(why, whylen, "handed to %s", o->sendmail);
	return MV_SMTP_ACCEPTED;
}

enum mv_smtp_outcome mv_cli_outlet_send(const struct mv_cli_outlet *o, const char *from,
                                        const char *to, const char *msg, size_t len, char *why,
                                        size_t whylen)
{
	if (o->sendmail) {
		if (from[0] == '-' || strcspn(from, "\r\n") != strlen(from)) {
			snprintf(why, whylen, "bad sender %s", from);
			return MV_SMTP_REFUSED;
		}
		return sendmail(o, from, msg, len, why, whylen);
	}
	return mv_cli_smtp_send(o->relay, o->helo, from, to, msg, len, o->timeout, why, whylen);
}
