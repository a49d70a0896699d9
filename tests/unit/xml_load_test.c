/* xml_load_test.c — parsing the pre-processed tree, lookups, errors. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <apr_general.h>
#include <apr_file_io.h>
#include <apr_strings.h>
#include "sipsbridge/sb_config.h"

#include "conf_fixture.h"

static apr_status_t load(const char *rel, sb_config_t **cfg,
			 sb_config_error_t *err)
{
	sb_vars_t *vars;

	sb_vars_create(&vars, pool);
	memset(err, 0, sizeof(*err));
	return sb_config_load(cfg, conf_path(rel), vars, pool, err);
}

static void assert_where(const sb_config_t *cfg, const xmlNode *node,
			 const char *rel, int line)
{
	const char *file;
	int at;

	assert_non_null(node);
	sb_config_where(cfg, node, &file, &at);
	assert_string_equal(file, conf_path(rel));
	assert_int_equal(at, line);
}

static void write_tree(void)
{
	conf_put("root.xml",
		 "<?xml version=\"1.0\"?>\n"
		 "<document type=\"sipsbridge/xml\">\n"
		 "  <X-PRE-PROCESS cmd=\"set\" data=\"port=5061\"/>\n"
		 "  <section name=\"configuration\">\n"
		 "    <X-PRE-PROCESS cmd=\"include\" data=\"auto/*.xml\"/>\n"
		 "  </section>\n"
		 "  <section name=\"dialplan\"/>\n"
		 "</document>\n");
	conf_put("auto/modules.conf.xml",
		 "<configuration name=\"modules.conf\">\n"
		 "  <modules>\n"
		 "    <load module=\"mod_sips\"/>\n"
		 "    <load module=\"mod_other\"/>\n"
		 "    <!-- <load module=\"mod_commented\"/> -->\n"
		 "    <load/>\n"
		 "  </modules>\n"
		 "</configuration>\n");
	conf_put("auto/sips.conf.xml",
		 "<include>\n"
		 "<configuration name=\"sips.conf\">\n"
		 "  <settings>\n"
		 "    <param name=\"tls-sip-port\" value=\"$${port}\"/>\n"
		 "    <param name=\"empty\" value=\"\"/>\n"
		 "    <param name=\"amp\" value=\"a&amp;b\"/>\n"
		 "  </settings>\n"
		 "</configuration>\n"
		 "</include>\n");
}

static void test_load_and_find(void **state)
{
	sb_config_error_t err;
	sb_config_t *cfg;
	xmlNodePtr conf, node;

	(void)state;
	write_tree();
	assert_int_equal(load("root.xml", &cfg, &err), APR_SUCCESS);
	assert_string_equal((const char *)sb_config_root(cfg)->name,
			    "document");
	assert_string_equal(sb_vars_get(sb_config_vars(cfg), "port"), "5061");
	assert_where(cfg, sb_config_root(cfg), "root.xml", 2);
	assert_where(cfg, sb_config_section(cfg, "dialplan"), "root.xml", 7);
	assert_null(sb_config_section(cfg, "directory"));
	assert_null(sb_config_find_conf(cfg, "nope.conf"));
	/* Exact names: "sips" is not "sips.conf". */
	assert_null(sb_config_find_conf(cfg, "sips"));

	conf = sb_config_find_conf(cfg, "modules.conf");
	assert_where(cfg, conf, "auto/modules.conf.xml", 1);
	node = sb_xml_child(sb_xml_child(conf, "modules"), "load");
	assert_string_equal(sb_xml_attr(node, "module"), "mod_sips");
	node = sb_xml_next(node, "load");
	assert_string_equal(sb_xml_attr(node, "module"), "mod_other");
	assert_where(cfg, node, "auto/modules.conf.xml", 4);
	/* The commented-out element is not a node. */
	node = sb_xml_next(node, "load");
	assert_non_null(node);
	assert_null(sb_xml_attr(node, "module"));
	assert_where(cfg, node, "auto/modules.conf.xml", 6);
	assert_null(sb_xml_next(node, "load"));
	assert_null(sb_xml_next(node, NULL));

	conf = sb_config_find_conf(cfg, "sips.conf");
	assert_where(cfg, conf, "auto/sips.conf.xml", 2);
	node = sb_xml_child(sb_xml_child(conf, "settings"), "param");
	assert_string_equal(sb_xml_attr(node, "value"), "5061");
	assert_where(cfg, node, "auto/sips.conf.xml", 4);
	node = sb_xml_next(node, "param");
	assert_string_equal(sb_xml_attr(node, "value"), "");
	node = sb_xml_next(node, NULL);
	assert_string_equal(sb_xml_attr(node, "value"), "a&b");
	assert_null(sb_xml_attr(node, "missing"));
	assert_null(sb_xml_attr(NULL, "value"));
	assert_null(sb_xml_child(NULL, "x"));
	assert_null(sb_xml_next(NULL, "x"));
}

static void test_malformed_in_include(void **state)
{
	sb_config_error_t err;
	sb_config_t *cfg = NULL;

	(void)state;
	write_tree();
	conf_put("auto/bad.xml", "<configuration name=\"bad.conf\">\n"
				 "  <settings>\n"
				 "    <param name=\"x\" value=\"1\">\n"
				 "  </settings>\n"
				 "</configuration>\n");
	assert_int_equal(load("root.xml", &cfg, &err), SB_ECONFIG);
	assert_null(cfg);
	/* Reported where the author wrote it, not in the merged text. */
	assert_string_equal(err.file, conf_path("auto/bad.xml"));
	assert_int_equal(err.line, 4);
	assert_non_null(strstr(err.msg, "mismatch"));
	/* libxml2's own "line N" is translated too. */
	assert_non_null(strstr(
	    err.msg, apr_pstrcat(pool, conf_path("auto/bad.xml"), ":3", NULL)));
	assert_null(strchr(err.msg, '\n'));
}

static void test_bad_attribute_line(void **state)
{
	sb_config_error_t err;
	sb_config_t *cfg;

	(void)state;
	write_tree();
	conf_put("auto/zz.xml", "<configuration name=\"zz\">\n"
				"\n"
				"  <param name=unquoted/>\n"
				"</configuration>\n");
	assert_int_equal(load("root.xml", &cfg, &err), SB_ECONFIG);
	assert_string_equal(err.file, conf_path("auto/zz.xml"));
	assert_int_equal(err.line, 3);
	assert_ptr_equal(strstr(err.msg, "XML: "), err.msg);
}

static void test_premature_end(void **state)
{
	sb_config_error_t err;
	sb_config_t *cfg;

	(void)state;
	conf_put("root.xml", "<document>\n  <section name=\"x\">\n");
	assert_int_equal(load("root.xml", &cfg, &err), SB_ECONFIG);
	assert_string_equal(err.file, conf_path("root.xml"));
	assert_true(err.line >= 1 && err.line <= 2);
}

static void test_xxe_not_expanded(void **state)
{
	sb_config_error_t err;
	sb_config_t *cfg = NULL;

	(void)state;
	conf_put("root.xml", "<?xml version=\"1.0\"?>\n"
			     "<!DOCTYPE document [<!ENTITY e SYSTEM "
			     "\"file:///etc/passwd\">]>\n"
			     "<document><x>&e;</x><y v=\"&e;\"/></document>\n");
	assert_int_equal(load("root.xml", &cfg, &err), SB_ECONFIG);
	assert_null(cfg);
	assert_string_equal(err.file, conf_path("root.xml"));
	assert_int_equal(err.line, 2);
	assert_non_null(strstr(err.msg, "DOCTYPE"));
	assert_null(strstr(err.msg, "root:"));

	conf_put("ext.xml",
		 "<!DOCTYPE document SYSTEM \"file:///etc/passwd\">\n"
		 "<document/>\n");
	assert_int_equal(load("ext.xml", &cfg, &err), SB_ECONFIG);
	assert_non_null(strstr(err.msg, "DOCTYPE"));

	conf_put("lol.xml", "<!DOCTYPE d [<!ENTITY a \"aaaaaaaaaa\">"
			    "<!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\">"
			    "<!ENTITY c \"&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;\">]>\n"
			    "<document v=\"&c;\"/>\n");
	assert_int_equal(load("lol.xml", &cfg, &err), SB_ECONFIG);
	assert_null(cfg);
}

static void test_undefined_entity(void **state)
{
	sb_config_error_t err;
	sb_config_t *cfg;

	(void)state;
	conf_put("root.xml", "<document>\n\n<x>&e;</x>\n</document>\n");
	assert_int_equal(load("root.xml", &cfg, &err), SB_ECONFIG);
	assert_int_equal(err.line, 3);
	assert_non_null(strstr(err.msg, "'e'"));
}

static void test_root_not_document(void **state)
{
	sb_config_error_t err;
	sb_config_t *cfg = NULL;

	(void)state;
	conf_put("root.xml", "\n<configuration name=\"x\"/>\n");
	assert_int_equal(load("root.xml", &cfg, &err), SB_ECONFIG);
	assert_null(cfg);
	assert_string_equal(err.file, conf_path("root.xml"));
	assert_int_equal(err.line, 2);
	assert_string_equal(err.msg,
			    "root element is <configuration>, expected "
			    "<document>");
}

static void test_preprocess_error_passes_through(void **state)
{
	sb_config_error_t err;
	sb_config_t *cfg = NULL;

	(void)state;
	conf_put("root.xml", "<document>\n"
			     "<X-PRE-PROCESS cmd=\"stun-set\" data=\"a=b\"/>\n"
			     "</document>\n");
	assert_int_equal(load("root.xml", &cfg, &err), SB_ECONFIG);
	assert_null(cfg);
	assert_int_equal(err.line, 2);
	assert_string_equal(err.msg, "unknown X-PRE-PROCESS cmd \"stun-set\"");
}

static void test_big_line_numbers(void **state)
{
	apr_size_t blank = 70000;
	char *text = apr_palloc(pool, blank + 64);
	sb_config_error_t err;
	sb_config_t *cfg;

	(void)state;
	strcpy(text, "<document>");
	memset(text + 10, '\n', blank);
	strcpy(text + 10 + blank, "<section name=\"far\"/></document>\n");
	conf_put("root.xml", text);
	assert_int_equal(load("root.xml", &cfg, &err), APR_SUCCESS);
	/* Past 65535: needs XML_PARSE_BIG_LINES. */
	assert_where(cfg, sb_config_section(cfg, "far"), "root.xml",
		     (int)blank + 1);
}

static void test_subpool_owns_document(void **state)
{
	sb_config_error_t err;
	sb_config_t *cfg;
	apr_pool_t *sub;
	sb_vars_t *vars;

	(void)state;
	write_tree();
	/* ASan's leak check fails this test if the doc outlives its pool. */
	apr_pool_create(&sub, pool);
	sb_vars_create(&vars, sub);
	assert_int_equal(
	    sb_config_load(&cfg, conf_path("root.xml"), vars, sub, &err),
	    APR_SUCCESS);
	assert_non_null(sb_config_find_conf(cfg, "sips.conf"));
	apr_pool_destroy(sub);
}

static void test_shipped_conf(void **state)
{
	const char *top = getenv("SB_TOP_SRCDIR");
	sb_config_error_t err = {{0}, 0, {0}};
	sb_dirs_t dirs = {0};
	sb_config_t *cfg;
	sb_vars_t *vars;
	xmlNodePtr profiles;

	(void)state;
	if (!top)
		skip();
	dirs.conf_dir = apr_pstrcat(pool, top, "/conf", NULL);
	sb_vars_create(&vars, pool);
	sb_vars_set_builtins(vars, &dirs);
	if (sb_config_load(
		&cfg, apr_pstrcat(pool, dirs.conf_dir, "/sipsbridge.xml", NULL),
		vars, pool, &err) != APR_SUCCESS)
		fail_msg("%s:%d: %s", err.file, err.line, err.msg);
	assert_non_null(sb_config_find_conf(cfg, "modules.conf"));
	profiles =
	    sb_xml_child(sb_config_find_conf(cfg, "sips.conf"), "profiles");
	assert_non_null(sb_xml_child(profiles, "profile"));
	assert_non_null(sb_vars_get(vars, "domain"));
}

#define T(f) conf_test(f)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_load_and_find),	T(test_malformed_in_include),
	    T(test_bad_attribute_line), T(test_premature_end),
	    T(test_xxe_not_expanded),	T(test_undefined_entity),
	    T(test_root_not_document),	T(test_preprocess_error_passes_through),
	    T(test_big_line_numbers),	T(test_subpool_owns_document),
	    T(test_shipped_conf),
	};
	int rc;

	apr_initialize();
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	apr_terminate();
	return rc;
}
