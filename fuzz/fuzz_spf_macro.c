/* fuzz/fuzz_spf_macro.c — SPF macro expansion (RFC 7208 §7) on arbitrary macro-strings. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "spf/spf_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *validated(void *arg)
{
	(void)arg;
	return "mx.example.org";
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mv_spf_macro_ctx ctx;
	struct mv_ip ip;
	struct mv_buf out = MV_BUF_INIT;
	enum mv_spf_macro_mode mode;
	enum mv_status st;

	if (size < 1)
		return 0;
	mode = (enum mv_spf_macro_mode)(data[0] % 3); /* first byte: where the string stands */
	mv_cidr_ip_parse(data[0] & 0x80 ? "2001:db8::cb01" : "192.0.2.3", &ip);
	memset(&ctx, 0, sizeof ctx);
	ctx.sender = "strong-bad@email.example.com";
	ctx.local = "strong-bad";
	ctx.sender_domain = "email.example.com";
	ctx.domain = "email.example.com";
	ctx.helo = "mx.example.org";
	ctx.ip = &ip;
	ctx.receiver = NULL;
	ctx.now = 1400000000;
	ctx.validated_name = data[0] & 0x40 ? validated : NULL;
	st = mv_spf_macro_expand(&ctx, (const char *)data + 1, size - 1, mode, &out);
	/* expansion and the grammar check must agree */
	if ((st == MV_OK) != mv_spf_macro_valid((const char *)data + 1, size - 1, mode) &&
	    st != MV_ENOMEM && st != MV_ETOOBIG)
		__builtin_trap();
	if (st == MV_OK)
		mv_spf_domain_finish(&out);
	mv_buf_free(&out);
	return 0;
}
