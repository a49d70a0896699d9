/*
 * srtp_vectors.h — what the SRTP tests share: every suite with its tag
 * lengths, the RTP and RTCP packets they protect, and the root pool with
 * libsrtp started (srtp_setup and srtp_teardown to
 * cmocka_run_group_tests).
 * Included once, by a test's .c file.
 */
#ifndef SB_TEST_SRTP_VECTORS_H
#define SB_TEST_SRTP_VECTORS_H

#include <apr_general.h>
#include "sipsbridge/sb_srtp.h"

#define PAYLOAD 160
#define RTP_LEN (12 + PAYLOAD)
#define RTCP_LEN 28 /* a sender report without report blocks */
#define SSRC 0x1234abcdu

static apr_pool_t *root;

static int srtp_setup(void **state)
{
	(void)state;
	if (apr_pool_create(&root, NULL) != APR_SUCCESS)
		return -1;
	return sb_srtp_global_init() == APR_SUCCESS ? 0 : -1;
}

static int srtp_teardown(void **state)
{
	(void)state;
	apr_pool_destroy(root);
	return 0;
}

static const sb_srtp_suite_t all_suites[] = {
    SB_SRTP_AES_CM_128_HMAC_SHA1_80, SB_SRTP_AES_CM_128_HMAC_SHA1_32,
    SB_SRTP_AES_256_CM_HMAC_SHA1_80, SB_SRTP_AES_256_CM_HMAC_SHA1_32,
    SB_SRTP_AEAD_AES_128_GCM,	     SB_SRTP_AEAD_AES_256_GCM,
    SB_SRTP_AEAD_AES_128_GCM_8,	     SB_SRTP_AEAD_AES_256_GCM_8,
};

/* Tag bytes on SRTP and SRTCP: RFC 4568 6.2, RFC 6188 7, RFC 7714. */
static const unsigned tag_len[SB_SRTP_SUITE_COUNT][2] = {
    [SB_SRTP_AES_CM_128_HMAC_SHA1_80] = {10, 10},
    [SB_SRTP_AES_CM_128_HMAC_SHA1_32] = {4, 10},
    [SB_SRTP_AES_256_CM_HMAC_SHA1_80] = {10, 10},
    [SB_SRTP_AES_256_CM_HMAC_SHA1_32] = {4, 10},
    [SB_SRTP_AEAD_AES_128_GCM] = {16, 16},
    [SB_SRTP_AEAD_AES_256_GCM] = {16, 16},
    [SB_SRTP_AEAD_AES_128_GCM_8] = {8, 8},
    [SB_SRTP_AEAD_AES_256_GCM_8] = {8, 8},
};

static void put32(unsigned char *p, apr_uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

static apr_uint32_t get32(const unsigned char *p)
{
	return (apr_uint32_t)p[0] << 24 | (apr_uint32_t)p[1] << 16 |
	       (apr_uint32_t)p[2] << 8 | p[3];
}

/* V=2, PT 0 (PCMU), timestamp 160 per packet, a payload that varies. */
static void rtp_build(unsigned char *p, apr_uint16_t seq)
{
	int i;

	p[0] = 0x80;
	p[1] = 0;
	p[2] = (unsigned char)(seq >> 8);
	p[3] = (unsigned char)seq;
	put32(p + 4, (apr_uint32_t)seq * 160);
	put32(p + 8, SSRC);
	for (i = 0; i < PAYLOAD; i++)
		p[12 + i] = (unsigned char)(i * 7 + seq);
}

/* RFC 3550 6.4.1 sender report, length 6 words, n its counters. */
static void rtcp_build(unsigned char *p, apr_uint32_t n)
{
	p[0] = 0x80;
	p[1] = 200;
	p[2] = 0;
	p[3] = 6;
	put32(p + 4, SSRC);
	put32(p + 8, 0xe8a1b2c3u);
	put32(p + 12, n << 16);
	put32(p + 16, n * 160);
	put32(p + 20, n);
	put32(p + 24, n * PAYLOAD);
}

#endif
