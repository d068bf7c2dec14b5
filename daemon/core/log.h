/* daemon/core/log.h — mailvetd's logging: syslog or stderr, key=value or JSON lines. */
#ifndef MAILVETD_LOG_H
#define MAILVETD_LOG_H

#include <mailvet/util.h>

#include "config.h"

enum mvd_log_level { MVD_LOG_ERR, MVD_LOG_WARNING, MVD_LOG_INFO, MVD_LOG_DEBUG };

/*
 * Route logs as c says (destination, facility, format, debug). Before the
 * first call logs go to stderr. Thread-safe with respect to mvd_log();
 * called again on reload. An unknown facility (which mvd_config_check()
 * refuses) falls back to "mail".
 */
void mvd_log_setup(const struct mvd_config *c);
/* The syslog facility named `name` (mail, daemon, user, local0..local7), or -1. */
int mvd_log_facility_code(const char *name);
/* 1 when lines are JSON (event lines are built by the caller in the right form). */
int mvd_log_json(void);

/*
 * Log one event line. In key=value form the line is "event=NAME msg=..."; in
 * JSON form {"event":"NAME","level":"...","msg":"..."}. Control characters
 * in the message are escaped.
 */
void mvd_log(enum mvd_log_level level, const char *event, const char *fmt, ...) MV_PRINTF(3, 4);

/*
 * Until mvd_log_start_over(), errors and warnings logged while the log
 * goes to syslog are also written as "mailvetd: why" to fd (the terminal
 * that started the daemon, kept open across the move to the background),
 * so no start fails in silence. mvd_log_start_over() closes fd (when
 * above 2); a worker forked before it holds a copy it must end as well.
 */
void mvd_log_start_terminal(int fd);
void mvd_log_start_over(void);

/* Log a line already formatted by the caller (a message's summary). */
void mvd_log_raw(enum mvd_log_level level, const char *line);

/* Append key=value to a key=value line, quoting the value when needed. */
void mvd_log_kv(struct mv_buf *b, const char *key, const char *value);

#endif
