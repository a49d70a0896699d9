/* msg_rate.c — a token bucket per TCP/TLS connection, a table per worker. */
#include <stdlib.h>
#include <apr_hash.h>
#include "msg_rate.h"
#include "rate_bucket.h"

typedef struct flow_rate {
	apr_uint64_t flow_id; /* the hash key */
	rate_bucket_t bucket;
	apr_time_t over_since; /* this episode over the rate began */
	apr_time_t last_over;  /* 0: never over */
} flow_rate_t;

struct msg_rate_table {
	apr_hash_t *flows; /* flow id -> flow_rate_t (malloc) */
};

apr_status_t msg_rate_table_create(msg_rate_table_t **out, apr_pool_t *pool)
{
	msg_rate_table_t *t = apr_pcalloc(pool, sizeof(*t));

	t->flows = apr_hash_make(pool);
	*out = t;
	return APR_SUCCESS;
}

void msg_rate_table_destroy(msg_rate_table_t *t)
{
	apr_hash_index_t *hi;

	if (!t)
		return;
	for (hi = apr_hash_first(NULL, t->flows); hi; hi = apr_hash_next(hi)) {
		flow_rate_t *f = apr_hash_this_val(hi);

		apr_hash_set(t->flows, &f->flow_id, sizeof(f->flow_id), NULL);
		free(f);
	}
}

msg_rate_e msg_rate_check(msg_rate_table_t *t, const sips_settings_t *s,
			  apr_uint64_t flow_id, apr_time_t now)
{
	flow_rate_t *f;

	if (!s->max_msg_rate || !t)
		return MSG_RATE_PASS;
	f = apr_hash_get(t->flows, &flow_id, sizeof(flow_id));
	if (!f) {
		/* Made on the first message: an idle connection costs none. */
		f = calloc(1, sizeof(*f));
		if (!f)
			return MSG_RATE_PASS;
		f->flow_id = flow_id;
		apr_hash_set(t->flows, &f->flow_id, sizeof(f->flow_id), f);
	}
	if (rate_bucket_take(&f->bucket, now, s->max_msg_rate,
			     s->max_msg_burst))
		return MSG_RATE_PASS;
	/* A quiet second ends an episode: bursts are forgiven, floods not. */
	if (!f->last_over || now - f->last_over > APR_USEC_PER_SEC)
		f->over_since = now;
	f->last_over = now;
	if (s->msg_rate_close &&
	    now - f->over_since >= apr_time_from_sec(s->msg_rate_close))
		return MSG_RATE_CLOSE;
	return MSG_RATE_REJECT;
}

void msg_rate_forget(msg_rate_table_t *t, apr_uint64_t flow_id)
{
	flow_rate_t *f;

	if (!t)
		return;
	f = apr_hash_get(t->flows, &flow_id, sizeof(flow_id));
	if (!f)
		return;
	apr_hash_set(t->flows, &f->flow_id, sizeof(f->flow_id), NULL);
	free(f);
}

unsigned msg_rate_count(const msg_rate_table_t *t)
{
	return t ? apr_hash_count(t->flows) : 0;
}
