/*
 * fuzz/fuzz_sender_map.c — the sender login map parser on arbitrary text,
 * then a few look-ups and a header check against what it parsed.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <mailvet/auth.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mv_auth_senders *m = NULL;
	static const char *const from[] = {"Alice <alice@example.org>, team: bob@example.net;"};
	const size_t lens[] = {strlen(from[0])};
	char err[200], *bad = NULL;

	if (mv_auth_senders_parse((const char *)data, size, "fuzz", &m, err, sizeof err) != MV_OK)
		return 0;
	(void)mv_auth_senders_allowed(m, "alice", "alice@example.org");
	(void)mv_auth_senders_allowed(m, "*", "x@y.example");
	if (mv_auth_senders_check_header(m, "alice", from, lens, 1, &bad, err, sizeof err) ==
	            MV_OK &&
	    bad != NULL && strchr(bad, '@') == NULL)
		abort();
	free(bad);
	mv_auth_senders_free(m);
	return 0;
}
