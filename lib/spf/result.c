/* lib/spf/result.c — SPF result names, verdicts, and the Received-SPF field (RFC 7208 §2.6, §9.1). */
#include <stdlib.h>
#include <string.h>

#include <mailvet/spf.h>

static const char *const result_names[] = {
        [MV_SPF_NONE] = "none",           [MV_SPF_NEUTRAL] = "neutral",
        [MV_SPF_PASS] = "pass",           [MV_SPF_FAIL] = "fail",
        [MV_SPF_SOFTFAIL] = "softfail",   [MV_SPF_TEMPERROR] = "temperror",
        [MV_SPF_PERMERROR] = "permerror",
};

const char *mv_spf_result_str(enum mv_spf_result res)
{
	if ((unsigned)res < sizeof result_names / sizeof result_names[0])
		return result_names[res];
	return "permerror";
}

enum mv_status mv_spf_result_parse(const char *s, enum mv_spf_result *out)
{
	size_t i;

	for (i = 0; s && i < sizeof result_names / sizeof result_names[0]; i++)
		if (mv_ascii_ieq(s, strlen(s), result_names[i])) {
			*out = (enum mv_spf_result)i;
			return MV_OK;
		}
	return MV_EINVAL;
}

const char *mv_spf_identity_str(enum mv_spf_identity id)
{
	return id == MV_SPF_ID_HELO ? "helo" : "mailfrom";
}

void mv_spf_verdict_clear(struct mv_spf_verdict *v)
{
	if (!v)
		return;
	free(v->domain);
	free(v->sender);
	free(v->explanation);
	free(v->mechanism);
	free(v->problem);
	memset(v, 0, sizeof *v);
}

/* RFC 5322 atext plus '.': what a dot-atom may hold (dots checked separately). */
static int is_atext(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c != 0 && strchr("!#$%&'*+-/=?^_`{|}~", c));
}

static int is_dot_atom(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || s[0] == '.' || s[n - 1] == '.')
		return 0;
	for (i = 0; i < n; i++) {
		if (s[i] == '.' ? s[i + 1] == '.' : !is_atext((unsigned char)s[i]))
			return 0;
	}
	return 1;
}

/* key=value; the value as a dot-atom when it is one, else a quoted-string. */
static void put_pair(struct mv_buf *out, const char *key, const char *val)
{
	size_t i;

	mv_buf_printf(out, " %s=", key);
	if (is_dot_atom(val)) {
		mv_buf_puts(out, val);
	} else {
		mv_buf_putc(out, '"');
		for (i = 0; val[i]; i++) {
			unsigned char c = (unsigned char)val[i];
			if (c == '"' || c == '\\')
				mv_buf_putc(out, '\\');
			mv_buf_putc(out, c >= 0x20 && c < 0x7f ? (char)c : '?');
		}
		mv_buf_putc(out, '"');
	}
	mv_buf_putc(out, ';');
}

/* Text inside a comment: parentheses and backslashes quoted, controls dropped. */
static void put_ctext(struct mv_buf *out, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '(' || c == ')' || c == '\\')
			mv_buf_putc(out, '\\');
		mv_buf_putc(out, c >= 0x20 && c < 0x7f ? (char)c : '?');
	}
}

static void put_comment(struct mv_buf *out, const struct mv_spf_request *req,
                        const struct mv_spf_verdict *v)
{
	const char *who = v->sender ? v->sender : "";
	const char *ip = req->ip ? req->ip : "";

	mv_buf_puts(out, " (");
	put_ctext(out, req->receiver ? req->receiver : "unknown");
	mv_buf_puts(out, ": ");
	switch (v->result) {
	case MV_SPF_PASS:
	case MV_SPF_FAIL:
		mv_buf_puts(out, "domain of ");
		put_ctext(out, who);
		mv_buf_puts(out,
		            v->result == MV_SPF_PASS ? " designates " : " does not designate ");
		put_ctext(out, ip);
		mv_buf_puts(out, " as permitted sender");
		break;
	case MV_SPF_SOFTFAIL:
	case MV_SPF_NEUTRAL:
		mv_buf_puts(out, "domain of ");
		put_ctext(out, who);
		mv_buf_puts(out, v->result == MV_SPF_SOFTFAIL ? " discourages use of "
		                                              : " neither permits nor denies ");
		put_ctext(out, ip);
		break;
	case MV_SPF_NONE:
		mv_buf_puts(out, "no SPF record for ");
		put_ctext(out, v->domain ? v->domain : "");
		break;
	case MV_SPF_TEMPERROR:
	case MV_SPF_PERMERROR:
		mv_buf_puts(out, "error in processing SPF for ");
		put_ctext(out, v->domain ? v->domain : "");
		break;
	}
	mv_buf_putc(out, ')');
}

enum mv_status mv_spf_received_spf(const struct mv_spf_request *req, const struct mv_spf_verdict *v,
                                   struct mv_buf *out)
{
	mv_buf_puts(out, mv_spf_result_str(v->result));
	put_comment(out, req, v);
	if (req->ip)
		put_pair(out, "client-ip", req->ip);
	put_pair(out, "envelope-from", req->mail_from ? req->mail_from : "");
	if (req->helo && *req->helo)
		put_pair(out, "helo", req->helo);
	if (req->receiver)
		put_pair(out, "receiver", req->receiver);
	put_pair(out, "identity", mv_spf_identity_str(v->identity));
	if (v->mechanism && strcmp(v->mechanism, "default") != 0)
		put_pair(out, "mechanism", v->mechanism);
	if (v->problem && *v->problem)
		put_pair(out, "problem", v->problem);
	if (out->len > 0 && out->data[out->len - 1] == ';')
		out->data[--out->len] = '\0';
	return mv_buf_status(out);
}
