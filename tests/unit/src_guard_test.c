/* src_guard_test.c — per-source limits: keys, buckets, blocks, bounds. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <apr_general.h>
#include <apr_file_io.h>
#include <apr_strings.h>
#include <apr_thread_proc.h>
#include "sipsbridge/sb_log.h"
#include "sipsbridge/sb_loop.h"
#include "src_guard.h"

static apr_pool_t *pool;
static char log_dir[] = "/tmp/src_guard_test.XXXXXX";

static int setup(void **state)
{
	(void)state;
	if (apr_pool_create(&pool, NULL) != APR_SUCCESS || !mkdtemp(log_dir))
		return -1;
	return sb_log_open(log_dir, SB_LOG_INFO, 0) == APR_SUCCESS ? 0 : -1;
}

static int teardown(void **state)
{
	char path[128];

	(void)state;
	sb_log_close();
	snprintf(path, sizeof(path), "%s/sipsbridge.log", log_dir);
	unlink(path);
	rmdir(log_dir);
	apr_pool_destroy(pool);
	return 0;
}

/* Lines of the log with @p needle (the log is truncated per test). */
static int log_count(const char *needle)
{
	char path[128], line[4096];
	FILE *f;
	int n = 0;

	snprintf(path, sizeof(path), "%s/sipsbridge.log", log_dir);
	f = fopen(path, "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (strstr(line, needle))
			n++;
	fclose(f);
	return n;
}

static void log_reset(void)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/sipsbridge.log", log_dir);
	/* The log is opened for appending: writes go on from 0. */
	assert_int_equal(truncate(path, 0), 0);
}

/* A profile with the table defaults, then @p tweak; freed by its pool. */
static sips_profile_t *profile(void (*tweak)(sips_settings_t *s))
{
	sips_profile_t *p = apr_pcalloc(pool, sizeof(*p));

	assert_int_equal(apr_pool_create(&p->pool, pool), APR_SUCCESS);
	p->name = "t";
	profile_params_defaults(&p->settings, p->pool);
	if (tweak)
		tweak(&p->settings);
	assert_int_equal(src_guard_create(p), APR_SUCCESS);
	assert_non_null(p->guard);
	return p;
}

static const char *status_text(sips_profile_t *p)
{
	sb_stream_t *out = sb_stream_create(pool);
	apr_size_t len;

	src_guard_print(out, p);
	return apr_pstrdup(pool, sb_stream_data(out, &len));
}

static void test_keys(void **state)
{
	unsigned char a[17], b[17];

	(void)state;
	assert_int_equal(src_guard_key("192.0.2.1", a), 1);
	assert_int_equal(a[0], 4);
	/* A v4-mapped address is the IPv4 source it carries. */
	assert_int_equal(src_guard_key("::ffff:192.0.2.1", b), 1);
	assert_memory_equal(a, b, 17);
	/* One host holds a /64: the whole /64 is one source. */
	assert_int_equal(src_guard_key("2001:db8:1:2::1", a), 1);
	assert_int_equal(src_guard_key("2001:db8:1:2:ffff::7", b), 1);
	assert_int_equal(a[0], 6);
	assert_memory_equal(a, b, 17);
	assert_int_equal(src_guard_key("2001:db8:1:3::1", b), 1);
	assert_memory_not_equal(a, b, 17);
	assert_int_equal(src_guard_key("fe80::1%eth0", a), 1);
	assert_int_equal(src_guard_key("not an address", a), 0);
	assert_int_equal(src_guard_key("", a), 0);
}

static void tweak_handshakes(sips_settings_t *s)
{
	/* Slow enough that no token comes back between the calls below,
	 * even under valgrind on a loaded machine. */
	s->tls_handshake_rate = 2;
	s->tls_handshake_burst = 3;
	s->limit_log_interval = 60;
}

static void test_handshake_rate(void **state)
{
	sips_profile_t *p = profile(tweak_handshakes);
	int i;

	(void)state;
	log_reset();
	for (i = 0; i < 3; i++)
		assert_true(src_guard_handshake_ok(p, "192.0.2.1", "x"));
	assert_false(src_guard_handshake_ok(p, "192.0.2.1", "x"));
	assert_false(src_guard_handshake_ok(p, "192.0.2.1", "x"));
	/* Another source has its own bucket. */
	assert_true(src_guard_handshake_ok(p, "192.0.2.2", "y"));
	/* 2 a second: one token back within 500 ms. */
	apr_sleep(apr_time_from_msec(600));
	assert_true(src_guard_handshake_ok(p, "192.0.2.1", "x"));
	/* Two refusals, one line: the second waits for the summary. */
	assert_int_equal(log_count("SB02034 profile t: TLS connection from x "
				   "closed before its handshake"),
			 1);
	assert_non_null(strstr(status_text(p), "tls-handshake-rate 2,"));
	apr_pool_destroy(p->pool);
}

static void tweak_off(sips_settings_t *s)
{
	s->tls_handshake_rate = 0;
	s->max_udp_rate = 0;
	s->auth_block_failures = 0;
}

static void test_zero_is_no_limit(void **state)
{
	sips_profile_t *p = profile(tweak_off);
	int i;

	(void)state;
	for (i = 0; i < 1000; i++) {
		assert_true(src_guard_handshake_ok(p, "192.0.2.1", "x"));
		assert_true(src_guard_udp_ok(p, "192.0.2.1", 5060));
		assert_int_equal(src_guard_auth_failed(p, "192.0.2.1"), 0);
	}
	assert_int_equal(src_guard_blocked(p, "192.0.2.1"), 0);
	assert_non_null(strstr(status_text(p), "sources tracked: 0 of"));
	apr_pool_destroy(p->pool);
}

static void tweak_block(sips_settings_t *s)
{
	s->auth_block_failures = 3;
	s->auth_block_window = 60;
	s->auth_block_time = 1;
}

static void test_auth_block(void **state)
{
	sips_profile_t *p = profile(tweak_block);

	(void)state;
	log_reset();
	assert_int_equal(src_guard_auth_failed(p, "192.0.2.9"), 0);
	assert_int_equal(src_guard_auth_failed(p, "192.0.2.9"), 0);
	assert_int_equal(src_guard_blocked(p, "192.0.2.9"), 0);
	assert_int_equal(src_guard_auth_failed(p, "192.0.2.9"), 1);
	assert_int_equal(src_guard_blocked(p, "192.0.2.9"), 1);
	assert_int_equal(src_guard_blocked(p, "192.0.2.10"), 0);
	assert_int_equal(log_count("SB02417 profile t: source 192.0.2.9 "
				   "blocked for 1s: 3 failed authentications "
				   "within 60s"),
			 1);
	assert_non_null(
	    strstr(status_text(p), "blocked sources: 192.0.2.9 (1 s left)"));
	/* The block ends, and counting starts again from nothing. */
	apr_sleep(apr_time_from_msec(1100));
	assert_int_equal(src_guard_blocked(p, "192.0.2.9"), 0);
	assert_int_equal(src_guard_auth_failed(p, "192.0.2.9"), 0);
	assert_null(strstr(status_text(p), "blocked sources"));
	apr_pool_destroy(p->pool);
}

static void tweak_small(sips_settings_t *s)
{
	s->max_tracked_sources = 64;
	s->auth_block_failures = 1;
	s->auth_block_time = 600;
	s->tls_handshake_burst = 1;
}

/* Many sources: the table stays at its size; a blocked one stays. */
static void test_bounded_table(void **state)
{
	sips_profile_t *p = profile(tweak_small);
	char ip[32];
	int i;

	(void)state;
	assert_int_equal(src_guard_auth_failed(p, "198.51.100.7"), 1);
	for (i = 0; i < 20000; i++) {
		snprintf(ip, sizeof(ip), "10.%d.%d.%d", i >> 16, (i >> 8) & 255,
			 i & 255);
		assert_true(src_guard_handshake_ok(p, ip, ip));
	}
	assert_true(src_guard_blocked(p, "198.51.100.7") > 0);
	/* Each new source took a free slot or evicted one: 20001 in all. */
	assert_non_null(
	    strstr(status_text(p), "sources tracked: 64 of 64, evicted 19937"));
	apr_pool_destroy(p->pool);
}

static void tweak_throttle(sips_settings_t *s)
{
	s->limit_log_interval = 1;
}

static void start_here(void *baton)
{
	src_guard_start(baton, sb_worker_self());
}

static void stop_here(void *baton)
{
	src_guard_stop(baton);
}

/* One line at once, then one summary per interval while it fires. */
static void test_throttled_log_and_summary(void **state)
{
	sips_profile_t *p = profile(tweak_throttle);
	sb_loop_t *loop;
	sb_worker_t *w;
	int i;

	(void)state;
	log_reset();
	assert_int_equal(sb_loop_create(&loop, 1, pool), APR_SUCCESS);
	assert_int_equal(sb_loop_start(loop), APR_SUCCESS);
	w = sb_loop_worker(loop, 0);
	sb_worker_call(w, start_here, p);
	for (i = 0; i < 50; i++)
		src_guard_log(p, SRC_EV_MSG_RATE, "profile t: event %d", i);
	assert_int_equal(log_count("SB02035 profile t: event"), 1);
	apr_sleep(apr_time_from_msec(1300));
	assert_int_equal(log_count("SB02035 profile t: requests answered 503 "
				   "(max-msg-rate): 49 more in the last 1s "
				   "(not logged one by one), 50 since start"),
			 1);
	/* Quiet for an interval: the next one is logged in full again. */
	apr_sleep(apr_time_from_msec(1300));
	src_guard_log(p, SRC_EV_MSG_RATE, "profile t: event %d", 50);
	assert_int_equal(log_count("SB02035 profile t: event"), 2);
	sb_worker_call(w, stop_here, p);
	sb_loop_stop(loop);
	assert_non_null(strstr(status_text(p), "max-msg-rate 51,"));
	apr_pool_destroy(p->pool);
}

typedef struct hammer {
	sips_profile_t *p;
	int id;
} hammer_t;

static void *APR_THREAD_FUNC hammer_run(apr_thread_t *t, void *data)
{
	hammer_t *h = data;
	char ip[32];
	int i;

	for (i = 0; i < 20000; i++) {
		snprintf(ip, sizeof(ip), "10.%d.%d.%d", h->id, (i >> 8) & 255,
			 i & 255);
		src_guard_handshake_ok(h->p, ip, ip);
		src_guard_udp_ok(h->p, ip, 1);
		if (i % 7 == 0)
			src_guard_auth_failed(h->p, ip);
		src_guard_blocked(h->p, ip);
	}
	/* A plain return: apr_thread_exit() unwinds past this frame, whose
	 * ASan redzones would then poison the next user of the stack. */
	(void)t;
	return NULL;
}

static void tweak_hammer(sips_settings_t *s)
{
	s->max_tracked_sources = 256;
	s->tls_handshake_burst = 2;
	s->max_udp_burst = 2;
	s->auth_block_failures = 2;
}

/* Several workers at once: consistent counts, no crash, bounded. */
static void test_threads(void **state)
{
	sips_profile_t *p = profile(tweak_hammer);
	apr_thread_t *t[4];
	hammer_t h[4];
	apr_status_t rv;
	int i;

	(void)state;
	for (i = 0; i < 4; i++) {
		h[i].p = p;
		h[i].id = i;
		assert_int_equal(
		    apr_thread_create(&t[i], NULL, hammer_run, &h[i], pool),
		    APR_SUCCESS);
	}
	for (i = 0; i < 4; i++)
		apr_thread_join(&rv, t[i]);
	assert_non_null(strstr(status_text(p), "sources tracked: 256 of 256"));
	apr_pool_destroy(p->pool);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_keys),
	    cmocka_unit_test(test_handshake_rate),
	    cmocka_unit_test(test_zero_is_no_limit),
	    cmocka_unit_test(test_auth_block),
	    cmocka_unit_test(test_bounded_table),
	    cmocka_unit_test(test_throttled_log_and_summary),
	    cmocka_unit_test(test_threads),
	};
	int rc;

	apr_initialize();
	rc = cmocka_run_group_tests(tests, setup, teardown);
	apr_terminate();
	return rc;
}
