/* sb_session.h — call legs as the core sees them: variables, causes, the
 * dialplan executor and its applications. */
#ifndef SB_SESSION_H
#define SB_SESSION_H

#include <apr_tables.h>
#include "sb_dialplan.h"
#include "sb_loop.h"

/* Hangup causes: Q.850 numbers and FreeSWITCH's names for them. */
#define SB_CAUSE_UNALLOCATED_NUMBER 1
#define SB_CAUSE_NO_ROUTE_DESTINATION 3
#define SB_CAUSE_NORMAL_CLEARING 16
#define SB_CAUSE_USER_BUSY 17
#define SB_CAUSE_NO_USER_RESPONSE 18
#define SB_CAUSE_NO_ANSWER 19
#define SB_CAUSE_CALL_REJECTED 21
#define SB_CAUSE_DESTINATION_OUT_OF_ORDER 27
#define SB_CAUSE_INVALID_NUMBER_FORMAT 28
#define SB_CAUSE_NORMAL_TEMPORARY_FAILURE 41
#define SB_CAUSE_SERVICE_UNAVAILABLE 63
#define SB_CAUSE_INCOMPATIBLE_DESTINATION 88
#define SB_CAUSE_RECOVERY_ON_TIMER_EXPIRE 102
#define SB_CAUSE_ORIGINATOR_CANCEL 487
#define SB_CAUSE_MEDIA_TIMEOUT 604
#define SB_CAUSE_USER_NOT_REGISTERED 606
#define SB_CAUSE_LOSE_RACE 502

/** "NORMAL_CLEARING" for 16; "UNKNOWN" for a number we have no name for. */
const char *sb_cause_name(int cause);
/** A name or a number; 0 when neither. */
int sb_cause_parse(const char *text);
/** The SIP final status for a cause (FreeSWITCH's table: 17 -> 486). */
int sb_cause_to_sip(int cause);
/** The cause for a SIP final status (486 -> 17, 487 -> 487, ...). */
int sb_cause_from_sip(int status);

typedef struct sb_session sb_session_t;

/** What the endpoint module that owns a leg does for the core; each is
 * called on the session's worker.  NULL members are "not supported". */
typedef struct sb_endpoint_ops {
	const char *name;                          /**< "sip" */
	apr_status_t (*answer)(sb_session_t *s);     /**< 200 with media */
	apr_status_t (*pre_answer)(sb_session_t *s); /**< 183 with media */
	apr_status_t (*ring_ready)(sb_session_t *s); /**< 180 */
	apr_status_t (*echo)(sb_session_t *s);       /**< media back to itself */
	/** End the leg with @p cause (final response, CANCEL or BYE).  The
	 * core calls it once; the endpoint destroys the session later. */
	void (*hangup)(sb_session_t *s, int cause);
} sb_endpoint_ops_t;

/**
 * A session runs on one worker (@p worker, the thread of its A leg) and
 * every function below is called on that worker, except where noted.
 * Variables are an apr_table_t in the session's pool; "uuid" is set.
 */
apr_status_t sb_session_create(sb_session_t **out,
			       const sb_endpoint_ops_t *ops, void *leg,
			       sb_worker_t *worker);
/** Frees the session; stops a running dialplan and its timers. */
void sb_session_destroy(sb_session_t *s);

const char *sb_session_uuid(const sb_session_t *s);
apr_pool_t *sb_session_pool(sb_session_t *s);
apr_table_t *sb_session_vars(sb_session_t *s);
void *sb_session_leg(const sb_session_t *s);
sb_worker_t *sb_session_worker(const sb_session_t *s);

/** NULL value unsets. */
void sb_session_set_var(sb_session_t *s, const char *name, const char *value);
const char *sb_session_get_var(const sb_session_t *s, const char *name);
/** Copies the variables listed in "export_vars" (comma separated, as the
 * "export" application keeps it) from @p from to @p to. */
void sb_session_export_vars(const sb_session_t *from, sb_session_t *to);

/**
 * Routing: hunts the context in variable "context" for
 * "destination_number" in @p dp (which must outlive the session), then
 * runs the actions.  When they are done and the call was not answered,
 * or "hangup_after_bridge" is true after a bridge, the session hangs up.
 * A hunt that finds nothing hangs up with NO_ROUTE_DESTINATION.
 */
apr_status_t sb_session_route(sb_session_t *s, const sb_dialplan_t *dp);

/** An application that returned SB_APP_WAIT is done: run the next action
 * (or stop, when @p go_on is 0). */
void sb_session_resume(sb_session_t *s, int go_on);

/** Hang up now (idempotent): stops the dialplan, records the cause in
 * "hangup_cause", calls ops->hangup. */
void sb_session_hangup(sb_session_t *s, int cause);
int sb_session_hangup_cause(const sb_session_t *s);
int sb_session_hungup(const sb_session_t *s);

/** The endpoint reports state changes it made or saw. */
void sb_session_mark_answered(sb_session_t *s);
int sb_session_answered(const sb_session_t *s);

/* Applications: data arrives with ${} already expanded. */
typedef enum {
	SB_APP_NEXT, /**< done: next action */
	SB_APP_WAIT, /**< running: sb_session_resume() later */
	SB_APP_STOP  /**< stop the dialplan (the call goes on if answered) */
} sb_app_result_e;

typedef sb_app_result_e (*sb_app_fn)(sb_session_t *s, const char *data);

/** Process-wide; a later registration of a name replaces it.  Thread-safe. */
apr_status_t sb_app_register(const char *name, sb_app_fn fn);
void sb_app_unregister(const char *name);
/** For sb_dialplan_load's check (baton unused). */
int sb_app_known(void *baton, const char *name);

/** Registers the core applications: set, export, unset, log, sleep,
 * hangup, answer, pre_answer, ring_ready, echo, transfer. */
apr_status_t sb_session_apps_init(void);

#endif
