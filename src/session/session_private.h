/* session_private.h — the session object as the session files share it. */
#ifndef SB_SESSION_PRIVATE_H
#define SB_SESSION_PRIVATE_H

#include <pthread.h>
#include <apr_hash.h>
#include <apr_uuid.h>
#include "sipsbridge/sb_session.h"

/** Transfers one session may make before it is taken for a loop, unless
 * the variable "max_session_transfers" (FreeSWITCH's name) says more. */
#define SB_SESSION_MAX_TRANSFERS 10

/** Causes sb_session.h has no name for. */
#define SB_SESSION_CAUSE_EXCHANGE_ROUTING_ERROR 25
#define SB_SESSION_CAUSE_SERVICE_NOT_IMPLEMENTED 79

/** The dialplan executor of one session (session_exec.c). */
typedef struct session_exec {
	const sb_dialplan_t *dp;
	apr_pool_t *hunt_pool;	     /**< the current hunt's actions */
	apr_pool_t *step_pool;	     /**< the running action's data */
	apr_array_header_t *actions; /**< sb_dp_action_t */
	int next;		     /**< index of the next action to run */
	int routed;		     /**< sb_session_route was called */
	int done;		     /**< no action will run any more */
	int running;		     /**< the run loop is on the stack */
	int waiting;	  /**< the current application may still resume */
	int resumed;	  /**< it resumed from inside its own call */
	int resume_go_on; /**< ...and with this go_on */
	int rehunt;	  /**< hunt again before the next action (transfer) */
	int transfers;
} session_exec_t;

struct sb_session {
	apr_pool_t *pool;
	const sb_endpoint_ops_t *ops; /**< may be NULL: nothing supported */
	void *leg;
	sb_worker_t *worker;
	apr_table_t *vars;
	char uuid[APR_UUID_FORMATTED_LENGTH + 1];
	int answered;
	int hungup;
	int cause;
	/** Our own frames on the stack that still use the session after
	 * calling out (to an application or the endpoint): a destroy that
	 * arrives meanwhile is deferred until the last one leaves. */
	unsigned busy;
	int doomed;
	sb_timer_t sleep_timer; /**< the "sleep" application's */
	session_exec_t exec;
};

/** Marks a frame that calls out and uses @p s afterwards. */
void session_enter(sb_session_t *s);
/** Ends it; 1 when a deferred destroy freed @p s (do not touch it). */
int session_leave(sb_session_t *s);

/** Stops the executor for good and disarms the session's timers (hangup,
 * destroy).  Safe to call more than once. */
void session_exec_halt(sb_session_t *s);

/**
 * From inside a running application: sets "destination_number" (and
 * "context" when @p context is non-NULL) and makes the executor hunt
 * again once the application returns.  Past the transfer limit the
 * session is hung up with EXCHANGE_ROUTING_ERROR and SB_ELIMIT returned;
 * APR_EINVAL when no dialplan is running.
 */
apr_status_t session_exec_transfer(sb_session_t *s, const char *dest,
				   const char *context);

/** A scratch pool that lives until the next action starts. */
apr_pool_t *session_exec_scratch(sb_session_t *s);

/** The registered function for @p name, or NULL.  Thread-safe. */
sb_app_fn app_registry_find(const char *name);

/**
 * A process-wide table of fixed-size entries by name: the applications
 * here, sb_expand's functions in expand.c.  Modules register at load time
 * from the main thread while workers look names up for every action, so
 * one lock guards it; static, it needs no initialisation and registration
 * works before anything else has started.  Its pool is unmanaged and made
 * on first use: it outlives every pool the core makes, until
 * app_registry_clear.  All calls are thread-safe.
 */
typedef struct app_registry {
	pthread_mutex_t lock;
	apr_pool_t *pool;
	apr_hash_t *hash;
	apr_size_t entry_size;
} app_registry_t;

/** A static, empty table of entries of @p size bytes. */
#define APP_REGISTRY_INIT(size)                                                \
	{                                                                      \
		PTHREAD_MUTEX_INITIALIZER, NULL, NULL, (size)                  \
	}

/** Copies @p entry in as @p name's, adding the name when new. */
apr_status_t app_registry_put(app_registry_t *r, const char *name,
			      const void *entry);

/**
 * Zeroes @p name's entry, if there is one.  The entry stays: a module
 * that registers and unregisters on every reload reuses it instead of
 * growing a pool that is never cleared.
 */
void app_registry_blank(app_registry_t *r, const char *name);

/** Copies the entry of @p name (@p len bytes, or APR_HASH_KEY_STRING) into
 * @p out: 1, or 0 when there is none and @p out is untouched. */
int app_registry_get(app_registry_t *r, const char *name, apr_ssize_t len,
		     void *out);

/** Frees the table and its pool; a later put starts a fresh one. */
void app_registry_clear(app_registry_t *r);

/**
 * Frees the process-wide application registry.  The core calls it at exit
 * when no thread can run a dialplan any more; a later registration starts
 * a fresh registry.
 */
void sb_session_registry_shutdown(void);

#endif
