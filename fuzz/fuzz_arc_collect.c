/* fuzz/fuzz_arc_collect.c — the ARC set collector and the AMS/AS/AAR field parsers on any message. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <mailvet/arc.h>

#include "arc/arc_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mv_arc_sets sets;
	struct mv_msg *m = NULL;
	struct mv_buf aar = MV_BUF_INIT;
	size_t i, k, off;
	unsigned inst;

	if (mv_msg_parse((const char *)data, size, NULL, &m, NULL, 0) != MV_OK)
		return 0;
	if (mv_arc_collect(m, &sets) != MV_OK)
		__builtin_trap();
	if (sets.count > MV_ARC_MAX_INSTANCE || sets.nchains > MV_ARC_MAX_ALGS)
		__builtin_trap();
	for (k = 0; k < sets.nchains; k++) {
		const struct mv_arc_chain_fields *c = &sets.chain[k];
		if (c->length > sets.count || strlen(c->alg) >= MV_ARC_ALG_MAX)
			__builtin_trap();
		for (i = 1; i <= c->length; i++) {
			int nomem;
			struct mv_arc_sig *s;
			if (c->ams[i] != MV_ARC_NOFIELD) {
				s = mv_arc_sig_parse(m, c->ams[i], ARC_AMS, &nomem);
				if (s != NULL && !s->bad && s->instance != i)
					__builtin_trap();
				mv_arc_sig_free(s);
			}
			if (c->as[i] != MV_ARC_NOFIELD) {
				s = mv_arc_sig_parse(m, c->as[i], ARC_AS, &nomem);
				mv_arc_sig_free(s);
			}
		}
	}
	for (i = 1; i <= sets.count; i++) {
		const struct mv_msg_field *f;
		if (sets.aar[i] == MV_ARC_NOFIELD)
			continue;
		f = mv_msg_field(m, sets.aar[i]);
		inst = mv_arc_aar_instance(f->value, f->value_len, &off);
		if (inst != i || off > f->value_len)
			__builtin_trap();
	}
	mv_arc_aar_payload(m, "mx.example.org", &aar);
	mv_buf_free(&aar);
	mv_msg_free(m);
	return 0;
}
