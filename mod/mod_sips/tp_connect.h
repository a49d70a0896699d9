/* tp_connect.h — outbound TCP/TLS connections (trunks, never phones). */
#ifndef SIPS_TP_CONNECT_H
#define SIPS_TP_CONNECT_H

#include "profile.h"

/**
 * Open a connection to @p addr on the calling worker and return its
 * flow id at once (messages sent meanwhile wait for the handshake).
 * @p host is the name to verify and send as SNI (TLS). The flow closes
 * with a logged reason if the connect or the checks fail.
 */
apr_status_t stream_conn_connect(sips_profile_t *p, sips_transport_e tp,
				 const apr_sockaddr_t *addr, const char *host,
				 apr_uint64_t *flow_id);

#endif
