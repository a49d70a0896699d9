/* tls_verify.h — certificate checks that follow the TLS role we play. */
#ifndef SIPS_TLS_VERIFY_H
#define SIPS_TLS_VERIFY_H

#include "tp_stream_private.h"

/**
 * Prepare @p c (we connect) before its handshake: SNI = host, chain
 * verified against the profile's cafile.pem, host matched against the
 * SANs (CN only without SANs; RFC 5922 7.2: no wildcard unless
 * tls-verify-wildcard), peer purpose serverAuth (EKU or none). Verifying
 * servers is on unless tls-verify-policy leaves "out" out.
 */
apr_status_t tls_client_prepare(stream_conn_t *c);

/**
 * After an accepted handshake: with tls-verify-policy subjects_in or
 * subjects_all, the client's subject must be one of
 * tls-verify-in-subjects (|-separated, RFC 2253 or /-form). Returns 0
 * when the connection may stay.
 */
int tls_server_subject_ok(stream_conn_t *c, char *subject, apr_size_t len);

/** Whether policy @p policy verifies peers we connect to. */
int tls_verify_outbound(unsigned policy);

#endif
