/* tp_stream.c — TCP and TLS connections: a state machine per connection. */
#include <stdlib.h>
#include <string.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <apr_portable.h>
#include <apr_strings.h>
#include "sipsbridge/sb_log.h"
#include "tp_stream.h"

/* Named states (STYLE.md rule 5); plain TCP starts OPEN. */
typedef enum {
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
	apr_uint64_t flow_id;
	char peer[96];
	char *out;           /* send queue: bytes out[out_off..out_len) */
	apr_size_t out_len, out_off, out_cap;
};

static void conn_close(stream_conn_t *c, const char *reason);

static void conn_free(void *baton)
{
	stream_conn_t *c = baton;

	apr_socket_close(c->sock);
	apr_pool_destroy(c->pool);
}

static apr_status_t ssl_cleanup(void *data)
{
	SSL_free(data);
	return APR_SUCCESS;
}

/* The one place that computes poll interest (STYLE.md rule 5). */
static void conn_update_interest(stream_conn_t *c)
{
	apr_int16_t ev = APR_POLLIN;

	if (c->state == CONN_CLOSED)
		return;
	if (c->ssl_wants_write || c->out_off < c->out_len)
		ev |= APR_POLLOUT;
	if (c->state == CONN_TLS_HANDSHAKING && c->ssl_wants_write)
		ev = APR_POLLOUT;
	sb_io_set_events(&c->io, ev);
}

/* OpenSSL's reason for the failure of the last call, or the errno text. */
static const char *ssl_failure(stream_conn_t *c, int err, char *buf,
			       apr_size_t len)
{
	unsigned long e = ERR_peek_last_error();

	if (e) {
		ERR_error_string_n(e, buf, len);
		ERR_clear_error();
		return buf;
	}
	if (err == SSL_ERROR_SYSCALL)
		return "peer closed the connection (no close_notify)";
	if (err == SSL_ERROR_ZERO_RETURN)
		return "peer sent close_notify";
	(void)c;
	return "TLS failure";
}

static void log_handshake_ok(stream_conn_t *c)
{
	X509 *peer = SSL_get0_peer_certificate(c->ssl);
	char subject[256] = "none";
	long verify = SSL_get_verify_result(c->ssl);

	if (peer)
		X509_NAME_oneline(X509_get_subject_name(peer), subject,
				  sizeof(subject));
	sb_log(SB_LOG_INFO, "SB02010",
	       "profile %s: TLS handshake ok, flow %" APR_UINT64_T_FMT
	       " from %s (we are server): %s %s, peer certificate: %s, "
	       "verify: %s",
	       c->profile->name, c->flow_id, c->peer, SSL_get_version(c->ssl),
	       SSL_get_cipher_name(c->ssl), subject,
	       peer ? X509_verify_cert_error_string(verify) : "no certificate");
}

static void conn_handshake(stream_conn_t *c)
{
	char buf[256];
	int r, err;

	ERR_clear_error();
	r = SSL_do_handshake(c->ssl);
	if (r == 1) {
		c->state = CONN_OPEN;
		c->ssl_wants_write = 0;
		sb_timer_stop(c->worker, &c->timer);
		apr_thread_mutex_lock(c->profile->lock);
		c->profile->handshakes_ok++;
		apr_thread_mutex_unlock(c->profile->lock);
		log_handshake_ok(c);
		return;
	}
	err = SSL_get_error(c->ssl, r);
	if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
		c->ssl_wants_write = err == SSL_ERROR_WANT_WRITE;
		return;
	}
	apr_thread_mutex_lock(c->profile->lock);
	c->profile->handshakes_failed++;
	apr_thread_mutex_unlock(c->profile->lock);
	sb_log(SB_LOG_WARNING, "SB02011",
	       "profile %s: TLS handshake failed, flow %" APR_UINT64_T_FMT
	       " from %s (we are server): %s",
	       c->profile->name, c->flow_id, c->peer,
	       ssl_failure(c, err, buf, sizeof(buf)));
	conn_close(c, "TLS handshake failed");
}

/* Queue bytes for the peer; flushed as the socket allows. */
static void conn_queue(stream_conn_t *c, const char *data, apr_size_t len)
{
	if (c->out_off == c->out_len)
		c->out_off = c->out_len = 0;
	if (c->out_len + len > c->out_cap) {
		apr_size_t cap = c->out_cap ? c->out_cap * 2 : 4096;
		char *grown;

		while (cap < c->out_len + len)
			cap *= 2;
		grown = apr_palloc(c->pool, cap);
		memcpy(grown, c->out + c->out_off, c->out_len - c->out_off);
		c->out_len -= c->out_off;
		c->out_off = 0;
		c->out = grown;
		c->out_cap = cap;
	}
	memcpy(c->out + c->out_len, data, len);
	c->out_len += len;
}

/*
 * What arrived on an open connection. SIP framing comes with the SIP
 * stack; until then the RFC 5626 keepalive is answered (CRLFCRLF ping,
 * CRLF pong) and anything else is dropped.
 */
static void conn_deliver(stream_conn_t *c, const char *data, apr_size_t len)
{
	apr_size_t i;

	for (i = 0; i + 4 <= len; i++)
		if (!memcmp(data + i, "\r\n\r\n", 4)) {
			conn_queue(c, "\r\n", 2);
			i += 3;
		}
}

static void conn_flush(stream_conn_t *c)
{
	char buf[256];

	while (c->out_off < c->out_len && c->state == CONN_OPEN) {
		apr_size_t n = c->out_len - c->out_off;

		if (c->ssl) {
			int r, err;

			ERR_clear_error();
			r = SSL_write(c->ssl, c->out + c->out_off, (int)n);
			if (r > 0) {
				c->out_off += (apr_size_t)r;
				c->ssl_wants_write = 0;
				continue;
			}
			err = SSL_get_error(c->ssl, r);
			if (err == SSL_ERROR_WANT_WRITE ||
			    err == SSL_ERROR_WANT_READ) {
				c->ssl_wants_write =
					err == SSL_ERROR_WANT_WRITE;
				return;
			}
			conn_close(c, ssl_failure(c, err, buf, sizeof(buf)));
			return;
		}
		if (apr_socket_send(c->sock, c->out + c->out_off, &n) !=
			    APR_SUCCESS &&
		    n == 0) {
			if (!APR_STATUS_IS_EAGAIN(apr_get_netos_error()))
				conn_close(c, "send failed");
			return;
		}
		c->out_off += n;
	}
}

/* Drain the socket until it would block (STYLE.md rule 5). */
static void conn_read(stream_conn_t *c)
{
	char buf[16384], reason[256];

	while (c->state == CONN_OPEN) {
		apr_size_t n = sizeof(buf);
		apr_status_t rv;

		if (c->ssl) {
			int r, err;

			ERR_clear_error();
			r = SSL_read(c->ssl, buf, (int)sizeof(buf));
			if (r > 0) {
				conn_deliver(c, buf, (apr_size_t)r);
				continue;
			}
			err = SSL_get_error(c->ssl, r);
			if (err == SSL_ERROR_WANT_READ)
				return;
			if (err == SSL_ERROR_WANT_WRITE) {
				c->ssl_wants_write = 1;
				return;
			}
			conn_close(c, ssl_failure(c, err, reason,
						  sizeof(reason)));
			return;
		}
		rv = apr_socket_recv(c->sock, buf, &n);
		if (n > 0) {
			conn_deliver(c, buf, n);
			continue;
		}
		if (APR_STATUS_IS_EAGAIN(rv))
			return;
		conn_close(c, rv == APR_EOF ? "peer closed the connection"
					    : "receive failed");
		return;
	}
}

static void conn_on_io(void *baton, apr_int16_t revents)
{
	stream_conn_t *c = baton;

	if (c->state == CONN_TLS_HANDSHAKING)
		conn_handshake(c);
	if (c->state == CONN_OPEN) {
		conn_read(c);
		conn_flush(c);
	}
	if ((revents & (APR_POLLERR | APR_POLLNVAL)) && c->state != CONN_CLOSED)
		conn_close(c, "socket error");
	conn_update_interest(c);
}

static void conn_handshake_timeout(void *baton)
{
	stream_conn_t *c = baton;

	sb_log(SB_LOG_WARNING, "SB02012",
	       "profile %s: TLS handshake not finished within tls-timeout "
	       "(%us), flow %" APR_UINT64_T_FMT " from %s",
	       c->profile->name, c->profile->settings.tls_timeout, c->flow_id,
	       c->peer);
	apr_thread_mutex_lock(c->profile->lock);
	c->profile->handshakes_failed++;
	apr_thread_mutex_unlock(c->profile->lock);
	conn_close(c, "TLS handshake timeout");
}

/* Close is deferred: nothing is freed inside its own callback. */
static void conn_close(stream_conn_t *c, const char *reason)
{
	sips_profile_t *p = c->profile;

	if (c->state == CONN_CLOSED)
		return;
	if (c->ssl && c->state == CONN_OPEN) {
		ERR_clear_error();
		SSL_shutdown(c->ssl); /* best effort close_notify */
		ERR_clear_error();
	}
	c->state = CONN_CLOSED;
	sb_io_remove(&c->io);
	sb_timer_stop(c->worker, &c->timer);
	flow_remove(c->flow_id);
	apr_thread_mutex_lock(p->lock);
	APR_RING_REMOVE(c, link);
	p->open_conns[c->transport]--;
	apr_thread_mutex_unlock(p->lock);
	sb_log(SB_LOG_INFO, "SB02020",
	       "profile %s: closed %s flow %" APR_UINT64_T_FMT " from %s: %s",
	       p->name, flow_transport_name(c->transport), c->flow_id, c->peer,
	       reason);
	if (sb_worker_post(c->worker, conn_free, c) != APR_SUCCESS)
		conn_free(c);
}

/* Runs on the chosen worker: from here on only this thread touches c. */
static void conn_start(void *baton)
{
	stream_conn_t *c = baton;
	sips_profile_t *p = c->profile;
	apr_os_sock_t fd;

	c->worker = sb_worker_self();
	c->flow_id = flow_add(c->worker, c);
	apr_socket_opt_set(c->sock, APR_SO_NONBLOCK, 1);
	apr_socket_opt_set(c->sock, APR_TCP_NODELAY, 1);
	apr_os_sock_get(&fd, c->sock);
	apr_thread_mutex_lock(p->lock);
	APR_RING_INSERT_TAIL(&p->conns, c, stream_conn, link);
	p->open_conns[c->transport]++;
	apr_thread_mutex_unlock(p->lock);
	c->state = CONN_OPEN;
	if (c->transport == SIPS_TP_TLS) {
		c->ssl = SSL_new(p->tls->ssl_ctx);
		if (!c->ssl || SSL_set_fd(c->ssl, fd) != 1) {
			conn_close(c, "SSL_new failed");
			return;
		}
		apr_pool_cleanup_register(c->pool, c->ssl, ssl_cleanup,
					  apr_pool_cleanup_null);
		SSL_set_accept_state(c->ssl);
		c->state = CONN_TLS_HANDSHAKING;
		sb_timer_start(c->worker, &c->timer,
			       apr_time_from_sec(p->settings.tls_timeout),
			       conn_handshake_timeout, c);
	}
	sb_log(SB_LOG_DEBUG, "SB02001",
	       "profile %s: accepted %s flow %" APR_UINT64_T_FMT " from %s",
	       p->name, flow_transport_name(c->transport), c->flow_id, c->peer);
	if (sb_io_add(c->worker, &c->io, c->sock, APR_POLLIN, conn_on_io, c) !=
	    APR_SUCCESS)
		conn_close(c, "cannot watch the socket");
}

void stream_conn_accepted(sips_profile_t *p, sips_transport_e tp,
			  apr_socket_t *sock, apr_pool_t *pool)
{
	stream_conn_t *c = apr_pcalloc(pool, sizeof(*c));
	apr_sockaddr_t *sa = NULL;
	char *ip = NULL;

	c->pool = pool;
	c->profile = p;
	c->transport = tp;
	c->sock = sock;
	APR_RING_ELEM_INIT(c, link);
	if (apr_socket_addr_get(&sa, APR_REMOTE, sock) == APR_SUCCESS &&
	    apr_sockaddr_ip_get(&ip, sa) == APR_SUCCESS)
		apr_snprintf(c->peer, sizeof(c->peer),
			     sa->family == APR_INET6 ? "[%s]:%u" : "%s:%u", ip,
			     (unsigned)sa->port);
	if (sb_worker_post(sb_loop_pick(p->loop), conn_start, c) !=
	    APR_SUCCESS)
		conn_free(c);
}

/*
 * Runs on each worker in turn: close what lives there. Only this thread
 * can free those connections, so the list taken under the lock stays
 * valid while they are closed one by one.
 */
static void close_on_this_worker(void *baton)
{
	sips_profile_t *p = baton;
	sb_worker_t *self = sb_worker_self();
	stream_conn_t *c, **mine;
	apr_size_t n = 0, i;

	apr_thread_mutex_lock(p->lock);
	APR_RING_FOREACH(c, &p->conns, stream_conn, link)
		n++;
	mine = malloc((n ? n : 1) * sizeof(*mine));
	n = 0;
	if (mine)
		APR_RING_FOREACH(c, &p->conns, stream_conn, link)
			if (c->worker == self)
				mine[n++] = c;
	apr_thread_mutex_unlock(p->lock);
	for (i = 0; i < n; i++)
		conn_close(mine[i], "profile stopped");
	free(mine);
}

void stream_conn_list_init(sips_profile_t *p)
{
	APR_RING_INIT(&p->conns, stream_conn, link);
}

void stream_conn_close_all(sips_profile_t *p)
{
	unsigned i;

	for (i = 0; i < sb_loop_nworkers(p->loop); i++)
		sb_worker_call(sb_loop_worker(p->loop, i), close_on_this_worker,
			       p);
}
