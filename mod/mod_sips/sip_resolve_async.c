/* sip_resolve_async.c — URI lookups on resolver threads: a slow or dead
 * DNS server delays the call that needs it, never the worker's others. */
#include <stdlib.h>
#include <string.h>
#include <apr_strings.h>
#include <apr_thread_mutex.h>
#include <apr_thread_pool.h>
#include "sipsbridge/sb_log.h"
#include "sip_resolve.h"

#define RESOLVER_THREADS 2

typedef struct job {
	struct job *prev, *next; /* the live list, for shutdown */
	apr_pool_t *pool;
	char *uri;
	sb_worker_t *worker;
	sip_resolve_cb cb;
	void *baton;
	apr_status_t rv;
	int posted; /* handed to the worker, which frees it */
	sip_dest_t dest;
	char why[256];
} job_t;

static struct {
	apr_pool_t *pool;
	apr_thread_mutex_t *lock;
	apr_thread_pool_t *threads;
	job_t *live;
	int stopping;
} resolver;

/* Under resolver.lock. */
static void job_unlink(job_t *j)
{
	if (j->prev)
		j->prev->next = j->next;
	else
		resolver.live = j->next;
	if (j->next)
		j->next->prev = j->prev;
}

static void job_free(job_t *j)
{
	apr_thread_mutex_lock(resolver.lock);
	job_unlink(j);
	apr_thread_mutex_unlock(resolver.lock);
	apr_pool_destroy(j->pool);
}

/* On the worker that asked. */
static void deliver(void *baton)
{
	job_t *j = baton;

	j->cb(j->baton, j->rv, j->rv == APR_SUCCESS ? &j->dest : NULL,
	      j->why);
	job_free(j);
}

static void *APR_THREAD_FUNC lookup(apr_thread_t *thread, void *baton)
{
	job_t *j = baton;

	(void)thread;
	j->rv = sip_resolve(j->uri, j->pool, &j->dest, j->why,
			    sizeof(j->why));
	apr_thread_mutex_lock(resolver.lock);
	j->posted = 1;
	apr_thread_mutex_unlock(resolver.lock);
	if (sb_worker_post(j->worker, deliver, j) != APR_SUCCESS) {
		/* The loop is stopping: the owner only frees its baton. */
		j->cb(j->baton, APR_EOF, NULL, "shutting down");
		job_free(j);
	}
	return NULL;
}

static apr_status_t resolver_start(void)
{
	apr_status_t rv;

	if (resolver.stopping)
		return APR_EOF;
	if (resolver.threads)
		return APR_SUCCESS;
	rv = apr_pool_create(&resolver.pool, NULL);
	if (rv == APR_SUCCESS)
		rv = apr_thread_mutex_create(&resolver.lock,
					     APR_THREAD_MUTEX_DEFAULT,
					     resolver.pool);
	if (rv == APR_SUCCESS)
		rv = apr_thread_pool_create(&resolver.threads, 0,
					    RESOLVER_THREADS, resolver.pool);
	if (rv != APR_SUCCESS && resolver.pool) {
		apr_pool_destroy(resolver.pool);
		resolver.pool = NULL;
		resolver.threads = NULL;
	}
	return rv;
}

/* Workers call sip_resolve_start; the first call starts the threads. */
static apr_thread_mutex_t *start_lock;

apr_status_t sip_resolve_start(const char *uri, sb_worker_t *worker,
			       sip_resolve_cb cb, void *baton)
{
	apr_pool_t *pool;
	apr_status_t rv;
	job_t *j;

	if (!start_lock)
		return APR_EINIT; /* sip_resolve_prepare first */
	apr_thread_mutex_lock(start_lock);
	rv = resolver_start();
	apr_thread_mutex_unlock(start_lock);
	if (rv != APR_SUCCESS)
		return rv;
	if (apr_pool_create(&pool, NULL) != APR_SUCCESS)
		return APR_ENOMEM;
	j = apr_pcalloc(pool, sizeof(*j));
	j->pool = pool;
	j->uri = apr_pstrdup(pool, uri);
	j->worker = worker;
	j->cb = cb;
	j->baton = baton;
	apr_thread_mutex_lock(resolver.lock);
	j->next = resolver.live;
	if (j->next)
		j->next->prev = j;
	resolver.live = j;
	apr_thread_mutex_unlock(resolver.lock);
	rv = apr_thread_pool_push(resolver.threads, lookup, j,
				  APR_THREAD_TASK_PRIORITY_NORMAL, &resolver);
	if (rv != APR_SUCCESS)
		job_free(j);
	return rv;
}

/* Its own root pool: the lock outlives a module pool (a job may still
 * be on a worker's queue when the module stops). */
apr_status_t sip_resolve_prepare(void)
{
	apr_pool_t *pool;

	if (start_lock)
		return APR_SUCCESS;
	if (apr_pool_create(&pool, NULL) != APR_SUCCESS)
		return APR_ENOMEM;
	return apr_thread_mutex_create(&start_lock, APR_THREAD_MUTEX_DEFAULT,
				       pool);
}

void sip_resolve_shutdown(void)
{
	job_t *j, *next;

	if (!start_lock)
		return;
	apr_thread_mutex_lock(start_lock);
	if (!resolver.threads) {
		apr_thread_mutex_unlock(start_lock);
		return;
	}
	resolver.stopping = 1;
	apr_thread_mutex_unlock(start_lock);
	/* Queued lookups are dropped and running ones finish; a result
	 * already handed to a worker is delivered and freed there. */
	apr_thread_pool_tasks_cancel(resolver.threads, &resolver);
	apr_thread_pool_destroy(resolver.threads);
	resolver.threads = NULL;
	apr_thread_mutex_lock(resolver.lock);
	for (j = resolver.live; j; j = next) {
		next = j->next;
		if (j->posted)
			continue;
		j->cb(j->baton, APR_EOF, NULL, "shutting down");
		job_unlink(j);
		apr_pool_destroy(j->pool);
	}
	apr_thread_mutex_unlock(resolver.lock);
}
