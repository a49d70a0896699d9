/* reg_commands.c — listing, flushing and pinging registrations. */
#include <string.h>
#include <apr_strings.h>
#include "sipsbridge/sb_control.h"
#include "sipsbridge/sb_log.h"
#include "reg_commands.h"
#include "reg_index.h"
#include "reg_uac.h"

static const char *flow_state(const reg_view_t *v)
{
	if (v->b.transport == SIPS_TP_UDP)
		return "udp";
	if (v->restored)
		return "gone (restart)";
	if (v->unreachable || !flow_exists(v->b.flow_id))
		return "gone";
	return "open";
}

void reg_commands_list(sb_stream_t *out, const char *profile,
		       apr_pool_t *pool)
{
	apr_array_header_t *all = reg_index_all(pool);
	apr_time_t now = apr_time_now();
	int i, n = 0;

	sb_stream_printf(out, "%-24s %-44s %-4s %-6s %-14s %-21s %-8s %s\n",
			 "AOR", "Contact", "Tp", "Flow", "Flow-State",
			 "Source", "Expires", "User-Agent");
	for (i = 0; i < all->nelts; i++) {
		const reg_view_t *v = &APR_ARRAY_IDX(all, i, reg_view_t);
		char src[96];

		if (profile && strcmp(v->b.profile, profile))
			continue;
		apr_snprintf(src, sizeof(src), "%s:%d", v->b.src_ip,
			     v->b.src_port);
		sb_stream_printf(out,
				 "%-24s %-44s %-4s %-6" APR_UINT64_T_FMT
				 " %-14s %-21s %-8" APR_INT64_T_FMT " %s\n",
				 v->b.aor, v->b.contact,
				 flow_transport_name(v->b.transport),
				 v->b.flow_id, flow_state(v), src,
				 apr_time_sec(v->b.expires - now),
				 v->b.user_agent);
		n++;
	}
	sb_stream_printf(out, "%d registration(s)\n", n);
}

static apr_status_t cmd_show_regs(const char *args, sb_stream_t *out,
				  apr_pool_t *pool, void *baton)
{
	(void)args;
	(void)baton;
	reg_commands_list(out, NULL, pool);
	return APR_SUCCESS;
}

static apr_status_t cmd_flush(const char *args, sb_stream_t *out,
			      apr_pool_t *pool, void *baton)
{
	char *copy = apr_pstrdup(pool, args), *state;
	const char *name = apr_strtok(copy, " ", &state);
	const char *aor = name ? apr_strtok(NULL, " ", &state) : NULL;
	apr_size_t n;

	(void)baton;
	if (!name) {
		sb_stream_printf(out,
				 "usage: sips flush_inbound_reg NAME "
				 "[user@domain]\n");
		return APR_EINVAL;
	}
	n = reg_index_flush(name, aor);
	sb_stream_printf(out, "%lu binding(s) removed\n", (unsigned long)n);
	sb_log(SB_LOG_NOTICE, "SB02430",
	       "registrar: flush_inbound_reg %s %s: %lu binding(s) removed",
	       name, aor ? aor : "(all)", (unsigned long)n);
	return APR_SUCCESS;
}

apr_status_t reg_commands_profile_verb(sips_profile_t *p, const char *verb,
				       const char *aor, sb_stream_t *out)
{
	static const char *const check_sync[] = {
		"Event", "check-sync", "Subscription-State", "terminated",
		NULL
	};
	static const char *const mwi[] = {
		"Event", "message-summary", "Subscription-State",
		"terminated", NULL
	};
	if (!aor) {
		sb_stream_printf(out, "usage: sips profile NAME %s "
				 "user@domain\n", verb);
		return APR_EINVAL;
	}
	if (!strcmp(verb, "check_sync"))
		return reg_uac_to_aor(p, aor, "NOTIFY", check_sync, NULL, NULL,
				      out);
	if (!strcmp(verb, "options"))
		return reg_uac_to_aor(p, aor, "OPTIONS", NULL, NULL, NULL,
				      out);
	return reg_uac_to_aor(p, aor, "NOTIFY", mwi,
			      "application/simple-message-summary",
			      "Messages-Waiting: no\r\n"
			      "Voice-Message: 0/0 (0/0)\r\n",
			      out);
}

static const struct {
	const char *name, *syntax, *help;
	sb_command_fn fn;
} reg_cmds[] = {
	{ "show registrations", "show registrations",
	  "every binding: AOR, contact, transport, flow, source, expiry",
	  cmd_show_regs },
	{ "sips flush_inbound_reg", "sips flush_inbound_reg NAME [user@domain]",
	  "drop the bindings of a profile (or of one user)", cmd_flush },
};

apr_status_t reg_commands_register(mod_sips_t *m)
{
	apr_size_t i;
	apr_status_t rv = APR_SUCCESS;

	for (i = 0; i < sizeof(reg_cmds) / sizeof(reg_cmds[0]) && !rv; i++)
		rv = sb_control_register(reg_cmds[i].name, reg_cmds[i].syntax,
					 reg_cmds[i].help, reg_cmds[i].fn, m);
	return rv;
}

void reg_commands_unregister(void)
{
	apr_size_t i;

	for (i = 0; i < sizeof(reg_cmds) / sizeof(reg_cmds[0]); i++)
		sb_control_unregister(reg_cmds[i].name);
}

/* The sweep lives on worker 0: its timer is only touched there. */
static struct {
	mod_sips_t *m;
	sb_worker_t *worker;
	sb_timer_t timer;
	int running;
} sweep;

static void ping_outcome(void *baton, int status, const char *reason)
{
	(void)baton;
	if (status >= 300)
		sb_log(SB_LOG_INFO, "SB02431",
		       "registrar: OPTIONS ping failed: %d %s", status,
		       reason);
}

static void ping_profile_bindings(sips_profile_t *p, apr_pool_t *pool)
{
	apr_array_header_t *all = reg_index_all(pool);
	int i;

	for (i = 0; i < all->nelts; i++) {
		const reg_view_t *v = &APR_ARRAY_IDX(all, i, reg_view_t);

		if (!strcmp(v->b.profile, p->name) && !v->restored &&
		    !v->unreachable)
			reg_uac_send(p, v, "OPTIONS", NULL, NULL, NULL,
				     ping_outcome, NULL);
	}
}

static void sweep_tick(void *baton)
{
	apr_time_t now = apr_time_now();
	sips_profile_t *p;
	apr_pool_t *pool;
	apr_size_t n;

	(void)baton;
	n = reg_index_expire(now);
	if (n)
		sb_log(SB_LOG_INFO, "SB02432",
		       "registrar: %lu binding(s) expired", (unsigned long)n);
	/*
	 * A command may hold the lock while it waits for this worker (a
	 * profile starting its listeners): blocking here would wait for
	 * ourselves.  Busy: the pings go out at the next tick.
	 */
	if (apr_thread_mutex_trylock(sweep.m->lock) == APR_SUCCESS) {
		apr_pool_create(&pool, NULL);
		for (p = sweep.m->profiles; p; p = p->next)
			if (p->running && p->settings.all_reg_options_ping &&
			    now - p->last_ping >=
				    apr_time_from_sec(
					    p->settings.ping_mean_interval)) {
				p->last_ping = now;
				ping_profile_bindings(p, pool);
			}
		apr_thread_mutex_unlock(sweep.m->lock);
		apr_pool_destroy(pool);
	}
	if (sweep.running)
		sb_timer_start(sweep.worker, &sweep.timer,
			       apr_time_from_sec(1), sweep_tick, NULL);
}

static void sweep_arm(void *baton)
{
	(void)baton;
	sb_timer_start(sweep.worker, &sweep.timer, apr_time_from_sec(1),
		       sweep_tick, NULL);
}

static void sweep_disarm(void *baton)
{
	(void)baton;
	sb_timer_stop(sweep.worker, &sweep.timer);
}

void reg_sweep_start(mod_sips_t *m)
{
	memset(&sweep, 0, sizeof(sweep));
	sweep.m = m;
	sweep.worker = sb_loop_worker(sb_runtime_loop(m->rt), 0);
	sweep.running = 1;
	sb_worker_call(sweep.worker, sweep_arm, NULL);
}

void reg_sweep_stop(mod_sips_t *m)
{
	(void)m;
	if (!sweep.running)
		return;
	sweep.running = 0;
	sb_worker_call(sweep.worker, sweep_disarm, NULL);
}
