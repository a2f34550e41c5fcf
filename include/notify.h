/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * notify.h - telling systemd how the daemon is doing (sd_notify(3)):
 * ready, reloading, stopping, a status line for `systemctl status`, and
 * watchdog keep-alives sent from the event loop, so that a loop that hangs
 * stops them and systemd restarts the daemon (WatchdogSec=). Outside
 * systemd (no NOTIFY_SOCKET) every call costs nothing and does nothing.
 */
#ifndef NFQT_NOTIFY_H
#define NFQT_NOTIFY_H

#include <stdbool.h>
#include <stdint.h>

struct notify {
	bool on; /* NOTIFY_SOCKET was set */
	uint64_t watchdog_ms; /* keep-alive interval, 0: no watchdog */
	uint64_t last_ping_ms;
	char status[128]; /* last STATUS= sent */
};

/* Read what systemd asked for from the environment. */
void notify_init(struct notify *n);

void notify_ready(struct notify *n);

/* A reload starts (READY again when it is over, whatever the outcome). */
void notify_reloading(struct notify *n);
void notify_stopping(struct notify *n);

/* Set the status line (sent only when it changed). */
void notify_status(struct notify *n, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* From the loop's tick: a keep-alive when one is due. */
void notify_tick(struct notify *n, uint64_t now_ms);

#endif
