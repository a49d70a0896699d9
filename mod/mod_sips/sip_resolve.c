/* sip_resolve.c — transport, port and address of a SIP URI (RFC 3263). */
#include <string.h>
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <apr_strings.h>
#include "sip_msg.h"
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
	out->port = (apr_port_t)(u.port > 0 ? u.port
				 : out->transport == SIPS_TP_TLS ? 5061
								 : 5060);
	out->port_given = u.port > 0;
	out->target = out->host;
	out->addr = NULL;
	return APR_SUCCESS;
}

int sip_resolve_is_literal(const char *host)
{
	unsigned char buf[sizeof(struct in6_addr)];

	return inet_pton(AF_INET, host, buf) == 1 ||
	       inet_pton(AF_INET6, host, buf) == 1;
}

apr_status_t sip_resolve(const char *uri, apr_pool_t *pool, sip_dest_t *out,
			 char *why, apr_size_t len)
{
	char err[128];
	apr_status_t rv;

	char target[NS_MAXDNAME];
	apr_port_t port;

	rv = sip_resolve_parse(uri, pool, out, why, len);
	if (rv != APR_SUCCESS)
		return rv;
	if (!out->port_given && !sip_resolve_is_literal(out->host) &&
	    sip_srv_pick(sip_srv_name(pool, out->transport == SIPS_TP_TLS,
				      out->transport == SIPS_TP_TCP,
				      out->host),
			 target, sizeof(target), &port) == APR_SUCCESS) {
		out->target = apr_pstrdup(pool, target);
		out->port = port;
	}
	rv = apr_sockaddr_info_get(&out->addr, out->target, APR_UNSPEC,
				   out->port, 0, pool);
	if (rv != APR_SUCCESS) {
		apr_snprintf(why, len, "cannot resolve \"%s\": %s",
			     out->target, apr_strerror(rv, err, sizeof(err)));
		return rv;
	}
	return APR_SUCCESS;
}
