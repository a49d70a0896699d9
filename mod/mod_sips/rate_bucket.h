/* rate_bucket.h — a token bucket: events a second, with a burst. */
#ifndef SIPS_RATE_BUCKET_H
#define SIPS_RATE_BUCKET_H

#include <apr_time.h>

/** All zero is a full bucket that has not been used yet. */
typedef struct rate_bucket {
	double tokens;
	apr_time_t last; /* 0: never used */
} rate_bucket_t;

/**
 * Take one token at @p now: 1 when the event may pass, 0 when it is
 * over @p rate a second after a burst of @p burst. A rate of 0 is no
 * limit. Tokens are fractions so that low rates still refill smoothly.
 */
static inline int rate_bucket_take(rate_bucket_t *b, apr_time_t now,
				   unsigned rate, unsigned burst)
{
	double cap = burst ? (double)burst : 1.0;

	if (!rate)
		return 1;
	if (!b->last) {
		b->tokens = cap;
	} else if (now > b->last) {
		b->tokens += (double)(now - b->last) * rate / APR_USEC_PER_SEC;
		if (b->tokens > cap)
			b->tokens = cap;
	}
	b->last = now;
	if (b->tokens < 1.0)
		return 0;
	b->tokens -= 1.0;
	return 1;
}

#endif
