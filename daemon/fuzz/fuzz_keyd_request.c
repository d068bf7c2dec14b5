/* daemon/fuzz/fuzz_keyd_request.c — the key process's request (and reply) parser on arbitrary bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "keyd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * Input: one record as it would come off the socket. The parsers are strict,
 * so whatever parses must encode back to exactly the same bytes.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct mvd_keyd_req req;
	static struct mvd_keyd_rep rep;
	static unsigned char buf[MVD_KEYD_MAX_REQ + MVD_KEYD_MAX_REP];

	if (mvd_keyd_req_parse(data, size, &req) == MV_OK &&
	    (mvd_keyd_req_encode(&req, buf) != size || memcmp(buf, data, size) != 0))
		abort();
	if (mvd_keyd_rep_parse(data, size, &rep) == MV_OK &&
	    (mvd_keyd_rep_encode(&rep, buf) != size || memcmp(buf, data, size) != 0))
		abort();
	return 0;
}
