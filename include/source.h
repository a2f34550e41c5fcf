/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * source.h - the source table: how many flows each source holds and how
 * fast it opens new ones, for the per-source limits and for `nfqtrackctl
 * top`.
 *
 * A source is an address cut to a prefix (source_prefix4/6: one host, or
 * one IPv6 /64 that a single customer usually holds). Entries live in a
 * preallocated slab, found through a keyed hash like flows, so their
 * number is bounded (max_sources) and no packet allocates. An entry with
 * no flow left is kept while its token bucket is refilling (else closing
 * and reopening would dodge the rate limit) on an idle list, oldest
 * first; it is freed once the bucket is full again, or earlier when a new
 * source needs its room. So an entry with flows exists only for a flow
 * counted for it, and a table as large as the flow table (the default)
 * cannot be filled before the flow table is. When no room can be found
 * (a smaller max_sources), the new source is not counted: the caller
 * decides (see engine.c), and source_table.full counts it.
 *
 * Token buckets hold thousandths of a flow, refilled by elapsed
 * milliseconds times the rate, so that any rate from 1 to 10^6 flows/s is
 * exact without floating point. Not thread-safe.
 */
#ifndef NFQT_SOURCE_H
#define NFQT_SOURCE_H

#include <stdbool.h>
#include <stdint.h>

#include "hash.h"
#include "slab.h"

#define SOURCE_NIL SLAB_NIL
#define SOURCE_RATE_MAX 1000000 /* new flows per second */

struct source {
	uint32_t next; /* hash chain */
	uint32_t older, newer; /* idle list, while it has no flow */
	uint32_t flows; /* flows counted for it */
	uint8_t addr[16]; /* cut to bits */
	uint8_t family;
	uint8_t bits;
	uint8_t idle; /* on the idle list */
	uint8_t pad;
	uint32_t tokens; /* thousandths of a new flow */
	uint32_t rate_sec; /* the second rate_cur counts (engine clock) */
	uint16_t rate_cur, rate_prev; /* new flows in it, the one before */
	uint64_t refill_ms; /* when tokens was last brought up to date */
	uint32_t refused; /* new flows refused to it (saturating) */
	uint32_t settled; /* the engine second its fast flows were last asked
			   * about for its limit (policy.c), +1; 0: never */
} __attribute__((aligned(64)));

_Static_assert(sizeof(struct source) == 64, "a source is one cache line");

struct source_table {
	struct slab slab;
	uint32_t *bucket;
	uint32_t nbuckets;
	uint32_t count;
	uint32_t idle_oldest, idle_newest;
	uint32_t rate; /* new flows per second per source; 0: no limit */
	uint32_t burst; /* the bucket's size, in flows */
	struct hash_key key;
	uint64_t full; /* new sources that found no room */
	uint64_t reclaimed; /* idle sources freed early to make room */
};

/* Bytes a table for capacity sources may come to hold. */
uint64_t source_table_bytes_for(uint32_t capacity);

/* Bytes of memory table st holds now: entries are committed as they are
 * first used (slab_reserve()), the bucket array at once. */
uint64_t source_table_populated_bytes(const struct source_table *st);

/*
 * Make an empty table for up to capacity sources, hashed under hkey.
 * Returns 0, or -1 with errno set.
 */
int source_table_init(struct source_table *st, uint32_t capacity,
		      const struct hash_key *hkey);
void source_table_destroy(struct source_table *st);

/* Raise the capacity (never lowers it). Returns 0, or -1 with errno. */
int source_table_grow(struct source_table *st, uint32_t capacity);

/* Set the new-flow rate limit: rate flows/s (0: none), bursts of burst
 * (0: rate). Turning a limit on fills every bucket: O(sources). */
void source_table_set_rate(struct source_table *st, uint32_t rate,
			   uint32_t burst);

/* Forget every source. */
void source_table_clear(struct source_table *st);

static inline struct source *source_at(const struct source_table *st,
				       uint32_t idx)
{
	return slab_ptr(&st->slab, idx);
}

/*
 * The entry for address addr (4 or 16 bytes by family) cut to bits,
 * made if need be (with a full bucket) and if room can be found; else
 * SOURCE_NIL.
 */
uint32_t source_get(struct source_table *st, uint8_t family, const void *addr,
		    uint8_t bits, uint64_t now_ms);

/* The entry for addr cut to bits, if there is one; SOURCE_NIL if not. */
uint32_t source_find(const struct source_table *st, uint8_t family,
		     const void *addr, uint8_t bits);

/* May s open a new flow now, under the rate limit? (Takes nothing.) */
bool source_may_open(struct source_table *st, struct source *s,
		     uint64_t now_ms);

/* s opened a flow: one token and one more flow. */
void source_opened(struct source_table *st, uint32_t idx, uint64_t now_ms);

/* Source idx, got for a new flow that was then refused: if it holds no
 * flow, it goes idle, or at once if its bucket is full. */
void source_settle(struct source_table *st, uint32_t idx, uint64_t now_ms);

/* Count one more flow for source idx, taking no token: for flows it
 * already had when the table was rebuilt. */
void source_adopt(struct source_table *st, uint32_t idx);

/* A flow of source idx is gone. */
void source_closed(struct source_table *st, uint32_t idx, uint64_t now_ms);

/* New flows per second s opened in the last whole second. */
uint32_t source_rate(const struct source *s, uint64_t now_ms);

/* Housekeeping: look at up to max idle sources, oldest first, and free
 * those whose buckets are full again. Returns how many were freed. */
uint32_t source_table_expire(struct source_table *st, uint64_t now_ms,
			     uint32_t max);

/*
 * The (at most n) sources holding the most flows, most first (ties: the
 * faster opener first), into out[]. Returns how many. O(sources * n).
 */
uint32_t source_table_top(const struct source_table *st, uint64_t now_ms,
			  uint32_t *out, uint32_t n);

/* Where source_table_top_step() has got to; zero to start. */
struct source_top {
	uint32_t bucket; /* the next to visit */
	uint32_t have; /* sources in out[] */
};

/*
 * source_table_top() a share at a time, for a caller that must not stop
 * for all of it: visit at most max_buckets more buckets. Returns true
 * while buckets remain; once false, out[] holds t->have sources, ranked.
 * The table may change between steps: sources made meanwhile may be
 * missed, and those kept are ranked again, by their counts at the last
 * step. O(max_buckets * n).
 */
bool source_table_top_step(const struct source_table *st, uint64_t now_ms,
			   uint32_t *out, uint32_t n, struct source_top *t,
			   uint32_t max_buckets);

#endif
