// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * group.c - the engines of all queues as one; see group.h.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "group.h"
#include "proto.h"

int group_init(struct group *g, const struct engine_params *p,
	       const struct hash_key *hkey, unsigned n,
	       const struct policy_lock *lk, uint64_t now_ms)
{
	unsigned i;

	memset(g, 0, sizeof(*g));
	if (!n || n > GROUP_MAX) {
		errno = EINVAL;
		return -1;
	}
	g->owned = calloc(n, sizeof(*g->owned));
	if (!g->owned)
		return -1;
	if (policy_init(&g->pol, p, hkey, lk) < 0) {
		free(g->owned);
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (engine_init_member(&g->owned[i], p, hkey, now_ms, g) < 0)
			break;
		g->member[i] = &g->owned[i];
	}
	g->n = i;
	if (i == n)
		return 0;
	group_destroy(g);
	return -1;
}

void group_destroy(struct group *g)
{
	int err = errno;

	for (unsigned i = 0; i < g->n; i++)
		engine_destroy(g->member[i]);
	policy_destroy(&g->pol);
	free(g->owned);
	memset(g, 0, sizeof(*g));
	errno = err;
}

uint64_t group_bytes(const struct engine_params *p, unsigned n)
{
	/* Each table can hold every flow (the queues need not share them
	 * out evenly), but memory is committed as flows are made, and
	 * max_flows holds for them all: one table's worth of flows, a
	 * bucket array each. */
	uint64_t flow = sizeof(struct flow6) + sizeof(struct flow_tcp);

	if (p->accounting)
		flow += sizeof(struct flow_acct);
	return (uint64_t)p->max_flows * flow +
	       n * (uint64_t)p->buckets * sizeof(uint32_t) +
	       source_table_bytes_for(p->max_sources);
}

static uint64_t bytes(const struct group *g, bool populated)
{
	const struct source_table *st = &g->pol.sources;
	uint64_t b = populated ? source_table_populated_bytes(st) :
				 source_table_bytes_for(st->slab.capacity);

	for (unsigned i = 0; i < g->n; i++)
		b += engine_table_bytes(g->member[i], populated);
	return b;
}

uint64_t group_memory(const struct group *g)
{
	return bytes(g, true);
}

uint64_t group_reserved(const struct group *g)
{
	return bytes(g, false);
}

uint64_t group_table_bytes(const struct group *g)
{
	uint64_t b = 0;

	for (unsigned i = 0; i < g->n; i++)
		b += flow_table_bytes(&g->member[i]->table);
	return b;
}

void group_stats(const struct group *g, struct engine_stats *sum)
{
	uint64_t *to = (uint64_t *)sum;

	_Static_assert(sizeof(*sum) % sizeof(uint64_t) == 0,
		       "engine_stats is counters only");
	memset(sum, 0, sizeof(*sum));
	for (unsigned i = 0; i < g->n; i++) {
		const uint64_t *from = (const uint64_t *)&g->member[i]->st;

		for (size_t j = 0; j < sizeof(*sum) / sizeof(uint64_t); j++)
			to[j] += from[j];
	}
}

uint64_t group_expired(const struct group *g)
{
	uint64_t n = 0;

	for (unsigned i = 0; i < g->n; i++)
		n += g->member[i]->table.expired;
	return n;
}

uint32_t group_take_events(struct group *g)
{
	uint32_t ev = 0;

	for (unsigned i = 0; i < g->n; i++) {
		ev |= g->member[i]->events;
		g->member[i]->events = 0;
	}
	return ev;
}

void group_gauges(const struct group *g, struct group_gauges *gg)
{
	const struct engine *e = g->member[0];
	const struct policy *l = &g->pol;
	uint64_t per_bucket = l->max_flows ?
				      flow_table_bucket_bytes(&e->table) /
					      l->max_flows :
				      0,
		 acct = e->accounting ? sizeof(struct flow_acct) : 0, table = 0;

	for (unsigned i = 0; i < g->n; i++)
		table += engine_table_bytes(g->member[i], true);
	memset(gg, 0, sizeof(*gg));
	gg->flows = l->flows;
	gg->max_flows = l->max_flows;
	memcpy(gg->proto_count, l->proto_count, sizeof(gg->proto_count));
	gg->midstream_count = l->midstream_count;
	gg->exempt_count = l->exempt_count;
	for (unsigned i = 0; i < g->n; i++)
		gg->fast_flows += engine_fast_flows(g->member[i]);
	gg->sources = l->sources.count;
	gg->sources_max = l->sources.slab.capacity;
	gg->adaptive_permille = e->adaptive_permille;
	gg->warn = l->warn;
	gg->enforce = l->enforce;
	gg->rehashing = flow_table_rehashing(&e->table);
	gg->sources_full = l->sources.full;
	gg->sources_reclaimed = l->sources.reclaimed;
	gg->buckets = flow_table_buckets(&e->table);
	gg->memory = group_memory(g);
	gg->reserved = group_reserved(g);
	gg->bytes_per_flow = l->flows ? table / l->flows : 0;
	gg->bytes_per_flow_v4 = sizeof(struct flow4) + per_bucket + acct;
	gg->bytes_per_flow_v6 = sizeof(struct flow6) + per_bucket + acct;
	gg->bytes_per_tcp_state = sizeof(struct flow_tcp);
}

/* Count every flow of the group again, under the keys now set. */
static int recount(struct group *g)
{
	for (unsigned i = 0; i < g->n; i++)
		if (policy_recount(g->member[i], i == 0) < 0)
			return -1;
	return 0;
}

int group_reconfigure(struct group *g, const struct engine_params *p)
{
	struct policy_keys old, new;

	policy_keys_of(&new, p);
	policy_get_keys(&g->pol, &old);
	for (unsigned i = 0; i < g->n; i++)
		if (engine_resize(g->member[i], p) < 0)
			return -1;
	if (policy_resize(&g->pol, p) < 0)
		return -1;
	if (!policy_keys_equal(&old, &new)) {
		policy_set_keys(&g->pol, &new);
		if (recount(g) < 0) {
			int err = errno;

			/* A recount fails before it moves anything, but
			 * the tables before the one that failed were
			 * counted anew: count them all as they were. */
			policy_set_keys(&g->pol, &old);
			recount(g);
			errno = err;
			return -1;
		}
	}
	policy_configure(&g->pol, p);
	for (unsigned i = 0; i < g->n; i++)
		engine_configure(g->member[i], p);
	return 0;
}

/* A walk's step over one table: the engine to hand fn with each flow. */
struct walk {
	const struct engine *e;
	void (*fn)(const struct engine *e, const struct flow *f, void *arg);
	void *arg;
};

static void walk_one(const struct flow *f, void *arg)
{
	const struct walk *w = arg;

	w->fn(w->e, f, w->arg);
}

/* On to the next table once one is done; false after the last. */
static bool next_table(const struct group *g, struct group_cursor *c)
{
	if (c->table + 1 >= g->n)
		return false;
	c->table++;
	memset(&c->cur, 0, sizeof(c->cur));
	return true;
}

bool group_walk_step(const struct group *g, struct group_cursor *c,
		     uint32_t max_buckets,
		     void (*fn)(const struct engine *e, const struct flow *f,
				void *arg),
		     void *arg)
{
	struct walk w = { .fn = fn, .arg = arg };

	if (c->table >= g->n)
		return false;
	w.e = g->member[c->table];
	if (flow_table_walk_step(&w.e->table, &c->cur, max_buckets, walk_one,
				 &w))
		return true;
	return next_table(g, c);
}

bool group_flush_step(struct group *g, struct group_cursor *c,
		      uint32_t max_buckets,
		      bool (*pred)(const struct flow *f, void *arg), void *arg,
		      uint32_t *removed)
{
	if (c->table >= g->n)
		return false;
	if (engine_flush_step(g->member[c->table], &c->cur, max_buckets, pred,
			      arg, removed))
		return true;
	return next_table(g, c);
}

struct flow *group_find(const struct group *g, const struct flow_key *k,
			struct engine **owner)
{
	for (unsigned i = 0; i < g->n; i++) {
		struct engine *e = g->member[i];
		struct flow *f = flow_table_lookup(
			&e->table, k, flow_hash(&e->table, k), e->now);

		if (f) {
			*owner = e;
			return f;
		}
	}
	return NULL;
}
