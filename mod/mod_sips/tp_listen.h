/* tp_listen.h — a profile's listening sockets: UDP, TCP and TLS. */
#ifndef SIPS_TP_LISTEN_H
#define SIPS_TP_LISTEN_H

#include "profile.h"

/**
 * Bind @p l (its transport and port set) on the profile's sip-ip. On
 * failure @p why names the address and the cause.
 */
apr_status_t listener_bind(sips_listener_t *l, const char *ip,
			   apr_pool_t *pool, char *why, apr_size_t len);

/** Start and stop watching; run on the profile's listen worker. */
apr_status_t listener_watch(sips_listener_t *l, sb_worker_t *worker);
void listener_close(sips_listener_t *l);

#endif
