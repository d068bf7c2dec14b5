/* lib/dns/record.c — record the answers a resolver serves as a zone file, for offline replay. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include <mailvet/util.h>

#include "dns/backend.h"

/*
 * The lines recorded so far, in the order first seen, without duplicates
 * (an open-addressing set of line indices beside the array).
 */
struct mv_dns_recorder {
	pthread_mutex_t lock;
	char *path;
	char **lines;
	size_t n, cap;
	uint32_t *set; /* line index + 1, 0 = empty; setcap a power of 2 */
	size_t setcap;
	enum mv_status err; /* first failure, reported by the next flush */
};

static uint32_t hash_str(const char *s)
{
	uint32_t h = 2166136261u;

	while (*s) {
		h ^= (unsigned char)*s++;
		h *= 16777619u;
	}
	return h;
}

static size_t find(const struct mv_dns_recorder *rec, const char *line)
{
	size_t mask = rec->setcap - 1, i = hash_str(line) & mask;

	while (rec->set[i] && strcmp(rec->lines[rec->set[i] - 1], line) != 0)
		i = (i + 1) & mask;
	return i;
}

static enum mv_status grow(struct mv_dns_recorder *rec)
{
	size_t cap = rec->setcap ? rec->setcap * 2 : 64, i, j;
	uint32_t *set;
	char **lines;

	if (cap > UINT32_MAX || !(set = calloc(cap, sizeof *set)))
		return MV_ENOMEM;
	if (!(lines = realloc(rec->lines, (cap / 2) * sizeof *lines))) {
		free(set);
		return MV_ENOMEM;
	}
	rec->lines = lines;
	rec->cap = cap / 2;
	free(rec->set);
	rec->set = set;
	rec->setcap = cap;
	for (i = 0; i < rec->n; i++) {
		j = find(rec, rec->lines[i]);
		rec->set[j] = (uint32_t)(i + 1);
	}
	return MV_OK;
}

/* Keep line (taken) unless it is already there. Called with the lock held. */
static void keep(struct mv_dns_recorder *rec, char *line)
{
	size_t slot;

	if (!line || rec->err != MV_OK) {
		free(line);
		if (rec->err == MV_OK)
			rec->err = MV_ENOMEM;
		return;
	}
	if (rec->n == rec->cap && grow(rec) != MV_OK) {
		free(line);
		rec->err = MV_ENOMEM;
		return;
	}
	slot = find(rec, line);
	if (rec->set[slot]) {
		free(line);
		return;
	}
	rec->lines[rec->n++] = line;
	rec->set[slot] = (uint32_t)rec->n;
}

static int plain_name_byte(unsigned char c)
{
	return c > 0x20 && c < 0x7f && c != ';' && c != '"' && c != '\\' && c != '(' && c != ')';
}

void mv_dns_zone_put_name(struct mv_buf *b, const char *name)
{
	const unsigned char *p = (const unsigned char *)name;

	if (!*p)
		mv_buf_putc(b, '.'); /* the root */
	for (; *p; p++) {
		if (plain_name_byte(*p))
			mv_buf_putc(b, (char)*p);
		else
			mv_buf_printf(b, "\\%03u", *p);
	}
}

/* TXT data as quoted strings of at most 255 bytes (as on the wire), escaped. */
static void put_txt(struct mv_buf *b, const char *txt, size_t len)
{
	size_t i;
	unsigned char c;

	mv_buf_puts(b, " \"");
	for (i = 0; i < len; i++) {
		if (i > 0 && i % 255 == 0)
			mv_buf_puts(b, "\" \"");
		c = (unsigned char)txt[i];
		if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\')
			mv_buf_putc(b, (char)c);
		else
			mv_buf_printf(b, "\\%03u", c);
	}
	mv_buf_putc(b, '"');
}

/* "owner TYPE rdata" for one record. */
static char *rr_line(const char *owner, const struct mv_dns_rr *rr)
{
	struct mv_buf b = MV_BUF_INIT;
	char addr[INET6_ADDRSTRLEN];

	mv_dns_zone_put_name(&b, owner);
	mv_buf_printf(&b, " %s", mv_dns_type_str(rr->type));
	switch (rr->type) {
	case MV_DNS_A:
	case MV_DNS_AAAA:
		inet_ntop(rr->type == MV_DNS_A ? AF_INET : AF_INET6, rr->addr, addr, sizeof addr);
		mv_buf_printf(&b, " %s", addr);
		break;
	case MV_DNS_MX:
		mv_buf_printf(&b, " %u", rr->pref);
		/* fall through */
	case MV_DNS_PTR:
	case MV_DNS_CNAME:
		mv_buf_putc(&b, ' ');
		mv_dns_zone_put_name(&b, rr->host ? rr->host : "");
		break;
	case MV_DNS_TXT:
		put_txt(&b, rr->txt ? rr->txt : "", rr->txtlen);
		break;
	}
	return mv_buf_steal(&b, NULL);
}

static char *word_line(const char *owner, const char *what, const char *arg)
{
	struct mv_buf b = MV_BUF_INIT;

	mv_dns_zone_put_name(&b, owner);
	mv_buf_printf(&b, " %s", what);
	if (arg) {
		mv_buf_putc(&b, ' ');
		mv_dns_zone_put_name(&b, arg);
	}
	return mv_buf_steal(&b, NULL);
}

/*
 * The lines that make a replay give the same answer (docs/internals/dns.md):
 * each CNAME link of the chain; the records; NODATA as the NODATA marker;
 * SERVFAIL and TIMEOUT as the pseudo-type for the asked type only; NXDOMAIN
 * as nothing at all. A chain cut at the CNAME bound needs no pseudo-type:
 * its links alone make the replay cut it the same way.
 */
void mv_dns_recorder_add(struct mv_dns_recorder *rec, const struct mv_dns_chain *chain,
                         enum mv_dns_type type, const struct mv_dns_answer *a)
{
	const char *owner = chain->name[chain->n - 1];
	size_t i, links = chain->n - 1 + (chain->overflow ? 1 : 0);

	pthread_mutex_lock(&rec->lock);
	for (i = 0; i < links; i++)
		keep(rec, word_line(chain->name[i], "CNAME", chain->name[i + 1]));
	if (chain->overflow)
		goto out;
	switch (a->rcode) {
	case MV_DNS_RECORDS:
		for (i = 0; i < a->count; i++)
			keep(rec, rr_line(owner, &a->rr[i]));
		break;
	case MV_DNS_NODATA:
		keep(rec, word_line(owner, "NODATA", NULL));
		break;
	case MV_DNS_SERVFAIL:
	case MV_DNS_TIMEOUT:
		keep(rec, word_line(owner, a->rcode == MV_DNS_TIMEOUT ? "TIMEOUT" : "SERVFAIL",
		                    mv_dns_type_str(type)));
		break;
	case MV_DNS_NXDOMAIN:
		break;
	}
out:
	pthread_mutex_unlock(&rec->lock);
}

static enum mv_status write_file(struct mv_dns_recorder *rec)
{
	enum mv_status st = MV_OK;
	FILE *f;
	size_t i;

	if (rec->err != MV_OK)
		return rec->err;
	if (!(f = fopen(rec->path, "w")))
		return MV_EIO;
	fputs("; DNS answers recorded by mailvet (zone-file format, see mailvet(1))\n", f);
	for (i = 0; i < rec->n; i++) {
		fputs(rec->lines[i], f);
		fputc('\n', f);
	}
	if (ferror(f))
		st = MV_EIO;
	if (fclose(f) != 0)
		st = MV_EIO;
	return st;
}

void mv_dns_recorder_free(struct mv_dns_recorder *rec)
{
	size_t i;

	if (!rec)
		return;
	(void)write_file(rec);
	for (i = 0; i < rec->n; i++)
		free(rec->lines[i]);
	free(rec->lines);
	free(rec->set);
	free(rec->path);
	pthread_mutex_destroy(&rec->lock);
	free(rec);
}

enum mv_status mv_dns_record_to(struct mv_resolver *r, const char *path)
{
	struct mv_dns_recorder *rec;
	FILE *f;

	if (!r || !path)
		return MV_EINVAL;
	if (!(f = fopen(path, "w")))
		return MV_EIO; /* say so now rather than at the end */
	fclose(f);
	if (!(rec = calloc(1, sizeof *rec)))
		return MV_ENOMEM;
	if (!(rec->path = mv_strndup(path, strlen(path)))) {
		free(rec);
		return MV_ENOMEM;
	}
	pthread_mutex_init(&rec->lock, NULL);
	mv_dns_recorder_free(r->rec);
	r->rec = rec;
	return MV_OK;
}

enum mv_status mv_dns_record_flush(struct mv_resolver *r)
{
	enum mv_status st;

	if (!r || !r->rec)
		return MV_EINVAL;
	pthread_mutex_lock(&r->rec->lock);
	st = write_file(r->rec);
	pthread_mutex_unlock(&r->rec->lock);
	return st;
}
