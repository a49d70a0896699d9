/* tls_ctx.h — a profile's OpenSSL context from its certificate dir. */
#ifndef SIPS_TLS_CTX_H
#define SIPS_TLS_CTX_H

#include <apr_tables.h>
#include <apr_thread_mutex.h>
#include <openssl/ssl.h>
#include "cert_info.h"
#include "profile_params.h"

/**
 * The context new connections of a profile are made from, and what
 * status shows about it. A reload builds a new SSL_CTX and swaps it in;
 * each SSL holds its own reference to the SSL_CTX it was made from, so
 * open connections keep theirs and the old one is freed with the last.
 */
typedef struct tls_ctx {
	apr_pool_t *pool;         /* the profile's: the holder lives as long */
	const char *agent_path;
	const char *cafile_name;  /* the path looked at, there or not */
	apr_thread_mutex_t *lock; /* guards current (workers read it) */
	SSL_CTX *current;         /* one reference is ours; never read it
				   * directly: tls_ctx_ssl_new() */
	/*
	 * The fields below change only in tls_ctx_reload(); its callers
	 * (commands, SIGHUP, the daily check) serialise it with readers.
	 */
	apr_pool_t *gen_pool;     /* strings of the current generation */
	const char *cafile_path;  /* cafile_name, or NULL when it is absent */
	cert_info_t cert;
	apr_array_header_t *cas;  /* cert_info_t of each CA, or NULL */
	unsigned generation;      /* 1 when started, +1 per reload */
	apr_time_t loaded;
} tls_ctx_t;

/**
 * Build the context of a profile: agent.pem (certificate, key, chain)
 * and cafile.pem from settings->tls_cert_dir, versions, ciphers,
 * passphrase, verification. On failure @p why names the file and the
 * cause. Freed with the pool (connections keep their SSL_CTX until they
 * close).
 */
apr_status_t tls_ctx_create(tls_ctx_t **out, const sips_settings_t *settings,
			    apr_pool_t *pool, char *why, apr_size_t len);

/**
 * Build a new context from the files as they are now, with the same
 * settings and checks as tls_ctx_create(), and only if that succeeds
 * make it the one new connections get. On failure the current context
 * stays in service and @p why names the file and the cause.
 */
apr_status_t tls_ctx_reload(tls_ctx_t *t, const sips_settings_t *settings,
			    char *why, apr_size_t len);

/**
 * A new SSL from the current context, or NULL. Thread-safe: any worker
 * may call it while a reload swaps the context.
 */
SSL *tls_ctx_ssl_new(tls_ctx_t *t);

/** The first OpenSSL error reason, or @p fallback (and clears the queue). */
const char *tls_ctx_openssl_reason(const char *fallback, char *buf,
				   apr_size_t len);

#endif
