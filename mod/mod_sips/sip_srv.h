/* sip_srv.h — DNS SRV for SIP (RFC 3263 4.2, RFC 2782 selection). */
#ifndef SIPS_SIP_SRV_H
#define SIPS_SIP_SRV_H

#include <arpa/nameser.h>
#include <apr_network_io.h>

/** At most this many records of one SRV answer are kept and tried. */
#define SIP_SRV_MAX 16

/** One SRV record: a host and port serving the queried name. */
typedef struct sip_srv_rr {
	unsigned priority, weight;
	apr_port_t port;
	char target[NS_MAXDNAME];
} sip_srv_rr_t;

/**
 * A random number in 0..@p bound inclusive (sip_srv_order's weighted
 * choice); tests pass their own, NULL means a CSPRNG.
 */
typedef unsigned (*sip_srv_rand_fn)(void *baton, unsigned bound);

/**
 * Put @p n records in the order RFC 2782 says to try them: priority
 * ascending; within one priority a weighted random draw, again and again
 * among those left (weight 0 takes part, but rarely wins against others).
 * Pure: no DNS, no allocation.
 */
void sip_srv_order(sip_srv_rr_t *rr, int n, sip_srv_rand_fn rnd, void *baton);

/**
 * The SRV records of a DNS answer (wire format, @p len bytes) into @p out,
 * at most @p max; a target of "." (RFC 2782: "not here") is dropped.
 * Returns how many were kept (0 for a malformed answer).
 */
int sip_srv_parse(const unsigned char *ans, int len, sip_srv_rr_t *out,
		  int max);

/**
 * Query SRV records for @p name (e.g. "_sips._tcp.example.com") and put
 * them, ordered by sip_srv_order, into @p out (at most @p max).  Blocking
 * (the resolver threads call it).  APR_SUCCESS with *@p n > 0, or
 * SB_ENOTFOUND when the name has no usable SRV record.
 */
apr_status_t sip_srv_lookup(const char *name, sip_srv_rr_t *out, int max,
			    int *n);

/** Room for one DNS answer over UDP with EDNS0's usual size. */
#define SIP_DNS_ANSWER_MAX (NS_PACKETSZ * 4)

/**
 * One DNS query of @p type (ns_t_srv, ns_t_naptr) for @p name, with this
 * thread's own resolver state.  Blocking.  The answer's length in
 * @p ans, at most @p cap (a longer, truncated one is cut there), or -1.
 */
int sip_srv_query(const char *name, int type, unsigned char *ans, int cap);

/** The SRV owner name RFC 3263 queries for a transport and domain. */
const char *sip_srv_name(apr_pool_t *pool, int tls, int tcp,
			 const char *domain);

#endif
