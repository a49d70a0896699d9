/* media_stream.c — one port pair: peer, link, SRTP keys, stats, timeout. */
/* struct mmsghdr in media_private.h (APR's cflags set it too). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include "media_private.h"

/*
 * An IP literal ("[...]" allowed for IPv6) as a socket address of
 * @p family (0: the literal's own).  An IPv4 peer of an IPv6 socket
 * becomes ::ffff:a.b.c.d, the form a dual-stack socket reports.
 */
static apr_status_t stream_addr(const char *ip, apr_port_t port, int family,
				media_addr_t *out, socklen_t *len)
{
	char buf[INET6_ADDRSTRLEN + 2];
	apr_size_t n;
	struct in_addr v4;

	if (!ip)
		return APR_EINVAL;
	n = strlen(ip);
	if (n >= 2 && ip[0] == '[' && ip[n - 1] == ']') {
		ip++;
		n -= 2;
	}
	if (n >= sizeof(buf))
		return APR_EINVAL;
	memcpy(buf, ip, n);
	buf[n] = '\0';
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, buf, &v4) == 1 && family != AF_INET6) {
		out->in.sin_family = AF_INET;
		out->in.sin_addr = v4;
		out->in.sin_port = htons(port);
		*len = sizeof(out->in);
		return APR_SUCCESS;
	}
	out->in6.sin6_family = AF_INET6;
	out->in6.sin6_port = htons(port);
	*len = sizeof(out->in6);
	if (inet_pton(AF_INET, buf, &v4) == 1) {
		out->in6.sin6_addr.s6_addr[10] = 0xff;
		out->in6.sin6_addr.s6_addr[11] = 0xff;
		memcpy(&out->in6.sin6_addr.s6_addr[12], &v4, 4);
		return APR_SUCCESS;
	}
	if (family != AF_INET &&
	    inet_pton(AF_INET6, buf, &out->in6.sin6_addr) == 1)
		return APR_SUCCESS;
	return APR_EINVAL;
}

/* 0.0.0.0 (RFC 3264 hold) and :: name nobody: nothing is sent there. */
static int stream_addr_unspecified(const media_addr_t *a)
{
	static const unsigned char mapped_any[12] = {[10] = 0xff, [11] = 0xff};

	if (a->sa.sa_family == AF_INET)
		return a->in.sin_addr.s_addr == htonl(INADDR_ANY);
	return IN6_IS_ADDR_UNSPECIFIED(&a->in6.sin6_addr) ||
	       (memcmp(&a->in6.sin6_addr, mapped_any, 12) == 0 &&
		memcmp(&a->in6.sin6_addr.s6_addr[12], "\0\0\0\0", 4) == 0);
}

/*
 * A reused slot starts clean (its locks come first and survive) with
 * its new sockets.  Under both locks: a relay thread may still handle
 * an event it took before the slot's last close.
 */
static void stream_reset(sb_media_stream_t *s, const int fds[2])
{
	pthread_mutex_lock(&s->rx.lock);
	pthread_mutex_lock(&s->tx.lock);
	memset(&s->rx.link, 0, sizeof(s->rx) - offsetof(media_rx_t, link));
	memset(&s->tx.srtp, 0, sizeof(s->tx) - offsetof(media_tx_t, srtp));
	media_stream_route(s);
	s->sock[MEDIA_RTP].fd = fds[0];
	s->sock[MEDIA_RTCP].fd = fds[1];
	pthread_mutex_unlock(&s->tx.lock);
	pthread_mutex_unlock(&s->rx.lock);
}

/* The descriptors, taken from the stream under both locks (see reset). */
static void stream_take_fds(sb_media_stream_t *s, int fds[2])
{
	pthread_mutex_lock(&s->rx.lock);
	pthread_mutex_lock(&s->tx.lock);
	fds[0] = s->sock[MEDIA_RTP].fd;
	fds[1] = s->sock[MEDIA_RTCP].fd;
	s->sock[MEDIA_RTP].fd = s->sock[MEDIA_RTCP].fd = -1;
	pthread_mutex_unlock(&s->tx.lock);
	pthread_mutex_unlock(&s->rx.lock);
}

/*
 * Everything happens on the caller's thread: bind, register with the
 * relay thread's epoll, join its timeout list.  A busy relay thread
 * never holds up the SIP worker that opens a stream.
 */
apr_status_t sb_media_stream_open(sb_media_t *media, const char *local_ip,
				  sb_media_stream_t **out)
{
	media_addr_t local;
	sb_media_stream_t *s;
	socklen_t len;
	apr_status_t rv;
	int fds[2];

	rv = stream_addr(local_ip, 0, 0, &local, &len);
	if (rv != APR_SUCCESS)
		return rv;
	rv = media_take_pair(media, &local, len, &s, fds);
	if (rv != APR_SUCCESS)
		return rv;
	stream_reset(s, fds);
	rv = media_watch(s->thread, s);
	if (rv != APR_SUCCESS) {
		stream_take_fds(s, fds);
		close(fds[0]);
		close(fds[1]);
		media_give_pair(s);
		return rv;
	}
	media_timeout_add(s);
	*out = s;
	return APR_SUCCESS;
}

/* Under link_lock: the one place a link changes, under the rx lock. */
static void stream_link_set(sb_media_stream_t *x, sb_media_stream_t *y)
{
	pthread_mutex_lock(&x->rx.lock);
	x->rx.link = y;
	pthread_mutex_unlock(&x->rx.lock);
}

/* Under link_lock: @p x and whoever relays to it stop relaying. */
static void stream_link_clear(sb_media_stream_t *x)
{
	sb_media_stream_t *p = x->rx.link;

	if (p && p != x && p->rx.link == x)
		stream_link_set(p, NULL);
	if (p)
		stream_link_set(x, NULL);
}

/*
 * No wait for the relay thread's batch, only for the locks it holds
 * while it handles one socket: once the partner's link is cleared under
 * its rx lock nothing sends through us; once our descriptors are -1
 * under our rx lock, no event taken earlier reads them; the timeout
 * list waits only for a callback of this very stream that is running.
 * Then the sockets are closed here and the pair is free at return.
 */
void sb_media_stream_close(sb_media_stream_t *s)
{
	sb_media_t *m;
	int fds[2];

	if (!s)
		return;
	m = s->media;
	pthread_mutex_lock(&m->link_lock);
	stream_link_clear(s);
	pthread_mutex_unlock(&m->link_lock);
	media_timeout_remove(s);
	media_unwatch(s->thread, s);
	stream_take_fds(s, fds);
	close(fds[0]);
	close(fds[1]);
	pthread_mutex_lock(&s->ctl);
	sb_srtp_destroy(s->rx.srtp);
	sb_srtp_destroy(s->tx.srtp);
	s->rx.srtp = s->tx.srtp = NULL;
	if (s->srtp_pool)
		apr_pool_clear(s->srtp_pool);
	pthread_mutex_unlock(&s->ctl);
	media_give_pair(s);
}

apr_port_t sb_media_stream_port(const sb_media_stream_t *s)
{
	return s->port;
}

/* Under tx.lock: where each kind goes now, from which socket. */
void media_stream_route(sb_media_stream_t *s)
{
	media_tx_t *tx = &s->tx;
	const media_addr_t *rtp = NULL, *rtcp = NULL;

	if (tx->lat_ok[MEDIA_RTP])
		rtp = &tx->lat[MEDIA_RTP];
	else if (tx->sdp[MEDIA_RTP].sa.sa_family)
		rtp = &tx->sdp[MEDIA_RTP];
	if (tx->mux)
		rtcp = rtp;
	else if (tx->lat_ok[MEDIA_RTCP])
		rtcp = &tx->lat[MEDIA_RTCP];
	else if (tx->sdp[MEDIA_RTCP].sa.sa_family)
		rtcp = &tx->sdp[MEDIA_RTCP];
	tx->dst[MEDIA_RTP] = rtp;
	tx->dst[MEDIA_RTCP] = rtcp;
	tx->out[MEDIA_RTP] = MEDIA_RTP;
	/* RFC 5761: a muxing peer gets RTCP on its RTP port, from ours. */
	tx->out[MEDIA_RTCP] = tx->mux ? MEDIA_RTP : MEDIA_RTCP;
}

void media_stream_unlatch(sb_media_stream_t *s, int kind)
{
	s->rx.latched[kind] = 0;
	s->rx.cand_n[kind] = 0;
	s->tx.lat_ok[kind] = 0;
}

/* Under s->rx.lock: back to the SDP's addresses until a new latch. */
static void stream_unlatch(sb_media_stream_t *s)
{
	pthread_mutex_lock(&s->tx.lock);
	media_stream_unlatch(s, MEDIA_RTP);
	media_stream_unlatch(s, MEDIA_RTCP);
	media_stream_route(s);
	pthread_mutex_unlock(&s->tx.lock);
}

apr_status_t sb_media_stream_set_peer(sb_media_stream_t *s, const char *ip,
				      apr_port_t rtp_port, apr_port_t rtcp_port,
				      int rtcp_mux)
{
	media_addr_t a[2];
	socklen_t len;
	apr_status_t rv;
	int k;

	if (!rtcp_port)
		rtcp_port = (apr_port_t)(rtp_port + 1);
	rv = stream_addr(ip, rtp_port, s->family, &a[MEDIA_RTP], &len);
	if (rv != APR_SUCCESS)
		return rv;
	a[MEDIA_RTCP] = a[MEDIA_RTP];
	a[MEDIA_RTCP].in.sin_port = htons(rtcp_port);
	/* Port 0 is a rejected m-line: nothing goes out until a latch. */
	if (!rtp_port || stream_addr_unspecified(&a[MEDIA_RTP]))
		memset(a, 0, sizeof(a));
	pthread_mutex_lock(&s->rx.lock);
	pthread_mutex_lock(&s->tx.lock);
	/* A re-offer that changes nothing (session refresh, hold, resume)
	 * keeps what was learnt: a phone behind NAT is still reached at its
	 * real address and not put on probation again. */
	if (s->tx.mux == (rtcp_mux != 0) &&
	    media_addr_eq(&s->tx.sdp[MEDIA_RTP], &a[MEDIA_RTP]) &&
	    media_addr_eq(&s->tx.sdp[MEDIA_RTCP], &a[MEDIA_RTCP]) &&
	    a[MEDIA_RTP].sa.sa_family) {
		pthread_mutex_unlock(&s->tx.lock);
		pthread_mutex_unlock(&s->rx.lock);
		return APR_SUCCESS;
	}
	for (k = 0; k < 2; k++) {
		s->tx.sdp[k] = a[k];
		s->rx.expect[k] = a[k];
		media_stream_unlatch(s, k);
	}
	/* Muxed RTCP comes from the peer's RTP port (RFC 5761). */
	if (rtcp_mux)
		s->rx.expect[MEDIA_RTCP] = a[MEDIA_RTP];
	s->tx.mux = rtcp_mux != 0;
	media_stream_route(s);
	pthread_mutex_unlock(&s->tx.lock);
	pthread_mutex_unlock(&s->rx.lock);
	return APR_SUCCESS;
}

void sb_media_stream_set_latching(sb_media_stream_t *s, int on)
{
	pthread_mutex_lock(&s->rx.lock);
	if (s->rx.no_latch != !on) {
		s->rx.no_latch = !on;
		stream_unlatch(s);
	}
	pthread_mutex_unlock(&s->rx.lock);
}

void sb_media_stream_link(sb_media_stream_t *a, sb_media_stream_t *b)
{
	sb_media_t *m = a->media;

	pthread_mutex_lock(&m->link_lock);
	stream_link_clear(a);
	if (b) {
		stream_link_clear(b);
		stream_link_set(a, b);
		stream_link_set(b, a);
	}
	pthread_mutex_unlock(&m->link_lock);
}

/* Under s->ctl: a new session in the stream's SRTP pool. */
static apr_status_t stream_srtp_new(sb_media_stream_t *s, sb_srtp_dir_t dir,
				    sb_srtp_suite_t suite,
				    const unsigned char *key_salt,
				    apr_size_t len, unsigned flags,
				    sb_srtp_t **out)
{
	apr_status_t rv;

	rv = sb_srtp_global_init();
	if (rv == APR_SUCCESS && !s->srtp_pool)
		rv = apr_pool_create(&s->srtp_pool, s->media->pool);
	if (rv != APR_SUCCESS)
		return rv;
	return sb_srtp_create(out, suite, key_salt, len, dir, flags,
			      s->srtp_pool);
}

/*
 * The session is built here, on the caller's thread; the swap happens
 * under the lock the relay holds for a whole batch, so once we have
 * swapped, the old session is idle and is ended (keys wiped) here.
 */
apr_status_t sb_media_stream_set_srtp(sb_media_stream_t *s, sb_srtp_dir_t dir,
				      sb_srtp_suite_t suite,
				      const unsigned char *key_salt,
				      apr_size_t len, unsigned flags)
{
	int rx = dir == SB_SRTP_UNPROTECT;
	pthread_mutex_t *lock = rx ? &s->rx.lock : &s->tx.lock;
	sb_srtp_t **slot = rx ? &s->rx.srtp : &s->tx.srtp;
	sb_srtp_t *srtp = NULL, *old;
	apr_status_t rv = APR_SUCCESS;

	if (dir != SB_SRTP_PROTECT && dir != SB_SRTP_UNPROTECT)
		return APR_EINVAL;
	pthread_mutex_lock(&s->ctl);
	if (suite != SB_SRTP_NONE && key_salt)
		rv =
		    stream_srtp_new(s, dir, suite, key_salt, len, flags, &srtp);
	if (rv == APR_SUCCESS) {
		pthread_mutex_lock(lock);
		old = *slot;
		*slot = srtp;
		if (rx) {
			s->rx.srtp_unauth =
			    srtp && (flags & SB_SRTP_UNAUTHENTICATED_SRTP);
			/* Plain until now: what it latched was not
			 * authenticated, so it is learnt again. */
			if (!old && srtp)
				stream_unlatch(s);
		}
		pthread_mutex_unlock(lock);
		sb_srtp_destroy(old);
	}
	pthread_mutex_unlock(&s->ctl);
	return rv;
}

static void stream_format_peer(const media_addr_t *a, char *buf, apr_size_t len)
{
	char ip[INET6_ADDRSTRLEN];

	buf[0] = '\0';
	if (!a)
		return;
	if (a->sa.sa_family == AF_INET) {
		inet_ntop(AF_INET, &a->in.sin_addr, ip, sizeof(ip));
		snprintf(buf, len, "%s:%u", ip, ntohs(a->in.sin_port));
	} else {
		inet_ntop(AF_INET6, &a->in6.sin6_addr, ip, sizeof(ip));
		snprintf(buf, len, "[%s]:%u", ip, ntohs(a->in6.sin6_port));
	}
}

void sb_media_stream_stats(const sb_media_stream_t *cs, sb_media_stats_t *out)
{
	/* The locks guard the counters; the stream itself is unchanged. */
	sb_media_stream_t *s = (sb_media_stream_t *)cs;

	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&s->rx.lock);
	out->rx_packets = s->rx.packets;
	out->rx_bytes = s->rx.bytes;
	out->dropped_source = s->rx.dropped_source;
	out->srtp_auth_failed = s->rx.auth_failed;
	out->srtp_replayed = s->rx.replayed;
	out->dropped_other = s->rx.dropped_other;
	out->last_rx = s->rx.last_rx;
	out->latched = s->rx.latched[MEDIA_RTP];
	pthread_mutex_lock(&s->tx.lock);
	out->tx_packets = s->tx.packets;
	out->tx_bytes = s->tx.bytes;
	stream_format_peer(s->tx.dst[MEDIA_RTP], out->peer, sizeof(out->peer));
	pthread_mutex_unlock(&s->tx.lock);
	pthread_mutex_unlock(&s->rx.lock);
}
