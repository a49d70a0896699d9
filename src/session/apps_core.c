/* apps_core.c — the core's dialplan applications (FreeSWITCH's dptools). */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <apr_lib.h>
#include <apr_strings.h>
#include "sipsbridge/sb_log.h"
#include "session_private.h"

/* Longest "sleep": a day; longer is a typo, and apr_time_t would wrap. */
#define APP_SLEEP_MAX_MS (24LL * 3600 * 1000)

/* "name=value" split in the action's scratch pool; value NULL without
 * '=' and for an empty value, which FreeSWITCH takes as "unset". */
static const char *app_name_value(sb_session_t *s, const char *data,
				  const char **value, int *has_eq)
{
	const char *eq = strchr(data, '=');

	*has_eq = eq != NULL;
	*value = eq && eq[1] ? eq + 1 : NULL;
	if (!eq)
		return data;
	return apr_pstrmemdup(session_exec_scratch(s), data,
			      (apr_size_t)(eq - data));
}

static void app_bad_data(sb_session_t *s, const char *app, const char *why,
			 const char *data)
{
	SB_LOG(SB_LOG_WARNING, "SB03012", "session %s: %s: %s: \"%s\"", s->uuid,
	       app, why, data);
}

static sb_app_result_e app_set(sb_session_t *s, const char *data)
{
	const char *name, *value;
	int has_eq;

	name = app_name_value(s, data, &value, &has_eq);
	if (!*name)
		app_bad_data(s, "set", "no variable name", data);
	else
		sb_session_set_var(s, name, value);
	return SB_APP_NEXT;
}

static sb_app_result_e app_unset(sb_session_t *s, const char *data)
{
	if (!*data)
		app_bad_data(s, "unset", "no variable name", data);
	else
		sb_session_set_var(s, data, NULL);
	return SB_APP_NEXT;
}

/* Whether the comma separated @p list holds @p name (any case). */
static int app_list_has(const char *list, const char *name)
{
	apr_size_t n = strlen(name);
	const char *p = list, *end;

	while (*p) {
		while (*p == ' ' || *p == ',')
			p++;
		end = p;
		while (*end && *end != ',' && *end != ' ')
			end++;
		if ((apr_size_t)(end - p) == n && strncasecmp(p, name, n) == 0)
			return 1;
		p = end;
	}
	return 0;
}

/*
 * FreeSWITCH's export: set here (for "nolocal:name", under that very
 * name, so only the B leg sees "name") and list the name in export_vars
 * for sb_session_export_vars.  An empty value unsets and lists nothing,
 * as there; a bare "name" exports the value the leg already has.
 */
static sb_app_result_e app_export(sb_session_t *s, const char *data)
{
	const char *name, *value, *list;
	int has_eq;

	name = app_name_value(s, data, &value, &has_eq);
	if (!*name || !strcasecmp(name, "nolocal:")) {
		app_bad_data(s, "export", "no variable name", data);
		return SB_APP_NEXT;
	}
	if (has_eq)
		sb_session_set_var(s, name, value);
	if (!sb_session_get_var(s, name))
		return SB_APP_NEXT;
	list = sb_session_get_var(s, "export_vars");
	if (!list)
		sb_session_set_var(s, "export_vars", name);
	else if (!app_list_has(list, name))
		sb_session_set_var(s, "export_vars",
				   apr_pstrcat(session_exec_scratch(s), list,
					       ",", name, NULL));
	return SB_APP_NEXT;
}

/* FreeSWITCH's levels by name and by number (0 CONSOLE .. 7 DEBUG). */
static const struct {
	const char *name;
	sb_log_level_e level;
} app_log_levels[] = {
    {"CONSOLE", SB_LOG_NOTICE},	 {"ALERT", SB_LOG_CRIT},
    {"CRIT", SB_LOG_CRIT},	 {"ERR", SB_LOG_ERR},
    {"WARNING", SB_LOG_WARNING}, {"NOTICE", SB_LOG_NOTICE},
    {"INFO", SB_LOG_INFO},	 {"DEBUG", SB_LOG_DEBUG},
};

#define APP_LOG_LEVELS                                                         \
	((int)(sizeof(app_log_levels) / sizeof(app_log_levels[0])))

static int app_log_level(const char *word, apr_size_t len)
{
	int i;

	if (len == 1 && word[0] >= '0' && word[0] < '0' + APP_LOG_LEVELS)
		return (int)app_log_levels[word[0] - '0'].level;
	if (len == 5 && strncasecmp(word, "ERROR", 5) == 0)
		return SB_LOG_ERR;
	for (i = 0; i < APP_LOG_LEVELS; i++)
		if (strlen(app_log_levels[i].name) == len &&
		    strncasecmp(word, app_log_levels[i].name, len) == 0)
			return (int)app_log_levels[i].level;
	return -1;
}

/*
 * "LEVEL message".  Without a known level the whole text is logged at
 * DEBUG (FreeSWITCH would drop the first word).
 */
static sb_app_result_e app_log(sb_session_t *s, const char *data)
{
	const char *sp = strchr(data, ' ');
	const char *msg = data;
	int level = -1;

	if (sp)
		level = app_log_level(data, (apr_size_t)(sp - data));
	if (level >= 0)
		msg = sp + 1;
	else
		level = SB_LOG_DEBUG;
	if (*msg)
		SB_LOG((sb_log_level_e)level, "SB03001", "session %s: %s",
		       s->uuid, msg);
	return SB_APP_NEXT;
}

static void app_sleep_done(void *baton)
{
	sb_session_resume(baton, 1);
}

static sb_app_result_e app_sleep(sb_session_t *s, const char *data)
{
	apr_int64_t ms;
	char *end;

	ms = apr_strtoi64(data, &end, 10);
	if (end == data || *end || ms < 0) {
		app_bad_data(s, "sleep", "not a number of milliseconds", data);
		return SB_APP_NEXT;
	}
	if (ms > APP_SLEEP_MAX_MS)
		ms = APP_SLEEP_MAX_MS;
	if (ms == 0 || !s->worker)
		return SB_APP_NEXT;
	/* session_exec_halt disarms it on hangup and destroy. */
	sb_timer_start(s->worker, &s->sleep_timer, apr_time_from_msec(ms),
		       app_sleep_done, s);
	return SB_APP_WAIT;
}

static sb_app_result_e app_hangup(sb_session_t *s, const char *data)
{
	int cause = SB_CAUSE_NORMAL_CLEARING;

	if (*data) {
		cause = sb_cause_parse(data);
		if (!cause) {
			app_bad_data(s, "hangup",
				     "unknown cause, NORMAL_CLEARING instead",
				     data);
			cause = SB_CAUSE_NORMAL_CLEARING;
		}
	}
	sb_session_hangup(s, cause);
	return SB_APP_STOP;
}

/* The endpoint knows best why it failed and may have hung up with a
 * precise cause already; this is the fallback. */
static int app_cause_of(apr_status_t rv)
{
	if (rv == SB_EFLOWGONE)
		return SB_CAUSE_DESTINATION_OUT_OF_ORDER;
	if (rv == APR_ENOTIMPL)
		return SB_SESSION_CAUSE_SERVICE_NOT_IMPLEMENTED;
	return SB_CAUSE_NORMAL_TEMPORARY_FAILURE;
}

typedef apr_status_t (*app_op_fn)(sb_session_t *s);

/* One endpoint operation: missing is logged and skipped, failed hangs up. */
static sb_app_result_e app_op(sb_session_t *s, const char *app, app_op_fn op)
{
	apr_status_t rv;
	char err[120];

	if (!op) {
		SB_LOG(SB_LOG_WARNING, "SB03013",
		       "session %s: %s: not supported by the %s endpoint",
		       s->uuid, app,
		       s->ops && s->ops->name ? s->ops->name : "(none)");
		return SB_APP_NEXT;
	}
	rv = op(s);
	if (rv == APR_SUCCESS)
		return SB_APP_NEXT;
	SB_LOG(SB_LOG_ERR, "SB03014", "session %s: %s failed: %s", s->uuid, app,
	       sb_strerror(rv, err, sizeof(err)));
	sb_session_hangup(s, app_cause_of(rv));
	return SB_APP_STOP;
}

/* An answered leg is answered: FreeSWITCH returns at once, and so do
 * pre_answer and ring_ready, which would only step back. */
static sb_app_result_e app_answer(sb_session_t *s, const char *data)
{
	sb_app_result_e r;

	(void)data;
	if (s->answered)
		return SB_APP_NEXT;
	r = app_op(s, "answer", s->ops ? s->ops->answer : NULL);
	/* As FreeSWITCH's core marks the channel answered itself. */
	if (r == SB_APP_NEXT && s->ops && s->ops->answer)
		sb_session_mark_answered(s);
	return r;
}

static sb_app_result_e app_pre_answer(sb_session_t *s, const char *data)
{
	(void)data;
	if (s->answered)
		return SB_APP_NEXT;
	return app_op(s, "pre_answer", s->ops ? s->ops->pre_answer : NULL);
}

static sb_app_result_e app_ring_ready(sb_session_t *s, const char *data)
{
	(void)data;
	if (s->answered)
		return SB_APP_NEXT;
	return app_op(s, "ring_ready", s->ops ? s->ops->ring_ready : NULL);
}

/* FreeSWITCH's echo holds the dialplan until the call ends: the endpoint
 * echoes, and the executor waits for the hangup (or a resume). */
static sb_app_result_e app_echo(sb_session_t *s, const char *data)
{
	app_op_fn op = s->ops ? s->ops->echo : NULL;
	sb_app_result_e r;

	(void)data;
	r = app_op(s, "echo", op);
	return r == SB_APP_NEXT && op ? SB_APP_WAIT : r;
}

/*
 * "EXT [XML [CONTEXT]]": FreeSWITCH's "dialplan jump".  Only the XML
 * dialplan exists here; another one finds no route, as it would there
 * without that dialplan module.  -bleg/-both need a bridge: not here.
 */
static sb_app_result_e app_transfer(sb_session_t *s, const char *data)
{
	char *copy = apr_pstrdup(session_exec_scratch(s), data);
	const char *dest, *dialplan, *context;
	char *last;

	dest = apr_strtok(copy, " \t", &last);
	dialplan = dest ? apr_strtok(NULL, " \t", &last) : NULL;
	context = dialplan ? apr_strtok(NULL, " \t", &last) : NULL;
	if (!dest || *dest == '-') {
		app_bad_data(s, "transfer", "no destination", data);
		return SB_APP_NEXT;
	}
	if (dialplan && strcasecmp(dialplan, "XML") != 0) {
		SB_LOG(SB_LOG_ERR, "SB03015",
		       "session %s: transfer: no dialplan \"%s\" (only XML)",
		       s->uuid, dialplan);
		sb_session_hangup(s, SB_CAUSE_NO_ROUTE_DESTINATION);
		return SB_APP_STOP;
	}
	if (session_exec_transfer(s, dest, context) != APR_SUCCESS)
		return SB_APP_STOP;
	return SB_APP_NEXT;
}

apr_status_t sb_session_apps_init(void)
{
	static const struct {
		const char *name;
		sb_app_fn fn;
	} apps[] = {
	    {"set", app_set},
	    {"export", app_export},
	    {"unset", app_unset},
	    {"log", app_log},
	    {"sleep", app_sleep},
	    {"hangup", app_hangup},
	    {"answer", app_answer},
	    {"pre_answer", app_pre_answer},
	    {"ring_ready", app_ring_ready},
	    {"echo", app_echo},
	    {"transfer", app_transfer},
	};
	apr_status_t rv;
	size_t i;

	for (i = 0; i < sizeof(apps) / sizeof(apps[0]); i++) {
		rv = sb_app_register(apps[i].name, apps[i].fn);
		if (rv != APR_SUCCESS)
			return rv;
	}
	return APR_SUCCESS;
}
