/* session_test.c — sessions, the dialplan executor and the core apps. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <apr_general.h>
#include <apr_strings.h>
#include "sipsbridge/sb_config.h"
#include "sipsbridge/sb_log.h"
#include "sipsbridge/sb_session.h"
#include "expand_private.h"
#include "session_private.h"
#include "conf_fixture.h"

/* Flags the worker sets and the test thread polls (see loop_test.c). */
#define FLAG_SET(p) __atomic_store_n((p), 1, __ATOMIC_RELEASE)
#define FLAG_GET(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)

static sb_loop_t *loop;
static sb_worker_t *worker;
static sb_dialplan_t *dp;

/* ---- a fake endpoint: counts what the core asks of it ---- */

typedef struct fake_leg {
	unsigned answer, pre_answer, ring_ready, echo, hangup;
	int cause;
	apr_status_t answer_rv;
	int destroy_in_hangup; /* frees the session from inside ops->hangup */
	char cause_var[64];
	apr_time_t started, hung_at;
	int hung; /* FLAG_* */
} fake_leg_t;

static apr_status_t fake_answer(sb_session_t *s)
{
	fake_leg_t *leg = sb_session_leg(s);

	leg->answer++;
	return leg->answer_rv;
}

/* Counts into the fake_leg_t member of the same name. */
#define FAKE_OP(member)                                                        \
	static apr_status_t fake_##member(sb_session_t *s)                     \
	{                                                                      \
		((fake_leg_t *)sb_session_leg(s))->member++;                   \
		return APR_SUCCESS;                                            \
	}
FAKE_OP(pre_answer)
FAKE_OP(ring_ready)
FAKE_OP(echo)

static void fake_hangup(sb_session_t *s, int cause)
{
	fake_leg_t *leg = sb_session_leg(s);
	const char *v = sb_session_get_var(s, "hangup_cause");

	leg->hangup++;
	leg->cause = cause;
	apr_cpystrn(leg->cause_var, v ? v : "", sizeof(leg->cause_var));
	leg->hung_at = apr_time_now();
	if (leg->destroy_in_hangup)
		sb_session_destroy(s);
	FLAG_SET(&leg->hung);
}

static const sb_endpoint_ops_t fake_ops = {
    "fake",	     fake_answer, fake_pre_answer,
    fake_ring_ready, fake_echo,	  fake_hangup,
};

/* Only hangup: every other operation is "not supported". */
static const sb_endpoint_ops_t bare_ops = {
    "bare", NULL, NULL, NULL, NULL, fake_hangup,
};

/* ---- applications the tests register ---- */

static sb_timer_t wait_timer;
static int wait_go_on;
static int sync_depth, sync_max_depth, sync_runs;

static void wait_fire(void *baton)
{
	sb_session_resume(baton, wait_go_on);
}

/* Waits; a timer of the test resumes it 20 ms later. */
static sb_app_result_e app_test_wait(sb_session_t *s, const char *data)
{
	(void)data;
	sb_timer_start(sb_session_worker(s), &wait_timer,
		       apr_time_from_msec(20), wait_fire, s);
	return SB_APP_WAIT;
}

/* Finishes at once from inside: resume before returning WAIT. */
static sb_app_result_e app_test_sync(sb_session_t *s, const char *data)
{
	(void)data;
	sync_runs++;
	if (++sync_depth > sync_max_depth)
		sync_max_depth = sync_depth;
	sb_session_resume(s, 1);
	sync_depth--;
	return SB_APP_WAIT;
}

static sb_app_result_e app_test_stop(sb_session_t *s, const char *data)
{
	(void)s;
	(void)data;
	return SB_APP_STOP;
}

/* ---- the dialplan ---- */

/* An extension of one condition on destination_number, and its actions. */
#define EXT(name, expr, actions)                                               \
	"<extension name=\"" name "\">" COND(expr, actions) "</extension>\n"
#define COND(expr, actions)                                                    \
	"<condition field=\"destination_number\" expression=\"" expr           \
	"\">" actions "</condition>"
#define ACT(app, data) "<action application=\"" app "\" data=\"" data "\"/>"

/* One extension per line reads better than the formatter's layout. */
/* clang-format off */
static const char dialplan_xml[] =
"<?xml version=\"1.0\"?>\n"
"<document type=\"sipsbridge/xml\"><section name=\"dialplan\">\n"
"<context name=\"default\">\n"
EXT("vars", "^100$",
    ACT("set", "greeting=hi ${caller_id_number}")
    ACT("set", "copy=${greeting}!") ACT("set", "gone=x") ACT("unset", "gone")
    ACT("set", "emptied=y") ACT("set", "emptied=")
    ACT("export", "exported=one") ACT("export", "nolocal:remote=two")
    ACT("export", "exported=one") ACT("log", "NOTICE marker ${copy}")
    ACT("log", "1 alert-level") ACT("answer", "") ACT("pre_answer", "")
    ACT("set", "last=yes"))
EXT("sleep", "^200$",
    ACT("sleep", "50") ACT("set", "slept=yes") ACT("hangup", "USER_BUSY")
    ACT("set", "never=1"))
EXT("hangup-number", "^201$", ACT("hangup", "21"))
EXT("hangup-default", "^202$", ACT("hangup", ""))
"<extension name=\"run-out\">"
    COND("^(203|204)$", ACT("set", "ran=$1"))
    COND("^204$", ACT("answer", "")) "</extension>\n"
EXT("xfer", "^300$",
    ACT("set", "before=1") ACT("transfer", "301 XML other")
    ACT("set", "never=1"))
EXT("xfer-same", "^302$", ACT("transfer", "100"))
EXT("loop", "^400$", ACT("set", "hops=${hops}x") ACT("transfer", "400"))
EXT("wait", "^500$", ACT("test_wait", "") ACT("set", "after_wait=1"))
EXT("sync", "^501$",
    ACT("test_sync", "") ACT("test_sync", "") ACT("test_sync", "")
    ACT("set", "after_sync=1") ACT("hangup", "NORMAL_CLEARING"))
EXT("sleep-long", "^600$", ACT("sleep", "100") ACT("set", "never=1"))
"<extension name=\"stop\">"
    COND("^(700|701)$", ACT("set", "x=1"))
    COND("^700$", ACT("answer", ""))
    COND("^70\\d$", ACT("test_stop", "") ACT("set", "never=1"))
    "</extension>\n"
EXT("ops", "^800$",
    ACT("ring_ready", "") ACT("pre_answer", "") ACT("echo", "")
    ACT("set", "never=1"))
EXT("fail", "^801$", ACT("answer", "") ACT("set", "never=1"))
EXT("bad-data", "^802$", ACT("sleep", "soon") ACT("hangup", "NO_SUCH_CAUSE"))
"</context>\n<context name=\"other\">\n"
EXT("x301", "^301$",
    ACT("set", "in_other=${destination_number}")
    ACT("hangup", "call_rejected"))
"</context>\n</section></document>\n";
/* clang-format on */

static int load_dialplan(void)
{
	const char *root = conf_put("root.xml", dialplan_xml);
	sb_config_error_t err;
	sb_config_t *cfg;
	sb_vars_t *vars;

	memset(&err, 0, sizeof(err));
	if (sb_vars_create(&vars, pool) != APR_SUCCESS ||
	    sb_config_load(&cfg, root, vars, pool, &err) != APR_SUCCESS ||
	    sb_dialplan_load(&dp, cfg, sb_app_known, NULL, pool, &err) !=
		APR_SUCCESS) {
		fprintf(stderr, "%s:%d: %s\n", err.file, err.line, err.msg);
		return -1;
	}
	return 0;
}

static int group_setup(void **state)
{
	if (conf_setup(state) != 0 ||
	    sb_log_open(conf_dir, SB_LOG_DEBUG, 0) != APR_SUCCESS)
		return -1;
	if (sb_session_apps_init() != APR_SUCCESS ||
	    sb_app_register("test_wait", app_test_wait) != APR_SUCCESS ||
	    sb_app_register("test_sync", app_test_sync) != APR_SUCCESS ||
	    sb_app_register("test_stop", app_test_stop) != APR_SUCCESS)
		return -1;
	if (load_dialplan() != 0)
		return -1;
	if (sb_loop_create(&loop, 1, pool) != APR_SUCCESS ||
	    sb_loop_start(loop) != APR_SUCCESS)
		return -1;
	worker = sb_loop_worker(loop, 0);
	return 0;
}

static int group_teardown(void **state)
{
	sb_loop_stop(loop);
	conf_teardown(state);
	sb_log_close();
	sb_session_registry_shutdown();
	sb_expand_shutdown();
	return 0;
}

/* ---- running things on the worker ---- */

typedef struct call {
	fake_leg_t leg;
	const sb_endpoint_ops_t *ops;
	sb_session_t *s;
	const char *context, *dest, *max_transfers;
	apr_status_t route_rv;
} call_t;

static void w_start(void *baton)
{
	call_t *c = baton;

	if (sb_session_create(&c->s, c->ops ? c->ops : &fake_ops, &c->leg,
			      worker) != APR_SUCCESS)
		return;
	sb_session_set_var(c->s, "caller_id_number", "1000");
	if (c->context)
		sb_session_set_var(c->s, "context", c->context);
	sb_session_set_var(c->s, "destination_number", c->dest);
	sb_session_set_var(c->s, "max_session_transfers", c->max_transfers);
	c->leg.started = apr_time_now();
	c->route_rv = sb_session_route(c->s, dp);
}

/* Creates a session on the worker and routes @p dest in @p context. */
static void start(call_t *c, const char *context, const char *dest)
{
	c->context = context;
	c->dest = dest;
	assert_int_equal(sb_worker_call(worker, w_start, c), APR_SUCCESS);
	assert_non_null(c->s);
	assert_int_equal(c->route_rv, APR_SUCCESS);
}

static void w_destroy(void *baton)
{
	call_t *c = baton;

	sb_session_destroy(c->s);
	c->s = NULL;
}

static void finish(call_t *c)
{
	assert_int_equal(sb_worker_call(worker, w_destroy, c), APR_SUCCESS);
}

typedef struct var_req {
	call_t *c;
	const char *name;
	int found;
	char value[256];
	int answered;
} var_req_t;

static void w_var(void *baton)
{
	var_req_t *r = baton;
	const char *v = sb_session_get_var(r->c->s, r->name);

	r->found = v != NULL;
	apr_cpystrn(r->value, v ? v : "", sizeof(r->value));
	r->answered = sb_session_answered(r->c->s);
}

/* A variable of the call's session, read on the worker; NULL if unset. */
static const char *var(call_t *c, const char *name)
{
	var_req_t r = {c, name, 0, "", 0};

	assert_int_equal(sb_worker_call(worker, w_var, &r), APR_SUCCESS);
	return r.found ? apr_pstrdup(pool, r.value) : NULL;
}

static int answered(call_t *c)
{
	var_req_t r = {c, "uuid", 0, "", 0};

	assert_int_equal(sb_worker_call(worker, w_var, &r), APR_SUCCESS);
	return r.answered;
}

/* Waits up to 2 s for the fake endpoint's hangup. */
static int wait_hangup(call_t *c)
{
	apr_time_t deadline = apr_time_now() + apr_time_from_sec(2);

	while (!FLAG_GET(&c->leg.hung) && apr_time_now() < deadline)
		apr_sleep(1000);
	return FLAG_GET(&c->leg.hung);
}

/* The log file so far. */
static char *read_log(void)
{
	const char *path = conf_path("sipsbridge.log");
	FILE *fp = fopen(path, "r");
	char *buf = apr_pcalloc(pool, 1 << 20);
	size_t n;

	assert_non_null(fp);
	n = fread(buf, 1, (1 << 20) - 1, fp);
	buf[n] = '\0';
	fclose(fp);
	return buf;
}

/* ---- tests ---- */

static void test_registry(void **state)
{
	(void)state;
	assert_true(sb_app_known(NULL, "set"));
	assert_true(sb_app_known(NULL, "transfer"));
	assert_false(sb_app_known(NULL, "bridge"));
	assert_false(sb_app_known(NULL, NULL));
	assert_int_equal(sb_app_register("", app_test_stop), APR_EINVAL);
	assert_int_equal(sb_app_register("x", NULL), APR_EINVAL);
	assert_int_equal(sb_app_register("tmp_app", app_test_stop),
			 APR_SUCCESS);
	assert_ptr_equal(app_registry_find("tmp_app"), app_test_stop);
	assert_int_equal(sb_app_register("tmp_app", app_test_sync),
			 APR_SUCCESS);
	assert_ptr_equal(app_registry_find("tmp_app"), app_test_sync);
	sb_app_unregister("tmp_app");
	assert_false(sb_app_known(NULL, "tmp_app"));
	sb_app_unregister("never_registered");
}

typedef struct pair {
	call_t a, b;
	int ok;
	char uuid_a[64], uuid_var[64];
	int set_null_unsets, set_empty_unsets;
} pair_t;

static void w_pair(void *baton)
{
	pair_t *p = baton;
	const char *v;

	if (sb_session_create(&p->a.s, &fake_ops, &p->a.leg, worker) ||
	    sb_session_create(&p->b.s, NULL, NULL, worker))
		return;
	apr_cpystrn(p->uuid_a, sb_session_uuid(p->a.s), sizeof(p->uuid_a));
	v = sb_session_get_var(p->a.s, "uuid");
	apr_cpystrn(p->uuid_var, v ? v : "", sizeof(p->uuid_var));
	sb_session_set_var(p->a.s, "k", "v");
	sb_session_set_var(p->a.s, "k", NULL);
	p->set_null_unsets = sb_session_get_var(p->a.s, "k") == NULL;
	sb_session_set_var(p->a.s, "k", "v");
	sb_session_set_var(p->a.s, "k", "");
	p->set_empty_unsets = sb_session_get_var(p->a.s, "k") == NULL;
	sb_session_set_var(p->a.s, "plain", "1");
	sb_session_set_var(p->a.s, "shared", "2");
	sb_session_set_var(p->a.s, "nolocal:hidden", "3");
	sb_session_set_var(p->a.s, "export_vars",
			   "shared, nolocal:hidden,,missing");
	sb_session_export_vars(p->a.s, p->b.s);
	p->ok = sb_session_pool(p->a.s) != NULL &&
		sb_session_vars(p->a.s) != NULL &&
		sb_session_leg(p->a.s) == &p->a.leg &&
		sb_session_worker(p->a.s) == worker &&
		!sb_session_hungup(p->a.s) && !sb_session_answered(p->a.s);
}

static void test_vars_and_export(void **state)
{
	pair_t p;

	(void)state;
	memset(&p, 0, sizeof(p));
	assert_int_equal(sb_worker_call(worker, w_pair, &p), APR_SUCCESS);
	assert_true(p.ok);
	assert_int_equal(strlen(p.uuid_a), APR_UUID_FORMATTED_LENGTH);
	assert_string_equal(p.uuid_a, p.uuid_var);
	assert_true(p.set_null_unsets);
	assert_true(p.set_empty_unsets);
	assert_string_equal(var(&p.b, "shared"), "2");
	assert_string_equal(var(&p.b, "hidden"), "3");
	assert_null(var(&p.b, "nolocal:hidden"));
	assert_null(var(&p.b, "plain"));
	assert_null(var(&p.b, "missing"));
	assert_null(var(&p.a, "hidden"));
	assert_string_equal(var(&p.b, "export_vars"),
			    "shared, nolocal:hidden,,missing");
	assert_string_not_equal(var(&p.b, "uuid"), p.uuid_a);
	finish(&p.a);
	finish(&p.b);
	assert_int_equal(p.a.leg.hangup, 0);
}

static void test_set_export_log_answer(void **state)
{
	call_t c = {0};
	char *log;

	(void)state;
	start(&c, NULL, "100");
	/* Ran out of actions, answered: FreeSWITCH hangs up all the same. */
	assert_true(wait_hangup(&c));
	assert_int_equal(c.leg.hangup, 1);
	assert_int_equal(c.leg.cause, SB_CAUSE_NORMAL_CLEARING);
	assert_string_equal(c.leg.cause_var, "NORMAL_CLEARING");
	assert_string_equal(var(&c, "greeting"), "hi 1000");
	assert_string_equal(var(&c, "copy"), "hi 1000!");
	assert_null(var(&c, "gone"));
	assert_null(var(&c, "emptied"));
	assert_string_equal(var(&c, "exported"), "one");
	assert_null(var(&c, "remote"));
	assert_string_equal(var(&c, "nolocal:remote"), "two");
	assert_string_equal(var(&c, "export_vars"), "exported,nolocal:remote");
	assert_string_equal(var(&c, "last"), "yes");
	assert_string_equal(var(&c, "hangup_cause_q850"), "16");
	assert_int_equal(c.leg.answer, 1);
	assert_int_equal(c.leg.pre_answer, 0); /* answered already */
	assert_true(answered(&c));
	log = read_log();
	assert_non_null(strstr(log, "[NOTICE] SB03001 session "));
	assert_non_null(strstr(log, ": marker hi 1000!\n"));
	assert_non_null(strstr(log, "[CRIT] SB03001 session "));
	assert_non_null(strstr(log, ": alert-level\n"));
	assert_non_null(strstr(
	    log, apr_psprintf(
		     pool, "SB03002 session %s: EXECUTE set(greeting=hi 1000)",
		     var(&c, "uuid"))));
	assert_non_null(strstr(
	    log, apr_psprintf(
		     pool, "[INFO] SB03003 session %s: hangup NORMAL_CLEARING",
		     var(&c, "uuid"))));
	finish(&c);
}

static void test_sleep_then_hangup(void **state)
{
	call_t c = {0};

	(void)state;
	start(&c, "default", "200");
	assert_true(wait_hangup(&c));
	assert_true(c.leg.hung_at - c.leg.started >= apr_time_from_msec(50));
	assert_int_equal(c.leg.hangup, 1);
	assert_int_equal(c.leg.cause, SB_CAUSE_USER_BUSY);
	assert_int_equal(sb_cause_to_sip(c.leg.cause), 486);
	assert_string_equal(c.leg.cause_var, "USER_BUSY");
	assert_string_equal(var(&c, "slept"), "yes");
	assert_null(var(&c, "never"));
	finish(&c);
}

/* Dialplans that end in a hangup at once: its cause, answered or not. */
static void test_hangup_outcomes(void **state)
{
	static const struct {
		const char *context, *dest;
		int cause, answered;
		const sb_endpoint_ops_t *ops;
		apr_status_t answer_rv;
	} cases[] = {
	    {NULL, "201", SB_CAUSE_CALL_REJECTED, 0, NULL, 0}, /* "hangup 21" */
	    {NULL, "202", SB_CAUSE_NORMAL_CLEARING, 0, NULL, 0}, /* "hangup" */
	    /* A bad sleep is skipped; an unknown cause is NORMAL_CLEARING. */
	    {NULL, "802", SB_CAUSE_NORMAL_CLEARING, 0, NULL, 0},
	    /* Out of actions, answered or not. */
	    {NULL, "203", SB_CAUSE_NORMAL_CLEARING, 0, NULL, 0},
	    {NULL, "204", SB_CAUSE_NORMAL_CLEARING, 1, NULL, 0},
	    {"nowhere", "100", SB_CAUSE_NO_ROUTE_DESTINATION, 0, NULL, 0},
	    {"default", "999", SB_CAUSE_NO_ROUTE_DESTINATION, 0, NULL, 0},
	    /* The endpoint fails "answer": the rest does not run. */
	    {NULL, "801", SB_CAUSE_DESTINATION_OUT_OF_ORDER, 0, NULL,
	     SB_EFLOWGONE},
	    /* It cannot answer at all: logged, skipped, the rest runs. */
	    {NULL, "100", SB_CAUSE_NORMAL_CLEARING, 0, &bare_ops, 0},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		call_t c = {0};

		c.ops = cases[i].ops;
		c.leg.answer_rv = cases[i].answer_rv;
		start(&c, cases[i].context, cases[i].dest);
		assert_true(FLAG_GET(&c.leg.hung));
		assert_int_equal(c.leg.hangup, 1);
		assert_int_equal(c.leg.cause, cases[i].cause);
		assert_string_equal(c.leg.cause_var,
				    sb_cause_name(cases[i].cause));
		assert_int_equal(answered(&c), cases[i].answered);
		assert_null(var(&c, "never"));
		if (cases[i].ops)
			assert_string_equal(var(&c, "last"), "yes");
		finish(&c);
	}
	assert_non_null(
	    strstr(read_log(), "answer: not supported by the bare endpoint"));
}

static void test_transfer(void **state)
{
	call_t c1 = {0}, c2 = {0};

	(void)state;
	start(&c1, NULL, "300");
	assert_true(wait_hangup(&c1));
	assert_int_equal(c1.leg.hangup, 1);
	assert_int_equal(c1.leg.cause, SB_CAUSE_CALL_REJECTED);
	assert_string_equal(var(&c1, "before"), "1");
	assert_null(var(&c1, "never"));
	assert_string_equal(var(&c1, "in_other"), "301");
	assert_string_equal(var(&c1, "context"), "other");
	/* Without a context the transfer stays in the current one. */
	start(&c2, "default", "302");
	assert_true(wait_hangup(&c2));
	assert_string_equal(var(&c2, "greeting"), "hi 1000");
	assert_string_equal(var(&c2, "destination_number"), "100");
	assert_string_equal(var(&c2, "context"), "default");
	finish(&c1);
	finish(&c2);
}

static void test_transfer_loop(void **state)
{
	call_t c1 = {0}, c2 = {0};

	(void)state;
	start(&c1, NULL, "400");
	assert_true(wait_hangup(&c1));
	assert_int_equal(c1.leg.hangup, 1);
	assert_int_equal(c1.leg.cause, 25); /* EXCHANGE_ROUTING_ERROR */
	assert_string_equal(c1.leg.cause_var, "EXCHANGE_ROUTING_ERROR");
	assert_int_equal(sb_cause_to_sip(c1.leg.cause), 483);
	/* The first run and SB_SESSION_MAX_TRANSFERS transfers. */
	assert_int_equal(strlen(var(&c1, "hops")),
			 SB_SESSION_MAX_TRANSFERS + 1);
	c2.max_transfers = "3";
	start(&c2, NULL, "400");
	assert_true(wait_hangup(&c2));
	assert_string_equal(var(&c2, "hops"), "xxxx");
	finish(&c1);
	finish(&c2);
}

/* A test timer resumes "test_wait" 20 ms later: with go_on, the next
 * action runs; without, the dialplan stops and, unanswered, hangs up. */
static void test_wait_resumed_by_timer(void **state)
{
	int go_on;

	(void)state;
	for (go_on = 1; go_on >= 0; go_on--) {
		call_t c = {0};

		wait_go_on = go_on;
		start(&c, NULL, "500");
		assert_null(var(&c, "after_wait"));
		assert_int_equal(FLAG_GET(&c.leg.hung), 0);
		assert_true(wait_hangup(&c));
		assert_true(c.leg.hung_at - c.leg.started >=
			    apr_time_from_msec(20));
		assert_int_equal(c.leg.cause, SB_CAUSE_NORMAL_CLEARING);
		if (go_on)
			assert_string_equal(var(&c, "after_wait"), "1");
		else
			assert_null(var(&c, "after_wait"));
		finish(&c);
	}
	wait_go_on = 1;
}

static void w_hangup(void *baton)
{
	call_t *c = baton;

	sb_session_hangup(c->s, SB_CAUSE_ORIGINATOR_CANCEL);
	sb_session_hangup(c->s, SB_CAUSE_USER_BUSY);
}

/* A resume after the hangup changes nothing. */
static void test_resume_after_hangup(void **state)
{
	call_t c = {0};

	(void)state;
	wait_go_on = 1;
	start(&c, NULL, "500");
	assert_int_equal(sb_worker_call(worker, w_hangup, &c), APR_SUCCESS);
	assert_true(FLAG_GET(&c.leg.hung));
	apr_sleep(apr_time_from_msec(60)); /* the test timer fires */
	assert_null(var(&c, "after_wait"));
	assert_int_equal(c.leg.hangup, 1);
	assert_int_equal(c.leg.cause, SB_CAUSE_ORIGINATOR_CANCEL);
	assert_string_equal(var(&c, "hangup_cause"), "ORIGINATOR_CANCEL");
	finish(&c);
}

static void test_resume_from_inside(void **state)
{
	call_t c = {0};

	(void)state;
	sync_runs = sync_depth = sync_max_depth = 0;
	start(&c, NULL, "501");
	/* All of it ran inside the worker call that routed. */
	assert_true(FLAG_GET(&c.leg.hung));
	assert_int_equal(sync_runs, 3);
	assert_int_equal(sync_max_depth, 1);
	assert_string_equal(var(&c, "after_sync"), "1");
	assert_int_equal(c.leg.hangup, 1);
	finish(&c);
}

static void test_destroy_while_sleeping(void **state)
{
	call_t c = {0};

	(void)state;
	start(&c, NULL, "600");
	assert_null(var(&c, "never"));
	finish(&c);
	/* The 100 ms sleep would have fired by now: nothing may run. */
	apr_sleep(apr_time_from_msec(200));
	assert_int_equal(c.leg.hangup, 0);
}

static void test_stop(void **state)
{
	call_t c1 = {0}, c2 = {0};

	(void)state;
	start(&c1, NULL, "700");
	/* Answered and taken over: the call goes on. */
	assert_int_equal(FLAG_GET(&c1.leg.hung), 0);
	assert_null(var(&c1, "never"));
	assert_true(answered(&c1));
	start(&c2, NULL, "701");
	assert_true(FLAG_GET(&c2.leg.hung));
	assert_int_equal(c2.leg.cause, SB_CAUSE_NORMAL_CLEARING);
	assert_null(var(&c2, "never"));
	finish(&c1);
	finish(&c2);
	assert_int_equal(c1.leg.hangup, 0);
}

static void test_endpoint_ops(void **state)
{
	call_t c = {0};

	(void)state;
	start(&c, NULL, "800");
	assert_int_equal(c.leg.ring_ready, 1);
	assert_int_equal(c.leg.pre_answer, 1);
	assert_int_equal(c.leg.echo, 1);
	/* echo holds the dialplan until the call ends. */
	assert_int_equal(FLAG_GET(&c.leg.hung), 0);
	assert_null(var(&c, "never"));
	assert_int_equal(sb_worker_call(worker, w_hangup, &c), APR_SUCCESS);
	assert_int_equal(c.leg.hangup, 1);
	assert_null(var(&c, "never"));
	finish(&c);
}

static void w_hangup_once(void *baton)
{
	call_t *c = baton;

	sb_session_hangup(c->s, SB_CAUSE_ORIGINATOR_CANCEL);
}

/* The endpoint frees the session from inside ops->hangup: from the
 * "hangup" application, then from a hangup while "sleep" waits. */
static void test_destroy_inside_hangup(void **state)
{
	call_t c1 = {0}, c2 = {0};

	(void)state;
	c1.leg.destroy_in_hangup = 1;
	start(&c1, NULL, "202");
	assert_true(FLAG_GET(&c1.leg.hung));
	assert_int_equal(c1.leg.hangup, 1);
	c2.leg.destroy_in_hangup = 1;
	start(&c2, NULL, "600");
	assert_int_equal(FLAG_GET(&c2.leg.hung), 0);
	assert_int_equal(sb_worker_call(worker, w_hangup_once, &c2),
			 APR_SUCCESS);
	assert_int_equal(c2.leg.hangup, 1);
	assert_int_equal(c2.leg.cause, SB_CAUSE_ORIGINATOR_CANCEL);
	/* The sleep's 100 ms pass: its timer went with the session. */
	apr_sleep(apr_time_from_msec(200));
	assert_int_equal(c2.leg.hangup, 1);
}

static void w_route_twice(void *baton)
{
	call_t *c = baton;

	c->route_rv = sb_session_route(c->s, dp);
}

static void test_route_misuse(void **state)
{
	call_t c = {0};

	(void)state;
	start(&c, NULL, "700");
	assert_int_equal(sb_worker_call(worker, w_route_twice, &c),
			 APR_SUCCESS);
	assert_int_equal(c.route_rv, APR_EINVAL);
	assert_int_equal(sb_session_route(NULL, dp), APR_EINVAL);
	assert_int_equal(sb_session_create(NULL, &fake_ops, NULL, worker),
			 APR_EINVAL);
	finish(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_registry),
	    cmocka_unit_test(test_vars_and_export),
	    cmocka_unit_test(test_set_export_log_answer),
	    cmocka_unit_test(test_sleep_then_hangup),
	    cmocka_unit_test(test_hangup_outcomes),
	    cmocka_unit_test(test_transfer),
	    cmocka_unit_test(test_transfer_loop),
	    cmocka_unit_test(test_wait_resumed_by_timer),
	    cmocka_unit_test(test_resume_after_hangup),
	    cmocka_unit_test(test_resume_from_inside),
	    cmocka_unit_test(test_destroy_while_sleeping),
	    cmocka_unit_test(test_stop),
	    cmocka_unit_test(test_endpoint_ops),
	    cmocka_unit_test(test_destroy_inside_hangup),
	    cmocka_unit_test(test_route_misuse),
	};
	int rc;

	apr_initialize();
	rc = cmocka_run_group_tests(tests, group_setup, group_teardown);
	apr_terminate();
	return rc;
}
