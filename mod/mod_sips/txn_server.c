/* txn_server.c — RFC 3261 17.2 server transactions (figures 7 and 8). */
#include "sip_build.h"
#include "txn_private.h"

/*
 * No automatic 100 Trying (17.2.1 lets the transaction send one after
 * 200 ms): the TU sends 100 itself when it cannot answer at once, which
 * keeps one path for every response.
 */

static const sip_str_t method_invite = {"INVITE", 6};

static void server_die(txn_server_t *s)
{
	s->state = TXN_TERMINATED;
	txn_base_terminate(&s->base);
}

/* A send that fails ends the transaction: the hop is gone. */
static apr_status_t server_send_last(txn_server_t *s)
{
	apr_status_t rv = txn_base_send(&s->base, s->resp, s->resp_len);

	if (rv != APR_SUCCESS)
		server_die(s);
	return rv;
}

/* Timer G: resend the non-2xx final, doubling up to T2 (17.2.1). */
static void timer_g(void *baton)
{
	txn_server_t *s = baton;
	apr_interval_time_t next;

	if (s->state != TXN_COMPLETED || server_send_last(s) != APR_SUCCESS)
		return;
	next = 2 * s->g_interval;
	s->g_interval = next < s->base.timers.t2 ? next : s->base.timers.t2;
	txn_base_arm(&s->base, &s->base.retx, s->g_interval, timer_g);
}

/*
 * Timer H (no ACK came), Timer I (ACK retransmissions absorbed) and
 * Timer J (request retransmissions absorbed) all just end it. There is
 * no server-side callback: for H the TU has already sent its final.
 */
static void timer_end(void *baton)
{
	server_die(baton);
}

static void keep_response(txn_server_t *s, const char *buf, apr_size_t len)
{
	if (len > s->resp_cap) {
		s->resp = apr_palloc(s->base.pool, len);
		s->resp_cap = len;
	}
	memcpy(s->resp, buf, len);
	s->resp_len = len;
}

/* An RFC 2543 ACK matches on the To tag our final response carried. */
static void remember_to_tag(txn_server_t *s)
{
	sip_msg_t m;
	txn_msg_info_t mi;

	if (sip_parse_msg(&m, s->resp, s->resp_len, NULL, NULL) ==
		APR_SUCCESS &&
	    txn_msg_info(&m, &mi) == APR_SUCCESS)
		s->resp_to_tag = txn_str_dup(s->base.pool, &mi.to_tag);
}

static void invite_final(txn_server_t *s, int status)
{
	txn_base_t *b = &s->base;

	if (status < 300) {
		/* The dialog retransmits the 2xx until its ACK (13.3.1.4). */
		server_die(s);
		return;
	}
	s->state = TXN_COMPLETED;
	if (b->legacy)
		remember_to_tag(s);
	if (!b->reliable) {
		s->g_interval = b->timers.t1;
		txn_base_arm(b, &b->retx, s->g_interval, timer_g);
	}
	txn_base_arm(b, &b->timeout, 64 * b->timers.t1, timer_end);
}

apr_status_t txn_server_respond(txn_server_t *txn, int status, const char *buf,
				apr_size_t len)
{
	txn_base_t *b;
	apr_status_t rv;

	if (!txn || !buf || !len || status < 100 || status > 699)
		return APR_EINVAL;
	if (txn->state != TXN_TRYING && txn->state != TXN_PROCEEDING)
		return APR_EINVAL;
	b = &txn->base;
	keep_response(txn, buf, len);
	rv = server_send_last(txn);
	if (rv != APR_SUCCESS)
		return rv;
	txn->status = status;
	if (status < 200) {
		txn->state = TXN_PROCEEDING;
		return APR_SUCCESS;
	}
	if (txn->method == SIP_METHOD_INVITE) {
		invite_final(txn, status);
		return APR_SUCCESS;
	}
	/* Timer J: 64*T1 over UDP, zero over TCP/TLS (17.2.2). */
	txn->state = TXN_COMPLETED;
	if (b->reliable)
		server_die(txn);
	else
		txn_base_arm(b, &b->wait, 64 * b->timers.t1, timer_end);
	return APR_SUCCESS;
}

/* A retransmitted request: resend what we last said, if anything. */
static apr_status_t server_retransmit(txn_server_t *s)
{
	if (s->resp_len == 0 ||
	    (s->state != TXN_PROCEEDING && s->state != TXN_COMPLETED))
		return APR_SUCCESS;
	return server_send_last(s);
}

/* The ACK to our non-2xx final: Confirmed, then Timer I (17.2.1). */
static void server_ack(txn_server_t *s)
{
	txn_base_t *b = &s->base;

	if (s->state != TXN_COMPLETED)
		return;
	sb_timer_stop(b->table->worker, &b->retx);
	sb_timer_stop(b->table->worker, &b->timeout);
	s->state = TXN_CONFIRMED;
	if (b->reliable)
		server_die(s);
	else
		txn_base_arm(b, &b->wait, b->timers.t4, timer_end);
}

/* The copies RFC 2543 matching compares against (17.2.3). */
static void keep_legacy(txn_server_t *s, const sip_msg_t *req,
			const txn_msg_info_t *mi)
{
	apr_pool_t *p = s->base.pool;

	s->method_name = txn_str_dup(p, &req->method_name);
	s->ruri = txn_str_dup(p, &req->ruri_str);
	s->to_tag = txn_str_dup(p, &mi->to_tag);
	s->from_tag = txn_str_dup(p, &mi->from_tag);
	s->call_id = txn_str_dup(p, &req->call_id);
	s->via = txn_str_dup(p, &mi->via_raw);
	s->cseq = req->cseq;
	txn_base_index_legacy(&s->base);
}

/* The keys of one received request, computed once. */
typedef struct rx_keys {
	char key[TXN_KEY_MAX];
	apr_size_t key_len;
	char mkey[TXN_KEY_MAX];
	apr_size_t mkey_len; /* 0: not checked for merging (has a To tag) */
} rx_keys_t;

static apr_status_t server_new(txn_table_t *table, const sip_msg_t *req,
			       const txn_msg_info_t *mi, const rx_keys_t *k,
			       const sip_target_t *from,
			       const txn_timers_t *timers, txn_server_t **out)
{
	txn_server_t *s;
	txn_base_t *b;
	apr_status_t rv;

	rv = txn_base_create(table, sizeof(*s), from, timers, &b);
	if (rv != APR_SUCCESS)
		return rv;
	s = (txn_server_t *)b;
	s->method = req->method;
	s->state =
	    req->method == SIP_METHOD_INVITE ? TXN_PROCEEDING : TXN_TRYING;
	if (mi->rfc3261)
		rv = txn_base_index(b, table->servers, k->key, k->key_len);
	else
		keep_legacy(s, req, mi);
	if (rv == APR_SUCCESS && k->mkey_len)
		rv = txn_base_index_merge(b, k->mkey, k->mkey_len);
	if (rv != APR_SUCCESS) {
		txn_base_discard(b);
		return rv;
	}
	*out = s;
	return APR_SUCCESS;
}

/* RFC 3261 8.2.2.2: answer 482 through a transaction of its own. */
static apr_status_t server_merged(txn_table_t *table, const sip_msg_t *req,
				  const txn_msg_info_t *mi, rx_keys_t *k,
				  const sip_target_t *from,
				  const txn_timers_t *timers,
				  txn_server_t **out)
{
	sip_build_via_fix_t fix;
	txn_server_t *s;
	sip_build_t bld;
	apr_status_t rv;
	apr_size_t len;
	char *buf;

	k->mkey_len = 0;
	rv = server_new(table, req, mi, k, from, timers, &s);
	if (rv != APR_SUCCESS)
		return rv;
	fix.received = from->peer_ip[0] ? from->peer_ip : NULL;
	fix.rport = from->peer_port;
	rv = sip_build_response(&bld, s->base.pool, req, 482, NULL, NULL, &fix);
	if (rv == APR_SUCCESS)
		rv = sip_build_serialize(&bld, &buf, &len);
	if (rv != APR_SUCCESS) {
		txn_base_discard(&s->base);
		return rv;
	}
	rv = txn_server_respond(s, 482, buf, len);
	if (rv == APR_SUCCESS)
		*out = s;
	return rv;
}

static apr_status_t rx_keys(rx_keys_t *k, const sip_msg_t *req,
			    const txn_msg_info_t *mi, const sip_str_t *method)
{
	k->key_len = txn_key_server(k->key, method, &mi->via);
	k->mkey_len = 0;
	if (req->method != SIP_METHOD_ACK && mi->to_tag.len == 0) {
		k->mkey_len = txn_key_merge(k->mkey, req, mi);
		if (!k->mkey_len)
			return SB_ETOOBIG;
	}
	return k->key_len ? APR_SUCCESS : SB_ETOOBIG;
}

/* What matched nothing: merged, a CANCEL, or a new transaction. */
static apr_status_t server_rx_new(txn_table_t *table, const sip_msg_t *req,
				  const txn_msg_info_t *mi, rx_keys_t *k,
				  const sip_target_t *from,
				  const txn_timers_t *timers, txn_rx_e *what,
				  txn_server_t **txn, txn_server_t **cancelled)
{
	txn_server_t *s, *inv = NULL;
	apr_status_t rv;
	txn_rx_e w;

	if (k->mkey_len &&
	    txn_table_find_merged(table, k->mkey, k->mkey_len) != NULL) {
		rv = server_merged(table, req, mi, k, from, timers, &s);
		w = TXN_RX_MERGED;
	} else {
		rv = server_new(table, req, mi, k, from, timers, &s);
		w = TXN_RX_NEW;
	}
	if (rv != APR_SUCCESS)
		return rv;
	/* 9.2: the INVITE it cancels matches as if it were that request. */
	if (w == TXN_RX_NEW && req->method == SIP_METHOD_CANCEL) {
		inv = txn_table_find_server(table, req, mi, &method_invite, 0);
		w = TXN_RX_CANCEL;
	}
	*what = w;
	if (txn)
		*txn = s;
	if (cancelled)
		*cancelled = inv;
	return APR_SUCCESS;
}

apr_status_t txn_server_receive(txn_table_t *table, const sip_msg_t *req,
				const sip_target_t *from,
				const txn_timers_t *timers, txn_rx_e *what,
				txn_server_t **txn, txn_server_t **cancelled)
{
	const sip_str_t *method;
	txn_msg_info_t mi;
	txn_server_t *s;
	rx_keys_t k;
	apr_status_t rv;
	int is_ack;

	if (!table || !req || !req->is_request || !from || !what)
		return APR_EINVAL;
	rv = txn_msg_info(req, &mi);
	if (rv != APR_SUCCESS)
		return rv;
	/* 17.2.3: an ACK belongs to the INVITE transaction it acks. */
	is_ack = req->method == SIP_METHOD_ACK;
	method = is_ack ? &method_invite : &req->method_name;
	rv = rx_keys(&k, req, &mi, method);
	if (rv != APR_SUCCESS)
		return rv;
	s = txn_table_find_server(table, req, &mi, method, is_ack);
	if (!s && !is_ack)
		return server_rx_new(table, req, &mi, &k, from, timers, what,
				     txn, cancelled);
	if (!is_ack) {
		rv = server_retransmit(s);
		if (rv != APR_SUCCESS)
			return rv;
		*what = TXN_RX_RETRANSMIT;
	} else if (s) {
		server_ack(s);
		*what = TXN_RX_ACK_ABSORBED;
	} else {
		/* The dialog's: an ACK for a 2xx is a transaction of none. */
		*what = TXN_RX_ACK_2XX;
	}
	if (txn)
		*txn = s;
	if (cancelled)
		*cancelled = NULL;
	return APR_SUCCESS;
}

void txn_server_profile_gone(txn_table_t *table,
			     const struct sips_profile *profile)
{
	apr_array_header_t *doomed;
	apr_hash_index_t *hi;
	apr_pool_t *tmp;
	txn_base_t *b;
	int i;

	if (apr_pool_create(&tmp, NULL) != APR_SUCCESS)
		return;
	doomed = apr_array_make(tmp, 4, sizeof(txn_server_t *));
	for (hi = apr_hash_first(tmp, table->servers); hi;
	     hi = apr_hash_next(hi)) {
		txn_server_t *s = apr_hash_this_val(hi);

		if (!s->base.dead && s->base.to.profile == profile)
			APR_ARRAY_PUSH(doomed, txn_server_t *) = s;
	}
	for (b = table->legacy; b; b = b->lnext)
		if (!b->dead && b->to.profile == profile)
			APR_ARRAY_PUSH(doomed, txn_server_t *) =
				(txn_server_t *)b;
	/* Terminated: a TU that answers later gets APR_EINVAL, and a
	 * retransmission matches nothing (the new profile answers it). */
	for (i = 0; i < doomed->nelts; i++)
		server_die(APR_ARRAY_IDX(doomed, i, txn_server_t *));
	apr_pool_destroy(tmp);
}

txn_state_e txn_server_state(const txn_server_t *txn)
{
	return txn->state;
}

int txn_server_status(const txn_server_t *txn)
{
	return txn->status;
}

sip_method_e txn_server_method(const txn_server_t *txn)
{
	return txn->method;
}
