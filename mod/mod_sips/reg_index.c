/* reg_index.c — the in-memory registration index (by AOR) over the store. */
#include <stdlib.h>
#include <string.h>
#include <apr_hash.h>
#include <apr_strings.h>
#include <apr_thread_mutex.h>
#include "sipsbridge/sb_log.h"
#include "reg_index.h"

/* One malloc holds an entry and its strings: a binding costs a few
 * hundred bytes, not a pool's 8 KiB node (10,000 phones, 10,000 entries). */
typedef struct reg_entry {
	reg_view_t v;
	struct reg_entry *next;
	char strings[];
} reg_entry_t;

/* The hash owns its keys here: entries come and go under one AOR. */
typedef struct aor_slot {
	reg_entry_t *head;
	char aor[];
} aor_slot_t;

static struct {
	apr_pool_t *pool;
	apr_thread_mutex_t *lock;
	apr_hash_t *by_aor; /* aor -> aor_slot_t */
	reg_store_t *store;
	apr_size_t count;
} idx;

static int same_identity(const reg_binding_t *a, const reg_binding_t *b)
{
	if (strcmp(a->aor, b->aor))
		return 0;
	if (a->instance && *a->instance)
		return b->instance && !strcmp(a->instance, b->instance) &&
		       a->reg_id == b->reg_id;
	return (!b->instance || !*b->instance) &&
	       !strcmp(a->contact, b->contact);
}

static const char *dup_or_empty(apr_pool_t *pool, const char *s)
{
	return apr_pstrdup(pool, s ? s : "");
}

static void copy_binding(reg_binding_t *to, const reg_binding_t *from,
			 apr_pool_t *pool)
{
	*to = *from;
	to->aor = dup_or_empty(pool, from->aor);
	to->contact = dup_or_empty(pool, from->contact);
	to->instance = dup_or_empty(pool, from->instance);
	to->path = dup_or_empty(pool, from->path);
	to->call_id = dup_or_empty(pool, from->call_id);
	to->src_ip = dup_or_empty(pool, from->src_ip);
	to->user_agent = dup_or_empty(pool, from->user_agent);
	to->profile = dup_or_empty(pool, from->profile);
	to->node = dup_or_empty(pool, from->node);
}

#define ENTRY_STRINGS 9

static const char **binding_field(reg_binding_t *b, int i)
{
	const char **f[ENTRY_STRINGS] = {
		&b->aor, &b->contact, &b->instance, &b->path, &b->call_id,
		&b->src_ip, &b->user_agent, &b->profile, &b->node
	};

	return f[i];
}

/* A new entry holding a copy of @p from and its strings. */
static reg_entry_t *entry_make(const reg_binding_t *from)
{
	reg_binding_t src = *from;
	apr_size_t len[ENTRY_STRINGS], total = 0;
	reg_entry_t *e;
	char *at;
	int i;

	for (i = 0; i < ENTRY_STRINGS; i++) {
		const char *v = *binding_field(&src, i);

		len[i] = (v ? strlen(v) : 0) + 1;
		total += len[i];
	}
	e = malloc(sizeof(*e) + total);
	if (!e)
		return NULL;
	memset(e, 0, sizeof(*e));
	e->v.b = src;
	at = e->strings;
	for (i = 0; i < ENTRY_STRINGS; i++) {
		const char *v = *binding_field(&src, i);

		memcpy(at, v ? v : "", len[i]);
		*binding_field(&e->v.b, i) = at;
		at += len[i];
	}
	return e;
}

static aor_slot_t *slot_get(const char *aor)
{
	return apr_hash_get(idx.by_aor, aor, APR_HASH_KEY_STRING);
}

static aor_slot_t *slot_make(const char *aor)
{
	apr_size_t n = strlen(aor) + 1;
	aor_slot_t *slot = slot_get(aor);

	if (slot)
		return slot;
	slot = calloc(1, sizeof(*slot) + n);
	if (!slot)
		return NULL;
	memcpy(slot->aor, aor, n);
	apr_hash_set(idx.by_aor, slot->aor, APR_HASH_KEY_STRING, slot);
	return slot;
}

static void slot_drop_if_empty(aor_slot_t *slot)
{
	if (slot->head)
		return;
	apr_hash_set(idx.by_aor, slot->aor, APR_HASH_KEY_STRING, NULL);
	free(slot);
}

/* Insert or replace in memory; call locked.  Returns 1 when the binding
 * is new or moved to another flow, 0 for a plain refresh. */
static int memory_put(const reg_binding_t *b, int restored)
{
	aor_slot_t *slot = slot_make(b->aor);
	reg_entry_t **pp, *e, *old;

	int moved;

	if (!slot)
		return 1;
	for (pp = &slot->head; (old = *pp); pp = &old->next)
		if (same_identity(&old->v.b, b))
			break;
	e = entry_make(b);
	if (!e) {
		slot_drop_if_empty(slot);
		return 1;
	}
	e->v.restored = restored;
	moved = !old || old->v.b.flow_id != b->flow_id ||
		strcmp(old->v.b.contact, e->v.b.contact) != 0;
	if (old) {
		e->next = old->next;
		*pp = e;
		free(old);
	} else {
		e->next = slot->head;
		slot->head = e;
		idx.count++;
	}
	return moved;
}

apr_status_t reg_index_init(const char *db_path, apr_pool_t *pool, char *why,
			    apr_size_t len)
{
	apr_array_header_t *rows;
	apr_status_t rv;
	int i;

	rv = apr_pool_create(&idx.pool, pool);
	if (rv == APR_SUCCESS)
		rv = apr_thread_mutex_create(&idx.lock,
					     APR_THREAD_MUTEX_DEFAULT, idx.pool);
	if (rv != APR_SUCCESS)
		return rv;
	idx.by_aor = apr_hash_make(idx.pool);
	idx.count = 0;
	rv = reg_store_open(&idx.store, "sqlite3", db_path, idx.pool, why,
			    len);
	if (rv != APR_SUCCESS)
		return rv;
	rv = reg_store_load(idx.store, idx.pool, apr_time_now(), &rows);
	if (rv != APR_SUCCESS) {
		apr_snprintf(why, len, "cannot read bindings from %s",
			     db_path);
		return rv;
	}
	for (i = 0; i < rows->nelts; i++)
		memory_put(&APR_ARRAY_IDX(rows, i, reg_binding_t), 1);
	if (rows->nelts)
		sb_log(SB_LOG_NOTICE, "SB02401",
		       "registrar: %d binding(s) restored from %s; they wait "
		       "for their phones to register again",
		       rows->nelts, db_path);
	return APR_SUCCESS;
}

void reg_index_shutdown(void)
{
	apr_hash_index_t *hi;

	if (!idx.pool)
		return;
	for (hi = apr_hash_first(idx.pool, idx.by_aor); hi;
	     hi = apr_hash_next(hi)) {
		aor_slot_t *slot = apr_hash_this_val(hi);

		while (slot->head) {
			reg_entry_t *e = slot->head;

			slot->head = e->next;
			free(e);
		}
		free(slot);
	}
	reg_store_close(idx.store);
	apr_pool_destroy(idx.pool);
	idx.pool = NULL;
}

apr_status_t reg_index_update(const reg_binding_t *b, int *moved)
{
	apr_status_t rv;

	/*
	 * Durable before the 200 OK says it is (DESIGN 7).  The store has its
	 * own lock: lookups are not held up by its I/O.  One binding is
	 * refreshed from one flow, so on one worker: the store and memory
	 * see its updates in the same order.
	 */
	rv = reg_store_put(idx.store, b);
	if (rv != APR_SUCCESS)
		return rv;
	apr_thread_mutex_lock(idx.lock);
	*moved = memory_put(b, 0);
	apr_thread_mutex_unlock(idx.lock);
	return APR_SUCCESS;
}

/* Unlink entries matching @p match; call locked. */
static apr_size_t memory_remove(const char *aor,
				int (*match)(const reg_entry_t *, const void *),
				const void *arg)
{
	aor_slot_t *slot = slot_get(aor);
	reg_entry_t **pp, *e;
	apr_size_t n = 0;

	if (!slot)
		return 0;
	pp = &slot->head;
	while ((e = *pp)) {
		if (match(e, arg)) {
			*pp = e->next;
			free(e);
			n++;
		} else {
			pp = &e->next;
		}
	}
	idx.count -= n;
	slot_drop_if_empty(slot);
	return n;
}

static int match_identity(const reg_entry_t *e, const void *arg)
{
	return same_identity(&e->v.b, arg);
}

static int match_all(const reg_entry_t *e, const void *arg)
{
	(void)e;
	(void)arg;
	return 1;
}

apr_status_t reg_index_remove(const reg_binding_t *identity)
{
	apr_status_t rv;

	apr_thread_mutex_lock(idx.lock);
	rv = reg_store_remove(idx.store, identity);
	memory_remove(identity->aor, match_identity, identity);
	apr_thread_mutex_unlock(idx.lock);
	return rv;
}

apr_size_t reg_index_flush(const char *profile, const char *aor)
{
	apr_array_header_t *aors;
	apr_hash_index_t *hi;
	apr_pool_t *tmp;
	apr_size_t n = 0;
	int i;

	apr_pool_create(&tmp, NULL);
	aors = apr_array_make(tmp, 16, sizeof(const char *));
	apr_thread_mutex_lock(idx.lock);
	for (hi = apr_hash_first(tmp, idx.by_aor); hi; hi = apr_hash_next(hi)) {
		const aor_slot_t *slot = apr_hash_this_val(hi);
		const reg_entry_t *e;

		if (aor && strcmp(slot->aor, aor))
			continue;
		for (e = slot->head; e; e = e->next)
			if (!profile || !strcmp(e->v.b.profile, profile))
				break;
		if (e)
			APR_ARRAY_PUSH(aors, const char *) =
				apr_pstrdup(tmp, slot->aor);
	}
	for (i = 0; i < aors->nelts; i++) {
		const char *a = APR_ARRAY_IDX(aors, i, const char *);

		reg_store_remove_aor(idx.store, a);
		n += memory_remove(a, match_all, NULL);
	}
	apr_thread_mutex_unlock(idx.lock);
	apr_pool_destroy(tmp);
	return n;
}

static void push_views(apr_array_header_t *out, const reg_entry_t *e,
		       apr_pool_t *pool)
{
	for (; e; e = e->next) {
		reg_view_t *v = apr_array_push(out);

		*v = e->v;
		copy_binding(&v->b, &e->v.b, pool);
	}
}

apr_array_header_t *reg_index_lookup(const char *aor, apr_pool_t *pool)
{
	apr_array_header_t *out = apr_array_make(pool, 4, sizeof(reg_view_t));

	apr_thread_mutex_lock(idx.lock);
	if (slot_get(aor))
		push_views(out, slot_get(aor)->head, pool);
	apr_thread_mutex_unlock(idx.lock);
	return out;
}

apr_array_header_t *reg_index_all(apr_pool_t *pool)
{
	apr_array_header_t *out = apr_array_make(pool, 16, sizeof(reg_view_t));
	apr_hash_index_t *hi;

	apr_thread_mutex_lock(idx.lock);
	for (hi = apr_hash_first(pool, idx.by_aor); hi; hi = apr_hash_next(hi))
		push_views(out, ((aor_slot_t *)apr_hash_this_val(hi))->head,
			   pool);
	apr_thread_mutex_unlock(idx.lock);
	return out;
}

void reg_index_mark_unreachable(const char *aor, const char *contact)
{
	reg_entry_t *e;

	apr_thread_mutex_lock(idx.lock);
	for (e = slot_get(aor) ? slot_get(aor)->head : NULL; e; e = e->next)
		if (!strcmp(e->v.b.contact, contact))
			e->v.unreachable = 1;
	apr_thread_mutex_unlock(idx.lock);
}

static int match_expired(const reg_entry_t *e, const void *arg)
{
	return e->v.b.expires <= *(const apr_time_t *)arg;
}

apr_size_t reg_index_expire(apr_time_t now)
{
	apr_array_header_t *aors;
	apr_hash_index_t *hi;
	apr_pool_t *tmp;
	apr_size_t n = 0;
	int i, removed = 0;

	apr_pool_create(&tmp, NULL);
	aors = apr_array_make(tmp, 16, sizeof(const char *));
	apr_thread_mutex_lock(idx.lock);
	for (hi = apr_hash_first(tmp, idx.by_aor); hi; hi = apr_hash_next(hi)) {
		const reg_entry_t *e;

		for (e = ((aor_slot_t *)apr_hash_this_val(hi))->head; e;
		     e = e->next)
			if (e->v.b.expires <= now) {
				APR_ARRAY_PUSH(aors, const char *) =
					apr_pstrdup(tmp, e->v.b.aor);
				break;
			}
	}
	for (i = 0; i < aors->nelts; i++)
		n += memory_remove(APR_ARRAY_IDX(aors, i, const char *),
				   match_expired, &now);
	if (n)
		reg_store_purge(idx.store, now, &removed);
	apr_thread_mutex_unlock(idx.lock);
	apr_pool_destroy(tmp);
	return n;
}

apr_size_t reg_index_count(void)
{
	apr_size_t n;

	apr_thread_mutex_lock(idx.lock);
	n = idx.count;
	apr_thread_mutex_unlock(idx.lock);
	return n;
}
