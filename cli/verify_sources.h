/* cli/verify_sources.h — the messages `mailvet verify` reads: files, Maildir folders, mbox files. */
#ifndef MAILVET_CLI_VERIFY_SOURCES_H
#define MAILVET_CLI_VERIFY_SOURCES_H

#include <stddef.h>

/* The files named on the command line, directories expanded. */
struct mv_cli_files {
	char **path;
	size_t n, cap;
};

/*
 * Add path: "-" and regular files as they are; a Maildir (a directory with
 * cur/ or new/) adds the files of cur/ and new/; another directory adds its
 * regular files. Names starting with '.' are skipped; each directory's
 * files are sorted. Returns 0, or -1 with errno set (the caller reports).
 */
int mv_cli_files_add(struct mv_cli_files *f, const char *path);
void mv_cli_files_free(struct mv_cli_files *f);

/*
 * Call fn once per message of a file's contents: an mbox (starts with
 * "From ") is split at each "From " line that follows an empty line (or
 * starts the file), the "From " line removed and ">From " lines (any number
 * of '>') unquoted once (mboxrd); anything else is one message. The bytes
 * given to fn may be modified copies; index counts from 0. Returns the
 * first non-zero value fn returns, else 0.
 */
typedef int (*mv_cli_msg_fn)(void *arg, size_t index, int is_mbox, char *data, size_t len);
int mv_cli_split_messages(char *data, size_t len, mv_cli_msg_fn fn, void *arg);

#endif
