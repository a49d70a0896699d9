/* sdes_test.c — a=crypto values: RFC 4568 examples, peers' lines, errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <apr_general.h>
#include <apr_strings.h>
#include "sdes.h"

#define K30 "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd" /* bytes 0..29 */
#define K46 "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLQ=="
#define K28 "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGw=="
#define K44 "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKis="

static apr_pool_t *root;

static void parse_ok(const char *line, sdes_crypto_t *c)
{
	const char *why = "unset";

	memset(c, 0xa5, sizeof(*c));
	assert_int_equal(sdes_parse(line, strlen(line), c, &why), APR_SUCCESS);
	assert_null(why);
}

/* 0, 1, 2, ... : the keys written with K30 and friends above. */
static void assert_counting_key(const sdes_crypto_t *c, apr_size_t n)
{
	apr_size_t i;

	assert_int_equal(c->key_salt_len, n);
	for (i = 0; i < n; i++)
		assert_int_equal(c->key_salt[i], i);
}

static void assert_name(const sdes_crypto_t *c, const char *name)
{
	assert_int_equal(c->suite_name_len, strlen(name));
	assert_memory_equal(c->suite_name, name, strlen(name));
}

/* RFC 4568 5.1's offer: the first line is ours, the second is not. */
static void t_rfc4568_offer(void **state)
{
	static const char l1[] =
	    "1 AES_CM_128_HMAC_SHA1_80 "
	    "inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz|2^20|1:4 "
	    "FEC_ORDER=FEC_SRTP";
	static const char l2[] =
	    "2 F8_128_HMAC_SHA1_80 "
	    "inline:MTIzNDU2Nzg5QUJDREUwMTIzNDU2Nzg5QUJjZGVm|2^20|1:4;"
	    "inline:QUJjZGVmMTIzNDU2Nzg5QUJDREUwMTIzNDU2Nzg5|2^20|2:4 "
	    "FEC_ORDER=FEC_SRTP";
	sdes_crypto_t c;

	(void)state;
	parse_ok(l1, &c);
	assert_int_equal(c.tag, 1);
	assert_int_equal(c.suite, SB_SRTP_AES_CM_128_HMAC_SHA1_80);
	assert_name(&c, "AES_CM_128_HMAC_SHA1_80");
	assert_int_equal(c.key_salt_len, 30);
	assert_memory_equal(c.key_salt, "YS___semctl () {\t220;}\n}\nunles",
			    30);
	assert_int_equal(c.lifetime, 1 << 20);
	assert_int_equal(c.mki_value, 1);
	assert_int_equal(c.mki_len, 4);
	assert_int_equal(c.flags, 0);
	/* An unknown suite: fine, its tag and name only, for skipping. */
	parse_ok(l2, &c);
	assert_int_equal(c.tag, 2);
	assert_int_equal(c.suite, SB_SRTP_NONE);
	assert_name(&c, "F8_128_HMAC_SHA1_80");
	assert_int_equal(c.key_salt_len, 0);
	assert_int_equal(c.lifetime, 0);
	assert_int_equal(c.mki_len, 0);
}

/* What baresip, FreeSWITCH, Asterisk and Linphone send. */
static void t_peer_lines(void **state)
{
	static const struct {
		const char *line;
		sb_srtp_suite_t suite;
		apr_size_t len;
	} rows[] = {
	    {"1 AES_CM_128_HMAC_SHA1_80 inline:" K30,
	     SB_SRTP_AES_CM_128_HMAC_SHA1_80, 30},
	    {"2 AES_CM_128_HMAC_SHA1_32 inline:" K30,
	     SB_SRTP_AES_CM_128_HMAC_SHA1_32, 30},
	    {"3 AES_256_CM_HMAC_SHA1_80 inline:" K46,
	     SB_SRTP_AES_256_CM_HMAC_SHA1_80, 46},
	    /* FreeSWITCH's spelling, and padding left off */
	    {"4 AES_CM_256_HMAC_SHA1_32 inline:"
	     "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLQ",
	     SB_SRTP_AES_256_CM_HMAC_SHA1_32, 46},
	    {"5 AEAD_AES_128_GCM inline:" K28, SB_SRTP_AEAD_AES_128_GCM, 28},
	    {"6 AEAD_AES_128_GCM_8 inline:"
	     "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGw",
	     SB_SRTP_AEAD_AES_128_GCM_8, 28},
	    {"7 AEAD_AES_256_GCM inline:" K44, SB_SRTP_AEAD_AES_256_GCM, 44},
	    {"8 AEAD_AES_256_GCM_8 inline:"
	     "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKis",
	     SB_SRTP_AEAD_AES_256_GCM_8, 44},
	    /* tabs and runs of blanks are 1*WSP; trailing blanks */
	    {"9\t AES_CM_128_HMAC_SHA1_80  \tINLINE:" K30 " \t",
	     SB_SRTP_AES_CM_128_HMAC_SHA1_80, 30},
	    {"999999999 AES_CM_128_HMAC_SHA1_80 inline:" K30,
	     SB_SRTP_AES_CM_128_HMAC_SHA1_80, 30},
	};
	const char *sp;
	sdes_crypto_t c;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		parse_ok(rows[i].line, &c);
		assert_int_equal(c.suite, rows[i].suite);
		assert_int_equal(c.tag, i < 9 ? i + 1 : 999999999);
		assert_counting_key(&c, rows[i].len);
		assert_int_equal(c.lifetime, 0);
		assert_int_equal(c.mki_value, 0);
		assert_int_equal(c.mki_len, 0);
		assert_int_equal(c.flags, 0);
		/* suite_name is the spelling in the line */
		sp = strchr(rows[i].line + 1, 'A');
		assert_ptr_equal(c.suite_name, sp);
	}
}

static void t_session_params(void **state)
{
	static const struct {
		const char *params;
		unsigned flags;
	} rows[] = {
	    {" UNENCRYPTED_SRTCP", SB_SRTP_UNENCRYPTED_SRTCP},
	    {" UNENCRYPTED_SRTP", SB_SRTP_UNENCRYPTED_SRTP},
	    {" UNAUTHENTICATED_SRTP", SB_SRTP_UNAUTHENTICATED_SRTP},
	    {" UNAUTHENTICATED_SRTP\tUNENCRYPTED_SRTCP  UNENCRYPTED_SRTP",
	     SB_SRTP_UNENCRYPTED_SRTP | SB_SRTP_UNENCRYPTED_SRTCP |
		 SB_SRTP_UNAUTHENTICATED_SRTP},
	    {" KDR=23 FEC_ORDER=SRTP_FEC WSH=128", 0},
	    {" -x-ours=1 FEC_KEY=inline:" K30 " unencrypted_srtp", 0},
	    {" UNENCRYPTED_SRTPX WSH=64 UNENCRYPTED_SRTCP",
	     SB_SRTP_UNENCRYPTED_SRTCP},
	};
	const char *base = "7 AES_CM_128_HMAC_SHA1_32 inline:" K30 "|2^31";
	sdes_crypto_t c;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		parse_ok(apr_pstrcat(root, base, rows[i].params, NULL), &c);
		assert_int_equal(c.flags, rows[i].flags);
		assert_int_equal(c.lifetime, (apr_uint64_t)1 << 31);
		assert_counting_key(&c, 30);
	}
}

static void t_lifetime_mki(void **state)
{
	static const struct {
		const char *tail;
		apr_uint64_t lifetime;
		unsigned mki_value, mki_len;
	} rows[] = {
	    {"|2^0", 1, 0, 0},
	    {"|2^48", (apr_uint64_t)1 << 48, 0, 0},
	    {"|1000000", 1000000, 0, 0},
	    {"|281474976710656", (apr_uint64_t)1 << 48, 0, 0},
	    {"|1:1", 0, 1, 1},
	    {"|255:1", 0, 255, 1},
	    {"|4294967295:4", 0, 4294967295u, 4},
	    {"|1066:128", 0, 1066, 128},
	    {"|2^20|0:2", 1 << 20, 0, 2},
	};
	sdes_crypto_t c;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		parse_ok(apr_pstrcat(root, "1 AES_256_CM_HMAC_SHA1_80 inline:",
				     K46, rows[i].tail, NULL),
			 &c);
		assert_int_equal(c.lifetime, rows[i].lifetime);
		assert_int_equal(c.mki_value, rows[i].mki_value);
		assert_int_equal(c.mki_len, rows[i].mki_len);
		assert_counting_key(&c, 46);
	}
}

/* Each refused, with a reason containing the word given. */
static const struct {
	const char *line;
	const char *why; /* a word the reason must contain */
} reject_rows[] = {
    {"", "tag"},
    {" 1 AES_CM_128_HMAC_SHA1_80 inline:" K30, "tag"},
    {"0 AES_CM_128_HMAC_SHA1_80 inline:" K30, "tag"},
    {"1000000000 AES_CM_128_HMAC_SHA1_80 inline:" K30, "tag"},
    {"0000000001 AES_CM_128_HMAC_SHA1_80 inline:" K30, "tag"},
    {"1a AES_CM_128_HMAC_SHA1_80 inline:" K30, "tag"},
    {"1", "crypto-suite"},
    {"1 ", "crypto-suite"},
    {"1 AES-CM-128 inline:" K30, "crypto-suite"},
    {"1 AES_CM_128_HMAC_SHA1_80", "key-params"},
    {"1 AES_CM_128_HMAC_SHA1_80 \t", "key-params"},
    {"1 AES_CM_128_HMAC_SHA1_80 inline:" K30 "|2^20|1:4;inline:" K30
     "|2^20|2:4",
     "several keys"},
    {"1 AES_CM_128_HMAC_SHA1_80 uri:" K30, "inline"},
    {"1 AES_CM_128_HMAC_SHA1_80 inline" K30, "inline"},
    {"1 AES_CM_128_HMAC_SHA1_80 inline:", "key"},
    {"1 AES_CM_128_HMAC_SHA1_80 inline:" K28, "key"},
    {"1 AES_CM_128_HMAC_SHA1_80 inline:" K46, "key"},
    {"1 AES_256_CM_HMAC_SHA1_80 inline:" K30, "key"},
    {"1 AEAD_AES_256_GCM inline:" K46, "key"},
    {"1 AES_CM_128_HMAC_SHA1_80 inline:" K30 "A", "key"},
    {"1 AES_CM_128_HMAC_SHA1_80 inline:" K30 "AA==A", "key"},
    {"1 AES_CM_128_HMAC_SHA1_80 inline:AAEC*wQFBgcICQoLDA0ODxAREhMUF"
     "RYXGBkaGxwd",
     "key"},
    {"1 AEAD_AES_128_GCM inline:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGw="
     "",
     "key"},
    {"1 AEAD_AES_128_GCM inline:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGw="
     "==",
     "key"},
    {"1 AES_CM_128_HMAC_SHA1_80 inline:" K30 "|2^49", "lifetime"},
    {"1 AES_CM_128_HMAC_SHA1_80 inline:" K30 "|2^", "lifetime"},
    {"1 AES_CM_128_HMAC_SHA1_80 inline:" K30 "|2^x", "lifetime"},
    {"1 AES_CM_128_HMAC_SHA1_80 inline:" K30 "|0", "lifetime"},
    {"1 AES_CM_128_HMAC_SHA1_80 inline:" K30 "|281474976710657", "lifetime"},
    {"1 AES_CM_128_HMAC_SHA1_80 inline:" K30 "|", "lifetime"},
    {"1 AES_CM_128_HMAC_SHA1_80 inline:" K30 "|1:0", "MKI"},
    {"1 AES_CM_128_HMAC_SHA1_80 inline:" K30 "|1:129", "MKI"},
    {"1 AES_CM_128_HMAC_SHA1_80 inline:" K30 "|1:", "MKI"},
    {"1 AES_CM_128_HMAC_SHA1_80 inline:" K30 "|:4", "MKI"},
    {"1 AES_CM_128_HMAC_SHA1_80 inline:" K30 "|256:1", "MKI"},
    {"1 AES_CM_128_HMAC_SHA1_80 inline:" K30 "|65536:2", "MKI"},
    {"1 AES_CM_128_HMAC_SHA1_80 inline:" K30 "|4294967296:4", "MKI"},
    {"1 AES_CM_128_HMAC_SHA1_80 inline:" K30 "|1:4:5", "MKI"},
    {"1 AES_CM_128_HMAC_SHA1_80 inline:" K30 "|1:4|2^20", "lifetime"},
    {"1 AES_CM_128_HMAC_SHA1_80 inline:" K30 "|2^20|2^20", "MKI"},
    {"1 AES_CM_128_HMAC_SHA1_80 inline:" K30 "|2^20|1:4|x", "key"},
    {"1 AES_CM_128_HMAC_SHA1_80 inline:" K30 " WSH=64\x01", "ASCII"},
    {"1 AES_CM_128_HMAC_SHA1_80 inline:" K30 " caf\xc3\xa9", "ASCII"},
    {"1 AES_CM_128_HMAC_SHA1_80 inline:" K30 " WSH=64\r\n", "ASCII"},
    {"1 AES_CM_128_HMAC_SHA1_80 inline:" K30 "\r\n", "key"},
};

static void t_rejections(void **state)
{
	sdes_crypto_t c, before;
	const char *why;
	size_t i;

	(void)state;
	memset(&before, 0x5a, sizeof(before));
	for (i = 0; i < sizeof(reject_rows) / sizeof(reject_rows[0]); i++) {
		c = before;
		why = NULL;
		assert_int_equal(sdes_parse(reject_rows[i].line,
					    strlen(reject_rows[i].line), &c,
					    &why),
				 SB_EMALFORMED);
		assert_non_null(why);
		if (!strstr(why, reject_rows[i].why))
			fail_msg("row %zu: \"%s\" gave \"%s\"", i,
				 reject_rows[i].line, why);
		assert_memory_equal(&c, &before, sizeof(c)); /* untouched */
	}
	assert_int_equal(sdes_parse(NULL, 3, &c, &why), SB_EMALFORMED);
	assert_int_equal(
	    sdes_parse("1 AES_CM_128_HMAC_SHA1_80 inline:" K30, 73, NULL, NULL),
	    SB_EMALFORMED);
}

/* Only len bytes are read: the value is a slice of a bigger buffer. */
static void t_bounded(void **state)
{
	static const char buf[] =
	    "1 AES_CM_128_HMAC_SHA1_80 inline:" K30 " UNENCRYPTED_SRTP"
	    "\r\na=crypto:2 ...";
	apr_size_t len = strlen("1 AES_CM_128_HMAC_SHA1_80 inline:" K30);
	sdes_crypto_t c;

	(void)state;
	assert_int_equal(sdes_parse(buf, len, &c, NULL), APR_SUCCESS);
	assert_int_equal(c.flags, 0);
	assert_counting_key(&c, 30);
	assert_int_equal(sdes_parse(buf, len + 17, &c, NULL), APR_SUCCESS);
	assert_int_equal(c.flags, SB_SRTP_UNENCRYPTED_SRTP);
	/* a cut inside the key leaves it too short */
	assert_int_equal(sdes_parse(buf, len - 4, &c, NULL), SB_EMALFORMED);
}

static void fill(sdes_crypto_t *c, sb_srtp_suite_t suite, unsigned char first)
{
	apr_size_t i;

	memset(c, 0, sizeof(*c));
	c->tag = 1;
	c->suite = suite;
	c->key_salt_len = sb_srtp_suite_key_salt_len(suite);
	for (i = 0; i < c->key_salt_len; i++)
		c->key_salt[i] = (unsigned char)(first + i);
}

static void t_print(void **state)
{
	sdes_crypto_t c;

	(void)state;
	fill(&c, SB_SRTP_AES_CM_128_HMAC_SHA1_80, 0);
	assert_string_equal(sdes_print(&c, root),
			    "1 AES_CM_128_HMAC_SHA1_80 inline:" K30);
	c.tag = 999999999;
	c.lifetime = (apr_uint64_t)1 << 31;
	c.mki_value = 7;
	c.mki_len = 1;
	c.flags = SB_SRTP_UNENCRYPTED_SRTP | SB_SRTP_UNENCRYPTED_SRTCP |
		  SB_SRTP_UNAUTHENTICATED_SRTP;
	assert_string_equal(sdes_print(&c, root),
			    "999999999 AES_CM_128_HMAC_SHA1_80 inline:" K30
			    "|2^31|7:1 UNENCRYPTED_SRTP UNENCRYPTED_SRTCP "
			    "UNAUTHENTICATED_SRTP");
	fill(&c, SB_SRTP_AES_256_CM_HMAC_SHA1_32, 0);
	c.tag = 12;
	c.lifetime = 1000000;
	c.flags = SB_SRTP_UNENCRYPTED_SRTCP;
	assert_string_equal(sdes_print(&c, root),
			    "12 AES_256_CM_HMAC_SHA1_32 inline:" K46
			    "|1000000 UNENCRYPTED_SRTCP");
	/* The offer's spelling is echoed. */
	c.suite_name = "AES_CM_256_HMAC_SHA1_32 and more";
	c.suite_name_len = 23;
	c.lifetime = 0;
	c.flags = 0;
	assert_string_equal(sdes_print(&c, root),
			    "12 AES_CM_256_HMAC_SHA1_32 inline:" K46);
	fill(&c, SB_SRTP_AEAD_AES_128_GCM, 0);
	assert_string_equal(sdes_print(&c, root),
			    "1 AEAD_AES_128_GCM inline:" K28);
	fill(&c, SB_SRTP_AEAD_AES_256_GCM_8, 0);
	assert_string_equal(sdes_print(&c, root),
			    "1 AEAD_AES_256_GCM_8 inline:" K44);
	/* What cannot be printed. */
	c.tag = 0;
	assert_null(sdes_print(&c, root));
	fill(&c, SB_SRTP_AEAD_AES_256_GCM_8, 0);
	c.key_salt_len = 46;
	assert_null(sdes_print(&c, root));
	fill(&c, SB_SRTP_NONE, 0);
	c.key_salt_len = 30;
	assert_null(sdes_print(&c, root));
	assert_null(sdes_print(NULL, root));
}

static void t_round_trip(void **state)
{
	static const char *const lines[] = {
	    "1 AES_CM_128_HMAC_SHA1_80 "
	    "inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz|2^20|1:4",
	    "2 AES_CM_256_HMAC_SHA1_80 inline:" K46 "|1:128",
	    "3 AEAD_AES_128_GCM_8 inline:" K28 "|123456 UNENCRYPTED_SRTCP",
	};
	sdes_crypto_t a, b;
	unsigned i;

	(void)state;
	for (i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		parse_ok(lines[i], &a);
		assert_string_equal(sdes_print(&a, root), lines[i]);
	}
	/* print -> parse gives the struct back, for every suite and key. */
	for (i = SB_SRTP_NONE + 1; i < SB_SRTP_SUITE_COUNT; i++) {
		fill(&a, (sb_srtp_suite_t)i, 0);
		assert_int_equal(
		    sb_srtp_keygen(a.suite, a.key_salt, sizeof(a.key_salt)),
		    APR_SUCCESS);
		a.tag = 100 + i;
		a.lifetime = (apr_uint64_t)1 << (20 + i);
		a.mki_value = i;
		a.mki_len = i;
		a.flags = i & 7;
		parse_ok(sdes_print(&a, root), &b);
		assert_int_equal(b.tag, a.tag);
		assert_int_equal(b.suite, a.suite);
		assert_int_equal(b.key_salt_len, a.key_salt_len);
		assert_memory_equal(b.key_salt, a.key_salt, a.key_salt_len);
		assert_int_equal(b.lifetime, a.lifetime);
		assert_int_equal(b.mki_value, a.mki_value);
		assert_int_equal(b.mki_len, a.mki_len);
		assert_int_equal(b.flags, a.flags);
	}
}

/* Cleanups run last-registered first: this one sees the line after
 * sdes_print's own cleanup and before the pool's memory is gone. */
typedef struct {
	char *line;
	apr_size_t len;
	int wiped;
} wipe_probe_t;

static apr_status_t probe_cleanup(void *data)
{
	wipe_probe_t *w = data;
	apr_size_t i;

	w->wiped = 1;
	for (i = 0; i < w->len; i++)
		if (w->line[i] != 0)
			w->wiped = 0;
	return APR_SUCCESS;
}

static void t_wiped(void **state)
{
	wipe_probe_t w = {NULL, 0, 0};
	sdes_crypto_t c;
	apr_pool_t *p;

	(void)state;
	assert_int_equal(apr_pool_create(&p, root), APR_SUCCESS);
	apr_pool_cleanup_register(p, &w, probe_cleanup, apr_pool_cleanup_null);
	fill(&c, SB_SRTP_AES_CM_128_HMAC_SHA1_80, 0);
	w.line = sdes_print(&c, p);
	assert_non_null(w.line);
	w.len = strlen(w.line);
	assert_true(w.len > 40);
	apr_pool_destroy(p);
	assert_true(w.wiped);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(t_rfc4568_offer),
	    cmocka_unit_test(t_peer_lines),
	    cmocka_unit_test(t_session_params),
	    cmocka_unit_test(t_lifetime_mki),
	    cmocka_unit_test(t_rejections),
	    cmocka_unit_test(t_bounded),
	    cmocka_unit_test(t_print),
	    cmocka_unit_test(t_round_trip),
	    cmocka_unit_test(t_wiped),
	};
	int rc;

	apr_initialize();
	apr_pool_create(&root, NULL);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	apr_pool_destroy(root);
	apr_terminate();
	return rc;
}
