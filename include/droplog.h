/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * droplog.h - what the daemon says in syslog about the limits: a line per
 * dropped packet and per evicted flow (rate-limited, with a count of the
 * lines held back), a report per interval with the count by reason and
 * the sources that caused the most, and the table's warning mark.
 *
 * In shadow mode (enforce = no) every line says "would drop" where it
 * would say "dropping". Formatting is kept apart from sending, so that the
 * tests can read what would be written.
 */
#ifndef NFQT_DROPLOG_H
#define NFQT_DROPLOG_H

#include <stddef.h>
#include <stdint.h>

#include "conf.h"
#include "engine.h"
#include "group.h"
#include "log.h"
#include "report.h"

struct droplog {
	struct ratelimit rl;
	uint64_t suppressed; /* lines held back, in total */
	struct report drops; /* this interval's, by drop reason */
	struct report evictions; /* by evict reason, per newcomer's source */
	uint64_t interval_start_ms;
	uint32_t interval_s; /* 0: no reports */
	uint64_t unsourced_said; /* flows_unsourced when last logged */
	uint64_t unsourced_ms; /* and when */
};

void droplog_init(struct droplog *dl, const struct conf *c, uint64_t now_ms);

/* Take a reloaded configuration's log_rate, log_burst, report_interval. */
void droplog_configure(struct droplog *dl, const struct conf *c);

/* Note one packet's outcome: call it when it was dropped (or would have
 * been: r->shadow) or evicted a flow. O(1) plus at most one log line. */
void droplog_packet(struct droplog *dl, const struct engine *e,
		    const struct engine_result *r, uint64_t now_ms);

/* Once per engine tick: suppressed-line counts, interval reports, the
 * events (warning mark) of the engines of group g. */
void droplog_tick(struct droplog *dl, struct group *g, uint64_t now_ms);

/* "TCP 192.0.2.7:51324 -> 198.51.100.1:443", or what is known of it. */
void droplog_fmt_packet(char *buf, size_t len, const struct pkt *p);

/* The line droplog_packet() writes for a refused packet (no newline). */
void droplog_fmt_drop(char *buf, size_t len, const struct engine *e,
		      const struct engine_result *r);

/* The line it writes for an eviction. */
void droplog_fmt_evict(char *buf, size_t len, const struct engine *e,
		       const struct engine_result *r);

#endif
