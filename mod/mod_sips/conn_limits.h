/* conn_limits.h — connection limits of a profile: total and per IP. */
#ifndef SIPS_CONN_LIMITS_H
#define SIPS_CONN_LIMITS_H

#include "profile.h"

/**
 * Count a new TCP/TLS connection from @p ip (text) against
 * max-connections and max-connections-per-ip; SB_ELIMIT (logged with
 * @p peer) when one is reached, and then nothing is counted.
 */
apr_status_t conn_limits_claim(sips_profile_t *p, sips_transport_e tp,
			       const char *ip, const char *peer);
/** The connection from @p ip has closed. */
void conn_limits_release(sips_profile_t *p, sips_transport_e tp,
			 const char *ip);

#endif
