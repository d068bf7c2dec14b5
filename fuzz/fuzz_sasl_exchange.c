/*
 * fuzz/fuzz_sasl_exchange.c — the AUTH exchange fed hostile lines: the
 * input's first byte picks the flags, the rest is split at LF into the AUTH
 * arguments and the client lines that follow.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <mailvet/auth.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Every reply is a 334 challenge or a 5xx line with an enhanced code. */
static void check_reply(const struct mv_sasl *s, enum mv_sasl_step step)
{
	const char *r = mv_sasl_reply(s);
	const struct mv_sasl_cred *c = mv_sasl_cred(s);

	if (step == MV_SASL_DONE) {
		if (c == NULL || c->login[0] == '\0' || strlen(c->password) != c->password_len)
			abort();
		return;
	}
	if (c != NULL)
		abort();
	if (step == MV_SASL_CHALLENGE ? strncmp(r, "334 ", 4) != 0
	                              : (r[0] != '5' && r[0] != '4') || strlen(r) < 10)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data + 1, *end = (const char *)data + size, *nl;
	struct mv_sasl *s = NULL;
	enum mv_sasl_step step;
	int first = 1;

	if (size == 0 || mv_sasl_new(data[0] & 1 ? MV_SASL_ALLOW_AUTHZID : 0, &s) != MV_OK)
		return 0;
	for (; p <= end; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		step = first ? mv_sasl_start(s, p, (size_t)(nl - p))
		             : mv_sasl_feed(s, p, (size_t)(nl - p));
		first = 0;
		check_reply(s, step);
		if (step != MV_SASL_CHALLENGE)
			break;
	}
	mv_sasl_free(s);
	return 0;
}
