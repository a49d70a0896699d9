/* sdes_roundtrip.h — the a=crypto check fuzz_sdp and fuzz_sdes share. */
#ifndef FUZZ_SDES_ROUNDTRIP_H
#define FUZZ_SDES_ROUNDTRIP_H

#include <apr_pools.h>

/**
 * Parse the @p len bytes at @p value as an a=crypto value; when they
 * parse, print them, parse the print and print again. Aborts when the
 * parser breaks its contract (output written on failure, a reason
 * missing, fields out of range) or the round trip changes anything.
 * Strings go to @p pool. Returns whether the value parsed.
 */
int sdes_roundtrip(const char *value, apr_size_t len, apr_pool_t *pool);

#endif
