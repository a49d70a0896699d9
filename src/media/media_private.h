/* media_private.h — the relay's shared structures: engine, threads, streams. */
#ifndef MEDIA_PRIVATE_H
#define MEDIA_PRIVATE_H

#include <pthread.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>
/* sb_media.h uses apr_port_t without including its header. */
#include <apr_network_io.h>
#include "sipsbridge/sb_media.h"

/*
 * Linux only (epoll, eventfd, recvmmsg/sendmmsg), so the locks are plain
 * pthread ones: they live inside structures that are reused across opens
 * and never need a pool.
 *
 * Locking, and why it is a lock and not an RCU-like pointer swap: a
 * stream's state is split in two halves, each with its own mutex.
 *  - rx: what arrives from the stream's peer (latched sources, UNPROTECT
 *    session, the link, receive counters, timeout).  Taken by the owning
 *    relay thread once per recvmmsg batch.
 *  - tx: what is sent to the peer (destinations, PROTECT session, send
 *    counters).  Taken by the relay thread of the linked stream once per
 *    batch it forwards.
 * libsrtp sessions carry replay and rollover state that must not be used
 * by two threads at once, and a swapped-out session may be destroyed only
 * when nobody uses it; the mutex gives both without epochs or hazard
 * pointers, at one uncontended lock per batch (tens of nanoseconds beside
 * two system calls).  Order: a thread may take a tx lock while holding an
 * rx lock, never the reverse, and never two locks of one kind.  The link
 * topology changes under media->link_lock, which no relay thread takes.
 */

#define MEDIA_RTP 0
#define MEDIA_RTCP 1

/* Packets in a row (RTP ones in sequence) from a source the SDP did not
 * name before a plain stream latches to it (see relay_learn). */
#define MEDIA_PROBATION 4

/* Pairs skipped at random, at most, between two calls' ports. */
#define MEDIA_PORT_JUMP 64

/* Datagrams read per recvmmsg on one readable socket. */
#define MEDIA_BATCH 32
/* One packet slot: the largest datagram we relay plus SRTP's trailer. */
#define MEDIA_SLOT 4096
#define MEDIA_PKT_MAX (MEDIA_SLOT - SB_SRTP_MAX_TRAILER)
/* Ready descriptors taken per epoll_wait. */
#define MEDIA_EVENTS 256
/*
 * While packets flow a relay thread polls at most once per tick: each
 * wakeup costs it ~7 us here (scheduler, epoll_wait, a VM exit), more
 * than relaying a packet, and arrivals spread over time would wake it
 * for one or two packets each.  It adds at most a tick of delay.  Only
 * after a batch of fewer than MEDIA_PACE_BELOW events: a larger one
 * means the thread is behind (or was starved of CPU), and it goes on
 * at once.
 */
#ifndef MEDIA_TICK_NS /* -DMEDIA_TICK_NS=0: no pause, for comparisons */
#define MEDIA_TICK_NS 1000000L
#endif
#define MEDIA_PACE_BELOW 32
/* Longest sleep of a relay thread: bounds a missed timeout wakeup. */
#define MEDIA_SCAN_MAX apr_time_from_sec(1)

typedef union media_addr {
	struct sockaddr sa;
	struct sockaddr_in in;
	struct sockaddr_in6 in6;
} media_addr_t;

/* Same family and address. */
static inline int media_ip_eq(const media_addr_t *a, const media_addr_t *b)
{
	if (a->sa.sa_family != b->sa.sa_family)
		return 0;
	if (a->sa.sa_family == AF_INET)
		return a->in.sin_addr.s_addr == b->in.sin_addr.s_addr;
	return memcmp(&a->in6.sin6_addr, &b->in6.sin6_addr, 16) == 0;
}

/* Same family, address and port. */
static inline int media_addr_eq(const media_addr_t *a, const media_addr_t *b)
{
	if (!media_ip_eq(a, b))
		return 0;
	return a->sa.sa_family == AF_INET
		   ? a->in.sin_port == b->in.sin_port
		   : a->in6.sin6_port == b->in6.sin6_port;
}

typedef struct media_thread media_thread_t;

/* One bound socket; epoll's data.ptr points here. */
typedef struct media_sock {
	sb_media_stream_t *s;
	int fd;
	int kind; /* MEDIA_RTP or MEDIA_RTCP */
	/* Under the stream's rx lock: the wakeup that last read it, and
	 * whether it is read in batches (see relay_read). */
	unsigned seen;
	int burst;
} media_sock_t;

/* The receive half: the owning relay thread, under lock. */
typedef struct media_rx {
	pthread_mutex_t lock;
	sb_media_stream_t *link;
	sb_srtp_t *srtp;     /* UNPROTECT, NULL = plain */
	media_addr_t src[2]; /* latched source per kind */
	int latched[2];
	/* Plain streams, until latched: the SDP's address per kind (taken
	 * at once), and another source on probation. */
	media_addr_t expect[2];
	media_addr_t cand[2];
	unsigned cand_n[2];
	unsigned cand_seq;
	int by_sdp[2];	  /* latched to expect[] (not by probation) */
	int srtp_unauth;  /* UNAUTHENTICATED_SRTP: RTP learns as plain */
	int no_latch;	  /* any source passes; we send to the SDP's */
	apr_uint64_t packets, bytes;
	apr_uint64_t dropped_source, auth_failed, replayed, dropped_other;
	apr_time_t last_rx;
	/* Timeout: armed while after > 0 and fn is set. */
	apr_interval_time_t to_after;
	apr_time_t to_since;
	sb_media_timeout_fn to_fn;
	void *to_baton;
} media_rx_t;

/* The send half: whichever relay thread forwards to us, under lock. */
typedef struct media_tx {
	pthread_mutex_t lock;
	sb_srtp_t *srtp;     /* PROTECT, NULL = plain */
	media_addr_t sdp[2]; /* from set_peer; family 0 = none */
	media_addr_t lat[2]; /* copies of rx.src once latched */
	int lat_ok[2];
	int mux;
	/* Derived by media_stream_route(): where each kind goes, and from
	 * which of our sockets (index into sock[]); dst NULL = nowhere. */
	const media_addr_t *dst[2];
	int out[2];
	apr_uint64_t packets, bytes;
} media_tx_t;

struct sb_media_stream {
	sb_media_t *media;
	media_thread_t *thread;
	unsigned pair; /* slot index */
	apr_port_t port;
	int family;	    /* AF_INET or AF_INET6 */
	socklen_t addr_len; /* of that family's sockaddr */
	/* fd -1 once closed; changed under both rx and tx locks. */
	media_sock_t sock[2];
	/*
	 * SRTP sessions are made in this pool, kept with the slot and
	 * cleared at close: a re-key leaves a few dozen bytes in it until
	 * then.  ctl serialises set_srtp and close on it.
	 */
	pthread_mutex_t ctl;
	apr_pool_t *srtp_pool;
	/* The owning thread's list, for the timeout scan: under list_lock. */
	sb_media_stream_t *prev, *next;
	/* Separate lines: the two halves are written by different threads. */
	media_rx_t rx __attribute__((aligned(64)));
	media_tx_t tx __attribute__((aligned(64)));
};

/* Per-thread packet buffers, preallocated: nothing is allocated per packet. */
typedef struct media_batch {
	struct mmsghdr rx[MEDIA_BATCH];
	struct iovec rx_iov[MEDIA_BATCH];
	media_addr_t from[MEDIA_BATCH];
	signed char kind[MEDIA_BATCH]; /* -1 = dropped */
	struct mmsghdr tx[2][MEDIA_BATCH];
	struct iovec tx_iov[2][MEDIA_BATCH];
	unsigned char (*slot)[MEDIA_SLOT];
} media_batch_t;

struct media_thread {
	sb_media_t *media;
	unsigned index;
	int epfd; /* streams are added and removed by the callers */
	int evfd; /* wakes the thread: stop, earlier timeouts */
	pthread_t thread;
	int started;
	int stop; /* atomic */
	/*
	 * The streams, for the timeout scan.  Callers add and remove under
	 * list_lock; the scan holds it except while a callback runs
	 * (cb_stream set), and resumes at scan_next, which a removal moves
	 * on.  Close waits on list_cond while its stream's callback runs.
	 */
	pthread_mutex_t list_lock;
	pthread_cond_t list_cond;
	sb_media_stream_t *streams;
	sb_media_stream_t *scan_next;
	sb_media_stream_t *cb_stream;
	/* Relay thread only. */
	media_batch_t *batch;
	unsigned wakeups; /* epoll_wait returns so far */
	/* Earliest timeout to check: lowered by set_timeout (atomics). */
	apr_time_t next_scan;
	/* Streams assigned, under media->lock: picks the least loaded. */
	unsigned load;
};

struct sb_media {
	apr_pool_t *pool;     /* ours, with a locked allocator */
	pthread_mutex_t lock; /* port pairs, slots, loads */
	pthread_mutex_t link_lock;
	apr_port_t base; /* even RTP port of pair 0 */
	unsigned npairs;
	unsigned cursor; /* next pair to try: freed ports wait their turn */
	unsigned char *used;
	sb_media_stream_t **slots; /* reused across opens, allocated lazily */
	unsigned nthreads;
	unsigned rr; /* round robin among equally loaded threads */
	media_thread_t *threads;
	int stopped;
};

/* media.c */
apr_status_t media_take_pair(sb_media_t *m, const media_addr_t *local,
			     socklen_t len, sb_media_stream_t **out,
			     int fds[2]);
void media_give_pair(sb_media_stream_t *s);
void media_wake(media_thread_t *t);
apr_status_t media_watch(media_thread_t *t, sb_media_stream_t *s);
void media_unwatch(media_thread_t *t, sb_media_stream_t *s);

/* media_stream.c */
void media_stream_route(sb_media_stream_t *s);
/* Under rx.lock and tx.lock: @p kind's source is learnt again (the
 * caller routes). */
void media_stream_unlatch(sb_media_stream_t *s, int kind);

/* media_timeout.c */
void media_timeout_add(sb_media_stream_t *s);
void media_timeout_remove(sb_media_stream_t *s);
apr_time_t media_timeout_expire(media_thread_t *t, apr_time_t now);

/* media_relay.c */
void *media_relay_main(void *arg);
int media_relay_on_thread(const sb_media_t *m);
int media_relay_is(const media_thread_t *t);

#endif
