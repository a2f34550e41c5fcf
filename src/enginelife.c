// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * enginelife.c - an engine's life around the packet path: made, resized
 * and reconfigured, its bounded housekeeping each tick (expiry, rehash,
 * memory), a flush's share, destroyed; and the names of its reasons. See
 * engine.h, which declares it with the packet path (engine.c) and the
 * fast path's side (enginefast.c).
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
	/* The fast lists: never expired by the table; their own times are
	 * the kernel sets' timeouts (fastpath_params), never adaptive. */
	for (unsigned l = AGE_LISTS; l < TABLE_LISTS; l++)
		e->list_timeout[l] = UINT32_MAX;
	e->fast.timeout[FAST_OPEN] = p->timeout[TCP_S_SYN_RECV];
	e->fast.timeout[FAST_EST] = p->timeout[TCP_S_ESTABLISHED];
	e->fast.timeout[FAST_CLOSING] = p->timeout[TCP_S_TIME_WAIT];
	e->fast.timeout[FAST_CLOSE] = p->timeout[TCP_S_CLOSE];
	e->fast.timeout[FAST_UDP] = p->timeout[TMO_UDP_STREAM];
	/*
	 * A flow the kernel carries is asked about at least every
	 * fastpath_check_interval, so that one the kernel ended (a FIN or
	 * RST it saw, its element expired) leaves the daemon's table, the
	 * limits and its source's count within an interval of that, not
	 * timeout_tcp_established (days) after its last check. An early
	 * check finds it alive and relists it, or finds it gone. Not the
	 * handshake's list: that a flow's est elements outlived
	 * timeout_open tells its check that they were refreshed (an
	 * established connection), which a check before could not know
	 * (fast_refreshed()); its timeout is short anyway.
	 */
	for (unsigned k = 0; k < FAST_KINDS; k++) {
		uint32_t to = e->fast.timeout[k],
			 iv = p->fastpath_check_interval;

		e->fast.check[k] = k != FAST_OPEN && iv && iv < to ? iv : to;
	}
}

/* The packet path's one test (track()): after fast_live or the sink
 * changed. */
static void plain(struct engine *e)
{
	e->plain = !e->fast_live && !e->sink.types;
}

void engine_set_event_sink(struct engine *e, const struct flow_event_sink *s)
{
	if (!s || !s->types)
		memset(&e->sink, 0, sizeof(e->sink));
	else
		e->sink = *s;
	plain(e);
}

void engine_emit(struct engine *e, const struct flow *f, enum flow_event_type t)
{
	const struct flow_acct *a = engine_flow_acct(e, f);
	struct flow_event ev;

	memset(&ev, 0, sizeof(ev));
	flow_key_get(f, &ev.key);
	ev.type = (uint8_t)t;
	ev.flags = f->flags;
	ev.state = f->state;
	if (t == FEV_DESTROY) {
		ev.end = e->end != FEND_NONE ? e->end : FEND_EXPIRED;
		ev.evict = e->end_evict;
	} else {
		ev.timeout = engine_flow_left(e, f);
	}
	ev.time_ms = e->now_ms;
	ev.last_ms = (uint64_t)f->last_seen * 1000;
	if (a) {
		ev.has_acct = 1;
		ev.tcp_flags = a->tcp_flags;
		ev.start_ms = a->start_ms;
		for (int d = 0; d < 2; d++) {
			ev.packets[d] = a->packets[d];
			ev.bytes[d] = a->bytes[d];
			ev.sent_packets[d] = a->sent_packets[d];
			ev.sent_bytes[d] = a->sent_bytes[d];
		}
	}
	e->sink.emit(e->sink.arg, &ev);
	e->st.events_emitted++;
}

static int destroy_one(const struct flow *f, void *arg)
{
	engine_emit(arg, f, FEV_DESTROY);
	return 0;
}

void engine_events_all(struct engine *e, enum flow_end end)
{
	if (!(e->sink.types & FEV_MASK(FEV_DESTROY)))
		return;
	e->end = (uint8_t)end;
	flow_table_walk(&e->table, destroy_one, e);
	e->end = FEND_NONE;
}

/* A flow whose start, or last FEV_ACTIVE, is active_timeout ago or more
 * (with accounting): its FEV_ACTIVE, and what it carried noted. */
static void active_one(const struct flow *f, void *arg)
{
	struct engine *e = arg;
	struct flow_acct *a = engine_flow_acct(e, f);
	if (e->now_ms - a->active_ms < (uint64_t)e->sink.active_timeout * 1000)
		return;
	engine_emit(e, f, FEV_ACTIVE);
	a->active_ms = e->now_ms;
	for (int d = 0; d < 2; d++) {
		a->sent_packets[d] = a->packets[d];
		a->sent_bytes[d] = a->bytes[d];
	}
}

/*
 * The FEV_ACTIVE walk of one tick: ENGINE_ACTIVE_BUCKETS buckets on from
 * where the last stopped, round the table again and again. So a flow's
 * periodic record comes at most buckets / (ENGINE_ACTIVE_BUCKETS x 10)
 * seconds late: 1.6 s for a million buckets. O(buckets walked + their
 * flows), some 100 us.
 */
#define ENGINE_ACTIVE_BUCKETS 65536
static void active_walk(struct engine *e)
{
	if (!flow_table_walk_step(&e->table, &e->active_cur,
				  ENGINE_ACTIVE_BUCKETS, active_one, e))
		memset(&e->active_cur, 0, sizeof(e->active_cur));
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
	/* Its DESTROY, with the reason its remover set (engine_remove()):
	 * none is expiry, wherever it was found. */
	if ((e->sink.types & FEV_MASK(FEV_DESTROY)) &&
	    e->end != ENGINE_END_SILENT)
		engine_emit(e, f, FEV_DESTROY);
	/* Its elements go too, else its packets would pass the kernel
	 * untracked, past every limit. */
	if (f->flags & FLOW_F_FAST)
		engine_fastpath_forget(e, f);
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
	e->plain = true;
	e->now = (uint32_t)(now_ms / 1000);
	engine_configure(e, p);
	if (flow_table_init(&e->table, p->max_flows, p->buckets, TABLE_LISTS,
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
	/* The kernel's table goes with the daemon (fastpath_remove()). */
	e->fast.npending = 0;
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

void engine_fastpath_set(struct engine *e,
			 const struct engine_fastpath_ops *ops,
			 uint32_t udp_after)
{
	/* What the old socket owes first: with the table gone it fails,
	 * harmlessly (counted). */
	engine_fastpath_sync(e);
	if (ops) {
		e->fast.ops = *ops;
		e->fast.on = true;
	} else {
		memset(&e->fast.ops, 0, sizeof(e->fast.ops));
		e->fast.on = false;
	}
	e->fast.udp_after = udp_after;
	e->fast.settle_left = FAST_SETTLE_PER_TICK;
	e->fast_live = e->fast.on || engine_fast_flows(e);
	plain(e);
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
	/* Out of the lock: the engine's own flows, read only by it. */
	if ((e->sink.types & FEV_MASK(FEV_ACTIVE)) && e->sink.active_timeout &&
	    e->accounting)
		active_walk(e);
	/* Out of the lock: a netlink round trip per batch of checks. */
	if (engine_fast_flows(e))
		n += engine_fastpath_check(e);
	engine_fastpath_sync(e);
	e->fast_live = e->fast.on || engine_fast_flows(e);
	plain(e);
	e->fast.settle_left = FAST_SETTLE_PER_TICK;
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
	bool more;

	e->end = FEND_FLUSHED;
	more = flow_table_remove_step(&e->table, cur, max_buckets, pred, arg,
				      &n);
	e->end = FEND_NONE;

	*removed += n;
	e->st.flows_flushed += n;
	engine_fastpath_sync(e);
	return more;
}
