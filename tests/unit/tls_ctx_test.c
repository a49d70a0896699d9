/* tls_ctx_test.c — a profile's TLS context: build, reload, swap, bands. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <apr_atomic.h>
#include <apr_general.h>
#include <apr_strings.h>
#include <apr_thread_proc.h>
#include "tls_ctx.h"

#define DAY (86400L)

typedef struct fixture {
	apr_pool_t *pool;
	char dir[64];
	sips_settings_t settings;
	EVP_PKEY *key;
} fixture_t;

static X509 *make_cert(EVP_PKEY *key, long serial, long from, long to,
		       const char *cn, int ca)
{
	X509 *x = X509_new();
	X509_NAME *name = X509_NAME_new();
	X509_EXTENSION *ext;
	X509V3_CTX v3;

	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
	X509_gmtime_adj(X509_getm_notBefore(x), from);
	X509_gmtime_adj(X509_getm_notAfter(x), to);
	X509_set_pubkey(x, key);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
				   (const unsigned char *)cn, -1, -1, 0);
	X509_set_subject_name(x, name);
	X509_set_issuer_name(x, name);
	X509_NAME_free(name);
	X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &v3, NID_basic_constraints,
				  ca ? "critical,CA:TRUE" : "CA:FALSE");
	X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	X509_sign(x, key, EVP_sha256());
	return x;
}

static void write_pem(const char *path, X509 *cert, EVP_PKEY *key)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	if (cert)
		PEM_write_X509(f, cert);
	if (key)
		PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL);
	fclose(f);
}

static const char *path_in(fixture_t *fx, const char *file)
{
	return apr_pstrcat(fx->pool, fx->dir, "/", file, NULL);
}

/* agent.pem: a self-signed leaf with @p serial, valid [from, to). */
static void write_agent(fixture_t *fx, long serial, long from, long to)
{
	X509 *x = make_cert(fx->key, serial, from, to, "localhost", 0);

	write_pem(path_in(fx, "agent.pem"), x, fx->key);
	X509_free(x);
}

/* cafile.pem: one CA per entry of @p days (its lifetime from now). */
static void write_cafile(fixture_t *fx, const long *days, int n)
{
	FILE *f = fopen(path_in(fx, "cafile.pem"), "w");
	int i;

	assert_non_null(f);
	for (i = 0; i < n; i++) {
		EVP_PKEY *k = EVP_EC_gen("P-256");
		char cn[32];
		X509 *x;

		snprintf(cn, sizeof(cn), "CA %d", i);
		x = make_cert(k, 100 + i, -DAY, days[i] * DAY, cn, 1);
		PEM_write_X509(f, x);
		X509_free(x);
		EVP_PKEY_free(k);
	}
	fclose(f);
}

static int setup(void **state)
{
	fixture_t *fx = calloc(1, sizeof(*fx));
	static const long ca_days[] = { 3650 };

	apr_pool_create(&fx->pool, NULL);
	strcpy(fx->dir, "/tmp/tls_ctx_test.XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	profile_params_defaults(&fx->settings, fx->pool);
	fx->settings.tls_cert_dir = fx->dir;
	fx->key = EVP_EC_gen("P-256");
	write_agent(fx, 1, -DAY, 365 * DAY);
	write_cafile(fx, ca_days, 1);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	fixture_t *fx = *state;

	unlink(path_in(fx, "agent.pem"));
	unlink(path_in(fx, "cafile.pem"));
	rmdir(fx->dir);
	EVP_PKEY_free(fx->key);
	apr_pool_destroy(fx->pool);
	free(fx);
	return 0;
}

/* A client handshake against @p server; the serial it was shown, or -1.
 * The client SSL is returned in @p keep when asked (for later I/O). */
static long handshake(SSL *server, SSL **keep)
{
	SSL_CTX *cctx = SSL_CTX_new(TLS_client_method());
	SSL *client = SSL_new(cctx);
	BIO *a, *b;
	X509 *peer;
	long serial = -1;
	int i, cdone = 0, sdone = 0;

	BIO_new_bio_pair(&a, 0, &b, 0);
	SSL_set_bio(client, a, a);
	SSL_set_bio(server, b, b);
	SSL_set_connect_state(client);
	SSL_set_accept_state(server);
	for (i = 0; i < 100 && !(cdone && sdone); i++) {
		if (!cdone)
			cdone = SSL_do_handshake(client) == 1;
		if (!sdone)
			sdone = SSL_do_handshake(server) == 1;
	}
	ERR_clear_error();
	peer = cdone && sdone ? SSL_get1_peer_certificate(client) : NULL;
	if (peer)
		serial = ASN1_INTEGER_get(X509_get_serialNumber(peer));
	X509_free(peer);
	if (keep)
		*keep = client;
	else
		SSL_free(client);
	SSL_CTX_free(cctx);
	return serial;
}

/* Bytes from one end reach the other: the connection still works. */
static void echo_ok(SSL *from, SSL *to)
{
	char buf[16] = "";

	assert_int_equal(SSL_write(from, "ping", 4), 4);
	assert_int_equal(SSL_read(to, buf, sizeof(buf)), 4);
	assert_memory_equal(buf, "ping", 4);
}

static void test_reload_new_cert_for_new_ssl_old_keeps_old(void **state)
{
	fixture_t *fx = *state;
	apr_pool_t *pool;
	tls_ctx_t *t;
	SSL *before, *after, *c1, *c2;
	char why[512];

	apr_pool_create(&pool, fx->pool);
	assert_int_equal(tls_ctx_create(&t, &fx->settings, pool, why,
					sizeof(why)),
			 APR_SUCCESS);
	assert_string_equal(t->cert.serial, "01");
	assert_int_equal(t->generation, 1);
	before = tls_ctx_ssl_new(t);
	assert_non_null(before);
	assert_int_equal(handshake(before, &c1), 1);
	write_agent(fx, 2, -DAY, 300 * DAY);
	assert_int_equal(tls_ctx_reload(t, &fx->settings, why, sizeof(why)),
			 APR_SUCCESS);
	assert_int_equal(t->generation, 2);
	assert_string_equal(t->cert.serial, "02");
	after = tls_ctx_ssl_new(t);
	assert_int_equal(handshake(after, &c2), 2);
	/* The holder goes (profile destroyed): both connections go on, on
	 * the contexts they were made from. ASan sees any early free. */
	apr_pool_destroy(pool);
	echo_ok(c1, before);
	echo_ok(before, c1);
	echo_ok(c2, after);
	SSL_free(before);
	SSL_free(c1);
	SSL_free(after);
	SSL_free(c2);
}

static void garbage(fixture_t *fx)
{
	FILE *f = fopen(path_in(fx, "agent.pem"), "w");

	fputs("-----BEGIN CERTIFICATE-----\nnot base64!\n", f);
	fclose(f);
}

static void key_mismatch(fixture_t *fx)
{
	EVP_PKEY *other = EVP_EC_gen("P-256");
	X509 *x = make_cert(fx->key, 3, -DAY, 365 * DAY, "localhost", 0);

	write_pem(path_in(fx, "agent.pem"), x, other);
	X509_free(x);
	EVP_PKEY_free(other);
}

static void expired(fixture_t *fx)
{
	write_agent(fx, 4, -30 * DAY, -DAY);
}

static void missing_ca(fixture_t *fx)
{
	unlink(path_in(fx, "cafile.pem"));
}

static void garbage_ca(fixture_t *fx)
{
	FILE *f = fopen(path_in(fx, "cafile.pem"), "w");

	fputs("junk\n", f);
	fclose(f);
}

typedef struct breakage {
	void (*apply)(fixture_t *fx);
	const char *file;
	const char *cause;
} breakage_t;

static void test_broken_files_refused_old_context_serves(void **state)
{
	static const breakage_t cases[] = {
		{ garbage, "agent.pem", "no usable certificate: bad end line" },
		{ key_mismatch, "agent.pem", "does not match" },
		{ expired, "agent.pem", "expired on" },
		{ missing_ca, "cafile.pem", "is needed to verify" },
		{ garbage_ca, "cafile.pem", "no certificate or crl found" },
	};
	fixture_t *fx = *state;
	static const long ca_days[] = { 3650 };
	char why[512];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		apr_pool_t *pool;
		tls_ctx_t *t;
		SSL *ssl;

		write_agent(fx, 1, -DAY, 365 * DAY);
		write_cafile(fx, ca_days, 1);
		apr_pool_create(&pool, fx->pool);
		assert_int_equal(tls_ctx_create(&t, &fx->settings, pool, why,
						sizeof(why)),
				 APR_SUCCESS);
		cases[i].apply(fx);
		why[0] = '\0';
		assert_int_not_equal(
			tls_ctx_reload(t, &fx->settings, why, sizeof(why)),
			APR_SUCCESS);
		assert_non_null(strstr(why, cases[i].file));
		assert_non_null(strstr(why, cases[i].cause));
		assert_int_equal(t->generation, 1);
		assert_string_equal(t->cert.serial, "01");
		ssl = tls_ctx_ssl_new(t);
		assert_int_equal(handshake(ssl, NULL), 1);
		SSL_free(ssl);
		apr_pool_destroy(pool);
	}
}

static void test_cafile_with_several_cas_listed(void **state)
{
	fixture_t *fx = *state;
	static const long ca_days[] = { 3650, 5, 20 };
	apr_time_t now = apr_time_now();
	tls_ctx_t *t;
	char why[512];
	int bands[3], i;

	write_cafile(fx, ca_days, 3);
	assert_int_equal(tls_ctx_create(&t, &fx->settings, fx->pool, why,
					sizeof(why)),
			 APR_SUCCESS);
	assert_non_null(t->cafile_path);
	assert_non_null(t->cas);
	assert_int_equal(t->cas->nelts, 3);
	/* The store's order is not the file's: compare as a set. */
	memset(bands, 0, sizeof(bands));
	for (i = 0; i < 3; i++) {
		const cert_info_t *ca = &APR_ARRAY_IDX(t->cas, i, cert_info_t);
		int b = cert_info_band(ca, now, 30);

		bands[b == 0 ? 0 : b == 7 ? 1 : 2]++;
	}
	assert_int_equal(bands[0], 1);
	assert_int_equal(bands[1], 1);
	assert_int_equal(bands[2], 1);
}

static void test_bands_and_days(void **state)
{
	apr_time_t now = apr_time_now(), h = apr_time_from_sec(3600);
	apr_time_t d = apr_time_from_sec(DAY);
	cert_info_t ci;

	(void)state;
	memset(&ci, 0, sizeof(ci));
	ci.expires = now + 40 * d;
	assert_int_equal(cert_info_band(&ci, now, 30), 0);
	assert_int_equal(cert_info_days_left(&ci, now), 40);
	ci.expires = now + 29 * d + h;
	assert_int_equal(cert_info_band(&ci, now, 30), 30);
	ci.expires = now + 30 * d + h; /* not within 30 days */
	assert_int_equal(cert_info_band(&ci, now, 30), 0);
	ci.expires = now + 13 * d;
	assert_int_equal(cert_info_band(&ci, now, 30), 14);
	ci.expires = now + 6 * d;
	assert_int_equal(cert_info_band(&ci, now, 30), 7);
	ci.expires = now - h;
	assert_int_equal(cert_info_band(&ci, now, 30), -1);
	assert_int_equal(cert_info_days_left(&ci, now), -1);
	ci.expires = now + h;
	assert_int_equal(cert_info_days_left(&ci, now), 0);
	/* cert-warn-days is the outer band. */
	ci.expires = now + 12 * d;
	assert_int_equal(cert_info_band(&ci, now, 10), 0);
	ci.expires = now + 9 * d;
	assert_int_equal(cert_info_band(&ci, now, 10), 10);
	assert_int_equal(cert_info_band(&ci, now, 0), 0);
	ci.expires = now + 50 * d;
	assert_int_equal(cert_info_band(&ci, now, 60), 60);
	ci.expires = now + 20 * d;
	assert_int_equal(cert_info_band(&ci, now, 60), 60);
	ci.expires = now + 6 * d;
	assert_int_equal(cert_info_band(&ci, now, 0), 7);
}

typedef struct churn {
	tls_ctx_t *t;
	apr_uint32_t stop;
	int handshakes;
	int failures;
} churn_t;

static void *APR_THREAD_FUNC churn_main(apr_thread_t *thd, void *data)
{
	churn_t *c = data;

	(void)thd;
	while (!apr_atomic_read32(&c->stop)) {
		SSL *ssl = tls_ctx_ssl_new(c->t);
		long serial = ssl ? handshake(ssl, NULL) : -1;

		if (serial != 10 && serial != 11)
			c->failures++;
		c->handshakes++;
		SSL_free(ssl);
		/* Leave the reloading thread its turn, under valgrind too. */
		apr_thread_yield();
	}
	return NULL;
}

/* Workers make SSLs while the context is swapped under them. */
static void test_concurrent_swap(void **state)
{
	fixture_t *fx = *state;
	apr_thread_t *thr[2];
	churn_t ch[2];
	apr_status_t trv;
	char why[512];
	int i;

	write_agent(fx, 10, -DAY, 365 * DAY);
	memset(ch, 0, sizeof(ch));
	assert_int_equal(tls_ctx_create(&ch[0].t, &fx->settings, fx->pool,
					why, sizeof(why)),
			 APR_SUCCESS);
	ch[1].t = ch[0].t;
	for (i = 0; i < 2; i++)
		apr_thread_create(&thr[i], NULL, churn_main, &ch[i], fx->pool);
	for (i = 0; i < 40; i++) {
		write_agent(fx, 10 + (i + 1) % 2, -DAY, 365 * DAY);
		assert_int_equal(tls_ctx_reload(ch[0].t, &fx->settings, why,
						sizeof(why)),
				 APR_SUCCESS);
	}
	apr_atomic_set32(&ch[0].stop, 1);
	apr_atomic_set32(&ch[1].stop, 1);
	for (i = 0; i < 2; i++)
		apr_thread_join(&trv, thr[i]);
	assert_int_equal(ch[0].t->generation, 41);
	assert_int_equal(ch[0].failures + ch[1].failures, 0);
	assert_true(ch[0].handshakes + ch[1].handshakes > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			test_reload_new_cert_for_new_ssl_old_keeps_old, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_broken_files_refused_old_context_serves, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_cafile_with_several_cas_listed, setup, teardown),
		cmocka_unit_test(test_bands_and_days),
		cmocka_unit_test_setup_teardown(test_concurrent_swap, setup,
						teardown),
	};
	int rc;

	apr_initialize();
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	apr_terminate();
	return rc;
}
