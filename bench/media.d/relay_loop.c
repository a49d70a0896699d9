/* relay_loop.c — packets/s through one relay thread on loopback, with and
 * without SRTP on the B leg.  Not a unit test: it prints figures.
 *
 *   relay_loop [-m blast|paced|spread] [-c calls] [-t seconds] [-s] [-z bytes]
 *              [-p first-port]
 *
 * Each call is two linked streams A and B.  One socket stands for every
 * A-side phone, one for every B-side phone (the streams latch to them).
 * blast: A→B as fast as one sender thread can go, spread over the calls.
 * paced: G.711 calls, one packet each way per call every 20 ms, all calls
 * in one burst.  spread: the same, each call at its own 0.1 ms slot of
 * the 20 ms (its B side 10 ms later), as independent phones send: the
 * relay finds few packets per wakeup unless it paces itself.
 * -s: B's leg is SRTP (AES_CM_128_HMAC_SHA1_80): the relay protects A→B
 * and unprotects B→A; the B-side sender protects what it sends.
 * The relay thread's CPU comes from /proc/self/task/TID/schedstat, so
 * "per relay core" figures hold even when the 2 cores are shared with
 * the load generator.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <apr_general.h>
#include <apr_network_io.h>
#include "sipsbridge/sb_media.h"

#define VLEN 64
#define SUITE SB_SRTP_AES_CM_128_HMAC_SHA1_80
#define KEYLEN 30

typedef struct bench {
	int paced, spread, srtp;
	unsigned calls, seconds, size;
	apr_port_t first_port;
	sb_media_t *media;
	sb_media_stream_t **a, **b;
	int fa, fb; /* the A-side and B-side phones */
	unsigned char key_to_b[KEYLEN], key_from_b[KEYLEN];
	sb_srtp_t *phone_tx; /* B side's protect session */
	int stop;
	unsigned long long sent, received;
} bench_t;

static void die(const char *what, apr_status_t rv)
{
	char buf[128];

	fprintf(stderr, "relay_loop: %s: %s\n", what,
		sb_strerror(rv, buf, sizeof(buf)));
	exit(1);
}

static int phone_socket(apr_port_t *port)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_DGRAM, 0), big = 8 << 20;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, len) < 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &len) < 0)
		die("phone socket", APR_FROM_OS_ERROR(errno));
	/* Root may pass rmem_max: the receiver must not be the loss. */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big)))
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	*port = ntohs(a.sin_port);
	return fd;
}

static void bench_setup(bench_t *b, apr_pool_t *pool)
{
	sb_media_config_t cfg = {b->first_port, 0, 1};
	apr_port_t pa, pb;
	apr_status_t rv;
	unsigned i;

	cfg.port_max = (apr_port_t)(b->first_port + 4 * b->calls + 63);
	if ((rv = sb_media_create(&b->media, &cfg, pool)))
		die("sb_media_create", rv);
	b->fa = phone_socket(&pa);
	b->fb = phone_socket(&pb);
	b->a = calloc(b->calls, sizeof(*b->a));
	b->b = calloc(b->calls, sizeof(*b->b));
	sb_srtp_keygen(SUITE, b->key_to_b, KEYLEN);
	sb_srtp_keygen(SUITE, b->key_from_b, KEYLEN);
	if (b->srtp && (rv = sb_srtp_create(&b->phone_tx, SUITE, b->key_from_b,
					    KEYLEN, SB_SRTP_PROTECT, 0, pool)))
		die("sb_srtp_create", rv);
	for (i = 0; i < b->calls; i++) {
		if ((rv = sb_media_stream_open(b->media, "127.0.0.1",
					       &b->a[i])) ||
		    (rv =
			 sb_media_stream_open(b->media, "127.0.0.1", &b->b[i])))
			die("sb_media_stream_open", rv);
		sb_media_stream_set_peer(b->a[i], "127.0.0.1", pa, 0, 0);
		sb_media_stream_set_peer(b->b[i], "127.0.0.1", pb, 0, 0);
		if (b->srtp) {
			sb_media_stream_set_srtp(b->b[i], SB_SRTP_PROTECT,
						 SUITE, b->key_to_b, KEYLEN, 0);
			sb_media_stream_set_srtp(b->b[i], SB_SRTP_UNPROTECT,
						 SUITE, b->key_from_b, KEYLEN,
						 0);
		}
		sb_media_stream_link(b->a[i], b->b[i]);
	}
}

/* What the sender needs per message of one sendmmsg. */
typedef struct out_batch {
	struct mmsghdr msg[VLEN];
	struct iovec iov[VLEN];
	struct sockaddr_in to[VLEN];
	unsigned char pkt[VLEN][512];
	unsigned n;
} out_batch_t;

static void out_flush(bench_t *b, int fd, out_batch_t *o)
{
	unsigned off = 0;
	int r;

	while (off < o->n) {
		r = sendmmsg(fd, o->msg + off, o->n - off, 0);
		if (r < 0) {
			if (errno != EAGAIN && errno != ENOBUFS)
				die("sendmmsg", APR_FROM_OS_ERROR(errno));
			usleep(50); /* blast mode overran the socket */
			continue;
		}
		off += (unsigned)r;
	}
	__atomic_add_fetch(&b->sent, o->n, __ATOMIC_RELAXED);
	o->n = 0;
}

/* One RTP packet of call @p i toward @p port, protected if @p tx. */
static void out_add(bench_t *b, int fd, out_batch_t *o, unsigned i,
		    unsigned seq, apr_port_t port, sb_srtp_t *tx)
{
	unsigned char *p = o->pkt[o->n];
	apr_size_t len = b->size;

	memset(p, 0xd5, len); /* PCMU silence */
	p[0] = 0x80;
	p[1] = 0;
	p[2] = (unsigned char)(seq >> 8);
	p[3] = (unsigned char)seq;
	memset(p + 4, 0, 4);
	p[8] = (unsigned char)(i >> 24);
	p[9] = (unsigned char)(i >> 16);
	p[10] = (unsigned char)(i >> 8);
	p[11] = (unsigned char)(i + 1);
	if (tx && sb_srtp_rtp(tx, p, &len, sizeof(o->pkt[0])))
		die("sender protect", APR_EGENERAL);
	o->to[o->n].sin_port = htons(port);
	o->iov[o->n].iov_len = len;
	if (++o->n == VLEN)
		out_flush(b, fd, o);
}

static void out_init(out_batch_t *o)
{
	unsigned j;

	memset(o, 0, sizeof(*o));
	for (j = 0; j < VLEN; j++) {
		o->to[j].sin_family = AF_INET;
		o->to[j].sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		o->iov[j].iov_base = o->pkt[j];
		o->msg[j].msg_hdr.msg_name = &o->to[j];
		o->msg[j].msg_hdr.msg_namelen = sizeof(o->to[j]);
		o->msg[j].msg_hdr.msg_iov = &o->iov[j];
		o->msg[j].msg_hdr.msg_iovlen = 1;
	}
}

/* spread: 200 slots of 0.1 ms per 20 ms period. */
#define SLOTS 200

static void spread_slot(bench_t *b, out_batch_t *oa, out_batch_t *ob,
			unsigned slot, unsigned seq)
{
	unsigned i;

	for (i = slot; i < b->calls; i += SLOTS)
		out_add(b, b->fa, oa, i, seq, sb_media_stream_port(b->a[i]),
			NULL);
	for (i = (slot + SLOTS / 2) % SLOTS; i < b->calls; i += SLOTS)
		out_add(b, b->fb, ob, i, seq, sb_media_stream_port(b->b[i]),
			b->phone_tx);
	out_flush(b, b->fa, oa);
	out_flush(b, b->fb, ob);
}

static void *sender_main(void *arg)
{
	static out_batch_t oa, ob;
	bench_t *b = arg;
	apr_time_t tick = apr_time_now();
	unsigned seq = 0, i, slot;

	out_init(&oa);
	out_init(&ob);
	while (!__atomic_load_n(&b->stop, __ATOMIC_ACQUIRE)) {
		if (b->spread) {
			for (slot = 0; slot < SLOTS; slot++) {
				spread_slot(b, &oa, &ob, slot, seq);
				tick += apr_time_from_msec(20) / SLOTS;
				if (tick > apr_time_now())
					apr_sleep(tick - apr_time_now());
			}
			seq++;
			continue;
		}
		for (i = 0; i < b->calls; i++) {
			out_add(b, b->fa, &oa, i, seq,
				sb_media_stream_port(b->a[i]), NULL);
			if (b->paced)
				out_add(b, b->fb, &ob, i, seq,
					sb_media_stream_port(b->b[i]),
					b->phone_tx);
		}
		out_flush(b, b->fa, &oa);
		out_flush(b, b->fb, &ob);
		seq++;
		if (!b->paced)
			continue;
		tick += apr_time_from_msec(20);
		if (tick > apr_time_now())
			apr_sleep(tick - apr_time_now());
	}
	return NULL;
}

static void *receiver_main(void *arg)
{
	static unsigned char buf[VLEN][2048];
	struct mmsghdr msg[VLEN];
	struct iovec iov[VLEN];
	struct pollfd pfd[2];
	bench_t *b = arg;
	int k, r, j;

	memset(msg, 0, sizeof(msg));
	for (j = 0; j < VLEN; j++) {
		iov[j].iov_base = buf[j];
		iov[j].iov_len = sizeof(buf[j]);
		msg[j].msg_hdr.msg_iov = &iov[j];
		msg[j].msg_hdr.msg_iovlen = 1;
	}
	pfd[0].fd = b->fa;
	pfd[1].fd = b->fb;
	pfd[0].events = pfd[1].events = POLLIN;
	while (!__atomic_load_n(&b->stop, __ATOMIC_ACQUIRE)) {
		if (poll(pfd, 2, 100) <= 0)
			continue;
		for (k = 0; k < 2; k++) {
			r = recvmmsg(pfd[k].fd, msg, VLEN, MSG_DONTWAIT, NULL);
			if (r > 0)
				__atomic_add_fetch(&b->received, (unsigned)r,
						   __ATOMIC_RELAXED);
		}
	}
	return NULL;
}

/* Nanoseconds the relay thread has run, from the kernel's scheduler. */
/* A number from the relay thread's /proc file @p file: the first
 * field of schedstat (CPU ns), or the line @p key of status. */
static unsigned long long relay_thread_read(const char *file, const char *key)
{
	char path[300], line[128];
	unsigned long long v = 0;
	struct dirent *e;
	FILE *f;
	DIR *d = opendir("/proc/self/task");

	while (d && (e = readdir(d))) {
		snprintf(path, sizeof(path), "/proc/self/task/%s/comm",
			 e->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (!fgets(line, sizeof(line), f) ||
		    strncmp(line, "sb-relay-", 9) != 0) {
			fclose(f);
			continue;
		}
		fclose(f);
		snprintf(path, sizeof(path), "/proc/self/task/%s/%s", e->d_name,
			 file);
		f = fopen(path, "r");
		while (f && fgets(line, sizeof(line), f)) {
			if (!key) {
				v = strtoull(line, NULL, 10);
				break;
			}
			if (strncmp(line, key, strlen(key)) == 0)
				v = strtoull(line + strlen(key), NULL, 10);
		}
		if (f)
			fclose(f);
	}
	if (d)
		closedir(d);
	return v;
}

typedef struct snap {
	apr_time_t at;
	unsigned long long cpu, runs, relay_in, relayed, dropped, sent,
	    received;
} snap_t;

static void snap_take(bench_t *b, snap_t *s)
{
	sb_media_stats_t st;
	unsigned i;

	memset(s, 0, sizeof(*s));
	for (i = 0; i < b->calls; i++) {
		sb_media_stream_stats(b->a[i], &st);
		s->relay_in += st.rx_packets;
		s->relayed += st.tx_packets;
		s->dropped += st.dropped_other + st.dropped_source +
			      st.srtp_auth_failed + st.srtp_replayed;
		sb_media_stream_stats(b->b[i], &st);
		s->relay_in += st.rx_packets;
		s->relayed += st.tx_packets;
		s->dropped += st.dropped_other + st.dropped_source +
			      st.srtp_auth_failed + st.srtp_replayed;
	}
	s->sent = __atomic_load_n(&b->sent, __ATOMIC_RELAXED);
	s->received = __atomic_load_n(&b->received, __ATOMIC_RELAXED);
	s->cpu = relay_thread_read("schedstat", NULL);
	/* It sleeps once per wakeup (epoll_wait, or its tick's pause). */
	s->runs = relay_thread_read("status", "voluntary_ctxt_switches:");
	s->at = apr_time_now();
}

#define RATE(f) ((double)(s1->f - s0->f) / secs)

static void report(bench_t *b, const snap_t *s0, const snap_t *s1)
{
	double secs = (double)(s1->at - s0->at) / 1e6;
	double cpu = (double)(s1->cpu - s0->cpu) / 1e9 / secs;
	double per_core = cpu > 0 ? RATE(relayed) / cpu : 0;

	printf("mode=%s srtp=%s calls=%u size=%u\n",
	       b->spread  ? "spread"
	       : b->paced ? "paced"
			  : "blast",
	       b->srtp ? "B-leg" : "off", b->calls, b->size);
	printf("  pkt/s: sent %.0f, relay in %.0f, relay out %.0f, "
	       "received %.0f; relay drops %llu\n",
	       RATE(sent), RATE(relay_in), RATE(relayed), RATE(received),
	       s1->dropped - s0->dropped);
	/* A G.711 call at 20 ms relays 50 packets each way: 100 pkt/s. */
	printf("  relay thread: %.0f wakeups/s, %.1f packets per wakeup\n",
	       RATE(runs), RATE(runs) > 0 ? RATE(relayed) / RATE(runs) : 0);
	printf("  relay thread CPU %.1f%%: %.0f pkt/s per relay core, "
	       "%.1f us/pkt, ~%.0f G.711 calls per relay core\n",
	       cpu * 100, per_core, per_core > 0 ? 1e6 / per_core : 0,
	       per_core / 100);
}

static void usage(void)
{
	fprintf(stderr, "usage: relay_loop [-m blast|paced|spread] [-c calls] "
			"[-t seconds] [-s] [-z bytes] [-p first-port]\n");
	exit(2);
}

static void parse_args(bench_t *b, int argc, char **argv)
{
	int c;

	b->calls = 500;
	b->seconds = 5;
	b->size = 172;
	b->first_port = 24000;
	while ((c = getopt(argc, argv, "m:c:t:sz:p:")) != -1) {
		if (c == 'm') {
			b->spread = strcmp(optarg, "spread") == 0;
			b->paced = b->spread || strcmp(optarg, "paced") == 0;
		} else if (c == 'c')
			b->calls = (unsigned)atoi(optarg);
		else if (c == 't')
			b->seconds = (unsigned)atoi(optarg);
		else if (c == 's')
			b->srtp = 1;
		else if (c == 'z')
			b->size = (unsigned)atoi(optarg);
		else if (c == 'p')
			b->first_port = (apr_port_t)atoi(optarg);
		else
			usage();
	}
	if (!b->calls || b->calls > 8000 || b->size < 12 || b->size > 360 ||
	    !b->seconds)
		usage();
}

int main(int argc, char **argv)
{
	static bench_t b;
	pthread_t ts, tr;
	apr_pool_t *pool;
	snap_t s0, s1;
	unsigned i;

	parse_args(&b, argc, argv);
	apr_initialize();
	apr_pool_create(&pool, NULL);
	if (sb_srtp_global_init())
		die("sb_srtp_global_init", APR_EGENERAL);
	bench_setup(&b, pool);
	pthread_create(&tr, NULL, receiver_main, &b);
	pthread_create(&ts, NULL, sender_main, &b);
	apr_sleep(apr_time_from_msec(500)); /* warm up, latch */
	snap_take(&b, &s0);
	apr_sleep(apr_time_from_sec(b.seconds));
	snap_take(&b, &s1);
	__atomic_store_n(&b.stop, 1, __ATOMIC_RELEASE);
	pthread_join(ts, NULL);
	pthread_join(tr, NULL);
	report(&b, &s0, &s1);
	for (i = 0; i < b.calls; i++) {
		sb_media_stream_close(b.a[i]);
		sb_media_stream_close(b.b[i]);
	}
	sb_media_destroy(b.media);
	apr_pool_destroy(pool);
	apr_terminate();
	return 0;
}
