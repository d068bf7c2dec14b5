/*
 * daemon/core/cidr.h — internal host networks: lib/util's network list
 * (mv_cidr_list_*, include/mailvet/util.h) under the names config.c/h use.
 * The aliases go when those files call mv_cidr_list_* themselves.
 */
#ifndef MAILVETD_CIDR_H
#define MAILVETD_CIDR_H

#include <mailvet/util.h>

#define mvd_cidr_list mv_cidr_list
#define mvd_cidr_add mv_cidr_list_add
#define mvd_cidr_match mv_cidr_list_match
#define mvd_cidr_free mv_cidr_list_free

#endif
