/* msg_rate.h — messages a second per TCP/TLS connection (max-msg-rate). */
#ifndef SIPS_MSG_RATE_H
#define SIPS_MSG_RATE_H

#include <apr_pools.h>
#include "profile_params.h"

/**
 * The buckets of the connections of one worker, by flow id. Only that
 * worker uses it (a flow never moves): no lock.
 */
typedef struct msg_rate_table msg_rate_table_t;

typedef enum {
	MSG_RATE_PASS = 0, /* within max-msg-rate */
	MSG_RATE_REJECT,   /* over it: 503 for a request, else dropped */
	MSG_RATE_CLOSE	   /* over it for msg-rate-close seconds: close */
} msg_rate_e;

apr_status_t msg_rate_table_create(msg_rate_table_t **out, apr_pool_t *pool);
/** Free every entry (the table itself goes with its pool). */
void msg_rate_table_destroy(msg_rate_table_t *t);

/**
 * One message arrived on flow @p flow_id at @p now: within the rate of
 * @p s (max-msg-rate, max-msg-burst, msg-rate-close), or not. An
 * episode over the rate lasts while rejections come less than a second
 * apart; one that lasts msg-rate-close seconds closes the connection.
 */
msg_rate_e msg_rate_check(msg_rate_table_t *t, const sips_settings_t *s,
			  apr_uint64_t flow_id, apr_time_t now);

/** Flow @p flow_id has closed: forget it. */
void msg_rate_forget(msg_rate_table_t *t, apr_uint64_t flow_id);

/** Flows with an entry (for tests). */
unsigned msg_rate_count(const msg_rate_table_t *t);

#endif
