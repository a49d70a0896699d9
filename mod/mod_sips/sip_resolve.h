/* sip_resolve.h — where a SIP URI leads (RFC 3263, the parts trunks use). */
#ifndef SIPS_SIP_RESOLVE_H
#define SIPS_SIP_RESOLVE_H

#include <apr_network_io.h>
#include "sipsbridge/sb_loop.h"
#include "flow.h"

/** At most this many (target, address) candidates are kept and tried. */
#define SIP_DEST_MAX 16

/** How a candidate was found (RFC 3263 4.1, 4.2, or neither). */
typedef enum {
	SIP_FOUND_HOST = 0, /* the URI's host itself, by A/AAAA */
	SIP_FOUND_SRV,	    /* an SRV target of the URI's transport */
	SIP_FOUND_NAPTR	    /* an SRV target a NAPTR record led to */
} sip_found_e;

/** One place to send a request: a host, its port and one address. */
typedef struct sip_cand {
	sips_transport_e transport;
	const char *target; /* the host looked up */
	apr_port_t port;
	apr_sockaddr_t *addr; /* one of its A/AAAA results */
	sip_found_e found;
} sip_cand_t;

typedef struct sip_dest {
	sips_transport_e transport;
	const char *host; /* as written, without IPv6 brackets: the
			   * name a TLS peer is verified against */
	apr_port_t port;
	int port_given;	     /* the URI named a port: no SRV */
	int transport_given; /* the URI named a transport: no NAPTR */
	/* transport, port, target and addr repeat cand[0], the first
	 * candidate (RFC 3263 4.3: try them in order). */
	const char *target;
	apr_sockaddr_t *addr;
	sip_cand_t cand[SIP_DEST_MAX];
	int ncand;
	const char *skipped; /* targets that did not resolve and why,
			      * "; "-separated, or NULL */
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
 * Resolve a sip: or sips: URI (RFC 3263 4): transport from the
 * transport= param (sips: always means TLS).  A host name without a port
 * or transport is asked for NAPTR first (4.1: SIPS+D2T, SIP+D2T,
 * SIP+D2U, flag "s"), whose replacements are SRV names; without usable
 * NAPTR, a host without a port is asked for SRV (4.2: _sips._tcp,
 * _sip._tcp or _sip._udp); without SRV, the host itself on 5060 / 5061.
 * Every target found is looked up by A/AAAA (bounded): @p out gets the
 * candidates in the order to try them, those that did not resolve in
 * @p out->skipped.  Blocking: call off the workers. @p why says what
 * failed when no candidate is left.
 */
apr_status_t sip_resolve(const char *uri, apr_pool_t *pool, sip_dest_t *out,
			 char *why, apr_size_t len);

/** A deep copy of @p src into @p pool (addresses made anew, numerically:
 * no lookup), for a result that must outlive its resolver job. */
apr_status_t sip_resolve_copy(const sip_dest_t *src, apr_pool_t *pool,
			      sip_dest_t **out);

/** How @p c was found, for logs: "NAPTR SIP+D2U", "SRV" or "A/AAAA". */
const char *sip_resolve_found_name(const sip_cand_t *c);

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
