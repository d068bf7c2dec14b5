/* cli/cmd_verify.c — `mailvet verify`: SPF, DKIM, DMARC, iprev and auth of messages; one Authentication-Results each. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <mailvet/authres.h>
#include <mailvet/store.h>
#include <mailvet/verify.h>

#include "commands.h"
#include "verify_sources.h"

#define MAX_MESSAGE ((size_t)256 << 20)
#define MAX_TRUSTED 32 /* --trusted-arc-sealer given at most this often */

struct verify_cli {
	struct mv_verify_config cfg;
	struct mv_dmarc_psl *psl;
	struct mv_resolver *res;
	struct mv_envelope env;
	const char *trusted[MAX_TRUSTED]; /* --trusted-arc-sealer */
	time_t now;
	int json, explain, progress;
	const char *file;      /* the file being read */
	const char *record_to; /* --record-to STORE */
	struct mv_store *store;
	/* the summary */
	size_t messages, unreadable, action[4], dmarc[5];
	struct mv_buf out;
};

/*
 * Flags older than the settings table, kept because tests, scripts and
 * the README use them. --no-iprev, --no-arc and --psl need no entry: the
 * table makes them (--no-NAME for each yes/no setting).
 */
static const struct alias {
	const char *flag;    /* without the dashes */
	const char *setting; /* the table's name */
	const char *value;   /* what it sets; NULL: the flag's argument */
} aliases[] = {
        {"dns-budget", "budget_ms", NULL},
        {"max-signatures", "dkim_max_signatures", NULL},
        {"refuse-l", "dkim_allow_l", "no"},
        {"rfc7489", "dmarc_mode", "rfc7489"},
        {"no-virtual", "virtual_dmarc", "no"},
        {"bestguesspass", "virtual_bestguesspass", "yes"},
        {"virtual-relaxed", "virtual_alignment", "relaxed"},
        {"report-only", "dmarc_enforce", "no"},
        {"reject-bad-from", "bad_from", "reject"},
};
#define NALIASES (sizeof aliases / sizeof aliases[0])

/* The option a setting is: its name with '-' for '_' (names are short). */
static void option_name(const char *name, char *out, size_t outlen)
{
	size_t i;

	for (i = 0; name[i] && i + 1 < outlen; i++)
		out[i] = name[i] == '_' ? '-' : name[i];
	out[i] = '\0';
}

/* text, as words wrapped at 78 columns, each line indented by six spaces. */
static void print_wrapped(FILE *f, const char *text)
{
	size_t col = 0, n;

	while (*text) {
		n = strcspn(text, " ");
		if (col > 0 && col + 1 + n > 78) {
			fputc('\n', f);
			col = 0;
		}
		col += (size_t)fprintf(f, col ? " %.*s" : "      %.*s", (int)n, text);
		text += n;
		text += strspn(text, " ");
	}
	fputc('\n', f);
}

/* The settings of the table, then the older spellings, as --help lists them. */
static void usage_settings(FILE *f)
{
	const struct mv_verify_setting *s;
	char opt[64];
	size_t n, i;

	fprintf(f, "Settings (mailvet.conf(5) [verify] has each, with '_' for '-'):\n");
	s = mv_verify_settings(&n);
	for (i = 0; i < n; i++) {
		option_name(s[i].name, opt, sizeof opt);
		if (s[i].type == MV_VERIFY_SETTING_BOOL)
			fprintf(f, "  --%s[=yes|no], --no-%s (default %s)\n", opt, opt, s[i].def);
		else if (s[i].type == MV_VERIFY_SETTING_UINT)
			fprintf(f, "  --%s %s (%u to %u; default %s)\n", opt, s[i].value_name,
			        s[i].min, s[i].max, s[i].def);
		else
			fprintf(f, "  --%s %s (default %s)\n", opt, s[i].value_name,
			        s[i].def[0] ? s[i].def : "none");
		print_wrapped(f, s[i].help);
	}
	fprintf(f, "Older spellings:\n");
	for (i = 0; i < NALIASES; i++) {
		option_name(aliases[i].setting, opt, sizeof opt);
		if (aliases[i].value)
			fprintf(f, "  --%s = --%s=%s\n", aliases[i].flag, opt, aliases[i].value);
		else
			fprintf(f, "  --%s = --%s\n", aliases[i].flag, opt);
	}
}

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: mailvet verify [--ip IP] [--helo NAME] [--mail-from ADDR] [--auth ID]\n"
	        "         [--authserv-id ID] [--zone FILE | --resolver ADDR[@PORT]] [--record-dns "
	        "FILE]\n"
	        "         [--dns-timeout MS] [--now T] [--json] [--explain] [SETTINGS]\n"
	        "         [--trusted-arc-sealer D ...] [--record-to STORE] [FILE|DIR ...]\n"
	        "Checks SPF (MAIL FROM), every DKIM signature, the ARC chain, DMARC (RFC 9989 "
	        "tree\n"
	        "walk, or RFC 7489 with the Public Suffix List), iprev and SMTP AUTH of each\n"
	        "message and prints the Authentication-Results field to prepend.\n"
	        "--trusted-arc-sealer D: when DMARC fails, the ARC chain passes and its newest\n"
	        "seal is D's, the DMARC policy is not applied (draft-ietf-dmarc-arc-usage).\n"
	        "--record-to STORE (sqlite:PATH): add each DMARC record to the report store.\n"
	        "FILE is a message, an mbox file or \"-\"\n"
	        "(standard input, the default); DIR a Maildir (cur/ and new/) or a directory of\n"
	        "messages. --json: one object per message and line: {\"file\", \"header\", "
	        "\"action\",\n"
	        "\"reply\", \"results\"}. --explain: why each result (records, alignment, names "
	        "walked).\n"
	        "Without --ip (or --mail-from) SPF is not checked: spf=none reason=\"not checked:\n"
	        "...\"; without --ip there is no iprev. --authserv-id defaults to this host's\n"
	        "name. Exit status 0 when every message is\n"
	        "accepted, 1 when one is not (or cannot be read as a message), 2 on usage or\n"
	        "system errors. A summary goes to stderr when more than one message is read.\n");
	usage_settings(f);
}

static void print_json(struct verify_cli *vc, const char *label, const struct mv_verify *v)
{
	const struct mv_authres *ar = mv_verify_results(v);
	struct mv_buf *b = &vc->out;
	size_t k;

	mv_buf_puts(b, "{\"file\": ");
	mv_json_cstr(b, label);
	mv_buf_puts(b, ", \"header\": ");
	mv_json_cstr(b, mv_verify_header_field(v));
	mv_buf_printf(
	        b, ", \"action\": \"%s\", \"reply\": ", mv_verify_action_str(mv_verify_action(v)));
	mv_json_cstr(b, mv_verify_reply(v));
	mv_buf_puts(b, ", \"results\": [");
	for (k = 0; k < ar->results.count; k++) {
		if (k > 0)
			mv_buf_puts(b, ", ");
		mv_result_json(ar->results.item[k], b);
	}
	mv_buf_puts(b, "]");
	if (vc->explain) {
		mv_buf_puts(b, ", \"explain\": ");
		mv_json_cstr(b, mv_verify_explain(v));
	}
	mv_buf_puts(b, "}\n");
}

static void print_text(struct verify_cli *vc, const char *label, const struct mv_verify *v)
{
	const char *p, *nl;

	if (vc->messages > 1 || vc->explain)
		mv_buf_printf(&vc->out, "==> %s\n", label);
	mv_buf_printf(&vc->out, "%s\n", mv_verify_header_field(v));
	if (!vc->explain)
		return;
	for (p = mv_verify_explain(v); *p; p = nl + 1) {
		if ((nl = strchr(p, '\n')) == NULL)
			break;
		mv_buf_printf(&vc->out, "  # %.*s\n", (int)(nl - p), p);
	}
}

/* Write out what was buffered; -1 when stdout fails. */
static int flush_out(struct verify_cli *vc)
{
	int rc = 0;

	if (vc->out.len && fwrite(vc->out.data, 1, vc->out.len, stdout) != vc->out.len)
		rc = -1;
	mv_buf_reset(&vc->out);
	return rc;
}

/* Verify one message; returns 0 (accept), 1 (other action or unreadable), 2 (system error). */
static int verify_one(void *arg, size_t index, int is_mbox, char *data, size_t len)
{
	struct verify_cli *vc = arg;
	struct mv_verify *v = NULL;
	const struct mv_dmarc_verdict *d;
	char label[4200];
	enum mv_status st;
	int rc;

	if (is_mbox)
		snprintf(label, sizeof label, "%s:%zu", vc->file, index + 1);
	else
		snprintf(label, sizeof label, "%s", vc->file);
	vc->messages++;
	st = mv_verify_message(&vc->cfg, vc->res, vc->now, &vc->env, data, len, &v);
	if (st == MV_ENOMEM)
		return 2;
	if (st != MV_OK) {
		vc->unreadable++;
		fprintf(stderr, "mailvet verify: %s: not a message: %s\n", label,
		        mv_status_str(st));
		return 0; /* go on with the next; the exit status says it */
	}
	vc->action[mv_verify_action(v)]++;
	if ((d = mv_verify_dmarc(v)) != NULL)
		vc->dmarc[d->result]++;
	if (vc->store && mv_cli_record(vc->store, v, vc->now) != 0) {
		mv_verify_free(v);
		return 2;
	}
	if (vc->json)
		print_json(vc, label, v);
	else
		print_text(vc, label, v);
	rc = mv_buf_status(&vc->out) != MV_OK ? 2 : 0;
	mv_verify_free(v);
	if (vc->out.len > 65536 && flush_out(vc) != 0)
		rc = 2;
	return rc;
}

static void progress(const struct verify_cli *vc, size_t done, size_t total, int last)
{
	char bar[41];
	size_t k, fill = total ? done * 40 / total : 40;

	for (k = 0; k < 40; k++)
		bar[k] = k < fill ? '#' : '.';
	bar[40] = '\0';
	fprintf(stderr, "\r[%s] %zu/%zu files, %zu messages%s", bar, done, total, vc->messages,
	        last ? "\n" : "");
}

static void summary(const struct verify_cli *vc, double secs)
{
	fprintf(stderr,
	        "mailvet verify: %zu messages in %.2f s (%.0f/s): accept %zu, reject %zu, "
	        "quarantine %zu, tempfail %zu; dmarc pass %zu, fail %zu, none %zu, temperror %zu, "
	        "permerror %zu; unreadable %zu\n",
	        vc->messages, secs, secs > 0 ? (double)vc->messages / secs : 0.0,
	        vc->action[MV_VERIFY_ACCEPT], vc->action[MV_VERIFY_REJECT],
	        vc->action[MV_VERIFY_QUARANTINE], vc->action[MV_VERIFY_TEMPFAIL],
	        vc->dmarc[MV_DMARC_PASS], vc->dmarc[MV_DMARC_FAIL], vc->dmarc[MV_DMARC_NONE],
	        vc->dmarc[MV_DMARC_TEMPERROR], vc->dmarc[MV_DMARC_PERMERROR], vc->unreadable);
}

/* Read and verify every file; returns the worst per-file status. */
static int run_files(struct verify_cli *vc, const struct mv_cli_files *files)
{
	struct timespec t0, t1, last = {0, 0};
	char *data;
	size_t len, k;
	enum mv_status st;
	int rc = 0, one;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (k = 0; k < files->n && rc < 2; k++) {
		vc->file = files->path[k];
		if ((st = mv_read_file(vc->file, MAX_MESSAGE, &data, &len)) != MV_OK) {
			fprintf(stderr, "mailvet verify: %s: %s\n", vc->file,
			        mv_cli_read_error(st));
			rc = 2;
			break;
		}
		one = mv_cli_split_messages(data, len, verify_one, vc);
		free(data);
		rc = one > rc ? one : rc;
		if (vc->progress) {
			clock_gettime(CLOCK_MONOTONIC, &t1);
			if ((t1.tv_sec - last.tv_sec) * 1000 +
			            (t1.tv_nsec - last.tv_nsec) / 1000000 >
			    100) {
				progress(vc, k + 1, files->n, 0);
				last = t1;
			}
		}
	}
	if (flush_out(vc) != 0)
		rc = 2;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (vc->progress)
		progress(vc, k, files->n, 1);
	if (vc->messages > 1)
		summary(vc,
		        (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	if (rc == 0 && (vc->unreadable || vc->action[MV_VERIFY_REJECT] ||
	                vc->action[MV_VERIFY_QUARANTINE] || vc->action[MV_VERIFY_TEMPFAIL]))
		rc = 1;
	return rc;
}

enum {
	OPT_ZONE = 256,
	OPT_RESOLVER,
	OPT_RECORD,
	OPT_TIMEOUT,
	OPT_NOW,
	OPT_JSON,
	OPT_EXPLAIN,
	OPT_SERVID,
	OPT_IP,
	OPT_HELO,
	OPT_MAILFROM,
	OPT_AUTH,
	OPT_TRUSTED,
	OPT_RECORD_TO,
	OPT_HELP,
	OPT_SETTING = 0x1000, /* + index in the settings table */
	OPT_NEGATE = 0x2000,  /* --no-NAME: + index in the settings table */
	OPT_ALIAS = 0x3000,   /* + index in aliases[] */
};

static const struct option fixed_opts[] = {
        {"zone", required_argument, NULL, OPT_ZONE},
        {"resolver", required_argument, NULL, OPT_RESOLVER},
        {"record-dns", required_argument, NULL, OPT_RECORD},
        {"dns-timeout", required_argument, NULL, OPT_TIMEOUT},
        {"now", required_argument, NULL, OPT_NOW},
        {"json", no_argument, NULL, OPT_JSON},
        {"explain", no_argument, NULL, OPT_EXPLAIN},
        {"authserv-id", required_argument, NULL, OPT_SERVID},
        {"ip", required_argument, NULL, OPT_IP},
        {"helo", required_argument, NULL, OPT_HELO},
        {"mail-from", required_argument, NULL, OPT_MAILFROM},
        {"auth", required_argument, NULL, OPT_AUTH},
        {"trusted-arc-sealer", required_argument, NULL, OPT_TRUSTED},
        {"record-to", required_argument, NULL, OPT_RECORD_TO},
        {"help", no_argument, NULL, OPT_HELP},
};
#define NFIXED (sizeof fixed_opts / sizeof fixed_opts[0])

/*
 * The long options: the fixed ones, then --NAME for each setting, --no-NAME
 * for each yes/no setting, and the aliases; the names live in `names`.
 * Free with free_opts().
 */
struct verify_opts {
	struct option *opt;
	char (*names)[64];
};

static int build_opts(struct verify_opts *o)
{
	const struct mv_verify_setting *s;
	size_t n, i, k = NFIXED, j = 0;

	s = mv_verify_settings(&n);
	o->opt = calloc(NFIXED + 2 * n + NALIASES + 1, sizeof *o->opt);
	o->names = calloc(2 * n, sizeof *o->names);
	if (!o->opt || !o->names)
		return -1;
	memcpy(o->opt, fixed_opts, sizeof fixed_opts);
	for (i = 0; i < n; i++) {
		int is_bool = s[i].type == MV_VERIFY_SETTING_BOOL;

		option_name(s[i].name, o->names[j], sizeof o->names[j]);
		o->opt[k++] = (struct option){o->names[j++],
		                              is_bool ? optional_argument : required_argument, NULL,
		                              OPT_SETTING + (int)i};
		if (!is_bool)
			continue;
		memcpy(o->names[j], "no-", 3);
		option_name(s[i].name, o->names[j] + 3, sizeof o->names[j] - 3);
		o->opt[k++] =
		        (struct option){o->names[j++], no_argument, NULL, OPT_NEGATE + (int)i};
	}
	for (i = 0; i < NALIASES; i++)
		o->opt[k++] = (struct option){aliases[i].flag,
		                              aliases[i].value ? no_argument : required_argument,
		                              NULL, OPT_ALIAS + (int)i};
	return 0;
}

static void free_opts(struct verify_opts *o)
{
	free(o->opt);
	free(o->names);
}

/* A number option in [0, max], or an error message and -1. */
static int parse_num(const char *s, long long max, long long *v)
{
	if (mv_cli_number(s, 0, max, v) != 0) {
		fprintf(stderr, "mailvet verify: bad number %s\n", s);
		return -1;
	}
	return 0;
}

/* A setting, an alias or a --no-NAME option; -1 after a message on a bad value. */
static int set_option(struct verify_cli *vc, int c, const char *flag)
{
	const struct mv_verify_setting *s;
	const char *value = optarg;
	char err[200];
	size_t n;

	s = mv_verify_settings(&n);
	if (c >= OPT_ALIAS) {
		s = mv_verify_setting_find(aliases[c - OPT_ALIAS].setting);
		if (aliases[c - OPT_ALIAS].value)
			value = aliases[c - OPT_ALIAS].value;
	} else if (c >= OPT_NEGATE) {
		s += c - OPT_NEGATE;
		value = "no";
	} else {
		s += c - OPT_SETTING;
		if (value == NULL) /* --NAME of a yes/no setting */
			value = "yes";
	}
	if (s == NULL || mv_verify_setting_set(s, &vc->cfg, value, err, sizeof err) != MV_OK) {
		fprintf(stderr, "mailvet verify: --%s: %s\n", flag, s ? err : "internal error");
		return -1;
	}
	return 0;
}

/* The options that are not settings; -1 after a message on a bad value. */
static int fixed_option(struct verify_cli *vc, struct mv_cli_dns_opts *dns, int c)
{
	long long n;

	switch (c) {
	case OPT_ZONE:
		dns->zone = optarg;
		break;
	case OPT_RESOLVER:
		dns->resolver = optarg;
		break;
	case OPT_RECORD:
		dns->record = optarg;
		break;
	case OPT_TIMEOUT:
		if (parse_num(optarg, 600000, &n) != 0)
			return -1;
		dns->timeout_ms = (unsigned)n;
		break;
	case OPT_NOW:
		if (parse_num(optarg, (long long)1 << 40, &n) != 0)
			return -1;
		vc->now = (time_t)n;
		break;
	case OPT_JSON:
		vc->json = 1;
		break;
	case OPT_EXPLAIN:
		vc->explain = 1;
		break;
	case OPT_SERVID:
		vc->cfg.authserv_id = optarg;
		break;
	case OPT_IP:
		if (!mv_cli_ip_valid(optarg)) {
			fprintf(stderr, "mailvet verify: --ip %s: not an IPv4 or IPv6 address\n",
			        optarg);
			return -1;
		}
		vc->env.client_ip = optarg;
		break;
	case OPT_HELO:
		vc->env.helo = optarg;
		break;
	case OPT_MAILFROM:
		vc->env.mail_from = optarg;
		break;
	case OPT_AUTH:
		vc->env.auth_id = optarg;
		break;
	case OPT_TRUSTED:
		if (vc->cfg.ntrusted_arc_sealers == MAX_TRUSTED) {
			fprintf(stderr, "mailvet verify: at most %d --trusted-arc-sealer\n",
			        MAX_TRUSTED);
			return -1;
		}
		vc->trusted[vc->cfg.ntrusted_arc_sealers++] = optarg;
		vc->cfg.trusted_arc_sealers = vc->trusted;
		break;
	case OPT_RECORD_TO:
		vc->record_to = optarg;
		break;
	}
	return 0;
}

/* Options into vc and dns; returns -1 (usage error), 1 (--help done) or 0. */
static int parse_opts(int argc, char **argv, struct verify_cli *vc, struct mv_cli_dns_opts *dns)
{
	struct verify_opts o = {NULL, NULL};
	int c, idx, rc = 0;

	if (build_opts(&o) != 0) {
		fprintf(stderr, "mailvet verify: out of memory\n");
		rc = -1;
		goto out;
	}
	optind = 1;
	while (rc == 0 && (c = getopt_long(argc, argv, "", o.opt, &idx)) != -1) {
		if (c == OPT_HELP) {
			usage(stdout);
			rc = 1;
		} else if (c >= OPT_SETTING) {
			rc = set_option(vc, c, o.opt[idx].name);
		} else if (c >= OPT_ZONE) {
			rc = fixed_option(vc, dns, c);
		} else {
			usage(stderr);
			rc = -1;
		}
	}
out:
	free_opts(&o);
	return rc;
}

int mv_cli_verify(int argc, char **argv)
{
	struct mv_cli_dns_opts dns = {NULL, NULL, NULL, 0};
	struct mv_cli_files files = {NULL, 0, 0};
	struct verify_cli vc;
	char err[300];
	int rc = 2;

	memset(&vc, 0, sizeof vc);
	mv_verify_config_default(&vc.cfg);
	mv_buf_init(&vc.out);
	vc.now = time(NULL);
	if ((rc = parse_opts(argc, argv, &vc, &dns)) != 0)
		return rc < 0 ? 2 : 0;
	rc = 2;
	if (vc.cfg.authserv_id == NULL)
		vc.cfg.authserv_id = mv_cli_authserv_id();
	if (mv_verify_config_open_psl(&vc.cfg, &vc.psl, err, sizeof err) != MV_OK) {
		fprintf(stderr, "mailvet verify: %s\n", err);
		return 2;
	}
	if (optind == argc && mv_cli_files_add(&files, "-") != 0)
		goto out;
	for (; optind < argc; optind++)
		if (mv_cli_files_add(&files, argv[optind]) != 0) {
			fprintf(stderr, "mailvet verify: %s: %s\n", argv[optind], strerror(errno));
			goto out;
		}
	if (mv_dkim_keycache_new(64, &vc.cfg.dkim_keycache) != MV_OK ||
	    mv_cli_dns_open(&dns, &vc.res) != 0 ||
	    (vc.record_to && mv_cli_record_open(vc.record_to, &vc.store) != 0))
		goto out;
	vc.progress = files.n > 1 && isatty(STDERR_FILENO);
	rc = run_files(&vc, &files);
out:
	mv_store_close(vc.store);
	mv_dns_free(vc.res);
	mv_dkim_keycache_free(vc.cfg.dkim_keycache);
	mv_dmarc_psl_free(vc.psl);
	mv_cli_files_free(&files);
	mv_buf_free(&vc.out);
	return rc;
}
