/* cli/verify_sources.c — files, Maildir folders and mbox files for `mailvet verify`. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "verify_sources.h"

static int push(struct mv_cli_files *f, const char *a, const char *b)
{
	size_t la = strlen(a), lb = b ? strlen(b) : 0;
	char *p, **np;

	if (f->n == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 64;
		if ((np = realloc(f->path, cap * sizeof *np)) == NULL)
			return -1;
		f->path = np;
		f->cap = cap;
	}
	if ((p = malloc(la + lb + 2)) == NULL)
		return -1;
	memcpy(p, a, la);
	if (b) {
		p[la] = '/';
		memcpy(p + la + 1, b, lb + 1);
	} else {
		p[la] = '\0';
	}
	f->path[f->n++] = p;
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The regular files of one directory, sorted. */
static int add_dir(struct mv_cli_files *f, const char *dir)
{
	struct dirent *e;
	struct stat sb;
	size_t first = f->n;
	DIR *d;
	int rc = 0;

	if ((d = opendir(dir)) == NULL)
		return -1;
	while (rc == 0 && (e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		if ((rc = push(f, dir, e->d_name)) != 0)
			break;
		if (e->d_type != DT_REG &&
		    (e->d_type != DT_UNKNOWN || stat(f->path[f->n - 1], &sb) != 0 ||
		     !S_ISREG(sb.st_mode)))
			free(f->path[--f->n]);
	}
	closedir(d);
	qsort(f->path + first, f->n - first, sizeof *f->path, cmp_str);
	return rc;
}

static int is_dir(const char *a, const char *b)
{
	char p[4096];
	struct stat sb;

	snprintf(p, sizeof p, "%s/%s", a, b);
	return stat(p, &sb) == 0 && S_ISDIR(sb.st_mode);
}

int mv_cli_files_add(struct mv_cli_files *f, const char *path)
{
	struct stat sb;
	char sub[4096];

	if (strcmp(path, "-") == 0)
		return push(f, path, NULL);
	if (stat(path, &sb) != 0)
		return -1;
	if (!S_ISDIR(sb.st_mode))
		return push(f, path, NULL);
	if (is_dir(path, "cur") || is_dir(path, "new")) {
		snprintf(sub, sizeof sub, "%s/cur", path);
		if (is_dir(path, "cur") && add_dir(f, sub) != 0)
			return -1;
		snprintf(sub, sizeof sub, "%s/new", path);
		if (is_dir(path, "new") && add_dir(f, sub) != 0)
			return -1;
		return 0;
	}
	return add_dir(f, path);
}

void mv_cli_files_free(struct mv_cli_files *f)
{
	size_t k;

	for (k = 0; k < f->n; k++)
		free(f->path[k]);
	free(f->path);
	memset(f, 0, sizeof *f);
}

/* Unquote ">From " lines (mboxrd) of one message in place; returns the new length. */
static size_t unquote(char *p, size_t len)
{
	size_t in = 0, out = 0, gt;
	int bol = 1;

	while (in < len) {
		if (bol) {
			for (gt = 0; in + gt < len && p[in + gt] == '>'; gt++)
				;
			if (gt > 0 && len - in - gt >= 5 && memcmp(p + in + gt, "From ", 5) == 0)
				in++; /* drop one '>' */
		}
		bol = p[in] == '\n';
		p[out++] = p[in++];
	}
	return out;
}

/* The end of the line starting at i (index after its '\n', or len). */
static size_t line_end(const char *p, size_t len, size_t i)
{
	const char *nl = memchr(p + i, '\n', len - i);

	return nl ? (size_t)(nl - p) + 1 : len;
}

int mv_cli_split_messages(char *data, size_t len, mv_cli_msg_fn fn, void *arg)
{
	size_t start, i, next, idx = 0, end;
	int rc;

	if (len < 5 || memcmp(data, "From ", 5) != 0)
		return fn(arg, 0, 0, data, len);
	start = line_end(data, len, 0);
	for (i = start; i <= len; i = next) {
		next = i < len ? line_end(data, len, i) : len + 1;
		/* a separator: "From " at the start of a line after an empty line */
		if (i < len && !(len - i >= 5 && memcmp(data + i, "From ", 5) == 0 && i >= 2 &&
		                 data[i - 1] == '\n' &&
		                 (data[i - 2] == '\n' ||
		                  (i >= 3 && data[i - 2] == '\r' && data[i - 3] == '\n'))))
			continue;
		end = i;
		/* the empty line before the separator belongs to the mbox, not the message */
		if (i < len && end > start && data[end - 1] == '\n') {
			end--;
			if (end > start && data[end - 1] == '\r')
				end--;
		}
		if ((rc = fn(arg, idx++, 1, data + start, unquote(data + start, end - start))) != 0)
			return rc;
		start = next;
	}
	return 0;
}
