/* media_life_test.c — stream lifetimes: timeouts (once, never after
 * close), the port range (exhaustion, reuse, squatters), descriptors,
 * and callers that never wait for a busy relay thread. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <cmocka.h>
#include <apr_general.h>
#include "media_fixture.h"

/*
 * Below Linux's ephemeral range, apart from the other media tests; each
 * block is the first run of ports nobody holds (other programs on the
 * machine, e.g. a benchmark, may hold some of ours), found at setup.
 */
static apr_port_t CHURN_MIN, CHURN_MAX, TRIO;

static int setup(void **state)
{
	if (media_ports(23000, 800) != 0)
		return -1;
	CHURN_MIN = harness_free_run((apr_port_t)(PORT_MAX + 1), 40);
	CHURN_MAX = (apr_port_t)(CHURN_MIN + 39);
	TRIO = harness_free_run((apr_port_t)(CHURN_MAX + 1), 8);
	if (!CHURN_MIN || !TRIO)
		return -1;
	return pool_setup(state);
}

/* A test with its ports found and a pool of its own. */
#define life_test(fn) cmocka_unit_test_setup_teardown(fn, setup, pool_teardown)

/* The timeout's record: counts, and whether close had returned. */
typedef struct fired {
	int count;
	int closed;
	int after_close;
} fired_t;

static void on_timeout(void *baton)
{
	fired_t *f = baton;

	if (__atomic_load_n(&f->closed, __ATOMIC_ACQUIRE))
		__atomic_add_fetch(&f->after_close, 1, __ATOMIC_RELEASE);
	__atomic_add_fetch(&f->count, 1, __ATOMIC_RELEASE);
}

static int fired_wait(fired_t *f, int want, int ms)
{
	apr_time_t end = apr_time_now() + apr_time_from_msec(ms);

	while (__atomic_load_n(&f->count, __ATOMIC_ACQUIRE) < want &&
	       apr_time_now() < end)
		apr_sleep(2000);
	return __atomic_load_n(&f->count, __ATOMIC_ACQUIRE);
}

static void test_timeout(void **state)
{
	sb_media_stream_t *a, *b;
	fired_t f = {0}, g = {0};
	unsigned char pkt[200];
	apr_time_t start;
	sb_media_t *m;
	peer_t pa;
	int i;

	(void)state;
	m = media_new(PORT_MIN, PORT_MAX, 1);
	assert_int_equal(sb_media_stream_open(m, "127.0.0.1", &a), APR_SUCCESS);
	assert_int_equal(sb_media_stream_open(m, "127.0.0.1", &b), APR_SUCCESS);
	assert_int_equal(peer_open(&pa), 0);
	start = apr_time_now();
	sb_media_stream_set_timeout(b, apr_time_from_msec(100), on_timeout, &f);
	assert_int_equal(fired_wait(&f, 1, 2000), 1);
	assert_true(apr_time_now() - start >= apr_time_from_msec(100));
	assert_int_equal(fired_wait(&f, 2, 300), 1);
	/* Packets keep A alive (linked or not); silence lets it fire, once.
	 * Its SDP names pa: the first packet counts (no probation). */
	assert_int_equal(sb_media_stream_set_peer(a, "127.0.0.1", pa.port, 0, 0),
			 APR_SUCCESS);
	sb_media_stream_set_timeout(a, apr_time_from_msec(300), on_timeout, &g);
	for (i = 0; i < 20; i++) {
		rtp_build(pkt, (unsigned)i, 5, 172);
		peer_send(&pa, sb_media_stream_port(a), pkt, 172);
		apr_sleep(apr_time_from_msec(30));
	}
	assert_int_equal(__atomic_load_n(&g.count, __ATOMIC_ACQUIRE), 0);
	assert_int_equal(STAT(a, rx_packets), 20);
	assert_int_equal(fired_wait(&g, 1, 2000), 1);
	assert_int_equal(fired_wait(&g, 2, 300), 1);
	/* 0 turns it off. */
	sb_media_stream_set_timeout(b, apr_time_from_msec(50), on_timeout, &f);
	sb_media_stream_set_timeout(b, 0, on_timeout, &f);
	assert_int_equal(fired_wait(&f, 2, 300), 1);
	peer_close(&pa);
	sb_media_stream_close(a);
	sb_media_stream_close(b);
	sb_media_destroy(m);
}

static void test_timeout_close(void **state)
{
	sb_media_stream_t *s;
	fired_t f = {0};
	sb_media_t *m;
	int i;

	(void)state;
	m = media_new(PORT_MIN, PORT_MAX, 2);
	/* Armed then closed: never fires. */
	assert_int_equal(sb_media_stream_open(m, "127.0.0.1", &s), APR_SUCCESS);
	sb_media_stream_set_timeout(s, apr_time_from_msec(30), on_timeout, &f);
	sb_media_stream_close(s);
	assert_int_equal(fired_wait(&f, 1, 200), 0);
	/* Racing close against a due timeout: after close, nothing runs. */
	for (i = 0; i < 50; i++) {
		assert_int_equal(sb_media_stream_open(m, "127.0.0.1", &s),
				 APR_SUCCESS);
		__atomic_store_n(&f.closed, 0, __ATOMIC_RELEASE);
		sb_media_stream_set_timeout(s, 1, on_timeout, &f);
		apr_sleep((apr_interval_time_t)(i % 5) * 500);
		sb_media_stream_close(s);
		__atomic_store_n(&f.closed, 1, __ATOMIC_RELEASE);
	}
	apr_sleep(apr_time_from_msec(50));
	assert_int_equal(__atomic_load_n(&f.after_close, __ATOMIC_ACQUIRE), 0);
	sb_media_destroy(m);
}

static void test_port_range(void **state)
{
	sb_media_stream_t *s[3], *x;
	apr_port_t freed, port;
	unsigned starts[3] = {0, 0, 0}, seen = 0;
	sb_media_t *m;
	int i, n;

	(void)state;
	/* Three pairs: T/T+1, T+2/3, T+4/5 (T+6 has no +1), handed out from
	 * a random one, a random step apart (not guessable; a restart does
	 * not reuse the last process's ports first): each once. */
	m = media_new(TRIO, TRIO + 6, 2);
	for (i = 0; i < 3; i++) {
		assert_int_equal(sb_media_stream_open(m, "127.0.0.1", &s[i]),
				 APR_SUCCESS);
		port = sb_media_stream_port(s[i]);
		assert_true(port >= TRIO && port <= TRIO + 4 &&
			    (port - TRIO) % 2 == 0);
		seen |= 1u << ((port - TRIO) / 2);
		assert_false(harness_bindable(port));
		assert_false(harness_bindable(port + 1));
	}
	assert_int_equal(seen, 7);
	assert_int_equal(sb_media_stream_open(m, "127.0.0.1", &x), SB_ELIMIT);
	freed = sb_media_stream_port(s[1]);
	sb_media_stream_close(s[1]);
	assert_true(harness_bindable(freed) && harness_bindable(freed + 1));
	assert_int_equal(sb_media_stream_open(m, "127.0.0.1", &s[1]),
			 APR_SUCCESS);
	assert_int_equal(sb_media_stream_port(s[1]), freed);
	assert_int_equal(sb_media_stream_open(m, "127.0.0.1", &x), SB_ELIMIT);
	for (i = 0; i < 3; i++)
		sb_media_stream_close(s[i]);
	/* A port someone else holds is skipped. */
	{
		peer_t squat = {.fd = socket(AF_INET, SOCK_DGRAM, 0)};
		struct sockaddr_in a = {.sin_family = AF_INET};

		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		a.sin_port = htons(TRIO + 3);
		assert_int_equal(
		    bind(squat.fd, (struct sockaddr *)&a, sizeof(a)), 0);
		for (i = 0; i < 2; i++)
			assert_int_equal(
			    sb_media_stream_open(m, "127.0.0.1", &s[i]),
			    APR_SUCCESS);
		assert_true(sb_media_stream_port(s[0]) != TRIO + 2 &&
			    sb_media_stream_port(s[1]) != TRIO + 2);
		assert_int_equal(sb_media_stream_open(m, "127.0.0.1", &x),
				 SB_ELIMIT);
		sb_media_stream_close(s[0]);
		sb_media_stream_close(s[1]);
		peer_close(&squat);
	}
	sb_media_destroy(m);
	/* Over 30 new relays, each of the three pairs comes first. */
	for (n = 0; n < 30; n++) {
		m = media_new(TRIO, TRIO + 6, 1);
		assert_int_equal(sb_media_stream_open(m, "127.0.0.1", &x),
				 APR_SUCCESS);
		starts[(sb_media_stream_port(x) - TRIO) / 2]++;
		sb_media_stream_close(x);
		sb_media_destroy(m);
	}
	assert_true(starts[0] && starts[1] && starts[2]);
	/* Over a wider range, each call's pair is a random step of 1 to
	 * MEDIA_PORT_JUMP (64) pairs after the last: not always the next. */
	{
		apr_port_t base = (apr_port_t)((PORT_MIN + 1) & ~1);
		int last = 0, now, step, big = 0;

		m = media_new(base, (apr_port_t)(base + 399), 1);
		for (n = 0; n < 20; n++) {
			assert_int_equal(
			    sb_media_stream_open(m, "127.0.0.1", &x),
			    APR_SUCCESS);
			now = sb_media_stream_port(x);
			sb_media_stream_close(x);
			if (n) {
				step = ((now - last) / 2 + 200) % 200;
				assert_true(step >= 1 && step <= 64);
				big += step > 1;
			}
			last = now;
		}
		assert_true(big > 0);
		sb_media_destroy(m);
	}
	/* One range for all local addresses: a pair is taken everywhere. */
	m = media_new(23910, 23911, 1);
	assert_int_equal(sb_media_stream_open(m, "127.0.0.1", &s[0]),
			 APR_SUCCESS);
	assert_int_equal(sb_media_stream_open(m, "127.0.0.2", &x), SB_ELIMIT);
	sb_media_stream_close(s[0]);
	assert_int_equal(sb_media_stream_open(m, "127.0.0.2", &x), APR_SUCCESS);
	assert_int_equal(sb_media_stream_port(x), 23910);
	sb_media_stream_close(x);
	sb_media_destroy(m);
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1; /* the DIR's own */
}

static void test_no_fd_leak(void **state)
{
	sb_media_stream_t *s[250];
	int before, round, i;
	sb_media_t *m;

	(void)state;
	before = count_fds();
	m = media_new(PORT_MIN, PORT_MAX, 2);
	/* Each thread: epoll + eventfd. */
	assert_int_equal(count_fds(), before + 4);
	for (round = 0; round < 4; round++) {
		for (i = 0; i < 250; i++)
			assert_int_equal(
			    sb_media_stream_open(m, "127.0.0.1", &s[i]),
			    APR_SUCCESS);
		assert_int_equal(count_fds(), before + 4 + 500);
		sb_media_stream_link(s[0], s[1]);
		sb_media_stream_set_timeout(s[2], apr_time_from_sec(10),
					    on_timeout, NULL);
		for (i = 0; i < 250; i++)
			sb_media_stream_close(s[i]);
		assert_int_equal(count_fds(), before + 4);
	}
	sb_media_destroy(m);
	assert_int_equal(count_fds(), before);
}

/* What the churn test's blaster shares with it. */
typedef struct churn {
	peer_t src;
	int stop;
} churn_t;

/* Plain RTP and RTCP at every port of the churn range, open or not. */
static void *churn_blast(void *arg)
{
	churn_t *c = arg;
	unsigned char pkt[200];
	unsigned seq = 0, p;

	while (!__atomic_load_n(&c->stop, __ATOMIC_ACQUIRE)) {
		for (p = CHURN_MIN; p <= CHURN_MAX; p++) {
			if (p & 1)
				rtcp_build(pkt, 7);
			else
				rtp_build(pkt, seq, 7, 172);
			peer_send(&c->src, (apr_port_t)p, pkt,
				  p & 1 ? 32 : 172);
		}
		seq++;
		sched_yield();
	}
	return NULL;
}

/* Open, link, re-peer, time out and close calls on two relay threads
 * while packets hit every port: a stream must never be used after its
 * close (ASan, TSan), and everything closed must really be free. */
static void test_churn_under_traffic(void **state)
{
	sb_media_stream_t *a[4] = {0}, *b[4] = {0};
	churn_t c = {.stop = 0};
	fired_t f = {0};
	pthread_t thr;
	peer_t sink;
	sb_media_t *m;
	int i, k, before = count_fds();

	(void)state;
	m = media_new(CHURN_MIN, CHURN_MAX, 2);
	assert_int_equal(peer_open(&c.src), 0);
	assert_int_equal(peer_open(&sink), 0);
	assert_int_equal(pthread_create(&thr, NULL, churn_blast, &c), 0);
	for (i = 0; i < 400; i++) {
		k = i % 4;
		if (a[k]) {
			sb_media_stream_close(i & 1 ? a[k] : b[k]);
			sb_media_stream_close(i & 1 ? b[k] : a[k]);
		}
		assert_int_equal(sb_media_stream_open(m, "127.0.0.1", &a[k]),
				 APR_SUCCESS);
		assert_int_equal(sb_media_stream_open(m, "127.0.0.1", &b[k]),
				 APR_SUCCESS);
		sb_media_stream_set_peer(b[k], "127.0.0.1", sink.port, 0,
					 i & 2);
		sb_media_stream_link(a[k], b[k]);
		sb_media_stream_set_timeout(a[k], 1, on_timeout, &f);
		if (i % 7 == 0)
			sb_media_stream_link(a[k], b[(k + 1) % 4]);
		apr_sleep(200);
	}
	__atomic_store_n(&c.stop, 1, __ATOMIC_RELEASE);
	pthread_join(thr, NULL);
	for (k = 0; k < 4; k++) {
		sb_media_stream_close(a[k]);
		sb_media_stream_close(b[k]);
	}
	sb_media_destroy(m);
	assert_true(peer_recv(&sink, (unsigned char[400]){0}, 400, 0, NULL) >
		    0);
	peer_close(&c.src);
	peer_close(&sink);
	assert_int_equal(count_fds(), before);
}

/* A timeout callback that closes its own stream (allowed). */
typedef struct self_close {
	sb_media_stream_t *s;
	int done;
} self_close_t;

static void close_from_callback(void *baton)
{
	self_close_t *c = baton;

	sb_media_stream_close(c->s);
	__atomic_store_n(&c->done, 1, __ATOMIC_RELEASE);
}

static void test_close_in_callback(void **state)
{
	self_close_t c = {0};
	apr_time_t end;
	apr_port_t port;
	sb_media_t *m;
	int before = count_fds();

	(void)state;
	m = media_new(PORT_MIN, PORT_MAX, 1);
	assert_int_equal(sb_media_stream_open(m, "127.0.0.1", &c.s),
			 APR_SUCCESS);
	port = sb_media_stream_port(c.s);
	sb_media_stream_set_timeout(c.s, 1, close_from_callback, &c);
	end = apr_time_now() + apr_time_from_sec(2);
	while (!__atomic_load_n(&c.done, __ATOMIC_ACQUIRE) &&
	       apr_time_now() < end)
		apr_sleep(1000);
	assert_true(__atomic_load_n(&c.done, __ATOMIC_ACQUIRE));
	assert_true(harness_bindable(port) && harness_bindable(port + 1));
	assert_int_equal(count_fds(), before + 2); /* epoll + eventfd */
	sb_media_destroy(m);
	assert_int_equal(count_fds(), before);
}

static void destroy_from_callback(void *baton)
{
	sb_media_destroy(baton);
}

/* Destroy inside a timeout callback would join its own thread: it
 * aborts with a message instead of hanging (in a child process). */
static void test_destroy_in_callback_aborts(void **state)
{
	sb_media_stream_t *s;
	sb_media_t *m;
	int status = 0;
	pid_t pid;

	(void)state;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (!freopen("/dev/null", "w", stderr))
			_exit(3);
		m = media_new(PORT_MIN, PORT_MAX, 1);
		if (sb_media_stream_open(m, "127.0.0.1", &s) != APR_SUCCESS)
			_exit(4);
		sb_media_stream_set_timeout(s, 1, destroy_from_callback, m);
		apr_sleep(apr_time_from_sec(3));
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGABRT);
}

/* A relay thread kept busy: its callback holds it for @p hold_ms. */
typedef struct busy {
	int entered, done, hold_ms;
} busy_t;

static void hold_relay(void *baton)
{
	busy_t *b = baton;

	__atomic_store_n(&b->entered, 1, __ATOMIC_RELEASE);
	apr_sleep(apr_time_from_msec(b->hold_ms));
	__atomic_store_n(&b->done, 1, __ATOMIC_RELEASE);
}

#define BUSY_STREAMS 8

/*
 * While the only relay thread is stuck (in a callback here; under load,
 * in a long batch), a SIP worker's open, re-peer, re-key, link, stats
 * and close all return at once, and a closed pair is free at return.
 * Closing the very stream whose callback runs waits for that callback
 * only: after close, the caller may free the baton.
 */
static void test_busy_relay_does_not_block(void **state)
{
	unsigned char key[SB_SRTP_MAX_KEY_SALT];
	sb_media_stream_t *x, *s[BUSY_STREAMS];
	busy_t b = {.hold_ms = 3000};
	apr_port_t ports[BUSY_STREAMS];
	apr_time_t end;
	sb_media_t *m;
	int i;

	(void)state;
	/* libsrtp2's self-tests run once, here, not inside the timing. */
	assert_int_equal(sb_srtp_global_init(), APR_SUCCESS);
	assert_int_equal(
	    sb_srtp_keygen(SB_SRTP_AES_CM_128_HMAC_SHA1_80, key, sizeof(key)),
	    APR_SUCCESS);
	m = media_new(PORT_MIN, PORT_MAX, 1);
	assert_int_equal(sb_media_stream_open(m, "127.0.0.1", &x), APR_SUCCESS);
	sb_media_stream_set_timeout(x, 1, hold_relay, &b);
	end = apr_time_now() + apr_time_from_sec(2);
	while (!__atomic_load_n(&b.entered, __ATOMIC_ACQUIRE) &&
	       apr_time_now() < end)
		apr_sleep(1000);
	assert_true(__atomic_load_n(&b.entered, __ATOMIC_ACQUIRE));
	for (i = 0; i < BUSY_STREAMS; i++) {
		assert_int_equal(sb_media_stream_open(m, "127.0.0.1", &s[i]),
				 APR_SUCCESS);
		ports[i] = sb_media_stream_port(s[i]);
		assert_int_equal(
		    sb_media_stream_set_peer(s[i], "127.0.0.1", 40000, 0, 0),
		    APR_SUCCESS);
		assert_int_equal(
		    sb_media_stream_set_srtp(s[i], SB_SRTP_PROTECT,
					     SB_SRTP_AES_CM_128_HMAC_SHA1_80,
					     key, 30, 0),
		    APR_SUCCESS);
		if (i & 1)
			sb_media_stream_link(s[i - 1], s[i]);
		assert_int_equal(STAT(s[i], rx_packets), 0);
	}
	for (i = 0; i < BUSY_STREAMS; i++) {
		sb_media_stream_close(s[i]);
		assert_true(harness_bindable(ports[i]) &&
			    harness_bindable(ports[i] + 1));
	}
	/* All of it done while the relay thread is still held (3 s: enough
	 * under valgrind too); waiting for it would have made this true. */
	assert_false(__atomic_load_n(&b.done, __ATOMIC_ACQUIRE));
	sb_media_stream_close(x);
	assert_true(__atomic_load_n(&b.done, __ATOMIC_ACQUIRE));
	sb_media_destroy(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    life_test(test_timeout),
	    life_test(test_timeout_close),
	    life_test(test_port_range),
	    life_test(test_no_fd_leak),
	    life_test(test_churn_under_traffic),
	    life_test(test_close_in_callback),
	    life_test(test_destroy_in_callback_aborts),
	    life_test(test_busy_relay_does_not_block),
	};
	int rc;

	apr_initialize();
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	apr_terminate();
	return rc;
}
