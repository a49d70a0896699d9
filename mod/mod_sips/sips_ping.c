/* sips_ping.c — `sips profile NAME ping URI`: a client transaction to
 * each place the URI leads to, the next one while a place fails (RFC
 * 3263 4.3, as a B leg's INVITE does), until one answers. */
#include <stdlib.h>
#include <apr_strings.h>
#include <apr_thread_cond.h>
#include "sipsbridge/sb_log.h"
#include "config.h"
#include "endpoint.h"
#include "sip_build.h"
#include "sip_resolve.h"
#include "sips_ping.h"
#include "tp_connect.h"

/* Shared by the waiting control thread and the worker: last one frees. */
typedef struct ping {
	apr_pool_t *pool;
	apr_thread_mutex_t *lock;
	apr_thread_cond_t *done_cond;
	int done, abandoned;
	int status, answered_by_peer;
	char reason[128];
	apr_time_t sent, answered;
	apr_time_t deadline; /* of the whole ping, every target included */
	sips_profile_t *profile;
	sip_dest_t dest;
	int cur; /* the candidate tried now */
	const char *uri;
	apr_status_t start_rv;
} ping_t;

static void ping_release(ping_t *pg)
{
	int free_it;

	apr_thread_mutex_lock(pg->lock);
	free_it = pg->abandoned || pg->done;
	apr_thread_mutex_unlock(pg->lock);
	if (free_it)
		apr_pool_destroy(pg->pool);
}

static void ping_answered(void *baton, const sip_msg_t *resp, int status)
{
	ping_t *pg = baton;
	int abandoned;

	if (status < 200)
		return;
	apr_thread_mutex_lock(pg->lock);
	pg->status = status;
	pg->answered_by_peer = resp != NULL;
	pg->answered = apr_time_now();
	if (resp)
		apr_cpystrn(pg->reason, resp->reason.ptr,
			    resp->reason.len + 1 < sizeof(pg->reason)
				    ? resp->reason.len + 1
				    : sizeof(pg->reason));
	else
		apr_cpystrn(pg->reason,
			    status == 408 ? "timeout (no response)"
					  : "transport failure",
			    sizeof(pg->reason));
	pg->done = 1;
	abandoned = pg->abandoned;
	apr_thread_cond_signal(pg->done_cond);
	apr_thread_mutex_unlock(pg->lock);
	if (abandoned)
		apr_pool_destroy(pg->pool);
}

static const char *transport_upper(sips_transport_e tp)
{
	return tp == SIPS_TP_UDP ? "UDP" : tp == SIPS_TP_TCP ? "TCP" : "TLS";
}

static apr_status_t build_options(ping_t *pg, sips_transport_e tp,
				  char **buf, apr_size_t *len)
{
	const sips_settings_t *s = &pg->profile->settings;
	unsigned port = tp == SIPS_TP_TLS ? s->tls_sip_port : s->sip_port;
	sip_build_t b;

	sip_build_request(&b, pg->pool, "OPTIONS", pg->uri);
	sip_build_addf(&b, "Via", "SIP/2.0/%s %s:%u;branch=%s;rport",
		       transport_upper(tp), s->sip_ip, port,
		       sip_build_branch(pg->pool));
	sip_build_add(&b, "Max-Forwards", "70");
	sip_build_addf(&b, "From", "<sip:ping@%s>;tag=%s", s->sip_ip,
		       sip_build_random(pg->pool, 10));
	sip_build_addf(&b, "To", "<%s>", pg->uri);
	sip_build_addf(&b, "Call-ID", "%s@%s", sip_build_random(pg->pool, 20),
		       s->sip_ip);
	sip_build_add(&b, "CSeq", "1 OPTIONS");
	sip_build_addf(&b, "Contact", "<sip:ping@%s:%u;transport=%s>",
		       s->sip_ip, port, flow_transport_name(tp));
	sip_build_add(&b, "User-Agent", "sipsbridge/" PACKAGE_VERSION);
	sip_build_add(&b, "Accept", "application/sdp");
	return sip_build_serialize(&b, buf, len);
}

/* On the worker that owns the socket the request leaves by. */
static void ping_start(void *baton)
{
	ping_t *pg = baton;
	const sip_cand_t *c = &pg->dest.cand[pg->cur];
	sip_target_t to;
	txn_client_t *txn;
	char *buf;
	apr_size_t len;

	memset(&to, 0, sizeof(to));
	to.profile = pg->profile;
	to.transport = c->transport;
	to.peer = *c->addr;
	to.peer_port = c->port;
	apr_sockaddr_ip_getbuf(to.peer_ip, sizeof(to.peer_ip), c->addr);
	if (to.transport != SIPS_TP_UDP) {
		/* TLS verifies the URI's host, not the SRV target (RFC
		 * 5922 4.1). */
		pg->start_rv = stream_conn_connect(pg->profile, to.transport,
						   c->addr, pg->dest.host,
						   &to.flow_id);
		if (pg->start_rv != APR_SUCCESS)
			return;
	}
	pg->start_rv = build_options(pg, to.transport, &buf, &len);
	if (pg->start_rv != APR_SUCCESS)
		return;
	pg->sent = apr_time_now();
	pg->start_rv = txn_client_start(endpoint_txn_table(), &to, buf, len,
					&pg->profile->timers, ping_answered, pg,
					&txn);
}

/* APR_TIMEUP: pg now belongs to its transaction (freed by its callback),
 * so nothing of it is read after the unlock. */
static apr_status_t ping_wait(ping_t *pg)
{
	int done;

	apr_thread_mutex_lock(pg->lock);
	while (!pg->done && apr_time_now() < pg->deadline)
		apr_thread_cond_timedwait(pg->done_cond, pg->lock,
					  pg->deadline - apr_time_now());
	done = pg->done;
	if (!done)
		pg->abandoned = 1;
	apr_thread_mutex_unlock(pg->lock);
	return done ? APR_SUCCESS : APR_TIMEUP;
}

/*
 * OPTIONS to candidate pg->cur, and its final: APR_SUCCESS with
 * pg->status set, the error that kept it from leaving, or APR_TIMEUP
 * (then pg is abandoned to its transaction).
 */
static apr_status_t ping_candidate(ping_t *pg)
{
	const sip_cand_t *c = &pg->dest.cand[pg->cur];
	sb_worker_t *worker;

	/* No transaction of ours is left: no lock needed to reset. */
	pg->done = 0;
	pg->status = 0;
	pg->start_rv = APR_SUCCESS;
	/* Responses come back where the request left: same worker. */
	worker = c->transport == SIPS_TP_UDP ? pg->profile->listen_worker
					     : sb_loop_pick(pg->profile->loop);
	if (sb_worker_call(worker, ping_start, pg) != APR_SUCCESS)
		return APR_EGENERAL;
	if (pg->start_rv != APR_SUCCESS)
		return pg->start_rv;
	return ping_wait(pg);
}

/* RFC 3263 4.3: the next place after a transport failure, no response
 * at all, or a 503, while the ping's time lasts. */
static int ping_fails_over(const ping_t *pg, apr_status_t rv)
{
	if (rv == APR_TIMEUP || pg->cur + 1 >= pg->dest.ncand ||
	    apr_time_now() >= pg->deadline)
		return 0;
	return rv != APR_SUCCESS || pg->status == 503 ||
	       (pg->status == 408 && !pg->answered_by_peer);
}

/* "TLS target 192.0.2.1:5061" of the candidate tried now. */
static const char *ping_place(ping_t *pg)
{
	const sip_cand_t *c = &pg->dest.cand[pg->cur];
	char ip[64];

	apr_sockaddr_ip_getbuf(ip, sizeof(ip), c->addr);
	return apr_psprintf(pg->pool, "%s %s %s:%u",
			    flow_transport_name(c->transport), c->target, ip,
			    (unsigned)c->port);
}

apr_status_t sips_ping(sips_profile_t *p, const char *uri, sb_stream_t *out,
		       apr_pool_t *pool)
{
	char why[256];
	apr_pool_t *pp;
	ping_t *pg;
	apr_status_t rv;

	(void)pool;
	if (apr_pool_create(&pp, NULL) != APR_SUCCESS)
		return APR_ENOMEM;
	pg = apr_pcalloc(pp, sizeof(*pg));
	pg->pool = pp;
	pg->profile = p;
	pg->uri = apr_pstrdup(pp, uri);
	apr_thread_mutex_create(&pg->lock, APR_THREAD_MUTEX_DEFAULT, pp);
	apr_thread_cond_create(&pg->done_cond, pp);
	rv = sip_resolve(uri, pp, &pg->dest, why, sizeof(why));
	if (rv != APR_SUCCESS) {
		sb_stream_printf(out, "%s\n", why);
		apr_pool_destroy(pp);
		return rv;
	}
	/* One transaction's time in all (a control command must not hold
	 * the control socket for 16 silent targets' worth of Timer F). */
	pg->deadline = apr_time_now() + 64 * p->timers.t1 +
		       apr_time_from_sec(5);
	while ((rv = ping_candidate(pg)), ping_fails_over(pg, rv)) {
		sb_stream_printf(out, "%s: %s; trying the next target "
				 "(%d of %d)\n", ping_place(pg),
				 rv != APR_SUCCESS
					 ? sb_strerror(rv, why, sizeof(why))
					 : pg->reason,
				 pg->cur + 2, pg->dest.ncand);
		pg->cur++;
	}
	if (rv == APR_TIMEUP) {
		sb_stream_printf(out, "no final response from %s\n", uri);
		return APR_TIMEUP;
	}
	if (rv != APR_SUCCESS) {
		sb_stream_printf(out, "cannot send OPTIONS to %s: %s\n", uri,
				 sb_strerror(rv, why, sizeof(why)));
		apr_pool_destroy(pp);
		return rv;
	}
	sb_stream_printf(out, "%d %s from %s in %.1f ms\n", pg->status,
			 pg->reason, ping_place(pg),
			 (double)(pg->answered - pg->sent) / 1000.0);
	rv = pg->status >= 200 && pg->status < 300 ? APR_SUCCESS : SB_ENOTFOUND;
	ping_release(pg);
	return rv;
}
