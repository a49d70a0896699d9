/* reg_index.h — registrations in memory, kept in step with the store. */
#ifndef SIPS_REG_INDEX_H
#define SIPS_REG_INDEX_H

#include "reg_store.h"

/** A binding as callers see it: a copy, with its live state. */
typedef struct reg_view {
	reg_binding_t b;
	int restored;    /* loaded after a restart: its flow is gone */
	int unreachable; /* a request to it failed: its flow is gone */
} reg_view_t;

/**
 * Open the store (SQLite file @p db_path) and load what it holds: those
 * bindings lost their flows with the old process and wait for the phone
 * to register again.
 */
apr_status_t reg_index_init(const char *db_path, apr_pool_t *pool, char *why,
			    apr_size_t len);
void reg_index_shutdown(void);

/** Add or refresh a binding: written to the store first, then memory.
 * @p moved says whether it is new or changed flow/contact (not a plain
 * refresh). */
apr_status_t reg_index_update(const reg_binding_t *b, int *moved);
/** Remove one binding (its identity as reg_store defines it). */
apr_status_t reg_index_remove(const reg_binding_t *identity);
/** Remove every binding of @p aor (or of every AOR of @p profile when
 *  @p aor is NULL); returns how many went. */
apr_size_t reg_index_flush(const char *profile, const char *aor);

/** The bindings of @p aor, copied into @p pool (array of reg_view_t). */
apr_array_header_t *reg_index_lookup(const char *aor, apr_pool_t *pool);
/** Every binding, copied (for listings and the ping sweep). */
apr_array_header_t *reg_index_all(apr_pool_t *pool);

/** The flow of @p aor / @p contact is gone: say so in listings. */
void reg_index_mark_unreachable(const char *aor, const char *contact);

/** Drop bindings whose time is up; returns how many. */
apr_size_t reg_index_expire(apr_time_t now);

apr_size_t reg_index_count(void);

#endif
