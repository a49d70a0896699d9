/* sip_srv.h — DNS SRV for SIP (RFC 3263 4.2, RFC 2782 selection). */
#ifndef SIPS_SIP_SRV_H
#define SIPS_SIP_SRV_H

#include <apr_network_io.h>

/**
 * Query SRV records for @p name (e.g. "_sips._tcp.example.com") and pick
 * one: the lowest priority, then by weight at random.  Blocking (the
 * resolver threads call it).  APR_SUCCESS with @p target and @p port, or
 * SB_ENOTFOUND when the name has no usable SRV record.
 */
apr_status_t sip_srv_pick(const char *name, char *target, apr_size_t len,
			  apr_port_t *port);

/** The SRV owner name RFC 3263 queries for a transport and domain. */
const char *sip_srv_name(apr_pool_t *pool, int tls, int tcp,
			 const char *domain);

#endif
