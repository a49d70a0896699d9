/* flow.h — the flow table: every connection by a 64-bit id never reused. */
#ifndef SIPS_FLOW_H
#define SIPS_FLOW_H

#include "sipsbridge/sb_loop.h"

typedef enum { SIPS_TP_UDP = 0, SIPS_TP_TCP, SIPS_TP_TLS, SIPS_TP_COUNT } sips_transport_e;

const char *flow_transport_name(sips_transport_e tp);

/**
 * A flow is owned by one worker: its owner pointer is only ever used on
 * that worker's thread. Other threads reach it by id through
 * flow_post(), which finds it gone (SB_EFLOWGONE) once it has closed —
 * the id is never reused, so a stale id can never hit another phone.
 */
typedef void (*flow_task_fn)(void *owner, void *baton);

apr_status_t flow_table_init(apr_pool_t *pool);
void flow_table_destroy(void);

/** Enter a flow; returns its id (> 0). Call on the owner's worker. */
apr_uint64_t flow_add(sb_worker_t *worker, void *owner);
/** Leave the table; later lookups of @p id fail. */
void flow_remove(apr_uint64_t id);
/** The owner of flow @p id if it lives on the calling worker, else NULL. */
void *flow_owner_here(apr_uint64_t id);
/** Whether flow @p id is still open. */
int flow_exists(apr_uint64_t id);
/** Number of flows in the table. */
apr_size_t flow_count(void);

/**
 * Run @p fn(owner, baton) on the flow's worker if the flow still lives
 * then; when it has gone by then, @p gone(baton) runs instead on that
 * worker (may be NULL). Fails with SB_EFLOWGONE at once when the id is
 * unknown now.
 */
apr_status_t flow_post(apr_uint64_t id, flow_task_fn fn,
		       void (*gone)(void *baton), void *baton);

#endif
