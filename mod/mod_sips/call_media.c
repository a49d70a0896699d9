/* call_media.c — each leg's SDP on its own (offer/answer, RFC 3264) and
 * the relay streams between the legs. */
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
			if (!strncasecmp(m->proto, "RTP/SAVP", 8))
				m->proto = "RTP/AVP";
		} else {
			m->port = 0; /* not relayed: declined (RFC 3264 6) */
		}
	}
	for (a = per_leg_attrs; *a; a++)
		sdp_attr_remove(sdp->attrs, *a);
	leg->local_sdp = sdp;
	return sdp_print(sdp, leg->pool, len);
}

apr_status_t call_media_inbound_offer(call_leg_t *a)
{
	apr_status_t rv = parse_body(a, a->invite, &a->remote_sdp);

	if (rv != APR_SUCCESS)
		return rv;
	rv = learn_peer(a, a->remote_sdp);
	if (rv == SB_ENOTFOUND)
		sb_log(SB_LOG_NOTICE, "SB02631",
		       "call %s: no audio stream we can relay in the offer",
		       a->dlg.call_id);
	return rv;
}

const char *call_media_offer_for(call_leg_t *b, call_leg_t *a,
				 apr_size_t *len)
{
	if (!a || !a->remote_sdp)
		return NULL;
	if (!b->stream && sb_media_stream_open(call_media(), rtp_bind_ip(b),
					       &b->stream) != APR_SUCCESS)
		return NULL;
	return describe(b, a->remote_sdp, len);
}

apr_status_t call_media_answer_from(call_leg_t *b, const sip_msg_t *resp)
{
	call_leg_t *a = b->bridge ? call_bridge_a(b->bridge) : b->peer;
	sdp_session_t *sdp;
	apr_status_t rv;

	if (parse_body(b, resp, &sdp) != APR_SUCCESS)
		return b->remote_sdp ? APR_SUCCESS : SB_EMALFORMED;
	rv = learn_peer(b, sdp);
	if (rv != APR_SUCCESS)
		return rv;
	b->remote_sdp = sdp;
	if (a && a->stream)
		sb_media_stream_link(a->stream, b->stream);
	return APR_SUCCESS;
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

/* A re-INVITE or UPDATE with SDP: follow the peer's new address (hold,
 * a new port) and answer with what we already use. */
void call_media_reoffer(call_leg_t *leg, txn_server_t *txn,
			const sip_msg_t *req, const sip_target_t *from)
{
	sip_build_via_fix_t fix = { from->peer_ip, from->peer_port };
	sdp_session_t *sdp;
	apr_pool_t *pool;
	sip_build_t b;
	const char *body = NULL;
	apr_size_t body_len = 0, len;
	char *out;

	if (req->body.len && parse_body(leg, req, &sdp) == APR_SUCCESS &&
	    learn_peer(leg, sdp) == APR_SUCCESS) {
		leg->remote_sdp = sdp;
		body = describe(leg, sdp, &body_len);
	} else if (leg->local_sdp) {
		body = sdp_print(leg->local_sdp, leg->pool, &body_len);
	}
	if (apr_pool_create(&pool, leg->pool) != APR_SUCCESS)
		return;
	if (sip_build_response(&b, pool, req, body ? 200 : 488, NULL, NULL,
			       &fix) == APR_SUCCESS) {
		sip_build_add(&b, "Contact", call_leg_contact(leg, pool));
		if (body)
			sip_build_body(&b, "application/sdp", body, body_len);
		if (sip_build_serialize(&b, &out, &len) == APR_SUCCESS)
			txn_server_respond(txn, body ? 200 : 488, out, len);
	}
	apr_pool_destroy(pool);
}
