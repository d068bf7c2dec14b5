/* daemon/evloop/listen.c — a listener's socket, bound by the supervisor before it drops its privileges. */
#include <netinet/in.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "evloop.h"

int mvd_evloop_listen(const struct mvd_listener_conf *lc, char *err, size_t errlen)
{
	char host[256], port[8];
	unsigned p;
	struct addrinfo hints = {0}, *ai = NULL;
	int fd = -1, one = 1;

	mvd_listener_split_addr(lc->listen, host, sizeof host, &p);
	snprintf(port, sizeof port, "%u", p);
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST;
	if (getaddrinfo(host, port, &hints, &ai) != 0) {
		snprintf(err, errlen, "[listener %s] listen: not an address: %s", lc->name, host);
		return -1;
	}
	/* The worker is a fork, not an exec: the descriptor is inherited without CLOEXEC trouble. */
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
	    (ai->ai_family == AF_INET6 &&
	     setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) != 0) ||
	    bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 511) != 0) {
		snprintf(err, errlen, "[listener %s] cannot listen on %s: %s", lc->name, lc->listen,
		         strerror(errno));
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	freeaddrinfo(ai);
	return fd;
}
