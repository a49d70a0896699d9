/* txn_server_test.c — RFC 3261 17.2 server transactions, mock transport. */
#include "txn_harness.h"

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

/* Timer H: no ACK within 64*T1 ends it; G stops with it.  Margins of
 * hundreds of ms: a loaded machine delays sleepers, never timers early. */
static void test_ist_h_timeout(void **state)
{
	txn_timers_t t = timers(20, 80, 100);
	apr_time_t start;
	op_t a;
	int n;

	(void)state;
	a = srx(SIPS_TP_UDP, mkreq("INVITE", "z9hG4bKist2", "f1", NULL, 1), &t);
	start = apr_time_now();
	srespond(a.stx, 500, mkresp(500, "INVITE", "z9hG4bKist2", "s", 1));
	apr_sleep(MS(600));
	/* Half of H (1280 ms): still there, unless this thread slept long. */
	if (apr_time_now() - start < MS(1200))
		assert_int_equal(count(), 1);
	while (count() && apr_time_now() - start < MS(5000))
		apr_sleep(MS(10));
	assert_int_equal(count(), 0);
	assert_true(apr_time_now() - start >= MS(1280));
	n = nsent();
	assert_true(n >= 12);
	apr_sleep(MS(200));
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

int main(void)
{
	const struct CMUnitTest tests[] = {
	    TEST(test_nist_retransmit),
	    TEST(test_ist_g_until_ack),
	    TEST(test_ist_h_timeout),
	    TEST(test_ist_2xx_and_tcp),
	    TEST(test_cancel_matches_invite),
	    TEST(test_merged_482),
	    TEST(test_rfc2543_fallback),
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
