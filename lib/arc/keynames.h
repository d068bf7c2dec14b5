/* lib/arc/keynames.h — for lib/verify: a validator's key names, for one DNS prefetch batch. */
#ifndef MAILVET_ARC_KEYNAMES_H
#define MAILVET_ARC_KEYNAMES_H

#include <mailvet/arc.h>

/*
 * After mv_arc_validator_headers(): call fn(arg, s, d) for the (s=, d=)
 * of each AMS and AS field (repeats included) of the chains the validator
 * will verify (longest, supported, structurally sound), so a caller can put
 * the key records into its own prefetch batch. The strings are borrowed
 * until mv_arc_validator_free().
 */
void mv_arc_validator_key_names(const struct mv_arc_validator *v,
                                void (*fn)(void *arg, const char *s, const char *d), void *arg);

/*
 * Give the resolver to a validator made with r = NULL (which then asked
 * nothing in mv_arc_validator_headers(): the caller prefetched the keys with
 * the names above). r is borrowed until mv_arc_validator_free().
 */
void mv_arc_validator_set_resolver(struct mv_arc_validator *v, struct mv_resolver *r);

#endif
