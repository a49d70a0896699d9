/* digest.h — HTTP digest authentication, server side (RFC 7616, 3261 22). */
#ifndef SIPS_DIGEST_H
#define SIPS_DIGEST_H

#include <apr_pools.h>
#include <apr_time.h>
#include "sipsbridge/sb_types.h"
#include "sip_msg.h"

/**
 * Challenges and verification for one realm-holder (a profile).
 *
 * A nonce is base64url(ts(8) || random(8) || HMAC-SHA256(secret,
 * ts || random || realm)[0..16)), 43 characters: any instance can tell
 * its own nonces, their realm and their age without keeping state. What
 * needs state is replay detection (RFC 7616 3.4: nonce-count), kept in
 * a bounded table filled only by correct responses.
 */
typedef struct digest digest_t;

/** Hash of a challenge; verification also accepts the -sess forms. */
typedef enum { DIGEST_ALG_MD5 = 0, DIGEST_ALG_SHA256 } digest_alg_e;

/** Outcome of digest_verify(); only DIGEST_OK authenticates. */
typedef enum {
	DIGEST_OK = 0,
	DIGEST_STALE,	  /**< right answer to an old nonce: re-challenge
			       with stale=true */
	DIGEST_BAD_NONCE, /**< not issued by us, or for another realm */
	DIGEST_REPLAY,	  /**< nonce-count already seen for this nonce */
	DIGEST_WRONG,	  /**< response does not match the password */
	DIGEST_MALFORMED  /**< missing/invalid field, unsupported alg/qop */
} digest_result_e;

/** Default bound of the nonce-count table. */
#define DIGEST_MAX_NONCES 100000

/** Longest username, realm, cnonce (after unquoting) accepted. */
#define DIGEST_MAX_FIELD 256
/** Longest digest-uri accepted. */
#define DIGEST_MAX_URI 2048

/**
 * New instance with a fresh random 32-byte secret; nonces it issues are
 * fresh for @p nonce_ttl (microseconds) and stale after. It lives in a
 * sub-pool of @p pool; the secret is wiped when that pool goes.
 * @return APR errors, or SB_ETLS when the RNG or HMAC is unavailable.
 */
apr_status_t digest_create(digest_t **out, apr_interval_time_t nonce_ttl,
			   apr_pool_t *pool);

/**
 * Change the bound of the nonce-count table (at least 1); entries over
 * it go now, oldest nonce first. For tests and configuration.
 */
void digest_set_max_nonces(digest_t *d, apr_size_t max);

/** Entries now in the nonce-count table. */
apr_size_t digest_nonce_count(digest_t *d);

/**
 * A WWW-Authenticate (or Proxy-Authenticate) value, allocated in
 * @p pool: Digest realm="..", nonce="..", opaque="..", algorithm=..,
 * qop="auth"[, stale=true]. NULL only if the RNG or HMAC fails.
 * Thread-safe.
 */
const char *digest_challenge(digest_t *d, apr_pool_t *pool, const char *realm,
			     digest_alg_e alg, int stale);

/**
 * Check credentials parsed by sip_hdr_auth() for a request @p method
 * (e.g. "REGISTER") in @p realm, against @p password, at time @p now.
 * The digest-uri is hashed as sent; comparing it with the Request-URI is
 * the caller's business (RFC 3261 22.4 item 1). In order: fields
 * (MALFORMED), nonce authenticity (BAD_NONCE), response (WRONG), age
 * (STALE), nonce-count (REPLAY). So STALE implies the password was
 * right (RFC 7616 3.3), and only an OK updates the nonce-count table.
 * Without qop (RFC 2069) a nonce is good for one request. Thread-safe;
 * @p password is never logged or kept.
 */
digest_result_e digest_verify(digest_t *d, const sip_auth_t *auth,
			      const char *method, const char *realm,
			      const char *password, apr_time_t now);

/** Short text of @p res for logs ("stale nonce", ...). */
const char *digest_result_text(digest_result_e res);

#endif
