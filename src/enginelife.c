// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * enginelife.c - an engine's life around the packet path: made, resized
 * and reconfigured, its bounded housekeeping each tick (expiry, rehash,
 * memory), a flush's share, destroyed; and the names of its reasons. See
 * engine.h, which declares both halves.
 *
 * Apart from engine.c so that engine.c is the packet path only: nothing
 * here runs per packet. The table's callbacks it installs (on_release(),
 * chain_guard()) are called through pointers, so that their place costs
 * the packet path nothing.
 */
#include <string.h>

#include "engine.h"
#include "policy.h"
#include "proto.h"

static const char *const drop_names[DROP_REASON_COUNT] = {
	[DROP_NONE] = "none",
	[DROP_TABLE_FULL] = "table_full",
	[DROP_MALFORMED] = "malformed",
	[DROP_INVALID] = "invalid",
	[DROP_FRAGMENT] = "fragment",
	[DROP_SOURCE_LIMIT] = "source_limit",
	[DROP_SOURCE_RATE] = "source_rate",
	[DROP_PROTO_CAP] = "proto_cap",
	[DROP_CHAIN] = "chain_full",
	[DROP_SOURCE_FULL] = "source_table_full",
	[DROP_EXEMPT_CAP] = "exempt_cap",
	[DROP_MIDSTREAM_CAP] = "midstream_cap",
};

static const char *const evict_names[EVICT_REASON_COUNT] = {
	[EVICT_NONE] = "none",
	[EVICT_EARLY_DROP] = "early_drop",
	[EVICT_IDLE] = "idle",
	[EVICT_FOR_EXEMPT] = "exempt",
};

static const char *const state_names[CT_STATE_COUNT] = {
	[CT_STATE_NONE] = "none",
	[CT_STATE_NEW] = "new",
	[CT_STATE_ESTABLISHED] = "established",
	[CT_STATE_RELATED] = "related",
	[CT_STATE_INVALID] = "invalid",
	[CT_STATE_UNTRACKED] = "untracked",
};

static const char *const invalid_names[INV_REASON_COUNT] = {
	[INV_NONE] = "none",
	[INV_TCP_FLAGS] = "tcp_flags",
	[INV_TCP_NEW] = "tcp_new",
	[INV_TCP_STATE] = "tcp_state",
	[INV_TCP_WINDOW] = "tcp_window",
	[INV_TCP_RST] = "tcp_rst",
	[INV_UDPLITE_CSUM] = "udplite_csum",
	[INV_ICMP_NEW] = "icmp_new",
	[INV_ICMP_ERROR_FLOW] = "icmp_error_flow",
	[INV_ICMP_ERROR_ADDR] = "icmp_error_addr",
	[INV_IPV6_NO_NEXT] = "ipv6_no_next",
	[INV_CHECKSUM] = "checksum",
	[INV_SCTP_CHUNKS] = "sctp_chunks",
	[INV_SCTP_NEW] = "sctp_new",
	[INV_SCTP_VTAG] = "sctp_vtag",
	[INV_SCTP_STATE] = "sctp_state",
};

const char *engine_drop_name(enum drop_reason r)
{
	return (unsigned)r < DROP_REASON_COUNT ? drop_names[r] : "?";
}

const char *engine_invalid_name(enum invalid_reason r)
{
	return (unsigned)r < INV_REASON_COUNT ? invalid_names[r] : "?";
}

const char *engine_evict_name(enum evict_reason r)
{
	return (unsigned)r < EVICT_REASON_COUNT ? evict_names[r] : "?";
}

const char *engine_state_name(enum ct_state s)
{
	return (unsigned)s < CT_STATE_COUNT ? state_names[s] : "?";
}

const char *const *engine_drop_names(void)
{
	return drop_names;
}

const char *const *engine_evict_names(void)
{
	return evict_names;
}

uint64_t engine_table_bytes(const struct engine *e, bool populated)
{
	if (populated)
		return flow_table_populated_bytes(&e->table) +
		       slab_populated_bytes(&e->tcp) +
		       slab_populated_bytes(&e->acct[0]) +
		       slab_populated_bytes(&e->acct[1]);
	return flow_table_bytes(&e->table) + slab_bytes(&e->tcp) +
	       slab_bytes(&e->acct[0]) + slab_bytes(&e->acct[1]);
}

/* The table's guard (flow.h): its chains change under the group's lock,
 * unless the engine holds it already, so that the group's other engines
 * can look in for an ICMP error's flow. Costs nothing per packet of a
 * flow that exists: only opening and freeing flows change chains, and
 * those take the lock anyway. */
static void chain_guard(void *arg, bool on)
{
	struct engine *e = arg;

	if (on && !e->locked) {
		engine_lock(e);
		e->guarded = true;
	} else if (!on && e->guarded) {
		e->guarded = false;
		engine_unlock(e);
	}
}

/* Keep the counters as populated as the flow slabs they go with. */
static void acct_populate(struct engine *e)
{
	if (e->accounting)
		for (int v6 = 0; v6 < 2; v6++)
			slab_populate(&e->acct[v6],
				      e->table.slab[v6].populated);
}

/*
 * Counters for cap flows of each family while accounting is on, none
 * when off. Counters of flows not yet made are zero (fresh mappings),
 * and new_flow() zeroes a flow's anyway. Returns 0, or -1 with errno set
 * (then nothing changed but, maybe, the IPv4 counters' capacity).
 */
static int acct_resize(struct engine *e, bool on, uint32_t cap)
{
	if (!on) {
		slab_destroy(&e->acct[0]);
		slab_destroy(&e->acct[1]);
		e->accounting = false;
		return 0;
	}
	for (int v6 = 0; v6 < 2; v6++) {
		struct slab *a = &e->acct[v6];

		if (!a->base ? slab_reserve(a, sizeof(struct flow_acct), cap) :
			       slab_grow(a, cap))
			goto fail;
	}
	e->accounting = true;
	acct_populate(e);
	return 0;
fail:
	if (!e->accounting) {
		slab_destroy(&e->acct[0]);
		slab_destroy(&e->acct[1]);
	}
	return -1;
}

void engine_configure(struct engine *e, const struct engine_params *p)
{
	if (!p->accounting)
		acct_resize(e, false, 0);
	e->invalid_drop = p->invalid_drop;
	e->fragment_drop = p->fragment_drop;
	e->copy_range_drop = p->copy_range_drop;
	e->checksum = p->checksum;
	e->enforce = p->enforce;
	memcpy(e->timeouts, p->timeout, sizeof(e->timeouts));
	e->tcp_params.timeouts = e->timeouts;
	e->tcp_params.max_retrans = p->tcp_max_retrans;
	e->tcp_params.loose = p->tcp_loose;
	e->tcp_params.liberal = p->tcp_liberal;
	e->tcp_params.ignore_invalid_rst = p->tcp_ignore_invalid_rst;
	e->adaptive_permille = 1000;
	policy_set_timeouts(e);
	policy_adapt(e);
}

/* The flow table's word on every flow it frees, however it goes. */
static void on_release(void *arg, const struct flow *f)
{
	struct engine *e = arg;
	bool take = !e->locked;

	if (take)
		engine_lock(e);
	policy_closed(e, f);
	if (take)
		engine_unlock(e);
	/* The engine's own: no lock. */
	if (proto_tracker(f->family, f->proto)->state && f->aux != SLAB_NIL)
		slab_free(&e->tcp, f->aux);
}

int engine_init_member(struct engine *e, const struct engine_params *p,
		       const struct hash_key *hkey, uint64_t now_ms,
		       struct group *g)
{
	/* e is zeroed (group_init()'s calloc, engine_init()'s memset). */
	e->grp = g;
	e->pol = &g->pol;
	e->now_ms = now_ms;
	e->batch_min_flows = 65536;
	e->now = (uint32_t)(now_ms / 1000);
	engine_configure(e, p);
	if (flow_table_init(&e->table, p->max_flows, p->buckets, AGE_LISTS,
			    hkey, e->list_timeout) < 0)
		return -1;
	if (slab_reserve(&e->tcp, sizeof(struct flow_tcp), p->max_flows) < 0 ||
	    acct_resize(e, p->accounting, p->max_flows) < 0 ||
	    policy_add_table(e->pol, &e->table) < 0) {
		acct_resize(e, false, 0);
		slab_destroy(&e->tcp);
		flow_table_destroy(&e->table);
		return -1;
	}
	e->table.on_release = on_release;
	e->table.guard = chain_guard;
	e->table.release_arg = e;
	return 0;
}

int engine_init(struct engine *e, const struct engine_params *p,
		const struct hash_key *hkey, uint64_t now_ms)
{
	struct group *g;

	memset(e, 0, sizeof(*e));
	g = &e->own;
	if (policy_init(&g->pol, p, hkey, NULL) < 0)
		return -1;
	if (engine_init_member(e, p, hkey, now_ms, g) < 0) {
		policy_destroy(&e->own.pol);
		return -1;
	}
	e->own.n = 1;
	e->own.member[0] = e;
	return 0;
}

void engine_destroy(struct engine *e)
{
	policy_remove_table(e->pol, &e->table);
	acct_resize(e, false, 0);
	slab_destroy(&e->tcp);
	flow_table_destroy(&e->table);
	if (e->grp == &e->own)
		policy_destroy(&e->own.pol);
}

int engine_resize(struct engine *e, const struct engine_params *p)
{
	uint32_t cap = p->max_flows > e->table.slab[0].capacity ?
			       p->max_flows :
			       e->table.slab[0].capacity;

	/* Counters before the slabs grow: flows in slots past their end
	 * would count out of bounds. Switched off only once all else has
	 * worked (engine_configure()), so that a failed reload keeps them.
	 * TCP states before the flows too: a TCP flow needs one. */
	if ((p->accounting && acct_resize(e, true, cap) < 0) ||
	    slab_grow(&e->tcp, p->max_flows) < 0 ||
	    flow_table_grow(&e->table, p->max_flows) < 0)
		return -1;
	if (p->buckets != flow_table_buckets(&e->table) &&
	    flow_table_resize(&e->table, p->buckets, e->now) < 0)
		return -1;
	return 0;
}

uint32_t engine_tick(struct engine *e)
{
	const struct flow_table *t = &e->table;
	uint32_t n, buckets = t->nbuckets[0];

	if (t->nbuckets[1] > buckets)
		buckets = t->nbuckets[1];
	buckets /= 100;
	/* Once for the whole tick: the flows it frees would each take
	 * it. Bounded, some milliseconds at worst. */
	engine_lock(e);
	n = flow_table_expire(&e->table, e->now, ENGINE_EXPIRE_PER_TICK);
	/* A rehash moves about 1% of the larger bucket array per tick, so
	 * that it takes about 100 ticks either way (it walks the old array:
	 * 1% of a smaller new one made a shrink take 200): at most 16384
	 * buckets, some 100 us. */
	if (buckets < 64)
		buckets = 64;
	if (buckets > 16384)
		buckets = 16384;
	n += flow_table_migrate(&e->table, e->now, buckets);
	policy_tick(e);
	engine_unlock(e);
	/* This engine's own memory, out of the lock: committing megabytes
	 * takes a while, and other queues' new flows need not wait for it.
	 * Failures are not fatal: memory not committed now is faulted in
	 * when used, as it would be anyway. */
	flow_table_populate(&e->table);
	slab_populate_ahead(&e->tcp);
	acct_populate(e);
	return n;
}

bool engine_flush_step(struct engine *e, struct flow_cursor *cur,
		       uint32_t max_buckets,
		       bool (*pred)(const struct flow *f, void *arg), void *arg,
		       uint32_t *removed)
{
	uint32_t n = 0;
	bool more = flow_table_remove_step(&e->table, cur, max_buckets, pred,
					   arg, &n);

	*removed += n;
	e->st.flows_flushed += n;
	return more;
}
