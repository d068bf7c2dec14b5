/* fuzz/fuzz_authres_judge.c — §5 judgement and authserv-id peeking on any field value. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <mailvet/authres.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * Judge the value from a trusted and an untrusted hop. A field whose full
 * parse finds one of our authserv-ids must be deleted from an untrusted hop:
 * the peek that §5 uses may never disagree with the parser on that.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct mv_authres_servid ids[] = {{"example.com", 1}, {"x", 0}};
	static const struct mv_authres_policy p = {ids, 2, 0, 0};
	const char *v = (const char *)data;
	struct mv_authres *ar = NULL;
	enum mv_authres_verdict outside;

	outside = mv_authres_judge(&p, v, size, 0, NULL);
	(void)mv_authres_judge(&p, v, size, 1, NULL);
	if (mv_authres_parse(v, size, MV_AUTHRES_LENIENT, &ar, NULL, 0) == MV_OK) {
		if ((!ar->serv_id || mv_authres_servid_match(&p, ar->serv_id)) &&
		    outside != MV_AUTHRES_DELETE)
			abort();
		mv_authres_free(ar);
	}
	return 0;
}
