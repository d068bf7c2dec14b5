/*
 * lib/verify/settings.c — the table of verify settings: names, types,
 * ranges, defaults, help, and the setter that applies a text value.
 *
 * One table feeds mailvetd's [verify] section (daemon/core/config.c) and
 * `mailvet verify`'s options (cli/cmd_verify.c), so a setting is written
 * once, with one name, one range and one default, and both front ends and
 * both manuals list the same ones (tests/verify/test_verify_settings_doc.c
 * checks the manuals). Each entry's store() puts an already checked value
 * into struct mv_verify_config; mv_verify_setting_set() does the checking.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <mailvet/util.h>
#include <mailvet/verify.h>

static const char *const dmarc_modes[] = {"rfc9989", "rfc7489", NULL};
static const char *const temperror_actions[] = {"tempfail", "accept", NULL};
static const char *const bad_from_modes[] = {"reject-if-protected", "accept", "reject", NULL};
static const char *const alignments[] = {"strict", "relaxed", NULL};
static const char *const reject_modes[] = {"reject", "quarantine", "header", NULL};

static void store_budget(struct mv_verify_config *c, unsigned n, const char *t)
{
	(void)t;
	c->budget_ms = n;
}

static void store_reserve(struct mv_verify_config *c, unsigned n, const char *t)
{
	(void)t;
	c->dmarc_reserve_pct = n;
}

static void store_max_sigs(struct mv_verify_config *c, unsigned n, const char *t)
{
	(void)t;
	c->dkim_max_sigs = n;
}

static void store_allow_l(struct mv_verify_config *c, unsigned n, const char *t)
{
	(void)t;
	c->dkim_allow_l = (int)n;
}

static void store_arc(struct mv_verify_config *c, unsigned n, const char *t)
{
	(void)t;
	c->arc = (int)n;
}

static void store_iprev(struct mv_verify_config *c, unsigned n, const char *t)
{
	(void)t;
	c->iprev = (int)n;
}

static void store_iprev_names(struct mv_verify_config *c, unsigned n, const char *t)
{
	(void)t;
	c->iprev_max_names = n;
}

static void store_mode(struct mv_verify_config *c, unsigned n, const char *t)
{
	(void)t;
	c->dmarc.mode = n == 1 ? MV_DMARC_MODE_7489 : MV_DMARC_MODE_9989;
}

static void store_psl(struct mv_verify_config *c, unsigned n, const char *t)
{
	(void)n;
	c->psl_file = *t ? t : NULL;
}

static void store_np(struct mv_verify_config *c, unsigned n, const char *t)
{
	(void)t;
	c->dmarc.use_np = (int)n;
}

static void store_enforce(struct mv_verify_config *c, unsigned n, const char *t)
{
	(void)t;
	c->dmarc_enforce = (int)n;
}

static void store_temperror(struct mv_verify_config *c, unsigned n, const char *t)
{
	(void)t;
	c->dmarc_temperror_action = n == 1 ? MV_VERIFY_ACCEPT : MV_VERIFY_TEMPFAIL;
}

static void store_reject(struct mv_verify_config *c, unsigned n, const char *t)
{
	static const enum mv_verify_action as[] = {MV_VERIFY_REJECT, MV_VERIFY_QUARANTINE,
	                                           MV_VERIFY_ACCEPT};

	(void)t;
	c->dmarc_reject_action = as[n < 3 ? n : 0];
}

static void store_reject_text(struct mv_verify_config *c, unsigned n, const char *t)
{
	(void)n;
	c->reject_text = *t ? t : NULL;
}

static void store_tempfail_text(struct mv_verify_config *c, unsigned n, const char *t)
{
	(void)n;
	c->tempfail_text = *t ? t : NULL;
}

/* reject-if-protected, accept, reject (verify.h: from_permerror_*). */
static void store_bad_from(struct mv_verify_config *c, unsigned n, const char *t)
{
	(void)t;
	c->from_permerror_action = n == 2 ? MV_VERIFY_REJECT : MV_VERIFY_ACCEPT;
	c->from_permerror_protect = n == 0;
}

static void store_virtual(struct mv_verify_config *c, unsigned n, const char *t)
{
	(void)t;
	c->dmarc.virtual_enabled = (int)n;
}

static void store_alignment(struct mv_verify_config *c, unsigned n, const char *t)
{
	(void)t;
	c->dmarc.virtual_adkim = n == 1 ? MV_DMARC_RELAXED : MV_DMARC_STRICT;
	c->dmarc.virtual_aspf = c->dmarc.virtual_adkim;
}

static void store_bestguess(struct mv_verify_config *c, unsigned n, const char *t)
{
	(void)t;
	c->dmarc.virtual_bestguess = (int)n;
}

static void store_receiver(struct mv_verify_config *c, unsigned n, const char *t)
{
	(void)n;
	c->receiver = *t ? t : NULL;
}

#define BOOL MV_VERIFY_SETTING_BOOL, "yes|no", 0, 0, NULL
#define UINT(what, lo, hi) MV_VERIFY_SETTING_UINT, what, lo, hi, NULL
#define ENUM(what, values) MV_VERIFY_SETTING_ENUM, what, 0, 0, values
#define STRING(what) MV_VERIFY_SETTING_STRING, what, 0, 0, NULL

static const struct mv_verify_setting table[] = {
        {"budget_ms", UINT("MS", 0, 600000), "20000",
         "Time for all the DNS of one message, in milliseconds: once it is spent, a question "
         "that would need a real wait times out at once (that check is temperror), while "
         "answers already cached are still used. 0: no DNS at all.",
         store_budget},
        {"dmarc_reserve_pct", UINT("PCT", 0, 100), "25",
         "DMARC's share of budget_ms, in percent: the checks before DMARC (DKIM, ARC, SPF) stop "
         "asking at budget_ms minus this share, so a slow SPF include chain cannot use up the "
         "time the From domain's policy lookup needs.",
         store_reserve},
        {"dkim_max_signatures", UINT("N", 0, 100), "5",
         "DKIM signatures evaluated per message; later ones are reported neutral.", store_max_sigs},
        {"dkim_allow_l", BOOL, "yes",
         "Accept DKIM signatures with l= (a body length limit); no: report them as policy.",
         store_allow_l},
        {"arc", BOOL, "yes", "Validate the ARC chain (RFC 8617) and report arc=.", store_arc},
        {"iprev", BOOL, "yes", "Check the client's reverse DNS name (iprev, RFC 8601).",
         store_iprev},
        {"iprev_max_names", UINT("N", 1, 100), "10", "PTR names of the client checked for iprev.",
         store_iprev_names},
        {"dmarc_mode", ENUM("rfc9989|rfc7489", dmarc_modes), "rfc9989",
         "How DMARC finds the organizational domain: rfc9989, the DNS tree walk; rfc7489, the "
         "Public Suffix List (see psl).",
         store_mode},
        {"psl", STRING("FILE"), "",
         "The Public Suffix List file for dmarc_mode rfc7489; empty: the system's list "
         "(/usr/share/publicsuffix), else libpsl's built-in one.",
         store_psl},
        {"dmarc_np", BOOL, "yes",
         "Apply a record's np= (RFC 9989) to an author domain that does not exist, asking its "
         "A, AAAA and MX records; no: sp= or p= applies.",
         store_np},
        {"dmarc_enforce", BOOL, "yes",
         "Act on the Domain Owner's p=reject and p=quarantine; no: report only, never reject "
         "or quarantine for DMARC.",
         store_enforce},
        {"dmarc_temperror", ENUM("tempfail|accept", temperror_actions), "tempfail",
         "A DMARC temperror (the policy lookup failed): tempfail (451 4.4.3) or accept.",
         store_temperror},
        {"dmarc_reject", ENUM("reject|quarantine|header", reject_modes), "reject",
         "What a DMARC failure under p=reject becomes: reject (550 5.7.1), quarantine, or "
         "header (accepted; only the Authentication-Results field reports it).",
         store_reject},
        {"reject_text", STRING("TEXT"), "",
         "The reply of a refusal instead of ours: \"550 5.7.1 text\", \"5.7.1 text\" or "
         "\"text\" (missing codes, or codes of another class, are ours).",
         store_reject_text},
        {"tempfail_text", STRING("TEXT"), "",
         "The reply of a temporary failure instead of ours, written as reject_text.",
         store_tempfail_text},
        {"bad_from", ENUM("reject-if-protected|accept|reject", bad_from_modes),
         "reject-if-protected",
         "A From that names no single author domain is dmarc=permerror, and then: "
         "reject-if-protected refuses it when a domain read from it publishes p=quarantine or "
         "p=reject; reject refuses every such message; accept accepts it.",
         store_bad_from},
        {"virtual_dmarc", BOOL, "yes",
         "Virtual DMARC (draft-akagiri-dmarc-virtual-verification): when the author domain "
         "publishes no record, evaluate v=DMARC1; p=none; adkim=s; aspf=s.",
         store_virtual},
        {"virtual_alignment", ENUM("strict|relaxed", alignments), "strict",
         "The alignment (adkim and aspf) of the virtual record.", store_alignment},
        {"virtual_bestguesspass", BOOL, "no",
         "Report an aligned pass under the virtual record as dmarc=bestguesspass instead of "
         "pass.",
         store_bestguess},
        {"receiver", STRING("NAME"), "",
         "The receiving host's name that SPF's %{r} macro expands to; empty: the authserv-id.",
         store_receiver},
};

#undef BOOL
#undef UINT
#undef ENUM
#undef STRING

const struct mv_verify_setting *mv_verify_settings(size_t *n)
{
	*n = sizeof table / sizeof table[0];
	return table;
}

const struct mv_verify_setting *mv_verify_setting_find(const char *name)
{
	for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
		if (strcmp(table[i].name, name) == 0)
			return &table[i];
	return NULL;
}

enum mv_status mv_verify_setting_bool(const char *text, int *out)
{
	static const char *const words[] = {"no", "yes", "false", "true", "off", "on", "0", "1"};

	for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
		if (mv_ascii_ieq(text, strlen(text), words[i])) {
			*out = (int)(i % 2);
			return MV_OK;
		}
	}
	return MV_EINVAL;
}

/* A decimal number in [min, max] (digits only: no sign, no space). */
static int parse_uint(const char *text, unsigned min, unsigned max, unsigned *out)
{
	unsigned long n;
	char *end;

	if (*text < '0' || *text > '9')
		return -1;
	errno = 0;
	n = strtoul(text, &end, 10);
	if (errno || *end || n < min || n > max)
		return -1;
	*out = (unsigned)n;
	return 0;
}

enum mv_status mv_verify_setting_set(const struct mv_verify_setting *s, struct mv_verify_config *c,
                                     const char *text, char *err, size_t errlen)
{
	unsigned n = 0;
	int b;

	switch (s->type) {
	case MV_VERIFY_SETTING_BOOL:
		if (mv_verify_setting_bool(text, &b) != MV_OK) {
			mv_errf(err, errlen, "expected yes or no, not \"%.100s\"", text);
			return MV_EINVAL;
		}
		n = (unsigned)b;
		break;
	case MV_VERIFY_SETTING_UINT:
		if (parse_uint(text, s->min, s->max, &n) != 0) {
			mv_errf(err, errlen, "expected a number from %u to %u, not \"%.100s\"",
			        s->min, s->max, text);
			return MV_EINVAL;
		}
		break;
	case MV_VERIFY_SETTING_ENUM:
		while (s->names[n] && strcmp(s->names[n], text) != 0)
			n++;
		if (s->names[n] == NULL) {
			mv_errf(err, errlen, "expected one of %s, not \"%.100s\"", s->value_name,
			        text);
			return MV_EINVAL;
		}
		break;
	case MV_VERIFY_SETTING_STRING:
		if (strpbrk(text, "\r\n")) {
			mv_errf(err, errlen, "expected one line");
			return MV_EINVAL;
		}
		break;
	}
	s->store(c, n, text);
	return MV_OK;
}

enum mv_status mv_verify_config_open_psl(struct mv_verify_config *c, struct mv_dmarc_psl **out,
                                         char *err, size_t errlen)
{
	enum mv_status st;

	*out = NULL;
	if (c->dmarc.mode != MV_DMARC_MODE_7489 || c->dmarc.psl != NULL)
		return MV_OK;
	if ((st = mv_dmarc_psl_open(c->psl_file, out)) != MV_OK) {
		if (st == MV_EUNSUPPORTED)
			mv_errf(err, errlen,
			        "no public suffix list: install publicsuffix or name one");
		else if (st == MV_EIO)
			mv_errf(err, errlen, "%s: cannot read it as a public suffix list",
			        c->psl_file ? c->psl_file : "the system's list");
		else
			mv_errf(err, errlen, "public suffix list: %s", mv_status_str(st));
		return st;
	}
	c->dmarc.psl = *out;
	return MV_OK;
}
