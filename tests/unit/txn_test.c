/* txn_test.c — RFC 3261 17 transactions on a live worker, mock transport. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <cmocka.h>
#include <apr_general.h>
#include <apr_strings.h>
#include "sip_build.h"
#include "txn.h"
#include "txn_private.h"

#define MS(x) apr_time_from_msec(x)
/* Timers fire late, never early; a loaded host may add this much. */
#define LATE MS(30)
#define MAX_REC 256

typedef struct sent {
	apr_time_t at;
	char *buf; /* malloc'd copy */
	apr_size_t len;
	int ok;
} sent_t;

typedef struct heard {
	apr_time_t at;
	void *baton;
	int status;
	int has_resp;
} heard_t;

/* What the mock transport and the callbacks saw; the worker writes it. */
static struct {
	pthread_mutex_t lock;
	sent_t sent[MAX_REC];
	int nsent;
	heard_t heard[MAX_REC];
	int nheard;
	int fail_from; /* this send attempt and later ones fail; -1 never */
} rec = {PTHREAD_MUTEX_INITIALIZER, {{0}}, 0, {{0}}, 0, -1};

static apr_pool_t *pool;
static apr_pool_t *tpool; /* the table's parent: the worker's only */
static sb_loop_t *loop;
static sb_worker_t *worker;
static txn_table_t *table;

static apr_status_t mock_send(const sip_target_t *to, const char *buf,
			      apr_size_t len)
{
	sent_t *s;
	int ok;

	(void)to;
	pthread_mutex_lock(&rec.lock);
	ok = rec.fail_from < 0 || rec.nsent < rec.fail_from;
	if (rec.nsent < MAX_REC) {
		s = &rec.sent[rec.nsent];
		s->at = apr_time_now();
		s->buf = malloc(len);
		memcpy(s->buf, buf, len);
		s->len = len;
		s->ok = ok;
	}
	rec.nsent++;
	pthread_mutex_unlock(&rec.lock);
	return ok ? APR_SUCCESS : SB_EFLOWGONE;
}

static void on_response(void *baton, const sip_msg_t *resp, int status)
{
	heard_t *h;

	pthread_mutex_lock(&rec.lock);
	if (rec.nheard < MAX_REC) {
		h = &rec.heard[rec.nheard++];
		h->at = apr_time_now();
		h->baton = baton;
		h->status = status;
		/* No cmocka assert here: this is the worker's thread. */
		h->has_resp = !resp ? 0 : resp->status == status ? 1 : -1;
	}
	pthread_mutex_unlock(&rec.lock);
}

static int locked_get(const int *p)
{
	int n;

	pthread_mutex_lock(&rec.lock);
	n = *p;
	pthread_mutex_unlock(&rec.lock);
	return n;
}

#define nsent() locked_get(&rec.nsent)
#define nheard() locked_get(&rec.nheard)

static sent_t sent_at(int i)
{
	sent_t s;

	pthread_mutex_lock(&rec.lock);
	s = rec.sent[i];
	pthread_mutex_unlock(&rec.lock);
	return s;
}

static heard_t heard_at(int i)
{
	heard_t h;

	pthread_mutex_lock(&rec.lock);
	h = rec.heard[i];
	pthread_mutex_unlock(&rec.lock);
	return h;
}

static void set_fail_from(int n)
{
	pthread_mutex_lock(&rec.lock);
	rec.fail_from = n;
	pthread_mutex_unlock(&rec.lock);
}

static void wait_heard(int n, apr_interval_time_t max)
{
	apr_time_t end = apr_time_now() + max;

	while (nheard() < n && apr_time_now() < end)
		apr_sleep(MS(2));
	assert_true(nheard() >= n);
}

/* One call into the transaction layer, run on the worker. */
typedef enum {
	OP_CREATE,
	OP_DESTROY,
	OP_COUNT,
	OP_CSTART,
	OP_CRX,
	OP_CSTATE,
	OP_SRX,
	OP_SRESPOND,
	OP_SSTATE,
	OP_CRX_DESTROY
} op_kind_e;

typedef struct op {
	op_kind_e kind;
	const char *buf;
	sip_target_t to;
	const txn_timers_t *timers;
	void *baton;
	int status;
	/* Results. */
	apr_status_t rv;
	txn_rx_e what;
	txn_server_t *stx, *cancelled;
	txn_client_t *ctx;
	txn_state_e state;
	sip_method_e method;
	apr_size_t count;
	int freed; /* every transaction's pool is gone */
} op_t;

static void op_rx(op_t *op)
{
	sip_msg_t m;

	/* Test messages parse; a failure shows as the op's status. */
	op->rv = sip_parse_msg(&m, op->buf, strlen(op->buf), NULL, NULL);
	if (op->rv != APR_SUCCESS)
		return;
	if (op->kind == OP_SRX) {
		op->rv =
		    txn_server_receive(table, &m, &op->to, op->timers,
				       &op->what, &op->stx, &op->cancelled);
		if (op->rv == APR_SUCCESS && op->stx)
			op->state = txn_server_state(op->stx);
	} else {
		op->rv = txn_client_receive(table, &m);
	}
}

static void run_op(void *baton)
{
	op_t *op = baton;

	switch (op->kind) {
	case OP_CREATE:
		op->rv = txn_table_create(&table, worker, mock_send, tpool);
		return;
	case OP_DESTROY:
		txn_table_destroy(table);
		table = NULL;
		return;
	case OP_CSTART:
		op->rv = txn_client_start(table, &op->to, op->buf,
					  strlen(op->buf), op->timers,
					  on_response, op->baton, &op->ctx);
		break;
	case OP_CRX:
	case OP_SRX:
	case OP_CRX_DESTROY:
		op_rx(op);
		if (op->kind == OP_CRX_DESTROY) {
			txn_table_destroy(table);
			table = NULL;
			return;
		}
		break;
	case OP_CSTATE:
		op->state = txn_client_state(op->ctx);
		break;
	case OP_SRESPOND:
		op->rv = txn_server_respond(op->stx, op->status, op->buf,
					    strlen(op->buf));
		op->state = txn_server_state(op->stx);
		break;
	case OP_SSTATE:
		op->state = txn_server_state(op->stx);
		op->status = txn_server_status(op->stx);
		op->method = txn_server_method(op->stx);
		break;
	case OP_COUNT:
		break;
	}
	op->count = txn_table_count(table);
	op->freed = table->all == NULL && table->dead == NULL;
}

static void do_op(op_t *op)
{
	assert_int_equal(sb_worker_call(worker, run_op, op), APR_SUCCESS);
}

static sip_target_t target(sips_transport_e tp)
{
	sip_target_t t;

	memset(&t, 0, sizeof(t));
	t.transport = tp;
	t.flow_id = tp == SIPS_TP_UDP ? 0 : 7;
	strcpy(t.peer_ip, "192.0.2.10");
	t.peer_port = 5060;
	return t;
}

static txn_timers_t timers(int t1, int t2, int t4)
{
	txn_timers_t t = {MS(t1), MS(t2), MS(t4)};

	return t;
}

static apr_size_t count(void)
{
	op_t op = {.kind = OP_COUNT};

	do_op(&op);
	return op.count;
}

/* The reap task was posted before this call, so it has run. */
static int all_freed(void)
{
	op_t op = {.kind = OP_COUNT};

	do_op(&op);
	return op.freed;
}

/* branch NULL: an RFC 2543 Via; ttag NULL: no To tag. */
static const char *mkreq(const char *method, const char *branch,
			 const char *ftag, const char *ttag, unsigned cseq)
{
	return apr_psprintf(pool,
			    "%s sip:bob@example.com SIP/2.0\r\n"
			    "Via: SIP/2.0/UDP 192.0.2.10:5060%s%s\r\n"
			    "Max-Forwards: 70\r\n"
			    "From: <sip:alice@example.com>;tag=%s\r\n"
			    "To: <sip:bob@example.com>%s%s\r\n"
			    "Call-ID: call-1@192.0.2.10\r\n"
			    "CSeq: %u %s\r\n"
			    "Content-Length: 0\r\n\r\n",
			    method, branch ? ";branch=" : "",
			    branch ? branch : "", ftag, ttag ? ";tag=" : "",
			    ttag ? ttag : "", cseq, method);
}

static const char *mkresp(int status, const char *method, const char *branch,
			  const char *ttag, unsigned cseq)
{
	return apr_psprintf(pool,
			    "SIP/2.0 %d %s\r\n"
			    "Via: SIP/2.0/UDP 192.0.2.10:5060%s%s\r\n"
			    "From: <sip:alice@example.com>;tag=f1\r\n"
			    "To: <sip:bob@example.com>;tag=%s\r\n"
			    "Call-ID: call-1@192.0.2.10\r\n"
			    "CSeq: %u %s\r\n"
			    "Content-Length: 0\r\n\r\n",
			    status, sip_build_reason(status),
			    branch ? ";branch=" : "", branch ? branch : "",
			    ttag, cseq, method);
}

static op_t cstart(sips_transport_e tp, const char *buf, const txn_timers_t *t,
		   void *baton)
{
	op_t op = {.kind = OP_CSTART, .buf = buf, .timers = t};

	op.to = target(tp);
	op.baton = baton;
	do_op(&op);
	return op;
}

static apr_status_t crx(const char *buf)
{
	op_t op = {.kind = OP_CRX, .buf = buf};

	do_op(&op);
	return op.rv;
}

static op_t srx(sips_transport_e tp, const char *buf, const txn_timers_t *t)
{
	op_t op = {.kind = OP_SRX, .buf = buf, .timers = t};

	op.to = target(tp);
	do_op(&op);
	return op;
}

static op_t srespond(txn_server_t *s, int status, const char *buf)
{
	op_t op = {.kind = OP_SRESPOND, .stx = s, .status = status, .buf = buf};

	do_op(&op);
	return op;
}

static void assert_interval(int i, apr_interval_time_t want)
{
	apr_interval_time_t d = sent_at(i).at - sent_at(i - 1).at;

	if (d < want - MS(2) || d > want + LATE)
		fail_msg("send %d came %ld us after the last, want %ld us", i,
			 (long)d, (long)want);
}

/* The sent message @p i, parsed in @p pool. */
static void parse_sent(int i, sip_msg_t *m)
{
	sent_t s = sent_at(i);
	char *copy = apr_pmemdup(pool, s.buf, s.len);

	assert_int_equal(sip_parse_msg(m, copy, s.len, NULL, NULL),
			 APR_SUCCESS);
}

static int setup(void **state)
{
	op_t op = {.kind = OP_CREATE};

	(void)state;
	if (apr_pool_create(&pool, NULL) != APR_SUCCESS ||
	    apr_pool_create(&tpool, NULL) != APR_SUCCESS ||
	    sb_loop_create(&loop, 1, pool) != APR_SUCCESS ||
	    sb_loop_start(loop) != APR_SUCCESS)
		return -1;
	worker = sb_loop_worker(loop, 0);
	do_op(&op);
	return op.rv == APR_SUCCESS ? 0 : -1;
}

static int teardown(void **state)
{
	op_t op = {.kind = OP_DESTROY};
	int i;

	(void)state;
	if (table)
		do_op(&op);
	sb_loop_stop(loop);
	apr_pool_destroy(tpool);
	apr_pool_destroy(pool);
	for (i = 0; i < rec.nsent && i < MAX_REC; i++)
		free(rec.sent[i].buf);
	rec.nsent = rec.nheard = 0;
	rec.fail_from = -1;
	return 0;
}

static sip_str_t top_branch(const sip_msg_t *m)
{
	sip_hdr_iter_t it;
	sip_via_t via;
	sip_str_t v;

	sip_hdr_iter_init(&it, m, SIP_HDR_VIA);
	assert_int_equal(sip_hdr_next(&it, &v), APR_SUCCESS);
	assert_int_equal(sip_hdr_via(&v, &via), APR_SUCCESS);
	return via.branch;
}

static sip_str_t to_tag(const sip_msg_t *m)
{
	const sip_hdr_t *h = sip_hdr_find(m, SIP_HDR_TO);
	sip_addr_t a;

	assert_non_null(h);
	assert_int_equal(sip_hdr_addr(&h->value, &a), APR_SUCCESS);
	return a.tag;
}

static apr_interval_time_t capped(int i, int t1, int t2)
{
	apr_interval_time_t want = MS(t1) << (i - 1);

	return t2 && want > MS(t2) ? MS(t2) : want;
}

/* Timer E over UDP: T1, 2T1, 4T1, then T2 each; F ends it with 408. */
static void test_nict_udp_schedule(void **state)
{
	txn_timers_t t = timers(20, 80, 100);
	op_t op;
	heard_t h;
	int i, n;

	(void)state;
	op = cstart(SIPS_TP_UDP,
		    mkreq("OPTIONS", "z9hG4bKnict1", "f1", NULL, 1), &t, &t);
	assert_int_equal(op.rv, APR_SUCCESS);
	assert_int_equal(count(), 1);
	wait_heard(1, MS(3000));
	h = heard_at(0);
	assert_int_equal(h.status, 408);
	assert_int_equal(h.has_resp, 0);
	assert_ptr_equal(h.baton, &t);
	assert_true(h.at - sent_at(0).at >= MS(1280) - MS(2));
	assert_true(h.at - sent_at(0).at <= MS(1280) + LATE);
	n = nsent();
	assert_in_range(n, 16, 18);
	for (i = 1; i < n; i++)
		assert_interval(i, capped(i, 20, 80));
	assert_int_equal(count(), 0);
	assert_true(all_freed());
	apr_sleep(MS(60));
	assert_int_equal(nsent(), n);
	assert_int_equal(nheard(), 1);
}

/* Over TCP nothing is retransmitted; F still fires at 64*T1. */
static void test_nict_tcp_timeout(void **state)
{
	txn_timers_t t = timers(5, 20, 25);
	op_t op;
	heard_t h;

	(void)state;
	op = cstart(SIPS_TP_TCP,
		    mkreq("OPTIONS", "z9hG4bKnict2", "f1", NULL, 1), &t, NULL);
	assert_int_equal(op.rv, APR_SUCCESS);
	wait_heard(1, MS(2000));
	h = heard_at(0);
	assert_int_equal(h.status, 408);
	assert_int_equal(h.has_resp, 0);
	assert_true(h.at - sent_at(0).at >= MS(320) - MS(2));
	assert_int_equal(nsent(), 1);
	assert_int_equal(count(), 0);
}

/* A provisional sets E to T2; the final completes, K absorbs, then ends. */
static void test_nict_final(void **state)
{
	txn_timers_t t = timers(20, 40, 60);
	const char *ok = mkresp(200, "OPTIONS", "z9hG4bKnict3", "t1", 1);
	op_t op, st = {.kind = OP_CSTATE};
	int i, n;

	(void)state;
	op = cstart(SIPS_TP_UDP,
		    mkreq("OPTIONS", "z9hG4bKnict3", "f1", NULL, 1), &t, NULL);
	assert_int_equal(crx(mkresp(100, "OPTIONS", "z9hG4bKnict3", "t1", 1)),
			 APR_SUCCESS);
	assert_int_equal(nheard(), 1);
	assert_int_equal(heard_at(0).status, 100);
	assert_int_equal(heard_at(0).has_resp, 1);
	st.ctx = op.ctx;
	do_op(&st);
	assert_int_equal(st.state, TXN_PROCEEDING);
	apr_sleep(MS(150));
	n = nsent();
	assert_true(n >= 3);
	for (i = 2; i < n; i++)
		assert_interval(i, MS(40));
	assert_int_equal(crx(ok), APR_SUCCESS);
	assert_int_equal(nheard(), 2);
	assert_int_equal(heard_at(1).status, 200);
	do_op(&st);
	assert_int_equal(st.state, TXN_COMPLETED);
	assert_int_equal(crx(ok), APR_SUCCESS);
	assert_int_equal(nheard(), 2);
	n = nsent();
	apr_sleep(MS(120));
	assert_int_equal(nsent(), n);
	assert_int_equal(count(), 0);
	assert_int_equal(crx(ok), SB_ENOTFOUND);
	/* Over TCP, Timer K is zero: the final ends it at once. */
	op = cstart(SIPS_TP_TCP,
		    mkreq("OPTIONS", "z9hG4bKnict4", "f1", NULL, 2), &t, NULL);
	assert_int_equal(crx(mkresp(200, "OPTIONS", "z9hG4bKnict4", "t", 2)),
			 APR_SUCCESS);
	assert_int_equal(count(), 0);
	assert_int_equal(heard_at(2).status, 200);
}

/* Timer A doubles with no cap at T2 until B (64*T1) gives 408. */
static void test_ict_schedule_timeout(void **state)
{
	txn_timers_t t = timers(10, 40, 50);
	heard_t h;
	int i, n;

	(void)state;
	assert_int_equal(cstart(SIPS_TP_UDP,
				mkreq("INVITE", "z9hG4bKict1", "f1", NULL, 1),
				&t, NULL)
			     .rv,
			 APR_SUCCESS);
	wait_heard(1, MS(2000));
	h = heard_at(0);
	assert_int_equal(h.status, 408);
	assert_int_equal(h.has_resp, 0);
	assert_true(h.at - sent_at(0).at >= MS(640) - MS(2));
	n = nsent();
	assert_in_range(n, 6, 7);
	for (i = 1; i < 6; i++)
		assert_interval(i, capped(i, 10, 0));
	assert_int_equal(count(), 0);
}

/* A 486 is ACKed (17.1.1.3); its retransmission gets the same ACK. */
static void test_ict_486_ack(void **state)
{
	txn_timers_t t = timers(20, 80, 100);
	const char *busy = mkresp(486, "INVITE", "z9hG4bKict2", "busy", 1);
	op_t op, st = {.kind = OP_CSTATE};
	sip_str_t tag, br;
	sip_msg_t ack;
	sent_t a, b;
	int n;

	(void)state;
	op = cstart(SIPS_TP_UDP, mkreq("INVITE", "z9hG4bKict2", "f1", NULL, 1),
		    &t, NULL);
	apr_sleep(MS(30));
	assert_true(nsent() >= 2);
	assert_int_equal(crx(mkresp(100, "INVITE", "z9hG4bKict2", "x", 1)),
			 APR_SUCCESS);
	assert_int_equal(heard_at(0).status, 100);
	n = nsent();
	apr_sleep(MS(100));
	assert_int_equal(nsent(), n);
	assert_int_equal(crx(busy), APR_SUCCESS);
	assert_int_equal(nheard(), 2);
	assert_int_equal(heard_at(1).status, 486);
	assert_int_equal(heard_at(1).has_resp, 1);
	assert_int_equal(nsent(), n + 1);
	parse_sent(n, &ack);
	assert_true(ack.is_request);
	assert_int_equal(ack.method, SIP_METHOD_ACK);
	assert_true(sip_str_eq(&ack.ruri_str, "sip:bob@example.com"));
	assert_int_equal(ack.cseq, 1);
	assert_int_equal(ack.cseq_method, SIP_METHOD_ACK);
	assert_true(sip_str_eq(&ack.call_id, "call-1@192.0.2.10"));
	tag = to_tag(&ack);
	br = top_branch(&ack);
	assert_true(sip_str_eq(&tag, "busy"));
	assert_true(sip_str_eq(&br, "z9hG4bKict2"));
	st.ctx = op.ctx;
	do_op(&st);
	assert_int_equal(st.state, TXN_COMPLETED);
	assert_int_equal(crx(busy), APR_SUCCESS);
	assert_int_equal(nsent(), n + 2);
	a = sent_at(n);
	b = sent_at(n + 1);
	assert_int_equal(a.len, b.len);
	assert_memory_equal(a.buf, b.buf, a.len);
	assert_int_equal(nheard(), 2);
	/* Another fork's 2xx is the dialog layer's business. */
	assert_int_equal(crx(mkresp(200, "INVITE", "z9hG4bKict2", "y", 1)),
			 SB_ENOTFOUND);
}

/* A 2xx ends the INVITE client transaction; no ACK from it. */
static void test_ict_2xx(void **state)
{
	txn_timers_t t = timers(20, 80, 100);
	const char *ok = mkresp(200, "INVITE", "z9hG4bKict3", "t", 1);
	sip_msg_t m;
	int n;

	(void)state;
	cstart(SIPS_TP_UDP, mkreq("INVITE", "z9hG4bKict3", "f1", NULL, 1), &t,
	       NULL);
	assert_int_equal(crx(mkresp(180, "INVITE", "z9hG4bKict3", "t", 1)),
			 APR_SUCCESS);
	assert_int_equal(crx(ok), APR_SUCCESS);
	assert_int_equal(count(), 0);
	assert_int_equal(nheard(), 2);
	assert_int_equal(heard_at(1).status, 200);
	assert_int_equal(crx(ok), SB_ENOTFOUND);
	assert_int_equal(nheard(), 2);
	assert_true(all_freed());
	parse_sent(nsent() - 1, &m);
	assert_int_equal(m.method, SIP_METHOD_INVITE);
	/* Over TCP the ACK goes and Timer D is zero. */
	cstart(SIPS_TP_TCP, mkreq("INVITE", "z9hG4bKict4", "f1", NULL, 2), &t,
	       NULL);
	n = nsent();
	assert_int_equal(crx(mkresp(603, "INVITE", "z9hG4bKict4", "t", 2)),
			 APR_SUCCESS);
	assert_int_equal(nsent(), n + 1);
	parse_sent(n, &m);
	assert_int_equal(m.method, SIP_METHOD_ACK);
	assert_int_equal(count(), 0);
}

/* 9.1: after a CANCEL, no final within 64*T1 ends the INVITE (408). */
static void test_ict_cancel_guard(void **state)
{
	txn_timers_t t = timers(5, 20, 25);
	int inv_b, can_b, n;
	heard_t h;

	(void)state;
	cstart(SIPS_TP_UDP, mkreq("INVITE", "z9hG4bKict5", "f1", NULL, 1), &t,
	       &inv_b);
	assert_int_equal(crx(mkresp(180, "INVITE", "z9hG4bKict5", "t", 1)),
			 APR_SUCCESS);
	apr_sleep(MS(20));
	n = nsent();
	assert_int_equal(cstart(SIPS_TP_UDP,
				mkreq("CANCEL", "z9hG4bKict5", "f1", NULL, 1),
				&t, &can_b)
			     .rv,
			 APR_SUCCESS);
	assert_int_equal(crx(mkresp(200, "CANCEL", "z9hG4bKict5", "t", 1)),
			 APR_SUCCESS);
	assert_ptr_equal(heard_at(1).baton, &can_b);
	wait_heard(3, MS(2000));
	h = heard_at(2);
	assert_ptr_equal(h.baton, &inv_b);
	assert_int_equal(h.status, 408);
	assert_true(h.at - sent_at(n).at >= MS(320) - MS(2));
	apr_sleep(MS(40));
	assert_int_equal(count(), 0);
}

/* Figure 8: retransmissions absorbed, the last response resent, J. */
static void test_nist_retransmit(void **state)
{
	txn_timers_t t = timers(5, 20, 25);
	const char *req = mkreq("OPTIONS", "z9hG4bKnist1", "f1", NULL, 1);
	op_t a, b, r, st = {.kind = OP_SSTATE};
	sent_t x, y;

	(void)state;
	a = srx(SIPS_TP_UDP, req, &t);
	assert_int_equal(a.rv, APR_SUCCESS);
	assert_int_equal(a.what, TXN_RX_NEW);
	assert_non_null(a.stx);
	assert_null(a.cancelled);
	assert_int_equal(a.state, TXN_TRYING);
	b = srx(SIPS_TP_UDP, req, &t);
	assert_int_equal(b.what, TXN_RX_RETRANSMIT);
	assert_ptr_equal(b.stx, a.stx);
	assert_int_equal(nsent(), 0);
	r = srespond(a.stx, 100,
		     mkresp(100, "OPTIONS", "z9hG4bKnist1", "s", 1));
	assert_int_equal(r.state, TXN_PROCEEDING);
	assert_int_equal(srx(SIPS_TP_UDP, req, &t).what, TXN_RX_RETRANSMIT);
	assert_int_equal(nsent(), 2);
	r = srespond(a.stx, 200,
		     mkresp(200, "OPTIONS", "z9hG4bKnist1", "s", 1));
	assert_int_equal(r.rv, APR_SUCCESS);
	assert_int_equal(r.state, TXN_COMPLETED);
	assert_int_equal(nsent(), 3);
	st.stx = a.stx;
	do_op(&st);
	assert_int_equal(st.status, 200);
	assert_int_equal(st.method, SIP_METHOD_OPTIONS);
	b = srx(SIPS_TP_UDP, req, &t);
	assert_int_equal(b.what, TXN_RX_RETRANSMIT);
	assert_int_equal(nsent(), 4);
	x = sent_at(2);
	y = sent_at(3);
	assert_int_equal(x.len, y.len);
	assert_memory_equal(x.buf, y.buf, x.len);
	r = srespond(a.stx, 500, "SIP/2.0 500 x\r\n\r\n");
	assert_int_equal(r.rv, APR_EINVAL);
	apr_sleep(MS(320 + 60));
	assert_int_equal(count(), 0);
	assert_int_equal(srx(SIPS_TP_UDP, req, &t).what, TXN_RX_NEW);
	/* Timer J is zero over TCP. */
	a = srx(SIPS_TP_TCP, mkreq("BYE", "z9hG4bKnist2", "f1", "s", 2), &t);
	r = srespond(a.stx, 200, mkresp(200, "BYE", "z9hG4bKnist2", "s", 2));
	assert_int_equal(r.state, TXN_TERMINATED);
	assert_int_equal(count(), 1);
}

/* Figure 7: G resends the 486 at T1, 2T1, 4T1, T2 until the ACK; I. */
static void test_ist_g_until_ack(void **state)
{
	txn_timers_t t = timers(20, 80, 100);
	const char *inv = mkreq("INVITE", "z9hG4bKist1", "f1", NULL, 1);
	const char *ack = mkreq("ACK", "z9hG4bKist1", "f1", "s", 1);
	op_t a, r;
	int i, n;

	(void)state;
	a = srx(SIPS_TP_UDP, inv, &t);
	assert_int_equal(a.what, TXN_RX_NEW);
	assert_int_equal(a.state, TXN_PROCEEDING);
	assert_int_equal(srx(SIPS_TP_UDP, inv, &t).what, TXN_RX_RETRANSMIT);
	assert_int_equal(nsent(), 0);
	srespond(a.stx, 180, mkresp(180, "INVITE", "z9hG4bKist1", "s", 1));
	assert_int_equal(srx(SIPS_TP_UDP, inv, &t).what, TXN_RX_RETRANSMIT);
	assert_int_equal(nsent(), 2);
	r = srespond(a.stx, 486, mkresp(486, "INVITE", "z9hG4bKist1", "s", 1));
	assert_int_equal(r.state, TXN_COMPLETED);
	apr_sleep(MS(250));
	r = srx(SIPS_TP_UDP, ack, &t);
	assert_int_equal(r.what, TXN_RX_ACK_ABSORBED);
	assert_ptr_equal(r.stx, a.stx);
	assert_int_equal(r.state, TXN_CONFIRMED);
	n = nsent();
	assert_in_range(n - 3, 4, 5);
	for (i = 3; i < n; i++)
		assert_interval(i, capped(i - 2, 20, 80));
	r = srx(SIPS_TP_UDP, ack, &t);
	assert_int_equal(r.what, TXN_RX_ACK_ABSORBED);
	assert_int_equal(r.state, TXN_CONFIRMED);
	assert_int_equal(srx(SIPS_TP_UDP, inv, &t).what, TXN_RX_RETRANSMIT);
	apr_sleep(MS(150));
	assert_int_equal(nsent(), n);
	assert_int_equal(count(), 0);
	r = srx(SIPS_TP_UDP, ack, &t);
	assert_int_equal(r.what, TXN_RX_ACK_2XX);
	assert_null(r.stx);
}

/* Timer H: no ACK within 64*T1 ends it; G stops with it. */
static void test_ist_h_timeout(void **state)
{
	txn_timers_t t = timers(5, 20, 25);
	op_t a;
	int n;

	(void)state;
	a = srx(SIPS_TP_UDP, mkreq("INVITE", "z9hG4bKist2", "f1", NULL, 1), &t);
	srespond(a.stx, 500, mkresp(500, "INVITE", "z9hG4bKist2", "s", 1));
	apr_sleep(MS(300));
	assert_int_equal(count(), 1);
	apr_sleep(MS(80));
	assert_int_equal(count(), 0);
	n = nsent();
	assert_true(n >= 12);
	apr_sleep(MS(50));
	assert_int_equal(nsent(), n);
	assert_int_equal(
	    srx(SIPS_TP_UDP, mkreq("ACK", "z9hG4bKist2", "f1", "s", 1), &t)
		.what,
	    TXN_RX_ACK_2XX);
}

/* A 2xx ends the INVITE server transaction; over TCP no G, I is 0. */
static void test_ist_2xx_and_tcp(void **state)
{
	txn_timers_t t = timers(20, 80, 100);
	const char *inv = mkreq("INVITE", "z9hG4bKist3", "f1", NULL, 1);
	op_t a, r;
	int n;

	(void)state;
	a = srx(SIPS_TP_UDP, inv, &t);
	r = srespond(a.stx, 200, mkresp(200, "INVITE", "z9hG4bKist3", "s", 1));
	assert_int_equal(r.rv, APR_SUCCESS);
	assert_int_equal(r.state, TXN_TERMINATED);
	assert_int_equal(r.count, 0);
	r = srx(SIPS_TP_UDP, mkreq("ACK", "z9hG4bKack3", "f1", "s", 1), &t);
	assert_int_equal(r.what, TXN_RX_ACK_2XX);
	assert_null(r.stx);
	/* The dialog resends its 2xx for this one (13.3.1.4). */
	assert_int_equal(srx(SIPS_TP_UDP, inv, &t).what, TXN_RX_NEW);
	a = srx(SIPS_TP_TCP, mkreq("INVITE", "z9hG4bKist4", "f2", NULL, 1), &t);
	r = srespond(a.stx, 486, mkresp(486, "INVITE", "z9hG4bKist4", "s", 1));
	assert_int_equal(r.state, TXN_COMPLETED);
	n = nsent();
	apr_sleep(MS(50));
	assert_int_equal(nsent(), n);
	r = srx(SIPS_TP_TCP, mkreq("ACK", "z9hG4bKist4", "f2", "s", 1), &t);
	assert_int_equal(r.what, TXN_RX_ACK_ABSORBED);
	assert_int_equal(r.state, TXN_TERMINATED);
	assert_int_equal(r.count, 1);
}

/* 9.2: a CANCEL is its own transaction and finds the INVITE it cancels. */
static void test_cancel_matches_invite(void **state)
{
	txn_timers_t t = timers(20, 80, 100);
	const char *can = mkreq("CANCEL", "z9hG4bKinv7", "f1", NULL, 1);
	op_t inv, c, c2, c3;

	(void)state;
	inv =
	    srx(SIPS_TP_UDP, mkreq("INVITE", "z9hG4bKinv7", "f1", NULL, 1), &t);
	assert_int_equal(inv.what, TXN_RX_NEW);
	c = srx(SIPS_TP_UDP, can, &t);
	assert_int_equal(c.rv, APR_SUCCESS);
	assert_int_equal(c.what, TXN_RX_CANCEL);
	assert_ptr_equal(c.cancelled, inv.stx);
	assert_non_null(c.stx);
	assert_ptr_not_equal(c.stx, inv.stx);
	assert_int_equal(c.state, TXN_TRYING);
	c2 = srx(SIPS_TP_UDP, can, &t);
	assert_int_equal(c2.what, TXN_RX_RETRANSMIT);
	assert_ptr_equal(c2.stx, c.stx);
	assert_null(c2.cancelled);
	/* No INVITE of that branch (another From tag: else it merges). */
	c3 = srx(SIPS_TP_UDP, mkreq("CANCEL", "z9hG4bKother", "f9", NULL, 1),
		 &t);
	assert_int_equal(c3.what, TXN_RX_CANCEL);
	assert_null(c3.cancelled);
	assert_int_equal(c3.count, 3);
}

/* 8.2.2.2: same From tag, Call-ID, CSeq, another branch: 482. */
static void test_merged_482(void **state)
{
	txn_timers_t t = timers(20, 80, 100);
	const char *b = mkreq("INVITE", "z9hG4bKmB", "f1", NULL, 1);
	op_t a, m;
	sip_msg_t resp;
	sip_str_t br;

	(void)state;
	a = srx(SIPS_TP_UDP, mkreq("INVITE", "z9hG4bKmA", "f1", NULL, 1), &t);
	assert_int_equal(a.what, TXN_RX_NEW);
	m = srx(SIPS_TP_UDP, b, &t);
	assert_int_equal(m.rv, APR_SUCCESS);
	assert_int_equal(m.what, TXN_RX_MERGED);
	assert_non_null(m.stx);
	assert_ptr_not_equal(m.stx, a.stx);
	assert_int_equal(m.state, TXN_COMPLETED);
	assert_int_equal(nsent(), 1);
	parse_sent(0, &resp);
	assert_false(resp.is_request);
	assert_int_equal(resp.status, 482);
	assert_int_equal(resp.cseq, 1);
	assert_int_equal(resp.cseq_method, SIP_METHOD_INVITE);
	br = top_branch(&resp);
	assert_true(sip_str_eq(&br, "z9hG4bKmB"));
	assert_true(to_tag(&resp).len > 0);
	assert_int_equal(srx(SIPS_TP_UDP, b, &t).what, TXN_RX_RETRANSMIT);
	assert_int_equal(nsent(), 2);
	assert_int_equal(
	    srx(SIPS_TP_UDP, mkreq("INVITE", "z9hG4bKmC", "f1", NULL, 2), &t)
		.what,
	    TXN_RX_NEW);
	assert_int_equal(
	    srx(SIPS_TP_UDP, mkreq("INVITE", "z9hG4bKmD", "f2", NULL, 1), &t)
		.what,
	    TXN_RX_NEW);
	/* With a To tag it is in a dialog: never merged. */
	assert_int_equal(
	    srx(SIPS_TP_UDP, mkreq("INVITE", "z9hG4bKmE", "f1", "tt", 1), &t)
		.what,
	    TXN_RX_NEW);
}

/* 17.2.3 without the magic cookie: the RFC 2543 comparison. */
static void test_rfc2543_fallback(void **state)
{
	txn_timers_t t = timers(20, 80, 100);
	const char *inv = mkreq("INVITE", NULL, "f1", NULL, 1);
	op_t a, r;

	(void)state;
	a = srx(SIPS_TP_UDP, inv, &t);
	assert_int_equal(a.what, TXN_RX_NEW);
	r = srx(SIPS_TP_UDP, inv, &t);
	assert_int_equal(r.what, TXN_RX_RETRANSMIT);
	assert_ptr_equal(r.stx, a.stx);
	/* Another top Via, same From tag, Call-ID, CSeq: merged. */
	assert_int_equal(
	    srx(SIPS_TP_UDP, mkreq("INVITE", "old1", "f1", NULL, 1), &t).what,
	    TXN_RX_MERGED);
	r = srx(SIPS_TP_UDP, mkreq("INVITE", NULL, "f1", NULL, 2), &t);
	assert_int_equal(r.what, TXN_RX_NEW);
	assert_ptr_not_equal(r.stx, a.stx);
	r = srx(SIPS_TP_UDP, mkreq("CANCEL", NULL, "f1", NULL, 1), &t);
	assert_int_equal(r.what, TXN_RX_CANCEL);
	assert_ptr_equal(r.cancelled, a.stx);
	r = srespond(a.stx, 486, mkresp(486, "INVITE", NULL, "srv", 1));
	assert_int_equal(r.state, TXN_COMPLETED);
	r = srx(SIPS_TP_UDP, mkreq("ACK", NULL, "f1", "other", 1), &t);
	assert_int_equal(r.what, TXN_RX_ACK_2XX);
	r = srx(SIPS_TP_UDP, mkreq("ACK", NULL, "f1", "srv", 1), &t);
	assert_int_equal(r.what, TXN_RX_ACK_ABSORBED);
	assert_ptr_equal(r.stx, a.stx);
	assert_int_equal(r.state, TXN_CONFIRMED);
}

/* A send that fails ends the transaction: 503 to the TU, no leak. */
static void test_send_failure(void **state)
{
	txn_timers_t t = timers(20, 80, 100);
	op_t a, r;
	int b;

	(void)state;
	set_fail_from(1);
	cstart(SIPS_TP_UDP, mkreq("OPTIONS", "z9hG4bKf1", "f1", NULL, 1), &t,
	       NULL);
	wait_heard(1, MS(500));
	assert_int_equal(heard_at(0).status, 503);
	assert_int_equal(heard_at(0).has_resp, 0);
	assert_int_equal(nsent(), 2);
	assert_false(sent_at(1).ok);
	assert_int_equal(count(), 0);
	/* The first send failing is the caller's error: no callback. */
	set_fail_from(nsent());
	r = cstart(SIPS_TP_TLS, mkreq("OPTIONS", "z9hG4bKf2", "f1", NULL, 2),
		   &t, NULL);
	assert_int_equal(r.rv, SB_EFLOWGONE);
	assert_int_equal(r.count, 0);
	set_fail_from(-1);
	a = srx(SIPS_TP_UDP, mkreq("INVITE", "z9hG4bKf3", "f1", NULL, 3), &t);
	set_fail_from(nsent());
	r = srespond(a.stx, 486, mkresp(486, "INVITE", "z9hG4bKf3", "s", 3));
	assert_int_equal(r.rv, SB_EFLOWGONE);
	assert_int_equal(r.state, TXN_TERMINATED);
	assert_int_equal(r.count, 0);
	/* The ACK failing: the 486 is still delivered, then it ends. */
	set_fail_from(-1);
	cstart(SIPS_TP_UDP, mkreq("INVITE", "z9hG4bKf4", "f1", NULL, 4), &t,
	       &b);
	set_fail_from(nsent());
	assert_int_equal(crx(mkresp(486, "INVITE", "z9hG4bKf4", "s", 4)),
			 APR_SUCCESS);
	assert_int_equal(heard_at(1).status, 486);
	assert_int_equal(heard_at(1).has_resp, 1);
	assert_int_equal(count(), 0);
	/* Timer G's resend failing. */
	set_fail_from(-1);
	a = srx(SIPS_TP_UDP, mkreq("INVITE", "z9hG4bKf5", "f1", NULL, 5), &t);
	set_fail_from(nsent() + 1);
	r = srespond(a.stx, 486, mkresp(486, "INVITE", "z9hG4bKf5", "s", 5));
	assert_int_equal(r.rv, APR_SUCCESS);
	apr_sleep(MS(60));
	assert_int_equal(count(), 0);
	assert_int_equal(nheard(), 2);
	assert_true(all_freed());
}

/* Destroy with timers pending and a reap queued: no callback, no leak. */
static void test_destroy_live(void **state)
{
	txn_timers_t t = timers(20, 80, 100);
	op_t a, d = {.kind = OP_CRX_DESTROY};
	int n, h;

	(void)state;
	cstart(SIPS_TP_UDP, mkreq("INVITE", "z9hG4bKd1", "f1", NULL, 1), &t,
	       NULL);
	cstart(SIPS_TP_UDP, mkreq("OPTIONS", "z9hG4bKd2", "f1", NULL, 2), &t,
	       NULL);
	cstart(SIPS_TP_TCP, mkreq("OPTIONS", "z9hG4bKd3", "f1", NULL, 3), &t,
	       NULL);
	cstart(SIPS_TP_UDP, mkreq("INVITE", "z9hG4bKd4", "f1", NULL, 4), &t,
	       NULL);
	a = srx(SIPS_TP_UDP, mkreq("INVITE", "z9hG4bKd5", "f2", NULL, 1), &t);
	srespond(a.stx, 486, mkresp(486, "INVITE", "z9hG4bKd5", "s", 1));
	a = srx(SIPS_TP_UDP, mkreq("OPTIONS", "z9hG4bKd6", "f2", NULL, 2), &t);
	srespond(a.stx, 200, mkresp(200, "OPTIONS", "z9hG4bKd6", "s", 2));
	srx(SIPS_TP_UDP, mkreq("OPTIONS", "z9hG4bKd7", "f2", NULL, 3), &t);
	assert_int_equal(count(), 7);
	/* The 2xx ends d4 and queues the reap; the table goes meanwhile. */
	d.buf = mkresp(200, "INVITE", "z9hG4bKd4", "s", 4);
	do_op(&d);
	assert_int_equal(d.rv, APR_SUCCESS);
	assert_null(table);
	n = nsent();
	h = nheard();
	assert_int_equal(h, 1);
	apr_sleep(MS(100));
	assert_int_equal(nsent(), n);
	assert_int_equal(nheard(), h);
}

/* What is refused, and what matches nothing. */
static void test_errors(void **state)
{
	txn_timers_t t = timers(20, 80, 100);
	const char *badvia = "OPTIONS sip:bob@example.com SIP/2.0\r\n"
			     "Via: garbage\r\n"
			     "From: <sip:a@example.com>;tag=1\r\n"
			     "To: <sip:b@example.com>\r\n"
			     "Call-ID: x\r\n"
			     "CSeq: 1 OPTIONS\r\n"
			     "Content-Length: 0\r\n\r\n";
	op_t r;

	(void)state;
	assert_int_equal(srx(SIPS_TP_UDP, badvia, &t).rv, SB_EMALFORMED);
	assert_int_equal(crx(mkresp(200, "OPTIONS", "z9hG4bKnone", "t", 1)),
			 SB_ENOTFOUND);
	r = cstart(SIPS_TP_UDP, mkreq("ACK", "z9hG4bKe1", "f1", "t", 1), &t,
		   NULL);
	assert_int_equal(r.rv, APR_EINVAL);
	r = cstart(SIPS_TP_UDP, "hello", &t, NULL);
	assert_int_equal(r.rv, SB_EMALFORMED);
	assert_int_equal(cstart(SIPS_TP_UDP, badvia, &t, NULL).rv,
			 SB_EMALFORMED);
	assert_int_equal(r.count, 0);
	r = cstart(SIPS_TP_UDP, mkreq("OPTIONS", "z9hG4bKdup", "f1", NULL, 1),
		   &t, NULL);
	assert_int_equal(r.rv, APR_SUCCESS);
	r = cstart(SIPS_TP_UDP, mkreq("OPTIONS", "z9hG4bKdup", "f1", NULL, 1),
		   &t, NULL);
	assert_int_equal(r.rv, APR_EEXIST);
	assert_int_equal(r.count, 1);
	/* 17.1.3: the CSeq method must match too. */
	assert_int_equal(crx(mkresp(200, "INFO", "z9hG4bKdup", "t", 1)),
			 SB_ENOTFOUND);
	assert_int_equal(nsent(), 1);
	assert_int_equal(nheard(), 0);
}

#define TEST(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    TEST(test_nict_udp_schedule),
	    TEST(test_nict_tcp_timeout),
	    TEST(test_nict_final),
	    TEST(test_ict_schedule_timeout),
	    TEST(test_ict_486_ack),
	    TEST(test_ict_2xx),
	    TEST(test_ict_cancel_guard),
	    TEST(test_nist_retransmit),
	    TEST(test_ist_g_until_ack),
	    TEST(test_ist_h_timeout),
	    TEST(test_ist_2xx_and_tcp),
	    TEST(test_cancel_matches_invite),
	    TEST(test_merged_482),
	    TEST(test_rfc2543_fallback),
	    TEST(test_send_failure),
	    TEST(test_destroy_live),
	    TEST(test_errors),
	};
	int rc;

	if (apr_initialize() != APR_SUCCESS)
		return 1;
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	apr_terminate();
	return rc;
}
