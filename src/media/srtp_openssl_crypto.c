/* srtp_openssl_crypto.c — AES-CM, AES-GCM, HMAC-SHA1 on OpenSSL for libsrtp */
/*
 * Debian's libsrtp2 is built on NSS, whose AES-CM makes a new PKCS #11
 * context for every packet, at a cost that grows with the keys alive in
 * the process (4 us per protect at 100 sessions, 31 us at 1,000).
 * libsrtp2's public API lets an application replace a cipher or auth
 * type (cipher.h, auth.h); SRTP framing, key derivation, replay windows
 * and tag checks stay libsrtp2's, only the primitives run here.  Every
 * EVP context is made when libsrtp2 allocates the cipher: nothing is
 * allocated per packet.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
/*
 * SHA1_Init and friends are deprecated in OpenSSL 3, but SHA_CTX is the
 * one SHA-1 state there that can be copied as a plain struct: an HMAC
 * keyed once restarts per packet from a copy.  EVP_MD_CTX_copy_ex and
 * EVP_MAC_init(NULL key) duplicate a provider context with malloc on
 * OpenSSL 3.0.  Both paths run the same SHA-NI code.
 */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <srtp2/auth.h>
#include <srtp2/cipher.h>
#include "srtp_crypto_private.h"

#define SALT_LEN 14	/* RFC 3711 master and session salt */
#define GCM_SALT_LEN 12 /* RFC 7714 8.1 */
#define HMAC_BLOCK 64	/* SHA-1's block */
#define SHA1_LEN 20

/* One allocation per cipher: libsrtp2's view first, our state after. */
typedef struct oc_cipher {
	srtp_cipher_t base;
	EVP_CIPHER_CTX *ctx;
	EVP_CIPHER *evp;
	int key_size; /* AES key bytes; key_len adds the salt */
	int tag_len;  /* GCM */
	int keyed;    /* ctx has its cipher: a re-key passes only the key */
	int decrypt;  /* GCM: direction of the packet in progress */
	unsigned char offset[16]; /* ICM: the session salt, then 00 00 */
} oc_cipher_t;

typedef struct oc_hmac {
	srtp_auth_t base;
	SHA_CTX inner, outer; /* after the keyed ipad and opad blocks */
	SHA_CTX run;	      /* the message in progress */
} oc_hmac_t;

enum { OC_CTR128, OC_CTR256, OC_GCM128, OC_GCM256, OC_EVP_COUNT };

/* Fetched once at install: an implicit fetch per init costs a lookup. */
static EVP_CIPHER *oc_evp[OC_EVP_COUNT];

static const srtp_cipher_type_t oc_icm_128, oc_icm_256;
static const srtp_cipher_type_t oc_gcm_128, oc_gcm_256;
static const srtp_auth_type_t oc_hmac_sha1;

static srtp_err_status_t oc_cipher_new(srtp_cipher_t **out,
				       const srtp_cipher_type_t *type,
				       EVP_CIPHER *evp, int key_len,
				       int key_size, int tag_len)
{
	oc_cipher_t *c;

	if (!evp)
		return srtp_err_status_cipher_fail;
	c = calloc(1, sizeof(*c));
	if (!c)
		return srtp_err_status_alloc_fail;
	c->ctx = EVP_CIPHER_CTX_new();
	if (!c->ctx) {
		free(c);
		return srtp_err_status_alloc_fail;
	}
	c->base.type = type;
	c->base.state = c;
	c->base.key_len = key_len;
	c->base.algorithm = (int)type->id;
	c->evp = evp;
	c->key_size = key_size;
	c->tag_len = tag_len;
	*out = &c->base;
	return srtp_err_status_ok;
}

static srtp_err_status_t oc_cipher_free(srtp_cipher_t *base)
{
	oc_cipher_t *c;

	if (!base)
		return srtp_err_status_bad_param;
	c = base->state;
	/* EVP_CIPHER_CTX_free wipes the key schedule; we wipe the salt. */
	EVP_CIPHER_CTX_free(c->ctx);
	OPENSSL_cleanse(c, sizeof(*c));
	free(c);
	return srtp_err_status_ok;
}

/* The key, once per session key: only the first init names the cipher. */
static int oc_cipher_key(oc_cipher_t *c, const uint8_t *key, int enc)
{
	if (!EVP_CipherInit_ex(c->ctx, c->keyed ? NULL : c->evp, NULL, key,
			       NULL, enc))
		return 0;
	c->keyed = 1;
	return 1;
}

/*
 * AES-CM (RFC 3711 4.1.1).  key_len counts the 14-byte salt: 30 for
 * AES-128, 46 for AES-256 (RFC 6188); AES-192 stays libsrtp2's.  The
 * tag length is for AEAD and unused here.
 */
static srtp_err_status_t icm_alloc(srtp_cipher_t **out, int key_len,
				   int tag_len)
{
	(void)tag_len;
	if (key_len == SRTP_AES_ICM_128_KEY_LEN_WSALT)
		return oc_cipher_new(out, &oc_icm_128, oc_evp[OC_CTR128],
				     key_len, SRTP_AES_128_KEY_LEN, 0);
	if (key_len == SRTP_AES_ICM_256_KEY_LEN_WSALT)
		return oc_cipher_new(out, &oc_icm_256, oc_evp[OC_CTR256],
				     key_len, SRTP_AES_256_KEY_LEN, 0);
	return srtp_err_status_bad_param;
}

static srtp_err_status_t icm_init(void *state, const uint8_t *key)
{
	oc_cipher_t *c = state;

	memset(c->offset, 0, sizeof(c->offset));
	memcpy(c->offset, key + c->key_size, SALT_LEN);
	return oc_cipher_key(c, key, 1) ? srtp_err_status_ok
					: srtp_err_status_init_fail;
}

/* Counter = IV XOR salt * 2^16; the block counter is its low 16 bits. */
static srtp_err_status_t icm_set_iv(void *state, uint8_t *iv,
				    srtp_cipher_direction_t dir)
{
	oc_cipher_t *c = state;
	unsigned char ctr[16];
	int i;

	(void)dir;
	for (i = 0; i < 16; i++)
		ctr[i] = (unsigned char)(iv[i] ^ c->offset[i]);
	if (!EVP_EncryptInit_ex(c->ctx, NULL, NULL, NULL, ctr))
		return srtp_err_status_cipher_fail;
	return srtp_err_status_ok;
}

/* Counter mode: encryption and decryption are the same XOR. */
static srtp_err_status_t icm_crypt(void *state, uint8_t *buf, unsigned int *len)
{
	oc_cipher_t *c = state;
	int out = 0;

	if (*len == 0)
		return srtp_err_status_ok;
	if (*len > INT_MAX)
		return srtp_err_status_bad_param;
	if (!EVP_EncryptUpdate(c->ctx, buf, &out, buf, (int)*len))
		return srtp_err_status_cipher_fail;
	*len = (unsigned int)out;
	return srtp_err_status_ok;
}

/* AES-GCM (RFC 7714): key_len counts the 12-byte salt; tags 8 or 16. */
static srtp_err_status_t gcm_alloc(srtp_cipher_t **out, int key_len,
				   int tag_len)
{
	if (tag_len != 8 && tag_len != 16)
		return srtp_err_status_bad_param;
	if (key_len == SRTP_AES_128_KEY_LEN + GCM_SALT_LEN)
		return oc_cipher_new(out, &oc_gcm_128, oc_evp[OC_GCM128],
				     key_len, SRTP_AES_128_KEY_LEN, tag_len);
	if (key_len == SRTP_AES_256_KEY_LEN + GCM_SALT_LEN)
		return oc_cipher_new(out, &oc_gcm_256, oc_evp[OC_GCM256],
				     key_len, SRTP_AES_256_KEY_LEN, tag_len);
	return srtp_err_status_bad_param;
}

/* libsrtp2 builds the 12-byte IV with the salt itself (RFC 7714 8.1). */
static srtp_err_status_t gcm_init(void *state, const uint8_t *key)
{
	oc_cipher_t *c = state;

	c->decrypt = -1;
	return oc_cipher_key(c, key, 1) ? srtp_err_status_ok
					: srtp_err_status_init_fail;
}

static srtp_err_status_t gcm_set_iv(void *state, uint8_t *iv,
				    srtp_cipher_direction_t dir)
{
	oc_cipher_t *c = state;

	if (dir != srtp_direction_encrypt && dir != srtp_direction_decrypt)
		return srtp_err_status_bad_param;
	c->decrypt = dir == srtp_direction_decrypt;
	if (!EVP_CipherInit_ex(c->ctx, NULL, NULL, NULL, iv, !c->decrypt))
		return srtp_err_status_init_fail;
	return srtp_err_status_ok;
}

/* SRTCP calls this twice (header, then E flag + index): AAD accumulates. */
static srtp_err_status_t gcm_set_aad(void *state, const uint8_t *aad,
				     uint32_t len)
{
	oc_cipher_t *c = state;
	int out = 0;

	if (c->decrypt < 0 || len > INT_MAX)
		return srtp_err_status_bad_param;
	if (len && !EVP_CipherUpdate(c->ctx, NULL, &out, aad, (int)len))
		return srtp_err_status_algo_fail;
	return srtp_err_status_ok;
}

/* @p buf may be NULL with *len 0: SRTCP with only the tag to compute. */
static srtp_err_status_t gcm_encrypt(void *state, uint8_t *buf,
				     unsigned int *len)
{
	oc_cipher_t *c = state;
	int out = 0;

	if (c->decrypt != 0 || *len > INT_MAX)
		return srtp_err_status_bad_param;
	if (*len && !EVP_CipherUpdate(c->ctx, buf, &out, buf, (int)*len))
		return srtp_err_status_cipher_fail;
	return srtp_err_status_ok;
}

/* After encrypt: finishes the packet and writes tag_len bytes. */
static srtp_err_status_t gcm_get_tag(void *state, uint8_t *tag, uint32_t *len)
{
	oc_cipher_t *c = state;
	unsigned char none[16];
	int out = 0;

	if (c->decrypt != 0 || !EVP_CipherFinal_ex(c->ctx, none, &out) ||
	    !EVP_CIPHER_CTX_ctrl(c->ctx, EVP_CTRL_AEAD_GET_TAG, c->tag_len,
				 tag))
		return srtp_err_status_algo_fail;
	*len = (uint32_t)c->tag_len;
	return srtp_err_status_ok;
}

/* *len includes the tag, which is checked and removed. */
static srtp_err_status_t gcm_decrypt(void *state, uint8_t *buf,
				     unsigned int *len)
{
	oc_cipher_t *c = state;
	unsigned char none[16];
	unsigned int n;
	int out = 0;

	if (c->decrypt != 1 || *len < (unsigned int)c->tag_len ||
	    *len > INT_MAX)
		return srtp_err_status_bad_param;
	n = *len - (unsigned int)c->tag_len;
	/* OpenSSL copies the tag; the cast only drops const from its API. */
	if (!EVP_CIPHER_CTX_ctrl(c->ctx, EVP_CTRL_AEAD_SET_TAG, c->tag_len,
				 buf + n))
		return srtp_err_status_auth_fail;
	if (n && !EVP_CipherUpdate(c->ctx, buf, &out, buf, (int)n))
		return srtp_err_status_cipher_fail;
	if (EVP_CipherFinal_ex(c->ctx, none, &out) <= 0)
		return srtp_err_status_auth_fail;
	*len = n;
	return srtp_err_status_ok;
}

/* HMAC-SHA1 (RFC 2104); SRTP keys are 20 bytes, tags 4 or 10 of 20. */
static srtp_err_status_t hmac_alloc(srtp_auth_t **out, int key_len, int out_len)
{
	oc_hmac_t *h;

	if (key_len < 0 || out_len < 0 || out_len > SHA1_LEN)
		return srtp_err_status_bad_param;
	h = calloc(1, sizeof(*h));
	if (!h)
		return srtp_err_status_alloc_fail;
	h->base.type = &oc_hmac_sha1;
	h->base.state = h;
	h->base.out_len = out_len;
	h->base.key_len = key_len;
	h->base.prefix_len = 0;
	*out = &h->base;
	return srtp_err_status_ok;
}

static srtp_err_status_t hmac_free(srtp_auth_t *base)
{
	oc_hmac_t *h;

	if (!base)
		return srtp_err_status_bad_param;
	h = base->state;
	OPENSSL_cleanse(h, sizeof(*h));
	free(h);
	return srtp_err_status_ok;
}

static int hmac_pad(SHA_CTX *ctx, const unsigned char *k, unsigned char x)
{
	unsigned char pad[HMAC_BLOCK];
	int i, ok;

	for (i = 0; i < HMAC_BLOCK; i++)
		pad[i] = (unsigned char)(k[i] ^ x);
	ok = SHA1_Init(ctx) && SHA1_Update(ctx, pad, sizeof(pad));
	OPENSSL_cleanse(pad, sizeof(pad));
	return ok;
}

static srtp_err_status_t hmac_init(void *state, const uint8_t *key, int key_len)
{
	oc_hmac_t *h = state;
	unsigned char k[HMAC_BLOCK];
	int ok;

	memset(k, 0, sizeof(k));
	if (key_len > HMAC_BLOCK)
		SHA1(key, (size_t)key_len, k);
	else if (key_len > 0)
		memcpy(k, key, (size_t)key_len);
	ok = hmac_pad(&h->inner, k, 0x36) && hmac_pad(&h->outer, k, 0x5c);
	OPENSSL_cleanse(k, sizeof(k));
	h->run = h->inner;
	return ok ? srtp_err_status_ok : srtp_err_status_init_fail;
}

static srtp_err_status_t hmac_start(void *state)
{
	oc_hmac_t *h = state;

	h->run = h->inner;
	return srtp_err_status_ok;
}

static srtp_err_status_t hmac_update(void *state, const uint8_t *buf, int len)
{
	oc_hmac_t *h = state;

	if (len < 0 || !SHA1_Update(&h->run, buf, (size_t)len))
		return srtp_err_status_algo_fail;
	return srtp_err_status_ok;
}

/* The last bytes of the message (SRTP: the ROC), then the tag. */
static srtp_err_status_t hmac_compute(void *state, const uint8_t *buf, int len,
				      int tag_len, uint8_t *tag)
{
	oc_hmac_t *h = state;
	unsigned char d[SHA1_LEN];
	SHA_CTX outer = h->outer;
	int ok;

	if (len < 0 || tag_len < 0 || tag_len > SHA1_LEN)
		return srtp_err_status_bad_param;
	ok = SHA1_Update(&h->run, buf, (size_t)len) && SHA1_Final(d, &h->run) &&
	     SHA1_Update(&outer, d, sizeof(d)) && SHA1_Final(d, &outer);
	if (ok)
		memcpy(tag, d, (size_t)tag_len);
	OPENSSL_cleanse(d, sizeof(d));
	OPENSSL_cleanse(&outer, sizeof(outer));
	return ok ? srtp_err_status_ok : srtp_err_status_algo_fail;
}

/*
 * Known answers, checked by srtp_replace_*_type before a type is used.
 * AES-CM: RFC 3711 B.2 (AES-128) and RFC 6188 7.1 (AES-256), keystream
 * for SSRC 0 and index 0.  AES-GCM: the GCM specification's test cases
 * 4 and 16 (McGrew and Viega), 96-bit IV and AAD.  HMAC-SHA1: RFC 2202
 * test cases 1 and 2.
 */
static const uint8_t kat_cm128_key[30] = {
    0x2b, 0x7e, 0x15, 0x16, 0x28, 0xae, 0xd2, 0xa6, 0xab, 0xf7,
    0x15, 0x88, 0x09, 0xcf, 0x4f, 0x3c, 0xf0, 0xf1, 0xf2, 0xf3,
    0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa, 0xfb, 0xfc, 0xfd};
static const uint8_t kat_cm128_ks[32] = {
    0xe0, 0x3e, 0xad, 0x09, 0x35, 0xc9, 0x5e, 0x80, 0xe1, 0x66, 0xb1,
    0x6d, 0xd9, 0x2b, 0x4e, 0xb4, 0xd2, 0x35, 0x13, 0x16, 0x2b, 0x02,
    0xd0, 0xf7, 0x2a, 0x43, 0xa2, 0xfe, 0x4a, 0x5f, 0x97, 0xab};
static const uint8_t kat_cm256_key[46] = {
    0x57, 0xf8, 0x2f, 0xe3, 0x61, 0x3f, 0xd1, 0x70, 0xa8, 0x5e, 0xc9, 0x3c,
    0x40, 0xb1, 0xf0, 0x92, 0x2e, 0xc4, 0xcb, 0x0d, 0xc0, 0x25, 0xb5, 0x82,
    0x72, 0x14, 0x7c, 0xc4, 0x38, 0x94, 0x4a, 0x98, 0xf0, 0xf1, 0xf2, 0xf3,
    0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa, 0xfb, 0xfc, 0xfd};
static const uint8_t kat_cm256_ks[32] = {
    0x92, 0xbd, 0xd2, 0x8a, 0x93, 0xc3, 0xf5, 0x25, 0x11, 0xc6, 0x77,
    0xd0, 0x8b, 0x55, 0x15, 0xa4, 0x9d, 0xa7, 0x1b, 0x23, 0x78, 0xa8,
    0x54, 0xf6, 0x70, 0x50, 0x75, 0x6d, 0xed, 0x16, 0x5b, 0xac};
static const uint8_t kat_zero[32];
/* libsrtp2's test case type takes a non-const IV. */
static uint8_t kat_cm_iv[16];

static const srtp_cipher_test_case_t oc_icm_128_kat = {
    .key_length_octets = sizeof(kat_cm128_key),
    .key = kat_cm128_key,
    .idx = kat_cm_iv,
    .plaintext_length_octets = sizeof(kat_zero),
    .plaintext = kat_zero,
    .ciphertext_length_octets = sizeof(kat_cm128_ks),
    .ciphertext = kat_cm128_ks,
};

static const srtp_cipher_test_case_t oc_icm_256_kat = {
    .key_length_octets = sizeof(kat_cm256_key),
    .key = kat_cm256_key,
    .idx = kat_cm_iv,
    .plaintext_length_octets = sizeof(kat_zero),
    .plaintext = kat_zero,
    .ciphertext_length_octets = sizeof(kat_cm256_ks),
    .ciphertext = kat_cm256_ks,
};

/* Key, then a 12-byte salt the cipher does not use (libsrtp2 does). */
static const uint8_t kat_gcm_key[44] = {
    0xfe, 0xff, 0xe9, 0x92, 0x86, 0x65, 0x73, 0x1c, 0x6d, 0x6a, 0x8f,
    0x94, 0x67, 0x30, 0x83, 0x08, 0xfe, 0xff, 0xe9, 0x92, 0x86, 0x65,
    0x73, 0x1c, 0x6d, 0x6a, 0x8f, 0x94, 0x67, 0x30, 0x83, 0x08};
static uint8_t kat_gcm_iv[16] = {0xca, 0xfe, 0xba, 0xbe, 0xfa, 0xce,
				 0xdb, 0xad, 0xde, 0xca, 0xf8, 0x88};
static const uint8_t kat_gcm_aad[20] = {
    0xfe, 0xed, 0xfa, 0xce, 0xde, 0xad, 0xbe, 0xef, 0xfe, 0xed,
    0xfa, 0xce, 0xde, 0xad, 0xbe, 0xef, 0xab, 0xad, 0xda, 0xd2};
static const uint8_t kat_gcm_plain[60] = {
    0xd9, 0x31, 0x32, 0x25, 0xf8, 0x84, 0x06, 0xe5, 0xa5, 0x59, 0x09, 0xc5,
    0xaf, 0xf5, 0x26, 0x9a, 0x86, 0xa7, 0xa9, 0x53, 0x15, 0x34, 0xf7, 0xda,
    0x2e, 0x4c, 0x30, 0x3d, 0x8a, 0x31, 0x8a, 0x72, 0x1c, 0x3c, 0x0c, 0x95,
    0x95, 0x68, 0x09, 0x53, 0x2f, 0xcf, 0x0e, 0x24, 0x49, 0xa6, 0xb5, 0x25,
    0xb1, 0x6a, 0xed, 0xf5, 0xaa, 0x0d, 0xe6, 0x57, 0xba, 0x63, 0x7b, 0x39};
/* Ciphertext, then the 16-byte tag. */
static const uint8_t kat_gcm128_out[76] = {
    0x42, 0x83, 0x1e, 0xc2, 0x21, 0x77, 0x74, 0x24, 0x4b, 0x72, 0x21,
    0xb7, 0x84, 0xd0, 0xd4, 0x9c, 0xe3, 0xaa, 0x21, 0x2f, 0x2c, 0x02,
    0xa4, 0xe0, 0x35, 0xc1, 0x7e, 0x23, 0x29, 0xac, 0xa1, 0x2e, 0x21,
    0xd5, 0x14, 0xb2, 0x54, 0x66, 0x93, 0x1c, 0x7d, 0x8f, 0x6a, 0x5a,
    0xac, 0x84, 0xaa, 0x05, 0x1b, 0xa3, 0x0b, 0x39, 0x6a, 0x0a, 0xac,
    0x97, 0x3d, 0x58, 0xe0, 0x91, 0x5b, 0xc9, 0x4f, 0xbc, 0x32, 0x21,
    0xa5, 0xdb, 0x94, 0xfa, 0xe9, 0x5a, 0xe7, 0x12, 0x1a, 0x47};
static const uint8_t kat_gcm256_out[76] = {
    0x52, 0x2d, 0xc1, 0xf0, 0x99, 0x56, 0x7d, 0x07, 0xf4, 0x7f, 0x37,
    0xa3, 0x2a, 0x84, 0x42, 0x7d, 0x64, 0x3a, 0x8c, 0xdc, 0xbf, 0xe5,
    0xc0, 0xc9, 0x75, 0x98, 0xa2, 0xbd, 0x25, 0x55, 0xd1, 0xaa, 0x8c,
    0xb0, 0x8e, 0x48, 0x59, 0x0d, 0xbb, 0x3d, 0xa7, 0xb0, 0x8b, 0x10,
    0x56, 0x82, 0x88, 0x38, 0xc5, 0xf6, 0x1e, 0x63, 0x93, 0xba, 0x7a,
    0x0a, 0xbc, 0xc9, 0xf6, 0x62, 0x76, 0xfc, 0x6e, 0xce, 0x0f, 0x4e,
    0x17, 0x68, 0xcd, 0xdf, 0x88, 0x53, 0xbb, 0x2d, 0x55, 0x1b};

#define GCM_KAT(bits, keylen)                                                  \
	static const srtp_cipher_test_case_t oc_gcm_##bits##_kat = {           \
	    .key_length_octets = (keylen) + GCM_SALT_LEN,                      \
	    .key = kat_gcm_key,                                                \
	    .idx = kat_gcm_iv,                                                 \
	    .plaintext_length_octets = sizeof(kat_gcm_plain),                  \
	    .plaintext = kat_gcm_plain,                                        \
	    .ciphertext_length_octets = sizeof(kat_gcm##bits##_out),           \
	    .ciphertext = kat_gcm##bits##_out,                                 \
	    .aad_length_octets = sizeof(kat_gcm_aad),                          \
	    .aad = kat_gcm_aad,                                                \
	    .tag_length_octets = 16,                                           \
	}
GCM_KAT(128, 16);
GCM_KAT(256, 32);

static const uint8_t kat_hmac_key1[20] = {
    0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b,
    0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b};
static const uint8_t kat_hmac_tag1[20] = {
    0xb6, 0x17, 0x31, 0x86, 0x55, 0x05, 0x72, 0x64, 0xe2, 0x8b,
    0xc0, 0xb6, 0xfb, 0x37, 0x8c, 0x8e, 0xf1, 0x46, 0xbe, 0x00};
static const uint8_t kat_hmac_tag2[20] = {
    0xef, 0xfc, 0xdf, 0x6a, 0xe5, 0xeb, 0x2f, 0xa2, 0xd2, 0x74,
    0x16, 0xd5, 0xf1, 0x84, 0xdf, 0x9c, 0x25, 0x9a, 0x7c, 0x79};

static const srtp_auth_test_case_t oc_hmac_kat2 = {
    .key_length_octets = 4,
    .key = (const uint8_t *)"Jefe",
    .data_length_octets = 28,
    .data = (const uint8_t *)"what do ya want for nothing?",
    .tag_length_octets = sizeof(kat_hmac_tag2),
    .tag = kat_hmac_tag2,
};

static const srtp_auth_test_case_t oc_hmac_kat = {
    .key_length_octets = sizeof(kat_hmac_key1),
    .key = kat_hmac_key1,
    .data_length_octets = 8,
    .data = (const uint8_t *)"Hi There",
    .tag_length_octets = sizeof(kat_hmac_tag1),
    .tag = kat_hmac_tag1,
    .next_test_case = &oc_hmac_kat2,
};

static const srtp_cipher_type_t oc_icm_128 = {
    icm_alloc,
    oc_cipher_free,
    icm_init,
    NULL,
    icm_crypt,
    icm_crypt,
    icm_set_iv,
    NULL,
    "AES-128 counter mode (sipsbridge, OpenSSL)",
    &oc_icm_128_kat,
    SRTP_AES_ICM_128};

static const srtp_cipher_type_t oc_icm_256 = {
    icm_alloc,
    oc_cipher_free,
    icm_init,
    NULL,
    icm_crypt,
    icm_crypt,
    icm_set_iv,
    NULL,
    "AES-256 counter mode (sipsbridge, OpenSSL)",
    &oc_icm_256_kat,
    SRTP_AES_ICM_256};

static const srtp_cipher_type_t oc_gcm_128 = {
    gcm_alloc,	     oc_cipher_free,  gcm_init,
    gcm_set_aad,     gcm_encrypt,     gcm_decrypt,
    gcm_set_iv,	     gcm_get_tag,     "AES-128 GCM (sipsbridge, OpenSSL)",
    &oc_gcm_128_kat, SRTP_AES_GCM_128};

static const srtp_cipher_type_t oc_gcm_256 = {
    gcm_alloc,	     oc_cipher_free,  gcm_init,
    gcm_set_aad,     gcm_encrypt,     gcm_decrypt,
    gcm_set_iv,	     gcm_get_tag,     "AES-256 GCM (sipsbridge, OpenSSL)",
    &oc_gcm_256_kat, SRTP_AES_GCM_256};

static const srtp_auth_type_t oc_hmac_sha1 = {hmac_alloc,
					      hmac_free,
					      hmac_init,
					      hmac_compute,
					      hmac_update,
					      hmac_start,
					      "HMAC-SHA1 (sipsbridge, OpenSSL)",
					      &oc_hmac_kat,
					      SRTP_HMAC_SHA1};

static const struct {
	const srtp_cipher_type_t *type;
	const char *evp_name;
	unsigned bit;
} oc_ciphers[OC_EVP_COUNT] = {
    [OC_CTR128] = {&oc_icm_128, "AES-128-CTR", SRTP_OC_AES_ICM_128},
    [OC_CTR256] = {&oc_icm_256, "AES-256-CTR", SRTP_OC_AES_ICM_256},
    [OC_GCM128] = {&oc_gcm_128, "AES-128-GCM", SRTP_OC_AES_GCM_128},
    [OC_GCM256] = {&oc_gcm_256, "AES-256-GCM", SRTP_OC_AES_GCM_256},
};

/*
 * srtp_replace_*_type runs our known answers, then libsrtp2's own for
 * the type it replaces: a type that fails either is not installed.
 */
unsigned srtp_openssl_crypto_install(void)
{
	unsigned done = 0;
	int i;

	for (i = 0; i < OC_EVP_COUNT; i++) {
		if (!oc_evp[i])
			oc_evp[i] = EVP_CIPHER_fetch(
			    NULL, oc_ciphers[i].evp_name, NULL);
		if (oc_evp[i] &&
		    srtp_replace_cipher_type(oc_ciphers[i].type,
					     oc_ciphers[i].type->id) ==
			srtp_err_status_ok)
			done |= oc_ciphers[i].bit;
	}
	if (srtp_replace_auth_type(&oc_hmac_sha1, SRTP_HMAC_SHA1) ==
	    srtp_err_status_ok)
		done |= SRTP_OC_HMAC_SHA1;
	return done;
}
