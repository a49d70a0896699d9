/* call_bridge.c — the "bridge" application: dial strings, B legs
 * simultaneous (",") and in sequence ("|"), joining the winner to A. */
#include <stdlib.h>
#include <string.h>
#include <apr_strings.h>
#include "sipsbridge/sb_expand.h"
#include "sipsbridge/sb_log.h"
#include "call.h"
#include "mod_sips.h"
#include "reg_index.h"
#include "registrar.h"

#define BRIDGE_MAX_LEGS 32

struct bridge {
	call_leg_t *a;
	apr_pool_t *pool;
	apr_array_header_t *groups; /* of apr_array_header_t * of char * */
	apr_table_t *vars;	    /* {...} of the whole dial string */
	int group;
	call_leg_t *legs[BRIDGE_MAX_LEGS]; /* of the current group */
	int nlegs, pending;
	call_leg_t *winner;
	int best_status; /* the failure to report if all fail */
	int best_cause;	 /* and its cause, when we know better (timeout) */
};

/* Splits @p s at @p sep outside {} and [] (FreeSWITCH's dial strings). */
static apr_array_header_t *split_top(apr_pool_t *pool, const char *s,
				     char sep)
{
	apr_array_header_t *out = apr_array_make(pool, 4, sizeof(char *));
	const char *start = s;
	int depth = 0;

	for (; *s; s++) {
		if (*s == '{' || *s == '[')
			depth++;
		else if ((*s == '}' || *s == ']') && depth > 0)
			depth--;
		else if (*s == sep && depth == 0) {
			APR_ARRAY_PUSH(out, char *) =
				apr_pstrndup(pool, start, s - start);
			start = s + 1;
		}
	}
	APR_ARRAY_PUSH(out, char *) = apr_pstrdup(pool, start);
	return out;
}

/* "{a=1,b=2}rest" or "[a=1]rest": variables into @p vars; returns rest. */
static const char *take_vars(apr_pool_t *pool, const char *s, char open,
			     char close, apr_table_t *vars)
{
	const char *end;
	apr_array_header_t *kv;
	int i;

	while (*s == ' ')
		s++;
	if (*s != open || !(end = strchr(s, close)))
		return s;
	kv = split_top(pool, apr_pstrndup(pool, s + 1, end - s - 1), ',');
	for (i = 0; i < kv->nelts; i++) {
		char *item = APR_ARRAY_IDX(kv, i, char *);
		char *eq = strchr(item, '=');

		if (eq) {
			*eq = '\0';
			/* It returns the end of the string, not its start. */
			apr_collapse_spaces(item, item);
			apr_table_set(vars, item, eq + 1);
		}
	}
	return end + 1;
}

static int status_rank(int status)
{
	/* Which failure A hears when every leg failed: busy beats the rest. */
	switch (status) {
	case 486: case 600: return 5;
	case 603: return 4;
	case 487: return 3;
	case 480: case 408: return 2;
	default: return 1;
	}
}

static void bridge_fail_cause(bridge_t *br, int status, int cause)
{
	if (!br->best_status ||
	    status_rank(status) > status_rank(br->best_status)) {
		br->best_status = status;
		br->best_cause = cause;
	}
}

static void bridge_fail_one(bridge_t *br, int status)
{
	bridge_fail_cause(br, status, 0);
}

static int start_group(bridge_t *br);

/* "user/1001[@domain]": the directory's dial-string, expanded. */
static const char *user_dial_string(bridge_t *br, const char *target)
{
	sb_session_t *s = br->a->session;
	const char *at = strchr(target, '@'), *user, *domain, *out = NULL;
	const dir_user_t *u;

	user = at ? apr_pstrndup(br->pool, target, at - target) : target;
	domain = at ? at + 1 : sb_session_get_var(s, "domain_name");
	if (!domain)
		domain = br->a->profile->settings.sip_ip;
	u = registrar_user(user, domain, br->pool);
	if (!u)
		return "error/UNALLOCATED_NUMBER";
	sb_session_set_var(s, "dialed_user", user);
	sb_session_set_var(s, "dialed_domain", u->domain);
	if (sb_expand(sb_session_vars(s),
		      u->dial_string && *u->dial_string
			      ? u->dial_string
			      : "${sips_contact(${dialed_user}@${dialed_domain})}",
		      br->pool, &out) != APR_SUCCESS)
		return "error/DESTINATION_OUT_OF_ORDER";
	return out && *out ? out : "error/USER_NOT_REGISTERED";
}

static int originate_one(bridge_t *br, const char *target,
			 apr_table_t *vars, int depth);

/* One target of a group: endpoint/rest after its own [vars]. */
static int originate_one(bridge_t *br, const char *target,
			 apr_table_t *vars, int depth)
{
	apr_table_t *mine = apr_table_copy(br->pool, vars);
	const char *rest = take_vars(br->pool, target, '[', ']', mine);
	const char *slash, *prof, *uri;
	sips_profile_t *p;
	call_leg_t *b;
	apr_status_t rv;

	while (*rest == ' ')
		rest++;
	if (!strncmp(rest, "user/", 5) && depth == 0) {
		const char *ds = user_dial_string(br, rest + 5);
		apr_array_header_t *list;
		int i, n = 0;

		sb_log(SB_LOG_DEBUG, "SB02625", "bridge: %s -> %s", rest, ds);
		ds = take_vars(br->pool, ds, '{', '}', mine);
		list = split_top(br->pool, ds, ',');
		for (i = 0; i < list->nelts; i++)
			n += originate_one(br, APR_ARRAY_IDX(list, i, char *),
					   mine, depth + 1);
		return n;
	}
	if (!strncmp(rest, "error/", 6)) {
		int cause = sb_cause_parse(rest + 6);

		bridge_fail_one(br, sb_cause_to_sip(cause ? cause
						  : SB_CAUSE_NORMAL_TEMPORARY_FAILURE));
		return 0;
	}
	if (!strncmp(rest, "sofia/", 6))
		rest += 6;
	else if (!strncmp(rest, "sip/", 4))
		rest += 4;
	else {
		sb_log(SB_LOG_WARNING, "SB02620",
		       "bridge: unknown endpoint in \"%s\"", rest);
		bridge_fail_one(br, 503);
		return 0;
	}
	slash = strchr(rest, '/');
	if (!slash) {
		bridge_fail_one(br, 400);
		return 0;
	}
	prof = apr_pstrndup(br->pool, rest, slash - rest);
	uri = slash + 1;
	if (strncmp(uri, "sip:", 4) && strncmp(uri, "sips:", 5))
		uri = apr_pstrcat(br->pool, "sip:", uri, NULL);
	p = mod_sips_profile_find(prof);
	if (!p) {
		sb_log(SB_LOG_WARNING, "SB02621", "bridge: no profile \"%s\"",
		       prof);
		bridge_fail_one(br, 503);
		return 0;
	}
	if (br->nlegs == BRIDGE_MAX_LEGS) {
		sb_log(SB_LOG_WARNING, "SB02623",
		       "bridge: more than %d legs; %s not called",
		       BRIDGE_MAX_LEGS, uri);
		bridge_fail_one(br, 503);
		return 0;
	}
	rv = call_out_originate(br->a, br, p, uri,
				apr_table_get(mine, "sip_reg_aor"), mine, &b);
	if (rv != APR_SUCCESS) {
		char err[120];

		sb_log(SB_LOG_NOTICE, "SB02624", "bridge: %s not called: %s",
		       uri, sb_strerror(rv, err, sizeof(err)));
		/* 488: this leg's SRTP policy cannot be met (DESIGN 6). */
		bridge_fail_one(br, rv == SB_ECONFIG ? 488
				    : rv == SB_EFLOWGONE ||
					      apr_table_get(mine, "sip_reg_aor")
				    ? 480
				    : 503);
		return 0;
	}
	br->legs[br->nlegs++] = b;
	br->pending++;
	return 1;
}

static int start_group(bridge_t *br)
{
	while (br->group < br->groups->nelts) {
		apr_array_header_t *targets =
			APR_ARRAY_IDX(br->groups, br->group, apr_array_header_t *);
		int i, n = 0;

		br->group++;
		br->nlegs = br->pending = 0;
		for (i = 0; i < targets->nelts; i++)
			n += originate_one(br, APR_ARRAY_IDX(targets, i, char *),
					   br->vars, 0);
		if (n)
			return n;
	}
	return 0;
}

/* Every leg failed: tell the dialplan (or hang A up). */
static void bridge_failed(bridge_t *br)
{
	call_leg_t *a = br->a;
	int status = br->best_status ? br->best_status : 480;
	int cause = br->best_cause ? br->best_cause : sb_cause_from_sip(status);
	const char *cof;

	a->bridge = NULL;
	if (!a->session || sb_session_hungup(a->session))
		return;
	sb_session_set_var(a->session, "last_bridge_hangup_cause",
			   sb_cause_name(cause));
	sb_session_set_var(a->session, "originate_disposition",
			   sb_cause_name(cause));
	cof = sb_session_get_var(a->session, "continue_on_fail");
	if (cof && (!strcasecmp(cof, "true") ||
		    strstr(cof, sb_cause_name(cause)))) {
		sb_session_resume(a->session, 1);
		return;
	}
	/* A hears what B said (486 stays 486), not a round trip through a
	 * cause number. */
	a->fail_status = status;
	sb_session_hangup(a->session, cause);
}

static sb_app_result_e app_bridge(sb_session_t *s, const char *data)
{
	call_leg_t *a = sb_session_leg(s);
	apr_array_header_t *seq;
	bridge_t *br;
	int i;

	if (!a || !a->inbound || a->state >= LEG_ENDING || a->bridge)
		return SB_APP_NEXT;
	/* The caller's SRTP is settled first: no phone rings for a call
	 * that would end in 488. */
	if (a->state < LEG_EARLY &&
	    call_media_prepare_answer(a) != APR_SUCCESS) {
		a->fail_status = 488;
		sb_session_hangup(s, SB_CAUSE_INCOMPATIBLE_DESTINATION);
		return SB_APP_STOP;
	}
	br = apr_pcalloc(a->pool, sizeof(*br));
	br->a = a;
	br->pool = a->pool;
	br->vars = apr_table_make(a->pool, 4);
	data = take_vars(a->pool, data, '{', '}', br->vars);
	seq = split_top(a->pool, data, '|');
	br->groups = apr_array_make(a->pool, seq->nelts,
				    sizeof(apr_array_header_t *));
	for (i = 0; i < seq->nelts; i++)
		APR_ARRAY_PUSH(br->groups, apr_array_header_t *) = split_top(
			a->pool, APR_ARRAY_IDX(seq, i, char *), ',');
	a->bridge = br;
	if (start_group(br))
		return SB_APP_WAIT;
	a->bridge = NULL;
	bridge_failed(br);
	return sb_session_hungup(s) ? SB_APP_STOP : SB_APP_NEXT;
}

static void forget_leg(bridge_t *br, call_leg_t *b)
{
	call_leg_t *a = br->a;
	int i;

	for (i = 0; i < br->nlegs; i++)
		if (br->legs[i] == b)
			br->legs[i] = NULL;
	b->bridge = NULL;
	/* Early media pointed A at this leg: not any more. */
	if (a->peer == b && b->peer != a) {
		a->peer = NULL;
		if (a->stream)
			sb_media_stream_link(a->stream, NULL);
	}
}

call_leg_t *call_bridge_a(const bridge_t *br)
{
	return br->a;
}

void call_bridge_b_early(call_leg_t *b, int status)
{
	bridge_t *br = b->bridge;
	call_leg_t *a = br ? br->a : NULL;

	if (!a || a->state >= LEG_UP || br->winner)
		return;
	if (status == 183 && b->media_ready) {
		/* Early media: A hears B's ringback through our relay. */
		a->peer = b;
		call_in_respond(a, 183, NULL, 1);
	} else if (a->state == LEG_INIT) {
		call_in_respond(a, 180, NULL, 0);
	}
}

void call_bridge_b_answered(call_leg_t *b)
{
	bridge_t *br = b->bridge;
	call_leg_t *a = br->a;
	int i;

	br->winner = b;
	forget_leg(br, b);
	br->pending--;
	for (i = 0; i < br->nlegs; i++)
		if (br->legs[i]) {
			call_leg_t *other = br->legs[i];

			forget_leg(br, other);
			call_out_cancel(other, SB_CAUSE_LOSE_RACE);
		}
	a->bridge = NULL;
	a->peer = b;
	b->peer = a;
	if (a->state == LEG_UP)
		call_media_refresh_answered(a);
	else
		call_in_respond(a, 200, NULL, 1);
	call_media_watch(a);
	if (a->session) {
		sb_session_mark_answered(a->session);
		sb_session_set_var(a->session, "bridge_to",
				   sb_session_uuid(b->session));
	}
	sb_log(SB_LOG_INFO, "SB02622", "call %s: bridged to %s",
	       a->dlg.call_id, b->dlg.call_id);
}

void call_bridge_b_failed(call_leg_t *b, int status)
{
	bridge_t *br = b->bridge;

	if (!br)
		return;
	forget_leg(br, b);
	br->pending--;
	/* A leg we gave up on (call_timeout) failed for that reason, not
	 * for the 487 its CANCEL brought. */
	if (b->cause)
		bridge_fail_cause(br, sb_cause_to_sip(b->cause), b->cause);
	else
		bridge_fail_one(br, status);
	if (br->pending > 0 || br->winner)
		return;
	if (br->a->state < LEG_ENDING && start_group(br))
		return;
	bridge_failed(br);
}

void call_bridge_abort(call_leg_t *a, int cause)
{
	bridge_t *br = a->bridge;
	int i;

	if (!br)
		return;
	a->bridge = NULL;
	for (i = 0; i < br->nlegs; i++)
		if (br->legs[i]) {
			call_leg_t *b = br->legs[i];

			forget_leg(br, b);
			call_out_cancel(b, cause);
		}
}

void call_bridge_leg_gone(call_leg_t *leg, int cause)
{
	call_leg_t *peer = leg->peer;

	if (leg->inbound)
		call_bridge_abort(leg, cause);
	else if (leg->bridge)
		call_bridge_b_failed(leg, sb_cause_to_sip(cause));
	leg->peer = NULL;
	if (!peer || peer->peer != leg)
		return;
	peer->peer = NULL;
	if (peer->inbound && peer->session) {
		const char *hab = sb_session_get_var(peer->session,
						     "hangup_after_bridge");

		if (hab && !strcasecmp(hab, "false")) {
			sb_session_resume(peer->session, 1);
			return;
		}
	}
	if (peer->session)
		sb_session_hangup(peer->session, cause);
}

/*
 * ${sips_contact(user@domain)}: a dial string per live binding.  As in
 * FreeSWITCH, "PROFILE/user@domain" keeps that profile's bindings only;
 * a profile of "*" means any profile.
 */
static apr_status_t fn_sips_contact(void *baton, const char *arg,
				    const apr_table_t *vars, apr_pool_t *pool,
				    const char **result)
{
	const char *profile = apr_table_get(vars, "sip_profile");
	const char *only = NULL;
	apr_array_header_t *views;
	const char *out = "";
	char *aor = apr_pstrdup(pool, arg);
	char *slash;
	int i;

	(void)baton;
	apr_collapse_spaces(aor, aor);
	if ((slash = strchr(aor, '/')) != NULL) {
		*slash = '\0';
		only = strcmp(aor, "*") ? aor : NULL;
		aor = slash + 1;
	}
	views = reg_index_lookup(aor, pool);
	for (i = 0; i < views->nelts; i++) {
		const reg_view_t *v = &APR_ARRAY_IDX(views, i, reg_view_t);
		const char *contact = v->b.contact;

		if (only && (!v->b.profile || strcmp(v->b.profile, only)))
			continue;

		/* What the phone really registered over, not what its
		 * Contact claims (DESIGN 6). */
		if (v->b.transport == SIPS_TP_TLS && !strstr(contact,
							      "transport=tls"))
			contact = apr_pstrcat(pool, contact, ";transport=tls",
					      NULL);
		out = apr_psprintf(pool, "%s%s[sip_reg_aor=%s]sip/%s/%s", out,
				   *out ? "," : "", v->b.aor,
				   v->b.profile && *v->b.profile ? v->b.profile
								 : profile,
				   contact);
	}
	*result = *out ? out : "error/USER_NOT_REGISTERED";
	sb_log(SB_LOG_DEBUG, "SB02626", "sips_contact(%s): %d binding(s)", aor,
	       views->nelts);
	return APR_SUCCESS;
}

apr_status_t call_bridge_register(void)
{
	apr_status_t rv = sb_app_register("bridge", app_bridge);

	if (rv == APR_SUCCESS)
		rv = sb_expand_function_register("sips_contact",
						 fn_sips_contact, NULL);
	if (rv == APR_SUCCESS)
		rv = sb_expand_function_register("sofia_contact",
						 fn_sips_contact, NULL);
	return rv;
}
