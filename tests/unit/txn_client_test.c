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

/* Stand-ins for profiles: the txn code compares the pointers only. */
static long profile_mem[3];
#define PROF_A ((struct sips_profile *)&profile_mem[0])
#define PROF_B ((struct sips_profile *)&profile_mem[1])
#define PROF_C ((struct sips_profile *)&profile_mem[2])

/* Callbacks from @p from on with @p baton and @p status, and no
 * response: how the end of a transaction is heard. */
static int ended_with(int from, const void *baton, int status)
{
	int i, n = 0, end = nheard();
	heard_t h;

	for (i = from; i < end; i++) {
		h = heard_at(i);
		if (h.baton == baton && h.status == status && !h.has_resp)
			n++;
	}
	return n;
}

/* Sends from @p from on through @p p. */
static int sent_via(int from, const struct sips_profile *p)
{
	int i, n = 0, end = nsent();

	assert_true(end <= MAX_REC);
	for (i = from; i < end; i++)
		if (sent_at(i).profile == p)
			n++;
	return n;
}

/* The transactions test_profile_gone ends, or spares. */
typedef struct pg {
	txn_timers_t t;
	int nict, ict, prov, done, other; /* batons */
	txn_client_t *b_ctx;
	txn_server_t *b_stx;
} pg_t;

/* An INVITE server transaction through @p p, answered 486: Timer G. */
static txn_server_t *pg_rejected(pg_t *w, struct sips_profile *p,
				 const char *branch, unsigned cseq)
{
	op_t a, r;

	a = srx_on(p, SIPS_TP_UDP, mkreq("INVITE", branch, "f1", NULL, cseq),
		   &w->t);
	assert_int_equal(a.rv, APR_SUCCESS);
	assert_int_equal(a.what, TXN_RX_NEW);
	r = srespond(a.stx, 486, mkresp(486, "INVITE", branch, "s", cseq));
	assert_int_equal(r.rv, APR_SUCCESS);
	assert_int_equal(r.state, TXN_COMPLETED);
	return a.stx;
}

/* Through A: an OPTIONS retransmitting (E), an INVITE calling (A), an
 * OPTIONS that had a 100, an INVITE that had its 486 (D, 32 s), a
 * rejected INVITE from a peer (G) and an RFC 2543 OPTIONS from one, not
 * yet answered; through B: an OPTIONS and a rejected INVITE. */
static void pg_start(pg_t *w)
{
	op_t op;

	op = cstart_on(PROF_A, SIPS_TP_UDP,
		       mkreq("OPTIONS", "z9hG4bKpg1", "f1", NULL, 1), &w->t,
		       &w->nict);
	assert_int_equal(op.rv, APR_SUCCESS);
	op = cstart_on(PROF_A, SIPS_TP_UDP,
		       mkreq("INVITE", "z9hG4bKpg2", "f1", NULL, 2), &w->t,
		       &w->ict);
	assert_int_equal(op.rv, APR_SUCCESS);
	op = cstart_on(PROF_A, SIPS_TP_UDP,
		       mkreq("OPTIONS", "z9hG4bKpg3", "f1", NULL, 3), &w->t,
		       &w->prov);
	assert_int_equal(op.rv, APR_SUCCESS);
	assert_int_equal(crx(mkresp(100, "OPTIONS", "z9hG4bKpg3", "t", 3)),
			 APR_SUCCESS);
	op = cstart_on(PROF_A, SIPS_TP_UDP,
		       mkreq("INVITE", "z9hG4bKpg4", "f1", NULL, 4), &w->t,
		       &w->done);
	assert_int_equal(op.rv, APR_SUCCESS);
	assert_int_equal(crx(mkresp(486, "INVITE", "z9hG4bKpg4", "t", 4)),
			 APR_SUCCESS);
	pg_rejected(w, PROF_A, "z9hG4bKpg5", 5);
	op = srx_on(PROF_A, SIPS_TP_UDP, mkreq("OPTIONS", NULL, "f1", NULL, 8),
		    &w->t);
	assert_int_equal(op.what, TXN_RX_NEW);
	op = cstart_on(PROF_B, SIPS_TP_UDP,
		       mkreq("OPTIONS", "z9hG4bKpg6", "f1", NULL, 6), &w->t,
		       &w->other);
	assert_int_equal(op.rv, APR_SUCCESS);
	w->b_ctx = op.ctx;
	w->b_stx = pg_rejected(w, PROF_B, "z9hG4bKpg7", 7);
	assert_int_equal(count(), 8);
	assert_int_equal(nheard(), 2);
	assert_int_equal(heard_at(0).status, 100);
	assert_int_equal(heard_at(1).status, 486);
	/* Six first sends and the ACK through A; E, A and G, due at T1,
	 * have resent some by now. */
	apr_sleep(MS(20) + LATE + MS(10));
	assert_true(sent_via(0, PROF_A) >= 7 + 3);
}

/* What ended through A is matched by nothing; a request's retransmission
 * is new to whichever profile takes it, and ends with that one. */
static void pg_a_forgotten(pg_t *w, int h)
{
	op_t r;
	int n = nsent();

	assert_int_equal(crx(mkresp(200, "OPTIONS", "z9hG4bKpg1", "t", 1)),
			 SB_ENOTFOUND);
	assert_int_equal(crx(mkresp(200, "OPTIONS", "z9hG4bKpg3", "t", 3)),
			 SB_ENOTFOUND);
	/* No ACK: Timer D's transaction is gone too. */
	assert_int_equal(crx(mkresp(486, "INVITE", "z9hG4bKpg4", "t", 4)),
			 SB_ENOTFOUND);
	assert_int_equal(nsent(), n);
	r = srx_on(PROF_C, SIPS_TP_UDP,
		   mkreq("INVITE", "z9hG4bKpg5", "f1", NULL, 5), &w->t);
	assert_int_equal(r.rv, APR_SUCCESS);
	assert_int_equal(r.what, TXN_RX_NEW);
	assert_int_equal(r.count, 3);
	r = profile_gone(PROF_C);
	assert_int_equal(r.count, 2);
	assert_int_equal(nheard(), h);
}

/* B's, untouched, end as RFC 3261 says: K after the 200, I after the ACK. */
static void pg_b_ends(pg_t *w, int h)
{
	op_t st = {.kind = OP_CSTATE, .ctx = w->b_ctx};
	op_t ss = {.kind = OP_SSTATE, .stx = w->b_stx};
	apr_time_t end;

	do_op(&st);
	assert_int_equal(st.state, TXN_TRYING);
	do_op(&ss);
	assert_int_equal(ss.state, TXN_COMPLETED);
	assert_int_equal(ss.status, 486);
	assert_int_equal(crx(mkresp(200, "OPTIONS", "z9hG4bKpg6", "t", 6)),
			 APR_SUCCESS);
	assert_int_equal(nheard(), h + 1);
	assert_ptr_equal(heard_at(h).baton, &w->other);
	assert_int_equal(heard_at(h).status, 200);
	assert_int_equal(heard_at(h).has_resp, 1);
	assert_int_equal(srx_on(PROF_B, SIPS_TP_UDP,
				mkreq("ACK", "z9hG4bKpg7", "f1", "s", 7), &w->t)
			     .what,
			 TXN_RX_ACK_ABSORBED);
	end = apr_time_now() + MS(100) + LATE + MS(500);
	while (count() > 0 && apr_time_now() < end)
		apr_sleep(MS(5));
	assert_int_equal(count(), 0);
	assert_true(all_freed());
}

/* Profile A goes: its pending clients hear 503 once, the rest of its
 * transactions end silently and nothing leaves through A again; B's
 * transactions run on. */
static void test_profile_gone(void **state)
{
	pg_t w = {.t = timers(20, 80, 100)};
	op_t r;
	int h, s, i;

	(void)state;
	pg_start(&w);
	h = nheard();
	r = profile_gone(PROF_A);
	s = r.nsent;
	assert_int_equal(r.count, 2);
	assert_int_equal(nheard(), h + 3);
	assert_int_equal(ended_with(h, &w.nict, 503), 1);
	assert_int_equal(ended_with(h, &w.ict, 503), 1);
	assert_int_equal(ended_with(h, &w.prov, 503), 1);
	/* Ten T1: A's E, A and G would all have fired, B's do. */
	apr_sleep(MS(200));
	assert_int_equal(sent_via(s, PROF_A), 0);
	assert_true(sent_via(s, PROF_B) >= 2);
	assert_int_equal(nheard(), h + 3);
	h = nheard();
	pg_a_forgotten(&w, h);
	pg_b_ends(&w, h);
	apr_sleep(MS(60));
	assert_int_equal(sent_via(s, PROF_A), 0);
	assert_int_equal(nheard(), h + 1);
	for (i = 0; i < nheard(); i++)
		assert_true(heard_at(i).status != 408);
}

/* Destroy with timers pending and a reap queued: no callback, no leak. */
int main(void)
{
	const struct CMUnitTest tests[] = {
	    TEST(test_nict_udp_schedule), TEST(test_nict_tcp_timeout),
	    TEST(test_nict_final),	  TEST(test_ict_schedule_timeout),
	    TEST(test_ict_486_ack),	  TEST(test_ict_2xx),
	    TEST(test_ict_cancel_guard),  TEST(test_send_failure),
	    TEST(test_profile_gone),
	};
	int rc;

	if (apr_initialize() != APR_SUCCESS)
		return 1;
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	apr_terminate();
	return rc;
}
