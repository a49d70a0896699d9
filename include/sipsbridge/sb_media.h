/* sb_media.h — the RTP/RTCP relay: port pairs, latching, SRTP, timeouts. */
#ifndef SB_MEDIA_H
#define SB_MEDIA_H

#include <apr_network_io.h>
#include <apr_time.h>
#include "sb_srtp.h"

/*
 * A stream is one local RTP port (even) and its RTCP port (+1) on one
 * local address: one per call leg per m-line.  Two linked streams relay
 * to each other: what the peer of A sends to A's ports leaves from B's
 * ports toward B's peer, and the reverse.  Relay threads own the
 * sockets; the functions below may be called from any thread.
 */

typedef struct sb_media sb_media_t;
typedef struct sb_media_stream sb_media_stream_t;

typedef struct sb_media_config {
	apr_port_t port_min; /**< first port of the range (rounded up to even) */
	apr_port_t port_max; /**< last port of the range */
	unsigned threads;    /**< relay threads, >= 1 */
} sb_media_config_t;

apr_status_t sb_media_create(sb_media_t **out, const sb_media_config_t *cfg,
			     apr_pool_t *pool);
/** Stops the relay threads; every stream must be closed before. */
void sb_media_destroy(sb_media_t *media);

/** Binds a free port pair on @p local_ip (IPv4 or IPv6 literal).
 * SB_ELIMIT when the range is exhausted.  Open, close, set_peer,
 * set_srtp, link and set_timeout run on the caller's thread and never
 * wait for a relay thread to act: at most for the lock it holds while
 * it handles one socket's packets. */
apr_status_t sb_media_stream_open(sb_media_t *media, const char *local_ip,
				  sb_media_stream_t **out);
/** After return no callback of the stream runs and its ports are free
 * (if the stream's own timeout callback is running, close waits for it
 * to return, unless called from that callback). */
void sb_media_stream_close(sb_media_stream_t *s);

apr_port_t sb_media_stream_port(const sb_media_stream_t *s);

/** The peer's address from its SDP (c= and m= port, a=rtcp, a=rtcp-mux).
 * @p rtcp_port 0 means rtp_port + 1.  Symmetric RTP: the peer's real
 * source address is latched and replaces this one: at once when it is
 * the SDP's (or, for RTCP, the IP RTP latched to), after MEDIA_PROBATION
 * packets in a row (RTP ones in sequence) otherwise, and for SRTP on the
 * first packet that authenticates.  Packets from other sources are
 * dropped and counted, except that the SDP's address takes back a plain
 * stream latched by probation (after a probation of its own).  Calling
 * again with other addresses
 * (re-INVITE) unlatches; with the same ones it keeps the latch.  Keys
 * set on a plain stream (sb_media_stream_set_srtp) unlatch it too. */
apr_status_t sb_media_stream_set_peer(sb_media_stream_t *s, const char *ip,
				      apr_port_t rtp_port,
				      apr_port_t rtcp_port, int rtcp_mux);

/** Latching on (the default: set_peer says how) or, @p on 0, off (a
 * change unlatches; the same value changes nothing): then
 * packets are taken from any source and sent only to the SDP's address,
 * for peers that send from another port than the one they receive on
 * (FreeSWITCH's disable-rtp-auto-adjust).  SRTP still authenticates. */
void sb_media_stream_set_latching(sb_media_stream_t *s, int on);

/** Relays between @p a and @p b (both directions); NULL @p b unlinks. */
void sb_media_stream_link(sb_media_stream_t *a, sb_media_stream_t *b);

/** SRTP with this stream's peer: SB_SRTP_UNPROTECT for what arrives from
 * it, SB_SRTP_PROTECT for what we send to it.  SB_SRTP_NONE (key NULL)
 * turns it off.  Replacing keys mid-call (re-INVITE) is clean: no packet
 * sees half of a change. */
apr_status_t sb_media_stream_set_srtp(sb_media_stream_t *s, sb_srtp_dir_t dir,
				      sb_srtp_suite_t suite,
				      const unsigned char *key_salt,
				      apr_size_t len, unsigned flags);

typedef struct sb_media_stats {
	apr_uint64_t rx_packets, rx_bytes;    /**< from the peer, accepted */
	apr_uint64_t tx_packets, tx_bytes;    /**< to the peer */
	apr_uint64_t dropped_source;          /**< not from the latched peer */
	apr_uint64_t srtp_auth_failed;
	apr_uint64_t srtp_replayed;
	apr_uint64_t dropped_other;           /**< malformed, no link, send error */
	apr_time_t last_rx;                   /**< 0 = never */
	int latched;
	char peer[64];                        /**< "ip:port" in use for RTP */
} sb_media_stats_t;

void sb_media_stream_stats(const sb_media_stream_t *s, sb_media_stats_t *out);

/** Called once, from a relay thread, when nothing has arrived from the
 * peer for @p after (counted from this call or the last packet).  0
 * turns it off.  Keep the callback short: post work to a worker.  It
 * may read stats, re-arm, open or close streams (its own too), but
 * must not destroy the relay (that aborts: a thread cannot join
 * itself). */
typedef void (*sb_media_timeout_fn)(void *baton);
void sb_media_stream_set_timeout(sb_media_stream_t *s,
				 apr_interval_time_t after,
				 sb_media_timeout_fn fn, void *baton);

#endif
