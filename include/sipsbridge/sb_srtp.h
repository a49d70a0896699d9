/* sb_srtp.h — SRTP suites (RFC 4568, 6188, 7714) and libsrtp2 sessions. */
#ifndef SB_SRTP_H
#define SB_SRTP_H

#include "sb_types.h"

typedef enum sb_srtp_suite {
	SB_SRTP_NONE = 0,
	SB_SRTP_AES_CM_128_HMAC_SHA1_80,
	SB_SRTP_AES_CM_128_HMAC_SHA1_32,
	SB_SRTP_AES_256_CM_HMAC_SHA1_80,
	SB_SRTP_AES_256_CM_HMAC_SHA1_32,
	SB_SRTP_AEAD_AES_128_GCM,
	SB_SRTP_AEAD_AES_256_GCM,
	SB_SRTP_AEAD_AES_128_GCM_8,
	SB_SRTP_AEAD_AES_256_GCM_8,
	SB_SRTP_SUITE_COUNT
} sb_srtp_suite_t;

/** Flags from SDES session parameters. */
#define SB_SRTP_UNENCRYPTED_SRTP 0x1
#define SB_SRTP_UNENCRYPTED_SRTCP 0x2
#define SB_SRTP_UNAUTHENTICATED_SRTP 0x4

/** Largest master key + salt of any suite (AES-256 CM: 32 + 14). */
#define SB_SRTP_MAX_KEY_SALT 46
/** Room a protected packet needs past its payload (tag, SRTCP index). */
#define SB_SRTP_MAX_TRAILER 148

/** By SDES name, case-sensitive as RFC 4568 writes them; the alias
 * AES_CM_256_HMAC_SHA1_80/_32 is accepted.  0 when unknown. */
int sb_srtp_suite_parse(const char *name, apr_size_t len,
			sb_srtp_suite_t *out);
const char *sb_srtp_suite_name(sb_srtp_suite_t suite);
/** Bytes of master key + master salt the suite takes in "inline:". */
apr_size_t sb_srtp_suite_key_salt_len(sb_srtp_suite_t suite);

/** Whether the libsrtp2 in use can run @p suite (checked at init). */
int sb_srtp_suite_supported(sb_srtp_suite_t suite);

/** Once per process, before any session (thread-safe, idempotent).
 * Puts OpenSSL's AES-CM, AES-GCM and HMAC-SHA1 in place of libsrtp2's
 * own (Debian's libsrtp2 runs NSS, slow per packet) unless the
 * environment has SB_SRTP_NATIVE_CRYPTO=1. */
apr_status_t sb_srtp_global_init(void);

/** Whose primitives sessions run: "openssl" (ours, all replaced),
 * "libsrtp2" (its own: SB_SRTP_NATIVE_CRYPTO=1 or ours failed their
 * self-tests) or "openssl+libsrtp2" (some replaced). */
const char *sb_srtp_crypto_name(void);

/** Fresh key + salt from a CSPRNG (OpenSSL RAND_bytes). */
apr_status_t sb_srtp_keygen(sb_srtp_suite_t suite, unsigned char *out,
			    apr_size_t len);

/** One direction of one stream: protect (what we send) or unprotect
 * (what we receive), RTP and RTCP.  Not thread-safe: one thread at a
 * time, no allocation per packet. */
typedef struct sb_srtp sb_srtp_t;

typedef enum sb_srtp_dir { SB_SRTP_PROTECT, SB_SRTP_UNPROTECT } sb_srtp_dir_t;

/** The key is copied then wiped from our memory when the session ends
 * (a cleanup on @p pool, or sb_srtp_destroy). */
apr_status_t sb_srtp_create(sb_srtp_t **out, sb_srtp_suite_t suite,
			    const unsigned char *key_salt, apr_size_t len,
			    sb_srtp_dir_t dir, unsigned flags,
			    apr_pool_t *pool);
void sb_srtp_destroy(sb_srtp_t *s);

/** In place: @p *len is the packet length in and out; @p cap is the
 * buffer size (protect needs len + SB_SRTP_MAX_TRAILER).  Errors:
 * SB_EAUTH, SB_EREPLAY, SB_EMALFORMED, SB_ETOOBIG. */
apr_status_t sb_srtp_rtp(sb_srtp_t *s, void *pkt, apr_size_t *len,
			 apr_size_t cap);
apr_status_t sb_srtp_rtcp(sb_srtp_t *s, void *pkt, apr_size_t *len,
			  apr_size_t cap);

#endif
