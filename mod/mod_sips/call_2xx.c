/* call_2xx.c — our 2xx to an INVITE or re-INVITE, resent over UDP until
 * its ACK comes (RFC 3261 13.3.1.4): the transaction layer ends with the
 * 2xx, so the dialog's owner keeps it alive. */
#include <stdlib.h>
#include <string.h>
#include "sipsbridge/sb_log.h"
#include "call.h"
#include "endpoint.h"

static void resend(void *baton)
{
	call_2xx_t *r = baton;
	call_leg_t *leg = r->leg;
	const txn_timers_t *t = &leg->profile->timers;

	r->elapsed += r->interval;
	if (r->elapsed >= 64 * t->t1) {
		sb_log(SB_LOG_WARNING, "SB02602",
		       "call %s: no ACK for our 2xx to CSeq %u; ending the "
		       "call", leg->dlg.call_id, (unsigned)r->cseq);
		if (leg->session)
			sb_session_hangup(leg->session,
					  SB_CAUSE_RECOVERY_ON_TIMER_EXPIRE);
		return;
	}
	endpoint_send(&leg->dlg.to, r->buf, r->len);
	r->interval = r->interval * 2 < t->t2 ? r->interval * 2 : t->t2;
	sb_timer_start(leg->worker, &r->timer, r->interval, resend, r);
}

apr_status_t call_2xx_sent(call_leg_t *leg, call_2xx_t *r,
			   apr_uint32_t cseq, const char *buf, apr_size_t len)
{
	char *copy = malloc(len);

	if (!copy)
		return APR_ENOMEM;
	memcpy(copy, buf, len);
	call_2xx_clear(leg, r);
	r->leg = leg;
	r->buf = copy;
	r->len = len;
	r->cseq = cseq;
	/* Stream transports deliver it or close (RFC 3261 17.2.1). */
	if (leg->dlg.to.transport != SIPS_TP_UDP)
		return APR_SUCCESS;
	r->interval = leg->profile->timers.t1;
	r->elapsed = 0;
	sb_timer_start(leg->worker, &r->timer, r->interval, resend, r);
	return APR_SUCCESS;
}

void call_2xx_acked(call_leg_t *leg, apr_uint32_t cseq)
{
	if (leg->answer_2xx.buf && leg->answer_2xx.cseq == cseq)
		sb_timer_stop(leg->worker, &leg->answer_2xx.timer);
	if (leg->reinvite_2xx.buf && leg->reinvite_2xx.cseq == cseq)
		sb_timer_stop(leg->worker, &leg->reinvite_2xx.timer);
}

void call_2xx_clear(call_leg_t *leg, call_2xx_t *r)
{
	if (r->leg)
		sb_timer_stop(leg->worker, &r->timer);
	free(r->buf);
	r->buf = NULL;
	r->len = 0;
}
