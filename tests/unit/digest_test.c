/* digest_test.c — challenges, nonces, responses, replay table, threads. */
#include <ctype.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <cmocka.h>
#include <apr_general.h>
#include <apr_strings.h>
#include <apr_thread_proc.h>
#include <openssl/evp.h>
#include "digest.h"

#define REALM "example.com"
#define PASS "s3cret pass"
#define TTL apr_time_from_sec(60)

typedef struct {
	apr_pool_t *pool;
	digest_t *d;
} fx_t;

/* Credentials as a client writes them; NULL fields are left out. */
typedef struct {
	const char *user;  /* as written between the quotes */
	const char *plain; /* the user name hashed; NULL: same as user */
	const char *realm, *nonce, *uri, *alg, *qop, *nc, *cnonce, *opaque;
	const char *response;
} cred_t;

/*
 * The reference: RFC 7616 3.4 written out independently with one-shot
 * EVP_Digest over formatted strings.
 */
static const char *ref_h(apr_pool_t *p, const EVP_MD *md, const char *s)
{
	unsigned char h[EVP_MAX_MD_SIZE];
	unsigned int n = 0, i;
	char *hex;

	/* No cmocka assert here: worker threads call it (a failure shows
	 * as a wrong response). */
	if (EVP_Digest(s, strlen(s), h, &n, md, NULL) != 1)
		return "";
	hex = apr_palloc(p, 2 * n + 1);
	for (i = 0; i < n; i++)
		sprintf(hex + 2 * i, "%02x", h[i]);
	return hex;
}

static const char *ref_response(apr_pool_t *p, const char *alg,
				const char *user, const char *realm,
				const char *pass, const char *method,
				const char *uri, const char *nonce,
				const char *nc, const char *cnonce,
				const char *qop)
{
	const EVP_MD *md =
	    alg && !strncasecmp(alg, "SHA-256", 7) ? EVP_sha256() : EVP_md5();
	const char *ha1, *ha2;

	ha1 = ref_h(p, md, apr_psprintf(p, "%s:%s:%s", user, realm, pass));
	if (alg && strstr(alg, "-sess"))
		ha1 = ref_h(p, md,
			    apr_psprintf(p, "%s:%s:%s", ha1, nonce, cnonce));
	ha2 = ref_h(p, md, apr_psprintf(p, "%s:%s", method, uri));
	if (qop)
		return ref_h(p, md,
			     apr_psprintf(p, "%s:%s:%s:%s:%s:%s", ha1, nonce,
					  nc, cnonce, qop, ha2));
	return ref_h(p, md, apr_psprintf(p, "%s:%s:%s", ha1, nonce, ha2));
}

/* A quoted field of a challenge, copied out; "" when absent. */
static const char *chal_field(apr_pool_t *p, const char *chal, const char *n)
{
	const char *s = strstr(chal, apr_pstrcat(p, " ", n, "=\"", NULL));
	const char *e;

	if (s == NULL)
		return "";
	s += strlen(n) + 3;
	e = strchr(s, '"');
	return e ? apr_pstrmemdup(p, s, (apr_size_t)(e - s)) : "";
}

/* A fresh qop=auth credential on a new challenge (no asserts). */
static cred_t fresh_raw(fx_t *f, digest_alg_e alg, const char *realm)
{
	const char *chal = digest_challenge(f->d, f->pool, realm, alg, 0);
	cred_t c;

	memset(&c, 0, sizeof(c));
	if (chal == NULL)
		return c;
	c.user = "alice";
	c.realm = REALM;
	c.nonce = chal_field(f->pool, chal, "nonce");
	c.opaque = chal_field(f->pool, chal, "opaque");
	c.uri = "sips:example.com";
	c.alg = alg == DIGEST_ALG_SHA256 ? "SHA-256" : "MD5";
	c.qop = "auth";
	c.nc = "00000001";
	c.cnonce = "0a4f113b";
	return c;
}

static cred_t fresh(fx_t *f, digest_alg_e alg, const char *realm)
{
	cred_t c = fresh_raw(f, alg, realm);

	assert_non_null(c.nonce);
	assert_int_equal(strlen(c.nonce), 43);
	assert_int_equal(strlen(c.opaque), 16);
	return c;
}

/* Fill c->response from the reference for @p pass. */
static void sign(fx_t *f, cred_t *c, const char *pass)
{
	c->response = ref_response(
	    f->pool, c->alg, c->plain ? c->plain : c->user, REALM, pass,
	    "REGISTER", c->uri, c->nonce, c->nc, c->cnonce, c->qop);
}

/* Write the header value, parse it as the registrar does, verify. */
static digest_result_e run(fx_t *f, const cred_t *c, const char *pass,
			   apr_time_t now)
{
	const char *v = "Digest ";
	sip_auth_t a;
	sip_str_t s;

#define ADD(fmt, x)                                                            \
	if (x)                                                                 \
		v = apr_psprintf(f->pool, "%s%s" fmt, v, v[7] ? ", " : "", x);
	ADD("username=\"%s\"", c->user)
	ADD("realm=\"%s\"", c->realm)
	ADD("nonce=\"%s\"", c->nonce)
	ADD("uri=\"%s\"", c->uri)
	ADD("response=\"%s\"", c->response)
	ADD("algorithm=%s", c->alg)
	ADD("qop=%s", c->qop)
	ADD("nc=%s", c->nc)
	ADD("cnonce=\"%s\"", c->cnonce)
	ADD("opaque=\"%s\"", c->opaque)
#undef ADD
	s = sip_str(v, strlen(v));
	if (sip_hdr_auth(&s, &a) != APR_SUCCESS)
		return (digest_result_e)-1; /* fails any assert on the result */
	return digest_verify(f->d, &a, "REGISTER", REALM, pass, now);
}

/* Sign @p c with @p pass, verify it now against PASS. */
#define EXPECT(c, pass, want)                                                  \
	do {                                                                   \
		sign(f, &(c), pass);                                           \
		assert_int_equal(run(f, &(c), PASS, apr_time_now()), want);    \
	} while (0)

static int setup(void **state)
{
	fx_t *f = calloc(1, sizeof(*f));

	if (f == NULL || apr_pool_create(&f->pool, NULL) != APR_SUCCESS ||
	    digest_create(&f->d, TTL, f->pool) != APR_SUCCESS)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fx_t *f = *state;

	apr_pool_destroy(f->pool);
	free(f);
	return 0;
}

/* RFC 7616 3.9.1: the reference reproduces both published responses. */
static void test_rfc7616_kat(void **state)
{
	fx_t *f = *state;
	static const char nonce[] =
	    "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v";
	static const char cnonce[] =
	    "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ";

	assert_string_equal(
	    ref_response(f->pool, "SHA-256", "Mufasa", "http-auth@example.org",
			 "Circle of Life", "GET", "/dir/index.html", nonce,
			 "00000001", cnonce, "auth"),
	    "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1");
	assert_string_equal(
	    ref_response(f->pool, "MD5", "Mufasa", "http-auth@example.org",
			 "Circle of Life", "GET", "/dir/index.html", nonce,
			 "00000001", cnonce, "auth"),
	    "8ca523f5e9506fed4657c9700eebdbec");
}

static void test_challenge_format(void **state)
{
	fx_t *f = *state;
	const char *c1 =
	    digest_challenge(f->d, f->pool, REALM, DIGEST_ALG_SHA256, 0);
	const char *c2 =
	    digest_challenge(f->d, f->pool, REALM, DIGEST_ALG_MD5, 1);
	const char *c3 = digest_challenge(f->d, f->pool, "a \"q\" \\ b",
					  DIGEST_ALG_SHA256, 0);
	const char *n1 = chal_field(f->pool, c1, "nonce");
	char out[64];
	apr_size_t n;
	sip_auth_t a;
	sip_str_t v;

	assert_true(!strncmp(c1, "Digest realm=\"example.com\", nonce=\"", 35));
	assert_int_equal(strlen(n1), 43);
	assert_int_equal(strspn(n1, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijkl"
				    "mnopqrstuvwxyz0123456789-_"),
			 43);
	assert_non_null(strstr(c1, ", algorithm=SHA-256, qop=\"auth\""));
	assert_null(strstr(c1, "stale"));
	assert_non_null(strstr(c2, ", algorithm=MD5, qop=\"auth\""));
	assert_non_null(strstr(c2, "qop=\"auth\", stale=true"));
	assert_string_not_equal(n1, chal_field(f->pool, c2, "nonce"));
	assert_string_equal(chal_field(f->pool, c1, "opaque"),
			    chal_field(f->pool, c2, "opaque"));
	/* The realm round-trips through our own parser. */
	v = sip_str(c3, strlen(c3));
	assert_int_equal(sip_hdr_auth(&v, &a), APR_SUCCESS);
	assert_int_equal(sip_hdr_unquote(&a.realm, out, sizeof(out), &n),
			 APR_SUCCESS);
	assert_string_equal(out, "a \"q\" \\ b");
	assert_int_equal(a.nonce.len, 43);
}

static void test_ok(void **state)
{
	fx_t *f = *state;
	static const char *const algs[] = {
	    "MD5", "SHA-256", "MD5-sess", "SHA-256-sess", "sha-256", NULL};
	cred_t c;
	int i;

	for (i = 0; i < 6; i++) {
		c = fresh(f, DIGEST_ALG_SHA256, REALM);
		c.alg = algs[i]; /* NULL: absent, which means MD5 */
		EXPECT(c, PASS, DIGEST_OK);
	}
	/* Upper-case hex in the response is the same answer. */
	c = fresh(f, DIGEST_ALG_MD5, REALM);
	sign(f, &c, PASS);
	c.response = apr_pstrdup(f->pool, c.response);
	for (i = 0; c.response[i]; i++)
		((char *)c.response)[i] = (char)toupper(c.response[i]);
	assert_int_equal(run(f, &c, PASS, apr_time_now()), DIGEST_OK);
	/* No opaque echoed is fine. */
	c = fresh(f, DIGEST_ALG_MD5, REALM);
	c.opaque = NULL;
	EXPECT(c, PASS, DIGEST_OK);
	assert_int_equal(digest_nonce_count(f->d), 8);
}

static void test_quoted_username(void **state)
{
	fx_t *f = *state;
	cred_t c = fresh(f, DIGEST_ALG_SHA256, REALM);

	c.user = "al\\\"ice\\\\";
	c.plain = "al\"ice\\";
	EXPECT(c, PASS, DIGEST_OK);
	/* Hashing the escaped form instead must not pass. */
	c = fresh(f, DIGEST_ALG_SHA256, REALM);
	c.user = "al\\\"ice";
	c.plain = "al\\\"ice";
	EXPECT(c, PASS, DIGEST_WRONG);
}

static void test_wrong_password(void **state)
{
	fx_t *f = *state;
	cred_t c = fresh(f, DIGEST_ALG_SHA256, REALM);

	EXPECT(c, "guess", DIGEST_WRONG);
	c = fresh(f, DIGEST_ALG_MD5, REALM);
	sign(f, &c, PASS);
	assert_int_equal(run(f, &c, "other", apr_time_now()), DIGEST_WRONG);
	assert_int_equal(digest_nonce_count(f->d), 0);
}

static void test_replay(void **state)
{
	fx_t *f = *state;
	cred_t c = fresh(f, DIGEST_ALG_SHA256, REALM);
	static const struct {
		const char *nc;
		digest_result_e want;
	} seq[] = {
	    {"00000001", DIGEST_OK},	 {"00000001", DIGEST_REPLAY},
	    {"00000002", DIGEST_OK},	 {"0000000A", DIGEST_OK},
	    {"00000009", DIGEST_REPLAY}, {"0000000a", DIGEST_REPLAY},
	    {"0000000b", DIGEST_OK},	 {"ffffffff", DIGEST_OK},
	    {"ffffffff", DIGEST_REPLAY},
	};
	size_t i;

	for (i = 0; i < sizeof(seq) / sizeof(seq[0]); i++) {
		c.nc = seq[i].nc;
		sign(f, &c, PASS);
		assert_int_equal(run(f, &c, PASS, apr_time_now()), seq[i].want);
	}
	assert_int_equal(digest_nonce_count(f->d), 1);
}

/* A wrong guess must not burn the nonce-count it used. */
static void test_wrong_keeps_nc(void **state)
{
	fx_t *f = *state;
	cred_t c = fresh(f, DIGEST_ALG_MD5, REALM);

	EXPECT(c, "guess", DIGEST_WRONG);
	assert_int_equal(digest_nonce_count(f->d), 0);
	EXPECT(c, PASS, DIGEST_OK);
	c.nc = "00000002";
	EXPECT(c, "guess", DIGEST_WRONG);
	EXPECT(c, PASS, DIGEST_OK);
}

/* RFC 2069 style (no qop): one request per nonce. */
static void test_no_qop(void **state)
{
	fx_t *f = *state;
	cred_t c = fresh(f, DIGEST_ALG_SHA256, REALM);

	c.qop = c.nc = c.cnonce = NULL;
	EXPECT(c, PASS, DIGEST_OK);
	assert_int_equal(run(f, &c, PASS, apr_time_now()), DIGEST_REPLAY);
	/* Nor can the spent nonce come back with qop. */
	c.qop = "auth";
	c.nc = "00000005";
	c.cnonce = "abc";
	EXPECT(c, PASS, DIGEST_REPLAY);
	/* A qop nonce cannot be reused without qop either. */
	c = fresh(f, DIGEST_ALG_SHA256, REALM);
	EXPECT(c, PASS, DIGEST_OK);
	c.qop = c.nc = c.cnonce = NULL;
	EXPECT(c, PASS, DIGEST_REPLAY);
}

static void test_forged_nonce(void **state)
{
	fx_t *f = *state;
	cred_t c;
	char *n;
	int i;

	/* Every position: flipping one character breaks the MAC. */
	for (i = 0; i < 43; i++) {
		c = fresh(f, DIGEST_ALG_SHA256, REALM);
		n = apr_pstrdup(f->pool, c.nonce);
		n[i] = n[i] == 'A' ? 'B' : 'A';
		c.nonce = n;
		EXPECT(c, PASS, DIGEST_BAD_NONCE);
	}
	c = fresh(f, DIGEST_ALG_SHA256, REALM);
	c.nonce = apr_pstrcat(f->pool, c.nonce, "A", NULL);
	EXPECT(c, PASS, DIGEST_BAD_NONCE);
	c = fresh(f, DIGEST_ALG_SHA256, REALM);
	n = apr_pstrdup(f->pool, c.nonce);
	n[10] = '+'; /* base64, not base64url */
	c.nonce = n;
	EXPECT(c, PASS, DIGEST_BAD_NONCE);
	c = fresh(f, DIGEST_ALG_SHA256, REALM);
	c.nonce = "ea9c8e88df84f1cec4341ae6cbe5a359";
	EXPECT(c, PASS, DIGEST_BAD_NONCE);
	/* Our nonce with someone else's opaque. */
	c = fresh(f, DIGEST_ALG_SHA256, REALM);
	c.opaque = "bm90IG91cnM";
	EXPECT(c, PASS, DIGEST_BAD_NONCE);
	assert_int_equal(digest_nonce_count(f->d), 0);
}

static void test_other_realm_or_secret(void **state)
{
	fx_t *f = *state;
	cred_t c = fresh(f, DIGEST_ALG_SHA256, "other.example.com");
	digest_t *d2;

	EXPECT(c, PASS, DIGEST_BAD_NONCE);
	/* Another instance (another secret) does not know our nonces. */
	c = fresh(f, DIGEST_ALG_SHA256, REALM);
	sign(f, &c, PASS);
	assert_int_equal(digest_create(&d2, TTL, f->pool), APR_SUCCESS);
	f->d = d2;
	assert_int_equal(run(f, &c, PASS, apr_time_now()), DIGEST_BAD_NONCE);
}

static void test_stale(void **state)
{
	fx_t *f = *state;
	apr_time_t later = apr_time_now() + TTL + apr_time_from_sec(1);
	cred_t c = fresh(f, DIGEST_ALG_SHA256, REALM);

	sign(f, &c, PASS);
	assert_int_equal(run(f, &c, PASS, later), DIGEST_STALE);
	/* stale=true is only for a right answer (RFC 7616 3.3). */
	sign(f, &c, "guess");
	assert_int_equal(run(f, &c, PASS, later), DIGEST_WRONG);
	/* Still fresh now, since the stale answer did not consume it. */
	EXPECT(c, PASS, DIGEST_OK);
}

static void test_short_ttl_purge(void **state)
{
	fx_t *f = *state;
	cred_t c;
	int i;

	assert_int_equal(digest_create(&f->d, apr_time_from_msec(200), f->pool),
			 APR_SUCCESS);
	for (i = 0; i < 3; i++) {
		c = fresh(f, DIGEST_ALG_MD5, REALM);
		EXPECT(c, PASS, DIGEST_OK);
	}
	assert_int_equal(digest_nonce_count(f->d), 3);
	apr_sleep(apr_time_from_msec(300));
	c.nc = "00000002";
	EXPECT(c, PASS, DIGEST_STALE);
	c = fresh(f, DIGEST_ALG_MD5, REALM);
	EXPECT(c, PASS, DIGEST_OK);
	/* The expired three went on the way. */
	assert_int_equal(digest_nonce_count(f->d), 1);
}

static void test_malformed(void **state)
{
	fx_t *f = *state;
	static const char *const bad_nc[] = {"0000001",	 "000000001",
					     "0000000g", "00000000",
					     "-0000001", "0x000001"};
	cred_t c, base = fresh(f, DIGEST_ALG_SHA256, REALM);
	size_t i;

#define EXPECT_MALFORMED(stmt)                                                 \
	do {                                                                   \
		c = base;                                                      \
		stmt;                                                          \
		if (!c.response)                                               \
			sign(f, &c, PASS);                                     \
		assert_int_equal(run(f, &c, PASS, apr_time_now()),             \
				 DIGEST_MALFORMED);                            \
	} while (0)
	EXPECT_MALFORMED(c.cnonce = NULL);
	EXPECT_MALFORMED(c.cnonce = "");
	EXPECT_MALFORMED(c.nc = NULL);
	for (i = 0; i < sizeof(bad_nc) / sizeof(bad_nc[0]); i++)
		EXPECT_MALFORMED(c.nc = bad_nc[i]);
	EXPECT_MALFORMED(c.qop = "auth-int");
	EXPECT_MALFORMED(c.qop = "\"auth,auth-int\"");
	EXPECT_MALFORMED(c.alg = "SHA-512-256");
	EXPECT_MALFORMED(c.alg = "MD5x");
	EXPECT_MALFORMED(c.user = NULL);
	EXPECT_MALFORMED(c.uri = NULL);
	EXPECT_MALFORMED(c.uri = "");
	EXPECT_MALFORMED(c.nonce = NULL);
	EXPECT_MALFORMED(c.realm = NULL);
	EXPECT_MALFORMED(c.realm = "EXAMPLE.COM");
	EXPECT_MALFORMED(c.response = "");
	EXPECT_MALFORMED(c.response = "8ca523f5e9506fed4657c9700eebdbec");
	EXPECT_MALFORMED(
	    c.response = apr_pstrcat(
		f->pool, "z", ref_h(f->pool, EVP_sha256(), "x") + 1, NULL));
	EXPECT_MALFORMED(c.qop = NULL); /* nc and cnonce without qop */
	EXPECT_MALFORMED(
	    (c.qop = NULL, c.nc = NULL, c.cnonce = NULL, c.alg = "MD5-sess"));
	EXPECT_MALFORMED(c.uri = apr_pstrcat(
			     f->pool, "sip:",
			     apr_psprintf(f->pool, "%*s", DIGEST_MAX_URI, "u"),
			     NULL));
	EXPECT_MALFORMED(
	    c.user = apr_psprintf(f->pool, "%*s", DIGEST_MAX_FIELD, "u"));
#undef EXPECT_MALFORMED
	/* Not digest at all. */
	{
		sip_str_t s = sip_str("Basic realm=\"x\"", 15);
		sip_auth_t a;

		assert_int_equal(sip_hdr_auth(&s, &a), APR_SUCCESS);
		assert_int_equal(digest_verify(f->d, &a, "REGISTER", REALM,
					       PASS, apr_time_now()),
				 DIGEST_MALFORMED);
	}
	assert_int_equal(digest_nonce_count(f->d), 0);
	/* None of that used the nonce up. */
	c = base;
	EXPECT(c, PASS, DIGEST_OK);
}

static void test_table_bound(void **state)
{
	fx_t *f = *state;
	cred_t c[20], late;
	int i;

	for (i = 0; i < 20; i++)
		c[i] = fresh(f, DIGEST_ALG_SHA256, REALM);
	late = c[0]; /* issued first, used last */
	digest_set_max_nonces(f->d, 8);
	for (i = 1; i < 20; i++) {
		EXPECT(c[i], PASS, DIGEST_OK);
		assert_true(digest_nonce_count(f->d) <= 8);
	}
	assert_int_equal(digest_nonce_count(f->d), 8);
	/* An evicted nonce cannot be replayed: it must start over. */
	EXPECT(c[1], PASS, DIGEST_STALE);
	c[1].nc = "00000002";
	EXPECT(c[1], PASS, DIGEST_STALE);
	/* Below the floor although never used: it may not be trusted. */
	EXPECT(late, PASS, DIGEST_STALE);
	/* Kept ones go on; a fresh challenge works. */
	c[19].nc = "00000002";
	EXPECT(c[19], PASS, DIGEST_OK);
	late = fresh(f, DIGEST_ALG_MD5, REALM);
	EXPECT(late, PASS, DIGEST_OK);
	assert_int_equal(digest_nonce_count(f->d), 8);
	digest_set_max_nonces(f->d, 3);
	assert_int_equal(digest_nonce_count(f->d), 3);
	assert_int_equal(run(f, &late, PASS, apr_time_now()), DIGEST_REPLAY);
	/* Room again: evicted nonces still may not start afresh. */
	digest_set_max_nonces(f->d, 100);
	for (i = 1; i < 20; i++) {
		c[i].nc = "00000003";
		sign(f, &c[i], PASS);
		assert_int_equal(run(f, &c[i], PASS, apr_time_now()),
				 i >= 18 ? DIGEST_OK : DIGEST_STALE);
	}
}

/* A full table refuses a nonce older than all it holds, evicting none. */
static void test_table_full_older(void **state)
{
	fx_t *f = *state;
	cred_t a = fresh(f, DIGEST_ALG_MD5, REALM);
	cred_t b = fresh(f, DIGEST_ALG_MD5, REALM);
	cred_t c = fresh(f, DIGEST_ALG_MD5, REALM);

	digest_set_max_nonces(f->d, 2);
	EXPECT(b, PASS, DIGEST_OK);
	EXPECT(c, PASS, DIGEST_OK);
	EXPECT(a, PASS, DIGEST_STALE);
	assert_int_equal(digest_nonce_count(f->d), 2);
	b.nc = c.nc = "00000002";
	EXPECT(b, PASS, DIGEST_OK);
	EXPECT(c, PASS, DIGEST_OK);
	/* Used out of order while there is room: kept in ts order. */
	digest_set_max_nonces(f->d, 3);
	assert_int_equal(run(f, &a, PASS, apr_time_now()), DIGEST_OK);
	assert_int_equal(digest_nonce_count(f->d), 3);
	digest_set_max_nonces(f->d, 2); /* evicts a, the oldest nonce */
	assert_int_equal(run(f, &b, PASS, apr_time_now()), DIGEST_REPLAY);
	a.nc = "00000002";
	EXPECT(a, PASS, DIGEST_STALE);
}

typedef struct {
	digest_t *d;
	int idx;
	int ok;	   /* first use of a fresh nonce accepted */
	int twice; /* a (nonce, nc) accepted twice: must stay 0 */
} worker_t;

/* Verify @p c at nc @p nc twice: the second must never be accepted. */
static int use_twice(fx_t *f, worker_t *w, cred_t *c, const char *nc)
{
	digest_result_e r;

	c->nc = nc;
	sign(f, c, PASS);
	r = run(f, c, PASS, apr_time_now());
	w->twice += run(f, c, PASS, apr_time_now()) == DIGEST_OK;
	return r == DIGEST_OK;
}

static void *APR_THREAD_FUNC worker(apr_thread_t *t, void *data)
{
	worker_t *w = data;
	apr_pool_t *p;
	fx_t f;
	cred_t c;
	int i;

	apr_pool_create(&p, NULL);
	f.pool = p;
	f.d = w->d;
	/*
	 * cmocka is not thread-safe: count here, assert in the caller. The
	 * small table keeps evicting; another thread's burst may evict ours
	 * (then STALE), so only "never twice" is strict.
	 */
	for (i = 0; i < 300; i++) {
		c = fresh_raw(
		    &f, (w->idx + i) % 2 ? DIGEST_ALG_MD5 : DIGEST_ALG_SHA256,
		    REALM);
		if (c.nonce == NULL)
			break;
		w->ok += use_twice(&f, w, &c, "00000001");
		(void)use_twice(&f, w, &c, "00000002");
	}
	apr_pool_destroy(p);
	apr_thread_exit(t, APR_SUCCESS);
	return NULL;
}

static void test_threads(void **state)
{
	fx_t *f = *state;
	apr_thread_t *t[4];
	worker_t w[4];
	apr_status_t rv;
	int i;

	digest_set_max_nonces(f->d, 64);
	for (i = 0; i < 4; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].d = f->d;
		w[i].idx = i;
		assert_int_equal(
		    apr_thread_create(&t[i], NULL, worker, &w[i], f->pool),
		    APR_SUCCESS);
	}
	for (i = 0; i < 4; i++) {
		apr_thread_join(&rv, t[i]);
		assert_int_equal(w[i].twice, 0);
		assert_true(w[i].ok >= 290);
	}
	assert_int_equal(digest_nonce_count(f->d), 64);
}

static void test_result_text(void **state)
{
	int i, j;

	(void)state;
	for (i = DIGEST_OK; i <= DIGEST_MALFORMED; i++)
		for (j = DIGEST_OK; j < i; j++)
			assert_string_not_equal(digest_result_text(i),
						digest_result_text(j));
	assert_string_equal(digest_result_text(DIGEST_STALE), "stale nonce");
	assert_string_equal(digest_result_text((digest_result_e)99), "unknown");
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_rfc7616_kat),
	    T(test_challenge_format),
	    T(test_ok),
	    T(test_quoted_username),
	    T(test_wrong_password),
	    T(test_replay),
	    T(test_wrong_keeps_nc),
	    T(test_no_qop),
	    T(test_forged_nonce),
	    T(test_other_realm_or_secret),
	    T(test_stale),
	    T(test_short_ttl_purge),
	    T(test_malformed),
	    T(test_table_bound),
	    T(test_table_full_older),
	    T(test_threads),
	    T(test_result_text),
	};
	int rc;

	apr_initialize();
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	apr_terminate();
	return rc;
}
