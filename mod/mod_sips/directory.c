/* directory.c — the user directory as a hash, built from the XML tree. */
#include <string.h>
#include <apr_hash.h>
#include <apr_strings.h>
#include "sipsbridge/sb_log.h"
#include "directory.h"

struct directory {
	apr_pool_t *pool;
	apr_hash_t *users; /* "id@domain" -> dir_user_t */
	apr_size_t ndomains;
	const char *only_domain;
};

/* <params><param name=... value=...> of @p node into the user. */
static void read_params(const xmlNode *node, dir_user_t *u, apr_pool_t *pool)
{
	const xmlNode *params = sb_xml_child(node, "params"), *p;

	for (p = params ? sb_xml_child(params, "param") : NULL; p;
	     p = sb_xml_next(p, "param")) {
		const char *name = sb_xml_attr(p, "name");
		const char *value = sb_xml_attr(p, "value");

		if (!name || !value)
			continue;
		if (!strcmp(name, "password"))
			u->password = apr_pstrdup(pool, value);
		else if (!strcmp(name, "dial-string"))
			u->dial_string = apr_pstrdup(pool, value);
	}
}

/* <variables><variable name=... value=...> of @p node into @p vars. */
static void read_vars(const xmlNode *node, apr_table_t *vars)
{
	const xmlNode *list = sb_xml_child(node, "variables"), *v;

	for (v = list ? sb_xml_child(list, "variable") : NULL; v;
	     v = sb_xml_next(v, "variable")) {
		const char *name = sb_xml_attr(v, "name");
		const char *value = sb_xml_attr(v, "value");

		if (name && *name && value)
			apr_table_set(vars, name, value);
	}
}

/* Users anywhere below the domain (groups/users or users). */
static void walk_users(directory_t *dir, const xmlNode *node,
		       const dir_user_t *defaults)
{
	const xmlNode *child;

	for (child = node->children; child; child = child->next) {
		const char *id;
		dir_user_t *u;

		if (child->type != XML_ELEMENT_NODE)
			continue;
		if (strcmp((const char *)child->name, "user")) {
			walk_users(dir, child, defaults);
			continue;
		}
		id = sb_xml_attr(child, "id");
		if (!id || !*id)
			continue;
		u = apr_pmemdup(dir->pool, defaults, sizeof(*u));
		u->id = apr_pstrdup(dir->pool, id);
		read_params(child, u, dir->pool);
		u->vars = apr_table_copy(dir->pool, defaults->vars);
		read_vars(child, u->vars);
		apr_hash_set(dir->users,
			     apr_pstrcat(dir->pool, u->id, "@", u->domain,
					 NULL),
			     APR_HASH_KEY_STRING, u);
	}
}

apr_status_t directory_load(directory_t **out, const sb_config_t *cfg,
			    apr_pool_t *pool)
{
	directory_t *dir = apr_pcalloc(pool, sizeof(*dir));
	xmlNodePtr section = sb_config_section(cfg, "directory");
	const xmlNode *domain;

	dir->pool = pool;
	dir->users = apr_hash_make(pool);
	for (domain = section ? sb_xml_child(section, "domain") : NULL; domain;
	     domain = sb_xml_next(domain, "domain")) {
		dir_user_t defaults;
		const char *name = sb_xml_attr(domain, "name");

		if (!name || !*name)
			continue;
		memset(&defaults, 0, sizeof(defaults));
		defaults.domain = apr_pstrdup(pool, name);
		read_params(domain, &defaults, pool);
		defaults.vars = apr_table_make(pool, 4);
		read_vars(domain, defaults.vars);
		walk_users(dir, domain, &defaults);
		dir->ndomains++;
		dir->only_domain = defaults.domain;
	}
	*out = dir;
	return APR_SUCCESS;
}

const dir_user_t *directory_find(const directory_t *dir, const char *id,
				 const char *domain)
{
	char key[512];
	const dir_user_t *u;

	apr_snprintf(key, sizeof(key), "%s@%s", id, domain);
	u = apr_hash_get(dir->users, key, APR_HASH_KEY_STRING);
	if (!u && dir->ndomains == 1) {
		apr_snprintf(key, sizeof(key), "%s@%s", id, dir->only_domain);
		u = apr_hash_get(dir->users, key, APR_HASH_KEY_STRING);
	}
	return u;
}

apr_size_t directory_count(const directory_t *dir)
{
	return apr_hash_count(dir->users);
}
