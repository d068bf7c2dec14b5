/* daemon/core/config.h — mailvetd's configuration (mailvet.conf, INI): keys, defaults, parsing. */
#ifndef MAILVETD_CONFIG_H
#define MAILVETD_CONFIG_H

#include <stddef.h>

#include <mailvet/dkim.h>
#include <mailvet/msg.h>
#include <mailvet/status.h>
#include <mailvet/verify.h>

#include <mailvet/util.h>

#include "http_config.h"
#include "listener.h"
#include "localpolicy.h"
#include "reports_config.h"
#include "trace_config.h"
#include "submission_config.h"

enum mvd_log_dest { MVD_LOG_SYSLOG, MVD_LOG_STDERR };
enum mvd_log_format { MVD_LOG_KV, MVD_LOG_JSON };
/* How a message is quarantined. */
enum mvd_quarantine_mode { MVD_QUARANTINE_MILTER, MVD_QUARANTINE_HEADER };
/* What an internal error becomes. */
enum mvd_fail_mode { MVD_FAIL_TEMPFAIL, MVD_FAIL_ACCEPT };
/* How a message that must not be accepted is refused. */
enum mvd_refuse_mode { MVD_REFUSE_REJECT, MVD_REFUSE_TEMPFAIL };

/* A unix socket in a directory of its own, which only the MTA's group may enter. */
#define MVD_DEFAULT_SOCKET "unix:/run/mailvetd/milter.sock"

/* A list of strings, each owned by the list. */
struct mvd_strlist {
	char **item;
	size_t count;
};

/* One signing key of a domain: s= and the PEM file that holds it. */
struct mvd_key_conf {
	char *selector;
	char *path;
	unsigned line; /* of its key line in the file */
};

/* A [domain NAME] section: what outbound mail from NAME is signed with. */
struct mvd_domain_conf {
	char *name; /* lowercase, no trailing dot */
	int subdomains;
	struct mvd_key_conf *keys;
	size_t nkeys;
	unsigned line; /* of its [domain NAME] line */
};

/* Where a key was set: section, name (both owned) and line (1-based). */
struct mvd_config_line {
	char *section, *name;
	unsigned line;
};

/*
 * The whole configuration; every field has the default mailvet.conf(5)
 * documents (mvd_config_init). Strings are owned by the struct and freed
 * by mvd_config_free().
 */
struct mvd_config {
	char *path; /* the file read (mvd_config_load), NULL for text; for messages */
	struct mvd_config_line *lines; /* the first line of each key set in the file */
	size_t nlines;
	/* [milter] */
	char *socket;            /* libmilter connection spec: inet:PORT@HOST, unix:/path */
	char *socket_group;      /* unix socket: group of its directory ("" = the daemon's) */
	char *user, *group;      /* drop privileges to these after binding ("" = stay) */
	char *key_user;          /* [privsep] key_user: the key process's user ("" = user's) */
	char *auth_user;         /* [privsep] auth_user: the auth process's user ("" = user's) */
	char *pid_file;          /* "" = none */
	unsigned socket_umask;   /* umask while the unix socket is created */
	unsigned milter_timeout; /* seconds libmilter waits for the MTA */
	unsigned drain_timeout;  /* seconds SIGTERM waits for messages in flight */
	/* [log] */
	enum mvd_log_dest log_dest;
	char *log_facility;
	enum mvd_log_format log_format;
	int log_debug;
	/* [verify] */
	char *authserv_id;
	int authserv_subdomains;
	struct mv_cidr_list internal_hosts;
	int trust_versions;
	int delete_foreign;
	/*
	 * The keys of lib/verify's settings table (budget_ms, dmarc_mode, ...,
	 * bad_from, which [policy] also takes), applied as they are read;
	 * the runtime adds authserv_id, the key cache, the trusted sealers
	 * and the PSL. String settings point into verify_texts.
	 */
	struct mv_verify_config verify;
	struct mvd_strlist verify_texts; /* the values of string settings, owned */
	/* [policy] */
	enum mvd_quarantine_mode quarantine;
	char *quarantine_header;
	enum mvd_fail_mode on_error;
	enum mvd_refuse_mode unreadable_header; /* a header field lib/verify could not take */
	struct mvd_strlist trusted_arc_sealers;
	struct mvd_localpolicy_conf localpolicy; /* overrides and skips (localpolicy.c) */
	/* [dns] */
	char *resolver; /* "system" or ADDR[@PORT] */
	unsigned dns_timeout_ms;
	char *trust_anchor_file;
	char *zone_file; /* offline/test: answers from a zone file */
	/* [outbound] */
	int sign;
	int arc_seal;
	int outbound_results; /* our Authentication-Results field on outbound mail too */
	size_t sign_max_bytes;
	enum mv_canon sign_hcanon, sign_bcanon;
	char *sign_headers; /* "" = the library's default list */
	unsigned sign_expire;
	/* [signing]: keys for many domains (keytable.c); "" = not used */
	char *key_table, *signing_table, *key_directory;
	/* [domain NAME] ... */
	struct mvd_domain_conf *domains;
	size_t ndomains;
	/* [listener NAME] ... (listener.c) */
	struct mvd_listeners listeners;
	/* [reports] (reports_config.c) */
	struct mvd_reports_conf reports;
	/* [http] (http_config.c) */
	struct mvd_http_conf http;
	/* [trace] (trace_config.c): submission trace records */
	struct mvd_trace_conf trace;
	/* [submission] (submission_config.c) */
	struct mvd_submission_conf submission;
};

/* Fill c with every default (needs the host name for authserv_id). MV_ENOMEM. */
enum mv_status mvd_config_init(struct mvd_config *c);
void mvd_config_free(struct mvd_config *c);

/*
 * Parse INI text into c (which mvd_config_init() prepared): each key
 * overrides its default (a list key's first line replaces the default
 * list); list keys (internal_hosts, trusted_arc_sealers, key) accumulate
 * over repeated lines and continuation lines. An unknown section or
 * key, a bad value, a key other than a list key set twice in a section, or
 * a section that appears twice, is MV_ESYNTAX with "line N: why" in err
 * ("PATH:N: why" when c->path is set; at most errlen-1 bytes); c then
 * holds a partial configuration the caller frees. The semantic checks of
 * mvd_config_check() run at the end.
 */
enum mv_status mvd_config_parse(struct mvd_config *c, const char *text, char *err, size_t errlen);

/*
 * mvd_config_init + read `path` + mvd_config_parse; c->path is set, so
 * every error reads "PATH:LINE: why" (or "PATH: why"). MV_EIO when
 * unreadable.
 */
enum mv_status mvd_config_load(struct mvd_config *c, const char *path, char *err, size_t errlen);

/*
 * Checks of the values that need no system call: authserv-id, the socket
 * spec (unix:/abs/path, inet:PORT[@HOST], inet6:PORT[@HOST], PORT in
 * 1..65535), the log facility, domain names, a key for every domain. Each
 * error names the line of the key it is about (mvd_config_errf).
 */
enum mv_status mvd_config_check(const struct mvd_config *c, char *err, size_t errlen);

/* The line that set [section] name in the file, 0 when it kept its default. */
unsigned mvd_config_line(const struct mvd_config *c, const char *section, const char *name);

/*
 * Write "PATH:LINE: " + the formatted reason into err: the place is
 * "line LINE" without a path, and is left out when line is 0 ("PATH: ").
 */
void mvd_config_errf(const struct mvd_config *c, unsigned line, char *err, size_t errlen,
                     const char *fmt, ...) MV_PRINTF(5, 6);

/* The domain section that covers `domain` (ASCII, any case), or NULL. */
const struct mvd_domain_conf *mvd_config_domain(const struct mvd_config *c, const char *domain);

#endif
