// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * source.c - the source table; see source.h.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "prefix.h"
#include "source.h"

static uint32_t buckets_for(uint32_t capacity)
{
	uint32_t b = 64;

	while (b < capacity && b < (1u << 30))
		b <<= 1;
	return b;
}

uint64_t source_table_bytes_for(uint32_t capacity)
{
	return (uint64_t)capacity * sizeof(struct source) +
	       (uint64_t)buckets_for(capacity) * sizeof(uint32_t);
}

uint64_t source_table_populated_bytes(const struct source_table *st)
{
	return slab_populated_bytes(&st->slab) +
	       (uint64_t)st->nbuckets * sizeof(uint32_t);
}

static uint64_t hash_of(const struct source_table *st, uint8_t family,
			const uint8_t *addr, uint8_t bits)
{
	uint64_t w[3];

	/* A tag word keeps these hashes apart from the flow table's. */
	w[0] = 0x5352430000000000ull | (uint64_t)family << 8 | bits;
	memcpy(&w[1], addr, 16);
	return hash_words13(&st->key, w, 3);
}

static uint32_t *head_of(const struct source_table *st, uint64_t hash)
{
	return &st->bucket[hash & (st->nbuckets - 1)];
}

static uint32_t *bucket_array(uint32_t n)
{
	uint32_t *b = malloc((size_t)n * sizeof(*b));

	if (b)
		memset(b, 0xff, (size_t)n * sizeof(*b)); /* all SOURCE_NIL */
	return b;
}

int source_table_init(struct source_table *st, uint32_t capacity,
		      const struct hash_key *hkey)
{
	memset(st, 0, sizeof(*st));
	/* Room for as many sources as flows costs only what is used: a
	 * margin (slab_margin(), 65536 at least) is committed now, later
	 * entries fault in as first used (a minor fault per 64 new sources;
	 * populating ahead would have to hold the group's lock). */
	if (slab_reserve(&st->slab, sizeof(struct source), capacity) < 0)
		return -1;
	st->nbuckets = buckets_for(capacity);
	st->bucket = bucket_array(st->nbuckets);
	if (!st->bucket) {
		slab_destroy(&st->slab);
		errno = ENOMEM;
		return -1;
	}
	st->key = *hkey;
	st->idle_oldest = st->idle_newest = SOURCE_NIL;
	return 0;
}

void source_table_destroy(struct source_table *st)
{
	free(st->bucket);
	slab_destroy(&st->slab);
	memset(st, 0, sizeof(*st));
}

int source_table_grow(struct source_table *st, uint32_t capacity)
{
	uint32_t nb = buckets_for(capacity), *b;

	if (slab_grow(&st->slab, capacity) < 0)
		return -1;
	if (nb <= st->nbuckets)
		return 0;
	b = bucket_array(nb);
	if (!b)
		return 0; /* longer chains, still correct */
	for (uint32_t i = 0; i < st->nbuckets; i++) {
		uint32_t idx = st->bucket[i];

		while (idx != SOURCE_NIL) {
			struct source *s = source_at(st, idx);
			uint32_t next = s->next;
			uint64_t h = hash_of(st, s->family, s->addr, s->bits);

			s->next = b[h & (nb - 1)];
			b[h & (nb - 1)] = idx;
			idx = next;
		}
	}
	free(st->bucket);
	st->bucket = b;
	st->nbuckets = nb;
	return 0;
}

static uint64_t bucket_size(const struct source_table *st)
{
	return (uint64_t)st->burst * 1000;
}

void source_table_set_rate(struct source_table *st, uint32_t rate,
			   uint32_t burst)
{
	bool was_off = !st->rate;

	if (rate > SOURCE_RATE_MAX)
		rate = SOURCE_RATE_MAX;
	if (burst > SOURCE_RATE_MAX)
		burst = SOURCE_RATE_MAX;
	st->rate = rate;
	st->burst = rate ? (burst ? burst : rate) : 0;
	if (!was_off || !rate)
		return;
	/* A limit just turned on: nobody has used any of it yet. */
	for (uint32_t b = 0; b < st->nbuckets; b++)
		for (uint32_t i = st->bucket[b]; i != SOURCE_NIL;
		     i = source_at(st, i)->next)
			source_at(st, i)->tokens = (uint32_t)bucket_size(st);
}

/* Bring s's tokens up to now. */
static void refill(const struct source_table *st, struct source *s,
		   uint64_t now_ms)
{
	uint64_t cap = bucket_size(st), elapsed, add;

	if (now_ms <= s->refill_ms)
		return;
	elapsed = now_ms - s->refill_ms;
	s->refill_ms = now_ms;
	if (s->tokens >= cap) {
		s->tokens = (uint32_t)cap;
		return;
	}
	if (elapsed > cap)
		elapsed = cap; /* the rate is at least 1 */
	add = elapsed * st->rate;
	s->tokens = (uint32_t)(s->tokens + add > cap ? cap : s->tokens + add);
}

static void idle_unlink(struct source_table *st, struct source *s)
{
	if (s->older != SOURCE_NIL)
		source_at(st, s->older)->newer = s->newer;
	else
		st->idle_oldest = s->newer;
	if (s->newer != SOURCE_NIL)
		source_at(st, s->newer)->older = s->older;
	else
		st->idle_newest = s->older;
	s->idle = 0;
}

static void idle_append(struct source_table *st, struct source *s, uint32_t idx)
{
	s->idle = 1;
	s->newer = SOURCE_NIL;
	s->older = st->idle_newest;
	if (st->idle_newest != SOURCE_NIL)
		source_at(st, st->idle_newest)->newer = idx;
	else
		st->idle_oldest = idx;
	st->idle_newest = idx;
}

/* Unhash, unlink and free source idx. */
static void release(struct source_table *st, uint32_t idx)
{
	struct source *s = source_at(st, idx);
	uint32_t *link = head_of(st, hash_of(st, s->family, s->addr, s->bits));

	while (*link != SOURCE_NIL && *link != idx)
		link = &source_at(st, *link)->next;
	if (*link == idx)
		*link = s->next;
	if (s->idle)
		idle_unlink(st, s);
	slab_free(&st->slab, idx);
	st->count--;
}

void source_table_clear(struct source_table *st)
{
	for (uint32_t i = 0; i < st->nbuckets; i++) {
		uint32_t idx = st->bucket[i];

		while (idx != SOURCE_NIL) {
			uint32_t next = source_at(st, idx)->next;

			slab_free(&st->slab, idx);
			idx = next;
		}
		st->bucket[i] = SOURCE_NIL;
	}
	st->count = 0;
	st->idle_oldest = st->idle_newest = SOURCE_NIL;
}

static uint32_t lookup(const struct source_table *st, const uint8_t *key,
		       uint8_t family, uint8_t bits, uint64_t hash)
{
	uint32_t idx = *head_of(st, hash);

	while (idx != SOURCE_NIL) {
		const struct source *s = source_at(st, idx);

		if (s->family == family && s->bits == bits &&
		    !memcmp(s->addr, key, 16))
			return idx;
		idx = s->next;
	}
	return SOURCE_NIL;
}

uint32_t source_find(const struct source_table *st, uint8_t family,
		     const void *addr, uint8_t bits)
{
	uint8_t key[16];

	if (bits > (family == 4 ? 32 : 128))
		bits = family == 4 ? 32 : 128;
	prefix_mask(family, addr, bits, key);
	return lookup(st, key, family, bits, hash_of(st, family, key, bits));
}

uint32_t source_get(struct source_table *st, uint8_t family, const void *addr,
		    uint8_t bits, uint64_t now_ms)
{
	uint8_t key[16];
	uint64_t hash;
	uint32_t idx, *head;
	struct source *s;

	if (bits > (family == 4 ? 32 : 128))
		bits = family == 4 ? 32 : 128;
	prefix_mask(family, addr, bits, key);
	hash = hash_of(st, family, key, bits);
	idx = lookup(st, key, family, bits, hash);
	if (idx != SOURCE_NIL)
		return idx;
	idx = slab_alloc(&st->slab);
	if (idx == SOURCE_NIL && st->idle_oldest != SOURCE_NIL) {
		/* Its bucket state goes: a little leniency, never a
		 * refusal of a newcomer for want of bookkeeping room. */
		release(st, st->idle_oldest);
		st->reclaimed++;
		idx = slab_alloc(&st->slab);
	}
	if (idx == SOURCE_NIL) {
		st->full++;
		return SOURCE_NIL;
	}
	s = source_at(st, idx);
	memset(s, 0, sizeof(*s));
	memcpy(s->addr, key, 16);
	s->family = family;
	s->bits = bits;
	s->older = s->newer = SOURCE_NIL;
	s->tokens = (uint32_t)bucket_size(st);
	s->refill_ms = now_ms;
	head = head_of(st, hash);
	s->next = *head;
	*head = idx;
	st->count++;
	return idx;
}

bool source_may_open(struct source_table *st, struct source *s, uint64_t now_ms)
{
	if (!st->rate)
		return true;
	refill(st, s, now_ms);
	return s->tokens >= 1000;
}

void source_opened(struct source_table *st, uint32_t idx, uint64_t now_ms)
{
	struct source *s = source_at(st, idx);
	uint32_t sec = (uint32_t)(now_ms / 1000);

	if (st->rate) {
		refill(st, s, now_ms);
		s->tokens = s->tokens >= 1000 ? s->tokens - 1000 : 0;
	}
	if (s->idle)
		idle_unlink(st, s);
	s->flows++;
	if (sec == s->rate_sec) {
		if (s->rate_cur < UINT16_MAX)
			s->rate_cur++;
	} else {
		s->rate_prev = sec == s->rate_sec + 1 ? s->rate_cur : 0;
		s->rate_cur = 1;
		s->rate_sec = sec;
	}
}

void source_adopt(struct source_table *st, uint32_t idx)
{
	struct source *s = source_at(st, idx);

	if (s->idle)
		idle_unlink(st, s);
	s->flows++;
}

static bool bucket_full(const struct source_table *st, struct source *s,
			uint64_t now_ms)
{
	if (!st->rate)
		return true;
	refill(st, s, now_ms);
	return s->tokens >= bucket_size(st);
}

void source_settle(struct source_table *st, uint32_t idx, uint64_t now_ms)
{
	struct source *s = source_at(st, idx);

	if (s->flows || s->idle)
		return;
	if (bucket_full(st, s, now_ms))
		release(st, idx);
	else
		idle_append(st, s, idx);
}

void source_closed(struct source_table *st, uint32_t idx, uint64_t now_ms)
{
	struct source *s = source_at(st, idx);

	if (s->flows)
		s->flows--;
	source_settle(st, idx, now_ms);
}

uint32_t source_rate(const struct source *s, uint64_t now_ms)
{
	uint32_t sec = (uint32_t)(now_ms / 1000);

	if (sec == s->rate_sec)
		return s->rate_prev;
	if (sec == s->rate_sec + 1)
		return s->rate_cur;
	return 0;
}

uint32_t source_table_expire(struct source_table *st, uint64_t now_ms,
			     uint32_t max)
{
	uint32_t n = 0, idx = st->idle_oldest;

	/* Sources went idle with their buckets at any level, so any of
	 * them may be full first: look at up to max, oldest first. */
	for (uint32_t seen = 0; seen < max && idx != SOURCE_NIL; seen++) {
		uint32_t next = source_at(st, idx)->newer;

		if (bucket_full(st, source_at(st, idx), now_ms)) {
			release(st, idx);
			n++;
		}
		idx = next;
	}
	return n;
}

/* Does a rank above b in the top list? */
static bool ranks_above(const struct source *a, const struct source *b,
			uint64_t now_ms)
{
	if (a->flows != b->flows)
		return a->flows > b->flows;
	return source_rate(a, now_ms) > source_rate(b, now_ms);
}

/* Put source idx into out[] (have of n, most first) if it ranks there,
 * and not there already: the table may have changed since an earlier
 * step put it in. O(n). */
static void top_insert(const struct source_table *st, uint64_t now_ms,
		       uint32_t *out, uint32_t n, uint32_t *have, uint32_t idx)
{
	const struct source *s = source_at(st, idx);
	uint32_t pos;

	if (*have == n && !ranks_above(s, source_at(st, out[n - 1]), now_ms))
		return;
	for (uint32_t i = 0; i < *have; i++)
		if (out[i] == idx)
			return;
	pos = *have < n ? (*have)++ : n - 1;
	while (pos > 0 && ranks_above(s, source_at(st, out[pos - 1]), now_ms)) {
		out[pos] = out[pos - 1];
		pos--;
	}
	out[pos] = idx;
}

bool source_table_top_step(const struct source_table *st, uint64_t now_ms,
			   uint32_t *out, uint32_t n, struct source_top *t,
			   uint32_t max_buckets)
{
	if (!n)
		return false;
	for (; t->bucket < st->nbuckets && max_buckets; max_buckets--)
		for (uint32_t idx = st->bucket[t->bucket++]; idx != SOURCE_NIL;
		     idx = source_at(st, idx)->next)
			top_insert(st, now_ms, out, n, &t->have, idx);
	if (t->bucket < st->nbuckets)
		return true;
	/* Counts may have moved between steps: rank what was kept again,
	 * by insertion, which is linear when nothing moved. */
	for (uint32_t i = 1; i < t->have; i++) {
		uint32_t idx = out[i], pos = i;

		while (pos > 0 &&
		       ranks_above(source_at(st, idx),
				   source_at(st, out[pos - 1]), now_ms)) {
			out[pos] = out[pos - 1];
			pos--;
		}
		out[pos] = idx;
	}
	return false;
}

uint32_t source_table_top(const struct source_table *st, uint64_t now_ms,
			  uint32_t *out, uint32_t n)
{
	struct source_top t = { 0 };

	source_table_top_step(st, now_ms, out, n, &t, UINT32_MAX);
	return t.have;
}
