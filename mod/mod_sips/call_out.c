/* call_out.c — the B leg: an INVITE from the switch, to a registered
 * phone over its own flow or to a URI, and what comes back. */
#include <stdlib.h>
#include <string.h>
#include <apr_strings.h>
#include "sipsbridge/sb_log.h"
#include "call.h"
#include "call_failover.h"
#include "call_route.h"
#include "endpoint.h"
#include "reg_index.h"
#include "sip_build.h"
#include "sip_resolve.h"
#include "tp_connect.h"

/*
 * A registered phone is reached over the flow its REGISTER came on (or
 * its UDP source address), never by connecting to its Contact.  When the
 * flow is gone: 480 and a log line, nothing else (DESIGN 5).
 */
static apr_status_t target_binding(call_leg_t *b, const char *aor,
				   const char *contact)
{
	apr_array_header_t *views = reg_index_lookup(aor, b->pool);
	const reg_view_t *v = NULL;
	int i;

	for (i = 0; i < views->nelts; i++) {
		const reg_view_t *x = &APR_ARRAY_IDX(views, i, reg_view_t);

		/* sips_contact may have added ";transport=tls". */
		if (!strcmp(x->b.contact, contact) ||
		    (!strncmp(x->b.contact, contact, strlen(x->b.contact)) &&
		     !strcmp(contact + strlen(x->b.contact),
			     ";transport=tls"))) {
			v = x;
			contact = x->b.contact;
			break;
		}
	}
	if (!v)
		return SB_ENOTFOUND;
	b->dlg.to.profile = b->profile;
	b->dlg.to.transport = (sips_transport_e)v->b.transport;
	b->dlg.to.flow_id = v->b.flow_id;
	apr_cpystrn(b->dlg.to.peer_ip, v->b.src_ip, sizeof(b->dlg.to.peer_ip));
	b->dlg.to.peer_port = v->b.src_port;
	if (v->b.path && *v->b.path) {
		char *path = apr_pstrdup(b->pool, v->b.path), *st, *r;

		for (r = apr_strtok(path, ",", &st); r;
		     r = apr_strtok(NULL, ",", &st))
			APR_ARRAY_PUSH(b->dlg.route_set, const char *) = r;
	}
	if (v->restored || v->unreachable ||
	    (b->dlg.to.transport != SIPS_TP_UDP && !flow_exists(v->b.flow_id))) {
		reg_index_mark_unreachable(aor, contact);
		sb_log(SB_LOG_WARNING, "SB02420",
		       "registrar: %s: flow %" APR_UINT64_T_FMT " of %s is "
		       "gone; INVITE not sent, nothing connects back (480)",
		       aor, v->b.flow_id, contact);
		return SB_EFLOWGONE;
	}
	if (b->dlg.to.transport == SIPS_TP_UDP) {
		apr_sockaddr_t *sa;

		if (apr_sockaddr_info_get(&sa, v->b.src_ip, APR_UNSPEC,
					  (apr_port_t)v->b.src_port, 0,
					  b->pool) != APR_SUCCESS)
			return SB_EFLOWGONE;
		b->dlg.to.peer = *sa;
	}
	return APR_SUCCESS;
}

/* The B leg goes to candidate @p c of @p dest: its address copied into
 * the leg's pool (numeric, no lookup), and for a trunk over TCP/TLS a
 * connection verified against the URI's host, not the SRV target
 * (RFC 5922 section 4). */
apr_status_t call_out_target_dest(call_leg_t *b, const sip_dest_t *dest,
				  const sip_cand_t *c)
{
	apr_sockaddr_t *sa;
	apr_status_t rv;

	apr_sockaddr_ip_getbuf(b->dlg.to.peer_ip, sizeof(b->dlg.to.peer_ip),
			       c->addr);
	rv = apr_sockaddr_info_get(&sa, b->dlg.to.peer_ip, c->addr->family,
				   c->port, 0, b->pool);
	if (rv != APR_SUCCESS)
		return rv;
	b->dlg.to.profile = b->profile;
	b->dlg.to.transport = c->transport;
	b->dlg.to.peer = *sa;
	b->dlg.to.peer_port = c->port;
	b->dlg.to.flow_id = 0;
	sb_session_set_var(b->session, "sip_transport",
			   flow_transport_name(c->transport));
	if (c->transport == SIPS_TP_UDP) {
		b->trunk_host = NULL;
		return APR_SUCCESS;
	}
	b->trunk_host = apr_pstrdup(b->pool, dest->host);
	return stream_conn_connect(b->profile, c->transport, &b->dlg.to.peer,
				   dest->host, &b->dlg.to.flow_id);
}

static void dialog_for_b(call_leg_t *b, call_leg_t *a, const char *uri)
{
	const sips_settings_t *s = &b->profile->settings;
	const char *num = a && a->session ? sb_session_get_var(a->session,
							"caller_id_number")
					  : NULL;
	const char *name = a && a->session ? sb_session_get_var(a->session,
							 "caller_id_name")
					   : NULL;

	if (b->session && sb_session_get_var(b->session,
					     "effective_caller_id_number"))
		num = sb_session_get_var(b->session,
					 "effective_caller_id_number");
	if (b->session && sb_session_get_var(b->session,
					     "effective_caller_id_name"))
		name = sb_session_get_var(b->session, "effective_caller_id_name");
	if (!num || !*num)
		num = "anonymous";
	b->dlg.call_id = apr_psprintf(b->pool, "%s@%s",
				      sip_build_random(b->pool, 20), s->sip_ip);
	b->dlg.local_uri = apr_psprintf(b->pool, "\"%s\" <sip:%s@%s>",
					name && *name ? name : num, num,
					s->sip_ip);
	b->dlg.remote_uri = apr_psprintf(b->pool, "<%s>", uri);
	b->dlg.remote_target = apr_pstrdup(b->pool, uri);
	b->dlg.local_cseq = 0;
}

static void out_invite_response(void *baton, const sip_msg_t *resp,
				int status);

static void answer_timeout(void *baton)
{
	call_leg_t *b = baton;

	sb_log(SB_LOG_INFO, "SB02611", "call %s: no answer in time",
	       b->dlg.call_id);
	call_out_cancel(b, SB_CAUSE_NO_ANSWER);
}

static apr_status_t send_invite(call_leg_t *b, call_leg_t *a, attempt_t *at)
{
	const char *sdp = NULL;
	apr_size_t sdp_len = 0;
	const char *timeout;
	sip_build_t sb;
	apr_status_t rv;

	rv = call_media_offer_for(b, a, &sdp, &sdp_len);
	if (rv != APR_SUCCESS)
		return rv;
	/* RFC 3263 4.3: the next server gets a new transaction (new
	 * branch); the CSeq goes up as for any new request of this
	 * Call-ID and From tag. */
	call_leg_request(b, b->pool, "INVITE", ++b->dlg.local_cseq, &sb);
	sip_build_add(&sb, "Allow", "INVITE, ACK, BYE, CANCEL, OPTIONS, UPDATE");
	sip_build_body(&sb, "application/sdp", sdp, sdp_len);
	rv = sip_build_serialize(&sb, &b->invite_buf, &b->invite_len);
	if (rv != APR_SUCCESS)
		return rv;
	b->got_provisional = 0;
	rv = txn_client_start(endpoint_txn_table(), &b->dlg.to, b->invite_buf,
			      b->invite_len, &b->profile->timers,
			      out_invite_response, at, &b->invite_ctx);
	if (rv != APR_SUCCESS)
		return rv;
	/* The leg's timeout spans every candidate tried. */
	if (sb_timer_pending(&b->answer_timer))
		return APR_SUCCESS;
	timeout = sb_session_get_var(b->session, "leg_timeout");
	if (!timeout)
		timeout = sb_session_get_var(b->session, "call_timeout");
	sb_timer_start(b->worker, &b->answer_timer,
		       apr_time_from_sec(timeout && atoi(timeout) > 0
						 ? atoi(timeout)
						 : 60),
		       answer_timeout, b);
	return APR_SUCCESS;
}

apr_status_t call_out_start_invite(call_leg_t *b, call_leg_t *a, attempt_t *at)
{
	apr_status_t rv = send_invite(b, a, at);

	if (rv != APR_SUCCESS)
		return rv;
	sb_log(SB_LOG_INFO, "SB02612",
	       "call %s: B leg %s INVITE %s over %s to %s:%d (flow %"
	       APR_UINT64_T_FMT ")",
	       b->dlg.call_id, sb_session_uuid(b->session),
	       b->dlg.remote_target, flow_transport_name(b->dlg.to.transport),
	       b->dlg.to.peer_ip, b->dlg.to.peer_port, b->dlg.to.flow_id);
	return APR_SUCCESS;
}

/* The B leg could not be called, or its INVITE failed: the bridge hears
 * @p status and the leg ends. */
static void b_failed(call_leg_t *b, int status)
{
	sb_timer_stop(b->worker, &b->answer_timer);
	b->state = LEG_ENDING;
	if (b->bridge)
		call_bridge_b_failed(b, status);
	call_leg_ended(b, b->cause ? b->cause : sb_cause_from_sip(status));
}

/* On b's worker once its URI is resolved (or the lookup failed). */
static void b_resolved(void *baton, apr_status_t rv, const sip_dest_t *dest,
		       const char *why)
{
	call_leg_key_t *key = baton;
	call_leg_t *b = rv == APR_EOF ? NULL : call_leg_key_find(key);
	sip_dest_t *mine = NULL;

	call_leg_key_free(key);
	if (!b || !b->resolving || b->state != LEG_INIT)
		return;
	b->resolving = 0;
	if (rv != APR_SUCCESS) {
		sb_log(SB_LOG_WARNING, "SB02610", "call %s: %s: %s",
		       b->dlg.call_id, b->dlg.remote_target, why);
		b_failed(b, 503);
		return;
	}
	/* The result lives only during this call: the leg keeps a copy. */
	rv = sip_resolve_copy(dest, b->pool, &mine);
	if (rv == APR_SUCCESS)
		rv = call_failover_try(call_failover_attempt(b, mine),
				       b->bridge ? call_bridge_a(b->bridge)
						 : NULL);
	if (rv != APR_SUCCESS)
		b_failed(b, rv == SB_ECONFIG ? 488 : 503);
}

/* A host name: looked up off the worker; the INVITE goes when it is. */
static apr_status_t resolve_later(call_leg_t *b, const char *uri,
				  call_leg_t **out)
{
	call_leg_key_t *key;
	apr_status_t rv;

	call_leg_index(b);
	key = call_leg_key_make(b);
	rv = key ? sip_resolve_start(uri, b->worker, b_resolved, key)
		 : APR_ENOMEM;
	if (rv != APR_SUCCESS) {
		call_leg_key_free(key);
		b->bridge = NULL;
		b->state = LEG_ENDED;
		call_leg_free(b);
		return rv;
	}
	b->resolving = 1;
	sb_log(SB_LOG_INFO, "SB02614", "call %s: B leg %s: resolving %s",
	       b->dlg.call_id, sb_session_uuid(b->session), uri);
	*out = b;
	return APR_SUCCESS;
}

apr_status_t call_out_originate(call_leg_t *a, bridge_t *br,
				sips_profile_t *p, const char *uri,
				const char *reg_aor, apr_table_t *vars,
				call_leg_t **out)
{
	const apr_array_header_t *arr = apr_table_elts(vars);
	attempt_t *at = NULL;
	char why[256];
	sip_dest_t *dest = NULL;
	call_leg_t *b;
	apr_status_t rv;
	int i;

	rv = call_leg_create(&b, p, 0);
	if (rv != APR_SUCCESS)
		return rv;
	b->bridge = br;
	/* One hop less than the caller's INVITE had (a loop ends). */
	if (a)
		b->max_forwards = a->max_forwards - 1;
	rv = sb_session_create(&b->session, &call_sip_ops, b, b->worker);
	if (rv != APR_SUCCESS)
		goto fail;
	if (a && a->session)
		sb_session_export_vars(a->session, b->session);
	for (i = 0; i < arr->nelts; i++) {
		const apr_table_entry_t *e =
			&APR_ARRAY_IDX(arr, i, apr_table_entry_t);

		sb_session_set_var(b->session, e->key, e->val);
	}
	sb_session_set_var(b->session, "direction", "outbound");
	sb_session_set_var(b->session, "sip_profile", p->name);
	dialog_for_b(b, a, uri);
	if (reg_aor) {
		rv = target_binding(b, reg_aor, uri);
		if (rv == APR_SUCCESS)
			sb_session_set_var(b->session, "sip_transport",
					   flow_transport_name(
						   b->dlg.to.transport));
		at = call_failover_attempt(b, NULL);
	} else {
		dest = apr_pcalloc(b->pool, sizeof(*dest));
		rv = sip_resolve_parse(uri, b->pool, dest, why, sizeof(why));
		if (rv == APR_SUCCESS && !sip_resolve_is_literal(dest->host))
			return resolve_later(b, uri, out);
		/* A literal address: no DNS, at once. */
		if (rv == APR_SUCCESS)
			rv = sip_resolve(uri, b->pool, dest, why,
					 sizeof(why));
		if (rv != APR_SUCCESS)
			sb_log(SB_LOG_WARNING, "SB02610", "call: %s: %s", uri,
			       why);
	}
	if (rv != APR_SUCCESS)
		goto fail;
	call_leg_index(b);
	rv = at ? call_out_start_invite(b, a, at)
		: call_failover_try(call_failover_attempt(b, dest), a);
	if (rv != APR_SUCCESS)
		goto fail;
	*out = b;
	return APR_SUCCESS;
fail:
	b->bridge = NULL;
	b->state = LEG_ENDED;
	call_leg_free(b);
	return rv;
}

/* RFC 3261 12.1.2: the UAC side of the dialog from a response. */
static void dialog_from_response(call_leg_t *b, const sip_msg_t *resp)
{
	const sip_hdr_t *to = sip_hdr_find(resp, SIP_HDR_TO);
	const sip_hdr_t *contact = sip_hdr_find(resp, SIP_HDR_CONTACT);
	sip_addr_t ta;
	sip_contact_t c;
	sip_hdr_iter_t it;
	sip_str_t v;
	apr_array_header_t *rr;
	int i;

	if (to && sip_hdr_addr(&to->value, &ta) == APR_SUCCESS &&
	    ta.tag.len)
		b->dlg.remote_tag = call_str(b->pool, &ta.tag);
	if (contact && sip_hdr_contact(&contact->value, &c) == APR_SUCCESS &&
	    !c.star)
		b->dlg.remote_target = call_str(b->pool, &c.addr.uri_str);
	/* The route set is the Record-Route list reversed. */
	rr = apr_array_make(b->pool, 2, sizeof(const char *));
	sip_hdr_iter_init(&it, resp, SIP_HDR_RECORD_ROUTE);
	while (sip_hdr_next(&it, &v) == APR_SUCCESS)
		APR_ARRAY_PUSH(rr, const char *) = call_str(b->pool, &v);
	if (rr->nelts) {
		b->dlg.route_set->nelts = 0;
		for (i = rr->nelts - 1; i >= 0; i--)
			APR_ARRAY_PUSH(b->dlg.route_set, const char *) =
				APR_ARRAY_IDX(rr, i, const char *);
	}
}

int call_out_stray_2xx(const sip_msg_t *resp)
{
	call_leg_t *leg;

	if (resp->status < 200 || resp->status >= 300 ||
	    resp->cseq_method != SIP_METHOD_INVITE)
		return 0;
	/* Our request's From tag is ours on either leg. */
	leg = call_leg_find(resp, 0);
	if (leg)
		return call_ack_resend(leg, resp);
	return call_ack_stray_2xx(resp);
}

static void send_cancel(call_leg_t *b)
{
	sip_msg_t *inv = apr_pcalloc(b->pool, sizeof(*inv));
	txn_client_t *txn;
	sip_build_t sb;
	apr_pool_t *pool;
	char *buf;
	apr_size_t len;

	if (sip_parse_msg(inv, b->invite_buf, b->invite_len, NULL, NULL) !=
		    APR_SUCCESS ||
	    apr_pool_create(&pool, b->pool) != APR_SUCCESS)
		return;
	if (sip_build_cancel(&sb, pool, inv) != APR_SUCCESS ||
	    sip_build_serialize(&sb, &buf, &len) != APR_SUCCESS ||
	    txn_client_start(endpoint_txn_table(), &b->dlg.to, buf, len,
			     &b->profile->timers, NULL, NULL,
			     &txn) != APR_SUCCESS) {
		/* The CANCEL cannot leave (the flow is gone): no 487 will
		 * come, so the leg ends here. */
		apr_pool_destroy(pool);
		if (b->bridge)
			call_bridge_b_failed(b, 503);
		call_leg_ended(b, b->cause ? b->cause
					   : SB_CAUSE_NORMAL_TEMPORARY_FAILURE);
		return;
	}
	apr_pool_destroy(pool);
}

void call_out_cancel(call_leg_t *b, int cause)
{
	sb_timer_stop(b->worker, &b->answer_timer);
	b->cause = cause;
	switch (b->state) {
	case LEG_INIT:
		if (b->resolving) {
			/* Nothing sent yet: nothing to cancel. */
			b->resolving = 0;
			b->state = LEG_ENDING;
			call_leg_ended(b, cause);
			return;
		}
		/* RFC 3261 9.1: no CANCEL before a provisional (a 100 will
		 * do); until then it waits. */
		if (!b->got_provisional) {
			b->cancel_pending = 1;
			return;
		}
		b->state = LEG_ENDING;
		send_cancel(b);
		return;
	case LEG_EARLY:
		b->state = LEG_ENDING;
		send_cancel(b);
		return;
	case LEG_UP:
		b->state = LEG_ENDING;
		call_leg_bye(b);
		call_leg_ended(b, cause);
		return;
	default:
		return;
	}
}

static void b_provisional(call_leg_t *b, const sip_msg_t *resp, int status)
{
	b->got_provisional = 1;
	if (status == 100) {
		if (b->cancel_pending) {
			b->cancel_pending = 0;
			b->state = LEG_ENDING;
			send_cancel(b);
		}
		return;
	}
	dialog_from_response(b, resp);
	if (b->state == LEG_INIT)
		b->state = LEG_EARLY;
	if (b->cancel_pending) {
		b->cancel_pending = 0;
		b->state = LEG_ENDING;
		send_cancel(b);
		return;
	}
	if (resp->body.len)
		call_media_answer_from(b, resp);
	call_bridge_b_early(b, status);
}

static void b_answered(call_leg_t *b, const sip_msg_t *resp)
{
	sb_timer_stop(b->worker, &b->answer_timer);
	dialog_from_response(b, resp);
	b->state = LEG_UP;
	/* The ACK to the 2xx of our INVITE is ours (end to end). */
	call_ack_send(b, &b->invite_ack, resp->cseq);
	if (b->cancel_pending || !b->bridge) {
		/* Answered after we gave up on it: hang it up at once. */
		b->state = LEG_UP;
		call_out_cancel(b, b->cause ? b->cause : SB_CAUSE_LOSE_RACE);
		return;
	}
	if (call_media_answer_from(b, resp) != APR_SUCCESS) {
		call_out_cancel(b, SB_CAUSE_INCOMPATIBLE_DESTINATION);
		return;
	}
	sb_session_mark_answered(b->session);
	call_bridge_b_answered(b);
}

static void out_invite_response(void *baton, const sip_msg_t *resp,
				int status)
{
	attempt_t *at = baton;
	call_leg_t *b = at->b;

	if (b->state == LEG_ENDED)
		return;
	if (status < 200) {
		b_provisional(b, resp, status);
		return;
	}
	b->invite_ctx = NULL;
	if (status < 300 && resp) {
		b_answered(b, resp);
		return;
	}
	if (call_failover_may(at, resp, status) &&
	    call_failover_next(at, resp, status, &status) == APR_SUCCESS)
		return;
	/* No response at all but a 503 from below: the phone's flow
	 * closed while it rang.  Callers hear what that means: 480. */
	if (!resp && status == 503 && b->dlg.to.transport != SIPS_TP_UDP)
		status = 480;
	sb_log(SB_LOG_INFO, "SB02613", "call %s: B leg answered %d",
	       b->dlg.call_id, status);
	b_failed(b, status);
}
