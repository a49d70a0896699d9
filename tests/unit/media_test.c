/* media_test.c — the relay over real loopback sockets: relay both ways,
 * latching, RTCP and rtcp-mux, drops, relinking, IPv6. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <apr_general.h>
#include "media_fixture.h"

typedef media_call_t call_t;

/* A and B linked, each with its peer socket named as its SDP peer. */
static void call_open(call_t *c, unsigned threads)
{
	media_call_open(c, PORT_MIN, PORT_MAX, threads, 0);
	sb_media_stream_link(c->a, c->b);
}

/* Packets in a row a source the SDP did not name sends before it
 * latches (MEDIA_PROBATION in src/media/media_private.h). */
#define PROBATION 4

/* RTP sequence numbers go on across calls, as a phone's do. */
static unsigned next_seq = 1000;

/* @p n packets from @p from to @p port arrive intact at @p to from
 * @p via; returns how many did. */
static int relay_n(const peer_t *from, apr_port_t port, const peer_t *to,
		   apr_port_t via, unsigned n)
{
	unsigned char out[200], in[400];
	apr_port_t src = 0;
	unsigned i;
	int got = 0, len;

	for (i = 0; i < n; i++) {
		rtp_build(out, next_seq++, 0x1234, 172);
		assert_int_equal(peer_send(from, port, out, 172), 172);
		len = peer_recv(to, in, sizeof(in), 1000, &src);
		if (len == 172 && memcmp(in, out, 172) == 0 && src == via)
			got++;
	}
	return got;
}

/* @p n packets in sequence from @p from to @p port, not waited for. */
static void send_n(const peer_t *from, apr_port_t port, unsigned n)
{
	unsigned char out[200];
	unsigned i;

	for (i = 0; i < n; i++) {
		rtp_build(out, next_seq++, 0x1234, 172);
		assert_int_equal(peer_send(from, port, out, 172), 172);
	}
}

/* @p s sends to 127.0.0.1:@p port, latched there (@p latched 1) or
 * to its SDP's address (0). */
static void assert_peer(sb_media_stream_t *s, int latched, unsigned port)
{
	sb_media_stats_t st;
	char want[64];

	sb_media_stream_stats(s, &st);
	assert_int_equal(st.latched, latched);
	snprintf(want, sizeof(want), "127.0.0.1:%u", port);
	assert_string_equal(st.peer, want);
}

static void test_config(void **state)
{
	sb_media_config_t cfg = {PORT_MIN, PORT_MIN, 1};
	sb_media_stream_t *s;
	sb_media_t *m;

	(void)state;
	assert_int_equal(sb_media_create(&m, &cfg, pool), SB_ECONFIG);
	cfg.port_max = PORT_MIN + 1;
	cfg.threads = 0;
	assert_int_equal(sb_media_create(&m, &cfg, pool), SB_ECONFIG);
	cfg.threads = 65;
	assert_int_equal(sb_media_create(&m, &cfg, pool), SB_ECONFIG);
	cfg.threads = 1;
	cfg.port_min = 0;
	assert_int_equal(sb_media_create(&m, &cfg, pool), SB_ECONFIG);
	/* An odd start rounds up: 21001 → 21002, the only pair. */
	m = media_new(PORT_MIN + 1, PORT_MIN + 3, 1);
	assert_int_equal(sb_media_stream_open(m, "127.0.0.1", &s), APR_SUCCESS);
	assert_int_equal(sb_media_stream_port(s), PORT_MIN + 2);
	assert_int_equal(sb_media_stream_open(m, "nonsense", &s), APR_EINVAL);
	assert_int_equal(sb_media_stream_set_peer(s, "1.2.3", 4000, 0, 0),
			 APR_EINVAL);
	assert_int_equal(sb_media_stream_set_peer(s, "::1", 4000, 0, 0),
			 APR_EINVAL);
	assert_int_equal(sb_media_stream_set_peer(s, NULL, 4000, 0, 0),
			 APR_EINVAL);
	sb_media_stream_close(s);
	sb_media_destroy(m);
}

static void test_relay_both_ways(void **state)
{
	sb_media_stats_t st;
	call_t c;
	char want[64];

	(void)state;
	/* Two threads: A and B land on different ones. */
	call_open(&c, 2);
	assert_int_equal(relay_n(&c.pa, sb_media_stream_port(c.a), &c.pb,
				 sb_media_stream_port(c.b), 5),
			 5);
	assert_int_equal(relay_n(&c.pb, sb_media_stream_port(c.b), &c.pa,
				 sb_media_stream_port(c.a), 5),
			 5);
	sb_media_stream_stats(c.a, &st);
	assert_int_equal(st.rx_packets, 5);
	assert_int_equal(st.rx_bytes, 5 * 172);
	assert_int_equal(st.tx_packets, 5);
	assert_int_equal(st.tx_bytes, 5 * 172);
	assert_int_equal(st.latched, 1);
	assert_int_equal(st.dropped_source + st.dropped_other, 0);
	assert_true(st.last_rx > 0 && st.last_rx <= apr_time_now());
	snprintf(want, sizeof(want), "127.0.0.1:%u", c.pa.port);
	assert_string_equal(st.peer, want);
	sb_media_stream_stats(c.b, &st);
	assert_int_equal(st.rx_packets, 5);
	assert_int_equal(st.tx_packets, 5);
	media_call_close(&c);
}

static void test_latch_and_drop(void **state)
{
	unsigned char pkt[200], in[400];
	peer_t nat, other;
	call_t c;

	(void)state;
	call_open(&c, 1);
	assert_int_equal(peer_open(&nat), 0);
	assert_int_equal(peer_open(&other), 0);
	/* A's SDP names pa, but the packets come from nat (a phone behind
	 * NAT): on probation, dropped, until PROBATION of them in a row. */
	send_n(&nat, sb_media_stream_port(c.a), PROBATION - 1);
	assert_int_equal(STAT_WAIT(c.a, dropped_source, PROBATION - 1),
			 PROBATION - 1);
	assert_int_equal(STAT(c.a, latched), 0);
	assert_int_equal(peer_recv(&c.pb, in, sizeof(in), 50, NULL), -1);
	assert_int_equal(relay_n(&nat, sb_media_stream_port(c.a), &c.pb,
				 sb_media_stream_port(c.b), 1),
			 1);
	assert_peer(c.a, 1, nat.port);
	/* B's peer's answer goes to the latched source, not the SDP one. */
	assert_int_equal(relay_n(&c.pb, sb_media_stream_port(c.b), &nat,
				 sb_media_stream_port(c.a), 1),
			 1);
	assert_int_equal(peer_recv(&c.pa, in, sizeof(in), 100, NULL), -1);
	/* A third source is now dropped. */
	rtp_build(pkt, 7, 0x99, 172);
	peer_send(&other, sb_media_stream_port(c.a), pkt, 172);
	assert_int_equal(STAT_WAIT(c.a, dropped_source, PROBATION),
			 PROBATION);
	assert_int_equal(peer_recv(&c.pb, in, sizeof(in), 100, NULL), -1);
	assert_int_equal(STAT(c.a, rx_packets), 1);
	/* The SDP's address takes the stream back from one that got it by
	 * probation (a stranger, maybe, while the call rang), after a
	 * probation of its own (a forged packet from it does not) ... */
	send_n(&c.pa, sb_media_stream_port(c.a), PROBATION - 1);
	assert_int_equal(STAT_WAIT(c.a, dropped_source, 2 * PROBATION - 1),
			 2 * PROBATION - 1);
	assert_peer(c.a, 1, nat.port);
	assert_int_equal(relay_n(&c.pa, sb_media_stream_port(c.a), &c.pb,
				 sb_media_stream_port(c.b), 1),
			 1);
	assert_peer(c.a, 1, c.pa.port);
	assert_int_equal(relay_n(&c.pb, sb_media_stream_port(c.b), &c.pa,
				 sb_media_stream_port(c.a), 1),
			 1);
	/* ... and keeps it: the probation source is dropped from now on,
	 * however many packets it sends in sequence. */
	send_n(&nat, sb_media_stream_port(c.a), 2 * PROBATION);
	assert_int_equal(STAT_WAIT(c.a, dropped_source, 4 * PROBATION - 1),
			 4 * PROBATION - 1);
	assert_int_equal(peer_recv(&c.pb, in, sizeof(in), 100, NULL), -1);
	peer_close(&nat);
	peer_close(&other);
	media_call_close(&c);
}

/* No SDP address (port 0): the peer's packets, once on probation. */
static void test_latch_without_sdp(void **state)
{
	sb_media_stats_t st;
	call_t c;

	(void)state;
	call_open(&c, 2);
	assert_int_equal(sb_media_stream_set_peer(c.b, "127.0.0.1", 0, 0, 0),
			 APR_SUCCESS);
	sb_media_stream_stats(c.b, &st);
	assert_string_equal(st.peer, "");
	send_n(&c.pb, sb_media_stream_port(c.b), PROBATION - 1);
	assert_int_equal(STAT_WAIT(c.b, dropped_source, PROBATION - 1),
			 PROBATION - 1);
	assert_int_equal(relay_n(&c.pb, sb_media_stream_port(c.b), &c.pa,
				 sb_media_stream_port(c.a), 1),
			 1);
	assert_int_equal(relay_n(&c.pa, sb_media_stream_port(c.a), &c.pb,
				 sb_media_stream_port(c.b), 3),
			 3);
	media_call_close(&c);
}

/*
 * RTP Bleed: a stray packet that comes before the phone's does not take
 * the stream (the phone's SDP address latches at once and the stray one
 * is dropped from then on), and a source whose packets are not in
 * sequence (a scanner, a flood from several ports) never latches.
 */
static void test_stray_first_packet_does_not_latch(void **state)
{
	unsigned char pkt[200], in[400];
	peer_t stray;
	unsigned i;
	call_t c;

	(void)state;
	call_open(&c, 1);
	assert_int_equal(peer_open(&stray), 0);
	rtp_build(pkt, 40000, 0x99, 172);
	peer_send(&stray, sb_media_stream_port(c.a), pkt, 172);
	assert_int_equal(STAT_WAIT(c.a, dropped_source, 1), 1);
	assert_int_equal(STAT(c.a, latched), 0);
	assert_int_equal(peer_recv(&c.pb, in, sizeof(in), 50, NULL), -1);
	/* B's side still goes to A's SDP address, not the stray source. */
	assert_int_equal(relay_n(&c.pb, sb_media_stream_port(c.b), &c.pa,
				 sb_media_stream_port(c.a), 1),
			 1);
	assert_int_equal(relay_n(&c.pa, sb_media_stream_port(c.a), &c.pb,
				 sb_media_stream_port(c.b), 2),
			 2);
	assert_int_equal(STAT(c.a, latched), 1);
	/* Out of sequence, even many times over: never latched. */
	assert_int_equal(
	    sb_media_stream_set_peer(c.a, "127.0.0.1", 9, 0, 0), APR_SUCCESS);
	for (i = 0; i < 4 * PROBATION; i++) {
		rtp_build(pkt, 7 + 2 * i, 0x99, 172);
		peer_send(&stray, sb_media_stream_port(c.a), pkt, 172);
	}
	assert_int_equal(STAT_WAIT(c.a, dropped_source, 1 + 4 * PROBATION),
			 1 + 4 * PROBATION);
	assert_int_equal(STAT(c.a, latched), 0);
	assert_int_equal(peer_recv(&c.pb, in, sizeof(in), 50, NULL), -1);
	peer_close(&stray);
	media_call_close(&c);
}

/* A re-offer with the same addresses (session refresh, hold, resume)
 * keeps a latch learnt by probation: the phone behind NAT is not put on
 * probation again, nor sent to its private SDP address meanwhile. */
static void test_same_offer_keeps_latch(void **state)
{
	unsigned char in[400];
	peer_t nat;
	call_t c;

	(void)state;
	call_open(&c, 1);
	assert_int_equal(peer_open(&nat), 0);
	send_n(&nat, sb_media_stream_port(c.a), PROBATION - 1);
	assert_int_equal(relay_n(&nat, sb_media_stream_port(c.a), &c.pb,
				 sb_media_stream_port(c.b), 1),
			 1);
	/* As call_media.c does it: latching (on, as it was), then the
	 * address; neither changes anything. */
	sb_media_stream_set_latching(c.a, 1);
	assert_int_equal(
	    sb_media_stream_set_peer(c.a, "127.0.0.1", c.pa.port, 0, 0),
	    APR_SUCCESS);
	assert_peer(c.a, 1, nat.port);
	assert_int_equal(relay_n(&c.pb, sb_media_stream_port(c.b), &nat,
				 sb_media_stream_port(c.a), 1),
			 1);
	assert_int_equal(relay_n(&nat, sb_media_stream_port(c.a), &c.pb,
				 sb_media_stream_port(c.b), 1),
			 1);
	assert_int_equal(peer_recv(&c.pa, in, sizeof(in), 50, NULL), -1);
	/* rtcp-mux turned on is a change: learnt again. */
	assert_int_equal(
	    sb_media_stream_set_peer(c.a, "127.0.0.1", c.pa.port, 0, 1),
	    APR_SUCCESS);
	assert_int_equal(STAT(c.a, latched), 0);
	peer_close(&nat);
	media_call_close(&c);
}

/* Latching off (disable-rtp-auto-adjust): any source is taken, even in
 * sequence never latched; what goes back goes to the SDP's address. */
static void test_latching_off(void **state)
{
	unsigned char in[400];
	peer_t other;
	call_t c;

	(void)state;
	call_open(&c, 1);
	assert_int_equal(peer_open(&other), 0);
	sb_media_stream_set_latching(c.a, 0);
	assert_int_equal(relay_n(&other, sb_media_stream_port(c.a), &c.pb,
				 sb_media_stream_port(c.b), 2 * PROBATION),
			 2 * PROBATION);
	assert_int_equal(STAT(c.a, latched), 0);
	assert_int_equal(STAT(c.a, dropped_source), 0);
	assert_int_equal(relay_n(&c.pb, sb_media_stream_port(c.b), &c.pa,
				 sb_media_stream_port(c.a), 1),
			 1);
	assert_int_equal(peer_recv(&other, in, sizeof(in), 50, NULL), -1);
	/* On again: learnt as usual. */
	sb_media_stream_set_latching(c.a, 1);
	assert_int_equal(relay_n(&other, sb_media_stream_port(c.a), &c.pb,
				 sb_media_stream_port(c.b), 1),
			 0);
	peer_close(&other);
	media_call_close(&c);
}

static void test_set_peer_unlatches(void **state)
{
	peer_t second;
	call_t c;

	(void)state;
	call_open(&c, 1);
	assert_int_equal(peer_open(&second), 0);
	assert_int_equal(relay_n(&c.pa, sb_media_stream_port(c.a), &c.pb,
				 sb_media_stream_port(c.b), 1),
			 1);
	assert_int_equal(relay_n(&second, sb_media_stream_port(c.a), &c.pb,
				 sb_media_stream_port(c.b), 1),
			 0);
	/* re-INVITE to another address: unlatched, and that address is
	 * the one taken at once. */
	assert_int_equal(
	    sb_media_stream_set_peer(c.a, "127.0.0.1", second.port, 0, 0),
	    APR_SUCCESS);
	assert_peer(c.a, 0, second.port);
	assert_int_equal(relay_n(&second, sb_media_stream_port(c.a), &c.pb,
				 sb_media_stream_port(c.b), 1),
			 1);
	assert_int_equal(relay_n(&c.pb, sb_media_stream_port(c.b), &second,
				 sb_media_stream_port(c.a), 1),
			 1);
	assert_int_equal(STAT(c.a, dropped_source), 1);
	peer_close(&second);
	media_call_close(&c);
}

/* RTCP from a's RTCP peer to b's RTCP peer; true when it arrived intact
 * from @p via. */
static int rtcp_relayed(const peer_t *from, apr_port_t port, const peer_t *to,
			apr_port_t via)
{
	unsigned char out[64], in[128];
	apr_port_t src = 0;
	int len;

	rtcp_build(out, 0x4321);
	assert_int_equal(peer_send(from, port, out, 32), 32);
	len = peer_recv(to, in, sizeof(in), 1000, &src);
	return len == 32 && memcmp(in, out, 32) == 0 && src == via;
}

static void test_rtcp_and_mux(void **state)
{
	peer_t ra, rb, stray;
	apr_port_t pa, pb;
	call_t c;

	(void)state;
	call_open(&c, 2);
	pa = sb_media_stream_port(c.a);
	pb = sb_media_stream_port(c.b);
	assert_int_equal(peer_open(&ra), 0);
	assert_int_equal(peer_open(&rb), 0);
	assert_int_equal(peer_open(&stray), 0);
	assert_int_equal(
	    sb_media_stream_set_peer(c.a, "127.0.0.1", c.pa.port, ra.port, 0),
	    APR_SUCCESS);
	assert_int_equal(
	    sb_media_stream_set_peer(c.b, "127.0.0.1", c.pb.port, rb.port, 0),
	    APR_SUCCESS);
	/* port+1 to port+1, both ways. */
	assert_true(rtcp_relayed(&ra, pa + 1, &rb, pb + 1));
	assert_true(rtcp_relayed(&rb, pb + 1, &ra, pa + 1));
	/* RTCP latched separately: another source on A's RTCP is dropped,
	 * while RTP from pa still latches RTP. */
	assert_false(rtcp_relayed(&stray, pa + 1, &rb, pb + 1));
	assert_int_equal(STAT(c.a, dropped_source), 1);
	assert_int_equal(STAT(c.a, latched), 0);
	assert_int_equal(relay_n(&c.pa, pa, &c.pb, pb, 1), 1);
	/* B's peer muxes: RTCP reaches its RTP port, from B's RTP port. */
	assert_int_equal(
	    sb_media_stream_set_peer(c.b, "127.0.0.1", c.pb.port, 0, 1),
	    APR_SUCCESS);
	assert_true(rtcp_relayed(&ra, pa + 1, &c.pb, pb));
	/* ... and sends it muxed to B's RTP port: RFC 5761 demux makes it
	 * RTCP, which goes to A's peer's RTCP port from A's RTCP port. */
	assert_true(rtcp_relayed(&c.pb, pb, &ra, pa + 1));
	/* RTP still flows both ways beside it. */
	assert_int_equal(relay_n(&c.pb, pb, &c.pa, pa, 2), 2);
	assert_int_equal(relay_n(&c.pa, pa, &c.pb, pb, 2), 2);
	peer_close(&ra);
	peer_close(&rb);
	peer_close(&stray);
	media_call_close(&c);
}

static void test_drops(void **state)
{
	unsigned char pkt[200], in[400];
	sb_media_stream_t *lone;
	sb_media_stats_t st;
	call_t c;

	(void)state;
	call_open(&c, 1);
	/* Malformed: too short, then not version 2.  Neither latches. */
	peer_send(&c.pa, sb_media_stream_port(c.a), "abc", 3);
	rtp_build(pkt, 1, 1, 172);
	pkt[0] = 0x00;
	peer_send(&c.pa, sb_media_stream_port(c.a), pkt, 172);
	assert_int_equal(STAT_WAIT(c.a, dropped_other, 2), 2);
	assert_int_equal(STAT(c.a, latched), 0);
	assert_int_equal(STAT(c.a, last_rx), 0);
	/* B has no peer address yet: A's packet is accepted, then dropped. */
	assert_int_equal(sb_media_stream_set_peer(c.b, "0.0.0.0", 9, 0, 0),
			 APR_SUCCESS);
	rtp_build(pkt, 2, 1, 172);
	peer_send(&c.pa, sb_media_stream_port(c.a), pkt, 172);
	assert_int_equal(STAT_WAIT(c.a, dropped_other, 3), 3);
	assert_int_equal(STAT(c.a, rx_packets), 1);
	assert_int_equal(STAT(c.a, latched), 1);
	/* Unlinked: dropped, but it latches and counts as received. */
	assert_int_equal(sb_media_stream_open(c.m, "127.0.0.1", &lone),
			 APR_SUCCESS);
	send_n(&c.pa, sb_media_stream_port(lone), PROBATION);
	assert_int_equal(STAT_WAIT(lone, dropped_other, 1), 1);
	assert_int_equal(STAT(lone, dropped_source), PROBATION - 1);
	sb_media_stream_stats(lone, &st);
	assert_int_equal(st.latched, 1);
	assert_int_equal(st.rx_packets, 1);
	assert_true(st.last_rx > 0);
	sb_media_stream_close(lone);
	/* Unlinking stops both directions. */
	sb_media_stream_link(c.b, NULL);
	assert_int_equal(
	    sb_media_stream_set_peer(c.b, "127.0.0.1", c.pb.port, 0, 0),
	    APR_SUCCESS);
	peer_send(&c.pb, sb_media_stream_port(c.b), pkt, 172);
	peer_send(&c.pa, sb_media_stream_port(c.a), pkt, 172);
	assert_int_equal(STAT_WAIT(c.b, dropped_other, 1), 1);
	assert_int_equal(STAT_WAIT(c.a, dropped_other, 4), 4);
	assert_int_equal(peer_recv(&c.pa, in, sizeof(in), 50, NULL), -1);
	assert_int_equal(peer_recv(&c.pb, in, sizeof(in), 50, NULL), -1);
	media_call_close(&c);
}

static void test_relink(void **state)
{
	sb_media_stream_t *d;
	peer_t pd;
	call_t c;

	(void)state;
	call_open(&c, 2);
	assert_int_equal(sb_media_stream_open(c.m, "127.0.0.1", &d),
			 APR_SUCCESS);
	assert_int_equal(peer_open(&pd), 0);
	assert_int_equal(
	    sb_media_stream_set_peer(d, "127.0.0.1", pd.port, 0, 0),
	    APR_SUCCESS);
	/* Transfer: A now talks to D; B is left alone. */
	sb_media_stream_link(c.a, d);
	assert_int_equal(relay_n(&c.pa, sb_media_stream_port(c.a), &pd,
				 sb_media_stream_port(d), 2),
			 2);
	assert_int_equal(relay_n(&pd, sb_media_stream_port(d), &c.pa,
				 sb_media_stream_port(c.a), 2),
			 2);
	assert_int_equal(relay_n(&c.pb, sb_media_stream_port(c.b), &c.pa,
				 sb_media_stream_port(c.a), 1),
			 0);
	assert_int_equal(STAT(c.b, dropped_other), 1);
	/* Closing D unlinks A. */
	sb_media_stream_close(d);
	assert_int_equal(relay_n(&c.pa, sb_media_stream_port(c.a), &pd, 0, 1),
			 0);
	assert_int_equal(STAT_WAIT(c.a, dropped_other, 1), 1);
	peer_close(&pd);
	media_call_close(&c);
}

static void test_ipv6(void **state)
{
	unsigned char out[200], in[400];
	sb_media_stream_t *a, *b;
	struct sockaddr_in6 sa = {.sin6_family = AF_INET6};
	socklen_t len = sizeof(sa);
	sb_media_stats_t st;
	sb_media_t *m;
	int fa, fb;
	apr_port_t pa, pb;
	char want[64];

	(void)state;
	m = media_new(PORT_MIN, PORT_MAX, 1);
	if (sb_media_stream_open(m, "::1", &a) != APR_SUCCESS) {
		sb_media_destroy(m);
		skip(); /* no IPv6 loopback here */
	}
	assert_int_equal(sb_media_stream_open(m, "[::1]", &b), APR_SUCCESS);
	sa.sin6_addr = in6addr_loopback;
	fa = socket(AF_INET6, SOCK_DGRAM, 0);
	fb = socket(AF_INET6, SOCK_DGRAM, 0);
	assert_int_equal(bind(fa, (struct sockaddr *)&sa, sizeof(sa)), 0);
	getsockname(fa, (struct sockaddr *)&sa, &len);
	pa = ntohs(sa.sin6_port);
	sa.sin6_port = 0;
	assert_int_equal(bind(fb, (struct sockaddr *)&sa, sizeof(sa)), 0);
	getsockname(fb, (struct sockaddr *)&sa, &len);
	pb = ntohs(sa.sin6_port);
	assert_int_equal(sb_media_stream_set_peer(a, "::1", pa, 0, 0),
			 APR_SUCCESS);
	assert_int_equal(sb_media_stream_set_peer(b, "::1", pb, 0, 0),
			 APR_SUCCESS);
	sb_media_stream_link(a, b);
	rtp_build(out, 1, 2, 100);
	sa.sin6_port = htons(sb_media_stream_port(a));
	assert_int_equal(
	    sendto(fa, out, 100, 0, (struct sockaddr *)&sa, sizeof(sa)), 100);
	{
		struct pollfd pfd = {.fd = fb, .events = POLLIN};

		assert_int_equal(poll(&pfd, 1, 1000), 1);
	}
	assert_int_equal(recv(fb, in, sizeof(in), 0), 100);
	assert_memory_equal(in, out, 100);
	sb_media_stream_stats(a, &st);
	snprintf(want, sizeof(want), "[::1]:%u", pa);
	assert_string_equal(st.peer, want);
	close(fa);
	close(fb);
	sb_media_stream_close(a);
	sb_media_stream_close(b);
	sb_media_destroy(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    pool_test(test_config),
	    pool_test(test_relay_both_ways),
	    pool_test(test_latch_and_drop),
	    pool_test(test_latch_without_sdp),
	    pool_test(test_same_offer_keeps_latch),
	    pool_test(test_latching_off),
	    pool_test(test_set_peer_unlatches),
	    pool_test(test_stray_first_packet_does_not_latch),
	    pool_test(test_rtcp_and_mux),
	    pool_test(test_drops),
	    pool_test(test_relink),
	    pool_test(test_ipv6),
	};
	int rc;

	apr_initialize();
	/* Below Linux's ephemeral range, where the peers' ports come from. */
	if (media_ports(21000, 1000) != 0)
		return 1;
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	apr_terminate();
	return rc;
}
