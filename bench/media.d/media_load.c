/* media_load.c — the phones of bench/media: for each call a plain G.711
 * phone (A) and an SDES-SRTP phone (B, AES_CM_128_HMAC_SHA1_80), each
 * sending one 20 ms packet every 20 ms to its leg of the relay and
 * checking what comes back.  One process, one thread, one socket per
 * side (every A phone shares one, every B phone the other); packets are
 * told apart by the relay port they come from.
 *
 *   media_load -n MAX_CALLS
 *
 * Prints "ready A_PORT B_PORT", then reads commands on stdin, one a line:
 *   call I A_RELAY_PORT B_RELAY_PORT TX_KEY RX_KEY   (keys: 60 hex digits;
 *        TX: what B protects with, RX: what the relay protects toward B)
 *   stop I
 *   mute 1|0 (every phone stops or resumes sending; they still receive)
 *   stats    -> one "stats key=value ..." line (totals since the start;
 *               silent_* and delay_* since the previous stats)
 *   quit
 * Calls are spread over the 20 ms: call I's A phone sends in millisecond
 * I % 20 of each period, its B phone 10 ms later, as independent phones
 * would, rather than in one burst.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include "srtp_lite.h"

#define VLEN 64
#define HDR 12
#define PAYLOAD 160
#define PKT (HDR + PAYLOAD)
#define SLOT 256
#define PERIOD_MS 20
#define MAGIC0 0xbe
#define MAGIC1 0x4c

typedef struct side {
	struct sockaddr_in to; /* the relay's port of this leg */
	uint32_t ssrc, ts;
	uint16_t seq;
	unsigned long sent, rcvd, mark; /* rcvd: packets this phone got */
} side_t;

typedef struct call {
	int active;
	side_t a, b;
	srtp_lite_t tx, rx; /* B's protect and unprotect */
} call_t;

typedef struct out {
	struct mmsghdr msg[VLEN];
	struct iovec iov[VLEN];
	unsigned char pkt[VLEN][SLOT];
	unsigned n;
} out_t;

typedef struct gen {
	call_t *calls;
	unsigned n;
	int fd[2]; /* 0: the A phones, 1: the B phones */
	uint16_t port[2];
	int32_t owner[2][65536]; /* relay port -> call index + 1 */
	out_t out[2];
	unsigned long tick;
	unsigned long auth_failed, replayed, malformed, bad_payload, unknown;
	unsigned long send_errors, late_ticks;
	int muted; /* no phone sends: what is in flight still arrives */
	/* Totals over the process's life, by direction (0: A->B, 1: B->A):
	 * a call's own counters start again with each call. */
	unsigned long sent[2], rcvd[2];
	double delay_sum, delay_max; /* us, since the last stats */
	unsigned long delay_n;
} gen_t;

static gen_t g;

static void die(const char *what)
{
	fprintf(stderr, "media_load: %s: %s\n", what, strerror(errno));
	exit(1);
}

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static int phone_socket(uint16_t *port)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0), big = 16 << 20;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, len) ||
	    getsockname(fd, (struct sockaddr *)&a, &len))
		die("phone socket");
	/* Root may pass rmem_max: the phones must not be where packets
	 * are lost. */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big)))
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &big, sizeof(big)))
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
	*port = ntohs(a.sin_port);
	return fd;
}

static void put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

static uint32_t get32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

/*
 * The payload says who sent it (direction, call, sequence, send time)
 * and the rest is a pattern from those: the receiver checks every byte,
 * whatever the relay did to the RTP header.
 */
static void payload_fill(unsigned char *p, int dir, unsigned i, uint16_t seq)
{
	uint64_t t = now_us();
	unsigned k;

	p[0] = MAGIC0;
	p[1] = MAGIC1;
	p[2] = (unsigned char)dir;
	put32(p + 3, i);
	p[7] = (unsigned char)(seq >> 8);
	p[8] = (unsigned char)seq;
	put32(p + 9, (uint32_t)(t >> 32));
	put32(p + 13, (uint32_t)t);
	for (k = 17; k < PAYLOAD; k++)
		p[k] = (unsigned char)(k * 7 + seq + i);
}

/* 0 when the payload is what call @p i's far phone sent. */
static int payload_check(const unsigned char *p, int dir, unsigned i)
{
	uint16_t seq = (uint16_t)(p[7] << 8 | p[8]);
	uint64_t sent = (uint64_t)get32(p + 9) << 32 | get32(p + 13), now;
	double d;
	unsigned k;

	if (p[0] != MAGIC0 || p[1] != MAGIC1 || p[2] != dir ||
	    get32(p + 3) != i)
		return -1;
	for (k = 17; k < PAYLOAD; k++)
		if (p[k] != (unsigned char)(k * 7 + seq + i))
			return -1;
	now = now_us();
	d = now > sent ? (double)(now - sent) : 0;
	g.delay_sum += d;
	g.delay_n++;
	if (d > g.delay_max)
		g.delay_max = d;
	return 0;
}

static void out_flush(int k)
{
	out_t *o = &g.out[k];
	unsigned off = 0;
	int r;

	while (off < o->n) {
		r = sendmmsg(g.fd[k], o->msg + off, o->n - off, 0);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			g.send_errors += o->n - off;
			break;
		}
		off += (unsigned)r;
	}
	o->n = 0;
}

/* One packet of call @p i from side @p k (0: A, plain; 1: B, SRTP). */
static void send_one(unsigned i, int k)
{
	call_t *c = &g.calls[i];
	side_t *s = k ? &c->b : &c->a;
	out_t *o = &g.out[k];
	unsigned char *p = o->pkt[o->n];
	size_t len = PKT;

	p[0] = 0x80;
	p[1] = 0; /* PCMU */
	p[2] = (unsigned char)(s->seq >> 8);
	p[3] = (unsigned char)s->seq;
	put32(p + 4, s->ts);
	put32(p + 8, s->ssrc);
	payload_fill(p + HDR, k, i, s->seq);
	if (k && srtp_lite_protect(&c->tx, p, &len, SLOT) != SRTP_LITE_OK) {
		g.malformed++;
		return;
	}
	s->seq++;
	s->ts += PAYLOAD;
	s->sent++;
	g.sent[k]++;
	o->iov[o->n].iov_len = len;
	o->msg[o->n].msg_hdr.msg_name = &s->to;
	if (++o->n == VLEN)
		out_flush(k);
}

/* Millisecond @p tick of the run: the phones whose turn it is. */
static void send_tick(unsigned long tick)
{
	unsigned slot = (unsigned)(tick % PERIOD_MS), i;

	if (g.muted)
		return;
	for (i = slot; i < g.n; i += PERIOD_MS)
		if (g.calls[i].active)
			send_one(i, 0);
	slot = (slot + PERIOD_MS / 2) % PERIOD_MS;
	for (i = slot; i < g.n; i += PERIOD_MS)
		if (g.calls[i].active)
			send_one(i, 1);
	out_flush(0);
	out_flush(1);
}

/* One packet that arrived on side @p k from relay port @p from. */
static void take(int k, unsigned char *p, size_t len, uint16_t from)
{
	int32_t own = g.owner[k][from];
	call_t *c;
	int rv;

	if (!own || !g.calls[own - 1].active) {
		g.unknown++;
		return;
	}
	c = &g.calls[own - 1];
	if (k) {
		rv = srtp_lite_unprotect(&c->rx, p, &len);
		if (rv == SRTP_LITE_EAUTH)
			g.auth_failed++;
		else if (rv == SRTP_LITE_EREPLAY)
			g.replayed++;
		else if (rv != SRTP_LITE_OK)
			g.malformed++;
		if (rv != SRTP_LITE_OK)
			return;
	}
	if (len != PKT || (p[0] & 0xc0) != 0x80 ||
	    payload_check(p + HDR, !k, (unsigned)own - 1)) {
		g.bad_payload++;
		return;
	}
	(k ? &c->b : &c->a)->rcvd++;
	g.rcvd[!k]++;
}

static void receive(int k)
{
	static unsigned char buf[VLEN][2048];
	static struct sockaddr_in from[VLEN];
	struct mmsghdr msg[VLEN];
	struct iovec iov[VLEN];
	int r, j;

	do {
		memset(msg, 0, sizeof(msg));
		for (j = 0; j < VLEN; j++) {
			iov[j].iov_base = buf[j];
			iov[j].iov_len = sizeof(buf[j]);
			msg[j].msg_hdr.msg_iov = &iov[j];
			msg[j].msg_hdr.msg_iovlen = 1;
			msg[j].msg_hdr.msg_name = &from[j];
			msg[j].msg_hdr.msg_namelen = sizeof(from[j]);
		}
		r = recvmmsg(g.fd[k], msg, VLEN, MSG_DONTWAIT, NULL);
		for (j = 0; j < r; j++)
			take(k, buf[j], msg[j].msg_len,
			     ntohs(from[j].sin_port));
	} while (r == VLEN);
}

static int hex_key(const char *h, unsigned char *out)
{
	unsigned j, v;

	if (strlen(h) != 2 * SRTP_LITE_KEY_SALT)
		return -1;
	for (j = 0; j < SRTP_LITE_KEY_SALT; j++) {
		if (sscanf(h + 2 * j, "%2x", &v) != 1)
			return -1;
		out[j] = (unsigned char)v;
	}
	return 0;
}

static void call_stop(unsigned i)
{
	call_t *c = &g.calls[i];

	if (!c->active)
		return;
	c->active = 0;
	srtp_lite_free(&c->tx);
	srtp_lite_free(&c->rx);
}

static int call_start(unsigned i, unsigned pa, unsigned pb, const char *txk,
		      const char *rxk)
{
	unsigned char tk[SRTP_LITE_KEY_SALT], rk[SRTP_LITE_KEY_SALT];
	call_t *c;

	if (i >= g.n || !pa || pa > 65535 || !pb || pb > 65535 ||
	    hex_key(txk, tk) || hex_key(rxk, rk))
		return -1;
	call_stop(i);
	c = &g.calls[i];
	memset(c, 0, sizeof(*c));
	if (srtp_lite_init(&c->tx, tk) || srtp_lite_init(&c->rx, rk))
		return -1;
	c->a.to.sin_family = c->b.to.sin_family = AF_INET;
	c->a.to.sin_addr.s_addr = c->b.to.sin_addr.s_addr =
	    htonl(INADDR_LOOPBACK);
	c->a.to.sin_port = htons((uint16_t)pa);
	c->b.to.sin_port = htons((uint16_t)pb);
	c->a.ssrc = 0x10000000u + i;
	c->b.ssrc = 0x20000000u + i;
	c->a.seq = (uint16_t)(i * 977u);
	c->b.seq = (uint16_t)(i * 977u + 30000u);
	g.owner[0][pa] = (int32_t)i + 1;
	g.owner[1][pb] = (int32_t)i + 1;
	c->active = 1;
	return 0;
}

static void stats(void)
{
	unsigned long silent_a = 0, silent_b = 0, active = 0;
	struct rusage ru;
	unsigned i;

	for (i = 0; i < g.n; i++) {
		call_t *c = &g.calls[i];

		if (!c->active)
			continue;
		active++;
		silent_a += c->a.rcvd == c->a.mark;
		silent_b += c->b.rcvd == c->b.mark;
		c->a.mark = c->a.rcvd;
		c->b.mark = c->b.rcvd;
	}
	getrusage(RUSAGE_SELF, &ru);
	printf("stats t=%.6f active=%lu sent_ab=%lu sent_ba=%lu rcvd_ab=%lu "
	       "rcvd_ba=%lu auth_failed=%lu replayed=%lu malformed=%lu "
	       "bad_payload=%lu unknown=%lu send_errors=%lu late_ticks=%lu "
	       "silent_a=%lu silent_b=%lu delay_mean_us=%.0f "
	       "delay_max_us=%.0f cpu=%.6f\n",
	       now_us() / 1e6, active, g.sent[0], g.sent[1], g.rcvd[0],
	       g.rcvd[1], g.auth_failed,
	       g.replayed, g.malformed, g.bad_payload, g.unknown,
	       g.send_errors, g.late_ticks, silent_a, silent_b,
	       g.delay_n ? g.delay_sum / g.delay_n : 0, g.delay_max,
	       ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
		   ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6);
	g.delay_sum = g.delay_max = 0;
	g.delay_n = 0;
}

/* 0 to go on, 1 on quit. */
static int command(char *line)
{
	char verb[16], tk[80], rk[80];
	unsigned i, pa, pb;

	if (sscanf(line, "%15s", verb) != 1)
		return 0;
	if (!strcmp(verb, "call") &&
	    sscanf(line, "call %u %u %u %79s %79s", &i, &pa, &pb, tk, rk) ==
		5) {
		if (call_start(i, pa, pb, tk, rk))
			printf("error call %u\n", i);
	} else if (!strcmp(verb, "stop") && sscanf(line, "stop %u", &i) == 1) {
		if (i < g.n)
			call_stop(i);
	} else if (!strcmp(verb, "mute") && sscanf(line, "mute %u", &i) == 1) {
		g.muted = i != 0;
	} else if (!strcmp(verb, "stats")) {
		stats();
	} else if (!strcmp(verb, "quit")) {
		return 1;
	} else {
		printf("error unknown command\n");
	}
	return 0;
}

/* Whole lines from stdin; 1 at EOF or quit. */
static int read_commands(void)
{
	static char buf[65536];
	static size_t have;
	char *nl, *line;
	ssize_t r = read(0, buf + have, sizeof(buf) - 1 - have);

	if (r <= 0)
		return r < 0 && errno == EAGAIN ? 0 : 1;
	have += (size_t)r;
	buf[have] = 0;
	line = buf;
	while ((nl = strchr(line, '\n'))) {
		*nl = 0;
		if (command(line))
			return 1;
		line = nl + 1;
	}
	have -= (size_t)(line - buf);
	memmove(buf, line, have);
	if (have == sizeof(buf) - 1)
		have = 0; /* a line that long is no command */
	return 0;
}

static void out_init(void)
{
	unsigned k, j;

	for (k = 0; k < 2; k++)
		for (j = 0; j < VLEN; j++) {
			g.out[k].iov[j].iov_base = g.out[k].pkt[j];
			g.out[k].msg[j].msg_hdr.msg_iov = &g.out[k].iov[j];
			g.out[k].msg[j].msg_hdr.msg_iovlen = 1;
			g.out[k].msg[j].msg_hdr.msg_namelen =
			    sizeof(struct sockaddr_in);
		}
}

static int add_fd(int ep, int fd, uint32_t tag)
{
	struct epoll_event ev = {.events = EPOLLIN};

	ev.data.u32 = tag;
	return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}

int main(int argc, char **argv)
{
	struct itimerspec its = {{0, 1000000}, {0, 1000000}};
	struct epoll_event ev[8];
	uint64_t ticks;
	int ep, tfd, n, j, c, done = 0;

	while ((c = getopt(argc, argv, "n:")) != -1) {
		if (c != 'n' || (g.n = (unsigned)atoi(optarg)) == 0 ||
		    g.n > 100000) {
			fprintf(stderr, "usage: media_load -n MAX_CALLS\n");
			return 2;
		}
	}
	if (!g.n)
		g.n = 1000;
	g.calls = calloc(g.n, sizeof(*g.calls));
	g.fd[0] = phone_socket(&g.port[0]);
	g.fd[1] = phone_socket(&g.port[1]);
	out_init();
	ep = epoll_create1(0);
	tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
	if (!g.calls || ep < 0 || tfd < 0 || timerfd_settime(tfd, 0, &its, 0))
		die("setup");
	if (add_fd(ep, 0, 10) || add_fd(ep, tfd, 11) ||
	    add_fd(ep, g.fd[0], 0) || add_fd(ep, g.fd[1], 1))
		die("epoll_ctl");
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("ready %u %u\n", g.port[0], g.port[1]);
	while (!done) {
		n = epoll_wait(ep, ev, 8, -1);
		if (n < 0 && errno != EINTR)
			die("epoll_wait");
		for (j = 0; j < n; j++) {
			if (ev[j].data.u32 < 2) {
				receive((int)ev[j].data.u32);
			} else if (ev[j].data.u32 == 11) {
				if (read(tfd, &ticks, sizeof(ticks)) != 8)
					continue;
				/* Behind: catch up, one slot at a time. */
				g.late_ticks += ticks - 1;
				while (ticks--)
					send_tick(g.tick++);
			} else {
				done = read_commands();
			}
		}
	}
	return 0;
}
