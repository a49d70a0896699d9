/* stream.c — the growing text buffer a control command writes into. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "sipsbridge/sb_control.h"

/* Most replies are a line or two; big ones (registration dumps) double. */
#define SB_STREAM_INITIAL 256

struct sb_stream {
	apr_pool_t *pool;
	char *data; /* always NUL-terminated */
	apr_size_t len;
	apr_size_t cap; /* bytes usable for text, the NUL not counted */
};

sb_stream_t *sb_stream_create(apr_pool_t *pool)
{
	sb_stream_t *s = apr_palloc(pool, sizeof(*s));

	s->pool = pool;
	s->cap = SB_STREAM_INITIAL;
	s->data = apr_palloc(pool, s->cap + 1);
	s->data[0] = '\0';
	s->len = 0;
	return s;
}

/*
 * Make room for @p more bytes. The old buffer stays in the pool until the
 * pool goes: with doubling that wastes at most as much as the final size,
 * and a stream lives only as long as one request's sub-pool.
 */
static void stream_reserve(sb_stream_t *s, apr_size_t more)
{
	apr_size_t need = s->len + more;
	apr_size_t cap = s->cap;
	char *bigger;

	if (need <= cap)
		return;
	while (cap < need)
		cap *= 2;
	bigger = apr_palloc(s->pool, cap + 1);
	memcpy(bigger, s->data, s->len + 1);
	s->data = bigger;
	s->cap = cap;
}

void sb_stream_write(sb_stream_t *s, const char *data, apr_size_t len)
{
	if (!len)
		return;
	stream_reserve(s, len);
	memcpy(s->data + s->len, data, len);
	s->len += len;
	s->data[s->len] = '\0';
}

void sb_stream_printf(sb_stream_t *s, const char *fmt, ...)
{
	va_list ap;
	int n;

	/* First try the room we have; only a miss pays for a second pass. */
	va_start(ap, fmt);
	n = vsnprintf(s->data + s->len, s->cap - s->len + 1, fmt, ap);
	va_end(ap);
	if (n < 0) {
		s->data[s->len] = '\0';
		return;
	}
	if ((apr_size_t)n > s->cap - s->len) {
		stream_reserve(s, (apr_size_t)n);
		va_start(ap, fmt);
		vsnprintf(s->data + s->len, s->cap - s->len + 1, fmt, ap);
		va_end(ap);
	}
	s->len += (apr_size_t)n;
}

const char *sb_stream_data(const sb_stream_t *s, apr_size_t *len)
{
	if (len)
		*len = s->len;
	return s->data;
}
