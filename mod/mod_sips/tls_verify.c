/* tls_verify.c — the checks of a TLS connection, by the role we play. */
#include <stdlib.h>
#include <string.h>
#include <openssl/bio.h>
#include <openssl/x509v3.h>
#include <apr_strings.h>
#include "sipsbridge/sb_log.h"
#include "sip_msg.h"
#include "tls_verify.h"

int tls_verify_outbound(unsigned policy)
{
	return policy == SIPS_VERIFY_OUT || policy == SIPS_VERIFY_ALL ||
	       policy == SIPS_VERIFY_SUBJECTS_OUT ||
	       policy == SIPS_VERIFY_SUBJECTS_ALL;
}

apr_status_t tls_client_prepare(stream_conn_t *c)
{
	const sips_settings_t *s = &c->profile->settings;
	X509_VERIFY_PARAM *param = SSL_get0_param(c->ssl);
	const char *host = c->host;
	int is_ip = host && (sip_uri_is_ipv4(host, strlen(host)) ||
			     sip_uri_is_ipv6(host, strlen(host)));

	/* SNI carries names only (RFC 6066 3). */
	if (host && !is_ip && !SSL_set_tlsext_host_name(c->ssl, host))
		return SB_ETLS;
	if (!tls_verify_outbound(s->tls_verify_policy)) {
		SSL_set_verify(c->ssl, SSL_VERIFY_NONE, NULL);
		return APR_SUCCESS;
	}
	if (!c->profile->tls->cafile_path) {
		sb_log(SB_LOG_ERR, "SB02041",
		       "profile %s: cannot verify %s: no cafile.pem in %s",
		       c->profile->name, c->peer, s->tls_cert_dir);
		return SB_ECONFIG;
	}
	SSL_set_verify(c->ssl, SSL_VERIFY_PEER, NULL);
	X509_VERIFY_PARAM_set_depth(param, (int)s->tls_verify_depth);
	/* The peer acts as a server here: its EKU must allow serverAuth. */
	if (!X509_VERIFY_PARAM_set_purpose(param, X509_PURPOSE_SSL_SERVER))
		return SB_ETLS;
	X509_VERIFY_PARAM_set_hostflags(
		param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS |
			       (s->tls_verify_wildcard
					? 0
					: X509_CHECK_FLAG_NO_WILDCARDS));
	if (host && is_ip) {
		char bare[64];

		apr_cpystrn(bare, host[0] == '[' ? host + 1 : host,
			    sizeof(bare));
		bare[strcspn(bare, "]")] = '\0';
		if (!X509_VERIFY_PARAM_set1_ip_asc(param, bare))
			return SB_ETLS;
	} else if (host && !SSL_set1_host(c->ssl, host)) {
		return SB_ETLS;
	}
	if (!s->tls_verify_date)
		X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_NO_CHECK_TIME);
	return APR_SUCCESS;
}

/* "CN=x,O=y": the form `openssl x509 -nameopt RFC2253` prints. */
static void rfc2253_name(X509_NAME *name, char *out, apr_size_t len)
{
	BIO *bio = BIO_new(BIO_s_mem());
	int n = 0;

	out[0] = '\0';
	if (!bio)
		return;
	X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253);
	n = BIO_read(bio, out, (int)len - 1);
	out[n > 0 ? n : 0] = '\0';
	BIO_free(bio);
}

int tls_server_subject_ok(stream_conn_t *c, char *subject, apr_size_t len)
{
	const sips_settings_t *s = &c->profile->settings;
	X509 *peer = SSL_get0_peer_certificate(c->ssl);
	char *list, *one, *state, rfc[256];

	subject[0] = '\0';
	if (s->tls_verify_policy != SIPS_VERIFY_SUBJECTS_IN &&
	    s->tls_verify_policy != SIPS_VERIFY_SUBJECTS_ALL)
		return 1;
	if (!peer)
		return 0;
	X509_NAME_oneline(X509_get_subject_name(peer), subject, (int)len);
	rfc2253_name(X509_get_subject_name(peer), rfc, sizeof(rfc));
	list = strdup(s->tls_verify_in_subjects ? s->tls_verify_in_subjects
						: "");
	if (!list)
		return 0;
	for (one = apr_strtok(list, "|", &state); one;
	     one = apr_strtok(NULL, "|", &state))
		if (!strcmp(one, subject) || !strcmp(one, rfc))
			break;
	free(list);
	return one != NULL;
}
