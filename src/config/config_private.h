/* config_private.h — what the config files share and nobody else sees. */
#ifndef SB_CONFIG_PRIVATE_H
#define SB_CONFIG_PRIVATE_H

#include "sipsbridge/sb_config.h"

/** Most text the pre-processor produces before it gives up. */
#define SB_PREPROCESS_MAX_OUTPUT ((apr_size_t)64 * 1024 * 1024)
/** Bytes all set values may take together ($${a}$${a} doubling). */
#define SB_PREPROCESS_MAX_VALUE ((apr_size_t)1024 * 1024)
/** Deepest include nesting (the root file is depth 0). */
#define SB_PREPROCESS_MAX_DEPTH 20

/** Receives expanded text piece by piece; non-success stops expansion. */
typedef apr_status_t (*sb_vars_sink_fn)(void *ctx, const char *s, apr_size_t n);

/**
 * Expand $${name} in the @p n bytes at @p s (no NUL needed) into @p sink.
 * When @p unknown is non-NULL and still NULL, the first unset name is
 * copied there from @p pool.
 */
apr_status_t sb_vars_expand_to(const sb_vars_t *vars, const char *s,
			       apr_size_t n, sb_vars_sink_fn sink, void *ctx,
			       apr_pool_t *pool, const char **unknown);

/** A copy of @p map in @p pool, so the pre-processed text can go. */
apr_status_t sb_linemap_copy(sb_linemap_t **out, const sb_linemap_t *map,
			     apr_pool_t *pool);

/** Fill @p err (when non-NULL) with a location and a formatted message. */
void sb_config_error_set(sb_config_error_t *err, const char *file, int line,
			 const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
