/*
 * pool_fixture.h — the APR pool most unit tests share, made and destroyed
 * by cmocka around each test (pool_test) or group (pool_setup and
 * pool_teardown to cmocka_run_group_tests).
 * Included once, by a test's .c file.
 */
#ifndef SB_TEST_POOL_FIXTURE_H
#define SB_TEST_POOL_FIXTURE_H

#include <apr_pools.h>

static apr_pool_t *pool;

static int pool_setup(void **state)
{
	(void)state;
	return apr_pool_create(&pool, NULL) == APR_SUCCESS ? 0 : -1;
}

static int pool_teardown(void **state)
{
	(void)state;
	apr_pool_destroy(pool);
	return 0;
}

/* A test with a pool of its own. */
#define pool_test(fn) \
	cmocka_unit_test_setup_teardown(fn, pool_setup, pool_teardown)

#endif
