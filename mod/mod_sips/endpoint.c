/* endpoint.c — requests to the switch itself: validation, OPTIONS, 405. */
#include <stdlib.h>
#include <string.h>
#include <apr_strings.h>
#include "sipsbridge/sb_log.h"
#include "config.h"
#include "endpoint.h"
#include "call.h"
#include "call_route.h"
#include "msg_rate.h"
#include "registrar.h"
#include "sip_build.h"
#include "src_guard.h"
#include "tp_stream_private.h"

/* Methods we answer; calls come with the dialplan. */
#define SIPS_ALLOW "INVITE, ACK, BYE, CANCEL, OPTIONS, REGISTER, UPDATE"
#define SIPS_SUPPORTED "path, outbound"
#define SIPS_ACCEPT "application/sdp"

static struct {
	sb_loop_t *loop;
	txn_table_t **tables; /* one per worker, by worker index */
	msg_rate_table_t **rates; /* max-msg-rate buckets, the same way */
	unsigned n;
} stack;

typedef struct table_call {
	unsigned index;
	apr_pool_t *pool;
	apr_status_t rv;
} table_call_t;

static void table_create_here(void *baton)
{
	table_call_t *call = baton;

	/* A pool only this worker touches (APR pools are not shared). */
	call->rv = txn_table_create(&stack.tables[call->index],
				    sb_worker_self(), endpoint_send,
				    sb_worker_pool(sb_worker_self()));
	if (call->rv == APR_SUCCESS)
		call->rv = msg_rate_table_create(
			&stack.rates[call->index],
			sb_worker_pool(sb_worker_self()));
}

static void table_destroy_here(void *baton)
{
	table_call_t *call = baton;

	txn_table_destroy(stack.tables[call->index]);
	stack.tables[call->index] = NULL;
	msg_rate_table_destroy(stack.rates[call->index]);
	stack.rates[call->index] = NULL;
}

apr_status_t endpoint_init(sb_loop_t *loop, apr_pool_t *pool)
{
	unsigned i;

	stack.loop = loop;
	stack.n = sb_loop_nworkers(loop);
	stack.tables = apr_pcalloc(pool, stack.n * sizeof(*stack.tables));
	stack.rates = apr_pcalloc(pool, stack.n * sizeof(*stack.rates));
	for (i = 0; i < stack.n; i++) {
		table_call_t call = { i, pool, APR_SUCCESS };

		sb_worker_call(sb_loop_worker(loop, i), table_create_here,
			       &call);
		if (call.rv != APR_SUCCESS)
			return call.rv;
	}
	return APR_SUCCESS;
}

void endpoint_shutdown(void)
{
	unsigned i;

	for (i = 0; stack.tables && i < stack.n; i++) {
		table_call_t call = { i, NULL, APR_SUCCESS };

		if (stack.tables[i])
			sb_worker_call(sb_loop_worker(stack.loop, i),
				       table_destroy_here, &call);
	}
	stack.tables = NULL;
	stack.rates = NULL;
}

/* A flow closed: every worker's client transactions that wait on it
 * fail now (a call's B leg runs on its A leg's worker, not on the
 * flow's). */
typedef struct flow_closed {
	apr_uint64_t flow_id;
} flow_closed_t;

static void flow_closed_here(void *baton)
{
	flow_closed_t *fc = baton;

	txn_table_flow_closed(endpoint_txn_table(), fc->flow_id);
	free(fc);
}

void endpoint_flow_closed(apr_uint64_t flow_id)
{
	sb_worker_t *self = sb_worker_self();
	unsigned i;

	for (i = 0; stack.tables && i < stack.n; i++) {
		sb_worker_t *w = sb_loop_worker(stack.loop, i);
		flow_closed_t *fc;

		if (w == self) {
			txn_table_flow_closed(stack.tables[i], flow_id);
			/* A flow lives and closes on one worker. */
			msg_rate_forget(stack.rates[i], flow_id);
			continue;
		}
		fc = malloc(sizeof(*fc));
		if (!fc)
			continue;
		fc->flow_id = flow_id;
		if (sb_worker_post(w, flow_closed_here, fc) != APR_SUCCESS)
			free(fc);
	}
}

/* The queue is FIFO: messages handed over for @p baton before it
 * stopped have run when this does. */
static void profile_gone_here(void *baton)
{
	txn_table_profile_gone(endpoint_txn_table(), baton);
}

void endpoint_profile_gone(sips_profile_t *p)
{
	unsigned i;

	for (i = 0; stack.tables && i < stack.n; i++)
		sb_worker_call(sb_loop_worker(stack.loop, i),
			       profile_gone_here, p);
}

txn_table_t *endpoint_txn_table(void)
{
	sb_worker_t *self = sb_worker_self();

	return self && stack.tables ? stack.tables[sb_worker_index(self)]
				    : NULL;
}

/* Runs on the flow's worker when the send was posted from elsewhere. */
typedef struct posted_send {
	apr_size_t len;
	char buf[];
} posted_send_t;

static void posted_send_run(void *owner, void *baton)
{
	posted_send_t *ps = baton;

	stream_conn_send(owner, ps->buf, ps->len);
	free(ps);
}

static void posted_send_gone(void *baton)
{
	free(baton);
}

apr_status_t endpoint_send(const sip_target_t *to, const char *buf,
			   apr_size_t len)
{
	posted_send_t *ps;
	void *owner;
	apr_status_t rv;

	if (to->transport == SIPS_TP_UDP) {
		apr_socket_t *sock =
			to->profile->listeners[SIPS_TP_UDP].sock;
		apr_size_t n = len;

		if (!sock) {
			sb_log(SB_LOG_INFO, "SB02203",
			       "profile %s is stopped: %lu bytes to %s:%d over "
			       "UDP not sent",
			       to->profile->name, (unsigned long)len,
			       to->peer_ip, to->peer_port);
			return SB_EFLOWGONE;
		}
		return apr_socket_sendto(sock, (apr_sockaddr_t *)&to->peer, 0,
					 buf, &n);
	}
	owner = flow_owner_here(to->flow_id);
	if (owner) {
		stream_conn_send(owner, buf, len);
		return APR_SUCCESS;
	}
	ps = malloc(sizeof(*ps) + len);
	if (!ps)
		return APR_ENOMEM;
	ps->len = len;
	memcpy(ps->buf, buf, len);
	rv = flow_post(to->flow_id, posted_send_run, posted_send_gone, ps);
	if (rv != APR_SUCCESS)
		free(ps);
	return rv;
}

/* Build, then send through the server transaction. */
void endpoint_respond(txn_server_t *txn, const sip_msg_t *req,
		    const sip_target_t *from, int status, const char *reason,
		    const char *const *extra)
{
	sip_build_via_fix_t fix = { from->peer_ip, from->peer_port };
	apr_pool_t *pool;
	sip_build_t b;
	char *out;
	apr_size_t len;

	if (apr_pool_create(&pool, NULL) != APR_SUCCESS)
		return;
	if (sip_build_response(&b, pool, req, status, reason, NULL, &fix) ==
	    APR_SUCCESS) {
		for (; extra && extra[0]; extra += 2)
			sip_build_add(&b, extra[0], extra[1]);
		sip_build_add(&b, "Server", "sipsbridge/" PACKAGE_VERSION);
		if (sip_build_serialize(&b, &out, &len) == APR_SUCCESS) {
			if (txn)
				txn_server_respond(txn, status, out, len);
			else
				endpoint_send(from, out, len);
		}
	}
	apr_pool_destroy(pool);
}

static int to_has_tag(const sip_msg_t *req)
{
	const sip_hdr_t *to = sip_hdr_find(req, SIP_HDR_TO);
	sip_addr_t addr;

	return to && sip_hdr_addr(&to->value, &addr) == APR_SUCCESS &&
	       addr.tag.len > 0;
}

/* A new server transaction: what the switch answers on its own. */
static void handle_request(sips_profile_t *p, txn_server_t *txn,
			   const sip_msg_t *req, const sip_target_t *from)
{
	static const char *const options_hdrs[] = {
		"Allow", SIPS_ALLOW, "Supported", SIPS_SUPPORTED,
		"Accept", SIPS_ACCEPT, "Accept-Language", "en", NULL
	};
	static const char *const allow_hdr[] = { "Allow", SIPS_ALLOW, NULL };

	switch (req->method) {
	case SIP_METHOD_OPTIONS:
		endpoint_respond(txn, req, from, 200, NULL, options_hdrs);
		return;
	case SIP_METHOD_REGISTER:
		registrar_register(p, txn, req, from);
		return;
	case SIP_METHOD_INVITE:
		if (to_has_tag(req)) {
			endpoint_respond(txn, req, from, 481, NULL, NULL);
			return;
		}
		call_in_invite(p, txn, req, from);
		return;
	case SIP_METHOD_BYE:
	case SIP_METHOD_CANCEL:
		endpoint_respond(txn, req, from, 481, NULL, NULL);
		return;
	case SIP_METHOD_ACK:
		return;
	default:
		if (to_has_tag(req) && req->method != SIP_METHOD_OTHER) {
			endpoint_respond(txn, req, from, 481, NULL, NULL);
			return;
		}
		endpoint_respond(txn, req, from, 405, NULL, allow_hdr);
		return;
	}
}

/*
 * RFC 3261 9.2: a CANCEL that matches a transaction gets 200 whatever
 * that transaction's state; a pending INVITE (a call's first, or a
 * re-INVITE waiting for the other leg) then ends with 487.
 */
static void handle_cancel(txn_server_t *txn, txn_server_t *invite,
			  const sip_msg_t *req, const sip_target_t *from)
{
	endpoint_respond(txn, req, from, invite ? 200 : 481, NULL, NULL);
	if (invite && !call_media_reoffer_cancel(req, invite))
		call_in_cancel(invite);
}

/* RFC 3261 8.2.2.3: a Require we do not support gets 420. */
static int require_unsupported(const sip_msg_t *req, const char **tag)
{
	static const char *const ours[] = { "path", "outbound", NULL };
	sip_hdr_iter_t it;
	sip_str_t v, token;
	static char first[64];

	sip_hdr_iter_init(&it, req, SIP_HDR_REQUIRE);
	while (sip_hdr_next(&it, &v) == APR_SUCCESS) {
		const char *const *o;

		if (sip_hdr_token(&v, &token) != APR_SUCCESS)
			continue;
		for (o = ours; *o; o++)
			if (sip_str_ieq(&token, *o))
				break;
		if (!*o) {
			apr_cpystrn(first, token.ptr,
				    token.len + 1 < sizeof(first)
					    ? token.len + 1
					    : sizeof(first));
			*tag = first;
			return 1;
		}
	}
	return 0;
}

/*
 * A source blocked for failed authentications (auth-block-failures) gets
 * no digest work, no transaction and no call leg for what would need
 * one: 403 over TCP/TLS, where the source is real; nothing over UDP,
 * where it may be forged and an answer would only feed a scanner.
 */
static int blocked_source(sips_profile_t *p, const sip_msg_t *req,
			  const sip_target_t *from)
{
	int udp = from->transport == SIPS_TP_UDP;
	unsigned left;

	if (req->method != SIP_METHOD_REGISTER &&
	    !(req->method == SIP_METHOD_INVITE && p->settings.auth_calls &&
	      !to_has_tag(req)))
		return 0;
	left = src_guard_blocked(p, from->peer_ip);
	if (!left)
		return 0;
	src_guard_log(p, SRC_EV_AUTH_BLOCKED,
		      "profile %s: %s from %s:%d over %s %s: source blocked "
		      "for failed authentications (%us left)",
		      p->name,
		      req->method == SIP_METHOD_REGISTER ? "REGISTER"
							 : "INVITE",
		      from->peer_ip, from->peer_port,
		      flow_transport_name(from->transport),
		      udp ? "dropped" : "answered 403", left);
	if (!udp)
		endpoint_respond(NULL, req, from, 403, "Source Blocked", NULL);
	return 1;
}

static void receive_request(sips_profile_t *p, const sip_msg_t *req,
			    const sip_target_t *from)
{
	txn_server_t *txn = NULL, *cancelled = NULL;
	txn_table_t *table = endpoint_txn_table();
	const char *tag;
	txn_rx_e what;

	if (blocked_source(p, req, from))
		return;
	if (!table ||
	    txn_server_receive(table, req, from, &p->timers, &what, &txn,
			       &cancelled) != APR_SUCCESS)
		return;
	switch (what) {
	case TXN_RX_NEW:
		break;
	case TXN_RX_CANCEL:
		handle_cancel(txn, cancelled, req, from);
		return;
	case TXN_RX_ACK_2XX:
		call_in_ack_2xx(req);
		return;
	default:
		return; /* absorbed by the transaction layer */
	}
	if (req->method != SIP_METHOD_ACK && req->method != SIP_METHOD_CANCEL &&
	    require_unsupported(req, &tag)) {
		const char *const hdrs[] = { "Unsupported", tag, NULL };

		endpoint_respond(txn, req, from, 420, NULL, hdrs);
		return;
	}
	if (to_has_tag(req) && call_in_dialog(p, txn, req, from))
		return;
	handle_request(p, txn, req, from);
}

/* A request we could not parse gets 400 when a response can be built. */
static void reject_malformed(sips_profile_t *p, const sip_msg_t *msg,
			     const sip_parse_error_t *err,
			     const sip_target_t *from)
{
	char reason[128];
	int status = sip_parse_error_status(err);

	sip_parse_error_reason(err, reason, sizeof(reason));
	sb_log(SB_LOG_INFO, "SB02201",
	       "profile %s: malformed message from %s:%d (%s) at offset %lu: "
	       "%s",
	       p->name, from->peer_ip, from->peer_port,
	       flow_transport_name(from->transport),
	       (unsigned long)err->offset, reason);
	if (msg->is_request && msg->method != SIP_METHOD_ACK)
		endpoint_respond(NULL, msg, from, status, reason, NULL);
}

/* A message for a call another worker owns goes there as a copy. */
typedef struct handover {
	sips_profile_t *profile;
	sip_target_t from;
	apr_size_t len;
	char buf[];
} handover_t;

static void receive(sips_profile_t *p, const char *buf, apr_size_t len,
		    const sip_target_t *from, int handed);

static void handover_run(void *baton)
{
	handover_t *h = baton;

	receive(h->profile, h->buf, h->len, &h->from, 1);
	free(h);
}

static int handed_over(sips_profile_t *p, const sip_msg_t *msg,
		       const sip_target_t *from)
{
	int owner = call_route_owner(msg);
	sb_worker_t *self = sb_worker_self();
	handover_t *h;

	if (owner < 0 || !self || (unsigned)owner == sb_worker_index(self) ||
	    (unsigned)owner >= stack.n)
		return 0;
	h = malloc(sizeof(*h) + msg->len);
	if (!h)
		return 1;
	h->profile = p;
	h->from = *from;
	h->len = msg->len;
	memcpy(h->buf, msg->buf, msg->len);
	if (sb_worker_post(sb_loop_worker(stack.loop, (unsigned)owner),
			   handover_run, h) != APR_SUCCESS)
		free(h);
	return 1;
}

/*
 * max-msg-rate, on the connection's own worker (@p msg NULL: it did not
 * parse). Connections the switch
 * opened (trunks, peers it chose) are not limited: the limit protects
 * it from what connects to it. Over the rate a request gets 503 with
 * Retry-After (RFC 3261 21.5.4) and anything else is dropped; a
 * connection that stays over it for msg-rate-close seconds is closed.
 */
static int over_msg_rate(sips_profile_t *p, const sip_msg_t *msg,
			 const sip_target_t *from)
{
	static const char *const retry[] = { "Retry-After", "1", NULL };
	const sips_settings_t *s = &p->settings;
	sb_worker_t *self = sb_worker_self();
	stream_conn_t *c;
	msg_rate_e verdict;

	if (from->transport == SIPS_TP_UDP || !s->max_msg_rate || !self ||
	    !stack.rates)
		return 0;
	c = flow_owner_here(from->flow_id);
	if (!c || c->is_client)
		return 0;
	verdict = msg_rate_check(stack.rates[sb_worker_index(self)], s,
				 from->flow_id, apr_time_now());
	if (verdict == MSG_RATE_PASS)
		return 0;
	if (verdict == MSG_RATE_CLOSE) {
		src_guard_log(p, SRC_EV_MSG_RATE_CLOSE,
			      "profile %s: flow %" APR_UINT64_T_FMT
			      " from %s closed: over max-msg-rate (%u/s) for "
			      "%us (msg-rate-close)",
			      p->name, from->flow_id, c->peer, s->max_msg_rate,
			      s->msg_rate_close);
		/* The free is deferred: the framing loop sees CLOSED. */
		stream_conn_close(c, "over max-msg-rate (msg-rate-close)");
		return 1;
	}
	src_guard_log(p, SRC_EV_MSG_RATE,
		      "profile %s: flow %" APR_UINT64_T_FMT " from %s over "
		      "max-msg-rate (%u/s, burst %u): %s",
		      p->name, from->flow_id, c->peer, s->max_msg_rate,
		      s->max_msg_burst,
		      msg && msg->is_request && msg->method != SIP_METHOD_ACK
			      ? "request answered 503"
			      : "message dropped");
	if (msg && msg->is_request && msg->method != SIP_METHOD_ACK)
		endpoint_respond(NULL, msg, from, 503, NULL, retry);
	return 1;
}

void endpoint_receive(sips_profile_t *p, const char *buf, apr_size_t len,
		      const sip_target_t *from)
{
	receive(p, buf, len, from, 0);
}

/* @p handed: a copy handed over by the flow's worker, checked there. */
static void receive(sips_profile_t *p, const char *buf, apr_size_t len,
		    const sip_target_t *from, int handed)
{
	sip_limits_t lim = { p->settings.max_msg_size,
			     p->settings.max_headers };
	sip_parse_error_t err;
	sip_msg_t *msg = malloc(sizeof(*msg));
	int parsed;

	if (!msg)
		return;
	memset(msg, 0, sizeof(*msg));
	memset(&err, 0, sizeof(err));
	parsed = sip_parse_msg(msg, buf, len, &lim, &err) == APR_SUCCESS;
	/* Malformed messages count too: a flood of them gets no 400s. */
	if (!handed && over_msg_rate(p, parsed ? msg : NULL, from)) {
		/* answered 503, dropped, or the connection closed */
	} else if (!parsed) {
		reject_malformed(p, msg, &err, from);
	} else if (!handed && handed_over(p, msg, from)) {
		/* the owner worker handles it */
	} else if (msg->is_request) {
		receive_request(p, msg, from);
	} else if (endpoint_txn_table() &&
		   txn_client_receive(endpoint_txn_table(), msg) !=
			   APR_SUCCESS &&
		   !call_out_stray_2xx(msg)) {
		sb_log(SB_LOG_DEBUG, "SB02202",
		       "profile %s: stray %d response from %s:%d dropped",
		       p->name, msg->status, from->peer_ip, from->peer_port);
	}
	free(msg);
}
