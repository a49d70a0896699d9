/* tp_stream_private.h — a stream connection's state, for tp_stream.c
 * (its I/O machine) and tp_connect.c (outbound connections). */
#ifndef SIPS_TP_STREAM_PRIVATE_H
#define SIPS_TP_STREAM_PRIVATE_H

#include <openssl/ssl.h>
#include "sip_target.h"
#include "tp_stream.h"

/* Named states (STYLE.md rule 5); plain TCP starts OPEN. */
typedef enum {
	CONN_CONNECTING,     /* outbound TCP connect in progress */
	CONN_TLS_HANDSHAKING,
	CONN_OPEN,
	CONN_CLOSED
} conn_state_e;

struct stream_conn {
	APR_RING_ENTRY(stream_conn) link;
	apr_pool_t *pool;
	sips_profile_t *profile;
	sips_transport_e transport;
	apr_socket_t *sock;
	sb_io_t io;
	sb_timer_t timer;
	sb_worker_t *worker;
	SSL *ssl;
	conn_state_e state;
	int ssl_wants_write; /* the last SSL call said WANT_WRITE */
	int resume_posted;   /* conn_resume is queued on our worker */
	int free_in_resume;  /* closed while it was: it frees c */
	int is_client;       /* TLS role: we connected (RFC 5922 checks) */
	const char *host;    /* outbound: name verified and sent as SNI */
	apr_uint64_t flow_id;
	char peer[96];
	char *out;           /* send queue: bytes out[out_off..out_len) */
	apr_size_t out_len, out_off, out_cap;
	char *in;            /* bytes of a message not yet complete */
	apr_size_t in_len, in_cap;
	unsigned chunks;     /* reads the pending message has taken */
	unsigned crlf_run;   /* CR LF bytes in a row: RFC 5626 ping */
	sb_timer_t msg_timer; /* slow-sender guard */
	apr_time_t last_active;
	sip_target_t from;   /* where this flow's messages come from */
};

/** Run an accepted or connected connection on the calling worker. */
void stream_conn_start_here(stream_conn_t *c);
/** Close (deferred free); logs @p reason. */
void stream_conn_close(stream_conn_t *c, const char *reason);
void stream_conn_free(void *baton);

#endif
