/* session.c — a call leg as the core sees it: pool, variables, hangup. */
#include <string.h>
#include <strings.h>
#include <apr_allocator.h>
#include <apr_strings.h>
#include "sipsbridge/sb_log.h"
#include "session_private.h"

/* Free blocks a session's allocator keeps for reuse before it returns
 * them to malloc: one call rarely needs more. */
#define SESSION_ALLOC_MAX_FREE (64 * 1024)

/* The list the "export" application keeps (FreeSWITCH's name). */
#define SESSION_EXPORT_VARS "export_vars"

/*
 * Each session has an allocator of its own, without a mutex: the session
 * lives on one worker, while the global allocator would take its lock for
 * every block any call on any worker asks for.  The pool is still a child
 * of the global pool, linked in and out under that pool's lock.
 */
static apr_status_t session_pool_create(apr_pool_t **out)
{
	apr_allocator_t *alloc;
	apr_pool_t *pool;
	apr_status_t rv;

	rv = apr_allocator_create(&alloc);
	if (rv != APR_SUCCESS)
		return rv;
	rv = apr_pool_create_ex(&pool, NULL, NULL, alloc);
	if (rv != APR_SUCCESS) {
		apr_allocator_destroy(alloc);
		return rv;
	}
	apr_allocator_owner_set(alloc, pool);
	apr_allocator_max_free_set(alloc, SESSION_ALLOC_MAX_FREE);
	*out = pool;
	return APR_SUCCESS;
}

apr_status_t sb_session_create(sb_session_t **out, const sb_endpoint_ops_t *ops,
			       void *leg, sb_worker_t *worker)
{
	apr_pool_t *pool;
	sb_session_t *s;
	apr_uuid_t uuid;
	apr_status_t rv;

	if (!out)
		return APR_EINVAL;
	rv = session_pool_create(&pool);
	if (rv != APR_SUCCESS)
		return rv;
	s = apr_pcalloc(pool, sizeof(*s));
	s->pool = pool;
	s->ops = ops;
	s->leg = leg;
	s->worker = worker;
	s->vars = apr_table_make(pool, 32);
	apr_uuid_get(&uuid);
	apr_uuid_format(s->uuid, &uuid);
	apr_table_setn(s->vars, "uuid", s->uuid);
	*out = s;
	return APR_SUCCESS;
}

/*
 * A destroy that comes while one of our frames is still on the stack
 * (an endpoint freeing its leg from inside ops->hangup, say) only stops
 * everything; the last frame to leave frees the pool.
 */
void sb_session_destroy(sb_session_t *s)
{
	if (!s)
		return;
	session_exec_halt(s);
	if (s->busy) {
		s->doomed = 1;
		return;
	}
	apr_pool_destroy(s->pool);
}

void session_enter(sb_session_t *s)
{
	s->busy++;
}

int session_leave(sb_session_t *s)
{
	if (--s->busy > 0 || !s->doomed)
		return 0;
	apr_pool_destroy(s->pool);
	return 1;
}

const char *sb_session_uuid(const sb_session_t *s)
{
	return s->uuid;
}

apr_pool_t *sb_session_pool(sb_session_t *s)
{
	return s->pool;
}

apr_table_t *sb_session_vars(sb_session_t *s)
{
	return s->vars;
}

void *sb_session_leg(const sb_session_t *s)
{
	return s->leg;
}

sb_worker_t *sb_session_worker(const sb_session_t *s)
{
	return s->worker;
}

/* An empty value unsets too, as in FreeSWITCH, where a channel variable
 * is never the empty string. */
void sb_session_set_var(sb_session_t *s, const char *name, const char *value)
{
	if (!name || !*name)
		return;
	if (value && *value)
		apr_table_set(s->vars, name, value);
	else
		apr_table_unset(s->vars, name);
}

const char *sb_session_get_var(const sb_session_t *s, const char *name)
{
	return name ? apr_table_get(s->vars, name) : NULL;
}

/* "nolocal:name" (and FreeSWITCH's older "_nolocal_name") is kept under
 * that name on this leg, so ${name} does not see it, and exported as
 * plain "name". */
static const char *session_export_name(const char *name)
{
	if (strncasecmp(name, "nolocal:", 8) == 0)
		return name + 8;
	if (strncasecmp(name, "_nolocal_", 9) == 0)
		return name + 9;
	return name;
}

/* One name of a comma separated list, spaces around it dropped. */
static const char *session_list_next(const char *p, const char **name,
				     apr_size_t *len)
{
	const char *end;

	while (*p == ' ' || *p == '\t' || *p == ',')
		p++;
	end = p;
	while (*end && *end != ',')
		end++;
	*name = p;
	*len = (apr_size_t)(end - p);
	while (*len && (p[*len - 1] == ' ' || p[*len - 1] == '\t'))
		(*len)--;
	return end;
}

void sb_session_export_vars(const sb_session_t *from, sb_session_t *to)
{
	const char *list, *p, *name, *value;
	apr_size_t len;
	char *key;

	if (!from || !to)
		return;
	list = apr_table_get(from->vars, SESSION_EXPORT_VARS);
	if (!list || !*list)
		return;
	for (p = list; *p;) {
		p = session_list_next(p, &name, &len);
		if (!len)
			continue;
		key = apr_pstrmemdup(to->pool, name, len);
		value = apr_table_get(from->vars, key);
		if (value)
			sb_session_set_var(to, session_export_name(key), value);
	}
	/* The list goes along, so the B leg exports the same to its own
	 * B legs (FreeSWITCH's switch_channel_process_export). */
	sb_session_set_var(to, SESSION_EXPORT_VARS, list);
}

void sb_session_hangup(sb_session_t *s, int cause)
{
	const char *name;

	if (!s || s->hungup)
		return;
	if (cause <= 0)
		cause = SB_CAUSE_NORMAL_CLEARING;
	s->hungup = 1;
	s->cause = cause;
	name = sb_cause_name(cause);
	apr_table_set(s->vars, "hangup_cause", name);
	apr_table_set(s->vars, "hangup_cause_q850", apr_itoa(s->pool, cause));
	SB_LOG(SB_LOG_INFO, "SB03003", "session %s: hangup %s (%d)", s->uuid,
	       name, cause);
	session_exec_halt(s);
	/* A leg being destroyed has already gone as far as it will. */
	if (s->doomed || !s->ops || !s->ops->hangup)
		return;
	session_enter(s);
	s->ops->hangup(s, cause);
	session_leave(s);
}

int sb_session_hangup_cause(const sb_session_t *s)
{
	return s->cause;
}

int sb_session_hungup(const sb_session_t *s)
{
	return s->hungup;
}

void sb_session_mark_answered(sb_session_t *s)
{
	s->answered = 1;
}

int sb_session_answered(const sb_session_t *s)
{
	return s->answered;
}
