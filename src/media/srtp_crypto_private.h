/* srtp_crypto_private.h — OpenSSL primitives put into libsrtp2's kernel. */
#ifndef SRTP_CRYPTO_PRIVATE_H
#define SRTP_CRYPTO_PRIVATE_H

/* What srtp_openssl_crypto_install() replaced, one bit per type. */
#define SRTP_OC_AES_ICM_128 0x01u
#define SRTP_OC_AES_ICM_256 0x02u
#define SRTP_OC_AES_GCM_128 0x04u
#define SRTP_OC_AES_GCM_256 0x08u
#define SRTP_OC_HMAC_SHA1 0x10u
#define SRTP_OC_ALL 0x1fu

/*
 * Replaces libsrtp2's AES-ICM 128/256, AES-GCM 128/256 and HMAC-SHA1
 * with ours, on OpenSSL's EVP and SHA-1.  Call once, after srtp_init()
 * and before any session exists: the replacement is process-wide and a
 * session keeps the implementation it was created with.  A type whose
 * self-test fails (libsrtp2 runs ours and its own known answers) stays
 * libsrtp2's.  Returns the SRTP_OC_* bits installed.
 */
unsigned srtp_openssl_crypto_install(void);

#endif
