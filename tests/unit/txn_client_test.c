/* txn_client_test.c — RFC 3261 17.1 client transactions, mock transport. */
#include "txn_harness.h"

/* Callback @p i, once heard within @p max: a timeout (408 with no
 * response), at least @p after past send @p from. */
static heard_t timed_out(int i, int from, apr_interval_time_t after,
			 apr_interval_time_t max)
{
	heard_t h;

	wait_heard(i + 1, max);
	h = heard_at(i);
	assert_int_equal(h.status, 408);
	assert_int_equal(h.has_resp, 0);
	assert_true(h.at - sent_at(from).at >= after - MS(2));
	return h;
}

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
	h = timed_out(0, 0, MS(1280), MS(3000));
	assert_ptr_equal(h.baton, &t);
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

	(void)state;
	op = cstart(SIPS_TP_TCP,
		    mkreq("OPTIONS", "z9hG4bKnict2", "f1", NULL, 1), &t, NULL);
	assert_int_equal(op.rv, APR_SUCCESS);
	timed_out(0, 0, MS(320), MS(2000));
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
	int i, n;

	(void)state;
	assert_int_equal(cstart(SIPS_TP_UDP,
				mkreq("INVITE", "z9hG4bKict1", "f1", NULL, 1),
				&t, NULL)
			     .rv,
			 APR_SUCCESS);
	timed_out(0, 0, MS(640), MS(2000));
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
	h = timed_out(2, n, MS(320), MS(2000));
	assert_ptr_equal(h.baton, &inv_b);
	apr_sleep(MS(40));
	assert_int_equal(count(), 0);
}

/* Figure 8: retransmissions absorbed, the last response resent, J. */
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
int main(void)
{
	const struct CMUnitTest tests[] = {
	    TEST(test_nict_udp_schedule), TEST(test_nict_tcp_timeout),
	    TEST(test_nict_final),	  TEST(test_ict_schedule_timeout),
	    TEST(test_ict_486_ack),	  TEST(test_ict_2xx),
	    TEST(test_ict_cancel_guard),  TEST(test_send_failure),
	};
	int rc;

	if (apr_initialize() != APR_SUCCESS)
		return 1;
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	apr_terminate();
	return rc;
}
