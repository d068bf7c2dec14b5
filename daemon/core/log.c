/* daemon/core/log.c — log lines to syslog or stderr, as key=value or JSON. */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static enum mvd_log_dest dest = MVD_LOG_STDERR;
static enum mvd_log_format format = MVD_LOG_KV;
static int debug;
static int syslog_open;
static int start_fd = -1; /* the terminal that started us, until the start is over */

int mvd_log_facility_code(const char *name)
{
	static const struct {
		const char *name;
		int code;
	} tab[] = {
	        {"mail", LOG_MAIL},     {"daemon", LOG_DAEMON}, {"user", LOG_USER},
	        {"local0", LOG_LOCAL0}, {"local1", LOG_LOCAL1}, {"local2", LOG_LOCAL2},
	        {"local3", LOG_LOCAL3}, {"local4", LOG_LOCAL4}, {"local5", LOG_LOCAL5},
	        {"local6", LOG_LOCAL6}, {"local7", LOG_LOCAL7},
	};

	for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++)
		if (strcmp(tab[i].name, name) == 0)
			return tab[i].code;
	return -1;
}

void mvd_log_setup(const struct mvd_config *c)
{
	pthread_mutex_lock(&log_lock);
	dest = c->log_dest;
	format = c->log_format;
	debug = c->log_debug;
	if (dest == MVD_LOG_SYSLOG) {
		if (syslog_open)
			closelog();
		int code = mvd_log_facility_code(c->log_facility);
		openlog("mailvetd", LOG_PID | LOG_NDELAY, code < 0 ? LOG_MAIL : code);
		syslog_open = 1;
	}
	pthread_mutex_unlock(&log_lock);
}

int mvd_log_json(void)
{
	int j;

	pthread_mutex_lock(&log_lock);
	j = format == MVD_LOG_JSON;
	pthread_mutex_unlock(&log_lock);
	return j;
}

static const char *level_name(enum mvd_log_level l)
{
	switch (l) {
	case MVD_LOG_ERR:
		return "error";
	case MVD_LOG_WARNING:
		return "warning";
	case MVD_LOG_INFO:
		return "info";
	case MVD_LOG_DEBUG:
		return "debug";
	}
	return "info";
}

void mvd_log_raw(enum mvd_log_level level, const char *line)
{
	static const int prio[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG};

	pthread_mutex_lock(&log_lock);
	if (level == MVD_LOG_DEBUG && !debug) {
		pthread_mutex_unlock(&log_lock);
		return;
	}
	if (dest == MVD_LOG_SYSLOG) {
		syslog(prio[level], "%s", line);
	} else {
		struct timespec ts;
		struct tm tm;
		char when[32];

		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
		if (format == MVD_LOG_JSON && line[0] == '{') /* the time first, as in kv lines */
			fprintf(stderr, "{\"time\":\"%s.%03ldZ\",%s\n", when, ts.tv_nsec / 1000000,
			        line + 1);
		else if (format == MVD_LOG_JSON)
			fprintf(stderr, "%s\n", line);
		else
			fprintf(stderr, "%s.%03ldZ mailvetd: %s\n", when, ts.tv_nsec / 1000000,
			        line);
		fflush(stderr);
	}
	pthread_mutex_unlock(&log_lock);
}

void mvd_log_start_terminal(int fd)
{
	pthread_mutex_lock(&log_lock);
	start_fd = fd;
	pthread_mutex_unlock(&log_lock);
}

void mvd_log_start_over(void)
{
	pthread_mutex_lock(&log_lock);
	if (start_fd > 2)
		close(start_fd);
	start_fd = -1;
	pthread_mutex_unlock(&log_lock);
}

/* An error or warning of the start, on the terminal too when the log goes elsewhere. */
static void to_start_terminal(enum mvd_log_level level, const char *msg)
{
	pthread_mutex_lock(&log_lock);
	if (start_fd >= 0 && level <= MVD_LOG_WARNING && dest != MVD_LOG_STDERR)
		dprintf(start_fd, "mailvetd: %s%s\n", level == MVD_LOG_WARNING ? "warning: " : "",
		        msg);
	pthread_mutex_unlock(&log_lock);
}

void mvd_log_kv(struct mv_buf *b, const char *key, const char *value)
{
	int quote = value[0] == '\0';

	for (const char *p = value; *p && !quote; p++)
		if (*p <= ' ' || *p == '"' || *p == '\\' || *p == '=' || *p == 127)
			quote = 1;
	if (b->len)
		mv_buf_putc(b, ' ');
	mv_buf_printf(b, "%s=", key);
	if (!quote) {
		mv_buf_puts(b, value);
		return;
	}
	mv_buf_putc(b, '"');
	for (const unsigned char *p = (const unsigned char *)value; *p; p++) {
		if (*p == '"' || *p == '\\')
			mv_buf_printf(b, "\\%c", *p);
		else if (*p < ' ' || *p == 127)
			mv_buf_printf(b, "\\x%02x", *p);
		else
			mv_buf_putc(b, (char)*p);
	}
	mv_buf_putc(b, '"');
}

void mvd_log(enum mvd_log_level level, const char *event, const char *fmt, ...)
{
	struct mv_buf msg = MV_BUF_INIT, line = MV_BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	mv_buf_vprintf(&msg, fmt, ap);
	va_end(ap);
	if (mvd_log_json()) {
		mv_buf_puts(&line, "{\"event\":");
		mv_json_cstr(&line, event);
		mv_buf_printf(&line, ",\"level\":\"%s\",\"msg\":", level_name(level));
		mv_json_cstr(&line, msg.data ? msg.data : "");
		mv_buf_putc(&line, '}');
	} else {
		mvd_log_kv(&line, "event", event);
		mvd_log_kv(&line, "level", level_name(level));
		mvd_log_kv(&line, "msg", msg.data ? msg.data : "");
	}
	mvd_log_raw(level, line.data ? line.data : "log: out of memory");
	to_start_terminal(level, msg.data ? msg.data : "");
	mv_buf_free(&msg);
	mv_buf_free(&line);
}
