/* loop_test.c — workers: cross-thread posts, calls, readiness, stop. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <apr_general.h>
#include <apr_thread_proc.h>
#include "sipsbridge/sb_loop.h"

/*
 * The compiler's atomics, not apr_atomic_*: APR's read is a plain volatile
 * load, which orders nothing for the fields a callback wrote before it.
 */
#define COUNT_UP(p) __atomic_add_fetch((p), 1, __ATOMIC_RELEASE)
#define COUNT_GET(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)

#define POSTERS 4
#define PER_POSTER 10000

#include "pool_fixture.h"

/* Poll @p v until it reaches @p want or 2 s pass. */
static apr_uint32_t wait_for(apr_uint32_t *v, apr_uint32_t want)
{
	apr_time_t deadline = apr_time_now() + apr_time_from_sec(2);

	while (COUNT_GET(v) < want && apr_time_now() < deadline)
		apr_sleep(500);
	return COUNT_GET(v);
}

static void test_create_pick(void **state)
{
	sb_worker_t *seen[64] = {0};
	sb_loop_t *loop;
	unsigned i, n;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	(void)state;
	assert_int_equal(sb_loop_create(&loop, 0, pool), APR_SUCCESS);
	n = sb_loop_nworkers(loop);
	assert_int_equal(n, cpus < 1 ? 1 : cpus > 64 ? 64 : cpus);
	for (i = 0; i < n; i++) {
		assert_int_equal(sb_worker_index(sb_loop_worker(loop, i)), i);
		assert_non_null(sb_worker_pool(sb_loop_worker(loop, i)));
	}
	assert_null(sb_loop_worker(loop, n));
	/* Round-robin: n picks visit every worker once. */
	for (i = 0; i < n; i++) {
		sb_worker_t *w = sb_loop_pick(loop);

		assert_null(seen[sb_worker_index(w)]);
		seen[sb_worker_index(w)] = w;
	}
	assert_null(sb_worker_self());
	sb_loop_stop(loop);
	sb_loop_stop(loop);
	assert_int_equal(sb_loop_create(&loop, 65, pool), APR_EINVAL);
}

typedef struct post_rec {
	sb_worker_t *target;
	apr_uint32_t runs;
} post_rec_t;

static apr_uint32_t wrong_worker;

static void count_task(void *baton)
{
	post_rec_t *r = baton;

	if (sb_worker_self() != r->target)
		COUNT_UP(&wrong_worker);
	COUNT_UP(&r->runs);
}

typedef struct poster {
	sb_loop_t *loop;
	post_rec_t *recs;
	apr_uint32_t failed;
} poster_t;

static void *APR_THREAD_FUNC poster_main(apr_thread_t *thd, void *data)
{
	poster_t *p = data;
	unsigned i, nw = sb_loop_nworkers(p->loop);

	for (i = 0; i < PER_POSTER; i++) {
		p->recs[i].target = sb_loop_worker(p->loop, i % nw);
		if (sb_worker_post(p->recs[i].target, count_task,
				   &p->recs[i]) != APR_SUCCESS)
			p->failed++;
	}
	apr_thread_exit(thd, APR_SUCCESS);
	return NULL;
}

static void nop_task(void *baton)
{
	(void)baton;
}

static void test_post_many_threads(void **state)
{
	apr_thread_t *thd[POSTERS];
	poster_t posters[POSTERS];
	post_rec_t *recs;
	sb_loop_t *loop;
	apr_status_t trv;
	unsigned i;

	(void)state;
	wrong_worker = 0;
	recs = calloc(POSTERS * PER_POSTER, sizeof(*recs));
	assert_non_null(recs);
	assert_int_equal(sb_loop_create(&loop, 3, pool), APR_SUCCESS);
	assert_int_equal(sb_loop_start(loop), APR_SUCCESS);
	for (i = 0; i < POSTERS; i++) {
		posters[i].loop = loop;
		posters[i].recs = recs + i * PER_POSTER;
		posters[i].failed = 0;
		assert_int_equal(apr_thread_create(&thd[i], NULL, poster_main,
						   &posters[i], pool),
				 APR_SUCCESS);
	}
	for (i = 0; i < POSTERS; i++) {
		apr_thread_join(&trv, thd[i]);
		assert_int_equal(posters[i].failed, 0);
	}
	/* Queues are FIFO: once a call has run, every earlier post has. */
	for (i = 0; i < sb_loop_nworkers(loop); i++)
		assert_int_equal(
		    sb_worker_call(sb_loop_worker(loop, i), nop_task, NULL),
		    APR_SUCCESS);
	for (i = 0; i < POSTERS * PER_POSTER; i++)
		assert_int_equal(recs[i].runs, 1);
	assert_int_equal(wrong_worker, 0);
	sb_loop_stop(loop);
	free(recs);
}

typedef struct call_probe {
	sb_worker_t *self;
	sb_worker_t *other;
	apr_status_t nested;
	int ran;
} call_probe_t;

static void probe_task(void *baton)
{
	call_probe_t *p = baton;

	/* Give a caller that did not wait a chance to be caught. */
	apr_sleep(20000);
	p->self = sb_worker_self();
	/* A worker must never block on another: refused. */
	p->nested = sb_worker_call(p->other, nop_task, NULL);
	p->ran = 1;
}

static void test_call(void **state)
{
	call_probe_t p = {0};
	sb_loop_t *loop;
	sb_worker_t *w0, *w1;

	(void)state;
	assert_int_equal(sb_loop_create(&loop, 2, pool), APR_SUCCESS);
	w0 = sb_loop_worker(loop, 0);
	w1 = sb_loop_worker(loop, 1);
	assert_int_equal(sb_loop_start(loop), APR_SUCCESS);
	p.other = w1;
	assert_int_equal(sb_worker_call(w0, probe_task, &p), APR_SUCCESS);
	assert_int_equal(p.ran, 1);
	assert_ptr_equal(p.self, w0);
	assert_int_equal(p.nested, APR_EINVAL);
	assert_null(sb_worker_self());
	sb_loop_stop(loop);
	/* Once stopping: refused, not blocked. */
	assert_int_equal(sb_worker_post(w0, nop_task, NULL), APR_EOF);
	assert_int_equal(sb_worker_call(w1, nop_task, NULL), APR_EOF);
}

static void test_call_before_start(void **state)
{
	call_probe_t p = {0};
	sb_loop_t *loop;
	sb_worker_t *w;

	(void)state;
	assert_int_equal(sb_loop_create(&loop, 1, pool), APR_SUCCESS);
	w = sb_loop_worker(loop, 0);
	p.other = w;
	/* No thread yet: runs here, as the worker. */
	assert_int_equal(sb_worker_call(w, probe_task, &p), APR_SUCCESS);
	assert_int_equal(p.ran, 1);
	assert_ptr_equal(p.self, w);
	assert_null(sb_worker_self());
	sb_loop_stop(loop);
}

static apr_uint32_t drained;

static void slow_task(void *baton)
{
	(void)baton;
	apr_sleep(50000);
	COUNT_UP(&drained);
}

static void drain_task(void *baton)
{
	int *freed = baton;

	/* The owner's chance to free what it handed over. */
	*freed = 1;
	COUNT_UP(&drained);
}

/* Tasks still queued when stop begins run once before the thread exits. */
static void test_stop_runs_queued(void **state)
{
	int freed[100] = {0};
	sb_loop_t *loop;
	sb_worker_t *w;
	int i;

	(void)state;
	drained = 0;
	assert_int_equal(sb_loop_create(&loop, 1, pool), APR_SUCCESS);
	w = sb_loop_worker(loop, 0);
	assert_int_equal(sb_loop_start(loop), APR_SUCCESS);
	assert_int_equal(sb_worker_post(w, slow_task, NULL), APR_SUCCESS);
	for (i = 0; i < 100; i++)
		assert_int_equal(sb_worker_post(w, drain_task, &freed[i]),
				 APR_SUCCESS);
	sb_loop_stop(loop);
	assert_int_equal(drained, 101);
	for (i = 0; i < 100; i++)
		assert_int_equal(freed[i], 1);
	/* Never started: the queue is run by stop itself. */
	drained = 0;
	assert_int_equal(sb_loop_create(&loop, 1, pool), APR_SUCCESS);
	w = sb_loop_worker(loop, 0);
	assert_int_equal(sb_worker_post(w, drain_task, &freed[0]), APR_SUCCESS);
	sb_loop_stop(loop);
	assert_int_equal(drained, 1);
}

/* A loop left running is stopped by its pool, before the worker pools go. */
static void test_pool_destroy_stops(void **state)
{
	apr_pool_t *p;
	sb_loop_t *loop;

	(void)state;
	drained = 0;
	assert_int_equal(apr_pool_create(&p, pool), APR_SUCCESS);
	assert_int_equal(sb_loop_create(&loop, 2, p), APR_SUCCESS);
	assert_int_equal(sb_loop_start(loop), APR_SUCCESS);
	assert_int_equal(
	    sb_worker_post(sb_loop_worker(loop, 1), slow_task, NULL),
	    APR_SUCCESS);
	apr_pool_destroy(p);
	assert_int_equal(drained, 1);
}

/* A UDP socket bound to 127.0.0.1 and the address it got. */
static apr_socket_t *udp_bound(apr_sockaddr_t **where)
{
	apr_sockaddr_t *sa;
	apr_socket_t *s;

	assert_int_equal(
	    apr_sockaddr_info_get(&sa, "127.0.0.1", APR_INET, 0, 0, pool),
	    APR_SUCCESS);
	assert_int_equal(
	    apr_socket_create(&s, APR_INET, SOCK_DGRAM, APR_PROTO_UDP, pool),
	    APR_SUCCESS);
	assert_int_equal(apr_socket_bind(s, sa), APR_SUCCESS);
	assert_int_equal(apr_socket_opt_set(s, APR_SO_NONBLOCK, 1),
			 APR_SUCCESS);
	if (where)
		assert_int_equal(apr_socket_addr_get(where, APR_LOCAL, s),
				 APR_SUCCESS);
	return s;
}

typedef struct watched {
	sb_io_t io;
	apr_socket_t *sock;
	apr_sockaddr_t *from; /* made here: pools are one thread's */
	void *pair;	      /* the batch test's pair_t */
	apr_int16_t events;   /* for sb_io_add */
	apr_uint32_t calls;
	apr_int16_t last_revents;
	sb_worker_t *called_on;
	int remove_self;
	apr_status_t add_rv;
	char got[32];
} watched_t;

static void drain_socket(watched_t *wt)
{
	apr_size_t len = sizeof(wt->got) - 1;

	if (apr_socket_recvfrom(wt->from, wt->sock, 0, wt->got, &len) ==
	    APR_SUCCESS)
		wt->got[len] = '\0';
}

static void on_ready(void *baton, apr_int16_t revents)
{
	watched_t *wt = baton;

	wt->last_revents = revents;
	wt->called_on = sb_worker_self();
	if (revents & APR_POLLIN)
		drain_socket(wt);
	if (revents & APR_POLLOUT)
		sb_io_set_events(&wt->io, APR_POLLIN);
	if (wt->remove_self)
		sb_io_remove(&wt->io);
	COUNT_UP(&wt->calls);
}

static void watch_task(void *baton)
{
	watched_t *wt = baton;

	wt->add_rv = sb_io_add(sb_worker_self(), &wt->io, wt->sock, wt->events,
			       on_ready, wt);
}

static void unwatch_task(void *baton)
{
	watched_t *wt = baton;

	sb_io_remove(&wt->io);
}

static void pollout_task(void *baton)
{
	watched_t *wt = baton;

	sb_io_set_events(&wt->io, APR_POLLOUT);
}

typedef struct send_req {
	apr_socket_t *tx;
	apr_sockaddr_t *to;
	const char *msg;
	apr_status_t rv;
} send_req_t;

static void send_task(void *baton)
{
	send_req_t *r = baton;
	apr_size_t len = strlen(r->msg);

	r->rv = apr_socket_sendto(r->tx, r->to, 0, r->msg, &len);
}

/*
 * Send from the worker itself: the datagram then follows, through the
 * task queue's lock, whatever this thread wrote before (ThreadSanitizer
 * cannot see the causality through a socket).
 */
static void send_on(sb_worker_t *w, send_req_t *r, const char *msg)
{
	r->msg = msg;
	assert_int_equal(sb_worker_call(w, send_task, r), APR_SUCCESS);
	assert_int_equal(r->rv, APR_SUCCESS);
}

static void test_io_readiness(void **state)
{
	watched_t wt = {0};
	send_req_t r = {0};
	sb_loop_t *loop;
	sb_worker_t *w;

	(void)state;
	assert_int_equal(sb_loop_create(&loop, 2, pool), APR_SUCCESS);
	w = sb_loop_worker(loop, 1);
	assert_int_equal(sb_loop_start(loop), APR_SUCCESS);
	wt.sock = udp_bound(&r.to);
	assert_int_equal(
	    apr_sockaddr_info_get(&wt.from, "127.0.0.1", APR_INET, 0, 0, pool),
	    APR_SUCCESS);
	r.tx = udp_bound(NULL);
	wt.events = APR_POLLIN;
	assert_int_equal(sb_worker_call(w, watch_task, &wt), APR_SUCCESS);
	assert_int_equal(wt.add_rv, APR_SUCCESS);
	assert_int_equal(wt.io.added, 1);
	assert_int_equal(COUNT_GET(&wt.calls), 0);
	send_on(w, &r, "hello");
	assert_int_equal(wait_for(&wt.calls, 1), 1);
	assert_true(wt.last_revents & APR_POLLIN);
	assert_ptr_equal(wt.called_on, w);
	assert_string_equal(wt.got, "hello");
	/* POLLOUT on an idle UDP socket is ready at once. */
	assert_int_equal(sb_worker_call(w, pollout_task, &wt), APR_SUCCESS);
	assert_int_equal(wait_for(&wt.calls, 2), 2);
	assert_true(wt.last_revents & APR_POLLOUT);
	assert_int_equal(wt.io.pfd.reqevents, APR_POLLIN);
	/* Removed inside its own callback: no further calls. */
	wt.remove_self = 1;
	send_on(w, &r, "one");
	assert_int_equal(wait_for(&wt.calls, 3), 3);
	assert_int_equal(wt.io.added, 0);
	send_on(w, &r, "two");
	apr_sleep(50000);
	assert_int_equal(sb_worker_call(w, nop_task, NULL), APR_SUCCESS);
	assert_int_equal(wt.calls, 3);
	assert_string_equal(wt.got, "one");
	/* Removing again is harmless. */
	assert_int_equal(sb_worker_call(w, unwatch_task, &wt), APR_SUCCESS);
	sb_loop_stop(loop);
}

typedef struct pair {
	watched_t *w[2];
	apr_sockaddr_t *addr[2];
	apr_socket_t *tx;
	apr_status_t send_rv[2];
	apr_status_t add_rv[2]; /* here: one watched_t is freed soon after */
	unsigned calls;
} pair_t;

/* Whichever of the two runs first removes and frees the other. */
static void on_pair_ready(void *baton, apr_int16_t revents)
{
	watched_t *wt = baton;
	pair_t *p = wt->pair;
	int other = p->w[0] == wt ? 1 : 0;

	(void)revents;
	p->calls++;
	sb_io_remove(&wt->io);
	sb_io_remove(&p->w[other]->io);
	free(p->w[other]);
	p->w[other] = NULL;
}

/*
 * On the worker: make both sockets readable, then watch both, so the next
 * poll returns them in one batch.
 */
static void pair_arm(void *baton)
{
	pair_t *p = baton;
	apr_size_t len;
	int i;

	for (i = 0; i < 2; i++) {
		len = 1;
		p->send_rv[i] =
		    apr_socket_sendto(p->tx, p->addr[i], 0, "x", &len);
	}
	for (i = 0; i < 2; i++)
		p->add_rv[i] =
		    sb_io_add(sb_worker_self(), &p->w[i]->io, p->w[i]->sock,
			      APR_POLLIN, on_pair_ready, p->w[i]);
}

/*
 * The freed one must not be dispatched later in the same batch: ASan
 * would report a use after free, and the call count would be 2.
 */
static void test_io_remove_other_in_batch(void **state)
{
	sb_loop_t *loop;
	sb_worker_t *w;
	pair_t p = {0};
	int i;

	(void)state;
	for (i = 0; i < 2; i++) {
		p.w[i] = calloc(1, sizeof(*p.w[i]));
		assert_non_null(p.w[i]);
		p.w[i]->sock = udp_bound(&p.addr[i]);
		p.w[i]->pair = &p;
	}
	p.tx = udp_bound(NULL);
	assert_int_equal(sb_loop_create(&loop, 1, pool), APR_SUCCESS);
	w = sb_loop_worker(loop, 0);
	assert_int_equal(sb_loop_start(loop), APR_SUCCESS);
	assert_int_equal(sb_worker_call(w, pair_arm, &p), APR_SUCCESS);
	assert_int_equal(p.send_rv[0], APR_SUCCESS);
	assert_int_equal(p.send_rv[1], APR_SUCCESS);
	assert_int_equal(p.add_rv[0], APR_SUCCESS);
	assert_int_equal(p.add_rv[1], APR_SUCCESS);
	apr_sleep(50000);
	/* The call orders this thread's reads after the callback's writes. */
	assert_int_equal(sb_worker_call(w, nop_task, NULL), APR_SUCCESS);
	assert_int_equal(p.calls, 1);
	assert_true((p.w[0] == NULL) != (p.w[1] == NULL));
	free(p.w[0] ? p.w[0] : p.w[1]);
	sb_loop_stop(loop);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_create_pick),
	    cmocka_unit_test(test_post_many_threads),
	    cmocka_unit_test(test_call),
	    cmocka_unit_test(test_call_before_start),
	    cmocka_unit_test(test_stop_runs_queued),
	    cmocka_unit_test(test_pool_destroy_stops),
	    cmocka_unit_test(test_io_readiness),
	    cmocka_unit_test(test_io_remove_other_in_batch),
	};
	int rc;

	apr_initialize();
	rc = cmocka_run_group_tests(tests, pool_setup, pool_teardown);
	apr_terminate();
	return rc;
}
