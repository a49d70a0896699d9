/* tp_connect.c — opening a connection as a client (TCP, then TLS). */
#include <apr_strings.h>
#include "sipsbridge/sb_log.h"
#include "conn_limits.h"
#include "tp_connect.h"
#include "tp_stream_private.h"

apr_status_t stream_conn_connect(sips_profile_t *p, sips_transport_e tp,
				 const apr_sockaddr_t *addr, const char *host,
				 apr_uint64_t *flow_id)
{
	apr_sockaddr_t *sa = (apr_sockaddr_t *)addr;
	stream_conn_t *c;
	apr_socket_t *sock;
	apr_pool_t *pool;
	char ip[64] = "";
	apr_status_t rv;

	if (tp == SIPS_TP_TLS && !p->tls)
		return SB_ECONFIG;
	rv = apr_pool_create(&pool, NULL);
	if (rv != APR_SUCCESS)
		return rv;
	rv = apr_socket_create(&sock, sa->family, SOCK_STREAM, APR_PROTO_TCP,
			       pool);
	if (rv == APR_SUCCESS)
		rv = apr_socket_opt_set(sock, APR_SO_NONBLOCK, 1);
	if (rv == APR_SUCCESS) {
		rv = apr_socket_connect(sock, sa);
		if (APR_STATUS_IS_EINPROGRESS(rv))
			rv = APR_SUCCESS;
	}
	if (rv != APR_SUCCESS) {
		apr_pool_destroy(pool);
		return rv;
	}
	c = apr_pcalloc(pool, sizeof(*c));
	c->pool = pool;
	c->profile = p;
	c->transport = tp;
	c->sock = sock;
	c->is_client = 1;
	c->state = CONN_CONNECTING;
	c->host = host ? apr_pstrdup(pool, host) : NULL;
	APR_RING_ELEM_INIT(c, link);
	apr_sockaddr_ip_getbuf(ip, sizeof(ip), sa);
	c->from.profile = p;
	c->from.transport = tp;
	c->from.peer = *sa;
	c->from.peer_port = sa->port;
	apr_cpystrn(c->from.peer_ip, ip, sizeof(c->from.peer_ip));
	apr_snprintf(c->peer, sizeof(c->peer),
		     sa->family == APR_INET6 ? "[%s]:%u" : "%s:%u", ip,
		     (unsigned)sa->port);
	if (conn_limits_claim(p, tp, ip, c->peer) != APR_SUCCESS) {
		stream_conn_free(c);
		return SB_ELIMIT;
	}
	stream_conn_start_here(c);
	*flow_id = c->flow_id;
	return APR_SUCCESS;
}
