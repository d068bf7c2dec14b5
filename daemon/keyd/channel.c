/* daemon/keyd/channel.c — the socketpairs between the worker and the key process. */
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "keyd.h"

/*
 * [i][0] is the worker's end, [i][1] the key process's. The supervisor keeps
 * both ends open for its whole life: a key process that dies leaves the
 * socket alive, requests wait in it for the next one, and a restart needs
 * no descriptor passing.
 */
static int pairs[MVD_KEYD_SOCKETS][2] = {{-1, -1}, {-1, -1}, {-1, -1}, {-1, -1},
                                         {-1, -1}, {-1, -1}, {-1, -1}, {-1, -1}};
_Static_assert(MVD_KEYD_SOCKETS == 8, "pairs: one {-1, -1} per socketpair");

int mvd_keyd_channel_open(void)
{
	for (int i = 0; i < MVD_KEYD_SOCKETS; i++) {
		if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pairs[i]) != 0)
			return -1;
	}
	return 0;
}

static void take(int side, int *fds)
{
	for (int i = 0; i < MVD_KEYD_SOCKETS; i++) {
		if (pairs[i][!side] >= 0)
			close(pairs[i][!side]);
		pairs[i][!side] = -1;
		fds[i] = pairs[i][side];
	}
}

void mvd_keyd_channel_server(int *fds)
{
	take(1, fds);
}

void mvd_keyd_channel_client(int *fds)
{
	take(0, fds);
}
