/* sb_loop.h — signalling workers: pollset, timer heap, cross-thread posts. */
#ifndef SB_LOOP_H
#define SB_LOOP_H

#include <apr_network_io.h>
#include <apr_poll.h>
#include <apr_time.h>
#include "sb_types.h"

typedef struct sb_loop sb_loop_t;
typedef struct sb_worker sb_worker_t;

/** Called on the owning worker's thread with the returned events. */
typedef void (*sb_io_fn)(void *baton, apr_int16_t revents);
/** Work handed to a worker; runs on that worker's thread. */
typedef void (*sb_task_fn)(void *baton);
typedef void (*sb_timer_fn)(void *baton);

/**
 * A watched socket. Embedded in its owner (no allocation); the pollset
 * keeps a pointer to it (APR_POLLSET_NOCOPY), so it must outlive its
 * registration.
 */
typedef struct sb_io {
	apr_pollfd_t pfd;
	sb_io_fn fn;
	void *baton;
	sb_worker_t *worker;
	int added;
} sb_io_t;

/** A timer node embedded in its owner, kept in the worker's min-heap. */
typedef struct sb_timer {
	apr_time_t due;
	apr_size_t heap_index; /* 0 = not pending */
	sb_timer_fn fn;
	void *baton;
} sb_timer_t;

/** Create @p nworkers workers (0 = number of cores). Not started yet. */
apr_status_t sb_loop_create(sb_loop_t **out, unsigned nworkers,
			    apr_pool_t *pool);
/** Start one thread per worker. */
apr_status_t sb_loop_start(sb_loop_t *loop);
/** Ask every worker to stop and join the threads. Idempotent. */
void sb_loop_stop(sb_loop_t *loop);

unsigned sb_loop_nworkers(const sb_loop_t *loop);
sb_worker_t *sb_loop_worker(sb_loop_t *loop, unsigned index);
/** Round-robin choice for a new connection. Thread-safe. */
sb_worker_t *sb_loop_pick(sb_loop_t *loop);

/** The worker running the calling thread, or NULL. */
sb_worker_t *sb_worker_self(void);
unsigned sb_worker_index(const sb_worker_t *worker);
apr_pool_t *sb_worker_pool(sb_worker_t *worker);

/**
 * Watch @p sock for @p events (APR_POLLIN / APR_POLLOUT). Must be called
 * on the worker's own thread (or before the loop starts).
 */
apr_status_t sb_io_add(sb_worker_t *worker, sb_io_t *io, apr_socket_t *sock,
		       apr_int16_t events, sb_io_fn fn, void *baton);
/** Change the watched events; same thread rule. */
apr_status_t sb_io_set_events(sb_io_t *io, apr_int16_t events);
/** Stop watching; same thread rule. Safe if not added. */
void sb_io_remove(sb_io_t *io);

/** Arm (or re-arm) @p timer to fire once after @p after. Worker thread. */
void sb_timer_start(sb_worker_t *worker, sb_timer_t *timer,
		    apr_interval_time_t after, sb_timer_fn fn, void *baton);
/** Disarm; safe if not pending. Worker thread. */
void sb_timer_stop(sb_worker_t *worker, sb_timer_t *timer);
int sb_timer_pending(const sb_timer_t *timer);

/**
 * Run @p fn(@p baton) on @p worker's thread soon. Thread-safe: queued and
 * the pollset is woken. Fails with APR_EOF once the loop is stopping.
 */
apr_status_t sb_worker_post(sb_worker_t *worker, sb_task_fn fn, void *baton);

/**
 * Run @p fn on @p worker and wait until it has run (for control commands
 * that read worker-owned state). Must not be called from a worker thread.
 */
apr_status_t sb_worker_call(sb_worker_t *worker, sb_task_fn fn, void *baton);

#endif
