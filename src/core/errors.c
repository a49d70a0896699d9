/* errors.c — text for sipsbridge's own status codes (sb_types.h). */
#include <apr_strings.h>
#include "sipsbridge/sb_types.h"

static const char *const sb_error_text[] = {
	[1] = "incomplete input",
	[2] = "malformed input",
	[3] = "flow is gone",
	[4] = "too big",
	[5] = "bad configuration",
	[6] = "not found",
	[7] = "limit reached",
	[8] = "TLS failure",
	[9] = "authentication failed",
	[10] = "replayed packet",
};

const char *sb_strerror(apr_status_t rv, char *buf, apr_size_t len)
{
	apr_status_t idx = rv - APR_OS_START_USERERR;

	if (rv > APR_OS_START_USERERR &&
	    idx < (apr_status_t)(sizeof(sb_error_text) /
				 sizeof(sb_error_text[0])) &&
	    sb_error_text[idx]) {
		apr_cpystrn(buf, sb_error_text[idx], len);
		return buf;
	}
	return apr_strerror(rv, buf, len);
}
