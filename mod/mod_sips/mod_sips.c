/* mod_sips.c — the SIP module: wires profiles and commands to the core. */
#include <stdlib.h>
#include <string.h>
#include <apr_strings.h>
#include "sipsbridge/sb_log.h"
#include "sipsbridge/sb_expand.h"
#include "sipsbridge/sb_module.h"
#include "sipsbridge/sb_dialplan.h"
#include "sipsbridge/sb_media.h"
#include "sipsbridge/sb_session.h"
#include "call.h"
#include "endpoint.h"
#include "mod_sips.h"
#include "reg_commands.h"
#include "registrar.h"

static mod_sips_t sips;
static sb_media_t *sips_media;

/*
 * The certificate expiry check: at start (profile_start), after each
 * reload-tls, and every cert_check_interval seconds (vars.xml, a day by
 * default) on worker 0, whose timer heap holds the node.
 */
static struct {
	sb_worker_t *worker;
	sb_timer_t timer;
	apr_interval_time_t period;
	int running;
} cert_watch;

sips_profile_t *mod_sips_profile_find(const char *name)
{
	sips_profile_t *p;

	apr_thread_mutex_lock(sips.lock);
	for (p = sips.profiles; p; p = p->next)
		if (!strcmp(p->name, name) && p->running)
			break;
	apr_thread_mutex_unlock(sips.lock);
	return p;
}

/*
 * The dialplan of new calls.  A running call may still hunt the one it
 * started with (transfer): earlier ones stay until shutdown, in pools
 * under sips.pool (one per reloadxml).
 */
static void load_dialplan(sb_runtime_t *rt)
{
	sb_config_error_t err = { { 0 }, 0, { 0 } };
	sb_dialplan_t *dp;
	apr_pool_t *pool;
	unsigned nctx = 0, next = 0;

	if (apr_pool_create(&pool, sips.pool) != APR_SUCCESS)
		return;
	if (sb_dialplan_load(&dp, sb_runtime_config(rt), sb_app_known, NULL,
			     pool, &err) != APR_SUCCESS) {
		sb_log(SB_LOG_ERR, "SB02119", "%s:%d: %s; %s",
		       err.file, err.line, err.msg,
		       "the previous dialplan stays in use");
		apr_pool_destroy(pool);
		return;
	}
	sb_dialplan_counts(dp, &nctx, &next);
	sb_log(SB_LOG_INFO, "SB02111",
	       "mod_sips: dialplan has %u context(s), %u extension(s)", nctx,
	       next);
	call_set_dialplan(dp);
}

/* The RTP relay: ports from vars.xml (rtp_start_port, rtp_end_port). */
static apr_status_t media_start(sb_runtime_t *rt)
{
	sb_vars_t *vars = sb_config_vars(sb_runtime_config(rt));
	const char *lo = sb_vars_get(vars, "rtp_start_port");
	const char *hi = sb_vars_get(vars, "rtp_end_port");
	sb_media_config_t mc;
	apr_status_t rv;

	mc.port_min = (apr_port_t)(lo ? atoi(lo) : 16384);
	mc.port_max = (apr_port_t)(hi ? atoi(hi) : 32768);
	/* One relay thread per signalling worker (per core by default):
	 * media is spread over the cores, and one busy relay thread does
	 * not hold up every call's stream changes. */
	mc.threads = sb_loop_nworkers(sb_runtime_loop(rt));
	call_srtp_set_default_suites(sb_vars_get(vars, "rtp_sdes_suites"));
	rv = sb_media_create(&sips_media, &mc, sips.pool);
	if (rv != APR_SUCCESS) {
		sb_log(SB_LOG_CRIT, "SB02112",
		       "mod_sips: RTP relay on ports %u-%u did not start",
		       mc.port_min, mc.port_max);
		return rv;
	}
	return call_init(sb_runtime_loop(rt), sips_media, sips.pool);
}

/* <global_settings> params are defaults for every profile. */
static void read_global_settings(const sb_config_t *cfg, xmlNodePtr conf,
				 sips_settings_t *base, apr_pool_t *pool)
{
	xmlNodePtr gs = sb_xml_child(conf, "global_settings"), param;
	char why[512];
	const char *file;
	int line;

	profile_params_defaults(base, pool);
	for (param = gs ? sb_xml_child(gs, "param") : NULL; param;
	     param = sb_xml_next(param, "param")) {
		const char *name = sb_xml_attr(param, "name");
		const char *value = sb_xml_attr(param, "value");

		if (!name || !value ||
		    profile_params_apply(base, name, value, pool, why,
					 sizeof(why)) == APR_SUCCESS)
			continue;
		sb_config_where(cfg, param, &file, &line);
		sb_log(SB_LOG_WARNING, "SB02105",
		       "%s:%d: sips.conf global_settings: %s; ignored", file,
		       line, why);
	}
}

/* Builds one profile (or every one when @p only is NULL); call locked. */
static unsigned build_profiles(mod_sips_t *m, const char *only,
			       sips_profile_t **list)
{
	const sb_config_t *cfg = sb_runtime_config(m->rt);
	xmlNodePtr conf = sb_config_find_conf(cfg, "sips.conf");
	xmlNodePtr profiles = conf ? sb_xml_child(conf, "profiles") : NULL;
	xmlNodePtr node;
	sips_settings_t base;
	unsigned started = 0;

	if (!profiles) {
		sb_log(SB_LOG_ERR, "SB02106",
		       "sips.conf: no <configuration name=\"sips.conf\">"
		       "<profiles> in the configuration");
		return 0;
	}
	read_global_settings(cfg, conf, &base, m->pool);
	for (node = sb_xml_child(profiles, "profile"); node;
	     node = sb_xml_next(node, "profile")) {
		const char *name = sb_xml_attr(node, "name");
		sips_profile_t *p = NULL;

		if (!name || !*name) {
			const char *file;
			int line;

			sb_config_where(cfg, node, &file, &line);
			sb_log(SB_LOG_ERR, "SB02107",
			       "%s:%d: <profile> without a name; skipped",
			       file, line);
			continue;
		}
		if (only && strcmp(only, name))
			continue;
		if (profile_create(&p, cfg, node, &base, sb_runtime_loop(m->rt),
				   m->pool) != APR_SUCCESS &&
		    !p)
			continue;
		if (profile_start(p) == APR_SUCCESS)
			started++;
		while (*list)
			list = &(*list)->next;
		*list = p;
	}
	return started;
}

apr_status_t mod_sips_profile_from_config(mod_sips_t *m, const char *name,
					  sips_profile_t **out)
{
	sips_profile_t *list = NULL;

	sb_runtime_config_rdlock(m->rt);
	build_profiles(m, name, &list);
	sb_runtime_config_unlock(m->rt);
	if (!list)
		return SB_ENOTFOUND;
	*out = list;
	return list->running ? APR_SUCCESS : SB_ECONFIG;
}

static void sips_shutdown(sb_runtime_t *rt);

static void cert_watch_tick(void *baton)
{
	apr_interval_time_t next = cert_watch.period;
	sips_profile_t *p;

	(void)baton;
	/*
	 * Commands hold the lock while they wait for a worker (profile
	 * stop): blocking here could wait for ourselves. Busy: soon again.
	 */
	if (apr_thread_mutex_trylock(sips.lock) == APR_SUCCESS) {
		for (p = sips.profiles; p; p = p->next)
			if (p->running)
				profile_check_certs(p, apr_time_now());
		apr_thread_mutex_unlock(sips.lock);
	} else {
		next = apr_time_from_sec(1);
	}
	if (cert_watch.running)
		sb_timer_start(cert_watch.worker, &cert_watch.timer, next,
			       cert_watch_tick, NULL);
}

static void cert_watch_arm(void *baton)
{
	(void)baton;
	sb_timer_start(cert_watch.worker, &cert_watch.timer,
		       cert_watch.period, cert_watch_tick, NULL);
}

static void cert_watch_disarm(void *baton)
{
	(void)baton;
	sb_timer_stop(cert_watch.worker, &cert_watch.timer);
}

static void cert_watch_start(sb_runtime_t *rt)
{
	const char *secs;
	long n = 0;

	sb_runtime_config_rdlock(rt);
	secs = sb_vars_get(sb_config_vars(sb_runtime_config(rt)),
			   "cert_check_interval");
	if (secs)
		n = atol(secs);
	sb_runtime_config_unlock(rt);
	memset(&cert_watch, 0, sizeof(cert_watch));
	cert_watch.period = apr_time_from_sec(n > 0 ? n : 86400);
	cert_watch.worker = sb_loop_worker(sb_runtime_loop(rt), 0);
	cert_watch.running = 1;
	sb_worker_call(cert_watch.worker, cert_watch_arm, NULL);
}

static void cert_watch_stop(void)
{
	if (!cert_watch.running)
		return;
	cert_watch.running = 0;
	sb_worker_call(cert_watch.worker, cert_watch_disarm, NULL);
}

/* SIGHUP and reloadxml: every TLS profile takes its files anew; one
 * whose new files are broken keeps serving the old ones. */
static void reload_tls_all(void)
{
	char why[1024];
	sips_profile_t *p;

	apr_thread_mutex_lock(sips.lock);
	for (p = sips.profiles; p; p = p->next)
		if (p->running && p->tls)
			profile_reload_tls(p, why, sizeof(why));
	apr_thread_mutex_unlock(sips.lock);
}

/*
 * reloadxml and SIGHUP: TLS files, the directory and the dialplan are
 * read again; profiles keep running.
 */
static apr_status_t sips_reload(sb_runtime_t *rt)
{
	directory_t *dir;
	apr_pool_t *pool;
	apr_status_t rv;

	reload_tls_all();
	rv = apr_pool_create(&pool, NULL);
	if (rv != APR_SUCCESS)
		return rv;
	sb_runtime_config_rdlock(rt);
	rv = directory_load(&dir, sb_runtime_config(rt), pool);
	sb_runtime_config_unlock(rt);
	if (rv != APR_SUCCESS) {
		apr_pool_destroy(pool);
		return rv;
	}
	sb_log(SB_LOG_INFO, "SB02109", "mod_sips: directory has %lu user(s)",
	       (unsigned long)directory_count(dir));
	registrar_set_directory(dir, pool);
	sb_runtime_config_rdlock(rt);
	load_dialplan(rt);
	sb_runtime_config_unlock(rt);
	return APR_SUCCESS;
}

static apr_status_t sips_load(sb_runtime_t *rt, apr_pool_t *pool)
{
	apr_status_t rv;
	unsigned started;

	memset(&sips, 0, sizeof(sips));
	sips.rt = rt;
	rv = apr_pool_create(&sips.pool, pool);
	if (rv == APR_SUCCESS)
		rv = apr_thread_mutex_create(&sips.lock,
					     APR_THREAD_MUTEX_DEFAULT,
					     sips.pool);
	if (rv == APR_SUCCESS)
		rv = flow_table_init(sips.pool);
	if (rv == APR_SUCCESS)
		rv = endpoint_init(sb_runtime_loop(rt), sips.pool);
	if (rv == APR_SUCCESS)
		rv = registrar_init(sb_runtime_dirs(rt)->db_dir, sips.pool);
	if (rv == APR_SUCCESS) {
		sb_runtime_config_rdlock(rt);
		rv = media_start(rt);
		sb_runtime_config_unlock(rt);
	}
	if (rv == APR_SUCCESS)
		rv = call_bridge_register();
	if (rv == APR_SUCCESS)
		rv = call_commands_register();
	if (rv != APR_SUCCESS)
		return rv;
	sips_reload(rt);
	sb_runtime_config_rdlock(rt);
	started = build_profiles(&sips, NULL, &sips.profiles);
	sb_runtime_config_unlock(rt);
	sips_commands_register(&sips);
	reg_commands_register(&sips);
	reg_sweep_start(&sips);
	cert_watch_start(rt);
	if (!started) {
		sb_log(SB_LOG_CRIT, "SB02108", "mod_sips: no profile started");
		sips_shutdown(rt);
		return SB_ECONFIG;
	}
	return APR_SUCCESS;
}

static void sips_shutdown(sb_runtime_t *rt)
{
	sips_profile_t *p, *next;

	(void)rt;
	cert_watch_stop();
	reg_sweep_stop(&sips);
	call_shutdown();
	reg_commands_unregister();
	sips_commands_unregister();
	apr_thread_mutex_lock(sips.lock);
	for (p = sips.profiles; p; p = next) {
		next = p->next;
		profile_destroy(p);
	}
	sips.profiles = NULL;
	apr_thread_mutex_unlock(sips.lock);
	endpoint_shutdown();
	if (sips_media)
		sb_media_destroy(sips_media);
	sips_media = NULL;
	call_commands_unregister();
	sb_app_unregister("bridge");
	sb_expand_function_unregister("sips_contact");
	sb_expand_function_unregister("sofia_contact");
	registrar_shutdown();
	flow_table_destroy();
}

SB_MODULE_DEFINE(mod_sips, sips_load, sips_reload, sips_shutdown);
