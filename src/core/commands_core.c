/* commands_core.c — the core's control commands: status, reloadxml, ... */
#include <signal.h>
#include <unistd.h>
#include <apr_strings.h>
#include "sipsbridge/sb_control.h"
#include "sipsbridge/sb_log.h"
#include "runtime_private.h"
#include "config.h"

static apr_status_t cmd_status(const char *args, sb_stream_t *out,
			       apr_pool_t *pool, void *baton)
{
	sb_runtime_t *rt = baton;
	apr_time_t up = apr_time_now() - rt->started;
	apr_int64_t secs = apr_time_sec(up);

	(void)args;
	(void)pool;
	sb_stream_printf(out, "UP %" APR_INT64_T_FMT " days, %d hours, "
			 "%d minutes, %d seconds\n",
			 secs / 86400, (int)(secs % 86400) / 3600,
			 (int)(secs % 3600) / 60, (int)(secs % 60));
	sb_stream_printf(out, "sipsbridge %s, pid %ld, %u worker threads, "
			 "%u module(s) started\n",
			 PACKAGE_VERSION, (long)getpid(),
			 sb_loop_nworkers(rt->loop), rt->modules_started);
	sb_stream_printf(out, "conf %s\nrun %s\nlog %s\ndb %s\n",
			 rt->dirs.conf_dir, rt->dirs.run_dir,
			 rt->dirs.log_dir, rt->dirs.db_dir);
	return APR_SUCCESS;
}

static apr_status_t cmd_reloadxml(const char *args, sb_stream_t *out,
				  apr_pool_t *pool, void *baton)
{
	char why[1024];
	apr_status_t rv;

	(void)args;
	(void)pool;
	rv = sb_runtime_reload(baton, why, sizeof(why));
	sb_stream_printf(out, "%s\n", why);
	return rv;
}

static apr_status_t cmd_shutdown(const char *args, sb_stream_t *out,
				 apr_pool_t *pool, void *baton)
{
	(void)args;
	(void)pool;
	(void)baton;
	sb_log(SB_LOG_NOTICE, "SB00301", "shutdown requested by control");
	sb_stream_printf(out, "shutting down\n");
	/* The main thread waits for signals; it does the real work. */
	kill(getpid(), SIGTERM);
	return APR_SUCCESS;
}

static apr_status_t cmd_version(const char *args, sb_stream_t *out,
				apr_pool_t *pool, void *baton)
{
	(void)args;
	(void)pool;
	(void)baton;
	sb_stream_printf(out, "sipsbridge %s\n", PACKAGE_VERSION);
	return APR_SUCCESS;
}

static apr_status_t cmd_loglevel(const char *args, sb_stream_t *out,
				 apr_pool_t *pool, void *baton)
{
	int level = sb_log_level_parse(args);

	(void)pool;
	(void)baton;
	if (level < 0) {
		sb_stream_printf(out, "unknown log level \"%s\" (use crit, "
				 "err, warning, notice, info or debug)\n",
				 args);
		return APR_EINVAL;
	}
	sb_log_set_level(level);
	sb_stream_printf(out, "log level %s\n", args);
	return APR_SUCCESS;
}

static const struct {
	const char *name, *syntax, *help;
	sb_command_fn fn;
} core_commands[] = {
	{ "status", "status", "uptime, threads, directories", cmd_status },
	{ "reloadxml", "reloadxml", "read the XML configuration again",
	  cmd_reloadxml },
	{ "shutdown", "shutdown", "stop the switch cleanly", cmd_shutdown },
	{ "version", "version", "print the version", cmd_version },
	{ "loglevel", "loglevel LEVEL", "set the log level", cmd_loglevel },
};

#define N_CORE_COMMANDS (sizeof(core_commands) / sizeof(core_commands[0]))

apr_status_t sb_commands_core_register(sb_runtime_t *rt)
{
	apr_size_t i;
	apr_status_t rv;

	for (i = 0; i < N_CORE_COMMANDS; i++) {
		rv = sb_control_register(core_commands[i].name,
					 core_commands[i].syntax,
					 core_commands[i].help,
					 core_commands[i].fn, rt);
		if (rv != APR_SUCCESS)
			return rv;
	}
	return APR_SUCCESS;
}

void sb_commands_core_unregister(void)
{
	apr_size_t i;

	for (i = 0; i < N_CORE_COMMANDS; i++)
		sb_control_unregister(core_commands[i].name);
}
