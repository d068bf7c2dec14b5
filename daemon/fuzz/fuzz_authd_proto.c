/* daemon/fuzz/fuzz_authd_proto.c — the auth process's request (and reply) parser, and its answer, on arbitrary bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "authd.h"
#include "submission_config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * Input: one record as it would come off the socket. The parsers are strict,
 * so whatever parses must encode back to exactly the same bytes; and the
 * server's answer to any record is a reply that parses, with the request's
 * sequence number when the request parsed. (No back end: a password check
 * costs a slow hash, and the limiter would count across inputs.)
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct mvd_authd_req req;
	static struct mvd_authd_rep rep;
	static unsigned char buf[MVD_AUTHD_MAX_REQ + MVD_AUTHD_MAX_REP];
	static struct mvd_submission_conf sub;
	int req_ok;
	size_t n;

	mvd_submission_conf_init(&sub);
	req_ok = mvd_authd_req_parse(data, size, &req) == MV_OK;
	if (req_ok && (mvd_authd_req_encode(&req, buf) != size || memcmp(buf, data, size) != 0))
		abort();
	if (mvd_authd_rep_parse(data, size, &rep) == MV_OK &&
	    (mvd_authd_rep_encode(&rep, buf) != size || memcmp(buf, data, size) != 0))
		abort();
	n = mvd_authd_answer(NULL, &sub, data, size, buf);
	if (n == 0 || mvd_authd_rep_parse(buf, n, &rep) != MV_OK ||
	    rep.status != (req_ok ? MVD_AUTHD_TEMPFAIL : MVD_AUTHD_BAD_REQUEST) ||
	    (req_ok && rep.seq != req.seq))
		abort();
	mvd_authd_req_wipe(&req, NULL, 0);
	mvd_submission_conf_free(&sub);
	return 0;
}
