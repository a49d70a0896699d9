/* srtp_test.c — SRTP suites and sessions: round trips, attacks, flags. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <apr_general.h>
#include "sipsbridge/sb_srtp.h"
#include "srtp_vectors.h"

typedef struct {
	apr_pool_t *pool;
	sb_srtp_suite_t suite;
	unsigned char key[SB_SRTP_MAX_KEY_SALT];
	apr_size_t key_len;
	unsigned rtp_tag, rtcp_tag;
	int aead;
	sb_srtp_t *tx, *rx;
} fx_t;

/* The packet in a heap buffer of exactly len + room: ASan sees any
 * write past the trailer the session announced. */
static unsigned char *pkt_new(const unsigned char *src, apr_size_t len,
			      apr_size_t room)
{
	unsigned char *b = malloc(len + room);

	assert_non_null(b);
	memcpy(b, src, len);
	return b;
}

static int fx_setup(void **state)
{
	fx_t *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_int_equal(apr_pool_create(&f->pool, root), APR_SUCCESS);
	f->suite = *(const sb_srtp_suite_t *)*state;
	f->key_len = sb_srtp_suite_key_salt_len(f->suite);
	f->rtp_tag = tag_len[f->suite][0];
	f->rtcp_tag = tag_len[f->suite][1];
	f->aead = f->suite >= SB_SRTP_AEAD_AES_128_GCM;
	assert_int_equal(sb_srtp_keygen(f->suite, f->key, sizeof(f->key)),
			 APR_SUCCESS);
	if (sb_srtp_suite_supported(f->suite)) {
		assert_int_equal(sb_srtp_create(&f->tx, f->suite, f->key,
						f->key_len, SB_SRTP_PROTECT, 0,
						f->pool),
				 APR_SUCCESS);
		assert_int_equal(sb_srtp_create(&f->rx, f->suite, f->key,
						f->key_len, SB_SRTP_UNPROTECT,
						0, f->pool),
				 APR_SUCCESS);
	}
	*state = f;
	return 0;
}

static int fx_teardown(void **state)
{
	fx_t *f = *state;

	apr_pool_destroy(f->pool);
	free(f);
	return 0;
}

/* An unsupported suite is refused clearly, then the test is skipped. */
static void need(fx_t *f)
{
	sb_srtp_t *s = NULL;

	if (f->tx)
		return;
	assert_int_equal(sb_srtp_create(&s, f->suite, f->key, f->key_len,
					SB_SRTP_PROTECT, 0, f->pool),
			 SB_ECONFIG);
	assert_null(s);
	skip();
}

/* Protects @p plain (RTCP when @p rtcp) in a new buffer with room for any
 * trailer; *out holds it (caller frees). */
static apr_size_t tx_pkt(sb_srtp_t *tx, int rtcp, const unsigned char *plain,
			 apr_size_t n, unsigned char **out)
{
	apr_size_t len = n;
	unsigned char *b = pkt_new(plain, n, SB_SRTP_MAX_TRAILER);

	assert_int_equal((rtcp ? sb_srtp_rtcp : sb_srtp_rtp)(
			     tx, b, &len, n + SB_SRTP_MAX_TRAILER),
			 APR_SUCCESS);
	*out = b;
	return len;
}

/* Protects one RTP packet of sequence seq; *out holds it (caller frees). */
static apr_size_t tx_rtp(fx_t *f, sb_srtp_t *tx, apr_uint16_t seq,
			 unsigned char **out)
{
	unsigned char plain[RTP_LEN];
	apr_size_t len;

	rtp_build(plain, seq);
	len = tx_pkt(tx, 0, plain, RTP_LEN, out);
	if (tx == f->tx)
		assert_int_equal(len, RTP_LEN + f->rtp_tag);
	return len;
}

static apr_size_t tx_rtcp(sb_srtp_t *tx, apr_uint32_t n, unsigned char **out)
{
	unsigned char plain[RTCP_LEN];

	rtcp_build(plain, n);
	return tx_pkt(tx, 1, plain, RTCP_LEN, out);
}

/* Where SRTCP's E flag + index sit: after the tag with AEAD (RFC 7714's
 * layout, as libsrtp writes it), before it otherwise (RFC 3711 3.4). */
static apr_uint32_t srtcp_index(fx_t *f, const unsigned char *b)
{
	return get32(b + RTCP_LEN + (f->aead ? f->rtcp_tag : 0));
}

static void t_roundtrip(void **state)
{
	fx_t *f = *state;
	unsigned char plain[RTP_LEN], *b;
	apr_size_t len, cap;
	apr_uint32_t n, idx, prev = 0;
	apr_uint16_t seq;

	need(f);
	for (seq = 1000; seq < 1010; seq++) {
		rtp_build(plain, seq);
		/* Exactly the announced room: ASan checks libsrtp keeps to it.
		 */
		cap = RTP_LEN + f->rtp_tag;
		b = pkt_new(plain, RTP_LEN, f->rtp_tag);
		len = RTP_LEN;
		assert_int_equal(sb_srtp_rtp(f->tx, b, &len, cap), APR_SUCCESS);
		assert_int_equal(len, cap);
		assert_memory_equal(b, plain, 12);
		assert_memory_not_equal(b + 12, plain + 12, PAYLOAD);
		assert_int_equal(sb_srtp_rtp(f->rx, b, &len, cap), APR_SUCCESS);
		assert_int_equal(len, RTP_LEN);
		assert_memory_equal(b, plain, RTP_LEN);
		free(b);
	}
	for (n = 1; n <= 3; n++) {
		rtcp_build(plain, n);
		cap = RTCP_LEN + f->rtcp_tag + 4;
		b = pkt_new(plain, RTCP_LEN, f->rtcp_tag + 4);
		len = RTCP_LEN;
		assert_int_equal(sb_srtp_rtcp(f->tx, b, &len, cap),
				 APR_SUCCESS);
		assert_int_equal(len, cap);
		assert_memory_equal(b, plain, 8);
		assert_memory_not_equal(b + 8, plain + 8, RTCP_LEN - 8);
		idx = srtcp_index(f, b);
		assert_true(idx & 0x80000000u); /* E: encrypted */
		if (prev)
			assert_int_equal(idx, prev + 1);
		prev = idx;
		assert_int_equal(sb_srtp_rtcp(f->rx, b, &len, cap),
				 APR_SUCCESS);
		assert_int_equal(len, RTCP_LEN);
		assert_memory_equal(b, plain, RTCP_LEN);
		free(b);
	}
}

static void t_tamper(void **state)
{
	fx_t *f = *state;
	apr_size_t len, at[3] = {40, 5, 0};
	unsigned char *b;
	int i;

	need(f);
	at[2] = RTP_LEN + f->rtp_tag - 1; /* payload, header, tag */
	for (i = 0; i < 3; i++) {
		len = tx_rtp(f, f->tx, (apr_uint16_t)(10 + i), &b);
		b[at[i]] ^= 0x01;
		assert_int_equal(sb_srtp_rtp(f->rx, b, &len, len), SB_EAUTH);
		assert_int_equal(len, RTP_LEN + f->rtp_tag);
		free(b);
	}
	/* The failures left no state behind: the next packet is fine. */
	len = tx_rtp(f, f->tx, 20, &b);
	assert_int_equal(sb_srtp_rtp(f->rx, b, &len, len), APR_SUCCESS);
	free(b);
	len = tx_rtcp(f->tx, 1, &b);
	b[12] ^= 0x80;
	assert_int_equal(sb_srtp_rtcp(f->rx, b, &len, len), SB_EAUTH);
	free(b);
	len = tx_rtcp(f->tx, 2, &b);
	b[len - 1] ^= 0x01;
	assert_int_equal(sb_srtp_rtcp(f->rx, b, &len, len), SB_EAUTH);
	free(b);
}

static void t_replay(void **state)
{
	fx_t *f = *state;
	unsigned char *b, *old[3], copy[RTP_LEN + SB_SRTP_MAX_TRAILER];
	apr_size_t len, olen[3];
	apr_uint16_t seqs[3] = {1050, 1100, 2100};
	int i;

	need(f);
	len = tx_rtp(f, f->tx, 7, &b);
	memcpy(copy, b, len);
	assert_int_equal(sb_srtp_rtp(f->rx, b, &len, len), APR_SUCCESS);
	len = RTP_LEN + f->rtp_tag;
	assert_int_equal(sb_srtp_rtp(f->rx, copy, &len, len), SB_EREPLAY);
	free(b);
	len = tx_rtcp(f->tx, 1, &b);
	memcpy(copy, b, len);
	assert_int_equal(sb_srtp_rtcp(f->rx, b, &len, len), APR_SUCCESS);
	len = RTCP_LEN + f->rtcp_tag + 4;
	assert_int_equal(sb_srtp_rtcp(f->rx, copy, &len, len), SB_EREPLAY);
	free(b);
	/* The window is 1024: 1000 behind is late, 1050 behind is a replay. */
	for (i = 0; i < 3; i++)
		olen[i] = tx_rtp(f, f->tx, seqs[i], &old[i]);
	assert_int_equal(sb_srtp_rtp(f->rx, old[2], &olen[2], olen[2]),
			 APR_SUCCESS);
	assert_int_equal(sb_srtp_rtp(f->rx, old[1], &olen[1], olen[1]),
			 APR_SUCCESS);
	assert_int_equal(sb_srtp_rtp(f->rx, old[0], &olen[0], olen[0]),
			 SB_EREPLAY);
	for (i = 0; i < 3; i++)
		free(old[i]);
	/* allow_repeat_tx: the relay may protect a duplicate from a plain
	 * RTP peer; the same index and payload give the same bytes. */
	olen[0] = tx_rtp(f, f->tx, 3000, &old[0]);
	olen[1] = tx_rtp(f, f->tx, 3000, &old[1]);
	assert_int_equal(olen[0], olen[1]);
	assert_memory_equal(old[0], old[1], olen[0]);
	assert_int_equal(sb_srtp_rtp(f->rx, old[0], &olen[0], olen[0]),
			 APR_SUCCESS);
	assert_int_equal(sb_srtp_rtp(f->rx, old[1], &olen[1], olen[1]),
			 SB_EREPLAY);
	free(old[0]);
	free(old[1]);
}

static void t_wrong_key(void **state)
{
	fx_t *f = *state;
	unsigned char other[SB_SRTP_MAX_KEY_SALT], *b;
	sb_srtp_t *rx;
	apr_size_t len;

	need(f);
	memcpy(other, f->key, f->key_len);
	other[0] ^= 0x01; /* one bit of the master key */
	assert_int_equal(sb_srtp_create(&rx, f->suite, other, f->key_len,
					SB_SRTP_UNPROTECT, 0, f->pool),
			 APR_SUCCESS);
	len = tx_rtp(f, f->tx, 1, &b);
	assert_int_equal(sb_srtp_rtp(rx, b, &len, len), SB_EAUTH);
	free(b);
	len = tx_rtcp(f->tx, 1, &b);
	assert_int_equal(sb_srtp_rtcp(rx, b, &len, len), SB_EAUTH);
	free(b);
}

static sb_srtp_t *open_with(fx_t *f, sb_srtp_dir_t dir, unsigned flags)
{
	sb_srtp_t *s = NULL;

	assert_int_equal(sb_srtp_create(&s, f->suite, f->key, f->key_len, dir,
					flags, f->pool),
			 APR_SUCCESS);
	return s;
}

/* A pair opened with flags; its tx has protected RTP seq 3 into *b. */
static apr_size_t flags_pair(fx_t *f, unsigned flags, sb_srtp_t **tx,
			     sb_srtp_t **rx, unsigned char *plain,
			     unsigned char **b)
{
	*tx = open_with(f, SB_SRTP_PROTECT, flags);
	*rx = open_with(f, SB_SRTP_UNPROTECT, flags);
	rtp_build(plain, 3);
	return tx_rtp(f, *tx, 3, b);
}

/* UNENCRYPTED_SRTP: readable payload, still tagged and checked. */
static void flags_unencrypted_srtp(fx_t *f)
{
	sb_srtp_t *tx, *rx;
	unsigned char plain[RTP_LEN], *b;
	apr_size_t len;

	len = flags_pair(f, SB_SRTP_UNENCRYPTED_SRTP, &tx, &rx, plain, &b);
	assert_int_equal(len, RTP_LEN + f->rtp_tag);
	assert_memory_equal(b, plain, RTP_LEN);
	assert_int_equal(sb_srtp_rtp(rx, b, &len, len), APR_SUCCESS);
	assert_memory_equal(b, plain, RTP_LEN);
	free(b);
	len = tx_rtp(f, tx, 4, &b);
	b[100] ^= 0x10;
	assert_int_equal(sb_srtp_rtp(rx, b, &len, len), SB_EAUTH);
	free(b);
}

/* UNAUTHENTICATED_SRTP: encrypted, no tag, so a flipped bit gets in. */
static void flags_unauthenticated_srtp(fx_t *f)
{
	sb_srtp_t *tx, *rx;
	unsigned char plain[RTP_LEN], *b;
	apr_size_t len;

	len = flags_pair(f, SB_SRTP_UNAUTHENTICATED_SRTP, &tx, &rx, plain, &b);
	assert_int_equal(len, RTP_LEN);
	assert_memory_not_equal(b + 12, plain + 12, PAYLOAD);
	b[100] ^= 0x10;
	assert_int_equal(sb_srtp_rtp(rx, b, &len, len), APR_SUCCESS);
	assert_int_equal(len, RTP_LEN);
	assert_int_equal(b[100], plain[100] ^ 0x10);
	b[100] ^= 0x10;
	assert_memory_equal(b, plain, RTP_LEN);
	free(b);
}

static void t_flags(void **state)
{
	fx_t *f = *state;
	unsigned char plain[RTCP_LEN], *b;
	sb_srtp_t *tx, *rx, *s = NULL;
	apr_size_t len;

	need(f);
	if (f->aead) {
		/* libsrtp's AEAD path always encrypts and tags RTP. */
		assert_int_equal(sb_srtp_create(&s, f->suite, f->key,
						f->key_len, SB_SRTP_PROTECT,
						SB_SRTP_UNENCRYPTED_SRTP,
						f->pool),
				 SB_ECONFIG);
		assert_int_equal(sb_srtp_create(&s, f->suite, f->key,
						f->key_len, SB_SRTP_UNPROTECT,
						SB_SRTP_UNAUTHENTICATED_SRTP,
						f->pool),
				 SB_ECONFIG);
		assert_null(s);
	} else {
		flags_unencrypted_srtp(f);
		flags_unauthenticated_srtp(f);
	}
	tx = open_with(f, SB_SRTP_PROTECT, SB_SRTP_UNENCRYPTED_SRTCP);
	rx = open_with(f, SB_SRTP_UNPROTECT, SB_SRTP_UNENCRYPTED_SRTCP);
	rtcp_build(plain, 9);
	len = tx_rtcp(tx, 9, &b);
	assert_int_equal(len, RTCP_LEN + f->rtcp_tag + 4);
	assert_memory_equal(b, plain, RTCP_LEN);
	assert_false(srtcp_index(f, b) & 0x80000000u); /* E clear */
	assert_int_equal(sb_srtp_rtcp(rx, b, &len, len), APR_SUCCESS);
	assert_int_equal(len, RTCP_LEN);
	assert_memory_equal(b, plain, RTCP_LEN);
	free(b);
	len = tx_rtcp(tx, 10, &b);
	b[20] ^= 0x04;
	assert_int_equal(sb_srtp_rtcp(rx, b, &len, len), SB_EAUTH);
	free(b);
}

static void t_limits(void **state)
{
	fx_t *f = *state;
	unsigned char plain[RTP_LEN], buf[RTP_LEN + SB_SRTP_MAX_TRAILER];
	apr_size_t len;

	need(f);
	rtp_build(plain, 1);
	memcpy(buf, plain, RTP_LEN);
	len = RTP_LEN;
	assert_int_equal(
	    sb_srtp_rtp(f->tx, buf, &len, RTP_LEN + f->rtp_tag - 1),
	    SB_ETOOBIG);
	assert_int_equal(len, RTP_LEN);
	assert_memory_equal(buf, plain, RTP_LEN);
	len = RTCP_LEN;
	assert_int_equal(
	    sb_srtp_rtcp(f->tx, buf, &len, RTCP_LEN + f->rtcp_tag + 3),
	    SB_ETOOBIG);
	len = 11;
	assert_int_equal(sb_srtp_rtp(f->tx, buf, &len, sizeof(buf)),
			 SB_EMALFORMED);
	assert_int_equal(sb_srtp_rtp(f->rx, buf, &len, sizeof(buf)),
			 SB_EMALFORMED);
	len = 7;
	assert_int_equal(sb_srtp_rtcp(f->rx, buf, &len, sizeof(buf)),
			 SB_EMALFORMED);
	len = RTP_LEN;
	assert_int_equal(sb_srtp_rtp(f->tx, buf, &len, RTP_LEN - 1),
			 APR_EINVAL);
	/* 15 CSRCs announced in a 20-byte packet: refused, not overread. */
	buf[0] = 0x8f;
	len = 20;
	assert_int_equal(sb_srtp_rtp(f->tx, buf, &len, sizeof(buf)),
			 SB_EMALFORMED);
	assert_int_equal(sb_srtp_rtp(f->rx, buf, &len, sizeof(buf)),
			 SB_EMALFORMED);
	/* Noise with a valid header is an authentication failure. */
	memcpy(buf, plain, RTP_LEN);
	len = RTP_LEN;
	assert_int_equal(sb_srtp_rtp(f->rx, buf, &len, sizeof(buf)), SB_EAUTH);
}

/* Sequence numbers wrap: the rollover counter takes over (RFC 3711 3.3.1). */
static void t_rollover(void **state)
{
	fx_t *f = *state;
	unsigned char plain[RTP_LEN], *b, *keep = NULL;
	apr_uint16_t seq = 65533;
	apr_size_t len, klen = 0;
	int i;

	need(f);
	for (i = 0; i < 6; i++, seq++) {
		rtp_build(plain, seq);
		len = tx_rtp(f, f->tx, seq, &b);
		if (seq == 65535) {
			keep = pkt_new(b, len, 0);
			klen = len;
		}
		assert_int_equal(sb_srtp_rtp(f->rx, b, &len, len), APR_SUCCESS);
		assert_memory_equal(b, plain, RTP_LEN);
		free(b);
	}
	assert_int_equal(sb_srtp_rtp(f->rx, keep, &klen, klen), SB_EREPLAY);
	free(keep);
}

/* One test on one suite of all_suites, its fixture made for it. */
#define ON_SUITE(fn, i)                                                        \
	cmocka_unit_test_prestate_setup_teardown(fn, fx_setup, fx_teardown,    \
						 (void *)&all_suites[i])
#define PER_SUITE(fn)                                                          \
	ON_SUITE(fn, 0), ON_SUITE(fn, 1), ON_SUITE(fn, 2), ON_SUITE(fn, 3),    \
	    ON_SUITE(fn, 4), ON_SUITE(fn, 5), ON_SUITE(fn, 6), ON_SUITE(fn, 7)

static void t_create_errors(void **state)
{
	static const unsigned char key[SB_SRTP_MAX_KEY_SALT] = {1, 2, 3};
	const sb_srtp_suite_t cm = SB_SRTP_AES_CM_128_HMAC_SHA1_80;
	/* One bad argument a row; out and pool: 0 passes NULL. */
	const struct {
		int out;
		sb_srtp_suite_t suite;
		const unsigned char *key;
		apr_size_t len;
		sb_srtp_dir_t dir;
		unsigned flags;
		int pool;
		apr_status_t want;
	} bad[] = {
	    {1, cm, key, 29, SB_SRTP_PROTECT, 0, 1, SB_ECONFIG},
	    {1, cm, key, 46, SB_SRTP_PROTECT, 0, 1, SB_ECONFIG},
	    {1, SB_SRTP_NONE, key, 30, SB_SRTP_PROTECT, 0, 1, SB_ECONFIG},
	    {1, SB_SRTP_SUITE_COUNT, key, 30, SB_SRTP_PROTECT, 0, 1,
	     SB_ECONFIG},
	    {1, cm, key, 30, SB_SRTP_PROTECT, 0x8, 1, SB_ECONFIG},
	    {1, cm, key, 30, (sb_srtp_dir_t)7, 0, 1, APR_EINVAL},
	    {0, cm, key, 30, SB_SRTP_PROTECT, 0, 1, APR_EINVAL},
	    {1, cm, NULL, 30, SB_SRTP_PROTECT, 0, 1, APR_EINVAL},
	    {1, cm, key, 30, SB_SRTP_PROTECT, 0, 0, APR_EINVAL},
	};
	sb_srtp_t *s = NULL;
	apr_status_t rv;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		rv = sb_srtp_create(bad[i].out ? &s : NULL, bad[i].suite,
				    bad[i].key, bad[i].len, bad[i].dir,
				    bad[i].flags, bad[i].pool ? root : NULL);
		if (rv != bad[i].want)
			fail_msg("row %zu: %d, not %d", i, rv, bad[i].want);
	}
	assert_null(s);
}

/* Ended by hand, twice, then by its pool; or by its pool alone. */
static void t_lifecycle(void **state)
{
	unsigned char key[30], pkt[RTP_LEN + SB_SRTP_MAX_TRAILER];
	sb_srtp_suite_t cm = SB_SRTP_AES_CM_128_HMAC_SHA1_80;
	apr_size_t len = RTP_LEN;
	sb_srtp_t *tx, *rx;
	apr_pool_t *p;

	(void)state;
	assert_int_equal(apr_pool_create(&p, root), APR_SUCCESS);
	assert_int_equal(sb_srtp_keygen(cm, key, sizeof(key)), APR_SUCCESS);
	assert_int_equal(
	    sb_srtp_create(&tx, cm, key, 30, SB_SRTP_PROTECT, 0, p),
	    APR_SUCCESS);
	assert_int_equal(
	    sb_srtp_create(&rx, cm, key, 30, SB_SRTP_UNPROTECT, 0, p),
	    APR_SUCCESS);
	rtp_build(pkt, 1);
	assert_int_equal(sb_srtp_rtp(tx, pkt, &len, sizeof(pkt)), APR_SUCCESS);
	assert_int_equal(sb_srtp_rtp(rx, pkt, &len, sizeof(pkt)), APR_SUCCESS);
	sb_srtp_destroy(tx);
	sb_srtp_destroy(tx);
	sb_srtp_destroy(NULL);
	rtp_build(pkt, 2);
	len = RTP_LEN;
	assert_int_equal(sb_srtp_rtp(tx, pkt, &len, sizeof(pkt)), APR_EINVAL);
	apr_pool_destroy(p); /* rx ends here, tx's cleanup is already gone */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(t_create_errors),
	    cmocka_unit_test(t_lifecycle),
	    PER_SUITE(t_roundtrip),
	    PER_SUITE(t_tamper),
	    PER_SUITE(t_replay),
	    PER_SUITE(t_wrong_key),
	    PER_SUITE(t_flags),
	    PER_SUITE(t_limits),
	    PER_SUITE(t_rollover),
	};
	int rc;

	apr_initialize();
	rc = cmocka_run_group_tests(tests, srtp_setup, srtp_teardown);
	apr_terminate();
	return rc;
}
