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

void engine_fastpath_tuple(const struct flow *f, struct fastpath_tuple *t)
{
	unsigned o = !!(f->flags & FLOW_F_ORIG_HI);
	size_t alen = f->family == 6 ? 16 : 4;

	memset(t, 0, sizeof(*t));
	t->family = f->family;
	t->proto = f->proto;
	t->sport = f->port[o];
	t->dport = f->port[!o];
	memcpy(t->src, flow_addr(f, o), alen);
	memcpy(t->dst, flow_addr(f, !o), alen);
}

void engine_fastpath_sync(struct engine *e)
{
	struct engine_fastpath *fp = &e->fast;

	if (!fp->npending)
		return;
	if (fp->ops.forget &&
	    fp->ops.forget(fp->ops.arg, fp->pending, fp->npending) < 0)
		e->st.fastpath_errors++;
	else if (fp->ops.forget)
		e->st.fastpath_forgotten += fp->npending;
	fp->npending = 0;
}

void engine_fastpath_forget(struct engine *e, const struct flow *f)
{
	struct engine_fastpath *fp = &e->fast;

	/* Off, the kernel holds no table: nothing to remove. */
	if (!fp->ops.forget)
		return;
	if (fp->npending == FASTPATH_BATCH_MAX)
		engine_fastpath_sync(e);
	engine_fastpath_tuple(f, &fp->pending[fp->npending++]);
}

/* Is u t the other way round (the same flow seen from its other end)? */
static bool tuple_reversed(const struct fastpath_tuple *t,
			   const struct fastpath_tuple *u)
{
	return t->family == u->family && t->proto == u->proto &&
	       t->sport == u->dport && t->dport == u->sport &&
	       !memcmp(t->src, u->dst, sizeof(t->src)) &&
	       !memcmp(t->dst, u->src, sizeof(t->dst));
}

void engine_fastpath_unforget(struct engine *e, const struct flow *f)
{
	struct engine_fastpath *fp = &e->fast;
	struct fastpath_tuple t;
	unsigned i = 0;

	if (!fp->npending)
		return;
	engine_fastpath_tuple(f, &t);
	while (i < fp->npending) {
		if (!memcmp(&fp->pending[i], &t, sizeof(t)) ||
		    tuple_reversed(&fp->pending[i], &t))
			fp->pending[i] = fp->pending[--fp->npending];
		else
			i++;
	}
}

int engine_fastpath_flush(struct engine *e)
{
	engine_fastpath_sync(e);
	if (!e->fast.ops.flush)
		return 0;
	if (e->fast.ops.flush(e->fast.ops.arg) < 0) {
		e->st.fastpath_errors++;
		return -1;
	}
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

uint32_t engine_kernel_room(struct engine *e)
{
	uint32_t n;

	engine_lock(e);
	n = policy_kernel_room(e->pol);
	engine_unlock(e);
	return n;
}

void engine_kernel_hold(struct engine *e, uint32_t held)
{
	engine_lock(e);
	e->pol->kernel_held = held;
	engine_unlock(e);
}

void engine_kernel_learned(struct engine *e, uint32_t n)
{
	engine_lock(e);
	e->pol->kernel_held -= n < e->pol->kernel_held ? n :
							 e->pol->kernel_held;
	engine_unlock(e);
	e->st.fastpath_learned += n;
}

void engine_kernel_unlearned(struct engine *e, uint32_t n)
{
	e->st.fastpath_unlearned += n;
}

void engine_kernel_filtered(struct engine *e, uint32_t n)
{
	e->st.fastpath_filtered += n;
}

uint32_t engine_fast_flows(const struct engine *e)
{
	uint32_t n = 0;

	for (unsigned l = AGE_LISTS; l < TABLE_LISTS; l++)
		n += e->table.list[l].count;
	return n;
}

/* The set of a flow's elements that says most: est, then close, then
 * udp. */
static const struct fastpath_elem *fast_best(const struct fastpath_flow *k)
{
	static const uint8_t rank[] = { [FP_SET_NONE] = 0,
					[FP_SET_UDP] = 1,
					[FP_SET_CLOSE] = 2,
					[FP_SET_EST] = 3 };
	const struct fastpath_elem *a = &k->dir[0], *b = &k->dir[1];
	uint8_t ra = a->set < 4 ? rank[a->set] : 0,
		rb = b->set < 4 ? rank[b->set] : 0;

	return ra >= rb ? a : b;
}

/*
 * Did a packet without SYN, FIN or RST refresh one of k's est elements to
 * timeout_established, or are they still on admission's timeout_open
 * (only SYNs passed, the SYN-ACK among them: the handshake)? A kernel
 * that updates an element's timeout says so by timeout_ms; one that only
 * moves its expiry, by more time left than admission gave. And from the
 * tick (ticked), the flow's open time has run out since its admission
 * (with a second to spare, fast_check()): an element alive outlived
 * timeout_open, so it was refreshed. When both timeouts are the same, it
 * cannot tell: yes.
 */
static bool fast_refreshed(const struct engine *e,
			   const struct fastpath_flow *k, bool ticked)
{
	uint32_t open_ms = e->fast.timeout[FAST_OPEN] * 1000;

	if (ticked || e->fast.timeout[FAST_OPEN] == e->fast.timeout[FAST_EST])
		return true;
	for (int d = 0; d < 2; d++)
		if (k->dir[d].set == FP_SET_EST &&
		    (k->dir[d].timeout_ms != open_ms ||
		     k->dir[d].expires_ms > open_ms))
			return true;
	return false;
}

bool engine_fastpath_found(struct engine *e, struct flow *f,
			   const struct fastpath_flow *k, enum fast_found how)
{
	bool ticked = how == FOUND_TICKED;
	const struct fastpath_elem *best = fast_best(k);
	struct flow_acct *a = engine_flow_acct(e, f);
	uint32_t since = 0; /* seconds since its FIN or RST */
	uint8_t old_state = f->state, old_flags = f->flags;
	enum fast_kind kind;

	if (a) {
		/* Read with reset: what the elements counted since, less the
		 * admitting packets (counted here already, and by the
		 * admission in both directions' elements). */
		for (int d = 0; d < 2; d++) {
			const struct fastpath_elem *x = &k->dir[d];

			if (x->set == FP_SET_NONE)
				continue;
			a->packets[d] += x->packets > a->admit_packets ?
						 x->packets - a->admit_packets :
						 0;
			a->bytes[d] += x->bytes > a->admit_bytes ?
					       x->bytes - a->admit_bytes :
					       0;
		}
		a->admit_packets = a->admit_bytes = 0;
	}
	switch (best->set) {
	case FP_SET_EST:
		/* Only SYNs passed (the SYN-ACK among them) while its
		 * elements kept the timeout admission gave them: still the
		 * handshake, as far as the kernel knows. Not for a flow
		 * found established before: an element idle for longer than
		 * timeout_open is not one that never left the handshake. */
		if (FAST_LIST_KIND(f->list) != FAST_EST &&
		    !fast_refreshed(e, k, ticked)) {
			/* Early: known half-open now, evictable as such,
			 * and not asked about again before its tick
			 * (engine_fastpath_settle()); in place, so that
			 * its tick comes when its elements expire. */
			if (how == FOUND_EARLY &&
			    FAST_LIST_KIND(f->list) == FAST_OPEN) {
				flow_flags_set(f, FLOW_F_CHECKED);
				e->st.fastpath_alive++;
				return false;
			}
			kind = FAST_OPEN;
			break;
		}
		f->state = TCP_S_ESTABLISHED;
		f->tclass = TCP_S_ESTABLISHED;
		flow_flags_set(f, FLOW_F_SEEN_REPLY | FLOW_F_ASSURED);
		if (f->flags & FLOW_F_MIDSTREAM)
			policy_answered(e, f);
		kind = FAST_EST;
		break;
	case FP_SET_CLOSE:
		/* The kernel moved it there on a FIN (timeout_closing) or a
		 * RST (timeout_close): its timeout tells which. */
		if (best->timeout_ms ==
			    e->fast.timeout[FAST_CLOSE] * (uint32_t)1000 &&
		    e->fast.timeout[FAST_CLOSE] !=
			    e->fast.timeout[FAST_CLOSING]) {
			f->state = TCP_S_CLOSE;
			kind = FAST_CLOSE;
		} else {
			/* A FIN went by: a SYN on these ports reopens, as
			 * after the kernel's TIME_WAIT (tcp.c). */
			f->state = TCP_S_TIME_WAIT;
			engine_flow_tcp(e, f)->side[0].flags |=
				TCP_SIDE_CLOSE_INIT;
			kind = FAST_CLOSING;
		}
		f->tclass = f->state;
		if (f->source != SOURCE_NIL && !policy_counts_for_source(f))
			policy_source_done(e, f);
		/* The FIN or RST went by this long ago (its element's
		 * timeout never moves): its time in the daemon counts from
		 * then, and ends by the daemon's timeout, which a reload
		 * may have made shorter than the element's. Its elements
		 * are removed then (on_release()). */
		if (best->timeout_ms > best->expires_ms)
			since = (best->timeout_ms - best->expires_ms) / 1000;
		if (since > e->now)
			since = e->now;
		if (how != FOUND_SEEN && since > e->fast.timeout[kind]) {
			e->st.fastpath_ended++;
			e->st.flows_closed++;
			flow_table_remove(&e->table, f);
			return true;
		}
		/* Not due again at once (fast_check()). */
		if (since > e->fast.check[kind])
			since = e->fast.check[kind];
		break;
	case FP_SET_UDP:
		f->tclass = TMO_UDP_STREAM;
		flow_flags_set(f, FLOW_F_SEEN_REPLY | FLOW_F_ASSURED);
		kind = FAST_UDP;
		break;
	default:
		/* Early, one admitted this second may be in no set yet:
		 * its verdict may be on its way still. */
		if (how == FOUND_SEEN ||
		    (how == FOUND_EARLY && f->last_seen >= e->now))
			return false;
		/* Ended in the kernel: nothing left there to remove. */
		e->st.fastpath_ended++;
		if (f->list == FAST_LIST(FAST_CLOSING, 0) ||
		    f->list == FAST_LIST(FAST_CLOSING, 1) ||
		    f->list == FAST_LIST(FAST_CLOSE, 0) ||
		    f->list == FAST_LIST(FAST_CLOSE, 1))
			e->st.flows_closed++;
		else
			e->table.expired++;
		flow_flags_clear(f, FLOW_F_FAST);
		flow_table_remove(&e->table, f);
		return true;
	}
	e->st.fastpath_alive++;
	flow_flags_clear(f, FLOW_F_CHECKED);
	flow_table_touch(&e->table, f,
			 FAST_LIST(kind, f->flags & FLOW_F_EXEMPT), e->now);
	if (since) {
		/* Idle since its close, for early_drop's choice and its
		 * next check (when its elements expire); never older than
		 * the flow before it on the list, which stays in order. */
		uint32_t at = e->now - since;

		if (f->older != FLOW_NIL &&
		    flow_table_at(&e->table, f->older)->last_seen > at)
			at = flow_table_at(&e->table, f->older)->last_seen;
		f->last_seen = at;
	}
	if ((e->sink.types & FEV_MASK(FEV_UPDATE)) &&
	    engine_flow_changed(f, old_state, old_flags))
		engine_emit(e, f, FEV_UPDATE);
	return false;
}

/*
 * The fast flows whose check time ran out (fast.check[]), at most
 * FAST_CHECK_BATCHES queries of FASTPATH_BATCH_MAX: each asked of the
 * kernel (with reset when accounting), found alive and relisted, or
 * reclaimed. A failed query keeps them, for the next tick. Off (no
 * query), they are reclaimed unasked once their set's timeout ran out: a
 * packet since would have taken them off the fast lists. Returns the
 * flows reclaimed. O(flows checked + lists), and a netlink round trip
 * per batch: some 64 x 6 us (371 to 381 us measured). So at most 2,560
 * flows a second per queue's thread (10 ticks): a table with more fast
 * flows than that times fastpath_check_interval checks them later than
 * the interval, oldest first.
 */
#define FAST_CHECK_BATCHES 4
static uint32_t fast_check(struct engine *e)
{
	struct flow_table *t = &e->table;
	uint32_t reclaimed = 0;

	for (unsigned b = 0; b < FAST_CHECK_BATCHES; b++) {
		struct flow *f[FASTPATH_BATCH_MAX];
		struct fastpath_tuple tu[FASTPATH_BATCH_MAX];
		struct fastpath_flow k[FASTPATH_BATCH_MAX];
		unsigned n = 0;

		for (unsigned l = AGE_LISTS; l < TABLE_LISTS; l++) {
			enum fast_kind kind = FAST_LIST_KIND(l);
			uint32_t to = e->fast.ops.query ? e->fast.check[kind] :
							  e->fast.timeout[kind];
			uint32_t ref = t->list[l].oldest;

			while (ref != FLOW_NIL && n < FASTPATH_BATCH_MAX) {
				struct flow *g = flow_table_at(t, ref);

				/* A second past it: the kernel's element,
				 * given at most a second after last_seen's
				 * second began, has run its course too. */
				if (e->now - g->last_seen <= to)
					break;
				f[n] = g;
				engine_fastpath_tuple(g, &tu[n++]);
				ref = g->newer;
			}
		}
		if (!n)
			break;
		if (!e->fast.ops.query) {
			for (unsigned i = 0; i < n; i++) {
				flow_flags_clear(f[i], FLOW_F_FAST);
				flow_table_remove(t, f[i]);
				t->expired++;
			}
			reclaimed += n;
			continue;
		}
		if (e->fast.ops.query(e->fast.ops.arg, tu, n, e->accounting,
				      k) < 0) {
			e->st.fastpath_errors++;
			break;
		}
		e->st.fastpath_checks += n;
		for (unsigned i = 0; i < n; i++)
			reclaimed += engine_fastpath_found(e, f[i], &k[i],
							   FOUND_TICKED);
	}
	return reclaimed;
}

void engine_fastpath_settle(struct engine *e, uint32_t src)
{
	static const uint8_t kinds[] = { FAST_OPEN, FAST_EST };
	struct flow_table *t = &e->table;
	struct flow *f[FASTPATH_BATCH_MAX];
	struct fastpath_tuple tu[FASTPATH_BATCH_MAX];
	struct fastpath_flow k[FASTPATH_BATCH_MAX];
	unsigned n = 0, visits = 0;

	if (!e->fast.ops.query || !e->fast.settle_left)
		return;
	e->fast.settle_left--;
	for (unsigned i = 0; i < 4; i++) {
		uint32_t ref = t->list[FAST_LIST(kinds[i / 2], i & 1)].oldest;

		while (ref != FLOW_NIL && n < FASTPATH_BATCH_MAX &&
		       visits < FAST_SETTLE_VISITS) {
			struct flow *g = flow_table_at(t, ref);

			visits++;
			ref = g->newer;
			/* An established one asked about this second
			 * was just relisted; one in its handshake that an
			 * early check found so stays until its tick. */
			if ((i >= 2 && g->last_seen >= e->now) ||
			    (g->flags & FLOW_F_CHECKED) ||
			    (src != SOURCE_NIL && g->source != src))
				continue;
			f[n] = g;
			engine_fastpath_tuple(g, &tu[n++]);
		}
	}
	if (!n)
		return;
	if (e->fast.ops.query(e->fast.ops.arg, tu, n, e->accounting, k) < 0) {
		e->st.fastpath_errors++;
		return;
	}
	e->st.fastpath_checks += n;
	e->st.fastpath_early += n;
	for (unsigned i = 0; i < n; i++)
		engine_fastpath_found(e, f[i], &k[i], FOUND_EARLY);
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
		n += fast_check(e);
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
