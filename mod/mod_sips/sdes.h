/* sdes.h — SDES a=crypto attribute values (RFC 4568 9.1): parse, print. */
#ifndef SIPS_SDES_H
#define SIPS_SDES_H

#include <apr_pools.h>
#include "sipsbridge/sb_srtp.h"

/**
 * One a=crypto line.  These functions never log: the line holds a key.
 */
typedef struct sdes_crypto {
	unsigned tag;	       /**< 1..999999999 */
	sb_srtp_suite_t suite; /**< SB_SRTP_NONE when unknown */
	/**
	 * The suite as written, so that an answer echoes the offer's
	 * spelling (AES_CM_256_... and AES_256_CM_... alike).  From
	 * sdes_parse it points into the parsed value and is NOT
	 * NUL-terminated: use suite_name_len.  NULL to let sdes_print
	 * write sb_srtp_suite_name(suite).
	 */
	const char *suite_name;
	apr_size_t suite_name_len;
	unsigned char key_salt[SB_SRTP_MAX_KEY_SALT];
	apr_size_t key_salt_len;
	apr_uint64_t lifetime;	     /**< packets; 0 when absent */
	unsigned mki_value, mki_len; /**< 0, 0 when absent */
	unsigned flags;		     /**< SB_SRTP_UNENCRYPTED_* ... */
} sdes_crypto_t;

/**
 * Parses what follows "a=crypto:", e.g. "1 AES_CM_128_HMAC_SHA1_80
 * inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz|2^20|1:4
 * UNENCRYPTED_SRTCP", @p len bytes, no line end.
 *
 * An unknown suite is not an error: @p out gets its tag and name with
 * suite SB_SRTP_NONE and nothing else (its key-params may follow another
 * grammar), so an answerer can skip it.  The key must decode to exactly
 * the suite's key + salt.  Several keys (";") are refused.  KDR,
 * FEC_ORDER, WSH and unknown session parameters are ignored.
 *
 * @param why  if not NULL, set to a static reason on SB_EMALFORMED
 *             (never containing the key).
 * @return APR_SUCCESS (out written), SB_EMALFORMED (out untouched).
 */
apr_status_t sdes_parse(const char *value, apr_size_t len, sdes_crypto_t *out,
			const char **why);

/**
 * "TAG SUITE inline:BASE64[|2^N or |N][|v:l][ PARAMS]", no "a=crypto:".
 * The string holds the key: it is wiped when @p pool is cleared.
 * NULL when @p c cannot be printed (no suite name, key length wrong for
 * the suite, tag 0).
 */
char *sdes_print(const sdes_crypto_t *c, apr_pool_t *pool);

#endif
