/* cert_info.h — what an operator needs to know about a certificate. */
#ifndef SIPS_CERT_INFO_H
#define SIPS_CERT_INFO_H

#include <apr_time.h>
#include <openssl/x509.h>
#include "sipsbridge/sb_types.h"

typedef struct cert_info {
	const char *subject;     /* one-line RFC 2253 form */
	const char *issuer;
	const char *sans;        /* "DNS:a, IP:127.0.0.1" or "" */
	const char *serial;      /* hex, as `openssl x509 -serial` prints */
	const char *fingerprint; /* SHA-256, "AB:CD:..." */
	const char *not_after;   /* "2027-11-24 16:57:00 UTC" */
	apr_time_t expires;      /* not_after as a time */
	int not_yet_valid;
} cert_info_t;

/** Describe @p cert; strings live in @p pool. */
void cert_info_read(X509 *cert, apr_pool_t *pool, cert_info_t *out);

/** Whole days from @p now until @p ci expires (floor: -1 once expired). */
int cert_info_days_left(const cert_info_t *ci, apr_time_t now);

/**
 * The expiry band @p ci is in at @p now: 0 (fine), @p warn_days (the
 * outer warning band, cert-warn-days), 14, 7, or -1 (expired). 7 and
 * expired are always reported; "within N days" means it expires before
 * now + N days, the test of `gentls_cert check -days N`.
 */
int cert_info_band(const cert_info_t *ci, apr_time_t now, unsigned warn_days);

#endif
