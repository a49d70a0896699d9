/* sip_resolve.c — where a SIP URI leads: its transport, and the hosts,
 * ports and addresses to try in turn (RFC 3263 4). */
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <apr_strings.h>
#include "sip_msg.h"
#include "sip_naptr.h"
#include "sip_resolve.h"
#include "sip_srv.h"

static apr_status_t pick_transport(const sip_uri_t *u, sips_transport_e *tp,
				   char *why, apr_size_t len)
{
	if (u->scheme == SIP_URI_SIPS) {
		/* RFC 3261 26.2.2: sips: means TLS on every hop. */
		if (u->transport.len && !sip_str_ieq(&u->transport, "tls") &&
		    !sip_str_ieq(&u->transport, "tcp")) {
			apr_cpystrn(why, "sips: URI with a non-TLS transport",
				    len);
			return SB_EMALFORMED;
		}
		*tp = SIPS_TP_TLS;
	} else if (!u->transport.len || sip_str_ieq(&u->transport, "udp")) {
		*tp = SIPS_TP_UDP;
	} else if (sip_str_ieq(&u->transport, "tcp")) {
		*tp = SIPS_TP_TCP;
	} else if (sip_str_ieq(&u->transport, "tls")) {
		*tp = SIPS_TP_TLS;
	} else {
		apr_snprintf(why, len, "unsupported transport \"%.*s\"",
			     (int)u->transport.len, u->transport.ptr);
		return SB_EMALFORMED;
	}
	return APR_SUCCESS;
}

apr_status_t sip_resolve_parse(const char *uri, apr_pool_t *pool,
			       sip_dest_t *out, char *why, apr_size_t len)
{
	const char *host;
	apr_size_t hlen;
	apr_status_t rv;
	sip_uri_t u;

	if (sip_uri_parse(uri, strlen(uri), &u) != APR_SUCCESS ||
	    (u.scheme != SIP_URI_SIP && u.scheme != SIP_URI_SIPS) ||
	    !u.host.len) {
		apr_snprintf(why, len, "not a sip: or sips: URI: \"%s\"", uri);
		return SB_EMALFORMED;
	}
	rv = pick_transport(&u, &out->transport, why, len);
	if (rv != APR_SUCCESS)
		return rv;
	host = u.host.ptr;
	hlen = u.host.len;
	if (u.host_type == SIP_HOST_IPV6) {
		host++;
		hlen -= 2;
	}
	out->host = apr_pstrmemdup(pool, host, hlen);
	out->port = (apr_port_t)u.port;
	if (u.port <= 0)
		out->port = out->transport == SIPS_TP_TLS ? 5061 : 5060;
	out->port_given = u.port > 0;
	out->transport_given = u.transport.len > 0;
	out->target = out->host;
	out->addr = NULL;
	out->ncand = 0;
	out->skipped = NULL;
	return APR_SUCCESS;
}

int sip_resolve_is_literal(const char *host)
{
	unsigned char buf[sizeof(struct in6_addr)];

	return inet_pton(AF_INET, host, buf) == 1 ||
	       inet_pton(AF_INET6, host, buf) == 1;
}

/* The candidates of one lookup as they are found. */
typedef struct found {
	apr_pool_t *pool;
	sip_dest_t *d;
	int lookups; /* A/AAAA lookups made: bounded like the candidates */
} found_t;

/* A/AAAA of @p target: each address becomes a candidate; a name that does
 * not resolve is noted in d->skipped and the next one is tried. */
static void add_target(found_t *f, sips_transport_e tp, const char *target,
		       apr_port_t port, sip_found_e how)
{
	sip_dest_t *d = f->d;
	apr_sockaddr_t *sa;
	char err[120];
	apr_status_t rv;

	if (d->ncand >= SIP_DEST_MAX || f->lookups >= SIP_DEST_MAX)
		return;
	f->lookups++;
	rv = apr_sockaddr_info_get(&sa, target, APR_UNSPEC, port, 0, f->pool);
	if (rv != APR_SUCCESS) {
		const char *one =
		    apr_psprintf(f->pool, "\"%s\": %s", target,
				 apr_strerror(rv, err, sizeof(err)));

		d->skipped = d->skipped ? apr_pstrcat(f->pool, d->skipped, "; ",
						      one, NULL)
					: one;
		return;
	}
	for (; sa && d->ncand < SIP_DEST_MAX; sa = sa->next) {
		sip_cand_t *c = &d->cand[d->ncand++];

		c->transport = tp;
		c->target = apr_pstrdup(f->pool, target);
		c->port = port;
		c->addr = sa;
		c->found = how;
	}
}

/* RFC 3263 4.2 / RFC 2782: the SRV targets of @p name in their order.
 * Returns how many records there were (resolving or not). */
static int add_srv(found_t *f, const char *name, sips_transport_e tp,
		   sip_found_e how)
{
	sip_srv_rr_t *rr = malloc(SIP_SRV_MAX * sizeof(*rr));
	int i, n = 0;

	if (!rr)
		return 0;
	if (sip_srv_lookup(name, rr, SIP_SRV_MAX, &n) != APR_SUCCESS)
		n = 0;
	for (i = 0; i < n; i++)
		add_target(f, tp, rr[i].target, rr[i].port, how);
	free(rr);
	return n;
}

/* RFC 3263 4.1: NAPTR records in order, each naming SRV records whose
 * transport it fixes.  Returns how many SRV records they led to. */
static int add_naptr(found_t *f)
{
	sip_naptr_rr_t *rr = malloc(SIP_NAPTR_MAX * sizeof(*rr));
	/* No transport param and TLS: a sips: URI, which takes SIPS+D2T
	 * only. */
	int sips = f->d->transport == SIPS_TP_TLS;
	int i, n = 0, srv = 0;

	if (!rr)
		return 0;
	if (sip_naptr_lookup(f->d->host, sips, rr, SIP_NAPTR_MAX, &n) !=
	    APR_SUCCESS)
		n = 0;
	for (i = 0; i < n; i++)
		srv += add_srv(f, rr[i].replacement, rr[i].transport,
			       SIP_FOUND_NAPTR);
	free(rr);
	return srv;
}

static void find_candidates(found_t *f)
{
	sip_dest_t *d = f->d;
	const char *name;
	int srv = 0;

	if (d->port_given || sip_resolve_is_literal(d->host)) {
		add_target(f, d->transport, d->host, d->port, SIP_FOUND_HOST);
		return;
	}
	if (!d->transport_given)
		srv = add_naptr(f);
	if (!srv) {
		name = sip_srv_name(f->pool, d->transport == SIPS_TP_TLS,
				    d->transport == SIPS_TP_TCP, d->host);
		srv = add_srv(f, name, d->transport, SIP_FOUND_SRV);
	}
	/* RFC 3263 4.2: no SRV record at all, the host itself. */
	if (!srv)
		add_target(f, d->transport, d->host, d->port, SIP_FOUND_HOST);
}

apr_status_t sip_resolve(const char *uri, apr_pool_t *pool, sip_dest_t *out,
			 char *why, apr_size_t len)
{
	found_t f;
	apr_status_t rv;

	rv = sip_resolve_parse(uri, pool, out, why, len);
	if (rv != APR_SUCCESS)
		return rv;
	f.pool = pool;
	f.d = out;
	f.lookups = 0;
	find_candidates(&f);
	if (!out->ncand) {
		apr_snprintf(why, len, "cannot resolve %s",
			     out->skipped ? out->skipped
					  : "any target (no address)");
		return SB_ENOTFOUND;
	}
	out->transport = out->cand[0].transport;
	out->target = out->cand[0].target;
	out->port = out->cand[0].port;
	out->addr = out->cand[0].addr;
	return APR_SUCCESS;
}

apr_status_t sip_resolve_copy(const sip_dest_t *src, apr_pool_t *pool,
			      sip_dest_t **out)
{
	sip_dest_t *d = apr_pmemdup(pool, src, sizeof(*src));
	char ip[64];
	apr_status_t rv;
	int i;

	d->host = apr_pstrdup(pool, src->host);
	d->skipped = src->skipped ? apr_pstrdup(pool, src->skipped) : NULL;
	for (i = 0; i < d->ncand; i++) {
		sip_cand_t *c = &d->cand[i];

		c->target = apr_pstrdup(pool, c->target);
		apr_sockaddr_ip_getbuf(ip, sizeof(ip), c->addr);
		rv = apr_sockaddr_info_get(&c->addr, ip, c->addr->family,
					   c->port, 0, pool);
		if (rv != APR_SUCCESS)
			return rv;
	}
	d->target = d->ncand ? d->cand[0].target : d->host;
	d->addr = d->ncand ? d->cand[0].addr : NULL;
	*out = d;
	return APR_SUCCESS;
}

const char *sip_resolve_found_name(const sip_cand_t *c)
{
	if (c->found == SIP_FOUND_NAPTR)
		return c->transport == SIPS_TP_TLS   ? "NAPTR SIPS+D2T"
		       : c->transport == SIPS_TP_TCP ? "NAPTR SIP+D2T"
						     : "NAPTR SIP+D2U";
	return c->found == SIP_FOUND_SRV ? "SRV" : "A/AAAA";
}
