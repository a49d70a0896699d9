/* loop.c — signalling workers: one thread, pollset and task queue each. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <apr_atomic.h>
#include <apr_thread_cond.h>
#include <apr_thread_mutex.h>
#include <apr_thread_proc.h>
#include "loop_private.h"

#define LOOP_MAX_WORKERS 64
/* Descriptors one poll may return; also the pollset size for non-epoll. */
#define LOOP_BATCH 1024
/* Sleep bound when no timer is due: a safety net, wakeups do the work. */
#define LOOP_MAX_WAIT apr_time_from_sec(1)
/* Task nodes kept for reuse per worker; the rest go back to malloc. */
#define LOOP_SPARE_MAX 256

/* sb_worker_call's rendezvous, on the caller's stack. */
typedef struct loop_call {
	int done;
} loop_call_t;

/* malloc'd, never from a pool: posts are unbounded over a run. */
typedef struct loop_task {
	struct loop_task *next;
	sb_task_fn fn;
	void *baton;
	loop_call_t *call;
} loop_task_t;

/* One ready descriptor of the batch being dispatched. */
typedef struct loop_ready {
	sb_io_t *io; /* NULL once removed during the batch */
	apr_int16_t revents;
} loop_ready_t;

struct sb_worker {
	sb_loop_t *loop;
	unsigned index;
	apr_pool_t *pool;
	apr_thread_t *thread;

	/* Worker-thread state: no lock. */
	apr_pollset_t *pollset;
	sb_timer_heap_t timers;
	loop_ready_t *batch;
	apr_int32_t batch_n;
	apr_int32_t batch_pos;

	/* Shared with posting threads: under lock. */
	apr_thread_mutex_t *lock;
	apr_thread_cond_t *called;
	loop_task_t *head, *tail;
	loop_task_t *spare;
	unsigned nspare;
	int wake_pending; /* a wakeup is on its way since the last drain */
	int started;
	int stopping;
};

struct sb_loop {
	apr_pool_t *pool;
	sb_worker_t *workers;
	unsigned nworkers;
	apr_uint32_t next;
	int started;
	int joined;
};

static __thread sb_worker_t *worker_self;

sb_timer_heap_t *sb_worker_timers(sb_worker_t *worker)
{
	return &worker->timers;
}

static void task_list_free(loop_task_t *t)
{
	loop_task_t *next;

	for (; t; t = next) {
		next = t->next;
		free(t);
	}
}

/* Runs when the worker's pool goes, after the thread has been joined. */
static apr_status_t worker_cleanup(void *data)
{
	sb_worker_t *w = data;

	task_list_free(w->head);
	task_list_free(w->spare);
	w->head = w->tail = w->spare = NULL;
	sb_timer_heap_fini(&w->timers);
	return APR_SUCCESS;
}

static apr_status_t worker_init(sb_worker_t *w, sb_loop_t *loop, unsigned index)
{
	apr_status_t rv;

	w->loop = loop;
	w->index = index;
	sb_timer_heap_init(&w->timers);
	rv = apr_pool_create(&w->pool, loop->pool);
	if (rv != APR_SUCCESS)
		return rv;
	apr_pool_cleanup_register(w->pool, w, worker_cleanup,
				  apr_pool_cleanup_null);
	rv = apr_thread_mutex_create(&w->lock, APR_THREAD_MUTEX_DEFAULT,
				     w->pool);
	if (rv == APR_SUCCESS)
		rv = apr_thread_cond_create(&w->called, w->pool);
	if (rv != APR_SUCCESS)
		return rv;
	/* epoll preferred; APR falls back to its default method by itself. */
	rv = apr_pollset_create_ex(&w->pollset, LOOP_BATCH, w->pool,
				   APR_POLLSET_WAKEABLE | APR_POLLSET_NOCOPY,
				   APR_POLLSET_EPOLL);
	if (rv != APR_SUCCESS)
		return rv;
	w->batch = apr_pcalloc(w->pool, (LOOP_BATCH + 1) * sizeof(*w->batch));
	return APR_SUCCESS;
}

static apr_status_t loop_pre_cleanup(void *data)
{
	/* Threads must be gone before their worker pools are destroyed. */
	sb_loop_stop(data);
	return APR_SUCCESS;
}

static unsigned loop_default_workers(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	if (n < 1)
		return 1;
	return n > LOOP_MAX_WORKERS ? LOOP_MAX_WORKERS : (unsigned)n;
}

apr_status_t sb_loop_create(sb_loop_t **out, unsigned nworkers,
			    apr_pool_t *pool)
{
	apr_pool_t *lp;
	sb_loop_t *loop;
	apr_status_t rv;
	unsigned i;

	if (nworkers == 0)
		nworkers = loop_default_workers();
	if (nworkers > LOOP_MAX_WORKERS)
		return APR_EINVAL;
	rv = apr_pool_create(&lp, pool);
	if (rv != APR_SUCCESS)
		return rv;
	loop = apr_pcalloc(lp, sizeof(*loop));
	loop->pool = lp;
	loop->nworkers = nworkers;
	loop->workers = apr_pcalloc(lp, nworkers * sizeof(*loop->workers));
	for (i = 0; i < nworkers; i++) {
		rv = worker_init(&loop->workers[i], loop, i);
		if (rv != APR_SUCCESS)
			goto done;
	}
	apr_pool_pre_cleanup_register(lp, loop, loop_pre_cleanup);
	*out = loop;
done:
	if (rv != APR_SUCCESS)
		apr_pool_destroy(lp);
	return rv;
}

/* Give back used task nodes: keep a few for the next posts. */
static void worker_recycle(sb_worker_t *w, loop_task_t *used)
{
	loop_task_t *next;

	apr_thread_mutex_lock(w->lock);
	while (used && w->nspare < LOOP_SPARE_MAX) {
		next = used->next;
		used->next = w->spare;
		w->spare = used;
		w->nspare++;
		used = next;
	}
	apr_thread_mutex_unlock(w->lock);
	task_list_free(used);
}

/*
 * Run everything queued so far, in order. Tasks posted meanwhile wait for
 * the next round (their wakeup is pending), so a task that re-posts itself
 * cannot starve the pollset. Returns how many ran; *stop tells whether
 * sb_loop_stop has begun.
 */
static unsigned worker_drain(sb_worker_t *w, int *stop)
{
	loop_task_t *t, *list, *used = NULL;
	unsigned ran = 0;

	apr_thread_mutex_lock(w->lock);
	list = w->head;
	w->head = w->tail = NULL;
	w->wake_pending = 0;
	*stop = w->stopping;
	apr_thread_mutex_unlock(w->lock);
	while ((t = list) != NULL) {
		list = t->next;
		t->fn(t->baton);
		ran++;
		if (t->call) {
			apr_thread_mutex_lock(w->lock);
			t->call->done = 1;
			apr_thread_cond_broadcast(w->called);
			apr_thread_mutex_unlock(w->lock);
		}
		t->next = used;
		used = t;
	}
	if (used)
		worker_recycle(w, used);
	return ran;
}

static void worker_dispatch(sb_worker_t *w, const apr_pollfd_t *fds,
			    apr_int32_t n)
{
	sb_io_t *io;
	apr_int32_t i;

	/*
	 * Copy the batch first: a callback may remove (and its owner free)
	 * another io of this batch; sb_io_remove clears its later entries.
	 */
	for (i = 0; i < n; i++) {
		w->batch[i].io = fds[i].client_data;
		w->batch[i].revents = fds[i].rtnevents;
	}
	w->batch_n = n;
	for (w->batch_pos = 0; w->batch_pos < n; w->batch_pos++) {
		io = w->batch[w->batch_pos].io;
		if (io)
			io->fn(io->baton, w->batch[w->batch_pos].revents);
	}
	w->batch_n = 0;
	w->batch_pos = 0;
}

static void worker_poll(sb_worker_t *w)
{
	const apr_pollfd_t *fds = NULL;
	apr_interval_time_t timeout;
	apr_int32_t n = 0;
	apr_status_t rv;

	timeout =
	    sb_timer_heap_timeout(&w->timers, apr_time_now(), LOOP_MAX_WAIT);
	rv = apr_pollset_poll(w->pollset, timeout, &n, &fds);
	/*
	 * APR_EINTR is a wakeup or a signal, APR_TIMEUP a due timer: both
	 * only mean "go round again"; the caller polls anew every round.
	 */
	if (rv == APR_SUCCESS && n > 0)
		worker_dispatch(w, fds, n);
}

static void *APR_THREAD_FUNC worker_main(apr_thread_t *thread, void *data)
{
	sb_worker_t *w = data;
	int stop = 0;

	worker_self = w;
	for (;;) {
		worker_poll(w);
		worker_drain(w, &stop);
		if (stop)
			break;
		sb_timer_heap_expire(&w->timers, apr_time_now());
	}
	/*
	 * Every accepted post runs once, even at stop, so owners can free
	 * what the task carries; new posts are refused from here on.
	 */
	while (worker_drain(w, &stop) > 0)
		;
	worker_self = NULL;
	/*
	 * Return rather than apr_thread_exit(): its pthread_exit() unwind
	 * leaves stale ASan shadow on the stack (a false stack-buffer
	 * underflow at thread exit). apr_thread_join() still sees success.
	 */
	(void)thread;
	return NULL;
}

/* Tell every worker to stop; later posts fail with APR_EOF. */
static void loop_request_stop(sb_loop_t *loop)
{
	sb_worker_t *w;
	unsigned i;

	for (i = 0; i < loop->nworkers; i++) {
		w = &loop->workers[i];
		apr_thread_mutex_lock(w->lock);
		w->stopping = 1;
		apr_thread_mutex_unlock(w->lock);
		apr_pollset_wakeup(w->pollset);
	}
}

/* A worker whose thread never ran: its queued tasks run here, once. */
static void worker_drain_here(sb_worker_t *w)
{
	sb_worker_t *saved = worker_self;
	int stop;

	worker_self = w;
	while (worker_drain(w, &stop) > 0)
		;
	worker_self = saved;
}

apr_status_t sb_loop_start(sb_loop_t *loop)
{
	sb_worker_t *w;
	apr_status_t rv = APR_SUCCESS;
	unsigned i;

	if (loop->started || loop->joined)
		return APR_EINVAL;
	loop->started = 1;
	for (i = 0; i < loop->nworkers; i++) {
		w = &loop->workers[i];
		apr_thread_mutex_lock(w->lock);
		w->started = 1;
		apr_thread_mutex_unlock(w->lock);
		/* Parent pool: the loop's, which only this thread uses. */
		rv = apr_thread_create(&w->thread, NULL, worker_main, w,
				       loop->pool);
		if (rv != APR_SUCCESS) {
			w->thread = NULL;
			sb_loop_stop(loop);
			return rv;
		}
	}
	return APR_SUCCESS;
}

/*
 * Tasks already queued when stop begins still run, once, on their worker
 * (or here for a worker never started) so their owners can free what they
 * carry; pending timers never fire. Called by one controlling thread.
 */
void sb_loop_stop(sb_loop_t *loop)
{
	apr_status_t trv;
	sb_worker_t *w;
	unsigned i;

	if (loop->joined)
		return;
	loop_request_stop(loop);
	/* A worker cannot join itself; the pool pre-cleanup joins later. */
	if (worker_self && worker_self->loop == loop)
		return;
	for (i = 0; i < loop->nworkers; i++) {
		w = &loop->workers[i];
		if (w->thread)
			apr_thread_join(&trv, w->thread);
		else
			worker_drain_here(w);
		w->thread = NULL;
	}
	loop->joined = 1;
}

unsigned sb_loop_nworkers(const sb_loop_t *loop)
{
	return loop->nworkers;
}

sb_worker_t *sb_loop_worker(sb_loop_t *loop, unsigned index)
{
	return index < loop->nworkers ? &loop->workers[index] : NULL;
}

sb_worker_t *sb_loop_pick(sb_loop_t *loop)
{
	apr_uint32_t n = apr_atomic_inc32(&loop->next);

	return &loop->workers[n % loop->nworkers];
}

sb_worker_t *sb_worker_self(void)
{
	return worker_self;
}

unsigned sb_worker_index(const sb_worker_t *worker)
{
	return worker->index;
}

apr_pool_t *sb_worker_pool(sb_worker_t *worker)
{
	return worker->pool;
}

/* Append a task; the caller holds w->lock. *wake says who must wake. */
static apr_status_t worker_enqueue(sb_worker_t *w, sb_task_fn fn, void *baton,
				   loop_call_t *call, int *wake)
{
	loop_task_t *t;

	if (w->stopping)
		return APR_EOF;
	t = w->spare;
	if (t) {
		w->spare = t->next;
		w->nspare--;
	} else {
		t = malloc(sizeof(*t));
		if (!t)
			return APR_ENOMEM;
	}
	t->next = NULL;
	t->fn = fn;
	t->baton = baton;
	t->call = call;
	if (w->tail)
		w->tail->next = t;
	else
		w->head = t;
	w->tail = t;
	/* One pipe write per drain is enough; the pipe never fills. */
	*wake = !w->wake_pending;
	w->wake_pending = 1;
	return APR_SUCCESS;
}

apr_status_t sb_worker_post(sb_worker_t *worker, sb_task_fn fn, void *baton)
{
	apr_status_t rv;
	int wake = 0;

	apr_thread_mutex_lock(worker->lock);
	rv = worker_enqueue(worker, fn, baton, NULL, &wake);
	apr_thread_mutex_unlock(worker->lock);
	if (wake)
		apr_pollset_wakeup(worker->pollset);
	return rv;
}

/*
 * Before sb_loop_start there is no worker thread to own the state, so the
 * call runs on the caller (with sb_worker_self() answering @p worker);
 * callers must not race sb_loop_start.
 */
apr_status_t sb_worker_call(sb_worker_t *worker, sb_task_fn fn, void *baton)
{
	loop_call_t call = {0};
	sb_worker_t *saved;
	apr_status_t rv;
	int wake = 0;

	if (worker_self)
		return APR_EINVAL;
	apr_thread_mutex_lock(worker->lock);
	if (!worker->started && !worker->stopping) {
		apr_thread_mutex_unlock(worker->lock);
		saved = worker_self;
		worker_self = worker;
		fn(baton);
		worker_self = saved;
		return APR_SUCCESS;
	}
	rv = worker_enqueue(worker, fn, baton, &call, &wake);
	if (wake)
		apr_pollset_wakeup(worker->pollset);
	while (rv == APR_SUCCESS && !call.done)
		apr_thread_cond_wait(worker->called, worker->lock);
	apr_thread_mutex_unlock(worker->lock);
	return rv;
}

apr_status_t sb_io_add(sb_worker_t *worker, sb_io_t *io, apr_socket_t *sock,
		       apr_int16_t events, sb_io_fn fn, void *baton)
{
	apr_status_t rv;

	if (io->added)
		return APR_EINVAL;
	memset(&io->pfd, 0, sizeof(io->pfd));
	io->pfd.p = worker->pool;
	io->pfd.desc_type = APR_POLL_SOCKET;
	io->pfd.reqevents = events;
	io->pfd.desc.s = sock;
	io->pfd.client_data = io;
	io->fn = fn;
	io->baton = baton;
	io->worker = worker;
	rv = apr_pollset_add(worker->pollset, &io->pfd);
	if (rv == APR_SUCCESS)
		io->added = 1;
	return rv;
}

apr_status_t sb_io_set_events(sb_io_t *io, apr_int16_t events)
{
	apr_status_t rv;

	if (!io->added)
		return APR_EINVAL;
	if (io->pfd.reqevents == events)
		return APR_SUCCESS;
	/* APR has no "modify": epoll_ctl DEL then ADD. */
	apr_pollset_remove(io->worker->pollset, &io->pfd);
	io->pfd.reqevents = events;
	rv = apr_pollset_add(io->worker->pollset, &io->pfd);
	if (rv != APR_SUCCESS)
		io->added = 0;
	return rv;
}

void sb_io_remove(sb_io_t *io)
{
	sb_worker_t *w = io->worker;
	apr_int32_t i;

	if (!io->added)
		return;
	/* Fails harmlessly if the owner already closed the socket. */
	apr_pollset_remove(w->pollset, &io->pfd);
	io->added = 0;
	for (i = w->batch_pos + 1; i < w->batch_n; i++)
		if (w->batch[i].io == io)
			w->batch[i].io = NULL;
}
