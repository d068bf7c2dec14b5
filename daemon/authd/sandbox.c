/* daemon/authd/sandbox.c — the auth process's system-call filter (libseccomp). */
#include <stdint.h>
#include <sys/socket.h>

#include "authd.h"
#include "aux_sandbox.h"

/*
 * Beyond the helpers' common filter (daemon/core/aux_sandbox.c): hashing
 * (libxcrypt: memory and random bytes, already there) and connecting to
 * Dovecot's auth socket.
 */
static const int dovecot_calls[] = {
        SCMP_SYS(connect),     SCMP_SYS(getsockopt),  SCMP_SYS(shutdown),
        SCMP_SYS(getsockname), SCMP_SYS(getpeername),
};

/* socket(): AF_UNIX always (Dovecot's auth-client socket), IP only for dovecot:inet:. */
static int add_sockets(scmp_filter_ctx ctx, const void *arg)
{
	static const int inet_families[] = {AF_INET, AF_INET6};
	/* ... and what glibc's getaddrinfo needs to look a Dovecot host name up
	 * at each connect (IP_RECVERR, the A and AAAA queries sent together). */
	static const int resolver_calls[] = {SCMP_SYS(setsockopt), SCMP_SYS(sendmmsg),
	                                     SCMP_SYS(recvmmsg), SCMP_SYS(bind)};
	int inet = *(const int *)arg;
	int rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
	                          SCMP_A0(SCMP_CMP_EQ, AF_UNIX, 0));

	for (size_t i = 0; inet && rc == 0 && i < 2; i++)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
		                      SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)inet_families[i], 0));
	if (inet && rc == 0)
		rc = mvd_aux_filter_add(ctx, SCMP_ACT_ALLOW, resolver_calls,
		                        sizeof resolver_calls / sizeof *resolver_calls);
	return rc;
}

int mvd_authd_sandbox(int inet, char *err, size_t errlen)
{
	const struct mvd_aux_filter f = {
	        dovecot_calls, sizeof dovecot_calls / sizeof *dovecot_calls, add_sockets, &inet};

	return mvd_aux_sandbox(&f, err, errlen);
}
