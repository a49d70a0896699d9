/* sip_resolve.h — where a SIP URI leads (RFC 3263, the parts trunks use). */
#ifndef SIPS_SIP_RESOLVE_H
#define SIPS_SIP_RESOLVE_H

#include <apr_network_io.h>
#include "sipsbridge/sb_loop.h"
#include "flow.h"

typedef struct sip_dest {
	sips_transport_e transport;
	const char *host;       /* as written, without IPv6 brackets: the
				 * name a TLS peer is verified against */
	apr_port_t port;
	int port_given;         /* the URI named a port: no SRV */
	const char *target;     /* the host looked up (an SRV target) */
	apr_sockaddr_t *addr;   /* first A/AAAA result */
} sip_dest_t;

/**
 * Transport, host and port of a sip: or sips: URI, without any lookup;
 * @p out->addr is left NULL.  Fails (and says why) on a URI we cannot use.
 */
apr_status_t sip_resolve_parse(const char *uri, apr_pool_t *pool,
			       sip_dest_t *out, char *why, apr_size_t len);

/** Whether @p host is an IPv4 or IPv6 literal (no lookup needed). */
int sip_resolve_is_literal(const char *host);

/**
 * Resolve a sip: or sips: URI: transport from the transport= param
 * (sips: always means TLS).  A host name without a port is looked up as
 * SRV first (RFC 3263 4.2: _sips._tcp, _sip._tcp or _sip._udp), then the
 * chosen target (or the host itself, on 5060 / 5061) by A/AAAA.
 * Blocking: call off the workers. @p why says what failed.
 */
apr_status_t sip_resolve(const char *uri, apr_pool_t *pool, sip_dest_t *out,
			 char *why, apr_size_t len);

/**
 * Called on the worker that started the lookup: @p rv and @p why as
 * sip_resolve gives them; @p dest lives only during the call.
 */
typedef void (*sip_resolve_cb)(void *baton, apr_status_t rv,
			       const sip_dest_t *dest, const char *why);

/**
 * Resolve @p uri on a resolver thread, so a slow DNS server never holds a
 * worker; @p cb runs later on @p worker.  APR_SUCCESS means @p cb will
 * run, unless the loop is stopping (then @p baton is left to its owner).
 */
apr_status_t sip_resolve_start(const char *uri, sb_worker_t *worker,
			       sip_resolve_cb cb, void *baton);

/** Once, before the workers run: what sip_resolve_start needs. */
apr_status_t sip_resolve_prepare(void);

/** Wait for the resolver threads and stop them (module shutdown). */
void sip_resolve_shutdown(void);

#endif
