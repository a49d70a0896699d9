/* sb_dialplan.h — the XML dialplan: contexts, extensions, conditions. */
#ifndef SB_DIALPLAN_H
#define SB_DIALPLAN_H

#include <apr_tables.h>
#include "sb_config.h"

/*
 * Loaded from <section name="dialplan"> of the configuration, FreeSWITCH's
 * syntax: <context name>, <extension name continue="true">, <condition
 * field expression break="on-false|on-true|always|never"
 * regex="all|any|xor"> with nested <regex field expression/>, <action
 * application data inline="true"/>, <anti-action .../>.  A condition
 * without field is true.  A field is "${...}" (expanded) or the name of a
 * channel variable (destination_number, caller_id_number, network_addr,
 * ...).  Expressions are PCRE2; $1..$9 in action data take the captures
 * of the condition the action belongs to.  Hunting collects the actions
 * of every matching extension in order; "set" actions with inline="true"
 * run during the hunt so later conditions see them.
 */

typedef struct sb_dialplan sb_dialplan_t;

typedef struct sb_dp_action {
	const char *app;  /**< application name */
	const char *data; /**< captures substituted, ${} not yet expanded */
	const char *extension;
	const char *file; /**< where it was written, for log lines */
	int line;
} sb_dp_action_t;

/** Whether an application exists, asked at load time. */
typedef int (*sb_dp_app_known_fn)(void *baton, const char *app);

/** Compiles every expression and checks every application name; the
 * first problem is reported in @p err with its original file:line. */
apr_status_t sb_dialplan_load(sb_dialplan_t **out, const sb_config_t *cfg,
			      sb_dp_app_known_fn known, void *baton,
			      apr_pool_t *pool, sb_config_error_t *err);

/** Hunts @p context with @p vars (inline sets write into them).  Fills
 * @p actions (an array of sb_dp_action_t from @p pool).  SB_ENOTFOUND
 * when the context does not exist or no extension matched. */
apr_status_t sb_dialplan_hunt(const sb_dialplan_t *dp, const char *context,
			      apr_table_t *vars, apr_pool_t *pool,
			      apr_array_header_t **actions);

/** Number of contexts and extensions, for log lines and status. */
void sb_dialplan_counts(const sb_dialplan_t *dp, unsigned *contexts,
			unsigned *extensions);

#endif
