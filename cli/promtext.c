/* cli/promtext.c — the Prometheus text exposition format (0.0.4), read into samples and families. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "promtext.h"

/* The bytes of one line still to read; every step advances p and never passes end. */
struct cursor {
	const char *p, *end;
};

static int name_start(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
}

static int name_char(char c)
{
	return name_start(c) || (c >= '0' && c <= '9');
}

/* A metric or label name (label names take no ':', which is not checked); NULL when none. */
static char *take_name(struct cursor *c)
{
	const char *s = c->p;

	if (c->p == c->end || !name_start(*c->p))
		return NULL;
	while (c->p < c->end && name_char(*c->p))
		c->p++;
	return strndup(s, (size_t)(c->p - s));
}

/* "..." with \\, \" and \n escapes, unescaped; NULL when unterminated or a bad escape. */
static char *take_quoted(struct cursor *c)
{
	char *out, *o;

	if (c->p == c->end || *c->p != '"' || !(out = malloc((size_t)(c->end - c->p))))
		return NULL;
	o = out;
	for (c->p++; c->p < c->end && *c->p != '"'; c->p++) {
		if (*c->p == '\\') {
			if (++c->p == c->end || (*c->p != '\\' && *c->p != '"' && *c->p != 'n'))
				break;
			*o++ = *c->p == 'n' ? '\n' : *c->p;
		} else {
			*o++ = *c->p;
		}
	}
	if (c->p == c->end || *c->p != '"') {
		free(out);
		return NULL;
	}
	c->p++;
	*o = '\0';
	return out;
}

/* 1 when each of the n bytes at s is one of set (the input is not NUL-terminated). */
static int all_of(const char *s, size_t n, const char *set)
{
	for (size_t i = 0; i < n; i++)
		if (!s[i] || !strchr(set, s[i]))
			return 0;
	return 1;
}

/* A float as the format writes it (Go's ParseFloat, plus +Inf, -Inf, NaN); 1 when it is one. */
static int is_value(const char *s, size_t n)
{
	char buf[64], *end;

	if ((n == 4 && (strncmp(s, "+Inf", 4) == 0 || strncmp(s, "-Inf", 4) == 0)) ||
	    (n == 3 && strncmp(s, "NaN", 3) == 0))
		return 1;
	if (n == 0 || n >= sizeof buf || !all_of(s, n, "0123456789+-.eE"))
		return 0;
	memcpy(buf, s, n);
	buf[n] = '\0';
	strtod(buf, &end);
	return end == buf + n;
}

/* {name="value",...} into s; "" when well-formed, else why. */
static const char *take_labels(struct cursor *c, struct mv_prom_sample *s)
{
	if (c->p == c->end || *c->p != '{')
		return "";
	c->p++;
	while (c->p < c->end && *c->p != '}') {
		struct mv_prom_label *l = &s->labels[s->nlabels];
		if (s->nlabels == MV_PROM_LABELS_MAX)
			return "too many labels";
		if (!(l->name = take_name(c)))
			return "a label name expected";
		s->nlabels++;
		if (c->p == c->end || *c->p++ != '=' || !(l->value = take_quoted(c)))
			return "label=\"value\" expected";
		for (size_t i = 0; i + 1 < s->nlabels; i++)
			if (strcmp(s->labels[i].name, l->name) == 0)
				return "a label twice";
		if (c->p < c->end && *c->p == ',')
			c->p++;
		else if (c->p < c->end && *c->p != '}')
			return "',' or '}' expected";
	}
	if (c->p == c->end)
		return "unterminated label set";
	c->p++;
	return "";
}

/* One sample line into s; "" when well-formed, else why. */
static const char *sample_line(struct cursor *c, struct mv_prom_sample *s)
{
	const char *why, *v;

	if (!(s->name = take_name(c)))
		return "a metric name expected";
	if (*(why = take_labels(c, s)))
		return why;
	if (c->p == c->end || *c->p != ' ')
		return "a space before the value expected";
	v = ++c->p;
	while (c->p < c->end && *c->p != ' ')
		c->p++;
	if (!is_value(v, (size_t)(c->p - v)))
		return "not a number";
	if (!(s->value = strndup(v, (size_t)(c->p - v))))
		return "out of memory";
	if (c->p < c->end) { /* a timestamp: an integer in milliseconds */
		const char *t = ++c->p;
		if (t == c->end || !all_of(t, (size_t)(c->end - t), "-0123456789"))
			return "a timestamp must be an integer";
	}
	return "";
}

static struct mv_prom_family *family_find(struct mv_prom *p, const char *name)
{
	for (size_t i = p->nf; i-- > 0;)
		if (strcmp(p->f[i].name, name) == 0)
			return &p->f[i];
	return NULL;
}

/*
 * Room for one more element in *v (n used, *cap allocated, each size
 * bytes, zeroed), at most MV_PROM_SAMPLES_MAX; 0 when past it or out of memory.
 */
static int grow(void **v, size_t n, size_t *cap, size_t size)
{
	size_t want = *cap ? *cap * 2 : 64;
	void *bigger;

	if (n < *cap)
		return 1;
	if (n >= MV_PROM_SAMPLES_MAX)
		return 0;
	if (want > MV_PROM_SAMPLES_MAX)
		want = MV_PROM_SAMPLES_MAX;
	if (!(bigger = realloc(*v, want * size)))
		return 0;
	memset((char *)bigger + *cap * size, 0, (want - *cap) * size);
	*v = bigger;
	*cap = want;
	return 1;
}

static struct mv_prom_family *family_add(struct mv_prom *p, const char *name)
{
	struct mv_prom_family *f;

	if (!grow((void **)&p->f, p->nf, &p->fcap, sizeof *p->f))
		return NULL;
	f = &p->f[p->nf++];
	f->name = strdup(name);
	f->type = strdup("untyped");
	f->help = strdup("");
	f->first = p->ns;
	f->n = 0;
	return f->name && f->type && f->help ? f : NULL;
}

/* # HELP name text / # TYPE name type; other comments are skipped. "" or why. */
static const char *comment_line(struct mv_prom *p, struct cursor *c)
{
	int help = c->end - c->p > 7 && strncmp(c->p, "# HELP ", 7) == 0;
	int type = c->end - c->p > 7 && strncmp(c->p, "# TYPE ", 7) == 0;
	struct mv_prom_family *f;
	char *name, **dst;

	if (!help && !type)
		return "";
	c->p += 7;
	if (!(name = take_name(c)))
		return "a metric name expected";
	f = family_find(p, name);
	if (!f && !(f = family_add(p, name))) {
		free(name);
		return "too many families, or out of memory";
	}
	free(name);
	dst = help ? &f->help : &f->type;
	free(*dst);
	*dst = strndup(c->p < c->end ? c->p + 1 : c->p,
	               c->p < c->end ? (size_t)(c->end - c->p - 1) : 0);
	if (type && strcmp(*dst, "counter") && strcmp(*dst, "gauge") && strcmp(*dst, "histogram") &&
	    strcmp(*dst, "summary") && strcmp(*dst, "untyped"))
		return "unknown TYPE";
	return *dst ? "" : "out of memory";
}

/* The family s belongs to (the last declared): its own name or a histogram's parts. */
static struct mv_prom_family *owner(struct mv_prom *p, const char *name)
{
	static const char *const parts[] = {"_bucket", "_sum", "_count"};
	struct mv_prom_family *f = p->nf ? &p->f[p->nf - 1] : NULL;
	size_t fl;

	if (!f)
		return NULL;
	if (strcmp(f->name, name) == 0)
		return f;
	fl = strlen(f->name);
	if (strncmp(name, f->name, fl) != 0 ||
	    (strcmp(f->type, "histogram") != 0 && strcmp(f->type, "summary") != 0))
		return NULL;
	for (size_t i = 0; i < 3; i++)
		if (strcmp(name + fl, parts[i]) == 0)
			return f;
	return NULL;
}

static const char *one_line(struct mv_prom *p, struct cursor *c)
{
	struct mv_prom_family *f;
	const char *why;

	if (c->p == c->end)
		return "";
	if (*c->p == '#')
		return comment_line(p, c);
	if (!grow((void **)&p->s, p->ns, &p->scap, sizeof *p->s))
		return "too many samples, or out of memory";
	why = sample_line(c, &p->s[p->ns]);
	p->ns++;
	if (*why)
		return why;
	if (!(f = owner(p, p->s[p->ns - 1].name))) {
		if (!(f = family_add(p, p->s[p->ns - 1].name)))
			return "out of memory";
		f->first = p->ns - 1;
	}
	if (f->n && f->first + f->n != p->ns - 1)
		return "a family's samples are not together";
	if (!f->n)
		f->first = p->ns - 1;
	f->n++;
	return "";
}

int mv_prom_parse(const char *text, size_t len, struct mv_prom *out, char *err, size_t errlen)
{
	const char *p = text, *end = text + len;
	unsigned line = 0;

	memset(out, 0, sizeof *out);
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		struct cursor c = {p, nl ? nl : end};
		const char *why;
		line++;
		if (*(why = one_line(out, &c)) || (!nl && (why = "no line end"))) {
			snprintf(err, errlen, "line %u: %s", line, why);
			mv_prom_free(out);
			return -1;
		}
		p = nl + 1;
	}
	return 0;
}

void mv_prom_free(struct mv_prom *p)
{
	for (size_t i = 0; p->s && i < p->ns; i++) {
		free(p->s[i].name);
		free(p->s[i].value);
		for (size_t k = 0; k < p->s[i].nlabels; k++) {
			free(p->s[i].labels[k].name);
			free(p->s[i].labels[k].value);
		}
	}
	for (size_t i = 0; p->f && i < p->nf; i++) {
		free(p->f[i].name);
		free(p->f[i].type);
		free(p->f[i].help);
	}
	free(p->s);
	free(p->f);
	memset(p, 0, sizeof *p);
}

const char *mv_prom_label(const struct mv_prom_sample *s, const char *name)
{
	for (size_t i = 0; i < s->nlabels; i++)
		if (strcmp(s->labels[i].name, name) == 0)
			return s->labels[i].value;
	return NULL;
}
