/* cli/msgfile.h — a message read in pieces and written out again (mailvet sign, mailvet seal). */
#ifndef MAILVET_CLI_MSGFILE_H
#define MAILVET_CLI_MSGFILE_H

#include <stddef.h>
#include <stdio.h>

#define MV_CLI_CHUNK 65536 /* bytes read at a time */

/*
 * Open the message in path ("-": standard input) for two passes: *in is
 * the file itself when it is a regular file (*spool NULL); otherwise (a pipe)
 * *spool is a new temporary file the caller copies the bytes to as it reads
 * them, for the second pass. 0, or 2 after printing why ("mailvet CMD: ...").
 * The caller closes *in (unless it is stdin) and *spool.
 */
int mv_cli_open_message(const char *cmd, const char *path, FILE **in, FILE **spool);

/* Write text[0..len) then every byte of f from its start to standard output; 0, or 2. */
int mv_cli_write_message(const char *cmd, const char *text, size_t len, FILE *f);

#endif
