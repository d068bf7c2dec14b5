/* daemon/authd/channel.c — the socketpairs between the worker and the auth process. */
#include <sys/socket.h>
#include <unistd.h>

#include "authd.h"

/*
 * [i][0] is the worker's end, [i][1] the auth process's. As with the key
 * process, the supervisor keeps both ends open for its whole life: a
 * restarted auth process finds the requests that waited, without any
 * descriptor passing. Never opened (-1) when no listener offers AUTH.
 */
static int ends[MVD_AUTHD_SOCKETS][2] = {{-1, -1}, {-1, -1}, {-1, -1}, {-1, -1}};

int mvd_authd_channel_open(void)
{
	for (int i = 0; i < MVD_AUTHD_SOCKETS; i++)
		if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ends[i]) != 0)
			return -1;
	return 0;
}

/* Keep one side's ends (0 the worker's, 1 the server's), close the other's. */
static void keep(int side, int *fds)
{
	for (int i = 0; i < MVD_AUTHD_SOCKETS; i++) {
		int other = ends[i][1 - side];
		if (other >= 0)
			close(other);
		ends[i][1 - side] = -1;
		fds[i] = ends[i][side];
	}
}

void mvd_authd_channel_server(int *fds)
{
	keep(1, fds);
}

void mvd_authd_channel_client(int *fds)
{
	keep(0, fds);
}

void mvd_authd_channel_close(void)
{
	int fds[MVD_AUTHD_SOCKETS];

	keep(0, fds);
	for (int i = 0; i < MVD_AUTHD_SOCKETS; i++) {
		if (fds[i] >= 0)
			close(fds[i]);
		ends[i][0] = -1;
	}
}
