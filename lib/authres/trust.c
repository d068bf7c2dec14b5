/*
 * lib/authres/trust.c — which Authentication-Results fields a mail reader may act on
 * (RFC 8601 §4.1, §5, §7.1): our authserv-id, in the block our ADMD added above the
 * Received field of its entry hop. The rule and its reasons: docs/internals/authres.md.
 */
#include <stdlib.h>
#include <string.h>

#include <idn2.h>

#include <mailvet/authres.h>
#include <mailvet/msg.h>

#define AR_NAME "Authentication-Results"

/*
 * The form two authserv-ids are compared in: without one trailing dot,
 * ASCII lowercase, and a name with bytes >= 0x80 as its A-labels when it is
 * a valid IDNA2008 name as written (IDN2_NO_TR46: no mapping of any kind).
 * A name libidn2 refuses stays as text, so it only equals itself. A new
 * string (free()), or NULL when memory runs out.
 */
static char *comparable(const char *id)
{
	size_t n = strlen(id), i;
	char *low, *out;
	uint8_t *a = NULL;
	int ascii = 1;

	if (n > 0 && id[n - 1] == '.')
		n--;
	if (!(low = mv_strndup(id, n)))
		return NULL;
	mv_ascii_lower(low, n);
	for (i = 0; i < n; i++)
		ascii &= (unsigned char)low[i] < 0x80;
	if (ascii || idn2_lookup_u8((const uint8_t *)low, &a, IDN2_NO_TR46) != IDN2_OK)
		return low;
	out = mv_strndup((const char *)a, strlen((const char *)a));
	idn2_free(a);
	if (!out)
		return low;
	mv_ascii_lower(out, strlen(out));
	free(low);
	return out;
}

int mv_authres_servid_same(const char *ours, const char *id)
{
	char *a, *b;
	int same;

	if (!ours || !id || !*ours || !*id)
		return 0;
	a = comparable(ours);
	b = comparable(id);
	same = a && b && strcmp(a, b) == 0;
	free(a);
	free(b);
	return same;
}

/* Read a field of ours in our block: leniently, noting what only leniency accepted. */
static enum mv_status read_ours(struct mv_authres_trust_field *f, const struct mv_msg_field *mf,
                                const char *ours, const struct mv_authres_filter_opts *o)
{
	char err[200];
	size_t i;

	if (f->ar == NULL &&
	    mv_authres_parse(mf->value, mf->value_len, 0, &f->ar, err, sizeof err) == MV_ESYNTAX) {
		if (!(f->deviation = mv_strndup(err, strlen(err))))
			return MV_ENOMEM;
		if (mv_authres_parse(mf->value, mf->value_len, MV_AUTHRES_LENIENT, &f->ar, err,
		                     sizeof err) == MV_ENOMEM)
			return MV_ENOMEM;
	}
	if (!f->ar || !mv_authres_servid_same(ours, f->ar->serv_id)) {
		f->trust = MV_AUTHRES_UNTRUSTED_MALFORMED;
		f->why = "our authserv-id, but the field cannot be read";
		f->error = f->deviation ? f->deviation : mv_strndup("too long", 8);
		f->deviation = NULL;
		mv_authres_free(f->ar);
		f->ar = NULL;
		return f->error ? MV_OK : MV_ENOMEM;
	}
	if (f->ar->results.count &&
	    !(f->ignored = calloc(f->ar->results.count, sizeof *f->ignored)))
		return MV_ENOMEM;
	for (i = 0; i < f->ar->results.count; i++)
		f->ignored[i] = mv_authres_unusable(o, f->ar->results.item[i]);
	f->trust = MV_AUTHRES_TRUSTED;
	f->why = f->deviation ? "our authserv-id, in our block (read leniently)"
	                      : "our authserv-id, in our block";
	return MV_OK;
}

/* Judge one field, given where our block is. */
static enum mv_status judge(struct mv_authres_trust_field *f, const struct mv_msg_field *mf,
                            const char *ours, const struct mv_authres_trust_report *r,
                            const struct mv_authres_filter_opts *o)
{
	unsigned version = 0;

	if (mv_authres_peek(mf->value, mf->value_len, &f->serv_id, &version) != MV_OK)
		return MV_ENOMEM;
	if (!f->serv_id) {
		f->trust = MV_AUTHRES_UNTRUSTED_NO_ID;
		f->why = "no authserv-id can be read";
	} else if (!mv_authres_servid_same(ours, f->serv_id)) {
		f->trust = MV_AUTHRES_UNTRUSTED_FOREIGN;
		f->why = "not our authserv-id";
	} else if (f->index >= r->block_end) {
		f->trust = MV_AUTHRES_UNTRUSTED_BELOW;
		f->why = "our authserv-id, but below the Received field that closes our block:"
		         " it may come from outside the ADMD";
	} else if (version != 0 && version != 1) {
		f->trust = MV_AUTHRES_UNTRUSTED_VERSION;
		f->why = "our authserv-id, but a field version other than 1 (RFC 8601 §2.6)";
	} else {
		return read_ours(f, mf, ours, o);
	}
	return MV_OK;
}

/* Our block: from the topmost field of ours to the next Received field. */
static void find_block(const struct mv_msg *m, const char *ours, struct mv_authres_trust_report *r)
{
	size_t i, n = mv_msg_field_count(m);
	char *id = NULL;
	unsigned v;

	r->block_start = r->block_end = n;
	for (i = mv_msg_find(m, AR_NAME, 0); i != (size_t)-1; i = mv_msg_find(m, AR_NAME, i + 1)) {
		const struct mv_msg_field *f = mv_msg_field(m, i);
		if (mv_authres_peek(f->value, f->value_len, &id, &v) == MV_OK && id &&
		    mv_authres_servid_same(ours, id)) {
			r->block_start = i;
			break;
		}
		free(id);
		id = NULL;
	}
	free(id);
	if (r->block_start < n) {
		i = mv_msg_find(m, "Received", r->block_start);
		r->block_end = i == (size_t)-1 ? n : i;
	}
}

enum mv_status mv_authres_trust(const struct mv_msg *m, const char *ours,
                                const struct mv_authres_filter_opts *o,
                                struct mv_authres_trust_report *out)
{
	enum mv_status st = MV_OK;
	size_t i, n = 0;

	memset(out, 0, sizeof *out);
	for (i = mv_msg_find(m, AR_NAME, 0); i != (size_t)-1; i = mv_msg_find(m, AR_NAME, i + 1))
		n++;
	if (n && !(out->field = calloc(n, sizeof *out->field)))
		return MV_ENOMEM;
	find_block(m, ours, out);
	for (i = mv_msg_find(m, AR_NAME, 0); i != (size_t)-1 && st == MV_OK;
	     i = mv_msg_find(m, AR_NAME, i + 1)) {
		struct mv_authres_trust_field *f = &out->field[out->count++];
		f->index = i;
		st = judge(f, mv_msg_field(m, i), ours, out, o);
	}
	if (st != MV_OK)
		mv_authres_trust_free(out);
	return st;
}

void mv_authres_trust_free(struct mv_authres_trust_report *r)
{
	size_t i;

	for (i = 0; i < r->count; i++) {
		free(r->field[i].serv_id);
		mv_authres_free(r->field[i].ar);
		free(r->field[i].deviation);
		free(r->field[i].ignored);
		free(r->field[i].error);
	}
	free(r->field);
	memset(r, 0, sizeof *r);
}
