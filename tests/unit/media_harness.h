/* media_harness.h — loopback UDP peers and packet builders for media tests. */
#ifndef MEDIA_HARNESS_H
#define MEDIA_HARNESS_H

#include <errno.h>
#include <poll.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <apr_network_io.h>
#include <apr_time.h>
#include "sipsbridge/sb_media.h"

/* A peer socket on 127.0.0.1 with a kernel-chosen port. */
typedef struct peer {
	int fd;
	apr_port_t port;
} peer_t;

/* 1 when @p port on 127.0.0.1 can be bound by us (nobody holds it). */
static inline int harness_bindable(apr_port_t port)
{
	struct sockaddr_in a;
	int fd = socket(AF_INET, SOCK_DGRAM, 0), ok;

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = htons(port);
	ok = fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
	if (fd >= 0)
		close(fd);
	return ok;
}

/*
 * The first run of @p n free ports from @p from, starting even (the
 * relay's pairs): fixed test ports may be held by another program on
 * the machine.  0 when none below 30000.
 */
static inline apr_port_t harness_free_run(apr_port_t from, unsigned n)
{
	unsigned base = from & ~1u, got = 0;

	while (got < n && base + got < 30000) {
		if (harness_bindable((apr_port_t)(base + got))) {
			got++;
			continue;
		}
		base = (base + got + 2) & ~1u;
		got = 0;
	}
	return got == n ? (apr_port_t)base : 0;
}

static inline int peer_open(peer_t *p)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t len = sizeof(a);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	p->port = 0;
	p->fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (p->fd < 0 || bind(p->fd, (struct sockaddr *)&a, len) < 0 ||
	    getsockname(p->fd, (struct sockaddr *)&a, &len) < 0)
		return -1;
	p->port = ntohs(a.sin_port);
	return 0;
}

static inline void peer_close(peer_t *p)
{
	if (p->fd >= 0)
		close(p->fd);
	p->fd = -1;
}

static inline int peer_send(const peer_t *p, apr_port_t to, const void *buf,
			    size_t len)
{
	struct sockaddr_in a = {.sin_family = AF_INET};

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = htons(to);
	return (int)sendto(p->fd, buf, len, 0, (struct sockaddr *)&a,
			   sizeof(a));
}

/* One datagram within @p ms, its length, or -1; @p from gets its port. */
static inline int peer_recv(const peer_t *p, void *buf, size_t cap, int ms,
			    apr_port_t *from)
{
	struct pollfd pfd = {.fd = p->fd, .events = POLLIN};
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	ssize_t n;

	if (poll(&pfd, 1, ms) != 1)
		return -1;
	n = recvfrom(p->fd, buf, cap, 0, (struct sockaddr *)&a, &len);
	if (n >= 0 && from)
		*from = ntohs(a.sin_port);
	return (int)n;
}

/* Whatever is queued (late packets of an earlier step) is thrown away. */
static inline void peer_drain(const peer_t *p)
{
	unsigned char buf[2048];

	while (peer_recv(p, buf, sizeof(buf), 0, NULL) >= 0)
		;
}

/* RTP, PCMU, @p len bytes in all; the payload bytes are (seq + i). */
static inline size_t rtp_build(unsigned char *buf, unsigned seq, unsigned ssrc,
			       size_t len)
{
	size_t i;

	memset(buf, 0, 12);
	buf[0] = 0x80;
	buf[1] = 0; /* PT 0 */
	buf[2] = (unsigned char)(seq >> 8);
	buf[3] = (unsigned char)seq;
	buf[4] = (unsigned char)(seq * 160 >> 24);
	buf[5] = (unsigned char)(seq * 160 >> 16);
	buf[6] = (unsigned char)(seq * 160 >> 8);
	buf[7] = (unsigned char)(seq * 160);
	buf[8] = (unsigned char)(ssrc >> 24);
	buf[9] = (unsigned char)(ssrc >> 16);
	buf[10] = (unsigned char)(ssrc >> 8);
	buf[11] = (unsigned char)ssrc;
	for (i = 12; i < len; i++)
		buf[i] = (unsigned char)(seq + i);
	return len;
}

/* An RTCP receiver report with one block: 32 bytes. */
static inline size_t rtcp_build(unsigned char *buf, unsigned ssrc)
{
	memset(buf, 0, 32);
	buf[0] = 0x81; /* V=2, one report block */
	buf[1] = 201;  /* RR */
	buf[3] = 7;    /* length in words - 1 */
	buf[4] = (unsigned char)(ssrc >> 24);
	buf[5] = (unsigned char)(ssrc >> 16);
	buf[6] = (unsigned char)(ssrc >> 8);
	buf[7] = (unsigned char)ssrc;
	buf[8] = 0xab; /* report block's SSRC, recognisable */
	return 32;
}

static inline apr_uint64_t stat_get(sb_media_stream_t *s, size_t off)
{
	sb_media_stats_t st;

	sb_media_stream_stats(s, &st);
	return *(apr_uint64_t *)((char *)&st + off);
}

/* Polls an apr_uint64_t counter until it reaches @p want or 2 s pass. */
static inline apr_uint64_t stat_wait(sb_media_stream_t *s, size_t off,
				     apr_uint64_t want)
{
	apr_time_t deadline = apr_time_now() + apr_time_from_sec(2);
	apr_uint64_t v;

	while ((v = stat_get(s, off)) < want && apr_time_now() < deadline)
		apr_sleep(1000);
	return v;
}

/* Any field of a fresh snapshot. */
#define STAT(s, field)                                                         \
	({                                                                     \
		sb_media_stats_t st_;                                          \
		sb_media_stream_stats((s), &st_);                              \
		st_.field;                                                     \
	})
#define STAT_WAIT(s, field, want)                                              \
	stat_wait((s), offsetof(sb_media_stats_t, field), (want))

#endif
