/* srtp.c — SRTP suites and one-direction sessions over libsrtp2. */
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <srtp2/crypto_types.h>
#include <srtp2/srtp.h>
#include "sipsbridge/sb_srtp.h"
#include "srtp_crypto_private.h"

/*
 * Replay window, in packets.  RFC 3711 3.3.2 asks for at least 64 and
 * libsrtp defaults to 128: 2.5 s of 20 ms audio, but one video key frame
 * can be over 100 packets and the relay reads in batches, so reordering
 * deeper than 128 would be dropped as replay_old.  1024 costs a 128-byte
 * bitmap per stream (libsrtp accepts up to 32767).  SRTCP's window is
 * fixed by libsrtp.
 */
#define REPLAY_WINDOW 1024
#define RTP_HEADER_LEN 12
#define RTCP_HEADER_LEN 8
/* SRTCP appends E flag + 31-bit index to every packet (RFC 3711 3.4). */
#define SRTCP_INDEX_LEN 4
#define ALL_FLAGS                                                              \
	(SB_SRTP_UNENCRYPTED_SRTP | SB_SRTP_UNENCRYPTED_SRTCP |                \
	 SB_SRTP_UNAUTHENTICATED_SRTP)

typedef void (*policy_fn)(srtp_crypto_policy_t *p);

typedef struct suite_info {
	const char *name;  /* as RFC 4568 / 6188 / 7714 register it */
	const char *alias; /* another spelling peers send, or NULL */
	apr_size_t key_salt_len;
	policy_fn rtp, rtcp;
	unsigned rtp_tag, rtcp_tag; /* bytes of authentication tag */
	int aead;
} suite_info_t;

/*
 * The _32 suites shorten only the SRTP tag: SRTCP keeps HMAC-SHA1-80
 * (RFC 4568 6.2.2, RFC 6188 7).  AES_CM_256 is how some
 * phones misspell RFC 6188's AES_256_CM.  RFC 7714 registers only the
 * 16-byte-tag GCM names for SDES; the _8 ones are libsrtp's (used by
 * FreeSWITCH and others), with the 8-byte tag on SRTCP too.  The SDES
 * name is the enum's, so the two cannot drift apart.
 */
#define SUITE(id, alias, len, rtp, rtcp, rtp_tag, rtcp_tag, aead)              \
	[SB_SRTP_##id] = {#id,                                                 \
			  alias,                                               \
			  len,                                                 \
			  srtp_crypto_policy_set_##rtp,                        \
			  srtp_crypto_policy_set_##rtcp,                       \
			  rtp_tag,                                             \
			  rtcp_tag,                                            \
			  aead}

static const suite_info_t suites[SB_SRTP_SUITE_COUNT] = {
    SUITE(AES_CM_128_HMAC_SHA1_80, NULL, 30, rtp_default, rtcp_default, 10, 10,
	  0),
    SUITE(AES_CM_128_HMAC_SHA1_32, NULL, 30, aes_cm_128_hmac_sha1_32,
	  rtcp_default, 4, 10, 0),
    SUITE(AES_256_CM_HMAC_SHA1_80, "AES_CM_256_HMAC_SHA1_80", 46,
	  aes_cm_256_hmac_sha1_80, aes_cm_256_hmac_sha1_80, 10, 10, 0),
    SUITE(AES_256_CM_HMAC_SHA1_32, "AES_CM_256_HMAC_SHA1_32", 46,
	  aes_cm_256_hmac_sha1_32, aes_cm_256_hmac_sha1_80, 4, 10, 0),
    SUITE(AEAD_AES_128_GCM, NULL, 28, aes_gcm_128_16_auth, aes_gcm_128_16_auth,
	  16, 16, 1),
    SUITE(AEAD_AES_256_GCM, NULL, 44, aes_gcm_256_16_auth, aes_gcm_256_16_auth,
	  16, 16, 1),
    SUITE(AEAD_AES_128_GCM_8, NULL, 28, aes_gcm_128_8_auth, aes_gcm_128_8_auth,
	  8, 8, 1),
    SUITE(AEAD_AES_256_GCM_8, NULL, 44, aes_gcm_256_8_auth, aes_gcm_256_8_auth,
	  8, 8, 1),
};

struct sb_srtp {
	srtp_t ctx; /* NULL once the session has ended */
	apr_pool_t *pool;
	sb_srtp_dir_t dir;
	apr_size_t rtp_trailer, rtcp_trailer; /* bytes protect appends */
};

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static apr_status_t init_status = SB_ECONFIG;
static int suite_ok[SB_SRTP_SUITE_COUNT]; /* written once, under init_once */
static unsigned crypto_ours;		  /* SRTP_OC_* bits, under init_once */

static const suite_info_t *suite_get(sb_srtp_suite_t suite)
{
	if (suite <= SB_SRTP_NONE || suite >= SB_SRTP_SUITE_COUNT)
		return NULL;
	return &suites[suite];
}

int sb_srtp_suite_parse(const char *name, apr_size_t len, sb_srtp_suite_t *out)
{
	int i;

	if (!name || !out)
		return 0;
	for (i = SB_SRTP_NONE + 1; i < SB_SRTP_SUITE_COUNT; i++) {
		const suite_info_t *info = &suites[i];

		if ((strlen(info->name) == len &&
		     memcmp(info->name, name, len) == 0) ||
		    (info->alias && strlen(info->alias) == len &&
		     memcmp(info->alias, name, len) == 0)) {
			*out = (sb_srtp_suite_t)i;
			return 1;
		}
	}
	return 0;
}

/* NULL for SB_SRTP_NONE and values out of range. */
const char *sb_srtp_suite_name(sb_srtp_suite_t suite)
{
	const suite_info_t *info = suite_get(suite);

	return info ? info->name : NULL;
}

apr_size_t sb_srtp_suite_key_salt_len(sb_srtp_suite_t suite)
{
	const suite_info_t *info = suite_get(suite);

	return info ? info->key_salt_len : 0;
}

/*
 * The policy for one direction; the caller sets key.  RFC 4568 6.3.2-3:
 * UNENCRYPTED_SRTP / UNENCRYPTED_SRTCP drop confidentiality,
 * UNAUTHENTICATED_SRTP drops the SRTP tag (SRTCP is always
 * authenticated, RFC 3711 3.4).
 */
static apr_status_t policy_fill(srtp_policy_t *p, const suite_info_t *info,
				sb_srtp_dir_t dir, unsigned flags)
{
	unsigned rtp = sec_serv_conf_and_auth, rtcp = sec_serv_conf_and_auth;

	/*
	 * libsrtp's AEAD path (srtp_protect_aead) always encrypts and tags
	 * RTP whatever sec_serv says, so these cannot be honoured with GCM.
	 */
	if (info->aead &&
	    (flags & (SB_SRTP_UNENCRYPTED_SRTP | SB_SRTP_UNAUTHENTICATED_SRTP)))
		return SB_ECONFIG;
	memset(p, 0, sizeof(*p));
	info->rtp(&p->rtp);
	info->rtcp(&p->rtcp);
	if (flags & SB_SRTP_UNENCRYPTED_SRTP)
		rtp &= ~(unsigned)sec_serv_conf;
	if (flags & SB_SRTP_UNENCRYPTED_SRTCP)
		rtcp &= ~(unsigned)sec_serv_conf;
	if (flags & SB_SRTP_UNAUTHENTICATED_SRTP) {
		rtp &= ~(unsigned)sec_serv_auth;
		/* Else libsrtp's unprotect still strips a tag never sent. */
		p->rtp.auth_type = SRTP_NULL_AUTH;
		p->rtp.auth_key_len = 0;
		p->rtp.auth_tag_len = 0;
	}
	p->rtp.sec_serv = (srtp_sec_serv_t)rtp;
	p->rtcp.sec_serv = (srtp_sec_serv_t)rtcp;
	/*
	 * Wildcard SSRC: one key serves every stream the peer sends or we
	 * send (a new SSRC after a re-INVITE or a transfer); libsrtp clones
	 * the template once per new SSRC, and on receive only after the
	 * first packet of that SSRC authenticated.
	 */
	p->ssrc.type =
	    dir == SB_SRTP_PROTECT ? ssrc_any_outbound : ssrc_any_inbound;
	p->window_size = REPLAY_WINDOW;
	/*
	 * The relay protects what a plain-RTP peer sends: a duplicated
	 * packet must not fail.  Same SSRC and index with the same payload
	 * give the same ciphertext, so nothing leaks.
	 */
	p->allow_repeat_tx = 1;
	return APR_SUCCESS;
}

/* Can this libsrtp really do the suite?  A round trip of one packet. */
static int suite_probe(const suite_info_t *info)
{
	unsigned char key[SB_SRTP_MAX_KEY_SALT];
	unsigned char pkt[RTP_HEADER_LEN + 16 + SB_SRTP_MAX_TRAILER];
	srtp_policy_t pol;
	srtp_t tx = NULL, rx = NULL;
	int n = RTP_HEADER_LEN + 16, ok = 0;

	memset(key, 0x5a, sizeof(key)); /* not secret: a self-test */
	if (policy_fill(&pol, info, SB_SRTP_PROTECT, 0) != APR_SUCCESS)
		goto done;
	pol.key = key;
	if (srtp_create(&tx, &pol) != srtp_err_status_ok)
		goto done;
	policy_fill(&pol, info, SB_SRTP_UNPROTECT, 0);
	pol.key = key;
	if (srtp_create(&rx, &pol) != srtp_err_status_ok)
		goto done;
	memset(pkt, 0, sizeof(pkt));
	pkt[0] = 0x80; /* V=2 */
	pkt[3] = 1;    /* sequence number */
	pkt[11] = 1;   /* SSRC */
	memset(pkt + RTP_HEADER_LEN, 0xa5, 16);
	if (srtp_protect(tx, pkt, &n) != srtp_err_status_ok ||
	    n != (int)(RTP_HEADER_LEN + 16 + info->rtp_tag) ||
	    pkt[RTP_HEADER_LEN] == 0xa5)
		goto done;
	if (srtp_unprotect(rx, pkt, &n) != srtp_err_status_ok ||
	    n != RTP_HEADER_LEN + 16 || pkt[RTP_HEADER_LEN] != 0xa5)
		goto done;
	ok = 1;
done:
	if (tx)
		srtp_dealloc(tx);
	if (rx)
		srtp_dealloc(rx);
	return ok;
}

/*
 * SB_SRTP_NATIVE_CRYPTO=1 keeps libsrtp2's own ciphers and HMAC (NSS in
 * Debian's build): for comparisons, and a way out should ours misbehave.
 */
static int native_crypto_wanted(void)
{
	const char *v = getenv("SB_SRTP_NATIVE_CRYPTO");

	return v && *v && strcmp(v, "0") != 0;
}

static void global_init_once(void)
{
	int i;

	if (srtp_init() != srtp_err_status_ok)
		return; /* init_status stays SB_ECONFIG */
	/* Before any session: one keeps the implementation it was made with. */
	if (!native_crypto_wanted())
		crypto_ours = srtp_openssl_crypto_install();
	/* The probes run on what sessions will use. */
	for (i = SB_SRTP_NONE + 1; i < SB_SRTP_SUITE_COUNT; i++)
		suite_ok[i] = suite_probe(&suites[i]);
	init_status = APR_SUCCESS;
}

apr_status_t sb_srtp_global_init(void)
{
	if (pthread_once(&init_once, global_init_once) != 0)
		return APR_EGENERAL;
	return init_status;
}

const char *sb_srtp_crypto_name(void)
{
	if (sb_srtp_global_init() != APR_SUCCESS || crypto_ours == 0)
		return "libsrtp2";
	return crypto_ours == SRTP_OC_ALL ? "openssl" : "openssl+libsrtp2";
}

int sb_srtp_suite_supported(sb_srtp_suite_t suite)
{
	if (!suite_get(suite) || sb_srtp_global_init() != APR_SUCCESS)
		return 0;
	return suite_ok[suite];
}

/*
 * Fills the suite's key + salt length (the rest of a larger buffer is
 * left alone); APR_EINVAL when @p len is smaller.
 */
apr_status_t sb_srtp_keygen(sb_srtp_suite_t suite, unsigned char *out,
			    apr_size_t len)
{
	const suite_info_t *info = suite_get(suite);
	unsigned char tmp[SB_SRTP_MAX_KEY_SALT];
	apr_status_t rv = APR_SUCCESS;

	if (!info)
		return SB_ECONFIG;
	if (!out || len < info->key_salt_len)
		return APR_EINVAL;
	/* Through tmp so that out is untouched when RAND_bytes fails. */
	if (RAND_bytes(tmp, (int)info->key_salt_len) != 1)
		rv = APR_EGENERAL;
	else
		memcpy(out, tmp, info->key_salt_len);
	OPENSSL_cleanse(tmp, sizeof(tmp));
	return rv;
}

static apr_status_t srtp_cleanup(void *data)
{
	sb_srtp_t *s = data;

	/* libsrtp zeroes its session keys and salts when freeing them. */
	if (s->ctx) {
		srtp_dealloc(s->ctx);
		s->ctx = NULL;
	}
	return APR_SUCCESS;
}

/*
 * The master key lives in our memory only for the srtp_create call:
 * libsrtp derives the session keys from it and keeps no copy we could
 * wipe later, so ours is wiped at once.
 */
apr_status_t sb_srtp_create(sb_srtp_t **out, sb_srtp_suite_t suite,
			    const unsigned char *key_salt, apr_size_t len,
			    sb_srtp_dir_t dir, unsigned flags, apr_pool_t *pool)
{
	const suite_info_t *info = suite_get(suite);
	unsigned char key[SB_SRTP_MAX_KEY_SALT];
	srtp_policy_t policy;
	srtp_err_status_t st;
	srtp_t ctx = NULL;
	sb_srtp_t *s;
	apr_status_t rv;

	if (!out || !key_salt || !pool ||
	    (dir != SB_SRTP_PROTECT && dir != SB_SRTP_UNPROTECT))
		return APR_EINVAL;
	rv = sb_srtp_global_init();
	if (rv != APR_SUCCESS)
		return rv;
	if (!info || !suite_ok[suite] || len != info->key_salt_len ||
	    (flags & ~(unsigned)ALL_FLAGS))
		return SB_ECONFIG;
	rv = policy_fill(&policy, info, dir, flags);
	if (rv != APR_SUCCESS)
		return rv;
	memcpy(key, key_salt, len);
	policy.key = key;
	st = srtp_create(&ctx, &policy);
	OPENSSL_cleanse(key, sizeof(key));
	if (st != srtp_err_status_ok)
		return st == srtp_err_status_alloc_fail ? APR_ENOMEM
							: SB_ECONFIG;
	s = apr_pcalloc(pool, sizeof(*s));
	s->ctx = ctx;
	s->pool = pool;
	s->dir = dir;
	s->rtp_trailer =
	    (flags & SB_SRTP_UNAUTHENTICATED_SRTP) ? 0 : info->rtp_tag;
	s->rtcp_trailer = info->rtcp_tag + SRTCP_INDEX_LEN;
	apr_pool_cleanup_register(pool, s, srtp_cleanup, apr_pool_cleanup_null);
	*out = s;
	return APR_SUCCESS;
}

void sb_srtp_destroy(sb_srtp_t *s)
{
	/* Runs and unregisters the cleanup: a second call does nothing. */
	if (s)
		apr_pool_cleanup_run(s->pool, s, srtp_cleanup);
}

static apr_status_t status_map(srtp_err_status_t st)
{
	switch (st) {
	case srtp_err_status_ok:
		return APR_SUCCESS;
	case srtp_err_status_auth_fail:
		return SB_EAUTH;
	case srtp_err_status_replay_fail:
	case srtp_err_status_replay_old:
		return SB_EREPLAY;
	default:
		return SB_EMALFORMED;
	}
}

/*
 * libsrtp works in place and reads the header as 32-bit words: the
 * packet should start 4-byte aligned.  Protect writes exactly the
 * session's trailer past *len, so that is all cap must leave room for.
 */
static apr_status_t packet_run(sb_srtp_t *s, void *pkt, apr_size_t *len,
			       apr_size_t cap, int rtcp)
{
	apr_size_t trailer, min;
	srtp_err_status_t st;
	int n;

	if (!s || !s->ctx || !pkt || !len || *len > cap)
		return APR_EINVAL;
	trailer = rtcp ? s->rtcp_trailer : s->rtp_trailer;
	min = rtcp ? RTCP_HEADER_LEN : RTP_HEADER_LEN;
	if (*len > (apr_size_t)INT_MAX - trailer)
		return SB_ETOOBIG;
	if (*len < min)
		return SB_EMALFORMED;
	n = (int)*len;
	if (s->dir == SB_SRTP_PROTECT) {
		if (cap - *len < trailer)
			return SB_ETOOBIG;
		st = rtcp ? srtp_protect_rtcp(s->ctx, pkt, &n)
			  : srtp_protect(s->ctx, pkt, &n);
	} else {
		st = rtcp ? srtp_unprotect_rtcp(s->ctx, pkt, &n)
			  : srtp_unprotect(s->ctx, pkt, &n);
	}
	if (st != srtp_err_status_ok)
		return status_map(st);
	*len = (apr_size_t)n;
	return APR_SUCCESS;
}

apr_status_t sb_srtp_rtp(sb_srtp_t *s, void *pkt, apr_size_t *len,
			 apr_size_t cap)
{
	return packet_run(s, pkt, len, cap, 0);
}

apr_status_t sb_srtp_rtcp(sb_srtp_t *s, void *pkt, apr_size_t *len,
			  apr_size_t cap)
{
	return packet_run(s, pkt, len, cap, 1);
}
