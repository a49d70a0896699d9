/* commands.c — the control command registry: register, match, run, help. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <apr_allocator.h>
#include <apr_hash.h>
#include <apr_strings.h>
#include <apr_tables.h>
#include <apr_thread_mutex.h>
#include "sipsbridge/sb_control.h"

#define IS_BLANK(c) ((c) == ' ' || (c) == '\t')
#define IS_SPACE(c) (IS_BLANK(c) || (c) == '\r' || (c) == '\n')

/* Help lines keep their help text in one column up to this width. */
#define HELP_SYNTAX_MAX 32
/* Longest command name, words joined by one space, NUL included. */
#define NAME_MAX_LEN 256

/*
 * One registered command. Each lives in its own sub-pool so modules that
 * come and go do not grow the registry; a command unregistered while a
 * caller still runs it is freed by that caller (refs drops to zero).
 */
typedef struct command {
	apr_pool_t *pool;
	char name[NAME_MAX_LEN]; /* words joined by one space */
	const char *syntax;
	const char *help;
	sb_command_fn fn;
	void *baton;
	unsigned refs;
	int gone;
	int words;
} command_t;

/*
 * The registry is process-wide and has no init call in the API, so it is
 * made once on first use. Its pool is unmanaged: apr_terminate() must not
 * free it under a module that unregisters late. Every pool operation on
 * it (the allocator has no mutex) happens with reg.lock held.
 */
static struct {
	apr_allocator_t *allocator; /* kept so leak checkers see it held */
	apr_pool_t *pool;
	apr_thread_mutex_t *lock;
	apr_hash_t *commands;
	int max_words;
	apr_status_t init_rv;
} reg;

static pthread_once_t reg_once = PTHREAD_ONCE_INIT;

static void reg_init(void)
{
	reg.init_rv = apr_allocator_create(&reg.allocator);
	if (reg.init_rv != APR_SUCCESS)
		return;
	reg.init_rv =
	    apr_pool_create_unmanaged_ex(&reg.pool, NULL, reg.allocator);
	if (reg.init_rv != APR_SUCCESS)
		return;
	apr_allocator_owner_set(reg.allocator, reg.pool);
	reg.init_rv = apr_thread_mutex_create(
	    &reg.lock, APR_THREAD_MUTEX_DEFAULT, reg.pool);
	reg.commands = apr_hash_make(reg.pool);
}

static apr_status_t reg_ready(void)
{
	pthread_once(&reg_once, reg_init);
	return reg.init_rv;
}

/*
 * Write @p name into @p dst (@p cap bytes) with blanks trimmed and runs of
 * blanks made one space, as names are stored. Returns the word count, or
 * -1 when it does not fit.
 */
static int words_normalize(char *dst, apr_size_t cap, const char *name)
{
	apr_size_t o = 0;
	int words = 0;

	while (*name) {
		while (IS_SPACE(*name))
			name++;
		if (!*name)
			break;
		if (words && o < cap)
			dst[o++] = ' ';
		while (*name && !IS_SPACE(*name) && o < cap)
			dst[o++] = *name++;
		if (o == cap)
			return -1;
		words++;
	}
	if (o == cap)
		return -1;
	dst[o] = '\0';
	return words;
}

static void reg_recount_words(void)
{
	apr_hash_index_t *hi;
	command_t *c;

	reg.max_words = 0;
	for (hi = apr_hash_first(NULL, reg.commands); hi;
	     hi = apr_hash_next(hi)) {
		c = apr_hash_this_val(hi);
		if (c->words > reg.max_words)
			reg.max_words = c->words;
	}
}

apr_status_t sb_control_register(const char *name, const char *syntax,
				 const char *help, sb_command_fn fn,
				 void *baton)
{
	char key[NAME_MAX_LEN];
	apr_status_t rv = reg_ready();
	apr_pool_t *p;
	command_t *c;
	int words;

	if (rv != APR_SUCCESS)
		return rv;
	if (!name || !fn)
		return APR_EINVAL;
	words = words_normalize(key, sizeof(key), name);
	if (words <= 0)
		return words < 0 ? SB_ETOOBIG : APR_EINVAL;
	apr_thread_mutex_lock(reg.lock);
	/* "help" is built in and cannot be replaced. */
	if (!strcmp(key, "help") ||
	    apr_hash_get(reg.commands, key, APR_HASH_KEY_STRING)) {
		rv = APR_EEXIST;
		goto done;
	}
	rv = apr_pool_create(&p, reg.pool);
	if (rv != APR_SUCCESS)
		goto done;
	c = apr_pcalloc(p, sizeof(*c));
	c->pool = p;
	memcpy(c->name, key, sizeof(key));
	c->words = words;
	c->syntax = apr_pstrdup(p, syntax ? syntax : key);
	c->help = apr_pstrdup(p, help ? help : "");
	c->fn = fn;
	c->baton = baton;
	apr_hash_set(reg.commands, c->name, APR_HASH_KEY_STRING, c);
	if (words > reg.max_words)
		reg.max_words = words;
done:
	apr_thread_mutex_unlock(reg.lock);
	return rv;
}

void sb_control_unregister(const char *name)
{
	char key[NAME_MAX_LEN];
	command_t *c;

	/* A name that does not fit was never registered. */
	if (!name || words_normalize(key, sizeof(key), name) <= 0 ||
	    reg_ready() != APR_SUCCESS)
		return;
	apr_thread_mutex_lock(reg.lock);
	c = apr_hash_get(reg.commands, key, APR_HASH_KEY_STRING);
	if (c) {
		apr_hash_set(reg.commands, key, APR_HASH_KEY_STRING, NULL);
		reg_recount_words();
		if (c->refs)
			c->gone = 1;
		else
			apr_pool_destroy(c->pool);
	}
	apr_thread_mutex_unlock(reg.lock);
}

/*
 * Find the command whose name is the longest word prefix of @p line
 * (trimmed, not empty). On success *rest points at the arguments.
 */
static command_t *reg_match(const char *line, const char **rest)
{
	const char *ends[NAME_MAX_LEN / 2]; /* ends[i]: end of word i */
	char key[NAME_MAX_LEN];
	const char *p = line;
	command_t *c;
	int n = 0, k;

	while (*p && n < reg.max_words) {
		while (*p && !IS_SPACE(*p))
			p++;
		ends[n++] = p;
		while (IS_SPACE(*p))
			p++;
	}
	for (k = n; k > 0; k--) {
		apr_size_t len = (apr_size_t)(ends[k - 1] - line);
		char prefix[NAME_MAX_LEN];

		if (len >= sizeof(prefix))
			continue; /* longer than any name */
		memcpy(prefix, line, len);
		prefix[len] = '\0';
		if (words_normalize(key, sizeof(key), prefix) < 0)
			continue;
		c = apr_hash_get(reg.commands, key, APR_HASH_KEY_STRING);
		if (c) {
			p = ends[k - 1];
			while (IS_SPACE(*p))
				p++;
			*rest = p;
			return c;
		}
	}
	return NULL;
}

static int help_cmp(const void *a, const void *b)
{
	const command_t *x = *(const command_t *const *)a;
	const command_t *y = *(const command_t *const *)b;

	return strcmp(x->name, y->name);
}

/* A help prefix selects whole words: "sips" shows "sips status". */
static int help_wanted(const char *name, const char *prefix)
{
	apr_size_t n = strlen(prefix);

	return !n || (!strncmp(name, prefix, n) &&
		      (name[n] == '\0' || name[n] == ' '));
}

/* The built-in "help [PREFIX]": the commands sorted by name. Locked. */
static apr_status_t reg_help(const char *args, sb_stream_t *out,
			     apr_pool_t *pool)
{
	static const command_t self = {.name = "help",
				       .syntax = "help [PREFIX]",
				       .help = "list the commands",
				       .words = 1};
	apr_array_header_t *list = apr_array_make(pool, 32, sizeof(void *));
	char prefix[NAME_MAX_LEN];
	apr_hash_index_t *hi;
	const command_t *c;
	int i, width = 0;

	if (words_normalize(prefix, sizeof(prefix), args) < 0)
		prefix[0] = '\x01'; /* matches nothing */
	if (help_wanted(self.name, prefix))
		APR_ARRAY_PUSH(list, const command_t *) = &self;
	for (hi = apr_hash_first(pool, reg.commands); hi;
	     hi = apr_hash_next(hi)) {
		c = apr_hash_this_val(hi);
		if (help_wanted(c->name, prefix))
			APR_ARRAY_PUSH(list, const command_t *) = c;
	}
	if (!list->nelts) {
		sb_stream_printf(out, "-ERR no command starts with: %s\n",
				 args);
		return SB_ENOTFOUND;
	}
	qsort(list->elts, (size_t)list->nelts, sizeof(void *), help_cmp);
	for (i = 0; i < list->nelts; i++) {
		c = APR_ARRAY_IDX(list, i, const command_t *);
		if ((int)strlen(c->syntax) > width)
			width = (int)strlen(c->syntax);
	}
	if (width > HELP_SYNTAX_MAX)
		width = HELP_SYNTAX_MAX;
	for (i = 0; i < list->nelts; i++) {
		c = APR_ARRAY_IDX(list, i, const command_t *);
		sb_stream_printf(out, "%-*s  %s\n", width, c->syntax, c->help);
	}
	return APR_SUCCESS;
}

/* Drop a caller's hold; the last one frees a command unregistered meanwhile. */
static void reg_release(command_t *c)
{
	apr_thread_mutex_lock(reg.lock);
	if (--c->refs == 0 && c->gone)
		apr_pool_destroy(c->pool);
	apr_thread_mutex_unlock(reg.lock);
}

/* Copy @p line without leading and trailing blanks or line ends. */
static char *line_trim(const char *line, apr_pool_t *pool)
{
	const char *end;

	while (IS_SPACE(*line))
		line++;
	end = line + strlen(line);
	while (end > line && IS_SPACE(end[-1]))
		end--;
	return apr_pstrmemdup(pool, line, (apr_size_t)(end - line));
}

apr_status_t sb_control_execute(const char *line, sb_stream_t *out,
				apr_pool_t *pool)
{
	apr_size_t before, after;
	const char *args = "";
	command_t *c;
	char *cmd, errbuf[128];
	apr_status_t rv = reg_ready();

	if (rv != APR_SUCCESS)
		return rv;
	cmd = line_trim(line ? line : "", pool);
	if (!*cmd) {
		sb_stream_printf(out, "-ERR empty command (try help)\n");
		return APR_EINVAL;
	}
	apr_thread_mutex_lock(reg.lock);
	c = reg_match(cmd, &args);
	if (c) {
		/* Run it unlocked: a handler may (un)register commands. */
		c->refs++;
	} else if (!strncmp(cmd, "help", 4) && (!cmd[4] || IS_SPACE(cmd[4]))) {
		args = cmd + 4;
		while (IS_SPACE(*args))
			args++;
		rv = reg_help(args, out, pool);
	} else {
		sb_stream_printf(out, "-ERR unknown command: %s\n", cmd);
		rv = SB_ENOTFOUND;
	}
	apr_thread_mutex_unlock(reg.lock);
	if (!c)
		return rv;
	sb_stream_data(out, &before);
	rv = c->fn(args, out, pool, c->baton);
	sb_stream_data(out, &after);
	if (rv != APR_SUCCESS && after == before) {
		/* A failure with no reason would leave the user guessing. */
		sb_stream_printf(out, "-ERR %s: %s\n", c->name,
				 sb_strerror(rv, errbuf, sizeof(errbuf)));
	}
	reg_release(c);
	return rv;
}
