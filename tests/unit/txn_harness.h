/* txn_harness.h — a live worker and a mock transport for the txn tests.
 * Included by txn_client_test.c and txn_server_test.c only. */
#ifndef TXN_HARNESS_H
#define TXN_HARNESS_H
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
	const struct sips_profile *profile; /* to->profile, only compared */
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

static __attribute__((unused)) apr_status_t
mock_send(const sip_target_t *to, const char *buf, apr_size_t len)
{
	sent_t *s;
	int ok;

	pthread_mutex_lock(&rec.lock);
	ok = rec.fail_from < 0 || rec.nsent < rec.fail_from;
	if (rec.nsent < MAX_REC) {
		s = &rec.sent[rec.nsent];
		s->at = apr_time_now();
		s->buf = malloc(len);
		memcpy(s->buf, buf, len);
		s->len = len;
		s->ok = ok;
		s->profile = to->profile;
	}
	rec.nsent++;
	pthread_mutex_unlock(&rec.lock);
	return ok ? APR_SUCCESS : SB_EFLOWGONE;
}

static __attribute__((unused)) void
on_response(void *baton, const sip_msg_t *resp, int status)
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

/* The worker writes the record: the test thread copies out of it under
 * the lock. */
static void locked_copy(void *to, const void *from, size_t n)
{
	pthread_mutex_lock(&rec.lock);
	memcpy(to, from, n);
	pthread_mutex_unlock(&rec.lock);
}

/* The value of @p x, a part of rec, read under the lock. */
#define LOCKED(x)                                                              \
	({                                                                     \
		__typeof__(x) v_;                                              \
		locked_copy(&v_, &(x), sizeof(v_));                            \
		v_;                                                            \
	})
#define nsent() LOCKED(rec.nsent)
#define nheard() LOCKED(rec.nheard)
#define sent_at(i) LOCKED(rec.sent[i])
#define heard_at(i) LOCKED(rec.heard[i])

static __attribute__((unused)) void set_fail_from(int n)
{
	pthread_mutex_lock(&rec.lock);
	rec.fail_from = n;
	pthread_mutex_unlock(&rec.lock);
}

static __attribute__((unused)) void wait_heard(int n, apr_interval_time_t max)
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
	OP_CRX_DESTROY,
	OP_PROFILE_GONE /* through to.profile */
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
	int nsent; /* sends recorded when it returned, on the worker */
} op_t;

static __attribute__((unused)) void op_rx(op_t *op)
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

static __attribute__((unused)) void run_op(void *baton)
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
	case OP_PROFILE_GONE:
		txn_table_profile_gone(table, op->to.profile);
		break;
	case OP_COUNT:
		break;
	}
	op->count = txn_table_count(table);
	op->freed = table->all == NULL && table->dead == NULL;
	op->nsent = nsent();
}

static __attribute__((unused)) void do_op(op_t *op)
{
	assert_int_equal(sb_worker_call(worker, run_op, op), APR_SUCCESS);
}

static __attribute__((unused)) sip_target_t target(sips_transport_e tp)
{
	sip_target_t t;

	memset(&t, 0, sizeof(t));
	t.transport = tp;
	t.flow_id = tp == SIPS_TP_UDP ? 0 : 7;
	strcpy(t.peer_ip, "192.0.2.10");
	t.peer_port = 5060;
	return t;
}

static __attribute__((unused)) txn_timers_t timers(int t1, int t2, int t4)
{
	txn_timers_t t = {MS(t1), MS(t2), MS(t4)};

	return t;
}

static __attribute__((unused)) apr_size_t count(void)
{
	op_t op = {.kind = OP_COUNT};

	do_op(&op);
	return op.count;
}

/* The reap task was posted before this call, so it has run. */
static __attribute__((unused)) int all_freed(void)
{
	op_t op = {.kind = OP_COUNT};

	do_op(&op);
	return op.freed;
}

/* branch NULL: an RFC 2543 Via; ttag NULL: no To tag. */
static __attribute__((unused)) const char *
mkreq(const char *method, const char *branch, const char *ftag,
      const char *ttag, unsigned cseq)
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

static __attribute__((unused)) const char *
mkresp(int status, const char *method, const char *branch, const char *ttag,
       unsigned cseq)
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

/* Through profile @p p: the txn code only compares the pointer, so a test
 * may pass any distinct address. */
static __attribute__((unused)) op_t
cstart_on(struct sips_profile *p, sips_transport_e tp, const char *buf,
	  const txn_timers_t *t, void *baton)
{
	op_t op = {.kind = OP_CSTART, .buf = buf, .timers = t};

	op.to = target(tp);
	op.to.profile = p;
	op.baton = baton;
	do_op(&op);
	return op;
}

static __attribute__((unused)) op_t cstart(sips_transport_e tp, const char *buf,
					   const txn_timers_t *t, void *baton)
{
	return cstart_on(NULL, tp, buf, t, baton);
}

static __attribute__((unused)) apr_status_t crx(const char *buf)
{
	op_t op = {.kind = OP_CRX, .buf = buf};

	do_op(&op);
	return op.rv;
}

static __attribute__((unused)) op_t srx_on(struct sips_profile *p,
					   sips_transport_e tp, const char *buf,
					   const txn_timers_t *t)
{
	op_t op = {.kind = OP_SRX, .buf = buf, .timers = t};

	op.to = target(tp);
	op.to.profile = p;
	do_op(&op);
	return op;
}

static __attribute__((unused)) op_t srx(sips_transport_e tp, const char *buf,
					const txn_timers_t *t)
{
	return srx_on(NULL, tp, buf, t);
}

/* txn_table_profile_gone(@p p); .count and .nsent are as it left them. */
static __attribute__((unused)) op_t profile_gone(struct sips_profile *p)
{
	op_t op = {.kind = OP_PROFILE_GONE};

	op.to.profile = p;
	do_op(&op);
	return op;
}

static __attribute__((unused)) op_t srespond(txn_server_t *s, int status,
					     const char *buf)
{
	op_t op = {.kind = OP_SRESPOND, .stx = s, .status = status, .buf = buf};

	do_op(&op);
	return op;
}

static __attribute__((unused)) void assert_interval(int i,
						    apr_interval_time_t want)
{
	apr_interval_time_t d = sent_at(i).at - sent_at(i - 1).at;

	if (d < want - MS(2) || d > want + LATE)
		fail_msg("send %d came %ld us after the last, want %ld us", i,
			 (long)d, (long)want);
}

/* The sent message @p i, parsed in @p pool. */
static __attribute__((unused)) void parse_sent(int i, sip_msg_t *m)
{
	sent_t s = sent_at(i);
	char *copy = apr_pmemdup(pool, s.buf, s.len);

	assert_int_equal(sip_parse_msg(m, copy, s.len, NULL, NULL),
			 APR_SUCCESS);
}

static __attribute__((unused)) int setup(void **state)
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

static __attribute__((unused)) int teardown(void **state)
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

static __attribute__((unused)) sip_str_t top_branch(const sip_msg_t *m)
{
	sip_hdr_iter_t it;
	sip_via_t via;
	sip_str_t v;

	sip_hdr_iter_init(&it, m, SIP_HDR_VIA);
	assert_int_equal(sip_hdr_next(&it, &v), APR_SUCCESS);
	assert_int_equal(sip_hdr_via(&v, &via), APR_SUCCESS);
	return via.branch;
}

static __attribute__((unused)) sip_str_t to_tag(const sip_msg_t *m)
{
	const sip_hdr_t *h = sip_hdr_find(m, SIP_HDR_TO);
	sip_addr_t a;

	assert_non_null(h);
	assert_int_equal(sip_hdr_addr(&h->value, &a), APR_SUCCESS);
	return a.tag;
}

static __attribute__((unused)) apr_interval_time_t capped(int i, int t1, int t2)
{
	apr_interval_time_t want = MS(t1) << (i - 1);

	return t2 && want > MS(t2) ? MS(t2) : want;
}

/* Timer E over UDP: T1, 2T1, 4T1, then T2 each; F ends it with 408. */

#define TEST(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

#endif
