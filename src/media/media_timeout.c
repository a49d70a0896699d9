/* media_timeout.c — a stream no-media timeout and its relay thread scan. */
/* struct mmsghdr in media_private.h (APR's cflags set it too). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdio.h>
#include <stdlib.h>
#include "media_private.h"

/* Open: into the list its relay thread scans. */
void media_timeout_add(sb_media_stream_t *s)
{
	media_thread_t *t = s->thread;

	pthread_mutex_lock(&t->list_lock);
	s->prev = NULL;
	s->next = t->streams;
	if (t->streams)
		t->streams->prev = s;
	t->streams = s;
	pthread_mutex_unlock(&t->list_lock);
}

/*
 * Close: out of the list, so no scan finds it again; a scan paused on a
 * callback resumes past it.  If this stream's callback is running on
 * the relay thread, wait for its end (the caller may free the baton
 * once close returns), unless we are that callback closing its own
 * stream.  Nothing else of the relay thread is waited for.
 */
void media_timeout_remove(sb_media_stream_t *s)
{
	media_thread_t *t = s->thread;

	pthread_mutex_lock(&t->list_lock);
	if (t->scan_next == s)
		t->scan_next = s->next;
	if (s->prev)
		s->prev->next = s->next;
	else
		t->streams = s->next;
	if (s->next)
		s->next->prev = s->prev;
	s->prev = s->next = NULL;
	while (t->cb_stream == s && !media_relay_is(t))
		pthread_cond_wait(&t->list_cond, &t->list_lock);
	pthread_mutex_unlock(&t->list_lock);
}

void sb_media_stream_set_timeout(sb_media_stream_t *s,
				 apr_interval_time_t after,
				 sb_media_timeout_fn fn, void *baton)
{
	media_thread_t *t = s->thread;
	apr_time_t now = apr_time_now(), due, cur;

	if (!fn || after < 0)
		after = 0;
	pthread_mutex_lock(&s->rx.lock);
	s->rx.to_after = after;
	s->rx.to_since = now;
	s->rx.to_fn = fn;
	s->rx.to_baton = baton;
	pthread_mutex_unlock(&s->rx.lock);
	if (!after)
		return;
	/* Lower the thread's next scan if this one is due earlier. */
	due = now + after;
	cur = __atomic_load_n(&t->next_scan, __ATOMIC_ACQUIRE);
	while (due < cur) {
		if (__atomic_compare_exchange_n(&t->next_scan, &cur, due, 0,
						__ATOMIC_ACQ_REL,
						__ATOMIC_ACQUIRE)) {
			media_wake(t);
			break;
		}
	}
}

/* Under s->rx.lock: the callback when due (disarmed), else NULL. */
static sb_media_timeout_fn timeout_due(sb_media_stream_t *s, apr_time_t now,
				       apr_time_t *next, void **baton)
{
	sb_media_timeout_fn fn;
	apr_time_t due;

	if (s->rx.to_after <= 0)
		return NULL;
	due = s->rx.to_after +
	      (s->rx.last_rx > s->rx.to_since ? s->rx.last_rx : s->rx.to_since);
	if (due > now) {
		if (due < *next)
			*next = due;
		return NULL;
	}
	fn = s->rx.to_fn;
	*baton = s->rx.to_baton;
	s->rx.to_after = 0;
	return fn;
}

/*
 * On the relay thread: fire what is due, once each.  The callback runs
 * with no lock held (it may read stats, re-arm, open or close streams)
 * and with cb_stream set, which close waits on.  Returns the earliest
 * deadline still pending.
 */
apr_time_t media_timeout_expire(media_thread_t *t, apr_time_t now)
{
	apr_time_t next = now + MEDIA_SCAN_MAX;
	sb_media_stream_t *s;
	sb_media_timeout_fn fn;
	void *baton = NULL;

	pthread_mutex_lock(&t->list_lock);
	for (s = t->streams; s; s = t->scan_next) {
		t->scan_next = s->next;
		pthread_mutex_lock(&s->rx.lock);
		fn = timeout_due(s, now, &next, &baton);
		pthread_mutex_unlock(&s->rx.lock);
		if (!fn)
			continue;
		t->cb_stream = s;
		pthread_mutex_unlock(&t->list_lock);
		fn(baton);
		pthread_mutex_lock(&t->list_lock);
		t->cb_stream = NULL;
		pthread_cond_broadcast(&t->list_cond);
	}
	t->scan_next = NULL;
	pthread_mutex_unlock(&t->list_lock);
	return next;
}
