/* call_media.c — each leg's SDP on its own (offer/answer, RFC 3264) and
 * the relay streams between the legs. */
#include <stdlib.h>
#include <string.h>
#include <apr_strings.h>
#include "sipsbridge/sb_log.h"
#include "call.h"
#include "endpoint.h"
#include "sip_build.h"

/* Attributes that describe the peer's transport, not the media: they
 * do not survive the relay (ICE, DTLS, SDES are per leg). */
static const char *const per_leg_attrs[] = {
	"rtcp", "rtcp-mux", "crypto", "candidate", "ice-ufrag", "ice-pwd",
	"ice-options", "fingerprint", "setup", "end-of-candidates", NULL
};

static const char *rtp_bind_ip(const call_leg_t *leg)
{
	const sips_settings_t *s = &leg->profile->settings;

	return s->rtp_ip && *s->rtp_ip ? s->rtp_ip : s->sip_ip;
}

static const char *rtp_sdp_ip(const call_leg_t *leg)
{
	const sips_settings_t *s = &leg->profile->settings;

	return s->ext_rtp_ip && *s->ext_rtp_ip ? s->ext_rtp_ip
					       : rtp_bind_ip(leg);
}

/* The m= line we relay: the first audio stream with a port. */
static sdp_media_t *relayed_media(const sdp_session_t *sdp, int *index)
{
	int i;

	for (i = 0; sdp && i < sdp->media->nelts; i++) {
		sdp_media_t *m = APR_ARRAY_IDX(sdp->media, i, sdp_media_t *);

		if (m->port && !strcasecmp(m->type, "audio") &&
		    !strncasecmp(m->proto, "RTP/", 4)) {
			*index = i;
			return m;
		}
	}
	return NULL;
}

static apr_status_t parse_body(call_leg_t *leg, const sip_msg_t *m,
			       sdp_session_t **out)
{
	const char *why = NULL;
	apr_status_t rv;

	if (!m->body.len)
		return SB_ENOTFOUND;
	rv = sdp_parse(m->body.ptr, m->body.len, leg->pool, out, &why);
	if (rv != APR_SUCCESS)
		sb_log(SB_LOG_NOTICE, "SB02630", "call %s: bad SDP: %s",
		       leg->dlg.call_id ? leg->dlg.call_id : "-",
		       why ? why : "unknown");
	return rv;
}

/* Point our stream at what @p sdp says about the peer's media. */
static apr_status_t learn_peer(call_leg_t *leg, const sdp_session_t *sdp)
{
	const sdp_conn_t *c;
	const char *rtcp_addr = NULL;
	apr_port_t rtcp = 0;
	sdp_media_t *m;
	int index;

	m = relayed_media(sdp, &index);
	c = m ? sdp_media_addr(sdp, m) : NULL;
	if (!m || !c || !c->addr)
		return SB_ENOTFOUND;
	if (!leg->stream &&
	    sb_media_stream_open(call_media(), rtp_bind_ip(leg),
				 &leg->stream) != APR_SUCCESS)
		return SB_ELIMIT;
	/* On hold (0.0.0.0): keep the old address, nothing is sent. */
	if (!strcmp(c->addr, "0.0.0.0") || !strcmp(c->addr, "::"))
		return APR_SUCCESS;
	if (sdp_media_rtcp(m, &rtcp, &rtcp_addr) != APR_SUCCESS)
		rtcp = 0;
	leg->media_ready = 1;
	return sb_media_stream_set_peer(leg->stream, c->addr, m->port, rtcp,
					sdp_media_rtcp_mux(m));
}

/* Our side of @p base for @p leg: our address and port, our origin. */
static const char *describe(call_leg_t *leg, const sdp_session_t *base,
			    apr_size_t *len)
{
	sdp_session_t *sdp = sdp_session_copy(leg->pool, base);
	const char *const *a;
	int i, relayed = -1;

	relayed_media(sdp, &relayed);
	sdp->origin.username = "sipsbridge";
	sdp->origin.sess_id = leg->sdp_version;
	sdp->origin.sess_version = ++leg->sdp_version;
	sdp->origin.nettype = "IN";
	sdp->origin.addrtype = strchr(rtp_sdp_ip(leg), ':') ? "IP6" : "IP4";
	sdp->origin.addr = rtp_sdp_ip(leg);
	sdp->name = "sipsbridge";
	sdp_conn_set(leg->pool, &sdp->conn, rtp_sdp_ip(leg));
	for (i = 0; i < sdp->media->nelts; i++) {
		sdp_media_t *m = APR_ARRAY_IDX(sdp->media, i, sdp_media_t *);

		m->conn = NULL;
		for (a = per_leg_attrs; *a; a++)
			sdp_attr_remove(m->attrs, *a);
		if (i == relayed && leg->stream) {
			m->port = sb_media_stream_port(leg->stream);
			call_srtp_decorate(leg, m);
		} else {
			m->port = 0; /* not relayed: declined (RFC 3264 6) */
		}
	}
	for (a = per_leg_attrs; *a; a++)
		sdp_attr_remove(sdp->attrs, *a);
	leg->local_sdp = sdp;
	return sdp_print(sdp, leg->pool, len);
}

/*
 * A caller that sends no SDP leaves the offer to us.  We stand in a
 * neutral offer of the G.711 pair and DTMF events for its side: B is
 * offered that, and A is offered what B answered, in our 2xx.
 */
static apr_status_t late_offer(call_leg_t *a)
{
	static const char neutral[] =
		"v=0\r\no=- 0 0 IN IP4 0.0.0.0\r\ns=-\r\n"
		"c=IN IP4 0.0.0.0\r\nt=0 0\r\n"
		"m=audio 9 RTP/AVP 0 8 101\r\n"
		"a=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n"
		"a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\n";
	const char *why = NULL;

	if (sdp_parse(neutral, sizeof(neutral) - 1, a->pool, &a->remote_sdp,
		      &why) != APR_SUCCESS)
		return SB_EMALFORMED;
	a->late_offer = 1;
	if (!a->stream &&
	    sb_media_stream_open(call_media(), rtp_bind_ip(a), &a->stream) !=
		    APR_SUCCESS)
		return SB_ELIMIT;
	sb_log(SB_LOG_INFO, "SB02635",
	       "call %s: INVITE without SDP: our offer goes in the 2xx",
	       a->dlg.call_id);
	return APR_SUCCESS;
}

apr_status_t call_media_inbound_offer(call_leg_t *a)
{
	apr_status_t rv;

	if (!a->invite->body.len)
		return late_offer(a);
	rv = parse_body(a, a->invite, &a->remote_sdp);
	if (rv != APR_SUCCESS)
		return rv;
	rv = learn_peer(a, a->remote_sdp);
	if (rv == SB_ENOTFOUND)
		sb_log(SB_LOG_NOTICE, "SB02631",
		       "call %s: no audio stream we can relay in the offer",
		       a->dlg.call_id);
	return rv;
}

static void srtp_refused(const call_leg_t *leg, const char *why)
{
	sb_log(SB_LOG_NOTICE, "SB02641", "call %s: %s leg: %s",
	       leg->dlg.call_id ? leg->dlg.call_id : "-",
	       leg->inbound ? "A" : "B", why ? why : "SRTP policy not met");
}

apr_status_t call_media_offer_for(call_leg_t *b, call_leg_t *a,
				  const char **sdp, apr_size_t *len)
{
	const char *why = NULL;

	if (!a || !a->remote_sdp)
		return SB_ENOTFOUND;
	if (!b->stream && sb_media_stream_open(call_media(), rtp_bind_ip(b),
					       &b->stream) != APR_SUCCESS)
		return SB_ELIMIT;
	if (call_srtp_offer(b, &why) != APR_SUCCESS) {
		srtp_refused(b, why);
		return SB_ECONFIG;
	}
	*sdp = describe(b, a->remote_sdp, len);
	return *sdp ? APR_SUCCESS : APR_ENOMEM;
}

const char *call_media_offered_suite(const call_leg_t *a)
{
	int i;

	return call_srtp_offered_suite(relayed_media(a->remote_sdp, &i));
}

apr_status_t call_media_prepare_answer(call_leg_t *a)
{
	const char *why = NULL;
	sdp_media_t *m;
	int i;

	m = relayed_media(a->remote_sdp, &i);
	if (!m)
		return SB_ENOTFOUND;
	if (a->late_offer) {
		/* We are A's offerer: keys go in our 2xx, in use once the
		 * ACK's answer has picked one. */
		if (call_srtp_offer(a, &why) == APR_SUCCESS)
			return APR_SUCCESS;
		srtp_refused(a, why);
		return SB_ECONFIG;
	}
	if (call_srtp_answer(a, m, &why) != APR_SUCCESS) {
		srtp_refused(a, why);
		return SB_ECONFIG;
	}
	return call_srtp_install(a);
}

static apr_status_t answered_srtp(call_leg_t *b, const sdp_session_t *sdp)
{
	const char *why = NULL;
	sdp_media_t *m;
	int i;

	m = relayed_media(sdp, &i);
	if (m && call_srtp_answered(b, m, &why) == APR_SUCCESS)
		return APR_SUCCESS;
	srtp_refused(b, why);
	return SB_ECONFIG;
}

apr_status_t call_media_answer_from(call_leg_t *b, const sip_msg_t *resp)
{
	call_leg_t *a = b->bridge ? call_bridge_a(b->bridge) : b->peer;
	sdp_session_t *sdp;
	apr_status_t rv;
	int i;

	if (parse_body(b, resp, &sdp) != APR_SUCCESS)
		return b->remote_sdp ? APR_SUCCESS : SB_EMALFORMED;
	if (!relayed_media(sdp, &i))
		return SB_ENOTFOUND;
	/* Keys before the address: a packet latched before its keys
	 * would be relayed as it came, encrypted, to a plain leg. */
	if ((rv = answered_srtp(b, sdp)) != APR_SUCCESS)
		return rv;
	rv = learn_peer(b, sdp);
	if (rv != APR_SUCCESS)
		return rv;
	b->remote_sdp = sdp;
	if (a && a->stream)
		sb_media_stream_link(a->stream, b->stream);
	return APR_SUCCESS;
}

apr_status_t call_media_late_answer(call_leg_t *a, const sip_msg_t *ack)
{
	sdp_session_t *sdp = NULL;
	const char *why = "no SDP answer in the ACK";
	sdp_media_t *m;
	int i;

	a->late_offer = 0;
	if (parse_body(a, ack, &sdp) != APR_SUCCESS)
		goto refused;
	why = "no audio stream we can relay in the ACK's answer";
	m = relayed_media(sdp, &i);
	if (!m)
		goto refused;
	if (call_srtp_answered(a, m, &why) != APR_SUCCESS)
		goto refused;
	why = "no address in the ACK's answer";
	if (learn_peer(a, sdp) != APR_SUCCESS)
		goto refused;
	a->remote_sdp = sdp;
	return APR_SUCCESS;
refused:
	sb_log(SB_LOG_NOTICE, "SB02636", "call %s: late offer: %s",
	       a->dlg.call_id, why);
	return SB_EMALFORMED;
}

static call_leg_t *b_side(call_leg_t *a)
{
	return a->peer;
}

const char *call_media_answer_for(call_leg_t *a, apr_size_t *len)
{
	call_leg_t *b = b_side(a);

	if (b && b->remote_sdp)
		return describe(a, b->remote_sdp, len);
	return a->remote_sdp ? describe(a, a->remote_sdp, len) : NULL;
}

void call_media_close(call_leg_t *leg)
{
	if (!leg->stream)
		return;
	if (leg->peer && leg->peer->stream)
		sb_media_stream_link(leg->peer->stream, NULL);
	sb_media_stream_close(leg->stream);
	leg->stream = NULL;
}

/* Answer a re-INVITE/UPDATE of @p leg (status, our SDP or none). */
static void reoffer_respond(call_leg_t *leg, txn_server_t *txn,
			    const sip_msg_t *req, const sip_target_t *from,
			    int status, const char *body, apr_size_t body_len)
{
	sip_build_via_fix_t fix = { from->peer_ip, from->peer_port };
	apr_pool_t *pool;
	sip_build_t b;
	apr_size_t len;
	char *out;

	if (apr_pool_create(&pool, leg->pool) != APR_SUCCESS)
		return;
	if (sip_build_response(&b, pool, req, status, NULL, NULL, &fix) ==
	    APR_SUCCESS) {
		if (status < 300)
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
 * A re-INVITE or UPDATE passing from one leg to the other (hold, unhold,
 * a new address): the offer goes on to the peer, its answer comes back.
 * Both legs point at it; whichever ends first marks it dead, and the
 * peer's transaction callback frees it.
 */
typedef struct reoffer {
	call_leg_t *from_leg, *to_leg;
	txn_server_t *txn;
	sip_msg_t *req; /* a copy, in from_leg's pool */
	sip_target_t from;
	int is_invite;
	apr_uint32_t cseq;
	int dead;
	leg_srtp_t from_saved, to_saved; /* keys in use until a yes */
} reoffer_t;

void call_media_leg_ended(call_leg_t *leg)
{
	reoffer_t *ro = leg->reoffer;

	if (!ro)
		return;
	/* Its transaction still waits for an answer: it gets one now. */
	reoffer_respond(ro->from_leg, ro->txn, ro->req, &ro->from,
			leg == ro->from_leg ? 487 : 500, NULL, 0);
	ro->dead = 1;
	ro->from_leg->reoffer = NULL;
	ro->to_leg->reoffer = NULL;
}

static void reoffer_answered(void *baton, const sip_msg_t *resp, int status)
{
	reoffer_t *ro = baton;
	call_leg_t *l, *p;
	sdp_session_t *ans;
	const char *body = NULL;
	apr_size_t body_len = 0;

	if (status < 200)
		return;
	if (ro->dead) {
		free(ro);
		return;
	}
	l = ro->from_leg;
	p = ro->to_leg;
	l->reoffer = p->reoffer = NULL;
	if (status < 300 && resp) {
		if (ro->is_invite)
			call_leg_send_ack(p, ro->cseq);
		if (parse_body(p, resp, &ans) == APR_SUCCESS &&
		    answered_srtp(p, ans) == APR_SUCCESS &&
		    learn_peer(p, ans) == APR_SUCCESS) {
			p->remote_sdp = ans;
			call_srtp_install(l);
			body = describe(l, ans, &body_len);
		} else {
			l->srtp = ro->from_saved;
			p->srtp = ro->to_saved;
			call_srtp_install(p);
		}
		reoffer_respond(l, ro->txn, ro->req, &ro->from,
				body ? 200 : 488, body, body_len);
		call_media_watch(l);
	} else {
		/* Refused: both legs go on with the keys they had. */
		l->srtp = ro->from_saved;
		p->srtp = ro->to_saved;
		reoffer_respond(l, ro->txn, ro->req, &ro->from,
				resp ? status : 500, NULL, 0);
	}
	free(ro);
}

void call_media_reoffer(call_leg_t *leg, txn_server_t *txn,
			const sip_msg_t *req, const sip_target_t *from)
{
	call_leg_t *peer = leg->peer;
	sdp_session_t *sdp;
	const char *offer, *body = NULL, *why = NULL;
	leg_srtp_t ro_saved;
	sdp_media_t *m;
	int i;
	apr_size_t len = 0;
	reoffer_t *ro;

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
	if (parse_body(leg, req, &sdp) != APR_SUCCESS ||
	    learn_peer(leg, sdp) != APR_SUCCESS) {
		reoffer_respond(leg, txn, req, from, 488, NULL, 0);
		return;
	}
	/* New offer, new keys on both legs (RFC 4568 7.1.4); the relay
	 * keeps the old ones until the other side has said yes. */
	ro_saved = leg->srtp;
	m = relayed_media(sdp, &i);
	if (!m || call_srtp_answer(leg, m, &why) != APR_SUCCESS) {
		srtp_refused(leg, why);
		leg->srtp = ro_saved;
		reoffer_respond(leg, txn, req, from, 488, NULL, 0);
		return;
	}
	leg->remote_sdp = sdp;
	if (!peer || peer->state != LEG_UP) {
		call_srtp_install(leg);
		body = describe(leg, sdp, &len);
		reoffer_respond(leg, txn, req, from, 200, body, len);
		call_media_watch(leg);
		return;
	}
	ro = calloc(1, sizeof(*ro));
	if (!ro || !(ro->req = call_msg_copy(leg->pool, req))) {
		free(ro);
		reoffer_respond(leg, txn, req, from, 500, NULL, 0);
		return;
	}
	ro->from_leg = leg;
	ro->to_leg = peer;
	ro->txn = txn;
	ro->from = *from;
	ro->is_invite = req->method == SIP_METHOD_INVITE;
	ro->from_saved = ro_saved;
	ro->to_saved = peer->srtp;
	if (call_srtp_offer(peer, &why) != APR_SUCCESS) {
		srtp_refused(peer, why);
		leg->srtp = ro_saved;
		peer->srtp = ro->to_saved;
		free(ro);
		reoffer_respond(leg, txn, req, from, 488, NULL, 0);
		return;
	}
	offer = describe(peer, sdp, &len);
	if (call_leg_send_ex(peer, ro->is_invite ? "INVITE" : "UPDATE",
			     "application/sdp", offer, len, reoffer_answered,
			     ro, &ro->cseq) != APR_SUCCESS) {
		free(ro);
		reoffer_respond(leg, txn, req, from, 500, NULL, 0);
		return;
	}
	leg->reoffer = peer->reoffer = ro;
	sb_log(SB_LOG_INFO, "SB02633", "call %s: %s with %s passed on",
	       leg->dlg.call_id, ro->is_invite ? "re-INVITE" : "UPDATE",
	       sdp_is_hold(sdp, NULL) ? "hold" : "an offer");
}

/* The relay thread saw no media: post to the leg's worker, which finds
 * the leg again by its dialog (it may have ended meanwhile). */
static void media_gone_run(void *baton)
{
	call_leg_key_t *key = baton;
	call_leg_t *leg = call_leg_key_find(key);

	if (leg && leg->state == LEG_UP && leg->session) {
		sb_log(SB_LOG_NOTICE, "SB02632",
		       "call %s: no media for %u s; hanging up",
		       leg->dlg.call_id, leg->profile->settings.media_timeout);
		sb_session_hangup(leg->session, SB_CAUSE_MEDIA_TIMEOUT);
	}
	call_leg_key_free(key);
}

static void media_timeout(void *baton)
{
	call_leg_t *leg = baton;
	call_leg_key_t *key = call_leg_key_make(leg);

	if (key && sb_worker_post(leg->worker, media_gone_run, key) !=
		       APR_SUCCESS)
		call_leg_key_free(key);
}

static int on_hold(const call_leg_t *leg)
{
	int i;
	sdp_media_t *m;

	if (!leg || !leg->remote_sdp)
		return 0;
	m = relayed_media(leg->remote_sdp, &i);
	return m && sdp_is_hold(leg->remote_sdp, m);
}

static void watch_one(call_leg_t *leg, int held)
{
	unsigned secs = leg->profile->settings.media_timeout;

	if (leg->stream)
		sb_media_stream_set_timeout(leg->stream,
					    held || !secs ? 0
							  : apr_time_from_sec(secs),
					    media_timeout, leg);
}

void call_media_watch(call_leg_t *leg)
{
	int held = on_hold(leg) || on_hold(leg->peer);

	watch_one(leg, held);
	if (leg->peer)
		watch_one(leg->peer, held);
}

/*
 * A was answered before B (answer; ...; bridge): its phone still uses
 * the SDP we gave it then.  A re-INVITE tells it what B chose; its 2xx
 * is ACKed here.  The baton finds the leg again by its dialog.
 */
typedef struct refresh {
	call_leg_key_t *key;
	apr_uint32_t cseq;
} refresh_t;

static void refresh_free(refresh_t *r)
{
	call_leg_key_free(r->key);
	free(r);
}

static void refresh_answered(void *baton, const sip_msg_t *resp, int status)
{
	refresh_t *r = baton;
	call_leg_t *a;

	if (status < 200)
		return;
	a = call_leg_key_find(r->key);
	if (a && status < 300 && resp)
		call_leg_send_ack(a, r->cseq);
	refresh_free(r);
}

void call_media_refresh_answered(call_leg_t *a)
{
	refresh_t *r;
	const char *sdp;
	apr_size_t len = 0;

	sdp = call_media_answer_for(a, &len);
	if (!sdp || !(r = calloc(1, sizeof(*r))))
		return;
	r->key = call_leg_key_make(a);
	if (!r->key ||
	    call_leg_send_ex(a, "INVITE", "application/sdp", sdp, len,
			     refresh_answered, r, &r->cseq) != APR_SUCCESS)
		refresh_free(r);
}
