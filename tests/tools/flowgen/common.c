// SPDX-License-Identifier: GPL-2.0-or-later
/* flowgen: the helpers its modes share (flowgen.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "flowgen.h"

volatile sig_atomic_t flowgen_stop;

void flowgen_fatal(const char *fmt, ...)
{
	va_list ap;

	fputs("flowgen: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

int64_t flowgen_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

long flowgen_num(const char *opt, const char *s, long min, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		flowgen_fatal("-%s %s: a number from %ld to %ld", opt, s, min,
			      max);
	return v;
}

double flowgen_seconds(const char *s, double max)
{
	char *end;
	double v = strtod(s, &end);

	if (end == s || *end || !(v > 0) || v > max)
		flowgen_fatal("-t %s: seconds, more than 0 and at most %g", s,
			      max);
	return v;
}

static void on_signal(int sig)
{
	(void)sig;
	flowgen_stop = 1;
}

void flowgen_on_signals(bool restart)
{
	struct sigaction sa = { .sa_handler = on_signal,
				.sa_flags = restart ? SA_RESTART : 0 };

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

/* Whether this namespace has a usable default route, IPv4 or IPv6. */
static bool has_default_route(void)
{
	char line[512], dev[64];
	unsigned int dst, mask, plen, flags;
	bool found = false;
	FILE *f = fopen("/proc/net/route", "r");

	while (f && !found && fgets(line, sizeof(line), f))
		if (sscanf(line, "%63s %x %*x %*x %*d %*d %*d %x", dev, &dst,
			   &mask) == 3 &&
		    dst == 0 && mask == 0)
			found = true;
	if (f)
		fclose(f);
	f = fopen("/proc/net/ipv6_route", "r");
	/* Every namespace has a ::/0 reject route on lo: it does not count. */
	while (f && !found && fgets(line, sizeof(line), f))
		if (sscanf(line, "%*32[0] %x %*s %*x %*s %*x %*x %*x %x %63s",
			   &plen, &flags, dev) == 3 &&
		    plen == 0 && !(flags & 0x200))
			found = true;
	if (f)
		fclose(f);
	return found;
}

void flowgen_check_namespace(bool sender)
{
	struct stat self, init;

	if (stat("/proc/self/ns/net", &self) == 0 &&
	    stat("/proc/1/ns/net", &init) == 0 && self.st_ino == init.st_ino &&
	    self.st_dev == init.st_dev)
		flowgen_fatal("refusing to run in the initial network "
			      "namespace: run it in a test's namespace (ip "
			      "netns exec)");
	if (sender && has_default_route())
		flowgen_fatal("refusing to send from a network namespace with "
			      "a default route: run it in a test's namespace, "
			      "with routes to its peers only");
}
