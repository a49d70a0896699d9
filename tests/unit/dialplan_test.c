/* dialplan_test.c — loading and hunting the XML dialplan. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <apr_general.h>
#include <apr_file_io.h>
#include <apr_strings.h>
#include "sipsbridge/sb_config.h"
#include "sipsbridge/sb_dialplan.h"
#include "expand_private.h"

#include "conf_fixture.h"

/* A root whose dialplan section includes @p include (a glob). */
static void put_root(const char *include)
{
	conf_put("root.xml", apr_psprintf(pool,
					  "<?xml version=\"1.0\"?>\n"
					  "<document type=\"sipsbridge/xml\">\n"
					  "  <section name=\"dialplan\">\n"
					  "    <X-PRE-PROCESS cmd=\"include\" "
					  "data=\"%s\"/>\n"
					  "  </section>\n"
					  "</document>\n",
					  include));
}

static int app_known(void *baton, const char *app)
{
	static const char *const apps[] = {"set",    "export", "bridge",
					   "answer", "hangup", "transfer",
					   "log",    "echo",   NULL};
	int i;

	(void)baton;
	for (i = 0; apps[i]; i++)
		if (strcmp(app, apps[i]) == 0)
			return 1;
	return 0;
}

static apr_status_t load_dp(sb_dialplan_t **dp, sb_config_error_t *err)
{
	sb_config_t *cfg;
	sb_vars_t *vars;

	sb_vars_create(&vars, pool);
	memset(err, 0, sizeof(*err));
	if (sb_config_load(&cfg, conf_path("root.xml"), vars, pool, err) !=
	    APR_SUCCESS)
		fail_msg("config: %s:%d: %s", err->file, err->line, err->msg);
	return sb_dialplan_load(dp, cfg, app_known, NULL, pool, err);
}

static sb_dialplan_t *load_ok(void)
{
	sb_config_error_t err;
	sb_dialplan_t *dp = NULL;

	if (load_dp(&dp, &err) != APR_SUCCESS)
		fail_msg("dialplan: %s:%d: %s", err.file, err.line, err.msg);
	return dp;
}

/* A dialplan from one file, dp/test.xml, holding @p body. */
static sb_dialplan_t *load_body(const char *body)
{
	put_root("dp/*.xml");
	conf_put("dp/test.xml",
		 apr_pstrcat(pool, "<include>\n", body, "</include>\n", NULL));
	return load_ok();
}

/* Variables from "name", "value", ..., NULL. */
static apr_table_t *vars_of(const char *name, ...)
{
	apr_table_t *t = apr_table_make(pool, 8);
	const char *n, *v;
	va_list ap;

	va_start(ap, name);
	for (n = name; n; n = va_arg(ap, const char *)) {
		v = va_arg(ap, const char *);
		apr_table_set(t, n, v);
	}
	va_end(ap);
	return t;
}

static apr_array_header_t *hunt_ok(sb_dialplan_t *dp, const char *ctx,
				   apr_table_t *vars)
{
	apr_array_header_t *acts = NULL;

	assert_int_equal(sb_dialplan_hunt(dp, ctx, vars, pool, &acts),
			 APR_SUCCESS);
	assert_non_null(acts);
	return acts;
}

static void hunt_none(sb_dialplan_t *dp, const char *ctx, apr_table_t *vars)
{
	apr_array_header_t *acts = NULL;

	assert_int_equal(sb_dialplan_hunt(dp, ctx, vars, pool, &acts),
			 SB_ENOTFOUND);
	assert_null(acts);
}

static const sb_dp_action_t *act(const apr_array_header_t *a, int i)
{
	assert_true(i < a->nelts);
	return &APR_ARRAY_IDX(a, i, sb_dp_action_t);
}

/* The "log" data of every action the hunt returns, joined by "|". */
static const char *hunt_logs(sb_dialplan_t *dp, const char *ctx,
			     apr_table_t *vars)
{
	const apr_array_header_t *a = hunt_ok(dp, ctx, vars);
	const char *s = "";
	int i;

	for (i = 0; i < a->nelts; i++) {
		assert_string_equal(act(a, i)->app, "log");
		s = apr_pstrcat(pool, s, i ? "|" : "", act(a, i)->data, NULL);
	}
	return s;
}

static void assert_action(const apr_array_header_t *a, int i, const char *app,
			  const char *data, const char *ext)
{
	assert_string_equal(act(a, i)->app, app);
	assert_string_equal(act(a, i)->data, data);
	assert_string_equal(act(a, i)->extension, ext);
}

static const char *source_top(void)
{
	const char *top = getenv("SB_TOP_SRCDIR");
	char *t;

	if (top)
		return top;
	/* Built by hand: this file is <top>/tests/unit/dialplan_test.c. */
	t = apr_pstrdup(pool, __FILE__);
	if (!strstr(t, "tests/unit/dialplan_test.c"))
		return ".";
	*strstr(t, "tests/unit/dialplan_test.c") = '\0';
	return *t ? t : ".";
}

static void test_shipped_default(void **state)
{
	const char *top = source_top();
	const char *conf = apr_pstrcat(pool, top, "/conf/dialplan", NULL);
	apr_array_header_t *a;
	apr_table_t *v;
	sb_dialplan_t *dp;
	unsigned nc, ne;

	(void)state;
	if (access(apr_pstrcat(pool, conf, "/default.xml", NULL), R_OK))
		fail_msg("no %s/default.xml: set SB_TOP_SRCDIR", conf);
	put_root(apr_pstrcat(pool, conf, "/*.xml", NULL));
	dp = load_ok();
	sb_dialplan_counts(dp, &nc, &ne);
	assert_int_equal(nc, 2);
	assert_int_equal(ne, 4); /* global, local, echo; public */

	v = vars_of("destination_number", "1005", "domain_name", "d.example",
		    NULL);
	a = hunt_ok(dp, "default", v);
	assert_int_equal(a->nelts, 4);
	assert_action(a, 0, "export", "dialed_extension=1005",
		      "Local_Extension");
	assert_non_null(strstr(act(a, 0)->file, "/conf/dialplan/default.xml"));
	assert_int_equal(act(a, 0)->line, 13);
	assert_action(a, 1, "set", "call_timeout=30", "Local_Extension");
	assert_action(a, 2, "set", "hangup_after_bridge=true",
		      "Local_Extension");
	/* ${} is left for the application to expand at run time. */
	assert_action(a, 3, "bridge", "user/${dialed_extension}@${domain_name}",
		      "Local_Extension");
	assert_int_equal(act(a, 3)->line, 16);
	assert_null(apr_table_get(v, "dialed_extension"));

	/* The global extension adds SRTP for the B leg and continues. */
	apr_table_set(v, "rtp_has_crypto", "AES_CM_128_HMAC_SHA1_80");
	a = hunt_ok(dp, "default", v);
	assert_int_equal(a->nelts, 5);
	assert_action(a, 0, "set",
		      "rtp_secure_media_outbound=true:AES_CM_128_HMAC_SHA1_80",
		      "global");
	assert_int_equal(act(a, 0)->line, 7);
	assert_action(a, 1, "export", "dialed_extension=1005",
		      "Local_Extension");
	apr_table_set(v, "rtp_has_crypto", "AES_CM_128_HMAC_SHA1_80_X");
	assert_int_equal(hunt_ok(dp, "default", v)->nelts, 4);

	/* No local extension: only the global one's action (FreeSWITCH
	 * runs what was collected), nothing at all without crypto. */
	apr_table_set(v, "destination_number", "2000");
	apr_table_set(v, "rtp_has_crypto", "AEAD_AES_256_GCM");
	a = hunt_ok(dp, "default", v);
	assert_int_equal(a->nelts, 1);
	assert_string_equal(act(a, 0)->extension, "global");
	apr_table_unset(v, "rtp_has_crypto");
	hunt_none(dp, "default", v);

	a = hunt_ok(dp, "public", vars_of("destination_number", "1010", NULL));
	assert_int_equal(a->nelts, 1);
	assert_action(a, 0, "transfer", "1010 XML default",
		      "public_extensions");
	assert_non_null(strstr(act(a, 0)->file, "/conf/dialplan/public.xml"));
	hunt_none(dp, "nosuchcontext", v);
	hunt_none(dp, NULL, v);
}

/* The "log" data the hunt of @p ctx returns with the given variables. */
#define LOGS(ctx, ...) hunt_logs(dp, ctx, vars_of(__VA_ARGS__, NULL))

static void test_anti_actions(void **state)
{
	sb_dialplan_t *dp;

	(void)state;
	dp = load_body(
	    "<context name='anti'><extension name='first'>\n"
	    " <condition field='destination_number' expression='^1$'>\n"
	    "  <action application='log' data='one'/>\n"
	    "  <anti-action application='log' data='not one $1'/>\n"
	    " </condition></extension>\n"
	    " <extension name='second'><condition>\n"
	    "  <action application='log' data='2nd'/></condition></extension>\n"
	    "</context>\n");
	assert_string_equal(LOGS("anti", "destination_number", "1"), "one");
	/* Anti-actions make the extension match: "second" never runs. */
	assert_string_equal(LOGS("anti", "destination_number", "2"),
			    "not one $1");
}

#define FALLBACK                                                               \
	" <extension name='fb'><condition>\n"                                  \
	"  <action application='log' data='fb'/></condition></extension>\n"
#define AFTER                                                                  \
	"  <condition><action application='log' data='after'/>"                \
	"</condition></extension>\n"

static const char *const break_plan =
    "<context name='on-false'><extension name='e'>\n"
    "  <condition field='a' expression='^yes$'/>\n" AFTER FALLBACK
    "</context><context name='on-true'><extension name='e'>\n"
    "  <condition field='a' expression='^yes$' break='on-true'>\n"
    "   <action application='log' data='yes'/>\n"
    "   <anti-action application='log' data='no'/></condition>\n" AFTER
    "</context><context name='always'><extension name='e'>\n"
    "  <condition field='a' expression='^yes$' break='always'>\n"
    "   <action application='log' data='yes'/></condition>\n" AFTER FALLBACK
    "</context><context name='never'><extension name='e'>\n"
    "  <condition field='a' expression='^yes$' break='never'>\n"
    "   <action application='log' data='yes'/></condition>\n"
    "  <condition field='b' expression='^yes$'>\n"
    "   <action application='log' data='b'/></condition></extension>\n" FALLBACK
    "</context>\n";

static void test_break_values(void **state)
{
	sb_dialplan_t *dp;

	(void)state;
	dp = load_body(break_plan);
	assert_string_equal(LOGS("on-false", "a", "yes"), "after");
	assert_string_equal(LOGS("on-false", "a", "no"), "fb");
	assert_string_equal(LOGS("on-true", "a", "yes"), "yes");
	assert_string_equal(LOGS("on-true", "a", "no"), "no|after");
	assert_string_equal(LOGS("always", "a", "yes"), "yes");
	assert_string_equal(LOGS("always", "a", "no"), "fb");
	assert_string_equal(LOGS("never", "a", "no", "b", "yes"), "b");
	/* A true condition's actions stay when a later one fails, and the
	 * hunt goes on to the next extension. */
	assert_string_equal(LOGS("never", "a", "yes", "b", "no"), "yes|fb");
}

static void test_continue_and_merge(void **state)
{
	sb_dialplan_t *dp;
	unsigned nc, ne;

	(void)state;
	put_root("dp/*.xml");
	conf_put(
	    "dp/a.xml",
	    "<include><context name='c'>\n"
	    " <extension name='one' continue='true'>\n"
	    "  <condition field='destination_number' expression='^(\\d+)$'>\n"
	    "   <action application='log' data='one $1'/></condition>\n"
	    " </extension><extension name='two' continue='false'>\n"
	    "  <condition field='destination_number' expression='^5'>\n"
	    "   <action application='log' data='two'/></condition>\n"
	    "</extension></context></include>\n");
	conf_put(
	    "dp/b.xml",
	    "<include><context name='c'><extension name='three'><condition>\n"
	    " <action application='log' data='three'/></condition>\n"
	    "</extension></context><context name='other'/></include>\n");
	dp = load_ok();
	sb_dialplan_counts(dp, &nc, &ne);
	assert_int_equal(nc, 2);
	assert_int_equal(ne, 3);
	assert_string_equal(LOGS("c", "destination_number", "55"),
			    "one 55|two");
	/* "three" comes from the second file, after a.xml's extensions. */
	assert_string_equal(LOGS("c", "destination_number", "66"),
			    "one 66|three");
	assert_string_equal(
	    act(hunt_ok(dp, "c", vars_of("destination_number", "x", NULL)), 0)
		->file,
	    conf_path("dp/b.xml"));
	hunt_none(dp, "other", vars_of("destination_number", "1", NULL));
}

static void test_regex_modes(void **state)
{
	sb_dialplan_t *dp;
	static const char *const modes[] = {"all", "any", "xor"};
	const char *body = "";
	int i;

	(void)state;
	for (i = 0; i < 3; i++)
		body = apr_psprintf(
		    pool,
		    "%s<context name='%s'><extension name='e'>\n"
		    " <condition regex='%s'>\n"
		    "  <regex field='a' expression='^1$'/>\n"
		    "  <regex field='${b}' expression='^(x)(y)$'/>\n"
		    "  <action application='log' data='yes $1$2'/>\n"
		    "  <anti-action application='log' data='no $1'/>\n"
		    "</condition></extension></context>\n",
		    body, modes[i], modes[i]);
	dp = load_body(body);
	/* Captures come from the last <regex> tested with groups. */
	assert_string_equal(LOGS("all", "a", "1", "b", "xy"), "yes xy");
	assert_string_equal(LOGS("all", "a", "1", "b", "no"), "no $1");
	assert_string_equal(LOGS("all", "a", "2", "b", "xy"), "no $1");
	/* any stops at the first pass: no groups, so "$1" stays. */
	assert_string_equal(LOGS("any", "a", "1", "b", "xy"), "yes $1$2");
	assert_string_equal(LOGS("any", "a", "0", "b", "xy"), "yes xy");
	assert_string_equal(LOGS("any", "a", "0"), "no $1");
	assert_string_equal(LOGS("xor", "a", "1"), "yes ");
	assert_string_equal(LOGS("xor", "b", "xy"), "yes xy");
	assert_string_equal(LOGS("xor", "a", "1", "b", "xy"), "no $1");
	assert_string_equal(LOGS("xor", "a", "0"), "no $1");
}

static void test_inline_set(void **state)
{
	apr_table_t *v;
	apr_array_header_t *a;
	sb_dialplan_t *dp;

	(void)state;
	dp = load_body(
	    "<context name='c'><extension name='prep' continue='true'>\n"
	    " <condition field='destination_number' expression='^(\\d+)$'>\n"
	    "  <action application='set' inline='true'\n"
	    "          data='route=$1-${domain_name}'/>\n"
	    "  <action application='set' data='gone=' inline='yes'/>\n"
	    "  <action application='set' data='later=x' inline='false'/>\n"
	    " </condition><condition field='route' expression='^(\\d+)-'>\n"
	    "  <action application='log' data='same $1'/></condition>\n"
	    "</extension><extension name='use'>\n"
	    " <condition field='${route}' expression='^1005-(.*)$'>\n"
	    "  <action application='log' data='later $1'/></condition>\n"
	    "</extension></context>\n");
	v = vars_of("destination_number", "1005", "domain_name", "d.example",
		    "gone", "1", NULL);
	a = hunt_ok(dp, "c", v);
	assert_int_equal(a->nelts, 3);
	assert_action(a, 0, "set", "later=x", "prep");
	assert_action(a, 1, "log", "same 1005", "prep");
	assert_action(a, 2, "log", "later d.example", "use");
	assert_string_equal(apr_table_get(v, "route"), "1005-d.example");
	assert_null(apr_table_get(v, "gone"));
	assert_null(apr_table_get(v, "later"));
}

static void test_captures_and_fields(void **state)
{
	apr_array_header_t *acts = NULL;
	sb_dialplan_t *dp;

	(void)state;
	dp = load_body(
	    "<context name='c'><extension name='caps'>\n"
	    " <condition field='destination_number' expression='^(\\d)(\\d+)$'>"
	    "  <action application='log'"
	    "   data='a=$1 b=$2 c=$3 all=$0 z=$9 lit=\\$1 $x $'/></condition>\n"
	    "</extension><extension name='nogroups'>\n"
	    " <condition field='destination_number' expression='^abc$'>\n"
	    "  <action application='log' data='keep $1'/></condition>\n"
	    "</extension><extension name='tls'>\n"
	    " <condition field='${regex(${sip_contact}|transport=tls)}'\n"
	    "            expression='^true$'>\n"
	    "  <action application='log' data='tls'/></condition>\n"
	    "</extension><extension name='prefix'>\n"
	    " <condition field='destination_number'"
	    "            expression='^${prefix}(\\d+)$'>\n"
	    "  <action application='log' data='num $1'/></condition>\n"
	    "</extension><extension name='flags'>\n"
	    " <condition field='caller_id_name' expression='/^alice$/i'>\n"
	    "  <action application='log' data='alice'/></condition>\n"
	    "</extension><extension name='empty'>\n"
	    " <condition field='unset_var' expression='^$'>\n"
	    "  <action application='log' data='empty'/></condition>\n"
	    "</extension></context>\n"
	    "<context name='broken'><extension name='e'>\n"
	    " <condition field='${nosuchfn(x)}' expression='^x$'/>\n"
	    "</extension></context><context name='badre'>\n"
	    " <extension name='e'><condition field='a' expression='^${re}$'/>\n"
	    "</extension></context>\n");
	assert_string_equal(LOGS("c", "destination_number", "1234"),
			    "a=1 b=234 c= all=1234 z= lit=\\$1 $x $");
	assert_string_equal(LOGS("c", "destination_number", "abc"), "keep $1");
	assert_string_equal(LOGS("c", "sip_contact", "<sip:a@h;transport=tls>"),
			    "tls");
	assert_string_equal(
	    LOGS("c", "destination_number", "x9123", "prefix", "x9"),
	    "num 123");
	assert_string_equal(LOGS("c", "caller_id_name", "ALICE"), "alice");
	assert_string_equal(LOGS("c", "x", "y"), "empty");
	assert_string_equal(LOGS("c", "unset_var", ""), "empty");
	hunt_none(dp, "c", vars_of("unset_var", "set", NULL));
	/* Run-time failures are reported, not treated as a mismatch. */
	assert_int_equal(sb_dialplan_hunt(dp, "broken", vars_of("x", "x", NULL),
					  pool, &acts),
			 SB_EMALFORMED);
	assert_int_equal(sb_dialplan_hunt(dp, "badre", vars_of("re", "(", NULL),
					  pool, &acts),
			 SB_EMALFORMED);
	assert_null(acts);
}

typedef struct {
	const char *body; /* lines 3.. of dp/test.xml */
	int line;
	const char *msg;
} load_error_case_t;

static const load_error_case_t load_errors[] = {
    {"<extension name='e'>\n"
     "<condition field='destination_number' expression='^(10'/>\n",
     4,
     "context \"c\", extension \"e\": expression \"^(10\": PCRE2: "
     "missing closing parenthesis at offset 4"},
    {"<extension name='e'>\n<condition>\n"
     "<action application='nosuch' data='x'/>\n",
     5, "extension \"e\": <action>: unknown application \"nosuch\""},
    {"<extension name='e'>\n<condition>\n<anti-action data='x'/>\n", 5,
     "<anti-action> without application"},
    {"<extension name='e'>\n<condition expression='^1$'/>\n", 4,
     "expression \"^1$\" without field"},
    {"<extension name='e'>\n<condition field='a'/>\n", 4,
     "field \"a\" without expression"},
    {"<extension name='e'>\n"
     "<condition field='a' expression='1' break='sometimes'/>\n",
     4, "break=\"sometimes\": expected on-false, on-true, always or never"},
    {"<extension name='e'>\n<condition regex='most'/>\n", 4,
     "regex=\"most\": expected all, any or xor"},
    {"<extension name='e'>\n<condition regex='any'/>\n", 4,
     "regex=\"any\" without <regex> elements"},
    {"<extension name='e'>\n"
     "<condition regex='all' field='a' expression='b'/>\n",
     4, "takes its tests from <regex> elements"},
    {"<extension name='e'>\n<condition>\n"
     "<regex field='a' expression='b'/>\n",
     5, "<regex> needs regex="},
    {"<extension name='e'>\n<condition regex='xor'>\n"
     "<regex field='a' expression='('/>\n",
     5, "PCRE2: missing closing parenthesis at offset 1"},
    {"<extension>\n", 3, "context \"c\": <extension> without name"},
    {"<extension name='e'>\n<condition wday='1-5'/>\n", 4,
     "<condition>: attribute \"wday\" is not supported"},
    {"<extension name='e'>\n<condition>\n<condition/>\n", 5,
     "nested <condition> is not supported"},
    {"<extension name='e'>\n<condition>\n"
     "<action application='bridge' data='x' inline='true'/>\n",
     5, "inline=\"true\" works with \"set\" only, not \"bridge\""},
    {"<extension name='e'>\n<condition>\n"
     "<action application='set' data='a=1' inline='maybe'/>\n",
     5, "inline=\"maybe\" is not true or false"},
    {"<extension name='e' continue='perhaps'>\n", 3,
     "continue=\"perhaps\" is not true or false"},
    {"<extension name='e'>\n<condition field='a' expression='/abc/q'/>\n", 4,
     "a /pattern/ needs a closing"},
    {"<foo/>\n<extension name='e'>\n", 3, "unexpected <foo> in <context>"},
    {"<extension name='e'>\n<action application='log'/>\n", 4,
     "unexpected <action> in <extension>"},
};

/* Whether @p body has a @p tag element that it does not close. */
static int is_open(const char *body, const char *tag)
{
	const char *p = strstr(body, tag), *end;

	if (!p)
		return 0;
	end = strchr(p, '>');
	return end && end[-1] != '/';
}

static void test_load_errors(void **state)
{
	sb_config_error_t err;
	sb_dialplan_t *dp;
	size_t i;

	(void)state;
	put_root("dp/*.xml");
	for (i = 0; i < sizeof(load_errors) / sizeof(load_errors[0]); i++) {
		const load_error_case_t *c = &load_errors[i];
		/* Close whatever the case opened, so the XML is well formed. */
		const char *tail =
		    is_open(c->body, "<condition") ? "</condition></extension>"
		    : is_open(c->body, "<extension") ? "</extension>"
						     : "";

		conf_put("dp/test.xml",
			 apr_pstrcat(pool, "<include>\n<context name=\"c\">\n",
				     c->body, tail, "</context>\n</include>\n",
				     NULL));
		dp = NULL;
		if (load_dp(&dp, &err) != SB_ECONFIG)
			fail_msg("case %zu loaded", i);
		assert_null(dp);
		assert_string_equal(err.file, conf_path("dp/test.xml"));
		if (err.line != c->line || !strstr(err.msg, c->msg))
			fail_msg("case %zu: got %d: %s", i, err.line, err.msg);
		assert_non_null(strstr(err.msg, "dialplan: "));
	}
}

static void test_load_errors_outside_extensions(void **state)
{
	sb_config_error_t err;
	sb_dialplan_t *dp = NULL;

	(void)state;
	put_root("dp/*.xml");
	conf_put("dp/a.xml", "<include><context name=\"ok\"/></include>\n");
	conf_put("dp/b.xml",
		 "<include>\n\n<context>\n</context>\n</include>\n");
	assert_int_equal(load_dp(&dp, &err), SB_ECONFIG);
	assert_string_equal(err.file, conf_path("dp/b.xml"));
	assert_int_equal(err.line, 3);
	assert_string_equal(err.msg, "dialplan: <context> without name");
	conf_put("dp/b.xml",
		 "<include>\n<extension name=\"x\"/>\n</include>\n");
	assert_int_equal(load_dp(&dp, &err), SB_ECONFIG);
	assert_int_equal(err.line, 2);
	assert_string_equal(err.msg,
			    "dialplan: unexpected <extension> in the dialplan "
			    "section");
	assert_null(dp);
}

static void test_no_dialplan_section(void **state)
{
	sb_config_error_t err;
	sb_config_t *cfg;
	sb_dialplan_t *dp = NULL;
	sb_vars_t *vars;
	unsigned nc = 9, ne = 9;

	(void)state;
	conf_put("root.xml", "<document type=\"sipsbridge/xml\"/>\n");
	sb_vars_create(&vars, pool);
	assert_int_equal(
	    sb_config_load(&cfg, conf_path("root.xml"), vars, pool, &err),
	    APR_SUCCESS);
	/* No known() callback: every application is accepted. */
	assert_int_equal(sb_dialplan_load(&dp, cfg, NULL, NULL, pool, &err),
			 APR_SUCCESS);
	sb_dialplan_counts(dp, &nc, &ne);
	assert_int_equal(nc, 0);
	assert_int_equal(ne, 0);
	hunt_none(dp, "default", vars_of("destination_number", "1", NULL));
}

#define T(f) conf_test(f)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_shipped_default),
	    T(test_anti_actions),
	    T(test_break_values),
	    T(test_continue_and_merge),
	    T(test_regex_modes),
	    T(test_inline_set),
	    T(test_captures_and_fields),
	    T(test_load_errors),
	    T(test_load_errors_outside_extensions),
	    T(test_no_dialplan_section),
	};
	int rc;

	apr_initialize();
	if (sb_expand_builtins_register() != APR_SUCCESS)
		return 1;
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	sb_expand_shutdown();
	apr_terminate();
	return rc;
}
