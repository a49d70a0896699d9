/* media_relay.c — one relay thread: epoll, recvmmsg, latch, SRTP, sendmmsg. */
/* recvmmsg, sendmmsg, pthread_setname_np (APR's cflags set it too). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>
#include "media_private.h"

static __thread media_thread_t *media_relay_self;

int media_relay_on_thread(const sb_media_t *m)
{
	return media_relay_self && media_relay_self->media == m;
}

int media_relay_is(const media_thread_t *t)
{
	return media_relay_self == t;
}

/*
 * RTP or RTCP, -1 when neither.  On the RTP port RFC 5761 §4 tells them
 * apart: RTCP packet types 192..223 read as payload types 64..95 once
 * the marker bit is masked.  STUN and other non-version-2 traffic fails.
 */
static int relay_kind(const unsigned char *p, apr_size_t len, int sock_kind)
{
	unsigned pt;

	if (len < 8 || (p[0] & 0xc0) != 0x80)
		return -1;
	if (sock_kind == MEDIA_RTCP)
		return MEDIA_RTCP;
	pt = p[1] & 0x7f;
	if (pt >= 64 && pt <= 95)
		return MEDIA_RTCP;
	return len >= 12 ? MEDIA_RTP : -1;
}

/* Under s->rx.lock: an accepted packet of a kind fixes its source (or,
 * the SDP's address taking the stream back, moves it). */
static void relay_latch(sb_media_stream_t *s, int kind,
			const media_addr_t *from)
{
	int moved = s->rx.latched[kind];

	s->rx.src[kind] = *from;
	s->rx.latched[kind] = 1;
	s->rx.by_sdp[kind] = media_addr_eq(&s->rx.expect[kind], from);
	s->rx.cand_n[kind] = 0;
	pthread_mutex_lock(&s->tx.lock);
	s->tx.lat[kind] = *from;
	s->tx.lat_ok[kind] = 1;
	/* RTP taken back from another source: RTCP that followed it there
	 * (same IP) is learnt again too. */
	if (moved && kind == MEDIA_RTP && s->rx.latched[MEDIA_RTCP] &&
	    !s->rx.by_sdp[MEDIA_RTCP])
		media_stream_unlatch(s, MEDIA_RTCP);
	media_stream_route(s);
	pthread_mutex_unlock(&s->tx.lock);
}

/* Under rx.lock: whether @p from has now sent MEDIA_PROBATION packets of
 * @p kind in a row, RTP ones in sequence. */
static int relay_probation(media_rx_t *rx, int kind, const unsigned char *p,
			   const media_addr_t *from)
{
	unsigned seq = kind == MEDIA_RTP ? ((unsigned)p[2] << 8 | p[3]) : 0;

	if (rx->cand_n[kind] && media_addr_eq(&rx->cand[kind], from) &&
	    (kind == MEDIA_RTCP || seq == ((rx->cand_seq + 1) & 0xffff)))
		rx->cand_n[kind]++;
	else {
		rx->cand[kind] = *from;
		rx->cand_n[kind] = 1;
	}
	if (kind == MEDIA_RTP)
		rx->cand_seq = seq;
	return rx->cand_n[kind] >= MEDIA_PROBATION;
}

/*
 * Under s->rx.lock, a plain stream not yet latched for @p kind: whether
 * packet @p p from @p from may latch it.  The address the SDP named is
 * taken at once, and so is RTCP from the IP that RTP latched to.  Any
 * other source (a phone behind NAT) must first pass probation; until
 * then its packets are dropped.  So a stray or forged packet that comes
 * first cannot steer the call's media to itself (RTP Bleed).  SRTP
 * streams latch on the first packet that authenticates instead.
 */
static int relay_learn(media_rx_t *rx, int kind, const unsigned char *p,
		       const media_addr_t *from)
{
	if (media_addr_eq(&rx->expect[kind], from) ||
	    (kind == MEDIA_RTCP && rx->latched[MEDIA_RTP] &&
	     media_ip_eq(&rx->src[MEDIA_RTP], from)))
		return 1;
	return relay_probation(rx, kind, p, from);
}

/*
 * Under s->rx.lock: whether a packet from @p from may pass as the
 * peer's: -1 no; 0 yes; 1 yes, and it latches the stream once it is
 * accepted (see relay_learn).  Without latching, any source passes.
 */
static int relay_source_ok(media_rx_t *rx, int kind, const unsigned char *p,
			   const media_addr_t *from)
{
	int learns;

	if (rx->no_latch)
		return 0;
	learns = !rx->srtp || (kind == MEDIA_RTP && rx->srtp_unauth);
	if (!rx->latched[kind])
		return !learns || relay_learn(rx, kind, p, from) ? 1 : -1;
	if (media_addr_eq(&rx->src[kind], from))
		return 0;
	/* The SDP's address takes back a stream that another source got
	 * by probation (maybe a stranger, while the call rang), after a
	 * probation of its own: one forged packet from that address (a
	 * private one, of a phone behind NAT) does not take it. */
	if (learns && !rx->by_sdp[kind] &&
	    media_addr_eq(&rx->expect[kind], from) &&
	    relay_probation(rx, kind, p, from))
		return 1;
	return -1;
}

static void relay_count_srtp(sb_media_stream_t *s, apr_status_t rv)
{
	if (rv == SB_EAUTH)
		s->rx.auth_failed++;
	else if (rv == SB_EREPLAY)
		s->rx.replayed++;
	else
		s->rx.dropped_other++;
}

/*
 * Packet @p i of the batch, under s->rx.lock: its kind when accepted
 * (unprotected in place, length updated), -1 when dropped.  Latching
 * waits for SRTP authentication so forged packets cannot steer a stream.
 */
static int relay_accept(sb_media_stream_t *s, int sock_kind, media_batch_t *b,
			unsigned i, apr_time_t now)
{
	struct mmsghdr *mh = &b->rx[i];
	unsigned char *p = b->slot[i];
	apr_size_t len = mh->msg_len;
	apr_status_t rv;
	int kind, latch;

	kind = relay_kind(p, len, sock_kind);
	if (kind < 0 || (mh->msg_hdr.msg_flags & MSG_TRUNC)) {
		s->rx.dropped_other++;
		return -1;
	}
	latch = relay_source_ok(&s->rx, kind, p, &b->from[i]);
	if (latch < 0) {
		s->rx.dropped_source++;
		return -1;
	}
	if (s->rx.srtp) {
		rv = kind == MEDIA_RTP
			 ? sb_srtp_rtp(s->rx.srtp, p, &len, MEDIA_SLOT)
			 : sb_srtp_rtcp(s->rx.srtp, p, &len, MEDIA_SLOT);
		if (rv != APR_SUCCESS) {
			relay_count_srtp(s, rv);
			return -1;
		}
	}
	if (latch)
		relay_latch(s, kind, &b->from[i]);
	s->rx.packets++;
	s->rx.bytes += mh->msg_len;
	s->rx.last_rx = now;
	mh->msg_len = (unsigned)len;
	return kind;
}

/*
 * A short sendmmsg stopped at a failed packet: count it and go on.  One
 * packet (audio: the usual case) goes by sendmsg, ~0.15 us cheaper.
 */
static void relay_send(sb_media_stream_t *s, sb_media_stream_t *d, int fd,
		       struct mmsghdr *msgs, unsigned n)
{
	unsigned off = 0, j;
	ssize_t one;
	int r;

	while (off < n) {
		if (n - off == 1) {
			one = sendmsg(fd, &msgs[off].msg_hdr, MSG_DONTWAIT);
			if (one >= 0)
				msgs[off].msg_len = (unsigned)one;
			r = one < 0 ? -1 : 1;
		} else {
			r = sendmmsg(fd, msgs + off, n - off, MSG_DONTWAIT);
		}
		if (r < 0) {
			if (errno == EINTR)
				continue;
			s->rx.dropped_other++;
			off++;
			continue;
		}
		for (j = off; j < off + (unsigned)r; j++) {
			d->tx.packets++;
			d->tx.bytes += msgs[j].msg_len;
		}
		off += (unsigned)r;
	}
}

/* The accepted packets of the batch, from s to its link d's peer. */
static void relay_forward(sb_media_stream_t *s, sb_media_stream_t *d,
			  media_batch_t *b, unsigned n)
{
	const media_addr_t *dst;
	struct mmsghdr *mh;
	unsigned ng[2] = {0, 0}, i, g;
	apr_size_t len;
	apr_status_t rv;
	int k;

	pthread_mutex_lock(&d->tx.lock);
	for (i = 0; i < n; i++) {
		k = b->kind[i];
		if (k < 0)
			continue;
		dst = d->tx.dst[k];
		len = b->rx[i].msg_len;
		rv = APR_SUCCESS;
		if (dst && d->tx.srtp)
			rv = k == MEDIA_RTP
				 ? sb_srtp_rtp(d->tx.srtp, b->slot[i], &len,
					       MEDIA_SLOT)
				 : sb_srtp_rtcp(d->tx.srtp, b->slot[i], &len,
						MEDIA_SLOT);
		if (!dst || rv != APR_SUCCESS) {
			s->rx.dropped_other++;
			continue;
		}
		g = (unsigned)d->tx.out[k];
		mh = &b->tx[g][ng[g]];
		b->tx_iov[g][ng[g]].iov_base = b->slot[i];
		b->tx_iov[g][ng[g]].iov_len = len;
		mh->msg_hdr.msg_name = (void *)dst;
		mh->msg_hdr.msg_namelen = d->addr_len;
		ng[g]++;
	}
	for (g = 0; g < 2; g++)
		if (ng[g])
			relay_send(s, d, d->sock[g].fd, b->tx[g], ng[g]);
	pthread_mutex_unlock(&d->tx.lock);
}

/*
 * Under the rx lock.  An audio socket has one datagram per wakeup, and
 * recvmmsg then pays for a second, empty read (a msghdr copied in, the
 * queue checked, EAGAIN): one recvmsg is cheaper.  A socket that is
 * still readable at the very next wakeup has a burst queued (video,
 * or a relay thread behind): it is read 32 at a time until a read
 * finds a single datagram again.
 */
static int relay_read(media_thread_t *t, media_sock_t *ms, media_batch_t *b)
{
	ssize_t n;
	int r;

	if (ms->seen + 1 == t->wakeups)
		ms->burst = 1;
	ms->seen = t->wakeups;
	if (ms->burst) {
		r = recvmmsg(ms->fd, b->rx, MEDIA_BATCH, MSG_DONTWAIT, NULL);
		if (r == 1)
			ms->burst = 0;
		return r;
	}
	n = recvmsg(ms->fd, &b->rx[0].msg_hdr, MSG_DONTWAIT);
	if (n < 0)
		return -1;
	b->rx[0].msg_len = (unsigned)n;
	return 1;
}

/*
 * One readable socket: one or a batch of datagrams per wakeup keeps
 * streams fair (epoll is level-triggered and reports the rest next
 * round), one rx lock and one tx lock for the whole batch.  The
 * descriptor is read under the rx lock: close sets it to -1 there
 * before closing it, so an event taken before the close never reads a
 * descriptor number that may have been reused (and a slot opened again
 * has its new sockets).
 */
static void relay_socket(media_thread_t *t, media_sock_t *ms, apr_time_t now)
{
	sb_media_stream_t *s = ms->s;
	media_batch_t *b = t->batch;
	unsigned n, i, kept = 0;
	int r;

	pthread_mutex_lock(&s->rx.lock);
	r = ms->fd < 0 ? -1 : relay_read(t, ms, b);
	if (r <= 0) {
		pthread_mutex_unlock(&s->rx.lock);
		return;
	}
	n = (unsigned)r;
	for (i = 0; i < n; i++) {
		b->kind[i] = (signed char)relay_accept(s, ms->kind, b, i, now);
		if (b->kind[i] >= 0)
			kept++;
	}
	if (kept && !s->rx.link)
		s->rx.dropped_other += kept;
	else if (kept)
		relay_forward(s, s->rx.link, b, n);
	pthread_mutex_unlock(&s->rx.lock);
	/* The kernel shrank these; the rest are untouched. */
	for (i = 0; i < n; i++)
		b->rx[i].msg_hdr.msg_namelen = sizeof(b->from[i]);
}

/*
 * The scan runs when the earliest known deadline is due.  next_scan is
 * reset before it so a set_timeout racing with the scan lowers the new
 * value, not one the scan then overwrites.
 */
static void relay_expire(media_thread_t *t)
{
	apr_time_t now = apr_time_now(), next, cur;

	if (now < __atomic_load_n(&t->next_scan, __ATOMIC_ACQUIRE))
		return;
	__atomic_store_n(&t->next_scan, now + MEDIA_SCAN_MAX, __ATOMIC_RELEASE);
	next = media_timeout_expire(t, now);
	cur = __atomic_load_n(&t->next_scan, __ATOMIC_ACQUIRE);
	while (next < cur &&
	       !__atomic_compare_exchange_n(&t->next_scan, &cur, next, 0,
					    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		;
}

static int relay_wait_ms(media_thread_t *t)
{
	apr_time_t d;

	d = __atomic_load_n(&t->next_scan, __ATOMIC_ACQUIRE) - apr_time_now();
	if (d <= 0)
		return 0;
	if (d > MEDIA_SCAN_MAX)
		d = MEDIA_SCAN_MAX;
	return (int)((d + 999) / 1000);
}

/* Only EAGAIN can fail: another wakeup already drained the counter. */
static void relay_woken(media_thread_t *t)
{
	uint64_t v;

	if (read(t->evfd, &v, sizeof(v)) < 0)
		v = 0;
}

/*
 * After a small batch, sleep out the rest of the tick that began at
 * @p woke, so that the next epoll_wait finds a tick's worth of packets.
 * Idle streams still sleep in epoll_wait: no tick without traffic.
 */
static void relay_pace(const struct timespec *woke, int n)
{
	struct timespec until = *woke;

	if (MEDIA_TICK_NS <= 0 || n <= 0 || n >= MEDIA_PACE_BELOW)
		return;
	until.tv_nsec += MEDIA_TICK_NS;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL) ==
	       EINTR)
		;
}

void *media_relay_main(void *arg)
{
	struct epoll_event ev[MEDIA_EVENTS];
	media_thread_t *t = arg;
	struct timespec woke;
	apr_time_t now;
	int n, i;

	media_relay_self = t;
	while (!__atomic_load_n(&t->stop, __ATOMIC_ACQUIRE)) {
		n = epoll_wait(t->epfd, ev, MEDIA_EVENTS, relay_wait_ms(t));
		clock_gettime(CLOCK_MONOTONIC, &woke);
		now = apr_time_now();
		t->wakeups++;
		/* Each event is a stream not touched for ~20 ms: start all
		 * their cache misses at once (socket, then the rx half). */
		for (i = 0; i < n; i++) {
			__builtin_prefetch(ev[i].data.ptr);
			__builtin_prefetch((char *)ev[i].data.ptr + 64);
			__builtin_prefetch((char *)ev[i].data.ptr + 128);
		}
		for (i = 0; i < n; i++) {
			if (ev[i].data.ptr)
				relay_socket(t, ev[i].data.ptr, now);
			else
				relay_woken(t);
		}
		relay_expire(t);
		relay_pace(&woke, n);
	}
	media_relay_self = NULL;
	return NULL;
}
