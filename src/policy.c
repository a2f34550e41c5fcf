// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * policy.c - admission, eviction, adaptive timeouts and the counts they
 * read; see policy.h. Eviction works on the age lists' old ends only:
 * every decision is O(lists), whatever the table holds.
 */
#include <errno.h>
#include <string.h>

#include "engine.h"
#include "policy.h"
#include "proto.h"

/* Adaptive timeouts shrink to no less than this, so that a handshake
 * under way can still complete. */
#define ADAPTIVE_FLOOR_S 2

static void set_add(struct list_set *s, uint8_t id)
{
	s->id[s->n++] = id;
}

/* The eviction candidates: non-exempt lists, by protocol class. */
static void build_sets(struct policy *l)
{
	memset(l->cand, 0, sizeof(l->cand));
	memset(l->exempt_cand, 0, sizeof(l->exempt_cand));
	for (unsigned i = 0; i < AGE_LISTS; i++) {
		unsigned pc = proto_class_of_tclass(i / 4), kind = !(i & 1);

		if (i & 2) {
			set_add(&l->exempt_cand[kind], (uint8_t)i);
			continue;
		}
		set_add(&l->cand[pc][kind], (uint8_t)i);
		set_add(&l->cand[PC_COUNT][kind], (uint8_t)i);
	}
	/*
	 * Fast flows (policy.h): candidates by their daemon state, those of
	 * the handshake (not assured until the kernel is first asked) and of
	 * closing connections, to early_drop, by when the daemon last saw or
	 * checked them. A full limit has them asked about first
	 * (policy_open(), engine_fastpath_settle()): a connection the kernel
	 * carries established leaves the handshake's list before early_drop
	 * looks. Established TCP and UDP ones are no candidates at
	 * all: their last_seen says nothing of a flow the kernel carries, so
	 * evict_idle would take busy connections; they end when a check
	 * finds them gone from the kernel.
	 */
	for (unsigned x = 0; x < 2; x++) {
		static const uint8_t kinds[] = { FAST_OPEN, FAST_CLOSING,
						 FAST_CLOSE };

		for (unsigned k = 0; k < sizeof(kinds); k++) {
			uint8_t id = FAST_LIST(kinds[k], x);

			if (x) {
				set_add(&l->exempt_cand[0], id);
				continue;
			}
			set_add(&l->cand[PC_TCP][0], id);
			set_add(&l->cand[PC_COUNT][0], id);
		}
	}
}

static uint32_t percent_of(uint32_t pct, uint32_t n)
{
	uint64_t v = (uint64_t)pct * n / 100;

	return v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

int policy_init(struct policy *l, const struct engine_params *p,
		const struct hash_key *hkey, const struct policy_lock *lk)
{
	memset(l, 0, sizeof(*l));
	if (source_table_init(&l->sources, p->max_sources, hkey) < 0)
		return -1;
	source_table_set_rate(&l->sources, p->max_new_per_source,
			      p->max_new_per_source_burst);
	if (lk)
		l->lock = *lk;
	build_sets(l);
	policy_configure(l, p);
	return 0;
}

void policy_destroy(struct policy *l)
{
	source_table_destroy(&l->sources);
}

void policy_configure(struct policy *l, const struct engine_params *p)
{
	l->max_flows = p->max_flows;
	l->on_full = p->on_full;
	l->reserve = p->reserve;
	memcpy(l->max_proto, p->max_proto, sizeof(l->max_proto));
	l->max_per_source = p->max_flows_per_source;
	l->prefix4 = p->source_prefix4;
	l->prefix6 = p->source_prefix6;
	l->enforce = p->enforce;
	l->warn_at = p->warn_at;
	l->adaptive_start = percent_of(p->adaptive_start, p->max_flows);
	l->adaptive_end = percent_of(p->adaptive_end, p->max_flows);
	l->adaptive_factor = p->adaptive_unassured_factor;
	l->nexempt = p->nexempt;
	memcpy(l->exempt, p->exempt, sizeof(l->exempt));
	/* The reserve is kept for exempt sources: they may always fill it. */
	l->max_exempt = percent_of(p->exempt_max_percent, p->max_flows);
	if (l->max_exempt < p->reserve)
		l->max_exempt = p->reserve;
	if (!l->max_exempt)
		l->max_exempt = 1;
	l->exempt_evict_assured = p->exempt_evict_assured;
	l->max_midstream = percent_of(p->midstream_max_percent, p->max_flows);
	if (!l->max_midstream)
		l->max_midstream = 1;
}

int policy_resize(struct policy *l, const struct engine_params *p)
{
	if (source_table_grow(&l->sources, p->max_sources) < 0)
		return -1;
	/* Before a recount, so that sources made again get the new
	 * rate. */
	source_table_set_rate(&l->sources, p->max_new_per_source,
			      p->max_new_per_source_burst);
	return 0;
}

int policy_add_table(struct policy *l, const struct flow_table *t)
{
	if (l->ntables == POLICY_TABLES_MAX) {
		errno = ENOSPC;
		return -1;
	}
	l->table[l->ntables++] = t;
	return 0;
}

void policy_remove_table(struct policy *l, const struct flow_table *t)
{
	for (unsigned i = 0; i < l->ntables; i++)
		if (l->table[i] == t)
			l->table[i] = l->table[--l->ntables];
}

void policy_keys_of(struct policy_keys *k, const struct engine_params *p)
{
	memset(k, 0, sizeof(*k));
	k->nexempt = p->nexempt;
	memcpy(k->exempt, p->exempt, sizeof(k->exempt));
	k->prefix4 = p->source_prefix4;
	k->prefix6 = p->source_prefix6;
}

void policy_get_keys(const struct policy *l, struct policy_keys *k)
{
	k->nexempt = l->nexempt;
	memcpy(k->exempt, l->exempt, sizeof(k->exempt));
	k->prefix4 = l->prefix4;
	k->prefix6 = l->prefix6;
}

void policy_set_keys(struct policy *l, const struct policy_keys *k)
{
	l->nexempt = k->nexempt;
	memcpy(l->exempt, k->exempt, sizeof(l->exempt));
	l->prefix4 = k->prefix4;
	l->prefix6 = k->prefix6;
}

bool policy_keys_equal(const struct policy_keys *a, const struct policy_keys *b)
{
	return a->nexempt == b->nexempt && a->prefix4 == b->prefix4 &&
	       a->prefix6 == b->prefix6 &&
	       !memcmp(a->exempt, b->exempt, b->nexempt * sizeof(b->exempt[0]));
}

bool policy_exempt(const struct policy *l, uint8_t family, const void *addr)
{
	for (uint32_t i = 0; i < l->nexempt; i++)
		if (prefix_match(&l->exempt[i], family, addr))
			return true;
	return false;
}

/* The address that opened flow f. */
static const uint32_t *orig_src(const struct flow *f)
{
	return flow_addr(f, (f->flags & FLOW_F_ORIG_HI) ? 1 : 0);
}

/* Before the first table of a group is recounted. */
static void recount_begin(void *arg)
{
	struct policy *l = ((struct engine *)arg)->pol;

	source_table_clear(&l->sources);
	memset(l->proto_count, 0, sizeof(l->proto_count));
	l->exempt_count = 0;
}

/* Count flow f again under the new exempt list and source prefixes. */
static uint8_t recount_flow(struct flow *f, void *arg)
{
	struct engine *e = arg;
	struct policy *l = e->pol;
	const uint32_t *src = orig_src(f);

	f->source = SOURCE_NIL;
	if (policy_exempt(l, f->family, src)) {
		flow_flags_set(f, FLOW_F_EXEMPT);
		l->exempt_count++;
	} else {
		flow_flags_clear(f, FLOW_F_EXEMPT);
		l->proto_count[proto_class(f->family, f->proto)]++;
		if (policy_counts_for_source(f)) {
			f->source = source_get(&l->sources, f->family, src,
					       engine_source_bits(e, f->family),
					       e->now_ms);
			if (f->source != SOURCE_NIL)
				source_adopt(&l->sources, f->source);
		}
	}
	/* A fast flow stays on its kind of fast list, exempt or not now. */
	if (f->flags & FLOW_F_FAST)
		return FAST_LIST(FAST_LIST_KIND(f->list),
				 f->flags & FLOW_F_EXEMPT);
	return policy_list_of(f);
}

int policy_recount(struct engine *e, bool first)
{
	return flow_table_relist(&e->table, first ? recount_begin : NULL,
				 recount_flow, e);
}

void policy_set_timeouts(struct engine *e)
{
	uint32_t pa = e->adaptive_permille, pu, cut;

	/* Flows early_drop may take shrink adaptive_factor times as fast. */
	cut = (1000 - pa) * e->pol->adaptive_factor;
	pu = cut >= 1000 ? 0 : 1000 - cut;
	for (unsigned l = 0; l < AGE_LISTS; l++) {
		uint32_t base = e->timeouts[l / 4], t, floor;

		if (l & 2) { /* exempt: never limited */
			e->list_timeout[l] = base;
			continue;
		}
		t = (uint32_t)((uint64_t)base * ((l & 1) ? pu : pa) / 1000);
		floor = base < ADAPTIVE_FLOOR_S ? base : ADAPTIVE_FLOOR_S;
		e->list_timeout[l] = t > floor ? t : floor;
	}
}

/* pf's adaptive timeouts: between adaptive_start and adaptive_end flows,
 * timeouts scale by (end - flows) / (end - start). */
void policy_adapt(struct engine *e)
{
	const struct policy *l = e->pol;
	uint32_t n = l->flows, p = 1000;

	if (l->adaptive_end) {
		if (n >= l->adaptive_end)
			p = 0;
		else if (n > l->adaptive_start)
			p = (uint32_t)((uint64_t)1000 * (l->adaptive_end - n) /
				       (l->adaptive_end - l->adaptive_start));
	}
	e->adaptive_count = n;
	if (p != e->adaptive_permille) {
		e->adaptive_permille = p;
		policy_set_timeouts(e);
	}
}

void policy_tick(struct engine *e)
{
	struct policy *l = e->pol;

	source_table_expire(&l->sources, e->now_ms, 10000);
	policy_adapt(e);
	/* Hysteresis: warn again only after falling under 90% of the
	 * mark. */
	if (l->warn && (uint64_t)l->flows * 1000 <
			       (uint64_t)l->warn_at * l->max_flows * 9) {
		l->warn = false;
		e->events |= ENGINE_EV_WARN_OFF;
	}
}

void policy_closed(struct engine *e, const struct flow *f)
{
	struct policy *l = e->pol;

	l->flows--;
	if (f->flags & FLOW_F_EXEMPT)
		l->exempt_count--;
	else
		l->proto_count[proto_class(f->family, f->proto)]--;
	if (f->flags & FLOW_F_MIDSTREAM)
		l->midstream_count--;
	if (f->source != SOURCE_NIL)
		source_closed(&l->sources, f->source, e->now_ms);
}

void policy_answered(struct engine *e, struct flow *f)
{
	engine_lock(e);
	e->pol->midstream_count--;
	engine_unlock(e);
	flow_flags_clear(f, FLOW_F_MIDSTREAM);
}

void policy_source_done(struct engine *e, struct flow *f)
{
	engine_lock(e);
	source_closed(&e->pol->sources, f->source, e->now_ms);
	engine_unlock(e);
	f->source = SOURCE_NIL;
}

/*
 * Closed TCP flow f carries data again: it counts for its source again,
 * else a RST (even one its peer discarded) followed by data would keep a
 * connection open that no limit counts.
 */
void policy_revive(struct engine *e, struct flow *f)
{
	flow_flags_set(f, FLOW_F_REVIVED);
	e->st.flows_revived++;
	if (f->flags & FLOW_F_EXEMPT || f->source != SOURCE_NIL)
		return;
	engine_lock(e);
	f->source = source_get(&e->pol->sources, f->family, orig_src(f),
			       engine_source_bits(e, f->family), e->now_ms);
	if (f->source != SOURCE_NIL)
		source_adopt(&e->pol->sources, f->source);
	engine_unlock(e);
}

/* Refuse a new flow: limit reached at count. */
static bool refuse(struct engine_result *r, enum drop_reason why,
		   uint32_t limit, uint32_t count)
{
	r->verdict = VERDICT_DROP;
	r->reason = why;
	r->limit = limit;
	r->count = count;
	return false;
}

static void evict(struct engine *e, struct flow *f, enum evict_reason why,
		  enum drop_reason cause, struct engine_result *r)
{
	r->evicted = (uint8_t)why;
	flow_key_get(f, &r->ev.key);
	r->ev.orig_hi = f->flags & FLOW_F_ORIG_HI;
	r->ev.state = f->proto == IPPROTO_TCP ? f->state : 0;
	r->ev.cause = (uint8_t)cause;
	r->ev.idle = e->now - f->last_seen;
	e->st.flows_evicted++;
	e->st.evicted[why]++;
	e->end_evict = (uint8_t)why;
	engine_remove(e, f, FEND_EVICTED);
	e->end_evict = EVICT_NONE;
}

/*
 * Room for one more flow among the lists of cand: an expired flow is
 * reclaimed if there is one; else, as on_full says, the flow idle longest
 * among the evictable ones, then among the others. For an exempt source,
 * always the evictable one, and an assured one only with
 * exempt_evict_assured: a flood from a spoofed exempt address must not
 * take others' established connections. O(lists).
 */
static bool make_room(struct engine *e, const struct list_set cand[2],
		      bool for_exempt, enum drop_reason cause,
		      struct engine_result *r)
{
	const struct policy *l = e->pol;
	struct flow_table *t = &e->table;
	struct flow *f;

	for (int kind = 0; kind < 2; kind++) {
		for (unsigned i = 0; i < cand[kind].n; i++) {
			uint32_t idx = t->list[cand[kind].id[i]].oldest;

			if (idx == FLOW_NIL)
				continue;
			f = flow_table_at(t, idx);
			if (flow_expired(t, f, e->now)) {
				flow_table_remove(t, f);
				t->expired++;
				return true;
			}
		}
	}
	if (!for_exempt && l->on_full == ON_FULL_DROP)
		return false;
	f = flow_table_oldest(t, cand[0].id, cand[0].n);
	if (f) {
		evict(e, f, for_exempt ? EVICT_FOR_EXEMPT : EVICT_EARLY_DROP,
		      cause, r);
		return true;
	}
	if (for_exempt ? !l->exempt_evict_assured :
			 l->on_full != ON_FULL_EVICT_IDLE)
		return false;
	f = flow_table_oldest(t, cand[1].id, cand[1].n);
	if (!f)
		return false;
	evict(e, f, for_exempt ? EVICT_FOR_EXEMPT : EVICT_IDLE, cause, r);
	return true;
}

/*
 * Room in the budget of TCP pickups: unless on_full is drop, the oldest
 * unanswered pickup gives way, among those first on the age lists of
 * unassured TCP flows (their window picks the list: unacknowledged,
 * max_retrans, ...; those lists hold few flows but pickups). O(lists).
 */
static bool make_midstream_room(struct engine *e, struct engine_result *r)
{
	const struct list_set *cand = &e->pol->cand[PC_TCP][0];
	struct flow_table *t = &e->table;
	struct flow *f = NULL;

	if (e->pol->on_full == ON_FULL_DROP)
		return false;
	for (unsigned i = 0; i < cand->n; i++) {
		uint32_t idx = t->list[cand->id[i]].oldest;
		struct flow *g;

		if (idx == FLOW_NIL)
			continue;
		g = flow_table_at(t, idx);
		if ((g->flags & FLOW_F_MIDSTREAM) &&
		    (!f || g->last_seen < f->last_seen))
			f = g;
	}
	if (!f)
		return false;
	if (flow_expired(t, f, e->now)) {
		flow_table_remove(t, f);
		t->expired++;
	} else {
		evict(e, f, EVICT_EARLY_DROP, DROP_MIDSTREAM_CAP, r);
	}
	return true;
}

/*
 * Room in the full source table: the flow early_drop would take first is
 * evicted if it is the one flow of its source, whose entry it frees (or
 * leaves idle, to be reclaimed). A flood of spoofed one-flow sources so
 * makes room for new ones, as it would in the flow table; sources with
 * several flows or assured ones keep theirs. O(lists).
 */
static bool reclaim_source(struct engine *e, struct engine_result *r)
{
	const struct list_set *cand = &e->pol->cand[PC_COUNT][0];
	struct flow *f;

	if (e->pol->on_full == ON_FULL_DROP || r->evicted != EVICT_NONE)
		return false;
	f = flow_table_oldest(&e->table, cand->id, cand->n);
	if (!f || f->source == SOURCE_NIL ||
	    source_at(&e->pol->sources, f->source)->flows != 1)
		return false;
	evict(e, f, EVICT_EARLY_DROP, DROP_SOURCE_FULL, r);
	return true;
}

/* An exempt source's new flow: its own cap, then the table. */
static bool admit_exempt(struct engine *e, struct engine_result *r)
{
	struct policy *l = e->pol;

	if (l->exempt_count >= l->max_exempt &&
	    !make_room(e, l->exempt_cand, false, DROP_EXEMPT_CAP, r))
		return refuse(r, DROP_EXEMPT_CAP, l->max_exempt,
			      l->exempt_count);
	if (l->flows + l->kernel_held < l->max_flows ||
	    make_room(e, l->cand[PC_COUNT], true, DROP_TABLE_FULL, r))
		return true;
	return refuse(r, DROP_TABLE_FULL, l->max_flows, l->flows);
}

/*
 * May a flow of packet p open, under every limit? May evict to make room.
 * Sets *src to the source to count it for (SOURCE_NIL: none), or refuses
 * with the reason in r.
 */
static bool admit(struct engine *e, const struct pkt *p,
		  const struct proto_tracker *t, bool exempt, bool midstream,
		  uint32_t *src, struct engine_result *r)
{
	struct policy *l = e->pol;
	enum proto_class pc = (enum proto_class)t->pclass;
	uint8_t bits = engine_source_bits(e, p->family);
	uint32_t idx, limit;

	*src = SOURCE_NIL;
	if (exempt)
		return admit_exempt(e, r);
	idx = source_find(&l->sources, p->family, p->src, bits);
	if (idx != SOURCE_NIL) {
		struct source *s = source_at(&l->sources, idx);

		if (!source_may_open(&l->sources, s, e->now_ms)) {
			refuse(r, DROP_SOURCE_RATE, l->sources.rate,
			       source_rate(s, e->now_ms));
			goto refused;
		}
		if (l->max_per_source && s->flows >= l->max_per_source) {
			refuse(r, DROP_SOURCE_LIMIT, l->max_per_source,
			       s->flows);
			goto refused;
		}
	}
	if (l->max_proto[pc] &&
	    l->proto_count[pc] + (pc == PC_TCP ? l->kernel_held : 0) >=
		    l->max_proto[pc] &&
	    !make_room(e, l->cand[pc], false, DROP_PROTO_CAP, r)) {
		refuse(r, DROP_PROTO_CAP, l->max_proto[pc], l->proto_count[pc]);
		goto refused;
	}
	if (midstream && l->midstream_count >= l->max_midstream &&
	    !make_midstream_room(e, r)) {
		refuse(r, DROP_MIDSTREAM_CAP, l->max_midstream,
		       l->midstream_count);
		goto refused;
	}
	/* The reserve is for exempt sources: not for pickups, which anyone
	 * can forge with a bare ACK from any address. */
	limit = l->max_flows - l->reserve;
	if (l->flows + l->kernel_held >= limit &&
	    !make_room(e, l->cand[PC_COUNT], false, DROP_TABLE_FULL, r)) {
		refuse(r, DROP_TABLE_FULL, limit, l->flows);
		goto refused;
	}
	/* Got only now: making room may have freed the source's entry. */
	*src = source_get(&l->sources, p->family, p->src, bits, e->now_ms);
	if (*src != SOURCE_NIL || !policy_on_sources(l))
		return true;
	/* Uncounted, this source would be under no per-source limit for
	 * the life of its flow: make room for it, or refuse it. */
	if (reclaim_source(e, r))
		*src = source_get(&l->sources, p->family, p->src, bits,
				  e->now_ms);
	if (*src != SOURCE_NIL)
		return true;
	return refuse(r, DROP_SOURCE_FULL, l->sources.slab.capacity,
		      l->sources.count);
refused:
	/* Found again: making room may have freed it. */
	idx = source_find(&l->sources, p->family, p->src, bits);
	if (idx != SOURCE_NIL) {
		struct source *s = source_at(&l->sources, idx);

		s->refused += s->refused < UINT32_MAX;
	}
	return false;
}

/* Count a flow just made; note the warning mark and the adaptive scale. */
static void opened(struct engine *e, struct flow *f, enum proto_class pc,
		   uint32_t src)
{
	struct policy *l = e->pol;

	f->source = src;
	l->flows++;
	if (f->flags & FLOW_F_EXEMPT)
		l->exempt_count++;
	else
		l->proto_count[pc]++;
	if (f->flags & FLOW_F_MIDSTREAM)
		l->midstream_count++;
	if (src != SOURCE_NIL)
		source_opened(&l->sources, src, e->now_ms);
	else if (!(f->flags & FLOW_F_EXEMPT))
		e->st.flows_unsourced++;
	if (l->warn_at && !l->warn &&
	    (uint64_t)l->flows * 100 >= (uint64_t)l->warn_at * l->max_flows) {
		l->warn = true;
		e->events |= ENGINE_EV_WARN_ON;
		e->st.warnings++;
	}
	if (l->adaptive_end &&
	    l->flows - e->adaptive_count >=
		    (l->adaptive_end - l->adaptive_start) / 1000 + 1)
		policy_adapt(e);
}

/*
 * Would a new flow of p meet a full limit that the kernel's fast flows
 * may fill (engine_fastpath_settle())? *src: the source whose
 * max_flows_per_source is full (at most once a second for each source,
 * noted in it), else SOURCE_NIL. Under the lock. O(1): a lookup in the
 * source table when per-source limits are on.
 */
static bool pressed(const struct engine *e, const struct pkt *p,
		    enum proto_class pc, bool exempt, uint32_t *src)
{
	struct policy *l = e->pol;

	*src = SOURCE_NIL;
	if (exempt)
		return l->exempt_count >= l->max_exempt ||
		       l->flows + l->kernel_held >= l->max_flows;
	if (l->max_per_source) {
		uint32_t idx = source_find(&l->sources, p->family, p->src,
					   engine_source_bits(e, p->family));

		struct source *s =
			idx != SOURCE_NIL ? source_at(&l->sources, idx) : NULL;

		/* Once a second a source: one that floods at its limit
		 * must not spend every tick's checks on its own refusals,
		 * others' included. */
		if (s && s->flows >= l->max_per_source) {
			if (s->settled == e->now + 1)
				return false;
			s->settled = e->now + 1;
			*src = idx;
			return true;
		}
	}
	return (l->max_proto[pc] &&
		l->proto_count[pc] + (pc == PC_TCP ? l->kernel_held : 0) >=
			l->max_proto[pc]) ||
	       l->flows + l->kernel_held >= l->max_flows - l->reserve;
}

uint32_t policy_kernel_room(const struct policy *l)
{
	uint32_t limit = l->max_flows - l->reserve, room, used;

	if (l->nexempt || policy_on_sources(l))
		return 0;
	used = l->flows + l->kernel_held;
	room = used < limit ? limit - used : 0;
	if (l->max_proto[PC_TCP]) {
		uint32_t cap = l->max_proto[PC_TCP];

		used = l->proto_count[PC_TCP] + l->kernel_held;
		if (used >= cap)
			return 0;
		if (room > cap - used)
			room = cap - used;
	}
	return room / 2;
}

struct flow *policy_open(struct engine *e, const struct flow_key *k,
			 uint64_t hash, bool swapped, bool midstream,
			 const struct proto_tracker *t, const struct pkt *p,
			 struct engine_result *r)
{
	struct policy *l = e->pol;
	bool exempt = l->nexempt && policy_exempt(l, p->family, p->src);
	uint32_t src, aux = 0;
	struct flow *f;

	/* From the limits' word to the flow counted, so that two queues'
	 * threads cannot both take the last place. */
	engine_lock(e);
	/* A limit full of flows the kernel carries: their real state first
	 * (the kernel asked out of the lock), then the limits decide. */
	if (e->fast_live && engine_fastpath_may_settle(e) &&
	    pressed(e, p, (enum proto_class)t->pclass, exempt, &src)) {
		engine_unlock(e);
		engine_fastpath_settle(e, src);
		engine_lock(e);
	}
	if (!admit(e, p, t, exempt, midstream, &src, r)) {
		engine_unlock(e);
		return NULL;
	}
	/* As many TCP states as flows: never short, but for a reload that
	 * grew this slab and not the flows'. */
	if (t->state)
		aux = slab_alloc(&e->tcp);
	f = aux == SLAB_NIL ?
		    NULL :
		    flow_table_insert(&e->table, k, hash, e->now,
				      AGE_LIST(t->tclass, exempt, true));
	if (!f) {
		if (t->state && aux != SLAB_NIL)
			slab_free(&e->tcp, aux);
		if (src != SOURCE_NIL)
			source_settle(&l->sources, src, e->now_ms);
		refuse(r, DROP_TABLE_FULL, l->max_flows, l->flows);
		engine_unlock(e);
		return NULL;
	}
	f->flags = (uint8_t)((swapped ? FLOW_F_ORIG_HI : 0) |
			     (exempt ? FLOW_F_EXEMPT : 0) |
			     (midstream && !exempt ? FLOW_F_MIDSTREAM : 0));
	f->tclass = t->tclass;
	/* TCP's and SCTP's state slot (set up by their trackers), or the
	 * others' word. */
	f->aux = t->state ? aux : proto_new_aux(t, e->now_ms);
	opened(e, f, (enum proto_class)t->pclass, src);
	engine_unlock(e);
	return f;
}
