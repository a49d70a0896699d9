/* msg_rate_test.c — max-msg-rate per connection: pass, 503, close. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>
#include <apr_general.h>
#include "msg_rate.h"

#include "pool_fixture.h"

#define SEC(x) ((apr_time_t)((x)*APR_USEC_PER_SEC))
#define T0 SEC(1000000)

static void settings(sips_settings_t *s, unsigned rate, unsigned burst,
		     unsigned close)
{
	memset(s, 0, sizeof(*s));
	s->max_msg_rate = rate;
	s->max_msg_burst = burst;
	s->msg_rate_close = close;
}

static void test_burst_then_rate(void **state)
{
	msg_rate_table_t *t;
	sips_settings_t s;
	int i;

	(void)state;
	settings(&s, 10, 5, 0);
	assert_int_equal(msg_rate_table_create(&t, pool), APR_SUCCESS);
	for (i = 0; i < 5; i++)
		assert_int_equal(msg_rate_check(t, &s, 1, T0), MSG_RATE_PASS);
	assert_int_equal(msg_rate_check(t, &s, 1, T0), MSG_RATE_REJECT);
	/* Each flow has its own bucket. */
	assert_int_equal(msg_rate_check(t, &s, 2, T0), MSG_RATE_PASS);
	/* 10 a second: one message per 100 ms, never more than the burst. */
	assert_int_equal(msg_rate_check(t, &s, 1, T0 + SEC(0.1)),
			 MSG_RATE_PASS);
	assert_int_equal(msg_rate_check(t, &s, 1, T0 + SEC(0.1)),
			 MSG_RATE_REJECT);
	for (i = 0; i < 5; i++)
		assert_int_equal(msg_rate_check(t, &s, 1, T0 + SEC(60)),
				 MSG_RATE_PASS);
	assert_int_equal(msg_rate_check(t, &s, 1, T0 + SEC(60)),
			 MSG_RATE_REJECT);
	/* A steady 10 a second passes forever. */
	for (i = 1; i <= 100; i++)
		assert_int_equal(msg_rate_check(t, &s, 3, T0 + i * SEC(0.1)),
				 MSG_RATE_PASS);
	assert_int_equal(msg_rate_count(t), 3);
	msg_rate_forget(t, 1);
	msg_rate_forget(t, 1);
	assert_int_equal(msg_rate_count(t), 2);
	msg_rate_table_destroy(t);
	assert_int_equal(msg_rate_count(t), 0);
}

static void test_close_after_episode(void **state)
{
	msg_rate_table_t *t;
	sips_settings_t s;
	apr_time_t now = T0;
	int i;

	(void)state;
	settings(&s, 1, 1, 3);
	assert_int_equal(msg_rate_table_create(&t, pool), APR_SUCCESS);
	assert_int_equal(msg_rate_check(t, &s, 7, now), MSG_RATE_PASS);
	/* Twenty a second against one: mostly rejected (one a second
	 * passes), and closed once that has gone on for 3 s. */
	for (i = 1; i < 100; i++)
		if (msg_rate_check(t, &s, 7, now + i * SEC(0.05)) ==
		    MSG_RATE_CLOSE)
			break;
	assert_true(i >= 61 && i <= 62);
	/* A burst over the rate with quiet seconds between is forgiven. */
	for (i = 0; i < 10; i++) {
		apr_time_t at = now + SEC(100) + i * SEC(1.5);

		assert_int_equal(msg_rate_check(t, &s, 8, at), MSG_RATE_PASS);
		assert_int_equal(msg_rate_check(t, &s, 8, at), MSG_RATE_REJECT);
	}
	msg_rate_table_destroy(t);
}

static void test_off(void **state)
{
	msg_rate_table_t *t;
	sips_settings_t s;
	int i;

	(void)state;
	settings(&s, 0, 1, 1);
	assert_int_equal(msg_rate_table_create(&t, pool), APR_SUCCESS);
	for (i = 0; i < 10000; i++)
		assert_int_equal(msg_rate_check(t, &s, 1, T0), MSG_RATE_PASS);
	/* No entry is even made. */
	assert_int_equal(msg_rate_count(t), 0);
	settings(&s, 1, 1, 0);
	for (i = 0; i < 100; i++)
		assert_int_not_equal(msg_rate_check(t, &s, 1, T0 + SEC(i)),
				     MSG_RATE_CLOSE);
	msg_rate_table_destroy(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_burst_then_rate),
	    cmocka_unit_test(test_close_after_episode),
	    cmocka_unit_test(test_off),
	};
	int rc;

	apr_initialize();
	rc = cmocka_run_group_tests(tests, pool_setup, pool_teardown);
	apr_terminate();
	return rc;
}
