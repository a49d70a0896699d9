/* dialplan_load.c — <section name="dialplan"> read into contexts. */
#include <stdarg.h>
#include <string.h>
#include <strings.h>
#include <apr_strings.h>
#include "dialplan_private.h"

/*
 * Everything is checked and copied at load: the dialplan keeps no pointer
 * into the XML document, and a mistake is reported once, at its
 * file:line, instead of on every call that reaches it.  Unknown elements
 * and attributes are errors, not silently skipped: a FreeSWITCH feature
 * we lack (time-of-day conditions, nested conditions, loop=) must not
 * quietly change where calls go.
 */
typedef struct {
	sb_dialplan_t *dp;
	const sb_config_t *cfg;
	sb_dp_app_known_fn known;
	void *baton;
	sb_config_error_t *err;
	apr_hash_t *files;   /* interned file names */
	const char *context; /* where we are, for messages */
	const char *extension;
} dp_loader_t;

static apr_status_t dp_fail(dp_loader_t *ld, const xmlNode *node,
			    const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static apr_status_t dp_fail(dp_loader_t *ld, const xmlNode *node,
			    const char *fmt, ...)
{
	sb_config_error_t *err = ld->err;
	const char *file;
	char msg[400];
	va_list ap;
	int line;

	if (!err)
		return SB_ECONFIG;
	va_start(ap, fmt);
	apr_vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	sb_config_where(ld->cfg, node, &file, &line);
	apr_cpystrn(err->file, file ? file : "", sizeof(err->file));
	err->line = line;
	if (ld->extension)
		apr_snprintf(err->msg, sizeof(err->msg),
			     "dialplan: context \"%s\", extension \"%s\": %s",
			     ld->context, ld->extension, msg);
	else if (ld->context)
		apr_snprintf(err->msg, sizeof(err->msg),
			     "dialplan: context \"%s\": %s", ld->context, msg);
	else
		apr_snprintf(err->msg, sizeof(err->msg), "dialplan: %s", msg);
	return SB_ECONFIG;
}

/* Where @p node was written, with the file name copied once per file. */
static void dp_where(dp_loader_t *ld, const xmlNode *node, const char **file,
		     int *line)
{
	const char *f, *kept;

	sb_config_where(ld->cfg, node, &f, line);
	f = f ? f : "";
	kept = apr_hash_get(ld->files, f, APR_HASH_KEY_STRING);
	if (!kept) {
		kept = apr_pstrdup(ld->dp->pool, f);
		apr_hash_set(ld->files, kept, APR_HASH_KEY_STRING, kept);
	}
	*file = kept;
}

static apr_status_t dp_check_attrs(dp_loader_t *ld, const xmlNode *node,
				   const char *const *allowed)
{
	const xmlAttr *a;
	int i;

	for (a = node->properties; a; a = a->next) {
		for (i = 0; allowed[i]; i++)
			if (strcmp(allowed[i], (const char *)a->name) == 0)
				break;
		if (!allowed[i])
			return dp_fail(
			    ld, node, "<%s>: attribute \"%s\" is not supported",
			    (const char *)node->name, (const char *)a->name);
	}
	return APR_SUCCESS;
}

/* FreeSWITCH's spellings of true and false; 0 for anything else. */
static int dp_bool(const char *v, int *out)
{
	static const char *const yes[] = {"true",    "yes",    "on",	"1",
					  "enabled", "active", "allow", NULL};
	static const char *const no[] = {"false",    "no",	 "off",	 "0",
					 "disabled", "inactive", "deny", NULL};
	int i;

	for (i = 0; yes[i]; i++)
		if (strcasecmp(v, yes[i]) == 0) {
			*out = 1;
			return 1;
		}
	for (i = 0; no[i]; i++)
		if (strcasecmp(v, no[i]) == 0) {
			*out = 0;
			return 1;
		}
	return 0;
}

static apr_status_t dp_code_free(void *data)
{
	pcre2_code_free(data);
	return APR_SUCCESS;
}

/* FreeSWITCH's "/pattern/flags": only i, m, s and x are flags. */
static int dp_regex_flags(const char *s, uint32_t *opts)
{
	for (; *s; s++) {
		if (*s == 'i')
			*opts |= PCRE2_CASELESS;
		else if (*s == 'm')
			*opts |= PCRE2_MULTILINE;
		else if (*s == 's')
			*opts |= PCRE2_DOTALL;
		else if (*s == 'x')
			*opts |= PCRE2_EXTENDED;
		else
			return 0;
	}
	return 1;
}

apr_status_t dp_regex_compile(const char *expression, apr_pool_t *pool,
			      pcre2_code **code, char *why, apr_size_t why_len)
{
	const char *pat = expression, *last;
	PCRE2_SIZE len = strlen(expression), off;
	PCRE2_UCHAR text[160];
	uint32_t opts = 0;
	pcre2_code *c;
	int errcode;

	if (expression[0] == '/') {
		last = strrchr(expression + 1, '/');
		if (!last || !dp_regex_flags(last + 1, &opts)) {
			apr_snprintf(why, why_len,
				     "a /pattern/ needs a closing \"/\" "
				     "followed only by the flags i, m, s, x");
			return SB_ECONFIG;
		}
		pat = expression + 1;
		len = (PCRE2_SIZE)(last - pat);
	}
	c = pcre2_compile((PCRE2_SPTR)pat, len, opts, &errcode, &off, NULL);
	if (!c) {
		pcre2_get_error_message(errcode, text, sizeof(text));
		apr_snprintf(why, why_len, "PCRE2: %s at offset %lu",
			     (const char *)text, (unsigned long)off);
		return SB_ECONFIG;
	}
	apr_pool_cleanup_register(pool, c, dp_code_free, apr_pool_cleanup_null);
	*code = c;
	return APR_SUCCESS;
}

static apr_status_t dp_test_load(dp_loader_t *ld, const xmlNode *node,
				 const char *field, const char *expr,
				 dp_test_t *t)
{
	char why[256];

	memset(t, 0, sizeof(*t));
	dp_where(ld, node, &t->file, &t->line);
	if (field && !expr)
		return dp_fail(ld, node, "field \"%s\" without expression",
			       field);
	if (expr && !field)
		return dp_fail(ld, node, "expression \"%s\" without field",
			       expr);
	if (!field)
		return APR_SUCCESS;
	if (!*field)
		return dp_fail(ld, node, "empty field");
	t->field = apr_pstrdup(ld->dp->pool, field);
	t->field_expand = strchr(field, '$') != NULL;
	t->expression = apr_pstrdup(ld->dp->pool, expr);
	/* Expressions built from variables can only compile per call. */
	if (strstr(expr, "${"))
		return APR_SUCCESS;
	if (dp_regex_compile(expr, ld->dp->pool, &t->code, why, sizeof(why)) !=
	    APR_SUCCESS)
		return dp_fail(ld, node, "expression \"%s\": %s", expr, why);
	return APR_SUCCESS;
}

static apr_status_t dp_action_load(dp_loader_t *ld, const xmlNode *node,
				   apr_array_header_t *into)
{
	static const char *const attrs[] = {"application", "data", "inline",
					    NULL};
	const char *app = sb_xml_attr(node, "application");
	const char *data = sb_xml_attr(node, "data");
	const char *inl = sb_xml_attr(node, "inline");
	const char *kind = (const char *)node->name;
	dp_action_t *a;
	int is_inline = 0;
	apr_status_t rv;

	rv = dp_check_attrs(ld, node, attrs);
	if (rv != APR_SUCCESS)
		return rv;
	if (!app || !*app)
		return dp_fail(ld, node, "<%s> without application", kind);
	if (ld->known && !ld->known(ld->baton, app))
		return dp_fail(ld, node, "<%s>: unknown application \"%s\"",
			       kind, app);
	if (inl && !dp_bool(inl, &is_inline))
		return dp_fail(ld, node,
			       "<%s>: inline=\"%s\" is not true or false", kind,
			       inl);
	/* Only set changes what later conditions see: nothing else could
	 * usefully run before the call has a route. */
	if (is_inline && strcmp(app, "set") != 0)
		return dp_fail(ld, node,
			       "<%s>: inline=\"true\" works with \"set\" only, "
			       "not \"%s\"",
			       kind, app);
	if (is_inline && (!data || !*data))
		return dp_fail(ld, node, "<%s>: inline set without data", kind);
	a = apr_array_push(into);
	a->app = apr_pstrdup(ld->dp->pool, app);
	a->data = apr_pstrdup(ld->dp->pool, data ? data : "");
	a->inline_set = is_inline;
	dp_where(ld, node, &a->file, &a->line);
	return APR_SUCCESS;
}

/* @p value's index in @p words (from @p first on, in any case), or a
 * failure that names the attribute and what it takes. */
static apr_status_t dp_attr_word(dp_loader_t *ld, const xmlNode *node,
				 const char *attr, const char *value,
				 const char *const *words, int first,
				 const char *expected, int *out)
{
	int i;

	for (i = first; words[i] && strcasecmp(value, words[i]); i++)
		;
	if (!words[i])
		return dp_fail(ld, node, "%s=\"%s\": expected %s", attr, value,
			       expected);
	*out = i;
	return APR_SUCCESS;
}

static apr_status_t dp_condition_attrs(dp_loader_t *ld, const xmlNode *node,
				       dp_condition_t *c)
{
	static const char *const attrs[] = {"field", "expression", "break",
					    "regex", NULL};
	static const char *const breaks[] = {"on-false", "on-true", "always",
					     "never", NULL};
	static const char *const modes[] = {"", "all", "any", "xor", NULL};
	const char *brk = sb_xml_attr(node, "break");
	const char *regex = sb_xml_attr(node, "regex");
	apr_status_t rv;
	int i;

	rv = dp_check_attrs(ld, node, attrs);
	if (rv != APR_SUCCESS)
		return rv;
	c->brk = DP_BREAK_ON_FALSE;
	if (brk) {
		rv = dp_attr_word(ld, node, "break", brk, breaks, 0,
				  "on-false, on-true, always or never", &i);
		if (rv != APR_SUCCESS)
			return rv;
		c->brk = (dp_break_e)i;
	}
	c->regex = DP_REGEX_NONE;
	if (regex) {
		rv = dp_attr_word(ld, node, "regex", regex, modes, 1,
				  "all, any or xor", &i);
		if (rv != APR_SUCCESS)
			return rv;
		c->regex = (dp_regex_e)i;
		if (sb_xml_attr(node, "field") ||
		    sb_xml_attr(node, "expression"))
			return dp_fail(ld, node,
				       "regex=\"%s\" takes its tests from "
				       "<regex> elements, not from field or "
				       "expression",
				       regex);
	}
	return APR_SUCCESS;
}

static apr_status_t dp_regex_load(dp_loader_t *ld, const xmlNode *node,
				  dp_condition_t *c)
{
	static const char *const attrs[] = {"field", "expression", NULL};
	const char *field = sb_xml_attr(node, "field");
	apr_status_t rv;

	if (c->regex == DP_REGEX_NONE)
		return dp_fail(ld, node,
			       "<regex> needs regex=\"all\", "
			       "\"any\" or \"xor\" on its "
			       "<condition>");
	rv = dp_check_attrs(ld, node, attrs);
	if (rv != APR_SUCCESS)
		return rv;
	if (!field)
		return dp_fail(ld, node, "<regex> without field");
	return dp_test_load(ld, node, field, sb_xml_attr(node, "expression"),
			    apr_array_push(c->tests));
}

static apr_status_t dp_condition_load(dp_loader_t *ld, const xmlNode *node,
				      dp_extension_t *ext)
{
	apr_pool_t *pool = ld->dp->pool;
	dp_condition_t *c = apr_array_push(ext->conditions);
	const xmlNode *ch;
	const char *name;
	apr_status_t rv;

	memset(c, 0, sizeof(*c));
	c->actions = apr_array_make(pool, 4, sizeof(dp_action_t));
	c->anti = apr_array_make(pool, 1, sizeof(dp_action_t));
	c->tests = apr_array_make(pool, 2, sizeof(dp_test_t));
	rv = dp_condition_attrs(ld, node, c);
	if (rv == APR_SUCCESS && c->regex == DP_REGEX_NONE)
		rv = dp_test_load(ld, node, sb_xml_attr(node, "field"),
				  sb_xml_attr(node, "expression"), &c->test);
	for (ch = node->children; ch && rv == APR_SUCCESS; ch = ch->next) {
		if (ch->type != XML_ELEMENT_NODE)
			continue;
		name = (const char *)ch->name;
		if (strcmp(name, "action") == 0)
			rv = dp_action_load(ld, ch, c->actions);
		else if (strcmp(name, "anti-action") == 0)
			rv = dp_action_load(ld, ch, c->anti);
		else if (strcmp(name, "regex") == 0)
			rv = dp_regex_load(ld, ch, c);
		else if (strcmp(name, "condition") == 0)
			rv = dp_fail(ld, ch,
				     "nested <condition> is not "
				     "supported");
		else
			rv = dp_fail(ld, ch, "unexpected <%s> in <condition>",
				     name);
	}
	if (rv == APR_SUCCESS && c->regex != DP_REGEX_NONE &&
	    c->tests->nelts == 0)
		rv = dp_fail(ld, node, "regex=\"%s\" without <regex> elements",
			     sb_xml_attr(node, "regex"));
	return rv;
}

/* @p node's attributes checked against @p attrs, and its name, which it
 * must have, in *name. */
static apr_status_t dp_named(dp_loader_t *ld, const xmlNode *node,
			     const char *const *attrs, const char **name)
{
	apr_status_t rv = dp_check_attrs(ld, node, attrs);
	const char *n = sb_xml_attr(node, "name");

	if (rv != APR_SUCCESS)
		return rv;
	if (!n || !*n)
		return dp_fail(ld, node, "<%s> without name",
			       (const char *)node->name);
	*name = n;
	return APR_SUCCESS;
}

static apr_status_t dp_extension_load(dp_loader_t *ld, const xmlNode *node,
				      dp_context_t *ctx)
{
	static const char *const attrs[] = {"name", "continue", NULL};
	const char *cont = sb_xml_attr(node, "continue");
	const char *name;
	dp_extension_t *ext;
	const xmlNode *ch;
	apr_status_t rv;

	rv = dp_named(ld, node, attrs, &name);
	if (rv != APR_SUCCESS)
		return rv;
	ld->extension = name;
	ext = apr_pcalloc(ld->dp->pool, sizeof(*ext));
	ext->name = apr_pstrdup(ld->dp->pool, name);
	ext->conditions =
	    apr_array_make(ld->dp->pool, 2, sizeof(dp_condition_t));
	if (cont && !dp_bool(cont, &ext->cont))
		return dp_fail(ld, node, "continue=\"%s\" is not true or false",
			       cont);
	for (ch = node->children; ch && rv == APR_SUCCESS; ch = ch->next) {
		if (ch->type != XML_ELEMENT_NODE)
			continue;
		if (strcmp((const char *)ch->name, "condition") == 0)
			rv = dp_condition_load(ld, ch, ext);
		else
			rv = dp_fail(ld, ch, "unexpected <%s> in <extension>",
				     (const char *)ch->name);
	}
	if (rv != APR_SUCCESS)
		return rv;
	*(dp_extension_t **)apr_array_push(ctx->extensions) = ext;
	ld->dp->n_extensions++;
	ld->extension = NULL;
	return APR_SUCCESS;
}

/* Several files may add to one context: extensions append in order. */
static apr_status_t dp_context_load(dp_loader_t *ld, const xmlNode *node)
{
	static const char *const attrs[] = {"name", NULL};
	sb_dialplan_t *dp = ld->dp;
	dp_context_t *ctx;
	const char *name;
	const xmlNode *ch;
	apr_status_t rv;

	rv = dp_named(ld, node, attrs, &name);
	if (rv != APR_SUCCESS)
		return rv;
	ld->context = name;
	ctx = apr_hash_get(dp->contexts, name, APR_HASH_KEY_STRING);
	if (!ctx) {
		ctx = apr_pcalloc(dp->pool, sizeof(*ctx));
		ctx->name = apr_pstrdup(dp->pool, name);
		ctx->extensions =
		    apr_array_make(dp->pool, 8, sizeof(dp_extension_t *));
		apr_hash_set(dp->contexts, ctx->name, APR_HASH_KEY_STRING, ctx);
		dp->n_contexts++;
	}
	for (ch = node->children; ch && rv == APR_SUCCESS; ch = ch->next) {
		if (ch->type != XML_ELEMENT_NODE)
			continue;
		if (strcmp((const char *)ch->name, "extension") == 0)
			rv = dp_extension_load(ld, ch, ctx);
		else
			rv = dp_fail(ld, ch, "unexpected <%s> in <context>",
				     (const char *)ch->name);
	}
	ld->context = NULL;
	return rv;
}

apr_status_t sb_dialplan_load(sb_dialplan_t **out, const sb_config_t *cfg,
			      sb_dp_app_known_fn known, void *baton,
			      apr_pool_t *pool, sb_config_error_t *err)
{
	dp_loader_t ld = {0};
	const xmlNode *section, *node;
	sb_dialplan_t *dp;
	apr_pool_t *dpool;
	apr_status_t rv;

	/* A pool of its own, so a failed load frees what it compiled. */
	rv = apr_pool_create(&dpool, pool);
	if (rv != APR_SUCCESS)
		return rv;
	dp = apr_pcalloc(dpool, sizeof(*dp));
	dp->pool = dpool;
	dp->contexts = apr_hash_make(dpool);
	ld.dp = dp;
	ld.cfg = cfg;
	ld.known = known;
	ld.baton = baton;
	ld.err = err;
	ld.files = apr_hash_make(dpool);
	/* No dialplan section is a valid (registrar-only) configuration. */
	section = sb_config_section(cfg, "dialplan");
	for (node = section ? section->children : NULL;
	     node && rv == APR_SUCCESS; node = node->next) {
		if (node->type != XML_ELEMENT_NODE)
			continue;
		if (strcmp((const char *)node->name, "context") == 0)
			rv = dp_context_load(&ld, node);
		else
			rv = dp_fail(&ld, node,
				     "unexpected <%s> in the dialplan section",
				     (const char *)node->name);
	}
	if (rv != APR_SUCCESS) {
		apr_pool_destroy(dpool);
		return rv;
	}
	*out = dp;
	return APR_SUCCESS;
}

void sb_dialplan_counts(const sb_dialplan_t *dp, unsigned *contexts,
			unsigned *extensions)
{
	if (contexts)
		*contexts = dp ? dp->n_contexts : 0;
	if (extensions)
		*extensions = dp ? dp->n_extensions : 0;
}
