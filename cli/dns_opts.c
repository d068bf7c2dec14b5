/* cli/dns_opts.c — open the resolver the DNS options select (--zone, --resolver, --record-dns). */
#include <stdio.h>
#include <string.h>

#include <mailvet/dns.h>

#include "commands.h"

int mv_cli_dns_open(const struct mv_cli_dns_opts *o, struct mv_resolver **out)
{
	struct mv_dns_unbound_opts uo;
	struct mv_resolver *r = NULL;
	enum mv_status st;
	char err[256];

	*out = NULL;
	err[0] = '\0';
	if (o->zone && o->resolver) {
		fprintf(stderr, "mailvet: --zone and --resolver exclude each other\n");
		return 2;
	}
	if (o->zone) {
		st = mv_dns_zone_open(o->zone, &r, err, sizeof err);
		if (st != MV_OK) {
			if (st == MV_EIO && err[0]) /* err names the file */
				fprintf(stderr, "mailvet: zone %s\n", err);
			else
				fprintf(stderr, "mailvet: zone %s: %s\n", o->zone,
				        err[0] ? err : mv_status_str(st));
			return 2;
		}
	} else {
		memset(&uo, 0, sizeof uo);
		uo.server = o->resolver; /* NULL: /etc/resolv.conf */
		uo.timeout_ms = o->timeout_ms;
		st = mv_dns_unbound_open(&uo, &r, err, sizeof err);
		if (st != MV_OK) {
			fprintf(stderr, "mailvet: resolver: %s\n",
			        err[0] ? err : mv_status_str(st));
			return 2;
		}
	}
	if (o->record && (st = mv_dns_record_to(r, o->record)) != MV_OK) {
		fprintf(stderr, "mailvet: --record-dns %s: %s\n", o->record, mv_status_str(st));
		mv_dns_free(r);
		return 2;
	}
	*out = r;
	return 0;
}
