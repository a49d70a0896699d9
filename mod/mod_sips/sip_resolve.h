/* sip_resolve.h — where a SIP URI leads (RFC 3263, the parts trunks use). */
#ifndef SIPS_SIP_RESOLVE_H
#define SIPS_SIP_RESOLVE_H

#include <apr_network_io.h>
#include "flow.h"

typedef struct sip_dest {
	sips_transport_e transport;
	const char *host;       /* as written, without IPv6 brackets */
	apr_port_t port;
	apr_sockaddr_t *addr;   /* first A/AAAA result */
} sip_dest_t;

/**
 * Resolve a sip: or sips: URI: transport from the transport= param
 * (sips: always means TLS), port from the URI or 5060 / 5061, address
 * by A/AAAA lookup. Blocking: call off the workers. @p why says what
 * failed.
 */
apr_status_t sip_resolve(const char *uri, apr_pool_t *pool, sip_dest_t *out,
			 char *why, apr_size_t len);

#endif
