/* tp_stream.c — TCP and TLS connections: a state machine per connection. */
#include <errno.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <string.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <apr_portable.h>
#include <apr_strings.h>
#include "sipsbridge/sb_log.h"
#include "conn_limits.h"
#include "endpoint.h"
#include "src_guard.h"
#include "tls_verify.h"
#include "tp_stream_private.h"

static void conn_close(stream_conn_t *c, const char *reason);
static void conn_idle_start(stream_conn_t *c);
static void conn_connected(stream_conn_t *c, apr_int16_t revents);
static void conn_send(stream_conn_t *c, const char *buf, apr_size_t len);

void stream_conn_free(void *baton)
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
	if (c->state == CONN_CONNECTING) {
		sb_io_set_events(&c->io, APR_POLLOUT);
		return;
	}
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

/* The certificate verification outcome when it is why we failed. */
static const char *verify_text(stream_conn_t *c)
{
	long v = SSL_get_verify_result(c->ssl);

	return v == X509_V_OK ? NULL : X509_verify_cert_error_string(v);
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
	       " %s %s (we are %s): %s %s, peer certificate: %s, "
	       "verify: %s",
	       c->profile->name, c->flow_id, c->is_client ? "to" : "from",
	       c->peer, c->is_client ? "client" : "server",
	       SSL_get_version(c->ssl),
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
		conn_idle_start(c);
		apr_thread_mutex_lock(c->profile->lock);
		c->profile->handshakes_ok++;
		apr_thread_mutex_unlock(c->profile->lock);
		log_handshake_ok(c);
		if (!c->is_client) {
			char subject[256];

			if (!tls_server_subject_ok(c, subject,
						   sizeof(subject))) {
				sb_log(SB_LOG_WARNING, "SB02013",
				       "profile %s: flow %" APR_UINT64_T_FMT
				       " from %s: client subject \"%s\" not "
				       "in tls-verify-in-subjects",
				       c->profile->name, c->flow_id, c->peer,
				       subject[0] ? subject : "(none)");
				conn_close(c, "client subject refused");
			}
		}
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
	       " %s %s (we are %s): %s%s%s",
	       c->profile->name, c->flow_id, c->is_client ? "to" : "from",
	       c->peer, c->is_client ? "client" : "server",
	       ssl_failure(c, err, buf, sizeof(buf)),
	       verify_text(c) ? ", verify: " : "",
	       verify_text(c) ? verify_text(c) : "");
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
		if (c->out_len > c->out_off)
			memcpy(grown, c->out + c->out_off,
			       c->out_len - c->out_off);
		c->out_len -= c->out_off;
		c->out_off = 0;
		c->out = grown;
		c->out_cap = cap;
	}
	memcpy(c->out + c->out_len, data, len);
	c->out_len += len;
}

/* RFC 5626 3.5.1: a CRLFCRLF ping gets a CRLF pong; a lone CRLF is
 * the pong of our own ping and is dropped. */
static void conn_keepalive(stream_conn_t *c, apr_size_t crlf_bytes)
{
	c->crlf_run += (unsigned)crlf_bytes;
	while (c->crlf_run >= 4) {
		conn_send(c, "\r\n", 2);
		c->crlf_run -= 4;
	}
}

static void conn_msg_timeout(void *baton)
{
	stream_conn_t *c = baton;

	src_guard_log(c->profile, SRC_EV_MSG_TIMEOUT,
		      "profile %s: slow sender on flow %" APR_UINT64_T_FMT
		      " from %s: message not complete after %us (msg-timeout)",
		      c->profile->name, c->flow_id, c->peer,
		      c->profile->settings.msg_timeout);
	conn_close(c, "slow sender: msg-timeout");
}

/* Keep the unframed tail of a message for the next read. */
static int conn_keep_tail(stream_conn_t *c, const char *tail, apr_size_t len)
{
	const sips_settings_t *s = &c->profile->settings;

	if (!len) {
		c->in_len = 0;
		c->chunks = 0;
		sb_timer_stop(c->worker, &c->msg_timer);
		return 0;
	}
	if (++c->chunks > s->max_msg_chunks) {
		src_guard_log(c->profile, SRC_EV_MSG_CHUNKS,
			      "profile %s: slow sender on flow %"
			      APR_UINT64_T_FMT " from %s: message in more "
			      "than %u pieces (max-msg-chunks)",
			      c->profile->name, c->flow_id, c->peer,
			      s->max_msg_chunks);
		conn_close(c, "slow sender: max-msg-chunks");
		return -1;
	}
	if (len > c->in_cap) {
		apr_size_t cap = c->in_cap ? c->in_cap : 4096;

		while (cap < len)
			cap *= 2;
		/* The old buffer stays in the pool: bounded by max-msg-size. */
		c->in = apr_palloc(c->pool, cap);
		c->in_cap = cap;
	}
	if (tail != c->in)
		memmove(c->in, tail, len);
	c->in_len = len;
	if (!sb_timer_pending(&c->msg_timer))
		sb_timer_start(c->worker, &c->msg_timer,
			       apr_time_from_sec(s->msg_timeout),
			       conn_msg_timeout, c);
	return 0;
}

/*
 * Frame what arrived (RFC 3261 18.3: Content-Length on streams) and hand
 * each whole message to the endpoint. @p data is either the new bytes
 * alone (nothing pending) or the pending buffer with them appended.
 */
static void conn_frame(stream_conn_t *c, const char *data, apr_size_t len)
{
	const sips_settings_t *s = &c->profile->settings;
	sip_limits_t lim = { s->max_msg_size, s->max_headers };
	apr_size_t off = 0;

	while (off < len && c->state == CONN_OPEN) {
		apr_size_t skipped = 0, msg_len = 0;
		apr_status_t rv;

		rv = sip_parse_frame(data + off, len - off, &lim, &skipped,
				     &msg_len);
		if (rv == APR_SUCCESS && skipped) {
			conn_keepalive(c, skipped);
			off += skipped;
			continue;
		}
		if (rv == APR_SUCCESS) {
			c->crlf_run = 0;
			endpoint_receive(c->profile, data + off, msg_len,
					 &c->from);
			off += msg_len;
			c->chunks = 0;
			continue;
		}
		if (rv == SB_EINCOMPLETE)
			break;
		src_guard_log(c->profile, SRC_EV_BAD_FRAME,
			      "profile %s: flow %" APR_UINT64_T_FMT
			      " from %s: %s",
			      c->profile->name, c->flow_id, c->peer,
			      rv == SB_ETOOBIG
				      ? "message over max-msg-size or "
					"max-headers"
				      : "message without a valid "
					"Content-Length");
		conn_close(c, rv == SB_ETOOBIG ? "message too big"
					       : "unframeable message");
		return;
	}
	if (c->state == CONN_OPEN)
		conn_keep_tail(c, data + off, len - off);
}

static void conn_deliver(stream_conn_t *c, const char *data, apr_size_t len)
{
	c->last_active = apr_time_now();
	if (!c->in_len) {
		conn_frame(c, data, len);
		return;
	}
	if (c->in_len + len > c->in_cap) {
		apr_size_t cap = c->in_cap;
		char *grown;

		while (cap < c->in_len + len)
			cap *= 2;
		grown = apr_palloc(c->pool, cap);
		memcpy(grown, c->in, c->in_len);
		c->in = grown;
		c->in_cap = cap;
	}
	memcpy(c->in + c->in_len, data, len);
	c->in_len += len;
	conn_frame(c, c->in, c->in_len);
}

/* Writes what the socket takes now into *done; closes on failure. */
static void conn_write(stream_conn_t *c, const char *data, apr_size_t len,
		       apr_size_t *done)
{
	char buf[256];

	*done = 0;
	while (*done < len && c->state == CONN_OPEN) {
		apr_size_t n = len - *done;

		if (c->ssl) {
			int r, err;

			ERR_clear_error();
			r = SSL_write(c->ssl, data + *done, (int)n);
			if (r > 0) {
				*done += (apr_size_t)r;
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
		if (apr_socket_send(c->sock, data + *done, &n) !=
			    APR_SUCCESS &&
		    n == 0) {
			if (!APR_STATUS_IS_EAGAIN(apr_get_netos_error()))
				conn_close(c, "send failed");
			return;
		}
		*done += n;
	}
}

static void conn_flush(stream_conn_t *c)
{
	apr_size_t done;

	if (c->out_off == c->out_len)
		return;
	conn_write(c, c->out + c->out_off, c->out_len - c->out_off, &done);
	c->out_off += done;
}

/*
 * Reads per wake-up are capped so that one busy connection cannot hold
 * its worker (other flows, timers, handshakes wait behind it).  Plain TCP
 * needs nothing more: the pollset is level-triggered.  TLS may hold
 * decrypted bytes the socket no longer signals, so the connection is
 * posted back to its worker to go on after the others had their turn.
 */
#define CONN_READS_PER_WAKEUP 4

static void conn_resume(void *baton);

static void conn_yield(stream_conn_t *c)
{
	if (!c->ssl || c->resume_posted || !SSL_has_pending(c->ssl))
		return;
	if (sb_worker_post(c->worker, conn_resume, c) == APR_SUCCESS)
		c->resume_posted = 1;
}

static void conn_read(stream_conn_t *c)
{
	char buf[16384], reason[256];
	unsigned reads = 0;

	while (c->state == CONN_OPEN) {
		apr_size_t n = sizeof(buf);
		apr_status_t rv;

		if (reads++ == CONN_READS_PER_WAKEUP) {
			conn_yield(c);
			return;
		}
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

/* Posted by conn_yield; a close posts its free after this (FIFO). */
static void conn_resume(void *baton)
{
	stream_conn_t *c = baton;

	c->resume_posted = 0;
	if (c->state == CONN_CLOSED) {
		if (c->free_in_resume)
			stream_conn_free(c);
		return;
	}
	conn_read(c);
	conn_flush(c);
	conn_update_interest(c);
}

static void conn_on_io(void *baton, apr_int16_t revents)
{
	stream_conn_t *c = baton;

	if (c->state == CONN_CONNECTING)
		conn_connected(c, revents);
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

/* One timer per connection for idleness, re-armed lazily. */
static void conn_idle_check(void *baton)
{
	stream_conn_t *c = baton;
	apr_interval_time_t idle = apr_time_from_sec(
		c->profile->settings.idle_timeout);
	apr_time_t quiet = apr_time_now() - c->last_active;

	if (quiet < idle) {
		sb_timer_start(c->worker, &c->timer, idle - quiet,
			       conn_idle_check, c);
		return;
	}
	conn_close(c, "idle-timeout");
}

static void conn_idle_start(stream_conn_t *c)
{
	c->last_active = apr_time_now();
	sb_timer_start(c->worker, &c->timer,
		       apr_time_from_sec(c->profile->settings.idle_timeout),
		       conn_idle_check, c);
}

static void conn_handshake_timeout(void *baton)
{
	stream_conn_t *c = baton;

	/* Throttled: thousands of slow-loris connections, one line. */
	src_guard_log(c->profile, SRC_EV_HANDSHAKE_TIMEOUT,
		      "profile %s: TLS handshake not finished within "
		      "tls-timeout (%us), flow %" APR_UINT64_T_FMT " from %s",
		      c->profile->name, c->profile->settings.tls_timeout,
		      c->flow_id, c->peer);
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
	sb_timer_stop(c->worker, &c->msg_timer);
	flow_remove(c->flow_id);
	endpoint_flow_closed(c->flow_id);
	apr_thread_mutex_lock(p->lock);
	APR_RING_REMOVE(c, link);
	apr_thread_mutex_unlock(p->lock);
	conn_limits_release(p, c->transport, c->from.peer_ip);
	sb_log(SB_LOG_INFO, "SB02020",
	       "profile %s: closed %s flow %" APR_UINT64_T_FMT " %s %s: %s",
	       p->name, flow_transport_name(c->transport), c->flow_id,
	       c->is_client ? "to" : "from", c->peer, reason);
	if (sb_worker_post(c->worker, stream_conn_free, c) == APR_SUCCESS)
		return;
	if (c->resume_posted)
		c->free_in_resume = 1; /* the queued resume frees it */
	else
		stream_conn_free(c);
}

/* Runs on the chosen worker: from here on only this thread touches c. */
/* TLS on a connection whose TCP part is up: our role decides how. */
static void conn_tls_begin(stream_conn_t *c)
{
	sips_profile_t *p = c->profile;
	apr_os_sock_t fd;

	apr_os_sock_get(&fd, c->sock);
	c->ssl = tls_ctx_ssl_new(p->tls);
	if (!c->ssl || SSL_set_fd(c->ssl, fd) != 1) {
		SSL_free(c->ssl);
		c->ssl = NULL;
		conn_close(c, "SSL_new failed");
		return;
	}
	apr_pool_cleanup_register(c->pool, c->ssl, ssl_cleanup,
				  apr_pool_cleanup_null);
	if (c->is_client) {
		if (tls_client_prepare(c) != APR_SUCCESS) {
			conn_close(c, "cannot set up TLS verification");
			return;
		}
		SSL_set_connect_state(c->ssl);
	} else {
		SSL_set_accept_state(c->ssl);
	}
	c->state = CONN_TLS_HANDSHAKING;
	sb_timer_start(c->worker, &c->timer,
		       apr_time_from_sec(p->settings.tls_timeout),
		       conn_handshake_timeout, c);
}

/* The TCP part of a connection is up (accepted, or connected). */
static void conn_established(stream_conn_t *c)
{
	c->state = CONN_OPEN;
	if (c->transport == SIPS_TP_TLS)
		conn_tls_begin(c);
	else
		conn_idle_start(c);
}

/* An outbound connect finished, one way or the other. */
static void conn_connected(stream_conn_t *c, apr_int16_t revents)
{
	int err = 0;
	socklen_t len = sizeof(err);
	apr_os_sock_t fd;

	apr_os_sock_get(&fd, c->sock);
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
		err = errno;
	if (err || (revents & (APR_POLLERR | APR_POLLHUP))) {
		sb_log(SB_LOG_WARNING, "SB02040",
		       "profile %s: cannot connect %s flow %" APR_UINT64_T_FMT
		       " to %s: %s",
		       c->profile->name, flow_transport_name(c->transport),
		       c->flow_id, c->peer,
		       strerror(err ? err : ECONNREFUSED));
		conn_close(c, "connect failed");
		return;
	}
	conn_established(c);
}

void stream_conn_start_here(stream_conn_t *c)
{
	sips_profile_t *p = c->profile;

	c->worker = sb_worker_self();
	c->flow_id = flow_add(c->worker, c);
	apr_socket_opt_set(c->sock, APR_SO_NONBLOCK, 1);
	apr_socket_opt_set(c->sock, APR_TCP_NODELAY, 1);
	c->from.flow_id = c->flow_id;
	apr_thread_mutex_lock(p->lock);
	APR_RING_INSERT_TAIL(&p->conns, c, stream_conn, link);
	apr_thread_mutex_unlock(p->lock);
	if (c->state != CONN_CONNECTING)
		conn_established(c);
	sb_log(SB_LOG_DEBUG, "SB02001",
	       "profile %s: %s %s flow %" APR_UINT64_T_FMT " %s %s",
	       p->name, c->is_client ? "connecting" : "accepted",
	       flow_transport_name(c->transport), c->flow_id,
	       c->is_client ? "to" : "from", c->peer);
	if (c->state != CONN_CLOSED &&
	    sb_io_add(c->worker, &c->io, c->sock,
		      c->state == CONN_CONNECTING ? APR_POLLOUT : APR_POLLIN,
		      conn_on_io, c) != APR_SUCCESS)
		conn_close(c, "cannot watch the socket");
}

static void conn_start(void *baton)
{
	stream_conn_start_here(baton);
}

void stream_conn_close(stream_conn_t *c, const char *reason)
{
	conn_close(c, reason);
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
	c->state = CONN_OPEN; /* TCP is up; TLS starts on the worker */
	APR_RING_ELEM_INIT(c, link);
	c->from.profile = p;
	c->from.transport = tp;
	if (apr_socket_addr_get(&sa, APR_REMOTE, sock) == APR_SUCCESS &&
	    apr_sockaddr_ip_get(&ip, sa) == APR_SUCCESS) {
		c->from.peer = *sa;
		apr_cpystrn(c->from.peer_ip, ip, sizeof(c->from.peer_ip));
		c->from.peer_port = sa->port;
		apr_snprintf(c->peer, sizeof(c->peer),
			     sa->family == APR_INET6 ? "[%s]:%u" : "%s:%u", ip,
			     (unsigned)sa->port);
	}
	/*
	 * Over tls-handshake-rate the connection is closed here, on the
	 * listen worker, before any SSL object or worker hand-over: a
	 * handshake flood costs an accept and a close per connection.
	 */
	if ((tp == SIPS_TP_TLS &&
	     !src_guard_handshake_ok(p, c->from.peer_ip, c->peer)) ||
	    conn_limits_claim(p, tp, c->from.peer_ip, c->peer) !=
		    APR_SUCCESS) {
		stream_conn_free(c);
		return;
	}
	if (sb_worker_post(sb_loop_pick(p->loop), conn_start, c) !=
	    APR_SUCCESS) {
		conn_limits_release(p, tp, c->from.peer_ip);
		stream_conn_free(c);
	}
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

static void conn_send(stream_conn_t *c, const char *buf, apr_size_t len)
{
	if (c->state == CONN_CLOSED)
		return;
	/*
	 * Straight to the socket when nothing waits before it: an idle
	 * connection then never grows a send buffer.  Queued while
	 * connecting, or for what the socket does not take now.
	 */
	if (c->state == CONN_OPEN && c->out_off == c->out_len) {
		apr_size_t done;

		conn_write(c, buf, len, &done);
		if (c->state == CONN_OPEN && done < len)
			conn_queue(c, buf + done, len - done);
	} else {
		conn_queue(c, buf, len);
		conn_flush(c);
	}
}

void stream_conn_send(stream_conn_t *c, const char *buf, apr_size_t len)
{
	conn_send(c, buf, len);
	if (c->state != CONN_CLOSED)
		conn_update_interest(c);
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
