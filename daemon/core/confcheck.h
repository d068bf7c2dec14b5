/* daemon/core/confcheck.h — the configuration against this system: users, groups, files. */
#ifndef MAILVETD_CONFCHECK_H
#define MAILVETD_CONFCHECK_H

#include <stddef.h>

#include "config.h"

/*
 * What a start (and `mailvetd -n`) must know before it binds anything,
 * beyond mvd_config_check(): [milter] user, group and socket_group exist;
 * [dns] trust_anchor_file is a regular file that opens; and, when running
 * as root with a user to drop to, every file the worker reads after the
 * drop (this configuration, the keys, zone_file, trust_anchor_file) opens
 * as that user (mvd_process_unreadable_as), and [milter] pid_file's
 * directory lets that user remove the file at exit. MV_OK, or MV_EINVAL with
 * "PATH:LINE: why" in err.
 */
enum mv_status mvd_config_check_system(const struct mvd_config *c, char *err, size_t errlen);

#endif
