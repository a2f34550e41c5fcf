/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * daemon.h - the running daemon's state, and the few facts about it that
 * main(), the control commands, reload and the workers all need.
 *
 * The main thread owns all of it. The workers (worker.h) own their
 * engines and queues while they run; the main thread touches those only
 * between workers_pause() and workers_resume(). Kept apart from
 * nfqtrackd.c so that ctlcmd.c, reload.c and worker.c can see it without
 * an include circle.
 */
#ifndef NFQT_DAEMON_H
#define NFQT_DAEMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf.h"
#include "droplog.h"
#include "evhub.h"
#include "log.h"
#include "metrics.h"
#include "notify.h"
#include "queue.h"
#include "worker.h"

#ifndef VERSION
#define VERSION "unknown"
#endif

struct ctl_server;
struct http_server;

struct daemon {
	struct conf conf;
	const char *conf_path;
	bool conf_given; /* -c: the file must exist */
	bool conf_missing; /* no file: built-in defaults */
	struct workers workers;
	struct ctl_server *ctl;
	struct http_server *http; /* NULL: metrics_listen = off */
	struct droplog droplog;
	bool droplog_made;
	struct notify notify;
	int epfd, sigfd, timerfd; /* -1 until made */
	int stop_signal;
	uint64_t start_ms;
	uint64_t start_time; /* the same instant, seconds since the epoch */
	uint64_t reloads, reload_errors;
	/* `nfqtrackctl reload`s: a member of the socket's group may ask, and
	 * each reads the file, pauses the queues and writes log lines. */
	struct ratelimit reload_rate;
	uint64_t status_ms, status_dropped; /* the last status line's */
	/* Flow events: the consumers (nfqtrackctl events, the exporter)
	 * register here (evhub_add()), in the main thread. */
	struct evhub evhub;
	bool events_ended; /* the FEND_STOPPED DESTROYs went out */
	/* IPFIX export (export.h): made at the first ipfix_collector, on
	 * the hub while there is one; NULL before. */
	struct exporter *export;
	/* The BPF carrier (fastpath_carrier = bpf), loaded at start while
	 * CAP_BPF is there; NULL otherwise. */
	struct carrier *carrier;
};

/* Everything the counters table (metrics.h) reads, gathered. */
struct daemon_counters {
	struct metrics_input in; /* points into the rest */
	struct engine_stats st;
	struct group_gauges gg;
	struct queue_stats qs;
	struct queue_kernel_stats ks;
};

/* Gather the counters of every engine and queue, the kernel's and the
 * daemon's own into *c, for stats, metrics and the stop line. Workers
 * paused or stopped; reads the kernel's file once per queue. */
void daemon_counters(struct daemon *d, struct daemon_counters *c);

/* A daemon with nothing made yet: every descriptor -1, so that
 * daemon_cleanup() may run after a failure at any point. */
void daemon_init(struct daemon *d);

/* Stop the workers, write what they left to say, unbind the queues;
 * idempotent. */
void daemon_stop(struct daemon *d);

/* Undo whatever was made, in reverse order; safe to call at any point
 * and more than once. Stops the workers first if they run. */
void daemon_cleanup(struct daemon *d);

/* CLOCK_MONOTONIC in milliseconds: a vDSO call, no system call. */
uint64_t mono_ms(void);

/* Hand what every worker's ring holds to the hub's consumers. Main
 * thread; the workers may run. O(events). */
void daemon_events_drain(struct daemon *d);

/* Workers paused or stopped: drain their rings, then point their
 * engines' sinks at the hub itself, so that what the main thread does to
 * the tables (a flush, the stop's DESTROYs) loses no event to a full
 * ring. Each worker points its own back at its next turn. O(queues). */
void daemon_events_direct(struct daemon *d);

/* The exporter under d->conf, at start and after a reload: made at the
 * first collector, reconfigured, on the hub while it has a collector
 * (none: the workers build no event for it). Main thread. Returns 0, or
 * -1 (logged). */
int daemon_export_apply(struct daemon *d);

/*
 * The kernel's side of the fast path for configuration c (fastpath on):
 * the table (fastpath_apply(); keep: the sets' elements kept, a reload
 * of a fast path on), and with the BPF carrier its rules and
 * configuration, its maps emptied when not keep. Returns 0, or -1 with
 * the message in err.
 */
int daemon_fastpath_apply(struct daemon *d, const struct conf *c, bool keep,
			  char *err, size_t errlen);

/* Send what the exporter queued: all of it on the tick, full messages
 * after a drain between ticks (export_flush()). Never blocks. */
void daemon_export_flush(struct daemon *d, bool all);

/* Flows in every table. Main thread, workers paused or stopped. */
uint32_t daemon_flows(const struct daemon *d);

/* What a queue is opened and reconfigured with. */
struct queue_params daemon_queue_params(const struct conf *c, uint32_t num);

/* "queue N" or "queues N-M", for the log. */
void daemon_queues_text(const struct conf *c, char *buf, size_t len);

/* The settings lines at start and reload: "WHAT: queue 0, ...". */
void daemon_log_settings(const struct daemon *d, const char *what);

#endif
