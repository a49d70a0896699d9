/* flow.c — the flow table (Kamailio's tcpconn_get, with ids not pointers). */
#include <stdlib.h>
#include <apr_hash.h>
#include <apr_thread_mutex.h>
#include "sipsbridge/sb_types.h"
#include "flow.h"

typedef struct flow_entry {
	apr_uint64_t id;
	sb_worker_t *worker;
	void *owner;
} flow_entry_t;

static struct {
	apr_pool_t *pool;
	apr_thread_mutex_t *lock;
	apr_hash_t *by_id; /* key: the id bytes; value: flow_entry_t* */
	apr_uint64_t next_id;
} table;

typedef struct flow_call {
	apr_uint64_t id;
	flow_task_fn fn;
	void (*gone)(void *);
	void *baton;
} flow_call_t;

static const char *const transport_names[] = { "udp", "tcp", "tls" };

const char *flow_transport_name(sips_transport_e tp)
{
	return tp < SIPS_TP_COUNT ? transport_names[tp] : "?";
}

apr_status_t flow_table_init(apr_pool_t *pool)
{
	apr_status_t rv;

	if (table.pool)
		return APR_SUCCESS;
	rv = apr_pool_create(&table.pool, pool);
	if (rv == APR_SUCCESS)
		rv = apr_thread_mutex_create(&table.lock,
					     APR_THREAD_MUTEX_DEFAULT,
					     table.pool);
	if (rv != APR_SUCCESS)
		return rv;
	table.by_id = apr_hash_make(table.pool);
	table.next_id = 1;
	return APR_SUCCESS;
}

void flow_table_destroy(void)
{
	apr_hash_index_t *hi;

	if (!table.pool)
		return;
	for (hi = apr_hash_first(table.pool, table.by_id); hi;
	     hi = apr_hash_next(hi))
		free(apr_hash_this_val(hi));
	apr_pool_destroy(table.pool);
	table.pool = NULL;
}

apr_uint64_t flow_add(sb_worker_t *worker, void *owner)
{
	flow_entry_t *e = malloc(sizeof(*e));

	if (!e)
		return 0;
	e->worker = worker;
	e->owner = owner;
	apr_thread_mutex_lock(table.lock);
	e->id = table.next_id++;
	apr_hash_set(table.by_id, &e->id, sizeof(e->id), e);
	apr_thread_mutex_unlock(table.lock);
	return e->id;
}

void flow_remove(apr_uint64_t id)
{
	flow_entry_t *e;

	apr_thread_mutex_lock(table.lock);
	e = apr_hash_get(table.by_id, &id, sizeof(id));
	if (e)
		apr_hash_set(table.by_id, &id, sizeof(id), NULL);
	apr_thread_mutex_unlock(table.lock);
	free(e);
}

void *flow_owner_here(apr_uint64_t id)
{
	sb_worker_t *self = sb_worker_self();
	flow_entry_t *e;
	void *owner = NULL;

	if (!self)
		return NULL;
	apr_thread_mutex_lock(table.lock);
	e = apr_hash_get(table.by_id, &id, sizeof(id));
	if (e && e->worker == self)
		owner = e->owner;
	apr_thread_mutex_unlock(table.lock);
	return owner;
}

int flow_exists(apr_uint64_t id)
{
	int found;

	apr_thread_mutex_lock(table.lock);
	found = apr_hash_get(table.by_id, &id, sizeof(id)) != NULL;
	apr_thread_mutex_unlock(table.lock);
	return found;
}

apr_size_t flow_count(void)
{
	apr_size_t n;

	apr_thread_mutex_lock(table.lock);
	n = apr_hash_count(table.by_id);
	apr_thread_mutex_unlock(table.lock);
	return n;
}

/* Runs on the flow's worker: the flow may have closed since the post. */
static void flow_call_run(void *baton)
{
	flow_call_t *call = baton;
	flow_entry_t *e;
	void *owner = NULL;

	apr_thread_mutex_lock(table.lock);
	e = apr_hash_get(table.by_id, &call->id, sizeof(call->id));
	if (e)
		owner = e->owner;
	apr_thread_mutex_unlock(table.lock);
	if (owner)
		call->fn(owner, call->baton);
	else if (call->gone)
		call->gone(call->baton);
	free(call);
}

apr_status_t flow_post(apr_uint64_t id, flow_task_fn fn,
		       void (*gone)(void *baton), void *baton)
{
	flow_call_t *call;
	sb_worker_t *worker = NULL;
	flow_entry_t *e;
	apr_status_t rv;

	apr_thread_mutex_lock(table.lock);
	e = apr_hash_get(table.by_id, &id, sizeof(id));
	if (e)
		worker = e->worker;
	apr_thread_mutex_unlock(table.lock);
	if (!worker)
		return SB_EFLOWGONE;
	call = malloc(sizeof(*call));
	if (!call)
		return APR_ENOMEM;
	call->id = id;
	call->fn = fn;
	call->gone = gone;
	call->baton = baton;
	rv = sb_worker_post(worker, flow_call_run, call);
	if (rv != APR_SUCCESS)
		free(call);
	return rv;
}
