/* call_media.c — each leg's SDP on its own (offer/answer, RFC 3264) and
 * the relay streams between the legs. */
#include <stdlib.h>
#include <string.h>
#include <apr_strings.h>
#include "sipsbridge/sb_log.h"
#include "call.h"
#include "call_mux.h"
#include "endpoint.h"
#include "sip_build.h"

/* Attributes that describe the peer's transport, not the media: they
 * do not survive the relay (ICE, DTLS, SDES, rtcp-mux are per leg). */
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
sdp_media_t *call_media_relayed(const sdp_session_t *sdp, int *index)
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

apr_status_t call_media_parse_body(call_leg_t *leg, const sip_msg_t *m,
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

/* Point our stream at what @p sdp says about the peer's media; RTCP to
 * its RTP port when @p mux (negotiated: call_mux.h). */
apr_status_t call_media_learn_peer(call_leg_t *leg, const sdp_session_t *sdp,
				   int mux)
{
	const sdp_conn_t *c;
	const char *rtcp_addr = NULL;
	apr_port_t rtcp = 0;
	sdp_media_t *m;
	int index;

	m = call_media_relayed(sdp, &index);
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
	sb_media_stream_set_latching(
	    leg->stream, !leg->profile->settings.disable_rtp_auto_adjust);
	return sb_media_stream_set_peer(leg->stream, c->addr, m->port, rtcp,
					mux);
}

/* Our side of @p base for @p leg: our address and port, our origin, and
 * a=rtcp-mux as leg->rtcp_mux says (an @p offer keeps a fallback). */
const char *call_media_describe(call_leg_t *leg, const sdp_session_t *base,
				int offer, apr_size_t *len)
{
	sdp_session_t *sdp = sdp_session_copy(leg->pool, base);
	const char *const *a;
	int i, relayed = -1;

	call_media_relayed(sdp, &relayed);
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
			call_mux_decorate(leg->pool, m, leg->rtcp_mux, offer);
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
	a->rtcp_mux = 0; /* the neutral offer stands for A: no mux */
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
	int i;

	if (!a->invite->body.len)
		return late_offer(a);
	rv = call_media_parse_body(a, a->invite, &a->remote_sdp);
	if (rv != APR_SUCCESS)
		return rv;
	/* Our answer to A muxes when its offer asked (RFC 5761 5.1.1). */
	a->rtcp_mux = call_mux_offered(call_media_relayed(a->remote_sdp, &i));
	rv = call_media_learn_peer(a, a->remote_sdp, a->rtcp_mux);
	if (rv == SB_ENOTFOUND)
		sb_log(SB_LOG_NOTICE, "SB02631",
		       "call %s: no audio stream we can relay in the offer",
		       a->dlg.call_id);
	return rv;
}

void call_media_srtp_refused(const call_leg_t *leg, const char *why)
{
	sb_log(SB_LOG_NOTICE, "SB02641", "call %s: %s leg: %s",
	       leg->dlg.call_id ? leg->dlg.call_id : "-",
	       leg->inbound ? "A" : "B", why ? why : "SRTP policy not met");
}

apr_status_t call_media_offer_for(call_leg_t *b, call_leg_t *a,
				  const char **sdp, apr_size_t *len)
{
	const char *why = NULL;
	int i;

	if (!a || !a->remote_sdp)
		return SB_ENOTFOUND;
	if (!b->stream && sb_media_stream_open(call_media(), rtp_bind_ip(b),
					       &b->stream) != APR_SUCCESS)
		return SB_ELIMIT;
	if (call_srtp_offer(b, &why) != APR_SUCCESS) {
		call_media_srtp_refused(b, why);
		return SB_ECONFIG;
	}
	/* B is offered mux when A asked for it; B's answer decides. */
	b->rtcp_mux =
	    call_mux_offered(call_media_relayed(a->remote_sdp, &i));
	*sdp = call_media_describe(b, a->remote_sdp, 1, len);
	return *sdp ? APR_SUCCESS : APR_ENOMEM;
}

const char *call_media_offered_suite(const call_leg_t *a)
{
	int i;

	return call_srtp_offered_suite(call_media_relayed(a->remote_sdp, &i));
}

apr_status_t call_media_prepare_answer(call_leg_t *a)
{
	const char *why = NULL;
	sdp_media_t *m;
	int i;

	m = call_media_relayed(a->remote_sdp, &i);
	if (!m)
		return SB_ENOTFOUND;
	if (a->late_offer) {
		/* We are A's offerer: keys go in our 2xx, in use once the
		 * ACK's answer has picked one. */
		if (call_srtp_offer(a, &why) == APR_SUCCESS)
			return APR_SUCCESS;
		call_media_srtp_refused(a, why);
		return SB_ECONFIG;
	}
	if (call_srtp_answer(a, m, &why) != APR_SUCCESS) {
		call_media_srtp_refused(a, why);
		return SB_ECONFIG;
	}
	return call_srtp_install(a);
}

apr_status_t call_media_answered_srtp(call_leg_t *b,
				      const sdp_session_t *sdp)
{
	const char *why = NULL;
	sdp_media_t *m;
	int i;

	m = call_media_relayed(sdp, &i);
	if (m && call_srtp_answered(b, m, &why) == APR_SUCCESS)
		return APR_SUCCESS;
	call_media_srtp_refused(b, why);
	return SB_ECONFIG;
}

apr_status_t call_media_answer_from(call_leg_t *b, const sip_msg_t *resp)
{
	call_leg_t *a = b->bridge ? call_bridge_a(b->bridge) : b->peer;
	sdp_session_t *sdp;
	sdp_media_t *m;
	apr_status_t rv;
	int i;

	if (call_media_parse_body(b, resp, &sdp) != APR_SUCCESS)
		return b->remote_sdp ? APR_SUCCESS : SB_EMALFORMED;
	if (!(m = call_media_relayed(sdp, &i)))
		return SB_ENOTFOUND;
	/* Keys before the address: a packet latched before its keys
	 * would be relayed as it came, encrypted, to a plain leg. */
	if ((rv = call_media_answered_srtp(b, sdp)) != APR_SUCCESS)
		return rv;
	rv = call_media_learn_peer(b, sdp, call_mux_agreed(b->rtcp_mux, m));
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
	if (call_media_parse_body(a, ack, &sdp) != APR_SUCCESS)
		goto refused;
	why = "no audio stream we can relay in the ACK's answer";
	m = call_media_relayed(sdp, &i);
	if (!m)
		goto refused;
	if (call_srtp_answered(a, m, &why) != APR_SUCCESS)
		goto refused;
	why = "no address in the ACK's answer";
	if (call_media_learn_peer(a, sdp, call_mux_agreed(a->rtcp_mux, m)) !=
	    APR_SUCCESS)
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

	/* A late-offer caller gets our offer here, not an answer. */
	if (b && b->remote_sdp)
		return call_media_describe(a, b->remote_sdp, a->late_offer,
					   len);
	return a->remote_sdp ? call_media_describe(a, a->remote_sdp,
						   a->late_offer, len)
			     : NULL;
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
	m = call_media_relayed(leg->remote_sdp, &i);
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
