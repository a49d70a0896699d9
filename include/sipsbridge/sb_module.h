/* sb_module.h — what a loadable module exports (found by apr_dso_sym). */
#ifndef SB_MODULE_H
#define SB_MODULE_H

#include "sb_runtime.h"

#define SB_MODULE_MAGIC 0x53424d31u /* "SBM1" */
#define SB_MODULE_ABI 1u

typedef struct sb_module {
	apr_uint32_t magic; /* SB_MODULE_MAGIC, checked before use */
	apr_uint32_t abi;   /* SB_MODULE_ABI of the core it was built for */
	const char *name;   /* "mod_sips"; the symbol is <name>_module */
	/** Start: read config, bind, register commands. */
	apr_status_t (*load)(sb_runtime_t *rt, apr_pool_t *pool);
	/** After reloadxml succeeded (optional). */
	apr_status_t (*reload)(sb_runtime_t *rt);
	/** Before the loop stops: close listeners, flush state (optional). */
	void (*shutdown)(sb_runtime_t *rt);
} sb_module_t;

#define SB_MODULE_DEFINE(mod, load_fn, reload_fn, shutdown_fn)               \
	sb_module_t mod##_module = { SB_MODULE_MAGIC, SB_MODULE_ABI, #mod,    \
				     load_fn, reload_fn, shutdown_fn }

#endif
