// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * flow.c - the flow table; see flow.h.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "flow.h"

/* memcmp()'s order of two addresses, word by word, inline: a call into
 * libc for 4 or 16 bytes was a fifth of the cost of building a key. */
static int addr_cmp(const void *a, const void *b, size_t len)
{
	for (size_t i = 0; i < len; i += 4) {
		uint32_t x, y;

		memcpy(&x, (const uint8_t *)a + i, 4);
		memcpy(&y, (const uint8_t *)b + i, 4);
		if (x != y)
			return ntohl(x) < ntohl(y) ? -1 : 1;
	}
	return 0;
}

bool flow_key_make(struct flow_key *k, uint8_t family, uint8_t proto,
		   const void *src, const void *dst, uint16_t sport,
		   uint16_t dport)
{
	size_t alen = family == 4 ? 4 : 16;
	int c = addr_cmp(src, dst, alen);
	/* An ICMP query's two numbers (identifier, kind) belong to the
	 * exchange, not to an endpoint: they never swap. Nor do its
	 * addresses: the caller gives the requester first, for the
	 * kernel's tuple holds the type, so that an echo request each way
	 * is two flows, and a reply sent the way of a request is none. */
	bool icmp = (family == 4 && proto == IPPROTO_ICMP) ||
		    (family == 6 && proto == IPPROTO_ICMPV6);
	bool swap = !icmp && (c > 0 || (c == 0 && sport > dport));

	memset(k, 0, sizeof(*k));
	memcpy(k->addr[swap], src, alen);
	memcpy(k->addr[!swap], dst, alen);
	k->port[icmp ? 0 : swap] = sport;
	k->port[icmp ? 1 : !swap] = dport;
	k->family = family;
	k->proto = proto;
	return swap;
}

void flow_key_get(const struct flow *f, struct flow_key *k)
{
	memset(k, 0, sizeof(*k));
	memcpy(k->port, f->kw, sizeof(f->kw));
	if (f->family == 6) {
		memcpy(k->addr, ((const struct flow6 *)f)->addr,
		       sizeof(k->addr));
	} else {
		k->addr[0][0] = ((const struct flow4 *)f)->addr[0];
		k->addr[1][0] = ((const struct flow4 *)f)->addr[1];
	}
}

/* Does f, of k's family, hold key k, whose key words are kw? Branch-free
 * over the words of the family: cheaper than memcmp's call. */
static inline bool key_equal(const struct flow *f, const uint32_t kw[2],
			     const struct flow_key *k)
{
	uint32_t diff = (f->kw[0] ^ kw[0]) | (f->kw[1] ^ kw[1]);

	if (k->family == 6) {
		const uint32_t *a = ((const struct flow6 *)f)->addr[0];

		for (size_t i = 0; i < 8; i++)
			diff |= a[i] ^ k->addr[i / 4][i % 4];
	} else {
		const uint32_t *a = ((const struct flow4 *)f)->addr;

		diff |= (a[0] ^ k->addr[0][0]) | (a[1] ^ k->addr[1][0]);
	}
	return diff == 0;
}

/* SipHash over the words that mean something for the family: two for
 * IPv4 (ports, proto, family; the addresses), five for IPv6. */
static uint64_t hash_of(const struct flow_table *t, const uint16_t port[2],
			uint8_t proto, uint8_t family, const uint32_t *a0,
			const uint32_t *a1)
{
	uint64_t w[5];

	w[0] = (uint64_t)port[0] | (uint64_t)port[1] << 16 |
	       (uint64_t)proto << 32 | (uint64_t)family << 40;
	if (family == 4) {
		w[1] = (uint64_t)a0[0] | (uint64_t)a1[0] << 32;
		return hash_words13(&t->key, w, 2);
	}
	memcpy(&w[1], a0, 16);
	memcpy(&w[3], a1, 16);
	return hash_words13(&t->key, w, 5);
}

uint64_t flow_hash(const struct flow_table *t, const struct flow_key *k)
{
	return hash_of(t, k->port, k->proto, k->family, k->addr[0], k->addr[1]);
}

static uint64_t flow_hash_of(const struct flow_table *t, const struct flow *f)
{
	return hash_of(t, f->port, f->proto, f->family, flow_addr(f, 0),
		       flow_addr(f, 1));
}

/* The bucket head that holds (or will hold) a flow with this hash. */
static uint32_t *head_for(struct flow_table *t, uint64_t hash)
{
	uint32_t b = (uint32_t)hash & (t->nbuckets[0] - 1);

	if (t->bucket[1] && b < t->migrate_pos)
		return &t->bucket[1][(uint32_t)hash & (t->nbuckets[1] - 1)];
	return &t->bucket[0][b];
}

static void list_unlink(struct flow_table *t, struct flow *f)
{
	struct flow_list *l = &t->list[f->list];

	if (f->older != FLOW_NIL)
		flow_table_at(t, f->older)->newer = f->newer;
	else
		l->oldest = f->newer;
	if (f->newer != FLOW_NIL)
		flow_table_at(t, f->newer)->older = f->older;
	else
		l->newest = f->older;
	l->count--;
}

static void list_append(struct flow_table *t, struct flow *f, uint32_t ref,
			uint8_t list)
{
	struct flow_list *l = &t->list[list];

	f->list = list;
	f->newer = FLOW_NIL;
	f->older = l->newest;
	if (l->newest != FLOW_NIL)
		flow_table_at(t, l->newest)->newer = ref;
	else
		l->oldest = ref;
	l->newest = ref;
	l->count++;
}

/* Free a flow already off its chain. */
static void release(struct flow_table *t, uint32_t ref)
{
	struct flow *f = flow_table_at(t, ref);

	if (t->on_release)
		t->on_release(t->release_arg, f);
	list_unlink(t, f);
	slab_free(&t->slab[ref >> 31], FLOW_REF_INDEX(ref));
	t->count--;
}

/* Bracket a change to the chains or the bucket arrays (see flow.h). Never
 * nested: the functions that call it call no other that does. */
static void guard(struct flow_table *t, bool on)
{
	if (t->guard)
		t->guard(t->release_arg, on);
}

/* Bucket arrays are mapped, not malloc()ed, to ask for huge pages for
 * them as the slab does (slab.c): a lookup starts with a random access
 * into them. */
static uint32_t *bucket_alloc(uint32_t n)
{
	size_t len = (size_t)n * sizeof(uint32_t);
	void *b = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (b == MAP_FAILED)
		return NULL;
#ifdef MADV_HUGEPAGE
	madvise(b, len, MADV_HUGEPAGE);
#endif
	memset(b, 0xff, len); /* all FLOW_NIL */
	return b;
}

static void bucket_free(uint32_t *b, uint32_t n)
{
	if (b)
		munmap(b, (size_t)n * sizeof(uint32_t));
}

static bool power_of_two(uint32_t n)
{
	return n && !(n & (n - 1));
}

int flow_table_init(struct flow_table *t, uint32_t capacity, uint32_t nbuckets,
		    uint32_t nlists, const struct hash_key *hkey,
		    const uint32_t *timeouts)
{
	memset(t, 0, sizeof(*t));
	if (!power_of_two(nbuckets) || !nlists || nlists > FLOW_LISTS_MAX) {
		errno = EINVAL;
		return -1;
	}
	/* Past 2^31 a slab index would run into FLOW_REF_V6. */
	if (capacity > 1u << 30) {
		errno = EINVAL;
		return -1;
	}
	if (slab_reserve(&t->slab[0], sizeof(struct flow4), capacity) < 0)
		return -1;
	if (slab_reserve(&t->slab[1], sizeof(struct flow6), capacity) < 0) {
		slab_destroy(&t->slab[0]);
		return -1;
	}
	t->bucket[0] = bucket_alloc(nbuckets);
	if (!t->bucket[0]) {
		slab_destroy(&t->slab[0]);
		slab_destroy(&t->slab[1]);
		errno = ENOMEM;
		return -1;
	}
	t->nbuckets[0] = nbuckets;
	t->key = *hkey;
	t->timeouts = timeouts;
	t->nlists = nlists;
	for (uint32_t i = 0; i < nlists; i++)
		t->list[i].oldest = t->list[i].newest = FLOW_NIL;
	return 0;
}

void flow_table_destroy(struct flow_table *t)
{
	bucket_free(t->bucket[0], t->nbuckets[0]);
	bucket_free(t->bucket[1], t->nbuckets[1]);
	slab_destroy(&t->slab[0]);
	slab_destroy(&t->slab[1]);
	memset(t, 0, sizeof(*t));
}

struct flow *flow_table_lookup(struct flow_table *t, const struct flow_key *k,
			       uint64_t hash, uint32_t now)
{
	uint32_t *link = head_for(t, hash);
	uint32_t kw[2], v6 = k->family == 6 ? FLOW_REF_V6 : 0;

	memcpy(kw, k->port, sizeof(kw));
	while (*link != FLOW_NIL) {
		uint32_t ref = *link;
		struct flow *f = flow_table_at(t, ref);

		if (flow_expired(t, f, now)) {
			guard(t, true);
			*link = f->next;
			release(t, ref);
			guard(t, false);
			t->expired++;
			continue;
		}
		if ((ref & FLOW_REF_V6) == v6 && key_equal(f, kw, k))
			return f;
		link = &f->next;
	}
	return NULL;
}

const struct flow *flow_table_find(const struct flow_table *t,
				   const struct flow_key *k, uint64_t hash)
{
	uint32_t ref = *head_for((struct flow_table *)t, hash), n = 0;
	uint32_t kw[2], v6 = k->family == 6 ? FLOW_REF_V6 : 0;

	memcpy(kw, k->port, sizeof(kw));
	/* Bounded: a reload may merge chains past FLOW_CHAIN_MAX, but
	 * never past the flows there are. */
	for (; ref != FLOW_NIL && n <= t->count; n++) {
		const struct flow *f = flow_table_at(t, ref);

		if ((ref & FLOW_REF_V6) == v6 && key_equal(f, kw, k))
			return f;
		ref = f->next;
	}
	return NULL;
}

bool flow_table_chain_full(const struct flow_table *t, uint64_t hash)
{
	uint32_t ref = *head_for((struct flow_table *)t, hash), n = 0;

	while (ref != FLOW_NIL && n < FLOW_CHAIN_MAX) {
		ref = flow_table_at(t, ref)->next;
		n++;
	}
	return n >= FLOW_CHAIN_MAX;
}

struct flow *flow_table_insert(struct flow_table *t, const struct flow_key *k,
			       uint64_t hash, uint32_t now, uint8_t list)
{
	uint32_t *head = head_for(t, hash);
	struct slab *s = &t->slab[k->family == 6];
	uint32_t ref;
	struct flow *f;

	guard(t, true);
	ref = slab_alloc(s);
	if (ref == SLAB_NIL) {
		guard(t, false);
		return NULL;
	}
	f = slab_ptr(s, ref);
	memset(f, 0, s->obj_size);
	memcpy(f->kw, k->port, sizeof(f->kw));
	if (k->family == 6) {
		memcpy(((struct flow6 *)f)->addr, k->addr, sizeof(k->addr));
		ref |= FLOW_REF_V6;
	} else {
		((struct flow4 *)f)->addr[0] = k->addr[0][0];
		((struct flow4 *)f)->addr[1] = k->addr[1][0];
	}
	f->last_seen = now;
	f->next = *head;
	*head = ref;
	list_append(t, f, ref, list < t->nlists ? list : 0);
	t->count++;
	guard(t, false);
	return f;
}

void flow_table_touch(struct flow_table *t, struct flow *f, uint8_t list,
		      uint32_t now)
{
	uint32_t ref;

	if (list >= t->nlists)
		list = 0;
	if (f->list == list && f->last_seen == now)
		return;
	ref = flow_ref(t, f);
	f->last_seen = now;
	if (f->list == list && f->newer == FLOW_NIL)
		return; /* already the newest */
	list_unlink(t, f);
	list_append(t, f, ref, list);
}

/* flow_table_remove() inside a guard(). */
static void remove_flow(struct flow_table *t, struct flow *f)
{
	uint32_t ref = flow_ref(t, f);
	uint32_t *link = head_for(t, flow_hash_of(t, f));

	while (*link != FLOW_NIL && *link != ref)
		link = &flow_table_at(t, *link)->next;
	if (*link == ref) {
		*link = f->next;
		release(t, ref);
	}
}

void flow_table_remove(struct flow_table *t, struct flow *f)
{
	guard(t, true);
	remove_flow(t, f);
	guard(t, false);
}

/* Move old bucket b into the new array, dropping expired flows on the way. */
static uint32_t migrate_bucket(struct flow_table *t, uint32_t b, uint32_t now)
{
	uint32_t ref = t->bucket[0][b], n = 0;

	while (ref != FLOW_NIL) {
		struct flow *f = flow_table_at(t, ref);
		uint32_t next = f->next;

		if (flow_expired(t, f, now)) {
			release(t, ref);
			n++;
		} else {
			uint32_t nb = (uint32_t)flow_hash_of(t, f) &
				      (t->nbuckets[1] - 1);

			f->next = t->bucket[1][nb];
			t->bucket[1][nb] = ref;
		}
		ref = next;
	}
	t->bucket[0][b] = FLOW_NIL;
	return n;
}

static void finish_migration(struct flow_table *t)
{
	bucket_free(t->bucket[0], t->nbuckets[0]);
	t->bucket[0] = t->bucket[1];
	t->nbuckets[0] = t->nbuckets[1];
	t->bucket[1] = NULL;
	t->nbuckets[1] = 0;
	t->migrate_pos = 0;
}

uint32_t flow_table_migrate(struct flow_table *t, uint32_t now,
			    uint32_t max_buckets)
{
	uint32_t n = 0;

	if (!t->bucket[1])
		return 0;
	guard(t, true);
	while (max_buckets-- && t->migrate_pos < t->nbuckets[0])
		n += migrate_bucket(t, t->migrate_pos++, now);
	if (t->migrate_pos == t->nbuckets[0])
		finish_migration(t);
	guard(t, false);
	t->expired += n;
	return n;
}

uint32_t flow_table_expire(struct flow_table *t, uint32_t now, uint32_t max)
{
	uint32_t n = 0, first = t->expire_next;

	/* From where the last call stopped, so that a list always holding
	 * max expired flows cannot keep the others waiting. */
	for (uint32_t k = 0; k < t->nlists && n < max; k++) {
		uint32_t i = (first + k) % t->nlists;
		struct flow_list *l = &t->list[i];

		t->expire_next = (i + 1) % t->nlists;
		while (n < max && l->oldest != FLOW_NIL) {
			struct flow *f = flow_table_at(t, l->oldest);

			if (!flow_expired(t, f, now))
				break;
			guard(t, true);
			remove_flow(t, f);
			guard(t, false);
			n++;
		}
	}
	t->expired += n;
	return n;
}

struct flow *flow_table_oldest(const struct flow_table *t, const uint8_t *lists,
			       unsigned n)
{
	struct flow *best = NULL;

	for (unsigned i = 0; i < n; i++) {
		uint32_t ref;
		struct flow *f;

		if (lists[i] >= t->nlists)
			continue;
		ref = t->list[lists[i]].oldest;
		if (ref == FLOW_NIL)
			continue;
		f = flow_table_at(t, ref);
		if (!best || f->last_seen < best->last_seen)
			best = f;
	}
	return best;
}

struct relist_entry {
	uint32_t last_seen;
	uint32_t ref;
};

static int by_last_seen(const void *a, const void *b)
{
	const struct relist_entry *x = a, *y = b;

	if (x->last_seen != y->last_seen)
		return x->last_seen < y->last_seen ? -1 : 1;
	return x->ref < y->ref ? -1 : x->ref > y->ref;
}

int flow_table_relist(struct flow_table *t, void (*begin)(void *arg),
		      uint8_t (*list_of)(struct flow *f, void *arg), void *arg)
{
	struct relist_entry *all;
	uint32_t n = 0;

	all = malloc(((size_t)t->count + 1) * sizeof(*all));
	if (!all) {
		errno = ENOMEM;
		return -1;
	}
	if (begin)
		begin(arg);
	for (uint32_t i = 0; i < t->nlists; i++) {
		for (uint32_t ref = t->list[i].oldest; ref != FLOW_NIL;
		     ref = flow_table_at(t, ref)->newer) {
			all[n].last_seen = flow_table_at(t, ref)->last_seen;
			all[n++].ref = ref;
		}
		t->list[i].oldest = t->list[i].newest = FLOW_NIL;
		t->list[i].count = 0;
	}
	qsort(all, n, sizeof(*all), by_last_seen);
	for (uint32_t i = 0; i < n; i++) {
		struct flow *f = flow_table_at(t, all[i].ref);
		uint8_t list = list_of(f, arg);

		list_append(t, f, all[i].ref, list < t->nlists ? list : 0);
	}
	free(all);
	return 0;
}

int flow_table_resize(struct flow_table *t, uint32_t nbuckets, uint32_t now)
{
	uint32_t *b;

	if (!power_of_two(nbuckets)) {
		errno = EINVAL;
		return -1;
	}
	if (t->bucket[1]) /* a second resize before the first is done */
		flow_table_migrate(t, now, UINT32_MAX);
	if (nbuckets == t->nbuckets[0])
		return 0;
	b = bucket_alloc(nbuckets);
	if (!b) {
		errno = ENOMEM;
		return -1;
	}
	guard(t, true);
	t->bucket[1] = b;
	t->nbuckets[1] = nbuckets;
	t->migrate_pos = 0;
	guard(t, false);
	return 0;
}

int flow_table_grow(struct flow_table *t, uint32_t capacity)
{
	if (capacity > 1u << 30) {
		errno = EINVAL;
		return -1;
	}
	guard(t, true);
	if (slab_grow(&t->slab[0], capacity) < 0 ||
	    slab_grow(&t->slab[1], capacity) < 0) {
		guard(t, false);
		return -1;
	}
	guard(t, false);
	return 0;
}

int flow_table_populate(struct flow_table *t)
{
	int r0 = slab_populate_ahead(&t->slab[0]);
	int r1 = slab_populate_ahead(&t->slab[1]);

	return r0 < 0 || r1 < 0 ? -1 : 0;
}

uint64_t flow_table_bytes(const struct flow_table *t)
{
	return slab_bytes(&t->slab[0]) + slab_bytes(&t->slab[1]) +
	       flow_table_bucket_bytes(t);
}

uint64_t flow_table_populated_bytes(const struct flow_table *t)
{
	return slab_populated_bytes(&t->slab[0]) +
	       slab_populated_bytes(&t->slab[1]) + flow_table_bucket_bytes(t);
}

static int walk_chain(const struct flow_table *t, uint32_t ref,
		      int (*fn)(const struct flow *f, void *arg), void *arg)
{
	for (; ref != FLOW_NIL; ref = flow_table_at(t, ref)->next) {
		int r = fn(flow_table_at(t, ref), arg);

		if (r)
			return r;
	}
	return 0;
}

int flow_table_walk(const struct flow_table *t,
		    int (*fn)(const struct flow *f, void *arg), void *arg)
{
	for (int a = 0; a < 2; a++) {
		if (!t->bucket[a])
			continue;
		for (uint32_t b = 0; b < t->nbuckets[a]; b++) {
			int r = walk_chain(t, t->bucket[a][b], fn, arg);

			if (r)
				return r;
		}
	}
	return 0;
}

bool flow_table_walk_step(const struct flow_table *t, struct flow_cursor *cur,
			  uint32_t max_buckets,
			  void (*fn)(const struct flow *f, void *arg),
			  void *arg)
{
	while (cur->array < 2) {
		if (!t->bucket[cur->array] ||
		    cur->bucket >= t->nbuckets[cur->array]) {
			cur->array++;
			cur->bucket = 0;
			continue;
		}
		if (!max_buckets--)
			return true;
		for (uint32_t ref = t->bucket[cur->array][cur->bucket++];
		     ref != FLOW_NIL; ref = flow_table_at(t, ref)->next)
			fn(flow_table_at(t, ref), arg);
	}
	return false;
}

bool flow_table_remove_step(struct flow_table *t, struct flow_cursor *cur,
			    uint32_t max_buckets,
			    bool (*pred)(const struct flow *f, void *arg),
			    void *arg, uint32_t *removed)
{
	while (cur->array < 2) {
		uint32_t *link;

		if (!t->bucket[cur->array] ||
		    cur->bucket >= t->nbuckets[cur->array]) {
			cur->array++;
			cur->bucket = 0;
			continue;
		}
		if (!max_buckets--)
			return true;
		link = &t->bucket[cur->array][cur->bucket++];
		while (*link != FLOW_NIL) {
			uint32_t ref = *link;
			struct flow *f = flow_table_at(t, ref);

			if (pred(f, arg)) {
				guard(t, true);
				*link = f->next;
				release(t, ref);
				guard(t, false);
				(*removed)++;
			} else {
				link = &f->next;
			}
		}
	}
	return false;
}
