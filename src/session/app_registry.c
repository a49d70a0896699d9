/* app_registry.c — the process-wide table of dialplan applications. */
#include <pthread.h>
#include <apr_hash.h>
#include <apr_strings.h>
#include "session_private.h"

/* A function pointer cannot travel in a void *: the hash holds these. */
typedef struct {
	sb_app_fn fn; /* NULL once unregistered */
} app_entry_t;

/*
 * Modules register at load time from the main thread while workers look
 * names up for every action, so one lock guards the hash.  It is static
 * and needs no initialisation: registration works before anything else
 * has started.  The pool is unmanaged: it outlives every pool the core
 * makes, until sb_session_registry_shutdown.
 */
static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static apr_pool_t *registry_pool;
static apr_hash_t *registry;

apr_status_t sb_app_register(const char *name, sb_app_fn fn)
{
	app_entry_t *e;
	apr_status_t rv = APR_SUCCESS;

	if (!name || !*name || !fn)
		return APR_EINVAL;
	pthread_mutex_lock(&registry_lock);
	if (!registry_pool) {
		rv = apr_pool_create_unmanaged_ex(&registry_pool, NULL, NULL);
		if (rv != APR_SUCCESS) {
			registry_pool = NULL;
			goto done;
		}
		registry = apr_hash_make(registry_pool);
	}
	e = apr_hash_get(registry, name, APR_HASH_KEY_STRING);
	if (!e) {
		e = apr_palloc(registry_pool, sizeof(*e));
		apr_hash_set(registry, apr_pstrdup(registry_pool, name),
			     APR_HASH_KEY_STRING, e);
	}
	e->fn = fn;
done:
	pthread_mutex_unlock(&registry_lock);
	return rv;
}

/*
 * The entry stays with no function: a module that registers and
 * unregisters on every reload reuses it instead of growing a pool that is
 * never cleared.
 */
void sb_app_unregister(const char *name)
{
	app_entry_t *e;

	if (!name)
		return;
	pthread_mutex_lock(&registry_lock);
	if (registry) {
		e = apr_hash_get(registry, name, APR_HASH_KEY_STRING);
		if (e)
			e->fn = NULL;
	}
	pthread_mutex_unlock(&registry_lock);
}

sb_app_fn app_registry_find(const char *name)
{
	app_entry_t *e;
	sb_app_fn fn = NULL;

	if (!name)
		return NULL;
	pthread_mutex_lock(&registry_lock);
	if (registry) {
		e = apr_hash_get(registry, name, APR_HASH_KEY_STRING);
		if (e)
			fn = e->fn;
	}
	pthread_mutex_unlock(&registry_lock);
	return fn;
}

int sb_app_known(void *baton, const char *name)
{
	(void)baton;
	return app_registry_find(name) != NULL;
}

void sb_session_registry_shutdown(void)
{
	pthread_mutex_lock(&registry_lock);
	if (registry_pool)
		apr_pool_destroy(registry_pool);
	registry_pool = NULL;
	registry = NULL;
	pthread_mutex_unlock(&registry_lock);
}
