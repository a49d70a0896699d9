/* xml_preprocess.c — X-PRE-PROCESS directives, $${} and the line map. */
/* memmem(3) is a GNU extension. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <glob.h>
#include <stdlib.h>
#include <limits.h>
#include <string.h>
#include <strings.h>
#include <apr_file_info.h>
#include <apr_file_io.h>
#include <apr_lib.h>
#include <apr_strings.h>
#include <apr_tables.h>
#include "config_private.h"

/* Output lines from out_start on continue one file from line in_start. */
typedef struct {
	int out_start;
	int in_start;
	const char *file;
} linemap_run_t;

struct sb_linemap {
	apr_array_header_t *runs;
	const char *root;
	int lines;
};

/* malloc'd, so growing it does not leave stale copies in the pool. */
typedef struct {
	char *buf;
	apr_size_t len;
	apr_size_t cap;
} pp_buf_t;

typedef struct {
	apr_pool_t *pool;
	apr_pool_t *tmp;
	sb_vars_t *vars;
	sb_config_error_t *err;
	int failed;
	pp_buf_t *out;
	apr_size_t line_start;
	sb_linemap_t *map;
	apr_array_header_t *chain;
	const char *file;
	int line;
	apr_size_t values; /* bytes of every set value so far (a budget) */
} pp_state_t;

/* One file being read: its text, comment state, wrapper lines. */
typedef struct {
	const char *name;
	char *text;
	apr_size_t len;
	int depth;
	int in_comment;
	int drop[3];
} pp_file_t;

typedef struct {
	const char *cmd;
	apr_size_t cmd_len;
	const char *data;
	apr_size_t data_len;
	apr_size_t end;
} pp_directive_t;

static const char DIRECTIVE[] = "<X-PRE-PROCESS";
#define DIRECTIVE_LEN (sizeof(DIRECTIVE) - 1)
static const char DIRECTIVE_END[] = "</X-PRE-PROCESS>";
#define DIRECTIVE_END_LEN (sizeof(DIRECTIVE_END) - 1)

static apr_status_t pp_file(pp_state_t *st, const char *real, int depth,
			    const pp_file_t *from, int from_line,
			    const char *label);

/* Only the innermost failure speaks; callers above just pass rv up. */
static apr_status_t pp_fail(pp_state_t *st, apr_status_t rv, const char *file,
			    int line, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static apr_status_t pp_fail(pp_state_t *st, apr_status_t rv, const char *file,
			    int line, const char *fmt, ...)
{
	char msg[sizeof(st->err->msg)];
	va_list ap;

	if (st->failed)
		return rv;
	st->failed = 1;
	va_start(ap, fmt);
	apr_vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	sb_config_error_set(st->err, file, line, "%s", msg);
	return rv;
}

static apr_status_t buf_free(void *data)
{
	pp_buf_t *b = data;

	free(b->buf);
	b->buf = NULL;
	return APR_SUCCESS;
}

/* Appends to the output; also the sink of $${} expansion. */
static apr_status_t out_write(void *ctx, const char *s, apr_size_t n)
{
	pp_state_t *st = ctx;
	pp_buf_t *b = st->out;
	apr_size_t cap;
	char *grown;

	if (n >= SB_PREPROCESS_MAX_OUTPUT - b->len)
		return pp_fail(st, SB_ETOOBIG, st->file, st->line,
			       "pre-processed configuration exceeds %lu MiB",
			       (unsigned long)(SB_PREPROCESS_MAX_OUTPUT >> 20));
	if (b->len + n + 1 > b->cap) {
		cap = b->cap ? b->cap : 4096;
		while (cap < b->len + n + 1)
			cap *= 2;
		grown = realloc(b->buf, cap);
		if (!grown)
			return pp_fail(st, APR_ENOMEM, st->file, st->line,
				       "out of memory");
		b->buf = grown;
		b->cap = cap;
	}
	memcpy(b->buf + b->len, s, n);
	b->len += n;
	return APR_SUCCESS;
}

static void map_note(sb_linemap_t *map, int out_line, const char *file,
		     int line)
{
	linemap_run_t *last = NULL;

	if (map->runs->nelts)
		last = &APR_ARRAY_IDX(map->runs, map->runs->nelts - 1,
				      linemap_run_t);
	/* A line dropped before it got content is noted again: reuse. */
	if (last && last->out_start == out_line) {
		last->file = file;
		last->in_start = line;
		return;
	}
	if (last && last->file == file &&
	    last->in_start + (out_line - last->out_start) == line)
		return;
	last = apr_array_push(map->runs);
	last->out_start = out_line;
	last->in_start = line;
	last->file = file;
}

static void out_begin(pp_state_t *st, const pp_file_t *f, int line)
{
	st->line_start = st->out->len;
	st->file = f->name;
	st->line = line;
	map_note(st->map, st->map->lines + 1, f->name, line);
}

static apr_status_t out_end(pp_state_t *st)
{
	apr_status_t rv = out_write(st, "\n", 1);

	if (rv == APR_SUCCESS)
		st->map->lines++;
	return rv;
}

static int is_blank(const char *s, apr_size_t n)
{
	while (n && apr_isspace(*s)) {
		s++;
		n--;
	}
	return n == 0;
}

static char *trim(char *s)
{
	char *end;

	while (apr_isspace(*s))
		s++;
	end = s + strlen(s);
	while (end > s && apr_isspace(end[-1]))
		*--end = '\0';
	return s;
}

static apr_status_t count_value(void *ctx, const char *s, apr_size_t n)
{
	(void)s;
	*(apr_size_t *)ctx += n;
	return APR_SUCCESS;
}

static apr_status_t run_set(pp_state_t *st, const pp_file_t *f, int line,
			    const char *cmd, char *data, int from_env)
{
	apr_size_t len = 0;
	char *eq = strchr(data, '='), *name;
	const char *value;

	if (!eq)
		return pp_fail(st, SB_ECONFIG, f->name, line,
			       "%s: missing '=' in \"%s\"", cmd, data);
	*eq = '\0';
	name = trim(data);
	if (!*name)
		return pp_fail(st, SB_ECONFIG, f->name, line,
			       "%s: empty variable name", cmd);
	if (from_env) {
		value = getenv(trim(eq + 1));
		value = value ? value : "";
	} else {
		/* Measured first: set a=$${a}$${a} doubles at each line,
		 * and many sets of a big value add up: one budget for all. */
		sb_vars_expand_to(st->vars, eq + 1, strlen(eq + 1),
				  count_value, &len, st->tmp, NULL);
		if (len > SB_PREPROCESS_MAX_VALUE - st->values)
			return pp_fail(st, SB_ETOOBIG, f->name, line,
				       "%s %s: the variables' values pass "
				       "%lu KiB in all", cmd, name,
				       (unsigned long)(SB_PREPROCESS_MAX_VALUE
						       >> 10));
		st->values += len;
		value = sb_vars_expand(st->vars, eq + 1, st->tmp, NULL);
	}
	sb_vars_set(st->vars, name, value);
	return APR_SUCCESS;
}

/* Glob metacharacters in the including file's directory are literal. */
static char *glob_escape(const char *s, apr_pool_t *pool)
{
	char *out = apr_palloc(pool, 2 * strlen(s) + 1), *o = out;

	for (; *s; s++) {
		if (strchr("*?[\\", *s))
			*o++ = '\\';
		*o++ = *s;
	}
	*o = '\0';
	return out;
}

static apr_status_t include_glob(pp_state_t *st, const pp_file_t *f, int line,
				 const char *data, const char *dir)
{
	const char *pattern = data;
	apr_array_header_t *files;
	apr_status_t rv = APR_SUCCESS;
	glob_t g;
	size_t i;
	int grv;

	if (data[0] != '/')
		pattern = apr_pstrcat(st->tmp, glob_escape(dir, st->tmp), "/",
				      data, NULL);
	grv = glob(pattern, GLOB_MARK, NULL, &g);
	if (grv == GLOB_NOMATCH)
		return APR_SUCCESS;
	if (grv != 0)
		return pp_fail(st, SB_ECONFIG, f->name, line,
			       "include \"%s\": cannot expand the pattern",
			       data);
	/* Copied out so that globfree runs before we recurse. */
	files = apr_array_make(st->tmp, (int)g.gl_pathc, sizeof(char *));
	for (i = 0; i < g.gl_pathc; i++) {
		size_t n = strlen(g.gl_pathv[i]);

		/* GLOB_MARK ends directories with '/': only files count. */
		if (n && g.gl_pathv[i][n - 1] != '/')
			APR_ARRAY_PUSH(files, char *) =
			    apr_pstrdup(st->tmp, g.gl_pathv[i]);
	}
	globfree(&g);
	for (i = 0; rv == APR_SUCCESS && i < (size_t)files->nelts; i++) {
		const char *path = APR_ARRAY_IDX(files, i, char *);
		char *real = realpath(path, NULL);
		char why[120];

		if (!real) {
			rv = APR_FROM_OS_ERROR(errno);
			return pp_fail(st, rv, f->name, line,
				       "include \"%s\": %s: %s", data, path,
				       apr_strerror(rv, why, sizeof(why)));
		}
		rv = pp_file(st, real, f->depth + 1, f, line, path);
		free(real);
	}
	return rv;
}

static apr_status_t include_path(pp_state_t *st, const pp_file_t *f, int line,
				 const char *data, const char *dir)
{
	const char *path = data;
	apr_status_t rv;
	char *real;
	char why[120];

	if (data[0] != '/')
		path = apr_pstrcat(st->tmp, dir, "/", data, NULL);
	real = realpath(path, NULL);
	if (!real) {
		rv = APR_FROM_OS_ERROR(errno);
		return pp_fail(st, rv, f->name, line, "include \"%s\": %s",
			       data, apr_strerror(rv, why, sizeof(why)));
	}
	rv = pp_file(st, real, f->depth + 1, f, line, data);
	free(real);
	return rv;
}

static apr_status_t run_include(pp_state_t *st, const pp_file_t *f, int line,
				const char *raw)
{
	const char *slash = strrchr(f->name, '/');
	const char *dir = apr_pstrmemdup(
	    st->tmp, f->name, slash ? (apr_size_t)(slash - f->name) : 0);
	const char *data;
	apr_size_t len = 0;
	apr_status_t rv;

	/* Measured first: no path is longer than PATH_MAX. */
	sb_vars_expand_to(st->vars, raw, strlen(raw), count_value, &len,
			  st->tmp, NULL);
	if (len > PATH_MAX)
		return pp_fail(st, SB_ETOOBIG, f->name, line,
			       "include: data over %d bytes", PATH_MAX);
	data = trim(sb_vars_expand(st->vars, raw, st->tmp, NULL));
	if (!*data)
		return pp_fail(st, SB_ECONFIG, f->name, line,
			       "include: empty data");
	/* Included lines start on a fresh output line of their own. */
	if (st->out->len == st->line_start || /* nothing out yet: buf NULL */
	    is_blank(st->out->buf + st->line_start,
		     st->out->len - st->line_start))
		st->out->len = st->line_start;
	else if ((rv = out_end(st)) != APR_SUCCESS)
		return rv;
	if (strpbrk(data, "*?["))
		rv = include_glob(st, f, line, data, dir);
	else
		rv = include_path(st, f, line, data, dir);
	if (rv == APR_SUCCESS)
		out_begin(st, f, line);
	return rv;
}

static apr_status_t run_directive(pp_state_t *st, const pp_file_t *f, int line,
				  const pp_directive_t *d)
{
	char *cmd, *data;

	if (!d->cmd)
		return pp_fail(st, SB_ECONFIG, f->name, line,
			       "X-PRE-PROCESS without a cmd attribute");
	cmd = apr_pstrmemdup(st->tmp, d->cmd, d->cmd_len);
	data = apr_pstrmemdup(st->tmp, d->data ? d->data : "", d->data_len);
	if (strcasecmp(cmd, "set") == 0)
		return run_set(st, f, line, "set", data, 0);
	if (strcasecmp(cmd, "env-set") == 0)
		return run_set(st, f, line, "env-set", data, 1);
	if (strcasecmp(cmd, "include") == 0)
		return run_include(st, f, line, data);
	return pp_fail(st, SB_ECONFIG, f->name, line,
		       "unknown X-PRE-PROCESS cmd \"%s\"", cmd);
}

/* Where the next <X-PRE-PROCESS tag starts (any case), or NULL. */
static const char *find_directive(const char *s, apr_size_t n)
{
	const char *p = s, *end = s + n;

	while ((p = memchr(p, '<', end - p)) &&
	       (apr_size_t)(end - p) >= DIRECTIVE_LEN) {
		if (strncasecmp(p, DIRECTIVE, DIRECTIVE_LEN) == 0 &&
		    (p + DIRECTIVE_LEN == end ||
		     (p[DIRECTIVE_LEN] && strchr(" \t\r/>", p[DIRECTIVE_LEN]))))
			return p;
		p++;
	}
	return NULL;
}

static apr_size_t skip_space(const char *s, apr_size_t n, apr_size_t i)
{
	while (i < n && apr_isspace(s[i]))
		i++;
	return i;
}

/* Reads cmd="..." data="..." up to "/>" (or ">" and a closing tag). */
static const char *parse_directive(const char *s, apr_size_t n, apr_size_t i,
				   pp_directive_t *d)
{
	apr_size_t name, name_len, value;
	char quote;

	memset(d, 0, sizeof(*d));
	for (i += DIRECTIVE_LEN;; i++) {
		i = skip_space(s, n, i);
		if (i + 1 < n && s[i] == '/' && s[i + 1] == '>') {
			d->end = i + 2;
			return NULL;
		}
		if (i < n && s[i] == '>') {
			d->end = i + 1;
			i = skip_space(s, n, i + 1);
			if (n - i >= DIRECTIVE_END_LEN &&
			    strncasecmp(s + i, DIRECTIVE_END,
					DIRECTIVE_END_LEN) == 0)
				d->end = i + DIRECTIVE_END_LEN;
			return NULL;
		}
		for (name = i; i < n && (apr_isalnum(s[i]) || s[i] == '-' ||
					 s[i] == '_' || s[i] == ':');
		     i++)
			;
		name_len = i - name;
		i = skip_space(s, n, i);
		if (i >= n)
			return "unterminated X-PRE-PROCESS directive";
		if (!name_len || s[i] != '=')
			return "malformed X-PRE-PROCESS directive";
		i = skip_space(s, n, i + 1);
		if (i >= n || (s[i] != '"' && s[i] != '\''))
			return "malformed X-PRE-PROCESS directive";
		quote = s[i];
		for (value = ++i; i < n && s[i] != quote; i++)
			;
		if (i >= n)
			return "unterminated X-PRE-PROCESS directive";
		if (name_len == 3 && strncasecmp(s + name, "cmd", 3) == 0) {
			d->cmd = s + value;
			d->cmd_len = i - value;
		} else if (name_len == 4 &&
			   strncasecmp(s + name, "data", 4) == 0) {
			d->data = s + value;
			d->data_len = i - value;
		}
	}
}

/*
 * Copies one line, running the directives that are outside comments.
 * Whichever of "<!--" and the directive comes first wins; each search
 * result is kept until passed, so a long line is scanned once.
 */
static apr_status_t pp_line(pp_state_t *st, pp_file_t *f, const char *s,
			    apr_size_t n, int line)
{
	apr_size_t pos = 0, seg = 0;
	const char *open = NULL, *dir = NULL, *close, *why;
	int searched = 0;
	pp_directive_t d;
	apr_status_t rv;

	out_begin(st, f, line);
	while (pos < n) {
		if (f->in_comment) {
			close = memmem(s + pos, n - pos, "-->", 3);
			pos = close ? (apr_size_t)(close - s) + 3 : n;
			f->in_comment = !close;
			continue;
		}
		if (!searched || (open && open < s + pos))
			open = memmem(s + pos, n - pos, "<!--", 4);
		if (!searched || (dir && dir < s + pos))
			dir = find_directive(s + pos, n - pos);
		searched = 1;
		if (open && (!dir || open < dir)) {
			pos = (apr_size_t)(open - s) + 4;
			f->in_comment = 1;
			continue;
		}
		if (!dir)
			break;
		rv = sb_vars_expand_to(st->vars, s + seg, (dir - s) - seg,
				       out_write, st, st->tmp, NULL);
		if (rv != APR_SUCCESS)
			return rv;
		why = parse_directive(s, n, (apr_size_t)(dir - s), &d);
		if (why)
			return pp_fail(st, SB_ECONFIG, f->name, line, "%s",
				       why);
		rv = run_directive(st, f, line, &d);
		if (rv != APR_SUCCESS)
			return rv;
		pos = seg = d.end;
	}
	rv = sb_vars_expand_to(st->vars, s + seg, n - seg, out_write, st,
			       st->tmp, NULL);
	return rv == APR_SUCCESS ? out_end(st) : rv;
}

static apr_size_t skip_space_comments(const char *s, apr_size_t n, apr_size_t i)
{
	const char *end;

	for (;;) {
		i = skip_space(s, n, i);
		if (n - i < 4 || memcmp(s + i, "<!--", 4) != 0)
			return i;
		end = memmem(s + i + 4, n - i - 4, "-->", 3);
		if (!end)
			return i;
		i = (apr_size_t)(end - s) + 3;
	}
}

/* Blanks [at, at+n) keeping newlines, so line numbers do not move. */
static int blank_out(pp_file_t *f, apr_size_t at, apr_size_t n)
{
	apr_size_t i;
	int line = 1;

	for (i = 0; i < at; i++)
		line += f->text[i] == '\n';
	for (i = at; i < at + n; i++)
		if (f->text[i] != '\n')
			f->text[i] = ' ';
	return line;
}

/*
 * FreeSWITCH wraps included files in <include>...</include> and may start
 * them with an XML declaration; neither may reach the middle of the tree.
 */
static void strip_wrapper(pp_file_t *f)
{
	const char *s = f->text, *e, *c, *last = NULL;
	apr_size_t n = f->len, i = 0, open;

	if (n >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0)
		blank_out(f, 0, 3);
	i = skip_space(s, n, 0);
	if (n - i >= 6 && memcmp(s + i, "<?xml", 5) == 0 &&
	    (apr_isspace(s[i + 5]) || s[i + 5] == '?') &&
	    (e = memmem(s + i, n - i, "?>", 2)))
		f->drop[0] = blank_out(f, i, (apr_size_t)(e - s) + 2 - i);
	open = skip_space_comments(s, n, 0);
	if (n - open < 9 || memcmp(s + open, "<include", 8) != 0 ||
	    (s[open + 8] != '>' && !apr_isspace(s[open + 8])))
		return;
	e = memchr(s + open, '>', n - open);
	if (!e)
		return;
	for (c = e; (c = memmem(c, n - (c - s), "</include>", 10)); c++)
		last = c;
	if (!last || skip_space_comments(s, n, (last - s) + 10) != n)
		return;
	f->drop[2] = blank_out(f, (apr_size_t)(last - s), 10);
	f->drop[1] = blank_out(f, open, (apr_size_t)(e - s) + 1 - open);
}

static apr_status_t pp_lines(pp_state_t *st, pp_file_t *f)
{
	const char *p = f->text, *end = f->text + f->len, *nl;
	apr_status_t rv = APR_SUCCESS;
	apr_size_t n;
	int line = 0;

	while (rv == APR_SUCCESS && p < end) {
		nl = memchr(p, '\n', end - p);
		n = nl ? (apr_size_t)(nl - p) : (apr_size_t)(end - p);
		line++;
		if (!((line == f->drop[0] || line == f->drop[1] ||
		       line == f->drop[2]) &&
		      is_blank(p, n)))
			rv = pp_line(st, f, p, n, line);
		p += n + (nl != NULL);
	}
	return rv;
}

static apr_status_t read_whole(const char *path, apr_pool_t *pool, char **text,
			       apr_size_t *len, const char **why)
{
	apr_file_t *fd;
	apr_finfo_t fi;
	apr_size_t got = 0;
	apr_status_t rv;
	char *buf;

	*why = NULL;
	rv = apr_file_open(&fd, path, APR_FOPEN_READ | APR_FOPEN_BINARY, 0,
			   pool);
	if (rv != APR_SUCCESS)
		return rv;
	rv = apr_file_info_get(&fi, APR_FINFO_SIZE | APR_FINFO_TYPE, fd);
	if (rv == APR_SUCCESS && fi.filetype != APR_REG) {
		*why = "not a regular file";
		rv = SB_ECONFIG;
	} else if (rv == APR_SUCCESS &&
		   (apr_uint64_t)fi.size > SB_PREPROCESS_MAX_OUTPUT) {
		*why = "file is over the size limit";
		rv = SB_ETOOBIG;
	}
	if (rv == APR_SUCCESS) {
		buf = apr_palloc(pool, (apr_size_t)fi.size + 1);
		rv = apr_file_read_full(fd, buf, (apr_size_t)fi.size, &got);
		/* A file that shrank since the stat is read as it is now. */
		if (rv == APR_EOF)
			rv = APR_SUCCESS;
		buf[got] = '\0';
	}
	apr_file_close(fd);
	if (rv == APR_SUCCESS) {
		*text = buf;
		*len = got;
	}
	return rv;
}

static apr_status_t pp_file(pp_state_t *st, const char *real, int depth,
			    const pp_file_t *from, int from_line,
			    const char *label)
{
	const char *why, *at = from ? from->name : label;
	pp_file_t f = {0};
	apr_pool_t *fp;
	apr_status_t rv;
	char buf[120];
	int i;

	if (depth > SB_PREPROCESS_MAX_DEPTH)
		return pp_fail(st, SB_ELIMIT, at, from_line,
			       "include \"%s\": nested deeper than %d", label,
			       SB_PREPROCESS_MAX_DEPTH);
	for (i = 0; i < st->chain->nelts; i++)
		if (strcmp(APR_ARRAY_IDX(st->chain, i, const char *), real) ==
		    0)
			return pp_fail(st, SB_ECONFIG, at, from_line,
				       "include loop: %s", real);
	rv = apr_pool_create(&fp, st->tmp);
	if (rv != APR_SUCCESS)
		return rv;
	rv = read_whole(real, fp, &f.text, &f.len, &why);
	if (rv != APR_SUCCESS) {
		apr_pool_destroy(fp);
		return pp_fail(st, rv, at, from_line, "%s \"%s\": %s",
			       from ? "include" : "cannot read", label,
			       why ? why : apr_strerror(rv, buf, sizeof(buf)));
	}
	f.name = apr_pstrdup(st->pool, real);
	f.depth = depth;
	if (depth > 0)
		strip_wrapper(&f);
	APR_ARRAY_PUSH(st->chain, const char *) = f.name;
	rv = pp_lines(st, &f);
	st->chain->nelts--;
	apr_pool_destroy(fp);
	return rv;
}

apr_status_t sb_preprocess_file(const char *path, sb_vars_t *vars,
				apr_pool_t *pool, char **text, apr_size_t *len,
				sb_linemap_t **map, sb_config_error_t *err)
{
	pp_state_t st = {0};
	apr_status_t rv;
	char *real, buf[120];

	rv = apr_pool_create(&st.tmp, pool);
	if (rv != APR_SUCCESS)
		return rv;
	st.pool = pool;
	st.vars = vars;
	st.err = err;
	st.out = apr_pcalloc(pool, sizeof(*st.out));
	apr_pool_cleanup_register(pool, st.out, buf_free,
				  apr_pool_cleanup_null);
	st.map = apr_pcalloc(pool, sizeof(*st.map));
	st.map->runs = apr_array_make(pool, 16, sizeof(linemap_run_t));
	st.chain = apr_array_make(st.tmp, 8, sizeof(const char *));
	real = realpath(path, NULL);
	if (!real) {
		rv = APR_FROM_OS_ERROR(errno);
		pp_fail(&st, rv, path, 0, "cannot read \"%s\": %s", path,
			apr_strerror(rv, buf, sizeof(buf)));
	} else {
		st.map->root = apr_pstrdup(pool, real);
		st.file = st.map->root;
		rv = pp_file(&st, real, 0, NULL, 0, path);
		free(real);
	}
	/* Also gives an empty file a buffer to terminate. */
	if (rv == APR_SUCCESS)
		rv = out_write(&st, "", 0);
	apr_pool_destroy(st.tmp);
	if (rv != APR_SUCCESS) {
		apr_pool_cleanup_run(pool, st.out, buf_free);
		return rv;
	}
	st.out->buf[st.out->len] = '\0';
	*text = st.out->buf;
	*len = st.out->len;
	*map = st.map;
	return APR_SUCCESS;
}

void sb_linemap_lookup(const sb_linemap_t *map, int out_line, const char **file,
		       int *line)
{
	const linemap_run_t *runs, *r;
	int lo = 0, hi, mid;

	if (!map || !map->runs->nelts) {
		*file = map && map->root ? map->root : "(unknown)";
		*line = 0;
		return;
	}
	/* The parser may point one past the end ("premature end"). */
	if (out_line > map->lines)
		out_line = map->lines;
	if (out_line < 1)
		out_line = 1;
	runs = (const linemap_run_t *)map->runs->elts;
	hi = map->runs->nelts - 1;
	while (lo < hi) {
		mid = lo + (hi - lo + 1) / 2;
		if (runs[mid].out_start <= out_line)
			lo = mid;
		else
			hi = mid - 1;
	}
	r = &runs[lo];
	*file = r->file;
	*line = r->in_start + (out_line - r->out_start);
}

apr_status_t sb_linemap_copy(sb_linemap_t **out, const sb_linemap_t *map,
			     apr_pool_t *pool)
{
	sb_linemap_t *copy = apr_pcalloc(pool, sizeof(*copy));
	const char *last_src = NULL, *last_dst = NULL;
	int i;

	copy->root = apr_pstrdup(pool, map->root);
	copy->lines = map->lines;
	copy->runs = apr_array_copy(pool, map->runs);
	for (i = 0; i < copy->runs->nelts; i++) {
		linemap_run_t *r = &APR_ARRAY_IDX(copy->runs, i, linemap_run_t);

		/* Runs of one file are mostly adjacent: share their name. */
		if (r->file != last_src) {
			last_src = r->file;
			last_dst = apr_pstrdup(pool, r->file);
		}
		r->file = last_dst;
	}
	*out = copy;
	return APR_SUCCESS;
}
