/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * engine.h - from a packet to a verdict: parse, find or create the flow,
 * track its state, apply the limits, count every outcome.
 *
 * The packet path only: a packet is parsed (pkt.h), its flow looked up
 * (flow.h), tracked by its protocol's tracker (proto.h; tcp.h, sctp.h),
 * opened if the limits admit it (policy.h), and given a verdict. The
 * engines of all queues make a group (group.h), which shares their limits
 * and gives every view across them.
 *
 * Two files implement it: engine.c the packet path (engine_packet(),
 * engine_packets(): prepare, track, decide; engine_flow_left(), which
 * TCP tracking calls too), enginelife.c all the rest
 * (engine_init() to engine_destroy(), engine_resize() and
 * engine_configure(), engine_tick()'s housekeeping, engine_flush_step(),
 * the reasons' names), none of which runs per packet. The inline helpers
 * here are the packet path's and the views'.
 *
 * The engine is pure: no sockets, no clock, no logging. The caller sets
 * the time (engine_set_time), feeds packets, and logs what the returned
 * verdict and reason say. The daemon, the tests and an offline replay all
 * drive the very same code.
 */
#ifndef NFQT_ENGINE_H
#define NFQT_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "fastpath.h"
#include "flow.h"
#include "flowevent.h"
#include "group.h"
#include "policy.h"
#include "params.h"
#include "pkt.h"
#include "source.h"
#include "tcp.h"

enum verdict { VERDICT_ACCEPT, VERDICT_DROP };

/* Why a packet was dropped (or, for the invalid ones, would be under
 * invalid_verdict = drop). Keep engine_drop_name() in step. */
enum drop_reason {
	DROP_NONE,
	DROP_TABLE_FULL, /* would create a flow, table at max_flows */
	DROP_MALFORMED, /* pkt_parse() said malformed */
	DROP_INVALID, /* well formed, but not valid for its flow */
	DROP_FRAGMENT, /* a non-first fragment, fragment_verdict = drop */
	DROP_SOURCE_LIMIT, /* its source holds max_flows_per_source */
	DROP_SOURCE_RATE, /* its source is over max_new_per_source */
	DROP_PROTO_CAP, /* its protocol holds max_flows_<proto> */
	DROP_CHAIN, /* its hash chain holds FLOW_CHAIN_MAX flows */
	DROP_SOURCE_FULL, /* no room to count a new source, and per-source
			   * limits are on */
	DROP_EXEMPT_CAP, /* exempt sources hold exempt_max_percent */
	DROP_MIDSTREAM_CAP, /* unanswered TCP pickups at their budget */
	DROP_REASON_COUNT
};

/* Why a flow was evicted to make room. Keep engine_evict_name() in step. */
enum evict_reason {
	EVICT_NONE,
	EVICT_EARLY_DROP, /* not assured, or TCP closing */
	EVICT_IDLE, /* assured, idle longest (on_full = evict_idle) */
	EVICT_FOR_EXEMPT, /* any, for an exempt source's new flow */
	EVICT_REASON_COUNT
};

/* Things the caller may want to log, set by the engine, cleared by the
 * caller. */
enum engine_event {
	ENGINE_EV_WARN_ON = 1 << 0, /* the table went past warn_at */
	ENGINE_EV_WARN_OFF = 1 << 1, /* and fell back under it */
};

/* What made a well-formed packet invalid. Keep engine_invalid_name()
 * in step. */
enum invalid_reason {
	INV_NONE,
	INV_TCP_FLAGS, /* impossible flag combination */
	INV_TCP_NEW, /* cannot open a flow (RST, FIN, SYN-ACK, ...) */
	INV_TCP_STATE, /* not valid in the flow's state */
	INV_TCP_WINDOW, /* outside the sequence or ACK window */
	INV_TCP_RST, /* a RST with an unbelievable sequence number */
	INV_UDPLITE_CSUM, /* UDP-Lite without the checksum it mandates */
	INV_ICMP_NEW, /* ICMP reply or other type without a request */
	INV_ICMP_ERROR_FLOW, /* ICMP error about no flow we know */
	INV_ICMP_ERROR_ADDR, /* ICMP error not addressed to the flow's end */
	INV_IPV6_NO_NEXT, /* IPv6 with no next header: nothing to track */
	INV_CHECKSUM, /* wrong checksum, or a RST too long to check */
	INV_SCTP_CHUNKS, /* SCTP chunks missing, empty or misplaced */
	INV_SCTP_NEW, /* cannot open an association (RFC 9260 8.4) */
	INV_SCTP_VTAG, /* SCTP verification tag check failed */
	INV_SCTP_STATE, /* not valid in the association's state */
	INV_REASON_COUNT
};

/*
 * The packet's state as the kernel's conntrack match names it
 * (--ctstate), for the state marks (mark.h): what a ruleset after the
 * queue rule matches on. Set for every accepted packet (shadow ones too),
 * CT_STATE_NONE for a dropped one. The values are the mark's state field.
 */
enum ct_state {
	CT_STATE_NONE,
	CT_STATE_NEW, /* opens a flow, or of one not yet answered */
	CT_STATE_ESTABLISHED, /* of a flow that has seen a reply, or a reply */
	CT_STATE_RELATED, /* an ICMP error about a flow in the table */
	CT_STATE_INVALID, /* malformed or invalid, accepted (invalid_verdict) */
	CT_STATE_UNTRACKED, /* left untracked: neighbour discovery, fragments */
	CT_STATE_COUNT
};

/* Every counter. Monotonic; read them whole for `nfqtrackctl stats`. */
struct engine_stats {
	uint64_t packets;
	uint64_t accepted;
	uint64_t dropped;
	uint64_t drop[DROP_REASON_COUNT];
	uint64_t state[CT_STATE_COUNT]; /* accepted packets by their state;
					 * [CT_STATE_NONE] stays 0 */
	uint64_t malformed[PKT_ERR_COUNT];
	uint64_t invalid[INV_REASON_COUNT];
	uint64_t fragments; /* non-first fragments: no transport header */
	uint64_t icmp_related; /* ICMP errors that matched a flow */
	uint64_t untracked; /* neighbour discovery and the like */
	uint64_t tcp_ignored; /* TCP packets passed without belief (the
				* kernel's "ignored": out of step, maybe ok) */
	uint64_t flows_created;
	uint64_t flows_reopened; /* TCP connections reusing closed ports */
	uint64_t flows_revived; /* closed TCP flows carrying data again */
	uint64_t checksums_verified; /* packets whose checksum we summed */
	uint64_t flows_closed; /* removed at once: RST before any reply */
	uint64_t flows_evicted;
	uint64_t evicted[EVICT_REASON_COUNT];
	uint64_t would_drop; /* enforce = no: dropped, had it been yes */
	uint64_t would[DROP_REASON_COUNT];
	uint64_t flows_unsourced; /* made with no room to count the source */
	uint64_t flows_flushed; /* removed by request (nfqtrackctl flush) */
	uint64_t warnings; /* times the table went past warn_at */
	/* The kernel fast path (fastpath.h, engine_fastpath_set()). */
	uint64_t fastpath_admitted; /* packets whose verdict admits */
	uint64_t fastpath_checks; /* fast flows asked of the kernel */
	uint64_t fastpath_early; /* of those, for a full limit (settle) */
	uint64_t fastpath_alive; /* of those, found in a set */
	uint64_t fastpath_ended; /* found in none: reclaimed */
	uint64_t fastpath_forgotten; /* removed from the sets by the daemon */
	uint64_t fastpath_errors; /* queries or removals that failed */
	uint64_t fastpath_learned; /* SYNs the kernel admitted, learned */
	uint64_t fastpath_unlearned; /* of those, taken back: not admissible */
	uint64_t fastpath_filtered; /* judged, then dropped by the filter */
	uint64_t events_emitted; /* flow events handed to the sink */
};

/*
 * The kernel's side of the fast path, as callbacks (the worker's, on its
 * own fastpath_nl; tests give fakes), so that the engine stays pure: the
 * same contracts as fastpath_query(), fastpath_forget() and
 * fastpath_flush(). Called from engine_tick(), engine_fastpath_sync()
 * and engine_fastpath_flush(), and on the packet path only for a FIN or
 * RST of a fast flow with accounting (one query) and when more freed fast
 * flows wait than a batch holds.
 */
struct engine_fastpath_ops {
	int (*query)(void *arg, const struct fastpath_tuple *t, unsigned n,
		     bool reset, struct fastpath_flow *out);
	int (*forget)(void *arg, const struct fastpath_tuple *t, unsigned n);
	int (*flush)(void *arg);
	void *arg;
};

/* The fast path as the engine runs it. */
struct engine_fastpath {
	bool on; /* admit flows (ops set) */
	uint32_t udp_after; /* UDP packets before admission; 0: never */
	struct engine_fastpath_ops ops;
	uint32_t timeout[FAST_KINDS]; /* seconds, the kernel sets' */
	/* Seconds from a fast flow's last_seen (its admission, or its last
	 * check) to its next check: its list's timeout, or
	 * fastpath_check_interval when that is shorter (engine_configure()). */
	uint32_t check[FAST_KINDS];
	/* Freed fast flows whose elements are still to be removed: before
	 * the verdicts of the batch that freed them go out (a reopened
	 * flow's admission would be removed too, else), at the latest. */
	unsigned npending;
	struct fastpath_tuple pending[FASTPATH_BATCH_MAX];
	/* Early checks (engine_fastpath_settle()) left this tick. */
	uint32_t settle_left;
};

struct engine {
	struct flow_table table;
	struct policy *pol; /* the group's */
	struct group *grp; /* the group it is in: &own for a lone one */
	bool locked; /* holds the group's lock */
	bool guarded; /* took it for a change to the table's chains */
	/* The packet path's parameters. */
	bool invalid_drop, fragment_drop, copy_range_drop;
	bool checksum; /* verify checksums the kernel has not (PKT_F_CSUM) */
	bool enforce;
	/* The fast path is on, or fast flows remain from when it was: the
	 * packet path's one test of it (engine_fastpath_set(), the tick). */
	bool fast_live;
	/* Neither fast_live nor a sink wanting events: the packet path's
	 * one test of both (track()), kept by enginelife.c. */
	bool plain;
	uint32_t timeouts[TMO_COUNT]; /* configured, by timeout class */
	uint32_t list_timeout[TABLE_LISTS]; /* in effect, by age list;
					     * UINT32_MAX on the fast ones */
	uint32_t adaptive_permille; /* timeouts' scale; 1000: full */
	uint32_t adaptive_count; /* the flow count it was computed at */
	uint32_t events; /* enum engine_event */
	struct tcp_params tcp_params;
	uint32_t now; /* seconds */
	uint64_t now_ms; /* the same clock, in milliseconds */
	/* engine_packets() stages a batch (prefetching) from this many
	 * flows in the table on; below, the table is in the caches. */
	uint32_t batch_min_flows;
	/* TCP flows' struct flow_tcp, named by the flow's aux word: out of
	 * the flow object, which most flows of a busy table (UDP, ICMP)
	 * would not use, and which lookups read. Capacity max_flows,
	 * populated as use grows, as the flow slabs are. */
	struct slab tcp;
	/* accounting = yes: counters by flow reference, acct[0] for IPv4
	 * flows and acct[1] for IPv6, each by index in its slab and as
	 * large; used as arrays, never allocated from, populated in step
	 * with the flow slabs. Both empty (base NULL) when off. */
	bool accounting;
	struct slab acct[2];
	struct engine_fastpath fast;
	/* Flow events (flowevent.h): types 0 while nobody wants any, the
	 * packet path's one test per flow change. */
	struct flow_event_sink sink;
	/* Why the flow being removed goes (enum flow_end), set by the
	 * remove sites for on_release()'s DESTROY; FEND_NONE: expired.
	 * ENGINE_END_SILENT: a flow that never had its NEW. */
	uint8_t end, end_evict;
	/* engine_tick()'s FEV_ACTIVE walk: where it stopped. */
	struct flow_cursor active_cur;
	struct engine_stats st;
	struct group own; /* a lone engine's group of one */
};

/* What engine_packet() decided, with what the caller needs to log it. */
struct engine_result {
	enum verdict verdict;
	uint8_t ct_state; /* enum ct_state */
	bool ct_reply; /* sent the reply way (--ctdir REPLY) */
	bool ct_assured; /* its flow is assured (--ctstatus ASSURED) */
	enum drop_reason reason; /* also set for accepted invalid packets */
	uint8_t invalid; /* enum invalid_reason */
	bool shadow; /* dropped, had enforce been yes; accepted */
	bool fast_admit; /* the kernel is to carry its flow: the verdict
			  * carries admit_mark (fastpath.h) */
	uint8_t evicted; /* enum evict_reason: a flow was evicted for it */
	uint32_t limit, count; /* a refusal's limit and what reached it */
	struct evicted_flow {
		struct flow_key key;
		bool orig_hi; /* as FLOW_F_ORIG_HI */
		uint8_t state; /* TCP state */
		uint8_t cause; /* DROP_TABLE_FULL or DROP_PROTO_CAP */
		uint32_t idle; /* seconds */
	} ev; /* valid when evicted */
	struct pkt pkt;
	/* For a packet of a flow (pkt.kind PKT_FLOW): its key, hash and
	 * which end of the key sent it, found before it is tracked. */
	struct flow_key key;
	uint64_t hash;
	bool swapped;
};

/* One packet of a batch, as engine_packet() takes it. */
struct engine_input {
	const uint8_t *buf;
	size_t caplen, wirelen;
	unsigned int flags; /* PKT_F_* */
};

#define ENGINE_END_SILENT FEND_COUNT

/* The counters of flow f, or NULL when accounting is off. */
static inline struct flow_acct *engine_flow_acct(const struct engine *e,
						 const struct flow *f)
{
	uint32_t ref;

	if (!e->accounting)
		return NULL;
	ref = flow_ref(&e->table, f);
	return slab_ptr(&e->acct[ref >> 31], FLOW_REF_INDEX(ref));
}

/* Remove flow f, its FEV_DESTROY saying end (on_release()'s). */
static inline void engine_remove(struct engine *e, struct flow *f, unsigned end)
{
	e->end = (uint8_t)end;
	flow_table_remove(&e->table, f);
	e->end = FEND_NONE;
}

/* Did flow f change, for a FEV_UPDATE, since its state byte and flags
 * were old_state and old_flags? The state byte of the protocols that
 * keep one there (TCP 6, SCTP 132: UDP counts packets in it), SEEN_REPLY
 * and ASSURED. */
static inline bool engine_flow_changed(const struct flow *f, uint8_t old_state,
				       uint8_t old_flags)
{
	bool stateful = f->proto == 6 || f->proto == 132;

	return (stateful && f->state != old_state) ||
	       ((f->flags ^ old_flags) & (FLOW_F_SEEN_REPLY | FLOW_F_ASSURED));
}

/* The TCP state of TCP flow f. */
static inline struct flow_tcp *engine_flow_tcp(const struct engine *e,
					       const struct flow *f)
{
	return slab_ptr(&e->tcp, f->aux);
}

/*
 * Make a lone engine (a group of one) for p, seeded with hkey. Reserves
 * all of the table's memory now, but commits only a share
 * (slab_reserve()); each engine_tick() commits what the flows made since
 * need. Returns 0, or -1 with errno set.
 */
int engine_init(struct engine *e, const struct engine_params *p,
		const struct hash_key *hkey, uint64_t now_ms);
void engine_destroy(struct engine *e);

/* engine_init() for an engine of group g, whose policy is made (for
 * group.c). e must be zeroed. */
int engine_init_member(struct engine *e, const struct engine_params *p,
		       const struct hash_key *hkey, uint64_t now_ms,
		       struct group *g);

/* group_reconfigure()'s first half for one engine: its table's, TCP
 * states' and counters' capacity and buckets for p. O(1) but for the
 * memory it maps; a new bucket count starts a rehash that the ticks carry
 * out. Returns 0, or -1 with errno set. */
int engine_resize(struct engine *e, const struct engine_params *p);

/* And its second: p's packet-path parameters and timeouts, counters off
 * if p says so. O(lists). */
void engine_configure(struct engine *e, const struct engine_params *p);

/* Bytes of e's table with what it keeps by flow: populated, or reserved. */
uint64_t engine_table_bytes(const struct engine *e, bool populated);

/*
 * The group's lock, when it has threads to keep apart (policy.h);
 * e->locked says whether this engine holds it, for the calls that may
 * come either way (a flow freed while one is opened, or on its own).
 */
static inline void engine_lock(struct engine *e)
{
	if (e->pol->lock.lock)
		e->pol->lock.lock(e->pol->lock.arg);
	e->locked = true;
}

static inline void engine_unlock(struct engine *e)
{
	e->locked = false;
	if (e->pol->lock.unlock)
		e->pol->lock.unlock(e->pol->lock.arg);
}

/* The group e is in, and its policy (limits and counts), to read. */
static inline struct group *engine_group(const struct engine *e)
{
	return e->grp;
}

static inline const struct policy *engine_policy(const struct engine *e)
{
	return e->pol;
}

/* The engine clock, in milliseconds from any fixed start; it never goes
 * back (a capture whose timestamps jump back just stalls it). */
static inline void engine_set_time(struct engine *e, uint64_t now_ms)
{
	if (now_ms > e->now_ms) {
		e->now_ms = now_ms;
		e->now = (uint32_t)(now_ms / 1000);
	}
}

/*
 * Decide on one IP packet (caplen bytes of it at buf, wirelen long;
 * flags as for pkt_parse()). Fills r. O(1) on average; no allocation,
 * no system call.
 */
void engine_packet(struct engine *e, const uint8_t *buf, size_t caplen,
		   size_t wirelen, unsigned int flags, struct engine_result *r);

/* How often engine_tick() is meant to run. */
#define ENGINE_TICK_MS 100

/* The housekeeping of one tick, bounded: reclaim expired flows (at most
 * ENGINE_EXPIRE_PER_TICK; more wait for the next tick or a lookup), move
 * a share of a rehash under way, free idle sources, recompute adaptive
 * timeouts and the warning mark, and commit memory for the flows to come
 * (slab_populate_ahead(): what was used since the last tick). Returns the
 * flows reclaimed. */
#define ENGINE_EXPIRE_PER_TICK 50000
uint32_t engine_tick(struct engine *e);

/*
 * engine_packet() for n packets in a row, with the same results: each
 * packet is parsed and hashed first and its bucket, then its flow,
 * prefetched, so that the memory latencies of a batch overlap instead of
 * adding up (a lookup in a large table is mostly waiting for DRAM).
 */
void engine_packets(struct engine *e, const struct engine_input *in,
		    unsigned int n, struct engine_result *r);

/* The prefix length sources of this family are counted by. */
static inline uint8_t engine_source_bits(const struct engine *e, uint8_t family)
{
	return family == 6 ? e->pol->prefix6 : e->pol->prefix4;
}

/*
 * A share of a flush: remove the flows pred() accepts from at most
 * max_buckets buckets from *cur (see flow_table_remove_step), counting
 * them in *removed and flows_flushed. Returns true while buckets remain.
 */
bool engine_flush_step(struct engine *e, struct flow_cursor *cur,
		       uint32_t max_buckets,
		       bool (*pred)(const struct flow *f, void *arg), void *arg,
		       uint32_t *removed);

/*
 * Where e's flow events go (flowevent.h): s's copy, or none (s NULL or
 * its types 0). With none, the packet path tests one word per freed
 * flow and per refused one, nothing per packet (track()'s test of
 * e->plain was the fast path's), and builds nothing. Between batches.
 * O(1).
 */
void engine_set_event_sink(struct engine *e, const struct flow_event_sink *s);

/*
 * A FEV_DESTROY with reason end for every flow in e's table, through the
 * sink, the flows left as they are: the daemon's last word at stop
 * (FEND_STOPPED), workers stopped, with a sink that loses nothing
 * (evhub_direct_sink()). O(buckets + flows).
 */
void engine_events_all(struct engine *e, enum flow_end end);

/* The event of type t about flow f into e's sink (the sink wants t). Out
 * of line: the packet path's callers test the sink's types first. */
void engine_emit(struct engine *e, const struct flow *f,
		 enum flow_event_type t);

/* Seconds flow f has left to live, 0 if expired; for a fast flow, until
 * the kernel is next asked about it. */
uint32_t engine_flow_left(const struct engine *e, const struct flow *f);

/*
 * Turn the fast path on (ops non-NULL: admit flows, check and forget
 * them through ops) or off (ops NULL: admit none; fast flows still in
 * the table become the daemon's again at their next packet, and are
 * reclaimed, unasked, when their fast time runs out: with the table
 * gone from the kernel, their packets come to the queue). udp_after: as
 * fastpath_udp_after. Between batches (the worker parked). O(1).
 */
void engine_fastpath_set(struct engine *e,
			 const struct engine_fastpath_ops *ops,
			 uint32_t udp_after);

/* Remove the elements of the fast flows freed since the last call: one
 * forget per FASTPATH_BATCH_MAX of them, none when there are none. The
 * worker calls it before a batch's verdicts go out; the main thread
 * after a flush or a reload. */
void engine_fastpath_sync(struct engine *e);

/* Empty the kernel's sets (nfqtrackctl flush of the whole table), after
 * the flows went. Returns the callback's result; 0 when off. */
int engine_fastpath_flush(struct engine *e);

/*
 * Admission in the kernel (fastpath_kernel_admit; carrier.h): the grant
 * to give the kernel now (engine_kernel_room(): how many new TCP flows
 * it may admit under every limit, beyond those it holds); what it holds
 * once granted (engine_kernel_hold(): granted and not yet learned, which
 * every limit counts as taken); n SYNs of those learned
 * (engine_kernel_learned(), just before they go through
 * engine_packets(), which makes their flows: they count as flows from
 * then on), and of those, n the daemon took back
 * (engine_kernel_unlearned(): no flow admissible for it to carry); n
 * units it took for SYNs the admin's filter then dropped, returned
 * (engine_kernel_filtered(): never flows). Each takes the group's lock
 * once, or none. O(1).
 */
uint32_t engine_kernel_room(struct engine *e);
void engine_kernel_hold(struct engine *e, uint32_t held);
void engine_kernel_learned(struct engine *e, uint32_t n);
void engine_kernel_unlearned(struct engine *e, uint32_t n);
void engine_kernel_filtered(struct engine *e, uint32_t n);

/* Fast flows in e's table, on the fast lists. O(lists). */
uint32_t engine_fast_flows(const struct engine *e);

/* Between engine.c, enginelife.c and enginefast.c. The kernel's tuple of
 * flow f (its original direction). O(1). */
void engine_fastpath_tuple(const struct flow *f, struct fastpath_tuple *t);

/* Queue fast flow f's elements for removal (engine_fastpath_sync());
 * syncs at once when FASTPATH_BATCH_MAX wait already. */
void engine_fastpath_forget(struct engine *e, const struct flow *f);

/* Take back the removals engine_fastpath_forget() queued for f's ports
 * (either way round) and not yet sent: a connection reusing them is
 * admitted again, and the admission replaces the old elements in the
 * kernel (adds to est, deletes from close) with no netlink message. A
 * removal there costs a transaction, ~50 us: on a busy web server whose
 * clients reuse ports, once a connection. */
void engine_fastpath_unforget(struct engine *e, const struct flow *f);

/* Who asked the kernel about a fast flow (engine_fastpath_found()). */
enum fast_found {
	FOUND_SEEN, /* a packet of it reached the daemon (fast_seen()) */
	FOUND_EARLY, /* a limit it fills (engine_fastpath_settle()) */
	FOUND_TICKED, /* engine_tick(): its check time ran out */
};

/* What the kernel holds of fast flow f (k, from a query with reset when
 * accounting): its counters added, its state as the sets say, relisted
 * (FOUND_EARLY: one still in its handshake stays where it is, flagged
 * FLOW_F_CHECKED); in no set: reclaimed (returns true) unless how is
 * FOUND_SEEN, which leaves it as it is. */
bool engine_fastpath_found(struct engine *e, struct flow *f,
			   const struct fastpath_flow *k, enum fast_found how);

/* engine_tick()'s checks of the fast flows whose check time ran out, in
 * up to a few batches (a round trip to the kernel each): how many it
 * reclaimed. */
uint32_t engine_fastpath_check(struct engine *e);

/*
 * A new flow would meet a limit that is full (policy_open(), out of the
 * lock): the fast flows that may fill it are asked about before the
 * limits decide, so that the decision reads their real state, not the
 * admission's. src: the source whose max_flows_per_source is full (only
 * its flows are asked about), or SOURCE_NIL for the table or a cap. One
 * query of at most FASTPATH_BATCH_MAX flows: first those of the
 * handshake's lists not asked about since their admission, then the
 * established ones' oldest checked (not this second). Each found closed
 * becomes TIME_WAIT or CLOSE (early_drop may take it; it no longer counts
 * for its source), gone is reclaimed (unless admitted this second: its
 * verdict may be on its way still), established relisted as such (no
 * candidate), a handshake stays one. At most FAST_SETTLE_PER_TICK calls a
 * tick ask, and each walks at most FAST_SETTLE_VISITS flows: a flood of
 * refused packets costs a few queries a tick, then the limits decide as
 * they would. O(FAST_SETTLE_VISITS) and a netlink round trip.
 */
#define FAST_SETTLE_PER_TICK 4
#define FAST_SETTLE_VISITS 1024
void engine_fastpath_settle(struct engine *e, uint32_t src);

/* May engine_fastpath_settle() have work now? O(1): this tick's budget
 * left, and fast flows on the handshake's or the established lists. */
static inline bool engine_fastpath_may_settle(const struct engine *e)
{
	const struct flow_list *l = e->table.list;

	return e->fast.settle_left && (l[FAST_LIST(FAST_OPEN, 0)].count ||
				       l[FAST_LIST(FAST_OPEN, 1)].count ||
				       l[FAST_LIST(FAST_EST, 0)].count ||
				       l[FAST_LIST(FAST_EST, 1)].count);
}

const char *engine_drop_name(enum drop_reason r);
const char *engine_invalid_name(enum invalid_reason r);
const char *engine_evict_name(enum evict_reason r);
/* "new", "established", ...: as the metrics' label and the stats keys. */
const char *engine_state_name(enum ct_state s);

/* The names above as arrays, indexed by reason (for report.h). */
const char *const *engine_drop_names(void);
const char *const *engine_evict_names(void);

#endif
