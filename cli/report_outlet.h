/* cli/report_outlet.h — how `mailvet report send` hands over a built report: an SMTP relay or sendmail. */
#ifndef MV_CLI_REPORT_OUTLET_H
#define MV_CLI_REPORT_OUTLET_H

#include <stddef.h>

#include "smtp_client.h"

#define MV_CLI_SENDMAIL_DEFAULT "/usr/sbin/sendmail"

/* One of relay ("HOST:PORT") or sendmail (a program's path) is set. */
struct mv_cli_outlet {
	const char *relay;
	const char *sendmail;
	const char *helo; /* EHLO name for the relay */
	unsigned timeout; /* seconds: each relay reply, or the whole sendmail run */
};

/*
 * Hand msg (CRLF line ends) from `from` to `to` over: through the relay
 * (mv_cli_smtp_send), or to `sendmail -t -oi -f FROM` on its standard
 * input with LF line ends (recipients from the To field, which names only
 * `to`). MV_SMTP_ACCEPTED only for the relay's 250 or sendmail's exit 0;
 * sendmail's non-zero exit, a signal or a timeout (the program is killed)
 * is MV_SMTP_FAILED. why says what happened (at most whylen-1 bytes).
 */
enum mv_smtp_outcome mv_cli_outlet_send(const struct mv_cli_outlet *o, const char *from,
                                        const char *to, const char *msg, size_t len, char *why,
                                        size_t whylen);

#endif
