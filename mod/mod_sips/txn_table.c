/* txn_table.c — one worker's transactions: lifetime, keys and matching. */
#include <stdio.h>
#include <stdlib.h>
#include <apr_lib.h>
#include <apr_strings.h>
#include "txn_private.h"

/* Freed blocks the table's allocator keeps for the next transactions. */
#define TXN_MAX_FREE (1024 * 1024)

/*
 * The baton of the posted reap task. It is malloc'd, not in the table's
 * pool, because the task may run after the table is gone: the table then
 * clears @c table and the task only frees the token.
 */
struct txn_reap {
	txn_table_t *table;
};

void txn_timers_default(txn_timers_t *t)
{
	t->t1 = apr_time_from_msec(500);
	t->t2 = apr_time_from_sec(4);
	t->t4 = apr_time_from_sec(5);
}

static void base_stop_timers(txn_base_t *b)
{
	sb_worker_t *w = b->table->worker;

	sb_timer_stop(w, &b->retx);
	sb_timer_stop(w, &b->timeout);
	sb_timer_stop(w, &b->wait);
}

/*
 * A pre-cleanup: it runs before the transactions' sub-pools go, while
 * their embedded timers can still be taken out of the worker's heap.
 */
static apr_status_t table_cleanup(void *data)
{
	txn_table_t *t = data;
	txn_base_t *b;

	for (b = t->all; b; b = b->next)
		base_stop_timers(b);
	if (t->reap)
		t->reap->table = NULL;
	t->reap = NULL;
	t->all = t->dead = t->legacy = NULL;
	return APR_SUCCESS;
}

apr_status_t txn_table_create(txn_table_t **out, sb_worker_t *worker,
			      sip_send_fn send, apr_pool_t *pool)
{
	apr_allocator_t *al;
	apr_pool_t *p;
	txn_table_t *t;
	apr_status_t rv;

	if (!out || !worker || !send || !pool)
		return APR_EINVAL;
	/*
	 * An allocator of our own, without a mutex: transaction pools come
	 * and go at call rate and only this worker's thread touches them.
	 */
	rv = apr_allocator_create(&al);
	if (rv != APR_SUCCESS)
		return rv;
	rv = apr_pool_create_ex(&p, pool, NULL, al);
	if (rv != APR_SUCCESS) {
		apr_allocator_destroy(al);
		return rv;
	}
	apr_allocator_owner_set(al, p);
	apr_allocator_max_free_set(al, TXN_MAX_FREE);
	t = apr_pcalloc(p, sizeof(*t));
	t->pool = p;
	t->worker = worker;
	t->send = send;
	t->servers = apr_hash_make(p);
	t->merge = apr_hash_make(p);
	t->clients = apr_hash_make(p);
	apr_pool_pre_cleanup_register(p, t, table_cleanup);
	*out = t;
	return APR_SUCCESS;
}

void txn_table_destroy(txn_table_t *table)
{
	if (table)
		apr_pool_destroy(table->pool);
}

apr_size_t txn_table_count(const txn_table_t *table)
{
	return table->live;
}

apr_status_t txn_base_create(txn_table_t *table, apr_size_t size,
			     const sip_target_t *to, const txn_timers_t *timers,
			     txn_base_t **out)
{
	apr_pool_t *p;
	txn_base_t *b;
	apr_status_t rv;

	rv = apr_pool_create(&p, table->pool);
	if (rv != APR_SUCCESS)
		return rv;
	/* Zeroed: sb_timer_t nodes must start that way. */
	b = apr_pcalloc(p, size);
	b->table = table;
	b->pool = p;
	b->to = *to;
	b->reliable =
	    to->transport == SIPS_TP_TCP || to->transport == SIPS_TP_TLS;
	if (timers)
		b->timers = *timers;
	else
		txn_timers_default(&b->timers);
	b->next = table->all;
	if (table->all)
		table->all->prev = b;
	table->all = b;
	table->live++;
	*out = b;
	return APR_SUCCESS;
}

static void base_unindex(txn_base_t *b)
{
	txn_table_t *t = b->table;

	if (b->key)
		apr_hash_set(b->index, b->key, b->key_len, NULL);
	b->key = NULL;
	if (b->mkey && apr_hash_get(t->merge, b->mkey, b->mkey_len) == b)
		apr_hash_set(t->merge, b->mkey, b->mkey_len, NULL);
	b->mkey = NULL;
	if (b->legacy) {
		if (b->lprev)
			b->lprev->lnext = b->lnext;
		else
			t->legacy = b->lnext;
		if (b->lnext)
			b->lnext->lprev = b->lprev;
		b->legacy = 0;
	}
}

static void base_free(txn_base_t *b)
{
	txn_table_t *t = b->table;

	if (b->prev)
		b->prev->next = b->next;
	else
		t->all = b->next;
	if (b->next)
		b->next->prev = b->prev;
	apr_pool_destroy(b->pool);
}

/* Only for a transaction nobody has seen yet: freed at once. */
void txn_base_discard(txn_base_t *b)
{
	base_stop_timers(b);
	base_unindex(b);
	b->table->live--;
	base_free(b);
}

static void reap_run(void *baton)
{
	txn_reap_t *r = baton;
	txn_table_t *t = r->table;
	txn_base_t *b;

	free(r);
	if (!t)
		return;
	t->reap = NULL;
	while ((b = t->dead) != NULL) {
		t->dead = b->dead_next;
		base_free(b);
	}
}

/*
 * STYLE.md rule 4: nothing is freed inside its own callback, and a
 * caller may still hold the transaction until it returns to the loop.
 * One task per batch; if the loop is stopping the dead wait for
 * txn_table_destroy().
 */
static void reap_schedule(txn_table_t *t)
{
	txn_reap_t *r;

	if (t->reap)
		return;
	r = malloc(sizeof(*r));
	if (!r)
		return;
	r->table = t;
	if (sb_worker_post(t->worker, reap_run, r) != APR_SUCCESS) {
		free(r);
		return;
	}
	t->reap = r;
}

void txn_base_terminate(txn_base_t *b)
{
	txn_table_t *t = b->table;

	if (b->dead)
		return;
	b->dead = 1;
	base_stop_timers(b);
	base_unindex(b);
	t->live--;
	b->dead_next = t->dead;
	t->dead = b;
	reap_schedule(t);
}

void txn_base_arm(txn_base_t *b, sb_timer_t *timer, apr_interval_time_t after,
		  sb_timer_fn fn)
{
	if (!b->dead)
		sb_timer_start(b->table->worker, timer, after, fn, b);
}

apr_status_t txn_base_send(txn_base_t *b, const char *buf, apr_size_t len)
{
	return b->table->send(&b->to, buf, len);
}

apr_status_t txn_base_index(txn_base_t *b, apr_hash_t *index, const char *key,
			    apr_size_t len)
{
	if (apr_hash_get(index, key, len))
		return APR_EEXIST;
	b->key = apr_pmemdup(b->pool, key, len);
	b->key_len = len;
	b->index = index;
	apr_hash_set(index, b->key, len, b);
	return APR_SUCCESS;
}

/* The first transaction of a From tag, Call-ID and CSeq keeps the slot. */
apr_status_t txn_base_index_merge(txn_base_t *b, const char *key,
				  apr_size_t len)
{
	apr_hash_t *merge = b->table->merge;

	if (apr_hash_get(merge, key, len))
		return APR_SUCCESS;
	b->mkey = apr_pmemdup(b->pool, key, len);
	b->mkey_len = len;
	apr_hash_set(merge, b->mkey, len, b);
	return APR_SUCCESS;
}

void txn_base_index_legacy(txn_base_t *b)
{
	txn_table_t *t = b->table;

	b->legacy = 1;
	b->lprev = NULL;
	b->lnext = t->legacy;
	if (t->legacy)
		t->legacy->lprev = b;
	t->legacy = b;
}

sip_str_t txn_str_dup(apr_pool_t *pool, const sip_str_t *s)
{
	if (s->len == 0)
		return sip_str("", 0);
	return sip_str(apr_pmemdup(pool, s->ptr, s->len), s->len);
}

static apr_status_t addr_tag(const sip_msg_t *m, sip_hdr_id_e id,
			     sip_str_t *tag)
{
	const sip_hdr_t *h = sip_hdr_find(m, id);
	sip_addr_t a;

	if (!h || sip_hdr_addr(&h->value, &a) != APR_SUCCESS)
		return SB_EMALFORMED;
	*tag = a.tag.ptr ? a.tag : sip_str("", 0);
	return APR_SUCCESS;
}

apr_status_t txn_msg_via(const sip_msg_t *m, txn_msg_info_t *mi)
{
	static const apr_size_t clen = sizeof(TXN_MAGIC_COOKIE) - 1;
	sip_hdr_iter_t it;
	sip_str_t v;

	memset(mi, 0, sizeof(*mi));
	sip_hdr_iter_init(&it, m, SIP_HDR_VIA);
	if (sip_hdr_next(&it, &v) != APR_SUCCESS ||
	    sip_hdr_via(&v, &mi->via) != APR_SUCCESS)
		return SB_EMALFORMED;
	mi->via_raw = v;
	/* The bare cookie is no unique branch: match such as RFC 2543. */
	mi->rfc3261 = mi->via.branch.len > clen &&
		      memcmp(mi->via.branch.ptr, TXN_MAGIC_COOKIE, clen) == 0;
	return APR_SUCCESS;
}

apr_status_t txn_msg_info(const sip_msg_t *m, txn_msg_info_t *mi)
{
	if (txn_msg_via(m, mi) != APR_SUCCESS ||
	    addr_tag(m, SIP_HDR_FROM, &mi->from_tag) != APR_SUCCESS ||
	    addr_tag(m, SIP_HDR_TO, &mi->to_tag) != APR_SUCCESS)
		return SB_EMALFORMED;
	return APR_SUCCESS;
}

/* A key under construction in a TXN_KEY_MAX buffer. */
typedef struct key_buf {
	char *buf;
	apr_size_t len;
	int over;
} key_buf_t;

static void key_add(key_buf_t *k, const char *p, apr_size_t n, int lower)
{
	apr_size_t i;

	if (k->over || n > TXN_KEY_MAX - k->len) {
		k->over = 1;
		return;
	}
	for (i = 0; i < n; i++)
		k->buf[k->len++] = lower ? (char)apr_tolower(p[i]) : p[i];
}

/* LF separates the fields: it cannot occur inside any of them. */
static void key_field(key_buf_t *k, const sip_str_t *s, int lower)
{
	key_add(k, s->ptr, s->len, lower);
	key_add(k, "\n", 1, 0);
}

static void key_number(key_buf_t *k, long n)
{
	char num[24];
	int len = snprintf(num, sizeof(num), "%ld", n);

	key_add(k, num, (apr_size_t)len, 0);
	key_add(k, "\n", 1, 0);
}

static apr_size_t key_done(const key_buf_t *k)
{
	return k->over ? 0 : k->len;
}

/* RFC 3261 17.2.3: branch, sent-by (host case-insensitive) and method. */
apr_size_t txn_key_server(char *buf, const sip_str_t *method,
			  const sip_via_t *via)
{
	key_buf_t k = {buf, 0, 0};

	key_field(&k, method, 0);
	key_field(&k, &via->host, 1);
	key_number(&k, via->port);
	key_field(&k, &via->branch, 0);
	return key_done(&k);
}

/* RFC 3261 17.1.3: our branch and the CSeq method. */
apr_size_t txn_key_client(char *buf, const sip_str_t *method,
			  const sip_str_t *branch)
{
	key_buf_t k = {buf, 0, 0};

	key_field(&k, method, 0);
	key_field(&k, branch, 0);
	return key_done(&k);
}

/* RFC 3261 8.2.2.2: From tag, Call-ID, CSeq number and method. */
apr_size_t txn_key_merge(char *buf, const sip_msg_t *m,
			 const txn_msg_info_t *mi)
{
	key_buf_t k = {buf, 0, 0};

	key_field(&k, &mi->from_tag, 0);
	key_field(&k, &m->call_id, 0);
	key_number(&k, (long)m->cseq);
	key_field(&k, &m->cseq_method_name, 0);
	return key_done(&k);
}

static int str_same(const sip_str_t *a, const sip_str_t *b)
{
	return a->len == b->len &&
	       (a->len == 0 || memcmp(a->ptr, b->ptr, a->len) == 0);
}

/*
 * RFC 3261 17.2.3 for branches without the cookie: Request-URI, To tag,
 * From tag, Call-ID, CSeq and top Via as they were; an ACK carries the To
 * tag of our response instead.
 */
static int legacy_match(const txn_server_t *s, const sip_msg_t *req,
			const txn_msg_info_t *mi, const sip_str_t *method,
			int is_ack)
{
	const sip_str_t *to_tag = is_ack ? &s->resp_to_tag : &s->to_tag;

	return s->cseq == req->cseq && str_same(&s->method_name, method) &&
	       str_same(&s->call_id, &req->call_id) &&
	       str_same(&s->from_tag, &mi->from_tag) &&
	       str_same(to_tag, &mi->to_tag) &&
	       str_same(&s->ruri, &req->ruri_str) &&
	       str_same(&s->via, &mi->via_raw);
}

txn_server_t *txn_table_find_server(txn_table_t *table, const sip_msg_t *req,
				    const txn_msg_info_t *mi,
				    const sip_str_t *method, int is_ack)
{
	char key[TXN_KEY_MAX];
	apr_size_t n;
	txn_base_t *b;

	if (mi->rfc3261) {
		n = txn_key_server(key, method, &mi->via);
		return n ? apr_hash_get(table->servers, key, n) : NULL;
	}
	for (b = table->legacy; b; b = b->lnext)
		if (legacy_match((txn_server_t *)b, req, mi, method, is_ack))
			return (txn_server_t *)b;
	return NULL;
}

txn_server_t *txn_table_find_merged(txn_table_t *table, const char *mkey,
				    apr_size_t len)
{
	return apr_hash_get(table->merge, mkey, len);
}

txn_client_t *txn_table_find_client(txn_table_t *table, const sip_str_t *method,
				    const sip_str_t *branch)
{
	char key[TXN_KEY_MAX];
	apr_size_t n = txn_key_client(key, method, branch);

	return n ? apr_hash_get(table->clients, key, n) : NULL;
}
