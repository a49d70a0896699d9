/* call_leg.c — call legs: creation, the per-worker dialog index, requests
 * inside a dialog. */
#include <stdlib.h>
#include <string.h>
#include <apr_atomic.h>
#include <apr_hash.h>
#include <apr_strings.h>
#include <openssl/crypto.h>
#include "sipsbridge/sb_log.h"
#include "call.h"
#include "sip_resolve.h"
#include "call_route.h"
#include "config.h"
#include "endpoint.h"
#include "sip_build.h"
#include "tp_connect.h"

/* Each worker indexes the legs it owns; only it touches its table. */
static struct {
	sb_loop_t *loop;
	sb_media_t *media;
	apr_hash_t **by_dialog; /* "call-id\ntag" -> call_leg_t */
	apr_hash_t **by_invite; /* txn_server_t * -> A leg, until final */
	apr_hash_t **by_caller; /* "call-id\nfrom-tag" -> A leg */
	apr_pool_t **pools;
	unsigned n;
	volatile apr_uint32_t legs;
} calls;

apr_status_t call_init(sb_loop_t *loop, sb_media_t *media, apr_pool_t *pool)
{
	unsigned i;

	if (sip_resolve_prepare() != APR_SUCCESS)
		return APR_ENOMEM;
	calls.loop = loop;
	calls.media = media;
	calls.n = sb_loop_nworkers(loop);
	if (call_ack_init(calls.n, pool) != APR_SUCCESS)
		return APR_ENOMEM;
	calls.by_dialog = apr_pcalloc(pool, calls.n * sizeof(apr_hash_t *));
	calls.by_invite = apr_pcalloc(pool, calls.n * sizeof(apr_hash_t *));
	calls.by_caller = apr_pcalloc(pool, calls.n * sizeof(apr_hash_t *));
	calls.pools = apr_pcalloc(pool, calls.n * sizeof(apr_pool_t *));
	for (i = 0; i < calls.n; i++) {
		/* An unmanaged pool per worker: only that worker uses it. */
		if (apr_pool_create(&calls.pools[i], pool) != APR_SUCCESS)
			return APR_ENOMEM;
		calls.by_dialog[i] = apr_hash_make(calls.pools[i]);
		calls.by_invite[i] = apr_hash_make(calls.pools[i]);
		calls.by_caller[i] = apr_hash_make(calls.pools[i]);
	}
	return APR_SUCCESS;
}

/* Shutdown: every leg of this worker ends now, whatever its state. */
static void collect_leg(call_leg_t *leg, void *baton)
{
	APR_ARRAY_PUSH((apr_array_header_t *)baton, call_leg_t *) = leg;
}

/* @p baton: only the legs of this profile, or NULL for every leg. */
static void end_all_here(void *baton)
{
	apr_array_header_t *legs;
	apr_pool_t *pool;
	int i;

	if (apr_pool_create(&pool, NULL) != APR_SUCCESS)
		return;
	legs = apr_array_make(pool, 16, sizeof(call_leg_t *));
	call_leg_each_here(collect_leg, legs);
	for (i = 0; i < legs->nelts; i++) {
		call_leg_t *leg = APR_ARRAY_IDX(legs, i, call_leg_t *);

		if (baton && leg->profile != baton)
			continue;
		if (leg->state != LEG_ENDED && leg->session)
			sb_session_hangup(leg->session,
					  SB_CAUSE_NORMAL_CLEARING);
		/* Whatever is still pending (a CANCEL waiting for a
		 * provisional) is cut short. */
		if (leg->state != LEG_ENDED)
			call_leg_ended(leg, SB_CAUSE_NORMAL_CLEARING);
	}
	/* Kept ACKs name the profile, which may be about to go. */
	call_ack_forget(baton);
	apr_pool_destroy(pool);
}

/* Runs after the frees end_all_here posted (the queue is FIFO). */
static void flushed(void *baton)
{
	(void)baton;
}

void call_end_profile(sips_profile_t *p)
{
	unsigned i;

	for (i = 0; calls.by_dialog && i < calls.n; i++) {
		sb_worker_call(sb_loop_worker(calls.loop, i), end_all_here, p);
		sb_worker_call(sb_loop_worker(calls.loop, i), flushed, NULL);
	}
}

void call_shutdown(void)
{
	unsigned i;

	for (i = 0; calls.by_dialog && i < calls.n; i++) {
		sb_worker_call(sb_loop_worker(calls.loop, i), end_all_here,
			       NULL);
		sb_worker_call(sb_loop_worker(calls.loop, i), flushed, NULL);
	}
	/* After the legs: a lookup that ends now finds its leg gone. */
	sip_resolve_shutdown();
	calls.by_dialog = NULL;
	calls.by_invite = NULL;
	calls.by_caller = NULL;
	calls.media = NULL;
}

sb_media_t *call_media(void)
{
	return calls.media;
}

unsigned call_count(void)
{
	return apr_atomic_read32(&calls.legs);
}

const char *call_str(apr_pool_t *pool, const sip_str_t *s)
{
	return apr_pstrmemdup(pool, s->ptr ? s->ptr : "", s->len);
}

struct call_leg_key {
	char *tag;	   /* points into call_id's allocation */
	char call_id[];
};

call_leg_key_t *call_leg_key_make(const call_leg_t *leg)
{
	apr_size_t id = strlen(leg->dlg.call_id) + 1;
	apr_size_t tag = strlen(leg->dlg.local_tag) + 1;
	call_leg_key_t *k = malloc(sizeof(*k) + id + tag);

	if (!k)
		return NULL;
	memcpy(k->call_id, leg->dlg.call_id, id);
	k->tag = k->call_id + id;
	memcpy(k->tag, leg->dlg.local_tag, tag);
	return k;
}

call_leg_t *call_leg_key_find(const call_leg_key_t *key)
{
	return call_leg_lookup(key->call_id, key->tag);
}

void call_leg_key_free(call_leg_key_t *key)
{
	free(key);
}

sip_msg_t *call_msg_copy(apr_pool_t *pool, const sip_msg_t *m)
{
	sip_msg_t *copy = apr_pcalloc(pool, sizeof(*copy));
	char *buf = apr_pmemdup(pool, m->buf, m->len);

	return sip_parse_msg(copy, buf, m->len, NULL, NULL) == APR_SUCCESS
		       ? copy
		       : NULL;
}

const char *call_transport_upper(sips_transport_e tp)
{
	return tp == SIPS_TP_UDP ? "UDP" : tp == SIPS_TP_TCP ? "TCP" : "TLS";
}

apr_status_t call_leg_create(call_leg_t **out, sips_profile_t *p, int inbound)
{
	sb_worker_t *self = sb_worker_self();
	apr_pool_t *pool;
	call_leg_t *leg;

	if (!self || !calls.by_dialog)
		return APR_EINVAL;
	if (apr_pool_create(&pool, NULL) != APR_SUCCESS)
		return APR_ENOMEM;
	leg = apr_pcalloc(pool, sizeof(*leg));
	leg->pool = pool;
	leg->profile = p;
	leg->inbound = inbound;
	leg->worker = self;
	leg->worker_index = sb_worker_index(self);
	leg->dlg.route_set = apr_array_make(pool, 2, sizeof(const char *));
	leg->max_forwards = 70;
	leg->dlg.local_tag = call_route_tag(pool, leg->worker_index);
	leg->sdp_version = (apr_uint64_t)apr_time_sec(apr_time_now());
	apr_atomic_inc32(&calls.legs);
	*out = leg;
	return APR_SUCCESS;
}

static const char *dialog_key(apr_pool_t *pool, const char *call_id,
			      apr_size_t id_len, const char *tag,
			      apr_size_t tag_len)
{
	return apr_psprintf(pool, "%.*s\n%.*s", (int)id_len, call_id,
			    (int)tag_len, tag);
}

void call_leg_index(call_leg_t *leg)
{
	apr_hash_t *h = calls.by_dialog[leg->worker_index];
	const char *key = dialog_key(leg->pool, leg->dlg.call_id,
				     strlen(leg->dlg.call_id),
				     leg->dlg.local_tag,
				     strlen(leg->dlg.local_tag));

	apr_hash_set(h, key, APR_HASH_KEY_STRING, leg);
	/* The caller's side too: a retransmitted INVITE (no To tag yet)
	 * must find its call, not start another. */
	if (leg->inbound && leg->dlg.remote_tag)
		apr_hash_set(calls.by_caller[leg->worker_index],
			     apr_psprintf(leg->pool, "%s\n%s",
					  leg->dlg.call_id,
					  leg->dlg.remote_tag),
			     APR_HASH_KEY_STRING, leg);
	if (leg->inbound && leg->invite_txn)
		apr_hash_set(calls.by_invite[leg->worker_index],
			     &leg->invite_txn, sizeof(leg->invite_txn), leg);
}

void call_leg_invite_done(call_leg_t *leg)
{
	if (calls.by_invite && leg->invite_txn)
		apr_hash_set(calls.by_invite[leg->worker_index],
			     &leg->invite_txn, sizeof(leg->invite_txn), NULL);
	leg->invite_txn = NULL;
}

call_leg_t *call_leg_find_invite(const txn_server_t *txn)
{
	sb_worker_t *self = sb_worker_self();

	if (!self || !calls.by_invite || !txn)
		return NULL;
	return apr_hash_get(calls.by_invite[sb_worker_index(self)], &txn,
			    sizeof(txn));
}

static void leg_unindex(call_leg_t *leg)
{
	apr_hash_t *h;
	char *key;

	if (!calls.by_dialog || !leg->dlg.call_id)
		return;
	h = calls.by_dialog[leg->worker_index];
	key = apr_psprintf(leg->pool, "%s\n%s", leg->dlg.call_id,
			   leg->dlg.local_tag);
	if (apr_hash_get(h, key, APR_HASH_KEY_STRING) == leg)
		apr_hash_set(h, key, APR_HASH_KEY_STRING, NULL);
	if (leg->inbound && leg->dlg.remote_tag) {
		h = calls.by_caller[leg->worker_index];
		key = apr_psprintf(leg->pool, "%s\n%s", leg->dlg.call_id,
				   leg->dlg.remote_tag);
		if (apr_hash_get(h, key, APR_HASH_KEY_STRING) == leg)
			apr_hash_set(h, key, APR_HASH_KEY_STRING, NULL);
	}
}

call_leg_t *call_leg_find_caller(const sip_msg_t *invite)
{
	const sip_hdr_t *h = sip_hdr_find(invite, SIP_HDR_FROM);
	sb_worker_t *self = sb_worker_self();
	sip_addr_t addr;
	char key[512];

	if (!self || !calls.by_dialog || !h ||
	    sip_hdr_addr(&h->value, &addr) != APR_SUCCESS)
		return NULL;
	apr_snprintf(key, sizeof(key), "%.*s\n%.*s",
		     (int)invite->call_id.len, invite->call_id.ptr,
		     (int)addr.tag.len, addr.tag.ptr ? addr.tag.ptr : "");
	return apr_hash_get(calls.by_caller[sb_worker_index(self)], key,
			    APR_HASH_KEY_STRING);
}

call_leg_t *call_leg_lookup(const char *call_id, const char *local_tag)
{
	sb_worker_t *self = sb_worker_self();
	char key[512];

	if (!self || !calls.by_dialog)
		return NULL;
	apr_snprintf(key, sizeof(key), "%s\n%s", call_id, local_tag);
	return apr_hash_get(calls.by_dialog[sb_worker_index(self)], key,
			    APR_HASH_KEY_STRING);
}

call_leg_t *call_leg_find(const sip_msg_t *msg, int local_is_to)
{
	const sip_hdr_t *h = sip_hdr_find(msg, local_is_to ? SIP_HDR_TO
							  : SIP_HDR_FROM);
	sb_worker_t *self = sb_worker_self();
	sip_addr_t addr;
	char key[512];

	if (!self || !calls.by_dialog || !h ||
	    sip_hdr_addr(&h->value, &addr) != APR_SUCCESS || !addr.tag.len ||
	    msg->call_id.len + addr.tag.len + 2 > sizeof(key))
		return NULL;
	memcpy(key, msg->call_id.ptr, msg->call_id.len);
	key[msg->call_id.len] = '\n';
	memcpy(key + msg->call_id.len + 1, addr.tag.ptr, addr.tag.len);
	key[msg->call_id.len + 1 + addr.tag.len] = '\0';
	return apr_hash_get(calls.by_dialog[sb_worker_index(self)], key,
			    APR_HASH_KEY_STRING);
}

void call_leg_each_here(void (*fn)(call_leg_t *leg, void *baton),
			void *baton)
{
	sb_worker_t *self = sb_worker_self();
	apr_hash_index_t *hi;
	apr_pool_t *pool;

	if (!self || !calls.by_dialog ||
	    apr_pool_create(&pool, NULL) != APR_SUCCESS)
		return;
	for (hi = apr_hash_first(pool, calls.by_dialog[sb_worker_index(self)]);
	     hi; hi = apr_hash_next(hi))
		fn(apr_hash_this_val(hi), baton);
	apr_pool_destroy(pool);
}

sb_loop_t *call_loop(void)
{
	return calls.loop;
}

const char *call_leg_contact(const call_leg_t *leg, apr_pool_t *pool)
{
	const sips_settings_t *s = &leg->profile->settings;
	sips_transport_e tp = leg->dlg.to.transport;
	unsigned port = tp == SIPS_TP_TLS ? s->tls_sip_port : s->sip_port;
	/* Behind NAT the outside address is where the peer reaches us. */
	const char *ip = s->ext_sip_ip && *s->ext_sip_ip ? s->ext_sip_ip
							  : s->sip_ip;

	return apr_psprintf(pool, "<sip:mod_sips@%s%s%s:%u;transport=%s>",
			    strchr(ip, ':') ? "[" : "", ip,
			    strchr(ip, ':') ? "]" : "", port,
			    flow_transport_name(tp));
}

void call_leg_request(call_leg_t *leg, apr_pool_t *pool, const char *method,
		      apr_uint32_t cseq, sip_build_t *b)
{
	const sips_settings_t *s = &leg->profile->settings;
	const dialog_t *d = &leg->dlg;
	sips_transport_e tp = d->to.transport;
	unsigned port = tp == SIPS_TP_TLS ? s->tls_sip_port : s->sip_port;
	int i;

	sip_build_request(b, pool, method, d->remote_target);
	sip_build_addf(b, "Via", "SIP/2.0/%s %s:%u;branch=%s;rport",
		       call_transport_upper(tp), s->sip_ip, port,
		       call_route_branch(pool, leg->worker_index));
	for (i = 0; i < d->route_set->nelts; i++)
		sip_build_add(b, "Route",
			      APR_ARRAY_IDX(d->route_set, i, const char *));
	sip_build_addf(b, "Max-Forwards", "%d", leg->max_forwards);
	sip_build_addf(b, "From", "%s;tag=%s", d->local_uri, d->local_tag);
	if (d->remote_tag && *d->remote_tag)
		sip_build_addf(b, "To", "%s;tag=%s", d->remote_uri,
			       d->remote_tag);
	else
		sip_build_add(b, "To", d->remote_uri);
	sip_build_add(b, "Call-ID", d->call_id);
	sip_build_addf(b, "CSeq", "%u %s", cseq, method);
	if (strcmp(method, "ACK") && strcmp(method, "CANCEL")) {
		sip_build_add(b, "Contact", call_leg_contact(leg, pool));
		sip_build_add(b, "User-Agent", "sipsbridge/" PACKAGE_VERSION);
	}
}

void call_leg_ensure_flow(call_leg_t *leg)
{
	sip_target_t *to = &leg->dlg.to;

	if (!leg->trunk_host || to->transport == SIPS_TP_UDP ||
	    flow_exists(to->flow_id))
		return;
	if (stream_conn_connect(leg->profile, to->transport, &to->peer,
				leg->trunk_host, &to->flow_id) == APR_SUCCESS)
		sb_log(SB_LOG_INFO, "SB02606",
		       "call %s: trunk connection to %s:%d was closed; "
		       "reconnected (flow %" APR_UINT64_T_FMT ")",
		       leg->dlg.call_id, to->peer_ip, to->peer_port,
		       to->flow_id);
}

apr_status_t call_leg_send(call_leg_t *leg, const char *method,
			   const char *ctype, const char *body,
			   apr_size_t body_len, txn_client_fn fn)
{
	return call_leg_send_ex(leg, method, ctype, body, body_len, fn, NULL,
				NULL);
}

/* A BYE's answer comes after its leg is gone: the baton is its name,
 * owned by the transaction (freed with it, answered or not). */
static void bye_answered(void *baton, const sip_msg_t *resp, int status)
{
	/* No answer at all (the phone vanished, its flow closed) shows as
	 * 408/503 without a response. */
	if (status >= 300)
		sb_log(SB_LOG_INFO, "SB02607", "call %s: BYE got %d%s",
		       (const char *)baton, status,
		       resp ? "" : " (no answer: the peer is gone)");
}

static apr_status_t free_baton(void *data)
{
	free(data);
	return APR_SUCCESS;
}

static apr_status_t leg_send(call_leg_t *leg, const char *method,
			     const char *ctype, const char *body,
			     apr_size_t body_len, txn_client_fn fn,
			     void *baton, apr_uint32_t *cseq,
			     txn_client_t **txn);

apr_status_t call_leg_bye(call_leg_t *leg)
{
	const char *id = leg->dlg.call_id ? leg->dlg.call_id : "-";
	apr_size_t n = strlen(id) + sizeof(" (A leg)");
	char *what = malloc(n);
	txn_client_t *txn = NULL;
	apr_status_t rv;

	if (!what)
		return APR_ENOMEM;
	apr_snprintf(what, n, "%s (%s leg)", id, leg->inbound ? "A" : "B");
	rv = leg_send(leg, "BYE", NULL, NULL, 0, bye_answered, what, NULL,
		      &txn);
	if (rv != APR_SUCCESS || !txn) {
		sb_log(SB_LOG_INFO, "SB02607", "call %s: BYE not sent: the "
		       "peer's flow is gone", what);
		free(what);
		return rv;
	}
	apr_pool_cleanup_register(txn_client_pool(txn), what, free_baton,
				  apr_pool_cleanup_null);
	return APR_SUCCESS;
}

apr_status_t call_leg_send_ex(call_leg_t *leg, const char *method,
			      const char *ctype, const char *body,
			      apr_size_t body_len, txn_client_fn fn,
			      void *baton, apr_uint32_t *cseq)
{
	txn_client_t *txn;

	return leg_send(leg, method, ctype, body, body_len, fn, baton, cseq,
			&txn);
}

apr_status_t call_leg_send_txn(call_leg_t *leg, const char *method,
			       const char *ctype, const char *body,
			       apr_size_t body_len, txn_client_fn fn,
			       void *baton, apr_uint32_t *cseq,
			       txn_client_t **txn)
{
	*txn = NULL;
	return leg_send(leg, method, ctype, body, body_len, fn, baton, cseq,
			txn);
}

static apr_status_t leg_send(call_leg_t *leg, const char *method,
			     const char *ctype, const char *body,
			     apr_size_t body_len, txn_client_fn fn,
			     void *baton, apr_uint32_t *cseq,
			     txn_client_t **txn)
{
	apr_pool_t *pool;
	sip_build_t b;
	char *buf;
	apr_size_t len;
	apr_status_t rv;

	if (apr_pool_create(&pool, leg->pool) != APR_SUCCESS)
		return APR_ENOMEM;
	call_leg_ensure_flow(leg);
	call_leg_request(leg, pool, method, ++leg->dlg.local_cseq, &b);
	if (cseq)
		*cseq = leg->dlg.local_cseq;
	if (body)
		sip_build_body(&b, ctype, body, body_len);
	rv = sip_build_serialize(&b, &buf, &len);
	/* Not the leg as baton: a callback may come after the leg ended. */
	if (rv == APR_SUCCESS)
		rv = txn_client_start(endpoint_txn_table(), &leg->dlg.to, buf,
				      len, &leg->profile->timers, fn, baton,
				      txn);
	apr_pool_destroy(pool);
	return rv;
}

/* Freed from the worker's queue: never inside a callback that still
 * holds the leg (transaction callbacks, timers). */
static void leg_free_task(void *baton)
{
	call_leg_t *leg = baton;

	if (leg->session)
		sb_session_destroy(leg->session);
	leg->session = NULL;
	/* SDES keys do not outlive the call in our memory. */
	OPENSSL_cleanse(&leg->srtp, sizeof(leg->srtp));
	apr_atomic_dec32(&calls.legs);
	apr_pool_destroy(leg->pool);
}

void call_leg_free(call_leg_t *leg)
{
	/* An INVITE still pending must not call back into a freed leg. */
	txn_client_detach(leg->invite_ctx);
	leg->invite_ctx = NULL;
	call_2xx_clear(leg, &leg->answer_2xx);
	call_2xx_clear(leg, &leg->reinvite_2xx);
	call_ack_leg_gone(leg);
	sb_timer_stop(leg->worker, &leg->answer_timer);
	call_media_close(leg);
	call_leg_invite_done(leg);
	leg_unindex(leg);
	if (sb_worker_post(leg->worker, leg_free_task, leg) != APR_SUCCESS)
		leg_free_task(leg);
}

void call_leg_ended(call_leg_t *leg, int cause)
{
	if (leg->state == LEG_ENDED)
		return;
	leg->state = LEG_ENDED;
	leg->cause = cause;
	call_media_leg_ended(leg);
	sb_log(SB_LOG_INFO, "SB02600",
	       "call %s: %s leg %s ended: %s", leg->dlg.call_id,
	       leg->inbound ? "A" : "B",
	       leg->session ? sb_session_uuid(leg->session) : "-",
	       sb_cause_name(cause));
	call_bridge_leg_gone(leg, cause);
	call_leg_free(leg);
}
