/* sb_config.h — the XML configuration: pre-processor, variables, tree. */
#ifndef SB_CONFIG_H
#define SB_CONFIG_H

#include <libxml/tree.h>
#include "sb_types.h"

/** Pre-process variables ($${name}), built-ins plus X-PRE-PROCESS set. */
typedef struct sb_vars sb_vars_t;

apr_status_t sb_vars_create(sb_vars_t **out, apr_pool_t *pool);
/** Copies name and value into the set's pool; replaces an earlier value. */
void sb_vars_set(sb_vars_t *vars, const char *name, const char *value);
/** NULL when unset. */
const char *sb_vars_get(const sb_vars_t *vars, const char *name);

/** Directories the built-in variables describe (FreeSWITCH names). */
typedef struct sb_dirs {
	const char *base_dir;
	const char *conf_dir;
	const char *log_dir;
	const char *run_dir;
	const char *db_dir;
	const char *mod_dir;
} sb_dirs_t;

/**
 * Set the built-in variables as FreeSWITCH defines them: local_ip_v4,
 * local_mask_v4, local_ip_v6, hostname, base_dir, conf_dir, log_dir,
 * run_dir, db_dir, mod_dir, certs_dir, switch_serial, core_uuid.
 */
apr_status_t sb_vars_set_builtins(sb_vars_t *vars, const sb_dirs_t *dirs);

/**
 * Replace every $${name} in @p in (unset names expand to the empty string
 * and are reported through @p unknown when non-NULL). Result in @p pool.
 */
char *sb_vars_expand(const sb_vars_t *vars, const char *in, apr_pool_t *pool,
		     const char **unknown);

/** Where a config error is: file and line in the original files. */
typedef struct sb_config_error {
	char file[512];
	int line;
	char msg[512];
} sb_config_error_t;

/** Maps lines of the pre-processed text back to file:line. */
typedef struct sb_linemap sb_linemap_t;

/**
 * Run the pre-processor over @p path: X-PRE-PROCESS include (globs,
 * relative to the including file's directory) and set, $${var}
 * expansion. Output is one XML text in @p pool; @p map maps its lines.
 */
apr_status_t sb_preprocess_file(const char *path, sb_vars_t *vars,
				apr_pool_t *pool, char **text,
				apr_size_t *len, sb_linemap_t **map,
				sb_config_error_t *err);

/** The original file and line of line @p out_line (1-based) of the text. */
void sb_linemap_lookup(const sb_linemap_t *map, int out_line,
		       const char **file, int *line);

/** A loaded configuration: pre-processed, parsed, with its line map. */
typedef struct sb_config sb_config_t;

/**
 * Pre-process and parse the root file. The document lives until the
 * pool is destroyed.
 */
apr_status_t sb_config_load(sb_config_t **out, const char *root_path,
			    sb_vars_t *vars, apr_pool_t *pool,
			    sb_config_error_t *err);

xmlNodePtr sb_config_root(const sb_config_t *cfg);
sb_vars_t *sb_config_vars(const sb_config_t *cfg);

/**
 * The child element named @p name of <section name="configuration">
 * whose name attribute is @p conf_name (e.g. "sips.conf"); NULL if absent.
 */
xmlNodePtr sb_config_find_conf(const sb_config_t *cfg, const char *conf_name);

/** The <section name="..."> element, or NULL. */
xmlNodePtr sb_config_section(const sb_config_t *cfg, const char *name);

/** Original file:line of an element of the parsed document. */
void sb_config_where(const sb_config_t *cfg, const xmlNode *node,
		     const char **file, int *line);

/** Helpers over libxml2: first child element by name, attribute value. */
xmlNodePtr sb_xml_child(const xmlNode *node, const char *name);
xmlNodePtr sb_xml_next(const xmlNode *node, const char *name);
/** Attribute value (owned by the document) or NULL. */
const char *sb_xml_attr(const xmlNode *node, const char *name);

#endif
