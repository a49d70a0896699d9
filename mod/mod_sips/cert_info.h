/* cert_info.h — what an operator needs to know about a certificate. */
#ifndef SIPS_CERT_INFO_H
#define SIPS_CERT_INFO_H

#include <openssl/x509.h>
#include "sipsbridge/sb_types.h"

typedef struct cert_info {
	const char *subject;   /* one-line RFC 2253 form */
	const char *issuer;
	const char *sans;      /* "DNS:a, IP:127.0.0.1" or "" */
	const char *not_after; /* "2027-11-24 16:57:00 UTC" */
	int days_left;         /* negative once expired */
	int not_yet_valid;
} cert_info_t;

/** Describe @p cert; strings live in @p pool. */
void cert_info_read(X509 *cert, apr_pool_t *pool, cert_info_t *out);

#endif
