/*
 * conf_fixture.h — a scratch conf directory for the tests of the XML
 * pre-processor and loader, the dialplan and sessions: made with the pool
 * by conf_setup, filled by conf_put, removed with all it holds by
 * conf_teardown (around each test with conf_test).
 * Included once, by a test's .c file.
 */
#ifndef SB_TEST_CONF_FIXTURE_H
#define SB_TEST_CONF_FIXTURE_H

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <apr_file_io.h>
#include <apr_strings.h>
#include "pool_fixture.h"

/* Resolved: errors name resolved paths, and the tests compare them. */
static char *conf_dir;

static int conf_setup(void **state)
{
	char tmpl[] = "/tmp/sb_conf_test_XXXXXX";
	char *real;

	if (pool_setup(state) != 0 || !mkdtemp(tmpl))
		return -1;
	real = realpath(tmpl, NULL);
	conf_dir = apr_pstrdup(pool, real);
	free(real);
	return conf_dir ? 0 : -1;
}

static int conf_remove_entry(const char *path, const struct stat *sb, int flag,
			     struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int conf_teardown(void **state)
{
	nftw(conf_dir, conf_remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	return pool_teardown(state);
}

/* A test with a directory (and a pool) of its own. */
#define conf_test(fn)                                                          \
	cmocka_unit_test_setup_teardown(fn, conf_setup, conf_teardown)

/* The absolute path of @p rel in the directory. */
static const char *conf_path(const char *rel)
{
	return apr_pstrcat(pool, conf_dir, "/", rel, NULL);
}

/* Writes @p content to @p rel, making its parents; returns its path. */
static const char *conf_put(const char *rel, const char *content)
{
	const char *path = conf_path(rel);
	char *parent = apr_pstrdup(pool, path);
	FILE *fp;

	*strrchr(parent, '/') = '\0';
	assert_int_equal(apr_dir_make_recursive(parent, APR_OS_DEFAULT, pool),
			 APR_SUCCESS);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs(content, fp);
	fclose(fp);
	return path;
}

#endif
