/* reg_uac.c — OPTIONS, NOTIFY (and later INVITE) to a phone on its flow. */
#include <stdlib.h>
#include <string.h>
#include <apr_strings.h>
#include <apr_thread_cond.h>
#include "sipsbridge/sb_log.h"
#include "config.h"
#include "endpoint.h"
#include "reg_uac.h"
#include "sip_build.h"

/* One request on its way; freed by its final outcome. */
typedef struct uac_req {
	apr_pool_t *pool;
	sips_profile_t *profile;
	reg_binding_t b;
	char *buf;
	apr_size_t len;
	sip_target_t to;
	reg_uac_fn fn;
	void *baton;
} uac_req_t;

static const char *tp_upper(int tp)
{
	return tp == SIPS_TP_UDP ? "UDP" : tp == SIPS_TP_TCP ? "TCP" : "TLS";
}

static void uac_finish(uac_req_t *u, int status, const char *reason)
{
	if (u->fn)
		u->fn(u->baton, status, reason);
	apr_pool_destroy(u->pool);
}

static void uac_answered(void *baton, const sip_msg_t *resp, int status)
{
	uac_req_t *u = baton;
	char reason[96] = "";

	if (status < 200)
		return;
	if (resp)
		apr_cpystrn(reason, resp->reason.ptr,
			    resp->reason.len + 1 < sizeof(reason)
				    ? resp->reason.len + 1
				    : sizeof(reason));
	else
		apr_cpystrn(reason, status == 408 ? "Request Timeout"
						  : "Transport Failure",
			    sizeof(reason));
	uac_finish(u, status, reason);
}

/* On the worker that owns the flow (or the UDP socket). */
static void uac_start(uac_req_t *u)
{
	txn_client_t *txn;
	apr_status_t rv;

	rv = txn_client_start(endpoint_txn_table(), &u->to, u->buf, u->len,
			      &u->profile->timers, uac_answered, u, &txn);
	if (rv != APR_SUCCESS)
		uac_finish(u, rv == SB_EFLOWGONE ? 480 : 503,
			   rv == SB_EFLOWGONE ? "Flow Gone" : "Send Failed");
}

static void uac_on_flow(void *owner, void *baton)
{
	(void)owner;
	uac_start(baton);
}

static void uac_on_worker(void *baton)
{
	uac_start(baton);
}

static void uac_flow_gone(void *baton)
{
	uac_req_t *u = baton;

	reg_index_mark_unreachable(u->b.aor, u->b.contact);
	sb_log(SB_LOG_WARNING, "SB02420",
	       "registrar: %s: flow %" APR_UINT64_T_FMT " of %s is gone; "
	       "request not sent, nothing connects back (480)",
	       u->b.aor, u->b.flow_id, u->b.contact);
	uac_finish(u, 480, "Flow Gone");
}

static apr_status_t uac_build(uac_req_t *u, const char *method,
			      const char *const *extra, const char *ctype,
			      const char *body)
{
	const sips_settings_t *s = &u->profile->settings;
	unsigned port = u->b.transport == SIPS_TP_TLS ? s->tls_sip_port
						      : s->sip_port;
	char *path, *state, *route;
	sip_build_t b;

	sip_build_request(&b, u->pool, method, u->b.contact);
	sip_build_addf(&b, "Via", "SIP/2.0/%s %s:%u;branch=%s;rport",
		       tp_upper(u->b.transport), s->sip_ip, port,
		       sip_build_branch(u->pool));
	/* RFC 3327: the Path the phone registered through becomes Route. */
	path = apr_pstrdup(u->pool, u->b.path);
	for (route = apr_strtok(path, ",", &state); route;
	     route = apr_strtok(NULL, ",", &state))
		sip_build_add(&b, "Route", route);
	sip_build_add(&b, "Max-Forwards", "70");
	sip_build_addf(&b, "From", "<sip:%s>;tag=%s", u->b.aor,
		       sip_build_random(u->pool, 10));
	sip_build_addf(&b, "To", "<sip:%s>", u->b.aor);
	sip_build_addf(&b, "Call-ID", "%s@%s", sip_build_random(u->pool, 20),
		       s->sip_ip);
	sip_build_addf(&b, "CSeq", "1 %s", method);
	sip_build_addf(&b, "Contact", "<sip:mod_sips@%s:%u;transport=%s>",
		       s->sip_ip, port, flow_transport_name(u->b.transport));
	sip_build_add(&b, "User-Agent", "sipsbridge/" PACKAGE_VERSION);
	for (; extra && extra[0]; extra += 2)
		sip_build_add(&b, extra[0], extra[1]);
	if (body)
		sip_build_body(&b, ctype, body, strlen(body));
	return sip_build_serialize(&b, &u->buf, &u->len);
}

apr_status_t reg_uac_send(sips_profile_t *p, const reg_view_t *v,
			  const char *method, const char *const *extra,
			  const char *content_type, const char *body,
			  reg_uac_fn fn, void *baton)
{
	apr_pool_t *pool;
	uac_req_t *u;
	apr_status_t rv;

	if (apr_pool_create(&pool, NULL) != APR_SUCCESS)
		return APR_ENOMEM;
	u = apr_pcalloc(pool, sizeof(*u));
	u->pool = pool;
	u->profile = p;
	u->b = v->b;
	u->b.aor = apr_pstrdup(pool, v->b.aor);
	u->b.contact = apr_pstrdup(pool, v->b.contact);
	u->b.path = apr_pstrdup(pool, v->b.path);
	u->fn = fn;
	u->baton = baton;
	u->to.profile = p;
	u->to.transport = (sips_transport_e)v->b.transport;
	u->to.flow_id = v->b.flow_id;
	u->to.peer_port = v->b.src_port;
	apr_cpystrn(u->to.peer_ip, v->b.src_ip, sizeof(u->to.peer_ip));
	rv = uac_build(u, method, extra, content_type, body);
	if (rv != APR_SUCCESS) {
		apr_pool_destroy(pool);
		return rv;
	}
	if (u->to.transport == SIPS_TP_UDP) {
		apr_sockaddr_t *sa;

		rv = apr_sockaddr_info_get(&sa, v->b.src_ip, APR_UNSPEC,
					   (apr_port_t)v->b.src_port, 0, pool);
		if (rv == APR_SUCCESS) {
			u->to.peer = *sa;
			rv = sb_worker_post(p->listen_worker, uac_on_worker,
					    u);
		}
	} else if (v->restored || !v->b.flow_id) {
		rv = SB_EFLOWGONE;
	} else {
		rv = flow_post(v->b.flow_id, uac_on_flow, uac_flow_gone, u);
	}
	if (rv == SB_EFLOWGONE) {
		uac_flow_gone(u);
		return SB_EFLOWGONE;
	}
	if (rv != APR_SUCCESS)
		apr_pool_destroy(pool);
	return rv;
}

/* A control command waiting for every binding's outcome. */
typedef struct aor_wait {
	apr_thread_mutex_t *lock;
	apr_thread_cond_t *cond;
	int pending;
	sb_stream_t *out;
	int ok;
} aor_wait_t;

typedef struct aor_one {
	aor_wait_t *w;
	const char *contact;
	int transport;
	apr_uint64_t flow_id;
} aor_one_t;

static void aor_one_done(void *baton, int status, const char *reason)
{
	aor_one_t *one = baton;
	aor_wait_t *w = one->w;

	apr_thread_mutex_lock(w->lock);
	sb_stream_printf(w->out,
			 "%d %s from %s over %s flow %" APR_UINT64_T_FMT "\n",
			 status, reason, one->contact,
			 flow_transport_name(one->transport), one->flow_id);
	if (status >= 200 && status < 300)
		w->ok++;
	w->pending--;
	apr_thread_cond_signal(w->cond);
	apr_thread_mutex_unlock(w->lock);
}

apr_status_t reg_uac_to_aor(sips_profile_t *p, const char *aor,
			    const char *method, const char *const *extra,
			    const char *content_type, const char *body,
			    sb_stream_t *out)
{
	apr_pool_t *pool;
	apr_array_header_t *views;
	aor_wait_t *w;
	apr_time_t deadline;
	int i;

	apr_pool_create(&pool, NULL);
	views = reg_index_lookup(aor, pool);
	if (!views->nelts) {
		sb_stream_printf(out, "%s is not registered\n", aor);
		apr_pool_destroy(pool);
		return SB_ENOTFOUND;
	}
	w = apr_pcalloc(pool, sizeof(*w));
	w->out = out;
	apr_thread_mutex_create(&w->lock, APR_THREAD_MUTEX_DEFAULT, pool);
	apr_thread_cond_create(&w->cond, pool);
	w->pending = views->nelts;
	for (i = 0; i < views->nelts; i++) {
		const reg_view_t *v = &APR_ARRAY_IDX(views, i, reg_view_t);
		aor_one_t *one = apr_pcalloc(pool, sizeof(*one));

		one->w = w;
		one->contact = v->b.contact;
		one->transport = v->b.transport;
		one->flow_id = v->b.flow_id;
		apr_status_t rv = reg_uac_send(p, v, method, extra,
					       content_type, body, aor_one_done,
					       one);

		/* A gone flow has reported already; other errors have not. */
		if (rv != APR_SUCCESS && rv != SB_EFLOWGONE)
			aor_one_done(one, 503, "Send Failed");
	}
	/* Every outcome arrives by Timer F at the latest (64*T1). */
	deadline = apr_time_now() + 64 * p->timers.t1 + apr_time_from_sec(2);
	apr_thread_mutex_lock(w->lock);
	while (w->pending > 0 && apr_time_now() < deadline)
		apr_thread_cond_timedwait(w->cond, w->lock,
					  deadline - apr_time_now());
	i = w->pending;
	apr_thread_mutex_unlock(w->lock);
	if (i > 0) {
		/*
		 * An outcome that never came (the loop is stopping) would
		 * write into freed memory later: keep the pool, say so.
		 */
		sb_stream_printf(out, "%d request(s) still without outcome\n",
				 i);
		return APR_TIMEUP;
	}
	i = w->ok;
	apr_pool_destroy(pool);
	return i ? APR_SUCCESS : SB_EFLOWGONE;
}
