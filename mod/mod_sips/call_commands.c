/* call_commands.c — show calls, show channels, uuid_kill. */
#include <string.h>
#include <apr_strings.h>
#include "sipsbridge/sb_control.h"
#include "call.h"

static const char *const state_names[] = {
	"init", "early", "up", "ending", "ended"
};

/* Runs on each worker in turn (sb_worker_call): its legs only. */
typedef struct listing {
	sb_stream_t *out;
	int calls_only; /* one line per call (A legs), else per leg */
	unsigned count;
	const char *uuid; /* uuid_kill: the one to hang up */
	int killed;
	call_leg_t *victim; /* found while iterating, hung up after */
} listing_t;

static void media_text(const call_leg_t *leg, char *buf, apr_size_t len)
{
	sb_media_stats_t st;

	if (!leg->stream) {
		apr_cpystrn(buf, "-", len);
		return;
	}
	sb_media_stream_stats(leg->stream, &st);
	/* The suite only: keys never leave the leg (issue 6). */
	apr_snprintf(buf, len,
		     "port %u peer %s%s %s%s rx %" APR_UINT64_T_FMT
		     " tx %" APR_UINT64_T_FMT " dropped %" APR_UINT64_T_FMT
		     " auth-failed %" APR_UINT64_T_FMT
		     " replayed %" APR_UINT64_T_FMT,
		     sb_media_stream_port(leg->stream),
		     st.peer[0] ? st.peer : "-", st.latched ? " (latched)" : "",
		     leg->srtp.on ? "srtp " : "rtp",
		     leg->srtp.on ? sb_srtp_suite_name(leg->srtp.local.suite)
				  : "",
		     st.rx_packets, st.tx_packets,
		     st.dropped_source + st.dropped_other, st.srtp_auth_failed,
		     st.srtp_replayed);
}

static void leg_line(const call_leg_t *leg, sb_stream_t *out)
{
	char media[192], peer[96];

	media_text(leg, media, sizeof(media));
	apr_snprintf(peer, sizeof(peer), "%s:%d", leg->dlg.to.peer_ip,
		     leg->dlg.to.peer_port);
	sb_stream_printf(out, "%-36s %s %-6s %-4s %-21s %s %s\n",
			 leg->session ? sb_session_uuid(leg->session) : "-",
			 leg->inbound ? "A" : "B", state_names[leg->state],
			 flow_transport_name(leg->dlg.to.transport), peer,
			 leg->dlg.call_id, media);
}

static void list_one(call_leg_t *leg, void *baton)
{
	listing_t *l = baton;

	if (l->uuid) {
		if (leg->session && !l->victim &&
		    !strcmp(sb_session_uuid(leg->session), l->uuid))
			l->victim = leg;
		return;
	}
	if (l->calls_only && !leg->inbound)
		return;
	l->count++;
	leg_line(leg, l->out);
	if (l->calls_only && leg->peer)
		leg_line(leg->peer, l->out);
}

/* The hangup waits until the walk is over: it ends legs (call.h). */
static void list_here(void *baton)
{
	listing_t *l = baton;

	l->victim = NULL;
	call_leg_each_here(list_one, l);
	if (l->victim && l->victim->session) {
		l->killed = 1;
		sb_session_hangup(l->victim->session,
				  SB_CAUSE_NORMAL_CLEARING);
	}
}

static void each_worker(listing_t *l)
{
	sb_loop_t *loop = call_loop();
	unsigned i;

	for (i = 0; loop && i < sb_loop_nworkers(loop); i++)
		sb_worker_call(sb_loop_worker(loop, i), list_here, l);
}

static apr_status_t cmd_show(const char *args, sb_stream_t *out,
			     apr_pool_t *pool, void *baton)
{
	listing_t l = { out, baton != NULL, 0, NULL, 0, NULL };

	(void)args;
	(void)pool;
	sb_stream_printf(out, "%-36s %s %-6s %-4s %-21s %s %s\n", "UUID",
			 "L", "State", "Tp", "Signalling peer", "Call-ID",
			 "Media");
	each_worker(&l);
	sb_stream_printf(out, "%u %s\n", l.count,
			 l.calls_only ? "call(s)" : "channel(s)");
	return APR_SUCCESS;
}

static apr_status_t cmd_kill(const char *args, sb_stream_t *out,
			     apr_pool_t *pool, void *baton)
{
	listing_t l = { out, 0, 0, NULL, 0, NULL };
	char *uuid = apr_pstrdup(pool, args ? args : "");

	(void)baton;
	apr_collapse_spaces(uuid, uuid);
	if (!*uuid) {
		sb_stream_printf(out, "-ERR usage: uuid_kill UUID\n");
		return APR_EINVAL;
	}
	l.uuid = uuid;
	each_worker(&l);
	if (!l.killed) {
		sb_stream_printf(out, "-ERR no such channel %s\n", uuid);
		return SB_ENOTFOUND;
	}
	sb_stream_printf(out, "+OK %s hung up\n", uuid);
	return APR_SUCCESS;
}

static int calls_flag = 1;

apr_status_t call_commands_register(void)
{
	apr_status_t rv;

	rv = sb_control_register("show calls", "show calls",
				 "calls: both legs, states, transports, media "
				 "addresses and packet counters",
				 cmd_show, &calls_flag);
	if (rv == APR_SUCCESS)
		rv = sb_control_register("show channels", "show channels",
					 "every call leg, one line each",
					 cmd_show, NULL);
	if (rv == APR_SUCCESS)
		rv = sb_control_register("uuid_kill", "uuid_kill UUID",
					 "hang up one channel", cmd_kill,
					 NULL);
	return rv;
}

void call_commands_unregister(void)
{
	sb_control_unregister("show calls");
	sb_control_unregister("show channels");
	sb_control_unregister("uuid_kill");
}
