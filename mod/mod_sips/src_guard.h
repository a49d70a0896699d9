/* src_guard.h — a profile's limits per source IP (TLS handshake rate, UDP
 * rate, failed-authentication block) and the throttled log of every limit. */
#ifndef SIPS_SRC_GUARD_H
#define SIPS_SRC_GUARD_H

#include "sipsbridge/sb_control.h"
#include "profile.h"

/**
 * The limits whose firing is counted and logged. The first firing is
 * logged at once; while it keeps firing, one summary line per
 * limit-log-interval says how many were not logged one by one.
 */
typedef enum {
	SRC_EV_HANDSHAKE_RATE = 0, /* SB02034 tls-handshake-rate */
	SRC_EV_HANDSHAKE_TIMEOUT,  /* SB02012 tls-timeout */
	SRC_EV_CONN_LIMIT,	   /* SB02030 max-connections(-per-ip) */
	SRC_EV_MSG_TIMEOUT,	   /* SB02031 msg-timeout */
	SRC_EV_MSG_CHUNKS,	   /* SB02032 max-msg-chunks */
	SRC_EV_BAD_FRAME,	   /* SB02033 max-msg-size, framing */
	SRC_EV_MSG_RATE,	   /* SB02035 max-msg-rate: 503 */
	SRC_EV_MSG_RATE_CLOSE,	   /* SB02036 msg-rate-close */
	SRC_EV_UDP_RATE,	   /* SB02037 max-udp-rate */
	SRC_EV_AUTH_BLOCK,	   /* SB02417 auth-block-failures */
	SRC_EV_AUTH_BLOCKED,	   /* SB02418 refused while blocked */
	SRC_EV_COUNT
} src_event_e;

typedef struct src_guard src_guard_t;

/**
 * The guard of @p p, allocated with its table of max-tracked-sources
 * entries; freed with p->pool. Call before the profile sees traffic.
 */
apr_status_t src_guard_create(sips_profile_t *p);

/** Start and stop the summary timer on @p worker (its own thread). */
void src_guard_start(sips_profile_t *p, sb_worker_t *worker);
void src_guard_stop(sips_profile_t *p);

/**
 * Log @p fmt (the event's tag, WARNING) unless the same limit of the
 * profile was logged less than limit-log-interval ago; count it either
 * way. Thread-safe.
 */
void src_guard_log(sips_profile_t *p, src_event_e ev, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/**
 * A TLS connection from @p ip may start its handshake: 0 (logged) when
 * the source is over tls-handshake-rate.
 */
int src_guard_handshake_ok(sips_profile_t *p, const char *ip, const char *peer);

/** A UDP datagram from @p ip may be handled: 0 (logged) when dropped. */
int src_guard_udp_ok(sips_profile_t *p, const char *ip, int port);

/** Seconds @p ip stays blocked for failed authentications, 0 if not. */
unsigned src_guard_blocked(sips_profile_t *p, const char *ip);

/**
 * A failed authentication from @p ip; after auth-block-failures within
 * auth-block-window the source is blocked for auth-block-time (logged).
 * Returns 1 when this failure started a block.
 */
int src_guard_auth_failed(sips_profile_t *p, const char *ip);

/** The `limits:` lines of `sips status profile X`. */
void src_guard_print(sb_stream_t *out, sips_profile_t *p);

/**
 * The table key of an address: IPv4 (also v4-mapped IPv6) as is, IPv6 by
 * its /64, since one host holds a whole /64. 0 when @p ip is not an
 * address. @p key has 17 bytes: family then 16 address bytes.
 */
int src_guard_key(const char *ip, unsigned char key[17]);

#endif
