/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * report.h - attributed drop reports: per reason, how many events and
 * which sources caused the most, as one syslog line per interval:
 *
 *   dropped 10234 packets in 10 s: source_limit 9800 (top: 203.0.113.9
 *   9790, 198.51.100.0/24 8), table_full 434 (top: 2001:db8:1::/64 400)
 *
 * Sources are counted per reason with the Space-Saving algorithm (Metwally,
 * Agrawal and El Abbadi, 2005) in REPORT_SLOTS counters, so a flood from a
 * million addresses costs the same memory and time as one from a single
 * address. Its guarantees, with N the reason's count in the interval:
 *
 *   - while at most REPORT_SLOTS distinct sources occur, every count is
 *     exact (over is 0);
 *   - beyond that, a new source takes over the smallest counter: its count
 *     becomes that counter's plus one and over the counter's old value. So
 *     for every kept source, count - over <= true count <= count, and
 *     over <= N / REPORT_SLOTS;
 *   - every source whose true count exceeds N / REPORT_SLOTS is kept, and
 *     a source sorts above every one whose true count is lower than its
 *     own by more than N / REPORT_SLOTS.
 *
 * Only approximate counts are printed as a range "count-over..count", so
 * that a flood of many light sources is not read as three heavy ones.
 *
 * Fixed size, no allocation, no I/O, no clock: the caller owns the struct
 * and decides when an interval ends (report_format(), then report_reset()).
 * Not thread-safe.
 */
#ifndef NFQT_REPORT_H
#define NFQT_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define REPORT_REASONS_MAX 16
#define REPORT_SLOTS 16 /* sources counted per reason */
#define REPORT_TOP 3 /* sources named per reason */

struct report_src {
	uint8_t family; /* 4, 6, or 0: no address known */
	uint8_t bits; /* prefix length the address is aggregated to */
	uint8_t addr[16]; /* network byte order; bytes past the family's zero */
	uint64_t count; /* events counted, an upper bound of the true count */
	uint64_t over; /* Space-Saving overestimate bound: 0 when exact */
};

struct report_reason {
	uint64_t count; /* every event of this reason, exact */
	uint32_t used; /* slots in use, [0, used) */
	struct report_src slot[REPORT_SLOTS];
};

struct report {
	unsigned nreasons;
	const char *const *names;
	struct report_reason r[REPORT_REASONS_MAX];
};

/*
 * Start empty, with reasons [0, nreasons) (at most REPORT_REASONS_MAX).
 * names[i] names reason i; names is kept, not copied; where names or
 * names[i] is NULL, reason i prints as "reasonN". Reason 0 means "none":
 * it is never counted nor reported.
 */
void report_init(struct report *rep, unsigned nreasons,
		 const char *const *names);

/*
 * Count one event of reason from source addr (4 or 16 bytes by family),
 * already cut to its first bits bits by the caller (prefix_mask()); family
 * 0 or addr NULL when the source is unknown. Reasons out of range and
 * reason 0 are ignored. O(REPORT_SLOTS): one scan of the reason's slots.
 */
void report_add(struct report *rep, unsigned reason, uint8_t family,
		const void *addr, uint8_t bits);

/* Was nothing counted since the last reset? */
bool report_empty(const struct report *rep);

/* Events counted since the last reset, over every reason. */
uint64_t report_total(const struct report *rep);

/*
 * Format "VERB TOTAL UNIT in SECONDS s: reason count (top: src n, ...),
 * ..." into buf: reasons in index order, those with a count only; per
 * reason its sources by count, highest first (ties: the smaller over, then
 * the lower address), at most REPORT_TOP. A source prints as its address,
 * with "/bits" when that is shorter than the family's, or "?" when unknown.
 * verb is e.g. "dropped" or "would drop", unit "packets" or "flows".
 *
 * buf is always NUL-terminated (when len > 0). A line that does not fit is
 * cut after the last whole reason or source that does, with " ..." (and a
 * ")" to close an open source list); when not even "VERB TOTAL UNIT in
 * SECONDS s" fits, buf is empty. Returns strlen(buf).
 */
size_t report_format(const struct report *rep, const char *verb,
		     const char *unit, uint32_t seconds, char *buf, size_t len);

/*
 * Add the counts of from into rep (same reasons), as if rep had counted
 * from's events too: a source of from found in rep adds its count and
 * over; else it takes a free slot, or the smallest counter's place as a
 * newcomer does (its over grows by that counter). Merging into an empty
 * report copies from exactly, so one worker's report reads the same as
 * before. O(REPORT_SLOTS^2) per reason, once per interval.
 */
void report_merge(struct report *rep, const struct report *from);

/* Forget every count, for the next interval; reasons and names stay. */
void report_reset(struct report *rep);

#endif
