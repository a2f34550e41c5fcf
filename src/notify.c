// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * notify.c - systemd's notification protocol through libsystemd; see
 * notify.h.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <time.h>

#include "notify.h"

void notify_init(struct notify *n)
{
	uint64_t usec = 0;

	memset(n, 0, sizeof(*n));
	n->on = getenv("NOTIFY_SOCKET") != NULL;
	/* Keep-alives at half the interval, as sd_watchdog_enabled(3)
	 * advises, so that one late tick is not a restart. */
	if (n->on && sd_watchdog_enabled(0, &usec) > 0)
		n->watchdog_ms = usec / 2000;
}

void notify_ready(struct notify *n)
{
	if (n->on)
		sd_notify(0, "READY=1");
}

void notify_reloading(struct notify *n)
{
	struct timespec ts;

	if (!n->on)
		return;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu",
		   (unsigned long long)ts.tv_sec * 1000000ULL +
			   (unsigned long long)ts.tv_nsec / 1000);
}

void notify_stopping(struct notify *n)
{
	if (n->on)
		sd_notify(0, "STOPPING=1");
}

void notify_status(struct notify *n, const char *fmt, ...)
{
	char status[sizeof(n->status)];
	va_list ap;

	if (!n->on)
		return;
	va_start(ap, fmt);
	vsnprintf(status, sizeof(status), fmt, ap);
	va_end(ap);
	if (!strcmp(status, n->status))
		return;
	strcpy(n->status, status);
	sd_notifyf(0, "STATUS=%s", status);
}

void notify_tick(struct notify *n, uint64_t now_ms)
{
	if (!n->watchdog_ms || now_ms - n->last_ping_ms < n->watchdog_ms)
		return;
	n->last_ping_ms = now_ms;
	sd_notify(0, "WATCHDOG=1");
}
