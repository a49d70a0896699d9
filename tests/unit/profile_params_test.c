/* profile_params_test.c — the profile parameter table and its parser. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>
#include <apr_general.h>
#include "profile_params.h"

#include "pool_fixture.h"

static void test_defaults(void **state)
{
	sips_settings_t s;

	(void)state;
	profile_params_defaults(&s, pool);
	assert_int_equal(s.sip_port, 5060);
	assert_int_equal(s.tls_sip_port, 5061);
	assert_int_equal(s.tls, 0);
	/* Secure default: TLS 1.2 and 1.3 only. */
	assert_int_equal(s.tls_versions, SIPS_TLS_V1_2 | SIPS_TLS_V1_3);
	assert_int_equal(s.tls_verify_policy, SIPS_VERIFY_OUT);
	assert_int_equal(s.tls_timeout, 10);
	assert_non_null(strstr(s.tls_ciphers, "ECDHE"));
	assert_null(strstr(s.tls_ciphers, "CBC"));
}

static void test_apply_values(void **state)
{
	char why[256];
	sips_settings_t s;

	(void)state;
	profile_params_defaults(&s, pool);
	assert_int_equal(profile_params_apply(&s, "sip-port", "5080", pool,
					      why, sizeof(why)),
			 APR_SUCCESS);
	assert_int_equal(s.sip_port, 5080);
	assert_int_equal(profile_params_apply(&s, "tls", "yes", pool, why,
					      sizeof(why)),
			 APR_SUCCESS);
	assert_int_equal(s.tls, 1);
	assert_int_equal(profile_params_apply(&s, "tls-version", "tlsv1.3",
					      pool, why, sizeof(why)),
			 APR_SUCCESS);
	assert_int_equal(s.tls_versions, SIPS_TLS_V1_3);
	assert_int_equal(profile_params_apply(&s, "tls-verify-policy",
					      "subjects_in", pool, why,
					      sizeof(why)),
			 APR_SUCCESS);
	assert_int_equal(s.tls_verify_policy, SIPS_VERIFY_SUBJECTS_IN);
	assert_string_equal(profile_params_versions_text(
				    SIPS_TLS_V1_2 | SIPS_TLS_V1_3, pool),
			    "tlsv1.2,tlsv1.3");
}

static void test_bad_values_named(void **state)
{
	char why[256];
	sips_settings_t s;

	(void)state;
	profile_params_defaults(&s, pool);
	assert_int_equal(profile_params_apply(&s, "tls-version",
					      "tlsv1.2,tlsv1.4", pool, why,
					      sizeof(why)),
			 SB_ECONFIG);
	assert_string_equal(why, "unknown token \"tlsv1.4\"");
	assert_int_equal(s.tls_versions, SIPS_TLS_V1_2 | SIPS_TLS_V1_3);
	assert_int_equal(profile_params_apply(&s, "sip-port", "70000", pool,
					      why, sizeof(why)),
			 SB_ECONFIG);
	assert_int_equal(profile_params_apply(&s, "sip-port", "-1", pool, why,
					      sizeof(why)),
			 SB_ECONFIG);
	assert_int_equal(profile_params_apply(&s, "tls", "maybe", pool, why,
					      sizeof(why)),
			 SB_ECONFIG);
	assert_non_null(strstr(why, "maybe"));
	assert_int_equal(profile_params_apply(&s, "tls-timeout", "0", pool,
					      why, sizeof(why)),
			 SB_ECONFIG);
	assert_int_equal(profile_params_apply(&s, "no-such-param", "1", pool,
					      why, sizeof(why)),
			 SB_ENOTFOUND);
}

/* Limits under attack: on by default, 0 turns a rate off, bounds hold. */
static void test_limit_defaults(void **state)
{
	char why[256];
	sips_settings_t s;
	static const char *const off[] = {
		"tls-handshake-rate", "auth-block-failures", "max-msg-rate",
		"msg-rate-close", "max-udp-rate",
	};
	static const char *const never_zero[] = {
		"tls-handshake-burst", "auth-block-window", "auth-block-time",
		"max-msg-burst", "max-udp-burst", "limit-log-interval",
	};
	apr_size_t i;

	(void)state;
	profile_params_defaults(&s, pool);
	assert_int_equal(s.tls_handshake_rate, 20);
	assert_int_equal(s.tls_handshake_burst, 100);
	assert_int_equal(s.max_connections_per_ip, 128);
	assert_int_equal(s.auth_max_failures, 3);
	assert_int_equal(s.auth_block_failures, 10);
	assert_int_equal(s.auth_block_window, 60);
	assert_int_equal(s.auth_block_time, 300);
	assert_int_equal(s.max_msg_rate, 200);
	assert_int_equal(s.max_msg_burst, 400);
	assert_int_equal(s.msg_rate_close, 10);
	assert_int_equal(s.max_udp_rate, 200);
	assert_int_equal(s.max_udp_burst, 400);
	assert_int_equal(s.max_tracked_sources, 8192);
	assert_int_equal(s.limit_log_interval, 10);
	assert_int_equal(s.msg_timeout, 10);
	assert_int_equal(s.max_msg_chunks, 32);
	for (i = 0; i < sizeof(off) / sizeof(off[0]); i++)
		assert_int_equal(profile_params_apply(&s, off[i], "0", pool,
						      why, sizeof(why)),
				 APR_SUCCESS);
	assert_int_equal(s.max_msg_rate, 0);
	for (i = 0; i < sizeof(never_zero) / sizeof(never_zero[0]); i++)
		assert_int_equal(profile_params_apply(&s, never_zero[i], "0",
						      pool, why, sizeof(why)),
				 SB_ECONFIG);
	/* A table too small to mean anything is refused. */
	assert_int_equal(profile_params_apply(&s, "max-tracked-sources", "10",
					      pool, why, sizeof(why)),
			 SB_ECONFIG);
	assert_non_null(strstr(why, "64..1000000"));
	assert_int_equal(profile_params_apply(&s, "auth-block-time", "3600",
					      pool, why, sizeof(why)),
			 APR_SUCCESS);
	assert_int_equal(s.auth_block_time, 3600);
}

static void test_doc_rows(void **state)
{
	apr_size_t i;

	(void)state;
	for (i = 0; profile_params_doc(i); i++) {
		assert_non_null(profile_params_doc(i)->name);
		assert_non_null(profile_params_doc(i)->doc);
		assert_true(strlen(profile_params_doc(i)->doc) > 5);
	}
	assert_true(i > 20);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_apply_values),
		cmocka_unit_test(test_bad_values_named),
		cmocka_unit_test(test_limit_defaults),
		cmocka_unit_test(test_doc_rows),
	};
	int rc;

	apr_initialize();
	rc = cmocka_run_group_tests(tests, pool_setup, pool_teardown);
	apr_terminate();
	return rc;
}
