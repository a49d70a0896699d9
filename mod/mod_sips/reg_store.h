/* reg_store.h — the persistent store of registration bindings. */
#ifndef SIPS_REG_STORE_H
#define SIPS_REG_STORE_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_time.h>
#include "sipsbridge/sb_types.h"

/**
 * One binding of an AOR (RFC 3261 10.3). Its identity is
 * (aor, instance, reg_id) when @c instance is not empty — RFC 5626 5.2:
 * a new flow for the same instance and reg-id replaces the old binding —
 * else (aor, contact). NULL strings are stored as "".
 */
typedef struct reg_binding {
	const char *aor;      /* "1000@example.com" */
	const char *contact;  /* the Contact URI as registered */
	const char *instance; /* +sip.instance ("" if none) */
	int reg_id;	      /* RFC 5626 reg-id, 0 if none */
	const char *path;     /* Path header values, comma-joined, "" */
	const char *call_id;
	apr_uint32_t cseq;
	apr_time_t expires;   /* absolute, microseconds (apr_time_t) */
	int transport;	      /* 0 udp, 1 tcp, 2 tls */
	apr_uint64_t flow_id; /* the flow it arrived on (0: none) */
	const char *src_ip;
	int src_port;
	const char *user_agent;
	const char *profile; /* SIP profile name */
	const char *node;    /* switch node that holds the flow */
	int q;		     /* 0..1000, -1 none */
} reg_binding_t;

typedef struct reg_store reg_store_t;

/**
 * Open a store. @p driver names an apr_dbd driver: "sqlite3" (the
 * default; @p params is the database file, created if missing, in a
 * directory that must exist) or "pgsql" (@p params is its conninfo).
 * The table and its indexes are created when absent.
 *
 * SQLite runs with journal_mode=WAL and synchronous=NORMAL: a commit is
 * in the WAL file (the kernel's page cache) when reg_store_put()
 * returns, so it survives the daemon being killed (even kill -9); only
 * a power loss or kernel crash may lose the last commits.
 *
 * On failure @p why (of @p len bytes) names the file or driver and the
 * cause. The store lives in a sub-pool of @p pool: destroying @p pool
 * closes it too.
 */
apr_status_t reg_store_open(reg_store_t **out, const char *driver,
			    const char *params, apr_pool_t *pool, char *why,
			    apr_size_t len);

/** Insert or replace the binding with @p b's identity. Synchronous: the
 *  registrar calls it before it answers 200 OK. */
apr_status_t reg_store_put(reg_store_t *s, const reg_binding_t *b);

/** Remove the binding with @p identity's identity (aor, instance,
 *  reg_id, contact are read). Removing an absent binding succeeds. */
apr_status_t reg_store_remove(reg_store_t *s, const reg_binding_t *identity);

/** Remove every binding of @p aor. */
apr_status_t reg_store_remove_aor(reg_store_t *s, const char *aor);

/**
 * Every binding with expires > @p now, as an array of reg_binding_t whose
 * strings live in @p pool; rows already expired are deleted first.
 */
apr_status_t reg_store_load(reg_store_t *s, apr_pool_t *pool, apr_time_t now,
			    apr_array_header_t **out);

/** Delete the bindings with expires <= @p now; @p removed (may be NULL)
 *  receives how many went. */
apr_status_t reg_store_purge(reg_store_t *s, apr_time_t now, int *removed);

/** Close the store and free it; NULL is ignored. */
void reg_store_close(reg_store_t *s);

/**
 * A backend. Calls reach it one at a time: the store serialises them
 * behind its own mutex, so a backend holding one connection (apr_dbd
 * handles are not thread-safe) needs no lock of its own. Strings in the
 * bindings handed to put/remove are never NULL.
 */
typedef struct reg_store_driver {
	const char *name; /* for messages */
	/** Does this backend serve @p driver? */
	int (*serves)(const char *driver);
	apr_status_t (*open)(void **ctx, const char *driver, const char *params,
			     apr_pool_t *pool, char *why, apr_size_t len);
	apr_status_t (*put)(void *ctx, const reg_binding_t *b);
	apr_status_t (*remove)(void *ctx, const reg_binding_t *identity);
	apr_status_t (*remove_aor)(void *ctx, const char *aor);
	apr_status_t (*load)(void *ctx, apr_pool_t *pool, apr_time_t now,
			     apr_array_header_t *out);
	apr_status_t (*purge)(void *ctx, apr_time_t now, int *removed);
	void (*close)(void *ctx);
} reg_store_driver_t;

#endif
