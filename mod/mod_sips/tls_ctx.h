/* tls_ctx.h — a profile's OpenSSL context from its certificate dir. */
#ifndef SIPS_TLS_CTX_H
#define SIPS_TLS_CTX_H

#include <openssl/ssl.h>
#include "cert_info.h"
#include "profile_params.h"

/** A built context and what status shows about it. */
typedef struct tls_ctx {
	SSL_CTX *ssl_ctx;
	const char *agent_path;
	const char *cafile_path; /* NULL when there is no cafile.pem */
	cert_info_t cert;
} tls_ctx_t;

/**
 * Build the context of a profile: agent.pem (certificate, key, chain)
 * and cafile.pem from settings->tls_cert_dir, versions, ciphers,
 * passphrase, verification. On failure @p why names the file and the
 * cause. Freed with the pool.
 */
apr_status_t tls_ctx_create(tls_ctx_t **out, const sips_settings_t *settings,
			    apr_pool_t *pool, char *why, apr_size_t len);

/** The first OpenSSL error reason, or @p fallback (and clears the queue). */
const char *tls_ctx_openssl_reason(const char *fallback, char *buf,
				   apr_size_t len);

#endif
