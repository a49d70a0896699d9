/* loop_private.h — the per-worker timer heap shared by loop.c and timer.c. */
#ifndef SB_LOOP_PRIVATE_H
#define SB_LOOP_PRIVATE_H

#include "sipsbridge/sb_loop.h"

/**
 * A binary min-heap on sb_timer_t.due. slot[1..n] holds the pending timers
 * (slot[0] is unused so that parent = i / 2); each timer's heap_index is
 * its slot, which makes removal and re-arming O(log n) without a search.
 * Touched only by the owning worker's thread.
 */
typedef struct sb_timer_heap {
	sb_timer_t **slot;
	apr_size_t n;
	apr_size_t cap;
} sb_timer_heap_t;

void sb_timer_heap_init(sb_timer_heap_t *heap);
/** Release the slot array; pending timers are forgotten, not touched. */
void sb_timer_heap_fini(sb_timer_heap_t *heap);
/** Insert @p timer at @p due, or move it there if already pending. */
void sb_timer_heap_arm(sb_timer_heap_t *heap, sb_timer_t *timer,
		       apr_time_t due);
/** Take @p timer out; a no-op if it is not pending in @p heap. */
void sb_timer_heap_remove(sb_timer_heap_t *heap, sb_timer_t *timer);
/** The earliest timer, or NULL. */
sb_timer_t *sb_timer_heap_top(const sb_timer_heap_t *heap);
/**
 * How long a poll may sleep at @p now: until the earliest timer, rounded
 * up to whole milliseconds, at most @p cap.
 */
apr_interval_time_t sb_timer_heap_timeout(const sb_timer_heap_t *heap,
					  apr_time_t now,
					  apr_interval_time_t cap);
/** Fire, in due order, the timers due at or before @p now; returns count. */
apr_size_t sb_timer_heap_expire(sb_timer_heap_t *heap, apr_time_t now);

/** The heap of @p worker (defined in loop.c, where the worker lives). */
sb_timer_heap_t *sb_worker_timers(sb_worker_t *worker);

#endif
