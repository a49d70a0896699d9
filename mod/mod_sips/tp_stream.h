/* tp_stream.h — TCP and TLS connections: one state machine each. */
#ifndef SIPS_TP_STREAM_H
#define SIPS_TP_STREAM_H

#include "profile.h"

/**
 * Take an accepted socket (allocated in @p pool, which the connection
 * then owns) and run it on a worker chosen round-robin.
 */
void stream_conn_accepted(sips_profile_t *p, sips_transport_e tp,
			  apr_socket_t *sock, apr_pool_t *pool);

/**
 * Queue @p buf (copied) on connection @p c and flush what the socket
 * takes. Call on c's worker only (flow_post from elsewhere).
 */
void stream_conn_send(stream_conn_t *c, const char *buf, apr_size_t len);

/** Prepare the profile's (empty) connection list. */
void stream_conn_list_init(sips_profile_t *p);

/** Close every connection of @p p and wait. Not from a worker thread. */
void stream_conn_close_all(sips_profile_t *p);

#endif
