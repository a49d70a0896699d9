/* timer.c — one-shot timers: a min-heap per worker, nodes in their owners. */
#include <stdlib.h>
#include "loop_private.h"

/* The first growth; doubles afterwards. */
#define TIMER_HEAP_MIN 64

void sb_timer_heap_init(sb_timer_heap_t *heap)
{
	heap->slot = NULL;
	heap->n = 0;
	heap->cap = 0;
}

void sb_timer_heap_fini(sb_timer_heap_t *heap)
{
	free(heap->slot);
	sb_timer_heap_init(heap);
}

static void heap_place(sb_timer_heap_t *heap, apr_size_t i, sb_timer_t *t)
{
	heap->slot[i] = t;
	t->heap_index = i;
}

static void heap_up(sb_timer_heap_t *heap, apr_size_t i)
{
	sb_timer_t *t = heap->slot[i];

	while (i > 1 && t->due < heap->slot[i / 2]->due) {
		heap_place(heap, i, heap->slot[i / 2]);
		i /= 2;
	}
	heap_place(heap, i, t);
}

static void heap_down(sb_timer_heap_t *heap, apr_size_t i)
{
	sb_timer_t *t = heap->slot[i];
	apr_size_t c;

	for (;;) {
		c = 2 * i;
		if (c > heap->n)
			break;
		if (c < heap->n && heap->slot[c + 1]->due < heap->slot[c]->due)
			c++;
		if (heap->slot[c]->due >= t->due)
			break;
		heap_place(heap, i, heap->slot[c]);
		i = c;
	}
	heap_place(heap, i, t);
}

/* After slot i changed its due time, move it whichever way restores order. */
static void heap_fix(sb_timer_heap_t *heap, apr_size_t i)
{
	if (i > 1 && heap->slot[i]->due < heap->slot[i / 2]->due)
		heap_up(heap, i);
	else
		heap_down(heap, i);
}

static int heap_holds(const sb_timer_heap_t *heap, const sb_timer_t *t)
{
	return t->heap_index != 0 && t->heap_index <= heap->n &&
	       heap->slot[t->heap_index] == t;
}

/*
 * The public arm/stop calls return void, so a failed growth cannot be
 * reported; a timer silently never firing would hang a transaction, so
 * running out of memory here ends the process instead.
 */
static void heap_grow(sb_timer_heap_t *heap)
{
	apr_size_t cap = heap->cap ? heap->cap * 2 : TIMER_HEAP_MIN;
	sb_timer_t **slot;

	slot = realloc(heap->slot, (cap + 1) * sizeof(*slot));
	if (!slot)
		abort();
	heap->slot = slot;
	heap->cap = cap;
}

void sb_timer_heap_arm(sb_timer_heap_t *heap, sb_timer_t *timer, apr_time_t due)
{
	timer->due = due;
	if (heap_holds(heap, timer)) {
		heap_fix(heap, timer->heap_index);
		return;
	}
	if (heap->n == heap->cap)
		heap_grow(heap);
	heap->n++;
	heap_place(heap, heap->n, timer);
	heap_up(heap, heap->n);
}

void sb_timer_heap_remove(sb_timer_heap_t *heap, sb_timer_t *timer)
{
	apr_size_t i = timer->heap_index;
	sb_timer_t *last;

	if (!heap_holds(heap, timer))
		return;
	last = heap->slot[heap->n];
	heap->slot[heap->n] = NULL;
	heap->n--;
	timer->heap_index = 0;
	if (i <= heap->n) {
		heap_place(heap, i, last);
		heap_fix(heap, i);
	}
}

sb_timer_t *sb_timer_heap_top(const sb_timer_heap_t *heap)
{
	return heap->n ? heap->slot[1] : NULL;
}

apr_interval_time_t sb_timer_heap_timeout(const sb_timer_heap_t *heap,
					  apr_time_t now,
					  apr_interval_time_t cap)
{
	apr_interval_time_t wait;

	if (!heap->n)
		return cap;
	wait = heap->slot[1]->due - now;
	if (wait <= 0)
		return 0;
	/*
	 * epoll counts in milliseconds and APR truncates: 900 us would become
	 * a zero timeout and the worker would spin until the timer is due.
	 */
	wait = (wait + 999) / 1000 * 1000;
	return wait < cap ? wait : cap;
}

apr_size_t sb_timer_heap_expire(sb_timer_heap_t *heap, apr_time_t now)
{
	/*
	 * At most the timers present on entry: a callback that re-arms itself
	 * with no delay is due "now" again and would otherwise loop forever.
	 */
	apr_size_t budget = heap->n;
	apr_size_t fired = 0;
	sb_timer_t *t;

	while (fired < budget && heap->n && heap->slot[1]->due <= now) {
		t = heap->slot[1];
		sb_timer_heap_remove(heap, t);
		fired++;
		/* Out first: the callback may re-arm it or free its owner. */
		t->fn(t->baton);
	}
	return fired;
}

void sb_timer_start(sb_worker_t *worker, sb_timer_t *timer,
		    apr_interval_time_t after, sb_timer_fn fn, void *baton)
{
	if (after < 0)
		after = 0;
	timer->fn = fn;
	timer->baton = baton;
	sb_timer_heap_arm(sb_worker_timers(worker), timer,
			  apr_time_now() + after);
}

void sb_timer_stop(sb_worker_t *worker, sb_timer_t *timer)
{
	sb_timer_heap_remove(sb_worker_timers(worker), timer);
}

int sb_timer_pending(const sb_timer_t *timer)
{
	return timer->heap_index != 0;
}
