/* expand_test.c — ${} expansion, the function registry, built-in regex. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <pthread.h>
#include <string.h>
#include <cmocka.h>
#include <apr_general.h>
#include <apr_strings.h>
#include <apr_tables.h>
#include "sipsbridge/sb_expand.h"
#include "expand_private.h"

static apr_pool_t *pool;
static apr_table_t *vars;

static int setup(void **state)
{
	(void)state;
	if (apr_pool_create(&pool, NULL) != APR_SUCCESS)
		return -1;
	vars = apr_table_make(pool, 8);
	apr_table_set(vars, "x", "1");
	apr_table_set(vars, "Domain_Name", "example.org");
	apr_table_set(vars, "which", "x");
	apr_table_set(vars, "sip_contact",
		      "<sip:1000@192.0.2.1:5061;transport=tls>");
	return sb_expand_builtins_register() == APR_SUCCESS ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	apr_pool_destroy(pool);
	sb_expand_shutdown();
	return 0;
}

static const char *expand_ok(const char *in)
{
	const char *out = NULL;

	assert_int_equal(sb_expand(vars, in, pool, &out), APR_SUCCESS);
	assert_non_null(out);
	return out;
}

static void expand_fails(const char *in)
{
	const char *out = NULL;

	assert_int_equal(sb_expand(vars, in, pool, &out), SB_EMALFORMED);
	/* The input comes back unchanged on failure. */
	assert_ptr_equal(out, in);
}

static apr_status_t fn_upper(void *baton, const char *arg, const apr_table_t *v,
			     apr_pool_t *p, const char **result)
{
	char *s = apr_pstrdup(p, arg), *c;

	(void)v;
	for (c = s; *c; c++)
		if (*c >= 'a' && *c <= 'z')
			*c = (char)(*c - 'a' + 'A');
	*result = baton ? apr_pstrcat(p, (const char *)baton, s, NULL) : s;
	return APR_SUCCESS;
}

/* Returns its argument itself: the caller must copy before freeing it. */
static apr_status_t fn_id(void *baton, const char *arg, const apr_table_t *v,
			  apr_pool_t *p, const char **result)
{
	(void)baton;
	(void)v;
	(void)p;
	*result = arg;
	return APR_SUCCESS;
}

static apr_status_t fn_fail(void *baton, const char *arg, const apr_table_t *v,
			    apr_pool_t *p, const char **result)
{
	(void)baton;
	(void)arg;
	(void)v;
	(void)p;
	(void)result;
	return APR_EINVAL;
}

static void test_plain_vars(void **state)
{
	(void)state;
	assert_string_equal(expand_ok("a ${x} b"), "a 1 b");
	assert_string_equal(expand_ok("${x}${x}"), "11");
	/* Names are case-insensitive, as FreeSWITCH's are. */
	assert_string_equal(expand_ok("${domain_name}"), "example.org");
	assert_string_equal(expand_ok("user/${x}@${Domain_Name}"),
			    "user/1@example.org");
	assert_string_equal(expand_ok("no vars"), "no vars");
	assert_string_equal(expand_ok(""), "");
	/* A variable named by another one. */
	assert_string_equal(expand_ok("${${which}}"), "1");
	/* Values are not expanded again. */
	apr_table_set(vars, "tricky", "${x}");
	assert_string_equal(expand_ok("[${tricky}]"), "[${x}]");
}

static void test_unset_is_empty(void **state)
{
	(void)state;
	assert_string_equal(expand_ok("<${nope}>"), "<>");
	assert_string_equal(expand_ok("${nope}"), "");
	assert_string_equal(expand_ok("${}"), "");
	/* No table at all: everything is unset. */
	{
		const char *out;

		assert_int_equal(sb_expand(NULL, "a${x}", pool, &out),
				 APR_SUCCESS);
		assert_string_equal(out, "a");
	}
}

static void test_literals(void **state)
{
	(void)state;
	assert_string_equal(expand_ok("$${domain} ${x}"), "$${domain} 1");
	assert_string_equal(expand_ok("$${a{b}c} end"), "$${a{b}c} end");
	assert_string_equal(expand_ok("cost \\${x} $5 \\n $"),
			    "cost ${x} $5 \\n $");
	assert_string_equal(expand_ok("{presence_id=${x}@d}rest"),
			    "{presence_id=1@d}rest");
	assert_string_equal(expand_ok("\\$1"), "$1");
}

static void test_needed(void **state)
{
	(void)state;
	assert_true(sb_expand_needed("a${x}"));
	assert_true(sb_expand_needed("\\$"));
	assert_true(sb_expand_needed("$${pre}${x}"));
	assert_true(sb_expand_needed("${unclosed"));
	assert_false(sb_expand_needed("$${pre}"));
	assert_false(sb_expand_needed("^(\\d+)$"));
	assert_false(sb_expand_needed("$1 $"));
	assert_false(sb_expand_needed(""));
	assert_false(sb_expand_needed(NULL));
}

static void test_functions_nest(void **state)
{
	(void)state;
	assert_int_equal(sb_expand_function_register("upper", fn_upper, NULL),
			 APR_SUCCESS);
	assert_int_equal(sb_expand_function_register("id", fn_id, NULL),
			 APR_SUCCESS);
	assert_string_equal(expand_ok("${upper(abc)}"), "ABC");
	/* The argument is expanded before the call, at every level. */
	assert_string_equal(
	    expand_ok("<${upper(${id(v${x})}-${domain_name})}>"),
	    "<V1-EXAMPLE.ORG>");
	assert_string_equal(expand_ok("${upper()}"), "");
	/* A later registration replaces the earlier one. */
	assert_int_equal(
	    sb_expand_function_register("upper", fn_upper, (void *)"b:"),
	    APR_SUCCESS);
	assert_string_equal(expand_ok("${upper(z)}"), "b:Z");
	sb_expand_function_unregister("upper");
	expand_fails("${upper(z)}");
	assert_int_equal(sb_expand_function_register("upper", fn_upper, NULL),
			 APR_SUCCESS);
	assert_string_equal(expand_ok("${upper(z)}"), "Z");
	assert_int_equal(sb_expand_function_register("", fn_upper, NULL),
			 APR_EINVAL);
	assert_int_equal(sb_expand_function_register("n", NULL, NULL),
			 APR_EINVAL);
	sb_expand_function_unregister("upper");
	sb_expand_function_unregister("id");
	sb_expand_function_unregister("never-registered");
}

static void test_regex_builtin(void **state)
{
	(void)state;
	assert_string_equal(expand_ok("${regex(${sip_contact}|transport=tls)}"),
			    "true");
	assert_string_equal(expand_ok("${regex(${sip_contact}|transport=udp)}"),
			    "false");
	assert_string_equal(expand_ok("${regex(|^$)}"), "true");
	assert_string_equal(
	    expand_ok("${regex(1005@example.org|^(\\d+)@(.*)$|%2 %1 %0)}"),
	    "example.org 1005 1005@example.org");
	/* Unset and out-of-range captures are empty; "%" otherwise stays. */
	assert_string_equal(expand_ok("${regex(ab|^(a)(x)?b|[%1][%2][%7]%z)}"),
			    "[a][][]%z");
	/* No match with a template: empty. */
	assert_string_equal(expand_ok("<${regex(abc|^x(.)|%1)}>"), "<>");
	/* m: picks another separator, so the pattern may hold "|". */
	assert_string_equal(expand_ok("${regex(m:~tcp~^(udp|tcp)$~is %1)}"),
			    "is tcp");
	/* A bad pattern or a missing one is an error. */
	expand_fails("${regex(abc|^(x)}");
	expand_fails("${regex(abc)}");
}

static void test_errors(void **state)
{
	(void)state;
	expand_fails("a ${x");
	expand_fails("${x}${");
	expand_fails("${nosuchfn(1)}");
	assert_int_equal(sb_expand_function_register("fail", fn_fail, NULL),
			 APR_SUCCESS);
	expand_fails("ok ${fail(1)}");
	sb_expand_function_unregister("fail");
}

static void test_depth_limit(void **state)
{
	const char *in = "${x}";
	int i;

	(void)state;
	assert_int_equal(sb_expand_function_register("id", fn_id, NULL),
			 APR_SUCCESS);
	/* Seven calls around ${x}: eight levels, the most allowed. */
	for (i = 0; i < SB_EXPAND_MAX_DEPTH - 1; i++)
		in = apr_pstrcat(pool, "${id(", in, ")}", NULL);
	assert_string_equal(expand_ok(in), "1");
	in = apr_pstrcat(pool, "${id(", in, ")}", NULL);
	expand_fails(in);
	sb_expand_function_unregister("id");
}

static void test_size_limit(void **state)
{
	char *big = apr_palloc(pool, 40 * 1024 + 1);
	const char *out;

	(void)state;
	memset(big, 'a', 40 * 1024);
	big[40 * 1024] = '\0';
	apr_table_set(vars, "big", big);
	out = expand_ok("${big}");
	assert_int_equal(strlen(out), 40 * 1024);
	expand_fails("${big}${big}");
	big = apr_palloc(pool, SB_EXPAND_MAX_LEN + 2);
	memset(big, 'b', SB_EXPAND_MAX_LEN + 1);
	big[SB_EXPAND_MAX_LEN + 1] = '\0';
	expand_fails(big);
}

static void *hammer(void *arg)
{
	apr_pool_t *p;
	const char *out;
	int i, *bad = arg;

	apr_pool_create_unmanaged_ex(&p, NULL, NULL);
	for (i = 0; i < 300; i++) {
		sb_expand_function_register("up2", fn_upper, NULL);
		if (sb_expand(vars, "${regex(a1|^a(\\d)|%1)}", p, &out) !=
			APR_SUCCESS ||
		    strcmp(out, "1") != 0)
			(*bad)++;
		sb_expand_function_unregister("up2");
		apr_pool_clear(p);
	}
	apr_pool_destroy(p);
	return NULL;
}

static void test_threads(void **state)
{
	pthread_t t[4];
	int bad[4] = {0}, i;

	(void)state;
	for (i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&t[i], NULL, hammer, &bad[i]),
				 0);
	for (i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(bad[i], 0);
	}
}

static void test_shutdown_and_again(void **state)
{
	(void)state;
	sb_expand_shutdown();
	expand_fails("${regex(a|a)}");
	sb_expand_shutdown();
	assert_int_equal(sb_expand_builtins_register(), APR_SUCCESS);
	assert_string_equal(expand_ok("${regex(a|a)}"), "true");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_plain_vars),
	    cmocka_unit_test(test_unset_is_empty),
	    cmocka_unit_test(test_literals),
	    cmocka_unit_test(test_needed),
	    cmocka_unit_test(test_functions_nest),
	    cmocka_unit_test(test_regex_builtin),
	    cmocka_unit_test(test_errors),
	    cmocka_unit_test(test_depth_limit),
	    cmocka_unit_test(test_size_limit),
	    cmocka_unit_test(test_threads),
	    cmocka_unit_test(test_shutdown_and_again),
	};
	int rc;

	apr_initialize();
	rc = cmocka_run_group_tests(tests, setup, teardown);
	apr_terminate();
	return rc;
}
