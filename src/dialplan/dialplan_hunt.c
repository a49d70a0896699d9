/* dialplan_hunt.c — a context's conditions run over a call's variables. */
#include <string.h>
#include <apr_lib.h>
#include <apr_strings.h>
#include "sipsbridge/sb_expand.h"
#include "dialplan_private.h"

/*
 * The rules are FreeSWITCH's (mod_dialplan_xml), because dialplans are
 * copied from there:
 *
 * - Extensions run in file order.  Each condition of an extension is
 *   tested in order; a true one adds its actions to the result at once, a
 *   false one its anti-actions.  What was added stays added, even when a
 *   later condition of the same extension fails: FreeSWITCH fills one
 *   list as it goes, and "set in the first condition, bridge in the
 *   second" dialplans rely on it.
 * - break= decides whether the next condition is looked at: on-false (the
 *   default) stops after a false condition, on-true after a true one,
 *   always after any, never after none.
 * - An extension has matched when the last condition looked at was true,
 *   or was false but had anti-actions.  A matched extension ends the hunt
 *   unless it says continue="true".
 * - regex="all|any|xor": all stops at the first failing <regex>, any at
 *   the first passing one, xor tests every one and is true when exactly
 *   one passed.  The captures are those of the last <regex> tested whose
 *   pattern has groups.  (FreeSWITCH makes the extension's result the
 *   last <regex>'s result rather than the condition's; we use the
 *   condition's, which only differs for xor.)
 * - $0..$9 in action data take the captures of the action's condition
 *   when its pattern has groups ("$1" stays as written otherwise, and
 *   "\$" is left for sb_expand to turn into "$").  Anti-actions get no
 *   substitution: nothing matched.
 * - inline="true" set actions are applied to the variables as they are
 *   collected, so later conditions see them; they are not returned.
 * - The hunt found nothing (SB_ENOTFOUND) when it collected no action,
 *   which is FreeSWITCH's "no route" too.
 *
 * The returned actions are copied into the hunt's pool: a call keeps
 * running its actions after a reload has freed the dialplan they came
 * from.
 */

typedef struct {
	apr_pool_t *pool;
	apr_table_t *vars;
	pcre2_match_data *md;
	apr_array_header_t *actions; /* sb_dp_action_t */
} dp_hunt_t;

/* The captures an action's data can name; n == 0: leave "$N" alone. */
typedef struct {
	int n;
	const char *v[DP_MAX_CAPS];
} dp_caps_t;

static apr_status_t dp_field_value(dp_hunt_t *h, const dp_test_t *t,
				   const char **value)
{
	if (t->field_expand)
		return sb_expand(h->vars, t->field, h->pool, value);
	*value = apr_table_get(h->vars, t->field);
	if (!*value)
		*value = "";
	return APR_SUCCESS;
}

static apr_status_t dp_test_code(dp_hunt_t *h, const dp_test_t *t,
				 const pcre2_code **code)
{
	const char *expr;
	pcre2_code *c;
	char why[256];
	apr_status_t rv;

	if (t->code) {
		*code = t->code;
		return APR_SUCCESS;
	}
	rv = sb_expand(h->vars, t->expression, h->pool, &expr);
	if (rv != APR_SUCCESS)
		return rv;
	if (dp_regex_compile(expr, h->pool, &c, why, sizeof(why)) !=
	    APR_SUCCESS)
		return SB_EMALFORMED;
	*code = c;
	return APR_SUCCESS;
}

/* Runs one test; @p caps is rewritten only when its pattern has groups. */
static apr_status_t dp_test_run(dp_hunt_t *h, const dp_test_t *t, int *matched,
				dp_caps_t *caps)
{
	const pcre2_code *code;
	const PCRE2_SIZE *ov;
	const char *value;
	uint32_t groups = 0;
	int rc, i, pairs;
	apr_status_t rv;

	rv = dp_field_value(h, t, &value);
	if (rv == APR_SUCCESS)
		rv = dp_test_code(h, t, &code);
	if (rv != APR_SUCCESS)
		return rv;
	rc = pcre2_match(code, (PCRE2_SPTR)value, strlen(value), 0, 0, h->md,
			 NULL);
	if (rc < 0 && rc != PCRE2_ERROR_NOMATCH)
		return SB_ELIMIT; /* match or depth limit, not a mismatch */
	*matched = rc >= 0;
	pcre2_pattern_info(code, PCRE2_INFO_CAPTURECOUNT, &groups);
	if (groups == 0)
		return APR_SUCCESS;
	caps->n = groups + 1 < DP_MAX_CAPS ? (int)groups + 1 : DP_MAX_CAPS;
	/* rc == 0: more groups than the ovector holds, all of it is set. */
	pairs = rc > 0 ? rc : rc == 0 ? DP_MAX_CAPS : 0;
	ov = pcre2_get_ovector_pointer(h->md);
	for (i = 0; i < caps->n; i++) {
		if (i < pairs && ov[2 * i] != PCRE2_UNSET &&
		    ov[2 * i + 1] >= ov[2 * i])
			caps->v[i] = apr_pstrmemdup(h->pool, value + ov[2 * i],
						    ov[2 * i + 1] - ov[2 * i]);
		else
			caps->v[i] = "";
	}
	return APR_SUCCESS;
}

static apr_status_t dp_condition_test(dp_hunt_t *h, const dp_condition_t *c,
				      int *truth, dp_caps_t *caps)
{
	const dp_test_t *t;
	int i, m = 0, pass = 0, fail = 0;
	apr_status_t rv;

	caps->n = 0;
	if (c->regex == DP_REGEX_NONE) {
		*truth = 1;
		return c->test.field ? dp_test_run(h, &c->test, truth, caps)
				     : APR_SUCCESS;
	}
	for (i = 0; i < c->tests->nelts; i++) {
		t = &APR_ARRAY_IDX(c->tests, i, dp_test_t);
		rv = dp_test_run(h, t, &m, caps);
		if (rv != APR_SUCCESS)
			return rv;
		if (m)
			pass++;
		else
			fail++;
		if ((c->regex == DP_REGEX_ANY && m) ||
		    (c->regex == DP_REGEX_ALL && !m))
			break;
	}
	if (c->regex == DP_REGEX_ALL)
		*truth = fail == 0;
	else if (c->regex == DP_REGEX_ANY)
		*truth = pass > 0;
	else
		*truth = pass == 1;
	return APR_SUCCESS;
}

/* Writes the substituted text into @p out, or only measures it. */
static apr_size_t dp_substitute_into(const char *data, const dp_caps_t *caps,
				     char *out)
{
	apr_size_t len = 0, n;
	const char *p;
	int k;

	for (p = data; *p; p++) {
		if (*p == '\\' && p[1] == '$') {
			if (out)
				memcpy(out + len, p, 2);
			len += 2;
			p++;
		} else if (*p == '$' && apr_isdigit(p[1])) {
			k = *++p - '0';
			n = k < caps->n ? strlen(caps->v[k]) : 0;
			if (out && n)
				memcpy(out + len, caps->v[k], n);
			len += n;
		} else {
			if (out)
				out[len] = *p;
			len++;
		}
	}
	return len;
}

static const char *dp_substitute(dp_hunt_t *h, const char *data,
				 const dp_caps_t *caps)
{
	apr_size_t len;
	char *out;

	if (caps->n == 0 || !strchr(data, '$'))
		return apr_pstrdup(h->pool, data);
	len = dp_substitute_into(data, caps, NULL);
	out = apr_palloc(h->pool, len + 1);
	dp_substitute_into(data, caps, out);
	out[len] = '\0';
	return out;
}

/* FreeSWITCH's set: "name=value", an empty value unsets the name. */
static apr_status_t dp_inline_set(dp_hunt_t *h, const char *data)
{
	const char *expanded, *eq;
	char *name;
	apr_status_t rv;

	rv = sb_expand(h->vars, data, h->pool, &expanded);
	if (rv != APR_SUCCESS)
		return rv;
	eq = strchr(expanded, '=');
	name =
	    eq ? apr_pstrmemdup(h->pool, expanded, (apr_size_t)(eq - expanded))
	       : apr_pstrdup(h->pool, expanded);
	if (!*name)
		return SB_EMALFORMED;
	if (eq && eq[1])
		apr_table_set(h->vars, name, eq + 1);
	else
		apr_table_unset(h->vars, name);
	return APR_SUCCESS;
}

static apr_status_t dp_collect(dp_hunt_t *h, const dp_extension_t *ext,
			       const apr_array_header_t *acts,
			       const dp_caps_t *caps)
{
	const dp_action_t *a;
	sb_dp_action_t *out;
	const char *data;
	apr_status_t rv;
	int i;

	for (i = 0; i < acts->nelts; i++) {
		a = &APR_ARRAY_IDX(acts, i, dp_action_t);
		data = dp_substitute(h, a->data, caps);
		if (a->inline_set) {
			rv = dp_inline_set(h, data);
			if (rv != APR_SUCCESS)
				return rv;
			continue;
		}
		out = apr_array_push(h->actions);
		out->app = apr_pstrdup(h->pool, a->app);
		out->data = data;
		out->extension = apr_pstrdup(h->pool, ext->name);
		out->file = apr_pstrdup(h->pool, a->file);
		out->line = a->line;
	}
	return APR_SUCCESS;
}

static apr_status_t dp_extension_run(dp_hunt_t *h, const dp_extension_t *ext,
				     int *matched)
{
	const dp_condition_t *c;
	dp_caps_t caps;
	int i, truth = 0, proceed = 0;
	apr_status_t rv;

	for (i = 0; i < ext->conditions->nelts; i++) {
		c = &APR_ARRAY_IDX(ext->conditions, i, dp_condition_t);
		rv = dp_condition_test(h, c, &truth, &caps);
		if (rv != APR_SUCCESS)
			return rv;
		if (truth) {
			rv = dp_collect(h, ext, c->actions, &caps);
			proceed = 1;
		} else {
			caps.n = 0;
			rv = dp_collect(h, ext, c->anti, &caps);
			proceed = c->anti->nelts > 0;
		}
		if (rv != APR_SUCCESS)
			return rv;
		if (c->brk == DP_BREAK_ALWAYS ||
		    (truth && c->brk == DP_BREAK_ON_TRUE) ||
		    (!truth && c->brk == DP_BREAK_ON_FALSE))
			break;
	}
	*matched = proceed;
	return APR_SUCCESS;
}

apr_status_t sb_dialplan_hunt(const sb_dialplan_t *dp, const char *context,
			      apr_table_t *vars, apr_pool_t *pool,
			      apr_array_header_t **actions)
{
	const dp_context_t *ctx;
	const dp_extension_t *ext;
	dp_hunt_t h;
	int i, matched;
	apr_status_t rv = APR_SUCCESS;

	if (!dp || !vars)
		return APR_EINVAL;
	ctx = context ? apr_hash_get(dp->contexts, context, APR_HASH_KEY_STRING)
		      : NULL;
	if (!ctx)
		return SB_ENOTFOUND;
	h.pool = pool;
	h.vars = vars;
	h.actions = apr_array_make(pool, 8, sizeof(sb_dp_action_t));
	h.md = pcre2_match_data_create(DP_MAX_CAPS, NULL);
	if (!h.md)
		return APR_ENOMEM;
	for (i = 0; i < ctx->extensions->nelts; i++) {
		ext = APR_ARRAY_IDX(ctx->extensions, i, dp_extension_t *);
		matched = 0;
		rv = dp_extension_run(&h, ext, &matched);
		if (rv != APR_SUCCESS)
			goto done;
		if (matched && !ext->cont)
			break;
	}
	if (h.actions->nelts == 0) {
		rv = SB_ENOTFOUND;
		goto done;
	}
	*actions = h.actions;
done:
	pcre2_match_data_free(h.md);
	return rv;
}
