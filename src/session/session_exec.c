/* session_exec.c — runs a hunt's actions in order on the session's worker. */
#include <stdlib.h>
#include <apr_strings.h>
#include "sipsbridge/sb_expand.h"
#include "sipsbridge/sb_log.h"
#include "session_private.h"

/*
 * The executor is a loop over the hunt's actions, never a recursion:
 *
 * - Each action's data is expanded against the variables as they are
 *   when it starts, so a "set" is seen by the actions after it.
 * - SB_APP_NEXT runs the next action.  SB_APP_WAIT leaves the loop until
 *   sb_session_resume(); a resume that comes from inside the application
 *   itself (it finished at once after all) is only noted, and the loop
 *   goes on when the application returns, so a dialplan of such actions
 *   takes constant stack.
 * - Running out of actions hangs up with NORMAL_CLEARING, answered or
 *   not: FreeSWITCH does the same (switch_core_standard_on_execute hangs
 *   up a channel still in CS_EXECUTE when its extension has no more
 *   applications).  Unanswered, the caller gets 480 (sb_cause_to_sip);
 *   answered, a BYE.  So "hangup_after_bridge" needs nothing from us: a
 *   bridge that hangs up at once when it is true, or resumes with the
 *   next action when it is false, ends the same way as FreeSWITCH.
 * - SB_APP_STOP, or a resume with go_on 0, ends the dialplan without
 *   running the rest: the application has taken the call over, which
 *   goes on if it was answered and is hung up (NORMAL_CLEARING) if not.
 * - "transfer" asks for a new hunt (session_exec_transfer); it happens
 *   when the application returns, with the new variables.
 */

/* How the current hunt's actions end; see above. */
static void exec_finish(sb_session_t *s, int ran_out)
{
	session_exec_t *x = &s->exec;

	x->done = 1;
	x->waiting = 0;
	if (!s->hungup && (ran_out || !s->answered))
		sb_session_hangup(s, SB_CAUSE_NORMAL_CLEARING);
}

static apr_status_t exec_hunt(sb_session_t *s)
{
	session_exec_t *x = &s->exec;
	const char *context, *dest;
	apr_status_t rv;
	char err[120];

	x->rehunt = 0;
	x->actions = NULL;
	x->next = 0;
	apr_pool_clear(x->step_pool);
	apr_pool_clear(x->hunt_pool);
	/* FreeSWITCH's caller profile falls back to "default" too. */
	context = apr_table_get(s->vars, "context");
	if (!context || !*context)
		context = "default";
	dest = apr_table_get(s->vars, "destination_number");
	SB_LOG(SB_LOG_INFO, "SB03004",
	       "session %s: routing \"%s\" in context %s", s->uuid,
	       dest ? dest : "", context);
	rv = sb_dialplan_hunt(x->dp, context, s->vars, x->hunt_pool,
			      &x->actions);
	if (rv == APR_SUCCESS)
		return APR_SUCCESS;
	if (rv == SB_ENOTFOUND)
		SB_LOG(SB_LOG_NOTICE, "SB03005",
		       "session %s: no route for \"%s\" in context %s", s->uuid,
		       dest ? dest : "", context);
	else
		SB_LOG(SB_LOG_ERR, "SB03006",
		       "session %s: hunting \"%s\" in context %s failed: %s",
		       s->uuid, dest ? dest : "", context,
		       sb_strerror(rv, err, sizeof(err)));
	x->done = 1;
	sb_session_hangup(s, SB_CAUSE_NO_ROUTE_DESTINATION);
	return rv;
}

static sb_app_result_e exec_step(sb_session_t *s, const sb_dp_action_t *a)
{
	session_exec_t *x = &s->exec;
	const char *data = a->data ? a->data : "";
	sb_app_fn fn;

	apr_pool_clear(x->step_pool);
	/* sb_expand leaves the text as written when it fails: FreeSWITCH
	 * has no failing expansion and runs what it has, so do we. */
	if (sb_expand_needed(data) &&
	    sb_expand(s->vars, data, x->step_pool, &data) != APR_SUCCESS)
		SB_LOG(SB_LOG_WARNING, "SB03007",
		       "session %s: %s:%d: cannot expand the data of %s; "
		       "running it as written",
		       s->uuid, a->file ? a->file : "?", a->line, a->app);
	fn = app_registry_find(a->app);
	if (!fn) {
		/* Checked at load; gone since (a module unloaded).  FreeSWITCH
		 * hangs up on an unknown application the same way. */
		SB_LOG(SB_LOG_ERR, "SB03008",
		       "session %s: %s:%d: no application \"%s\"", s->uuid,
		       a->file ? a->file : "?", a->line, a->app);
		sb_session_hangup(s, SB_CAUSE_DESTINATION_OUT_OF_ORDER);
		return SB_APP_STOP;
	}
	SB_LOG(SB_LOG_DEBUG, "SB03002", "session %s: EXECUTE %s(%s)", s->uuid,
	       a->app, data);
	return fn(s, data);
}

/* Runs actions until one waits or the dialplan ends.  1: @p s is gone. */
static int exec_run(sb_session_t *s)
{
	session_exec_t *x = &s->exec;
	sb_app_result_e r;

	x->running = 1;
	session_enter(s);
	while (!x->done && !s->hungup && !s->doomed) {
		if (x->rehunt && exec_hunt(s) != APR_SUCCESS)
			break;
		if (x->next >= x->actions->nelts) {
			exec_finish(s, 1);
			break;
		}
		x->waiting = 1;
		x->resumed = 0;
		r = exec_step(
		    s, &APR_ARRAY_IDX(x->actions, x->next++, sb_dp_action_t));
		if (x->done || s->hungup || s->doomed)
			break;
		if (r == SB_APP_WAIT && !x->resumed)
			break; /* still waiting: sb_session_resume goes on */
		x->waiting = 0;
		if (r == SB_APP_STOP ||
		    (r == SB_APP_WAIT && !x->resume_go_on)) {
			exec_finish(s, 0);
			break;
		}
	}
	x->running = 0;
	return session_leave(s);
}

apr_status_t sb_session_route(sb_session_t *s, const sb_dialplan_t *dp)
{
	session_exec_t *x;
	apr_status_t rv;

	if (!s || !dp)
		return APR_EINVAL;
	x = &s->exec;
	if (x->routed || s->hungup || s->doomed)
		return APR_EINVAL;
	rv = apr_pool_create(&x->hunt_pool, s->pool);
	if (rv == APR_SUCCESS)
		rv = apr_pool_create(&x->step_pool, s->pool);
	if (rv != APR_SUCCESS)
		return rv;
	x->routed = 1;
	x->dp = dp;
	x->rehunt = 1;
	exec_run(s);
	return APR_SUCCESS;
}

void sb_session_resume(sb_session_t *s, int go_on)
{
	session_exec_t *x;

	if (!s)
		return;
	x = &s->exec;
	if (s->hungup || s->doomed || x->done || !x->waiting)
		return;
	if (x->running) {
		x->resumed = 1;
		x->resume_go_on = go_on;
		return;
	}
	x->waiting = 0;
	if (go_on) {
		exec_run(s);
		return;
	}
	session_enter(s);
	exec_finish(s, 0);
	session_leave(s);
}

void session_exec_halt(sb_session_t *s)
{
	s->exec.done = 1;
	s->exec.waiting = 0;
	if (s->worker && sb_timer_pending(&s->sleep_timer))
		sb_timer_stop(s->worker, &s->sleep_timer);
}

/* FreeSWITCH counts transfers down from a variable; so do we, from ours. */
static int exec_transfer_limit(const sb_session_t *s)
{
	const char *v = apr_table_get(s->vars, "max_session_transfers");
	char *end;
	long n;

	if (v && *v) {
		n = strtol(v, &end, 10);
		if (*end == '\0' && n > 0 && n < 100000)
			return (int)n;
	}
	return SB_SESSION_MAX_TRANSFERS;
}

apr_status_t session_exec_transfer(sb_session_t *s, const char *dest,
				   const char *context)
{
	session_exec_t *x = &s->exec;

	if (!x->running || x->done || !dest || !*dest)
		return APR_EINVAL;
	if (x->transfers >= exec_transfer_limit(s)) {
		/* EXCHANGE_ROUTING_ERROR (483 Too Many Hops) is what
		 * FreeSWITCH hangs up with when its count runs out. */
		SB_LOG(SB_LOG_NOTICE, "SB03010",
		       "session %s: transfer to \"%s\" refused after %d "
		       "transfers: a dialplan loop?",
		       s->uuid, dest, x->transfers);
		sb_session_hangup(s, SB_SESSION_CAUSE_EXCHANGE_ROUTING_ERROR);
		return SB_ELIMIT;
	}
	x->transfers++;
	sb_session_set_var(s, "destination_number", dest);
	if (context && *context)
		sb_session_set_var(s, "context", context);
	SB_LOG(SB_LOG_INFO, "SB03011", "session %s: transfer to \"%s\"%s%s",
	       s->uuid, dest, context ? " in context " : "",
	       context ? context : "");
	x->rehunt = 1;
	return APR_SUCCESS;
}

apr_pool_t *session_exec_scratch(sb_session_t *s)
{
	return s->exec.step_pool ? s->exec.step_pool : s->pool;
}
