/* module.c — loads the modules named in modules.conf through APR-DSO. */
#include <string.h>
#include <apr_dso.h>
#include <apr_strings.h>
#include "sipsbridge/sb_log.h"
#include "runtime_private.h"

struct sb_loaded_module {
	struct sb_loaded_module *next;
	apr_dso_handle_t *dso;
	sb_module_t *module;
	int started;
};

/* Opens the shared object and checks magic and ABI (httpd's mod_so). */
static apr_status_t module_open(sb_runtime_t *rt, const char *name,
				struct sb_loaded_module **out)
{
	struct sb_loaded_module *lm;
	apr_dso_handle_sym_t sym;
	apr_dso_handle_t *dso;
	const char *path;
	sb_module_t *mod;
	char err[256];
	apr_status_t rv;

	path = apr_pstrcat(rt->pool, rt->dirs.mod_dir, "/", name, ".so", NULL);
	rv = apr_dso_load(&dso, path, rt->pool);
	if (rv != APR_SUCCESS) {
		sb_log(SB_LOG_ERR, "SB00201", "module %s: cannot load %s: %s",
		       name, path, apr_dso_error(dso, err, sizeof(err)));
		return rv;
	}
	rv = apr_dso_sym(&sym, dso,
			 apr_pstrcat(rt->pool, name, "_module", NULL));
	if (rv != APR_SUCCESS) {
		sb_log(SB_LOG_ERR, "SB00202",
		       "module %s: %s has no symbol %s_module", name, path,
		       name);
		apr_dso_unload(dso);
		return rv;
	}
	mod = (sb_module_t *)sym;
	if (mod->magic != SB_MODULE_MAGIC || mod->abi != SB_MODULE_ABI) {
		sb_log(SB_LOG_ERR, "SB00203",
		       "module %s: %s is not a sipsbridge module of ABI %u "
		       "(magic %08x, abi %u)",
		       name, path, SB_MODULE_ABI, mod->magic, mod->abi);
		apr_dso_unload(dso);
		return APR_EINVAL;
	}
	lm = apr_pcalloc(rt->pool, sizeof(*lm));
	lm->dso = dso;
	lm->module = mod;
	*out = lm;
	return APR_SUCCESS;
}

static void module_start(sb_runtime_t *rt, const char *name)
{
	struct sb_loaded_module *lm, **tail;
	apr_status_t rv;
	char buf[128];

	for (lm = rt->modules; lm; lm = lm->next)
		if (!strcmp(lm->module->name, name)) {
			sb_log(SB_LOG_WARNING, "SB00204",
			       "module %s is listed twice; loaded once", name);
			return;
		}
	if (module_open(rt, name, &lm) != APR_SUCCESS)
		return;
	rv = lm->module->load(rt, rt->pool);
	if (rv != APR_SUCCESS) {
		sb_log(SB_LOG_ERR, "SB00205", "module %s failed to start: %s",
		       name, sb_strerror(rv, buf, sizeof(buf)));
	} else {
		lm->started = 1;
		rt->modules_started++;
		sb_log(SB_LOG_NOTICE, "SB00206", "module %s started", name);
	}
	for (tail = &rt->modules; *tail; tail = &(*tail)->next)
		;
	*tail = lm;
}

apr_status_t sb_modules_load(sb_runtime_t *rt)
{
	xmlNodePtr conf, list, node;
	unsigned listed = 0;

	conf = sb_config_find_conf(rt->config, "modules.conf");
	list = conf ? sb_xml_child(conf, "modules") : NULL;
	if (!list) {
		sb_log(SB_LOG_ERR, "SB00207",
		       "modules.conf: no <configuration name=\"modules.conf\">"
		       "<modules> found; nothing to load");
		return SB_ECONFIG;
	}
	for (node = sb_xml_child(list, "load"); node;
	     node = sb_xml_next(node, "load")) {
		const char *name = sb_xml_attr(node, "module");
		const char *file;
		int line;

		if (!name || !*name) {
			sb_config_where(rt->config, node, &file, &line);
			sb_log(SB_LOG_ERR, "SB00208",
			       "%s:%d: <load> without a module attribute", file,
			       line);
			continue;
		}
		listed++;
		module_start(rt, name);
	}
	if (rt->modules_started == 0) {
		sb_log(SB_LOG_CRIT, "SB00209",
		       "no module started (%u listed)", listed);
		return SB_ECONFIG;
	}
	return APR_SUCCESS;
}

void sb_modules_reload(sb_runtime_t *rt)
{
	struct sb_loaded_module *lm;

	for (lm = rt->modules; lm; lm = lm->next)
		if (lm->started && lm->module->reload)
			lm->module->reload(rt);
}

void sb_modules_shutdown(sb_runtime_t *rt)
{
	struct sb_loaded_module *lm;

	for (lm = rt->modules; lm; lm = lm->next)
		if (lm->started && lm->module->shutdown)
			lm->module->shutdown(rt);
}
