/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * reload.h - the configuration file into a daemon: at start, and again on
 * SIGHUP or `nfqtrackctl reload` without losing a flow. A file with any
 * problem, or one that needs more memory than there is, leaves the running
 * configuration in force; settings that only a restart can change are
 * kept, with a warning.
 */
#ifndef NFQT_RELOAD_H
#define NFQT_RELOAD_H

#include <stddef.h>
#include <stdint.h>

#include "conf.h"

struct daemon;

/* Problems found by a reload, logged one by one and gathered for the
 * control request that asked for it; and warnings, the same way, about
 * what it could not apply but did not refuse it for. */
struct reload_problems {
	char text[1024];
	size_t len;
	char warnings[1024];
	size_t wlen;
};

/*
 * Load d's configuration file into c. A missing file is fine when it is
 * the default path (built-in defaults apply; d->conf_missing says so);
 * problems go to err. Returns the number of problems. Reads the file:
 * for the main thread, never on a worker's path.
 */
int reload_load_conf(struct daemon *d, struct conf *c, conf_error_fn err,
		     void *arg);

/* Bytes the engines of nqueues queues may come to hold under c. */
uint64_t reload_memory_need(const struct conf *c, unsigned nqueues);

/* Is there memory for c's tables on nqueues queues, already bytes being
 * held? Returns 0, or -1 (logged). Reads /proc/meminfo. */
int reload_check_memory(const struct conf *c, unsigned nqueues,
			uint64_t already);

/*
 * Read the configuration again and apply it without losing a flow, systemd
 * told (reloading, then ready); the workers must be paused. On any problem
 * the running configuration stays. Returns 0 (warnings in p), or -1 with
 * the problems (each also logged) in p. Costs a parse of the file and,
 * for a new bucket count or exempt list, a rehash or recount spread over
 * the next ticks.
 */
int reload_run(struct daemon *d, struct reload_problems *p);

#endif
