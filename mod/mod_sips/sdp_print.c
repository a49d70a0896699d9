/* sdp_print.c — SDP writing: canonical text, deep copy, attribute edits. */
#include <string.h>
#include <strings.h>
#include <apr_strings.h>
#include "sdp.h"

/*
 * The text is written twice: once with buf NULL to count, once into a
 * buffer of that exact size, so a big description costs one block.
 */
typedef struct {
	char *buf;
	apr_size_t len;
} sdp_out_t;

static void put(sdp_out_t *o, const char *s, apr_size_t n)
{
	if (o->buf != NULL)
		memcpy(o->buf + o->len, s, n);
	o->len += n;
}

static void put_str(sdp_out_t *o, const char *s)
{
	put(o, s, strlen(s));
}

/* Decimal of @v, preceded by @sep when @sep is not NUL. */
static void put_num(sdp_out_t *o, char sep, apr_uint64_t v)
{
	char num[24];
	apr_size_t n;

	n = (apr_size_t)apr_snprintf(num, sizeof(num), "%" APR_UINT64_T_FMT, v);
	if (sep != '\0')
		put(o, &sep, 1);
	put(o, num, n);
}

static void put_line(sdp_out_t *o, char type, const char *value)
{
	char head[2];

	head[0] = type;
	head[1] = '=';
	put(o, head, 2);
	put_str(o, value);
	put(o, "\r\n", 2);
}

static void put_conn(sdp_out_t *o, const sdp_conn_t *c)
{
	if (c == NULL)
		return;
	put(o, "c=", 2);
	put_str(o, c->nettype);
	put(o, " ", 1);
	put_str(o, c->addrtype);
	put(o, " ", 1);
	put_str(o, c->addr);
	if (c->mcast != NULL) {
		put(o, "/", 1);
		put_str(o, c->mcast);
	}
	put(o, "\r\n", 2);
}

/* Verbatim line types in RFC 8866 order; r= goes with its t=. */
static const char rank_order[] = "iuepbtzk";
#define RANK_OTHER ((int)sizeof(rank_order) - 1)

static int line_rank(char type)
{
	const char *p;

	if (type == 'r')
		type = 't';
	p = type != '\0' ? strchr(rank_order, type) : NULL;
	return p != NULL ? (int)(p - rank_order) : RANK_OTHER;
}

/* Lines of ranks @lo..@hi, by rank, each rank in the order read. */
static void put_lines(sdp_out_t *o, const apr_array_header_t *lines, int lo,
		      int hi)
{
	const sdp_line_t *l;
	int rank, i;

	for (rank = lo; lines != NULL && rank <= hi; rank++) {
		for (i = 0; i < lines->nelts; i++) {
			l = &APR_ARRAY_IDX(lines, i, sdp_line_t);
			if (line_rank(l->type) == rank)
				put_line(o, l->type, l->value);
		}
	}
}

static void put_attrs(sdp_out_t *o, const apr_array_header_t *attrs)
{
	const sdp_attr_t *a;
	int i;

	for (i = 0; attrs != NULL && i < attrs->nelts; i++) {
		a = &APR_ARRAY_IDX(attrs, i, sdp_attr_t);
		put(o, "a=", 2);
		put_str(o, a->name);
		if (a->value != NULL) {
			put(o, ":", 1);
			put_str(o, a->value);
		}
		put(o, "\r\n", 2);
	}
}

/* m i c b k (other) a */
static void put_media(sdp_out_t *o, const sdp_media_t *m)
{
	int i;

	put(o, "m=", 2);
	put_str(o, m->type);
	put_num(o, ' ', m->port);
	if (m->nports > 1)
		put_num(o, '/', m->nports);
	put(o, " ", 1);
	put_str(o, m->proto);
	for (i = 0; m->fmts != NULL && i < m->fmts->nelts; i++) {
		put(o, " ", 1);
		put_str(o, APR_ARRAY_IDX(m->fmts, i, const char *));
	}
	put(o, "\r\n", 2);
	put_lines(o, m->lines, 0, 0);
	put_conn(o, m->conn);
	put_lines(o, m->lines, 1, RANK_OTHER);
	put_attrs(o, m->attrs);
}

/* v o s (i u e p) c (b t r z k other) a, then the media. */
static void put_session(sdp_out_t *o, const sdp_session_t *s)
{
	const sdp_origin_t *og = &s->origin;
	int i;

	put(o, "v=", 2);
	put_num(o, '\0', s->version);
	put(o, "\r\no=", 4);
	put_str(o, og->username);
	put_num(o, ' ', og->sess_id);
	put_num(o, ' ', og->sess_version);
	put(o, " ", 1);
	put_str(o, og->nettype);
	put(o, " ", 1);
	put_str(o, og->addrtype);
	put(o, " ", 1);
	put_str(o, og->addr);
	put(o, "\r\n", 2);
	put_line(o, 's', s->name != NULL ? s->name : "-");
	put_lines(o, s->lines, 0, 3);
	put_conn(o, s->conn);
	put_lines(o, s->lines, 4, RANK_OTHER);
	put_attrs(o, s->attrs);
	for (i = 0; s->media != NULL && i < s->media->nelts; i++)
		put_media(o, APR_ARRAY_IDX(s->media, i, const sdp_media_t *));
}

char *sdp_print(const sdp_session_t *s, apr_pool_t *pool, apr_size_t *len)
{
	sdp_out_t o = {NULL, 0};

	put_session(&o, s);
	o.buf = apr_palloc(pool, o.len + 1);
	o.len = 0;
	put_session(&o, s);
	o.buf[o.len] = '\0';
	if (len != NULL)
		*len = o.len;
	return o.buf;
}

static const char *str_dup(apr_pool_t *pool, const char *s)
{
	return s != NULL ? apr_pstrdup(pool, s) : NULL;
}

static sdp_conn_t *copy_conn(apr_pool_t *pool, const sdp_conn_t *src)
{
	sdp_conn_t *c;

	if (src == NULL)
		return NULL;
	c = apr_palloc(pool, sizeof(*c));
	c->nettype = str_dup(pool, src->nettype);
	c->addrtype = str_dup(pool, src->addrtype);
	c->addr = str_dup(pool, src->addr);
	c->mcast = str_dup(pool, src->mcast);
	return c;
}

static apr_array_header_t *copy_lines(apr_pool_t *pool,
				      const apr_array_header_t *src)
{
	apr_array_header_t *a;
	sdp_line_t *l;
	int i;

	a = apr_array_make(pool, src != NULL && src->nelts > 0 ? src->nelts : 2,
			   sizeof(sdp_line_t));
	for (i = 0; src != NULL && i < src->nelts; i++) {
		l = &APR_ARRAY_PUSH(a, sdp_line_t);
		l->type = APR_ARRAY_IDX(src, i, sdp_line_t).type;
		l->value =
		    str_dup(pool, APR_ARRAY_IDX(src, i, sdp_line_t).value);
	}
	return a;
}

static apr_array_header_t *copy_attrs(apr_pool_t *pool,
				      const apr_array_header_t *src)
{
	apr_array_header_t *a;
	const sdp_attr_t *s;
	int i;

	a = apr_array_make(pool, src != NULL && src->nelts > 0 ? src->nelts : 4,
			   sizeof(sdp_attr_t));
	for (i = 0; src != NULL && i < src->nelts; i++) {
		s = &APR_ARRAY_IDX(src, i, sdp_attr_t);
		sdp_attr_add(pool, a, s->name, s->value);
	}
	return a;
}

static sdp_media_t *copy_media(apr_pool_t *pool, const sdp_media_t *src)
{
	sdp_media_t *m = apr_palloc(pool, sizeof(*m));
	int i, n = src->fmts != NULL ? src->fmts->nelts : 0;

	m->type = str_dup(pool, src->type);
	m->port = src->port;
	m->nports = src->nports;
	m->proto = str_dup(pool, src->proto);
	m->fmts = apr_array_make(pool, n > 0 ? n : 1, sizeof(const char *));
	for (i = 0; i < n; i++)
		APR_ARRAY_PUSH(m->fmts, const char *) =
		    str_dup(pool, APR_ARRAY_IDX(src->fmts, i, const char *));
	m->conn = copy_conn(pool, src->conn);
	m->lines = copy_lines(pool, src->lines);
	m->attrs = copy_attrs(pool, src->attrs);
	return m;
}

sdp_session_t *sdp_session_copy(apr_pool_t *pool, const sdp_session_t *src)
{
	sdp_session_t *s = apr_palloc(pool, sizeof(*s));
	int i, n = src->media != NULL ? src->media->nelts : 0;

	s->version = src->version;
	s->origin = src->origin;
	s->origin.username = str_dup(pool, src->origin.username);
	s->origin.nettype = str_dup(pool, src->origin.nettype);
	s->origin.addrtype = str_dup(pool, src->origin.addrtype);
	s->origin.addr = str_dup(pool, src->origin.addr);
	s->name = str_dup(pool, src->name);
	s->conn = copy_conn(pool, src->conn);
	s->lines = copy_lines(pool, src->lines);
	s->attrs = copy_attrs(pool, src->attrs);
	s->media = apr_array_make(pool, n > 0 ? n : 1, sizeof(sdp_media_t *));
	for (i = 0; i < n; i++)
		APR_ARRAY_PUSH(s->media, sdp_media_t *) = copy_media(
		    pool, APR_ARRAY_IDX(src->media, i, const sdp_media_t *));
	return s;
}

int sdp_attr_remove(apr_array_header_t *attrs, const char *name)
{
	sdp_attr_t *a = (sdp_attr_t *)attrs->elts;
	int i, kept = 0;

	for (i = 0; i < attrs->nelts; i++)
		if (strcasecmp(a[i].name, name) != 0)
			a[kept++] = a[i];
	i = attrs->nelts - kept;
	attrs->nelts = kept;
	return i;
}

void sdp_attr_add(apr_pool_t *pool, apr_array_header_t *attrs, const char *name,
		  const char *value)
{
	sdp_attr_t *a = &APR_ARRAY_PUSH(attrs, sdp_attr_t);

	a->name = apr_pstrdup(pool, name);
	a->value = value != NULL ? apr_pstrdup(pool, value) : NULL;
}

void sdp_conn_set(apr_pool_t *pool, sdp_conn_t **conn, const char *addr)
{
	sdp_conn_t *c = apr_pcalloc(pool, sizeof(*c));

	c->nettype = "IN";
	c->addrtype = strchr(addr, ':') != NULL ? "IP6" : "IP4";
	c->addr = apr_pstrdup(pool, addr);
	*conn = c;
}
