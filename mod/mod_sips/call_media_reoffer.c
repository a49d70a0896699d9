/* call_media_reoffer.c — a re-INVITE or UPDATE passing from one leg to
 * the other, and our own re-INVITE that gives an answered caller B's
 * media.  Their batons belong to the client transaction that carries
 * them: freed when it is reaped, answered or not (shutdown included). */
#include <stdlib.h>
#include <string.h>
#include <apr_strings.h>
#include <openssl/crypto.h>
#include "sipsbridge/sb_log.h"
#include "call.h"
#include "call_mux.h"
#include "endpoint.h"
#include "sip_build.h"

/* Answer a re-INVITE/UPDATE of @p leg (status, our SDP or none); a
 * NULL @p txn has had its final (a CANCEL's 487) and may be gone. */
static void reoffer_respond(call_leg_t *leg, txn_server_t *txn,
			    const sip_msg_t *req, const sip_target_t *from,
			    int status, const char *body, apr_size_t body_len)
{
	sip_build_via_fix_t fix = { from->peer_ip, from->peer_port };
	apr_pool_t *pool;
	sip_build_t b;
	apr_size_t len;
	char *out;

	if (!txn || apr_pool_create(&pool, leg->pool) != APR_SUCCESS)
		return;
	if (sip_build_response(&b, pool, req, status, NULL, NULL, &fix) ==
	    APR_SUCCESS) {
		if (status >= 200 && status < 300)
			sip_build_add(&b, "Contact",
				      call_leg_contact(leg, pool));
		if (body)
			sip_build_body(&b, "application/sdp", body, body_len);
		if (sip_build_serialize(&b, &out, &len) == APR_SUCCESS) {
			txn_server_respond(txn, status, out, len);
			if (status >= 200 && status < 300 &&
			    req->method == SIP_METHOD_INVITE)
				call_2xx_sent(leg, &leg->reinvite_2xx,
					      req->cseq, out, len);
		}
	}
	apr_pool_destroy(pool);
}

/*
 * A re-offer (hold, unhold, a new address) goes on to the peer, and its
 * answer comes back.  While it is pending both legs point at it; the
 * first of them to end answers the offerer's transaction and marks it
 * done, and nothing touches the legs through it after that.  It is
 * owned by the client transaction toward the peer (a cleanup on its
 * pool), which outlives the legs: a BYE or a shutdown while the peer
 * has not answered frees it with that transaction.
 */
typedef struct reoffer {
	call_leg_t *from_leg, *to_leg;
	txn_server_t *txn;
	txn_client_t *ctx; /* toward to_leg: the owner */
	sip_msg_t *req;	   /* a copy, in from_leg's pool */
	sip_target_t from;
	int is_invite;
	apr_uint32_t cseq;
	int done;   /* answered, or a leg ended: the legs are not ours */
	int to_mux; /* to_leg->rtcp_mux before our offer */
	/* Once a leg ended: our ACK for a 2xx still to come (its dialog
	 * goes with the leg), in ctx's pool. */
	char *ack;
	apr_size_t ack_len;
	dialog_t ack_dlg; /* its Call-ID, tags and target, in ctx's pool */
	leg_srtp_t from_saved, to_saved; /* keys in use until a yes */
	/* The offerer's session before this offer, back if it cancels. */
	sdp_session_t *from_remote;
	int from_mux;
	int provisional;  /* the peer sent 1xx: a CANCEL may go (9.1) */
	int cancelled;	  /* the offerer cancelled: nothing goes back */
	int cancel_wait;  /* our CANCEL waits for the peer's 1xx */
} reoffer_t;

static apr_status_t reoffer_free(void *data)
{
	reoffer_t *ro = data;

	/* Its table went with the legs still up (not at shutdown, which
	 * ends the legs first): they must not keep a freed pointer. */
	if (!ro->done)
		ro->from_leg->reoffer = ro->to_leg->reoffer = NULL;
	OPENSSL_cleanse(&ro->from_saved, sizeof(ro->from_saved));
	OPENSSL_cleanse(&ro->to_saved, sizeof(ro->to_saved));
	free(ro);
	return APR_SUCCESS;
}

/* The peer may still answer 2xx to our re-INVITE after its leg is gone:
 * RFC 3261 13.2.2.4 wants it ACKed all the same, or it keeps coming. */
static void reoffer_keep_ack(reoffer_t *ro)
{
	apr_pool_t *pool = txn_client_pool(ro->ctx);
	char *buf;
	apr_size_t len;

	if (call_leg_build_ack(ro->to_leg, pool, ro->cseq, &buf, &len) !=
	    APR_SUCCESS)
		return;
	ro->ack = buf;
	ro->ack_len = len;
	ro->ack_dlg.call_id = apr_pstrdup(pool, ro->to_leg->dlg.call_id);
	ro->ack_dlg.local_tag = apr_pstrdup(pool, ro->to_leg->dlg.local_tag);
	ro->ack_dlg.remote_tag = apr_pstrdup(pool, ro->to_leg->dlg.remote_tag);
	ro->ack_dlg.to = ro->to_leg->dlg.to;
}

/* The late 2xx: our ACK, kept for the 2xx's retransmissions once this
 * transaction is gone too (RFC 3261 13.2.2.4). */
static void reoffer_late_2xx(reoffer_t *ro)
{
	call_ack_t ack = {ro->ack, ro->ack_len, ro->cseq, apr_time_now()};
	sb_worker_t *self = sb_worker_self();

	endpoint_send(&ro->ack_dlg.to, ro->ack, ro->ack_len);
	if (self)
		call_ack_keep(sb_worker_index(self), &ro->ack_dlg, &ack,
			      ro->ack_dlg.to.profile->timers.t1);
}

void call_media_leg_ended(call_leg_t *leg)
{
	reoffer_t *ro = leg->reoffer;

	if (!ro)
		return;
	/* Its transaction still waits for an answer: it gets one now.  The
	 * call is ending either way (a BYE to the offerer follows when the
	 * peer went): RFC 3261 15.1.2 recommends 487 for such requests. */
	reoffer_respond(ro->from_leg, ro->txn, ro->req, &ro->from, 487, NULL,
			0);
	if (ro->is_invite)
		reoffer_keep_ack(ro);
	ro->done = 1;
	ro->from_leg->reoffer = NULL;
	ro->to_leg->reoffer = NULL;
}

/* The peer said no (or its answer was no use): both legs go on with the
 * keys and RTCP they had. */
static void reoffer_undo(reoffer_t *ro)
{
	ro->from_leg->srtp = ro->from_saved;
	ro->to_leg->srtp = ro->to_saved;
	ro->to_leg->rtcp_mux = ro->to_mux;
}

/* A 2xx from the peer: its answer becomes ours to the offerer. */
static void reoffer_accepted(reoffer_t *ro, const sip_msg_t *resp)
{
	call_leg_t *l = ro->from_leg, *p = ro->to_leg;
	const char *body = NULL;
	apr_size_t body_len = 0;
	sdp_session_t *ans;
	sdp_media_t *m;
	int i;

	if (ro->is_invite)
		call_ack_send(p, &p->reinvite_ack, ro->cseq);
	if (call_media_parse_body(p, resp, &ans) == APR_SUCCESS &&
	    (m = call_media_relayed(ans, &i)) != NULL &&
	    call_media_answered_srtp(p, ans) == APR_SUCCESS &&
	    call_media_learn_peer(p, ans, call_mux_agreed(p->rtcp_mux, m)) ==
		    APR_SUCCESS) {
		p->remote_sdp = ans;
		call_srtp_install(l);
		body = call_media_describe(l, ans, 0, &body_len);
	} else {
		reoffer_undo(ro);
		call_srtp_install(p);
	}
	reoffer_respond(l, ro->txn, ro->req, &ro->from, body ? 200 : 488,
			body, body_len);
	call_media_watch(l);
}

static void reoffer_send_cancel(reoffer_t *ro);
static void reoffer_withdrawn(reoffer_t *ro, const sip_msg_t *resp,
			      int status);

static void reoffer_answered(void *baton, const sip_msg_t *resp, int status)
{
	reoffer_t *ro = baton;

	if (status < 200) {
		ro->provisional = 1;
		if (!ro->done && ro->cancel_wait)
			reoffer_send_cancel(ro);
		return;
	}
	if (ro->done) {
		if (status < 300 && resp && ro->ack)
			reoffer_late_2xx(ro);
		return;
	}
	ro->done = 1;
	ro->from_leg->reoffer = ro->to_leg->reoffer = NULL;
	if (ro->cancelled) {
		reoffer_withdrawn(ro, resp, status);
		return;
	}
	if (status < 300 && resp) {
		reoffer_accepted(ro, resp);
		return;
	}
	reoffer_undo(ro);
	reoffer_respond(ro->from_leg, ro->txn, ro->req, &ro->from,
			resp ? status : 500, NULL, 0);
}

/* The re-offer of @p leg on its way to @p peer; 0 when it could not go
 * (answered here, keys back as they were). */
static int reoffer_pass(call_leg_t *leg, call_leg_t *peer, txn_server_t *txn,
			const sip_msg_t *req, const sip_target_t *from,
			const sdp_session_t *sdp, const leg_srtp_t *saved)
{
	const char *offer, *why = NULL;
	apr_size_t len = 0;
	reoffer_t *ro = calloc(1, sizeof(*ro));

	if (!ro || !(ro->req = call_msg_copy(leg->pool, req))) {
		free(ro);
		leg->srtp = *saved;
		reoffer_respond(leg, txn, req, from, 500, NULL, 0);
		return 0;
	}
	ro->from_leg = leg;
	ro->to_leg = peer;
	ro->txn = txn;
	ro->from = *from;
	ro->is_invite = req->method == SIP_METHOD_INVITE;
	ro->from_saved = *saved;
	ro->to_saved = peer->srtp;
	ro->to_mux = peer->rtcp_mux;
	if (call_srtp_offer(peer, &why) != APR_SUCCESS) {
		call_media_srtp_refused(peer, why);
		reoffer_undo(ro);
		reoffer_free(ro);
		reoffer_respond(leg, txn, req, from, 488, NULL, 0);
		return 0;
	}
	/* The peer is offered mux when the offerer asked for it. */
	peer->rtcp_mux = leg->rtcp_mux;
	offer = call_media_describe(peer, sdp, 1, &len);
	if (call_leg_send_txn(peer, ro->is_invite ? "INVITE" : "UPDATE",
			      "application/sdp", offer, len, reoffer_answered,
			      ro, &ro->cseq, &ro->ctx) != APR_SUCCESS) {
		reoffer_undo(ro);
		reoffer_free(ro);
		reoffer_respond(leg, txn, req, from, 500, NULL, 0);
		return 0;
	}
	apr_pool_cleanup_register(txn_client_pool(ro->ctx), ro, reoffer_free,
				  apr_pool_cleanup_null);
	leg->reoffer = peer->reoffer = ro;
	/* The answer waits for a phone: no retransmissions meanwhile
	 * (RFC 3261 17.2.1). */
	if (ro->is_invite)
		reoffer_respond(leg, txn, req, from, 100, NULL, 0);
	return 1;
}

void call_media_reoffer(call_leg_t *leg, txn_server_t *txn,
			const sip_msg_t *req, const sip_target_t *from)
{
	call_leg_t *peer = leg->peer;
	sdp_session_t *sdp;
	const char *body = NULL, *why = NULL;
	leg_srtp_t saved;
	sdp_media_t *m = NULL;
	sdp_session_t *old_remote = leg->remote_sdp;
	int old_mux = leg->rtcp_mux;
	int i;
	apr_size_t len = 0;

	if (leg->reoffer || (peer && peer->reoffer)) {
		reoffer_respond(leg, txn, req, from, 491, NULL, 0);
		return;
	}
	if (!req->body.len) {
		/* No offer: a session refresh.  An UPDATE gets no SDP (RFC
		 * 3311); an INVITE gets ours as the offer. */
		if (req->method == SIP_METHOD_INVITE && leg->local_sdp)
			body = sdp_print(leg->local_sdp, leg->pool, &len);
		reoffer_respond(leg, txn, req, from, 200, body, len);
		return;
	}
	if (call_media_parse_body(leg, req, &sdp) != APR_SUCCESS ||
	    !(m = call_media_relayed(sdp, &i)) ||
	    call_media_learn_peer(leg, sdp, call_mux_offered(m)) !=
		    APR_SUCCESS) {
		reoffer_respond(leg, txn, req, from, 488, NULL, 0);
		return;
	}
	/* New offer, new keys on both legs (RFC 4568 7.1.4); the relay
	 * keeps the old ones until the other side has said yes. */
	saved = leg->srtp;
	if (call_srtp_answer(leg, m, &why) != APR_SUCCESS) {
		call_media_srtp_refused(leg, why);
		leg->srtp = saved;
		reoffer_respond(leg, txn, req, from, 488, NULL, 0);
		return;
	}
	leg->remote_sdp = sdp;
	leg->rtcp_mux = call_mux_offered(m);
	if (!peer || peer->state != LEG_UP) {
		call_srtp_install(leg);
		body = call_media_describe(leg, sdp, 0, &len);
		reoffer_respond(leg, txn, req, from, 200, body, len);
		call_media_watch(leg);
		return;
	}
	if (reoffer_pass(leg, peer, txn, req, from, sdp, &saved)) {
		leg->reoffer->from_remote = old_remote;
		leg->reoffer->from_mux = old_mux;
		sb_log(SB_LOG_INFO, "SB02633", "call %s: %s with %s passed on",
		       leg->dlg.call_id,
		       req->method == SIP_METHOD_INVITE ? "re-INVITE"
							: "UPDATE",
		       sdp_is_hold(sdp, NULL) ? "hold" : "an offer");
	}
}

/* RFC 3261 9.1: the CANCEL is built from our re-INVITE (same Via
 * branch, CSeq number) and goes where it went. */
static void reoffer_send_cancel(reoffer_t *ro)
{
	call_leg_t *p = ro->to_leg;
	const sip_msg_t *inv = txn_client_request(ro->ctx);
	apr_pool_t *pool;
	sip_build_t b;
	char *buf;
	apr_size_t len;

	ro->cancel_wait = 0;
	if (!inv || apr_pool_create(&pool, p->pool) != APR_SUCCESS)
		return;
	/* Not sent (the flow is gone): the re-INVITE ends at Timer B. */
	if (sip_build_cancel(&b, pool, inv) == APR_SUCCESS &&
	    sip_build_serialize(&b, &buf, &len) == APR_SUCCESS &&
	    txn_client_start(endpoint_txn_table(), &p->dlg.to, buf, len,
			     &p->profile->timers, NULL, NULL,
			     NULL) != APR_SUCCESS)
		sb_log(SB_LOG_INFO, "SB02653",
		       "call %s: CANCEL of the re-INVITE not sent: the "
		       "peer's flow is gone", p->dlg.call_id);
	apr_pool_destroy(pool);
}

/*
 * The peer's final to a re-INVITE the offerer cancelled.  A 2xx that
 * crossed our CANCEL is ACKed and the peer's leg takes its answer (its
 * side of the session did change); anything else leaves that leg as it
 * was.  The offerer had its 487: its side stays as it was either way.
 */
static void reoffer_withdrawn(reoffer_t *ro, const sip_msg_t *resp,
			      int status)
{
	call_leg_t *p = ro->to_leg;
	sdp_session_t *ans;
	sdp_media_t *m;
	int i;

	if (status < 300 && resp) {
		call_ack_send(p, &p->reinvite_ack, ro->cseq);
		if (call_media_parse_body(p, resp, &ans) == APR_SUCCESS &&
		    (m = call_media_relayed(ans, &i)) != NULL &&
		    call_media_answered_srtp(p, ans) == APR_SUCCESS &&
		    call_media_learn_peer(p, ans,
					  call_mux_agreed(p->rtcp_mux, m)) ==
			    APR_SUCCESS)
			p->remote_sdp = ans;
		sb_log(SB_LOG_WARNING, "SB02652",
		       "call %s: the re-INVITE the %s leg cancelled was "
		       "answered %d all the same; ACKed, the legs' media "
		       "may differ until the next offer",
		       p->dlg.call_id, ro->from_leg->inbound ? "A" : "B",
		       status);
		return;
	}
	p->srtp = ro->to_saved;
	p->rtcp_mux = ro->to_mux;
	sb_log(SB_LOG_INFO, "SB02651",
	       "call %s: the cancelled re-INVITE got %d from the %s leg; "
	       "the call goes on as it was",
	       p->dlg.call_id, status, p->inbound ? "A" : "B");
}

int call_media_reoffer_cancel(const sip_msg_t *cancel,
			      txn_server_t *invite_txn)
{
	call_leg_t *leg = call_leg_find(cancel, 1);
	reoffer_t *ro = leg ? leg->reoffer : NULL;

	if (!ro || ro->done || ro->cancelled || ro->txn != invite_txn ||
	    ro->from_leg != leg || !ro->is_invite)
		return 0;
	sb_log(SB_LOG_INFO, "SB02650",
	       "call %s: re-INVITE cancelled by the %s leg: 487, and "
	       "CANCEL to the other leg",
	       leg->dlg.call_id, leg->inbound ? "A" : "B");
	/* The legs stay tied to it until the peer's final: no other
	 * re-INVITE may cross ours (RFC 3261 14.1; 491 meanwhile). */
	ro->cancelled = 1;
	reoffer_respond(leg, ro->txn, ro->req, &ro->from, 487, NULL, 0);
	/* Its transaction ends on its own (ACK, Timer H/I): not ours. */
	ro->txn = NULL;
	/* The offerer's side as it was before its offer. */
	leg->srtp = ro->from_saved;
	leg->rtcp_mux = ro->from_mux;
	if (ro->from_remote) {
		leg->remote_sdp = ro->from_remote;
		call_media_learn_peer(leg, ro->from_remote, ro->from_mux);
	}
	if (ro->provisional)
		reoffer_send_cancel(ro);
	else
		ro->cancel_wait = 1;
	return 1;
}

/*
 * A was answered before B (answer; ...; bridge): its phone still uses
 * the SDP we gave it then.  A re-INVITE (an offer) tells it what B
 * chose; its 2xx is ACKed here.  The baton finds the leg again by its
 * dialog, and belongs to the transaction.
 */
typedef struct refresh {
	call_leg_key_t *key;
	apr_uint32_t cseq;
} refresh_t;

static apr_status_t refresh_free(void *data)
{
	refresh_t *r = data;

	call_leg_key_free(r->key);
	free(r);
	return APR_SUCCESS;
}

static void refresh_answered(void *baton, const sip_msg_t *resp, int status)
{
	refresh_t *r = baton;
	call_leg_t *a;

	if (status < 200)
		return;
	a = call_leg_key_find(r->key);
	if (a && status < 300 && resp)
		call_ack_send(a, &a->reinvite_ack, r->cseq);
}

void call_media_refresh_answered(call_leg_t *a)
{
	const sdp_session_t *base = a->peer && a->peer->remote_sdp
					    ? a->peer->remote_sdp
					    : a->remote_sdp;
	txn_client_t *txn = NULL;
	const char *sdp;
	apr_size_t len = 0;
	refresh_t *r;

	if (!base || !(sdp = call_media_describe(a, base, 1, &len)) ||
	    !(r = calloc(1, sizeof(*r))))
		return;
	r->key = call_leg_key_make(a);
	if (!r->key ||
	    call_leg_send_txn(a, "INVITE", "application/sdp", sdp, len,
			      refresh_answered, r, &r->cseq, &txn) !=
		    APR_SUCCESS) {
		refresh_free(r);
		return;
	}
	apr_pool_cleanup_register(txn_client_pool(txn), r, refresh_free,
				  apr_pool_cleanup_null);
}
