/* txn_client.c — RFC 3261 17.1 client transactions (figures 5 and 6). */
#include <apr_strings.h>
#include "sip_build.h"
#include "txn_private.h"

/* RFC 3261 17.1.1.2: Timer D is "> 32 s" for unreliable transports. */
#define TXN_TIMER_D_MIN apr_time_from_sec(32)

static const sip_str_t method_invite = {"INVITE", 6};

static void client_die(txn_client_t *c)
{
	c->state = TXN_TERMINATED;
	txn_base_terminate(&c->base);
}

/*
 * Always the last thing a handler does: the callback may start other
 * transactions. This one stays allocated until the reap task, so the
 * callback may still read its state.
 */
static void deliver(txn_client_t *c, const sip_msg_t *resp, int status)
{
	if (c->fn)
		c->fn(c->baton, resp, status);
}

/* Timer B/F (408) or a failed send (503): the TU hears it once. */
static void client_fail(txn_client_t *c, int status)
{
	client_die(c);
	deliver(c, NULL, status);
}

/*
 * Timer A doubles without a cap until B ends it (17.1.1.2); Timer E
 * doubles up to T2, and stays at T2 once a provisional came (17.1.2.2).
 */
static void timer_retx(void *baton)
{
	txn_client_t *c = baton;
	apr_interval_time_t next, t2 = c->base.timers.t2;

	if (c->state == TXN_CALLING)
		next = 2 * c->interval;
	else if (c->state == TXN_TRYING)
		next = 2 * c->interval < t2 ? 2 * c->interval : t2;
	else if (c->state == TXN_PROCEEDING && c->method != SIP_METHOD_INVITE)
		next = t2;
	else
		return;
	if (txn_base_send(&c->base, c->req, c->req_len) != APR_SUCCESS) {
		client_fail(c, 503);
		return;
	}
	c->interval = next;
	txn_base_arm(&c->base, &c->base.retx, next, timer_retx);
}

static void timer_timeout(void *baton)
{
	txn_client_t *c = baton;

	if (c->state == TXN_COMPLETED || c->state == TXN_TERMINATED)
		return;
	client_fail(c, 408);
}

/* Timer D or K: responses retransmitted meanwhile were absorbed. */
static void timer_wait(void *baton)
{
	client_die(baton);
}

/*
 * RFC 3261 9.1: once a CANCEL is sent, an INVITE without a final
 * response within 64*T1 is over. Timer B's node serves (B only runs in
 * Calling, where it already bounds the wait).
 */
static void guard_invite(txn_table_t *table, const sip_str_t *branch)
{
	txn_client_t *inv =
	    txn_table_find_client(table, &method_invite, branch);

	if (inv && inv->state == TXN_PROCEEDING &&
	    !sb_timer_pending(&inv->base.timeout))
		txn_base_arm(&inv->base, &inv->base.timeout,
			     64 * inv->base.timers.t1, timer_timeout);
}

/* Parse our own copy and index it by branch and method (17.1.3). */
static apr_status_t client_setup(txn_client_t *c, const char *buf,
				 apr_size_t len, txn_msg_info_t *mi)
{
	txn_base_t *b = &c->base;
	char key[TXN_KEY_MAX];
	apr_size_t klen;
	apr_status_t rv;

	c->req = apr_pmemdup(b->pool, buf, len);
	c->req_len = len;
	c->msg = apr_palloc(b->pool, sizeof(*c->msg));
	rv = sip_parse_msg(c->msg, c->req, len, NULL, NULL);
	if (rv != APR_SUCCESS)
		return rv;
	/* An ACK is no transaction: the dialog sends it for a 2xx. */
	if (!c->msg->is_request || c->msg->method == SIP_METHOD_ACK)
		return APR_EINVAL;
	rv = txn_msg_info(c->msg, mi);
	if (rv != APR_SUCCESS)
		return rv;
	if (mi->via.branch.len == 0)
		return SB_EMALFORMED;
	klen = txn_key_client(key, &c->msg->method_name, &mi->via.branch);
	if (!klen)
		return SB_ETOOBIG;
	return txn_base_index(b, b->table->clients, key, klen);
}

apr_status_t txn_client_start(txn_table_t *table, const sip_target_t *to,
			      const char *buf, apr_size_t len,
			      const txn_timers_t *timers, txn_client_fn fn,
			      void *baton, txn_client_t **out)
{
	txn_msg_info_t mi;
	txn_client_t *c;
	txn_base_t *b;
	apr_status_t rv;

	if (!table || !to || !buf || !len)
		return APR_EINVAL;
	rv = txn_base_create(table, sizeof(*c), to, timers, &b);
	if (rv != APR_SUCCESS)
		return rv;
	c = (txn_client_t *)b;
	rv = client_setup(c, buf, len, &mi);
	/* A first send that fails is the caller's error, not a callback. */
	if (rv == APR_SUCCESS)
		rv = txn_base_send(b, c->req, c->req_len);
	if (rv != APR_SUCCESS) {
		txn_base_discard(b);
		return rv;
	}
	c->method = c->msg->method;
	c->fn = fn;
	c->baton = baton;
	c->state = c->method == SIP_METHOD_INVITE ? TXN_CALLING : TXN_TRYING;
	if (!b->reliable) {
		c->interval = b->timers.t1;
		txn_base_arm(b, &b->retx, c->interval, timer_retx);
	}
	txn_base_arm(b, &b->timeout, 64 * b->timers.t1, timer_timeout);
	if (c->method == SIP_METHOD_CANCEL)
		guard_invite(table, &mi.via.branch);
	if (out)
		*out = c;
	return APR_SUCCESS;
}

static apr_interval_time_t timer_d(const txn_timers_t *t)
{
	apr_interval_time_t d = 64 * t->t1;

	return d > TXN_TIMER_D_MIN ? d : TXN_TIMER_D_MIN;
}

static apr_status_t build_ack(txn_client_t *c, const sip_msg_t *resp)
{
	sip_build_t bld;
	apr_status_t rv;

	rv = sip_build_ack_non2xx(&bld, c->base.pool, c->msg, resp);
	if (rv == APR_SUCCESS)
		rv = sip_build_serialize(&bld, &c->ack, &c->ack_len);
	return rv;
}

/* 300-699 to an INVITE: ACK it, Completed, Timer D (17.1.1.3). */
static void invite_reject(txn_client_t *c, const sip_msg_t *resp)
{
	txn_base_t *b = &c->base;
	apr_status_t rv;

	sb_timer_stop(b->table->worker, &b->retx);
	sb_timer_stop(b->table->worker, &b->timeout);
	c->state = TXN_COMPLETED;
	rv = build_ack(c, resp);
	if (rv == APR_SUCCESS)
		rv = txn_base_send(b, c->ack, c->ack_len);
	/*
	 * Timer D: zero over TCP/TLS; over UDP at least 32 s whatever our
	 * T1, since it covers the server's Timer H with the server's T1.
	 * Without an ACK sent it ends now.
	 */
	if (rv != APR_SUCCESS || b->reliable)
		client_die(c);
	else
		txn_base_arm(b, &b->wait, timer_d(&b->timers), timer_wait);
	deliver(c, resp, resp->status);
}

static apr_status_t invite_rx(txn_client_t *c, const sip_msg_t *resp)
{
	txn_base_t *b = &c->base;
	int st = resp->status;

	if (c->state == TXN_COMPLETED) {
		/* A 2xx now is another fork's: the dialog layer's. */
		if (st >= 200 && st < 300)
			return SB_ENOTFOUND;
		if (st >= 300 && txn_base_send(b, c->ack, c->ack_len))
			client_die(c);
		return APR_SUCCESS;
	}
	if (st < 200) {
		if (c->state == TXN_CALLING) {
			sb_timer_stop(b->table->worker, &b->retx);
			sb_timer_stop(b->table->worker, &b->timeout);
		}
		c->state = TXN_PROCEEDING;
		deliver(c, resp, st);
	} else if (st < 300) {
		/* The TU acks a 2xx; its retransmissions go to the dialog. */
		client_die(c);
		deliver(c, resp, st);
	} else {
		invite_reject(c, resp);
	}
	return APR_SUCCESS;
}

static apr_status_t plain_rx(txn_client_t *c, const sip_msg_t *resp)
{
	txn_base_t *b = &c->base;
	int st = resp->status;

	if (c->state != TXN_TRYING && c->state != TXN_PROCEEDING)
		return APR_SUCCESS;
	if (st < 200) {
		c->state = TXN_PROCEEDING;
		deliver(c, resp, st);
		return APR_SUCCESS;
	}
	sb_timer_stop(b->table->worker, &b->retx);
	sb_timer_stop(b->table->worker, &b->timeout);
	c->state = TXN_COMPLETED;
	/* Timer K: T4 over UDP, zero over TCP/TLS (17.1.2.2). */
	if (b->reliable)
		client_die(c);
	else
		txn_base_arm(b, &b->wait, b->timers.t4, timer_wait);
	deliver(c, resp, st);
	return APR_SUCCESS;
}

apr_status_t txn_client_receive(txn_table_t *table, const sip_msg_t *resp)
{
	txn_msg_info_t mi;
	txn_client_t *c;
	apr_status_t rv;

	if (!table || !resp || resp->is_request)
		return APR_EINVAL;
	rv = txn_msg_via(resp, &mi);
	if (rv != APR_SUCCESS)
		return rv;
	c = txn_table_find_client(table, &resp->cseq_method_name,
				  &mi.via.branch);
	if (!c)
		return SB_ENOTFOUND;
	if (c->method == SIP_METHOD_INVITE)
		return invite_rx(c, resp);
	return plain_rx(c, resp);
}

txn_state_e txn_client_state(const txn_client_t *txn)
{
	return txn->state;
}

const sip_msg_t *txn_client_request(const txn_client_t *txn)
{
	return txn->msg;
}

/* No final response yet: the TU still waits for one. */
static int client_pending(const txn_client_t *c)
{
	return c->state == TXN_CALLING || c->state == TXN_TRYING ||
	       c->state == TXN_PROCEEDING;
}

typedef int (*client_match_fn)(const txn_client_t *c, const void *arg);

/* The live client transactions of @p table that @p match picks, in @p tmp:
 * collected first, as ending one changes the table. */
static apr_array_header_t *clients_matching(txn_table_t *table,
					    apr_pool_t *tmp,
					    client_match_fn match,
					    const void *arg)
{
	apr_array_header_t *found = apr_array_make(tmp, 4,
						   sizeof(txn_client_t *));
	apr_hash_index_t *hi;

	for (hi = apr_hash_first(tmp, table->clients); hi;
	     hi = apr_hash_next(hi)) {
		txn_client_t *c = apr_hash_this_val(hi);

		if (!c->base.dead && match(c, arg))
			APR_ARRAY_PUSH(found, txn_client_t *) = c;
	}
	return found;
}

static int waits_on_flow(const txn_client_t *c, const void *flow_id)
{
	return c->base.to.flow_id == *(const apr_uint64_t *)flow_id &&
	       c->base.to.transport != SIPS_TP_UDP && client_pending(c);
}

static int goes_to_profile(const txn_client_t *c, const void *profile)
{
	return c->base.to.profile == profile;
}

/*
 * A flow closed: client transactions waiting on it will never hear a
 * response there, so they fail now (503) instead of at Timer B/F.
 */
void txn_table_flow_closed(txn_table_t *table, apr_uint64_t flow_id)
{
	apr_array_header_t *doomed;
	apr_pool_t *tmp;
	int i;

	if (!table || !flow_id || apr_pool_create(&tmp, NULL) != APR_SUCCESS)
		return;
	doomed = clients_matching(table, tmp, waits_on_flow, &flow_id);
	for (i = 0; i < doomed->nelts; i++)
		client_fail(APR_ARRAY_IDX(doomed, i, txn_client_t *), 503);
	apr_pool_destroy(tmp);
}

void txn_table_profile_gone(txn_table_t *table,
			    const struct sips_profile *profile)
{
	apr_array_header_t *doomed;
	apr_pool_t *tmp;
	int i;

	if (!table || !profile || apr_pool_create(&tmp, NULL) != APR_SUCCESS)
		return;
	txn_server_profile_gone(table, profile);
	doomed = clients_matching(table, tmp, goes_to_profile, profile);
	/* Waiting ones (Timer D/K) had their final: they just end.  A
	 * callback that starts a request through the profile fails at its
	 * first send (the sockets are closed), so none is left after. */
	for (i = 0; i < doomed->nelts; i++) {
		txn_client_t *c = APR_ARRAY_IDX(doomed, i, txn_client_t *);

		/* Ended by an earlier one's callback (kept until reaped). */
		if (c->base.dead)
			continue;
		if (client_pending(c))
			client_fail(c, 503);
		else
			client_die(c);
	}
	apr_pool_destroy(tmp);
}

void txn_client_detach(txn_client_t *c)
{
	if (c) {
		c->fn = NULL;
		c->baton = NULL;
	}
}

apr_pool_t *txn_client_pool(txn_client_t *c)
{
	return c->base.pool;
}
