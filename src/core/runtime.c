/* runtime.c — the running switch: directories, configuration, reload. */
#include <apr_strings.h>
#include "sipsbridge/sb_log.h"
#include "runtime_private.h"

const sb_dirs_t *sb_runtime_dirs(const sb_runtime_t *rt)
{
	return &rt->dirs;
}

sb_loop_t *sb_runtime_loop(const sb_runtime_t *rt)
{
	return rt->loop;
}

const sb_config_t *sb_runtime_config(const sb_runtime_t *rt)
{
	return rt->config;
}

void sb_runtime_config_rdlock(sb_runtime_t *rt)
{
	apr_thread_rwlock_rdlock(rt->config_lock);
}

void sb_runtime_config_unlock(sb_runtime_t *rt)
{
	apr_thread_rwlock_unlock(rt->config_lock);
}

apr_pool_t *sb_runtime_pool(const sb_runtime_t *rt)
{
	return rt->pool;
}

apr_time_t sb_runtime_started(const sb_runtime_t *rt)
{
	return rt->started;
}

/* Builds a fresh tree in its own pool; on success *out_pool owns it. */
static apr_status_t read_config(sb_runtime_t *rt, apr_pool_t **out_pool,
				sb_config_t **out_cfg, sb_vars_t **out_vars,
				sb_config_error_t *err)
{
	apr_pool_t *pool;
	sb_vars_t *vars;
	sb_config_t *cfg;
	const char *root;
	apr_status_t rv;

	rv = apr_pool_create(&pool, rt->pool);
	if (rv != APR_SUCCESS)
		return rv;
	root = apr_pstrcat(pool, rt->dirs.conf_dir, "/sipsbridge.xml", NULL);
	rv = sb_vars_create(&vars, pool);
	if (rv == APR_SUCCESS)
		rv = sb_vars_set_builtins(vars, &rt->dirs);
	if (rv == APR_SUCCESS)
		rv = sb_config_load(&cfg, root, vars, pool, err);
	if (rv != APR_SUCCESS) {
		apr_pool_destroy(pool);
		return rv;
	}
	*out_pool = pool;
	*out_cfg = cfg;
	*out_vars = vars;
	return APR_SUCCESS;
}

static void log_config_error(const sb_config_error_t *err, apr_status_t rv)
{
	char buf[128];

	if (err->file[0])
		sb_log(SB_LOG_ERR, "SB00101", "config: %s:%d: %s", err->file,
		       err->line, err->msg);
	else
		sb_log(SB_LOG_ERR, "SB00101", "config: %s",
		       err->msg[0] ? err->msg : sb_strerror(rv, buf, sizeof(buf)));
}

apr_status_t sb_runtime_load_config(sb_runtime_t *rt)
{
	sb_config_error_t err = { { 0 }, 0, { 0 } };
	apr_status_t rv;

	rv = read_config(rt, &rt->config_pool, &rt->config, &rt->vars, &err);
	if (rv != APR_SUCCESS) {
		log_config_error(&err, rv);
		return rv;
	}
	sb_log(SB_LOG_INFO, "SB00102", "config: loaded %s/sipsbridge.xml",
	       rt->dirs.conf_dir);
	return APR_SUCCESS;
}

apr_status_t sb_runtime_reload(sb_runtime_t *rt, char *why, apr_size_t len)
{
	sb_config_error_t err = { { 0 }, 0, { 0 } };
	apr_pool_t *pool, *old;
	sb_config_t *cfg;
	sb_vars_t *vars;
	apr_status_t rv;

	rv = read_config(rt, &pool, &cfg, &vars, &err);
	if (rv != APR_SUCCESS) {
		log_config_error(&err, rv);
		if (err.file[0])
			apr_snprintf(why, len, "%s:%d: %s", err.file, err.line,
				     err.msg);
		else
			apr_cpystrn(why, err.msg, len);
		sb_log(SB_LOG_WARNING, "SB00103",
		       "reloadxml failed; the previous configuration stays");
		return rv;
	}
	apr_thread_rwlock_wrlock(rt->config_lock);
	old = rt->config_pool;
	rt->config_pool = pool;
	rt->config = cfg;
	rt->vars = vars;
	apr_thread_rwlock_unlock(rt->config_lock);
	apr_pool_destroy(old);
	sb_log(SB_LOG_NOTICE, "SB00104", "reloadxml: configuration reloaded");
	sb_modules_reload(rt);
	apr_cpystrn(why, "configuration reloaded", len);
	return APR_SUCCESS;
}
