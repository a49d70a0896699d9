/* fuzz_sdp.c — libFuzzer: SDP parse, print, re-parse, copy, edits, a=crypto. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <apr_general.h>
#include "sdp.h"
#include "sdes_roundtrip.h"

/*
 * Build: clang -fsanitize=fuzzer,address,undefined with sdp.c,
 * sdp_print.c, sdes.c, sdes_roundtrip.c, src/media/srtp*.c,
 * pool_guard.c (with its wraps) and -lapr-1 -lsrtp2 -lcrypto. Besides
 * the sanitizers, the harness aborts when a description that parsed
 * prints to text that does not parse, loses or gains media, or is not
 * a fixed point (print, parse, print gives the same bytes), when a copy
 * prints differently, and when the edits a B2BUA makes on its leg's
 * copy break the description. Every a=crypto line goes through the
 * SDES parser as the call layer reads it (name in any case, the value
 * as a C string) and, when it parses, through the printer and back
 * (sdes_roundtrip.c).
 */

#define CHECK(c)                                                               \
	do {                                                                   \
		if (!(c))                                                      \
			abort();                                               \
	} while (0)

static apr_pool_t *root;

/* Each a=crypto value of one level through sdes_roundtrip(). */
static void crypto_lines(const apr_array_header_t *attrs, apr_pool_t *pool)
{
	const sdp_attr_t *a;
	char *copy;
	size_t n;
	int i;

	for (i = 0; i < attrs->nelts; i++) {
		a = &APR_ARRAY_IDX(attrs, i, sdp_attr_t);
		if (strcasecmp(a->name, "crypto") != 0 || a->value == NULL)
			continue;
		/* Alone in a buffer of its size: ASan sees any over-read. */
		n = strlen(a->value);
		copy = malloc(n ? n : 1);
		CHECK(copy != NULL);
		memcpy(copy, a->value, n);
		(void)sdes_roundtrip(copy, n, pool);
		free(copy);
	}
}

/* Every reading helper on every media; their answers must be sane. */
static void walk(const sdp_session_t *s, apr_pool_t *pool)
{
	const sdp_media_t *m;
	const char *addr;
	apr_port_t port;
	apr_status_t rv;
	int i, hold;

	CHECK(s->version == 0 && s->origin.username != NULL);
	for (i = 0; i < s->media->nelts; i++) {
		m = APR_ARRAY_IDX(s->media, i, const sdp_media_t *);
		CHECK(m->fmts->nelts > 0 && m->nports >= 1);
		CHECK((unsigned)sdp_media_direction(s, m) <= SDP_INACTIVE);
		rv = sdp_media_rtcp(m, &port, &addr);
		CHECK(rv == APR_SUCCESS || rv == SB_ENOTFOUND ||
		      rv == SB_EMALFORMED);
		if (rv == APR_SUCCESS)
			CHECK(port > 0);
		(void)sdp_media_rtcp_mux(m);
		CHECK(sdp_media_addr(s, m) == (m->conn ? m->conn : s->conn));
		hold = sdp_is_hold(s, m);
		CHECK(hold == 0 || hold == 1);
		crypto_lines(m->attrs, pool);
	}
	(void)sdp_is_hold(s, NULL);
	(void)sdp_attr_get(s->attrs, "group");
	crypto_lines(s->attrs, pool);
}

/* Parse text that sdp_print() wrote; it must parse. */
static sdp_session_t *reparse(const char *t, apr_size_t n, apr_pool_t *pool)
{
	sdp_session_t *s = NULL;
	const char *why = NULL;

	if (sdp_parse(t, n, pool, &s, &why) != APR_SUCCESS) {
		/* Text longer than the input limit cannot come back. */
		if (n > SDP_MAX_LEN)
			return NULL;
		fprintf(stderr, "re-parse failed: %s\n", why);
		abort();
	}
	return s;
}

/* What a leg does to its copy: new address and port, new keys. */
static void edit_leg(sdp_session_t *c, apr_pool_t *pool)
{
	sdp_media_t *m;
	int i;

	sdp_conn_set(pool, &c->conn, "2001:db8::1");
	for (i = 0; i < c->media->nelts; i++) {
		m = APR_ARRAY_IDX(c->media, i, sdp_media_t *);
		sdp_conn_set(pool, &m->conn, "192.0.2.1");
		if (m->port != 0)
			m->port = 40000;
		if (sdp_attr_remove(m->attrs, "crypto") > 0)
			sdp_attr_add(
			    pool, m->attrs, "crypto",
			    "1 AES_CM_128_HMAC_SHA1_80 inline:"
			    "WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz");
		(void)sdp_attr_remove(m->attrs, "rtcp");
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	sdp_session_t *s, *s2, *c;
	const char *why = NULL;
	apr_size_t n1, n2, n3;
	char *t1, *t2, *t3;
	apr_pool_t *pool;
	apr_status_t rv;

	if (root == NULL) {
		CHECK(apr_initialize() == APR_SUCCESS);
		CHECK(apr_pool_create(&root, NULL) == APR_SUCCESS);
	}
	CHECK(apr_pool_create(&pool, root) == APR_SUCCESS);
	rv = sdp_parse((const char *)data, size, pool, &s, &why);
	if (rv != APR_SUCCESS) {
		CHECK(rv == SB_EMALFORMED || rv == SB_ETOOBIG);
		CHECK(why != NULL && *why != '\0');
		goto done;
	}
	walk(s, pool);
	t1 = sdp_print(s, pool, &n1);
	CHECK(strlen(t1) == n1);
	if ((s2 = reparse(t1, n1, pool)) == NULL)
		goto done;
	CHECK(s2->media->nelts == s->media->nelts);
	t2 = sdp_print(s2, pool, &n2);
	CHECK(n2 == n1 && memcmp(t1, t2, n1) == 0);
	c = sdp_session_copy(pool, s);
	t3 = sdp_print(c, pool, &n3);
	CHECK(n3 == n1 && memcmp(t1, t3, n1) == 0);
	edit_leg(c, pool);
	t3 = sdp_print(c, pool, &n3);
	if ((s2 = reparse(t3, n3, pool)) != NULL)
		CHECK(s2->media->nelts == s->media->nelts);
	/* The edits stayed on the copy. */
	t2 = sdp_print(s, pool, &n2);
	CHECK(n2 == n1 && memcmp(t1, t2, n1) == 0);
done:
	apr_pool_destroy(pool);
	return 0;
}
