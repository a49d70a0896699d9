/* sips_ping.h — an OPTIONS request from the switch to a SIP URI. */
#ifndef SIPS_PING_H
#define SIPS_PING_H

#include "sipsbridge/sb_control.h"
#include "profile.h"

/**
 * Send OPTIONS to @p uri through profile @p p (resolving it, opening a
 * TCP/TLS connection as a verifying client when needed) and wait for
 * the final response; the outcome goes to @p out. Blocks the caller:
 * not for worker threads.
 */
apr_status_t sips_ping(sips_profile_t *p, const char *uri, sb_stream_t *out,
		       apr_pool_t *pool);

#endif
