/* sip_naptr.h — DNS NAPTR for SIP (RFC 3263 4.1): which transport a
 * domain prefers, and the SRV name to ask for it. */
#ifndef SIPS_SIP_NAPTR_H
#define SIPS_SIP_NAPTR_H

#include <arpa/nameser.h>
#include <apr_network_io.h>
#include "flow.h"

/** At most this many usable NAPTR records of one domain are followed. */
#define SIP_NAPTR_MAX 8

/** A usable NAPTR record: flag "s", a SIP service, no regexp. */
typedef struct sip_naptr_rr {
	unsigned order, pref;
	sips_transport_e transport;    /* SIPS+D2T, SIP+D2T or SIP+D2U */
	char replacement[NS_MAXDNAME]; /* the SRV name to query */
} sip_naptr_rr_t;

/**
 * The usable NAPTR records of a DNS answer (wire format, @p len bytes)
 * into @p out (the first @p max of them), sorted by order then
 * preference.  With @p sips_only (a sips: URI) only SIPS+D2T is kept
 * (RFC 3263 4.1).
 * Records with other flags, other services, a regexp (SIP uses the
 * replacement only) or a "." replacement are dropped.  Returns how many
 * were kept: 0 for a malformed answer or none usable.
 */
int sip_naptr_parse(const unsigned char *ans, int len, int sips_only,
		    sip_naptr_rr_t *out, int max);

/**
 * Query NAPTR for @p domain and keep what sip_naptr_parse keeps.
 * Blocking (resolver threads).  APR_SUCCESS with *@p n > 0, or
 * SB_ENOTFOUND.
 */
apr_status_t sip_naptr_lookup(const char *domain, int sips_only,
			      sip_naptr_rr_t *out, int max, int *n);

#endif
