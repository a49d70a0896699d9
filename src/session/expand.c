/* expand.c — run-time ${name} expansion and its function registry. */
#include <stdlib.h>
#include <string.h>
#include <apr_lib.h>
#include <apr_strings.h>
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include "expand_private.h"
#include "session_private.h"

typedef struct {
	sb_expand_fn fn; /* NULL once unregistered */
	void *baton;
} expand_entry_t;

static app_registry_t functions = APP_REGISTRY_INIT(sizeof(expand_entry_t));

apr_status_t sb_expand_function_register(const char *name, sb_expand_fn fn,
					 void *baton)
{
	expand_entry_t e = {fn, baton};

	if (!name || !*name || !fn)
		return APR_EINVAL;
	return app_registry_put(&functions, name, &e);
}

void sb_expand_function_unregister(const char *name)
{
	if (name)
		app_registry_blank(&functions, name);
}

void sb_expand_shutdown(void)
{
	app_registry_clear(&functions);
}

/* A copy of the entry, so the function runs without the lock held. */
static int registry_find(const char *name, apr_size_t len, expand_entry_t *out)
{
	return app_registry_get(&functions, name, (apr_ssize_t)len, out) &&
	       out->fn;
}

/*
 * Results grow in a malloc'd buffer and only the final text is copied
 * into the caller's pool: nested expansions would otherwise leave every
 * intermediate copy in a session pool for the whole call.
 */
typedef struct {
	char *p;
	apr_size_t len;
	apr_size_t cap;
} xbuf_t;

static apr_status_t xbuf_put(xbuf_t *b, const char *s, apr_size_t n)
{
	apr_size_t cap;
	char *np;

	if (n == 0)
		return APR_SUCCESS;
	if (n > SB_EXPAND_MAX_LEN - b->len)
		return SB_EMALFORMED;
	if (b->len + n + 1 > b->cap) {
		cap = b->cap ? b->cap : 64;
		while (cap < b->len + n + 1)
			cap *= 2;
		np = realloc(b->p, cap);
		if (!np)
			return APR_ENOMEM;
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
	return APR_SUCCESS;
}

typedef struct {
	const apr_table_t *vars;
	apr_pool_t *pool;
} expand_ctx_t;

/* Index of the '}' closing the '{' at s[open], or n when it is unclosed. */
static apr_size_t close_brace(const char *s, apr_size_t n, apr_size_t open)
{
	apr_size_t i;
	int depth = 0;

	for (i = open; i < n; i++) {
		if (s[i] == '{')
			depth++;
		else if (s[i] == '}' && --depth == 0)
			return i;
	}
	return n;
}

static apr_status_t expand_span(const expand_ctx_t *cx, const char *s,
				apr_size_t n, int depth, xbuf_t *out);

static apr_status_t expand_call(const expand_ctx_t *cx, const char *name,
				apr_size_t name_len, const char *a,
				apr_size_t a_len, int depth, xbuf_t *out)
{
	expand_entry_t fe;
	xbuf_t arg = {0};
	const char *result = NULL;
	apr_status_t rv;

	if (!registry_find(name, name_len, &fe))
		return SB_EMALFORMED;
	rv = expand_span(cx, a, a_len, depth, &arg);
	if (rv == APR_SUCCESS) {
		rv = fe.fn(fe.baton, arg.p ? arg.p : "", cx->vars, cx->pool,
			   &result);
		if (rv != APR_SUCCESS)
			rv = SB_EMALFORMED;
	}
	/* Before the argument goes: a function may return it as is. */
	if (rv == APR_SUCCESS && result)
		rv = xbuf_put(out, result, strlen(result));
	free(arg.p);
	return rv;
}

/* The text between "${" and "}": a function call or a variable name. */
static apr_status_t expand_ref(const expand_ctx_t *cx, const char *s,
			       apr_size_t n, int depth, xbuf_t *out)
{
	const char *paren = memchr(s, '(', n), *value;
	xbuf_t name = {0};
	apr_status_t rv;

	if (paren && paren > s && s[n - 1] == ')' &&
	    !memchr(s, '$', (apr_size_t)(paren - s)))
		return expand_call(cx, s, (apr_size_t)(paren - s), paren + 1,
				   n - (apr_size_t)(paren - s) - 2, depth, out);
	/* ${${which}} names the variable by another one. */
	if (memchr(s, '$', n))
		rv = expand_span(cx, s, n, depth, &name);
	else
		rv = xbuf_put(&name, s, n);
	if (rv == APR_SUCCESS) {
		value = cx->vars ? apr_table_get(cx->vars, name.p ? name.p : "")
				 : NULL;
		if (value)
			rv = xbuf_put(out, value, strlen(value));
	}
	free(name.p);
	return rv;
}

static apr_status_t expand_span(const expand_ctx_t *cx, const char *s,
				apr_size_t n, int depth, xbuf_t *out)
{
	apr_size_t i = 0, run, end;
	apr_status_t rv;

	while (i < n) {
		for (run = i; run < n && s[run] != '$' && s[run] != '\\'; run++)
			;
		rv = xbuf_put(out, s + i, run - i);
		if (rv != APR_SUCCESS || run == n)
			return rv;
		i = run;
		if (s[i] == '\\') {
			/* "\$" is a literal "$"; other backslashes stay. */
			if (i + 1 < n && s[i + 1] == '$') {
				rv = xbuf_put(out, "$", 1);
				i += 2;
			} else {
				rv = xbuf_put(out, "\\", 1);
				i++;
			}
		} else if (i + 2 < n && s[i + 1] == '$' && s[i + 2] == '{') {
			/* $${name} belonged to the pre-processor: keep it. */
			end = close_brace(s, n, i + 2);
			end = end < n ? end + 1 : n;
			rv = xbuf_put(out, s + i, end - i);
			i = end;
		} else if (i + 1 < n && s[i + 1] == '{') {
			end = close_brace(s, n, i + 1);
			if (end == n || depth >= SB_EXPAND_MAX_DEPTH)
				return SB_EMALFORMED;
			rv = expand_ref(cx, s + i + 2, end - i - 2, depth + 1,
					out);
			i = end + 1;
		} else {
			rv = xbuf_put(out, "$", 1);
			i++;
		}
		if (rv != APR_SUCCESS)
			return rv;
	}
	return APR_SUCCESS;
}

apr_status_t sb_expand(const apr_table_t *vars, const char *in,
		       apr_pool_t *pool, const char **out)
{
	expand_ctx_t cx = {vars, pool};
	xbuf_t b = {0};
	apr_status_t rv;

	if (!in)
		in = "";
	if (!sb_expand_needed(in)) {
		if (strlen(in) > SB_EXPAND_MAX_LEN) {
			*out = in;
			return SB_EMALFORMED;
		}
		*out = apr_pstrdup(pool, in);
		return APR_SUCCESS;
	}
	rv = expand_span(&cx, in, strlen(in), 0, &b);
	if (rv == APR_SUCCESS)
		*out = b.p ? apr_pstrmemdup(pool, b.p, b.len) : "";
	else
		*out = in;
	free(b.p);
	return rv;
}

int sb_expand_needed(const char *s)
{
	apr_size_t i, n, end;

	if (!s)
		return 0;
	n = strlen(s);
	for (i = 0; i < n; i++) {
		if (s[i] == '\\' && s[i + 1] == '$')
			return 1;
		if (s[i] != '$')
			continue;
		if (s[i + 1] == '$' && s[i + 2] == '{') {
			end = close_brace(s, n, i + 2);
			if (end == n)
				return 0;
			i = end;
		} else if (s[i + 1] == '{') {
			return 1;
		}
	}
	return 0;
}

/* ---- built-in: regex ---------------------------------------------- */

#define REGEX_MAX_PAIRS 10

/* %0..%9 in @p tmpl take the captures; "%" before anything else stays. */
static apr_status_t regex_substitute(const char *tmpl, const char *subject,
				     pcre2_match_data *md, int rc,
				     apr_pool_t *pool, const char **result)
{
	const PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
	int pairs = rc > 0 ? rc : REGEX_MAX_PAIRS, k;
	const char *p;
	xbuf_t b = {0};
	apr_status_t rv = APR_SUCCESS;

	for (p = tmpl; *p && rv == APR_SUCCESS; p++) {
		if (*p != '%' || !apr_isdigit(p[1])) {
			rv = xbuf_put(&b, p, 1);
			continue;
		}
		k = *++p - '0';
		if (k < pairs && ov[2 * k] != PCRE2_UNSET)
			rv = xbuf_put(&b, subject + ov[2 * k],
				      ov[2 * k + 1] - ov[2 * k]);
	}
	if (rv == APR_SUCCESS)
		*result = b.p ? apr_pstrmemdup(pool, b.p, b.len) : "";
	free(b.p);
	return rv;
}

/*
 * FreeSWITCH's regex: "value|pattern" is "true" or "false";
 * "value|pattern|template" is the template with %N replaced by the
 * captures ("" when nothing matched).  "m:~value~pattern" picks another
 * separator, for patterns that need "|".
 */
static apr_status_t regex_fn(void *baton, const char *arg,
			     const apr_table_t *vars, apr_pool_t *pool,
			     const char **result)
{
	const char *value, *pattern, *tmpl = NULL, *sep;
	pcre2_match_data *md = NULL;
	pcre2_code *code;
	PCRE2_SIZE off;
	char delim = '|';
	int rc, errcode;
	apr_status_t rv = APR_SUCCESS;

	(void)baton;
	(void)vars;
	if (strncmp(arg, "m:", 2) == 0 && arg[2]) {
		delim = arg[2];
		arg += 3;
	}
	sep = strchr(arg, delim);
	if (!sep)
		return SB_EMALFORMED;
	value = apr_pstrmemdup(pool, arg, (apr_size_t)(sep - arg));
	pattern = sep + 1;
	sep = strchr(pattern, delim);
	if (sep) {
		tmpl = sep + 1;
		pattern =
		    apr_pstrmemdup(pool, pattern, (apr_size_t)(sep - pattern));
	}
	code = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, 0,
			     &errcode, &off, NULL);
	if (!code)
		return SB_EMALFORMED;
	md = pcre2_match_data_create(REGEX_MAX_PAIRS, NULL);
	if (!md) {
		pcre2_code_free(code);
		return APR_ENOMEM;
	}
	rc = pcre2_match(code, (PCRE2_SPTR)value, PCRE2_ZERO_TERMINATED, 0, 0,
			 md, NULL);
	if (rc < 0 && rc != PCRE2_ERROR_NOMATCH)
		rv = SB_EMALFORMED;
	else if (!tmpl)
		*result = rc >= 0 ? "true" : "false";
	else if (rc < 0)
		*result = "";
	else
		rv = regex_substitute(tmpl, value, md, rc, pool, result);
	pcre2_match_data_free(md);
	pcre2_code_free(code);
	return rv;
}

apr_status_t sb_expand_builtins_register(void)
{
	return sb_expand_function_register("regex", regex_fn, NULL);
}
