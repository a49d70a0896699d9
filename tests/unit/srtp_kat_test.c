/* srtp_kat_test.c — suite table, key generation, RFC 3711 known answers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <apr_general.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include "sipsbridge/sb_srtp.h"
#include "srtp_vectors.h"

/*
 * An independent reference for the AES-CM suites, from RFC 3711 with
 * OpenSSL primitives: 4.3.1 key derivation (kdr 0), 4.1.1 counter mode,
 * 4.2 HMAC-SHA1 over the packet and the ROC (0 here), 3.4 for SRTCP.
 */
static void ref_cm(const unsigned char *key, apr_size_t klen,
		   const unsigned char iv[16], unsigned char *buf, apr_size_t n)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int out = 0;

	assert_non_null(c);
	assert_int_equal(EVP_EncryptInit_ex(c,
					    klen == 16 ? EVP_aes_128_ctr()
						       : EVP_aes_256_ctr(),
					    NULL, key, iv),
			 1);
	assert_int_equal(EVP_EncryptUpdate(c, buf, &out, buf, (int)n), 1);
	EVP_CIPHER_CTX_free(c);
}

typedef struct {
	unsigned char ke[32], ka[20], ks[14];
	apr_size_t klen;
} ref_keys_t;

/* mk is the master key (klen bytes) followed by the 14-byte salt. */
static void ref_derive(const unsigned char *mk, apr_size_t klen, int rtcp,
		       ref_keys_t *k)
{
	unsigned char *out[3] = {k->ke, k->ka, k->ks};
	apr_size_t len[3] = {klen, 20, 14};
	unsigned char iv[16];
	int label;

	memset(k, 0, sizeof(*k));
	k->klen = klen;
	for (label = 0; label < 3; label++) {
		memset(iv, 0, sizeof(iv));
		memcpy(iv, mk + klen, 14);
		iv[7] ^= (unsigned char)(label + (rtcp ? 3 : 0));
		ref_cm(mk, klen, iv, out[label], len[label]);
	}
}

/* IV = k_s * 2^16 XOR SSRC * 2^64 XOR index * 2^16 (RFC 3711 4.1.1). */
static void ref_iv(const ref_keys_t *k, apr_uint32_t ssrc, apr_uint64_t index,
		   unsigned char iv[16])
{
	int i;

	memset(iv, 0, 16);
	memcpy(iv, k->ks, 14);
	for (i = 0; i < 4; i++)
		iv[4 + i] ^= (unsigned char)(ssrc >> (24 - 8 * i));
	for (i = 0; i < 6; i++)
		iv[8 + i] ^= (unsigned char)(index >> (40 - 8 * i));
}

static apr_size_t ref_srtp(const unsigned char *mk, apr_size_t klen,
			   unsigned tag, unsigned char *p, apr_size_t len)
{
	unsigned char iv[16], mac[20];
	unsigned int mlen = 0;
	ref_keys_t k;

	ref_derive(mk, klen, 0, &k);
	ref_iv(&k, get32(p + 8), (apr_uint64_t)(p[2] << 8 | p[3]), iv);
	ref_cm(k.ke, klen, iv, p + 12, len - 12);
	put32(p + len, 0); /* ROC, authenticated then replaced by the tag */
	assert_non_null(HMAC(EVP_sha1(), k.ka, 20, p, len + 4, mac, &mlen));
	memcpy(p + len, mac, tag);
	return len + tag;
}

static apr_size_t ref_srtcp(const unsigned char *mk, apr_size_t klen,
			    unsigned char *p, apr_size_t len,
			    apr_uint32_t index)
{
	unsigned char iv[16], mac[20];
	unsigned int mlen = 0;
	ref_keys_t k;

	ref_derive(mk, klen, 1, &k);
	ref_iv(&k, get32(p + 4), index, iv);
	ref_cm(k.ke, klen, iv, p + 8, len - 8);
	put32(p + len, 0x80000000u | index);
	assert_non_null(HMAC(EVP_sha1(), k.ka, 20, p, len + 4, mac, &mlen));
	memcpy(p + len + 4, mac, 10);
	return len + 14;
}

static const unsigned char b3_master[30] = {
    /* RFC 3711 B.3: master key, then master salt */
    0xe1, 0xf9, 0x7a, 0x0d, 0x3e, 0x01, 0x8b, 0xe0, 0xd6, 0x4f,
    0xa3, 0x2c, 0x06, 0xde, 0x41, 0x39, 0x0e, 0xc6, 0x75, 0xad,
    0x49, 0x8a, 0xfe, 0xeb, 0xb6, 0x96, 0x0b, 0x3a, 0xab, 0xe6,
};

/* The reference itself against RFC 3711 B.2 and B.3. */
static void t_kat_reference(void **state)
{
	static const unsigned char b2_key[16] = {
	    0x2b, 0x7e, 0x15, 0x16, 0x28, 0xae, 0xd2, 0xa6,
	    0xab, 0xf7, 0x15, 0x88, 0x09, 0xcf, 0x4f, 0x3c};
	static const unsigned char b2_iv[16] = {
	    0xf0, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7,
	    0xf8, 0xf9, 0xfa, 0xfb, 0xfc, 0xfd, 0x00, 0x00};
	static const unsigned char b2_ks[32] = {
	    0xe0, 0x3e, 0xad, 0x09, 0x35, 0xc9, 0x5e, 0x80, 0xe1, 0x66, 0xb1,
	    0x6d, 0xd9, 0x2b, 0x4e, 0xb4, 0xd2, 0x35, 0x13, 0x16, 0x2b, 0x02,
	    0xd0, 0xf7, 0x2a, 0x43, 0xa2, 0xfe, 0x4a, 0x5f, 0x97, 0xab};
	static const unsigned char b3_ke[16] = {
	    0xc6, 0x1e, 0x7a, 0x93, 0x74, 0x4f, 0x39, 0xee,
	    0x10, 0x73, 0x4a, 0xfe, 0x3f, 0xf7, 0xa0, 0x87};
	static const unsigned char b3_ks[14] = {0x30, 0xcb, 0xbc, 0x08, 0x86,
						0x3d, 0x8c, 0x85, 0xd4, 0x9d,
						0xb3, 0x4a, 0x9a, 0xe1};
	static const unsigned char b3_ka[20] = {
	    0xce, 0xbe, 0x32, 0x1f, 0x6f, 0xf7, 0x71, 0x6b, 0x6f, 0xd4,
	    0xab, 0x49, 0xaf, 0x25, 0x6a, 0x15, 0x6d, 0x38, 0xba, 0xa4};
	unsigned char ks[32];
	ref_keys_t k;

	(void)state;
	memset(ks, 0, sizeof(ks));
	ref_cm(b2_key, 16, b2_iv, ks, sizeof(ks));
	assert_memory_equal(ks, b2_ks, sizeof(ks));
	ref_derive(b3_master, 16, 0, &k);
	assert_memory_equal(k.ke, b3_ke, 16);
	assert_memory_equal(k.ks, b3_ks, 14);
	assert_memory_equal(k.ka, b3_ka, 20);
}

/* B.3's master key on one packet: V=2 PT 15 seq 0x1234 ts 0xdecafbad
 * SSRC 0xcafebabe, 16 bytes of 0xab; the bytes were worked out by hand
 * from RFC 3711 with the reference above. */
static void t_kat_rfc3711_packet(void **state)
{
	static const unsigned char want[38] = {
	    0x80, 0x0f, 0x12, 0x34, 0xde, 0xca, 0xfb, 0xad, 0xca, 0xfe,
	    0xba, 0xbe, 0x4e, 0x55, 0xdc, 0x4c, 0xe7, 0x99, 0x78, 0xd8,
	    0x8c, 0xa4, 0xd2, 0x15, 0x94, 0x9d, 0x24, 0x02, 0xb7, 0x8d,
	    0x6a, 0xcc, 0x99, 0xea, 0x17, 0x9b, 0x8d, 0xbb};
	unsigned char plain[28], pkt[28 + SB_SRTP_MAX_TRAILER];
	apr_size_t len = 28;
	sb_srtp_t *tx, *rx;

	(void)state;
	memcpy(plain, want, 12);
	memset(plain + 12, 0xab, 16);
	assert_int_equal(sb_srtp_create(&tx, SB_SRTP_AES_CM_128_HMAC_SHA1_80,
					b3_master, 30, SB_SRTP_PROTECT, 0,
					root),
			 APR_SUCCESS);
	assert_int_equal(sb_srtp_create(&rx, SB_SRTP_AES_CM_128_HMAC_SHA1_80,
					b3_master, 30, SB_SRTP_UNPROTECT, 0,
					root),
			 APR_SUCCESS);
	memcpy(pkt, plain, 28);
	assert_int_equal(sb_srtp_rtp(tx, pkt, &len, sizeof(pkt)), APR_SUCCESS);
	assert_int_equal(len, 38);
	assert_memory_equal(pkt, want, 38);
	memcpy(pkt, plain, 28);
	assert_int_equal(ref_srtp(b3_master, 16, 10, pkt, 28), 38);
	assert_memory_equal(pkt, want, 38);
	assert_int_equal(sb_srtp_rtp(rx, pkt, &len, sizeof(pkt)), APR_SUCCESS);
	assert_int_equal(len, 28);
	assert_memory_equal(pkt, plain, 28);
	sb_srtp_destroy(tx);
	sb_srtp_destroy(rx);
}

/* A protecting session of AES-CM @p suite under mk (key, then salt);
 * *klen is its key's length without the 14-byte salt. */
static sb_srtp_t *cm_open(sb_srtp_suite_t suite, const unsigned char *mk,
			  apr_size_t *klen)
{
	sb_srtp_t *tx = NULL;

	*klen = sb_srtp_suite_key_salt_len(suite) - 14;
	assert_int_equal(sb_srtp_create(&tx, suite, mk, *klen + 14,
					SB_SRTP_PROTECT, 0, root),
			 APR_SUCCESS);
	return tx;
}

/* Every AES-CM suite (RFC 6188's 256-bit keys too) against the reference. */
static void t_kat_cm_suites(void **state)
{
	unsigned char mk[46], got[RTP_LEN + 16], ref[RTP_LEN + 16];
	apr_size_t len, klen;
	sb_srtp_t *tx;
	int i;
	apr_uint16_t seq;

	(void)state;
	for (i = 0; i < 46; i++)
		mk[i] = (unsigned char)(0x30 + i * 5);
	for (i = 0; i < 4; i++) {
		tx = cm_open(all_suites[i], mk, &klen);
		for (seq = 0x4321; seq < 0x4323; seq++) {
			rtp_build(got, seq);
			rtp_build(ref, seq);
			len = RTP_LEN;
			assert_int_equal(
			    sb_srtp_rtp(tx, got, &len, sizeof(got)),
			    APR_SUCCESS);
			assert_int_equal(ref_srtp(mk, klen,
						  tag_len[all_suites[i]][0],
						  ref, RTP_LEN),
					 len);
			assert_memory_equal(got, ref, len);
		}
		sb_srtp_destroy(tx);
	}
}

/* SRTCP with AES-CM: E flag, index from 1 up, layout of RFC 3711 3.4. */
static void t_kat_srtcp(void **state)
{
	unsigned char mk[46], got[RTCP_LEN + 14], ref[RTCP_LEN + 14];
	apr_size_t len, klen;
	apr_uint32_t n;
	sb_srtp_t *tx;
	int i;

	(void)state;
	for (i = 0; i < 46; i++)
		mk[i] = (unsigned char)(0xc1 ^ (i * 3));
	for (i = 0; i < 4; i++) {
		tx = cm_open(all_suites[i], mk, &klen);
		for (n = 1; n <= 2; n++) {
			rtcp_build(got, n);
			rtcp_build(ref, n);
			len = RTCP_LEN;
			assert_int_equal(
			    sb_srtp_rtcp(tx, got, &len, sizeof(got)),
			    APR_SUCCESS);
			/* 80-bit tag even for the _32 suites (RFC 4568 6.2). */
			assert_int_equal(len, RTCP_LEN + 14);
			assert_int_equal(get32(got + RTCP_LEN),
					 0x80000000u | n);
			assert_int_equal(ref_srtcp(mk, klen, ref, RTCP_LEN, n),
					 len);
			assert_memory_equal(got, ref, len);
		}
		sb_srtp_destroy(tx);
	}
}

static void t_suite_table(void **state)
{
	static const apr_size_t want_len[] = {30, 30, 46, 46, 28, 44, 28, 44};
	static const char line[] = "AES_CM_128_HMAC_SHA1_80 inline:x";
	sb_srtp_suite_t got;
	const char *name;
	int i;

	(void)state;
	for (i = 0; i < 8; i++) {
		name = sb_srtp_suite_name(all_suites[i]);
		assert_non_null(name);
		got = SB_SRTP_NONE;
		assert_true(sb_srtp_suite_parse(name, strlen(name), &got));
		assert_int_equal(got, all_suites[i]);
		assert_int_equal(sb_srtp_suite_key_salt_len(all_suites[i]),
				 want_len[i]);
		print_message("%-24s %s\n", name,
			      sb_srtp_suite_supported(all_suites[i])
				  ? "supported"
				  : "NOT supported by this libsrtp2");
	}
	assert_true(sb_srtp_suite_supported(SB_SRTP_AES_CM_128_HMAC_SHA1_80));
	assert_false(sb_srtp_suite_supported(SB_SRTP_NONE));
	assert_false(sb_srtp_suite_supported(SB_SRTP_SUITE_COUNT));
	assert_true(sb_srtp_suite_parse("AES_CM_256_HMAC_SHA1_80", 23, &got));
	assert_int_equal(got, SB_SRTP_AES_256_CM_HMAC_SHA1_80);
	assert_true(sb_srtp_suite_parse("AES_CM_256_HMAC_SHA1_32", 23, &got));
	assert_int_equal(got, SB_SRTP_AES_256_CM_HMAC_SHA1_32);
	assert_string_equal(sb_srtp_suite_name(got), "AES_256_CM_HMAC_SHA1_32");
	/* Bounded by len, not by a NUL. */
	assert_true(sb_srtp_suite_parse(line, 23, &got));
	assert_int_equal(got, SB_SRTP_AES_CM_128_HMAC_SHA1_80);
	got = SB_SRTP_AEAD_AES_128_GCM;
	assert_false(sb_srtp_suite_parse(line, 22, &got));
	assert_false(sb_srtp_suite_parse(line, 24, &got));
	assert_false(sb_srtp_suite_parse("aes_cm_128_hmac_sha1_80", 23, &got));
	assert_false(sb_srtp_suite_parse("F8_128_HMAC_SHA1_80", 19, &got));
	assert_false(sb_srtp_suite_parse("AEAD_AES_128_GCM_16", 19, &got));
	assert_false(sb_srtp_suite_parse("", 0, &got));
	assert_false(sb_srtp_suite_parse(NULL, 5, &got));
	assert_int_equal(got, SB_SRTP_AEAD_AES_128_GCM); /* untouched */
	assert_null(sb_srtp_suite_name(SB_SRTP_NONE));
	assert_null(sb_srtp_suite_name(SB_SRTP_SUITE_COUNT));
	assert_int_equal(sb_srtp_suite_key_salt_len(SB_SRTP_NONE), 0);
}

static void t_keygen(void **state)
{
	unsigned char a[SB_SRTP_MAX_KEY_SALT + 4], b[SB_SRTP_MAX_KEY_SALT];
	unsigned char ee[sizeof(a)];

	(void)state;
	memset(a, 0xee, sizeof(a));
	memset(ee, 0xee, sizeof(ee));
	assert_int_equal(
	    sb_srtp_keygen(SB_SRTP_AES_CM_128_HMAC_SHA1_80, a, sizeof(a)),
	    APR_SUCCESS);
	assert_memory_equal(a + 30, ee, sizeof(a) - 30); /* only 30 written */
	assert_memory_not_equal(a, ee, 30);
	assert_int_equal(sb_srtp_keygen(SB_SRTP_AES_CM_128_HMAC_SHA1_80, b, 30),
			 APR_SUCCESS);
	assert_memory_not_equal(a, b, 30);
	assert_int_equal(sb_srtp_keygen(SB_SRTP_AES_256_CM_HMAC_SHA1_80, b, 46),
			 APR_SUCCESS);
	assert_memory_not_equal(a, b, 30);
	memset(b, 0xee, sizeof(b));
	assert_int_equal(sb_srtp_keygen(SB_SRTP_AEAD_AES_256_GCM, b, 43),
			 APR_EINVAL);
	assert_memory_equal(b, ee, sizeof(b));
	assert_int_equal(sb_srtp_keygen(SB_SRTP_NONE, b, sizeof(b)),
			 SB_ECONFIG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(t_suite_table),
	    cmocka_unit_test(t_keygen),
	    cmocka_unit_test(t_kat_reference),
	    cmocka_unit_test(t_kat_rfc3711_packet),
	    cmocka_unit_test(t_kat_cm_suites),
	    cmocka_unit_test(t_kat_srtcp),
	};
	int rc;

	apr_initialize();
	rc = cmocka_run_group_tests(tests, srtp_setup, srtp_teardown);
	apr_terminate();
	return rc;
}
