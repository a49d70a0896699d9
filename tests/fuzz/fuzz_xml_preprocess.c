/* fuzz_xml_preprocess.c — libFuzzer: X-PRE-PROCESS, $${}, then libxml2. */
/* GLOB_ALTDIRFUNC and its members are GNU extensions. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <glob.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <apr_general.h>
#include <apr_strings.h>
#include <libxml/parser.h>
#include "sipsbridge/sb_config.h"

/*
 * Build: clang -fsanitize=fuzzer,address,undefined with
 * src/config/{xml_preprocess,xml_load,vars}.c, src/core/errors.c,
 * pool_guard.c, -Wl,--wrap=realpath,--wrap=glob (and pool_guard.c's
 * wraps), -lapr-1 -laprutil-1 -lxml2.
 *
 * The pre-processor reads files, so the input becomes files: up to
 * three parts split on a line "@@", written each run to root.xml,
 * inc.xml and sub/more.xml of a directory made once per process (on
 * /dev/shm when it can). The root goes through sb_preprocess_file()
 * and then sb_config_load(), as the daemon loads it (pre-processor,
 * then libxml2 with its DOCTYPE guard), and the tree is walked with
 * the lookup helpers the modules use.
 *
 * The fuzzer writes include paths and globs, and nothing in the API
 * confines them, so the link wraps the two calls the pre-processor
 * reaches files through: realpath() refuses any result outside the
 * directory (every file is opened by its real path, so nothing outside
 * is read), and glob() lists no directory outside it (a pattern such
 * as "/ * / * / *" would otherwise walk the whole filesystem). The
 * code under test writes nothing; the harness writes its three files.
 *
 * Besides the sanitizers (and LeakSanitizer on every run), the harness
 * aborts when a failure has no message, when the load and a second run
 * of the pre-processor disagree, when a line of the output maps to a
 * file that is not ours or a line that file does not have, and when an
 * element of the tree does.
 */

#define CHECK(c)                                                               \
	do {                                                                   \
		if (!(c))                                                      \
			abort();                                               \
	} while (0)

#define NFILES 3
static const char *const names[NFILES] = {"root.xml", "inc.xml",
					  "sub/more.xml"};
static char base[PATH_MAX];
static size_t base_len;
static char *paths[NFILES];
static int lines[NFILES]; /* lines in each file as written this run */
static int sandboxed;
static apr_pool_t *root;
static sb_vars_t *builtins;

char *__real_realpath(const char *path, char *resolved);
int __real_glob(const char *pattern, int flags,
		int (*errfunc)(const char *, int), glob_t *g);

static int inside(const char *real)
{
	return strncmp(real, base, base_len) == 0 &&
	       (real[base_len] == '/' || real[base_len] == '\0');
}

char *__wrap_realpath(const char *path, char *resolved)
{
	char *real = __real_realpath(path, resolved);

	if (!sandboxed || real == NULL || inside(real))
		return real;
	if (resolved == NULL)
		free(real);
	errno = EACCES;
	return NULL;
}

static void *guard_opendir(const char *name)
{
	char *real = __real_realpath(name, NULL);
	DIR *d = NULL;

	if (real != NULL && inside(real))
		d = opendir(real);
	else
		errno = EACCES;
	free(real);
	return d;
}

static struct dirent *guard_readdir(void *d)
{
	return readdir(d);
}

static void guard_closedir(void *d)
{
	closedir(d);
}

int __wrap_glob(const char *pattern, int flags,
		int (*errfunc)(const char *, int), glob_t *g)
{
	if (!sandboxed)
		return __real_glob(pattern, flags, errfunc, g);
	memset(g, 0, sizeof(*g));
	g->gl_opendir = guard_opendir;
	g->gl_readdir = guard_readdir;
	g->gl_closedir = guard_closedir;
	g->gl_stat = stat;
	g->gl_lstat = lstat;
	return __real_glob(pattern, flags | GLOB_ALTDIRFUNC, errfunc, g);
}

static int remove_entry(const char *path, const struct stat *sb, int flag,
			struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* At exit: the directory goes, and LeakSanitizer sees the pools go. */
static void teardown(void)
{
	nftw(base, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
	apr_pool_destroy(root);
	xmlCleanupParser();
	apr_terminate();
}

/* libxml2 prints some errors (encodings) to stderr past our handler. */
static void quiet(void *ctx, const char *fmt, ...)
{
	(void)ctx;
	(void)fmt;
}

/*
 * A crash ends the process without atexit: directories of processes
 * that are gone are removed by the next one. Named after the pid.
 */
static void sweep(const char *parent)
{
	struct dirent *e;
	DIR *d = opendir(parent);
	long pid;
	char *end;

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (strncmp(e->d_name, "fuzz_xml_preprocess.", 20) != 0)
			continue;
		pid = strtol(e->d_name + 20, &end, 10);
		if (*end == '.' && pid > 0 && kill((pid_t)pid, 0) != 0 &&
		    errno == ESRCH)
			nftw(apr_pstrcat(root, parent, "/", e->d_name, NULL),
			     remove_entry, 8, FTW_DEPTH | FTW_PHYS);
	}
	closedir(d);
}

static void setup(void)
{
	const char *parent;
	char *tmpl, *real;
	sb_dirs_t dirs = {0};
	int i;

	CHECK(apr_initialize() == APR_SUCCESS);
	CHECK(apr_pool_create(&root, NULL) == APR_SUCCESS);
	/*
	 * tmpfs when there is one: ext4 flushes a file truncated and written
	 * again on close (auto_da_alloc), three times a run.
	 */
	parent = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
	sweep(parent);
	tmpl = apr_psprintf(root, "%s/fuzz_xml_preprocess.%ld.XXXXXX", parent,
			    (long)getpid());
	CHECK(mkdtemp(tmpl) != NULL);
	real = __real_realpath(tmpl, NULL);
	CHECK(real != NULL && strlen(real) < sizeof(base));
	strcpy(base, real);
	free(real);
	base_len = strlen(base);
	atexit(teardown);
	CHECK(mkdir(apr_pstrcat(root, base, "/sub", NULL), 0700) == 0);
	for (i = 0; i < NFILES; i++)
		paths[i] = apr_pstrcat(root, base, "/", names[i], NULL);
	/* As the daemon names its directories; run once, they are slow. */
	dirs.base_dir = base;
	dirs.conf_dir = base;
	dirs.log_dir = apr_pstrcat(root, base, "/log", NULL);
	dirs.run_dir = apr_pstrcat(root, base, "/run", NULL);
	dirs.db_dir = apr_pstrcat(root, base, "/db", NULL);
	dirs.mod_dir = apr_pstrcat(root, base, "/mod", NULL);
	CHECK(sb_vars_create(&builtins, root) == APR_SUCCESS);
	CHECK(sb_vars_set_builtins(builtins, &dirs) == APR_SUCCESS);
	xmlInitParser();
	xmlSetGenericErrorFunc(NULL, quiet);
}

/* A fresh set of the built-ins: "set" changes the one it is given. */
static sb_vars_t *fresh_vars(apr_pool_t *pool)
{
	static const char *const builtin[] = {
	    "local_ip_v4",   "local_mask_v4", "local_ip_v6", "hostname",
	    "switch_serial", "core_uuid",     "base_dir",    "conf_dir",
	    "log_dir",	     "run_dir",	      "db_dir",	     "mod_dir",
	    "certs_dir"};
	sb_vars_t *vars;
	const char *v;
	size_t i;

	CHECK(sb_vars_create(&vars, pool) == APR_SUCCESS);
	for (i = 0; i < sizeof(builtin) / sizeof(builtin[0]); i++)
		if ((v = sb_vars_get(builtins, builtin[i])) != NULL)
			sb_vars_set(vars, builtin[i], v);
	return vars;
}

static void put(int i, const uint8_t *p, size_t n)
{
	int fd = open(paths[i], O_WRONLY | O_CREAT | O_TRUNC, 0600);
	size_t k;

	CHECK(fd >= 0);
	CHECK(n == 0 || write(fd, p, n) == (ssize_t)n);
	CHECK(close(fd) == 0);
	lines[i] = n > 0 && p[n - 1] != '\n';
	for (k = 0; k < n; k++)
		lines[i] += p[k] == '\n';
}

/* Split on "\n@@\n" into the three files; missing parts are empty. */
static void write_files(const uint8_t *data, size_t size)
{
	const uint8_t *p = data, *end = data + size, *m;
	int i;

	for (i = 0; i < NFILES; i++) {
		m = i + 1 < NFILES ? memmem(p, (size_t)(end - p), "\n@@\n", 4)
				   : NULL;
		put(i, p, m ? (size_t)(m + 1 - p) : (size_t)(end - p));
		p = m ? m + 4 : end;
	}
}

/* Which of our files @p file is; aborts when it is none of them. */
static int file_index(const char *file)
{
	int i;

	for (i = 0; i < NFILES; i++)
		if (strcmp(file, paths[i]) == 0)
			return i;
	abort();
}

/* Every output line comes from a line its file has. */
static void check_map(const char *text, apr_size_t len, sb_linemap_t *map)
{
	const char *file;
	apr_size_t k;
	int n = 0, i, line;

	CHECK(text[len] == '\0');
	for (k = 0; k < len; k++)
		n += text[k] == '\n';
	for (i = 1; i <= n; i++) {
		sb_linemap_lookup(map, i, &file, &line);
		CHECK(line >= 1 && line <= lines[file_index(file)]);
	}
	/* Out of range asks are clamped, never read past the runs. */
	sb_linemap_lookup(map, 0, &file, &line);
	sb_linemap_lookup(map, n + 1, &file, &line);
	sb_linemap_lookup(map, INT_MAX, &file, &line);
	sb_linemap_lookup(map, INT_MIN, &file, &line);
}

/* Every element, depth first, through the helpers modules use. */
static void walk(const sb_config_t *cfg, const xmlNode *node)
{
	const xmlNode *c;
	const char *file;
	int line;

	for (; node != NULL; node = sb_xml_next(node, NULL)) {
		sb_config_where(cfg, node, &file, &line);
		CHECK(line >= 0 && line <= lines[file_index(file)]);
		(void)sb_xml_attr(node, "name");
		(void)sb_xml_attr(node, "value");
		c = sb_xml_child(node, NULL);
		if (c != NULL)
			walk(cfg, c);
	}
}

static void check_failure(apr_status_t rv, const sb_config_error_t *err)
{
	CHECK(rv != APR_SUCCESS);
	CHECK(err->msg[0] != '\0');
	CHECK(err->line >= 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	sb_config_error_t err1 = {{0}, 0, {0}}, err2 = {{0}, 0, {0}};
	sb_linemap_t *map;
	sb_config_t *cfg;
	apr_status_t rv1, rv2;
	apr_pool_t *pool;
	apr_size_t len;
	char *text;

	if (root == NULL)
		setup();
	CHECK(apr_pool_create(&pool, root) == APR_SUCCESS);
	write_files(data, size);
	sandboxed = 1;
	rv1 = sb_preprocess_file(paths[0], fresh_vars(pool), pool, &text, &len,
				 &map, &err1);
	if (rv1 == APR_SUCCESS)
		check_map(text, len, map);
	else
		check_failure(rv1, &err1);
	rv2 = sb_config_load(&cfg, paths[0], fresh_vars(pool), pool, &err2);
	sandboxed = 0;
	if (rv1 != APR_SUCCESS) {
		/* The same files and variables fail the same way. */
		CHECK(rv2 == rv1 && err2.line == err1.line);
		CHECK(strcmp(err2.file, err1.file) == 0);
		CHECK(strcmp(err2.msg, err1.msg) == 0);
	} else if (rv2 != APR_SUCCESS) {
		check_failure(rv2, &err2);
		(void)file_index(err2.file);
	} else {
		walk(cfg, sb_config_root(cfg));
		(void)sb_config_find_conf(cfg, "sips.conf");
		(void)sb_config_section(cfg, "dialplan");
	}
	apr_pool_destroy(pool);
	return 0;
}
