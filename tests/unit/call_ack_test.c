/* call_ack_test.c — our ACKs to a peer's 2xx, resent while the leg lives
 * and kept per worker for 64*T1 after it ends (RFC 3261 13.2.2.4). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>
#include <apr_general.h>
#include <apr_strings.h>
#include <apr_time.h>
#include "sipsbridge/sb_log.h"
#include "call.h"
#include "endpoint.h"
#include "pool_fixture.h"

#define NWORKERS 2
/* call_ack.c's LINGER_MAX: a worker keeps no more ended legs' ACKs. */
#define LINGER_MAX 4096
#define OUR_TAG "ours1"

/* What call_ack.c calls outside itself, recorded. */
static struct {
	unsigned worker; /* sb_worker_self's index */
	int no_worker;	 /* sb_worker_self returns NULL */
	int sends, requests, flows, logs;
	sip_target_t to; /* of the last send */
	char buf[1024];
	apr_size_t len;
	const char *log_tag;
} io;

sb_worker_t *sb_worker_self(void)
{
	return io.no_worker ? NULL : (sb_worker_t *)&io.worker;
}

unsigned sb_worker_index(const sb_worker_t *w)
{
	return *(const unsigned *)w;
}

void sb_log(sb_log_level_e level, const char *tag, const char *fmt, ...)
{
	(void)level;
	(void)fmt;
	io.logs++;
	io.log_tag = tag;
}

apr_status_t endpoint_send(const sip_target_t *to, const char *buf,
			   apr_size_t len)
{
	assert_true(len < sizeof(io.buf));
	memcpy(io.buf, buf, len);
	io.len = len;
	io.to = *to;
	io.sends++;
	return APR_SUCCESS;
}

void call_leg_ensure_flow(call_leg_t *leg)
{
	(void)leg;
	io.flows++;
}

/* Each ACK built gets a new branch: a resend that built it again would
 * not be byte-identical. */
void call_leg_request(call_leg_t *leg, apr_pool_t *p, const char *method,
		      apr_uint32_t cseq, sip_build_t *b)
{
	const dialog_t *d = &leg->dlg;

	sip_build_request(b, p, method, d->remote_target);
	sip_build_addf(b, "Via", "SIP/2.0/UDP 192.0.2.1:5060;branch=%s",
		       sip_build_branch(p));
	sip_build_addf(b, "From", "<sip:us@192.0.2.1>;tag=%s", d->local_tag);
	sip_build_addf(b, "To", "<sip:them@192.0.2.9>;tag=%s", d->remote_tag);
	sip_build_add(b, "Call-ID", d->call_id);
	sip_build_addf(b, "CSeq", "%u %s", cseq, method);
	io.requests++;
}

static sips_profile_t prof[2];

static int setup(void **state)
{
	if (pool_setup(state))
		return -1;
	memset(&io, 0, sizeof(io));
	memset(prof, 0, sizeof(prof));
	prof[0].name = "p0";
	prof[1].name = "p1";
	prof[0].timers.t1 = prof[1].timers.t1 = apr_time_from_msec(500);
	return call_ack_init(NWORKERS, pool) == APR_SUCCESS ? 0 : -1;
}

/* Whatever a test left kept is freed here (the leak check sees the
 * rest), as at shutdown: forget(NULL) on every worker. */
static int teardown(void **state)
{
	unsigned w;

	io.no_worker = 0;
	for (w = 0; w < NWORKERS; w++) {
		io.worker = w;
		call_ack_forget(NULL);
	}
	return pool_teardown(state);
}

/* A leg in a dialog on worker @p w; @p port tells its target apart. */
static call_leg_t *leg_new(sips_profile_t *p, int inbound, unsigned w,
			   const char *call_id, const char *their_tag, int port)
{
	call_leg_t *leg = apr_pcalloc(pool, sizeof(*leg));

	leg->pool = pool;
	leg->profile = p;
	leg->inbound = inbound;
	leg->worker_index = w;
	leg->dlg.call_id = call_id;
	leg->dlg.local_tag = OUR_TAG;
	leg->dlg.remote_tag = their_tag;
	leg->dlg.remote_target = "sip:them@192.0.2.9:5060";
	leg->dlg.to.profile = p;
	leg->dlg.to.transport = SIPS_TP_UDP;
	leg->dlg.to.peer_port = port;
	return leg;
}

/* call_ack_send, and the bytes it sent. */
static const char *send_ack(call_leg_t *leg, call_ack_t *ack, apr_uint32_t cseq)
{
	int before = io.sends;

	call_ack_send(leg, ack, cseq);
	assert_int_equal(io.sends, before + 1);
	assert_ptr_not_equal(ack->buf, NULL);
	assert_int_equal(ack->cseq, cseq);
	return apr_pstrmemdup(pool, io.buf, io.len);
}

/* A peer's 2xx to our INVITE (From: our tag, To: theirs). */
static const sip_msg_t *ok_2xx(const char *call_id, const char *our_tag,
			       const char *their_tag, apr_uint32_t cseq)
{
	sip_msg_t *m = apr_pcalloc(pool, sizeof(*m));
	const char *t =
	    apr_psprintf(pool,
			 "SIP/2.0 200 OK\r\n"
			 "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKab\r\n"
			 "From: <sip:us@192.0.2.1>;tag=%s\r\n"
			 "To: <sip:them@192.0.2.9>;tag=%s\r\n"
			 "Call-ID: %s\r\nCSeq: %u INVITE\r\n"
			 "Content-Length: 0\r\n\r\n",
			 our_tag, their_tag, call_id, (unsigned)cseq);

	assert_int_equal(sip_parse_msg(m, t, strlen(t), NULL, NULL),
			 APR_SUCCESS);
	return m;
}

/* That 2xx arrives on worker @p w after its leg ended: 1 when our ACK
 * went again (then in io.buf); it is sent once or not at all. */
static int stray_full(unsigned w, const char *call_id, const char *our_tag,
		      const char *their_tag, apr_uint32_t cseq)
{
	const sip_msg_t *m = ok_2xx(call_id, our_tag, their_tag, cseq);
	int r;

	io.worker = w;
	io.sends = 0;
	io.len = 0;
	r = call_ack_stray_2xx(m);
	assert_int_equal(io.sends, r);
	return r;
}

static int stray(unsigned w, const char *call_id, const char *their_tag,
		 apr_uint32_t cseq)
{
	return stray_full(w, call_id, OUR_TAG, their_tag, cseq);
}

/* Sent and answered again with the very same bytes: the stray ACK is
 * the one the leg sent, to the leg's target. */
static void assert_resent(const char *ack, const sips_profile_t *p, int port)
{
	assert_int_equal(io.len, strlen(ack));
	assert_memory_equal(io.buf, ack, io.len);
	assert_ptr_equal(io.to.profile, p);
	assert_int_equal(io.to.peer_port, port);
}

/* One ended leg on profile @p p, worker @p w, its ACK sent. */
static const char *keep_one(sips_profile_t *p, unsigned w, const char *call_id,
			    int port)
{
	call_leg_t *leg = leg_new(p, 0, w, call_id, "t1", port);
	const char *ack = send_ack(leg, &leg->invite_ack, 1);

	call_ack_leg_gone(leg);
	return ack;
}

static void test_live_leg_resends_same_bytes(void **state)
{
	call_leg_t *b = leg_new(&prof[0], 0, 0, "live1", "t1", 5071);
	call_leg_t *a = leg_new(&prof[0], 1, 0, "live2", "t2", 5072);
	const char *first, *re;

	(void)state;
	first = send_ack(b, &b->invite_ack, 1);
	assert_non_null(strstr(first, "CSeq: 1 ACK"));
	/* The same CSeq again: stored bytes, nothing built. */
	assert_string_equal(send_ack(b, &b->invite_ack, 1), first);
	assert_int_equal(io.requests, 1);
	io.sends = 0;
	assert_int_equal(call_ack_resend(b, ok_2xx("live1", OUR_TAG, "t1", 1)),
			 1);
	assert_resent(first, &prof[0], 5071);
	assert_int_equal(io.flows, 3);
	/* Another fork's 2xx, or a CSeq we did not ACK: not ours. */
	assert_int_equal(call_ack_resend(b, ok_2xx("live1", OUR_TAG, "t9", 1)),
			 0);
	assert_int_equal(call_ack_resend(b, ok_2xx("live1", OUR_TAG, "t1", 2)),
			 0);
	re = send_ack(b, &b->reinvite_ack, 2);
	assert_string_not_equal(re, first);
	assert_int_equal(call_ack_resend(b, ok_2xx("live1", OUR_TAG, "t1", 2)),
			 1);
	assert_resent(re, &prof[0], 5071);
	/* An A leg's invite_ack answers nothing. */
	send_ack(a, &a->invite_ack, 1);
	io.sends = 0;
	assert_int_equal(call_ack_resend(a, ok_2xx("live2", OUR_TAG, "t2", 1)),
			 0);
	assert_int_equal(io.sends, 0);
	call_ack_leg_gone(b);
	call_ack_leg_gone(a);
}

/* An INVITE rejected (400) before its dialog was made: no Call-ID. */
static void test_no_dialog_keeps_nothing(void **state)
{
	call_leg_t *a = leg_new(&prof[0], 1, 0, NULL, NULL, 5060);
	call_leg_t *b = leg_new(&prof[0], 0, 0, NULL, "t1", 5060);

	(void)state;
	call_ack_leg_gone(a);
	assert_null(a->invite_ack.buf);
	/* Even holding an ACK, a leg without a Call-ID keeps none (it
	 * would be found as the "(null)" its key printed to). */
	b->invite_ack.buf = malloc(3);
	assert_non_null(b->invite_ack.buf);
	memcpy(b->invite_ack.buf, "ACK", 3);
	b->invite_ack.len = 3;
	b->invite_ack.cseq = 1;
	b->invite_ack.sent = apr_time_now();
	call_ack_leg_gone(b);
	assert_null(b->invite_ack.buf);
	assert_int_equal(b->invite_ack.len, 0);
	assert_int_equal(stray(0, "(null)", "t1", 1), 0);
	assert_int_equal(io.logs, 0);
}

static void test_stray_only_same_2xx_same_worker(void **state)
{
	call_leg_t *b = leg_new(&prof[0], 0, 1, "call1", "t1", 5071);
	const char *ack;

	(void)state;
	ack = send_ack(b, &b->invite_ack, 1);
	call_ack_leg_gone(b);
	assert_null(b->invite_ack.buf);
	io.requests = 0;
	assert_int_equal(stray(1, "call1", "t1", 1), 1);
	assert_resent(ack, &prof[0], 5071);
	assert_string_equal(io.log_tag, "SB02618");
	/* Still kept: a third copy of the 2xx is answered too. */
	assert_int_equal(stray(1, "call1", "t1", 1), 1);
	assert_resent(ack, &prof[0], 5071);
	assert_int_equal(io.requests, 0);
	assert_int_equal(stray(1, "call1", "t1", 2), 0); /* CSeq */
	assert_int_equal(stray(1, "call1", "t2", 1), 0); /* a fork */
	assert_int_equal(stray(1, "call2", "t1", 1), 0); /* Call-ID */
	assert_int_equal(stray_full(1, "call1", "zz", "t1", 1), 0); /* From */
	assert_int_equal(stray(0, "call1", "t1", 1), 0);	    /* worker */
	io.no_worker = 1;
	assert_int_equal(stray(1, "call1", "t1", 1), 0);
	io.no_worker = 0;
	assert_int_equal(stray(1, "call1", "t1", 1), 1);
}

static void test_reinvite_kept_inbound_invite_not(void **state)
{
	call_leg_t *b = leg_new(&prof[0], 0, 0, "callB", "tb", 5071);
	call_leg_t *a = leg_new(&prof[0], 1, 0, "callA", "ta", 5072);
	const char *b_inv, *b_re, *a_re;

	(void)state;
	b_inv = send_ack(b, &b->invite_ack, 1);
	b_re = send_ack(b, &b->reinvite_ack, 3);
	send_ack(a, &a->invite_ack, 1);
	a_re = send_ack(a, &a->reinvite_ack, 2);
	call_ack_leg_gone(b);
	call_ack_leg_gone(a);
	assert_null(a->invite_ack.buf);
	assert_null(a->reinvite_ack.buf);
	assert_int_equal(stray(0, "callB", "tb", 1), 1);
	assert_resent(b_inv, &prof[0], 5071);
	assert_int_equal(stray(0, "callB", "tb", 3), 1);
	assert_resent(b_re, &prof[0], 5071);
	assert_int_equal(stray(0, "callB", "tb", 2), 0);
	assert_int_equal(stray(0, "callA", "ta", 2), 1);
	assert_resent(a_re, &prof[0], 5072);
	assert_int_equal(stray(0, "callA", "ta", 1), 0);
}

static void test_expiry_after_64_t1(void **state)
{
	call_leg_t *old = leg_new(&prof[0], 0, 1, "old", "t1", 5070);
	call_leg_t *s, *l;
	const char *ack;

	(void)state;
	/* ACKed more than 64*T1 before the leg ended: not kept at all,
	 * even behind a live entry (only the head is checked later). */
	ack = keep_one(&prof[0], 1, "live", 5069);
	send_ack(old, &old->invite_ack, 1);
	old->invite_ack.sent -= 64 * prof[0].timers.t1 + apr_time_from_sec(1);
	call_ack_leg_gone(old);
	assert_int_equal(stray(1, "old", "t1", 1), 0);
	assert_int_equal(stray(1, "live", "t1", 1), 1);
	assert_resent(ack, &prof[0], 5069);

	/* 64*T1 of 10 ms: 640 ms. Kept, then gone once that passed; a
	 * leg of the 500 ms profile kept after it stays. */
	prof[1].timers.t1 = apr_time_from_msec(10);
	s = leg_new(&prof[1], 0, 0, "short", "t1", 5071);
	l = leg_new(&prof[0], 0, 0, "long", "t1", 5072);
	send_ack(s, &s->invite_ack, 1);
	call_ack_leg_gone(s);
	ack = send_ack(l, &l->invite_ack, 1);
	call_ack_leg_gone(l);
	assert_int_equal(stray(0, "short", "t1", 1), 1);
	apr_sleep(64 * prof[1].timers.t1 + apr_time_from_msec(50));
	assert_int_equal(stray(0, "short", "t1", 1), 0);
	assert_int_equal(stray(0, "long", "t1", 1), 1);
	assert_resent(ack, &prof[0], 5072);
}

static void test_forget_profile_then_all(void **state)
{
	const char *p0_first, *p0_last, *p1_other;

	(void)state;
	p0_first = keep_one(&prof[0], 0, "p0-1", 5070);
	keep_one(&prof[1], 0, "p1-1", 5071);
	p1_other = keep_one(&prof[1], 1, "p1-w1", 5072);
	/* The tail is p1's: the list must be mended when it goes. */
	io.worker = 0;
	call_ack_forget(&prof[1]);
	assert_int_equal(stray(0, "p1-1", "t1", 1), 0);
	assert_int_equal(stray(0, "p0-1", "t1", 1), 1);
	assert_resent(p0_first, &prof[0], 5070);
	/* Another worker's list is its own to forget. */
	assert_int_equal(stray(1, "p1-w1", "t1", 1), 1);
	assert_resent(p1_other, &prof[1], 5072);
	p0_last = keep_one(&prof[0], 0, "p0-2", 5073);
	assert_int_equal(stray(0, "p0-1", "t1", 1), 1);
	assert_int_equal(stray(0, "p0-2", "t1", 1), 1);
	assert_resent(p0_last, &prof[0], 5073);

	/* Shutdown on worker 0: all of its ACKs go, none is kept after. */
	io.worker = 0;
	call_ack_forget(NULL);
	assert_int_equal(stray(0, "p0-1", "t1", 1), 0);
	assert_int_equal(stray(0, "p0-2", "t1", 1), 0);
	keep_one(&prof[0], 0, "late", 5074);
	assert_int_equal(stray(0, "late", "t1", 1), 0);
	assert_int_equal(stray(1, "p1-w1", "t1", 1), 1);
}

static void test_linger_max_drops_oldest(void **state)
{
	const char *first = NULL, *last = NULL, *w1;
	unsigned i;

	(void)state;
	w1 = keep_one(&prof[0], 1, "w1", 5060);
	for (i = 0; i <= LINGER_MAX; i++) {
		const char *ack =
		    keep_one(&prof[0], 0, apr_psprintf(pool, "c%u", i),
			     5000 + (int)(i % 1000));

		if (i == 1)
			first = ack;
		last = ack;
	}
	assert_int_equal(stray(0, "c0", "t1", 1), 0);
	assert_int_equal(stray(0, "c1", "t1", 1), 1);
	assert_resent(first, &prof[0], 5001);
	assert_int_equal(
	    stray(0, apr_psprintf(pool, "c%u", LINGER_MAX), "t1", 1), 1);
	assert_resent(last, &prof[0], 5000 + LINGER_MAX % 1000);
	/* The cap is per worker. */
	assert_int_equal(stray(1, "w1", "t1", 1), 1);
	assert_resent(w1, &prof[0], 5060);
}

#define ack_test(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    ack_test(test_live_leg_resends_same_bytes),
	    ack_test(test_no_dialog_keeps_nothing),
	    ack_test(test_stray_only_same_2xx_same_worker),
	    ack_test(test_reinvite_kept_inbound_invite_not),
	    ack_test(test_expiry_after_64_t1),
	    ack_test(test_forget_profile_then_all),
	    ack_test(test_linger_max_drops_oldest),
	};
	int rc;

	apr_initialize();
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	apr_terminate();
	return rc;
}
