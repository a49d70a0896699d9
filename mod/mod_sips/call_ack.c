/* call_ack.c — our ACKs to a peer's 2xx (RFC 3261 13.2.2.4): sent, sent
 * again for each retransmission of that 2xx, and kept after the leg ends
 * for as long as the peer may still resend it (64*T1 after our ACK), so
 * that a 2xx crossing our BYE or our last ACK is still answered and
 * stops, instead of being dropped as a stray. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <apr_strings.h>
#include "sipsbridge/sb_log.h"
#include "call.h"
#include "endpoint.h"
#include "sip_build.h"

/* More than this many ended legs' ACKs on a worker: the oldest go. */
#define LINGER_MAX 4096

/* An ended leg's ACK: key and ACK bytes follow the struct. */
typedef struct lingering {
	struct lingering *next;
	sip_target_t to;
	apr_time_t until;
	apr_uint32_t cseq;
	apr_size_t key_len, len;
	char *key; /* "call-id\nour tag\ntheir tag" */
	char *ack;
} lingering_t;

/* Per worker, oldest first; only that worker touches its list. */
static struct {
	lingering_t **head, **tail;
	unsigned *count;
	int *closed; /* shutting down: nothing more is kept */
	unsigned n;
} kept;

apr_status_t call_ack_init(unsigned nworkers, apr_pool_t *pool)
{
	kept.head = apr_pcalloc(pool, nworkers * sizeof(*kept.head));
	kept.tail = apr_pcalloc(pool, nworkers * sizeof(*kept.tail));
	kept.count = apr_pcalloc(pool, nworkers * sizeof(*kept.count));
	kept.closed = apr_pcalloc(pool, nworkers * sizeof(*kept.closed));
	kept.n = nworkers;
	return APR_SUCCESS;
}

apr_status_t call_leg_build_ack(call_leg_t *leg, apr_pool_t *pool,
				apr_uint32_t cseq, char **buf, apr_size_t *len)
{
	sip_build_t b;

	call_leg_request(leg, pool, "ACK", cseq, &b);
	return sip_build_serialize(&b, buf, len);
}

void call_ack_send(call_leg_t *leg, call_ack_t *ack, apr_uint32_t cseq)
{
	apr_pool_t *pool;
	apr_size_t len;
	char *buf, *keep;

	call_leg_ensure_flow(leg);
	/* A retransmitted 2xx gets the same bytes (13.2.2.4). */
	if (ack->buf && ack->cseq == cseq) {
		endpoint_send(&leg->dlg.to, ack->buf, ack->len);
		return;
	}
	if (apr_pool_create(&pool, leg->pool) != APR_SUCCESS)
		return;
	if (call_leg_build_ack(leg, pool, cseq, &buf, &len) == APR_SUCCESS) {
		endpoint_send(&leg->dlg.to, buf, len);
		keep = malloc(len);
		if (keep) {
			memcpy(keep, buf, len);
			free(ack->buf);
			ack->buf = keep;
			ack->len = len;
			ack->cseq = cseq;
			ack->sent = apr_time_now();
		}
	}
	apr_pool_destroy(pool);
}

/*
 * "call-id\nFrom tag\nTo tag" of a response to our request into @p key
 * (our tag, then the peer's); its length, 0 when it has no such tags or
 * does not fit.
 */
static apr_size_t response_key(const sip_msg_t *resp, char *key,
			       apr_size_t size)
{
	const sip_hdr_t *f = sip_hdr_find(resp, SIP_HDR_FROM);
	const sip_hdr_t *t = sip_hdr_find(resp, SIP_HDR_TO);
	sip_addr_t from, to;
	int n;

	if (!f || !t || sip_hdr_addr(&f->value, &from) != APR_SUCCESS ||
	    sip_hdr_addr(&t->value, &to) != APR_SUCCESS || !from.tag.len ||
	    !to.tag.len)
		return 0;
	n = snprintf(key, size, "%.*s\n%.*s\n%.*s", (int)resp->call_id.len,
		     resp->call_id.ptr, (int)from.tag.len, from.tag.ptr,
		     (int)to.tag.len, to.tag.ptr);
	return n > 0 && (apr_size_t)n < size ? (apr_size_t)n : 0;
}

/* The peer's tag in a response: another one is another fork's 2xx,
 * which our ACK (of this dialog) does not answer. */
static int same_dialog(const call_leg_t *leg, const sip_msg_t *resp)
{
	const sip_hdr_t *t = sip_hdr_find(resp, SIP_HDR_TO);
	const char *ours = leg->dlg.remote_tag;
	sip_addr_t to;

	if (!ours || !t || sip_hdr_addr(&t->value, &to) != APR_SUCCESS)
		return 0;
	return to.tag.len == strlen(ours) &&
	       memcmp(to.tag.ptr, ours, to.tag.len) == 0;
}

int call_ack_resend(call_leg_t *leg, const sip_msg_t *resp)
{
	const call_ack_t *ack = NULL;
	apr_uint32_t cseq = resp->cseq;

	if (!same_dialog(leg, resp))
		return 0;
	if (!leg->inbound && leg->invite_ack.buf &&
	    cseq == leg->invite_ack.cseq)
		ack = &leg->invite_ack;
	else if (leg->reinvite_ack.buf && cseq == leg->reinvite_ack.cseq)
		ack = &leg->reinvite_ack;
	if (!ack)
		return 0;
	call_leg_ensure_flow(leg);
	endpoint_send(&leg->dlg.to, ack->buf, ack->len);
	return 1;
}

static void drop_head(unsigned w)
{
	lingering_t *l = kept.head[w];

	kept.head[w] = l->next;
	if (!kept.head[w])
		kept.tail[w] = NULL;
	kept.count[w]--;
	free(l);
}

/* Lists are in the order kept; the windows (64*T1 of each profile) are
 * close enough to that order for the head to be the next to go. */
static void drop_expired(unsigned w, apr_time_t now)
{
	while (kept.head[w] && (kept.head[w]->until <= now ||
				kept.count[w] > LINGER_MAX))
		drop_head(w);
}

void call_ack_keep(unsigned w, const dialog_t *dlg, const call_ack_t *ack,
		   apr_interval_time_t t1)
{
	apr_time_t now = apr_time_now(), until = ack->sent + 64 * t1;
	lingering_t *l;
	int n;

	/* A leg that failed before its dialog was made has sent no ACK;
	 * the check on the dialog is for any leg all the same. */
	if (!ack->buf || !dlg->call_id || !dlg->local_tag ||
	    !dlg->remote_tag || until <= now || !kept.head || w >= kept.n ||
	    kept.closed[w])
		return;
	n = snprintf(NULL, 0, "%s\n%s\n%s", dlg->call_id, dlg->local_tag,
		     dlg->remote_tag);
	if (n <= 0)
		return;
	l = malloc(sizeof(*l) + (size_t)n + 1 + ack->len);
	if (!l)
		return;
	l->next = NULL;
	l->to = dlg->to;
	l->until = until;
	l->cseq = ack->cseq;
	l->key = (char *)(l + 1);
	snprintf(l->key, (size_t)n + 1, "%s\n%s\n%s", dlg->call_id,
		 dlg->local_tag, dlg->remote_tag);
	l->key_len = (apr_size_t)n;
	l->ack = l->key + l->key_len + 1;
	memcpy(l->ack, ack->buf, ack->len);
	l->len = ack->len;
	if (kept.tail[w])
		kept.tail[w]->next = l;
	else
		kept.head[w] = l;
	kept.tail[w] = l;
	kept.count[w]++;
	drop_expired(w, now);
}

void call_ack_leg_gone(call_leg_t *leg)
{
	apr_interval_time_t t1 = leg->profile->timers.t1;

	if (!leg->inbound)
		call_ack_keep(leg->worker_index, &leg->dlg, &leg->invite_ack,
			      t1);
	call_ack_keep(leg->worker_index, &leg->dlg, &leg->reinvite_ack, t1);
	free(leg->invite_ack.buf);
	free(leg->reinvite_ack.buf);
	memset(&leg->invite_ack, 0, sizeof(leg->invite_ack));
	memset(&leg->reinvite_ack, 0, sizeof(leg->reinvite_ack));
}

int call_ack_stray_2xx(const sip_msg_t *resp)
{
	sb_worker_t *self = sb_worker_self();
	char key[768];
	apr_size_t len;
	lingering_t *l;
	unsigned w;

	if (!self || !kept.head ||
	    !(len = response_key(resp, key, sizeof(key))))
		return 0;
	w = sb_worker_index(self);
	if (w >= kept.n)
		return 0;
	drop_expired(w, apr_time_now());
	for (l = kept.head[w]; l; l = l->next) {
		if (l->cseq != resp->cseq || l->key_len != len ||
		    memcmp(l->key, key, len))
			continue;
		sb_log(SB_LOG_INFO, "SB02618",
		       "call %.*s: 2xx to CSeq %u again after its leg ended: "
		       "our ACK again", (int)resp->call_id.len,
		       resp->call_id.ptr, (unsigned)resp->cseq);
		endpoint_send(&l->to, l->ack, l->len);
		return 1;
	}
	return 0;
}

void call_ack_forget(const sips_profile_t *p)
{
	sb_worker_t *self = sb_worker_self();
	lingering_t **at, *l;
	unsigned w;

	if (!self || !kept.head || (w = sb_worker_index(self)) >= kept.n)
		return;
	if (!p)
		kept.closed[w] = 1;
	kept.tail[w] = NULL;
	for (at = &kept.head[w]; (l = *at);) {
		if (!p || l->to.profile == p) {
			*at = l->next;
			kept.count[w]--;
			free(l);
			continue;
		}
		kept.tail[w] = l;
		at = &l->next;
	}
}
