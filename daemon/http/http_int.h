/* daemon/http/http_int.h — what the HTTP listener's files share. */
#ifndef MAILVETD_HTTP_INT_H
#define MAILVETD_HTTP_INT_H

#include <stddef.h>
#include <time.h>

#include <mailvet/util.h>

/* A key's DNS state: its published record against the private key we sign with. */
enum mvd_key_state {
	MVD_KEY_UNCHECKED, /* the background check has not reached it yet */
	MVD_KEY_MATCH,     /* published, and the public half of our key */
	MVD_KEY_MISSING,   /* no record (NXDOMAIN, NODATA) */
	MVD_KEY_MISMATCH,  /* a record, but another key (or revoked, or not a DKIM key) */
	MVD_KEY_DNS_ERROR, /* DNS did not answer (SERVFAIL, timeout): unknown */
};

#define MVD_KEYS_SHOWN 256 /* keys the status page lists at most */

struct mvd_key_view {
	char domain[256], selector[64], alg[24];
	enum mvd_key_state state;
};

/* What the watcher knows of the configuration now in use. */
struct mvd_config_view {
	char path[512];
	time_t loaded; /* when this worker first saw it (start, or a reload) */
	struct mvd_key_view keys[MVD_KEYS_SHOWN];
	size_t nkeys, more; /* more: keys beyond MVD_KEYS_SHOWN */
};

const char *mvd_key_state_name(enum mvd_key_state s);

/*
 * The watcher (keycheck.c): a thread that notices a new configuration
 * (start, SIGHUP) within a second and checks its keys' DNS records then,
 * never on a message's path. start: 0, or -1 (no thread).
 */
int mvd_keycheck_start(void);
void mvd_keycheck_stop(void);
void mvd_keycheck_view(struct mvd_config_view *out); /* a copy, taken under its lock */

/* The status page (status.c), HTML, into b. */
void mvd_status_page(struct mv_buf *b);

/*
 * The top sending domains of the last day from the report store at
 * location (topdomains.c), as HTML table rows into b; a line saying why
 * not when the store cannot be read.
 */
void mvd_status_top_domains(struct mv_buf *b, const char *location, time_t now);

/* Append s to b with &, <, >, " and ' escaped, and control bytes as '?'. */
void mvd_html_puts(struct mv_buf *b, const char *s);

#endif
