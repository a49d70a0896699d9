/* fuzz_sdes.c — libFuzzer: one a=crypto value, parse, print, parse. */
#include <stdint.h>
#include <stdlib.h>
#include <apr_general.h>
#include "sdes_roundtrip.h"

/*
 * Build: clang -fsanitize=fuzzer,address,undefined with sdes.c,
 * sdes_roundtrip.c, src/media/srtp*.c, pool_guard.c (with its wraps),
 * -lapr-1 -lsrtp2 -lcrypto. The
 * input is what follows "a=crypto:" (fuzz_sdp reaches the same code
 * through whole descriptions, more slowly); the checks are
 * sdes_roundtrip()'s. libFuzzer's buffer is exactly the input's size,
 * so a read past the value's end is caught by ASan.
 */

static apr_pool_t *root;

/* At exit, so that LeakSanitizer sees the pool go. */
static void teardown(void)
{
	apr_pool_destroy(root);
	apr_terminate();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	apr_pool_t *pool;

	if (root == NULL) {
		if (apr_initialize() != APR_SUCCESS ||
		    apr_pool_create(&root, NULL) != APR_SUCCESS)
			abort();
		atexit(teardown);
	}
	if (size > 4096)
		return 0;
	if (apr_pool_create(&pool, root) != APR_SUCCESS)
		abort();
	(void)sdes_roundtrip((const char *)data, size, pool);
	apr_pool_destroy(pool);
	return 0;
}
