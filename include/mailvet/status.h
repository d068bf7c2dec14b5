/* include/mailvet/status.h — the status every library function returns. */
#ifndef MAILVET_STATUS_H
#define MAILVET_STATUS_H

/*
 * MV_OK is zero; everything else says what went wrong. Bad input is a status,
 * never a crash: parsers return MV_ESYNTAX or MV_ETOOBIG, DNS failures are
 * MV_ETEMP or MV_ETIMEOUT so that callers can map them to temperror.
 */
enum mv_status {
	MV_OK = 0,
	MV_ENOMEM,       /* an allocation failed */
	MV_EINVAL,       /* a bad argument from the caller */
	MV_ESYNTAX,      /* input does not follow its grammar */
	MV_ETOOBIG,      /* input past a size or count limit */
	MV_ENOTFOUND,    /* no such thing (file, record, field) */
	MV_ETEMP,        /* a transient failure (DNS SERVFAIL, network) */
	MV_ETIMEOUT,     /* a deadline passed */
	MV_EIO,          /* an operating-system error (read, write, open) */
	MV_ELIMIT,       /* a processing limit (lookups, loop depth) reached */
	MV_EUNSUPPORTED, /* well-formed but not something we implement */
};

/* A short static English description; never NULL, even for unknown values. */
const char *mv_status_str(enum mv_status st);

#endif
