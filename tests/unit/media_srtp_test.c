/* media_srtp_test.c — the relay's SRTP path: plain on A, SRTP on B,
 * forged and replayed packets, key changes while packets flow. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <cmocka.h>
#include <apr_general.h>
#include "media_fixture.h"

#define SUITE SB_SRTP_AES_CM_128_HMAC_SHA1_80
#define KEYLEN 30
#define TAG 10

/* A plain, B SRTP; the B-side phone has its own sessions. */
typedef struct call {
	media_call_t mc;
	unsigned char to_b[KEYLEN];   /* we protect toward B's phone */
	unsigned char from_b[KEYLEN]; /* B's phone protects toward us */
	sb_srtp_t *phone_rx, *phone_tx;
	apr_size_t tag; /* of B's phone's SRTP: TAG, 0 unauthenticated */
} call_t;

static void call_open(call_t *c, unsigned threads)
{
	assert_int_equal(sb_srtp_global_init(), APR_SUCCESS);
	/* B's phone muxes: its RTCP comes back on its one socket. */
	media_call_open(&c->mc, PORT_MIN, PORT_MAX, threads, 1);
	c->tag = TAG;
	assert_int_equal(sb_srtp_keygen(SUITE, c->to_b, KEYLEN), APR_SUCCESS);
	assert_int_equal(sb_srtp_keygen(SUITE, c->from_b, KEYLEN), APR_SUCCESS);
	assert_int_equal(sb_media_stream_set_srtp(c->mc.b, SB_SRTP_PROTECT,
						  SUITE, c->to_b, KEYLEN, 0),
			 APR_SUCCESS);
	assert_int_equal(sb_media_stream_set_srtp(c->mc.b, SB_SRTP_UNPROTECT,
						  SUITE, c->from_b, KEYLEN, 0),
			 APR_SUCCESS);
	assert_int_equal(sb_srtp_create(&c->phone_rx, SUITE, c->to_b, KEYLEN,
					SB_SRTP_UNPROTECT, 0, pool),
			 APR_SUCCESS);
	assert_int_equal(sb_srtp_create(&c->phone_tx, SUITE, c->from_b, KEYLEN,
					SB_SRTP_PROTECT, 0, pool),
			 APR_SUCCESS);
	sb_media_stream_link(c->mc.a, c->mc.b);
}

static void call_close(call_t *c)
{
	sb_srtp_destroy(c->phone_rx);
	sb_srtp_destroy(c->phone_tx);
	media_call_close(&c->mc);
}

/* A's phone sends plain seq; B's phone gets SRTP it can unprotect. */
static int a_to_b(call_t *c, unsigned seq)
{
	unsigned char out[200], in[400];
	apr_size_t len;
	int n;

	rtp_build(out, seq, 0xa0a0, 172);
	peer_send(&c->mc.pa, sb_media_stream_port(c->mc.a), out, 172);
	n = peer_recv(&c->mc.pb, in, sizeof(in), 1000, NULL);
	if (n != 172 + TAG || memcmp(in + 12, out + 12, 160) == 0)
		return 0;
	len = (apr_size_t)n;
	if (sb_srtp_rtp(c->phone_rx, in, &len, sizeof(in)) != APR_SUCCESS)
		return 0;
	return len == 172 && memcmp(in, out, 172) == 0;
}

/* B's phone protects seq into @p wire (its length returned). */
static apr_size_t phone_protect(call_t *c, unsigned seq, unsigned char *wire,
				apr_size_t cap)
{
	apr_size_t len = rtp_build(wire, seq, 0xb0b0, 172);

	assert_int_equal(sb_srtp_rtp(c->phone_tx, wire, &len, cap),
			 APR_SUCCESS);
	assert_int_equal(len, 172 + c->tag);
	return len;
}

/* B's phone sends SRTP seq; A's phone gets it plain. */
static int b_to_a(call_t *c, unsigned seq)
{
	unsigned char wire[400], in[400], plain[200];
	apr_size_t len = phone_protect(c, seq, wire, sizeof(wire));

	rtp_build(plain, seq, 0xb0b0, 172);
	peer_send(&c->mc.pb, sb_media_stream_port(c->mc.b), wire, len);
	return peer_recv(&c->mc.pa, in, sizeof(in), 1000, NULL) == 172 &&
	       memcmp(in, plain, 172) == 0;
}

static void test_srtp_relay(void **state)
{
	unsigned char out[64], in[128];
	apr_size_t len;
	call_t c;
	int n;
	unsigned i;

	(void)state;
	call_open(&c, 2);
	for (i = 0; i < 5; i++)
		assert_true(a_to_b(&c, 100 + i));
	for (i = 0; i < 5; i++)
		assert_true(b_to_a(&c, 200 + i));
	assert_int_equal(STAT(c.mc.b, tx_packets), 5);
	assert_int_equal(STAT(c.mc.b, tx_bytes), 5 * (172 + TAG));
	assert_int_equal(STAT(c.mc.b, rx_bytes), 5 * (172 + TAG));
	assert_int_equal(STAT(c.mc.a, tx_bytes), 5 * 172);
	/* RTCP from A's phone reaches B's muxing phone as SRTCP. */
	rtcp_build(out, 0xa0a0);
	peer_send(&c.mc.pa, sb_media_stream_port(c.mc.a) + 1, out, 32);
	n = peer_recv(&c.mc.pb, in, sizeof(in), 1000, NULL);
	assert_true(n > 32);
	len = (apr_size_t)n;
	assert_int_equal(sb_srtp_rtcp(c.phone_rx, in, &len, sizeof(in)),
			 APR_SUCCESS);
	assert_int_equal(len, 32);
	assert_memory_equal(in, out, 32);
	call_close(&c);
}

static void test_srtp_forged_and_replayed(void **state)
{
	unsigned char wire[400], in[400];
	apr_size_t len;
	call_t c;

	(void)state;
	call_open(&c, 1);
	assert_true(b_to_a(&c, 1));
	/* One flipped payload bit: dropped, counted, nothing reaches A. */
	len = phone_protect(&c, 2, wire, sizeof(wire));
	wire[40] ^= 0x01;
	peer_send(&c.mc.pb, sb_media_stream_port(c.mc.b), wire, len);
	assert_int_equal(STAT_WAIT(c.mc.b, srtp_auth_failed, 1), 1);
	assert_int_equal(peer_recv(&c.mc.pa, in, sizeof(in), 100, NULL), -1);
	/* The same good packet twice: the second is a replay. */
	len = phone_protect(&c, 3, wire, sizeof(wire));
	peer_send(&c.mc.pb, sb_media_stream_port(c.mc.b), wire, len);
	assert_int_equal(peer_recv(&c.mc.pa, in, sizeof(in), 1000, NULL), 172);
	peer_send(&c.mc.pb, sb_media_stream_port(c.mc.b), wire, len);
	assert_int_equal(STAT_WAIT(c.mc.b, srtp_replayed, 1), 1);
	assert_int_equal(peer_recv(&c.mc.pa, in, sizeof(in), 100, NULL), -1);
	assert_int_equal(STAT(c.mc.b, rx_packets), 2);
	assert_int_equal(STAT(c.mc.b, srtp_auth_failed), 1);
	assert_int_equal(STAT(c.mc.b, dropped_other), 0);
	call_close(&c);
}

/* A forged first packet must not latch: the real phone is still heard. */
static void test_srtp_no_latch_on_forgery(void **state)
{
	unsigned char junk[200];
	peer_t evil;
	call_t c;

	(void)state;
	call_open(&c, 1);
	assert_int_equal(peer_open(&evil), 0);
	rtp_build(junk, 9, 0xb0b0, 182);
	peer_send(&evil, sb_media_stream_port(c.mc.b), junk, 182);
	assert_int_equal(STAT_WAIT(c.mc.b, srtp_auth_failed, 1), 1);
	assert_int_equal(STAT(c.mc.b, latched), 0);
	assert_true(b_to_a(&c, 10));
	assert_int_equal(STAT(c.mc.b, latched), 1);
	peer_close(&evil);
	call_close(&c);
}

/*
 * Keys that come after a plain latch (B's stream is plain until its
 * answer): what was latched without authentication is learnt again, so
 * a stranger who latched B while it was plain loses it to the phone.
 */
static void test_keys_after_a_plain_latch_relearn(void **state)
{
	unsigned char pkt[200];
	call_t c;
	peer_t evil;
	unsigned i;

	(void)state;
	assert_int_equal(peer_open(&evil), 0);
	/* B plain, as before its answer; a stranger latches it by
	 * probation. */
	call_open(&c, 1);
	sb_media_stream_set_srtp(c.mc.b, SB_SRTP_UNPROTECT, SB_SRTP_NONE,
				 NULL, 0, 0);
	for (i = 0; i < 4; i++) {
		rtp_build(pkt, 200 + i, 0xe0e0, 172);
		peer_send(&evil, sb_media_stream_port(c.mc.b), pkt, 172);
	}
	assert_int_equal(STAT_WAIT(c.mc.b, rx_packets, 1), 1);
	assert_int_equal(STAT(c.mc.b, latched), 1);
	/* Its fourth packet reached A's phone while B was plain. */
	assert_int_equal(peer_recv(&c.mc.pa, pkt, sizeof(pkt), 1000, NULL),
			 172);
	assert_int_equal(sb_media_stream_set_srtp(c.mc.b, SB_SRTP_UNPROTECT,
						  SUITE, c.from_b, KEYLEN, 0),
			 APR_SUCCESS);
	assert_int_equal(STAT(c.mc.b, latched), 0);
	/* Keys: unlatched; the stranger's plain packets fail
	 * authentication and the phone's SRTP latches. */
	rtp_build(pkt, 204, 0xe0e0, 182);
	peer_send(&evil, sb_media_stream_port(c.mc.b), pkt, 182);
	assert_int_equal(STAT_WAIT(c.mc.b, srtp_auth_failed, 1), 1);
	assert_true(b_to_a(&c, 10));
	assert_int_equal(STAT(c.mc.b, latched), 1);
	peer_close(&evil);
	call_close(&c);
}

/* UNAUTHENTICATED_SRTP (RFC 4568): any packet decrypts, so RTP learns
 * its source as a plain stream does: one stray packet latches nothing. */
static void test_unauthenticated_srtp_learns(void **state)
{
	unsigned char pkt[200];
	peer_t evil;
	call_t c;

	(void)state;
	call_open(&c, 1);
	assert_int_equal(sb_media_stream_set_srtp(
			     c.mc.b, SB_SRTP_UNPROTECT, SUITE, c.from_b,
			     KEYLEN, SB_SRTP_UNAUTHENTICATED_SRTP),
			 APR_SUCCESS);
	assert_int_equal(peer_open(&evil), 0);
	rtp_build(pkt, 300, 0xe0e0, 172);
	peer_send(&evil, sb_media_stream_port(c.mc.b), pkt, 172);
	assert_int_equal(STAT_WAIT(c.mc.b, dropped_source, 1), 1);
	assert_int_equal(STAT(c.mc.b, latched), 0);
	assert_int_equal(STAT(c.mc.b, rx_packets), 0);
	/* The phone, from its SDP's address, is taken at once. */
	sb_srtp_destroy(c.phone_tx);
	assert_int_equal(sb_srtp_create(&c.phone_tx, SUITE, c.from_b, KEYLEN,
					SB_SRTP_PROTECT,
					SB_SRTP_UNAUTHENTICATED_SRTP, pool),
			 APR_SUCCESS);
	c.tag = 0;
	assert_true(b_to_a(&c, 11));
	assert_int_equal(STAT(c.mc.b, latched), 1);
	peer_close(&evil);
	call_close(&c);
}

static void test_srtp_rekey_and_off(void **state)
{
	unsigned char key[KEYLEN], in[400], out[200];
	call_t c;

	(void)state;
	call_open(&c, 1);
	assert_true(a_to_b(&c, 1));
	/* A bad key is refused; the session in place keeps working. */
	assert_int_not_equal(sb_media_stream_set_srtp(c.mc.b, SB_SRTP_PROTECT,
						      SUITE, key, KEYLEN - 1,
						      0),
			     APR_SUCCESS);
	assert_int_equal(
	    sb_media_stream_set_srtp(c.mc.b, 7, SUITE, key, KEYLEN, 0),
	    APR_EINVAL);
	assert_true(a_to_b(&c, 2));
	/* A new key: the phone's old session no longer authenticates. */
	assert_int_equal(sb_srtp_keygen(SUITE, key, KEYLEN), APR_SUCCESS);
	assert_int_equal(sb_media_stream_set_srtp(c.mc.b, SB_SRTP_PROTECT,
						  SUITE, key, KEYLEN, 0),
			 APR_SUCCESS);
	assert_false(a_to_b(&c, 3));
	sb_srtp_destroy(c.phone_rx);
	assert_int_equal(sb_srtp_create(&c.phone_rx, SUITE, key, KEYLEN,
					SB_SRTP_UNPROTECT, 0, pool),
			 APR_SUCCESS);
	assert_true(a_to_b(&c, 4));
	/* Off: plain through. */
	assert_int_equal(sb_media_stream_set_srtp(c.mc.b, SB_SRTP_PROTECT,
						  SB_SRTP_NONE, NULL, 0, 0),
			 APR_SUCCESS);
	rtp_build(out, 5, 0xa0a0, 172);
	peer_send(&c.mc.pa, sb_media_stream_port(c.mc.a), out, 172);
	assert_int_equal(peer_recv(&c.mc.pb, in, sizeof(in), 1000, NULL), 172);
	assert_memory_equal(in, out, 172);
	call_close(&c);
}

/* What the blasting threads share with the test. */
typedef struct blast {
	call_t *c;
	int stop;
	unsigned sent;
} blast_t;

/* A's phone: plain RTP, as fast as the socket takes it. */
static void *blast_a(void *arg)
{
	blast_t *b = arg;
	unsigned char pkt[200];
	unsigned seq = 0;

	while (!__atomic_load_n(&b->stop, __ATOMIC_ACQUIRE)) {
		/* Not a_to_b's SSRC: its later check starts a fresh stream. */
		rtp_build(pkt, seq++, 0xa1a1, 172);
		if (peer_send(&b->c->mc.pa, sb_media_stream_port(b->c->mc.a),
			      pkt, 172) == 172)
			b->sent++;
		if (seq % 64 == 0)
			sched_yield();
	}
	return NULL;
}

/* B's phone: SRTP with its own key, which the test keeps swapping. */
static void *blast_b(void *arg)
{
	blast_t *b = arg;
	unsigned char wire[400];
	unsigned seq = 0;
	apr_size_t len;

	while (!__atomic_load_n(&b->stop, __ATOMIC_ACQUIRE)) {
		len = rtp_build(wire, seq++, 0xb0b0, 172);
		if (sb_srtp_rtp(b->c->phone_tx, wire, &len, sizeof(wire)) ==
			APR_SUCCESS &&
		    peer_send(&b->c->mc.pb, sb_media_stream_port(b->c->mc.b),
			      wire, len) == (int)len)
			b->sent++;
		if (seq % 64 == 0)
			sched_yield();
	}
	return NULL;
}

static void rekey_storm(call_t *c, int rounds)
{
	unsigned char key[KEYLEN];
	int i;

	for (i = 0; i < rounds; i++) {
		assert_int_equal(sb_srtp_keygen(SUITE, key, KEYLEN),
				 APR_SUCCESS);
		assert_int_equal(
		    sb_media_stream_set_srtp(c->mc.b, SB_SRTP_PROTECT, SUITE,
					     key, KEYLEN, 0),
		    APR_SUCCESS);
		/* Receive key: the phone's, a wrong one, or none. */
		if (i % 3 == 0)
			assert_int_equal(sb_media_stream_set_srtp(
					     c->mc.b, SB_SRTP_UNPROTECT, SUITE,
					     c->from_b, KEYLEN, 0),
					 APR_SUCCESS);
		else if (i % 3 == 1)
			assert_int_equal(
			    sb_media_stream_set_srtp(c->mc.b, SB_SRTP_UNPROTECT,
						     SUITE, key, KEYLEN, 0),
			    APR_SUCCESS);
		else
			assert_int_equal(
			    sb_media_stream_set_srtp(c->mc.b, SB_SRTP_UNPROTECT,
						     SB_SRTP_NONE, NULL, 0, 0),
			    APR_SUCCESS);
		apr_sleep(2000);
	}
}

/* Until the relay has worked through what the blasters queued. */
static void settle(call_t *c)
{
	apr_uint64_t last = ~0ull, now;
	int quiet = 0;

	while (quiet < 3) {
		apr_sleep(apr_time_from_msec(20));
		now = STAT(c->mc.a, rx_packets) + STAT(c->mc.a, dropped_other) +
		      STAT(c->mc.b, rx_packets) +
		      STAT(c->mc.b, srtp_auth_failed);
		quiet = now == last ? quiet + 1 : 0;
		last = now;
	}
	peer_drain(&c->mc.pa);
	peer_drain(&c->mc.pb);
}

static void test_srtp_rekey_under_load(void **state)
{
	blast_t ba = {0}, bb = {0};
	pthread_t ta, tb;
	sb_media_stats_t sa, sb;
	call_t c;

	(void)state;
	call_open(&c, 2);
	ba.c = bb.c = &c;
	assert_int_equal(pthread_create(&ta, NULL, blast_a, &ba), 0);
	assert_int_equal(pthread_create(&tb, NULL, blast_b, &bb), 0);
	rekey_storm(&c, 300);
	__atomic_store_n(&ba.stop, 1, __ATOMIC_RELEASE);
	__atomic_store_n(&bb.stop, 1, __ATOMIC_RELEASE);
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	sb_media_stream_stats(c.mc.a, &sa);
	sb_media_stream_stats(c.mc.b, &sb);
	print_message(
	    "storm: A->B %llu sent, %llu relayed; B->A %llu sent, "
	    "%llu relayed, %llu auth failures\n",
	    (unsigned long long)ba.sent, (unsigned long long)sb.tx_packets,
	    (unsigned long long)bb.sent, (unsigned long long)sa.tx_packets,
	    (unsigned long long)sb.srtp_auth_failed);
	/* Traffic flowed through every phase, both ways. */
	assert_true(ba.sent > 0 && bb.sent > 0);
	assert_true(sb.tx_packets > 0);
	assert_true(sa.tx_packets > 0);
	assert_true(sb.srtp_auth_failed > 0);
	/* Settled keys work at once: no packet sees half a change. */
	assert_int_equal(sb_media_stream_set_srtp(c.mc.b, SB_SRTP_PROTECT,
						  SUITE, c.to_b, KEYLEN, 0),
			 APR_SUCCESS);
	settle(&c);
	sb_srtp_destroy(c.phone_rx);
	assert_int_equal(sb_srtp_create(&c.phone_rx, SUITE, c.to_b, KEYLEN,
					SB_SRTP_UNPROTECT, 0, pool),
			 APR_SUCCESS);
	assert_true(a_to_b(&c, 1));
	call_close(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    pool_test(test_srtp_relay),
	    pool_test(test_srtp_forged_and_replayed),
	    pool_test(test_srtp_no_latch_on_forgery),
	    pool_test(test_keys_after_a_plain_latch_relearn),
	    pool_test(test_unauthenticated_srtp_learns),
	    pool_test(test_srtp_rekey_and_off),
	    pool_test(test_srtp_rekey_under_load),
	};
	int rc;

	apr_initialize();
	/* Below Linux's ephemeral range, where the peers' ports come from. */
	if (media_ports(22000, 1000) != 0)
		return 1;
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	apr_terminate();
	return rc;
}
