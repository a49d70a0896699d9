/* app_registry.c — process-wide tables by name: dialplan applications
 * here, sb_expand's functions for expand.c. */
#include <pthread.h>
#include <string.h>
#include <apr_hash.h>
#include <apr_strings.h>
#include "session_private.h"

/* A function pointer cannot travel in a void *: the hash holds these. */
typedef struct {
	sb_app_fn fn; /* NULL once unregistered */
} app_entry_t;

static app_registry_t apps = APP_REGISTRY_INIT(sizeof(app_entry_t));

apr_status_t app_registry_put(app_registry_t *r, const char *name,
			      const void *entry)
{
	void *e;
	apr_status_t rv = APR_SUCCESS;

	pthread_mutex_lock(&r->lock);
	if (!r->pool) {
		rv = apr_pool_create_unmanaged_ex(&r->pool, NULL, NULL);
		if (rv != APR_SUCCESS) {
			r->pool = NULL;
			goto done;
		}
		r->hash = apr_hash_make(r->pool);
	}
	e = apr_hash_get(r->hash, name, APR_HASH_KEY_STRING);
	if (!e) {
		e = apr_palloc(r->pool, r->entry_size);
		apr_hash_set(r->hash, apr_pstrdup(r->pool, name),
			     APR_HASH_KEY_STRING, e);
	}
	memcpy(e, entry, r->entry_size);
done:
	pthread_mutex_unlock(&r->lock);
	return rv;
}

void app_registry_blank(app_registry_t *r, const char *name)
{
	void *e;

	pthread_mutex_lock(&r->lock);
	e = r->hash ? apr_hash_get(r->hash, name, APR_HASH_KEY_STRING) : NULL;
	if (e)
		memset(e, 0, r->entry_size);
	pthread_mutex_unlock(&r->lock);
}

int app_registry_get(app_registry_t *r, const char *name, apr_ssize_t len,
		     void *out)
{
	void *e;

	pthread_mutex_lock(&r->lock);
	e = r->hash ? apr_hash_get(r->hash, name, len) : NULL;
	if (e)
		memcpy(out, e, r->entry_size);
	pthread_mutex_unlock(&r->lock);
	return e != NULL;
}

void app_registry_clear(app_registry_t *r)
{
	pthread_mutex_lock(&r->lock);
	if (r->pool)
		apr_pool_destroy(r->pool);
	r->pool = NULL;
	r->hash = NULL;
	pthread_mutex_unlock(&r->lock);
}

apr_status_t sb_app_register(const char *name, sb_app_fn fn)
{
	app_entry_t e = {fn};

	if (!name || !*name || !fn)
		return APR_EINVAL;
	return app_registry_put(&apps, name, &e);
}

void sb_app_unregister(const char *name)
{
	if (name)
		app_registry_blank(&apps, name);
}

sb_app_fn app_registry_find(const char *name)
{
	app_entry_t e;

	if (!name || !app_registry_get(&apps, name, APR_HASH_KEY_STRING, &e))
		return NULL;
	return e.fn;
}

int sb_app_known(void *baton, const char *name)
{
	(void)baton;
	return app_registry_find(name) != NULL;
}

void sb_session_registry_shutdown(void)
{
	app_registry_clear(&apps);
}
