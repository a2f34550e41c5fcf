/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * group.h - the engines of all queues as one: their shared limits
 * (policy.h), and every view that spans their tables: counters summed,
 * gauges, memory, the stats emitted by name, walks, flushes and lookups
 * across tables, reconfiguration.
 *
 * One engine per queue, each on a thread of its own with several queues:
 * the kernel's queue balancing sends both directions of a flow to one
 * queue, so each table is its engine's alone, and only the limits are
 * shared (under the lock the caller gives, struct policy_lock). A lone
 * engine (engine_init(): tests, a replay) is a group of one.
 *
 * The views read the engines' counters and tables as they are: call them
 * with the engines paused (the daemon's pause), or from the thread that
 * runs them.
 *
 * Ownership: group_init() allocates the engines, group_destroy() frees
 * them; group_engine() lends one.
 */
#ifndef NFQT_GROUP_H
#define NFQT_GROUP_H

#include <stdbool.h>
#include <stdint.h>

#include "flow.h"
#include "policy.h"
#include "params.h"

#define GROUP_MAX POLICY_TABLES_MAX /* engines (queues) at most */

struct engine;
struct engine_stats;

struct group {
	struct policy pol;
	unsigned n; /* engines */
	struct engine *member[GROUP_MAX];
	struct engine *owned; /* n engines allocated here, or NULL */
};

/*
 * Make a group of n engines (1 to GROUP_MAX) for p, seeded with hkey, at
 * engine clock now_ms; lk: the lock for engines on threads of their own,
 * or NULL. Reserves every table's memory (engine_init()). Returns 0, or -1
 * with errno set and nothing made.
 */
int group_init(struct group *g, const struct engine_params *p,
	       const struct hash_key *hkey, unsigned n,
	       const struct policy_lock *lk, uint64_t now_ms);
void group_destroy(struct group *g);

/* The i-th engine (queue) of g, i < g->n. */
static inline struct engine *group_engine(const struct group *g, unsigned i)
{
	return g->member[i];
}

/* Bytes of memory a group of n engines for p may come to hold: a full
 * table of IPv6 TCP flows, the largest kind, in each. */
uint64_t group_bytes(const struct engine_params *p, unsigned n);

/* Bytes of memory g holds now (populated, not merely reserved). O(n). */
uint64_t group_memory(const struct group *g);

/* Bytes of address space g has reserved: what it may come to hold
 * without a reload. O(n). */
uint64_t group_reserved(const struct group *g);

/* Bytes of g's flow tables (buckets and flow slabs), reserved. O(n). */
uint64_t group_table_bytes(const struct group *g);

/* Flows in every table. */
static inline uint32_t group_flows(const struct group *g)
{
	return g->pol.flows;
}

/* The limits of g, for reading. */
static inline const struct policy *group_policy(const struct group *g)
{
	return &g->pol;
}

/* The counters of every engine, summed into *sum. O(n). */
void group_stats(const struct group *g, struct engine_stats *sum);

/* Flows reclaimed because they timed out, in every table. O(n). */
uint64_t group_expired(const struct group *g);

/* The engines' events (enum engine_event) since the last call, cleared. */
uint32_t group_take_events(struct group *g);

/* The gauges of the counters table (metrics.h), one struct, so that no
 * reader needs the engines' layout. The sizes are the stats' only: what
 * the tables cost now and what one flow costs by kind. */
struct group_gauges {
	uint32_t flows;
	uint32_t max_flows;
	uint32_t proto_count[PC_COUNT];
	uint32_t midstream_count;
	uint32_t exempt_count;
	uint32_t fast_flows; /* carried by the kernel's fast path */
	uint32_t sources;
	uint32_t sources_max;
	uint32_t adaptive_permille; /* the timeouts' scale; 1000: full */
	bool warn;
	bool enforce;
	bool rehashing;
	uint64_t sources_full;
	uint64_t sources_reclaimed;
	uint64_t buckets;
	uint64_t memory, reserved; /* group_memory(), group_reserved() */
	/* The memory committed to the flows in the tables, margins
	 * included, over their number (0 without flows). */
	uint64_t bytes_per_flow;
	/* One flow's objects by kind, with its share of a bucket array for
	 * max_flows and its accounting; one TCP state's. */
	uint64_t bytes_per_flow_v4, bytes_per_flow_v6, bytes_per_tcp_state;
};

/* O(n): the tables' sizes are summed. */
void group_gauges(const struct group *g, struct group_gauges *gg);

/*
 * Apply new parameters to a running group without losing flows: limits
 * and timeouts at once; a new bucket count by incremental rehash. A new
 * exempt list or source prefix recounts every flow's source: O(flows log
 * flows), once. Lowered limits keep the flows above them: new flows are
 * then handled as at a full limit. None of the engines may run meanwhile.
 * Returns 0, or -1 with errno set and nothing changed.
 */
int group_reconfigure(struct group *g, const struct engine_params *p);

/* Where a walk or a flush over every table has got to. Zeroed: the start. */
struct group_cursor {
	unsigned table;
	struct flow_cursor cur;
};

/*
 * Visit the flows of at most max_buckets more buckets of the tables from
 * *c, calling fn with each flow and the engine whose it is. Returns true
 * while buckets remain. As flow_table_walk_step(): the tables may change
 * between steps.
 */
bool group_walk_step(const struct group *g, struct group_cursor *c,
		     uint32_t max_buckets,
		     void (*fn)(const struct engine *e, const struct flow *f,
				void *arg),
		     void *arg);

/*
 * A share of a flush: remove the flows pred() accepts from at most
 * max_buckets more buckets from *c, counting them in *removed and in
 * their engine's flows_flushed. Returns true while buckets remain.
 */
bool group_flush_step(struct group *g, struct group_cursor *c,
		      uint32_t max_buckets,
		      bool (*pred)(const struct flow *f, void *arg), void *arg,
		      uint32_t *removed);

/* The flow of key k in whichever table holds it, and (*owner) the engine
 * whose it is; NULL if none. O(n x chain length). */
struct flow *group_find(const struct group *g, const struct flow_key *k,
			struct engine **owner);

#endif
