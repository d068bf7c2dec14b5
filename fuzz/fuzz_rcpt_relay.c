/*
 * fuzz/fuzz_rcpt_relay.c — the relay check on arbitrary RCPT paths: never a
 * crash, and nothing with a routing character or a second '@' is local.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <mailvet/auth.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const ours[] = {"ourdomain.example", "xn--bcher-kva.example"};
	const char *reason = NULL, *p = (const char *)data, *at;
	enum mv_auth_rcpt r = mv_auth_rcpt_classify(p, size, ours, 2, &reason);

	if (reason == NULL)
		abort();
	if (r != MV_AUTH_RCPT_LOCAL)
		return 0;
	/* a local path: no '%', '!' or '[' and exactly one '@' outside a quoted local
	 * part (or bare postmaster, which has none) */
	if ((at = memchr(p, '@', size)) != NULL && p[0] != '"' && p[1] != '"') {
		if (memchr(at + 1, '@', size - (size_t)(at + 1 - p)) || memchr(p, '%', size) ||
		    memchr(p, '!', size) || memchr(p, '[', size))
			abort();
	}
	return 0;
}
