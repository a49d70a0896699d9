/* tls_ctx.c — the SSL_CTX of a profile: files, versions, ciphers, checks. */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <apr_strings.h>
#include "tls_ctx.h"

/* One build from the files: swapped in whole, or dropped whole. */
typedef struct tls_gen {
	apr_pool_t *pool;
	SSL_CTX *ssl_ctx;
	const char *agent_path;
	const char *cafile_path;
	cert_info_t cert;
	apr_array_header_t *cas;
} tls_gen_t;

/* Passed to the passphrase callback so we can tell "asked, had none". */
typedef struct passphrase_ask {
	const char *passphrase;
	int asked;
} passphrase_ask_t;

static int passphrase_cb(char *buf, int size, int rwflag, void *userdata)
{
	passphrase_ask_t *ask = userdata;
	int n;

	(void)rwflag;
	ask->asked = 1;
	if (!ask->passphrase || !*ask->passphrase)
		return 0;
	n = (int)strlen(ask->passphrase);
	if (n >= size)
		return 0;
	memcpy(buf, ask->passphrase, (size_t)n);
	return n;
}

const char *tls_ctx_openssl_reason(const char *fallback, char *buf,
				   apr_size_t len)
{
	/* The first error is the cause ("bad end line"); the last one only
	 * says which layer gave up ("PEM lib"). */
	unsigned long e = ERR_peek_error();
	const char *reason = e ? ERR_reason_error_string(e) : NULL;

	if (reason)
		apr_cpystrn(buf, reason, len);
	else
		apr_cpystrn(buf, fallback, len);
	ERR_clear_error();
	return buf;
}

/* The holder's reference; SSLs still open hold their own. */
static apr_status_t holder_cleanup(void *data)
{
	tls_ctx_t *t = data;

	SSL_CTX_free(t->current);
	t->current = NULL;
	return APR_SUCCESS;
}

static int lowest_version(unsigned mask)
{
	if (mask & SIPS_TLS_V1_0)
		return TLS1_VERSION;
	if (mask & SIPS_TLS_V1_1)
		return TLS1_1_VERSION;
	if (mask & SIPS_TLS_V1_2)
		return TLS1_2_VERSION;
	return TLS1_3_VERSION;
}

static int highest_version(unsigned mask)
{
	if (mask & SIPS_TLS_V1_3)
		return TLS1_3_VERSION;
	if (mask & SIPS_TLS_V1_2)
		return TLS1_2_VERSION;
	if (mask & SIPS_TLS_V1_1)
		return TLS1_1_VERSION;
	return TLS1_VERSION;
}

/* Versions, ciphers and options that do not depend on files. */
static apr_status_t setup_protocol(SSL_CTX *ctx, const sips_settings_t *s,
				   char *why, apr_size_t len)
{
	char reason[256];

	if (!SSL_CTX_set_min_proto_version(ctx,
					   lowest_version(s->tls_versions)) ||
	    !SSL_CTX_set_max_proto_version(ctx,
					   highest_version(s->tls_versions))) {
		apr_snprintf(why, len, "tls-version: %s",
			     tls_ctx_openssl_reason("not supported", reason,
						    sizeof(reason)));
		return SB_ECONFIG;
	}
	/* Renegotiation off: no TLS 1.2 renegotiation flood (RFC 5746). */
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION |
					 SSL_OP_CIPHER_SERVER_PREFERENCE |
					 SSL_OP_NO_COMPRESSION);
	/* Idle connections keep no 34 KB buffers (STYLE.md rule 5). */
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS |
				      SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
				      SSL_MODE_ENABLE_PARTIAL_WRITE);
	if (s->tls_ciphers && *s->tls_ciphers &&
	    !SSL_CTX_set_cipher_list(ctx, s->tls_ciphers)) {
		apr_snprintf(why, len, "tls-ciphers \"%s\": %s", s->tls_ciphers,
			     tls_ctx_openssl_reason("no usable cipher", reason,
						    sizeof(reason)));
		return SB_ECONFIG;
	}
	if (s->tls_ciphersuites && *s->tls_ciphersuites &&
	    !SSL_CTX_set_ciphersuites(ctx, s->tls_ciphersuites)) {
		apr_snprintf(why, len, "tls-ciphersuites \"%s\": %s",
			     s->tls_ciphersuites,
			     tls_ctx_openssl_reason("no usable suite", reason,
						    sizeof(reason)));
		return SB_ECONFIG;
	}
	SSL_CTX_set_session_id_context(ctx, (const unsigned char *)"sipsbridge",
				       10);
	return APR_SUCCESS;
}

static apr_status_t check_readable(const char *path, char *why,
				   apr_size_t len)
{
	if (access(path, R_OK) == 0)
		return APR_SUCCESS;
	apr_snprintf(why, len, "cannot read %s: %s", path, strerror(errno));
	return SB_ECONFIG;
}

/* agent.pem: certificate, chain and key, which must match and be valid. */
static apr_status_t load_agent(tls_gen_t *t, const sips_settings_t *s,
			       char *why, apr_size_t len)
{
	passphrase_ask_t ask = { s->tls_passphrase, 0 };
	SSL_CTX *ctx = t->ssl_ctx;
	char reason[256];
	apr_status_t rv = SB_ECONFIG;
	X509 *cert;

	if (check_readable(t->agent_path, why, len) != APR_SUCCESS)
		return SB_ECONFIG;
	SSL_CTX_set_default_passwd_cb(ctx, passphrase_cb);
	SSL_CTX_set_default_passwd_cb_userdata(ctx, &ask);
	if (SSL_CTX_use_certificate_chain_file(ctx, t->agent_path) != 1) {
		apr_snprintf(why, len, "%s: no usable certificate: %s",
			     t->agent_path,
			     tls_ctx_openssl_reason("unreadable", reason,
						    sizeof(reason)));
		goto done;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, t->agent_path,
					SSL_FILETYPE_PEM) != 1) {
		if (ERR_GET_REASON(ERR_peek_last_error()) ==
		    X509_R_KEY_VALUES_MISMATCH)
			apr_snprintf(why, len,
				     "%s: the private key does not match the "
				     "certificate",
				     t->agent_path);
		else if (ask.asked && (!ask.passphrase || !*ask.passphrase))
			apr_snprintf(why, len,
				     "%s: the private key is encrypted and "
				     "tls-passphrase is empty",
				     t->agent_path);
		else
			apr_snprintf(why, len, "%s: no usable private key: %s",
				     t->agent_path,
				     tls_ctx_openssl_reason(
					     "unreadable", reason,
					     sizeof(reason)));
		ERR_clear_error();
		goto done;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		apr_snprintf(why, len,
			     "%s: the private key does not match the "
			     "certificate",
			     t->agent_path);
		ERR_clear_error();
		goto done;
	}
	cert = SSL_CTX_get0_certificate(ctx);
	cert_info_read(cert, t->pool, &t->cert);
	if (t->cert.expires <= apr_time_now()) {
		apr_snprintf(why, len, "%s: certificate \"%s\" expired on %s",
			     t->agent_path, t->cert.subject,
			     t->cert.not_after);
		goto done;
	}
	if (t->cert.not_yet_valid) {
		apr_snprintf(why, len, "%s: certificate \"%s\" is not yet valid",
			     t->agent_path, t->cert.subject);
		goto done;
	}
	rv = APR_SUCCESS;
done:
	/* The key is loaded: forget the passphrase pointer on our stack. */
	SSL_CTX_set_default_passwd_cb(ctx, NULL);
	SSL_CTX_set_default_passwd_cb_userdata(ctx, NULL);
	return rv;
}

/* What the store holds is what verifies: list it for status and expiry. */
static void read_cas(tls_gen_t *t)
{
	STACK_OF(X509_OBJECT) *objs =
		X509_STORE_get0_objects(SSL_CTX_get_cert_store(t->ssl_ctx));
	int i;

	t->cas = apr_array_make(t->pool, 4, sizeof(cert_info_t));
	for (i = 0; i < sk_X509_OBJECT_num(objs); i++) {
		X509 *ca = X509_OBJECT_get0_X509(sk_X509_OBJECT_value(objs, i));

		if (ca)
			cert_info_read(ca, t->pool, apr_array_push(t->cas));
	}
}

/* cafile.pem: the CAs client certificates are verified against. */
static apr_status_t load_cafile(tls_gen_t *t, const sips_settings_t *s,
				char *why, apr_size_t len)
{
	char reason[256];
	int verify = SSL_VERIFY_NONE;

	if (access(t->cafile_path, R_OK) != 0) {
		t->cafile_path = NULL;
		if (s->tls_verify_policy == SIPS_VERIFY_NONE &&
		    !s->tls_require_client_cert)
			return APR_SUCCESS;
		apr_snprintf(why, len,
			     "%s/cafile.pem is needed to verify peers "
			     "(tls-verify-policy %s): %s",
			     s->tls_cert_dir,
			     profile_params_policy_text(s->tls_verify_policy),
			     strerror(errno));
		return SB_ECONFIG;
	}
	if (SSL_CTX_load_verify_locations(t->ssl_ctx, t->cafile_path, NULL) !=
	    1) {
		apr_snprintf(why, len, "%s: %s", t->cafile_path,
			     tls_ctx_openssl_reason("no CA certificate",
						    reason, sizeof(reason)));
		return SB_ECONFIG;
	}
	switch (s->tls_verify_policy) {
	case SIPS_VERIFY_IN:
	case SIPS_VERIFY_ALL:
	case SIPS_VERIFY_SUBJECTS_IN:
	case SIPS_VERIFY_SUBJECTS_ALL:
		verify = SSL_VERIFY_PEER;
		break;
	default:
		break;
	}
	if (s->tls_require_client_cert)
		verify = SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
	SSL_CTX_set_verify(t->ssl_ctx, verify, NULL);
	SSL_CTX_set_verify_depth(t->ssl_ctx, (int)s->tls_verify_depth);
	/*
	 * Accepted connections: we are the server, so a client certificate
	 * must allow clientAuth. Connections we open set serverAuth on
	 * their own SSL (tls_verify.c): the check follows the TLS role.
	 */
	X509_VERIFY_PARAM_set_purpose(SSL_CTX_get0_param(t->ssl_ctx),
				      X509_PURPOSE_SSL_CLIENT);
	if (!s->tls_verify_date)
		X509_VERIFY_PARAM_set_flags(SSL_CTX_get0_param(t->ssl_ctx),
					    X509_V_FLAG_NO_CHECK_TIME);
	read_cas(t);
	return APR_SUCCESS;
}

/* Build generation @p g from the files; on failure nothing of it stays. */
static apr_status_t gen_build(tls_gen_t *g, tls_ctx_t *t,
			      const sips_settings_t *settings, char *why,
			      apr_size_t len)
{
	char reason[256];
	apr_status_t rv;

	memset(g, 0, sizeof(*g));
	rv = apr_pool_create(&g->pool, t->pool);
	if (rv != APR_SUCCESS) {
		apr_cpystrn(why, "out of memory", len);
		return rv;
	}
	g->agent_path = t->agent_path;
	g->cafile_path = t->cafile_name;
	ERR_clear_error();
	g->ssl_ctx = SSL_CTX_new(TLS_method());
	if (!g->ssl_ctx) {
		apr_snprintf(why, len, "SSL_CTX_new: %s",
			     tls_ctx_openssl_reason("failed", reason,
						    sizeof(reason)));
		rv = SB_ETLS;
	}
	if (rv == APR_SUCCESS)
		rv = setup_protocol(g->ssl_ctx, settings, why, len);
	if (rv == APR_SUCCESS)
		rv = load_agent(g, settings, why, len);
	if (rv == APR_SUCCESS)
		rv = load_cafile(g, settings, why, len);
	if (rv != APR_SUCCESS) {
		SSL_CTX_free(g->ssl_ctx);
		apr_pool_destroy(g->pool);
		memset(g, 0, sizeof(*g));
	}
	return rv;
}

apr_status_t tls_ctx_create(tls_ctx_t **out, const sips_settings_t *settings,
			    apr_pool_t *pool, char *why, apr_size_t len)
{
	tls_ctx_t *t = apr_pcalloc(pool, sizeof(*t));
	tls_gen_t g;
	apr_status_t rv;

	if (!settings->tls_cert_dir || !*settings->tls_cert_dir) {
		apr_cpystrn(why, "tls-cert-dir is not set", len);
		return SB_ECONFIG;
	}
	t->pool = pool;
	t->agent_path = apr_pstrcat(pool, settings->tls_cert_dir, "/agent.pem",
				    NULL);
	t->cafile_name = apr_pstrcat(pool, settings->tls_cert_dir,
				     "/cafile.pem", NULL);
	rv = apr_thread_mutex_create(&t->lock, APR_THREAD_MUTEX_DEFAULT, pool);
	if (rv != APR_SUCCESS) {
		apr_cpystrn(why, "cannot create a mutex", len);
		return rv;
	}
	rv = gen_build(&g, t, settings, why, len);
	if (rv != APR_SUCCESS)
		return rv;
	t->current = g.ssl_ctx;
	apr_pool_cleanup_register(pool, t, holder_cleanup,
				  apr_pool_cleanup_null);
	t->gen_pool = g.pool;
	t->cafile_path = g.cafile_path;
	t->cert = g.cert;
	t->cas = g.cas;
	t->generation = 1;
	t->loaded = apr_time_now();
	*out = t;
	return APR_SUCCESS;
}

apr_status_t tls_ctx_reload(tls_ctx_t *t, const sips_settings_t *settings,
			    char *why, apr_size_t len)
{
	apr_pool_t *old_pool = t->gen_pool;
	SSL_CTX *old;
	tls_gen_t g;
	apr_status_t rv;

	rv = gen_build(&g, t, settings, why, len);
	if (rv != APR_SUCCESS)
		return rv;
	apr_thread_mutex_lock(t->lock);
	old = t->current;
	t->current = g.ssl_ctx;
	apr_thread_mutex_unlock(t->lock);
	/* Only our reference: connections made from it still hold theirs. */
	SSL_CTX_free(old);
	/*
	 * Workers test cafile_path (tls_verify.c) when they verify servers,
	 * and then a reload without cafile.pem fails: written only when it
	 * appears or goes, which happens only while nobody reads it.
	 */
	if (!t->cafile_path != !g.cafile_path)
		t->cafile_path = g.cafile_path;
	t->gen_pool = g.pool;
	t->cert = g.cert;
	t->cas = g.cas;
	t->generation++;
	t->loaded = apr_time_now();
	apr_pool_destroy(old_pool);
	return APR_SUCCESS;
}

SSL *tls_ctx_ssl_new(tls_ctx_t *t)
{
	SSL_CTX *ctx;
	SSL *ssl;

	/* A reference of our own across SSL_new: a reload may drop the
	 * holder's meanwhile. The lock is held for the pointer only. */
	apr_thread_mutex_lock(t->lock);
	ctx = t->current;
	if (ctx && !SSL_CTX_up_ref(ctx))
		ctx = NULL;
	apr_thread_mutex_unlock(t->lock);
	if (!ctx)
		return NULL;
	ssl = SSL_new(ctx);
	SSL_CTX_free(ctx);
	return ssl;
}
