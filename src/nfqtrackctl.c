// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * nfqtrackctl.c - ask a running nfqtrackd something: one request, print
 * the reply, exit with a status that says how it went.
 *
 * Exit status: 0 ok, 1 the daemon refused, 2 usage, 3 daemon not
 * reachable (or its reply unreadable).
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmdtab.h"
#include "conf.h"
#include "ctlclient.h"

#ifndef VERSION
#define VERSION "unknown"
#endif

#define TIMEOUT_MS 10000

enum { EXIT_DAEMON = 1, EXIT_USAGE = 2, EXIT_UNREACHABLE = 3 };

static void usage(FILE *out)
{
	fprintf(out, "usage: nfqtrackctl [-s SOCKET] [-c FILE] [-o text|json] "
		     "COMMAND\n"
		     "commands:\n");
	ctl_cmd_usage(out);
	fprintf(out,
		"options:\n"
		"  -s, --socket PATH   control socket (default: ctl_socket "
		"from the config)\n"
		"  -c, --config FILE   config file to read ctl_socket from "
		"(default %s)\n"
		"  -o, --output FMT    text (default) or json; events: "
		"also timestamp\n"
		"                      (a list: -o json,timestamp)\n"
		"  -V, --version       this program's version\n"
		"  -h, --help          this help\n"
		"exit status: 0 ok, 1 error from the daemon, 2 usage, 3 daemon "
		"not reachable\n",
		CONF_DEFAULT_PATH);
}

struct list_out {
	bool json;
	uint64_t lines;
};

static void list_body(void *arg, const char *data, size_t len)
{
	struct list_out *lo = arg;

	fwrite(data, 1, len, stdout);
	for (size_t i = 0; i < len; i++)
		lo->lines += data[i] == '\n';
}

/* The exit status of a streamed reply; its count on stderr (text), as
 * conntrack says it. */
static int streamed(enum ctl_status st, struct ctl_reply *errmsg,
		    const char *err, bool json, uint64_t n, const char *shown)
{
	switch (st) {
	case CTL_OK:
		if (!json)
			fprintf(stderr, "nfqtrackctl: %" PRIu64 " %s\n", n,
				shown);
		return 0;
	case CTL_ERR_DAEMON:
		fprintf(stderr, "nfqtrackctl: %s\n", errmsg->data);
		ctl_reply_free(errmsg);
		return EXIT_DAEMON;
	default:
		fprintf(stderr, "nfqtrackctl: %s\n", err);
		return EXIT_UNREACHABLE;
	}
}

/* Stream the flow listing to stdout. */
static int list(const char *socket_path, const char *request, bool json)
{
	struct list_out lo = { .json = json };
	struct ctl_reply errmsg;
	enum ctl_status st;
	char err[512];

	st = ctl_call_stream(socket_path, request, TIMEOUT_MS, list_body, &lo,
			     &errmsg, err, sizeof(err));
	fflush(stdout);
	return streamed(st, &errmsg, err, json, lo.lines,
			"flow entries have been shown.");
}

/* The events shown so far, for the last line at ^C (a signal handler
 * reads it). */
static volatile sig_atomic_t events_shown;
static volatile sig_atomic_t events_text;

/* Whole lines come: an event each, or a loss note ("# ..." or
 * {"lost":...}), not counted. */
static void events_body(void *arg, const char *data, size_t len)
{
	const char *p = data, *end = data + len;

	(void)arg;
	if (fwrite(data, 1, len, stdout) != len || fflush(stdout))
		_exit(0); /* its reader has gone: so do we */
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));

		if (*p != '#' && strncmp(p, "{\"lost\"", 7))
			events_shown++;
		p = nl ? nl + 1 : end;
	}
}

/* ^C, SIGTERM and a reader gone end the stream as they end conntrack
 * -E: exit 0, with the count of events shown on stderr (text). Only
 * async-signal-safe calls. */
static void events_stop(int sig)
{
	char msg[80], num[24];
	size_t n = sizeof(num), len = 0;
	unsigned long v = (unsigned long)events_shown;
	static const char pre[] = "nfqtrackctl: ",
			  post[] = " flow events have been shown.\n";

	if (sig != SIGPIPE && events_text) {
		do
			num[--n] = (char)('0' + v % 10);
		while ((v /= 10) && n);
		memcpy(msg, pre, sizeof(pre) - 1);
		len = sizeof(pre) - 1;
		memcpy(msg + len, num + n, sizeof(num) - n);
		len += sizeof(num) - n;
		memcpy(msg + len, post, sizeof(post) - 1);
		len += sizeof(post) - 1;
		if (write(STDERR_FILENO, msg, len) < 0)
			_exit(0);
	}
	_exit(0);
}

/* Stream the events to stdout until interrupted or the daemon ends
 * them (it stops: 0). */
static int events(const char *socket_path, const char *request, bool json)
{
	struct sigaction sa = { .sa_handler = events_stop };
	struct ctl_reply errmsg;
	enum ctl_status st;
	char err[512];

	events_text = !json;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGPIPE, &sa, NULL);
	st = ctl_call_stream(socket_path, request, -1, events_body, NULL,
			     &errmsg, err, sizeof(err));
	return streamed(st, &errmsg, err, json, (uint64_t)events_shown,
			"flow events have been shown (the daemon ended the "
			"stream).");
}

/* Print top's "SOURCE FLOWS NEW REFUSED" lines under a header, aligned;
 * JSON as it came. */
static void print_top(const char *body, bool json)
{
	char src[64];
	unsigned long flows, rate, refused;
	int used;

	if (json) {
		fputs(body, stdout);
		return;
	}
	printf("%-40s %10s %8s %10s\n", "SOURCE", "FLOWS", "NEW/S", "REFUSED");
	while (*body) {
		if (sscanf(body, "%63s %lu %lu %lu%n", src, &flows, &rate,
			   &refused, &used) == 4)
			printf("%-40s %10lu %8lu %10lu\n", src, flows, rate,
			       refused);
		body += strcspn(body, "\n");
		if (*body)
			body++;
	}
}

/* Append " key=value" to the request, refusing what would break it. */
static int add_term(char *req, size_t len, const char *key, const char *v)
{
	size_t used = strlen(req);

	if (!*v || strpbrk(v, " \t\r\n")) {
		fprintf(stderr, "nfqtrackctl: --%s: '%s' is not a value\n", key,
			v);
		return -1;
	}
	if ((size_t)snprintf(req + used, len - used, " %s=%s", key, v) >=
	    len - used) {
		fprintf(stderr, "nfqtrackctl: too many filters\n");
		return -1;
	}
	return 0;
}

static void quiet(void *arg, const char *msg)
{
	(void)arg;
	(void)msg;
}

static bool is_number(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return false;
	return true;
}

static void json_string(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			printf("\\%c", ch);
		else if (ch < 0x20)
			printf("\\u%04x", ch);
		else
			putchar(ch);
	}
	putchar('"');
}

/* Print "key value" lines aligned, or as one JSON object. */
static void print_pairs(char *body, bool json)
{
	size_t width = 0;
	bool first = true;
	char *line, *save = NULL, *copy = strdup(body);

	if (!copy)
		return;
	for (line = strtok_r(copy, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		size_t k = strcspn(line, " ");

		if (k > width)
			width = k;
	}
	free(copy);
	if (json)
		putchar('{');
	for (line = strtok_r(body, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char *sp = strchr(line, ' ');
		const char *val = sp ? sp + 1 : "";

		if (sp)
			*sp = '\0';
		if (!json) {
			printf("%-*s %s\n", (int)width, line, val);
			continue;
		}
		printf("%s\n  ", first ? "" : ",");
		first = false;
		json_string(line);
		fputs(": ", stdout);
		if (is_number(val))
			fputs(val, stdout);
		else
			json_string(val);
	}
	if (json)
		puts(first ? "}" : "\n}");
}

/* Print a successful reply in the command's style. */
static void print_reply(const struct ctl_cmd *cmd, char *body, bool json)
{
	unsigned long n = 0;

	switch (cmd->style) {
	case R_PAIRS:
		print_pairs(body, json);
		break;
	case R_TOP:
		print_top(body, json);
		break;
	case R_COUNT:
		sscanf(body, "flows %lu", &n);
		if (json)
			printf("{\"flows\": %lu}\n", n);
		else
			printf("%lu\n", n);
		break;
	case R_FLUSH:
		sscanf(body, "deleted %lu", &n);
		if (json)
			printf("{\"deleted\": %lu}\n", n);
		else
			fprintf(stderr,
				"nfqtrackctl: %lu flow entries have been "
				"deleted.\n",
				n);
		break;
	case R_RELOAD:
		if (json)
			printf("{\"reloaded\": true}\n");
		else
			fputs(body, stdout);
		break;
	default:
		fputs(body, stdout);
	}
}

int main(int argc, char **argv)
{
	enum {
		OPT_SRC = 256,
		OPT_DST,
		OPT_ADDR,
		OPT_STATE,
		OPT_SPORT,
		OPT_DPORT,
		OPT_ID,
		OPT_TYPE,
		OPT_CODE
	};
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "config", required_argument, NULL, 'c' },
		{ "output", required_argument, NULL, 'o' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ "proto", required_argument, NULL, 'p' },
		{ "family", required_argument, NULL, 'f' },
		{ "src", required_argument, NULL, OPT_SRC },
		{ "dst", required_argument, NULL, OPT_DST },
		{ "addr", required_argument, NULL, OPT_ADDR },
		{ "state", required_argument, NULL, OPT_STATE },
		{ "sport", required_argument, NULL, OPT_SPORT },
		{ "dport", required_argument, NULL, OPT_DPORT },
		{ "icmp-id", required_argument, NULL, OPT_ID },
		{ "icmp-type", required_argument, NULL, OPT_TYPE },
		{ "icmp-code", required_argument, NULL, OPT_CODE },
		{ "count", required_argument, NULL, 'n' },
		{ "event-mask", required_argument, NULL, 'e' },
		{ "timestamp", no_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 },
	};
	const char *count = NULL, *types = NULL;
	bool stamp = false;
	char filters[1024] = "", req[1200];
	unsigned used = 0; /* filter options given */
	const char *socket_path = NULL, *conf_path = CONF_DEFAULT_PATH;
	const struct ctl_cmd *cmd;
	struct ctl_reply rep;
	enum ctl_status st;
	struct conf conf;
	bool json = false;
	char err[512];
	int opt;

	while ((opt = getopt_long(argc, argv, "s:c:o:Vhp:f:n:e:t", opts,
				  NULL)) != -1) {
		enum ctl_filter f = F_COUNT;

		switch (opt) {
		case 'p':
			f = F_PROTO;
			break;
		case 'f':
			f = F_FAMILY;
			break;
		case OPT_SRC:
			f = F_SRC;
			break;
		case OPT_DST:
			f = F_DST;
			break;
		case OPT_ADDR:
			f = F_ADDR;
			break;
		case OPT_STATE:
			f = F_STATE;
			break;
		case OPT_SPORT:
			f = F_SPORT;
			break;
		case OPT_DPORT:
			f = F_DPORT;
			break;
		case OPT_ID:
			f = F_ID;
			break;
		case OPT_TYPE:
			f = F_TYPE;
			break;
		case OPT_CODE:
			f = F_CODE;
			break;
		case 'n':
			if (!is_number(optarg)) {
				fprintf(stderr,
					"nfqtrackctl: -n: '%s' is not a "
					"count\n",
					optarg);
				return EXIT_USAGE;
			}
			count = optarg;
			break;
		case 's':
			socket_path = optarg;
			break;
		case 'c':
			conf_path = optarg;
			break;
		case 'e':
			if (!*optarg || strpbrk(optarg, " \t\r\n")) {
				fprintf(stderr,
					"nfqtrackctl: -e: '%s' is not a "
					"list of event types\n",
					optarg);
				return EXIT_USAGE;
			}
			types = optarg;
			break;
		case 't':
			stamp = true;
			break;
		case 'o':
			for (char *w = strtok(optarg, ","); w;
			     w = strtok(NULL, ",")) {
				if (!strcmp(w, "json")) {
					json = true;
				} else if (!strcmp(w, "timestamp")) {
					stamp = true;
				} else if (strcmp(w, "text")) {
					fprintf(stderr,
						"nfqtrackctl: -o: '%s' is "
						"not text, json or "
						"timestamp\n",
						w);
					return EXIT_USAGE;
				}
			}
			break;
		case 'V':
			printf("nfqtrackctl %s\n", VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
		if (f == F_COUNT)
			continue;
		used |= 1u << f;
		if (add_term(filters, sizeof(filters), ctl_filter_key[f],
			     optarg) < 0)
			return EXIT_USAGE;
	}
	if (optind != argc - 1) {
		usage(stderr);
		return EXIT_USAGE;
	}
	cmd = ctl_cmd_find(argv[optind]);
	if (!cmd) {
		fprintf(stderr, "nfqtrackctl: unknown command '%s'\n",
			argv[optind]);
		usage(stderr);
		return EXIT_USAGE;
	}
	if (used & ~cmd->filters) {
		for (int f = 0; f < F_COUNT; f++)
			if (used & ~cmd->filters & (1u << f))
				fprintf(stderr,
					"nfqtrackctl: --%s does not go with "
					"%s\n",
					ctl_filter_key[f], cmd->name);
		return EXIT_USAGE;
	}
	if (count && !cmd->count) {
		fprintf(stderr, "nfqtrackctl: -n goes with top\n");
		return EXIT_USAGE;
	}
	if ((types || stamp) && cmd->style != R_EVENTS) {
		fprintf(stderr, "nfqtrackctl: -e and -t go with events\n");
		return EXIT_USAGE;
	}
	if (!socket_path) {
		/* The daemon's socket is wherever its config puts it. */
		if (conf_load(&conf, conf_path, quiet, NULL))
			conf_defaults(&conf);
		socket_path = conf.ctl_socket;
	}
	snprintf(req, sizeof(req), "%s%s%s%s%s%s%s%s", cmd->name,
		 cmd->count ? " " : "",
		 cmd->count ? (count ? count : "10") : "",
		 json && cmd->json_arg ? " json" : "", types ? " types=" : "",
		 types ? types : "", stamp ? " timestamp" : "", filters);
	if (cmd->style == R_STREAM)
		return list(socket_path, req, json);
	if (cmd->style == R_EVENTS)
		return events(socket_path, req, json);
	st = ctl_call(socket_path, req, TIMEOUT_MS, &rep, err, sizeof(err));
	switch (st) {
	case CTL_OK:
		print_reply(cmd, rep.data ? rep.data : (char[]){ "" }, json);
		ctl_reply_free(&rep);
		return 0;
	case CTL_ERR_DAEMON:
		fprintf(stderr, "nfqtrackctl: %s\n", rep.data ? rep.data : "");
		ctl_reply_free(&rep);
		return EXIT_DAEMON;
	default:
		fprintf(stderr, "nfqtrackctl: %s\n", err);
		return EXIT_UNREACHABLE;
	}
}
