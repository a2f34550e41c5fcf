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
 *
 * Two ways to drive it. One thread (tests, tools): droplog_packet() and
 * droplog_tick() on one struct droplog. The daemon: each worker thread
 * writes its own struct droplog_feed (droplog_feed_packet(),
 * droplog_feed_publish()), and the main thread, which owns the struct
 * droplog, reads every feed (droplog_drain(), droplog_feed_tick()) without
 * stopping the workers and without a lock: the lines go through a
 * single-producer ring, the interval's counts through two reports the
 * worker swaps when asked, the rest through atomics the worker alone
 * stores. The lines, their rate limit and the reports are the same.
 */
#ifndef NFQT_DROPLOG_H
#define NFQT_DROPLOG_H

#include <stdatomic.h>
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
	bool collecting; /* the workers were asked to swap reports */
};

void droplog_init(struct droplog *dl, const struct conf *c, uint64_t now_ms);

/* A packet's outcome on its way from a worker to the main thread. */
struct droplog_entry {
	struct engine_result r;
	uint64_t now_ms;
};

/* Entries a feed holds: at the default log_burst (a few tens), far more
 * than the rate limit lets out between two drains; one that finds the
 * ring full is counted as suppressed, which the rate limit would have
 * done. */
#define DROPLOG_RING 1024

/*
 * A worker's drop log. The worker alone writes what is marked so, the
 * main thread alone what is marked main; the atomics carry the rest with
 * relaxed or release stores: no locked instruction per packet.
 */
struct droplog_feed {
	/* The interval's counts, two sets: the worker counts into
	 * [cur]; asked (flip), it moves to the other and says so (ack), and
	 * the main thread then merges and clears the one it left. */
	struct report drops[2], evictions[2];
	unsigned cur, acked; /* worker */
	atomic_uint flip; /* main: count into [flip & 1] from now on */
	atomic_uint ack; /* worker: done */
	/* The lines to write: a single-producer, single-consumer ring. */
	atomic_uint head; /* main: next to read */
	atomic_uint tail; /* worker: next to write */
	unsigned tail_local; /* worker */
	bool pushed; /* worker: since the last droplog_feed_publish() */
	atomic_bool wanted; /* main: wake me for what comes next */
	uint64_t lost; /* worker: lines not written, the ring full */
	atomic_uint_fast64_t lost_pub;
	/* The warning mark's crossings, counted, and the flows then. */
	uint32_t warn_on, warn_off; /* worker */
	atomic_uint warn_on_pub, warn_off_pub, warn_flows;
	/* For the "source table full" line and the status line. */
	uint64_t unsourced; /* worker */
	atomic_uint_fast64_t unsourced_pub;
	atomic_uint sources_pub;
	atomic_uint_fast64_t dropped_pub; /* the engine's st.dropped */
	atomic_uint flows_pub; /* in the worker's table */
	/* main: what it has seen */
	uint64_t lost_seen;
	uint32_t warn_on_seen, warn_off_seen;
	struct droplog_entry ring[DROPLOG_RING];
};

/* An empty feed; its ring is left as it is (zeroed memory or not, it
 * is never read before it is written). */
void droplog_feed_init(struct droplog_feed *f);

/* The worker: note one packet's outcome, as droplog_packet() would (call
 * it for the same packets). O(REPORT_SLOTS) to count it, one copy of r
 * into the ring; no lock, no system call but the clock. */
void droplog_feed_packet(struct droplog_feed *f, const struct engine *e,
			 const struct engine_result *r, uint64_t now_ms);

/* The worker, after each batch and tick: hand over e's events, counters
 * and a report swap asked for. Returns true when the main thread is to be
 * woken (droplog_drain() asked for it and there is something new): then
 * one write to its eventfd; else nothing shared is written. O(1). */
bool droplog_feed_publish(struct droplog_feed *f, struct engine *e);

/* The main thread: write the lines and events a feed holds, e being its
 * worker's engine (its settings only are read). O(entries). */
void droplog_drain(struct droplog *dl, struct droplog_feed *f,
		   const struct engine *e);

/* The main thread, once per engine tick: droplog_drain() every feed, the
 * suppressed-line count, the source table line and the interval report
 * (asked of the workers at the interval's end, written once they all
 * swapped: a tick or two later). fs[i] is the feed of g's engine i. */
void droplog_feed_tick(struct droplog *dl, struct droplog_feed *const *fs,
		       struct group *g, uint64_t now_ms);

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
