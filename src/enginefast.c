// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * enginefast.c - the engine's side of the kernel fast path: the removals
 * it queues for the kernel and sends in batches, the checks of its fast
 * flows against what the kernel holds (on the tick, and early when a
 * limit fills), and the places the kernel's own admissions hold in its
 * limits. See engine.h, which declares it with the rest of the engine.
 *
 * Apart from enginelife.c (the engine made, reconfigured and ticked) so
 * that each file has one job; nothing here runs per packet but
 * engine_fastpath_forget()'s queuing and engine_fastpath_found() for a
 * fast flow's packet that reached the daemon. The kernel is reached
 * through the callbacks engine_fastpath_set() installs: a netlink or
 * bpf(2) round trip per batch, never per flow.
 */
#include <string.h>

#include "engine.h"
#include "policy.h"
#include "proto.h"

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
uint32_t engine_fastpath_check(struct engine *e)
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
