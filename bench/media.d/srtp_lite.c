/* srtp_lite.c — AES_CM_128_HMAC_SHA1_80 protect/unprotect of RTP, RFC 3711. */
#include <string.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/params.h>
#include "srtp_lite.h"

#define HDR 12

/*
 * RFC 3711 4.3.1: with key_derivation_rate 0, key_id is the label and 48
 * zero bits, right-aligned against the 112-bit master salt, so the label
 * lands on byte 7; the PRF is AES-CM keyed with the master key whose IV
 * is that value times 2^16.
 */
static int lite_derive(const unsigned char *mkey, const unsigned char *msalt,
		       unsigned char label, unsigned char *out, int n)
{
	unsigned char iv[16] = {0}, zero[32] = {0};
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int len = 0, ok;

	memcpy(iv, msalt, 14);
	iv[7] ^= label;
	ok = c && EVP_EncryptInit_ex(c, EVP_aes_128_ctr(), NULL, mkey, iv) &&
	     EVP_EncryptUpdate(c, out, &len, zero, n) && len == n;
	EVP_CIPHER_CTX_free(c);
	OPENSSL_cleanse(iv, sizeof(iv));
	return ok ? 0 : -1;
}

int srtp_lite_init(srtp_lite_t *s, const unsigned char *key_salt)
{
	unsigned char k_e[16], k_a[20];
	OSSL_PARAM params[2];
	EVP_MAC *hmac;
	int rv = -1;

	memset(s, 0, sizeof(*s));
	if (lite_derive(key_salt, key_salt + 16, 0, k_e, 16) ||
	    lite_derive(key_salt, key_salt + 16, 1, k_a, 20) ||
	    lite_derive(key_salt, key_salt + 16, 2, s->salt, 14))
		goto done;
	s->aes = EVP_CIPHER_CTX_new();
	if (!s->aes ||
	    !EVP_EncryptInit_ex(s->aes, EVP_aes_128_ctr(), NULL, k_e, NULL))
		goto done;
	hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	s->mac = hmac ? EVP_MAC_CTX_new(hmac) : NULL;
	EVP_MAC_free(hmac);
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
						     "SHA1", 0);
	params[1] = OSSL_PARAM_construct_end();
	if (!s->mac || !EVP_MAC_init(s->mac, k_a, sizeof(k_a), params))
		goto done;
	rv = 0;
done:
	OPENSSL_cleanse(k_e, sizeof(k_e));
	OPENSSL_cleanse(k_a, sizeof(k_a));
	if (rv)
		srtp_lite_free(s);
	return rv;
}

void srtp_lite_free(srtp_lite_t *s)
{
	EVP_CIPHER_CTX_free(s->aes);
	EVP_MAC_CTX_free(s->mac);
	OPENSSL_cleanse(s, sizeof(*s));
}

/* Header length with CSRCs and extension; 0 when malformed. */
static size_t lite_header(const unsigned char *p, size_t len)
{
	size_t h;

	if (len < HDR || (p[0] & 0xc0) != 0x80)
		return 0;
	h = HDR + 4u * (p[0] & 0x0f);
	if (p[0] & 0x10) {
		if (len < h + 4)
			return 0;
		h += 4 + 4u * ((size_t)p[h + 2] << 8 | p[h + 3]);
	}
	return h <= len ? h : 0;
}

/* RFC 3711 4.1.1: IV = k_s * 2^16 ^ SSRC * 2^64 ^ index * 2^16. */
static int lite_crypt(srtp_lite_t *s, unsigned char *p, size_t h, size_t len,
		      uint64_t index)
{
	unsigned char iv[16];
	int n = 0, i;

	memcpy(iv, s->salt, 14);
	iv[14] = iv[15] = 0;
	for (i = 0; i < 4; i++)
		iv[4 + i] ^= p[8 + i];
	for (i = 0; i < 6; i++)
		iv[8 + i] ^= (unsigned char)(index >> (40 - 8 * i));
	if (!EVP_EncryptInit_ex(s->aes, NULL, NULL, NULL, iv) ||
	    !EVP_EncryptUpdate(s->aes, p + h, &n, p + h, (int)(len - h)))
		return -1;
	return 0;
}

/* HMAC-SHA1 over the packet and the ROC (RFC 3711 4.2), 10 bytes. */
static int lite_tag(srtp_lite_t *s, const unsigned char *p, size_t len,
		    uint32_t roc, unsigned char *tag)
{
	unsigned char r[4] = {(unsigned char)(roc >> 24),
			      (unsigned char)(roc >> 16),
			      (unsigned char)(roc >> 8), (unsigned char)roc};
	unsigned char md[EVP_MAX_MD_SIZE];
	size_t n = 0;

	if (!EVP_MAC_init(s->mac, NULL, 0, NULL) ||
	    !EVP_MAC_update(s->mac, p, len) || !EVP_MAC_update(s->mac, r, 4) ||
	    !EVP_MAC_final(s->mac, md, &n, sizeof(md)) || n < SRTP_LITE_TAG)
		return -1;
	memcpy(tag, md, SRTP_LITE_TAG);
	return 0;
}

/* RFC 3711 3.3.1: the ROC a packet with sequence number seq belongs to. */
static uint32_t lite_guess_roc(const srtp_lite_t *s, uint16_t seq)
{
	if (!s->started)
		return 0;
	if (s->s_l < 32768)
		return (int)seq - (int)s->s_l > 32768 && s->roc ? s->roc - 1
								 : s->roc;
	return (int)s->s_l - 32768 > (int)seq ? s->roc + 1 : s->roc;
}

/* After a packet passed: highest index and replay window move on. */
static void lite_advance(srtp_lite_t *s, uint32_t v, uint16_t seq)
{
	uint64_t idx = (uint64_t)v << 16 | seq;
	uint64_t top = (uint64_t)s->roc << 16 | s->s_l;

	if (!s->started || idx > top) {
		uint64_t d = s->started ? idx - top : 64;

		s->window = d >= 64 ? 1 : (s->window << d) | 1;
		s->roc = v;
		s->s_l = seq;
		s->started = 1;
	} else {
		s->window |= (uint64_t)1 << (top - idx);
	}
}

int srtp_lite_protect(srtp_lite_t *s, unsigned char *pkt, size_t *len,
		      size_t cap)
{
	size_t h = lite_header(pkt, *len);
	uint16_t seq;
	uint32_t v;

	if (!h)
		return SRTP_LITE_EMALFORMED;
	if (cap - *len < SRTP_LITE_TAG)
		return SRTP_LITE_ETOOBIG;
	seq = (uint16_t)(pkt[2] << 8 | pkt[3]);
	v = lite_guess_roc(s, seq);
	if (lite_crypt(s, pkt, h, *len, (uint64_t)v << 16 | seq) ||
	    lite_tag(s, pkt, *len, v, pkt + *len))
		return SRTP_LITE_EMALFORMED;
	lite_advance(s, v, seq);
	*len += SRTP_LITE_TAG;
	return SRTP_LITE_OK;
}

int srtp_lite_unprotect(srtp_lite_t *s, unsigned char *pkt, size_t *len)
{
	unsigned char tag[SRTP_LITE_TAG];
	size_t body, h;
	uint64_t idx, top;
	uint16_t seq;
	uint32_t v;

	if (*len < HDR + SRTP_LITE_TAG)
		return SRTP_LITE_EMALFORMED;
	body = *len - SRTP_LITE_TAG;
	h = lite_header(pkt, body);
	if (!h)
		return SRTP_LITE_EMALFORMED;
	seq = (uint16_t)(pkt[2] << 8 | pkt[3]);
	v = lite_guess_roc(s, seq);
	idx = (uint64_t)v << 16 | seq;
	top = (uint64_t)s->roc << 16 | s->s_l;
	if (s->started && idx <= top &&
	    (top - idx >= 64 || (s->window >> (top - idx)) & 1))
		return SRTP_LITE_EREPLAY;
	if (lite_tag(s, pkt, body, v, tag))
		return SRTP_LITE_EMALFORMED;
	if (CRYPTO_memcmp(tag, pkt + body, SRTP_LITE_TAG) != 0)
		return SRTP_LITE_EAUTH;
	if (lite_crypt(s, pkt, h, body, idx))
		return SRTP_LITE_EMALFORMED;
	lite_advance(s, v, seq);
	*len = body;
	return SRTP_LITE_OK;
}
