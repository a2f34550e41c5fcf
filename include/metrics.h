/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * metrics.h - the daemon's counters in the Prometheus text exposition
 * format (version 0.0.4), for the HTTP listener and `nfqtrackctl metrics`.
 *
 * One table in metrics.c names every counter once: its metric (name,
 * type, help), its name in `nfqtrackctl stats`, and where its value lives
 * (the group's gauges, its counters, the queue's, the kernel's line for the
 * queue, or the daemon's own). The metrics, the stats (the daemon's and a
 * replay's) and the stop line all read it, so they never disagree; the
 * counters that are stats only (the tables' sizes, the totals the metrics
 * give by label, the queue's system calls) are rows without a metric
 * name. Rendering is pure: no socket, no clock, no allocation.
 */
#ifndef NFQT_METRICS_H
#define NFQT_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine.h"
#include "group.h"
#include "queue.h"

/* The content type of what metrics_render() writes. */
#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* Everything a rendering reads. Pointers the caller owns; a NULL queue or
 * kernel leaves their metrics out (a replay has no queue; the kernel's
 * file may be unreadable). */
struct metrics_input {
	const struct group_gauges *gauges; /* the group's */
	const struct engine_stats *stats; /* the group's, summed */
	const struct queue_stats *queue; /* every queue's, summed */
	const struct queue_kernel_stats *kernel; /* likewise */
	const char *version; /* build_info's label */
	uint64_t start_time; /* seconds since the epoch */
	uint64_t flows_expired; /* of every table */
	uint64_t reloads, reload_errors;
	uint64_t log_suppressed, log_lost;
	uint64_t already_marked; /* the loop guard's (verdict_mode) */
	uint64_t events_lost; /* flow events, to the workers' full rings */
	/* IPFIX export (export.h), summed over the collectors. */
	uint64_t ipfix_records, ipfix_lost, ipfix_messages, ipfix_templates;
};

/*
 * Write every metric, with its # HELP and # TYPE lines, to buf (len
 * bytes, always NUL-terminated when len > 0). Returns the length of the
 * whole text, as snprintf() does: a value >= len means buf was too small
 * and holds a cut text. O(metrics); about 10 KiB.
 */
size_t metrics_render(char *buf, size_t len, const struct metrics_input *in);

/* Which rows metrics_stats() walks. */
enum metrics_part {
	METRICS_ENGINE, /* the group's: its gauges, sizes and counters */
	METRICS_DAEMON, /* the queues', the kernel's, the daemon's own */
};

/*
 * Each counter of the part that has a stats name, as "key value" to
 * emit(), in the table's order (that of `nfqtrackctl stats`); rows over
 * reasons give one key per reason ("dropped_table_full"). Counters whose
 * source in is NULL (no kernel figures) are left out. O(rows).
 */
void metrics_stats(const struct metrics_input *in, enum metrics_part part,
		   void (*emit)(void *arg, const char *key, uint64_t value),
		   void *arg);

/* The counter of this stats name into *v; false if there is none or its
 * source is not in in. O(rows). */
bool metrics_stat(const struct metrics_input *in, const char *key, uint64_t *v);

#endif
