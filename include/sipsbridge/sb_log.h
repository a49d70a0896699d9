/* sb_log.h — levelled logging with stable message tags (SBnnnnn). */
#ifndef SB_LOG_H
#define SB_LOG_H

#include "sb_types.h"

typedef enum {
	SB_LOG_CRIT = 0,
	SB_LOG_ERR,
	SB_LOG_WARNING,
	SB_LOG_NOTICE,
	SB_LOG_INFO,
	SB_LOG_DEBUG
} sb_log_level_e;

/**
 * Open the log. @p dir may be NULL (no file). When @p to_stderr is set the
 * lines also go to stderr (foreground mode). Thread-safe once opened.
 */
apr_status_t sb_log_open(const char *dir, sb_log_level_e level, int to_stderr);
void sb_log_close(void);
void sb_log_set_level(sb_log_level_e level);
int sb_log_enabled(sb_log_level_e level);
/** Parse "debug", "info", "notice", "warning", "err", "crit"; -1 if none. */
int sb_log_level_parse(const char *name);

/**
 * Write one line: "<time> [LEVEL] TAG message". @p tag is a stable id such
 * as "SB01001" that docs/troubleshooting.md is keyed by. Never pass keys or
 * passwords.
 */
void sb_log(sb_log_level_e level, const char *tag, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define SB_LOG(level, tag, ...)                                               \
	do {                                                                  \
		if (sb_log_enabled(level))                                    \
			sb_log(level, tag, __VA_ARGS__);                      \
	} while (0)

#endif
