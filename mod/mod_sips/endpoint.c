/* endpoint.c — requests to the switch itself: validation, OPTIONS, 405. */
#include <stdlib.h>
#include <string.h>
#include <apr_strings.h>
#include "sipsbridge/sb_log.h"
#include "config.h"
#include "endpoint.h"
#include "call.h"
#include "call_route.h"
#include "registrar.h"
#include "sip_build.h"
#include "tp_stream.h"

/* Methods we answer; calls come with the dialplan. */
#define SIPS_ALLOW "INVITE, ACK, BYE, CANCEL, OPTIONS, REGISTER, UPDATE"
#define SIPS_SUPPORTED "path, outbound"
#define SIPS_ACCEPT "application/sdp"

static struct {
	sb_loop_t *loop;
	txn_table_t **tables; /* one per worker, by worker index */
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
}

static void table_destroy_here(void *baton)
{
	table_call_t *call = baton;

	txn_table_destroy(stack.tables[call->index]);
	stack.tables[call->index] = NULL;
}

apr_status_t endpoint_init(sb_loop_t *loop, apr_pool_t *pool)
{
	unsigned i;

	stack.loop = loop;
	stack.n = sb_loop_nworkers(loop);
	stack.tables = apr_pcalloc(pool, stack.n * sizeof(*stack.tables));
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

		if (!sock)
			return SB_EFLOWGONE;
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
 * that transaction's state; our INVITEs are answered at once for now,
 * so there is no pending one to end with 487.
 */
static void handle_cancel(txn_server_t *txn, txn_server_t *invite,
			  const sip_msg_t *req, const sip_target_t *from)
{
	endpoint_respond(txn, req, from, invite ? 200 : 481, NULL, NULL);
	if (invite)
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

static void receive_request(sips_profile_t *p, const sip_msg_t *req,
			    const sip_target_t *from)
{
	txn_server_t *txn = NULL, *cancelled = NULL;
	txn_table_t *table = endpoint_txn_table();
	const char *tag;
	txn_rx_e what;

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

static void handover_run(void *baton)
{
	handover_t *h = baton;

	endpoint_receive(h->profile, h->buf, h->len, &h->from);
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

void endpoint_receive(sips_profile_t *p, const char *buf, apr_size_t len,
		      const sip_target_t *from)
{
	sip_limits_t lim = { p->settings.max_msg_size,
			     p->settings.max_headers };
	sip_parse_error_t err;
	sip_msg_t *msg = malloc(sizeof(*msg));

	if (!msg)
		return;
	memset(msg, 0, sizeof(*msg));
	memset(&err, 0, sizeof(err));
	if (sip_parse_msg(msg, buf, len, &lim, &err) != APR_SUCCESS) {
		reject_malformed(p, msg, &err, from);
	} else if (handed_over(p, msg, from)) {
		/* the owner worker handles it */
	} else if (msg->is_request) {
		receive_request(p, msg, from);
	} else if (endpoint_txn_table() &&
		   txn_client_receive(endpoint_txn_table(), msg) != APR_SUCCESS &&
		   !call_out_stray_2xx(msg)) {
		sb_log(SB_LOG_DEBUG, "SB02202",
		       "profile %s: stray %d response from %s:%d dropped",
		       p->name, msg->status, from->peer_ip, from->peer_port);
	}
	free(msg);
}
