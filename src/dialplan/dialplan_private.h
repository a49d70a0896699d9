/* dialplan_private.h — the loaded dialplan, shared by load and hunt. */
#ifndef SB_DIALPLAN_PRIVATE_H
#define SB_DIALPLAN_PRIVATE_H

#include <apr_hash.h>
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include "sipsbridge/sb_dialplan.h"

/** $0..$9: the captures action data can name. */
#define DP_MAX_CAPS 10

/** When a condition ends its extension (FreeSWITCH's break=). */
typedef enum {
	DP_BREAK_ON_FALSE, /**< the default */
	DP_BREAK_ON_TRUE,
	DP_BREAK_ALWAYS,
	DP_BREAK_NEVER
} dp_break_e;

/** How a condition's <regex> children combine (regex=). */
typedef enum {
	DP_REGEX_NONE, /**< a single field/expression on the condition */
	DP_REGEX_ALL,
	DP_REGEX_ANY,
	DP_REGEX_XOR
} dp_regex_e;

/** One "field =~ expression" test. */
typedef struct dp_test {
	const char *field; /**< NULL: the condition is always true */
	int field_expand;  /**< field holds '$': expand it, else a var name */
	const char *expression;
	/** Compiled at load; NULL when the expression holds "${" and is
	 * compiled at hunt time after expansion, as FreeSWITCH does. */
	pcre2_code *code;
	const char *file;
	int line;
} dp_test_t;

typedef struct dp_action {
	const char *app;
	const char *data;
	int inline_set; /**< inline="true" set: applied during the hunt */
	const char *file;
	int line;
} dp_action_t;

typedef struct dp_condition {
	dp_test_t test; /**< when regex is DP_REGEX_NONE */
	dp_regex_e regex;
	apr_array_header_t *tests; /**< dp_test_t, the <regex> children */
	dp_break_e brk;
	apr_array_header_t *actions; /**< dp_action_t */
	apr_array_header_t *anti;    /**< dp_action_t */
} dp_condition_t;

typedef struct dp_extension {
	const char *name;
	int cont;			/**< continue="true" */
	apr_array_header_t *conditions; /**< dp_condition_t */
} dp_extension_t;

typedef struct dp_context {
	const char *name;
	apr_array_header_t *extensions; /**< dp_extension_t * in file order */
} dp_context_t;

struct sb_dialplan {
	apr_pool_t *pool;
	apr_hash_t *contexts; /**< name -> dp_context_t * */
	unsigned n_contexts;
	unsigned n_extensions;
};

/**
 * Compiles @p expression ("pattern" or FreeSWITCH's "/pattern/imsx")
 * and registers pcre2_code_free on @p pool.  On failure @p why (of
 * @p why_len bytes) holds PCRE2's message and the offset.
 */
apr_status_t dp_regex_compile(const char *expression, apr_pool_t *pool,
			      pcre2_code **code, char *why, apr_size_t why_len);

#endif
