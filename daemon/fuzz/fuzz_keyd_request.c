/* daemon/fuzz/fuzz_keyd_request.c — the key process's request (and reply) parser on arbitrary bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "keyd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * Input: one record as it would come off the socket. The parsers are strict,
 * so whatever parses must encode back to exactly the same bytes, and a
 * request that parses keeps its op's bounds: only TLS_SIGN carries an input
 * (seeds tls_sign_rsa, tls_sign_ec, tls_info), within the kind's limits.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct mvd_keyd_req req;
	static struct mvd_keyd_rep rep;
	static unsigned char buf[MVD_KEYD_MAX_REQ + MVD_KEYD_MAX_REP];

	if (mvd_keyd_req_parse(data, size, &req) == MV_OK) {
		if (mvd_keyd_req_encode(&req, buf) != size || memcmp(buf, data, size) != 0)
			abort();
		if ((req.op == MVD_KEYD_TLS_SIGN) != (req.inlen > 0) ||
		    req.inlen > MVD_KEYD_MAX_TLS_IN ||
		    (req.alg == MVD_KEYD_TLS_EC && req.op == MVD_KEYD_TLS_SIGN &&
		     (req.inlen < MVD_KEYD_MIN_TLS_IN || req.inlen > 64)))
			abort();
	}
	if (mvd_keyd_rep_parse(data, size, &rep) == MV_OK &&
	    (mvd_keyd_rep_encode(&rep, buf) != size || memcmp(buf, data, size) != 0))
		abort();
	return 0;
}
