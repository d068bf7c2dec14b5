/* daemon/core/listener.h — the [listener NAME] sections of mailvet.conf: SMTP sockets and their next hop, IMAP/POP3 proxies and their upstream. */
#ifndef MAILVETD_CORE_LISTENER_H
#define MAILVETD_CORE_LISTENER_H

#include <stddef.h>

#include <mailvet/status.h>

#include <mailvet/util.h>

/*
 * What a listener is for: the SMTP front end for mail from the world
 * (inbound) or from our users (submission: RFC 6409, AUTH required), or a
 * capability proxy (daemon/proxy).
 */
enum mvd_listener_role { MVD_ROLE_INBOUND, MVD_ROLE_IMAP, MVD_ROLE_POP3, MVD_ROLE_SUBMISSION };
/*
 * TLS towards the clients: none, STARTTLS/STLS (RFC 3207, RFC 2595), or from
 * the first byte (RFC 8314). The key's value as written; for SMTP listeners
 * mvd_listener_tls() gives the mode in force.
 */
enum mvd_tls_mode { MVD_TLS_NONE, MVD_TLS_STARTTLS, MVD_TLS_IMPLICIT };
/* How the next hop is spoken to. */
enum mvd_next_hop_proto { MVD_NEXT_HOP_SMTP, MVD_NEXT_HOP_LMTP };
/* The EHLO keyword of draft-kucherawy-sender-auth-caps §3: "AUTHSERV=id", "AUTHSERV" or none. */
enum mvd_authserv_adv { MVD_AUTHSERV_ID, MVD_AUTHSERV_BARE, MVD_AUTHSERV_OFF };

/*
 * One [listener NAME] section. Every field has the default mailvet.conf(5)
 * documents; strings are owned and freed by mvd_listeners_free().
 */
struct mvd_listener_conf {
	char *name;
	enum mvd_listener_role role;
	char *listen;   /* "127.0.0.1:2525", "[::1]:25" */
	char *next_hop; /* "inet:HOST:PORT" or "unix:/path" */
	enum mvd_next_hop_proto next_hop_proto;
	enum mvd_authserv_adv authserv_adv;
	size_t max_message_size;      /* SIZE (RFC 1870), octets */
	size_t max_header_size;       /* the header block held until the verdict */
	unsigned max_recipients;      /* RCPT per message (RFC 5321 §4.5.3.1.8: at least 100) */
	unsigned max_connections;     /* open client connections of this listener */
	unsigned timeout_command;     /* s; RFC 5321 §4.5.3.2.7 server timeout */
	unsigned timeout_data;        /* s between two pieces of DATA (§4.5.3.2.5) */
	unsigned next_hop_timeout;    /* s for each next-hop reply (§4.5.3.2.1-4) */
	unsigned next_hop_data_final; /* s for the next hop's answer to "." (§4.5.3.2.6) */
	int xclient;                  /* pass the client to the next hop (Postfix XCLIENT) */
	char *tls_cert, *tls_key;     /* PEM files; both set = STARTTLS offered */
	int auth;                     /* AUTH offered (over TLS); always on a submission listener */
	char *hostname;               /* greeting and EHLO; "" = the host name */
	struct mv_cidr_list proxy_from; /* load balancers that send a PROXY header first */
	/* role = imap | pop3 only: */
	char *upstream;             /* "inet:HOST:PORT" or "unix:/path": the IMAP/POP3 server */
	enum mvd_tls_mode tls_mode; /* towards the clients (tls_cert, tls_key) */
	int upstream_tls;           /* TLS from the first byte towards the upstream */
	unsigned timeout_idle;      /* s without a byte either way before the session is closed */
	char *authserv_id;          /* "" = [verify] authserv_id */
};

/*
 * item: the SMTP listeners (role inbound), the ones daemon/smtp binds;
 * proxy: role imap and pop3, the ones daemon/proxy binds. A section moves
 * from one to the other when its role is set.
 */
struct mvd_listeners {
	struct mvd_listener_conf *item;
	size_t count;
	struct mvd_listener_conf *proxy;
	size_t nproxy;
};

/*
 * One "key = value" line of the section [listener NAME] (section is the
 * text after "listener "), the section created on first use with its
 * defaults. 0, or -1 with the reason in why (at most whylen-1 bytes).
 */
int mvd_listener_set(struct mvd_listeners *l, const char *section, const char *key,
                     const char *value, char *why, size_t whylen);

/* After the last line: listen and next_hop set and well formed, STARTTLS with both files. */
enum mv_status mvd_listeners_check(const struct mvd_listeners *l, char *err, size_t errlen);

/*
 * The same, and on failure the section's name and the key at fault
 * (borrowed, valid while l is), so the caller can name the line.
 */
enum mv_status mvd_listeners_check_at(const struct mvd_listeners *l, char *err, size_t errlen,
                                      const char **name, const char **key);

/* The listener called name (of either kind), or NULL. */
const struct mvd_listener_conf *mvd_listener_find(const struct mvd_listeners *l, const char *name);

void mvd_listeners_free(struct mvd_listeners *l);

/*
 * "HOST:PORT" or "[V6]:PORT" into host (at most hostlen-1 bytes) and port.
 * 0, or -1 when malformed.
 */
int mvd_listener_split_addr(const char *spec, char *host, size_t hostlen, unsigned *port);

/*
 * The TLS mode of an SMTP listener in force: tls = implicit, or STARTTLS
 * when tls_cert and tls_key are set (tls = none or unset), else none.
 * Proxy listeners take tls as written.
 */
enum mvd_tls_mode mvd_listener_tls(const struct mvd_listener_conf *c);

#endif
