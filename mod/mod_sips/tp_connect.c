/* tp_connect.c — opening a connection as a client (TCP, then TLS). */
#include <apr_hash.h>
#include <apr_strings.h>
#include "sipsbridge/sb_log.h"
#include "conn_limits.h"
#include "flow.h"
#include "tp_connect.h"
#include "tp_stream_private.h"

/*
 * One connection per destination (transport, host name checked, address)
 * is reused by every request and call that goes there: a trunk carries
 * all its calls on one TLS connection, as RFC 3261 18.1 expects, and no
 * handshake is paid per call.
 */
static const char *outbound_key(apr_pool_t *pool, sips_transport_e tp,
				const char *host, const char *peer)
{
	return apr_psprintf(pool, "%d|%s|%s", (int)tp, host ? host : "",
			    peer);
}

static int outbound_find(sips_profile_t *p, const char *key,
			 apr_uint64_t *flow_id)
{
	apr_uint64_t *id;
	int found = 0;

	apr_thread_mutex_lock(p->lock);
	id = apr_hash_get(p->outbound, key, APR_HASH_KEY_STRING);
	if (id && flow_exists(*id)) {
		*flow_id = *id;
		found = 1;
	}
	apr_thread_mutex_unlock(p->lock);
	return found;
}

static void outbound_keep(sips_profile_t *p, const char *key,
			  apr_uint64_t flow_id)
{
	apr_uint64_t *id;

	apr_thread_mutex_lock(p->lock);
	id = apr_hash_get(p->outbound, key, APR_HASH_KEY_STRING);
	if (!id) {
		/* One entry per destination ever used: bounded by config. */
		id = apr_palloc(p->pool, sizeof(*id));
		apr_hash_set(p->outbound, apr_pstrdup(p->pool, key),
			     APR_HASH_KEY_STRING, id);
	}
	*id = flow_id;
	apr_thread_mutex_unlock(p->lock);
}

static apr_status_t conn_open(sips_profile_t *p, sips_transport_e tp,
			      const apr_sockaddr_t *addr, const char *host,
			      apr_uint64_t *flow_id);

apr_status_t stream_conn_connect(sips_profile_t *p, sips_transport_e tp,
				 const apr_sockaddr_t *addr, const char *host,
				 apr_uint64_t *flow_id)
{
	char ip[64] = "", peer[96];
	const char *key;
	apr_pool_t *tmp;
	apr_status_t rv;

	apr_sockaddr_ip_getbuf(ip, sizeof(ip), (apr_sockaddr_t *)addr);
	apr_snprintf(peer, sizeof(peer), "%s:%u", ip, (unsigned)addr->port);
	if (apr_pool_create(&tmp, NULL) != APR_SUCCESS)
		return APR_ENOMEM;
	key = outbound_key(tmp, tp, host, peer);
	if (outbound_find(p, key, flow_id)) {
		apr_pool_destroy(tmp);
		return APR_SUCCESS;
	}
	rv = conn_open(p, tp, addr, host, flow_id);
	if (rv == APR_SUCCESS)
		outbound_keep(p, key, *flow_id);
	apr_pool_destroy(tmp);
	return rv;
}

static apr_status_t conn_open(sips_profile_t *p, sips_transport_e tp,
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
