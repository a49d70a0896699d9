/* tp_listen.c — binding, UDP receive and accept for a profile. */
#include <string.h>
#include <apr_strings.h>
#include "sipsbridge/sb_log.h"
#include "endpoint.h"
#include "src_guard.h"
#include "tp_listen.h"
#include "tp_stream.h"

#define LISTEN_BACKLOG 511
/*
 * Work per wake-up is capped so that a flood on one socket cannot hold
 * the listen worker (the pollset is level-triggered: the rest waits for
 * the next turn, after the worker's other flows and timers).
 */
#define UDP_READS_PER_WAKEUP 256
#define ACCEPTS_PER_WAKEUP 64

apr_status_t listener_bind(sips_listener_t *l, const char *ip,
			   apr_pool_t *pool, char *why, apr_size_t len)
{
	int udp = l->transport == SIPS_TP_UDP;
	apr_sockaddr_t *sa;
	apr_socket_t *sock;
	char err[128];
	apr_status_t rv;

	/* The per-source limits come with the first listener: nothing
	 * reaches a profile before it listens. */
	if (!l->profile->guard) {
		rv = src_guard_create(l->profile);
		if (rv != APR_SUCCESS) {
			apr_snprintf(why, len, "no memory for %u tracked "
				     "sources (max-tracked-sources)",
				     l->profile->settings.max_tracked_sources);
			return rv;
		}
	}
	rv = apr_sockaddr_info_get(&sa, ip, APR_UNSPEC, (apr_port_t)l->port,
				   0, pool);
	if (rv != APR_SUCCESS) {
		apr_snprintf(why, len, "cannot resolve sip-ip \"%s\": %s", ip,
			     apr_strerror(rv, err, sizeof(err)));
		return rv;
	}
	rv = apr_socket_create(&sock, sa->family,
			       udp ? SOCK_DGRAM : SOCK_STREAM,
			       udp ? APR_PROTO_UDP : APR_PROTO_TCP, pool);
	if (rv == APR_SUCCESS && !udp)
		rv = apr_socket_opt_set(sock, APR_SO_REUSEADDR, 1);
	if (rv == APR_SUCCESS)
		rv = apr_socket_bind(sock, sa);
	if (rv == APR_SUCCESS && !udp)
		rv = apr_socket_listen(sock, LISTEN_BACKLOG);
	if (rv == APR_SUCCESS)
		rv = apr_socket_opt_set(sock, APR_SO_NONBLOCK, 1);
	if (rv != APR_SUCCESS) {
		apr_snprintf(why, len, "cannot bind %s %s:%u: %s",
			     flow_transport_name(l->transport), ip, l->port,
			     apr_strerror(rv, err, sizeof(err)));
		return rv;
	}
	l->sock = sock;
	return APR_SUCCESS;
}

/* A datagram of only CR/LF is a keepalive (no answer over UDP). */
static int is_keepalive(const char *buf, apr_size_t len)
{
	apr_size_t i;

	for (i = 0; i < len; i++)
		if (buf[i] != '\r' && buf[i] != '\n')
			return 0;
	return 1;
}

/* Drain the socket; every datagram is one message (RFC 3261 18.3). */
static void udp_on_readable(void *baton, apr_int16_t revents)
{
	sips_listener_t *l = baton;
	static __thread char buf[65536];
	sip_target_t from;
	apr_uint64_t n = 0;

	(void)revents;
	while (n < UDP_READS_PER_WAKEUP) {
		apr_size_t len = sizeof(buf);

		memset(&from, 0, sizeof(from));
		if (apr_socket_recvfrom(&from.peer, l->sock, 0, buf, &len) !=
			    APR_SUCCESS ||
		    len == 0)
			break;
		n++;
		if (is_keepalive(buf, len))
			continue;
		from.profile = l->profile;
		from.transport = SIPS_TP_UDP;
		from.peer_port = from.peer.port;
		apr_sockaddr_ip_getbuf(from.peer_ip, sizeof(from.peer_ip),
				       &from.peer);
		/* Over max-udp-rate: dropped before any parsing, unanswered
		 * (a forged source must not turn us into a reflector). */
		if (!src_guard_udp_ok(l->profile, from.peer_ip,
				      from.peer_port))
			continue;
		endpoint_receive(l->profile, buf, len, &from);
	}
	if (n) {
		apr_thread_mutex_lock(l->profile->lock);
		l->profile->udp_datagrams += n;
		apr_thread_mutex_unlock(l->profile->lock);
	}
}

static void stream_on_acceptable(void *baton, apr_int16_t revents)
{
	sips_listener_t *l = baton;
	unsigned accepted;

	(void)revents;
	for (accepted = 0; accepted < ACCEPTS_PER_WAKEUP; accepted++) {
		apr_socket_t *sock;
		apr_pool_t *pool;
		apr_status_t rv;

		/* A connection's pool is its own (STYLE.md rule 4). */
		if (apr_pool_create(&pool, NULL) != APR_SUCCESS)
			return;
		rv = apr_socket_accept(&sock, l->sock, pool);
		if (rv != APR_SUCCESS) {
			apr_pool_destroy(pool);
			if (!APR_STATUS_IS_EAGAIN(rv) &&
			    !APR_STATUS_IS_EINTR(rv))
				sb_log(SB_LOG_WARNING, "SB02002",
				       "profile %s: accept on %s port %u: "
				       "error %d",
				       l->profile->name,
				       flow_transport_name(l->transport),
				       l->port, rv);
			return;
		}
		stream_conn_accepted(l->profile, l->transport, sock, pool);
	}
}

apr_status_t listener_watch(sips_listener_t *l, sb_worker_t *worker)
{
	/* Summaries of the limits run where the listeners do. */
	src_guard_start(l->profile, worker);
	return sb_io_add(worker, &l->io, l->sock, APR_POLLIN,
			 l->transport == SIPS_TP_UDP ? udp_on_readable
						     : stream_on_acceptable,
			 l);
}

void listener_close(sips_listener_t *l)
{
	/* A no-op unless started, which was on this (the listen) worker;
	 * a profile that failed early has listeners never bound. */
	if (l->profile)
		src_guard_stop(l->profile);
	if (!l->sock)
		return;
	sb_io_remove(&l->io);
	apr_socket_close(l->sock);
	l->sock = NULL;
}
