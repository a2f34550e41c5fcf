/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ctlcmd.h - the daemon's side of the control protocol: each command of
 * the table in cmdtab.h answered from the running daemon.
 */
#ifndef NFQT_CTLCMD_H
#define NFQT_CTLCMD_H

#include <stddef.h>
#include <stdint.h>

#include "ctl.h"

struct daemon;

/* Ready the commands' own state (the reload rate limit). */
void ctlcmd_init(struct daemon *d, uint64_t now_ms);

/* The ctl_handler for ctl_server_run(), arg the struct daemon: finds the
 * command in the table, refuses arguments it does not take, runs its
 * handler. The workers must be paused. */
void ctlcmd_request(void *arg, const struct ctl_request *req,
		    struct ctl_reply *rep);

/* The metrics text (metrics.h) into buf, arg the struct daemon: for the
 * HTTP listener and the "metrics" command. Returns its whole length, as
 * snprintf() does. The workers must be paused. */
size_t ctlcmd_render_metrics(void *arg, char *buf, size_t len);

#endif
