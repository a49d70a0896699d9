/* vars.c — pre-process variables: the name→value set, built-ins, $${}. */
/* memmem(3) is a GNU extension. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <apr_hash.h>
#include <apr_strings.h>
#include <apr_uuid.h>
#include "config_private.h"

struct sb_vars {
	apr_pool_t *pool;
	apr_hash_t *hash;
};

apr_status_t sb_vars_create(sb_vars_t **out, apr_pool_t *pool)
{
	sb_vars_t *vars = apr_palloc(pool, sizeof(*vars));

	vars->pool = pool;
	vars->hash = apr_hash_make(pool);
	*out = vars;
	return APR_SUCCESS;
}

void sb_vars_set(sb_vars_t *vars, const char *name, const char *value)
{
	const char *copy = apr_pstrdup(vars->pool, value ? value : "");

	/* apr_hash_set keeps an existing entry's key: copy the name once. */
	if (!apr_hash_get(vars->hash, name, APR_HASH_KEY_STRING))
		name = apr_pstrdup(vars->pool, name);
	apr_hash_set(vars->hash, name, APR_HASH_KEY_STRING, copy);
}

const char *sb_vars_get(const sb_vars_t *vars, const char *name)
{
	return apr_hash_get(vars->hash, name, APR_HASH_KEY_STRING);
}

apr_status_t sb_vars_expand_to(const sb_vars_t *vars, const char *s,
			       apr_size_t n, sb_vars_sink_fn sink, void *ctx,
			       apr_pool_t *pool, const char **unknown)
{
	const char *end = s + n, *p = s, *open, *close, *value;
	apr_status_t rv;

	while (p < end) {
		open = memmem(p, end - p, "$${", 3);
		if (!open)
			break;
		close = memchr(open + 3, '}', end - (open + 3));
		/* An unclosed $${ is plain text, as FreeSWITCH leaves it. */
		if (!close)
			break;
		if (open > p && (rv = sink(ctx, p, open - p)) != APR_SUCCESS)
			return rv;
		value = apr_hash_get(vars->hash, open + 3, close - (open + 3));
		if (value && *value &&
		    (rv = sink(ctx, value, strlen(value))) != APR_SUCCESS)
			return rv;
		if (!value && unknown && !*unknown)
			*unknown =
			    apr_pstrmemdup(pool, open + 3, close - (open + 3));
		p = close + 1;
	}
	return p < end ? sink(ctx, p, end - p) : APR_SUCCESS;
}

typedef struct {
	char *buf;
	apr_size_t len;
} expand_buf_t;

static apr_status_t count_sink(void *ctx, const char *s, apr_size_t n)
{
	(void)s;
	((expand_buf_t *)ctx)->len += n;
	return APR_SUCCESS;
}

static apr_status_t copy_sink(void *ctx, const char *s, apr_size_t n)
{
	expand_buf_t *b = ctx;

	memcpy(b->buf + b->len, s, n);
	b->len += n;
	return APR_SUCCESS;
}

char *sb_vars_expand(const sb_vars_t *vars, const char *in, apr_pool_t *pool,
		     const char **unknown)
{
	expand_buf_t b = {NULL, 0};
	apr_size_t n = strlen(in);

	if (unknown)
		*unknown = NULL;
	/* Two passes: measure, then write, so the pool holds one copy. */
	sb_vars_expand_to(vars, in, n, count_sink, &b, pool, unknown);
	b.buf = apr_palloc(pool, b.len + 1);
	b.len = 0;
	sb_vars_expand_to(vars, in, n, copy_sink, &b, pool, NULL);
	b.buf[b.len] = '\0';
	return b.buf;
}

/*
 * The source address the kernel would pick toward a public address. A
 * connected UDP socket sends nothing; it only runs the route lookup.
 */
static int route_source(int family, char *out, apr_size_t len)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *in4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
	socklen_t slen;
	int fd, ok = 0;

	memset(&ss, 0, sizeof(ss));
	if (family == AF_INET) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons(53);
		inet_pton(AF_INET, "8.8.8.8", &in4->sin_addr);
		slen = sizeof(*in4);
	} else {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(53);
		inet_pton(AF_INET6, "2001:4860:4860::8888", &in6->sin6_addr);
		slen = sizeof(*in6);
	}
	fd = socket(family, SOCK_DGRAM, 0);
	if (fd < 0)
		return 0;
	if (connect(fd, (struct sockaddr *)&ss, slen) == 0 &&
	    getsockname(fd, (struct sockaddr *)&ss, &slen) == 0)
		ok = inet_ntop(family,
			       family == AF_INET ? (void *)&in4->sin_addr
						 : (void *)&in6->sin6_addr,
			       out, len) != NULL;
	close(fd);
	return ok;
}

/* The netmask of the interface that holds @p ip, if one does. */
static int mask_of(const char *ip, char *out, apr_size_t len)
{
	struct ifaddrs *list, *ifa;
	struct in_addr want;
	int ok = 0;

	if (inet_pton(AF_INET, ip, &want) != 1 || getifaddrs(&list) != 0)
		return 0;
	for (ifa = list; ifa && !ok; ifa = ifa->ifa_next) {
		const struct sockaddr_in *a, *m;

		if (!ifa->ifa_addr || !ifa->ifa_netmask ||
		    ifa->ifa_addr->sa_family != AF_INET)
			continue;
		a = (const struct sockaddr_in *)ifa->ifa_addr;
		m = (const struct sockaddr_in *)ifa->ifa_netmask;
		if (a->sin_addr.s_addr == want.s_addr)
			ok = inet_ntop(AF_INET, &m->sin_addr, out, len) != NULL;
	}
	freeifaddrs(list);
	return ok;
}

/* FNV-1a: a short serial that stays the same across restarts. */
static unsigned long serial_of(const char *s)
{
	unsigned long h = 2166136261UL;

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h = (h * 16777619UL) & 0xffffffffUL;
	}
	return h;
}

static void set_network_builtins(sb_vars_t *vars)
{
	char ip[INET6_ADDRSTRLEN], mask[INET_ADDRSTRLEN];

	if (!route_source(AF_INET, ip, sizeof(ip)))
		apr_cpystrn(ip, "127.0.0.1", sizeof(ip));
	sb_vars_set(vars, "local_ip_v4", ip);
	if (!mask_of(ip, mask, sizeof(mask)))
		apr_cpystrn(mask, "255.255.255.0", sizeof(mask));
	sb_vars_set(vars, "local_mask_v4", mask);
	if (!route_source(AF_INET6, ip, sizeof(ip)))
		apr_cpystrn(ip, "::1", sizeof(ip));
	sb_vars_set(vars, "local_ip_v6", ip);
}

apr_status_t sb_vars_set_builtins(sb_vars_t *vars, const sb_dirs_t *dirs)
{
	char host[256], uuid_text[APR_UUID_FORMATTED_LENGTH + 1];
	apr_uuid_t uuid;

	set_network_builtins(vars);
	if (gethostname(host, sizeof(host)) != 0)
		apr_cpystrn(host, "localhost", sizeof(host));
	host[sizeof(host) - 1] = '\0';
	sb_vars_set(vars, "hostname", host);
	sb_vars_set(vars, "switch_serial",
		    apr_psprintf(vars->pool, "%08lx", serial_of(host)));
	apr_uuid_get(&uuid);
	apr_uuid_format(uuid_text, &uuid);
	sb_vars_set(vars, "core_uuid", uuid_text);
	if (!dirs)
		return APR_SUCCESS;
	if (dirs->base_dir)
		sb_vars_set(vars, "base_dir", dirs->base_dir);
	if (dirs->conf_dir) {
		sb_vars_set(vars, "conf_dir", dirs->conf_dir);
		sb_vars_set(
		    vars, "certs_dir",
		    apr_pstrcat(vars->pool, dirs->conf_dir, "/tls", NULL));
	}
	if (dirs->log_dir)
		sb_vars_set(vars, "log_dir", dirs->log_dir);
	if (dirs->run_dir)
		sb_vars_set(vars, "run_dir", dirs->run_dir);
	if (dirs->db_dir)
		sb_vars_set(vars, "db_dir", dirs->db_dir);
	if (dirs->mod_dir)
		sb_vars_set(vars, "mod_dir", dirs->mod_dir);
	return APR_SUCCESS;
}
