/* xml_load.c — parse the pre-processed tree and find things in it. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <apr_lib.h>
#include <apr_strings.h>
#include <libxml/parser.h>
#include <libxml/xmlerror.h>
#include "config_private.h"

struct sb_config {
	xmlDocPtr doc;
	xmlNodePtr root;
	sb_vars_t *vars;
	sb_linemap_t *map;
};

/* What the parser said, in lines of the pre-processed text. */
typedef struct {
	int fatal_line;
	char fatal[300];
	int error_line;
	char error[300];
	int doctype_line;
} parse_report_t;

void sb_config_error_set(sb_config_error_t *err, const char *file, int line,
			 const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return;
	apr_cpystrn(err->file, file ? file : "", sizeof(err->file));
	err->line = line;
	va_start(ap, fmt);
	apr_vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
}

static void keep_message(char *dst, apr_size_t size, const char *msg)
{
	apr_size_t n;

	apr_cpystrn(dst, msg ? msg : "", size);
	n = strlen(dst);
	while (n && apr_isspace(dst[n - 1]))
		dst[--n] = '\0';
}

#if LIBXML_VERSION >= 21200
static void on_xml_error(void *data, const xmlError *e)
#else
static void on_xml_error(void *data, xmlErrorPtr e)
#endif
{
	xmlParserCtxtPtr ctxt = data;
	parse_report_t *rep = ctxt->_private;

	/* The first fatal error is the cause; the rest follow from it. */
	if (e->level == XML_ERR_FATAL && !rep->fatal_line) {
		rep->fatal_line = e->line > 0 ? e->line : 1;
		keep_message(rep->fatal, sizeof(rep->fatal), e->message);
	} else if (e->level == XML_ERR_ERROR && !rep->error_line) {
		rep->error_line = e->line > 0 ? e->line : 1;
		keep_message(rep->error, sizeof(rep->error), e->message);
	}
}

/*
 * A configuration has no use for a DTD, and a DTD is how entity attacks
 * (external files, exponential expansion) get in: stop at <!DOCTYPE.
 */
static void on_doctype(void *data, const xmlChar *name, const xmlChar *ext,
		       const xmlChar *sys)
{
	xmlParserCtxtPtr ctxt = data;
	parse_report_t *rep = ctxt->_private;

	(void)name;
	(void)ext;
	(void)sys;
	rep->doctype_line = ctxt->input ? ctxt->input->line : 1;
	xmlStopParser(ctxt);
}

/* libxml2 names lines of the text it saw: say "at file:L" instead. */
static void explain(const sb_linemap_t *map, const char *msg, char *out,
		    apr_size_t size)
{
	const char *p = msg, *file;
	char *end;
	long n;
	int line;

	while ((p = strstr(p, "line ")) &&
	       !(apr_isdigit(p[5]) && (p == msg || p[-1] == ' ')))
		p++;
	if (!p) {
		apr_cpystrn(out, msg, size);
		return;
	}
	n = strtol(p + 5, &end, 10);
	sb_linemap_lookup(map, (int)n, &file, &line);
	apr_snprintf(out, size, "%.*sat %s:%d%s", (int)(p - msg), msg, file,
		     line, end);
}

static apr_status_t parse_text(const char *text, apr_size_t len,
			       const char *url, const sb_linemap_t *map,
			       xmlDocPtr *out, sb_config_error_t *err)
{
	parse_report_t rep = {0};
	xmlParserCtxtPtr ctxt;
	xmlDocPtr doc;
	const char *file, *why;
	char msg[400];
	int line;

	xmlInitParser();
	ctxt = xmlNewParserCtxt();
	if (!ctxt)
		return APR_ENOMEM;
	ctxt->_private = &rep;
	ctxt->sax->serror = on_xml_error;
	ctxt->sax->internalSubset = on_doctype;
	/* No NOENT, no DTDLOAD, no network: entities stay unexpanded. */
	doc = xmlCtxtReadMemory(ctxt, text, (int)len, url, NULL,
				XML_PARSE_NONET | XML_PARSE_BIG_LINES);
	xmlFreeParserCtxt(ctxt);
	if (doc && !rep.doctype_line) {
		*out = doc;
		return APR_SUCCESS;
	}
	xmlFreeDoc(doc);
	if (rep.doctype_line) {
		line = rep.doctype_line;
		why = "<!DOCTYPE> is not allowed in the configuration";
	} else if (rep.fatal_line) {
		line = rep.fatal_line;
		why = rep.fatal;
	} else {
		line = rep.error_line;
		why = rep.error_line ? rep.error : "XML parse failed";
	}
	explain(map, why, msg, sizeof(msg));
	sb_linemap_lookup(map, line, &file, &line);
	sb_config_error_set(err, file, line, "XML: %s", msg);
	return SB_ECONFIG;
}

static apr_status_t doc_free(void *data)
{
	xmlFreeDoc(data);
	return APR_SUCCESS;
}

apr_status_t sb_config_load(sb_config_t **out, const char *root_path,
			    sb_vars_t *vars, apr_pool_t *pool,
			    sb_config_error_t *err)
{
	sb_config_t *cfg = apr_pcalloc(pool, sizeof(*cfg));
	sb_linemap_t *map;
	apr_pool_t *scratch;
	apr_size_t len;
	apr_status_t rv;
	const char *file;
	char *text;
	int line;

	/* The text is only needed until it is parsed: give it its own pool. */
	rv = apr_pool_create(&scratch, pool);
	if (rv != APR_SUCCESS)
		return rv;
	rv = sb_preprocess_file(root_path, vars, scratch, &text, &len, &map,
				err);
	if (rv == APR_SUCCESS)
		rv = sb_linemap_copy(&cfg->map, map, pool);
	if (rv == APR_SUCCESS)
		rv = parse_text(text, len, root_path, cfg->map, &cfg->doc, err);
	apr_pool_destroy(scratch);
	if (rv != APR_SUCCESS)
		return rv;
	apr_pool_cleanup_register(pool, cfg->doc, doc_free,
				  apr_pool_cleanup_null);
	cfg->root = xmlDocGetRootElement(cfg->doc);
	cfg->vars = vars;
	if (!cfg->root || !xmlStrEqual(cfg->root->name, BAD_CAST "document")) {
		sb_config_where(cfg, cfg->root, &file, &line);
		sb_config_error_set(err, file, line,
				    "root element is <%s>, expected <document>",
				    cfg->root ? (const char *)cfg->root->name
					      : "");
		apr_pool_cleanup_run(pool, cfg->doc, doc_free);
		return SB_ECONFIG;
	}
	*out = cfg;
	return APR_SUCCESS;
}

xmlNodePtr sb_config_root(const sb_config_t *cfg)
{
	return cfg->root;
}

sb_vars_t *sb_config_vars(const sb_config_t *cfg)
{
	return cfg->vars;
}

static xmlNodePtr child_named(const xmlNode *parent, const char *element,
			      const char *name)
{
	xmlNodePtr node;
	const char *value;

	for (node = sb_xml_child(parent, element); node;
	     node = sb_xml_next(node, element)) {
		value = sb_xml_attr(node, "name");
		if (value && strcmp(value, name) == 0)
			return node;
	}
	return NULL;
}

xmlNodePtr sb_config_section(const sb_config_t *cfg, const char *name)
{
	return child_named(cfg->root, "section", name);
}

xmlNodePtr sb_config_find_conf(const sb_config_t *cfg, const char *conf_name)
{
	xmlNodePtr section = sb_config_section(cfg, "configuration");

	return section ? child_named(section, "configuration", conf_name)
		       : NULL;
}

void sb_config_where(const sb_config_t *cfg, const xmlNode *node,
		     const char **file, int *line)
{
	long n = node ? xmlGetLineNo(node) : -1;

	if (n <= 0) {
		sb_linemap_lookup(cfg->map, 0, file, line);
		*line = 0;
		return;
	}
	sb_linemap_lookup(cfg->map, (int)n, file, line);
}

static int is_element(const xmlNode *node, const char *name)
{
	return node->type == XML_ELEMENT_NODE &&
	       (!name || xmlStrEqual(node->name, BAD_CAST name));
}

xmlNodePtr sb_xml_child(const xmlNode *node, const char *name)
{
	xmlNodePtr c;

	for (c = node ? node->children : NULL; c; c = c->next)
		if (is_element(c, name))
			return c;
	return NULL;
}

xmlNodePtr sb_xml_next(const xmlNode *node, const char *name)
{
	xmlNodePtr c;

	for (c = node ? node->next : NULL; c; c = c->next)
		if (is_element(c, name))
			return c;
	return NULL;
}

const char *sb_xml_attr(const xmlNode *node, const char *name)
{
	const xmlAttr *a;

	if (!node || node->type != XML_ELEMENT_NODE)
		return NULL;
	for (a = node->properties; a; a = a->next) {
		if (!xmlStrEqual(a->name, BAD_CAST name))
			continue;
		/* name="" has no text child; one text node otherwise. */
		if (a->children && a->children->type == XML_TEXT_NODE &&
		    a->children->content)
			return (const char *)a->children->content;
		return "";
	}
	return NULL;
}
