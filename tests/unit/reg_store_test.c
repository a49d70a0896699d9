/* reg_store_test.c — the registration store over SQLite through apr_dbd. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>
#include <apr_general.h>
#include <apr_strings.h>
#include <apr_thread_proc.h>
#include "reg_store.h"

#define NTHREADS 4
#define PUTS_PER_THREAD 500

static apr_pool_t *pool;
static char dir[64];
static const char *db;

static int setup(void **state)
{
	(void)state;
	if (apr_pool_create(&pool, NULL) != APR_SUCCESS)
		return -1;
	strcpy(dir, "/tmp/reg_store_test.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	db = apr_pstrcat(pool, dir, "/registrations.db", NULL);
	return 0;
}

static int teardown(void **state)
{
	static const char *const sfx[] = {"", "-wal", "-shm", "-journal"};
	apr_size_t i;

	(void)state;
	for (i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++)
		apr_file_remove(apr_pstrcat(pool, db, sfx[i], NULL), pool);
	apr_file_remove(apr_pstrcat(pool, dir, "/plain", NULL), pool);
	chmod(dir, 0700);
	rmdir(dir);
	apr_pool_destroy(pool);
	return 0;
}

static reg_store_t *open_ok(void)
{
	reg_store_t *s = NULL;
	char why[256] = "";

	assert_int_equal(
	    reg_store_open(&s, "sqlite3", db, pool, why, sizeof(why)),
	    APR_SUCCESS);
	assert_non_null(s);
	return s;
}

/* A binding with every field set to something other than its default. */
static reg_binding_t sample(const char *aor, const char *contact,
			    apr_time_t expires)
{
	reg_binding_t b;

	memset(&b, 0, sizeof(b));
	b.aor = aor;
	b.contact = contact;
	b.instance = "";
	b.path = "<sip:edge.example.net;lr>";
	b.call_id = "call-1@host";
	b.cseq = 7;
	b.expires = expires;
	b.transport = 2;
	b.flow_id = 42;
	b.src_ip = "192.0.2.10";
	b.src_port = 50600;
	b.user_agent = "phone/1.0";
	b.profile = "internal";
	b.node = "node-a";
	b.q = 500;
	return b;
}

static void assert_same(const reg_binding_t *a, const reg_binding_t *b)
{
	assert_string_equal(a->aor, b->aor);
	assert_string_equal(a->contact, b->contact);
	assert_string_equal(a->instance, b->instance);
	assert_int_equal(a->reg_id, b->reg_id);
	assert_string_equal(a->path, b->path);
	assert_string_equal(a->call_id, b->call_id);
	assert_int_equal(a->cseq, b->cseq);
	assert_true(a->expires == b->expires);
	assert_int_equal(a->transport, b->transport);
	assert_true(a->flow_id == b->flow_id);
	assert_string_equal(a->src_ip, b->src_ip);
	assert_int_equal(a->src_port, b->src_port);
	assert_string_equal(a->user_agent, b->user_agent);
	assert_string_equal(a->profile, b->profile);
	assert_string_equal(a->node, b->node);
	assert_int_equal(a->q, b->q);
}

static apr_array_header_t *load(reg_store_t *s, apr_time_t now)
{
	apr_array_header_t *rows = NULL;

	assert_int_equal(reg_store_load(s, pool, now, &rows), APR_SUCCESS);
	assert_non_null(rows);
	return rows;
}

#define ROW(rows, i) (&APR_ARRAY_IDX((rows), (i), reg_binding_t))

static const reg_binding_t *find(apr_array_header_t *rows, const char *aor,
				 const char *contact)
{
	int i;

	for (i = 0; i < rows->nelts; i++)
		if (!strcmp(ROW(rows, i)->aor, aor) &&
		    !strcmp(ROW(rows, i)->contact, contact))
			return ROW(rows, i);
	return NULL;
}

static void test_round_trip_every_field(void **state)
{
	reg_store_t *s = open_ok();
	apr_time_t far = (apr_time_t)1 << 62; /* beyond 32 bits */
	reg_binding_t a = sample("1000@example.com",
				 "<sip:1000@198.51.100.7:5061;transport=tls;"
				 "x=\"q'\">",
				 far);
	reg_binding_t b = sample("Zoë@例え.jp", "sip:☎@192.0.2.1",
				 apr_time_now() + apr_time_from_sec(600));
	apr_array_header_t *rows;

	(void)state;
	a.instance = "\"<urn:uuid:00000000-0000-1000-8000-AABBCCDDEEFF>\"";
	a.reg_id = 2;
	a.cseq = 0xFFFFFFFFu;
	a.flow_id = 0xFEDCBA9876543210ull; /* above INT64_MAX */
	a.user_agent = "O'Brien \"SoftPhone\" ünïcødé 電話";
	a.q = -1;
	b.flow_id = 0;
	b.q = 1000;
	b.path = "";
	assert_int_equal(reg_store_put(s, &a), APR_SUCCESS);
	assert_int_equal(reg_store_put(s, &b), APR_SUCCESS);
	rows = load(s, apr_time_now());
	assert_int_equal(rows->nelts, 2);
	assert_same(find(rows, a.aor, a.contact), &a);
	assert_same(find(rows, b.aor, b.contact), &b);
	reg_store_close(s);
}

static void test_null_strings_stored_empty(void **state)
{
	reg_store_t *s = open_ok();
	reg_binding_t b = sample("n@example.com", "sip:n@h",
				 apr_time_now() + apr_time_from_sec(60));
	apr_array_header_t *rows;

	(void)state;
	b.instance = b.path = b.user_agent = b.node = NULL;
	assert_int_equal(reg_store_put(s, &b), APR_SUCCESS);
	rows = load(s, apr_time_now());
	assert_int_equal(rows->nelts, 1);
	assert_string_equal(ROW(rows, 0)->instance, "");
	assert_string_equal(ROW(rows, 0)->user_agent, "");
	/* No AOR or no contact is no binding. */
	b.aor = "";
	assert_int_equal(reg_store_put(s, &b), APR_EINVAL);
	b.aor = "n@example.com";
	b.contact = NULL;
	assert_int_equal(reg_store_put(s, &b), APR_EINVAL);
	reg_store_close(s);
}

static void test_upsert_by_contact(void **state)
{
	reg_store_t *s = open_ok();
	apr_time_t t = apr_time_now();
	reg_binding_t b = sample("1000@example.com", "sip:1000@192.0.2.5",
				 t + apr_time_from_sec(60));
	reg_binding_t other = b;
	apr_array_header_t *rows;

	(void)state;
	assert_int_equal(reg_store_put(s, &b), APR_SUCCESS);
	b.cseq = 8;
	b.expires = t + apr_time_from_sec(3600);
	b.flow_id = 99;
	assert_int_equal(reg_store_put(s, &b), APR_SUCCESS);
	other.contact = "sip:1000@192.0.2.6";
	assert_int_equal(reg_store_put(s, &other), APR_SUCCESS);
	rows = load(s, t);
	assert_int_equal(rows->nelts, 2);
	assert_same(find(rows, b.aor, b.contact), &b);
	assert_same(find(rows, other.aor, other.contact), &other);
	reg_store_close(s);
}

static void test_upsert_by_instance_replaces_contact(void **state)
{
	reg_store_t *s = open_ok();
	apr_time_t t = apr_time_now() + apr_time_from_sec(60);
	reg_binding_t old =
	    sample("1000@example.com", "sip:1000@192.0.2.5:1111", t);
	reg_binding_t now = old, second = old, plain = old;
	apr_array_header_t *rows;

	(void)state;
	old.instance = "<urn:uuid:1>";
	old.reg_id = 1;
	old.flow_id = 5;
	assert_int_equal(reg_store_put(s, &old), APR_SUCCESS);
	/* RFC 5626: the same instance and reg-id on a new flow replaces. */
	now = old;
	now.contact = "sip:1000@192.0.2.5:2222";
	now.flow_id = 6;
	assert_int_equal(reg_store_put(s, &now), APR_SUCCESS);
	/* Another reg-id of the same instance is another binding. */
	second = old;
	second.reg_id = 2;
	second.contact = "sip:1000@192.0.2.5:3333";
	assert_int_equal(reg_store_put(s, &second), APR_SUCCESS);
	/* A binding without instance has the contact as identity. */
	plain.contact = now.contact;
	assert_int_equal(reg_store_put(s, &plain), APR_SUCCESS);
	rows = load(s, apr_time_now());
	assert_int_equal(rows->nelts, 3);
	assert_null(find(rows, old.aor, old.contact));
	assert_int_equal(find(rows, old.aor, second.contact)->reg_id, 2);
	{
		int i, with_inst = 0;

		for (i = 0; i < rows->nelts; i++)
			if (!strcmp(ROW(rows, i)->contact, now.contact) &&
			    *ROW(rows, i)->instance) {
				assert_same(ROW(rows, i), &now);
				with_inst++;
			}
		assert_int_equal(with_inst, 1);
	}
	reg_store_close(s);
}

static void test_remove(void **state)
{
	reg_store_t *s = open_ok();
	apr_time_t t = apr_time_now() + apr_time_from_sec(60);
	reg_binding_t a = sample("a@example.com", "sip:a@192.0.2.1", t);
	reg_binding_t b = sample("a@example.com", "sip:a@192.0.2.2", t);
	reg_binding_t id;
	apr_array_header_t *rows;

	(void)state;
	b.instance = "<urn:uuid:b>";
	b.reg_id = 1;
	assert_int_equal(reg_store_put(s, &a), APR_SUCCESS);
	assert_int_equal(reg_store_put(s, &b), APR_SUCCESS);
	/* Instance identity: the contact named does not matter. */
	memset(&id, 0, sizeof(id));
	id.aor = "a@example.com";
	id.contact = "sip:elsewhere";
	id.instance = "<urn:uuid:b>";
	id.reg_id = 1;
	assert_int_equal(reg_store_remove(s, &id), APR_SUCCESS);
	rows = load(s, apr_time_now());
	assert_int_equal(rows->nelts, 1);
	assert_string_equal(ROW(rows, 0)->contact, a.contact);
	/* Absent: still success, nothing else touched. */
	assert_int_equal(reg_store_remove(s, &id), APR_SUCCESS);
	id.instance = NULL;
	id.contact = "sip:a@192.0.2.9";
	assert_int_equal(reg_store_remove(s, &id), APR_SUCCESS);
	assert_int_equal(load(s, apr_time_now())->nelts, 1);
	id.contact = a.contact;
	assert_int_equal(reg_store_remove(s, &id), APR_SUCCESS);
	assert_int_equal(load(s, apr_time_now())->nelts, 0);
	reg_store_close(s);
}

static void test_remove_aor(void **state)
{
	reg_store_t *s = open_ok();
	apr_time_t t = apr_time_now() + apr_time_from_sec(60);
	reg_binding_t a1 = sample("a@example.com", "sip:a@192.0.2.1", t);
	reg_binding_t a2 = sample("a@example.com", "sip:a@192.0.2.2", t);
	reg_binding_t b = sample("b@example.com", "sip:b@192.0.2.3", t);
	apr_array_header_t *rows;

	(void)state;
	a2.instance = "<urn:uuid:a2>";
	assert_int_equal(reg_store_put(s, &a1), APR_SUCCESS);
	assert_int_equal(reg_store_put(s, &a2), APR_SUCCESS);
	assert_int_equal(reg_store_put(s, &b), APR_SUCCESS);
	assert_int_equal(reg_store_remove_aor(s, "a@example.com"), APR_SUCCESS);
	rows = load(s, apr_time_now());
	assert_int_equal(rows->nelts, 1);
	assert_string_equal(ROW(rows, 0)->aor, "b@example.com");
	assert_int_equal(reg_store_remove_aor(s, ""), APR_EINVAL);
	reg_store_close(s);
}

static void test_expired_not_loaded_and_purged(void **state)
{
	reg_store_t *s = open_ok();
	apr_time_t t = apr_time_from_sec(1700000000);
	reg_binding_t b = sample("e@example.com", "sip:e@1", t - 1);
	int removed = -1;

	(void)state;
	assert_int_equal(reg_store_put(s, &b), APR_SUCCESS);
	b.contact = "sip:e@2";
	b.expires = t; /* due exactly now: gone */
	assert_int_equal(reg_store_put(s, &b), APR_SUCCESS);
	b.contact = "sip:e@3";
	b.expires = t + 1;
	assert_int_equal(reg_store_put(s, &b), APR_SUCCESS);
	assert_int_equal(load(s, t)->nelts, 1);
	/* load() deleted them: purge at the same time finds none. */
	assert_int_equal(reg_store_purge(s, t, &removed), APR_SUCCESS);
	assert_int_equal(removed, 0);
	/* And they stay gone for a reader whose clock is behind. */
	assert_int_equal(load(s, t - apr_time_from_sec(3600))->nelts, 1);

	b.contact = "sip:e@4";
	b.expires = t + 2;
	assert_int_equal(reg_store_put(s, &b), APR_SUCCESS);
	b.contact = "sip:e@5";
	b.expires = t + 10;
	assert_int_equal(reg_store_put(s, &b), APR_SUCCESS);
	assert_int_equal(reg_store_purge(s, t + 2, &removed), APR_SUCCESS);
	assert_int_equal(removed, 2);
	assert_int_equal(load(s, 0)->nelts, 1);
	assert_string_equal(ROW(load(s, 0), 0)->contact, "sip:e@5");
	assert_int_equal(reg_store_purge(s, t + 10, NULL), APR_SUCCESS);
	assert_int_equal(load(s, 0)->nelts, 0);
	reg_store_close(s);
}

static void test_reopen_keeps_rows(void **state)
{
	reg_store_t *s = open_ok();
	reg_binding_t b = sample("r@example.com", "sip:r@192.0.2.4",
				 apr_time_now() + apr_time_from_sec(600));
	apr_array_header_t *rows;

	(void)state;
	b.flow_id = 0x8000000000000001ull;
	assert_int_equal(reg_store_put(s, &b), APR_SUCCESS);
	/* WAL mode is in force: the commit sits in the -wal file. */
	assert_int_equal(access(apr_pstrcat(pool, db, "-wal", NULL), F_OK), 0);
	reg_store_close(s);
	s = open_ok();
	rows = load(s, apr_time_now());
	assert_int_equal(rows->nelts, 1);
	assert_same(ROW(rows, 0), &b);
	reg_store_close(s);
}

/* The child puts, says so, and is killed without closing anything. */
static void child_put_then_wait(int fd)
{
	apr_pool_t *p;
	reg_store_t *s;
	reg_binding_t b = sample("k@example.com", "sip:k@192.0.2.8",
				 apr_time_now() + apr_time_from_sec(600));
	char why[256];

	if (apr_pool_create(&p, NULL) != APR_SUCCESS ||
	    reg_store_open(&s, "sqlite3", db, p, why, sizeof(why)) ||
	    reg_store_put(s, &b))
		_exit(3);
	if (write(fd, "k", 1) != 1)
		_exit(4);
	for (;;)
		pause();
}

static void test_put_survives_kill_9(void **state)
{
	int fds[2], status = 0;
	reg_store_t *s;
	apr_array_header_t *rows;
	pid_t pid;
	char c = 0;

	(void)state;
	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(fds[0]);
		child_put_then_wait(fds[1]);
	}
	close(fds[1]);
	assert_int_equal(read(fds[0], &c, 1), 1);
	close(fds[0]);
	assert_int_equal(kill(pid, SIGKILL), 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	s = open_ok();
	rows = load(s, apr_time_now());
	assert_int_equal(rows->nelts, 1);
	assert_string_equal(ROW(rows, 0)->contact, "sip:k@192.0.2.8");
	reg_store_close(s);
}

static void assert_open_fails(const char *driver, const char *params,
			      const char *want1, const char *want2)
{
	reg_store_t *s = NULL;
	char why[256] = "";

	assert_int_not_equal(
	    reg_store_open(&s, driver, params, pool, why, sizeof(why)),
	    APR_SUCCESS);
	assert_null(s);
	print_message("    why: %s\n", why);
	assert_non_null(strstr(why, want1));
	assert_non_null(strstr(why, want2));
}

static void test_bad_paths_say_why(void **state)
{
	const char *missing = apr_pstrcat(pool, dir, "/nodir/r.db", NULL);
	const char *plain = apr_pstrcat(pool, dir, "/plain", NULL);
	FILE *f;

	(void)state;
	assert_open_fails("sqlite3", missing, missing, "No such file");
	f = fopen(plain, "w");
	assert_non_null(f);
	fclose(f);
	assert_open_fails("sqlite3", apr_pstrcat(pool, plain, "/r.db", NULL),
			  plain, "Not a directory");
	/* A directory where the file should be cannot be written. */
	assert_open_fails("sqlite3", dir, dir, "cannot create or write");
	assert_open_fails("sqlite3", "", "registration store", "no file name");
	/* Something else where the database should be. */
	f = fopen(db, "w");
	assert_non_null(f);
	fputs("not sqlite, but long enough to be read as a header page\n"
	      "0123456789012345678901234567890123456789012345678901234567\n",
	      f);
	fclose(f);
	assert_open_fails("sqlite3", db, db, "not a database");
	apr_file_remove(db, pool);
	/* Not persistent, and no WAL: refused, not run unseen. */
	assert_open_fails("sqlite3", ":memory:", "answered \"memory\"",
			  "WAL is not supported");
	assert_open_fails("nosuchdb", "x", "\"nosuchdb\"", "not available");
	if (geteuid() != 0) {
		/* Root writes anywhere: only an ordinary user sees this. */
		assert_int_equal(chmod(dir, 0500), 0);
		assert_open_fails("sqlite3", db, db, "Permission denied");
		assert_int_equal(chmod(dir, 0700), 0);
	}
}

static void test_sql_injection_stays_data(void **state)
{
	reg_store_t *s = open_ok();
	apr_time_t t = apr_time_now() + apr_time_from_sec(60);
	const char *evil = "x'); DROP TABLE sips_registrations; --";
	const char *or_all = "' OR '1'='1";
	reg_binding_t a = sample(evil, "sip:%s%d%lld@h", t);
	reg_binding_t b = sample("victim@example.com", "sip:v@h", t);
	apr_array_header_t *rows;

	(void)state;
	a.user_agent = "\"; DELETE FROM sips_registrations; --";
	assert_int_equal(reg_store_put(s, &a), APR_SUCCESS);
	assert_int_equal(reg_store_put(s, &b), APR_SUCCESS);
	assert_int_equal(reg_store_remove_aor(s, or_all), APR_SUCCESS);
	rows = load(s, apr_time_now());
	assert_int_equal(rows->nelts, 2);
	assert_same(find(rows, evil, "sip:%s%d%lld@h"), &a);
	assert_int_equal(reg_store_remove_aor(s, evil), APR_SUCCESS);
	rows = load(s, apr_time_now());
	assert_int_equal(rows->nelts, 1);
	assert_string_equal(ROW(rows, 0)->aor, "victim@example.com");
	reg_store_close(s);
}

typedef struct put_job {
	reg_store_t *s;
	int n;
	int failures;
} put_job_t;

static void *APR_THREAD_FUNC put_many(apr_thread_t *th, void *data)
{
	put_job_t *job = data;
	apr_time_t t = apr_time_now() + apr_time_from_sec(3600);
	char aor[64], contact[64];
	int i;

	(void)th;
	for (i = 0; i < PUTS_PER_THREAD; i++) {
		reg_binding_t b;

		apr_snprintf(aor, sizeof(aor), "t%d-%d@example.com", job->n, i);
		apr_snprintf(contact, sizeof(contact), "sip:%d@10.0.%d.1", i,
			     job->n);
		b = sample(aor, contact, t);
		b.flow_id = ((apr_uint64_t)job->n << 32) | (apr_uint64_t)i;
		if (reg_store_put(job->s, &b) != APR_SUCCESS)
			job->failures++;
	}
	return NULL;
}

static void test_concurrent_puts(void **state)
{
	reg_store_t *s = open_ok();
	apr_thread_t *th[NTHREADS];
	put_job_t jobs[NTHREADS];
	apr_status_t trv;
	apr_time_t t0, dt;
	apr_array_header_t *rows;
	int i;

	(void)state;
	t0 = apr_time_now();
	for (i = 0; i < NTHREADS; i++) {
		jobs[i].s = s;
		jobs[i].n = i;
		jobs[i].failures = 0;
		assert_int_equal(
		    apr_thread_create(&th[i], NULL, put_many, &jobs[i], pool),
		    APR_SUCCESS);
	}
	for (i = 0; i < NTHREADS; i++)
		assert_int_equal(apr_thread_join(&trv, th[i]), APR_SUCCESS);
	dt = apr_time_now() - t0;
	for (i = 0; i < NTHREADS; i++)
		assert_int_equal(jobs[i].failures, 0);
	print_message("    %d puts by %d threads in %.3f s: %.0f puts/s\n",
		      NTHREADS * PUTS_PER_THREAD, NTHREADS, dt / 1e6,
		      NTHREADS * PUTS_PER_THREAD * 1e6 / (dt ? dt : 1));
	rows = load(s, apr_time_now());
	assert_int_equal(rows->nelts, NTHREADS * PUTS_PER_THREAD);
	for (i = 0; i < rows->nelts; i++) {
		const reg_binding_t *b = ROW(rows, i);
		int n, k;

		assert_int_equal(sscanf(b->aor, "t%d-%d@", &n, &k), 2);
		assert_true(b->flow_id ==
			    (((apr_uint64_t)n << 32) | (apr_uint64_t)k));
	}
	reg_store_close(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_round_trip_every_field, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_null_strings_stored_empty,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_upsert_by_contact, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(
		test_upsert_by_instance_replaces_contact, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_remove, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_remove_aor, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_expired_not_loaded_and_purged,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reopen_keeps_rows, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_put_survives_kill_9, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_bad_paths_say_why, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_sql_injection_stays_data,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_concurrent_puts, setup,
					    teardown),
	};
	int rc;

	apr_initialize();
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	apr_terminate();
	return rc;
}
