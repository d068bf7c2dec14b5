/* daemon/core/keyfile.h — one signing key by its file: read here, or held by the key process. */
#ifndef MAILVETD_KEYFILE_H
#define MAILVETD_KEYFILE_H

#include <stddef.h>

#include <mailvet/dkim.h>

/*
 * How a process that must not read private keys (the worker) gets its
 * keys: fn returns a key that signs elsewhere (mv_dkim_signkey_external)
 * for the file at path, which it borrows as the key's id for the key's
 * life. Set once, before any configuration is loaded; NULL (the default)
 * reads the files.
 */
typedef enum mv_status (*mvd_keyfile_remote_fn)(const char *path, struct mv_dkim_signkey **out,
                                                char *why, size_t whylen);
void mvd_keyfile_set_remote(mvd_keyfile_remote_fn fn);

/* 1 when keys are opened through the key process (a remote function is set). */
int mvd_keyfile_remote(void);

/*
 * The key of the PEM file at path (a regular file of at most 64 KiB; one
 * that others may read is logged as a warning), or the remote key when a
 * remote function is set. On MV_OK *out is freed with
 * mv_dkim_signkey_free(); otherwise why says what failed ("key PATH: ...").
 * The file's bytes are wiped from memory before returning.
 */
enum mv_status mvd_keyfile_open(const char *path, struct mv_dkim_signkey **out, char *why,
                                size_t whylen);

#endif
