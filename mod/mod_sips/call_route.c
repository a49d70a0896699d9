/* call_route.c — worker marks in branches and tags (call_route.h). */
#include <string.h>
#include <apr_strings.h>
#include "call_route.h"
#include "sip_build.h"

#define BRANCH_MARK "z9hG4bKsb"
#define TAG_MARK "sb"

static const char *marked(apr_pool_t *pool, const char *prefix,
			  unsigned index, apr_size_t rnd)
{
	return apr_psprintf(pool, "%s%02x%s", prefix, index & 0xff,
			    sip_build_random(pool, rnd));
}

const char *call_route_branch(apr_pool_t *pool, unsigned index)
{
	return marked(pool, BRANCH_MARK, index, 22);
}

const char *call_route_tag(apr_pool_t *pool, unsigned index)
{
	return marked(pool, TAG_MARK, index, 12);
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static int mark_index(const sip_str_t *v, const char *prefix)
{
	apr_size_t n = strlen(prefix);
	int hi, lo;

	if (!v->ptr || v->len < n + 3 || memcmp(v->ptr, prefix, n) != 0)
		return -1;
	hi = hexval(v->ptr[n]);
	lo = hexval(v->ptr[n + 1]);
	return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}

int call_route_owner(const sip_msg_t *msg)
{
	const sip_hdr_t *h;

	if (msg->is_request) {
		sip_addr_t to;

		h = sip_hdr_find(msg, SIP_HDR_TO);
		if (!h || sip_hdr_addr(&h->value, &to) != APR_SUCCESS)
			return -1;
		return mark_index(&to.tag, TAG_MARK);
	} else {
		sip_via_t via;

		h = sip_hdr_find(msg, SIP_HDR_VIA);
		if (!h || sip_hdr_via(&h->value, &via) != APR_SUCCESS)
			return -1;
		return mark_index(&via.branch, BRANCH_MARK);
	}
}
