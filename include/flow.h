/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * flow.h - the flow table: keys, buckets, chains, lookup from either
 * direction, lazy and incremental expiry, incremental rehash.
 *
 * A flow is stored once, under a canonical key: of its two endpoints
 * (address, port), the smaller one comes first, so a packet and its reply
 * build the same key and find the same flow without a second chain entry.
 * The flow remembers which endpoint opened it (FLOW_F_ORIG_HI), and that
 * gives every packet its direction.
 *
 * Flows of the two families live in two slabs, each object as small as
 * its family allows (struct flow4, 44 bytes; struct flow6, 68), against
 * 128 bytes for one IPv6-wide layout: only the compact key is stored,
 * never the 40-byte struct flow_key that callers build and get back
 * (flow_key_get()). A flow is named by a 32-bit reference, its slab index
 * with FLOW_REF_V6 set for the IPv6 slab, so that both families share one
 * bucket array, one set of chains and the same age lists. Buckets hold
 * the reference of the first flow of a chain; flows link to the next by
 * reference. The bucket index is a SipHash of the key's meaningful words
 * (two for IPv4, five for IPv6) under a random per-run key (hash.h).
 * Protocol state that does not fit (TCP's windows) is the owner's, kept
 * elsewhere and named by the flow's aux word.
 *
 * Every flow is also on one of up to FLOW_LISTS_MAX age lists, chosen by
 * the caller (the engine keeps one per timeout class and kind of flow),
 * oldest first by the time the flow was last refreshed. All flows of a
 * list share one timeout, timeouts[list], looked up when checked and never
 * stored, so a reload or an adaptive change applies to every flow at once,
 * and a list's oldest flow is always the first of it to expire: expiry
 * pops expired flows off the lists' old ends (exact, O(1) per flow, no
 * scan), and the oldest flow of any set of lists is found by looking at
 * their old ends only, which is what eviction under pressure needs.
 * A lookup that meets an expired flow reclaims it too.
 *
 * Times ("now") are the engine's clock in seconds and must never go back:
 * list order and expiry rely on it.
 *
 * Ownership: the table owns its slabs, and with them every flow. Pointers to
 * flows are valid until the next call that may free or move flows
 * (lookup, insert, expire, migrate, remove, relist, grow). Not thread-safe,
 * with one way out: every change to the chains, the bucket arrays or the
 * objects in use happens between guard(arg, true) and guard(arg, false),
 * so that an owner whose guard takes a lock lets others call
 * flow_table_find() under that lock while it runs.
 */
#ifndef NFQT_FLOW_H
#define NFQT_FLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hash.h"
#include "slab.h"

#define FLOW_NIL SLAB_NIL

/* Canonical flow key. Addresses in network byte order (IPv4 in addr[i][0],
 * the other words zero), ports in host order. For ICMP queries port[0] is
 * the identifier and port[1] the request's type << 8 | code, whatever the
 * direction. Padding must be zero: keys compare as words. */
struct flow_key {
	uint32_t addr[2][4];
	uint16_t port[2];
	uint8_t family; /* 4 or 6 */
	uint8_t proto;
	uint8_t pad[2];
};

enum flow_flags {
	FLOW_F_ORIG_HI = 1 << 0, /* the originator is endpoint 1 of the key */
	FLOW_F_SEEN_REPLY = 1 << 1, /* a packet went the reply way */
	FLOW_F_ASSURED = 1 << 2, /* a real two-way exchange (conntrack's) */
	FLOW_F_EXEMPT = 1 << 3, /* opened by an exempt source */
	FLOW_F_MIDSTREAM = 1 << 4, /* TCP picked up mid-stream, not yet
				    * answered (engine.h) */
	FLOW_F_REVIVED = 1 << 5, /* the engine's: closed TCP carrying data */
	FLOW_F_FAST = 1 << 6, /* the engine's: carried by the kernel's fast
			       * path (fastpath.h), on a fast age list */
	FLOW_F_CHECKED = 1 << 7, /* the engine's: a fast flow of the
				  * handshake's list found still in its
				  * handshake by an early check */
};

enum flow_dir { FLOW_DIR_ORIGINAL = 0, FLOW_DIR_REPLY = 1 };

/* A flow's reference (bucket heads, chain and list links) names a slab
 * index in the IPv4 slab, or with this bit in the IPv6 one. */
#define FLOW_REF_V6 (1u << 31)
#define FLOW_REF_INDEX(ref) ((ref) & ~FLOW_REF_V6)

/*
 * What both families' flows hold, 36 bytes: first what only the owner
 * and the age lists read, then what a lookup reads (list for the
 * timeout, next, last_seen), then the first words of the compact key,
 * which the family's addresses follow (struct flow4, struct flow6), so
 * that what a lookup reads is one stretch: 26 bytes for IPv4. The key
 * words are the wide key's own layout (port[2], family, proto, pad), so
 * both compare as two words.
 */
struct flow {
	uint32_t older, newer; /* neighbours on the age list, or FLOW_NIL */
	uint32_t source; /* the engine's: the source it is counted for */
	/* The owner's: the engine keeps the index of a TCP flow's struct
	 * flow_tcp here, and a UDP flow's creation time (milliseconds). */
	uint32_t aux;
	uint8_t state; /* protocol state, e.g. enum tcp_state */
	uint8_t tclass; /* the engine's timeout class */
	uint8_t list; /* the age list it is on */
	uint8_t flags; /* enum flow_flags */
	uint32_t next; /* chain link: the next flow's reference, or FLOW_NIL */
	uint32_t last_seen; /* engine clock, seconds */
	union {
		struct {
			uint16_t port[2]; /* as struct flow_key's */
			uint8_t family; /* 4 or 6 */
			uint8_t proto;
			uint8_t pad[2]; /* zero */
		};
		uint32_t kw[2];
	};
};

/* An IPv4 flow: addresses in network byte order, endpoint 0 first. */
struct flow4 {
	struct flow h;
	uint32_t addr[2];
};

/* An IPv6 flow. */
struct flow6 {
	struct flow h;
	uint32_t addr[2][4];
};

_Static_assert(sizeof(struct flow) == 36, "a flow's common part");
_Static_assert(sizeof(struct flow4) <= 48, "an IPv4 flow, 52 with a bucket");
_Static_assert(sizeof(struct flow6) <= 72, "an IPv6 flow, 76 with a bucket");
_Static_assert(offsetof(struct flow, port) + 8 == sizeof(struct flow) &&
		       offsetof(struct flow_key, port) + 8 ==
			       sizeof(struct flow_key),
	       "key words are the last of both");

/* The address of endpoint end (0 or 1) of f's key: 4 or 16 bytes. */
static inline const uint32_t *flow_addr(const struct flow *f, unsigned end)
{
	if (f->family == 6)
		return ((const struct flow6 *)f)->addr[end];
	return &((const struct flow4 *)f)->addr[end];
}

/* f's key, in full. O(1). */
void flow_key_get(const struct flow *f, struct flow_key *k);

/* A flow's counters, kept beside the table when accounting is on (the
 * engine's), by direction: FLOW_DIR_ORIGINAL, FLOW_DIR_REPLY. */
struct flow_acct {
	uint64_t packets[2];
	uint64_t bytes[2]; /* IP length */
	/* The packets that admitted the flow to the kernel's fast path
	 * since its elements were last read: the admission counts each in
	 * both directions' elements (fastpath.h), the daemon already in its
	 * own; taken off both at the read. */
	uint32_t admit_packets, admit_bytes;
	/* For flow events (flowevent.h): the first packet (engine ms), the
	 * TCP flags seen either way, and what FEV_ACTIVE events carried. */
	uint8_t tcp_flags;
	uint64_t start_ms;
	uint64_t active_ms; /* its last FEV_ACTIVE */
	uint64_t sent_packets[2], sent_bytes[2];
};

#define FLOW_LISTS_MAX 128

/*
 * The longest chain a new flow may join, as the kernel caps its own
 * (nf_conntrack_core.c: 50 to 79): with a random hash key, chains this
 * long do not happen by chance (at one flow per bucket, a chain of 16 has
 * a probability of about 1e-14), so only a key that leaked or a flaw
 * lets anyone build one; and even then a lookup costs at most this many
 * steps. A reload that shrinks the bucket array may merge chains past it
 * for the time the flows live.
 */
#define FLOW_CHAIN_MAX 64

/* An age list: flows by the time they were last refreshed. */
struct flow_list {
	uint32_t oldest, newest; /* FLOW_NIL when empty */
	uint32_t count;
};

struct flow_table {
	struct slab slab[2]; /* [0] struct flow4, [1] struct flow6 */
	uint32_t *bucket[2]; /* [1] is non-NULL only while rehashing */
	uint32_t nbuckets[2];
	uint32_t migrate_pos; /* old buckets [0, migrate_pos) have moved */
	uint32_t count;
	uint64_t expired; /* flows reclaimed because they timed out */
	struct hash_key key;
	const uint32_t *timeouts; /* seconds, indexed by list */
	uint32_t nlists;
	uint32_t expire_next; /* the list flow_table_expire() starts at */
	struct flow_list list[FLOW_LISTS_MAX];
	/* Called for every flow about to be freed, whatever the cause. */
	void (*on_release)(void *arg, const struct flow *f);
	/* If set, called with on = true before and false after every
	 * change to the chains, the bucket arrays, or which slab objects are
	 * in use (not the age lists, the flows' other fields, or memory
	 * committed ahead); the calls never nest. */
	void (*guard)(void *arg, bool on);
	void *release_arg; /* both callbacks' */
};

/*
 * Build a canonical key from a packet's source and destination. Returns
 * true when the packet's source is endpoint 1 of the key (it was swapped).
 * Addresses are 4 (IPv4) or 16 (IPv6) bytes. ICMP and ICMPv6 keys are
 * never swapped: src is the requester's address, dst the responder's
 * (for a reply, pass its destination first), as in the kernel's tuple.
 */
bool flow_key_make(struct flow_key *k, uint8_t family, uint8_t proto,
		   const void *src, const void *dst, uint16_t sport,
		   uint16_t dport);

/*
 * Set or clear flags of a flow that is in the table. A relaxed atomic
 * store, which costs what a plain one does: another thread may read the
 * flags (flow_flags()) of a flow it found with flow_table_find(), for the
 * bits set when the flow was made, while the owner changes the others.
 * Only the owner writes a flow's flags; it reads them plainly.
 */
static inline void flow_flags_set(struct flow *f, uint8_t bits)
{
	__atomic_store_n(&f->flags, (uint8_t)(f->flags | bits),
			 __ATOMIC_RELAXED);
}

static inline void flow_flags_clear(struct flow *f, uint8_t bits)
{
	__atomic_store_n(&f->flags, (uint8_t)(f->flags & ~bits),
			 __ATOMIC_RELAXED);
}

/* The flags of a flow another thread owns: FLOW_F_ORIG_HI as set when
 * it was made, the others as they were a moment ago. */
static inline uint8_t flow_flags(const struct flow *f)
{
	return __atomic_load_n(&f->flags, __ATOMIC_RELAXED);
}

/* The direction of a packet whose key was built with swapped = sw. */
static inline enum flow_dir flow_dir_of(const struct flow *f, bool sw)
{
	return sw == !!(f->flags & FLOW_F_ORIG_HI) ? FLOW_DIR_ORIGINAL :
						     FLOW_DIR_REPLY;
}

/*
 * Make an empty table for up to capacity flows of each family (at most
 * 2^30) with nbuckets buckets (a power of two) and nlists age lists (at
 * most FLOW_LISTS_MAX). Both slabs reserve their full capacity, but
 * commit memory only as they are used (slab_reserve()); keep them ahead
 * with flow_table_populate(). hkey seeds the hash; timeouts (seconds, one
 * per list) must outlive the table and may be changed in place. Returns
 * 0, or -1 with errno set.
 */
int flow_table_init(struct flow_table *t, uint32_t capacity, uint32_t nbuckets,
		    uint32_t nlists, const struct hash_key *hkey,
		    const uint32_t *timeouts);
void flow_table_destroy(struct flow_table *t);

uint64_t flow_hash(const struct flow_table *t, const struct flow_key *k);

/* The flow a reference names. */
static inline struct flow *flow_table_at(const struct flow_table *t,
					 uint32_t ref)
{
	return slab_ptr(&t->slab[ref >> 31], FLOW_REF_INDEX(ref));
}

/* The reference of flow f. The division is by a constant: a multiply. */
static inline uint32_t flow_ref(const struct flow_table *t,
				const struct flow *f)
{
	const uint8_t *p = (const uint8_t *)f;

	if (f->family == 6)
		return (uint32_t)((size_t)(p - t->slab[1].base) /
				  sizeof(struct flow6)) |
		       FLOW_REF_V6;
	return (uint32_t)((size_t)(p - t->slab[0].base) / sizeof(struct flow4));
}

static inline bool flow_expired(const struct flow_table *t,
				const struct flow *f, uint32_t now)
{
	return now - f->last_seen >= t->timeouts[f->list];
}

/*
 * Hints for a lookup to come, for callers that know their next packets:
 * prefetch the bucket head of hash, then, once it has had time to arrive,
 * the first flow of its chain (flow_table_peek() returns it, for
 * prefetching what the owner keeps for it). Loads only; during a rehash
 * they may load the wrong bucket, and a lookup is right all the same.
 */
static inline void flow_table_prefetch_bucket(const struct flow_table *t,
					      uint64_t hash)
{
	__builtin_prefetch(
		&t->bucket[0][(uint32_t)hash & (t->nbuckets[0] - 1)]);
}

static inline void flow_table_prefetch_flow(const struct flow_table *t,
					    uint64_t hash)
{
	uint32_t ref = t->bucket[0][(uint32_t)hash & (t->nbuckets[0] - 1)];

	if (ref != FLOW_NIL) {
		const char *f = (const char *)flow_table_at(t, ref);

		/* Objects are not aligned to cache lines: what a lookup
		 * reads may straddle two. */
		__builtin_prefetch(f + offsetof(struct flow, list));
		__builtin_prefetch(f + t->slab[ref >> 31].obj_size - 1);
	}
}

static inline const struct flow *flow_table_peek(const struct flow_table *t,
						 uint64_t hash)
{
	uint32_t ref = t->bucket[0][(uint32_t)hash & (t->nbuckets[0] - 1)];

	return ref != FLOW_NIL ? flow_table_at(t, ref) : NULL;
}

/*
 * Find the live flow with key k (hash from flow_hash()). Expired flows met
 * on the way are reclaimed. O(chain length). NULL if none.
 */
struct flow *flow_table_lookup(struct flow_table *t, const struct flow_key *k,
			       uint64_t hash, uint32_t now);

/*
 * The flow with key k (hash from flow_hash()), live or expired and not yet
 * reclaimed, or NULL. Reads the chain and the keys only, and changes
 * nothing: another thread may call it while the owner works, if it holds
 * what the table's guard takes, and read the flow's flags with
 * flow_flags() while it holds it. O(chain length).
 */
const struct flow *flow_table_find(const struct flow_table *t,
				   const struct flow_key *k, uint64_t hash);

/*
 * Does the chain a flow with this hash would join hold FLOW_CHAIN_MAX
 * flows already (counting any not yet reclaimed)? O(FLOW_CHAIN_MAX).
 */
bool flow_table_chain_full(const struct flow_table *t, uint64_t hash);

/*
 * Add a flow with key k, not yet present, as the newest of list. Its
 * fields other than key, next, last_seen and the list's are zero. O(1).
 * NULL when the slab of its family is exhausted.
 */
struct flow *flow_table_insert(struct flow_table *t, const struct flow_key *k,
			       uint64_t hash, uint32_t now, uint8_t list);

/*
 * f was active at now: it becomes the newest flow of list (which may be
 * another than its current one). O(1); nothing to do, and nothing touched
 * but f, when it was already refreshed this second on this list.
 */
void flow_table_touch(struct flow_table *t, struct flow *f, uint8_t list,
		      uint32_t now);

/* Unlink and free f. O(chain length). */
void flow_table_remove(struct flow_table *t, struct flow *f);

/*
 * Reclaim at most max expired flows, oldest first on every list. Returns
 * how many. O(flows reclaimed + lists).
 */
uint32_t flow_table_expire(struct flow_table *t, uint32_t now, uint32_t max);

/*
 * The least recently refreshed flow on any of the n lists in lists[], or
 * NULL when they are all empty. O(n).
 */
struct flow *flow_table_oldest(const struct flow_table *t, const uint8_t *lists,
			       unsigned n);

/*
 * Move every flow to the list list_of() names for it, keeping the order
 * of last refresh across all lists; list_of() may change the flow's own
 * fields, not the table. begin(), if given, runs once before the first
 * list_of(). O(flows log flows), and it allocates: for a reload, never
 * for a packet. Returns 0, or -1 with errno set (then nothing was called
 * and nothing moved).
 */
int flow_table_relist(struct flow_table *t, void (*begin)(void *arg),
		      uint8_t (*list_of)(struct flow *f, void *arg), void *arg);

/*
 * A bounded share of a rehash under way: move at most max_buckets old
 * buckets to the new array (expired flows met are reclaimed). Returns the
 * flows reclaimed.
 */
uint32_t flow_table_migrate(struct flow_table *t, uint32_t now,
			    uint32_t max_buckets);

/*
 * Start moving the flows to nbuckets buckets (a power of two). The move is
 * done by later flow_table_migrate() calls; lookups work throughout. A
 * move already under way is finished first, at once. Returns 0, or -1 with
 * errno set (then the table is unchanged).
 */
int flow_table_resize(struct flow_table *t, uint32_t nbuckets, uint32_t now);

static inline bool flow_table_rehashing(const struct flow_table *t)
{
	return t->bucket[1] != NULL;
}

/* Raise both slabs' capacity. Invalidates flow pointers. Returns 0, or
 * -1 with errno set (then the IPv4 slab alone may have grown). */
int flow_table_grow(struct flow_table *t, uint32_t capacity);

/*
 * Commit memory for the flows to come: keep slab_margin() objects
 * populated past each slab's high-water mark. For a tick, not a packet:
 * O(pages populated), what the flows made since the last call used.
 * Returns 0, or -1 with errno set (ENOMEM; flows still work).
 */
int flow_table_populate(struct flow_table *t);

/* Bytes reserved: both slabs at full capacity, plus bucket arrays. */
uint64_t flow_table_bytes(const struct flow_table *t);

/* Bytes committed now: the slabs' populated part, plus bucket arrays. */
uint64_t flow_table_populated_bytes(const struct flow_table *t);

/* Bytes of the bucket arrays. */
static inline uint64_t flow_table_bucket_bytes(const struct flow_table *t)
{
	return ((uint64_t)t->nbuckets[0] + t->nbuckets[1]) * sizeof(uint32_t);
}

/* The bucket count that lookups will use once any rehash is done. */
static inline uint32_t flow_table_buckets(const struct flow_table *t)
{
	return t->bucket[1] ? t->nbuckets[1] : t->nbuckets[0];
}

/* Where a walk in steps (flow_table_walk_step) has got to. */
struct flow_cursor {
	uint8_t array; /* 0 or 1: the bucket array */
	uint32_t bucket; /* next bucket to visit */
};

/*
 * Visit the flows of at most max_buckets more buckets from *cur, calling
 * fn for each (live or not yet reclaimed). Returns true while buckets
 * remain. The table may change between steps: then flows may be missed or
 * seen twice, as in any listing of a live table, but no step misbehaves.
 */
bool flow_table_walk_step(const struct flow_table *t, struct flow_cursor *cur,
			  uint32_t max_buckets,
			  void (*fn)(const struct flow *f, void *arg),
			  void *arg);

/*
 * Remove the flows that pred() accepts from at most max_buckets more
 * buckets from *cur, adding their number to *removed. Returns true while
 * buckets remain; as with flow_table_walk_step(), flows made or moved
 * between steps may be missed.
 */
bool flow_table_remove_step(struct flow_table *t, struct flow_cursor *cur,
			    uint32_t max_buckets,
			    bool (*pred)(const struct flow *f, void *arg),
			    void *arg, uint32_t *removed);

/*
 * Visit every flow (live or not yet reclaimed): calls fn until it returns
 * non-zero, which is then returned. The callback must not change the table.
 * O(buckets + flows).
 */
int flow_table_walk(const struct flow_table *t,
		    int (*fn)(const struct flow *f, void *arg), void *arg);

#endif
