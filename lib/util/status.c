/* lib/util/status.c — names for enum mv_status. */
#include <mailvet/status.h>

const char *mv_status_str(enum mv_status st)
{
	switch (st) {
	case MV_OK:
		return "ok";
	case MV_ENOMEM:
		return "out of memory";
	case MV_EINVAL:
		return "invalid argument";
	case MV_ESYNTAX:
		return "syntax error";
	case MV_ETOOBIG:
		return "input too large";
	case MV_ENOTFOUND:
		return "not found";
	case MV_ETEMP:
		return "temporary failure";
	case MV_ETIMEOUT:
		return "timed out";
	case MV_EIO:
		return "input/output error";
	case MV_ELIMIT:
		return "processing limit reached";
	case MV_EUNSUPPORTED:
		return "not supported";
	}
	return "unknown status";
}
