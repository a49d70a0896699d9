/* profile.c — a SIP profile's life: read, start (TLS, binds), stop. */
#include <string.h>
#include <apr_hash.h>
#include <apr_strings.h>
#include "sipsbridge/sb_log.h"
#include "digest.h"
#include "endpoint.h"
#include "profile.h"
#include "tp_listen.h"
#include "tp_stream.h"

static apr_status_t read_settings(sips_profile_t *p, const sb_config_t *cfg,
				  const xmlNode *node)
{
	const xmlNode *settings = sb_xml_child(node, "settings");
	const xmlNode *param;
	char why[512];
	const char *file;
	int line;

	for (param = settings ? sb_xml_child(settings, "param") : NULL; param;
	     param = sb_xml_next(param, "param")) {
		const char *name = sb_xml_attr(param, "name");
		const char *value = sb_xml_attr(param, "value");
		apr_status_t rv;

		sb_config_where(cfg, param, &file, &line);
		if (!name || !value) {
			sb_log(SB_LOG_WARNING, "SB02102",
			       "%s:%d: profile %s: <param> needs name and "
			       "value; ignored",
			       file, line, p->name);
			continue;
		}
		rv = profile_params_apply(&p->settings, name, value, p->pool,
					  why, sizeof(why));
		if (rv == SB_ENOTFOUND) {
			sb_log(SB_LOG_WARNING, "SB02103",
			       "%s:%d: profile %s: unknown param \"%s\"; "
			       "ignored",
			       file, line, p->name, name);
		} else if (rv != APR_SUCCESS) {
			p->error = apr_psprintf(p->pool,
						"%s:%d: param \"%s\": %s", file,
						line, name, why);
			return SB_ECONFIG;
		}
	}
	return APR_SUCCESS;
}

apr_status_t profile_create(sips_profile_t **out, const sb_config_t *cfg,
			    const xmlNode *node, const sips_settings_t *base,
			    sb_loop_t *loop, apr_pool_t *parent)
{
	sips_profile_t *p;
	apr_pool_t *pool;
	apr_status_t rv;

	rv = apr_pool_create(&pool, parent);
	if (rv != APR_SUCCESS)
		return rv;
	p = apr_pcalloc(pool, sizeof(*p));
	p->pool = pool;
	p->loop = loop;
	p->settings = *base;
	p->name = apr_pstrdup(pool, sb_xml_attr(node, "name"));
	sb_config_where(cfg, node, &p->file, &p->line);
	p->file = apr_pstrdup(pool, p->file);
	stream_conn_list_init(p);
	p->conns_per_ip = apr_hash_make(pool);
	p->outbound = apr_hash_make(pool);
	rv = apr_thread_mutex_create(&p->lock, APR_THREAD_MUTEX_DEFAULT, pool);
	if (rv != APR_SUCCESS) {
		apr_pool_destroy(pool);
		return rv;
	}
	rv = read_settings(p, cfg, node);
	p->timers.t1 = apr_time_from_msec(p->settings.timer_t1_ms);
	p->timers.t2 = apr_time_from_msec(p->settings.timer_t2_ms);
	p->timers.t4 = apr_time_from_msec(p->settings.timer_t4_ms);
	if (rv == APR_SUCCESS)
		rv = digest_create(&p->digest,
				   apr_time_from_sec(p->settings.nonce_ttl),
				   pool);
	*out = p;
	return rv;
}

/* One certificate against the expiry bands; quiet while it is fine. */
static int check_cert(const sips_profile_t *p, const cert_info_t *ci,
		      const char *what, const char *file, apr_time_t now)
{
	int band = cert_info_band(ci, now, p->settings.cert_warn_days);
	int days = cert_info_days_left(ci, now);

	if (band < 0)
		sb_log(SB_LOG_ERR, "SB02114",
		       "profile %s: %s \"%s\" in %s expired %d day(s) ago "
		       "(%s): replace it and run sips profile %s reload-tls",
		       p->name, what, ci->subject, file, -days, ci->not_after,
		       p->name);
	else if (band == 7)
		sb_log(SB_LOG_ERR, "SB02113",
		       "profile %s: %s \"%s\" in %s expires in %d days (%s), "
		       "within 7 days: renew it now",
		       p->name, what, ci->subject, file, days, ci->not_after);
	else if (band > 0)
		sb_log(SB_LOG_WARNING, "SB02110",
		       "profile %s: %s \"%s\" in %s expires in %d days (%s), "
		       "within %d days: renew it soon",
		       p->name, what, ci->subject, file, days, ci->not_after,
		       band);
	return band != 0;
}

unsigned profile_check_certs(const sips_profile_t *p, apr_time_t now)
{
	const tls_ctx_t *t = p->tls;
	unsigned found = 0;
	int i;

	if (!t)
		return 0;
	found += (unsigned)check_cert(p, &t->cert, "certificate",
				      t->agent_path, now);
	for (i = 0; t->cas && i < t->cas->nelts; i++)
		found += (unsigned)check_cert(
			p, &APR_ARRAY_IDX(t->cas, i, cert_info_t),
			"CA certificate", t->cafile_path, now);
	return found;
}

apr_status_t profile_reload_tls(sips_profile_t *p, char *why, apr_size_t len)
{
	const cert_info_t *ci;
	apr_status_t rv;

	if (!p->running || !p->tls) {
		apr_snprintf(why, len, "profile %s %s", p->name,
			     p->running ? "has tls off" : "is not running");
		return SB_ENOTFOUND;
	}
	rv = tls_ctx_reload(p->tls, &p->settings, why, len);
	if (rv != APR_SUCCESS) {
		sb_log(SB_LOG_ERR, "SB02116",
		       "profile %s: reload-tls refused, the certificate in "
		       "service stays: %s",
		       p->name, why);
		return rv;
	}
	ci = &p->tls->cert;
	sb_log(SB_LOG_NOTICE, "SB02115",
	       "profile %s: TLS reloaded from %s: certificate \"%s\" serial "
	       "%s expires %s (%d days); new connections get it, open ones "
	       "keep theirs",
	       p->name, p->tls->agent_path, ci->subject, ci->serial,
	       ci->not_after, cert_info_days_left(ci, apr_time_now()));
	profile_check_certs(p, apr_time_now());
	return APR_SUCCESS;
}

typedef struct watch_call {
	sips_profile_t *profile;
	apr_status_t rv;
} watch_call_t;

static void watch_listeners(void *baton)
{
	watch_call_t *call = baton;
	unsigned i;

	for (i = 0; i < SIPS_TP_COUNT && call->rv == APR_SUCCESS; i++)
		if (call->profile->listeners[i].sock)
			call->rv = listener_watch(
				&call->profile->listeners[i],
				call->profile->listen_worker);
}

static void unwatch_listeners(void *baton)
{
	sips_profile_t *p = baton;
	unsigned i;

	for (i = 0; i < SIPS_TP_COUNT; i++)
		listener_close(&p->listeners[i]);
}

static apr_status_t bind_all(sips_profile_t *p, char *why, apr_size_t len)
{
	const sips_settings_t *s = &p->settings;
	unsigned i;

	for (i = 0; i < SIPS_TP_COUNT; i++) {
		sips_listener_t *l = &p->listeners[i];

		l->profile = p;
		l->transport = (sips_transport_e)i;
		l->port = i == SIPS_TP_TLS ? s->tls_sip_port : s->sip_port;
		if (i == SIPS_TP_TLS ? !s->tls : s->tls_only)
			continue;
		if (listener_bind(l, s->sip_ip, p->pool, why, len) !=
		    APR_SUCCESS)
			return SB_ECONFIG;
	}
	return APR_SUCCESS;
}

static apr_status_t start_failed(sips_profile_t *p, const char *why)
{
	p->error = apr_pstrdup(p->pool, why);
	unwatch_listeners(p);
	sb_log(SB_LOG_ERR, "SB02101", "profile %s (%s:%d) not started: %s",
	       p->name, p->file, p->line, why);
	return SB_ECONFIG;
}

apr_status_t profile_start(sips_profile_t *p)
{
	watch_call_t call = { p, APR_SUCCESS };
	char why[1024];

	if (p->error)
		return start_failed(p, p->error);
	if (p->settings.tls_only && !p->settings.tls)
		return start_failed(p, "tls-only is set but tls is off");
	if (p->settings.tls &&
	    tls_ctx_create(&p->tls, &p->settings, p->pool, why, sizeof(why)) !=
		    APR_SUCCESS)
		return start_failed(p, why);
	if (bind_all(p, why, sizeof(why)) != APR_SUCCESS)
		return start_failed(p, why);
	p->listen_worker = sb_loop_pick(p->loop);
	sb_worker_call(p->listen_worker, watch_listeners, &call);
	if (call.rv != APR_SUCCESS) {
		sb_worker_call(p->listen_worker, unwatch_listeners, p);
		return start_failed(p, "cannot watch the listening sockets");
	}
	p->running = 1;
	p->error = NULL;
	sb_log(SB_LOG_NOTICE, "SB02100",
	       "profile %s started: udp+tcp %s:%u%s%s", p->name,
	       p->settings.sip_ip, p->settings.sip_port,
	       p->settings.tls ? ", tls port " : "",
	       p->settings.tls ? apr_itoa(p->pool, (int)p->settings.tls_sip_port)
			       : "");
	profile_check_certs(p, apr_time_now());
	return APR_SUCCESS;
}

void profile_stop(sips_profile_t *p)
{
	if (!p->running)
		return;
	sb_worker_call(p->listen_worker, unwatch_listeners, p);
	stream_conn_close_all(p);
	p->running = 0;
	sb_log(SB_LOG_NOTICE, "SB02104", "profile %s stopped", p->name);
}

void profile_destroy(sips_profile_t *p)
{
	profile_stop(p);
	/* What still sends through it (a retransmission, a final waiting
	 * for its ACK) ends first: nothing may hold it once freed. */
	endpoint_profile_gone(p);
	apr_pool_destroy(p->pool);
}
