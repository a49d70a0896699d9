/* log.c — the levelled log: one line per event, to a file and/or stderr. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <errno.h>
#include <strings.h>
#include <unistd.h>
#include <apr_strings.h>
#include <apr_thread_mutex.h>
#include <apr_time.h>
#include "sipsbridge/sb_log.h"

static const char *const level_names[] = {
	"CRIT", "ERR", "WARNING", "NOTICE", "INFO", "DEBUG",
};

static struct {
	FILE *file;
	int to_stderr;
	volatile int level;
	apr_pool_t *pool;
	apr_thread_mutex_t *lock;
} sb_logger = { NULL, 1, SB_LOG_INFO, NULL, NULL };

int sb_log_level_parse(const char *name)
{
	static const char *const aliases[] = { "crit", "err", "warning",
					       "notice", "info", "debug" };
	int i;

	if (!name)
		return -1;
	for (i = 0; i <= SB_LOG_DEBUG; i++)
		if (!strcasecmp(name, aliases[i]))
			return i;
	if (!strcasecmp(name, "error"))
		return SB_LOG_ERR;
	if (!strcasecmp(name, "warn"))
		return SB_LOG_WARNING;
	return -1;
}

apr_status_t sb_log_open(const char *dir, sb_log_level_e level, int to_stderr)
{
	apr_status_t rv;

	if (!sb_logger.pool) {
		rv = apr_pool_create(&sb_logger.pool, NULL);
		if (rv != APR_SUCCESS)
			return rv;
		rv = apr_thread_mutex_create(&sb_logger.lock,
					     APR_THREAD_MUTEX_DEFAULT,
					     sb_logger.pool);
		if (rv != APR_SUCCESS)
			return rv;
	}
	sb_logger.level = level;
	sb_logger.to_stderr = to_stderr;
	if (dir) {
		char *path = apr_pstrcat(sb_logger.pool, dir,
					 "/sipsbridge.log", NULL);
		FILE *f = fopen(path, "a");

		if (!f)
			return errno;
		setvbuf(f, NULL, _IOLBF, 0);
		apr_thread_mutex_lock(sb_logger.lock);
		if (sb_logger.file)
			fclose(sb_logger.file);
		sb_logger.file = f;
		apr_thread_mutex_unlock(sb_logger.lock);
	}
	return APR_SUCCESS;
}

void sb_log_close(void)
{
	if (!sb_logger.pool)
		return;
	if (sb_logger.file)
		fclose(sb_logger.file);
	sb_logger.file = NULL;
	apr_pool_destroy(sb_logger.pool);
	sb_logger.pool = NULL;
	sb_logger.lock = NULL;
}

void sb_log_set_level(sb_log_level_e level)
{
	sb_logger.level = level;
}

int sb_log_enabled(sb_log_level_e level)
{
	return (int)level <= sb_logger.level;
}

void sb_log(sb_log_level_e level, const char *tag, const char *fmt, ...)
{
	char line[2048];
	char stamp[APR_CTIME_LEN];
	apr_time_exp_t tm;
	apr_size_t n;
	va_list ap;

	if (!sb_log_enabled(level))
		return;
	apr_time_exp_lt(&tm, apr_time_now());
	apr_snprintf(stamp, sizeof(stamp), "%04d-%02d-%02d %02d:%02d:%02d.%03d",
		     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		     tm.tm_min, tm.tm_sec, tm.tm_usec / 1000);
	n = (apr_size_t)apr_snprintf(line, sizeof(line), "%s [%s] %s ", stamp,
				     level_names[level], tag ? tag : "SB00000");
	va_start(ap, fmt);
	n += (apr_size_t)apr_vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
	va_end(ap);
	if (n > sizeof(line) - 2)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	line[n] = '\0';

	if (sb_logger.lock)
		apr_thread_mutex_lock(sb_logger.lock);
	if (sb_logger.file)
		fwrite(line, 1, n, sb_logger.file);
	if (sb_logger.to_stderr || !sb_logger.file)
		fwrite(line, 1, n, stderr);
	if (sb_logger.lock)
		apr_thread_mutex_unlock(sb_logger.lock);
}
