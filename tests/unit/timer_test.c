/* timer_test.c — the timer heap, and timers on a running worker. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <apr_general.h>
#include "loop_private.h"

/*
 * The compiler's atomics, not apr_atomic_*: APR's read is a plain volatile
 * load, which orders nothing for the fields a callback wrote before it.
 */
#define COUNT_UP(p) __atomic_add_fetch((p), 1, __ATOMIC_RELEASE)
#define COUNT_GET(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)

#define NTIMERS 500

#include "pool_fixture.h"

/* What the callbacks record, in firing order. */
typedef struct fired_log {
	sb_timer_t *order[NTIMERS * 2];
	apr_size_t n;
} fired_log_t;

typedef struct test_timer {
	sb_timer_t t;
	fired_log_t *log;
	sb_worker_t *worker;
	struct test_timer *victim; /* stopped by this one's callback */
	int rearm;		   /* re-arms itself this many times */
} test_timer_t;

static void record(void *baton)
{
	test_timer_t *tt = baton;

	tt->log->order[tt->log->n++] = &tt->t;
}

/* Every parent due <= child due; every index matches its slot. */
static void assert_heap_ok(const sb_timer_heap_t *h)
{
	apr_size_t i;

	for (i = 1; i <= h->n; i++) {
		assert_int_equal(h->slot[i]->heap_index, i);
		if (i > 1)
			assert_true(h->slot[i / 2]->due <= h->slot[i]->due);
	}
}

static void test_heap_random_ops(void **state)
{
	enum { NT = 300, NOPS = 10000 };
	static sb_timer_t timers[NT];
	sb_timer_heap_t h;
	sb_timer_t *t, *top;
	apr_size_t pending, i;
	int op;

	(void)state;
	memset(timers, 0, sizeof(timers));
	sb_timer_heap_init(&h);
	srand(12345);
	for (i = 0; i < NOPS; i++) {
		t = &timers[rand() % NT];
		op = rand() % 4;
		if (op == 0 || op == 1) {
			/* Insert or re-arm: the same call. */
			sb_timer_heap_arm(&h, t, rand() % 100000);
		} else if (op == 2) {
			sb_timer_heap_remove(&h, t);
			assert_int_equal(t->heap_index, 0);
		} else if (h.n) {
			/* Pop the minimum: nothing pending is earlier. */
			top = sb_timer_heap_top(&h);
			sb_timer_heap_remove(&h, top);
			for (pending = 1; pending <= h.n; pending++)
				assert_true(h.slot[pending]->due >= top->due);
		}
		assert_heap_ok(&h);
		for (pending = 0, op = 0; op < NT; op++)
			pending += timers[op].heap_index != 0;
		assert_int_equal(pending, h.n);
	}
	sb_timer_heap_fini(&h);
}

static void test_heap_timeout(void **state)
{
	sb_timer_heap_t h;
	sb_timer_t a = {0};

	(void)state;
	sb_timer_heap_init(&h);
	assert_int_equal(sb_timer_heap_timeout(&h, 1000, 777), 777);
	sb_timer_heap_arm(&h, &a, 5000);
	assert_int_equal(sb_timer_heap_timeout(&h, 1000, 1000000), 4000);
	/* Rounded up to whole milliseconds, never truncated to 0. */
	assert_int_equal(sb_timer_heap_timeout(&h, 4500, 1000000), 1000);
	assert_int_equal(sb_timer_heap_timeout(&h, 6000, 1000000), 0);
	assert_int_equal(sb_timer_heap_timeout(&h, 0, 2000), 2000);
	sb_timer_heap_fini(&h);
}

/* Fire in due order, whatever the insertion order. */
static void test_expire_order(void **state)
{
	static test_timer_t tt[NTIMERS];
	static fired_log_t log;
	sb_timer_heap_t h;
	apr_size_t i;

	(void)state;
	memset(tt, 0, sizeof(tt));
	memset(&log, 0, sizeof(log));
	sb_timer_heap_init(&h);
	srand(777);
	for (i = 0; i < NTIMERS; i++) {
		tt[i].log = &log;
		tt[i].t.fn = record;
		tt[i].t.baton = &tt[i];
		sb_timer_heap_arm(&h, &tt[i].t, 1 + rand() % 10000);
	}
	/* Half way: only the early ones. */
	assert_true(sb_timer_heap_expire(&h, 5000) == log.n);
	for (i = 0; i < log.n; i++)
		assert_true(log.order[i]->due <= 5000);
	for (i = 1; i <= h.n; i++)
		assert_true(h.slot[i]->due > 5000);
	sb_timer_heap_expire(&h, 10000);
	assert_int_equal(log.n, NTIMERS);
	assert_int_equal(h.n, 0);
	for (i = 1; i < log.n; i++)
		assert_true(log.order[i - 1]->due <= log.order[i]->due);
	for (i = 0; i < NTIMERS; i++)
		assert_false(sb_timer_pending(&tt[i].t));
	sb_timer_heap_fini(&h);
}

static void stop_victim(void *baton)
{
	test_timer_t *tt = baton;

	record(tt);
	sb_timer_stop(tt->worker, &tt->victim->t);
}

static void rearm_self(void *baton)
{
	test_timer_t *tt = baton;

	record(tt);
	if (tt->rearm-- > 0)
		sb_timer_start(tt->worker, &tt->t, 0, rearm_self, tt);
}

/*
 * sb_timer_* on a worker whose loop is not started (so this thread owns
 * it), expiry driven by hand with chosen clocks.
 */
static void test_start_stop_rearm(void **state)
{
	static fired_log_t log;
	test_timer_t a = {0}, b = {0}, c = {0};
	sb_timer_heap_t *h;
	sb_loop_t *loop;
	sb_worker_t *w;
	apr_time_t now;

	(void)state;
	memset(&log, 0, sizeof(log));
	assert_int_equal(sb_loop_create(&loop, 1, pool), APR_SUCCESS);
	w = sb_loop_worker(loop, 0);
	h = sb_worker_timers(w);
	a.log = b.log = c.log = &log;
	a.worker = b.worker = c.worker = w;
	now = apr_time_now();
	sb_timer_start(w, &a.t, apr_time_from_sec(10), record, &a);
	sb_timer_start(w, &b.t, apr_time_from_sec(20), record, &b);
	sb_timer_start(w, &c.t, apr_time_from_sec(30), record, &c);
	assert_true(sb_timer_pending(&a.t));
	/* Re-arm a later than c: no duplicate, new position. */
	sb_timer_start(w, &a.t, apr_time_from_sec(40), record, &a);
	assert_int_equal(h->n, 3);
	assert_ptr_equal(sb_timer_heap_top(h), &b.t);
	/* Stop b; stopping twice is harmless. */
	sb_timer_stop(w, &b.t);
	sb_timer_stop(w, &b.t);
	assert_false(sb_timer_pending(&b.t));
	sb_timer_heap_expire(h, now + apr_time_from_sec(35));
	assert_int_equal(log.n, 1);
	assert_ptr_equal(log.order[0], &c.t);
	sb_timer_heap_expire(h, now + apr_time_from_sec(45));
	assert_int_equal(log.n, 2);
	assert_ptr_equal(log.order[1], &a.t);
	assert_null(sb_timer_heap_top(h));
	sb_loop_stop(loop);
}

static void test_callback_stops_other(void **state)
{
	static fired_log_t log;
	test_timer_t a = {0}, b = {0}, s = {0};
	sb_timer_heap_t *h;
	sb_loop_t *loop;
	sb_worker_t *w;

	(void)state;
	memset(&log, 0, sizeof(log));
	assert_int_equal(sb_loop_create(&loop, 1, pool), APR_SUCCESS);
	w = sb_loop_worker(loop, 0);
	h = sb_worker_timers(w);
	a.log = b.log = s.log = &log;
	a.worker = b.worker = s.worker = w;
	a.victim = &b;
	sb_timer_start(w, &a.t, 1000, stop_victim, &a);
	sb_timer_start(w, &b.t, 2000, record, &b);
	/* s re-arms itself three times with no delay. */
	s.rearm = 3;
	sb_timer_start(w, &s.t, 3000, rearm_self, &s);
	/* Both a and b are due, but a fires first and disarms b. */
	sb_timer_heap_expire(h, apr_time_now() + 10000);
	assert_ptr_equal(log.order[0], &a.t);
	assert_ptr_equal(log.order[1], &s.t);
	assert_false(sb_timer_pending(&b.t));
	/*
	 * Self re-arming is bounded by the timers present on entry (3), so
	 * one pass cannot loop forever.
	 */
	assert_int_equal(log.n, 3);
	assert_ptr_equal(log.order[2], &s.t);
	while (sb_timer_pending(&s.t))
		sb_timer_heap_expire(h, apr_time_now() + 10000);
	assert_int_equal(log.n, 5);
	assert_int_equal(h->n, 0);
	sb_loop_stop(loop);
}

/* Real timers on a running worker thread. */
typedef struct live {
	sb_timer_t t[20];
	sb_timer_t never;
	sb_worker_t *worker;
	apr_time_t armed;
	apr_time_t fired_at[20];
	apr_uint32_t nfired;
	apr_uint32_t wrong_thread;
	apr_uint32_t never_fired;
} live_t;

static live_t *live_ctx;

static void live_record(void *baton)
{
	size_t i = (size_t)baton;

	live_ctx->fired_at[i] = apr_time_now();
	if (sb_worker_self() != live_ctx->worker)
		COUNT_UP(&live_ctx->wrong_thread);
	COUNT_UP(&live_ctx->nfired);
}

static void live_never(void *baton)
{
	(void)baton;
	COUNT_UP(&live_ctx->never_fired);
}

static void live_arm(void *baton)
{
	live_t *lv = baton;
	size_t i;

	lv->armed = apr_time_now();
	/* Reverse arming order: 20 ms down to 1 ms apart. */
	for (i = 0; i < 20; i++)
		sb_timer_start(lv->worker, &lv->t[i],
			       apr_time_from_msec(40 - 2 * i), live_record,
			       (void *)i);
	sb_timer_start(lv->worker, &lv->never, apr_time_from_sec(60),
		       live_never, NULL);
}

static void test_live_timers(void **state)
{
	static live_t lv;
	sb_loop_t *loop;
	apr_time_t deadline;
	int i;

	(void)state;
	memset(&lv, 0, sizeof(lv));
	live_ctx = &lv;
	assert_int_equal(sb_loop_create(&loop, 2, pool), APR_SUCCESS);
	lv.worker = sb_loop_worker(loop, 1);
	assert_int_equal(sb_loop_start(loop), APR_SUCCESS);
	assert_int_equal(sb_worker_call(lv.worker, live_arm, &lv), APR_SUCCESS);
	deadline = apr_time_now() + apr_time_from_sec(2);
	while (COUNT_GET(&lv.nfired) < 20 && apr_time_now() < deadline)
		apr_sleep(1000);
	/* Stopping with a pending timer: it never fires, nothing leaks. */
	sb_loop_stop(loop);
	assert_int_equal(lv.nfired, 20);
	assert_int_equal(lv.wrong_thread, 0);
	assert_int_equal(lv.never_fired, 0);
	for (i = 0; i < 20; i++) {
		/* Not early; t[19] is due first. */
		assert_true(lv.fired_at[i] - lv.armed >=
			    apr_time_from_msec(40 - 2 * i));
		if (i > 0)
			assert_true(lv.fired_at[i] <= lv.fired_at[i - 1]);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_heap_random_ops),
	    cmocka_unit_test(test_heap_timeout),
	    cmocka_unit_test(test_expire_order),
	    cmocka_unit_test(test_start_stop_rearm),
	    cmocka_unit_test(test_callback_stops_other),
	    cmocka_unit_test(test_live_timers),
	};
	int rc;

	apr_initialize();
	rc = cmocka_run_group_tests(tests, pool_setup, pool_teardown);
	apr_terminate();
	return rc;
}
