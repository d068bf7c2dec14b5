/* daemon/core/localpolicy.h — a site's own exceptions to the checks: the [policy] lists and their files. */
#ifndef MAILVETD_CORE_LOCALPOLICY_H
#define MAILVETD_CORE_LOCALPOLICY_H

#include <stddef.h>

#include <mailvet/status.h>

/*
 * What admins set in OpenDKIM (IgnoreHosts, ExternalIgnoreList) and rspamd
 * (settings, multimap), in one place, for both front ends:
 *   dmarc_override_file     lines "DOMAIN ACTION": a DMARC failure of mail
 *                           from that author domain under p=reject (or
 *                           p=quarantine) is quarantined / accepted instead;
 *   skip_clients            clients whose mail is not checked at all: no
 *                           Authentication-Results, passed through as is;
 *   skip_recipient_domains  mail whose every recipient is in these domains,
 *                           likewise;
 *   internal_clients        clients treated as our own (outbound), as
 *                           [verify] internal_hosts, but read from files.
 * The values as read from mailvet.conf: each list key holds items separated
 * by blanks or commas, where an item starting with '/' is a file of items
 * (one or more a line, '#' starts a comment). The files are read when the
 * configuration is (start, `mailvetd -n`, SIGHUP); a file that does not
 * read, or holds a bad item, fails the load with PATH:LINE: why.
 */
struct mvd_localpolicy_conf {
	char *dmarc_override_file; /* NULL = none */
	char *skip_clients;        /* the items of every line of the key, blank-separated */
	char *skip_recipient_domains;
	char *internal_clients;
};

/* 1 when key is one of the [policy] keys above. */
int mvd_localpolicy_conf_key(const char *key);

/*
 * One "key = value" line: dmarc_override_file once (a second is an error),
 * the lists accumulate. 0, or -1 with the reason in why.
 */
int mvd_localpolicy_conf_set(struct mvd_localpolicy_conf *c, const char *key, const char *value,
                             char *why, size_t whylen);
void mvd_localpolicy_conf_free(struct mvd_localpolicy_conf *c); /* zeroes it */

/*
 * The files c names (dmarc_override_file, and each '/' item of the lists),
 * for `mailvetd -n` to open them as the unprivileged user: at most max
 * paths into paths[] (each a new string the caller frees) and the key of
 * each into keys[] (static strings). Returns how many, or -1 for memory.
 */
long mvd_localpolicy_conf_files(const struct mvd_localpolicy_conf *c, char **paths,
                                const char **keys, size_t max);

/* What a dmarc_override_file line makes of a DMARC failure of its domain. */
enum mvd_localpolicy_dmarc {
	MVD_LP_DMARC_NONE,       /* no override: the Domain Owner's policy applies */
	MVD_LP_DMARC_QUARANTINE, /* "quarantine": a reject becomes a quarantine */
	MVD_LP_DMARC_ACCEPT,     /* "accept": never refused nor quarantined for DMARC */
};
const char *mvd_localpolicy_dmarc_str(enum mvd_localpolicy_dmarc a); /* "quarantine", ... */

struct mvd_config;
struct mvd_localpolicy; /* the loaded rules: immutable, shared by every thread */

/*
 * Read c's [policy] local-policy keys and their files. *out is NULL when
 * none is set (every question below then answers no). Errors name the
 * config line of the key, or PATH:LINE of the file: MV_EIO (a file does not
 * read), MV_ESYNTAX, MV_ETOOBIG (a file over 16 MiB), MV_ENOMEM.
 */
enum mv_status mvd_localpolicy_load(const struct mvd_config *c, struct mvd_localpolicy **out,
                                    char *err, size_t errlen);
void mvd_localpolicy_free(struct mvd_localpolicy *lp); /* NULL is fine */

/*
 * The override for author domain (any case, trailing dot allowed): an exact
 * line wins over a "*.parent" line, a nearer parent over a farther one.
 * *rule (may be NULL) is the matching line's pattern, borrowed from lp.
 */
enum mvd_localpolicy_dmarc mvd_localpolicy_dmarc(const struct mvd_localpolicy *lp,
                                                 const char *domain, const char **rule);

/* 1 when the textual address ip is in skip_clients / internal_clients. */
int mvd_localpolicy_skip_client(const struct mvd_localpolicy *lp, const char *ip);
int mvd_localpolicy_internal_client(const struct mvd_localpolicy *lp, const char *ip);

/* 1 when skip_recipient_domains is set (else no recipient is skipped). */
int mvd_localpolicy_wants_rcpt(const struct mvd_localpolicy *lp);

/* 1 when the domain of addr ("user@dom", "<user@dom>") is in skip_recipient_domains. */
int mvd_localpolicy_skip_rcpt(const struct mvd_localpolicy *lp, const char *addr);

#endif
