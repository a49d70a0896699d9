/* call_failover.c — RFC 3263 4.3: a B leg's INVITE goes to the places
 * its URI resolved to, in order, the next one when one fails. */
#include <apr_strings.h>
#include "sipsbridge/sb_log.h"
#include "call_failover.h"

attempt_t *call_failover_attempt(call_leg_t *b, sip_dest_t *dest)
{
	attempt_t *at = apr_pcalloc(b->pool, sizeof(*at));

	at->b = b;
	at->dest = dest;
	return at;
}

/*
 * The current candidate failed for @p why: noted for the last log line,
 * and logged once (SB02616) when another one is left to try.
 */
static void candidate_failed(attempt_t *at, const char *why)
{
	const sip_dest_t *d = at->dest;
	const sip_cand_t *c = &d->cand[at->cur];
	call_leg_t *b = at->b;
	char ip[64];
	const char *one;

	apr_sockaddr_ip_getbuf(ip, sizeof(ip), c->addr);
	one = apr_psprintf(b->pool, "%s %s %s:%d (%s)",
			   flow_transport_name(c->transport), c->target, ip,
			   c->port, why);
	at->tried = at->tried ? apr_pstrcat(b->pool, at->tried, "; ", one,
					    NULL)
			      : one;
	if (at->cur + 1 < d->ncand)
		sb_log(SB_LOG_WARNING, "SB02616",
		       "call %s: %s: %s failed; trying the next target "
		       "(%d of %d, RFC 3263 4.3)",
		       b->dlg.call_id, d->host, one, at->cur + 2, d->ncand);
	else if (at->cur > 0 || d->skipped)
		sb_log(SB_LOG_WARNING, "SB02617",
		       "call %s: %s: every target failed: %s%s%s",
		       b->dlg.call_id, d->host, at->tried,
		       d->skipped ? "; not resolved: " : "",
		       d->skipped ? d->skipped : "");
}

apr_status_t call_failover_try(attempt_t *at, call_leg_t *a)
{
	call_leg_t *b = at->b;
	const sip_dest_t *d = at->dest;
	apr_status_t rv = SB_ENOTFOUND;
	char err[120];

	for (; at->cur < d->ncand; at->cur++) {
		const sip_cand_t *c = &d->cand[at->cur];

		if (c->found != SIP_FOUND_HOST)
			sb_log(SB_LOG_INFO, "SB02615",
			       "call %s: %s: SRV target %s port %d over %s "
			       "(%s)",
			       b->dlg.call_id, d->host, c->target, c->port,
			       flow_transport_name(c->transport),
			       sip_resolve_found_name(c));
		rv = call_out_target_dest(b, d, c);
		if (rv == APR_SUCCESS)
			rv = call_out_start_invite(b, a, at);
		if (rv == APR_SUCCESS || rv == SB_ECONFIG)
			return rv;
		candidate_failed(at, sb_strerror(rv, err, sizeof(err)));
	}
	return rv;
}

/* RFC 3263 4.3: no early dialog, no CANCEL, still wanted. */
int call_failover_may(const attempt_t *at, const sip_msg_t *resp,
		      int status)
{
	const call_leg_t *b = at->b;

	if (!at->dest || b->state != LEG_INIT || b->cancel_pending ||
	    b->cause || !b->bridge)
		return 0;
	return status == 503 || (!resp && status == 408);
}

apr_status_t call_failover_next(attempt_t *at, const sip_msg_t *resp,
				int status, int *final)
{
	call_leg_t *b = at->b;
	apr_status_t rv;
	const char *why;

	why = resp ? apr_psprintf(b->pool, "%d %.*s", status,
				  (int)resp->reason.len, resp->reason.ptr)
	      : status == 408 ? "no response before Timer B"
			      : "transport failure: connect, TLS or send";
	candidate_failed(at, why);
	if (at->cur + 1 >= at->dest->ncand)
		return SB_ENOTFOUND;
	at->cur++;
	rv = call_failover_try(at, b->bridge ? call_bridge_a(b->bridge)
						: NULL);
	if (rv == SB_ECONFIG)
		*final = 488;
	return rv;
}
