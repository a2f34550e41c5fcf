/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * engine.h - from a packet to a verdict: parse, find or create the flow,
 * track its state, apply the limits, count every outcome.
 *
 * A packet that would open a flow passes the limits in this order: the
 * source's new-flow rate and flow count (unless its source is exempt),
 * its protocol's cap, for a TCP connection picked up mid-stream the
 * pickups' budget, then the table (max_flows, less the reserve, which is
 * for exempt flows). A full cap or table first reclaims an expired flow if
 * there is one, then does what on_full says: refuse, or evict the flow
 * idle longest among those not assured or TCP already closing
 * (early_drop), then among all (evict_idle). Exempt sources' flows pass
 * only their own cap (exempt_max_percent of max_flows, at least the
 * reserve), handled as on_full says among exempt flows, then the table:
 * when it is full, an exempt flow takes the place of the flow idle longest
 * among those early_drop may take, whatever on_full says, and of an
 * assured one only with exempt_evict_assured. Flows of exempt sources are
 * never evicted for others.
 *
 * A TCP connection picked up mid-stream (tcp_loose: its first packet is
 * not a SYN) counts in a budget of its own (midstream_max_percent of
 * max_flows) until it is answered and so assured: anyone can forge a bare
 * ACK from any address, and such flows must not take the table. At the
 * budget, early_drop and evict_idle evict the oldest unanswered pickup;
 * else the new one is refused (DROP_MIDSTREAM_CAP).
 *
 * Per-source limits hold whatever the number of sources: a new source
 * that finds no room in the source table (only possible when max_sources
 * is below max_flows) first takes the entry of the source whose one flow
 * early_drop would take next (that flow is evicted), and is otherwise
 * refused (DROP_SOURCE_FULL); its flow is made uncounted only when no
 * per-source limit is configured.
 *
 * The engine is pure: no sockets, no clock, no logging. The caller sets
 * the time (engine_set_time), feeds packets, and logs what the returned
 * verdict and reason say. The daemon, the tests and an offline replay all
 * drive the very same code.
 */
#ifndef NFQT_ENGINE_H
#define NFQT_ENGINE_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "conf.h"
#include "flow.h"
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

/* Every counter. Monotonic; read them whole for `nfqtrackctl stats`. */
struct engine_stats {
	uint64_t packets;
	uint64_t accepted;
	uint64_t dropped;
	uint64_t drop[DROP_REASON_COUNT];
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
};

/* Age lists: one per timeout class, exempt or not, evictable or not. */
#define ENGINE_LIST(tclass, exempt, evictable) \
	((uint8_t)((tclass)*4 + ((exempt) ? 2 : 0) + ((evictable) ? 1 : 0)))
#define ENGINE_LISTS (TMO_COUNT * 4)
_Static_assert(ENGINE_LISTS <= FLOW_LISTS_MAX, "age lists fit the table");

/* A set of age lists to evict from. */
struct list_set {
	uint8_t n;
	uint8_t id[ENGINE_LISTS];
};

/*
 * What the limits count: the flows of every table, by class, and the
 * sources. An engine has its own; the engines of a group (one per queue,
 * each on a thread of its own) share one, so that max_flows, the per
 * protocol caps and the per source limits hold for the group exactly. In
 * a threaded group, lock guards all of it, and an engine takes it only to
 * open or free a flow (and once a tick), never for a packet of a flow that
 * exists: each engine's table is its own, since the kernel's queue
 * balancing sends both directions of a flow to one queue. An ICMP error
 * is the exception: its addresses are not its flow's, so it may reach
 * any queue, and the flow it quotes is looked for in every table, under
 * the lock.
 */
struct engine_shared {
	pthread_mutex_t lock;
	bool threaded; /* take the lock */
	uint32_t flows; /* in every table of the group */
	uint32_t proto_count[PC_COUNT]; /* flows not exempt, by class */
	uint32_t exempt_count;
	uint32_t midstream_count; /* flows with FLOW_F_MIDSTREAM */
	bool warn; /* past warn_at */
	struct source_table sources;
	/* The group's engines, for an ICMP error that reaches another queue
	 * than the flow it quotes: the kernel balances queues by addresses,
	 * and an error's are not its flow's. Changes to a table's chains
	 * take the lock, so that others may look in (flow_table_has()). */
	unsigned nmembers;
	struct engine *member[CONF_QUEUES_MAX];
};

struct engine {
	struct flow_table table;
	struct engine_shared *sh; /* &own, or the group's */
	struct engine_shared own;
	bool locked; /* holds sh->lock */
	bool guarded; /* took it for a change to the table's chains */
	uint32_t max_flows;
	uint32_t invalid_verdict; /* enum conf_verdict */
	uint32_t fragment_verdict; /* enum conf_verdict */
	uint32_t copy_range_verdict; /* enum conf_verdict */
	bool checksum; /* verify checksums the kernel has not (PKT_F_CSUM) */
	uint32_t on_full; /* enum conf_on_full */
	uint32_t reserve;
	uint32_t max_proto[PC_COUNT];
	uint32_t max_per_source;
	uint8_t prefix4, prefix6; /* a source is an address cut to these */
	bool enforce;
	uint32_t warn_at; /* percent */
	uint32_t adaptive_start, adaptive_end; /* flows */
	uint32_t adaptive_factor;
	uint32_t nexempt;
	struct prefix exempt[CONF_EXEMPT_MAX];
	uint32_t timeouts[TMO_COUNT]; /* configured, by timeout class */
	uint32_t list_timeout[ENGINE_LISTS]; /* in effect, by age list */
	uint32_t adaptive_permille; /* timeouts' scale; 1000: full */
	uint32_t adaptive_count; /* the flow count it was computed at */
	/* Eviction candidates by protocol class (PC_COUNT: any): [0] not
	 * assured or closing, [1] the others. */
	struct list_set cand[PC_COUNT + 1][2];
	struct list_set any_open; /* every list of a non-exempt flow */
	struct list_set exempt_cand[2]; /* the same split, exempt flows */
	uint32_t max_exempt; /* flows of exempt sources at most */
	uint32_t max_midstream; /* unanswered TCP pickups at most */
	bool exempt_evict_assured;
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
	struct engine_stats st;
};

/* What engine_packet() decided, with what the caller needs to log it. */
struct engine_result {
	enum verdict verdict;
	enum drop_reason reason; /* also set for accepted invalid packets */
	uint8_t invalid; /* enum invalid_reason */
	bool shadow; /* dropped, had enforce been yes; accepted */
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

/* The TCP state of TCP flow f. */
static inline struct flow_tcp *engine_flow_tcp(const struct engine *e,
					       const struct flow *f)
{
	return slab_ptr(&e->tcp, f->aux);
}

/* Bytes of memory a group of n engines with this configuration may come
 * to hold: a full table of IPv6 TCP flows, the largest kind, in each. */
uint64_t engine_bytes(const struct conf *c, unsigned n);

/* Bytes of memory the n engines of a group hold now (populated, not
 * merely reserved). */
uint64_t engine_memory(struct engine *const *es, unsigned n);

/* Bytes of address space the n engines of a group have reserved: what
 * they may come to hold without a reload. */
uint64_t engine_reserved(struct engine *const *es, unsigned n);

/* The protocol class a flow of this protocol counts in. */
enum conf_proto_class engine_proto_class(uint8_t family, uint8_t proto);

/*
 * Make an engine for conf c, seeded with hkey. Reserves all of the
 * table's memory now, but commits only a share (slab_reserve()); each
 * engine_tick() commits what the flows made since need. Returns 0, or -1
 * with errno set.
 */
int engine_init(struct engine *e, const struct conf *c,
		const struct hash_key *hkey, uint64_t now_ms);
void engine_destroy(struct engine *e);

/*
 * The shared part of a group of engines, for conf c; threaded: the engines
 * will run on threads of their own. Returns 0, or -1 with errno set.
 */
int engine_shared_init(struct engine_shared *sh, const struct conf *c,
		       const struct hash_key *hkey, bool threaded);
void engine_shared_destroy(struct engine_shared *sh);

/* engine_init() for an engine of the group that shares sh. Destroy the
 * engines before sh. */
int engine_init_shared(struct engine *e, const struct conf *c,
		       const struct hash_key *hkey, uint64_t now_ms,
		       struct engine_shared *sh);

/*
 * Apply a new configuration to a running engine without losing flows:
 * limits and timeouts at once; a new bucket count by incremental rehash.
 * A new exempt list or source prefix recounts every flow's source: O(flows
 * log flows), once. Lowered limits keep the flows above them: new flows
 * are then handled as at a full limit. Returns 0, or -1 with errno set
 * and nothing changed.
 */
int engine_reconfigure(struct engine *e, const struct conf *c);

/* engine_reconfigure() for the n engines of a group, none of them running
 * meanwhile. */
int engine_group_reconfigure(struct engine *const *es, unsigned n,
			     const struct conf *c);

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
	return family == 6 ? e->prefix6 : e->prefix4;
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

/* Seconds flow f has left to live, 0 if expired. */
uint32_t engine_flow_left(const struct engine *e, const struct flow *f);

/* Every counter and gauge of the n engines of a group (counters summed),
 * by name, to emit(), in a fixed order: the common part of `nfqtrackctl
 * stats` and of a replay's. */
void engine_report(struct engine *const *es, unsigned n,
		   void (*emit)(void *arg, const char *key, uint64_t value),
		   void *arg);

/* The counters of the n engines of a group, summed into *sum. */
void engine_sum_stats(struct engine_stats *sum, struct engine *const *es,
		      unsigned n);

const char *engine_drop_name(enum drop_reason r);
const char *engine_invalid_name(enum invalid_reason r);
const char *engine_evict_name(enum evict_reason r);

/* The names above as arrays, indexed by reason (for report.h). */
const char *const *engine_drop_names(void);
const char *const *engine_evict_names(void);

#endif
