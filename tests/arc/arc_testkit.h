/*
 * tests/arc/arc_testkit.h — what the ARC chain tests share: an RSA and an
 * Ed25519 key published in a zone (selectors "rsa" and "ed" of DOMAIN), a
 * message to seal, and sealing, validating and editing messages as text.
 * Every helper fails the running cmocka test when a step fails.
 */
#ifndef MAILVET_TESTS_ARC_TESTKIT_H
#define MAILVET_TESTS_ARC_TESTKIT_H

#include <stddef.h>

#include <mailvet/arc.h>

#define NOW 1700000000
#define DOMAIN "lists.example.org"
#define SERV_ID "mx.lists.example.org"

extern const char kit_original[]; /* an Authentication-Results of ours, a short body */
extern struct mv_dkim_signkey *kit_rsa_key, *kit_ed_key;
extern struct mv_resolver *kit_zone;

/* cmocka group setup and teardown: make the keys and the zone, free them. */
int kit_setup(void **state);
int kit_teardown(void **state);

/*
 * Seal text with mv_arc_seal: key k1 under selector s1 (and k2 under s2
 * when k2 is not NULL), as of v (NULL: the sealer validates text with r);
 * the status must be `want`. Returns the sealed message, a new string, or
 * NULL when want is not MV_OK, after checking nothing was written; *nsets
 * gets the number of sets added.
 */
char *kit_seal_with(const char *text, const struct mv_arc_validator *v, struct mv_resolver *r,
                    const struct mv_dkim_signkey *k1, const char *s1,
                    const struct mv_dkim_signkey *k2, const char *s2, enum mv_status want,
                    size_t *nsets);

/* kit_seal_with with kit_zone and the zone's selectors ("rsa", "ed"), MV_OK wanted. */
char *kit_seal(const char *text, const struct mv_arc_validator *v, size_t *nsets,
               const struct mv_dkim_signkey *k1, const struct mv_dkim_signkey *k2);

/* Validate text with kit_zone at NOW; the validator and *m are the caller's to free. */
struct mv_arc_validator *kit_validate(const char *text, struct mv_msg **m);

/* Replace the first `from` in text by `to`: frees text, returns the new string. */
char *kit_edit(char *text, const char *from, const char *to);

/* Break one character of the b= of the first field that starts with `field` (in place). */
char *kit_break_b(char *text, const char *field);

/* The cv of chain `alg` in v, or -1 when there is no such chain. */
int kit_chain_cv(const struct mv_arc_validator *v, const char *alg);

/*
 * Put a fake ARC set of instance i in an algorithm nobody implements
 * (ed448-sha512) on top of text, with its own ARC-Authentication-Results
 * when with_aar. Frees text, returns the new string.
 */
char *kit_add_unknown_set(char *text, unsigned i, int with_aar);

#endif
