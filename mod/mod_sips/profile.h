/* profile.h — a SIP profile: its settings, listeners and TLS context. */
#ifndef SIPS_PROFILE_H
#define SIPS_PROFILE_H

#include <apr_ring.h>
#include <apr_thread_mutex.h>
#include <libxml/tree.h>
#include "sipsbridge/sb_runtime.h"
#include "flow.h"
#include "profile_params.h"
#include "tls_ctx.h"
#include "txn.h"

typedef struct stream_conn stream_conn_t;

/** One listening socket of a profile, watched by one worker. */
typedef struct sips_listener {
	struct sips_profile *profile;
	sips_transport_e transport;
	apr_socket_t *sock;
	sb_io_t io;
	unsigned port;
} sips_listener_t;

typedef struct sips_profile {
	apr_pool_t *pool;
	const char *name;
	const char *file; /* where <profile> was read, for messages */
	int line;
	sips_settings_t settings;
	txn_timers_t timers; /* from timer-T1/T2/T4 */
	tls_ctx_t *tls;
	struct digest *digest; /* nonces of this profile's challenges */
	sb_loop_t *loop;
	sb_worker_t *listen_worker;
	sips_listener_t listeners[SIPS_TP_COUNT];
	int running;
	const char *error; /* why it is not running */

	apr_thread_mutex_t *lock; /* guards conns and the counters below */
	APR_RING_HEAD(conn_ring, stream_conn) conns;
	unsigned open_conns[SIPS_TP_COUNT];
	struct apr_hash_t *conns_per_ip; /* ip text -> count */
	struct apr_hash_t *outbound; /* "tp|host|ip:port" -> flow id (reuse) */
	apr_uint64_t refused_conns;
	apr_uint64_t handshakes_ok;
	apr_uint64_t handshakes_failed;
	apr_uint64_t udp_datagrams;
	struct src_guard *guard; /* per-source limits (src_guard.c) */
	apr_time_t last_ping; /* all-reg-options-ping, sweep thread only */

	struct sips_profile *next;
} sips_profile_t;

/**
 * Read one <profile> element: name, <settings><param>. Unknown
 * parameters are warned about; a bad value fails the profile.
 */
apr_status_t profile_create(sips_profile_t **out, const sb_config_t *cfg,
			    const xmlNode *node, const sips_settings_t *base,
			    sb_loop_t *loop, apr_pool_t *parent);

/** Load TLS, bind and watch every listener; on failure nothing stays. */
apr_status_t profile_start(sips_profile_t *p);
/** Close listeners and every connection. Not from a worker thread.
 * Its calls and transactions stay (sends through it fail): end them
 * with call_end_profile and endpoint_profile_gone, in that order. */
void profile_stop(sips_profile_t *p);
/** Stop it (if running), end its transactions and free it; its calls
 * must have ended (call_end_profile). Not from a worker thread. */
void profile_destroy(sips_profile_t *p);

/**
 * sips profile NAME reload-tls, and SIGHUP: a new TLS context from the
 * profile's agent.pem and cafile.pem with its settings, swapped in only
 * if it passes the checks of profile_start (logged, SB02115); else
 * @p why names the file and the cause (logged, SB02116) and the old one
 * serves on. Call with the module lock held.
 */
apr_status_t profile_reload_tls(sips_profile_t *p, char *why, apr_size_t len);

/**
 * Log every certificate of @p p (agent.pem, each CA of cafile.pem) that
 * is within cert-warn-days, 14 or 7 days of expiry or expired; returns
 * how many. Call with the module lock held (a reload changes them).
 */
unsigned profile_check_certs(const sips_profile_t *p, apr_time_t now);

#endif
