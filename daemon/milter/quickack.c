/* daemon/milter/quickack.c — over TCP, ACK at once the packets the MTA expects no reply to. */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "session.h"

/*
 * The MTA writes a header (SMFIP_NR_HDR) or a RCPT (SMFIP_NR_RCPT) and, with
 * no reply to wait for, its next packet at once; Nagle's algorithm holds
 * that one until our kernel ACKs the first, which it delays up to 40 ms
 * because we send nothing back. TCP_QUICKACK sends the pending ACK now,
 * so the no-reply flags cost no wait and save a round trip per packet
 * (bench/mta/README.md "Profile").
 *
 * libmilter does not give out a session's socket. Its context (struct
 * smfi_str, private to libmilter) starts with an id and the descriptor: the
 * id is a long in sendmail 8.15 and later (Debian's libmilter 8.17), an
 * unsigned int before. Each guess is used only when the descriptor is a TCP
 * socket on our milter port; when neither is, the caller keeps a reply to
 * every packet.
 */
struct ctx_head_long {
	long id;
	int sd;
};
struct ctx_head_int {
	unsigned int id;
	int sd;
};

/* The port of an "inet:PORT@HOST" or "inet6:PORT@HOST" milter socket, or 0. */
static int config_port(const char *socket)
{
	const char *p = strchr(socket ? socket : "", ':');
	char *end;
	long port;

	if (!p || strncmp(socket, "inet", 4) != 0)
		return 0;
	port = strtol(p + 1, &end, 10);
	return (*end == '@' || *end == '\0') && port > 0 && port < 65536 ? (int)port : 0;
}

/* fd when it is a connected TCP socket whose local port is want, else -1. */
static int our_tcp(int fd, int want)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;
	int type = 0, proto = 0, port;
	socklen_t tl = sizeof type, pl = sizeof proto;

	if (fd < 0 || want == 0)
		return -1;
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) != 0 || type != SOCK_STREAM ||
	    getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &pl) != 0 || proto != IPPROTO_TCP ||
	    getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
		return -1;
	if (ss.ss_family == AF_INET)
		port = ntohs(((const struct sockaddr_in *)(const void *)&ss)->sin_port);
	else if (ss.ss_family == AF_INET6)
		port = ntohs(((const struct sockaddr_in6 *)(const void *)&ss)->sin6_port);
	else
		return -1;
	return port == want ? fd : -1;
}

int mvd_milter_tcp_fd(SMFICTX *ctx, const char *socket)
{
	int want = config_port(socket), fd;

	if (!ctx || want == 0)
		return -1;
	if ((fd = our_tcp(((const struct ctx_head_long *)(const void *)ctx)->sd, want)) >= 0)
		return fd;
	return our_tcp(((const struct ctx_head_int *)(const void *)ctx)->sd, want);
}

void mvd_milter_quickack(const struct mvd_session *s)
{
	int one = 1;

	if (s && s->tcp_fd >= 0)
		(void)setsockopt(s->tcp_fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one);
}
