/* fuzz_digest.c — libFuzzer: Authorization parse, then digest_verify. */
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <apr_general.h>
#include <apr_strings.h>
#include <openssl/evp.h>
#include "digest.h"

/*
 * Build: clang -fsanitize=fuzzer,address,undefined with digest.c,
 * sip_parse.c, sip_hdr.c, sip_uri.c, errors.c, pool_guard.c (with its
 * wraps), -lapr-1 -lcrypto.
 *
 * Random input never carries one of our nonces nor a right response,
 * so the harness splices them in: "@N@" becomes a nonce just issued
 * for the realm, "@O@" our opaque, and "@R@" the response a client
 * knowing the password would compute from the other fields (a second,
 * independent implementation below). That lets the fuzzer reach the
 * response, age and nonce-count code; the seeds show the form. Besides
 * the sanitizers it aborts when a nonce not issued here gets past the
 * nonce check, when an accepted credential is accepted again, or when
 * it is accepted with another password.
 */

#define CHECK(c)                                                               \
	do {                                                                   \
		if (!(c))                                                      \
			abort();                                               \
	} while (0)

#define REALM "example.com"

static apr_pool_t *root;
static digest_t *dg;

/* At exit, so that LeakSanitizer sees the digest (and its HMAC) go. */
static void teardown(void)
{
	apr_pool_destroy(root);
	apr_terminate();
}

static void setup(void)
{
	apr_initialize();
	atexit(teardown);
	CHECK(apr_pool_create(&root, NULL) == APR_SUCCESS);
	CHECK(digest_create(&dg, apr_time_from_sec(60), root) == APR_SUCCESS);
	/* Small, so that eviction and the floor are exercised too. */
	digest_set_max_nonces(dg, 16);
}

/* The quoted value of @p name in a challenge (into @p pool). */
static const char *chal_field(apr_pool_t *pool, const char *chal,
			      const char *name)
{
	const char *s = strstr(chal, apr_pstrcat(pool, name, "=\"", NULL));
	const char *e;

	CHECK(s != NULL);
	s += strlen(name) + 2;
	e = strchr(s, '"');
	CHECK(e != NULL);
	return apr_pstrmemdup(pool, s, (apr_size_t)(e - s));
}

/* Input with @N@, @O@ and @R@ replaced; "live" says whether @N@ was. */
static char *splice(apr_pool_t *pool, const uint8_t *data, size_t size,
		    const char *const with[3], int *live)
{
	char *out = apr_palloc(pool, size * 43 + 1), *o = out;
	const char *r;
	size_t i;

	*live = 0;
	for (i = 0; i < size; i++) {
		r = NULL;
		if (i + 2 < size && data[i] == '@' && data[i + 2] == '@')
			r = data[i + 1] == 'N'	 ? with[0]
			    : data[i + 1] == 'O' ? with[1]
			    : data[i + 1] == 'R' ? with[2]
						 : NULL;
		if (r == NULL) {
			*o++ = (char)data[i];
			continue;
		}
		*live |= data[i + 1] == 'N';
		memcpy(o, r, strlen(r));
		o += strlen(r);
		i += 2;
	}
	*o = '\0';
	return out;
}

/* Unquoted copy of a field; "" when absent or too long. */
static const char *field(apr_pool_t *pool, const sip_str_t *s)
{
	char *buf = apr_palloc(pool, s->len + 1);
	apr_size_t n;

	if (s->ptr == NULL || sip_hdr_unquote(s, buf, s->len + 1, &n))
		return "";
	return buf;
}

static const char *hex_h(apr_pool_t *pool, const EVP_MD *md, const char *s)
{
	unsigned char h[EVP_MAX_MD_SIZE];
	unsigned int n = 0, i;
	char *hex;

	CHECK(EVP_Digest(s, strlen(s), h, &n, md, NULL) == 1);
	hex = apr_palloc(pool, 2 * n + 1);
	for (i = 0; i < n; i++)
		sprintf(hex + 2 * i, "%02x", h[i]);
	return hex;
}

/* What a client knowing "pw" would answer to the fields of @p a. */
static const char *answer(apr_pool_t *p, const sip_auth_t *a)
{
	const char *alg = field(p, &a->algorithm), *qop = field(p, &a->qop);
	const char *nonce = field(p, &a->nonce), *cn = field(p, &a->cnonce);
	const char *nc = field(p, &a->nc), *ha1, *ha2;
	const EVP_MD *md =
	    strncasecmp(alg, "SHA-256", 7) ? EVP_md5() : EVP_sha256();

	ha1 = hex_h(p, md,
		    apr_pstrcat(p, field(p, &a->username), ":",
				field(p, &a->realm), ":pw", NULL));
	if (strstr(alg, "-sess") || strstr(alg, "-SESS"))
		ha1 = hex_h(p, md,
			    apr_pstrcat(p, ha1, ":", nonce, ":", cn, NULL));
	ha2 =
	    hex_h(p, md, apr_pstrcat(p, "REGISTER:", field(p, &a->uri), NULL));
	if (a->qop.ptr)
		return hex_h(p, md,
			     apr_pstrcat(p, ha1, ":", nonce, ":", nc, ":", cn,
					 ":", qop, ":", ha2, NULL));
	return hex_h(p, md, apr_pstrcat(p, ha1, ":", nonce, ":", ha2, NULL));
}

/* Verify once; an accepted credential must not pass a second time. */
static void verify(const sip_auth_t *auth, int live)
{
	digest_result_e r, again;

	r = digest_verify(dg, auth, "REGISTER", REALM, "pw", apr_time_now());
	CHECK(r >= DIGEST_OK && r <= DIGEST_MALFORMED);
	CHECK(strcmp(digest_result_text(r), "unknown") != 0);
	/* Without a live nonce only these two are possible. */
	if (!live)
		CHECK(r == DIGEST_BAD_NONCE || r == DIGEST_MALFORMED);
	if (r != DIGEST_OK)
		return;
	again =
	    digest_verify(dg, auth, "REGISTER", REALM, "pw", apr_time_now());
	CHECK(again == DIGEST_REPLAY || again == DIGEST_STALE);
	CHECK(digest_verify(dg, auth, "REGISTER", REALM, "other",
			    apr_time_now()) == DIGEST_WRONG);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	const char *with[3], *chal;
	apr_pool_t *pool;
	sip_auth_t auth;
	sip_str_t v;
	char *text;
	int live;

	if (!ready) {
		setup();
		ready = 1;
	}
	if (size > 4096)
		return 0;
	CHECK(apr_pool_create(&pool, root) == APR_SUCCESS);
	chal = digest_challenge(dg, pool, REALM, DIGEST_ALG_MD5, 0);
	CHECK(chal != NULL);
	with[0] = chal_field(pool, chal, "nonce");
	with[1] = chal_field(pool, chal, "opaque");
	with[2] = "00000000000000000000000000000000"
		  "00000000000000000000000000000000";
	text = splice(pool, data, size, with, &live);
	v = sip_str(text, strlen(text));
	if (sip_hdr_auth(&v, &auth) == APR_SUCCESS) {
		/* Second pass with the right answer in place of @R@. */
		with[2] = answer(pool, &auth);
		text = splice(pool, data, size, with, &live);
		v = sip_str(text, strlen(text));
		CHECK(sip_hdr_auth(&v, &auth) == APR_SUCCESS);
		verify(&auth, live);
	}
	CHECK(digest_nonce_count(dg) <= 16);
	apr_pool_destroy(pool);
	return 0;
}
