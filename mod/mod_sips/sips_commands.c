/* sips_commands.c — `sips status`, `sips status profile X`, `sips profile`. */
#include <string.h>
#include <apr_strings.h>
#include "sipsbridge/sb_control.h"
#include "sipsbridge/sb_log.h"
#include "call.h"
#include "endpoint.h"
#include "mod_sips.h"
#include "reg_commands.h"
#include "sips_ping.h"
#include "src_guard.h"

static void print_binds(sb_stream_t *out, const sips_profile_t *p)
{
	unsigned i;
	int any = 0;

	sb_stream_printf(out, "  binds:");
	for (i = 0; i < SIPS_TP_COUNT; i++)
		if (p->listeners[i].sock) {
			sb_stream_printf(out, "%s %s %s:%u", any ? "," : "",
					 flow_transport_name(i),
					 p->settings.sip_ip,
					 p->listeners[i].port);
			any = 1;
		}
	sb_stream_printf(out, "%s\n", any ? "" : " none");
}

/* What status adds after an expiry date: the band of cert_info_band(). */
static const char *band_text(int band, apr_pool_t *pool)
{
	if (band < 0)
		return " ERROR: expired, replace it";
	if (band == 7)
		return " ERROR: expires within 7 days, renew now";
	if (band > 0)
		return apr_psprintf(pool,
				    " WARNING: renew soon (within %d days)",
				    band);
	return "";
}

static const char *utc_text(apr_time_t t, apr_pool_t *pool)
{
	apr_time_exp_t tm;
	char buf[64];
	apr_size_t n = 0;

	apr_time_exp_gmt(&tm, t);
	apr_strftime(buf, &n, sizeof(buf), "%Y-%m-%d %H:%M:%S UTC", &tm);
	return apr_pstrmemdup(pool, buf, n);
}

static void print_cas(sb_stream_t *out, const sips_profile_t *p,
		      apr_time_t now, apr_pool_t *pool)
{
	const tls_ctx_t *t = p->tls;
	int i;

	if (!t->cafile_path) {
		sb_stream_printf(out, "  cafile: none\n");
		return;
	}
	sb_stream_printf(out, "  cafile: %s, %d CA(s)\n", t->cafile_path,
			 t->cas ? t->cas->nelts : 0);
	for (i = 0; t->cas && i < t->cas->nelts; i++) {
		const cert_info_t *ca = &APR_ARRAY_IDX(t->cas, i, cert_info_t);

		sb_stream_printf(
			out, "  CA: %s, expires: %s (%d days)%s\n",
			ca->subject, ca->not_after,
			cert_info_days_left(ca, now),
			band_text(cert_info_band(ca, now,
						 p->settings.cert_warn_days),
				  pool));
	}
}

static void print_cert(sb_stream_t *out, const sips_profile_t *p,
		       apr_pool_t *pool)
{
	apr_time_t now = apr_time_now();
	const cert_info_t *ci;

	if (!p->tls) {
		if (p->settings.tls)
			sb_stream_printf(out, "  tls-cert-dir: %s\n",
					 p->settings.tls_cert_dir);
		return;
	}
	ci = &p->tls->cert;
	sb_stream_printf(out, "  tls-cert-dir: %s\n", p->settings.tls_cert_dir);
	sb_stream_printf(out, "  certificate: %s\n", ci->subject);
	sb_stream_printf(out, "  issuer: %s\n", ci->issuer);
	sb_stream_printf(out, "  serial: %s\n", ci->serial);
	sb_stream_printf(out, "  sha256: %s\n", ci->fingerprint);
	sb_stream_printf(out, "  SANs: %s\n", *ci->sans ? ci->sans : "none");
	sb_stream_printf(out, "  expires: %s (%d days)%s\n", ci->not_after,
			 cert_info_days_left(ci, now),
			 band_text(cert_info_band(ci, now,
						  p->settings.cert_warn_days),
				   pool));
	print_cas(out, p, now, pool);
	sb_stream_printf(out, "  tls loaded: %s (generation %u)\n",
			 utc_text(p->tls->loaded, pool), p->tls->generation);
}

static void print_profile(sb_stream_t *out, sips_profile_t *p,
			  apr_pool_t *pool)
{
	unsigned conns[SIPS_TP_COUNT];
	apr_uint64_t ok, failed, dgrams;

	apr_thread_mutex_lock(p->lock);
	memcpy(conns, p->open_conns, sizeof(conns));
	ok = p->handshakes_ok;
	failed = p->handshakes_failed;
	dgrams = p->udp_datagrams;
	apr_thread_mutex_unlock(p->lock);
	sb_stream_printf(out, "profile %s: %s%s%s\n", p->name,
			 p->running ? "RUNNING" : "DOWN",
			 p->error ? ": " : "", p->error ? p->error : "");
	print_binds(out, p);
	if (p->settings.tls)
		sb_stream_printf(out, "  tls-version: %s\n",
				 profile_params_versions_text(
					 p->settings.tls_versions, pool));
	print_cert(out, p, pool);
	if (p->running)
		sb_stream_printf(out,
				 "  connections: tcp %u, tls %u; udp datagrams "
				 "%" APR_UINT64_T_FMT "; tls handshakes ok "
				 "%" APR_UINT64_T_FMT ", failed "
				 "%" APR_UINT64_T_FMT "\n",
				 conns[SIPS_TP_TCP], conns[SIPS_TP_TLS], dgrams,
				 ok, failed);
	if (p->running)
		src_guard_print(out, p);
}

static sips_profile_t *find_profile(mod_sips_t *m, const char *name)
{
	sips_profile_t *p;

	for (p = m->profiles; p; p = p->next)
		if (!strcmp(p->name, name))
			return p;
	return NULL;
}

static apr_status_t cmd_status(const char *args, sb_stream_t *out,
			       apr_pool_t *pool, void *baton)
{
	mod_sips_t *m = baton;
	sips_profile_t *p;
	apr_status_t rv = APR_SUCCESS;

	apr_thread_mutex_lock(m->lock);
	if (!strncmp(args, "profile", 7) && (args[7] == ' ' || !args[7])) {
		char *name = apr_pstrdup(pool, args + 7), *state;
		const char *what;

		name = apr_strtok(name, " ", &state);
		what = name ? apr_strtok(NULL, " ", &state) : NULL;
		p = name ? find_profile(m, name) : NULL;
		if (p && what && !strcmp(what, "reg")) {
			reg_commands_list(out, p->name, pool);
		} else if (p && !what) {
			print_profile(out, p, pool);
		} else {
			sb_stream_printf(out, "no such profile: \"%s\"\n",
					 name ? name : "");
			rv = SB_ENOTFOUND;
		}
	} else if (*args) {
		sb_stream_printf(out, "usage: sips status [profile NAME]\n");
		rv = APR_EINVAL;
	} else {
		for (p = m->profiles; p; p = p->next)
			print_profile(out, p, pool);
		sb_stream_printf(out, "flows: %lu open\n",
				 (unsigned long)flow_count());
	}
	apr_thread_mutex_unlock(m->lock);
	return rv;
}

/*
 * As `sofia profile X restart` does: the profile's calls end first, with
 * BYE, CANCEL or a final response through it; then it stops.  A call
 * that came in meanwhile ends after the stop (its goodbyes fail at
 * once).  Last its transactions end, once no leg holds one: nothing
 * sends through it after, and it may be freed.
 */
static void take_down(sips_profile_t *p)
{
	call_end_profile(p);
	profile_stop(p);
	call_end_profile(p);
	endpoint_profile_gone(p);
}

/* Replace profile @p name in the list by a fresh one from the config. */
static apr_status_t restart_profile(mod_sips_t *m, const char *name,
				    sb_stream_t *out)
{
	sips_profile_t **pp, *old = NULL, *fresh = NULL;
	apr_status_t rv;

	for (pp = &m->profiles; *pp; pp = &(*pp)->next)
		if (!strcmp((*pp)->name, name)) {
			old = *pp;
			*pp = old->next;
			break;
		}
	if (old) {
		/* Out of the list, it is ours: torn down without the lock (a
		 * dialplan that goes on may look a profile up, the sweep
		 * takes it on a worker we wait for).  Commands run one at a
		 * time, so the list stays ours. */
		apr_thread_mutex_unlock(m->lock);
		take_down(old);
		profile_destroy(old);
		apr_thread_mutex_lock(m->lock);
	}
	rv = mod_sips_profile_from_config(m, name, &fresh);
	if (fresh) {
		for (pp = &m->profiles; *pp; pp = &(*pp)->next)
			;
		*pp = fresh;
	}
	if (rv == SB_ENOTFOUND)
		sb_stream_printf(out, "no profile \"%s\" in sips.conf\n", name);
	else if (rv != APR_SUCCESS)
		sb_stream_printf(out, "profile %s failed to start: %s\n", name,
				 fresh && fresh->error ? fresh->error : "?");
	else
		sb_stream_printf(out, "profile %s started\n", name);
	return rv;
}

/* Locked: the swap and what status reads of it go one at a time. */
static apr_status_t reload_tls(sips_profile_t *p, const char *name,
			       sb_stream_t *out)
{
	const cert_info_t *ci;
	char why[1024];
	apr_status_t rv;

	if (!p) {
		sb_stream_printf(out, "no such profile: \"%s\"\n", name);
		return SB_ENOTFOUND;
	}
	rv = profile_reload_tls(p, why, sizeof(why));
	if (rv == SB_ENOTFOUND) {
		sb_stream_printf(out, "%s\n", why);
		return rv;
	}
	if (rv != APR_SUCCESS) {
		sb_stream_printf(out,
				 "profile %s: reload-tls refused: %s; the "
				 "certificate in service stays\n",
				 name, why);
		return rv;
	}
	ci = &p->tls->cert;
	sb_stream_printf(out,
			 "profile %s: TLS reloaded: certificate \"%s\" serial "
			 "%s expires %s (%d days); new connections get it\n",
			 name, ci->subject, ci->serial, ci->not_after,
			 cert_info_days_left(ci, apr_time_now()));
	return APR_SUCCESS;
}

/* Runs unlocked: a ping waits for the network. */
static apr_status_t ping_profile(mod_sips_t *m, const char *name,
				 const char *uri, sb_stream_t *out,
				 apr_pool_t *pool)
{
	sips_profile_t *p;

	if (!uri) {
		sb_stream_printf(out, "usage: sips profile NAME ping URI\n");
		return APR_EINVAL;
	}
	apr_thread_mutex_lock(m->lock);
	p = find_profile(m, name);
	apr_thread_mutex_unlock(m->lock);
	if (!p || !p->running) {
		sb_stream_printf(out, "profile %s is not running\n", name);
		return SB_ENOTFOUND;
	}
	return sips_ping(p, uri, out, pool);
}

static apr_status_t cmd_profile(const char *args, sb_stream_t *out,
				apr_pool_t *pool, void *baton)
{
	mod_sips_t *m = baton;
	char *copy = apr_pstrdup(pool, args), *state;
	const char *name = apr_strtok(copy, " ", &state);
	const char *verb = name ? apr_strtok(NULL, " ", &state) : NULL;
	sips_profile_t *p;
	apr_status_t rv = APR_SUCCESS;

	if (!name || !verb) {
		sb_stream_printf(out, "usage: sips profile NAME "
				 "start|stop|restart|reload-tls|ping URI\n");
		return APR_EINVAL;
	}
	if (!strcmp(verb, "ping"))
		return ping_profile(m, name, apr_strtok(NULL, " ", &state),
				    out, pool);
	if (!strcmp(verb, "check_sync") || !strcmp(verb, "notify") ||
	    !strcmp(verb, "options")) {
		apr_thread_mutex_lock(m->lock);
		p = find_profile(m, name);
		apr_thread_mutex_unlock(m->lock);
		if (!p || !p->running) {
			sb_stream_printf(out, "profile %s is not running\n",
					 name);
			return SB_ENOTFOUND;
		}
		return reg_commands_profile_verb(
			p, verb, apr_strtok(NULL, " ", &state), out);
	}
	apr_thread_mutex_lock(m->lock);
	p = find_profile(m, name);
	if (!strcmp(verb, "stop")) {
		if (p && p->running) {
			apr_thread_mutex_unlock(m->lock);
			take_down(p);
			apr_thread_mutex_lock(m->lock);
			sb_stream_printf(out, "profile %s stopped\n", name);
		} else {
			sb_stream_printf(out, "profile %s is not running\n",
					 name);
			rv = SB_ENOTFOUND;
		}
	} else if (!strcmp(verb, "start") && p && p->running) {
		sb_stream_printf(out, "profile %s is already running\n", name);
		rv = APR_EEXIST;
	} else if (!strcmp(verb, "start") || !strcmp(verb, "restart")) {
		rv = restart_profile(m, name, out);
	} else if (!strcmp(verb, "reload-tls")) {
		rv = reload_tls(p, name, out);
	} else {
		sb_stream_printf(out, "unknown action \"%s\" "
				 "(start, stop, restart, reload-tls)\n", verb);
		rv = APR_EINVAL;
	}
	apr_thread_mutex_unlock(m->lock);
	return rv;
}

apr_status_t sips_commands_register(mod_sips_t *m)
{
	apr_status_t rv;

	rv = sb_control_register("sips status", "sips status [profile NAME [reg]]",
				 "profiles, binds, certificates, connections",
				 cmd_status, m);
	if (rv == APR_SUCCESS)
		rv = sb_control_register(
			"sips profile",
			"sips profile NAME start|stop|restart|reload-tls|"
			"ping URI|check_sync|notify|options USER@DOMAIN",
			"start, stop or reload the TLS files of one profile",
			cmd_profile, m);
	return rv;
}

void sips_commands_unregister(void)
{
	sb_control_unregister("sips status");
	sb_control_unregister("sips profile");
}
