/* src_guard.c — per-source limits of a profile in a bounded table, and the
 * throttled log lines of every limit. */
#include <arpa/inet.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <apr_strings.h>
#include "sipsbridge/sb_log.h"
#include "rate_bucket.h"
#include "src_guard.h"

/*
 * Slots looked at for one key. A fixed table probed over a short window
 * keeps both memory and the work per packet bounded whatever the number
 * of attacking addresses; a new source takes the free or the oldest slot
 * of its window, and blocked sources go last.
 */
#define SRC_PROBE 8
#define SRC_BLOCKED_SHOWN 10

typedef struct src_entry {
	unsigned char key[17]; /* key[0] == 0: a free slot */
	apr_time_t last_seen;
	rate_bucket_t handshakes;
	rate_bucket_t udp;
	unsigned auth_fails;   /* within the current window */
	apr_time_t auth_since; /* the window's start */
	apr_time_t blocked_until;
} src_entry_t;

typedef struct src_throttle {
	apr_uint64_t total;
	apr_uint64_t unlogged;	/* fired since the last line */
	apr_time_t quiet_until; /* a firing before then is only counted */
} src_throttle_t;

struct src_guard {
	apr_thread_mutex_t *lock; /* guards everything below */
	src_entry_t *slots;
	apr_size_t n;
	apr_size_t used;
	apr_uint64_t evicted;
	src_throttle_t ev[SRC_EV_COUNT];
	sb_worker_t *worker; /* runs the summary timer; NULL: stopped */
	sb_timer_t timer;
};

static const struct {
	const char *tag;
	const char *name; /* the parameter, for status */
	const char *what; /* for summary lines */
} events[SRC_EV_COUNT] = {
    [SRC_EV_HANDSHAKE_RATE] = {"SB02034", "tls-handshake-rate",
			       "TLS connections closed before their "
			       "handshake (tls-handshake-rate)"},
    [SRC_EV_HANDSHAKE_TIMEOUT] = {"SB02012", "tls-timeout",
				  "TLS handshakes not finished within "
				  "tls-timeout"},
    [SRC_EV_CONN_LIMIT] = {"SB02030", "max-connections",
			   "connections refused (max-connections, "
			   "max-connections-per-ip)"},
    [SRC_EV_MSG_TIMEOUT] = {"SB02031", "msg-timeout",
			    "slow senders cut (msg-timeout)"},
    [SRC_EV_MSG_CHUNKS] = {"SB02032", "max-msg-chunks",
			   "slow senders cut (max-msg-chunks)"},
    [SRC_EV_BAD_FRAME] = {"SB02033", "max-msg-size",
			  "connections closed for an oversized or "
			  "unframeable message"},
    [SRC_EV_MSG_RATE] = {"SB02035", "max-msg-rate",
			 "requests answered 503 (max-msg-rate)"},
    [SRC_EV_MSG_RATE_CLOSE] = {"SB02036", "msg-rate-close",
			       "connections closed for staying over "
			       "max-msg-rate (msg-rate-close)"},
    [SRC_EV_UDP_RATE] = {"SB02037", "max-udp-rate",
			 "UDP datagrams dropped (max-udp-rate)"},
    [SRC_EV_AUTH_BLOCK] = {"SB02417", "auth-block",
			   "sources blocked (auth-block-failures)"},
    [SRC_EV_AUTH_BLOCKED] = {"SB02418", "auth-blocked",
			     "requests refused from blocked sources"},
};

static apr_status_t guard_free(void *data)
{
	src_guard_t *g = data;

	free(g->slots);
	g->slots = NULL;
	return APR_SUCCESS;
}

apr_status_t src_guard_create(sips_profile_t *p)
{
	src_guard_t *g = apr_pcalloc(p->pool, sizeof(*g));
	apr_status_t rv;

	rv = apr_thread_mutex_create(&g->lock, APR_THREAD_MUTEX_DEFAULT,
				     p->pool);
	if (rv != APR_SUCCESS)
		return rv;
	g->n = p->settings.max_tracked_sources ? p->settings.max_tracked_sources
					       : 1;
	/* calloc: pages of slots never used are never touched. */
	g->slots = calloc(g->n, sizeof(*g->slots));
	if (!g->slots)
		return APR_ENOMEM;
	apr_pool_cleanup_register(p->pool, g, guard_free,
				  apr_pool_cleanup_null);
	p->guard = g;
	return APR_SUCCESS;
}

int src_guard_key(const char *ip, unsigned char key[17])
{
	struct in6_addr a6;
	struct in_addr a4;
	char buf[64];

	memset(key, 0, 17);
	/* A scope (fe80::1%eth0) is not part of the address. */
	apr_cpystrn(buf, ip, sizeof(buf));
	buf[strcspn(buf, "%")] = '\0';
	if (inet_pton(AF_INET, buf, &a4) == 1) {
		key[0] = 4;
		memcpy(key + 1, &a4, 4);
		return 1;
	}
	if (inet_pton(AF_INET6, buf, &a6) != 1)
		return 0;
	if (IN6_IS_ADDR_V4MAPPED(&a6)) {
		key[0] = 4;
		memcpy(key + 1, a6.s6_addr + 12, 4);
		return 1;
	}
	key[0] = 6;
	memcpy(key + 1, a6.s6_addr, 8);
	return 1;
}

/* FNV-1a: cheap, and the slot window bounds what a collision costs. */
static apr_size_t key_hash(const unsigned char *key)
{
	apr_uint32_t h = 2166136261u;
	int i;

	for (i = 0; i < 17; i++)
		h = (h ^ key[i]) * 16777619u;
	return h;
}

/* Lower is evicted first: free, then idle unblocked, then blocked. */
static int evict_rank(const src_entry_t *e, apr_time_t now)
{
	if (!e->key[0])
		return 0;
	return e->blocked_until > now ? 2 : 1;
}

/* The entry of @p key (made when absent and @p create). Lock held. */
static src_entry_t *entry_get(src_guard_t *g, const unsigned char *key,
			      apr_time_t now, int create)
{
	apr_size_t start = key_hash(key) % g->n, i;
	src_entry_t *victim = NULL;

	for (i = 0; i < SRC_PROBE && i < g->n; i++) {
		src_entry_t *e = &g->slots[(start + i) % g->n];

		if (e->key[0] && !memcmp(e->key, key, 17)) {
			e->last_seen = now;
			return e;
		}
		if (!victim || evict_rank(e, now) < evict_rank(victim, now) ||
		    (evict_rank(e, now) == evict_rank(victim, now) &&
		     e->last_seen < victim->last_seen))
			victim = e;
	}
	if (!create)
		return NULL;
	if (victim->key[0])
		g->evicted++;
	else
		g->used++;
	memset(victim, 0, sizeof(*victim));
	memcpy(victim->key, key, 17);
	victim->last_seen = now;
	return victim;
}

void src_guard_log(sips_profile_t *p, src_event_e ev, const char *fmt, ...)
{
	src_guard_t *g = p->guard;
	char line[768];
	va_list ap;

	if (g) {
		apr_time_t now = apr_time_now();
		src_throttle_t *t = &g->ev[ev];
		int quiet;

		apr_thread_mutex_lock(g->lock);
		t->total++;
		quiet = now < t->quiet_until;
		if (quiet)
			t->unlogged++;
		else
			t->quiet_until =
			    now +
			    apr_time_from_sec(p->settings.limit_log_interval);
		apr_thread_mutex_unlock(g->lock);
		if (quiet)
			return;
	}
	va_start(ap, fmt);
	apr_vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	sb_log(SB_LOG_WARNING, events[ev].tag, "%s", line);
}

/* A summary per limit that fired unlogged since the last tick. */
static void summary_tick(void *baton)
{
	sips_profile_t *p = baton;
	src_guard_t *g = p->guard;
	unsigned secs = p->settings.limit_log_interval;
	apr_uint64_t unlogged[SRC_EV_COUNT], total[SRC_EV_COUNT];
	apr_time_t now = apr_time_now();
	int i;

	apr_thread_mutex_lock(g->lock);
	for (i = 0; i < SRC_EV_COUNT; i++) {
		unlogged[i] = g->ev[i].unlogged;
		total[i] = g->ev[i].total;
		g->ev[i].unlogged = 0;
		/* Still firing: summaries only, until it has been quiet. */
		if (unlogged[i])
			g->ev[i].quiet_until = now + apr_time_from_sec(secs);
	}
	apr_thread_mutex_unlock(g->lock);
	for (i = 0; i < SRC_EV_COUNT; i++)
		if (unlogged[i])
			sb_log(SB_LOG_WARNING, events[i].tag,
			       "profile %s: %s: %" APR_UINT64_T_FMT
			       " more in the last %us (not logged one by "
			       "one), %" APR_UINT64_T_FMT " since start",
			       p->name, events[i].what, unlogged[i], secs,
			       total[i]);
	sb_timer_start(g->worker, &g->timer, apr_time_from_sec(secs),
		       summary_tick, p);
}

void src_guard_start(sips_profile_t *p, sb_worker_t *worker)
{
	src_guard_t *g = p->guard;

	if (!g || g->worker)
		return;
	g->worker = worker;
	sb_timer_start(worker, &g->timer,
		       apr_time_from_sec(p->settings.limit_log_interval),
		       summary_tick, p);
}

void src_guard_stop(sips_profile_t *p)
{
	src_guard_t *g = p->guard;

	if (!g || !g->worker)
		return;
	sb_timer_stop(g->worker, &g->timer);
	g->worker = NULL;
}

/* Take a token of the bucket at @p offset in the entry of @p ip. */
static int bucket_ok(sips_profile_t *p, const char *ip, apr_size_t offset,
		     unsigned rate, unsigned burst)
{
	src_guard_t *g = p->guard;
	unsigned char key[17];
	apr_time_t now;
	src_entry_t *e;
	int ok = 1;

	if (!g || !rate || !src_guard_key(ip, key))
		return 1;
	now = apr_time_now();
	apr_thread_mutex_lock(g->lock);
	e = entry_get(g, key, now, 1);
	ok = rate_bucket_take((rate_bucket_t *)((char *)e + offset), now, rate,
			      burst);
	apr_thread_mutex_unlock(g->lock);
	return ok;
}

int src_guard_handshake_ok(sips_profile_t *p, const char *ip, const char *peer)
{
	const sips_settings_t *s = &p->settings;

	if (bucket_ok(p, ip, offsetof(src_entry_t, handshakes),
		      s->tls_handshake_rate, s->tls_handshake_burst))
		return 1;
	src_guard_log(p, SRC_EV_HANDSHAKE_RATE,
		      "profile %s: TLS connection from %s closed before its "
		      "handshake: source over tls-handshake-rate (%u/s, "
		      "burst %u)",
		      p->name, peer, s->tls_handshake_rate,
		      s->tls_handshake_burst);
	return 0;
}

int src_guard_udp_ok(sips_profile_t *p, const char *ip, int port)
{
	const sips_settings_t *s = &p->settings;

	if (bucket_ok(p, ip, offsetof(src_entry_t, udp), s->max_udp_rate,
		      s->max_udp_burst))
		return 1;
	src_guard_log(p, SRC_EV_UDP_RATE,
		      "profile %s: UDP datagram from %s:%d dropped: source "
		      "over max-udp-rate (%u/s, burst %u)",
		      p->name, ip, port, s->max_udp_rate, s->max_udp_burst);
	return 0;
}

unsigned src_guard_blocked(sips_profile_t *p, const char *ip)
{
	src_guard_t *g = p->guard;
	unsigned char key[17];
	apr_time_t now, left = 0;
	src_entry_t *e;

	if (!g || !p->settings.auth_block_failures || !src_guard_key(ip, key))
		return 0;
	now = apr_time_now();
	apr_thread_mutex_lock(g->lock);
	e = entry_get(g, key, now, 0);
	if (e && e->blocked_until > now)
		left = e->blocked_until - now;
	apr_thread_mutex_unlock(g->lock);
	/* Rounded up: a block with 0.2 s left is still a block. */
	return left ? (unsigned)((left + APR_USEC_PER_SEC - 1) /
				 APR_USEC_PER_SEC)
		    : 0;
}

int src_guard_auth_failed(sips_profile_t *p, const char *ip)
{
	const sips_settings_t *s = &p->settings;
	src_guard_t *g = p->guard;
	unsigned char key[17];
	apr_time_t now;
	src_entry_t *e;
	int blocked = 0;

	if (!g || !s->auth_block_failures || !src_guard_key(ip, key))
		return 0;
	now = apr_time_now();
	apr_thread_mutex_lock(g->lock);
	e = entry_get(g, key, now, 1);
	if (now - e->auth_since > apr_time_from_sec(s->auth_block_window)) {
		e->auth_since = now;
		e->auth_fails = 0;
	}
	if (++e->auth_fails >= s->auth_block_failures) {
		e->blocked_until = now + apr_time_from_sec(s->auth_block_time);
		e->auth_fails = 0;
		e->auth_since = 0;
		blocked = 1;
	}
	apr_thread_mutex_unlock(g->lock);
	if (blocked)
		src_guard_log(p, SRC_EV_AUTH_BLOCK,
			      "profile %s: source %s blocked for %us: %u "
			      "failed authentications within %us "
			      "(auth-block-failures)",
			      p->name, ip, s->auth_block_time,
			      s->auth_block_failures, s->auth_block_window);
	return blocked;
}

static void key_text(const unsigned char *key, char *buf, apr_size_t len)
{
	unsigned char a6[16] = {0};

	if (key[0] == 4) {
		inet_ntop(AF_INET, key + 1, buf, (socklen_t)len);
		return;
	}
	memcpy(a6, key + 1, 8);
	inet_ntop(AF_INET6, a6, buf, (socklen_t)len);
	apr_cpystrn(buf + strlen(buf), "/64", len - strlen(buf));
}

/* The blocked sources (a few), for status. Lock held. */
static void print_blocked(sb_stream_t *out, src_guard_t *g, apr_time_t now)
{
	unsigned shown = 0, blocked = 0;
	apr_size_t i;
	char ip[64];

	for (i = 0; i < g->n; i++) {
		const src_entry_t *e = &g->slots[i];

		if (!e->key[0] || e->blocked_until <= now)
			continue;
		if (blocked++ >= SRC_BLOCKED_SHOWN)
			continue;
		key_text(e->key, ip, sizeof(ip));
		sb_stream_printf(out, "%s %s (%" APR_TIME_T_FMT " s left)",
				 shown++ ? "," : "  blocked sources:", ip,
				 apr_time_sec(e->blocked_until - now) + 1);
	}
	if (blocked > shown)
		sb_stream_printf(out, " and %u more", blocked - shown);
	if (blocked)
		sb_stream_printf(out, "\n");
}

void src_guard_print(sb_stream_t *out, sips_profile_t *p)
{
	src_guard_t *g = p->guard;
	int i;

	if (!g)
		return;
	apr_thread_mutex_lock(g->lock);
	sb_stream_printf(out, "  limits fired:");
	for (i = 0; i < SRC_EV_COUNT; i++)
		sb_stream_printf(out, "%s %s %" APR_UINT64_T_FMT, i ? "," : "",
				 events[i].name, g->ev[i].total);
	sb_stream_printf(
	    out,
	    "\n  sources tracked: %lu of %lu, evicted %" APR_UINT64_T_FMT "\n",
	    (unsigned long)g->used, (unsigned long)g->n, g->evicted);
	print_blocked(out, g, apr_time_now());
	apr_thread_mutex_unlock(g->lock);
}
