/* daemon/keyd/sandbox.c — the key process's system-call filter (libseccomp). */
#include "aux_sandbox.h"
#include "keyd.h"

/*
 * The key process needs nothing beyond the helpers' common filter
 * (daemon/core/aux_sandbox.c): its sockets are made before it starts and it
 * opens no new ones, so socket, connect and setsockopt fail with EPERM.
 */
int mvd_keyd_sandbox(char *err, size_t errlen)
{
	static const struct mvd_aux_filter none = {NULL, 0, NULL, NULL};

	return mvd_aux_sandbox(&none, err, errlen);
}
