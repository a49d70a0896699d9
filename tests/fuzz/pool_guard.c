/* pool_guard.c — pool allocations as single mallocs, so ASan sees them. */
#include <stdlib.h>
#include <string.h>
#include <apr_pools.h>
#include <apr_strings.h>

/*
 * Linked with -Wl,--wrap=apr_palloc,--wrap=apr_pstrdup,
 * --wrap=apr_pstrmemdup,--wrap=apr_pstrndup,--wrap=apr_pmemdup (the
 * flags are in tests/fuzz/run). An APR pool carves allocations out of
 * 8 KB blocks, so a read past the end of a parser's pool copy lands in
 * the next allocation and ASan says nothing. Here each allocation the
 * code under test asks for directly is a malloc of its exact size, kept
 * on a list in the pool's user data and freed by one cleanup: the one
 * registered at the pool's first allocation, so the pool's other
 * cleanups (registered later, run first) still see their memory, as
 * with APR's own blocks. What libapr allocates for itself
 * (apr_psprintf, apr_pstrcat, arrays) stays in the pool's blocks.
 */

#define KEY "fuzz.pool_guard"

typedef struct guard_node {
	struct guard_node *next;
	void *mem;
} guard_node_t;

typedef struct {
	guard_node_t *head;
} guard_list_t;

void *__real_apr_palloc(apr_pool_t *p, apr_size_t size);
void *__wrap_apr_palloc(apr_pool_t *p, apr_size_t size);

static apr_status_t free_all(void *data)
{
	guard_list_t *list = data;
	guard_node_t *n;

	while ((n = list->head) != NULL) {
		list->head = n->next;
		free(n->mem);
		free(n);
	}
	return APR_SUCCESS;
}

/* The pool's list; made, with its cleanup, on the first allocation. */
static guard_list_t *list_of(apr_pool_t *p)
{
	void *data = NULL;
	guard_list_t *list;

	apr_pool_userdata_get(&data, KEY, p);
	if (data != NULL)
		return data;
	list = __real_apr_palloc(p, sizeof(*list));
	list->head = NULL;
	apr_pool_cleanup_register(p, list, free_all, apr_pool_cleanup_null);
	/* User data goes on apr_pool_clear, with the list's cleanup run. */
	apr_pool_userdata_setn(list, KEY, NULL, p);
	return list;
}

void *__wrap_apr_palloc(apr_pool_t *p, apr_size_t size)
{
	guard_list_t *list = list_of(p);
	guard_node_t *n = malloc(sizeof(*n));
	void *mem = malloc(size ? size : 1);

	if (n == NULL || mem == NULL)
		abort();
	n->mem = mem;
	n->next = list->head;
	list->head = n;
	return mem;
}

void *__wrap_apr_pmemdup(apr_pool_t *p, const void *m, apr_size_t n)
{
	void *out;

	if (m == NULL)
		return NULL;
	out = __wrap_apr_palloc(p, n);
	memcpy(out, m, n);
	return out;
}

char *__wrap_apr_pstrmemdup(apr_pool_t *p, const char *s, apr_size_t n)
{
	char *out;

	if (s == NULL)
		return NULL;
	out = __wrap_apr_palloc(p, n + 1);
	memcpy(out, s, n);
	out[n] = '\0';
	return out;
}

char *__wrap_apr_pstrndup(apr_pool_t *p, const char *s, apr_size_t n)
{
	return s == NULL ? NULL : __wrap_apr_pstrmemdup(p, s, strnlen(s, n));
}

char *__wrap_apr_pstrdup(apr_pool_t *p, const char *s)
{
	return s == NULL ? NULL : __wrap_apr_pstrmemdup(p, s, strlen(s));
}
