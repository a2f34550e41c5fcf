/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * policy.h - admission and eviction: whether a packet may open a flow,
 * which flow gives way when a limit is full, adaptive timeouts, and the
 * counts they all read. One struct policy per group of engines (group.h),
 * built once from the parameters; the engines of the group share it, so
 * that max_flows, the per-protocol caps and the per-source limits hold for
 * the group exactly.
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
 * Every flow sits on the age list of its timeout class, exempt or not,
 * evictable (not assured, or TCP closing) or not, so that expiry,
 * adaptive timeouts and eviction all work on list ends and never scan the
 * table: each decision here is O(lists), not O(flows).
 *
 * Locking: in a group whose engines run on threads of their own, the
 * counts and the source table change under the group's lock, which the
 * caller passes in as struct policy_lock (the core links no thread
 * library). An engine takes it only to open or free a flow, for the
 * rare packet that changes what a flow counts for (a pickup answered, a
 * connection closed or revived), and once a tick: never for the other
 * packets of a flow that exists. Each function below says whether it
 * takes the lock or expects its caller (engine.c) to hold it.
 *
 * The policy is one module with the engine and the group: it acts on an
 * engine's table and counters (evicting, counting what it refused), as
 * the kernel's early drop acts on nf_conntrack_core's table.
 */
#ifndef NFQT_POLICY_H
#define NFQT_POLICY_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#include "flow.h"
#include "params.h"
#include "sctp.h"
#include "source.h"
#include "tcp.h"
#include "timeout.h"

/* Age lists: one per timeout class, exempt or not, evictable or not. */
#define AGE_LIST(tclass, exempt, evictable) \
	((uint8_t)((tclass)*4 + ((exempt) ? 2 : 0) + ((evictable) ? 1 : 0)))
#define AGE_LISTS (TMO_COUNT * 4)

/*
 * Flows the kernel's fast path carries (FLOW_F_FAST) are on lists of
 * their own, one per kernel set and timeout (fastpath.h), exempt or not,
 * after the age lists. The table never expires them (their table timeout
 * is UINT32_MAX): when their time in the engine's fast.check[] runs out
 * (their set's timeout, or fastpath_check_interval if shorter),
 * engine_tick() asks the kernel whether they live (enginelife.c).
 */
enum fast_kind {
	FAST_OPEN, /* TCP admitted, handshake: timeout_tcp_syn_recv */
	FAST_EST, /* TCP established: timeout_tcp_established */
	FAST_CLOSING, /* TCP after a FIN: timeout_tcp_time_wait */
	FAST_CLOSE, /* TCP after a RST: timeout_tcp_close */
	FAST_UDP, /* UDP: timeout_udp_stream */
	FAST_KINDS
};

#define FAST_LIST(kind, exempt) \
	((uint8_t)(AGE_LISTS + (kind)*2 + ((exempt) ? 1 : 0)))
#define FAST_LIST_KIND(list) ((enum fast_kind)(((list)-AGE_LISTS) / 2))
#define TABLE_LISTS (AGE_LISTS + FAST_KINDS * 2)
_Static_assert(TABLE_LISTS <= FLOW_LISTS_MAX, "age lists fit the table");

/* A set of age lists to evict from. */
struct list_set {
	uint8_t n;
	uint8_t id[TABLE_LISTS];
};

/* The engines of one group at most (one per queue). */
#define POLICY_TABLES_MAX 16

/*
 * The group's lock, given by whoever runs the engines on threads (the
 * daemon: a pthread mutex, mutex.h). lock NULL: one thread, no lock. An
 * indirect call only where a mutex call was anyway; the established path
 * takes neither.
 */
struct policy_lock {
	void (*lock)(void *arg);
	void (*unlock)(void *arg);
	void *arg;
};

struct policy {
	/* From the parameters (policy_configure()). */
	uint32_t max_flows;
	uint32_t on_full; /* enum on_full */
	uint32_t reserve;
	uint32_t max_proto[PC_COUNT];
	uint32_t max_per_source;
	uint32_t max_exempt; /* flows of exempt sources at most */
	uint32_t max_midstream; /* unanswered TCP pickups at most */
	bool exempt_evict_assured;
	bool enforce; /* as the engines' (for the views) */
	uint8_t prefix4, prefix6; /* a source is an address cut to these */
	uint32_t warn_at; /* percent */
	uint32_t adaptive_start, adaptive_end; /* flows */
	uint32_t adaptive_factor;
	uint32_t nexempt;
	struct prefix exempt[PARAMS_EXEMPT_MAX];
	/* Eviction candidates by protocol class (PC_COUNT: any): [0] not
	 * assured or closing, [1] the others; the same split among exempt
	 * flows. */
	struct list_set cand[PC_COUNT + 1][2];
	struct list_set exempt_cand[2];
	/* The counts, in every table of the group. */
	struct policy_lock lock;
	uint32_t flows;
	uint32_t proto_count[PC_COUNT]; /* flows not exempt, by class */
	uint32_t exempt_count;
	uint32_t midstream_count; /* flows with FLOW_F_MIDSTREAM */
	/* Places the kernel holds under its admission budget
	 * (fastpath_kernel_admit): granted and not yet learned. Every limit
	 * counts them as taken, as TCP flows, so that the daemon's own
	 * admissions and the kernel's never share a place: flows +
	 * kernel_held stays within each limit. */
	uint32_t kernel_held;
	bool warn; /* past warn_at */
	struct source_table sources;
	/* The group's tables, for an ICMP error that reaches another queue
	 * than the flow it quotes: the kernel balances queues by addresses,
	 * and an error's are not its flow's. Changes to a table's chains
	 * take the lock, so that others may look in (flow_table_find()). */
	unsigned ntables;
	const struct flow_table *table[POLICY_TABLES_MAX];
};

struct engine;
struct engine_result;
struct pkt;
struct proto_tracker;

/* Make the limits of a group for p, the source table hashed under hkey;
 * lk NULL: one thread. Returns 0, or -1 with errno set. */
int policy_init(struct policy *l, const struct engine_params *p,
		const struct hash_key *hkey, const struct policy_lock *lk);
void policy_destroy(struct policy *l);

/* Take p's limits (not the source table's size: policy_resize()). O(1). */
void policy_configure(struct policy *l, const struct engine_params *p);

/* Grow the source table for p and take its rate. Returns 0, or -1 with
 * errno set and nothing changed. */
int policy_resize(struct policy *l, const struct engine_params *p);

/* Add or remove a table of the group (for ICMP errors). Returns 0, or -1
 * with errno ENOSPC past POLICY_TABLES_MAX. */
int policy_add_table(struct policy *l, const struct flow_table *t);
void policy_remove_table(struct policy *l, const struct flow_table *t);

/* The exempt list and source prefixes flows are counted by. */
struct policy_keys {
	uint32_t nexempt;
	struct prefix exempt[PARAMS_EXEMPT_MAX];
	uint8_t prefix4, prefix6;
};

void policy_keys_of(struct policy_keys *k, const struct engine_params *p);
void policy_get_keys(const struct policy *l, struct policy_keys *k);
void policy_set_keys(struct policy *l, const struct policy_keys *k);
bool policy_keys_equal(const struct policy_keys *a,
		       const struct policy_keys *b);

/* Count every flow of e's table again under the keys now set; first:
 * e's is the group's first table, whose recount clears the counts.
 * O(flows log flows). None of the group's engines may run meanwhile (no
 * lock). Returns 0, or -1 with errno set before any flow moved. */
int policy_recount(struct engine *e, bool first);

/* Is addr (of family) exempt? O(exempt prefixes). */
bool policy_exempt(const struct policy *l, uint8_t family, const void *addr);

/* Is any per-source limit configured? */
static inline bool policy_on_sources(const struct policy *l)
{
	return l->max_per_source || l->sources.rate;
}

/*
 * fastpath_kernel_admit: how many new TCP flows the kernel may be
 * granted now under every limit: half the room that the table
 * (max_flows less reserve) and TCP's cap leave once the flows and what
 * the kernel holds are counted, the other half kept for the daemon's own
 * admissions; none with per-source limits or exempt sources, which one
 * budget for all sources cannot keep. Under the lock. O(1).
 */
uint32_t policy_kernel_room(const struct policy *l);

/*
 * Open the flow of packet p (key k, hash), under every limit: admit it,
 * maybe evicting to make room (then r->evicted says which), insert it on
 * its age list, take its state slot if its tracker t keeps one, and count
 * it for its source, its class, the warning mark and the adaptive scale.
 * swapped: p's sender is the key's second end; midstream: a TCP
 * connection picked up mid-stream. Takes the group's lock for all of it,
 * so that two queues' threads cannot both take the last place. Returns
 * the flow, or NULL with the refusal in r. O(lists).
 */
struct flow *policy_open(struct engine *e, const struct flow_key *k,
			 uint64_t hash, bool swapped, bool midstream,
			 const struct proto_tracker *t, const struct pkt *p,
			 struct engine_result *r);

/* Count flow f gone, however it went. Under the lock. O(1). */
void policy_closed(struct engine *e, const struct flow *f);

/* TCP pickup f was answered: out of the pickups' budget. Takes the lock. */
void policy_answered(struct engine *e, struct flow *f);

/* TCP flow f no longer counts for its source (closed). Takes the lock. */
void policy_source_done(struct engine *e, struct flow *f);

/* Closed TCP flow f carries data again: it counts for its source again.
 * Takes the lock. */
void policy_revive(struct engine *e, struct flow *f);

/* The timeouts in effect on every age list of e, at its adaptive scale.
 * O(lists). */
void policy_set_timeouts(struct engine *e);

/* pf's adaptive timeouts for e: recompute its scale from the group's
 * count (under the lock, or with the engines paused). O(lists) when the
 * scale changes, else O(1). */
void policy_adapt(struct engine *e);

/* A tick's share, under the lock: idle sources freed (bounded), adaptive
 * scale, the warning mark's hysteresis. */
void policy_tick(struct engine *e);

static inline bool policy_tcp_closing(uint8_t state)
{
	return state >= TCP_S_FIN_WAIT && state <= TCP_S_CLOSE;
}

/* May early_drop take f? The kernel's rule: not assured, or a TCP
 * connection or SCTP association that is already closing. */
static inline bool policy_evictable(const struct flow *f)
{
	return !(f->flags & FLOW_F_ASSURED) ||
	       (f->proto == IPPROTO_TCP && policy_tcp_closing(f->state)) ||
	       (f->proto == IPPROTO_SCTP && sctp_closing(f->state));
}

/* The age list flow f belongs on, were the daemon to carry it (not the
 * fast lists). Inline: on the established path. */
static inline uint8_t policy_list_of(const struct flow *f)
{
	return AGE_LIST(f->tclass, f->flags & FLOW_F_EXEMPT,
			policy_evictable(f));
}

/* A TCP connection that is over (TIME_WAIT, CLOSE) no longer counts for
 * its source, as with the kernel's connlimit: a client that closes and
 * reconnects is not one that holds many. But a closed one that carries
 * data again (FLOW_F_REVIVED) is in use, whatever its state says. */
static inline bool policy_counts_for_source(const struct flow *f)
{
	return f->proto != IPPROTO_TCP ||
	       (f->state != TCP_S_TIME_WAIT &&
		(f->state != TCP_S_CLOSE || (f->flags & FLOW_F_REVIVED)));
}

#endif
