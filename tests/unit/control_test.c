/* control_test.c — the command registry, the reply stream, the socket. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <cmocka.h>
#include <apr_general.h>
#include <apr_strings.h>
#include <apr_thread_proc.h>
#include <apr_time.h>
#include "sipsbridge/sb_control.h"
#include "control_socket.h"

static apr_pool_t *test_pool;

/* Writes its name and its args: "[name|args]". */
static apr_status_t cmd_tag(const char *args, sb_stream_t *out,
			    apr_pool_t *pool, void *baton)
{
	(void)pool;
	sb_stream_printf(out, "[%s|%s]", (const char *)baton, args);
	return APR_SUCCESS;
}

static apr_status_t cmd_echo(const char *args, sb_stream_t *out,
			     apr_pool_t *pool, void *baton)
{
	(void)pool;
	(void)baton;
	sb_stream_printf(out, "%s\n", args);
	return APR_SUCCESS;
}

static apr_status_t cmd_fail(const char *args, sb_stream_t *out,
			     apr_pool_t *pool, void *baton)
{
	(void)args;
	(void)pool;
	(void)baton;
	sb_stream_printf(out, "failed on purpose\n");
	return APR_EGENERAL;
}

static apr_status_t cmd_fail_silent(const char *args, sb_stream_t *out,
				    apr_pool_t *pool, void *baton)
{
	(void)args;
	(void)out;
	(void)pool;
	(void)baton;
	return SB_ELIMIT;
}

/* Unregisters itself while it runs: the registry must free it later. */
static apr_status_t cmd_selfdestruct(const char *args, sb_stream_t *out,
				     apr_pool_t *pool, void *baton)
{
	(void)args;
	(void)pool;
	(void)baton;
	sb_control_unregister("selfdestruct");
	sb_stream_printf(out, "gone\n");
	return APR_SUCCESS;
}

/* Replies with args-many KiB of 'x' lines. */
static apr_status_t cmd_big(const char *args, sb_stream_t *out,
			    apr_pool_t *pool, void *baton)
{
	char line[64];
	int i, kib = atoi(args);

	(void)pool;
	(void)baton;
	memset(line, 'x', sizeof(line) - 1);
	line[sizeof(line) - 1] = '\n';
	for (i = 0; i < kib * 16; i++)
		sb_stream_write(out, line, sizeof(line));
	return APR_SUCCESS;
}

static apr_status_t cmd_slow(const char *args, sb_stream_t *out,
			     apr_pool_t *pool, void *baton)
{
	(void)args;
	(void)pool;
	(void)baton;
	apr_sleep(apr_time_from_msec(1500));
	sb_stream_printf(out, "late\n");
	return APR_SUCCESS;
}

/* Run @p line; the reply text lands in *text (in test_pool). */
static apr_status_t run(const char *line, const char **text)
{
	sb_stream_t *out = sb_stream_create(test_pool);
	apr_status_t rv = sb_control_execute(line, out, test_pool);

	*text = sb_stream_data(out, NULL);
	return rv;
}

static void test_stream_basic(void **state)
{
	sb_stream_t *s = sb_stream_create(test_pool);
	apr_size_t len = 99;

	(void)state;
	assert_string_equal(sb_stream_data(s, &len), "");
	assert_int_equal(len, 0);
	sb_stream_printf(s, "%s=%d;", "a", 1);
	sb_stream_write(s, "bc", 2);
	sb_stream_write(s, "ignored", 0);
	assert_string_equal(sb_stream_data(s, &len), "a=1;bc");
	assert_int_equal(len, 6);
}

static void test_stream_large(void **state)
{
	sb_stream_t *s = sb_stream_create(test_pool);
	apr_size_t len, want = 1024 * 1024, i;
	char *chunk = apr_palloc(test_pool, 5000);
	const char *d;

	(void)state;
	/* Small printfs past many doublings, then one bigger than the room. */
	for (i = 0; i < want / 8; i++)
		sb_stream_printf(s, "%07zu\n", i);
	memset(chunk, 'z', 4999);
	chunk[4999] = '\0';
	sb_stream_printf(s, "<%s>", chunk);
	d = sb_stream_data(s, &len);
	assert_int_equal(len, want + 5001);
	assert_int_equal(strlen(d), len);
	assert_memory_equal(d, "0000000\n0000001\n", 16);
	assert_memory_equal(d + want - 8, "0131071\n", 8);
	assert_int_equal(d[want], '<');
	assert_int_equal(d[want + 4999], 'z');
	assert_int_equal(d[want + 5000], '>');
}

static void test_register_duplicate(void **state)
{
	(void)state;
	assert_int_equal(
	    sb_control_register("dup cmd", "dup cmd", "one", cmd_tag, "a"),
	    APR_SUCCESS);
	assert_int_equal(
	    sb_control_register("dup cmd", "dup cmd", "two", cmd_tag, "b"),
	    APR_EEXIST);
	/* Blanks do not make a different name. */
	assert_int_equal(
	    sb_control_register("  dup \t cmd ", NULL, NULL, cmd_tag, "c"),
	    APR_EEXIST);
	assert_int_equal(sb_control_register("help", NULL, NULL, cmd_tag, "h"),
			 APR_EEXIST);
	assert_int_equal(sb_control_register("   ", NULL, NULL, cmd_tag, "e"),
			 APR_EINVAL);
	sb_control_unregister("dup cmd");
	assert_int_equal(
	    sb_control_register("dup cmd", NULL, NULL, cmd_tag, "d"),
	    APR_SUCCESS);
	sb_control_unregister("dup cmd");
}

static void test_longest_prefix(void **state)
{
	const char *t;

	(void)state;
	assert_int_equal(sb_control_register("sips status", "sips status",
					     "all profiles", cmd_tag, "st"),
			 APR_SUCCESS);
	assert_int_equal(sb_control_register("sips status profile",
					     "sips status profile NAME",
					     "one profile", cmd_tag, "pr"),
			 APR_SUCCESS);
	assert_int_equal(run("sips status profile internal", &t), APR_SUCCESS);
	assert_string_equal(t, "[pr|internal]");
	assert_int_equal(run("sips status", &t), APR_SUCCESS);
	assert_string_equal(t, "[st|]");
	assert_int_equal(run("sips   status\tprofile  a b", &t), APR_SUCCESS);
	assert_string_equal(t, "[pr|a b]");
	/* Whole words only, and case counts. */
	assert_int_equal(run("sips status profilex", &t), APR_SUCCESS);
	assert_string_equal(t, "[st|profilex]");
	assert_int_equal(run("sips Status", &t), SB_ENOTFOUND);
	assert_int_equal(run("sips", &t), SB_ENOTFOUND);
	/* Without the longer one the shorter takes the rest as args. */
	sb_control_unregister("sips status profile");
	assert_int_equal(run("sips status profile internal", &t), APR_SUCCESS);
	assert_string_equal(t, "[st|profile internal]");
	sb_control_unregister("sips status");
	assert_int_equal(run("sips status", &t), SB_ENOTFOUND);
}

static void test_args_trimmed(void **state)
{
	const char *t;

	(void)state;
	assert_int_equal(
	    sb_control_register("echo", "echo TEXT", "say it", cmd_echo, NULL),
	    APR_SUCCESS);
	assert_int_equal(run("  echo   a  b \t\r\n", &t), APR_SUCCESS);
	assert_string_equal(t, "a  b\n");
	assert_int_equal(run("echo", &t), APR_SUCCESS);
	assert_string_equal(t, "\n");
	sb_control_unregister("echo");
}

static void test_unknown_and_empty(void **state)
{
	const char *t;

	(void)state;
	assert_int_equal(run("nosuch thing", &t), SB_ENOTFOUND);
	assert_string_equal(t, "-ERR unknown command: nosuch thing\n");
	assert_int_equal(run(" \t\r\n", &t), APR_EINVAL);
	assert_non_null(strstr(t, "-ERR"));
}

static void test_errors(void **state)
{
	const char *t;

	(void)state;
	sb_control_register("fail", NULL, NULL, cmd_fail, NULL);
	sb_control_register("quiet fail", NULL, NULL, cmd_fail_silent, NULL);
	assert_int_equal(run("fail", &t), APR_EGENERAL);
	assert_string_equal(t, "failed on purpose\n");
	/* A handler that says nothing still gets a reason shown. */
	assert_int_equal(run("quiet fail", &t), SB_ELIMIT);
	assert_string_equal(t, "-ERR quiet fail: limit reached\n");
	sb_control_unregister("fail");
	sb_control_unregister("quiet fail");
}

static void test_help(void **state)
{
	const char *t, *a, *b, *c, *h;

	(void)state;
	sb_control_register("zeta", "zeta N", "last letter", cmd_tag, "z");
	sb_control_register("sips status", "sips status", "all profiles",
			    cmd_tag, "s");
	sb_control_register("alpha", "alpha", "first letter", cmd_tag, "a");
	assert_int_equal(run("help", &t), APR_SUCCESS);
	/* One column for the help text, as wide as the longest syntax. */
	a = strstr(t, "alpha          first letter\n");
	h = strstr(t, "help [PREFIX]  list the commands\n");
	b = strstr(t, "sips status    all profiles\n");
	c = strstr(t, "zeta N         last letter\n");
	assert_non_null(a);
	assert_non_null(h);
	assert_non_null(b);
	assert_non_null(c);
	assert_true(a == t && a < h && h < b && b < c);
	assert_int_equal(run("help sips", &t), APR_SUCCESS);
	assert_string_equal(t, "sips status  all profiles\n");
	assert_int_equal(run("help si", &t), SB_ENOTFOUND);
	sb_control_unregister("zeta");
	sb_control_unregister("alpha");
	sb_control_unregister("sips status");
	assert_int_equal(run("help", &t), APR_SUCCESS);
	assert_string_equal(t, "help [PREFIX]  list the commands\n");
	/* Unregistering what is not there is harmless. */
	sb_control_unregister("zeta");
	sb_control_unregister("");
}

static void test_unregister_while_running(void **state)
{
	const char *t;

	(void)state;
	sb_control_register("selfdestruct", NULL, NULL, cmd_selfdestruct, NULL);
	assert_int_equal(run("selfdestruct now", &t), APR_SUCCESS);
	assert_string_equal(t, "gone\n");
	assert_int_equal(run("selfdestruct", &t), SB_ENOTFOUND);
}

static void *APR_THREAD_FUNC hammer(apr_thread_t *thd, void *data)
{
	apr_pool_t *p;
	sb_stream_t *out;
	int i, *bad = data;

	apr_pool_create(&p, NULL);
	for (i = 0; i < 2000; i++) {
		out = sb_stream_create(p);
		/* Either "steady x" is there right now or it is not. */
		if (sb_control_execute("steady x", out, p) != APR_SUCCESS ||
		    (strcmp(sb_stream_data(out, NULL), "[steady|x]") &&
		     strcmp(sb_stream_data(out, NULL), "[x|]")))
			(*bad)++;
		apr_pool_clear(p);
	}
	apr_pool_destroy(p);
	apr_thread_exit(thd, APR_SUCCESS);
	return NULL;
}

static void test_threads(void **state)
{
	apr_thread_t *th[2];
	apr_status_t trv;
	int bad[2] = {0, 0}, i;

	(void)state;
	sb_control_register("steady", NULL, NULL, cmd_tag, "steady");
	for (i = 0; i < 2; i++)
		assert_int_equal(
		    apr_thread_create(&th[i], NULL, hammer, &bad[i], test_pool),
		    APR_SUCCESS);
	for (i = 0; i < 500; i++) {
		sb_control_register("steady x", NULL, NULL, cmd_tag, "x");
		sb_control_unregister("steady x");
	}
	for (i = 0; i < 2; i++)
		apr_thread_join(&trv, th[i]);
	sb_control_unregister("steady");
	assert_int_equal(bad[0], 0);
	assert_int_equal(bad[1], 0);
}

/* Run the client; its output and errors are returned in test_pool. */
static int client(const char *path, const char *line, int timeout,
		  char **out_text, char **err_text)
{
	FILE *out = tmpfile(), *err = tmpfile();
	char *bufs[2];
	FILE *fs[2] = {out, err};
	long n;
	int code, i;

	assert_non_null(out);
	assert_non_null(err);
	code = sb_control_client(path, line, out, err, timeout);
	for (i = 0; i < 2; i++) {
		fflush(fs[i]);
		n = ftell(fs[i]);
		bufs[i] = apr_pcalloc(test_pool, (apr_size_t)n + 1);
		rewind(fs[i]);
		assert_int_equal(fread(bufs[i], 1, (size_t)n, fs[i]),
				 (size_t)n);
		fclose(fs[i]);
	}
	*out_text = bufs[0];
	*err_text = bufs[1];
	return code;
}

static char *temp_dir(void)
{
	char *dir = apr_pstrdup(test_pool, "/tmp/sb_control_test.XXXXXX");

	assert_non_null(mkdtemp(dir));
	return dir;
}

/* A bound socket file; listening or left behind as after a crash. */
static int raw_socket(const char *path, int listening)
{
	struct sockaddr_un sa;
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	strcpy(sa.sun_path, path);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	if (listening) {
		assert_int_equal(listen(fd, 1), 0);
		return fd;
	}
	close(fd);
	return -1;
}

static void test_socket_roundtrip(void **state)
{
	char *dir = temp_dir(), *path, *missing, *o, *e, *longline;
	struct stat st;

	(void)state;
	path = apr_pstrcat(test_pool, dir, "/sipsbridge.sock", NULL);
	missing = apr_pstrcat(test_pool, dir, "/nope/sipsbridge.sock", NULL);
	sb_control_register("echo", "echo TEXT", "say it", cmd_echo, NULL);
	sb_control_register("fail", NULL, NULL, cmd_fail, NULL);
	sb_control_register("big", NULL, NULL, cmd_big, NULL);
	assert_int_equal(sb_control_socket_start(path, test_pool), APR_SUCCESS);
	assert_int_equal(sb_control_socket_start(path, test_pool), APR_EBUSY);
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0600);

	assert_int_equal(client(path, "echo hello  world", 5, &o, &e), 0);
	assert_string_equal(o, "hello  world\n");
	assert_string_equal(e, "");
	assert_int_equal(client(path, "fail", 5, &o, &e), 1);
	assert_string_equal(o, "failed on purpose\n");
	assert_int_equal(client(path, "nosuch", 5, &o, &e), 1);
	assert_string_equal(o, "-ERR unknown command: nosuch\n");
	assert_int_equal(client(path, "big 1024", 5, &o, &e), 0);
	assert_int_equal(strlen(o), 1024 * 1024);
	assert_int_equal(client(missing, "echo x", 5, &o, &e), 2);
	assert_string_equal(o, "");
	assert_non_null(strstr(e, missing));
	assert_non_null(strstr(e, "No such file or directory"));
	assert_non_null(strstr(e, "is sipsbridge running?"));
	/* Over 4096 bytes: refused with a reason, not cut and run. */
	longline = apr_palloc(test_pool, 5001);
	memset(longline, 'a', 5000);
	longline[5000] = '\0';
	memcpy(longline, "echo ", 5);
	assert_int_equal(client(path, longline, 5, &o, &e), 1);
	assert_non_null(strstr(o, "longer than 4096"));
	memset(longline + 4000, '\0', 1); /* 4000 bytes + newline is fine */
	assert_int_equal(client(path, longline, 5, &o, &e), 0);
	assert_int_equal(strlen(o), 3996);

	sb_control_socket_stop();
	assert_int_equal(stat(path, &st), -1);
	assert_int_equal(client(path, "echo x", 5, &o, &e), 2);
	sb_control_socket_stop(); /* twice is fine */
	sb_control_unregister("echo");
	sb_control_unregister("fail");
	sb_control_unregister("big");
	rmdir(dir);
}

static void test_socket_timeout(void **state)
{
	char *dir = temp_dir(), *path, *o, *e;

	(void)state;
	path = apr_pstrcat(test_pool, dir, "/sipsbridge.sock", NULL);
	sb_control_register("slow", NULL, NULL, cmd_slow, NULL);
	assert_int_equal(sb_control_socket_start(path, test_pool), APR_SUCCESS);
	assert_int_equal(client(path, "slow", 1, &o, &e), 3);
	assert_non_null(strstr(e, path));
	assert_int_equal(client(path, "slow", 5, &o, &e), 0);
	assert_string_equal(o, "late\n");
	sb_control_socket_stop();
	sb_control_unregister("slow");
	rmdir(dir);
}

static void test_socket_path_checks(void **state)
{
	char *dir = temp_dir(), *path, *o, *e;
	apr_pool_t *sub;
	struct stat st;
	FILE *f;
	int fd;

	(void)state;
	path = apr_pstrcat(test_pool, dir, "/sipsbridge.sock", NULL);
	sb_control_register("echo", NULL, NULL, cmd_echo, NULL);
	/* Another live daemon answers: leave it alone. */
	fd = raw_socket(path, 1);
	assert_int_equal(sb_control_socket_start(path, test_pool),
			 APR_FROM_OS_ERROR(EADDRINUSE));
	assert_int_equal(stat(path, &st), 0);
	close(fd);
	/* Now nobody listens: the stale file is replaced. */
	assert_int_equal(sb_control_socket_start(path, test_pool), APR_SUCCESS);
	assert_int_equal(client(path, "echo fresh", 5, &o, &e), 0);
	assert_string_equal(o, "fresh\n");
	sb_control_socket_stop();
	/* A crash leftover that was never listening. */
	raw_socket(path, 0);
	apr_pool_create(&sub, test_pool);
	assert_int_equal(sb_control_socket_start(path, sub), APR_SUCCESS);
	assert_int_equal(client(path, "echo again", 5, &o, &e), 0);
	/* Destroying the pool stops the server too. */
	apr_pool_destroy(sub);
	assert_int_equal(stat(path, &st), -1);
	/* A regular file is not ours to remove. */
	f = fopen(path, "w");
	assert_non_null(f);
	fclose(f);
	assert_int_equal(sb_control_socket_start(path, test_pool), APR_EEXIST);
	assert_int_equal(stat(path, &st), 0);
	unlink(path);
	sb_control_unregister("echo");
	rmdir(dir);
}

static int test_setup(void **state)
{
	(void)state;
	return apr_pool_create(&test_pool, NULL) == APR_SUCCESS ? 0 : -1;
}

static int test_teardown(void **state)
{
	(void)state;
	apr_pool_destroy(test_pool);
	test_pool = NULL;
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_stream_basic, test_setup,
					    test_teardown),
	    cmocka_unit_test_setup_teardown(test_stream_large, test_setup,
					    test_teardown),
	    cmocka_unit_test_setup_teardown(test_register_duplicate, test_setup,
					    test_teardown),
	    cmocka_unit_test_setup_teardown(test_longest_prefix, test_setup,
					    test_teardown),
	    cmocka_unit_test_setup_teardown(test_args_trimmed, test_setup,
					    test_teardown),
	    cmocka_unit_test_setup_teardown(test_unknown_and_empty, test_setup,
					    test_teardown),
	    cmocka_unit_test_setup_teardown(test_errors, test_setup,
					    test_teardown),
	    cmocka_unit_test_setup_teardown(test_help, test_setup,
					    test_teardown),
	    cmocka_unit_test_setup_teardown(test_unregister_while_running,
					    test_setup, test_teardown),
	    cmocka_unit_test_setup_teardown(test_threads, test_setup,
					    test_teardown),
	    cmocka_unit_test_setup_teardown(test_socket_roundtrip, test_setup,
					    test_teardown),
	    cmocka_unit_test_setup_teardown(test_socket_timeout, test_setup,
					    test_teardown),
	    cmocka_unit_test_setup_teardown(test_socket_path_checks, test_setup,
					    test_teardown),
	};
	int failed;

	apr_initialize();
	failed = cmocka_run_group_tests(tests, NULL, NULL);
	apr_terminate();
	return failed;
}
