/* expand_private.h — the expansion registry's start-up and shut-down. */
#ifndef SB_EXPAND_PRIVATE_H
#define SB_EXPAND_PRIVATE_H

#include "sipsbridge/sb_expand.h"

/** Deepest ${...} nesting sb_expand accepts. */
#define SB_EXPAND_MAX_DEPTH 8
/** Longest result (and longest function argument) sb_expand builds. */
#define SB_EXPAND_MAX_LEN ((apr_size_t)64 * 1024)

/**
 * Registers the built-in functions (FreeSWITCH's "regex": value|pattern
 * gives "true" or "false", value|pattern|template substitutes %0..%9).
 * The core calls it once at start-up.
 */
apr_status_t sb_expand_builtins_register(void);

/**
 * Frees the process-wide registry (its own unmanaged pool).  The core
 * calls it at exit once no thread can expand any more; a later
 * registration starts a fresh registry.  Not calling it leaves memory that
 * is still reachable, never a leak.
 */
void sb_expand_shutdown(void);

#endif
