/* daemon/core/confcheck.c — the configuration against this system: users, groups, files. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "confcheck.h"
#include "keytable.h"
#include "process.h"

/*
 * [milter] user, group, socket_group and [privsep] key_user, auth_user: each
 * that is set names an entry of the system.
 */
static enum mv_status accounts(const struct mvd_config *c, char *err, size_t errlen)
{
	static const struct {
		const char *section, *key;
		int is_user;
	} what[] = {{"milter", "user", 1},
	            {"milter", "group", 0},
	            {"milter", "socket_group", 0},
	            {"privsep", "key_user", 1},
	            {"privsep", "auth_user", 1}};
	const char *names[] = {c->user, c->group, c->socket_group, c->key_user, c->auth_user};

	for (size_t i = 0; i < sizeof what / sizeof what[0]; i++) {
		unsigned line = mvd_config_line(c, what[i].section, what[i].key);
		int known =
		        what[i].is_user ? getpwnam(names[i]) != NULL : getgrnam(names[i]) != NULL;

		if (!names[i][0] || known)
			continue;
		mvd_config_errf(c, line, err, errlen, "[%s] %s = %s: no such %s on this system%s",
		                what[i].section, what[i].key, names[i],
		                what[i].is_user ? "user" : "group",
		                line ? ""
		                     : " (the default: create it as mailvetd(8) says, or set "
		                       "[milter] user)");
		return MV_EINVAL;
	}
	return MV_OK;
}

/* [dns] trust_anchor_file, when set: a regular file that opens (unbound reads it per query). */
static enum mv_status trust_anchor(const struct mvd_config *c, char *err, size_t errlen)
{
	struct stat sb;
	int fd;

	if (!c->trust_anchor_file[0])
		return MV_OK;
	fd = open(c->trust_anchor_file, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd >= 0 && fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode)) {
		close(fd);
		return MV_OK;
	}
	mvd_config_errf(c, mvd_config_line(c, "dns", "trust_anchor_file"), err, errlen,
	                "[dns] trust_anchor_file %s: %s", c->trust_anchor_file,
	                fd < 0 ? strerror(errno) : "not a regular file");
	if (fd >= 0)
		close(fd);
	return MV_EINVAL;
}

/* The [signing] files and keys into paths/lines/files from n on (room was made). */
static size_t table_files(const struct mvd_keytable *kt, const struct mvd_config *c,
                          const char **paths, unsigned *lines, const char **files, size_t n)
{
	if (!kt)
		return n;
	if (kt->kt_file[0]) {
		lines[n] = mvd_config_line(c, "signing", "key_table");
		paths[n++] = kt->kt_file;
		lines[n] = mvd_config_line(c, "signing", "signing_table");
		paths[n++] = kt->st_file;
	}
	if (kt->dir[0]) { /* listed again on every reload */
		lines[n] = mvd_config_line(c, "signing", "key_directory");
		paths[n++] = kt->dir;
	}
	for (size_t i = 0; i < kt->nkeys; i++) {
		files[n] = kt->keys[i].file;
		lines[n] = kt->keys[i].line;
		paths[n++] = kt->keys[i].path;
	}
	for (size_t i = 0; i < kt->ndirkeys; i++) {
		files[n] = kt->dirkeys[i].file;
		paths[n++] = kt->dirkeys[i].path;
	}
	return n;
}

/*
 * With [privsep] key_user: the key files are the key process's, opened as
 * key_user (and the configuration, which it reads too), and taken out of
 * paths[0..*n) (the domain keys right after the configuration, table keys where files[] is
 * set), so that the worker's user is not required to read them. 0, or -1
 * with the reason in err.
 */
static long key_user_reads(const struct mvd_config *c, const char **paths, unsigned *lines,
                           const char **files, size_t ndomkeys, size_t *n, char *err, size_t errlen)
{
	const char **keys = calloc(*n ? *n : 1, sizeof *keys);
	size_t nk = 0, kept = 0, first = c->path ? 1 : 0;
	long bad;
	int why;

	if (!keys) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < *n; i++) {
		int key = (i >= first && i < first + ndomkeys) || files[i] != NULL;
		if (key || (c->path && i == 0))
			keys[nk++] = paths[i];
		if (!key || !c->key_user[0]) {
			paths[kept] = paths[i];
			lines[kept] = lines[i];
			files[kept++] = files[i];
		}
	}
	bad = c->key_user[0]
	              ? mvd_process_unreadable_as(c->key_user, "", keys, nk, &why, err, errlen)
	              : (long)nk;
	if (bad >= 0 && (size_t)bad < nk) {
		snprintf(err, errlen,
		         "%s: %s for [privsep] key_user %s, which the key process runs as",
		         keys[bad], strerror(why), c->key_user);
		bad = -1;
	} else if (bad >= 0) {
		*n = kept;
		bad = 0;
	}
	free(keys);
	return bad;
}

/* Every file the worker reads after the drop, opened as the user it drops to. */
static enum mv_status readable_after_drop(const struct mvd_config *c, char *err, size_t errlen)
{
	const char **paths, **files;
	unsigned *lines;
	size_t n = 0, ndomkeys = 0, total = 7; /* config, zone, trust anchor, http, tables */
	enum mv_status st = MV_OK;
	struct mvd_keytable *kt = NULL;
	char ktwhy[400];
	long bad;
	int why;

	for (size_t i = 0; i < c->ndomains; i++)
		total += c->domains[i].nkeys;
	if (mvd_keytable_read(c->key_table, c->signing_table, c->key_directory, &kt, ktwhy,
	                      sizeof ktwhy) != MV_OK) {
		mvd_config_errf(c, mvd_config_line(c, "signing", "key_table"), err, errlen,
		                "[signing] %s", ktwhy);
		return MV_EINVAL;
	}
	if (kt)
		total += kt->nkeys + kt->ndirkeys;
	paths = calloc(total, sizeof *paths);
	lines = calloc(total, sizeof *lines);
	files = calloc(total, sizeof *files);
	if (!paths || !lines || !files) {
		mvd_config_errf(c, 0, err, errlen, "out of memory");
		st = MV_ENOMEM;
		goto out;
	}
	if (c->path) {
		lines[n] = 0;
		paths[n++] = c->path;
	}
	for (size_t i = 0; i < c->ndomains; i++)
		for (size_t k = 0; k < c->domains[i].nkeys; k++) {
			lines[n] = c->domains[i].keys[k].line;
			paths[n++] = c->domains[i].keys[k].path;
			ndomkeys++;
		}
	if (c->zone_file[0]) {
		lines[n] = mvd_config_line(c, "dns", "zone_file");
		paths[n++] = c->zone_file;
	}
	if (c->trust_anchor_file[0]) {
		lines[n] = mvd_config_line(c, "dns", "trust_anchor_file");
		paths[n++] = c->trust_anchor_file;
	}
	if (c->http.listen && c->http.listen[0] && c->http.password_file &&
	    c->http.password_file[0]) { /* read by the worker when its listener starts */
		lines[n] = mvd_config_line(c, "http", "password_file");
		paths[n++] = c->http.password_file;
	}
	n = table_files(kt, c, paths, lines, files, n);
	bad = key_user_reads(c, paths, lines, files, ndomkeys, &n, err, errlen);
	if (bad >= 0)
		bad = mvd_process_unreadable_as(c->user, c->group, paths, n, &why, err, errlen);
	if (bad < 0) {
		st = MV_EINVAL;
	} else if ((size_t)bad < n && files[bad]) { /* a key the [signing] tables name */
		if (lines[bad])
			snprintf(err, errlen,
			         "%s:%u: key %s: %s for user %s, which the daemon runs as",
			         files[bad], lines[bad], paths[bad], strerror(why), c->user);
		else
			snprintf(err, errlen,
			         "%s: key %s: %s for user %s, which the daemon runs as", files[bad],
			         paths[bad], strerror(why), c->user);
		st = MV_EINVAL;
	} else if ((size_t)bad < n) {
		mvd_config_errf(
		        c, lines[bad], err, errlen,
		        "%s: %s for user %s, which the daemon runs as (a reload would fail)",
		        paths[bad], strerror(why), c->user);
		st = MV_EINVAL;
	}
out:
	mvd_keytable_free(kt);
	free(paths);
	free(files);
	free(lines);
	return st;
}

/* The [policy] list files (localpolicy.h), opened as the user the daemon drops to. */
static enum mv_status policy_files_readable(const struct mvd_config *c, char *err, size_t errlen)
{
	char *paths[32];
	const char *keys[32];
	long n = mvd_localpolicy_conf_files(&c->localpolicy, paths, keys, 32), bad;
	enum mv_status st = MV_OK;
	int why;

	if (n < 0) {
		mvd_config_errf(c, 0, err, errlen, "out of memory");
		return MV_ENOMEM;
	}
	bad = mvd_process_unreadable_as(c->user, c->group, (const char *const *)paths, (size_t)n,
	                                &why, err, errlen);
	if (bad < 0) {
		st = MV_EINVAL;
	} else if (bad < n) {
		mvd_config_errf(c, mvd_config_line(c, "policy", keys[bad]), err, errlen,
		                "[policy] %s: %s: %s for user %s, which the daemon runs as (a "
		                "reload would fail)",
		                keys[bad], paths[bad], strerror(why), c->user);
		st = MV_EINVAL;
	}
	for (long i = 0; i < n; i++)
		free(paths[i]);
	return st;
}

/* [milter] pid_file: removable at exit by the user the daemon drops to. */
static enum mv_status pid_file(const struct mvd_config *c, char *err, size_t errlen)
{
	char why[512] = "";

	if (mvd_process_pidfile_removable_as(c->pid_file, c->user, c->group, why, sizeof why) == 0)
		return MV_OK;
	mvd_config_errf(c, mvd_config_line(c, "milter", "pid_file"), err, errlen,
	                "[milter] pid_file = %s: %s", c->pid_file, why);
	return MV_EINVAL;
}

enum mv_status mvd_config_check_system(const struct mvd_config *c, char *err, size_t errlen)
{
	enum mv_status st;

	if ((st = accounts(c, err, errlen)) != MV_OK)
		return st;
	if ((st = trust_anchor(c, err, errlen)) != MV_OK)
		return st;
	if ((st = pid_file(c, err, errlen)) != MV_OK)
		return st;
	if ((st = policy_files_readable(c, err, errlen)) != MV_OK)
		return st;
	return readable_after_drop(c, err, errlen);
}
