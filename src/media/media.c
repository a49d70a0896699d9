/* media.c — the relay engine: relay threads, port pairs, their sockets. */
/* recvmmsg, sendmmsg, pthread_setname_np (APR's cflags set it too). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <apr_allocator.h>
#include <apr_general.h>
#include <apr_thread_mutex.h>
#include "media_private.h"

#define MEDIA_MAX_THREADS 64

/*
 * Our own allocator with a mutex: streams open and close and SRTP
 * sessions are created (each in a sub-pool of ours) from any thread.
 */
static apr_status_t media_pool_create(apr_pool_t **out, apr_pool_t *parent)
{
	apr_allocator_t *alloc;
	apr_thread_mutex_t *mx;
	apr_pool_t *p;
	apr_status_t rv;

	rv = apr_allocator_create(&alloc);
	if (rv != APR_SUCCESS)
		return rv;
	rv = apr_pool_create_ex(&p, parent, NULL, alloc);
	if (rv != APR_SUCCESS) {
		apr_allocator_destroy(alloc);
		return rv;
	}
	apr_allocator_owner_set(alloc, p);
	rv = apr_thread_mutex_create(&mx, APR_THREAD_MUTEX_DEFAULT, p);
	if (rv != APR_SUCCESS) {
		apr_pool_destroy(p);
		return rv;
	}
	apr_allocator_mutex_set(alloc, mx);
	*out = p;
	return APR_SUCCESS;
}

static void media_batch_init(media_batch_t *b, apr_pool_t *pool)
{
	unsigned i, g;

	b->slot = apr_palloc(pool, MEDIA_BATCH * sizeof(*b->slot));
	for (i = 0; i < MEDIA_BATCH; i++) {
		b->rx_iov[i].iov_base = b->slot[i];
		b->rx_iov[i].iov_len = MEDIA_PKT_MAX;
		b->rx[i].msg_hdr.msg_name = &b->from[i];
		b->rx[i].msg_hdr.msg_namelen = sizeof(b->from[i]);
		b->rx[i].msg_hdr.msg_iov = &b->rx_iov[i];
		b->rx[i].msg_hdr.msg_iovlen = 1;
		for (g = 0; g < 2; g++) {
			b->tx[g][i].msg_hdr.msg_iov = &b->tx_iov[g][i];
			b->tx[g][i].msg_hdr.msg_iovlen = 1;
		}
	}
}

static apr_status_t media_thread_init(media_thread_t *t, sb_media_t *m,
				      unsigned index)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};

	t->media = m;
	t->index = index;
	pthread_mutex_init(&t->list_lock, NULL);
	pthread_cond_init(&t->list_cond, NULL);
	t->evfd = -1;
	t->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (t->epfd < 0)
		return APR_FROM_OS_ERROR(errno);
	t->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (t->evfd < 0)
		return APR_FROM_OS_ERROR(errno);
	/* data.ptr NULL marks the wakeup descriptor. */
	if (epoll_ctl(t->epfd, EPOLL_CTL_ADD, t->evfd, &ev) < 0)
		return APR_FROM_OS_ERROR(errno);
	t->batch = apr_pcalloc(m->pool, sizeof(*t->batch));
	media_batch_init(t->batch, m->pool);
	return APR_SUCCESS;
}

void media_wake(media_thread_t *t)
{
	uint64_t one = 1;

	/* EAGAIN means the counter is already non-zero: awake anyway. */
	if (write(t->evfd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		abort();
}

/*
 * Callers register a stream's sockets themselves (epoll_ctl is safe
 * beside a thread in epoll_wait): opening never waits for the relay
 * thread.  data.ptr NULL is the wakeup descriptor.
 */
apr_status_t media_watch(media_thread_t *t, sb_media_stream_t *s)
{
	struct epoll_event ev = {.events = EPOLLIN};
	apr_status_t rv;
	int k;

	for (k = 0; k < 2; k++) {
		ev.data.ptr = &s->sock[k];
		if (epoll_ctl(t->epfd, EPOLL_CTL_ADD, s->sock[k].fd, &ev) < 0) {
			rv = APR_FROM_OS_ERROR(errno);
			if (k)
				epoll_ctl(t->epfd, EPOLL_CTL_DEL, s->sock[0].fd,
					  NULL);
			return rv;
		}
	}
	return APR_SUCCESS;
}

/*
 * No later epoll_wait reports these sockets; an event the thread took
 * before may still be handled, which media_relay.c allows for.
 */
void media_unwatch(media_thread_t *t, sb_media_stream_t *s)
{
	epoll_ctl(t->epfd, EPOLL_CTL_DEL, s->sock[MEDIA_RTP].fd, NULL);
	epoll_ctl(t->epfd, EPOLL_CTL_DEL, s->sock[MEDIA_RTCP].fd, NULL);
}

/* Streams left open are closed here: their descriptors must not leak. */
static void media_close_leftovers(sb_media_t *m)
{
	sb_media_stream_t *s;
	unsigned i;

	for (i = 0; i < m->npairs; i++) {
		s = m->slots[i];
		if (!m->used[i] || !s)
			continue;
		if (s->sock[MEDIA_RTP].fd >= 0)
			close(s->sock[MEDIA_RTP].fd);
		if (s->sock[MEDIA_RTCP].fd >= 0)
			close(s->sock[MEDIA_RTCP].fd);
		m->used[i] = 0;
	}
}

static apr_status_t media_shutdown(void *data)
{
	sb_media_t *m = data;
	media_thread_t *t;
	unsigned i;

	if (m->stopped)
		return APR_SUCCESS;
	if (media_relay_on_thread(m)) {
		/* A relay thread cannot join itself. */
		fprintf(stderr, "sb_media: destroyed from a relay thread "
				"(timeout callback)\n");
		abort();
	}
	m->stopped = 1;
	for (i = 0; i < m->nthreads; i++) {
		t = &m->threads[i];
		if (!t->started)
			continue;
		__atomic_store_n(&t->stop, 1, __ATOMIC_RELEASE);
		media_wake(t);
		pthread_join(t->thread, NULL);
	}
	media_close_leftovers(m);
	for (i = 0; i < m->nthreads; i++) {
		t = &m->threads[i];
		if (t->epfd >= 0)
			close(t->epfd);
		if (t->evfd >= 0)
			close(t->evfd);
	}
	return APR_SUCCESS;
}

static apr_status_t media_check_config(const sb_media_config_t *cfg,
				       unsigned *base, unsigned *npairs)
{
	unsigned lo;

	if (!cfg || cfg->threads < 1 || cfg->threads > MEDIA_MAX_THREADS ||
	    cfg->port_min == 0)
		return SB_ECONFIG;
	lo = ((unsigned)cfg->port_min + 1) & ~1u;
	if (lo + 1 > cfg->port_max)
		return SB_ECONFIG;
	*base = lo;
	*npairs = ((unsigned)cfg->port_max - lo + 1) / 2;
	return APR_SUCCESS;
}

static apr_status_t media_start(sb_media_t *m)
{
	media_thread_t *t;
	char name[16];
	unsigned i;
	int err;

	for (i = 0; i < m->nthreads; i++) {
		t = &m->threads[i];
		err = pthread_create(&t->thread, NULL, media_relay_main, t);
		if (err)
			return APR_FROM_OS_ERROR(err);
		t->started = 1;
		/* For top -H, perf and the benchmark's CPU accounting. */
		snprintf(name, sizeof(name), "sb-relay-%u",
			 i % MEDIA_MAX_THREADS);
		pthread_setname_np(t->thread, name);
	}
	return APR_SUCCESS;
}

/* A random number below @p bound (0 when the system has none). */
static unsigned media_random(unsigned bound)
{
	unsigned char r[4];

	if (bound < 2 || apr_generate_random_bytes(r, sizeof(r)) != APR_SUCCESS)
		return 0;
	return (((unsigned)r[0] << 24) | ((unsigned)r[1] << 16) |
		((unsigned)r[2] << 8) | r[3]) % bound;
}

apr_status_t sb_media_create(sb_media_t **out, const sb_media_config_t *cfg,
			     apr_pool_t *pool)
{
	unsigned base, npairs, i;
	apr_pool_t *p;
	sb_media_t *m;
	apr_status_t rv;

	rv = media_check_config(cfg, &base, &npairs);
	if (rv != APR_SUCCESS)
		return rv;
	rv = media_pool_create(&p, pool);
	if (rv != APR_SUCCESS)
		return rv;
	m = apr_pcalloc(p, sizeof(*m));
	m->pool = p;
	pthread_mutex_init(&m->lock, NULL);
	pthread_mutex_init(&m->link_lock, NULL);
	m->base = (apr_port_t)base;
	m->npairs = npairs;
	m->used = apr_pcalloc(p, npairs);
	/* A restarted switch does not give new calls the ports whose late
	 * packets (the last process's calls) may still be arriving. */
	m->cursor = media_random(npairs);
	m->slots = apr_pcalloc(p, npairs * sizeof(*m->slots));
	m->nthreads = cfg->threads;
	m->threads = apr_pcalloc(p, m->nthreads * sizeof(*m->threads));
	for (i = 0; i < m->nthreads; i++)
		m->threads[i].epfd = m->threads[i].evfd = -1;
	/* Before the buffers are freed, and on every failure path below. */
	apr_pool_pre_cleanup_register(p, m, media_shutdown);
	for (i = 0; i < m->nthreads && rv == APR_SUCCESS; i++)
		rv = media_thread_init(&m->threads[i], m, i);
	if (rv == APR_SUCCESS)
		rv = media_start(m);
	if (rv != APR_SUCCESS) {
		apr_pool_destroy(p);
		return rv;
	}
	*out = m;
	return APR_SUCCESS;
}

void sb_media_destroy(sb_media_t *media)
{
	if (media)
		apr_pool_destroy(media->pool);
}

static apr_status_t media_bind_pair(const media_addr_t *local, socklen_t len,
				    unsigned port, int fds[2])
{
	media_addr_t a = *local;
	apr_status_t rv = APR_SUCCESS;
	int k;

	fds[0] = fds[1] = -1;
	for (k = 0; k < 2 && rv == APR_SUCCESS; k++) {
		/* Same offset of the port in sockaddr_in and sockaddr_in6. */
		a.in.sin_port = htons((uint16_t)(port + k));
		fds[k] = socket(a.sa.sa_family,
				SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fds[k] < 0 || bind(fds[k], &a.sa, len) < 0)
			rv = APR_FROM_OS_ERROR(errno);
	}
	if (rv != APR_SUCCESS) {
		for (k = 0; k < 2; k++)
			if (fds[k] >= 0)
				close(fds[k]);
	}
	return rv;
}

/* The least loaded thread; equal loads take turns. Under m->lock. */
static media_thread_t *media_pick_thread(sb_media_t *m)
{
	media_thread_t *best = NULL, *t;
	unsigned i;

	for (i = 0; i < m->nthreads; i++) {
		t = &m->threads[(m->rr + i) % m->nthreads];
		if (!best || t->load < best->load)
			best = t;
	}
	m->rr = (m->rr + 1) % m->nthreads;
	best->load++;
	return best;
}

/* Slots are allocated once and reused by later opens of the same pair. */
static sb_media_stream_t *media_slot(sb_media_t *m, unsigned pair)
{
	sb_media_stream_t *s = m->slots[pair];

	if (s)
		return s;
	/* The halves are cache-line aligned; pools align to 8 only. */
	s = (void *)(((uintptr_t)apr_pcalloc(m->pool, sizeof(*s) + 63) + 63) &
		     ~(uintptr_t)63);
	pthread_mutex_init(&s->ctl, NULL);
	pthread_mutex_init(&s->rx.lock, NULL);
	pthread_mutex_init(&s->tx.lock, NULL);
	s->media = m;
	s->pair = pair;
	s->port = (apr_port_t)(m->base + 2 * pair);
	s->sock[MEDIA_RTP].s = s->sock[MEDIA_RTCP].s = s;
	s->sock[MEDIA_RTP].fd = s->sock[MEDIA_RTCP].fd = -1;
	s->sock[MEDIA_RTP].kind = MEDIA_RTP;
	s->sock[MEDIA_RTCP].kind = MEDIA_RTCP;
	m->slots[pair] = s;
	return s;
}

/*
 * A free pair a random step (below MEDIA_PORT_JUMP) after the last one
 * handed out: the port of the next call is not guessable from ours.  A
 * port just closed waits for the cursor to go round the range (npairs /
 * 32 calls on average: 256 with the default range, minutes of late
 * packets at most).  A pair some other process holds is skipped.  The
 * bound sockets go to @p fds: the caller puts them in the stream under its
 * locks (a relay thread may still hold an event of the slot's last use).
 */
apr_status_t media_take_pair(sb_media_t *m, const media_addr_t *local,
			     socklen_t len, sb_media_stream_t **out, int fds[2])
{
	apr_status_t rv = SB_ELIMIT;
	sb_media_stream_t *s;
	unsigned tries, i, jump;

	jump = media_random(m->npairs < MEDIA_PORT_JUMP ? m->npairs
						       : MEDIA_PORT_JUMP);
	pthread_mutex_lock(&m->lock);
	m->cursor = (m->cursor + jump) % m->npairs;
	for (tries = 0; tries < m->npairs; tries++) {
		i = m->cursor;
		m->cursor = (m->cursor + 1) % m->npairs;
		if (m->used[i])
			continue;
		rv = media_bind_pair(local, len, m->base + 2 * i, fds);
		if (rv == APR_SUCCESS)
			break;
		if (rv != APR_FROM_OS_ERROR(EADDRINUSE))
			goto done;
		rv = SB_ELIMIT;
	}
	if (rv != APR_SUCCESS)
		goto done;
	m->used[i] = 1;
	s = media_slot(m, i);
	s->family = local->sa.sa_family;
	s->addr_len = len;
	s->thread = media_pick_thread(m);
	*out = s;
done:
	pthread_mutex_unlock(&m->lock);
	return rv;
}

/* The descriptors are closed; the pair may be handed out again. */
void media_give_pair(sb_media_stream_t *s)
{
	sb_media_t *m = s->media;

	pthread_mutex_lock(&m->lock);
	m->used[s->pair] = 0;
	s->thread->load--;
	pthread_mutex_unlock(&m->lock);
}
