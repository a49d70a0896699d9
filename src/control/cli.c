/* cli.c — sipsbridge-cli: send control commands to the running switch. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "control_socket.h"

#ifndef SB_RUN_DIR
#define SB_RUN_DIR "/var/run/sipsbridge"
#endif

#define CLI_TIMEOUT_DEFAULT 30
#define CLI_SOCKET_NAME "/sipsbridge.sock"

typedef struct cli_opts {
	const char *run_dir;
	const char *command; /* NULL: read commands from stdin */
	int timeout;
	int help;
} cli_opts_t;

static void usage(FILE *to)
{
	fprintf(to,
		"usage: sipsbridge-cli [-run DIR] [-t SECONDS] "
		"[-x CMD | CMD...]\n"
		"  -run DIR    the switch's run directory, where its "
		"control socket is\n"
		"              (default %s)\n"
		"  -x CMD      run one command, e.g. -x \"sips status\"\n"
		"  -t SECONDS  give up waiting after this long (default %d, "
		"0: never)\n"
		"  -h          this help\n"
		"With no command, commands are read one per line from "
		"standard input\n"
		"until end of input, \"exit\" or \"quit\".\n"
		"Exit status: 0 +OK, 1 -ERR, 2 switch not reachable or bad "
		"usage,\n3 timeout.\n",
		SB_RUN_DIR, CLI_TIMEOUT_DEFAULT);
}

/* The words after the options, joined by one space each. */
static char *args_join(int argc, char **argv)
{
	size_t len = 1;
	char *line;
	int i;

	for (i = 0; i < argc; i++)
		len += strlen(argv[i]) + 1;
	line = malloc(len);
	if (!line)
		return NULL;
	line[0] = '\0';
	for (i = 0; i < argc; i++) {
		if (i)
			strcat(line, " ");
		strcat(line, argv[i]);
	}
	return line;
}

static int timeout_parse(const char *s, int *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 0 || v > 86400)
		return -1;
	*out = (int)v;
	return 0;
}

/* 0 to go on, 2 on a usage error; *joined owns a built command line. */
static int opts_parse(int argc, char **argv, cli_opts_t *o, char **joined)
{
	int i;

	o->run_dir = SB_RUN_DIR;
	o->timeout = CLI_TIMEOUT_DEFAULT;
	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(argv[i], "--")) {
			i++;
			break;
		}
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			o->help = 1;
			return 0;
		}
		if (strcmp(argv[i], "-run") && strcmp(argv[i], "-x") &&
		    strcmp(argv[i], "-t")) {
			fprintf(stderr, "sipsbridge-cli: %s: unknown option\n",
				argv[i]);
			return 2;
		}
		if (!v) {
			fprintf(stderr, "sipsbridge-cli: %s needs a value\n",
				argv[i]);
			return 2;
		}
		if (!strcmp(argv[i], "-run")) {
			o->run_dir = v;
		} else if (!strcmp(argv[i], "-x")) {
			o->command = v;
		} else if (timeout_parse(v, &o->timeout) < 0) {
			fprintf(stderr,
				"sipsbridge-cli: -t %s: not a number "
				"of seconds\n",
				v);
			return 2;
		}
		i++;
	}
	if (i < argc) {
		if (o->command) {
			fprintf(stderr, "sipsbridge-cli: -x and a command "
					"after the options: give one\n");
			return 2;
		}
		*joined = args_join(argc - i, argv + i);
		if (!*joined)
			return 2;
		o->command = *joined;
	}
	return 0;
}

static int line_is(const char *line, const char *word)
{
	size_t n = strlen(word);

	return !strncmp(line, word, n) && line[n] == '\0';
}

/* Trim blanks and the line end in place; returns the first non-blank. */
static char *line_trim(char *line)
{
	size_t len;

	while (*line == ' ' || *line == '\t')
		line++;
	len = strlen(line);
	while (len && strchr(" \t\r\n", line[len - 1]))
		line[--len] = '\0';
	return line;
}

/*
 * Commands from standard input, one per line. The status is the last
 * command's, so a script can test what it ran last.
 */
static int interactive(const char *sock, int timeout)
{
	int tty = isatty(STDIN_FILENO);
	char *buf = NULL, *line;
	size_t cap = 0;
	int code = 0;

	for (;;) {
		if (tty) {
			fputs("sipsbridge> ", stdout);
			fflush(stdout);
		}
		if (getline(&buf, &cap, stdin) < 0) {
			if (tty)
				fputc('\n', stdout);
			break;
		}
		line = line_trim(buf);
		if (!*line)
			continue;
		if (line_is(line, "exit") || line_is(line, "quit"))
			break;
		code = sb_control_client(sock, line, stdout, stderr, timeout);
	}
	free(buf);
	return code;
}

int main(int argc, char **argv)
{
	cli_opts_t o;
	char *joined = NULL, *sock;
	size_t len;
	int code;

	memset(&o, 0, sizeof(o));
	code = opts_parse(argc, argv, &o, &joined);
	if (code || o.help) {
		usage(code ? stderr : stdout);
		free(joined);
		return code;
	}
	len = strlen(o.run_dir) + sizeof(CLI_SOCKET_NAME);
	sock = malloc(len);
	if (!sock) {
		free(joined);
		return 2;
	}
	snprintf(sock, len, "%s%s", o.run_dir, CLI_SOCKET_NAME);
	if (o.command)
		code = sb_control_client(sock, o.command, stdout, stderr,
					 o.timeout);
	else
		code = interactive(sock, o.timeout);
	free(sock);
	free(joined);
	return code;
}
