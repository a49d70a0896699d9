/* xml_preprocess_test.c — X-PRE-PROCESS, $${} and the line map. */
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

typedef struct {
	sb_vars_t *vars;
	char *text;
	apr_size_t len;
	sb_linemap_t *map;
	sb_config_error_t err;
} run_t;

static apr_status_t run(run_t *r, const char *rel)
{
	if (!r->vars)
		sb_vars_create(&r->vars, pool);
	memset(&r->err, 0, sizeof(r->err));
	return sb_preprocess_file(conf_path(rel), r->vars, pool, &r->text,
				  &r->len, &r->map, &r->err);
}

/* The output line (1-based) where @p needle first occurs. */
static int out_line(const char *text, const char *needle)
{
	const char *p = strstr(text, needle), *q;
	int line = 1;

	if (!p)
		fail_msg("\"%s\" not in output:\n%s", needle, text);
	for (q = text; q < p; q++)
		line += *q == '\n';
	return line;
}

static void assert_maps(const run_t *r, const char *needle, const char *rel,
			int line)
{
	const char *file;
	int in_line;

	sb_linemap_lookup(r->map, out_line(r->text, needle), &file, &in_line);
	assert_string_equal(file, conf_path(rel));
	assert_int_equal(in_line, line);
}

static void test_set_and_expansion_order(void **state)
{
	run_t r = {0};

	(void)state;
	conf_put("root.xml", "<document>\n"
			     "<a>$${x}</a>\n"
			     "  <X-PRE-PROCESS cmd=\"set\" data=\"x=one\"/>\n"
			     "<b>$${x}</b>\n"
			     "<X-PRE-PROCESS cmd='set' data=' y =$${x}-two'/>\n"
			     "<c>$${y}</c><d>$${nope}</d>\n"
			     "</document>\n");
	assert_int_equal(run(&r, "root.xml"), APR_SUCCESS);
	/* A set affects the lines after it, not those before. */
	assert_string_equal(r.text, "<document>\n"
				    "<a></a>\n"
				    "  \n"
				    "<b>one</b>\n"
				    "\n"
				    "<c>one-two</c><d></d>\n"
				    "</document>\n");
	assert_int_equal(r.len, strlen(r.text));
	assert_string_equal(sb_vars_get(r.vars, "y"), "one-two");
	assert_maps(&r, "<b>", "root.xml", 4);
	assert_maps(&r, "</document>", "root.xml", 7);
}

static void test_set_overrides_builtin(void **state)
{
	const sb_dirs_t dirs = {NULL, conf_dir, NULL, NULL, NULL, NULL};
	run_t r = {0};
	const char *builtin;

	(void)state;
	sb_vars_create(&r.vars, pool);
	sb_vars_set_builtins(r.vars, &dirs);
	builtin = apr_pstrdup(pool, sb_vars_get(r.vars, "local_ip_v4"));
	conf_put("root.xml",
		 "<a>$${local_ip_v4}</a>\n"
		 "<X-PRE-PROCESS cmd=\"set\" data=\"local_ip_v4=192.0.2.7\"/>\n"
		 "<b>$${local_ip_v4}</b><c>$${conf_dir}</c>\n");
	assert_int_equal(run(&r, "root.xml"), APR_SUCCESS);
	assert_non_null(
	    strstr(r.text, apr_pstrcat(pool, "<a>", builtin, "</a>", NULL)));
	assert_non_null(strstr(r.text, "<b>192.0.2.7</b>"));
	assert_non_null(
	    strstr(r.text, apr_pstrcat(pool, "<c>", conf_dir, "</c>", NULL)));
}

static void test_include_glob_sorted(void **state)
{
	run_t r = {0};

	(void)state;
	conf_put("parts/b.xml", "<b/>\n");
	conf_put("parts/a.xml", "<a/>\n<a2/>");
	conf_put("parts/c.txt", "<c/>\n");
	/* A directory whose name matches is not a file to include. */
	conf_put("parts/dir.xml/inner.xml", "<inner/>\n");
	conf_put("root.xml",
		 "<document>\n"
		 "<X-PRE-PROCESS cmd=\"include\" data=\"parts/*.xml\"/>\n"
		 "<X-PRE-PROCESS cmd=\"include\" data=\"none/*.xml\"/>\n"
		 "<end/>\n"
		 "</document>\n");
	assert_int_equal(run(&r, "root.xml"), APR_SUCCESS);
	assert_true(out_line(r.text, "<a/>") < out_line(r.text, "<b/>"));
	assert_null(strstr(r.text, "<c/>"));
	assert_null(strstr(r.text, "<inner/>"));
	assert_maps(&r, "<a/>", "parts/a.xml", 1);
	/* A last line without a newline still ends a line of its own. */
	assert_maps(&r, "<a2/>", "parts/a.xml", 2);
	assert_maps(&r, "<b/>", "parts/b.xml", 1);
	assert_maps(&r, "<end/>", "root.xml", 4);
	assert_maps(&r, "</document>", "root.xml", 5);
}

static void test_include_relative_nested(void **state)
{
	run_t r = {0};

	(void)state;
	conf_put("d1/one.xml",
		 "<one>\n"
		 "<X-PRE-PROCESS cmd=\"include\" data=\"two.xml\"/>\n"
		 "<X-PRE-PROCESS cmd=\"include\" data=\"../d2/*.xml\"/>\n"
		 "</one>\n");
	conf_put("d1/two.xml", "<two/>\n");
	conf_put("d2/three.xml", "\n\n<three/>\n");
	conf_put("two.xml", "<wrong/>\n");
	conf_put("root.xml",
		 "<document>\n"
		 "<X-PRE-PROCESS cmd=\"include\" data=\"d1/one.xml\"/>\n"
		 "</document>\n");
	assert_int_equal(run(&r, "root.xml"), APR_SUCCESS);
	/* Relative to the including file's directory, not the root's. */
	assert_null(strstr(r.text, "<wrong/>"));
	assert_maps(&r, "<one>", "d1/one.xml", 1);
	assert_maps(&r, "<two/>", "d1/two.xml", 1);
	assert_maps(&r, "<three/>", "d2/three.xml", 3);
	assert_maps(&r, "</one>", "d1/one.xml", 4);
	assert_maps(&r, "</document>", "root.xml", 3);
}

static void test_include_wrapper_stripped(void **state)
{
	run_t r = {0};

	(void)state;
	conf_put("inc/1.xml", "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
			      "<!-- about this file -->\n"
			      "<include>\n"
			      "  <x/>\n"
			      "</include>\n"
			      "<!-- trailing -->\n");
	conf_put("inc/2.xml", "<include><y/></include>");
	conf_put("inc/3.xml", "<profile name=\"p\">\n<include/>\n</profile>\n");
	conf_put("root.xml",
		 "<document>\n"
		 "<X-PRE-PROCESS cmd=\"include\" data=\"inc/*.xml\"/>\n"
		 "</document>\n");
	assert_int_equal(run(&r, "root.xml"), APR_SUCCESS);
	assert_null(strstr(r.text, "<?xml"));
	assert_null(strstr(r.text, "<include>"));
	assert_null(strstr(r.text, "</include>"));
	assert_non_null(strstr(r.text, "<y/>"));
	/* Only a wrapper goes: other elements stay as they are. */
	assert_non_null(strstr(r.text, "<include/>"));
	assert_maps(&r, "<x/>", "inc/1.xml", 4);
	assert_maps(&r, "about this file", "inc/1.xml", 2);
	assert_maps(&r, "trailing", "inc/1.xml", 6);
	assert_maps(&r, "<profile", "inc/3.xml", 1);
}

static void test_comment_directives_ignored(void **state)
{
	run_t r = {0};

	(void)state;
	conf_put(
	    "root.xml",
	    "<document>\n"
	    "<!-- <X-PRE-PROCESS cmd=\"set\" data=\"c1=yes\"/> -->\n"
	    "<!--\n"
	    "  <X-PRE-PROCESS cmd=\"include\" data=\"missing.xml\"/>\n"
	    "  <X-PRE-PROCESS cmd=\"set\" data=\"c2=yes\"/>\n"
	    "-->\n"
	    "<!-- a --><X-PRE-PROCESS cmd=\"set\" data=\"c3=yes\"/><!-- b -->\n"
	    "<!-- --> <X-PRE-PROCESS cmd=\"set\" data=\"c4=yes\"/> <!--\n"
	    "<X-PRE-PROCESS cmd=\"set\" data=\"c5=yes\"/> -->\n"
	    "<X-PRE-PROCESS cmd=\"set\" data=\"c6=yes\"/><!-- "
	    "<X-PRE-PROCESS cmd=\"set\" data=\"c7=yes\"/> -->"
	    "<X-PRE-PROCESS cmd=\"set\" data=\"c8=yes\"/>\n"
	    "</document>\n");
	assert_int_equal(run(&r, "root.xml"), APR_SUCCESS);
	assert_null(sb_vars_get(r.vars, "c1"));
	assert_null(sb_vars_get(r.vars, "c2"));
	assert_string_equal(sb_vars_get(r.vars, "c3"), "yes");
	assert_string_equal(sb_vars_get(r.vars, "c4"), "yes");
	assert_null(sb_vars_get(r.vars, "c5"));
	assert_string_equal(sb_vars_get(r.vars, "c6"), "yes");
	assert_null(sb_vars_get(r.vars, "c7"));
	assert_string_equal(sb_vars_get(r.vars, "c8"), "yes");
	/* The comment text itself passes through. */
	assert_non_null(strstr(r.text, "data=\"missing.xml\"/>\n"));
	assert_non_null(strstr(r.text, "<!-- a --><!-- b -->\n"));
	assert_maps(&r, "c2=yes", "root.xml", 5);
}

static void test_inline_directives(void **state)
{
	run_t r = {0};

	(void)state;
	conf_put("i.xml", "<i/>\n");
	conf_put("root.xml", "<document>\n"
			     "<a>$${x}</a><X-PRE-PROCESS cmd=\"set\" "
			     "data=\"x=2\"/><b>$${x}</b>\n"
			     "<p>text<X-PRE-PROCESS cmd=\"include\" "
			     "data=\"i.xml\"></X-PRE-PROCESS></p>\n"
			     "</document>\n");
	sb_vars_create(&r.vars, pool);
	sb_vars_set(r.vars, "x", "1");
	assert_int_equal(run(&r, "root.xml"), APR_SUCCESS);
	assert_non_null(strstr(r.text, "\n<a>1</a><b>2</b>\n"));
	assert_non_null(strstr(r.text, "\n<p>text\n<i/>\n</p>\n"));
	assert_maps(&r, "<p>", "root.xml", 3);
	assert_maps(&r, "<i/>", "i.xml", 1);
	assert_maps(&r, "</p>", "root.xml", 3);
	assert_maps(&r, "</document>", "root.xml", 4);
}

static void test_env_set(void **state)
{
	run_t r = {0};

	(void)state;
	setenv("SB_PP_TEST_ENV", "from-env", 1);
	unsetenv("SB_PP_TEST_UNSET");
	conf_put(
	    "root.xml",
	    "<X-PRE-PROCESS cmd=\"env-set\" data=\"e=SB_PP_TEST_ENV\"/>\n"
	    "<X-PRE-PROCESS cmd=\"ENV-SET\" data=\"u=SB_PP_TEST_UNSET\"/>\n"
	    "<e>$${e}</e>\n");
	assert_int_equal(run(&r, "root.xml"), APR_SUCCESS);
	assert_string_equal(sb_vars_get(r.vars, "e"), "from-env");
	assert_string_equal(sb_vars_get(r.vars, "u"), "");
	assert_non_null(strstr(r.text, "<e>from-env</e>"));
}

static void test_include_loop(void **state)
{
	run_t r = {0};

	(void)state;
	conf_put("a.xml",
		 "<a>\n<X-PRE-PROCESS cmd=\"include\" data=\"b.xml\"/>\n"
		 "</a>\n");
	conf_put("b.xml",
		 "<b>\n\n<X-PRE-PROCESS cmd=\"include\" data=\"a.xml\"/>\n"
		 "</b>\n");
	r.text = "untouched";
	assert_int_equal(run(&r, "a.xml"), SB_ECONFIG);
	assert_string_equal(r.text, "untouched");
	assert_string_equal(r.err.file, conf_path("b.xml"));
	assert_int_equal(r.err.line, 3);
	assert_string_equal(r.err.msg, apr_pstrcat(pool, "include loop: ",
						   conf_path("a.xml"), NULL));
}

static void test_include_twice_is_no_loop(void **state)
{
	run_t r = {0};

	(void)state;
	conf_put("x.xml", "<x/>\n");
	conf_put("root.xml",
		 "<X-PRE-PROCESS cmd=\"include\" data=\"x.xml\"/>\n"
		 "<X-PRE-PROCESS cmd=\"include\" data=\"x.xml\"/>\n");
	assert_int_equal(run(&r, "root.xml"), APR_SUCCESS);
	assert_string_equal(r.text, "<x/>\n\n<x/>\n\n");
}

static void test_missing_include(void **state)
{
	run_t r = {0};

	(void)state;
	conf_put("root.xml",
		 "<document>\n\n"
		 "  <X-PRE-PROCESS cmd=\"include\" data=\"nope.xml\"/>\n"
		 "</document>\n");
	assert_true(APR_STATUS_IS_ENOENT(run(&r, "root.xml")));
	assert_string_equal(r.err.file, conf_path("root.xml"));
	assert_int_equal(r.err.line, 3);
	assert_ptr_equal(strstr(r.err.msg, "include \"nope.xml\": "),
			 r.err.msg);
	assert_non_null(strstr(r.err.msg, "No such file"));
}

static void test_missing_root(void **state)
{
	run_t r = {0};

	(void)state;
	assert_true(APR_STATUS_IS_ENOENT(run(&r, "absent.xml")));
	assert_string_equal(r.err.file, conf_path("absent.xml"));
	assert_int_equal(r.err.line, 0);
	assert_non_null(strstr(r.err.msg, "No such file"));
}

static void test_unknown_cmd(void **state)
{
	run_t r = {0};

	(void)state;
	conf_put("conf/inc.xml",
		 "<x/>\n"
		 "<X-PRE-PROCESS cmd=\"exec-set\" data=\"v=/bin/true\"/>\n");
	conf_put("root.xml",
		 "<X-PRE-PROCESS cmd=\"include\" data=\"conf/inc.xml\"/>\n");
	assert_int_equal(run(&r, "root.xml"), SB_ECONFIG);
	assert_string_equal(r.err.file, conf_path("conf/inc.xml"));
	assert_int_equal(r.err.line, 2);
	assert_string_equal(r.err.msg,
			    "unknown X-PRE-PROCESS cmd \"exec-set\"");
}

static void test_directive_errors(void **state)
{
	run_t r = {0};

	(void)state;
	conf_put("m.xml", "\n<X-PRE-PROCESS cmd=\"set\" data=\"abc\"/>\n");
	assert_int_equal(run(&r, "m.xml"), SB_ECONFIG);
	assert_int_equal(r.err.line, 2);
	assert_string_equal(r.err.msg, "set: missing '=' in \"abc\"");
	conf_put("u.xml", "<X-PRE-PROCESS cmd=\"set\" data=\"a=b\"\n/>\n");
	assert_int_equal(run(&r, "u.xml"), SB_ECONFIG);
	assert_int_equal(r.err.line, 1);
	assert_string_equal(r.err.msg, "unterminated X-PRE-PROCESS directive");
	conf_put("n.xml", "<X-PRE-PROCESS data=\"a=b\"/>\n");
	assert_int_equal(run(&r, "n.xml"), SB_ECONFIG);
	assert_string_equal(r.err.msg, "X-PRE-PROCESS without a cmd attribute");
	conf_put("e.xml", "<X-PRE-PROCESS cmd=\"set\" data=\" =b\"/>\n");
	assert_int_equal(run(&r, "e.xml"), SB_ECONFIG);
	assert_string_equal(r.err.msg, "set: empty variable name");
}

static void test_depth_limit(void **state)
{
	run_t r = {0};
	int i;

	(void)state;
	/* f0 is the root (depth 0): f20 is the deepest allowed. */
	for (i = 0; i < 21; i++)
		conf_put(apr_psprintf(pool, "f%d.xml", i),
			 apr_psprintf(pool,
				      "<X-PRE-PROCESS cmd=\"include\" "
				      "data=\"f%d.xml\"/>\n",
				      i + 1));
	conf_put("f21.xml", "<deep/>\n");
	conf_put("f20.xml", "<deepest/>\n");
	assert_int_equal(run(&r, "f0.xml"), APR_SUCCESS);
	assert_maps(&r, "<deepest/>", "f20.xml", 1);
	conf_put("f20.xml",
		 "<X-PRE-PROCESS cmd=\"include\" data=\"f21.xml\"/>\n");
	assert_int_equal(run(&r, "f0.xml"), SB_ELIMIT);
	assert_string_equal(r.err.file, conf_path("f20.xml"));
	assert_int_equal(r.err.line, 1);
	assert_non_null(strstr(r.err.msg, "nested deeper than 20"));
}

static void test_long_line(void **state)
{
	apr_size_t n = 300 * 1024;
	char *big = apr_palloc(pool, n + 32);
	run_t r = {0};

	(void)state;
	memset(big, 'x', n);
	strcpy(big + n, "$${v}\n<end/>\n");
	conf_put("root.xml", big);
	sb_vars_create(&r.vars, pool);
	sb_vars_set(r.vars, "v", "VALUE");
	assert_int_equal(run(&r, "root.xml"), APR_SUCCESS);
	assert_int_equal(r.len, n + strlen("VALUE\n<end/>\n"));
	assert_memory_equal(r.text + n, "VALUE\n", 6);
	assert_maps(&r, "<end/>", "root.xml", 2);
}

static void test_output_limit(void **state)
{
	apr_size_t n = 1024 * 1024;
	char *big = apr_palloc(pool, n + 1);
	char *mid = "";
	run_t r = {0};
	int i;

	(void)state;
	memset(big, 'y', n);
	big[n - 1] = '\n';
	big[n] = '\0';
	conf_put("big.xml", big);
	for (i = 0; i < 65; i++)
		mid = apr_pstrcat(pool, mid,
				  "<X-PRE-PROCESS cmd=\"include\" "
				  "data=\"big.xml\"/>\n",
				  NULL);
	conf_put("root.xml", mid);
	assert_int_equal(run(&r, "root.xml"), SB_ETOOBIG);
	assert_non_null(strstr(r.err.msg, "exceeds 64 MiB"));
	assert_string_equal(r.err.file, conf_path("big.xml"));
}

static void test_lookup_bounds(void **state)
{
	const char *file;
	run_t r = {0};
	int line;

	(void)state;
	conf_put("root.xml", "<a/>\n<b/>\n");
	assert_int_equal(run(&r, "root.xml"), APR_SUCCESS);
	sb_linemap_lookup(r.map, 0, &file, &line);
	assert_int_equal(line, 1);
	/* Past the end, as libxml2 reports "premature end of data". */
	sb_linemap_lookup(r.map, 99, &file, &line);
	assert_string_equal(file, conf_path("root.xml"));
	assert_int_equal(line, 2);
	conf_put("empty.xml", "");
	assert_int_equal(run(&r, "empty.xml"), APR_SUCCESS);
	assert_int_equal(r.len, 0);
	assert_string_equal(r.text, "");
	sb_linemap_lookup(r.map, 1, &file, &line);
	assert_string_equal(file, conf_path("empty.xml"));
	assert_int_equal(line, 0);
}

#define T(f) conf_test(f)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_set_and_expansion_order),
	    T(test_set_overrides_builtin),
	    T(test_include_glob_sorted),
	    T(test_include_relative_nested),
	    T(test_include_wrapper_stripped),
	    T(test_comment_directives_ignored),
	    T(test_inline_directives),
	    T(test_env_set),
	    T(test_include_loop),
	    T(test_include_twice_is_no_loop),
	    T(test_missing_include),
	    T(test_missing_root),
	    T(test_unknown_cmd),
	    T(test_directive_errors),
	    T(test_depth_limit),
	    T(test_long_line),
	    T(test_output_limit),
	    T(test_lookup_bounds),
	};
	int rc;

	apr_initialize();
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	apr_terminate();
	return rc;
}
