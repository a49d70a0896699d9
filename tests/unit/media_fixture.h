/*
 * media_fixture.h — what the relay tests build on: the pool (around each
 * test with pool_test), a range of free ports, a relay over it, and a
 * call of two streams with a loopback phone each.
 * Included once, by a test's .c file.
 */
#ifndef SB_TEST_MEDIA_FIXTURE_H
#define SB_TEST_MEDIA_FIXTURE_H

#include "media_harness.h"
#include "pool_fixture.h"

/* The relay's ports, set by media_ports: fixed ones may be held by another
 * program on the machine. */
static apr_port_t PORT_MIN, PORT_MAX;

/* The first run of @p n free ports from @p from; 0, or -1 when none. */
static int media_ports(apr_port_t from, unsigned n)
{
	PORT_MIN = harness_free_run(from, n);
	PORT_MAX = (apr_port_t)(PORT_MIN + n - 1);
	return PORT_MIN ? 0 : -1;
}

static __attribute__((unused)) sb_media_t *
media_new(apr_port_t lo, apr_port_t hi, unsigned threads)
{
	sb_media_config_t cfg = {lo, hi, threads};
	sb_media_t *m = NULL;

	assert_int_equal(sb_media_create(&m, &cfg, pool), APR_SUCCESS);
	return m;
}

/* Streams A and B of one relay; pa and pb are their phones' sockets. */
typedef struct media_call {
	sb_media_t *m;
	sb_media_stream_t *a, *b;
	peer_t pa, pb;
} media_call_t;

/*
 * Each stream gets its phone as SDP peer, B's with rtcp-mux when
 * @p b_mux.  Linking is the caller's: it may set keys first.
 */
static __attribute__((unused)) void media_call_open(media_call_t *c,
						    apr_port_t lo,
						    apr_port_t hi,
						    unsigned threads, int b_mux)
{
	c->m = media_new(lo, hi, threads);
	assert_int_equal(sb_media_stream_open(c->m, "127.0.0.1", &c->a),
			 APR_SUCCESS);
	assert_int_equal(sb_media_stream_open(c->m, "127.0.0.1", &c->b),
			 APR_SUCCESS);
	assert_int_equal(peer_open(&c->pa), 0);
	assert_int_equal(peer_open(&c->pb), 0);
	assert_int_equal(
	    sb_media_stream_set_peer(c->a, "127.0.0.1", c->pa.port, 0, 0),
	    APR_SUCCESS);
	assert_int_equal(
	    sb_media_stream_set_peer(c->b, "127.0.0.1", c->pb.port, 0, b_mux),
	    APR_SUCCESS);
}

static __attribute__((unused)) void media_call_close(media_call_t *c)
{
	sb_media_stream_close(c->a);
	sb_media_stream_close(c->b);
	sb_media_destroy(c->m);
	peer_close(&c->pa);
	peer_close(&c->pb);
}

#endif
