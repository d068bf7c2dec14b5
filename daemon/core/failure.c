/* daemon/core/failure.c — DMARC failure reports: rate-limited, redacted, written to the spool. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <mailvet/msg.h>

#include "failure.h"
#include "log.h"

#define RATE_SLOTS 512 /* destinations whose counts are kept */
#define DESTS_MAX 16   /* ruf= destinations taken from one record */
#define SPOOL_FILES_MAX 100000

/* Per destination: reports in the current window. */
struct rate_slot {
	char dest[MV_REPORT_URI_MAX];
	time_t start;
	unsigned n;
};

static pthread_mutex_t rate_lock = PTHREAD_MUTEX_INITIALIZER;
static struct rate_slot rates[RATE_SLOTS];
static atomic_ulong written, dropped_rate, dropped_full, failed;
static atomic_uint seq;

/* The redaction key: random, one per process, so tokens cannot be looked up elsewhere. */
static unsigned char key[32];
static pthread_once_t key_once = PTHREAD_ONCE_INIT;

static void key_init(void)
{
	if (getrandom(key, sizeof key, 0) != (ssize_t)sizeof key) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		memcpy(key, &ts, sizeof ts < sizeof key ? sizeof ts : sizeof key);
	}
}

/*
 * May one more report go to dest now? Windows are fixed (they start at the
 * first report); a full table recycles the slot whose window is oldest.
 */
static int rate_allow(const struct mvd_failure_conf *c, const char *dest, time_t now)
{
	struct rate_slot *s = NULL, *oldest = &rates[0];
	int ok;

	pthread_mutex_lock(&rate_lock);
	for (size_t i = 0; i < RATE_SLOTS && !s; i++) {
		if (strcmp(rates[i].dest, dest) == 0)
			s = &rates[i];
		else if (rates[i].start < oldest->start)
			oldest = &rates[i];
	}
	if (!s) {
		s = oldest;
		MV_REPORT_SET(s->dest, dest);
		s->start = now;
		s->n = 0;
	}
	if (now - s->start >= (time_t)c->window) {
		s->start = now;
		s->n = 0;
	}
	ok = s->n < c->rate;
	s->n += ok;
	pthread_mutex_unlock(&rate_lock);
	return ok;
}

/*
 * The ruf= mailto: URIs (without a "!size" suffix) this report may go to,
 * comma-separated into out; the others are dropped by the rate limit.
 */
static void destinations(const struct mvd_failure_conf *c, const struct mv_report_record *r,
                         time_t now, struct mv_buf *out)
{
	const char *p = r->ruf;
	unsigned n = 0;

	while (*p && n < DESTS_MAX) {
		char dest[MV_REPORT_URI_MAX];
		size_t len;

		p += strspn(p, " \t,");
		len = strcspn(p, "!, \t");
		if (len > 7 && len < sizeof dest && mv_ascii_ieq(p, 7, "mailto:")) {
			memcpy(dest, p, len);
			dest[len] = '\0';
			n++;
			if (rate_allow(c, dest, now))
				mv_buf_printf(out, "%s%s", out->len ? "," : "", dest);
			else
				mvd_log(MVD_LOG_INFO, "failure_report",
				        "domain=%s to=%s dropped: over failure_rate %u per %us "
				        "(%lu dropped so far)",
				        r->policy_domain, dest + 7, c->rate, c->window,
				        atomic_fetch_add(&dropped_rate, 1) + 1);
		}
		p += strcspn(p, ",");
	}
}

/* Bytes in the spool's files, or -1 when it cannot be read (or holds too many files). */
static long long spool_bytes(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	long long total = 0;
	unsigned files = 0;
	struct stat st;

	if (!d)
		return -1;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.' && (!e->d_name[1] || e->d_name[1] == '.'))
			continue;
		if (++files > SPOOL_FILES_MAX) {
			total = -1;
			break;
		}
		if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0)
			total += st.st_size;
	}
	closedir(d);
	return total;
}

/* The header fields as received, redacted when asked. */
static enum mv_status header_block(const struct mvd_failure_conf *c, const struct mv_verify *v,
                                   struct mv_buf *out)
{
	const struct mv_msg *m = mv_verify_msg(v);
	struct mv_buf raw = MV_BUF_INIT;
	enum mv_status st;

	for (size_t i = 0; m && i < mv_msg_field_count(m); i++) {
		const struct mv_msg_field *f = mv_msg_field(m, i);
		mv_buf_append(&raw, f->raw, f->raw_len);
	}
	if ((st = mv_buf_status(&raw)) == MV_OK && raw.len) {
		if (c->redact)
			st = mv_report_failure_redact(raw.data, raw.len, key, sizeof key, out);
		else
			st = mv_buf_append(out, raw.data, raw.len);
	}
	mv_buf_free(&raw);
	return st;
}

/* A failed DKIM signature of the author's domain (or a parent or child of it), or NULL. */
static const struct mv_report_dkim *aligned_dkim_failure(const struct mv_report_record *r)
{
	for (size_t i = 0; i < r->ndkim; i++) {
		const char *d = r->dkim[i].domain, *h = r->header_from;
		size_t dl = strlen(d), hl = strlen(h);

		if (strcmp(r->dkim[i].result, "pass") == 0 || dl == 0)
			continue;
		if ((dl == hl && mv_ascii_ieq(d, dl, h)) ||
		    (hl > dl && h[hl - dl - 1] == '.' && mv_ascii_ieq(h + hl - dl, dl, d)) ||
		    (dl > hl && d[dl - hl - 1] == '.' && mv_ascii_ieq(d + dl - hl, hl, h)))
			return &r->dkim[i];
	}
	return NULL;
}

/* The file, written to a temporary name and renamed into place. 0 or -1 (errno). */
static int spool_write(const char *dir, time_t now, const struct mv_buf *b)
{
	char tmp[4096], name[4096];
	unsigned n = atomic_fetch_add(&seq, 1);
	int fd, rc = -1;

	snprintf(tmp, sizeof tmp, "%s/.tmp-%ld-%u", dir, (long)getpid(), n);
	snprintf(name, sizeof name, "%s/%lld-%ld-%u.ruf", dir, (long long)now, (long)getpid(), n);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0)
		return -1;
	if (write(fd, b->data, b->len) == (ssize_t)b->len && fsync(fd) == 0)
		rc = 0;
	if (close(fd) != 0)
		rc = -1;
	if (rc == 0 && rename(tmp, name) != 0)
		rc = -1;
	if (rc != 0)
		unlink(tmp);
	return rc;
}

static const char *delivery_result(const char *disposition)
{
	if (strcmp(disposition, "reject") == 0)
		return "reject";
	if (strcmp(disposition, "quarantine") == 0)
		return "policy";
	return "delivered";
}

/* The report's fields, from the record and the verification; strings in bufs. */
static enum mv_status build(const struct mvd_failure_conf *c, const struct mv_verify *v,
                            const struct mv_report_record *r, const char *queue_id,
                            const char *dests, struct mv_buf *out)
{
	struct mv_report_failure f;
	struct mv_buf head = MV_BUF_INIT, from = MV_BUF_INIT, ar = MV_BUF_INIT;
	const struct mv_envelope *env = mv_verify_envelope(v);
	const struct mv_report_dkim *dk = aligned_dkim_failure(r);
	const char *field = mv_verify_header_field(v);
	char align[12], identity[MV_REPORT_DOMAIN_MAX + 1];
	enum mv_status st;

	memset(&f, 0, sizeof f);
	f.arrival = r->time;
	f.reported_domain = r->header_from;
	f.policy_domain = r->policy_domain;
	f.destinations = dests;
	f.source_ip = r->source_ip;
	f.envelope_id = queue_id;
	f.rcpt_domain = r->envelope_to;
	mv_report_failure_alignment(r, align);
	f.identity_alignment = align;
	f.delivery_result = delivery_result(r->disposition);
	if (dk) {
		snprintf(identity, sizeof identity, "@%s", dk->domain);
		f.dkim_domain = dk->domain;
		f.dkim_selector = dk->selector;
		f.dkim_identity = identity;
	}
	if (env && env->mail_from) {
		if (c->redact)
			mv_report_failure_redact(env->mail_from, strlen(env->mail_from), key,
			                         sizeof key, &from);
		else
			mv_buf_puts(&from, env->mail_from);
		f.mail_from = from.len ? from.data : "";
	}
	/* Our field, unfolded, without its name; its own addresses redacted like the rest. */
	if (field && (field = strchr(field, ':')) != NULL) {
		for (field++; *field == ' '; field++)
			;
		for (; *field; field++)
			if (*field != '\r' && *field != '\n' && (*field != '\t' || ar.len == 0))
				mv_buf_putc(&ar, *field == '\t' ? ' ' : *field);
		if (c->redact && ar.len) {
			struct mv_buf red = MV_BUF_INIT;
			mv_report_failure_redact(ar.data, ar.len, key, sizeof key, &red);
			mv_buf_free(&ar);
			ar = red;
		}
		f.authres = ar.data;
	}
	if ((st = header_block(c, v, &head)) != MV_OK || (st = mv_buf_status(&from)) != MV_OK ||
	    (st = mv_buf_status(&ar)) != MV_OK)
		goto out;
	f.header = head.data ? head.data : "";
	f.header_len = head.len;
	st = mv_report_failure_format(&f, out);
out:
	mv_buf_free(&head);
	mv_buf_free(&from);
	mv_buf_free(&ar);
	return st;
}

void mvd_failure_report(const struct mvd_failure_conf *c, const struct mv_verify *v,
                        const struct mv_report_record *r, const char *queue_id)
{
	const char *dir = c->spool ? c->spool : MVD_FAILURE_SPOOL_DEFAULT;
	struct mv_buf dests = MV_BUF_INIT, file = MV_BUF_INIT;
	time_t now = time(NULL);
	long long used;
	enum mv_status st;

	if (!c->enabled || !r->ruf[0] || strcmp(r->psd, "y") == 0 ||
	    !mv_report_failure_wanted(r->fo, r))
		return;
	pthread_once(&key_once, key_init);
	destinations(c, r, now, &dests);
	if (dests.len == 0)
		goto out; /* no mailto: destination, or all over their rate */
	if ((st = build(c, v, r, queue_id, dests.data, &file)) != MV_OK) {
		mvd_log(MVD_LOG_WARNING, "failure_report", "domain=%s queue_id=%s not spooled: %s",
		        r->policy_domain, queue_id ? queue_id : "-", mv_status_str(st));
		atomic_fetch_add(&failed, 1);
		goto out;
	}
	used = spool_bytes(dir);
	if (used < 0 || (unsigned long long)used + file.len > c->spool_max) {
		mvd_log(MVD_LOG_WARNING, "failure_report",
		        "domain=%s queue_id=%s dropped: spool %s %s (%lu dropped so far)",
		        r->policy_domain, queue_id ? queue_id : "-", dir,
		        used < 0 ? "cannot be read" : "is full (failure_spool_max)",
		        atomic_fetch_add(&dropped_full, 1) + 1);
		goto out;
	}
	if (spool_write(dir, now, &file) != 0) {
		mvd_log(MVD_LOG_WARNING, "failure_report",
		        "domain=%s queue_id=%s not spooled: %s: %s", r->policy_domain,
		        queue_id ? queue_id : "-", dir, strerror(errno));
		atomic_fetch_add(&failed, 1);
		goto out;
	}
	mvd_log(MVD_LOG_INFO, "failure_report", "domain=%s queue_id=%s to=%s spooled (%lu so far)",
	        r->policy_domain, queue_id ? queue_id : "-", dests.data,
	        atomic_fetch_add(&written, 1) + 1);
out:
	mv_buf_free(&dests);
	mv_buf_free(&file);
}
