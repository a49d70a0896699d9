/* main.c — the sipsbridge daemon: options, start-up, signals, shutdown. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <apr_general.h>
#include <apr_file_io.h>
#include <apr_strings.h>
#include "sipsbridge/sb_control.h"
#include "sipsbridge/sb_log.h"
#include "sipsbridge/sb_session.h"
#include "sipsbridge/sb_srtp.h"
#include "runtime_private.h"
#include "../session/expand_private.h"
#include "../session/session_private.h"
#include "pidfile.h"
#include "../control/control_socket.h"
#include "config.h"

static void usage(FILE *to)
{
	fprintf(to,
		"usage: sipsbridge [-nf] [-conf DIR] [-run DIR] [-log DIR] "
		"[-db DIR] [-mod DIR]\n"
		"                  [-threads N] [-loglevel LEVEL] [-x CMD] "
		"[-version]\n"
		"  -nf        stay in the foreground, log to stderr too\n"
		"  -conf DIR  configuration (default %s)\n"
		"  -run DIR   pid file and control socket (default %s)\n"
		"  -log DIR   log file (default %s)\n"
		"  -db DIR    registration store (default %s)\n"
		"  -mod DIR   modules (default %s)\n"
		"  -x CMD     send CMD to the running switch, print the reply\n"
		"  -var NAME  print a $${variable} of the configuration\n",
		SB_CONF_DIR, SB_RUN_DIR, SB_LOG_DIR, SB_DB_DIR, SB_MOD_DIR);
}

typedef struct cli_args {
	sb_options_t opt;
	const char *command;
	const char *var;
	int version;
} cli_args_t;

/* Returns 0 on success, 2 on a usage error. */
static int parse_args(int argc, char **argv, cli_args_t *a)
{
	int i;

	a->opt.dirs.base_dir = SB_PREFIX;
	a->opt.dirs.conf_dir = SB_CONF_DIR;
	a->opt.dirs.run_dir = SB_RUN_DIR;
	a->opt.dirs.log_dir = SB_LOG_DIR;
	a->opt.dirs.db_dir = SB_DB_DIR;
	a->opt.dirs.mod_dir = SB_MOD_DIR;
	a->opt.log_level = SB_LOG_INFO;
	for (i = 1; i < argc; i++) {
		const char *o = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		const char **dir = NULL;

		if (!strcmp(o, "-nf")) {
			a->opt.foreground = 1;
			continue;
		}
		if (!strcmp(o, "-version") || !strcmp(o, "-v")) {
			a->version = 1;
			continue;
		}
		if (!strcmp(o, "-h") || !strcmp(o, "-help")) {
			usage(stdout);
			exit(0);
		}
		if (!strcmp(o, "-conf"))
			dir = &a->opt.dirs.conf_dir;
		else if (!strcmp(o, "-run"))
			dir = &a->opt.dirs.run_dir;
		else if (!strcmp(o, "-log"))
			dir = &a->opt.dirs.log_dir;
		else if (!strcmp(o, "-db"))
			dir = &a->opt.dirs.db_dir;
		else if (!strcmp(o, "-mod"))
			dir = &a->opt.dirs.mod_dir;
		else if (!strcmp(o, "-x") || !strcmp(o, "-threads") ||
			 !strcmp(o, "-var") ||
			 !strcmp(o, "-loglevel"))
			;
		else {
			fprintf(stderr, "sipsbridge: unknown option %s\n", o);
			return 2;
		}
		if (!v) {
			fprintf(stderr, "sipsbridge: %s needs a value\n", o);
			return 2;
		}
		i++;
		if (dir)
			*dir = v;
		else if (!strcmp(o, "-x"))
			a->command = v;
		else if (!strcmp(o, "-var"))
			a->var = v;
		else if (!strcmp(o, "-threads"))
			a->opt.workers = (unsigned)atoi(v);
		else if ((a->opt.log_level = sb_log_level_parse(v)) < 0) {
			fprintf(stderr, "sipsbridge: unknown log level %s\n",
				v);
			return 2;
		}
	}
	return 0;
}

static apr_status_t make_dirs(const sb_dirs_t *d, apr_pool_t *pool)
{
	const char *dirs[] = { d->run_dir, d->log_dir, d->db_dir };
	apr_size_t i;
	apr_status_t rv;
	char buf[128];

	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		rv = apr_dir_make_recursive(dirs[i], APR_OS_DEFAULT, pool);
		if (rv != APR_SUCCESS && !APR_STATUS_IS_EEXIST(rv)) {
			fprintf(stderr, "sipsbridge: cannot create %s: %s\n",
				dirs[i], apr_strerror(rv, buf, sizeof(buf)));
			return rv;
		}
	}
	return APR_SUCCESS;
}

/*
 * Waits for signals in the main thread only: workers block them all, so
 * SIGTERM/SIGINT stop, SIGHUP reloads, wherever they are sent from.
 */
static void wait_for_signals(sb_runtime_t *rt, const sigset_t *set)
{
	char why[1024];
	int sig;

	for (;;) {
		if (sigwait(set, &sig) != 0)
			continue;
		if (sig == SIGHUP) {
			sb_log(SB_LOG_NOTICE, "SB00002",
			       "SIGHUP: reloading the XML configuration");
			sb_runtime_reload(rt, why, sizeof(why));
			continue;
		}
		sb_log(SB_LOG_NOTICE, "SB00003", "signal %d: shutting down",
		       sig);
		return;
	}
}

/* Fork; the parent waits for the child's start-up verdict on a pipe. */
static int daemonize(int *ready_fd)
{
	int fds[2];
	pid_t pid;
	char verdict = 1;

	if (pipe(fds) != 0)
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid > 0) {
		close(fds[1]);
		if (read(fds[0], &verdict, 1) != 1)
			verdict = 1;
		_exit(verdict);
	}
	close(fds[0]);
	setsid();
	*ready_fd = fds[1];
	return 0;
}

static void report_ready(int *ready_fd, char verdict)
{
	int devnull;

	if (*ready_fd < 0)
		return;
	if (write(*ready_fd, &verdict, 1) != 1)
		verdict = 1;
	close(*ready_fd);
	*ready_fd = -1;
	devnull = open("/dev/null", O_RDWR);
	if (devnull >= 0) {
		dup2(devnull, 0);
		dup2(devnull, 1);
		dup2(devnull, 2);
		close(devnull);
	}
}

/* Built-in variables and logs are clearer with absolute paths. */
static void absolute_dirs(sb_dirs_t *d, apr_pool_t *pool)
{
	const char **dirs[] = { &d->base_dir, &d->conf_dir, &d->run_dir,
				&d->log_dir, &d->db_dir, &d->mod_dir };
	apr_size_t i;
	char *abs;

	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		abs = realpath(*dirs[i], NULL);
		if (abs) {
			*dirs[i] = apr_pstrdup(pool, abs);
			free(abs);
		}
	}
}

/* -var NAME: the value after pre-processing, for scripts. */
static int print_variable(const sb_dirs_t *dirs, const char *name,
			  apr_pool_t *pool)
{
	sb_config_error_t err = { { 0 }, 0, { 0 } };
	sb_config_t *cfg;
	sb_vars_t *vars;
	const char *value;

	if (sb_vars_create(&vars, pool) != APR_SUCCESS ||
	    sb_vars_set_builtins(vars, dirs) != APR_SUCCESS)
		return 1;
	if (sb_config_load(&cfg, apr_pstrcat(pool, dirs->conf_dir,
					     "/sipsbridge.xml", NULL),
			   vars, pool, &err) != APR_SUCCESS) {
		fprintf(stderr, "sipsbridge: %s:%d: %s\n", err.file, err.line,
			err.msg);
		return 1;
	}
	value = sb_vars_get(vars, name);
	if (!value) {
		fprintf(stderr, "sipsbridge: no variable %s\n", name);
		return 1;
	}
	printf("%s\n", value);
	return 0;
}

static int run(sb_runtime_t *rt, const sb_options_t *opt, int *ready_fd)
{
	char *sock_path, *pid_path;
	sigset_t set;
	apr_status_t rv;
	int code = 1;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	pid_path = apr_pstrcat(rt->pool, rt->dirs.run_dir, "/sipsbridge.pid",
			       NULL);
	sock_path = apr_pstrcat(rt->pool, rt->dirs.run_dir,
				"/sipsbridge.sock", NULL);
	if (sb_pidfile_claim(pid_path) != APR_SUCCESS)
		return 1;
	if (sb_runtime_load_config(rt) != APR_SUCCESS)
		goto done;
	rv = sb_loop_create(&rt->loop, opt->workers, rt->pool);
	if (rv == APR_SUCCESS)
		rv = sb_loop_start(rt->loop);
	if (rv != APR_SUCCESS) {
		sb_log(SB_LOG_CRIT, "SB00004", "cannot start worker threads");
		goto done;
	}
	rv = sb_control_socket_start(sock_path, rt->pool);
	if (rv != APR_SUCCESS) {
		sb_log(SB_LOG_CRIT, "SB00005",
		       "cannot open the control socket %s", sock_path);
		goto stop_loop;
	}
	sb_commands_core_register(rt);
	/* What dialplans and modules use: functions, applications, SRTP. */
	if (sb_expand_builtins_register() != APR_SUCCESS ||
	    sb_session_apps_init() != APR_SUCCESS ||
	    sb_srtp_global_init() != APR_SUCCESS) {
		sb_log(SB_LOG_CRIT, "SB00008",
		       "cannot set up the session core (expansion functions, "
		       "applications, libsrtp2)");
		goto stop_control;
	}
	if (sb_modules_load(rt) == APR_SUCCESS) {
		sb_log(SB_LOG_NOTICE, "SB00006",
		       "sipsbridge %s ready (pid %ld, %u workers)",
		       PACKAGE_VERSION, (long)getpid(),
		       sb_loop_nworkers(rt->loop));
		report_ready(ready_fd, 0);
		wait_for_signals(rt, &set);
		code = 0;
	}
	sb_control_socket_stop();
	sb_modules_shutdown(rt);
	goto core_done;
stop_control:
	sb_control_socket_stop();
core_done:
	sb_session_registry_shutdown();
	sb_expand_shutdown();
	sb_commands_core_unregister();
stop_loop:
	sb_loop_stop(rt->loop);
done:
	sb_pidfile_release(pid_path);
	return code;
}

int main(int argc, char **argv)
{
	cli_args_t args;
	sb_runtime_t *rt;
	apr_pool_t *pool;
	int ready_fd = -1;
	int code;

	memset(&args, 0, sizeof(args));
	code = parse_args(argc, argv, &args);
	if (code) {
		usage(stderr);
		return code;
	}
	if (args.version) {
		printf("sipsbridge %s\n", PACKAGE_VERSION);
		return 0;
	}
	if (args.command) {
		char sock_path[4096];

		snprintf(sock_path, sizeof(sock_path), "%s/sipsbridge.sock",
			 args.opt.dirs.run_dir);
		return sb_control_client(sock_path, args.command, stdout,
					 stderr, 30);
	}
	apr_initialize();
	atexit(apr_terminate);
	apr_pool_create(&pool, NULL);
	if (args.var) {
		absolute_dirs(&args.opt.dirs, pool);
		return print_variable(&args.opt.dirs, args.var, pool);
	}
	if (make_dirs(&args.opt.dirs, pool) != APR_SUCCESS)
		return 1;
	if (!args.opt.foreground && daemonize(&ready_fd) != 0) {
		perror("sipsbridge: fork");
		return 1;
	}
	if (sb_log_open(args.opt.dirs.log_dir, args.opt.log_level,
			args.opt.foreground) != APR_SUCCESS)
		fprintf(stderr, "sipsbridge: cannot open log in %s\n",
			args.opt.dirs.log_dir);
	rt = apr_pcalloc(pool, sizeof(*rt));
	rt->pool = pool;
	rt->dirs = args.opt.dirs;
	absolute_dirs(&rt->dirs, pool);
	rt->started = apr_time_now();
	apr_thread_rwlock_create(&rt->config_lock, pool);
	code = run(rt, &args.opt, &ready_fd);
	report_ready(&ready_fd, (char)code);
	sb_log(SB_LOG_NOTICE, "SB00007", "sipsbridge stopped");
	apr_pool_destroy(pool);
	sb_log_close();
	return code;
}
