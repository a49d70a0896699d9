/* srtp_lite.h — SRTP with AES_CM_128_HMAC_SHA1_80 (RFC 3711), RTP only, one
 * SSRC per context, over OpenSSL: the bench's phones.  Written apart from
 * libsrtp so that a relay whose protect or unprotect is wrong fails here
 * too, and cheap enough (AES-NI) to leave the cores to the relay. */
#ifndef SRTP_LITE_H
#define SRTP_LITE_H

#include <stddef.h>
#include <stdint.h>
#include <openssl/evp.h>

/* Master key (16) + master salt (14), as SDES "inline:" carries them. */
#define SRTP_LITE_KEY_SALT 30
#define SRTP_LITE_TAG 10

enum srtp_lite_err {
	SRTP_LITE_OK = 0,
	SRTP_LITE_EMALFORMED = -1,
	SRTP_LITE_EAUTH = -2,
	SRTP_LITE_EREPLAY = -3,
	SRTP_LITE_ETOOBIG = -4
};

typedef struct srtp_lite {
	EVP_CIPHER_CTX *aes; /* AES-128-CTR with the session key */
	EVP_MAC_CTX *mac;    /* HMAC-SHA1 with the session auth key */
	unsigned char salt[14];
	/* RFC 3711 3.3.1: the rollover counter and the highest sequence
	 * number seen (sent, for a sender); window: the 64 indexes below
	 * the highest, bit n = highest - n seen. */
	uint32_t roc;
	uint16_t s_l;
	int started;
	uint64_t window;
} srtp_lite_t;

/** 0, or -1 when OpenSSL failed. */
int srtp_lite_init(srtp_lite_t *s, const unsigned char *key_salt);
void srtp_lite_free(srtp_lite_t *s);

/** In place: *len in and out; cap must leave SRTP_LITE_TAG bytes. */
int srtp_lite_protect(srtp_lite_t *s, unsigned char *pkt, size_t *len,
		      size_t cap);
/** In place; the tag is checked before anything is decrypted. */
int srtp_lite_unprotect(srtp_lite_t *s, unsigned char *pkt, size_t *len);

#endif
