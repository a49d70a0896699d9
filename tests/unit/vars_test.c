/* vars_test.c — the variable set, $${} expansion and the built-ins. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <cmocka.h>
#include <apr_general.h>
#include "sipsbridge/sb_config.h"

#include "pool_fixture.h"

static void test_set_get_replace(void **state)
{
	sb_vars_t *v;
	char name[] = "domain", value[] = "example.org";

	(void)state;
	assert_int_equal(sb_vars_create(&v, pool), APR_SUCCESS);
	assert_null(sb_vars_get(v, "domain"));
	sb_vars_set(v, name, value);
	/* The set keeps its own copies. */
	name[0] = 'X';
	value[0] = 'X';
	assert_string_equal(sb_vars_get(v, "domain"), "example.org");
	assert_null(sb_vars_get(v, "Xomain"));
	sb_vars_set(v, "domain", "example.net");
	assert_string_equal(sb_vars_get(v, "domain"), "example.net");
	sb_vars_set(v, "empty", "");
	assert_string_equal(sb_vars_get(v, "empty"), "");
	/* Names are case-sensitive, as in FreeSWITCH. */
	assert_null(sb_vars_get(v, "DOMAIN"));
}

static void test_expand(void **state)
{
	const char *unknown = "stale";
	sb_vars_t *v;

	(void)state;
	sb_vars_create(&v, pool);
	sb_vars_set(v, "a", "1");
	sb_vars_set(v, "port", "5061");
	assert_string_equal(sb_vars_expand(v, "x=$${a}", pool, &unknown),
			    "x=1");
	assert_null(unknown);
	assert_string_equal(
	    sb_vars_expand(v, "$${a}$${port}:$${a}", pool, NULL), "15061:1");
	assert_string_equal(sb_vars_expand(v, "no vars here", pool, NULL),
			    "no vars here");
	assert_string_equal(sb_vars_expand(v, "", pool, NULL), "");
	/* ${x} is a run-time channel variable: left for later. */
	assert_string_equal(sb_vars_expand(v, "${a} $a $${a}", pool, NULL),
			    "${a} $a 1");
	/* An unclosed $${ stays as written. */
	assert_string_equal(sb_vars_expand(v, "$${a} $${a", pool, NULL),
			    "1 $${a");
}

static void test_expand_unknown(void **state)
{
	const char *unknown = NULL;
	sb_vars_t *v;

	(void)state;
	sb_vars_create(&v, pool);
	sb_vars_set(v, "known", "k");
	assert_string_equal(
	    sb_vars_expand(v, "[$${nope}]$${known}[$${other}]", pool, &unknown),
	    "[]k[]");
	/* The first unknown name is the one reported. */
	assert_non_null(unknown);
	assert_string_equal(unknown, "nope");
	assert_string_equal(sb_vars_expand(v, "$${}", pool, &unknown), "");
	assert_string_equal(unknown, "");
}

static void test_expand_not_recursive(void **state)
{
	sb_vars_t *v;

	(void)state;
	sb_vars_create(&v, pool);
	sb_vars_set(v, "a", "$${b}");
	sb_vars_set(v, "b", "B");
	/* A value is text: it is not expanded a second time. */
	assert_string_equal(sb_vars_expand(v, "$${a}", pool, NULL), "$${b}");
}

static void test_builtins(void **state)
{
	const sb_dirs_t dirs = {"/opt/sb", "/opt/sb/conf", "/var/log/sb",
				"/run/sb", NULL,	   "/opt/sb/mod"};
	struct in_addr a4;
	struct in6_addr a6;
	char host[256];
	const char *uuid;
	sb_vars_t *v;

	(void)state;
	sb_vars_create(&v, pool);
	assert_int_equal(sb_vars_set_builtins(v, &dirs), APR_SUCCESS);
	assert_int_equal(inet_pton(AF_INET, sb_vars_get(v, "local_ip_v4"), &a4),
			 1);
	assert_int_equal(
	    inet_pton(AF_INET, sb_vars_get(v, "local_mask_v4"), &a4), 1);
	assert_int_equal(
	    inet_pton(AF_INET6, sb_vars_get(v, "local_ip_v6"), &a6), 1);
	assert_int_equal(gethostname(host, sizeof(host)), 0);
	assert_string_equal(sb_vars_get(v, "hostname"), host);
	assert_string_equal(sb_vars_get(v, "base_dir"), "/opt/sb");
	assert_string_equal(sb_vars_get(v, "conf_dir"), "/opt/sb/conf");
	assert_string_equal(sb_vars_get(v, "log_dir"), "/var/log/sb");
	assert_string_equal(sb_vars_get(v, "run_dir"), "/run/sb");
	assert_string_equal(sb_vars_get(v, "mod_dir"), "/opt/sb/mod");
	assert_string_equal(sb_vars_get(v, "certs_dir"), "/opt/sb/conf/tls");
	/* A NULL directory is not defined at all. */
	assert_null(sb_vars_get(v, "db_dir"));
	uuid = sb_vars_get(v, "core_uuid");
	assert_non_null(uuid);
	assert_int_equal(strlen(uuid), 36);
	assert_int_equal(uuid[8], '-');
	assert_int_equal(strlen(sb_vars_get(v, "switch_serial")), 8);
}

static void test_builtins_stable_and_overridable(void **state)
{
	sb_vars_t *a, *b;

	(void)state;
	sb_vars_create(&a, pool);
	sb_vars_create(&b, pool);
	sb_vars_set_builtins(a, NULL);
	sb_vars_set_builtins(b, NULL);
	assert_null(sb_vars_get(a, "conf_dir"));
	assert_null(sb_vars_get(a, "certs_dir"));
	/* The serial is the same each start; the uuid is fresh each time. */
	assert_string_equal(sb_vars_get(a, "switch_serial"),
			    sb_vars_get(b, "switch_serial"));
	assert_string_not_equal(sb_vars_get(a, "core_uuid"),
				sb_vars_get(b, "core_uuid"));
	sb_vars_set(a, "local_ip_v4", "192.0.2.10");
	assert_string_equal(sb_vars_expand(a, "$${local_ip_v4}", pool, NULL),
			    "192.0.2.10");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    pool_test(test_set_get_replace),
	    pool_test(test_expand),
	    pool_test(test_expand_unknown),
	    pool_test(test_expand_not_recursive),
	    pool_test(test_builtins),
	    pool_test(test_builtins_stable_and_overridable),
	};
	int rc;

	apr_initialize();
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	apr_terminate();
	return rc;
}
