/* call_in.c — the A leg: an INVITE to the switch, its dialog, the
 * session that runs the dialplan, and requests inside that dialog. */
#include <string.h>
#include <apr_strings.h>
#include "sipsbridge/sb_log.h"
#include "call.h"
#include "config.h"
#include "endpoint.h"
#include "registrar.h"
#include "sip_build.h"

static const sb_dialplan_t *current_dialplan;

void call_set_dialplan(const sb_dialplan_t *dp)
{
	current_dialplan = dp;
}

/* RFC 3261 12.1.1: the UAS side of the dialog from the INVITE. */
static apr_status_t dialog_from_invite(call_leg_t *a)
{
	const sip_msg_t *m = a->invite;
	const sip_hdr_t *from = sip_hdr_find(m, SIP_HDR_FROM);
	const sip_hdr_t *to = sip_hdr_find(m, SIP_HDR_TO);
	const sip_hdr_t *contact = sip_hdr_find(m, SIP_HDR_CONTACT);
	sip_addr_t fa, ta;
	sip_contact_t c;
	sip_hdr_iter_t it;
	sip_str_t v;

	if (!from || !to || !contact ||
	    sip_hdr_addr(&from->value, &fa) != APR_SUCCESS ||
	    sip_hdr_addr(&to->value, &ta) != APR_SUCCESS ||
	    sip_hdr_contact(&contact->value, &c) != APR_SUCCESS || c.star)
		return SB_EMALFORMED;
	a->dlg.call_id = call_str(a->pool, &m->call_id);
	a->dlg.remote_tag = call_str(a->pool, &fa.tag);
	a->dlg.remote_uri = apr_psprintf(a->pool, "<%.*s>",
					 (int)fa.uri_str.len, fa.uri_str.ptr);
	a->dlg.local_uri = apr_psprintf(a->pool, "<%.*s>",
					(int)ta.uri_str.len, ta.uri_str.ptr);
	a->dlg.remote_target = call_str(a->pool, &c.addr.uri_str);
	a->dlg.remote_cseq = m->cseq;
	a->dlg.local_cseq = 0;
	sip_hdr_iter_init(&it, m, SIP_HDR_RECORD_ROUTE);
	while (sip_hdr_next(&it, &v) == APR_SUCCESS)
		APR_ARRAY_PUSH(a->dlg.route_set, const char *) =
			call_str(a->pool, &v);
	return APR_SUCCESS;
}

/* Channel variables FreeSWITCH dialplans expect of an inbound leg. */
static void set_inbound_vars(call_leg_t *a, const sip_target_t *from,
			     const char *auth_user, const char *realm)
{
	sb_session_t *s = a->session;
	const sip_msg_t *m = a->invite;
	const sip_hdr_t *fh = sip_hdr_find(m, SIP_HDR_FROM);
	const sip_hdr_t *th = sip_hdr_find(m, SIP_HDR_TO);
	const sip_hdr_t *ua = sip_hdr_find(m, SIP_HDR_USER_AGENT);
	const sips_settings_t *st = &a->profile->settings;
	const char *context = st->context;
	sip_addr_t fa, ta;

	sb_session_set_var(s, "direction", "inbound");
	sb_session_set_var(s, "sip_profile", a->profile->name);
	sb_session_set_var(s, "sip_call_id", a->dlg.call_id);
	sb_session_set_var(s, "sip_req_uri", call_str(a->pool, &m->ruri_str));
	sb_session_set_var(s, "destination_number",
			   call_str(a->pool, &m->ruri.user));
	sb_session_set_var(s, "network_addr", from->peer_ip);
	sb_session_set_var(s, "network_port",
			   apr_itoa(a->pool, from->peer_port));
	sb_session_set_var(s, "sip_transport",
			   flow_transport_name(from->transport));
	sb_session_set_var(s, "sip_secure",
			   from->transport == SIPS_TP_TLS ? "true" : "false");
	sb_session_set_var(s, "rtp_has_crypto", call_media_offered_suite(a));
	if (fh && sip_hdr_addr(&fh->value, &fa) == APR_SUCCESS) {
		const char *name = call_str(a->pool, &fa.display);

		if (*name == '"')
			name = apr_pstrndup(a->pool, name + 1,
					    strlen(name) > 1 ? strlen(name) - 2
							     : 0);
		sb_session_set_var(s, "sip_from_user",
				   call_str(a->pool, &fa.uri.user));
		sb_session_set_var(s, "sip_from_host",
				   call_str(a->pool, &fa.uri.host));
		sb_session_set_var(s, "caller_id_number",
				   call_str(a->pool, &fa.uri.user));
		sb_session_set_var(s, "caller_id_name",
				   *name ? name : call_str(a->pool, &fa.uri.user));
	}
	if (th && sip_hdr_addr(&th->value, &ta) == APR_SUCCESS) {
		sb_session_set_var(s, "sip_to_user", call_str(a->pool, &ta.uri.user));
		sb_session_set_var(s, "sip_to_host", call_str(a->pool, &ta.uri.host));
	}
	if (ua)
		sb_session_set_var(s, "sip_user_agent", call_str(a->pool, &ua->value));
	sb_session_set_var(s, "domain_name",
			   realm ? realm : call_str(a->pool, &m->ruri.host));
	if (auth_user) {
		const dir_user_t *u = registrar_user(auth_user, realm, a->pool);
		const apr_array_header_t *arr;
		int i;

		sb_session_set_var(s, "sip_authorized", "true");
		sb_session_set_var(s, "user_name", auth_user);
		arr = u && u->vars ? apr_table_elts(u->vars) : NULL;
		for (i = 0; arr && i < arr->nelts; i++) {
			const apr_table_entry_t *e =
				&APR_ARRAY_IDX(arr, i, apr_table_entry_t);

			sb_session_set_var(s, e->key, e->val);
		}
		if (sb_session_get_var(s, "user_context"))
			context = sb_session_get_var(s, "user_context");
	}
	sb_session_set_var(s, "context", context);
}

static void respond_plain(call_leg_t *a, int status, const char *reason)
{
	call_in_respond(a, status, reason, 0);
}

/* RFC 3261 16.3: a loop (a trunk routing back to us) ends at 483
 * instead of eating every RTP port; B's INVITE carries one hop less. */
static int too_many_hops(call_leg_t *a)
{
	const sip_hdr_t *h = sip_hdr_find(a->invite, SIP_HDR_MAX_FORWARDS);
	int hops = 70;

	if (h && sip_hdr_max_forwards(&h->value, &hops) != APR_SUCCESS)
		hops = 70;
	a->max_forwards = hops;
	if (hops > 0)
		return 0;
	sb_log(SB_LOG_NOTICE, "SB02605",
	       "call %s: Max-Forwards 0: a loop? 483", a->dlg.call_id);
	endpoint_respond(a->invite_txn, a->invite, &a->dlg.to, 483, NULL,
			 NULL);
	return 1;
}

void call_in_invite(sips_profile_t *p, txn_server_t *txn,
		    const sip_msg_t *req, const sip_target_t *from)
{
	const char *user = NULL, *realm = NULL;
	call_leg_t *a = call_leg_find_caller(req);

	/* RFC 6026: our 2xx ended the transaction, not the INVITE's
	 * retransmissions; they are absorbed here (over UDP the 2xx timer
	 * resends the answer until the ACK). */
	if (a && a->invite && req->cseq == a->invite->cseq) {
		/* Its new transaction carries our 2xx again, then ends. */
		if (a->answer_2xx.buf)
			txn_server_respond(txn, 200, a->answer_2xx.buf,
					   a->answer_2xx.len);
		else
			endpoint_respond(txn, req, from, 500,
					 "Call Already Answered", NULL);
		return;
	}
	if (call_leg_create(&a, p, 1) != APR_SUCCESS) {
		endpoint_respond(txn, req, from, 503, NULL, NULL);
		return;
	}
	a->invite_txn = txn;
	a->dlg.to = *from;
	a->invite = call_msg_copy(a->pool, req);
	if (!a->invite || dialog_from_invite(a) != APR_SUCCESS) {
		endpoint_respond(txn, req, from, 400, "Bad Dialog Headers",
				 NULL);
		goto fail;
	}
	if (too_many_hops(a))
		goto fail;
	if (p->settings.auth_calls &&
	    registrar_authorize_call(p, txn, a->invite, from, a->pool, &user,
				     &realm) != 0)
		goto fail;
	call_leg_index(a);
	respond_plain(a, 100, NULL);
	if (call_media_inbound_offer(a) != APR_SUCCESS) {
		respond_plain(a, 488, NULL);
		call_leg_ended(a, SB_CAUSE_INCOMPATIBLE_DESTINATION);
		return;
	}
	if (sb_session_create(&a->session, &call_sip_ops, a, a->worker) !=
	    APR_SUCCESS) {
		respond_plain(a, 503, NULL);
		call_leg_ended(a, SB_CAUSE_SERVICE_UNAVAILABLE);
		return;
	}
	set_inbound_vars(a, from, user, realm);
	sb_log(SB_LOG_INFO, "SB02601",
	       "call %s: INVITE %s from %s:%d over %s (%s), session %s",
	       a->dlg.call_id, sb_session_get_var(a->session, "sip_req_uri"),
	       from->peer_ip, from->peer_port,
	       flow_transport_name(from->transport),
	       user ? "authenticated" : "not authenticated",
	       sb_session_uuid(a->session));
	if (!current_dialplan ||
	    sb_session_route(a->session, current_dialplan) != APR_SUCCESS)
		sb_session_hangup(a->session, SB_CAUSE_NO_ROUTE_DESTINATION);
	return;
fail:
	a->state = LEG_ENDED;
	call_leg_free(a);
}

void call_in_respond(call_leg_t *a, int status, const char *reason,
		     int with_sdp)
{
	sip_build_via_fix_t fix = { a->dlg.to.peer_ip, a->dlg.to.peer_port };
	apr_pool_t *pool;
	const char *sdp = NULL;
	apr_size_t sdp_len = 0, len;
	sip_build_t b;
	char *out;

	if (!a->invite_txn || a->state >= LEG_UP)
		return;
	/* A late offer goes in the 2xx only: a 1xx is not reliable here. */
	if (a->late_offer && status < 200)
		with_sdp = 0;
	if (with_sdp && !(sdp = call_media_answer_for(a, &sdp_len)))
		with_sdp = 0;
	if (apr_pool_create(&pool, a->pool) != APR_SUCCESS)
		return;
	if (sip_build_response(&b, pool, a->invite, status, reason,
			       status > 100 ? a->dlg.local_tag : NULL,
			       &fix) != APR_SUCCESS)
		goto done;
	if (status > 100 && status < 300) {
		sip_hdr_iter_t it;
		sip_str_t v;

		/* RFC 3261 12.1.1: the caller's route set comes from these. */
		sip_hdr_iter_init(&it, a->invite, SIP_HDR_RECORD_ROUTE);
		while (sip_hdr_next(&it, &v) == APR_SUCCESS)
			sip_build_add(&b, "Record-Route",
				      apr_pstrmemdup(pool, v.ptr, v.len));
		sip_build_add(&b, "Contact", call_leg_contact(a, pool));
	}
	if (status == 200 || status == 405)
		sip_build_add(&b, "Allow",
			      "INVITE, ACK, BYE, CANCEL, OPTIONS, UPDATE");
	sip_build_add(&b, "Server", "sipsbridge/" PACKAGE_VERSION);
	if (with_sdp)
		sip_build_body(&b, "application/sdp", sdp, sdp_len);
	if (sip_build_serialize(&b, &out, &len) != APR_SUCCESS)
		goto done;
	if (txn_server_respond(a->invite_txn, status, out, len) !=
	    APR_SUCCESS) {
		/* The transaction is gone (its flow closed): so is the call. */
		call_leg_invite_done(a);
		apr_pool_destroy(pool);
		if (a->session)
			sb_session_hangup(a->session,
					  SB_CAUSE_NORMAL_TEMPORARY_FAILURE);
		return;
	}
	if (status >= 200) {
		call_leg_invite_done(a); /* the transaction is done with us */
	} else if (status > 100) {
		a->state = LEG_EARLY;
	}
	if (status >= 200 && status < 300) {
		a->state = LEG_UP;
		call_2xx_sent(a, &a->answer_2xx, a->invite->cseq, out, len);
	}
done:
	apr_pool_destroy(pool);
}

void call_in_ack_2xx(const sip_msg_t *ack)
{
	call_leg_t *a = call_leg_find(ack, 1);

	if (!a)
		return;
	call_2xx_acked(a, ack->cseq);
	if (!a->inbound || ack->cseq != a->invite->cseq)
		return;
	/* Answer to a late offer (RFC 3261 13.2.1): without one the call
	 * has no media, so it ends (BYE to both sides). */
	if (a->late_offer && a->state == LEG_UP &&
	    call_media_late_answer(a, ack) != APR_SUCCESS && a->session)
		sb_session_hangup(a->session,
				  SB_CAUSE_INCOMPATIBLE_DESTINATION);
}

void call_in_cancel(txn_server_t *invite_txn)
{
	call_leg_t *a = call_leg_find_invite(invite_txn);

	if (!a || a->state >= LEG_UP)
		return;
	sb_log(SB_LOG_INFO, "SB02603", "call %s: cancelled by the caller",
	       a->dlg.call_id);
	call_bridge_abort(a, SB_CAUSE_ORIGINATOR_CANCEL);
	call_in_respond(a, 487, NULL, 0);
	a->state = LEG_ENDING;
	if (a->session)
		sb_session_hangup(a->session, SB_CAUSE_ORIGINATOR_CANCEL);
	call_leg_ended(a, SB_CAUSE_ORIGINATOR_CANCEL);
}

static void respond_in_dialog(txn_server_t *txn, const sip_msg_t *req,
			      const sip_target_t *from, int status)
{
	endpoint_respond(txn, req, from, status, NULL, NULL);
}

/* The peer ended the call: answer its BYE, end our side and the other. */
static void bye_received(call_leg_t *leg, txn_server_t *txn,
			 const sip_msg_t *req, const sip_target_t *from)
{
	respond_in_dialog(txn, req, from, 200);
	sb_log(SB_LOG_INFO, "SB02604", "call %s: BYE from the %s leg",
	       leg->dlg.call_id, leg->inbound ? "A" : "B");
	/* A BYE in the early dialog (RFC 3261 15): the INVITE ends too. */
	if (leg->inbound && leg->state < LEG_UP) {
		call_bridge_abort(leg, SB_CAUSE_NORMAL_CLEARING);
		call_in_respond(leg, 487, NULL, 0);
	}
	leg->state = LEG_ENDING; /* nothing more to send on this leg */
	if (leg->session)
		sb_session_hangup(leg->session, SB_CAUSE_NORMAL_CLEARING);
	call_leg_ended(leg, SB_CAUSE_NORMAL_CLEARING);
}

int call_in_dialog(sips_profile_t *p, txn_server_t *txn,
		   const sip_msg_t *req, const sip_target_t *from)
{
	call_leg_t *leg = call_leg_find(req, 1);

	(void)p;
	if (!leg || leg->state == LEG_ENDED)
		return 0;
	if (req->cseq <= leg->dlg.remote_cseq &&
	    req->method != SIP_METHOD_ACK) {
		respond_in_dialog(txn, req, from, 500);
		return 1;
	}
	leg->dlg.remote_cseq = req->cseq;
	switch (req->method) {
	case SIP_METHOD_BYE:
		bye_received(leg, txn, req, from);
		return 1;
	case SIP_METHOD_OPTIONS:
		respond_in_dialog(txn, req, from, 200);
		return 1;
	case SIP_METHOD_INVITE:
	case SIP_METHOD_UPDATE:
		call_media_reoffer(leg, txn, req, from);
		return 1;
	default:
		respond_in_dialog(txn, req, from, 405);
		return 1;
	}
}

/* What the core's applications do to a SIP leg. */
static apr_status_t op_answer(sb_session_t *s)
{
	call_leg_t *a = sb_session_leg(s);

	if (!a->inbound || a->state >= LEG_UP)
		return APR_SUCCESS;
	if (!a->stream)
		return SB_ENOTFOUND;
	if (a->state < LEG_EARLY && call_media_prepare_answer(a) != APR_SUCCESS) {
		a->fail_status = 488;
		sb_session_hangup(s, SB_CAUSE_INCOMPATIBLE_DESTINATION);
		return SB_ECONFIG;
	}
	call_in_respond(a, 200, NULL, 1);
	call_media_watch(a);
	sb_session_mark_answered(s);
	return APR_SUCCESS;
}

static apr_status_t op_pre_answer(sb_session_t *s)
{
	call_leg_t *a = sb_session_leg(s);

	if (!a->inbound || a->state >= LEG_UP)
		return APR_SUCCESS;
	if (call_media_prepare_answer(a) != APR_SUCCESS) {
		a->fail_status = 488;
		sb_session_hangup(s, SB_CAUSE_INCOMPATIBLE_DESTINATION);
		return SB_ECONFIG;
	}
	call_in_respond(a, 183, NULL, 1);
	return APR_SUCCESS;
}

static apr_status_t op_ring_ready(sb_session_t *s)
{
	call_leg_t *a = sb_session_leg(s);

	if (a->inbound && a->state < LEG_UP)
		call_in_respond(a, 180, NULL, 0);
	return APR_SUCCESS;
}

/* The caller hears itself: its stream relays back to its own peer. */
static apr_status_t op_echo(sb_session_t *s)
{
	call_leg_t *a = sb_session_leg(s);

	if (!a->stream)
		return SB_ENOTFOUND;
	sb_media_stream_link(a->stream, a->stream);
	return APR_SUCCESS;
}

static void op_hangup(sb_session_t *s, int cause)
{
	call_leg_t *leg = sb_session_leg(s);

	if (!leg || leg->state >= LEG_ENDING)
		return;
	if (!leg->inbound) {
		call_out_cancel(leg, cause);
		return;
	}
	call_bridge_abort(leg, cause);
	if (leg->state < LEG_UP) {
		int status = leg->fail_status ? leg->fail_status
					      : sb_cause_to_sip(cause);

		call_in_respond(leg, status >= 300 ? status : 480, NULL, 0);
	} else {
		call_2xx_clear(leg, &leg->answer_2xx);
		call_2xx_clear(leg, &leg->reinvite_2xx);
		call_leg_bye(leg);
	}
	leg->state = LEG_ENDING;
	call_leg_ended(leg, cause);
}

const sb_endpoint_ops_t call_sip_ops = {
	"sip", op_answer, op_pre_answer, op_ring_ready, op_echo, op_hangup
};
