/* daemon/core/keytable_int.h — what keytable.c, keytable_dir.c and keytable_lookup.c share. */
#ifndef MAILVETD_KEYTABLE_INT_H
#define MAILVETD_KEYTABLE_INT_H

#include <stddef.h>

#include <mailvet/util.h>

#include "keytable.h"

/* "FILE:LINE: " (or "FILE: " when line is 0) + the formatted reason into err. */
void mvd_keytable_errf(char *err, size_t errlen, const char *file, unsigned line, const char *fmt,
                       ...) MV_PRINTF(5, 6);

/* 1 when s[0..n) is a dot-separated name a selector or a domain may be. */
int mvd_keytable_name_ok(const char *s, size_t n);

/* Grow the array *arr_p (*n elements of sz bytes) by one zeroed element; NULL on ENOMEM. */
void *mvd_keytable_grow(void *arr_p, size_t *n, size_t *cap, size_t sz);

/* key_directory (t->dir, absolute) into t->dirkeys, sorted by domain then selector. */
enum mv_status mvd_keytable_read_dir(struct mvd_keytable *t, char *err, size_t errlen);

#endif
