// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * check_flow.c - unit tests for flow.c, the flow table: canonical keys and
 * directions, flow_hash() sensitivity and spread, insert/lookup/remove,
 * the age lists (order under insert and touch, per-list counts, the oldest
 * of a set of lists, relisting), lazy expiry and flow_table_expire()
 * against the caller's per-list timeouts, the on_release hook on every
 * path that frees a flow, slab exhaustion and growth, the incremental
 * rehash (lookups, inserts, removes and expiry while flow_table_migrate()
 * moves flows between bucket arrays), walking, memory accounting, chain
 * lengths under a fixed hash key, a hash flood (a million flows crafted
 * to collide) against the chain cap and a random key, and a randomized
 * run against a model.
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flow.h"
#include "testutil.h"

/*
 * For hot loops: ck_assert*() records a mark point (a write to the parent)
 * even when it passes; this costs nothing until it fails.
 */
#define CHECK(cond, ...)                           \
	do {                                       \
		if (!(cond))                       \
			ck_abort_msg(__VA_ARGS__); \
	} while (0)

/* Fixed hash key (the SipHash reference key) so runs are reproducible. */
static const struct hash_key fkey = {
	.k0 = 0x0706050403020100ULL,
	.k1 = 0x0f0e0d0c0b0a0908ULL,
};

/* The age lists most tests use; each has its own timeout. */
enum { TC_LONG, TC_SHORT, TC_OTHER, TC_N };

/*
 * The caller-owned timeout table, indexed by age list; every test sets it
 * up first. Lists past TC_N (for the tests of many lists) get an hour.
 */
static uint32_t timeouts[FLOW_LISTS_MAX];

static void reset_timeouts(void)
{
	for (uint32_t l = 0; l < FLOW_LISTS_MAX; l++)
		timeouts[l] = 3600;
	timeouts[TC_LONG] = 3600;
	timeouts[TC_SHORT] = 30;
	timeouts[TC_OTHER] = 120;
}

/*
 * Test flow number i: an IPv4 TCP connection from 10.x.y.z:sport to
 * 192.168.0.1:80 (or, for odd i, from 192.168.0.1 to 10.x.y.z, so that
 * both key orders are exercised). Unique for i < 2^24.
 */
struct tpkt {
	uint8_t src[16], dst[16];
	uint16_t sport, dport;
	uint8_t family, proto;
};

static struct tpkt pkt_n(uint32_t i)
{
	struct tpkt p;
	uint32_t a = htonl(0x0a000000u | (i & 0xffffffu));
	uint32_t b = htonl(0xc0a80001u);

	memset(&p, 0, sizeof(p));
	p.family = 4;
	p.proto = 6;
	if (i & 1) {
		memcpy(p.src, &b, 4);
		memcpy(p.dst, &a, 4);
		p.sport = 80;
		p.dport = (uint16_t)(1024 + i % 50000);
	} else {
		memcpy(p.src, &a, 4);
		memcpy(p.dst, &b, 4);
		p.sport = (uint16_t)(1024 + i % 50000);
		p.dport = 80;
	}
	return p;
}

/* The key of a packet of p going the original (reply = 0) or reply way. */
static bool pkt_key(struct flow_key *k, const struct tpkt *p, int reply)
{
	if (reply)
		return flow_key_make(k, p->family, p->proto, p->dst, p->src,
				     p->dport, p->sport);
	return flow_key_make(k, p->family, p->proto, p->src, p->dst, p->sport,
			     p->dport);
}

/*
 * Insert p as the engine would, as the newest flow of age list `list`;
 * tag the flow with id in aux.
 */
static struct flow *add_pkt(struct flow_table *t, const struct tpkt *p,
			    uint32_t id, uint8_t list, uint32_t now)
{
	struct flow_key k;
	bool sw = pkt_key(&k, p, 0);
	struct flow *f = flow_table_insert(t, &k, flow_hash(t, &k), now, list);

	if (f) {
		if (sw)
			f->flags |= FLOW_F_ORIG_HI;
		f->aux = id;
	}
	return f;
}

static struct flow *add_n(struct flow_table *t, uint32_t i, uint8_t list,
			  uint32_t now)
{
	struct tpkt p = pkt_n(i);

	return add_pkt(t, &p, i, list, now);
}

static struct flow *find_pkt(struct flow_table *t, const struct tpkt *p,
			     int reply, uint32_t now)
{
	struct flow_key k;

	pkt_key(&k, p, reply);
	return flow_table_lookup(t, &k, flow_hash(t, &k), now);
}

static struct flow *find_n(struct flow_table *t, uint32_t i, int reply,
			   uint32_t now)
{
	struct tpkt p = pkt_n(i);

	return find_pkt(t, &p, reply, now);
}

/* Flow i is found from both directions, with the right tag and direction. */
static void expect_found(struct flow_table *t, uint32_t i, uint32_t now)
{
	for (int reply = 0; reply < 2; reply++) {
		struct tpkt p = pkt_n(i);
		struct flow_key k;
		bool sw = pkt_key(&k, &p, reply);
		struct flow *f =
			flow_table_lookup(t, &k, flow_hash(t, &k), now);

		CHECK(f != NULL, "flow %u not found (%s)", i,
		      reply ? "reply" : "original");
		CHECK(f->aux == i, "flow %u found as %u", i, f->aux);
		CHECK(flow_dir_of(f, sw) ==
			      (reply ? FLOW_DIR_REPLY : FLOW_DIR_ORIGINAL),
		      "flow %u: wrong direction", i);
	}
}

/* Flow i, which must be there (looked up the original way). */
static struct flow *must_find_n(struct flow_table *t, uint32_t i, uint32_t now)
{
	struct flow *f = find_n(t, i, 0, now);

	ck_assert_msg(f != NULL, "flow %u not found", i);
	return f;
}

static uint32_t tag_of(const struct flow *f)
{
	ck_assert_ptr_nonnull(f);
	return f->aux;
}

static void expect_absent(struct flow_table *t, uint32_t i, uint32_t now)
{
	CHECK(find_n(t, i, 0, now) == NULL, "flow %u still found", i);
	CHECK(find_n(t, i, 1, now) == NULL, "flow %u still found", i);
}

static void table_init_lists(struct flow_table *t, uint32_t capacity,
			     uint32_t nbuckets, uint32_t nlists)
{
	reset_timeouts();
	ck_assert_int_eq(flow_table_init(t, capacity, nbuckets, nlists, &fkey,
					 timeouts),
			 0);
}

static void table_init(struct flow_table *t, uint32_t capacity,
		       uint32_t nbuckets)
{
	table_init_lists(t, capacity, nbuckets, TC_N);
}

static struct flow *flow_of(const struct flow_table *t, uint32_t ref)
{
	return flow_table_at(t, ref);
}

/* f's reference (FLOW_REF_V6 set for an IPv6 flow). */
static uint32_t idx_of(const struct flow_table *t, const struct flow *f)
{
	return flow_ref(t, f);
}

/* Slots of both slabs, numbered densely: [0, slot_count()). */
static uint32_t slot_count(const struct flow_table *t)
{
	return t->slab[0].capacity + t->slab[1].capacity;
}

/* The slot of a reference, or slot_count() when it names none. */
static uint32_t slot_of(const struct flow_table *t, uint32_t ref)
{
	const struct slab *s = &t->slab[ref >> 31];

	if (FLOW_REF_INDEX(ref) >= s->capacity)
		return slot_count(t);
	return FLOW_REF_INDEX(ref) + (ref >> 31 ? t->slab[0].capacity : 0);
}

/* Flows held by both slabs. */
static uint32_t in_use(const struct flow_table *t)
{
	return t->slab[0].in_use + t->slab[1].in_use;
}

/* Walk callback state: how often each tag was visited. */
struct visits {
	uint32_t *seen; /* indexed by tag */
	uint32_t ntags;
	uint32_t total;
	uint32_t stop_after; /* 0: never stop */
	int stop_value;
};

static int visit(const struct flow *f, void *arg)
{
	struct visits *v = arg;

	if (f->aux < v->ntags)
		v->seen[f->aux]++;
	v->total++;
	if (v->stop_after && v->total == v->stop_after)
		return v->stop_value;
	return 0;
}

/* Walk t and fill v (which it allocates; free v->seen). */
static int walk_tags(const struct flow_table *t, struct visits *v,
		     uint32_t ntags)
{
	memset(v, 0, sizeof(*v));
	v->seen = calloc(ntags ? ntags : 1, sizeof(*v->seen));
	ck_assert_ptr_nonnull(v->seen);
	v->ntags = ntags;
	return flow_table_walk(t, visit, v);
}

/* ---- age list checks ------------------------------------------------- */

/* Which slab slots were met on a list (1), and then in a chain (2). */
struct list_marks {
	const struct flow_table *t;
	uint8_t *mark;
	uint32_t chained;
	uint32_t stray; /* chained flows on no list, or chained twice */
};

static int mark_chained(const struct flow *f, void *arg)
{
	struct list_marks *c = arg;
	uint32_t slot = slot_of(c->t, idx_of(c->t, f));

	if (slot >= slot_count(c->t) || c->mark[slot] != 1)
		c->stray++;
	else
		c->mark[slot] = 2;
	c->chained++;
	return 0;
}

/*
 * Every age list, walked oldest to newest, is sound: each flow names the
 * list it is on, its older link is the flow before it, last_seen never
 * goes down, the list's newest end and count are right, no flow is met
 * twice; the lists hold t->count flows in all, and exactly the flows that
 * the bucket chains hold. Unused lists are empty.
 */
static void check_lists(const struct flow_table *t)
{
	uint32_t cap = slot_count(t), total = 0;
	struct list_marks c = { .t = t };

	c.mark = calloc(cap, 1);
	ck_assert_ptr_nonnull(c.mark);
	for (uint32_t l = 0; l < t->nlists; l++) {
		const struct flow_list *fl = &t->list[l];
		uint32_t n = 0, prev = FLOW_NIL;

		for (uint32_t idx = fl->oldest; idx != FLOW_NIL;) {
			const struct flow *f;

			CHECK(slot_of(t, idx) < cap,
			      "list %u: reference %x out of range", l, idx);
			CHECK(!c.mark[slot_of(t, idx)],
			      "list %u: slot %x met twice", l, idx);
			c.mark[slot_of(t, idx)] = 1;
			f = flow_of(t, idx);
			CHECK(f->list == l, "list %u holds a flow of list %u",
			      l, f->list);
			CHECK(f->older == prev, "list %u: bad older link at %u",
			      l, idx);
			CHECK(prev == FLOW_NIL || flow_of(t, prev)->last_seen <=
							  f->last_seen,
			      "list %u: last_seen goes down at %u (%u > %u)", l,
			      idx, flow_of(t, prev)->last_seen, f->last_seen);
			prev = idx;
			n++;
			idx = f->newer;
		}
		CHECK(fl->newest == prev, "list %u: newest %u, last met %u", l,
		      fl->newest, prev);
		CHECK(fl->count == n, "list %u: count %u, holds %u", l,
		      fl->count, n);
		total += n;
	}
	for (uint32_t l = t->nlists; l < FLOW_LISTS_MAX; l++)
		CHECK(t->list[l].count == 0, "unused list %u counts %u", l,
		      t->list[l].count);
	CHECK(total == t->count, "lists hold %u flows, table counts %u", total,
	      t->count);
	CHECK(in_use(t) == t->count, "slabs hold %u, table counts %u",
	      in_use(t), t->count);
	ck_assert_int_eq(flow_table_walk(t, mark_chained, &c), 0);
	CHECK(c.stray == 0, "%u chained flows on no list", c.stray);
	CHECK(c.chained == total, "chains hold %u flows, lists %u", c.chained,
	      total);
	free(c.mark);
}

/* The tags on list l, oldest first. */
static uint32_t list_tags(const struct flow_table *t, uint32_t l, uint32_t *out,
			  uint32_t max)
{
	uint32_t n = 0;

	for (uint32_t idx = t->list[l].oldest; idx != FLOW_NIL;
	     idx = flow_of(t, idx)->newer) {
		CHECK(n < max, "list %u: more than %u flows", l, max);
		out[n++] = flow_of(t, idx)->aux;
	}
	return n;
}

/* List l holds exactly the flows tagged want[0..n), oldest first. */
static void expect_list(const struct flow_table *t, uint32_t l,
			const uint32_t *want, uint32_t n)
{
	uint32_t got[64], m;

	ck_assert_uint_le(n, 64);
	m = list_tags(t, l, got, 64);
	ck_assert_msg(m == n, "list %u holds %u flows, not %u", l, m, n);
	for (uint32_t i = 0; i < n; i++)
		ck_assert_msg(got[i] == want[i],
			      "list %u, position %u: flow %u, not %u", l, i,
			      got[i], want[i]);
	ck_assert_uint_eq(t->list[l].count, n);
	if (!n) {
		ck_assert_uint_eq(t->list[l].oldest, FLOW_NIL);
		ck_assert_uint_eq(t->list[l].newest, FLOW_NIL);
	}
}

#define EXPECT_LIST(t, l, ...)                                  \
	expect_list(t, l, (const uint32_t[]){ __VA_ARGS__ },    \
		    sizeof((const uint32_t[]){ __VA_ARGS__ }) / \
			    sizeof(uint32_t))
#define EXPECT_EMPTY(t, l) expect_list(t, l, NULL, 0)

/* ---- on_release ------------------------------------------------------ */

#define RTAGS 4096u
#define RLOG 256u

/* What the on_release hook was told. */
struct releases {
	const struct flow_table *t;
	uint32_t now; /* the time of the call under test */
	uint32_t per_tag[RTAGS];
	uint32_t total;
	uint32_t live; /* flows freed that were not expired at now */
	uint32_t bad; /* not whole when told: wrong key or list */
	uint32_t log[RLOG], log_list[RLOG], nlog;
};

static void note_release(void *arg, const struct flow *f)
{
	struct releases *r = arg;
	uint32_t tag = f->aux;
	struct tpkt p = pkt_n(tag);
	struct flow_key k, fk;

	/* Told before the flow goes: it is still whole. */
	pkt_key(&k, &p, 0);
	flow_key_get(f, &fk);
	if (memcmp(&k, &fk, sizeof(k)) != 0 || f->list >= r->t->nlists ||
	    slot_of(r->t, idx_of(r->t, f)) >= slot_count(r->t))
		r->bad++;
	if (!flow_expired(r->t, f, r->now))
		r->live++;
	if (tag < RTAGS)
		r->per_tag[tag]++;
	else
		r->bad++;
	if (r->nlog < RLOG) {
		r->log[r->nlog] = tag;
		r->log_list[r->nlog++] = f->list;
	}
	r->total++;
}

static void releases_attach(struct flow_table *t, struct releases *r)
{
	memset(r, 0, sizeof(*r));
	r->t = t;
	t->on_release = note_release;
	t->release_arg = r;
}

/* Forget the log (not the counts) before the next call under test. */
static void releases_next(struct releases *r, uint32_t now)
{
	r->nlog = 0;
	r->now = now;
}

/* The log holds exactly tags want[0..n), in that order. */
static void expect_log(const struct releases *r, const uint32_t *want,
		       uint32_t n)
{
	ck_assert_msg(r->nlog == n, "%u flows freed, not %u", r->nlog, n);
	for (uint32_t i = 0; i < n; i++)
		ck_assert_msg(r->log[i] == want[i],
			      "freed #%u: flow %u, not %u", i, r->log[i],
			      want[i]);
}

#define EXPECT_LOG(r, ...)                                     \
	expect_log(r, (const uint32_t[]){ __VA_ARGS__ },       \
		   sizeof((const uint32_t[]){ __VA_ARGS__ }) / \
			   sizeof(uint32_t))

/* ---- keys ------------------------------------------------------------ */

START_TEST(test_key_v4_order)
{
	struct flow_key k;
	uint32_t lo = htonl(0x01000002u); /* 1.0.0.2 */
	uint32_t hi = htonl(0x02000001u); /* 2.0.0.1 */
	bool sw;

	/* From the smaller address: not swapped. */
	sw = flow_key_make(&k, 4, 17, &lo, &hi, 5353, 53);
	ck_assert(!sw);
	ck_assert_uint_eq(k.addr[0][0], lo);
	ck_assert_uint_eq(k.addr[1][0], hi);
	ck_assert_uint_eq(k.port[0], 5353);
	ck_assert_uint_eq(k.port[1], 53);
	ck_assert_uint_eq(k.family, 4);
	ck_assert_uint_eq(k.proto, 17);

	/* From the larger address: swapped, ports follow their address. */
	sw = flow_key_make(&k, 4, 17, &hi, &lo, 53, 5353);
	ck_assert(sw);
	ck_assert_uint_eq(k.addr[0][0], lo);
	ck_assert_uint_eq(k.addr[1][0], hi);
	ck_assert_uint_eq(k.port[0], 5353);
	ck_assert_uint_eq(k.port[1], 53);

	/* Address order wins over port order. */
	sw = flow_key_make(&k, 4, 6, &hi, &lo, 1, 65535);
	ck_assert(sw);
	ck_assert_uint_eq(k.port[0], 65535);
	ck_assert_uint_eq(k.port[1], 1);
}
END_TEST

START_TEST(test_key_v4_equal_addresses)
{
	struct flow_key k;
	uint32_t a = htonl(0x7f000001u);
	bool sw;

	sw = flow_key_make(&k, 4, 6, &a, &a, 40000, 22);
	ck_assert(sw);
	ck_assert_uint_eq(k.port[0], 22);
	ck_assert_uint_eq(k.port[1], 40000);
	sw = flow_key_make(&k, 4, 6, &a, &a, 22, 40000);
	ck_assert(!sw);
	ck_assert_uint_eq(k.port[0], 22);
	ck_assert_uint_eq(k.port[1], 40000);
	/* Fully symmetric: never swapped, one key. */
	sw = flow_key_make(&k, 4, 1, &a, &a, 7, 7);
	ck_assert(!sw);
	ck_assert_uint_eq(k.port[0], 7);
	ck_assert_uint_eq(k.port[1], 7);
}
END_TEST

START_TEST(test_key_v6_order)
{
	struct flow_key k, r;
	uint8_t a[16], b[16], c[16];
	bool sw;

	ck_assert_int_eq(inet_pton(AF_INET6, "2001:db8::1", a), 1);
	ck_assert_int_eq(inet_pton(AF_INET6, "2001:db8::2", b), 1);
	/* Bigger than a and b in the first byte. */
	ck_assert_int_eq(inet_pton(AF_INET6, "fe80::1", c), 1);

	/* a and b differ only in the last byte. */
	sw = flow_key_make(&k, 6, 6, a, b, 33000, 443);
	ck_assert(!sw);
	ck_assert_mem_eq(k.addr[0], a, 16);
	ck_assert_mem_eq(k.addr[1], b, 16);
	ck_assert_uint_eq(k.port[0], 33000);
	ck_assert_uint_eq(k.port[1], 443);
	ck_assert_uint_eq(k.family, 6);

	sw = flow_key_make(&r, 6, 6, b, a, 443, 33000);
	ck_assert(sw);
	ck_assert_mem_eq(&k, &r, sizeof(k));

	/* The first byte decides before any later one. */
	sw = flow_key_make(&k, 6, 17, c, a, 1, 2);
	ck_assert(sw);
	ck_assert_mem_eq(k.addr[0], a, 16);
	ck_assert_mem_eq(k.addr[1], c, 16);
	ck_assert_uint_eq(k.port[0], 2);
	ck_assert_uint_eq(k.port[1], 1);

	/* Equal addresses: by port. */
	sw = flow_key_make(&k, 6, 17, a, a, 9000, 53);
	ck_assert(sw);
	ck_assert_uint_eq(k.port[0], 53);
	sw = flow_key_make(&k, 6, 17, a, a, 53, 9000);
	ck_assert(!sw);
	ck_assert_uint_eq(k.port[0], 53);
}
END_TEST

START_TEST(test_key_padding_zero)
{
	struct flow_key k;
	uint32_t a = htonl(0x0a000001u), b = htonl(0x0a000002u);
	uint8_t a6[16], b6[16];

	memset(&k, 0xff, sizeof(k));
	flow_key_make(&k, 4, 6, &b, &a, 1, 2);
	ck_assert_uint_eq(k.pad[0], 0);
	ck_assert_uint_eq(k.pad[1], 0);
	for (int e = 0; e < 2; e++)
		for (int w = 1; w < 4; w++)
			ck_assert_uint_eq(k.addr[e][w], 0);

	memset(a6, 0x11, sizeof(a6));
	memset(b6, 0x22, sizeof(b6));
	memset(&k, 0xff, sizeof(k));
	flow_key_make(&k, 6, 58, b6, a6, 0, 0);
	ck_assert_uint_eq(k.pad[0], 0);
	ck_assert_uint_eq(k.pad[1], 0);
}
END_TEST

/* A packet and its reply build byte-identical keys. */
START_TEST(test_key_both_directions)
{
	for (uint32_t i = 0; i < 1000; i++) {
		struct tpkt p = pkt_n(i * 7919u);
		struct flow_key k1, k2;
		bool s1, s2;

		memset(&k1, 0x5a, sizeof(k1));
		memset(&k2, 0xa5, sizeof(k2));
		s1 = pkt_key(&k1, &p, 0);
		s2 = pkt_key(&k2, &p, 1);
		ck_assert_mem_eq(&k1, &k2, sizeof(k1));
		ck_assert(s1 != s2);
	}
	/* IPv6, random-ish addresses. */
	for (uint32_t i = 0; i < 1000; i++) {
		uint8_t a[16], b[16];
		struct flow_key k1, k2;
		bool s1, s2;

		for (int j = 0; j < 16; j++) {
			a[j] = (uint8_t)(i * 131 + (uint32_t)j * 17);
			b[j] = (uint8_t)(i * 71 + (uint32_t)j * 29 + 1);
		}
		s1 = flow_key_make(&k1, 6, 6, a, b, (uint16_t)i, 443);
		s2 = flow_key_make(&k2, 6, 6, b, a, 443, (uint16_t)i);
		ck_assert_mem_eq(&k1, &k2, sizeof(k1));
		if (memcmp(a, b, 16) != 0 || i != 443)
			ck_assert(s1 != s2);
	}
}
END_TEST

START_TEST(test_dir_of)
{
	struct flow f;

	memset(&f, 0, sizeof(f));
	ck_assert_int_eq(flow_dir_of(&f, false), FLOW_DIR_ORIGINAL);
	ck_assert_int_eq(flow_dir_of(&f, true), FLOW_DIR_REPLY);
	f.flags = FLOW_F_ORIG_HI;
	ck_assert_int_eq(flow_dir_of(&f, true), FLOW_DIR_ORIGINAL);
	ck_assert_int_eq(flow_dir_of(&f, false), FLOW_DIR_REPLY);
	/* Other flags do not matter. */
	f.flags = FLOW_F_ORIG_HI | FLOW_F_SEEN_REPLY | FLOW_F_ASSURED;
	ck_assert_int_eq(flow_dir_of(&f, true), FLOW_DIR_ORIGINAL);
	f.flags = FLOW_F_SEEN_REPLY | FLOW_F_ASSURED;
	ck_assert_int_eq(flow_dir_of(&f, false), FLOW_DIR_ORIGINAL);
	ck_assert_int_eq(flow_dir_of(&f, true), FLOW_DIR_REPLY);
}
END_TEST

/* ---- flow_hash --------------------------------------------------------- */

/* Changing any one field of a key changes its hash. */
START_TEST(test_flow_hash_fields)
{
	struct flow_table t;
	struct flow_key k, m;
	uint64_t h;
	uint8_t a6[16], b6[16];

	table_init(&t, 4, 4);
	{
		uint32_t a = htonl(0x0a000001u), b = htonl(0xc0a80001u);

		flow_key_make(&k, 4, 6, &a, &b, 40000, 443);
	}
	h = flow_hash(&t, &k);
	ck_assert_uint_eq(flow_hash(&t, &k), h);
	for (int e = 0; e < 2; e++) {
		for (int bit = 0; bit < 32; bit++) {
			m = k;
			m.addr[e][0] ^= 1u << bit;
			CHECK(flow_hash(&t, &m) != h, "v4 addr %d bit %d", e,
			      bit);
		}
		for (int bit = 0; bit < 16; bit++) {
			m = k;
			m.port[e] ^= (uint16_t)(1u << bit);
			CHECK(flow_hash(&t, &m) != h, "v4 port %d bit %d", e,
			      bit);
		}
	}
	m = k;
	m.proto = 17;
	ck_assert_uint_ne(flow_hash(&t, &m), h);
	/* Swapping the endpoints is another key and another hash. */
	m = k;
	m.addr[0][0] = k.addr[1][0];
	m.addr[1][0] = k.addr[0][0];
	ck_assert_uint_ne(flow_hash(&t, &m), h);

	memset(a6, 0, sizeof(a6));
	memset(b6, 0, sizeof(b6));
	a6[0] = 0x20;
	b6[0] = 0x30;
	flow_key_make(&k, 6, 17, a6, b6, 1000, 53);
	h = flow_hash(&t, &k);
	for (int e = 0; e < 2; e++)
		for (int w = 0; w < 4; w++)
			for (int bit = 0; bit < 32; bit++) {
				m = k;
				m.addr[e][w] ^= 1u << bit;
				CHECK(flow_hash(&t, &m) != h,
				      "v6 addr %d word %d bit %d", e, w, bit);
			}
	m = k;
	m.proto = 58;
	ck_assert_uint_ne(flow_hash(&t, &m), h);
	m = k;
	m.port[1] = 54;
	ck_assert_uint_ne(flow_hash(&t, &m), h);
	/* The hash key matters. */
	{
		struct flow_table t2;
		struct hash_key other = fkey;

		other.k1 ^= 1;
		ck_assert_int_eq(
			flow_table_init(&t2, 4, 4, TC_N, &other, timeouts), 0);
		ck_assert_uint_ne(flow_hash(&t2, &k), h);
		flow_table_destroy(&t2);
	}
	flow_table_destroy(&t);
}
END_TEST

/*
 * Flows that differ only in one address (many clients of one server and
 * port pair, or one IPv6 /64) spread over the buckets like random ones.
 */
static void check_addr_spread(struct flow_table *t, int family, int which)
{
	enum { N = 1 << 16, NB = 1 << 12 };
	uint32_t *load = calloc(NB, sizeof(*load)), max = 0;

	ck_assert_ptr_nonnull(load);
	for (uint32_t i = 0; i < N; i++) {
		uint8_t a[16], b[16];
		uint32_t v = htonl(0x0a000000u + i);
		struct flow_key k;

		memset(a, 0, sizeof(a));
		memset(b, 0, sizeof(b));
		a[0] = 0x0a;
		b[0] = 0xc0;
		memcpy(which ? b + (family == 4 ? 0 : 12) :
			       a + (family == 4 ? 0 : 12),
		       &v, 4);
		flow_key_make(&k, (uint8_t)family, 6, a, b, 12345, 80);
		load[flow_hash(t, &k) & (NB - 1)]++;
	}
	for (uint32_t b = 0; b < NB; b++)
		if (load[b] > max)
			max = load[b];
	free(load);
	/* 16 per bucket on average; the fullest of 4096 is ~32. */
	ck_assert_msg(max < 60, "family %d, address %d: max load %u", family,
		      which, max);
}

START_TEST(test_flow_hash_spread)
{
	struct flow_table t;

	table_init(&t, 4, 4);
	check_addr_spread(&t, 4, 0);
	check_addr_spread(&t, 4, 1);
	check_addr_spread(&t, 6, 0);
	check_addr_spread(&t, 6, 1);
	flow_table_destroy(&t);
}
END_TEST

/* ---- basic table operations ------------------------------------------ */

START_TEST(test_init_rejects_buckets)
{
	static const uint32_t bad[] = {
		0, 3, 5, 6, 7, 12, 100, 1000, 0x80000001u, 0xffffffffu
	};
	struct flow_table t;

	reset_timeouts();
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		errno = 0;
		ck_assert_int_eq(flow_table_init(&t, 100, bad[i], TC_N, &fkey,
						 timeouts),
				 -1);
		ck_assert_int_eq(errno, EINVAL);
	}
	/* Capacity 0 is refused too (by the slab). */
	errno = 0;
	ck_assert_int_eq(flow_table_init(&t, 0, 16, TC_N, &fkey, timeouts), -1);
	ck_assert_int_eq(errno, EINVAL);

	for (uint32_t n = 1; n <= (1u << 20); n <<= 1) {
		ck_assert_int_eq(
			flow_table_init(&t, 10, n, TC_N, &fkey, timeouts), 0);
		ck_assert_uint_eq(flow_table_buckets(&t), n);
		ck_assert(!flow_table_rehashing(&t));
		ck_assert_uint_eq(t.count, 0);
		flow_table_destroy(&t);
	}
}
END_TEST

/* 1 to FLOW_LISTS_MAX age lists, all empty; 0 or more are refused. */
START_TEST(test_init_lists)
{
	static const uint32_t bad[] = { 0, FLOW_LISTS_MAX + 1, 1000,
					0xffffffffu };
	static const uint32_t good[] = { 1, 2, TC_N, 64, FLOW_LISTS_MAX };
	struct flow_table t;

	reset_timeouts();
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		errno = 0;
		ck_assert_int_eq(flow_table_init(&t, 10, 8, bad[i], &fkey,
						 timeouts),
				 -1);
		ck_assert_int_eq(errno, EINVAL);
	}
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		ck_assert_int_eq(flow_table_init(&t, 10, 8, good[i], &fkey,
						 timeouts),
				 0);
		ck_assert_uint_eq(t.nlists, good[i]);
		ck_assert_ptr_eq(t.timeouts, timeouts);
		ck_assert_ptr_null(t.on_release);
		for (uint32_t l = 0; l < good[i]; l++)
			EXPECT_EMPTY(&t, l);
		check_lists(&t);
		/* The last list is usable. */
		ck_assert_ptr_nonnull(add_n(&t, 1, (uint8_t)(good[i] - 1), 5));
		EXPECT_LIST(&t, good[i] - 1, 1);
		check_lists(&t);
		flow_table_destroy(&t);
	}
}
END_TEST

/*
 * IPv4 and IPv6 flows in one table: each in the slab of its family, named
 * by references that say which, on one chain (one bucket here) and one
 * age list, oldest first whatever the family. Flows 0 and 1 have the
 * same words but the family (10.0.0.1 and 10.0.0.1::), and are found
 * apart.
 */
START_TEST(test_two_families_one_table)
{
	static const uint8_t a4[4] = { 10, 0, 0, 1 }, b4[4] = { 10, 0, 0, 2 };
	uint8_t a6[16] = { 10, 0, 0, 1 }, b6[16] = { 10, 0, 0, 2 };
	struct flow_key k[4], got;
	struct flow *f[4];
	struct flow_table t;

	table_init(&t, 4, 1);
	flow_key_make(&k[0], 4, IPPROTO_UDP, a4, b4, 1000, 53);
	flow_key_make(&k[1], 6, IPPROTO_UDP, a6, b6, 1000, 53);
	flow_key_make(&k[2], 4, IPPROTO_TCP, b4, a4, 80, 2000);
	flow_key_make(&k[3], 6, IPPROTO_TCP, b6, a6, 80, 2000);
	for (uint32_t i = 0; i < 4; i++) {
		f[i] = flow_table_insert(&t, &k[i], flow_hash(&t, &k[i]),
					 10 + i, TC_SHORT);
		ck_assert_ptr_nonnull(f[i]);
		f[i]->aux = i;
		ck_assert_uint_eq(!!(idx_of(&t, f[i]) & FLOW_REF_V6), i & 1);
		ck_assert_ptr_eq(flow_of(&t, idx_of(&t, f[i])), f[i]);
		flow_key_get(f[i], &got);
		ck_assert_mem_eq(&got, &k[i], sizeof(got));
	}
	ck_assert_uint_eq(t.slab[0].in_use, 2);
	ck_assert_uint_eq(t.slab[1].in_use, 2);
	EXPECT_LIST(&t, TC_SHORT, 0, 1, 2, 3);
	check_lists(&t);
	for (uint32_t i = 0; i < 4; i++)
		ck_assert_ptr_eq(flow_table_lookup(&t, &k[i],
						   flow_hash(&t, &k[i]), 20),
				 f[i]);
	/* Refreshed, an IPv4 flow goes behind the IPv6 ones. */
	flow_table_touch(&t, f[0], TC_SHORT, 21);
	EXPECT_LIST(&t, TC_SHORT, 1, 2, 3, 0);
	ck_assert_ptr_eq(
		flow_table_oldest(&t, (const uint8_t[]){ TC_SHORT }, 1), f[1]);
	/* Expiry pops both families off the old end. */
	ck_assert_uint_eq(flow_table_expire(&t, 10 + 30 + 2, UINT32_MAX), 2);
	EXPECT_LIST(&t, TC_SHORT, 3, 0);
	ck_assert_uint_eq(t.slab[0].in_use, 1);
	ck_assert_uint_eq(t.slab[1].in_use, 1);
	check_lists(&t);
	/* A rehash moves both. */
	ck_assert_int_eq(flow_table_resize(&t, 8, 42), 0);
	flow_table_migrate(&t, 42, UINT32_MAX);
	ck_assert(!flow_table_rehashing(&t));
	check_lists(&t);
	flow_table_remove(&t, f[3]);
	flow_table_remove(&t, f[0]);
	ck_assert_uint_eq(in_use(&t), 0);
	check_lists(&t);
	flow_table_destroy(&t);
}
END_TEST

START_TEST(test_insert_lookup)
{
	struct flow_table t;
	struct flow *f;
	struct flow_key k;
	struct tpkt p = pkt_n(42);
	uint32_t idx;
	bool sw;

	table_init(&t, 16, 8);
	sw = pkt_key(&k, &p, 0);
	f = flow_table_insert(&t, &k, flow_hash(&t, &k), 500, TC_SHORT);
	ck_assert_ptr_nonnull(f);
	idx = idx_of(&t, f);
	ck_assert_uint_eq(idx & FLOW_REF_V6, 0);
	{
		struct flow_key fk;

		flow_key_get(f, &fk);
		ck_assert_mem_eq(&fk, &k, sizeof(k));
	}
	ck_assert_uint_eq(f->last_seen, 500);
	ck_assert_uint_eq(f->state, 0);
	ck_assert_uint_eq(f->flags, 0);
	ck_assert_uint_eq(f->tclass, 0);
	ck_assert_uint_eq(f->source, 0);
	ck_assert_uint_eq(f->aux, 0);
	/* Alone on its list. */
	ck_assert_uint_eq(f->list, TC_SHORT);
	ck_assert_uint_eq(f->older, FLOW_NIL);
	ck_assert_uint_eq(f->newer, FLOW_NIL);
	ck_assert_uint_eq(t.list[TC_SHORT].oldest, idx);
	ck_assert_uint_eq(t.list[TC_SHORT].newest, idx);
	ck_assert_uint_eq(t.list[TC_SHORT].count, 1);
	ck_assert_uint_eq(t.list[TC_LONG].count, 0);
	ck_assert_uint_eq(t.list[TC_OTHER].count, 0);
	ck_assert_uint_eq(t.count, 1);
	if (sw)
		f->flags |= FLOW_F_ORIG_HI;

	/* Found from both directions: the same flow. */
	ck_assert_ptr_eq(find_pkt(&t, &p, 0, 501), f);
	ck_assert_ptr_eq(find_pkt(&t, &p, 1, 501), f);
	sw = pkt_key(&k, &p, 0);
	ck_assert_int_eq(flow_dir_of(f, sw), FLOW_DIR_ORIGINAL);
	sw = pkt_key(&k, &p, 1);
	ck_assert_int_eq(flow_dir_of(f, sw), FLOW_DIR_REPLY);
	/* A lookup does not refresh or change the flow, or move it. */
	ck_assert_uint_eq(f->last_seen, 500);
	ck_assert_uint_eq(f->list, TC_SHORT);
	ck_assert_uint_eq(t.list[TC_SHORT].oldest, idx);
	ck_assert_uint_eq(t.count, 1);
	check_lists(&t);
	flow_table_destroy(&t);
}
END_TEST

/* Even and odd test flows: the originator is the lower endpoint of one
 * kind and the higher of the other. */
START_TEST(test_insert_lookup_both_orders)
{
	struct flow_table t;

	table_init(&t, 64, 16);
	for (uint32_t i = 0; i < 40; i++)
		ck_assert_ptr_nonnull(add_n(&t, i, TC_LONG, 10));
	for (uint32_t i = 0; i < 40; i++)
		expect_found(&t, i, 20);
	ck_assert_uint_eq(t.count, 40);
	flow_table_destroy(&t);
}
END_TEST

START_TEST(test_insert_lookup_v6)
{
	struct flow_table t;
	struct tpkt p;
	struct flow *f;

	table_init(&t, 64, 16);
	memset(&p, 0, sizeof(p));
	p.family = 6;
	p.proto = 17;
	ck_assert_int_eq(inet_pton(AF_INET6, "2001:db8::99", p.src), 1);
	ck_assert_int_eq(inet_pton(AF_INET6, "2001:db8::1", p.dst), 1);
	p.sport = 5000;
	p.dport = 53;
	f = add_pkt(&t, &p, 7, TC_LONG, 1);
	ck_assert_ptr_nonnull(f);
	ck_assert_ptr_eq(find_pkt(&t, &p, 0, 2), f);
	ck_assert_ptr_eq(find_pkt(&t, &p, 1, 2), f);
	/* Another port is another flow. */
	p.sport = 5001;
	ck_assert_ptr_null(find_pkt(&t, &p, 0, 2));
	flow_table_destroy(&t);
}
END_TEST

START_TEST(test_lookup_absent)
{
	struct flow_table t;

	table_init(&t, 64, 16);
	/* Empty table. */
	ck_assert_ptr_null(find_n(&t, 1, 0, 5));
	ck_assert_ptr_null(find_n(&t, 1, 1, 5));
	for (uint32_t i = 0; i < 20; i++)
		add_n(&t, i, TC_LONG, 5);
	for (uint32_t i = 20; i < 200; i++)
		expect_absent(&t, i, 6);
	ck_assert_uint_eq(t.count, 20);
	ck_assert_uint_eq(t.expired, 0);
	flow_table_destroy(&t);
}
END_TEST

/*
 * An IPv4 and an IPv6 key with the same bits where the IPv4 key has any
 * (first address words, ports, protocol) are different flows, even in one
 * chain; so are keys that differ only in the protocol.
 */
START_TEST(test_family_proto_distinct)
{
	struct flow_table t;
	struct tpkt p4, p6, pu;
	struct flow *f4, *f6, *fu;
	uint32_t a = htonl(0x0a000001u), b = htonl(0x0a000002u);

	table_init(&t, 16, 1);
	memset(&p4, 0, sizeof(p4));
	memcpy(p4.src, &a, 4);
	memcpy(p4.dst, &b, 4);
	p4.sport = 1234;
	p4.dport = 80;
	p4.family = 4;
	p4.proto = 6;
	p6 = p4; /* same bytes, the rest of the 16 zero */
	p6.family = 6;
	pu = p4;
	pu.proto = 17;

	f4 = add_pkt(&t, &p4, 4, TC_LONG, 1);
	ck_assert_ptr_nonnull(f4);
	ck_assert_ptr_null(find_pkt(&t, &p6, 0, 1));
	ck_assert_ptr_null(find_pkt(&t, &pu, 0, 1));
	f6 = add_pkt(&t, &p6, 6, TC_LONG, 1);
	fu = add_pkt(&t, &pu, 17, TC_LONG, 1);
	ck_assert_ptr_nonnull(f6);
	ck_assert_ptr_nonnull(fu);
	ck_assert_uint_eq(t.count, 3);
	for (int r = 0; r < 2; r++) {
		ck_assert_uint_eq(tag_of(find_pkt(&t, &p4, r, 2)), 4);
		ck_assert_uint_eq(tag_of(find_pkt(&t, &p6, r, 2)), 6);
		ck_assert_uint_eq(tag_of(find_pkt(&t, &pu, r, 2)), 17);
	}
	/* The hashes differ too (family and proto are hashed). */
	{
		struct flow_key k4, k6, ku;

		pkt_key(&k4, &p4, 0);
		pkt_key(&k6, &p6, 0);
		pkt_key(&ku, &pu, 0);
		ck_assert_uint_ne(flow_hash(&t, &k4), flow_hash(&t, &k6));
		ck_assert_uint_ne(flow_hash(&t, &k4), flow_hash(&t, &ku));
	}
	flow_table_destroy(&t);
}
END_TEST

START_TEST(test_count)
{
	struct flow_table t;
	struct flow *f;

	table_init(&t, 1000, 64);
	for (uint32_t i = 0; i < 1000; i++) {
		ck_assert_ptr_nonnull(add_n(&t, i, (uint8_t)(i % TC_N), 1));
		ck_assert_uint_eq(t.count, i + 1);
	}
	for (uint32_t l = 0; l < TC_N; l++)
		ck_assert_uint_eq(t.list[l].count,
				  (1000 + TC_N - 1 - l) / TC_N);
	for (uint32_t i = 0; i < 1000; i += 2) {
		f = find_n(&t, i, i & 2 ? 1 : 0, 2);
		ck_assert_ptr_nonnull(f);
		flow_table_remove(&t, f);
	}
	ck_assert_uint_eq(t.count, 500);
	ck_assert_uint_eq(t.slab[0].in_use, 500);
	check_lists(&t);
	for (uint32_t i = 0; i < 1000; i++) {
		if (i & 1)
			expect_found(&t, i, 3);
		else
			expect_absent(&t, i, 3);
	}
	flow_table_destroy(&t);
}
END_TEST

/* Flows inserted into one chain (one bucket): newest first. */
static void chain_of(struct flow_table *t, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		ck_assert_ptr_nonnull(add_n(t, i, TC_LONG, 1));
}

/* The tags along bucket 0's chain, head first. */
static uint32_t chain_tags(const struct flow_table *t, uint32_t *out,
			   uint32_t max)
{
	uint32_t n = 0;

	for (uint32_t idx = t->bucket[0][0]; idx != FLOW_NIL;
	     idx = flow_of(t, idx)->next) {
		ck_assert_uint_lt(n, max);
		out[n++] = flow_of(t, idx)->aux;
	}
	return n;
}

/* Removal from the head, middle and tail of a chain, which are the
 * newest, middle and oldest of the age list too. */
START_TEST(test_remove_head_middle_tail)
{
	struct flow_table t;
	uint32_t tags[8], n;

	table_init(&t, 16, 1);
	chain_of(&t, 5); /* chain: 4 3 2 1 0; list: 0 1 2 3 4 */
	n = chain_tags(&t, tags, 8);
	ck_assert_uint_eq(n, 5);
	ck_assert_uint_eq(tags[0], 4);
	ck_assert_uint_eq(tags[4], 0);
	EXPECT_LIST(&t, TC_LONG, 0, 1, 2, 3, 4);

	flow_table_remove(&t, must_find_n(&t, 2, 2)); /* middle */
	ck_assert_uint_eq(t.count, 4);
	n = chain_tags(&t, tags, 8);
	ck_assert_uint_eq(n, 4);
	ck_assert_uint_eq(tags[0], 4);
	ck_assert_uint_eq(tags[1], 3);
	ck_assert_uint_eq(tags[2], 1);
	ck_assert_uint_eq(tags[3], 0);
	EXPECT_LIST(&t, TC_LONG, 0, 1, 3, 4);
	expect_absent(&t, 2, 2);

	flow_table_remove(&t, must_find_n(&t, 4, 2)); /* head, newest */
	ck_assert_uint_eq(t.count, 3);
	n = chain_tags(&t, tags, 8);
	ck_assert_uint_eq(n, 3);
	ck_assert_uint_eq(tags[0], 3);
	EXPECT_LIST(&t, TC_LONG, 0, 1, 3);
	expect_absent(&t, 4, 2);

	flow_table_remove(&t, must_find_n(&t, 0, 2)); /* tail, oldest */
	ck_assert_uint_eq(t.count, 2);
	n = chain_tags(&t, tags, 8);
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(tags[0], 3);
	ck_assert_uint_eq(tags[1], 1);
	EXPECT_LIST(&t, TC_LONG, 1, 3);
	expect_absent(&t, 0, 2);
	expect_found(&t, 1, 2);
	expect_found(&t, 3, 2);
	check_lists(&t);

	/* Down to empty. */
	flow_table_remove(&t, must_find_n(&t, 1, 2));
	flow_table_remove(&t, must_find_n(&t, 3, 2));
	ck_assert_uint_eq(t.count, 0);
	ck_assert_uint_eq(t.bucket[0][0], FLOW_NIL);
	ck_assert_uint_eq(t.slab[0].in_use, 0);
	EXPECT_EMPTY(&t, TC_LONG);
	/* And usable again. */
	chain_of(&t, 3);
	for (uint32_t i = 0; i < 3; i++)
		expect_found(&t, i, 3);
	EXPECT_LIST(&t, TC_LONG, 0, 1, 2);
	check_lists(&t);
	flow_table_destroy(&t);
}
END_TEST

/* A removed flow's slot is reused, and the new flow starts clean. */
START_TEST(test_remove_reuse_clean)
{
	struct flow_table t;
	struct flow *f;
	uint32_t idx;

	table_init(&t, 4, 2);
	f = add_n(&t, 1, TC_OTHER, 10);
	idx = idx_of(&t, f);
	f->state = 9;
	f->flags = 0xff;
	f->tclass = 7;
	f->source = 77;
	f->aux = 0xdeadbeef;
	flow_table_remove(&t, f);
	EXPECT_EMPTY(&t, TC_OTHER);
	f = add_n(&t, 2, TC_LONG, 20);
	ck_assert_uint_eq(idx_of(&t, f), idx);
	ck_assert_uint_eq(f->state, 0);
	ck_assert_uint_eq(f->tclass, 0);
	ck_assert_uint_eq(f->source, 0);
	ck_assert_uint_eq(f->aux, 2); /* add_n()'s tag, over a zero */
	ck_assert_uint_eq(f->flags & ~FLOW_F_ORIG_HI, 0);
	ck_assert_uint_eq(f->list, TC_LONG);
	ck_assert_uint_eq(f->older, FLOW_NIL);
	ck_assert_uint_eq(f->newer, FLOW_NIL);
	EXPECT_LIST(&t, TC_LONG, 2);
	EXPECT_EMPTY(&t, TC_OTHER);
	expect_absent(&t, 1, 21);
	expect_found(&t, 2, 21);
	flow_table_destroy(&t);
}
END_TEST

/* ---- age lists ------------------------------------------------------- */

/* Insert appends as the newest of the list named, whatever the time. */
START_TEST(test_list_insert_order)
{
	struct flow_table t;
	struct flow *f[6];

	table_init(&t, 64, 8);
	f[0] = add_n(&t, 0, TC_LONG, 10);
	f[1] = add_n(&t, 1, TC_SHORT, 10);
	f[2] = add_n(&t, 2, TC_LONG, 11);
	f[3] = add_n(&t, 3, TC_OTHER, 12);
	f[4] = add_n(&t, 4, TC_LONG, 12);
	f[5] = add_n(&t, 5, TC_SHORT, 13);
	for (int i = 0; i < 6; i++)
		ck_assert_ptr_nonnull(f[i]);
	EXPECT_LIST(&t, TC_LONG, 0, 2, 4);
	EXPECT_LIST(&t, TC_SHORT, 1, 5);
	EXPECT_LIST(&t, TC_OTHER, 3);
	/* The links, both ways. */
	ck_assert_uint_eq(t.list[TC_LONG].oldest, idx_of(&t, f[0]));
	ck_assert_uint_eq(t.list[TC_LONG].newest, idx_of(&t, f[4]));
	ck_assert_uint_eq(f[0]->older, FLOW_NIL);
	ck_assert_uint_eq(f[0]->newer, idx_of(&t, f[2]));
	ck_assert_uint_eq(f[2]->older, idx_of(&t, f[0]));
	ck_assert_uint_eq(f[2]->newer, idx_of(&t, f[4]));
	ck_assert_uint_eq(f[4]->older, idx_of(&t, f[2]));
	ck_assert_uint_eq(f[4]->newer, FLOW_NIL);
	ck_assert_uint_eq(f[3]->older, FLOW_NIL);
	ck_assert_uint_eq(f[3]->newer, FLOW_NIL);
	ck_assert_uint_eq(f[1]->list, TC_SHORT);
	check_lists(&t);
	/* Many in the same second: in the order inserted. */
	for (uint32_t i = 6; i < 40; i++)
		ck_assert_ptr_nonnull(add_n(&t, i, TC_OTHER, 12));
	{
		uint32_t tags[64], n = list_tags(&t, TC_OTHER, tags, 64);

		ck_assert_uint_eq(n, 35);
		ck_assert_uint_eq(tags[0], 3);
		for (uint32_t i = 1; i < n; i++)
			ck_assert_uint_eq(tags[i], i + 5);
	}
	ck_assert_uint_eq(t.count, 40);
	check_lists(&t);
	flow_table_destroy(&t);
}
END_TEST

/* A touch makes the flow the newest of its list, from anywhere in it. */
START_TEST(test_touch_moves_newest)
{
	struct flow_table t;
	struct flow *f;

	table_init(&t, 64, 8);
	for (uint32_t i = 0; i < 5; i++)
		add_n(&t, i, TC_SHORT, 10 + i);
	EXPECT_LIST(&t, TC_SHORT, 0, 1, 2, 3, 4);

	f = must_find_n(&t, 2, 20); /* middle */
	flow_table_touch(&t, f, TC_SHORT, 20);
	ck_assert_uint_eq(f->last_seen, 20);
	ck_assert_uint_eq(f->list, TC_SHORT);
	EXPECT_LIST(&t, TC_SHORT, 0, 1, 3, 4, 2);
	check_lists(&t);

	f = must_find_n(&t, 0, 21); /* oldest */
	flow_table_touch(&t, f, TC_SHORT, 21);
	ck_assert_uint_eq(f->last_seen, 21);
	EXPECT_LIST(&t, TC_SHORT, 1, 3, 4, 2, 0);
	check_lists(&t);

	f = must_find_n(&t, 4, 22); /* middle again, to next to newest */
	flow_table_touch(&t, f, TC_SHORT, 22);
	EXPECT_LIST(&t, TC_SHORT, 1, 3, 2, 0, 4);
	ck_assert_uint_eq(t.count, 5);
	ck_assert_uint_eq(t.list[TC_SHORT].count, 5);
	check_lists(&t);
	/* Touching changes nothing else about the flow or the table. */
	ck_assert_uint_eq(t.expired, 0);
	expect_found(&t, 4, 22);
	flow_table_destroy(&t);
}
END_TEST

/* Touching the newest flow refreshes it and moves nothing. */
START_TEST(test_touch_newest)
{
	struct flow_table t;
	struct flow *f, *g;
	uint32_t older;

	table_init(&t, 64, 8);
	/* Alone on its list. */
	f = add_n(&t, 0, TC_OTHER, 10);
	flow_table_touch(&t, f, TC_OTHER, 11);
	ck_assert_uint_eq(f->last_seen, 11);
	ck_assert_uint_eq(f->older, FLOW_NIL);
	ck_assert_uint_eq(f->newer, FLOW_NIL);
	EXPECT_LIST(&t, TC_OTHER, 0);
	/* The newest of three. */
	add_n(&t, 1, TC_OTHER, 12);
	g = add_n(&t, 2, TC_OTHER, 13);
	older = g->older;
	flow_table_touch(&t, g, TC_OTHER, 14);
	ck_assert_uint_eq(g->last_seen, 14);
	ck_assert_uint_eq(g->older, older);
	ck_assert_uint_eq(g->newer, FLOW_NIL);
	ck_assert_uint_eq(t.list[TC_OTHER].newest, idx_of(&t, g));
	EXPECT_LIST(&t, TC_OTHER, 0, 1, 2);
	/* And again, later: still newest; its timeout counts from there. */
	flow_table_touch(&t, g, TC_OTHER, 100);
	EXPECT_LIST(&t, TC_OTHER, 0, 1, 2);
	ck_assert_uint_eq(flow_table_expire(&t, 219, UINT32_MAX), 2);
	EXPECT_LIST(&t, TC_OTHER, 2);
	expect_found(&t, 2, 219);
	ck_assert_ptr_null(find_n(&t, 2, 0, 220));
	check_lists(&t);
	flow_table_destroy(&t);
}
END_TEST

/* A touch to another list moves the flow there, as its newest. */
START_TEST(test_touch_other_list)
{
	struct flow_table t;
	struct flow *f;

	table_init(&t, 64, 8);
	for (uint32_t i = 0; i < 3; i++)
		add_n(&t, i, TC_LONG, 10);
	add_n(&t, 3, TC_SHORT, 10);

	f = must_find_n(&t, 1, 11); /* from the middle */
	flow_table_touch(&t, f, TC_SHORT, 11);
	ck_assert_uint_eq(f->list, TC_SHORT);
	ck_assert_uint_eq(f->last_seen, 11);
	EXPECT_LIST(&t, TC_LONG, 0, 2);
	EXPECT_LIST(&t, TC_SHORT, 3, 1);
	check_lists(&t);

	f = must_find_n(&t, 0, 11); /* the oldest, to an empty list */
	flow_table_touch(&t, f, TC_OTHER, 11);
	EXPECT_LIST(&t, TC_LONG, 2);
	EXPECT_LIST(&t, TC_OTHER, 0);
	check_lists(&t);

	f = must_find_n(&t, 2, 11); /* the last one: its list empties */
	flow_table_touch(&t, f, TC_SHORT, 11);
	EXPECT_EMPTY(&t, TC_LONG);
	EXPECT_LIST(&t, TC_SHORT, 3, 1, 2);
	ck_assert_uint_eq(t.count, 4);
	check_lists(&t);

	/* In the same second as its last refresh: still a move. */
	f = must_find_n(&t, 3, 11);
	ck_assert_uint_eq(f->last_seen, 10);
	flow_table_touch(&t, f, TC_SHORT, 11);
	EXPECT_LIST(&t, TC_SHORT, 1, 2, 3);
	f = must_find_n(&t, 3, 11);
	flow_table_touch(&t, f, TC_LONG, 11);
	EXPECT_LIST(&t, TC_SHORT, 1, 2);
	EXPECT_LIST(&t, TC_LONG, 3);
	check_lists(&t);

	/* Each now expires by its new list's timeout: 1 and 2 at 30 s,
	 * 0 at 120 s, 3 at 3600 s. */
	ck_assert_ptr_nonnull(find_n(&t, 1, 0, 40));
	ck_assert_uint_eq(flow_table_expire(&t, 40, UINT32_MAX), 0);
	ck_assert_uint_eq(flow_table_expire(&t, 41, UINT32_MAX), 2);
	expect_absent(&t, 1, 41);
	expect_absent(&t, 2, 41);
	expect_found(&t, 0, 130);
	ck_assert_ptr_null(find_n(&t, 0, 0, 131));
	expect_found(&t, 3, 3610);
	ck_assert_uint_eq(flow_table_expire(&t, 3611, UINT32_MAX), 1);
	ck_assert_uint_eq(t.count, 0);
	ck_assert_uint_eq(t.expired, 4);
	check_lists(&t);
	flow_table_destroy(&t);
}
END_TEST

/*
 * A second touch in the same second, to the same list, does nothing at
 * all: the flow stays where it is, even when others were refreshed after
 * it in that second, and no other flow or list head changes.
 */
START_TEST(test_touch_same_second)
{
	struct flow_table t;
	struct flow *f, *p[3];
	struct flow before[3];
	struct flow_list lists[TC_N];

	table_init(&t, 8, 4);
	for (uint32_t i = 0; i < 3; i++)
		p[i] = add_n(&t, i, TC_OTHER, 10);
	f = p[0];
	for (uint32_t i = 0; i < 3; i++)
		before[i] = *p[i];
	memcpy(lists, t.list, sizeof(lists));
	flow_table_touch(&t, f, TC_OTHER, 10);
	EXPECT_LIST(&t, TC_OTHER, 0, 1, 2);
	ck_assert_mem_eq(lists, t.list, sizeof(lists));
	for (uint32_t i = 0; i < 3; i++)
		ck_assert_mem_eq(&before[i], p[i], sizeof(before[i]));

	/* A later second moves it ... */
	flow_table_touch(&t, f, TC_OTHER, 11);
	EXPECT_LIST(&t, TC_OTHER, 1, 2, 0);
	/* ... then flow 1 is refreshed after it in that second ... */
	flow_table_touch(&t, p[1], TC_OTHER, 11);
	EXPECT_LIST(&t, TC_OTHER, 2, 0, 1);
	/* ... and 0's second refresh that second does not pass it. */
	for (uint32_t i = 0; i < 3; i++)
		before[i] = *p[i];
	memcpy(lists, t.list, sizeof(lists));
	flow_table_touch(&t, f, TC_OTHER, 11);
	EXPECT_LIST(&t, TC_OTHER, 2, 0, 1);
	ck_assert_mem_eq(lists, t.list, sizeof(lists));
	for (uint32_t i = 0; i < 3; i++)
		ck_assert_mem_eq(&before[i], p[i], sizeof(before[i]));
	check_lists(&t);
	flow_table_destroy(&t);
}
END_TEST

/* relist's list_of(): every flow to the list *arg. */
static uint8_t list_to(struct flow *f, void *arg)
{
	(void)f;
	return *(const uint8_t *)arg;
}

/* Per-list counts stay right through every path that moves or frees. */
START_TEST(test_list_counts_every_path)
{
	struct flow_table t;
	uint32_t want[TC_N];

	table_init(&t, 256, 16);
	/* Long: 0-19; short: 20-39 at 0 (dead at 30), 40-49 at 25; other:
	 * 50-59 at 0. */
	for (uint32_t i = 0; i < 60; i++)
		add_n(&t, i,
		      i < 20 ? TC_LONG :
		      i < 50 ? TC_SHORT :
			       TC_OTHER,
		      i >= 40 && i < 50 ? 25 : 0);
	want[TC_LONG] = 20;
	want[TC_SHORT] = 30;
	want[TC_OTHER] = 10;
#define COUNTS_ARE()                                                     \
	do {                                                             \
		for (uint32_t l_ = 0; l_ < TC_N; l_++)                   \
			ck_assert_uint_eq(t.list[l_].count, want[l_]);   \
		ck_assert_uint_eq(t.count, want[0] + want[1] + want[2]); \
		check_lists(&t);                                         \
	} while (0)
	COUNTS_ARE();

	/* remove: the oldest, the newest and a middle flow of a list. */
	flow_table_remove(&t, must_find_n(&t, 0, 26));
	flow_table_remove(&t, must_find_n(&t, 19, 26));
	flow_table_remove(&t, must_find_n(&t, 7, 26));
	want[TC_LONG] -= 3;
	COUNTS_ARE();

	/* touch: within a list, and across lists. */
	flow_table_touch(&t, must_find_n(&t, 1, 26), TC_LONG, 26);
	flow_table_touch(&t, must_find_n(&t, 2, 26), TC_OTHER, 26);
	flow_table_touch(&t, must_find_n(&t, 3, 26), TC_OTHER, 26);
	flow_table_touch(&t, must_find_n(&t, 50, 26), TC_LONG, 26);
	want[TC_LONG] -= 1;
	want[TC_OTHER] += 1;
	COUNTS_ARE();

	/*
	 * lookup's lazy reclaim: dead flows 20 and 21, looked up (and any
	 * other dead flow of their chains: all on TC_SHORT).
	 */
	{
		uint64_t was = t.expired;

		ck_assert_ptr_null(find_n(&t, 20, 0, 30));
		ck_assert_ptr_null(find_n(&t, 21, 1, 30));
		ck_assert_uint_ge(t.expired - was, 2);
		ck_assert_uint_le(t.expired - was, 15);
		want[TC_SHORT] -= (uint32_t)(t.expired - was);
	}
	COUNTS_ARE();

	/* expire, bounded: five of the remaining 18 dead. */
	ck_assert_uint_eq(flow_table_expire(&t, 30, 5), 5);
	want[TC_SHORT] -= 5;
	COUNTS_ARE();

	/* migrate: some dead flows met in the buckets moved. */
	ck_assert_int_eq(flow_table_resize(&t, 64, 30), 0);
	{
		uint32_t n = flow_table_migrate(&t, 30, 8);

		want[TC_SHORT] -= n;
		COUNTS_ARE();
		/* resize's forced finish of that move. */
		ck_assert_int_eq(flow_table_resize(&t, 4, 30), 0);
		ck_assert_uint_eq(t.nbuckets[0], 64);
		want[TC_SHORT] = 10; /* all of 20-39 gone now */
		COUNTS_ARE();
		ck_assert_uint_eq(t.expired, 20);
		while (flow_table_rehashing(&t))
			ck_assert_uint_eq(flow_table_migrate(&t, 30, 1), 0);
		COUNTS_ARE();
	}

	/* relist: everything to TC_OTHER. */
	{
		uint8_t to = TC_OTHER;

		ck_assert_int_eq(flow_table_relist(&t, NULL, list_to, &to), 0);
		want[TC_OTHER] += want[TC_LONG] + want[TC_SHORT];
		want[TC_LONG] = want[TC_SHORT] = 0;
		COUNTS_ARE();
	}
	/* expire, unbounded: the rest. */
	ck_assert_uint_eq(flow_table_expire(&t, 10000, UINT32_MAX),
			  want[TC_OTHER]);
	want[TC_OTHER] = 0;
	COUNTS_ARE();
	flow_table_destroy(&t);
#undef COUNTS_ARE
}
END_TEST

/* ---- expiry ---------------------------------------------------------- */

START_TEST(test_lazy_expiry_boundary)
{
	struct flow_table t;
	struct flow *old, *young;
	uint32_t old_idx;

	table_init(&t, 8, 1); /* one chain: lookups walk past everything */
	old = add_n(&t, 0, TC_SHORT, 1000); /* timeout 30 */
	old_idx = idx_of(&t, old);
	young = add_n(&t, 1, TC_SHORT, 1020);
	ck_assert_ptr_nonnull(young);
	/* Chain: young, old. Idle 29 s: not expired; walked past, kept. */
	ck_assert_ptr_null(find_n(&t, 99, 0, 1029));
	ck_assert_uint_eq(t.count, 2);
	ck_assert_uint_eq(t.expired, 0);
	expect_found(&t, 0, 1029);

	/* Idle 30 s: a lookup for young is satisfied before reaching old. */
	ck_assert_ptr_nonnull(find_n(&t, 1, 0, 1030));
	ck_assert_uint_eq(t.count, 2);
	/* A lookup that walks past old reclaims it. */
	ck_assert_ptr_null(find_n(&t, 99, 0, 1030));
	ck_assert_uint_eq(t.count, 1);
	ck_assert_uint_eq(t.expired, 1);
	ck_assert_uint_eq(t.slab[0].in_use, 1);
	EXPECT_LIST(&t, TC_SHORT, 1);
	expect_absent(&t, 0, 1030);
	expect_found(&t, 1, 1030);

	/* The slot comes back for the next insert. */
	ck_assert_uint_eq(idx_of(&t, add_n(&t, 5, TC_LONG, 1030)), old_idx);
	check_lists(&t);
	flow_table_destroy(&t);
}
END_TEST

/* Looking up an expired flow itself finds nothing and reclaims it. */
START_TEST(test_lazy_expiry_self)
{
	struct flow_table t;

	table_init(&t, 8, 4);
	add_n(&t, 3, TC_OTHER, 0); /* timeout 120 */
	ck_assert_ptr_nonnull(find_n(&t, 3, 1, 119));
	ck_assert_ptr_null(find_n(&t, 3, 1, 120));
	ck_assert_uint_eq(t.count, 0);
	ck_assert_uint_eq(t.expired, 1);
	EXPECT_EMPTY(&t, TC_OTHER);
	/* And it can be inserted again. */
	ck_assert_ptr_nonnull(add_n(&t, 3, TC_OTHER, 120));
	expect_found(&t, 3, 121);
	flow_table_destroy(&t);
}
END_TEST

/* Each flow uses the timeout of the list it is on. */
START_TEST(test_expiry_per_list)
{
	struct flow_table t;

	table_init(&t, 8, 1);
	add_n(&t, 0, TC_SHORT, 0); /* 30 */
	add_n(&t, 1, TC_OTHER, 0); /* 120 */
	add_n(&t, 2, TC_LONG, 0); /* 3600 */
	find_n(&t, 99, 0, 30);
	ck_assert_uint_eq(t.count, 2);
	expect_absent(&t, 0, 30);
	find_n(&t, 99, 0, 119);
	ck_assert_uint_eq(t.count, 2);
	find_n(&t, 99, 0, 120);
	ck_assert_uint_eq(t.count, 1);
	expect_found(&t, 2, 3599);
	find_n(&t, 99, 0, 3600);
	ck_assert_uint_eq(t.count, 0);
	ck_assert_uint_eq(t.expired, 3);
	flow_table_destroy(&t);
}
END_TEST

/* A refreshed flow (touched by the engine) lives longer. */
START_TEST(test_expiry_uses_last_seen)
{
	struct flow_table t;
	struct flow *f;

	table_init(&t, 8, 4);
	f = add_n(&t, 0, TC_SHORT, 100);
	flow_table_touch(&t, f, TC_SHORT, 125);
	ck_assert_uint_eq(f->last_seen, 125);
	ck_assert_ptr_nonnull(find_n(&t, 0, 0, 154));
	ck_assert_uint_eq(flow_table_expire(&t, 154, UINT32_MAX), 0);
	ck_assert_ptr_null(find_n(&t, 0, 0, 155));
	flow_table_destroy(&t);
}
END_TEST

/* The timeout array is read at each check: changes apply at once. */
START_TEST(test_timeouts_in_place)
{
	struct flow_table t;

	table_init(&t, 8, 1);
	add_n(&t, 0, TC_OTHER, 1000); /* 120 */
	add_n(&t, 1, TC_LONG, 1000); /* 3600 */

	/* Shorter: idle 50 s was fine, now expired. */
	find_n(&t, 99, 0, 1050);
	ck_assert_uint_eq(t.count, 2);
	timeouts[TC_OTHER] = 50;
	find_n(&t, 99, 0, 1050);
	ck_assert_uint_eq(t.count, 1);
	expect_absent(&t, 0, 1050);
	expect_found(&t, 1, 1050);

	/* Longer: idle 4000 s would have expired; raised first, it lives. */
	timeouts[TC_LONG] = 5000;
	find_n(&t, 99, 0, 5000);
	expect_found(&t, 1, 5000);
	ck_assert_uint_eq(t.count, 1);
	/* And lowered again: gone at once. */
	timeouts[TC_LONG] = 3999;
	ck_assert_ptr_null(find_n(&t, 1, 0, 5000));
	ck_assert_uint_eq(t.count, 0);
	ck_assert_uint_eq(t.expired, 2);
	flow_table_destroy(&t);
}
END_TEST

/* flow_table_expire() honours changed timeouts too, both ways. */
START_TEST(test_timeouts_in_place_expire)
{
	struct flow_table t;

	table_init(&t, 64, 8);
	for (uint32_t i = 0; i < 40; i++)
		add_n(&t, i, TC_OTHER, 0);
	ck_assert_uint_eq(flow_table_expire(&t, 100, UINT32_MAX), 0);
	timeouts[TC_OTHER] = 100;
	ck_assert_uint_eq(flow_table_expire(&t, 100, UINT32_MAX), 40);
	ck_assert_uint_eq(t.count, 0);
	ck_assert_uint_eq(t.expired, 40);
	/* Raised: flows that had expired under the old value live on. */
	for (uint32_t i = 0; i < 10; i++)
		add_n(&t, i, TC_SHORT, 200);
	timeouts[TC_SHORT] = 60;
	ck_assert_uint_eq(flow_table_expire(&t, 259, UINT32_MAX), 0);
	ck_assert_uint_eq(flow_table_expire(&t, 260, UINT32_MAX), 10);
	ck_assert_uint_eq(t.expired, 50);
	check_lists(&t);
	flow_table_destroy(&t);
}
END_TEST

/*
 * Fair: a list that always has max expired flows does not keep the others
 * waiting; calls take turns over the lists.
 */
START_TEST(test_expire_takes_turns)
{
	struct flow_table t;

	table_init(&t, 64, 8);
	for (uint32_t i = 0; i < 20; i++)
		add_n(&t, i, TC_SHORT, 0);
	add_n(&t, 50, TC_OTHER, 0);
	timeouts[TC_OTHER] = timeouts[TC_SHORT];
	for (uint32_t call = 0;
	     call < FLOW_LISTS_MAX + 1 && find_n(&t, 50, 0, 0) != NULL; call++)
		ck_assert_uint_eq(flow_table_expire(&t, 1000, 1), 1);
	ck_assert_ptr_null(find_n(&t, 50, 0, 0));
	/* Flow 50 went before list TC_SHORT was drained. */
	ck_assert_uint_gt(t.count, 0);
	check_lists(&t);
	flow_table_destroy(&t);
}
END_TEST

/*
 * Bounded work: each call reclaims at most max flows, oldest first, and
 * later calls go on with the rest; live flows are never reclaimed, and a
 * budget above the number expired reclaims each once.
 */
START_TEST(test_expire_bounded)
{
	struct flow_table t;
	struct visits v;

	table_init(&t, 64, 8);
	/* Dead 0-7 (30 s, inserted at 0-7), live 100-115 (an hour). */
	for (uint32_t i = 0; i < 8; i++) {
		add_n(&t, i, TC_SHORT, i);
		add_n(&t, 100 + 2 * i, TC_LONG, 0);
		add_n(&t, 101 + 2 * i, TC_LONG, 0);
	}
	ck_assert_uint_eq(t.count, 24);

	/* Nothing expired yet: an unbounded call reclaims nothing. */
	ck_assert_uint_eq(flow_table_expire(&t, 29, UINT32_MAX), 0);
	ck_assert_uint_eq(t.count, 24);

	/* Three per call, continuing with the oldest left. */
	for (uint32_t call = 0; call < 3; call++) {
		uint32_t got = flow_table_expire(&t, 100, 3);
		uint32_t gone = call < 2 ? 3 * (call + 1) : 8;

		ck_assert_uint_eq(got, call < 2 ? 3 : 2);
		walk_tags(&t, &v, 200);
		for (uint32_t i = 0; i < 8; i++) {
			ck_assert_msg(v.seen[i] == (i >= gone),
				      "call %u: flow %u %s", call, i,
				      i >= gone ? "reclaimed early" :
						  "not reclaimed");
			ck_assert_uint_eq(v.seen[100 + 2 * i], 1);
			ck_assert_uint_eq(v.seen[101 + 2 * i], 1);
		}
		free(v.seen);
		check_lists(&t);
	}
	ck_assert_uint_eq(flow_table_expire(&t, 100, 3), 0);
	ck_assert_uint_eq(t.count, 16);
	ck_assert_uint_eq(t.expired, 8);

	/* A budget above the number expired reclaims them all, once. */
	for (uint32_t i = 0; i < 8; i++)
		add_n(&t, i, TC_SHORT, 100);
	ck_assert_uint_eq(flow_table_expire(&t, 129, 13), 0);
	ck_assert_uint_eq(flow_table_expire(&t, 130, 13), 8);
	ck_assert_uint_eq(flow_table_expire(&t, 130, 13), 0);
	ck_assert_uint_eq(t.count, 16);
	/* A zero budget does nothing. */
	for (uint32_t i = 0; i < 8; i++)
		add_n(&t, i, TC_SHORT, 200);
	ck_assert_uint_eq(flow_table_expire(&t, 1000, 0), 0);
	ck_assert_uint_eq(t.count, 24);
	/* Same second: in the order inserted. */
	ck_assert_uint_eq(flow_table_expire(&t, 1000, 3), 3);
	walk_tags(&t, &v, 200);
	for (uint32_t i = 0; i < 8; i++)
		ck_assert_msg(v.seen[i] == (i >= 3), "flow %u", i);
	free(v.seen);
	/* One at a time (seen by walking: a lookup would reclaim). */
	for (uint32_t i = 3; i < 8; i++) {
		ck_assert_uint_eq(flow_table_expire(&t, 1000, 1), 1);
		walk_tags(&t, &v, 200);
		for (uint32_t j = 3; j < 8; j++)
			ck_assert_msg(v.seen[j] == (j > i), "%u: flow %u", i,
				      j);
		free(v.seen);
	}
	ck_assert_uint_eq(flow_table_expire(&t, 1000, 1), 0);
	ck_assert_uint_eq(t.count, 16);
	ck_assert_uint_eq(t.expired, 24);
	for (uint32_t i = 0; i < 8; i++) {
		expect_found(&t, 100 + 2 * i, 1000);
		expect_found(&t, 101 + 2 * i, 1000);
	}
	check_lists(&t);
	flow_table_destroy(&t);
}
END_TEST

/* Expiry unlinks flows from anywhere in a chain: head, middle, tail. */
START_TEST(test_expire_chain_positions)
{
	struct flow_table t;
	struct visits v;

	table_init(&t, 64, 1);
	for (uint32_t i = 0; i < 30; i++) /* every third expires */
		add_n(&t, i, i % 3 == 0 ? TC_SHORT : TC_LONG, 0);
	ck_assert_uint_eq(flow_table_expire(&t, 40, UINT32_MAX), 10);
	walk_tags(&t, &v, 30);
	for (uint32_t i = 0; i < 30; i++)
		ck_assert_uint_eq(v.seen[i], i % 3 ? 1 : 0);
	free(v.seen);
	ck_assert_uint_eq(t.count, 20);
	/* The chain is whole: everything left is found. */
	for (uint32_t i = 0; i < 30; i++)
		if (i % 3)
			expect_found(&t, i, 40);
	/* Head and tail of the chain (newest and oldest flows). */
	for (uint32_t i = 30; i < 33; i++)
		add_n(&t, i, TC_SHORT, 40); /* the new head is 32 */
	ck_assert_uint_eq(flow_table_expire(&t, 70, UINT32_MAX), 3);
	ck_assert_uint_eq(t.count, 20);
	for (uint32_t i = 0; i < 30; i++)
		if (i % 3)
			expect_found(&t, i, 70);
	check_lists(&t);
	flow_table_destroy(&t);
}
END_TEST

/* Oldest first: exactly the expired prefix of a list goes. */
START_TEST(test_expire_oldest_first)
{
	struct flow_table t;
	struct releases r;

	table_init(&t, 64, 8);
	releases_attach(&t, &r);
	for (uint32_t i = 0; i < 10; i++)
		add_n(&t, i, TC_SHORT, 100 + i);
	/* At 134, 100-104 are 30 s old or more. */
	releases_next(&r, 134);
	ck_assert_uint_eq(flow_table_expire(&t, 134, UINT32_MAX), 5);
	EXPECT_LOG(&r, 0, 1, 2, 3, 4);
	EXPECT_LIST(&t, TC_SHORT, 5, 6, 7, 8, 9);
	/* A touch puts 5 last: 6 and 7 go next. */
	flow_table_touch(&t, must_find_n(&t, 5, 134), TC_SHORT, 134);
	EXPECT_LIST(&t, TC_SHORT, 6, 7, 8, 9, 5);
	releases_next(&r, 137);
	ck_assert_uint_eq(flow_table_expire(&t, 137, UINT32_MAX), 2);
	EXPECT_LOG(&r, 6, 7);
	EXPECT_LIST(&t, TC_SHORT, 8, 9, 5);
	releases_next(&r, 163);
	ck_assert_uint_eq(flow_table_expire(&t, 163, UINT32_MAX), 2);
	EXPECT_LOG(&r, 8, 9);
	releases_next(&r, 164);
	ck_assert_uint_eq(flow_table_expire(&t, 164, UINT32_MAX), 1);
	EXPECT_LOG(&r, 5);
	ck_assert_uint_eq(t.expired, 10);
	ck_assert_uint_eq(r.live, 0);
	ck_assert_uint_eq(r.bad, 0);
	check_lists(&t);
	flow_table_destroy(&t);
}
END_TEST

/*
 * Expiry stops at the first live flow of each list: it never looks past
 * it (no scan), and a live flow at the old end of one list does not stop
 * the others. To see the stop, the newest flow of a list is made to look
 * expired behind a live one (which refreshes never do).
 */
START_TEST(test_expire_stops_at_live)
{
	struct flow_table t;
	struct releases r;
	struct flow *c;

	table_init(&t, 64, 8);
	releases_attach(&t, &r);
	add_n(&t, 0, TC_SHORT, 100); /* a */
	add_n(&t, 1, TC_SHORT, 110); /* b */
	c = add_n(&t, 2, TC_SHORT, 120);
	add_n(&t, 10, TC_LONG, 0); /* live until 3600: heads TC_LONG */
	add_n(&t, 11, TC_LONG, 0);
	add_n(&t, 20, TC_OTHER, 0); /* dead at 120 */
	add_n(&t, 21, TC_OTHER, 20); /* dead at 140 */
	c->last_seen = 50;
	releases_next(&r, 135);
	ck_assert_uint_eq(flow_table_expire(&t, 135, UINT32_MAX), 2);
	ck_assert_uint_eq(r.nlog, 2);
	ck_assert_uint_eq(r.per_tag[0], 1); /* a */
	ck_assert_uint_eq(r.per_tag[20], 1);
	ck_assert_uint_eq(r.per_tag[2], 0); /* c: behind live b */
	EXPECT_LIST(&t, TC_SHORT, 1, 2);
	EXPECT_LIST(&t, TC_LONG, 10, 11);
	EXPECT_LIST(&t, TC_OTHER, 21);
	c->last_seen = 120;
	ck_assert_uint_eq(r.live, 0);
	check_lists(&t);
	flow_table_destroy(&t);
}
END_TEST

/* max bounds the total over all lists; every list is drained in turn. */
START_TEST(test_expire_max_across_lists)
{
	struct flow_table t;
	struct releases r;
	uint32_t total = 0, calls = 0, next[TC_N] = { 0 };

	table_init(&t, 64, 8);
	releases_attach(&t, &r);
	/* Five dead flows on each of three lists, and one live each. */
	for (uint32_t l = 0; l < TC_N; l++) {
		for (uint32_t i = 0; i < 5; i++)
			add_n(&t, 10 * l + i, (uint8_t)l, i);
		add_n(&t, 10 * l + 9, (uint8_t)l, 4000);
	}
	releases_next(&r, 4000);
	ck_assert_uint_eq(flow_table_expire(&t, 4000, 0), 0);
	ck_assert_uint_eq(r.total, 0);
	for (;;) {
		uint32_t n;

		releases_next(&r, 4000);
		n = flow_table_expire(&t, 4000, 4);
		ck_assert_uint_le(n, 4);
		ck_assert_uint_eq(r.nlog, n);
		/* From each list: its oldest, in order. */
		for (uint32_t i = 0; i < r.nlog; i++) {
			uint32_t l = r.log_list[i];

			ck_assert_uint_lt(l, TC_N);
			ck_assert_uint_eq(r.log[i], 10 * l + next[l]);
			next[l]++;
		}
		total += n;
		calls++;
		if (n < 4)
			break;
		ck_assert_uint_le(calls, 4);
	}
	ck_assert_uint_eq(total, 15);
	ck_assert_uint_eq(calls, 4); /* 4 + 4 + 4 + 3 */
	ck_assert_uint_eq(t.expired, 15);
	for (uint32_t l = 0; l < TC_N; l++)
		EXPECT_LIST(&t, l, 10 * l + 9);
	for (uint32_t i = 0; i < RTAGS; i++)
		ck_assert_uint_eq(r.per_tag[i], i < 30 && i % 10 < 5);
	ck_assert_uint_eq(r.live, 0);
	ck_assert_uint_eq(r.bad, 0);
	check_lists(&t);
	flow_table_destroy(&t);
}
END_TEST

/* Lists with different timeouts expire on their own clocks. */
START_TEST(test_expire_lists_timeouts)
{
	struct flow_table t;

	table_init(&t, 64, 8);
	for (uint32_t i = 0; i < 5; i++) {
		add_n(&t, i, TC_SHORT, 0); /* 30 */
		add_n(&t, 10 + i, TC_OTHER, 0); /* 120 */
		add_n(&t, 20 + i, TC_LONG, 0); /* 3600 */
	}
	ck_assert_uint_eq(flow_table_expire(&t, 29, UINT32_MAX), 0);
	ck_assert_uint_eq(flow_table_expire(&t, 30, UINT32_MAX), 5);
	EXPECT_EMPTY(&t, TC_SHORT);
	ck_assert_uint_eq(flow_table_expire(&t, 119, UINT32_MAX), 0);
	ck_assert_uint_eq(flow_table_expire(&t, 120, UINT32_MAX), 5);
	EXPECT_EMPTY(&t, TC_OTHER);
	EXPECT_LIST(&t, TC_LONG, 20, 21, 22, 23, 24);
	ck_assert_uint_eq(flow_table_expire(&t, 3599, UINT32_MAX), 0);
	ck_assert_uint_eq(flow_table_expire(&t, 3600, UINT32_MAX), 5);
	ck_assert_uint_eq(t.count, 0);
	ck_assert_uint_eq(t.expired, 15);
	check_lists(&t);
	flow_table_destroy(&t);
}
END_TEST

/* All FLOW_LISTS_MAX lists, timeout 10 + l: at 10 + k, lists 0-k go. */
START_TEST(test_expire_many_lists)
{
	struct flow_table t;

	table_init_lists(&t, 2 * FLOW_LISTS_MAX, 64, FLOW_LISTS_MAX);
	for (uint32_t l = 0; l < FLOW_LISTS_MAX; l++) {
		timeouts[l] = 10 + l;
		ck_assert_ptr_nonnull(add_n(&t, 2 * l, (uint8_t)l, 0));
		ck_assert_ptr_nonnull(add_n(&t, 2 * l + 1, (uint8_t)l, 1));
	}
	check_lists(&t);
	ck_assert_uint_eq(flow_table_expire(&t, 9, UINT32_MAX), 0);
	for (uint32_t k = 0; k < FLOW_LISTS_MAX; k++) {
		/* At 10 + k: list k's first flow; the second a second on. */
		ck_assert_uint_eq(flow_table_expire(&t, 10 + k, UINT32_MAX),
				  k ? 2 : 1);
		ck_assert_uint_eq(t.list[k].count, 1);
		if (k)
			EXPECT_EMPTY(&t, k - 1);
		for (uint32_t l = k + 1; l < FLOW_LISTS_MAX; l++)
			CHECK(t.list[l].count == 2, "k %u: list %u", k, l);
	}
	ck_assert_uint_eq(flow_table_expire(&t, 10 + FLOW_LISTS_MAX, 1), 1);
	ck_assert_uint_eq(t.count, 0);
	check_lists(&t);
	flow_table_destroy(&t);
}
END_TEST

/*
 * Expiry in the middle of a rehash finds its flows in whichever bucket
 * array holds them, and leaves the move consistent.
 */
START_TEST(test_expire_during_rehash)
{
	struct flow_table t;

	table_init(&t, 4096, 64);
	for (uint32_t i = 0; i < 2000; i++)
		add_n(&t, i, i & 1 ? TC_SHORT : TC_LONG, 0);
	ck_assert_int_eq(flow_table_resize(&t, 512, 0), 0);
	ck_assert_uint_eq(flow_table_migrate(&t, 0, 32), 0); /* half moved */
	ck_assert(flow_table_rehashing(&t));
	ck_assert_uint_eq(flow_table_expire(&t, 30, 600), 600);
	ck_assert_uint_eq(flow_table_expire(&t, 30, 600), 400);
	ck_assert_uint_eq(t.count, 1000);
	check_lists(&t);
	ck_assert(flow_table_rehashing(&t));
	for (uint32_t i = 0; i < 2000; i++) {
		if (i & 1)
			expect_absent(&t, i, 30);
		else
			expect_found(&t, i, 30);
	}
	ck_assert_uint_eq(t.expired, 1000);
	while (flow_table_rehashing(&t))
		ck_assert_uint_eq(flow_table_migrate(&t, 30, 7), 0);
	for (uint32_t i = 0; i < 2000; i += 2)
		expect_found(&t, i, 30);
	check_lists(&t);
	flow_table_destroy(&t);
}
END_TEST

/* ---- the oldest of a set of lists ------------------------------------ */

START_TEST(test_oldest_across_lists)
{
	static const uint8_t all[] = { 0, 1, 2, 3 };
	struct flow_table t;
	struct flow *a, *b, *c, *d;

	table_init_lists(&t, 64, 8, 4);
	/* Empty lists, and no lists. */
	ck_assert_ptr_null(flow_table_oldest(&t, all, 4));
	ck_assert_ptr_null(flow_table_oldest(&t, all, 0));
	a = add_n(&t, 1, 1, 20);
	b = add_n(&t, 2, 2, 10);
	c = add_n(&t, 3, 2, 30);
	d = add_n(&t, 4, 3, 15);
	ck_assert_ptr_eq(flow_table_oldest(&t, all, 4), b);
	ck_assert_ptr_null(flow_table_oldest(&t, all, 1)); /* list 0 */
	ck_assert_ptr_eq(flow_table_oldest(&t, (const uint8_t[]){ 1 }, 1), a);
	ck_assert_ptr_eq(flow_table_oldest(&t, (const uint8_t[]){ 1, 3 }, 2),
			 d);
	ck_assert_ptr_eq(flow_table_oldest(&t, (const uint8_t[]){ 3, 1 }, 2),
			 d);
	ck_assert_ptr_eq(flow_table_oldest(&t, (const uint8_t[]){ 0, 0 }, 2),
			 NULL);
	ck_assert_ptr_eq(flow_table_oldest(&t, (const uint8_t[]){ 2, 2 }, 2),
			 b);
	/* Only the n first of the array. */
	ck_assert_ptr_eq(flow_table_oldest(&t, (const uint8_t[]){ 1, 2 }, 1),
			 a);
	/* Refreshed, b is no longer the oldest: c heads its list now. */
	flow_table_touch(&t, b, 2, 40);
	ck_assert_ptr_eq(flow_table_oldest(&t, all, 4), d);
	ck_assert_ptr_eq(flow_table_oldest(&t, (const uint8_t[]){ 2 }, 1), c);
	/* The result is the table's: evicting it works. */
	flow_table_remove(&t, flow_table_oldest(&t, all, 4));
	ck_assert_ptr_eq(flow_table_oldest(&t, all, 4), a);
	flow_table_remove(&t, flow_table_oldest(&t, all, 4));
	ck_assert_ptr_eq(flow_table_oldest(&t, all, 4), c);
	flow_table_remove(&t, flow_table_oldest(&t, all, 4));
	ck_assert_ptr_eq(flow_table_oldest(&t, all, 4), b);
	flow_table_remove(&t, flow_table_oldest(&t, all, 4));
	ck_assert_ptr_null(flow_table_oldest(&t, all, 4));
	ck_assert_uint_eq(t.count, 0);
	check_lists(&t);
	flow_table_destroy(&t);
}
END_TEST

/* Ties: one of the equally old old ends, never a younger flow. */
START_TEST(test_oldest_ties)
{
	static const uint8_t fwd[] = { 0, 1, 2, 3 }, rev[] = { 3, 2, 1, 0 };
	struct flow_table t;
	struct flow *e, *d, *g;

	table_init_lists(&t, 64, 8, 4);
	g = add_n(&t, 7, 1, 16);
	e = add_n(&t, 5, 0, 15);
	d = add_n(&t, 4, 3, 15);
	add_n(&t, 6, 3, 15);
	for (int k = 0; k < 2; k++) {
		struct flow *o = flow_table_oldest(&t, k ? rev : fwd, 4);

		ck_assert_msg(o == e || o == d, "a younger flow, %u",
			      tag_of(o));
		ck_assert_uint_eq(o->last_seen, 15);
	}
	flow_table_remove(&t, e);
	ck_assert_ptr_eq(flow_table_oldest(&t, fwd, 4), d);
	flow_table_remove(&t, d);
	/* Flow 6, also 15, now heads list 3. */
	ck_assert_uint_eq(tag_of(flow_table_oldest(&t, rev, 4)), 6);
	flow_table_remove(&t, must_find_n(&t, 6, 16));
	ck_assert_ptr_eq(flow_table_oldest(&t, rev, 4), g);
	flow_table_destroy(&t);
}
END_TEST

/* ---- relist ---------------------------------------------------------- */

/* relist's callbacks: which list for each tag, and what was called. */
struct relist_ctx {
	uint32_t begins;
	uint32_t calls[64]; /* list_of() calls by tag */
	uint32_t ncalls;
	uint32_t early; /* list_of() calls before begin() */
	uint8_t to[64]; /* the list for each tag */
};

static void relist_begin(void *arg)
{
	struct relist_ctx *c = arg;

	c->begins++;
}

static uint8_t relist_list_of(struct flow *f, void *arg)
{
	struct relist_ctx *c = arg;
	uint32_t tag = f->aux;

	if (c->begins != 1)
		c->early++;
	CHECK(tag < 64, "unexpected flow %u", tag);
	c->calls[tag]++;
	c->ncalls++;
	/* It may change the flow's own fields. */
	f->flags |= FLOW_F_EXEMPT;
	f->tclass = c->to[tag];
	return c->to[tag];
}

/*
 * Flows on three lists, refreshed at interleaved times, are spread over
 * other lists: each list then holds its flows in order of last refresh,
 * as if they had been refreshed onto it all along; begin() runs once,
 * first, and list_of() once per flow.
 */
START_TEST(test_relist_moves)
{
	struct flow_table t;
	struct relist_ctx c;

	table_init_lists(&t, 64, 4, 4);
	timeouts[1] = timeouts[2] = 3600;
	/* Flow i last refreshed at 100 + i, on list i % 3; then 0-2 moved
	 * on (to 200-202) on other lists. */
	for (uint32_t i = 0; i < 12; i++)
		add_n(&t, i, (uint8_t)(i % 3), 100 + i);
	for (uint32_t i = 0; i < 3; i++)
		flow_table_touch(&t, must_find_n(&t, i, 150), (uint8_t)(2 - i),
				 200 + i);
	EXPECT_LIST(&t, 0, 3, 6, 9, 2);
	EXPECT_LIST(&t, 1, 4, 7, 10, 1);
	EXPECT_LIST(&t, 2, 5, 8, 11, 0);
	memset(&c, 0, sizeof(c));
	/* Evens to list 3, odds to 1; 0 stays on 2. */
	for (uint32_t i = 0; i < 12; i++)
		c.to[i] = i & 1 ? 1 : 3;
	c.to[0] = 2;
	ck_assert_int_eq(
		flow_table_relist(&t, relist_begin, relist_list_of, &c), 0);
	ck_assert_uint_eq(c.begins, 1);
	ck_assert_uint_eq(c.early, 0);
	ck_assert_uint_eq(c.ncalls, 12);
	for (uint32_t i = 0; i < 12; i++)
		ck_assert_uint_eq(c.calls[i], 1);
	EXPECT_EMPTY(&t, 0);
	EXPECT_LIST(&t, 1, 3, 5, 7, 9, 11, 1);
	EXPECT_LIST(&t, 2, 0);
	EXPECT_LIST(&t, 3, 4, 6, 8, 10, 2);
	ck_assert_uint_eq(t.count, 12);
	check_lists(&t);
	/* Flows keep what list_of() set, their times and their chains. */
	for (uint32_t i = 0; i < 12; i++) {
		struct flow *f = must_find_n(&t, i, 203);

		ck_assert_uint_eq(f->list, c.to[i]);
		ck_assert_uint_eq(f->tclass, c.to[i]);
		ck_assert(f->flags & FLOW_F_EXEMPT);
		ck_assert_uint_eq(f->last_seen, i < 3 ? 200 + i : 100 + i);
		expect_found(&t, i, 203);
	}
	/* Expiry follows the new lists: list 1 (100 s) first, oldest on. */
	timeouts[0] = timeouts[2] = timeouts[3] = 3600;
	timeouts[1] = 100;
	ck_assert_uint_eq(flow_table_expire(&t, 209, UINT32_MAX), 4);
	EXPECT_LIST(&t, 1, 11, 1);
	ck_assert_uint_eq(flow_table_expire(&t, 211, UINT32_MAX), 1);
	EXPECT_LIST(&t, 1, 1);
	ck_assert_uint_eq(flow_table_expire(&t, 300, UINT32_MAX), 0);
	ck_assert_uint_eq(flow_table_expire(&t, 301, UINT32_MAX), 1);
	EXPECT_EMPTY(&t, 1);
	ck_assert_uint_eq(t.count, 6);
	check_lists(&t);
	flow_table_destroy(&t);
}
END_TEST

/* Merged into one list, flows from every list are in global order. */
START_TEST(test_relist_merge)
{
	struct flow_table t;
	struct relist_ctx c;
	uint32_t tags[64], n;

	table_init_lists(&t, 64, 8, TC_N);
	/*
	 * 40 flows over three lists, flow i refreshed at 1000 + 17 i % 40
	 * (at 1000 + k, flow 33 k % 40: 33 is 17's inverse mod 40).
	 */
	for (uint32_t k = 0; k < 40; k++) {
		uint32_t i = (k * 33) % 40;

		add_n(&t, i, (uint8_t)(i % TC_N), 1000 + k);
		ck_assert_uint_eq((i * 17) % 40, k);
	}
	check_lists(&t);
	memset(&c, 0, sizeof(c));
	memset(c.to, TC_OTHER, sizeof(c.to));
	ck_assert_int_eq(
		flow_table_relist(&t, relist_begin, relist_list_of, &c), 0);
	ck_assert_uint_eq(c.begins, 1);
	ck_assert_uint_eq(c.ncalls, 40);
	EXPECT_EMPTY(&t, TC_LONG);
	EXPECT_EMPTY(&t, TC_SHORT);
	n = list_tags(&t, TC_OTHER, tags, 64);
	ck_assert_uint_eq(n, 40);
	for (uint32_t k = 0; k < 40; k++) /* the flow refreshed at 1000+k */
		ck_assert_uint_eq((tags[k] * 17) % 40, k);
	check_lists(&t);
	/* Exact expiry on the merged list: 120 s. */
	ck_assert_uint_eq(flow_table_expire(&t, 1129, UINT32_MAX), 10);
	ck_assert_uint_eq(t.count, 30);
	/* Relisting to where they are already changes no order. */
	memset(&c, 0, sizeof(c));
	memset(c.to, TC_OTHER, sizeof(c.to));
	ck_assert_int_eq(flow_table_relist(&t, NULL, relist_list_of, &c), 0);
	ck_assert_uint_eq(c.begins, 0);
	ck_assert_uint_eq(c.ncalls, 30);
	n = list_tags(&t, TC_OTHER, tags, 64);
	ck_assert_uint_eq(n, 30);
	for (uint32_t k = 0; k < 30; k++)
		ck_assert_uint_eq((tags[k] * 17) % 40, k + 10);
	check_lists(&t);
	flow_table_destroy(&t);
}
END_TEST

/* An empty table: begin() still runs once, list_of() never. */
START_TEST(test_relist_empty)
{
	struct flow_table t;
	struct relist_ctx c;

	table_init(&t, 8, 4);
	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(
		flow_table_relist(&t, relist_begin, relist_list_of, &c), 0);
	ck_assert_uint_eq(c.begins, 1);
	ck_assert_uint_eq(c.ncalls, 0);
	for (uint32_t l = 0; l < TC_N; l++)
		EXPECT_EMPTY(&t, l);
	/* And the table works as before. */
	ck_assert_ptr_nonnull(add_n(&t, 1, TC_SHORT, 5));
	EXPECT_LIST(&t, TC_SHORT, 1);
	check_lists(&t);
	flow_table_destroy(&t);
}
END_TEST

/* ---- on_release ------------------------------------------------------ */

/* A lookup's lazy reclaim tells once per flow, and never of live ones. */
START_TEST(test_release_lookup)
{
	struct flow_table t;
	struct releases r;

	table_init(&t, 16, 1); /* one chain */
	releases_attach(&t, &r);
	add_n(&t, 0, TC_SHORT, 0);
	add_n(&t, 1, TC_LONG, 0);
	add_n(&t, 2, TC_SHORT, 0);
	add_n(&t, 3, TC_OTHER, 0);
	releases_next(&r, 29);
	ck_assert_ptr_null(find_n(&t, 99, 0, 29));
	ck_assert_uint_eq(r.total, 0);
	/* Walking the whole chain at 30 meets both dead flows. */
	releases_next(&r, 30);
	ck_assert_ptr_null(find_n(&t, 99, 0, 30));
	ck_assert_uint_eq(r.total, 2);
	ck_assert_uint_eq(r.per_tag[0], 1);
	ck_assert_uint_eq(r.per_tag[2], 1);
	/* Met again: they are gone, no second word. */
	ck_assert_ptr_null(find_n(&t, 99, 0, 30));
	ck_assert_uint_eq(r.total, 2);
	/* Looking up the expired flow itself. */
	releases_next(&r, 120);
	ck_assert_ptr_null(find_n(&t, 3, 1, 120));
	EXPECT_LOG(&r, 3);
	expect_found(&t, 1, 120);
	ck_assert_uint_eq(r.total, 3);
	ck_assert_uint_eq(r.per_tag[1], 0);
	ck_assert_uint_eq(r.live, 0);
	ck_assert_uint_eq(r.bad, 0);
	ck_assert_uint_eq(t.expired, 3);
	check_lists(&t);
	flow_table_destroy(&t);
}
END_TEST

/* A remove tells once, of that flow, live or not, rehashing or not. */
START_TEST(test_release_remove)
{
	struct flow_table t;
	struct releases r;

	table_init(&t, 256, 16);
	releases_attach(&t, &r);
	for (uint32_t i = 0; i < 100; i++)
		add_n(&t, i, (uint8_t)(i % TC_N), 0);
	releases_next(&r, 1);
	flow_table_remove(&t, must_find_n(&t, 10, 1));
	EXPECT_LOG(&r, 10);
	ck_assert_uint_eq(r.live, 1);
	ck_assert_int_eq(flow_table_resize(&t, 128, 1), 0);
	flow_table_migrate(&t, 1, 5);
	for (uint32_t i = 20; i < 100; i += 7) {
		releases_next(&r, 1);
		flow_table_remove(&t, must_find_n(&t, i, 1));
		EXPECT_LOG(&r, i);
	}
	ck_assert(flow_table_rehashing(&t));
	ck_assert_uint_eq(r.total, 13);
	for (uint32_t i = 0; i < 100; i++)
		ck_assert_uint_eq(r.per_tag[i],
				  i == 10 || (i >= 20 && (i - 20) % 7 == 0));
	ck_assert_uint_eq(r.bad, 0);
	ck_assert_uint_eq(t.expired, 0);
	ck_assert_uint_eq(t.count, 87);
	check_lists(&t);
	flow_table_destroy(&t);
}
END_TEST

/* Expiry tells once per flow it frees, and of no live flow. */
START_TEST(test_release_expire)
{
	struct flow_table t;
	struct releases r;

	table_init(&t, 256, 16);
	releases_attach(&t, &r);
	for (uint32_t i = 0; i < 200; i++)
		add_n(&t, i, i % 4 ? TC_LONG : TC_SHORT, i / 4);
	/* At 40: flows 0, 4, ... 40 (inserted at 0-10) are dead. */
	for (uint32_t k = 0; k < 5; k++) {
		releases_next(&r, 40);
		ck_assert_uint_eq(flow_table_expire(&t, 40, 3), k < 3  ? 3 :
								k == 3 ? 2 :
									 0);
	}
	ck_assert_uint_eq(r.total, 11);
	for (uint32_t i = 0; i < 200; i++)
		ck_assert_uint_eq(r.per_tag[i], i % 4 == 0 && i <= 40);
	ck_assert_uint_eq(r.live, 0);
	ck_assert_uint_eq(r.bad, 0);
	/* The rest, later. */
	releases_next(&r, 10000);
	ck_assert_uint_eq(flow_table_expire(&t, 10000, UINT32_MAX), 189);
	for (uint32_t i = 0; i < 200; i++)
		ck_assert_uint_eq(r.per_tag[i], 1);
	ck_assert_uint_eq(r.total, 200);
	ck_assert_uint_eq(r.live, 0);
	ck_assert_uint_eq(r.bad, 0);
	check_lists(&t);
	flow_table_destroy(&t);
}
END_TEST

/*
 * A migration tells of the dead flows it meets, once, and of no live
 * one; what it leaves, expiry reclaims later, with no second word for
 * anything already freed. The same for resize's forced finish.
 */
START_TEST(test_release_migrate)
{
	struct flow_table t;
	struct releases r;
	uint32_t n = 0;

	table_init(&t, 4096, 256);
	releases_attach(&t, &r);
	for (uint32_t i = 0; i < 2000; i++)
		add_n(&t, i, i & 1 ? TC_SHORT : TC_LONG, 1000);
	ck_assert_int_eq(flow_table_resize(&t, 1024, 1000), 0);
	releases_next(&r, 1030);
	n += flow_table_migrate(&t, 1030, 100);
	ck_assert_uint_eq(r.total, n);
	ck_assert_uint_gt(n, 0);
	ck_assert_uint_lt(n, 1000);
	/* Then resize's forced finish frees the rest it meets. */
	ck_assert_int_eq(flow_table_resize(&t, 64, 1030), 0);
	ck_assert_uint_eq(r.total, 1000);
	ck_assert_uint_eq(t.expired, 1000);
	while (flow_table_rehashing(&t))
		ck_assert_uint_eq(flow_table_migrate(&t, 1030, 50), 0);
	/* Nothing left to expire, nothing freed twice. */
	ck_assert_uint_eq(flow_table_expire(&t, 1030, UINT32_MAX), 0);
	for (uint32_t i = 0; i < 2000; i++)
		CHECK(r.per_tag[i] == (i & 1), "flow %u told %u times", i,
		      r.per_tag[i]);
	ck_assert_uint_eq(r.live, 0);
	ck_assert_uint_eq(r.bad, 0);
	check_lists(&t);

	/* A migration with some dead flows left for expiry. */
	for (uint32_t i = 1; i < 2000; i += 2)
		ck_assert_ptr_nonnull(add_n(&t, i, TC_SHORT, 2000));
	ck_assert_int_eq(flow_table_resize(&t, 512, 2000), 0);
	releases_next(&r, 2030);
	n = flow_table_migrate(&t, 2030, 32);
	ck_assert(flow_table_rehashing(&t));
	ck_assert_uint_eq(r.total, 1000 + n);
	ck_assert_uint_eq(flow_table_expire(&t, 2030, UINT32_MAX), 1000 - n);
	ck_assert_uint_eq(r.total, 2000);
	while (flow_table_rehashing(&t))
		ck_assert_uint_eq(flow_table_migrate(&t, 2030, 50), 0);
	for (uint32_t i = 0; i < 2000; i++)
		CHECK(r.per_tag[i] == 2 * (i & 1), "flow %u told %u times", i,
		      r.per_tag[i]);
	ck_assert_uint_eq(r.live, 0);
	ck_assert_uint_eq(r.bad, 0);
	for (uint32_t i = 0; i < 2000; i += 2)
		expect_found(&t, i, 2030);
	check_lists(&t);
	flow_table_destroy(&t);
}
END_TEST

/* ---- capacity -------------------------------------------------------- */

START_TEST(test_exhaustion)
{
	struct flow_table t;

	table_init(&t, 10, 4);
	for (uint32_t i = 0; i < 10; i++)
		ck_assert_ptr_nonnull(add_n(&t, i, TC_SHORT, 0));
	ck_assert_ptr_null(add_n(&t, 10, TC_SHORT, 0));
	ck_assert_ptr_null(add_n(&t, 11, TC_SHORT, 0));
	ck_assert_uint_eq(t.count, 10);
	/* A failed insert leaves the lists alone. */
	ck_assert_uint_eq(t.list[TC_SHORT].count, 10);
	check_lists(&t);
	for (uint32_t i = 0; i < 10; i++)
		expect_found(&t, i, 1);
	expect_absent(&t, 10, 1);
	/* Room again after a remove ... */
	flow_table_remove(&t, must_find_n(&t, 4, 1));
	ck_assert_ptr_nonnull(add_n(&t, 10, TC_SHORT, 1));
	ck_assert_ptr_null(add_n(&t, 11, TC_SHORT, 1));
	/* ... and after expiry. */
	ck_assert_uint_eq(flow_table_expire(&t, 30, UINT32_MAX), 9);
	ck_assert_ptr_nonnull(add_n(&t, 11, TC_SHORT, 30));
	expect_found(&t, 10, 30);
	expect_found(&t, 11, 30);
	EXPECT_LIST(&t, TC_SHORT, 10, 11);
	flow_table_destroy(&t);
}
END_TEST

START_TEST(test_grow)
{
	struct flow_table t;

	table_init(&t, 100, 64);
	for (uint32_t i = 0; i < 100; i++)
		ck_assert_ptr_nonnull(add_n(&t, i, (uint8_t)(i % TC_N), 0));
	ck_assert_ptr_null(add_n(&t, 100, TC_LONG, 0));
	ck_assert_int_eq(flow_table_grow(&t, 250), 0);
	ck_assert_uint_eq(t.slab[0].capacity, 250);
	ck_assert_uint_eq(t.count, 100);
	/* The lists, linked by index, survive the move. */
	check_lists(&t);
	for (uint32_t i = 0; i < 100; i++)
		expect_found(&t, i, 1);
	for (uint32_t i = 100; i < 250; i++)
		ck_assert_ptr_nonnull(add_n(&t, i, (uint8_t)(i % TC_N), 1));
	ck_assert_ptr_null(add_n(&t, 250, TC_LONG, 1));
	for (uint32_t i = 0; i < 250; i++)
		expect_found(&t, i, 2);
	/* Not lowered. */
	ck_assert_int_eq(flow_table_grow(&t, 10), 0);
	ck_assert_uint_eq(t.slab[0].capacity, 250);
	for (uint32_t i = 0; i < 250; i++)
		expect_found(&t, i, 2);
	check_lists(&t);
	flow_table_destroy(&t);
}
END_TEST

/* Growing in the middle of a rehash loses nothing either. */
START_TEST(test_grow_during_rehash)
{
	struct flow_table t;

	table_init(&t, 1000, 64);
	for (uint32_t i = 0; i < 1000; i++)
		add_n(&t, i, TC_LONG, 0);
	ck_assert_int_eq(flow_table_resize(&t, 512, 0), 0);
	flow_table_migrate(&t, 1, 20);
	ck_assert(flow_table_rehashing(&t));
	ck_assert_int_eq(flow_table_grow(&t, 1 << 16), 0);
	for (uint32_t i = 0; i < 1000; i++)
		expect_found(&t, i, 1);
	for (uint32_t i = 1000; i < 3000; i++)
		ck_assert_ptr_nonnull(add_n(&t, i, TC_LONG, 1));
	while (flow_table_rehashing(&t))
		flow_table_migrate(&t, 2, 20);
	for (uint32_t i = 0; i < 3000; i++)
		expect_found(&t, i, 2);
	ck_assert_uint_eq(t.count, 3000);
	check_lists(&t);
	flow_table_destroy(&t);
}
END_TEST

/* Bytes of one flow of each family: both slabs reserve capacity. */
#define FLOW_PAIR (sizeof(struct flow4) + sizeof(struct flow6))

START_TEST(test_bytes)
{
	struct flow_table t;

	table_init(&t, 1000, 256);
	/* Small slabs are populated in full at once. */
	ck_assert_uint_eq(flow_table_populated_bytes(&t), flow_table_bytes(&t));
	ck_assert_uint_eq(flow_table_bytes(&t), 1000 * FLOW_PAIR + 256 * 4);
	ck_assert_int_eq(flow_table_resize(&t, 1024, 0), 0);
	ck_assert_uint_eq(flow_table_bytes(&t),
			  1000 * FLOW_PAIR + (256 + 1024) * 4);
	while (flow_table_rehashing(&t))
		flow_table_migrate(&t, 0, 100);
	ck_assert_uint_eq(flow_table_bytes(&t), 1000 * FLOW_PAIR + 1024 * 4);
	ck_assert_int_eq(flow_table_grow(&t, 5000), 0);
	ck_assert_uint_eq(flow_table_bytes(&t), 5000 * FLOW_PAIR + 1024 * 4);
	ck_assert_int_eq(flow_table_resize(&t, 2, 0), 0);
	ck_assert_uint_eq(flow_table_bytes(&t),
			  5000 * FLOW_PAIR + (1024 + 2) * 4);
	flow_table_destroy(&t);
}
END_TEST

/* ---- incremental rehash ---------------------------------------------- */

/* A table with a model of which test ids it holds. */
struct model {
	struct flow_table t;
	uint8_t *present;
	uint32_t next_id, npresent, max_ids;
	uint64_t rng;
};

static uint32_t model_rand(struct model *m)
{
	/* xorshift64 */
	m->rng ^= m->rng << 13;
	m->rng ^= m->rng >> 7;
	m->rng ^= m->rng << 17;
	return (uint32_t)(m->rng >> 32);
}

static void model_init(struct model *m, uint32_t capacity, uint32_t nbuckets,
		       uint32_t nflows, uint32_t max_ids)
{
	memset(m, 0, sizeof(*m));
	table_init(&m->t, capacity, nbuckets);
	m->present = calloc(max_ids, 1);
	ck_assert_ptr_nonnull(m->present);
	m->max_ids = max_ids;
	m->rng = 0x9e3779b97f4a7c15ULL;
	for (uint32_t i = 0; i < nflows; i++) {
		ck_assert_ptr_nonnull(add_n(&m->t, i, TC_LONG, 0));
		m->present[i] = 1;
	}
	m->next_id = m->npresent = nflows;
}

static void model_free(struct model *m)
{
	flow_table_destroy(&m->t);
	free(m->present);
}

/* Every flow of the model is found both ways; every other id is not. */
static void model_verify(struct model *m, uint32_t now)
{
	struct visits v;

	for (uint32_t i = 0; i < m->next_id; i++) {
		if (m->present[i])
			expect_found(&m->t, i, now);
		else
			expect_absent(&m->t, i, now);
	}
	ck_assert_uint_eq(m->t.count, m->npresent);
	ck_assert_uint_eq(m->t.slab[0].in_use, m->npresent);
	ck_assert_int_eq(walk_tags(&m->t, &v, m->max_ids), 0);
	ck_assert_uint_eq(v.total, m->npresent);
	for (uint32_t i = 0; i < m->next_id; i++)
		CHECK(v.seen[i] == m->present[i], "flow %u walked %u times", i,
		      v.seen[i]);
	free(v.seen);
	check_lists(&m->t);
}

/* Insert nins new flows and remove nrem random present ones. */
static void model_churn(struct model *m, uint32_t nins, uint32_t nrem,
			uint32_t now)
{
	for (uint32_t j = 0; j < nins && m->next_id < m->max_ids; j++) {
		uint32_t i = m->next_id++;

		CHECK(find_n(&m->t, i, 0, now) == NULL, "new flow %u found", i);
		CHECK(add_n(&m->t, i, TC_LONG, now) != NULL, "insert %u", i);
		m->present[i] = 1;
		m->npresent++;
	}
	for (uint32_t j = 0; j < nrem && m->npresent; j++) {
		uint32_t i = model_rand(m) % m->next_id;
		struct flow *f;

		while (!m->present[i])
			i = (i + 1) % m->next_id;
		f = find_n(&m->t, i, (int)(j & 1), now);
		CHECK(f != NULL, "flow %u to remove not found", i);
		flow_table_remove(&m->t, f);
		m->present[i] = 0;
		m->npresent--;
	}
}

/* Resize and drive the move with small migrations, checking every step. */
static void rehash_run(struct model *m, uint32_t to, uint32_t budget,
		       uint32_t *now)
{
	uint32_t from = m->t.nbuckets[0], steps = 0;

	ck_assert_int_eq(flow_table_resize(&m->t, to, *now), 0);
	ck_assert(flow_table_rehashing(&m->t));
	ck_assert_uint_eq(flow_table_buckets(&m->t), to);
	while (flow_table_rehashing(&m->t)) {
		uint32_t pos = m->t.migrate_pos;

		model_verify(m, *now);
		model_churn(m, 3, 2, *now);
		model_verify(m, *now);
		ck_assert_uint_eq(flow_table_migrate(&m->t, *now, budget), 0);
		/* Exactly budget buckets moved, or the move is done. */
		if (flow_table_rehashing(&m->t))
			ck_assert_uint_eq(m->t.migrate_pos, pos + budget);
		else
			ck_assert_uint_ge(pos + budget, from);
		ck_assert_uint_eq(flow_table_buckets(&m->t), to);
		(*now)++;
		steps++;
		ck_assert_uint_le(steps, from / budget + 1);
	}
	ck_assert_uint_eq(steps, (from + budget - 1) / budget);
	ck_assert_uint_eq(m->t.nbuckets[0], to);
	ck_assert_uint_eq(flow_table_buckets(&m->t), to);
	ck_assert_uint_eq(m->t.expired, 0);
	/* Nothing to migrate any more. */
	ck_assert_uint_eq(flow_table_migrate(&m->t, *now, budget), 0);
	ck_assert(!flow_table_rehashing(&m->t));
	model_verify(m, *now);
}

/* Resizes driven a few buckets at a time (rehash_run) through a model
 * table: its capacity, first buckets, flows and ids, then each resize
 * (to buckets, budget per step) in turn, and whether the table is churned
 * and checked once more afterwards. */
static const struct rehash_case {
	uint32_t capacity, nbuckets, nflows, max_ids;
	struct {
		uint32_t to, budget;
	} resizes[5];
	bool churn_after;
} rehash_cases[] = {
	/* grow */
	{ 16384, 256, 10000, 12000, .resizes = { { 4096, 5 } },
	  .churn_after = true },
	/* shrink */
	{ 16384, 4096, 10000, 12000, .resizes = { { 16, 200 } },
	  .churn_after = true },
	/* both ways */
	{ 16384, 256, 10000, 12000,
	  .resizes = { { 4096, 64 }, { 16, 256 }, { 256, 3 } } },
	/* small tables, one bucket per step, growing and shrinking */
	{ 4096, 1, 300, 2000,
	  .resizes = { { 2, 1 }, { 64, 1 }, { 8, 1 }, { 1, 1 }, { 1024, 1 } } },
};

START_TEST(test_rehash)
{
	const struct rehash_case *rc = &rehash_cases[_i];
	struct model m;
	uint32_t now = 10;

	model_init(&m, rc->capacity, rc->nbuckets, rc->nflows, rc->max_ids);
	for (size_t i = 0; i < ARRAY_SIZE(rc->resizes) && rc->resizes[i].to;
	     i++)
		rehash_run(&m, rc->resizes[i].to, rc->resizes[i].budget, &now);
	if (rc->churn_after) {
		/* Everything still works afterwards. */
		model_churn(&m, 100, 100, now);
		model_verify(&m, now);
	}
	model_free(&m);
}
END_TEST

START_TEST(test_rehash_drops_expired)
{
	struct flow_table t;
	uint32_t n = 0, swept = 0, expect_first = 0;
	struct visits v;

	table_init(&t, 4096, 256);
	/* Odd ids expire (30 s), even ones do not; all at time 1000. */
	for (uint32_t i = 0; i < 2000; i++) {
		struct tpkt p = pkt_n(i);
		struct flow_key k;

		add_n(&t, i, i & 1 ? TC_SHORT : TC_LONG, 1000);
		pkt_key(&k, &p, 0);
		if ((i & 1) && ((uint32_t)flow_hash(&t, &k) & 255) < 16)
			expect_first++;
	}
	ck_assert_int_eq(flow_table_resize(&t, 1024, 1000), 0);
	/* The first step moves old buckets 0-15 and drops their dead. */
	swept = flow_table_migrate(&t, 1030, 16);
	ck_assert_uint_gt(expect_first, 0);
	ck_assert_uint_eq(swept, expect_first);
	ck_assert_uint_eq(t.count, 2000 - expect_first);
	ck_assert_uint_eq(t.expired, expect_first);
	ck_assert_uint_eq(t.list[TC_SHORT].count, 1000 - expect_first);
	check_lists(&t);
	/* Unmoved buckets still hold their dead flows until moved. */
	walk_tags(&t, &v, 2000);
	ck_assert_uint_eq(v.total, 2000 - expect_first);
	free(v.seen);
	while (flow_table_rehashing(&t)) {
		swept += flow_table_migrate(&t, 1030, 16);
		n++;
	}
	ck_assert_uint_eq(n, 15);
	ck_assert_uint_eq(swept, 1000);
	ck_assert_uint_eq(t.count, 1000);
	ck_assert_uint_eq(t.expired, 1000);
	ck_assert_uint_eq(t.slab[0].in_use, 1000);
	/* Every dead flow went, each once: none is left to expire. */
	ck_assert_uint_eq(flow_table_expire(&t, 1030, UINT32_MAX), 0);
	EXPECT_EMPTY(&t, TC_SHORT);
	walk_tags(&t, &v, 2000);
	for (uint32_t i = 0; i < 2000; i++)
		ck_assert_uint_eq(v.seen[i], i & 1 ? 0 : 1);
	free(v.seen);
	for (uint32_t i = 0; i < 2000; i += 2)
		expect_found(&t, i, 1030);
	check_lists(&t);
	flow_table_destroy(&t);
}
END_TEST

/* Lookups during a rehash still reclaim expired flows on both sides. */
START_TEST(test_rehash_lazy_expiry)
{
	struct flow_table t;

	table_init(&t, 4096, 64);
	for (uint32_t i = 0; i < 2000; i++)
		add_n(&t, i, i & 1 ? TC_SHORT : TC_LONG, 0);
	ck_assert_int_eq(flow_table_resize(&t, 512, 0), 0);
	flow_table_migrate(&t, 0, 32); /* half moved */
	ck_assert(flow_table_rehashing(&t));
	for (uint32_t i = 1; i < 2000; i += 2)
		ck_assert_ptr_null(find_n(&t, i, 0, 30));
	ck_assert_uint_eq(t.count, 1000);
	ck_assert_uint_eq(t.expired, 1000);
	check_lists(&t);
	for (uint32_t i = 0; i < 2000; i += 2)
		expect_found(&t, i, 30);
	while (flow_table_rehashing(&t))
		ck_assert_uint_eq(flow_table_migrate(&t, 30, 7), 0);
	for (uint32_t i = 0; i < 2000; i += 2)
		expect_found(&t, i, 30);
	flow_table_destroy(&t);
}
END_TEST

START_TEST(test_rehash_second_resize)
{
	struct model m;
	uint32_t now = 10;

	model_init(&m, 16384, 256, 5000, 6000);
	ck_assert_int_eq(flow_table_resize(&m.t, 4096, now), 0);
	flow_table_migrate(&m.t, now, 10);
	flow_table_migrate(&m.t, now, 10);
	ck_assert(flow_table_rehashing(&m.t));
	ck_assert_uint_eq(m.t.migrate_pos, 20);
	model_churn(&m, 10, 10, now);

	/* A new target while moving: the first move is finished now. */
	ck_assert_int_eq(flow_table_resize(&m.t, 1024, now), 0);
	ck_assert(flow_table_rehashing(&m.t));
	ck_assert_uint_eq(m.t.nbuckets[0], 4096);
	ck_assert_uint_eq(m.t.nbuckets[1], 1024);
	ck_assert_uint_eq(m.t.migrate_pos, 0);
	ck_assert_uint_eq(flow_table_buckets(&m.t), 1024);
	model_verify(&m, now);
	while (flow_table_rehashing(&m.t)) {
		flow_table_migrate(&m.t, now, 100);
		model_verify(&m, now);
	}
	ck_assert_uint_eq(m.t.nbuckets[0], 1024);

	/* Resizing to the current target mid-move: finished, no new move. */
	ck_assert_int_eq(flow_table_resize(&m.t, 64, now), 0);
	flow_table_migrate(&m.t, now, 100);
	ck_assert(flow_table_rehashing(&m.t));
	ck_assert_int_eq(flow_table_resize(&m.t, 64, now), 0);
	ck_assert(!flow_table_rehashing(&m.t));
	ck_assert_uint_eq(flow_table_buckets(&m.t), 64);
	model_verify(&m, now);

	/* Back to the size being moved from, mid-move. */
	ck_assert_int_eq(flow_table_resize(&m.t, 2048, now), 0);
	flow_table_migrate(&m.t, now, 5);
	ck_assert_int_eq(flow_table_resize(&m.t, 64, now), 0);
	ck_assert_uint_eq(m.t.nbuckets[0], 2048);
	ck_assert(flow_table_rehashing(&m.t));
	ck_assert_uint_eq(flow_table_buckets(&m.t), 64);
	model_verify(&m, now);
	while (flow_table_rehashing(&m.t))
		flow_table_migrate(&m.t, now, 1);
	model_verify(&m, now);
	model_free(&m);
}
END_TEST

/* The forced finish of a second resize drops expired flows too. */
START_TEST(test_rehash_second_resize_expiry)
{
	struct flow_table t;

	table_init(&t, 4096, 64);
	for (uint32_t i = 0; i < 1000; i++)
		add_n(&t, i, i & 1 ? TC_SHORT : TC_LONG, 0);
	ck_assert_int_eq(flow_table_resize(&t, 256, 0), 0);
	ck_assert_int_eq(flow_table_resize(&t, 16, 100), 0);
	ck_assert_uint_eq(t.count, 500);
	ck_assert_uint_eq(t.expired, 500);
	EXPECT_EMPTY(&t, TC_SHORT);
	check_lists(&t);
	for (uint32_t i = 0; i < 1000; i += 2)
		expect_found(&t, i, 100);
	flow_table_destroy(&t);
}
END_TEST

/*
 * Expiry after a shrink reclaims every expired flow: the lists do not
 * depend on the bucket arrays, and removal finds each flow's new chain.
 */
START_TEST(test_expire_after_shrink)
{
	struct flow_table t;

	table_init(&t, 1024, 1024);
	for (uint32_t i = 0; i < 500; i++)
		add_n(&t, i, TC_SHORT, 0);
	ck_assert_uint_eq(flow_table_expire(&t, 1, UINT32_MAX), 0);
	ck_assert_int_eq(flow_table_resize(&t, 8, 1), 0);
	while (flow_table_rehashing(&t))
		ck_assert_uint_eq(flow_table_migrate(&t, 1, 100), 0);
	ck_assert_uint_eq(t.count, 500);
	/* Two calls of 250 reclaim them all. */
	ck_assert_uint_eq(flow_table_expire(&t, 100, 250), 250);
	ck_assert_uint_eq(flow_table_expire(&t, 100, 250), 250);
	ck_assert_uint_eq(t.count, 0);
	ck_assert_uint_eq(t.expired, 500);
	for (uint32_t b = 0; b < 8; b++)
		ck_assert_uint_eq(t.bucket[0][b], FLOW_NIL);
	check_lists(&t);
	flow_table_destroy(&t);
}
END_TEST

START_TEST(test_resize_rejects)
{
	struct model m;
	static const uint32_t bad[] = { 0, 3, 24, 1000, 0x80000001u };

	model_init(&m, 1024, 64, 500, 500);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		errno = 0;
		ck_assert_int_eq(flow_table_resize(&m.t, bad[i], 0), -1);
		ck_assert_int_eq(errno, EINVAL);
		ck_assert(!flow_table_rehashing(&m.t));
		ck_assert_uint_eq(flow_table_buckets(&m.t), 64);
	}
	/* Same size: nothing to do. */
	ck_assert_int_eq(flow_table_resize(&m.t, 64, 0), 0);
	ck_assert(!flow_table_rehashing(&m.t));
	/* Not rehashing: migrate does nothing. */
	ck_assert_uint_eq(flow_table_migrate(&m.t, 0, 100), 0);
	ck_assert(!flow_table_rehashing(&m.t));
	/* A rejected resize mid-move leaves that move under way. */
	ck_assert_int_eq(flow_table_resize(&m.t, 128, 0), 0);
	flow_table_migrate(&m.t, 0, 3);
	ck_assert_int_eq(flow_table_resize(&m.t, 100, 0), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert(flow_table_rehashing(&m.t));
	ck_assert_uint_eq(m.t.migrate_pos, 3);
	ck_assert_uint_eq(flow_table_buckets(&m.t), 128);
	/* A zero budget moves nothing. */
	ck_assert_uint_eq(flow_table_migrate(&m.t, 0, 0), 0);
	ck_assert_uint_eq(m.t.migrate_pos, 3);
	model_verify(&m, 1);
	model_free(&m);
}
END_TEST

/* ---- walk ------------------------------------------------------------ */

START_TEST(test_walk_once)
{
	struct flow_table t;
	struct visits v;

	table_init(&t, 1024, 64);
	ck_assert_int_eq(walk_tags(&t, &v, 1), 0);
	ck_assert_uint_eq(v.total, 0);
	free(v.seen);
	for (uint32_t i = 0; i < 700; i++)
		add_n(&t, i, TC_SHORT, 0);
	ck_assert_int_eq(walk_tags(&t, &v, 700), 0);
	ck_assert_uint_eq(v.total, 700);
	for (uint32_t i = 0; i < 700; i++)
		ck_assert_uint_eq(v.seen[i], 1);
	free(v.seen);
	flow_table_destroy(&t);
}
END_TEST

START_TEST(test_walk_during_rehash)
{
	static const uint32_t sizes[] = { 1024, 4 };
	struct flow_table t;
	struct visits v;

	for (size_t s = 0; s < 2; s++) {
		table_init(&t, 1024, 64);
		for (uint32_t i = 0; i < 700; i++)
			add_n(&t, i, TC_LONG, 0);
		ck_assert_int_eq(flow_table_resize(&t, sizes[s], 0), 0);
		while (flow_table_rehashing(&t)) {
			ck_assert_int_eq(walk_tags(&t, &v, 700), 0);
			ck_assert_uint_eq(v.total, 700);
			for (uint32_t i = 0; i < 700; i++)
				CHECK(v.seen[i] == 1, "flow %u walked %u times",
				      i, v.seen[i]);
			free(v.seen);
			flow_table_migrate(&t, 0, 5);
		}
		ck_assert_int_eq(walk_tags(&t, &v, 700), 0);
		ck_assert_uint_eq(v.total, 700);
		free(v.seen);
		flow_table_destroy(&t);
	}
}
END_TEST

START_TEST(test_walk_stops)
{
	struct flow_table t;
	struct visits v;

	table_init(&t, 1024, 64);
	for (uint32_t i = 0; i < 100; i++)
		add_n(&t, i, TC_LONG, 0);
	memset(&v, 0, sizeof(v));
	v.stop_after = 10;
	v.stop_value = 42;
	ck_assert_int_eq(flow_table_walk(&t, visit, &v), 42);
	ck_assert_uint_eq(v.total, 10);
	/* Negative values and the very first flow. */
	memset(&v, 0, sizeof(v));
	v.stop_after = 1;
	v.stop_value = -5;
	ck_assert_int_eq(flow_table_walk(&t, visit, &v), -5);
	ck_assert_uint_eq(v.total, 1);
	/* The last flow. */
	memset(&v, 0, sizeof(v));
	v.stop_after = 100;
	v.stop_value = 1;
	ck_assert_int_eq(flow_table_walk(&t, visit, &v), 1);
	ck_assert_uint_eq(v.total, 100);
	/* Also while rehashing: both bucket arrays. */
	ck_assert_int_eq(flow_table_resize(&t, 128, 0), 0);
	flow_table_migrate(&t, 0, 32);
	memset(&v, 0, sizeof(v));
	v.stop_after = 77;
	v.stop_value = 3;
	ck_assert_int_eq(flow_table_walk(&t, visit, &v), 3);
	ck_assert_uint_eq(v.total, 77);
	ck_assert_uint_eq(t.count, 100);
	flow_table_destroy(&t);
}
END_TEST

/* ---- chain lengths --------------------------------------------------- */

/*
 * Hash flooding. An attacker who knew the hash key (here fkey, the
 * SipHash reference key) could pick flows that all land in few buckets:
 * a million TCP flows from 10.0.0.0/8 to 192.0.2.1:80 whose hashes share
 * their low FLOOD_BITS bits, so that in a table of 2^20 buckets they fill
 * only 2^(20 - FLOOD_BITS) of them, chains of about 2^FLOOD_BITS. Under
 * that key the chain cap refuses what would make a chain longer than
 * FLOW_CHAIN_MAX; under a key drawn at random, as the daemon's is, the
 * same flows spread like any others.
 */
enum { FLOOD_FLOWS = 1 << 20, FLOOD_BITS = 7 };

static void flood_keys(struct flow_key *keys)
{
	struct flow_table t;
	uint32_t dst = htonl(0xc0000201u), n = 0;

	table_init(&t, 64, 64); /* only for flow_hash() under fkey */
	for (uint64_t c = 0; n < FLOOD_FLOWS; c++) {
		uint32_t src = htonl(0x0a000000u | (uint32_t)(c >> 16));

		flow_key_make(&keys[n], 4, 6, &src, &dst, (uint16_t)c, 80);
		if (!(flow_hash(&t, &keys[n]) & ((1u << FLOOD_BITS) - 1)))
			n++;
	}
	flow_table_destroy(&t);
}

/* Insert the keys as the engine does, chain cap included; the longest
 * chain and how many the cap refused. */
static void flood_insert(const struct hash_key *hk, const struct flow_key *keys,
			 uint32_t *longest, uint32_t *refused)
{
	struct flow_table t;
	uint32_t *len = calloc(FLOOD_FLOWS, sizeof(*len));

	reset_timeouts();
	ck_assert_ptr_nonnull(len);
	ck_assert_int_eq(flow_table_init(&t, FLOOD_FLOWS, FLOOD_FLOWS, TC_N, hk,
					 timeouts),
			 0);
	*longest = *refused = 0;
	for (uint32_t i = 0; i < FLOOD_FLOWS; i++) {
		uint64_t h = flow_hash(&t, &keys[i]);
		uint32_t b = (uint32_t)h & (FLOOD_FLOWS - 1);

		CHECK(!flow_table_lookup(&t, &keys[i], h, 0), "key %u twice",
		      i);
		if (flow_table_chain_full(&t, h)) {
			(*refused)++;
			continue;
		}
		CHECK(flow_table_insert(&t, &keys[i], h, 0, TC_LONG), "insert");
		if (++len[b] > *longest)
			*longest = len[b];
	}
	flow_table_destroy(&t);
	free(len);
}

START_TEST(test_hash_flood)
{
	struct flow_key *keys = malloc(FLOOD_FLOWS * sizeof(*keys));
	struct hash_key rkey;
	uint32_t longest, refused;

	ck_assert_ptr_nonnull(keys);
	flood_keys(keys);

	/* Under the key they were made for: chains capped, the rest refused
	 * (about half: 2^13 buckets hold 64 flows each). */
	flood_insert(&fkey, keys, &longest, &refused);
	printf("hash flood, %u crafted flows: known key: longest chain %u, "
	       "%u refused;",
	       FLOOD_FLOWS, longest, refused);
	ck_assert_uint_eq(longest, FLOW_CHAIN_MAX);
	ck_assert_uint_ge(refused, FLOOD_FLOWS / 3);

	/* Under a random key: every flow in, chains as short as chance
	 * makes them (a million flows in a million buckets: about 9). */
	ck_assert_int_eq(hash_key_random(&rkey), 0);
	flood_insert(&rkey, keys, &longest, &refused);
	printf(" random key: longest chain %u, %u refused\n", longest, refused);
	fflush(stdout);
	ck_assert_uint_eq(refused, 0);
	ck_assert_uint_le(longest, 16);
	free(keys);
}
END_TEST

START_TEST(test_chain_length)
{
	enum { NFLOWS = 100000, NBUCKETS = 65536 };
	struct flow_table t;
	uint64_t rng = 0x243f6a8885a308d3ULL;
	uint32_t inserted = 0, longest = 0, total = 0, empty = 0;

	table_init(&t, NFLOWS, NBUCKETS);
	while (inserted < NFLOWS) {
		struct flow_key k;
		uint32_t a, b;
		uint16_t sp, dp;
		uint64_t h;

		rng ^= rng << 13;
		rng ^= rng >> 7;
		rng ^= rng << 17;
		a = (uint32_t)rng;
		b = (uint32_t)(rng >> 32);
		rng ^= rng << 13;
		rng ^= rng >> 7;
		rng ^= rng << 17;
		sp = (uint16_t)rng;
		dp = (uint16_t)(rng >> 16);
		flow_key_make(&k, 4, rng >> 63 ? 6 : 17, &a, &b, sp, dp);
		h = flow_hash(&t, &k);
		if (flow_table_lookup(&t, &k, h, 0))
			continue; /* a repeat: vanishingly rare */
		CHECK(flow_table_insert(&t, &k, h, 0, TC_LONG) != NULL,
		      "insert");
		inserted++;
	}
	for (uint32_t b = 0; b < NBUCKETS; b++) {
		uint32_t len = 0;

		for (uint32_t idx = t.bucket[0][b]; idx != FLOW_NIL;) {
			const struct flow *f = flow_of(&t, idx);
			struct flow_key k;

			/* Each flow is in the bucket its hash names. */
			flow_key_get(f, &k);
			CHECK((flow_hash(&t, &k) & (NBUCKETS - 1)) == b,
			      "flow in bucket %u hashes elsewhere", b);
			len++;
			CHECK(len <= NFLOWS, "loop in bucket %u", b);
			idx = f->next;
		}
		total += len;
		empty += !len;
		if (len > longest)
			longest = len;
	}
	ck_assert_uint_eq(total, NFLOWS);
	/* Poisson(1.53): the longest of 65536 chains is ~9. */
	ck_assert_msg(longest < 16, "longest chain %u", longest);
	/* e^-1.53 of the buckets are empty: ~14200. */
	ck_assert_uint_gt(empty, 12000);
	ck_assert_uint_lt(empty, 16500);
	flow_table_destroy(&t);
}
END_TEST

/* ---- randomized run against a model ---------------------------------- */

enum { MR_IDS = 500, MR_LISTS = 5, MR_STEPS = 4000, MR_CAP0 = 100 };

/* What the model knows of flow id. */
struct mflow {
	uint8_t present; /* in the table (live or not yet reclaimed) */
	uint8_t list;
	uint32_t last_seen;
};

struct mrun {
	struct flow_table t;
	uint32_t timeouts[MR_LISTS];
	struct mflow f[MR_IDS];
	uint32_t order[MR_LISTS][MR_IDS]; /* each list's ids, oldest first */
	uint32_t len[MR_LISTS];
	uint32_t count, now;
	uint64_t expired; /* what t.expired must be */
	uint64_t rng;
	/* What on_release said since the last step was settled. */
	uint32_t rel[MR_IDS], rel_list[MR_IDS], nrel;
	/* relist's callbacks. */
	uint32_t begins, salt, calls[MR_IDS];
	/* How often each interesting thing happened. */
	uint32_t inserted, freed, full, reclaimed_by_lookup, expired_by_expire,
		expired_by_migrate, touched_across, touched_noop, relists,
		resizes;
};

static uint32_t mr_rand(struct mrun *m)
{
	m->rng ^= m->rng << 13;
	m->rng ^= m->rng >> 7;
	m->rng ^= m->rng << 17;
	return (uint32_t)(m->rng >> 32);
}

static void mr_release(void *arg, const struct flow *f)
{
	struct mrun *m = arg;

	CHECK(m->nrel < MR_IDS, "too many flows freed in one step");
	m->rel[m->nrel] = f->aux;
	m->rel_list[m->nrel++] = f->list;
}

static bool mr_expired(const struct mrun *m, uint32_t id)
{
	return m->now - m->f[id].last_seen >= m->timeouts[m->f[id].list];
}

static void mr_unlist(struct mrun *m, uint32_t id)
{
	uint32_t l = m->f[id].list, i = 0;

	while (i < m->len[l] && m->order[l][i] != id)
		i++;
	CHECK(i < m->len[l], "model: %u not on list %u", id, l);
	memmove(&m->order[l][i], &m->order[l][i + 1],
		(m->len[l] - i - 1) * sizeof(m->order[l][0]));
	m->len[l]--;
}

static void mr_append(struct mrun *m, uint32_t id, uint8_t list)
{
	m->f[id].list = list;
	m->order[list][m->len[list]++] = id;
}

/*
 * Account for the flows freed since the last step: each must be one the
 * model holds, on the list the model says, and freed once; and expired,
 * unless it is `want` (the one removed).
 */
static void mr_settle(struct mrun *m, uint32_t want)
{
	for (uint32_t i = 0; i < m->nrel; i++) {
		uint32_t id = m->rel[i];

		CHECK(id < MR_IDS && m->f[id].present,
		      "freed flow %u is not in the table", id);
		CHECK(m->rel_list[i] == m->f[id].list,
		      "freed flow %u from list %u, not %u", id, m->rel_list[i],
		      m->f[id].list);
		CHECK(id == want || mr_expired(m, id), "live flow %u freed",
		      id);
		mr_unlist(m, id);
		m->f[id].present = 0;
		m->count--;
		m->freed++;
	}
	m->nrel = 0;
}

/* Does what the table holds match the model, exactly? */
static void mr_verify(struct mrun *m)
{
	CHECK(m->t.count == m->count, "count %u, model %u", m->t.count,
	      m->count);
	CHECK(m->t.expired == m->expired, "expired %lu, model %lu",
	      (unsigned long)m->t.expired, (unsigned long)m->expired);
	for (uint32_t l = 0; l < MR_LISTS; l++) {
		uint32_t n = 0;

		for (uint32_t idx = m->t.list[l].oldest; idx != FLOW_NIL;
		     idx = flow_of(&m->t, idx)->newer) {
			const struct flow *f = flow_of(&m->t, idx);
			uint32_t id = f->aux;

			CHECK(n < m->len[l], "list %u: longer than %u", l,
			      m->len[l]);
			CHECK(id == m->order[l][n],
			      "list %u, position %u: flow %u, model %u", l, n,
			      id, m->order[l][n]);
			CHECK(f->last_seen == m->f[id].last_seen,
			      "flow %u: last_seen %u, model %u", id,
			      f->last_seen, m->f[id].last_seen);
			n++;
		}
		CHECK(n == m->len[l], "list %u: %u flows, model %u", l, n,
		      m->len[l]);
	}
	check_lists(&m->t);
}

/* Look id up as the engine would, checking the answer. */
static struct flow *mr_lookup(struct mrun *m, uint32_t id, int reply)
{
	bool there = m->f[id].present, live = there && !mr_expired(m, id);
	struct flow *f = find_n(&m->t, id, reply, m->now);
	bool freed_it = false;

	if (live)
		CHECK(f && f->aux == id, "live flow %u not found", id);
	else
		CHECK(!f, "flow %u found (%s)", id,
		      there ? "expired" : "absent");
	for (uint32_t i = 0; i < m->nrel; i++)
		freed_it |= m->rel[i] == id;
	CHECK(live || !there || freed_it, "expired flow %u kept", id);
	m->reclaimed_by_lookup += m->nrel;
	m->expired += m->nrel;
	mr_settle(m, UINT32_MAX);
	return f;
}

static void mr_begin(void *arg)
{
	struct mrun *m = arg;

	m->begins++;
}

static uint8_t mr_list_of(struct flow *f, void *arg)
{
	struct mrun *m = arg;
	uint32_t id = f->aux;

	CHECK(m->begins == 1, "list_of() before begin()");
	CHECK(id < MR_IDS && m->f[id].present, "list_of() on flow %u", id);
	m->calls[id]++;
	return (uint8_t)((id + m->salt) % MR_LISTS);
}

static void mr_step_expire(struct mrun *m)
{
	static const uint32_t maxes[] = { 0, 1, 3, 10, 50, UINT32_MAX };
	uint32_t max = maxes[mr_rand(m) % 6], avail[MR_LISTS], taken[MR_LISTS];
	uint32_t total = 0, n;

	for (uint32_t l = 0; l < MR_LISTS; l++) {
		uint32_t k = 0;

		while (k < m->len[l] && mr_expired(m, m->order[l][k]))
			k++;
		avail[l] = k;
		taken[l] = 0;
		total += k;
	}
	n = flow_table_expire(&m->t, m->now, max);
	CHECK(n == (total < max ? total : max), "expire(%u): %u of %u", max, n,
	      total);
	CHECK(m->nrel == n, "expire: %u freed, said %u", m->nrel, n);
	/* From each list, the oldest, in order. */
	for (uint32_t i = 0; i < m->nrel; i++) {
		uint32_t l = m->rel_list[i];

		CHECK(l < MR_LISTS && taken[l] < avail[l] &&
			      m->order[l][taken[l]] == m->rel[i],
		      "expire freed flow %u out of turn", m->rel[i]);
		taken[l]++;
	}
	m->expired += n;
	m->expired_by_expire += n;
	mr_settle(m, UINT32_MAX);
}

static void mr_step_relist(struct mrun *m)
{
	uint32_t want[MR_LISTS] = { 0 };

	m->begins = 0;
	m->salt = mr_rand(m);
	memset(m->calls, 0, sizeof(m->calls));
	ck_assert_int_eq(flow_table_relist(&m->t, mr_begin, mr_list_of, m), 0);
	CHECK(m->begins == 1, "begin() ran %u times", m->begins);
	CHECK(m->nrel == 0, "relist freed flows");
	for (uint32_t id = 0; id < MR_IDS; id++) {
		CHECK(m->calls[id] == m->f[id].present,
		      "list_of(%u) called %u times", id, m->calls[id]);
		if (m->f[id].present)
			want[(id + m->salt) % MR_LISTS]++;
	}
	/*
	 * Each list must hold the flows sent to it, by last refresh
	 * (check_lists); flows refreshed in the same second may come in any
	 * order, so the model takes the table's.
	 */
	check_lists(&m->t);
	for (uint32_t l = 0; l < MR_LISTS; l++) {
		uint32_t n = 0;

		CHECK(m->t.list[l].count == want[l], "list %u: %u, want %u", l,
		      m->t.list[l].count, want[l]);
		for (uint32_t idx = m->t.list[l].oldest; idx != FLOW_NIL;
		     idx = flow_of(&m->t, idx)->newer) {
			uint32_t id = flow_of(&m->t, idx)->aux;

			CHECK((id + m->salt) % MR_LISTS == l,
			      "flow %u relisted to %u", id, l);
			m->order[l][n++] = id;
			m->f[id].list = (uint8_t)l;
		}
		m->len[l] = n;
	}
	m->relists++;
}

/* An id for a step: mostly one the model holds, else any. */
static uint32_t mr_pick(struct mrun *m)
{
	if (m->count && mr_rand(m) % 4) {
		for (;;) {
			uint32_t l = mr_rand(m) % MR_LISTS;

			if (m->len[l])
				return m->order[l][mr_rand(m) % m->len[l]];
		}
	}
	return mr_rand(m) % MR_IDS;
}

/* A packet that may open flow id on a random list. */
static void mr_open(struct mrun *m, uint32_t id, int reply)
{
	uint8_t l = (uint8_t)(mr_rand(m) % MR_LISTS);
	struct flow *f;

	if (mr_lookup(m, id, reply))
		return;
	f = add_n(&m->t, id, l, m->now);
	CHECK(m->nrel == 0, "insert freed flows");
	if (m->count == m->t.slab[0].capacity) {
		CHECK(!f, "insert past capacity");
		m->full++;
		return;
	}
	CHECK(f != NULL, "insert %u failed with room", id);
	m->f[id].present = 1;
	m->f[id].last_seen = m->now;
	mr_append(m, id, l);
	m->count++;
	m->inserted++;
}

static void mr_step(struct mrun *m)
{
	uint32_t op = mr_rand(m) % 952, id = mr_pick(m);
	int reply = (int)(mr_rand(m) & 1);
	struct flow *f;

	if (op < 345) {
		mr_open(m, mr_rand(m) % MR_IDS, reply);
	} else if (op < 350) { /* a burst of new flows */
		for (int i = 0; i < 100; i++)
			mr_open(m, mr_rand(m) % MR_IDS, reply);
	} else if (op < 550) { /* a packet of a flow: refresh */
		uint8_t l;

		f = mr_lookup(m, id, reply);
		if (!f)
			return;
		l = mr_rand(m) % 3 ? m->f[id].list :
				     (uint8_t)(mr_rand(m) % MR_LISTS);
		flow_table_touch(&m->t, f, l, m->now);
		CHECK(m->nrel == 0, "touch freed flows");
		if (m->f[id].list == l && m->f[id].last_seen == m->now) {
			m->touched_noop++;
			return;
		}
		m->touched_across += m->f[id].list != l;
		mr_unlist(m, id);
		m->f[id].last_seen = m->now;
		mr_append(m, id, l);
	} else if (op < 680) { /* a lookup alone */
		mr_lookup(m, id, reply);
	} else if (op < 710) { /* an RST: remove */
		f = mr_lookup(m, id, reply);
		if (!f)
			return;
		flow_table_remove(&m->t, f);
		CHECK(m->nrel == 1 && m->rel[0] == id, "remove of %u: %u freed",
		      id, m->nrel);
		mr_settle(m, id);
	} else if (op < 790) {
		mr_step_expire(m);
	} else if (op < 870) {
		uint32_t budget = mr_rand(m) % 9, pos = m->t.migrate_pos,
			 from = m->t.nbuckets[0], n;
		bool was = flow_table_rehashing(&m->t);

		n = flow_table_migrate(&m->t, m->now, budget);
		CHECK(n == m->nrel, "migrate: %u freed, said %u", m->nrel, n);
		if (!was)
			CHECK(n == 0, "migrate with no rehash freed %u", n);
		else if (flow_table_rehashing(&m->t))
			CHECK(m->t.migrate_pos == pos + budget,
			      "migrate moved %u buckets, not %u",
			      m->t.migrate_pos - pos, budget);
		else
			CHECK(pos + budget >= from, "rehash ended early");
		m->expired += n;
		m->expired_by_migrate += n;
		mr_settle(m, UINT32_MAX);
	} else if (op < 895) {
		uint32_t nb = 1u << (mr_rand(m) % 11);

		ck_assert_int_eq(flow_table_resize(&m->t, nb, m->now), 0);
		CHECK(flow_table_buckets(&m->t) == nb, "resize to %u", nb);
		m->expired += m->nrel;
		m->expired_by_migrate += m->nrel;
		mr_settle(m, UINT32_MAX);
		m->resizes++;
	} else if (op < 935) {
		m->now += 1 + mr_rand(m) % 3;
	} else if (op < 937) {
		m->now += 40;
	} else if (op < 940) {
		if (m->t.slab[0].capacity < MR_IDS) {
			uint32_t cap = m->t.slab[0].capacity + 25;

			ck_assert_int_eq(flow_table_grow(&m->t, cap < MR_IDS ?
									cap :
									MR_IDS),
					 0);
		}
	} else if (op < 945) { /* a reload: one list's timeout changes */
		m->timeouts[mr_rand(m) % MR_LISTS] = 1 + mr_rand(m) % 60;
	} else {
		mr_step_relist(m);
	}
}

/*
 * A few thousand random steps of everything that changes the table, each
 * checked against a model: answers, what is freed (exactly once, only
 * when expired unless removed, exactly the expired prefix of each list
 * for expire), counts, and each list's exact order and links.
 */
START_TEST(test_model_random)
{
	static const uint32_t tmo[MR_LISTS] = { 2, 5, 15, 60, 300 };
	struct mrun *m = calloc(1, sizeof(*m));

	ck_assert_ptr_nonnull(m);
	m->rng = 0x2545f4914f6cdd1dULL * (uint64_t)(_i + 1);
	memcpy(m->timeouts, tmo, sizeof(tmo));
	ck_assert_int_eq(flow_table_init(&m->t, MR_CAP0, 16, MR_LISTS, &fkey,
					 m->timeouts),
			 0);
	m->t.on_release = mr_release;
	m->t.release_arg = m;
	m->now = 1000;
	for (uint32_t step = 0; step < MR_STEPS; step++) {
		mr_step(m);
		CHECK(m->nrel == 0, "step %u: freed flows not accounted for",
		      step);
		mr_verify(m);
	}
	/* Every flow is reclaimed in the end, and told of once. */
	while (flow_table_rehashing(&m->t)) {
		uint32_t n = flow_table_migrate(&m->t, m->now, 16);

		m->expired += n;
		mr_settle(m, UINT32_MAX);
	}
	m->now += 1000;
	for (uint32_t l = 0; l < MR_LISTS; l++)
		m->timeouts[l] = 120;
	{
		uint32_t left = m->count;

		ck_assert_uint_eq(flow_table_expire(&m->t, m->now, UINT32_MAX),
				  left);
		m->expired += left;
		mr_settle(m, UINT32_MAX);
	}
	mr_verify(m);
	ck_assert_uint_eq(m->count, 0);
	ck_assert_uint_eq(m->freed, m->inserted);
	/* The run did exercise what it is meant to. */
	ck_assert_uint_gt(m->inserted, 500);
	ck_assert_uint_gt(m->full, 0);
	ck_assert_uint_gt(m->reclaimed_by_lookup, 0);
	ck_assert_uint_gt(m->expired_by_expire, 0);
	ck_assert_uint_gt(m->expired_by_migrate, 0);
	ck_assert_uint_gt(m->touched_across, 0);
	ck_assert_uint_gt(m->touched_noop, 0);
	ck_assert_uint_gt(m->relists, 0);
	ck_assert_uint_gt(m->resizes, 0);
	flow_table_destroy(&m->t);
	free(m);
}
END_TEST

static Suite *flow_suite(void)
{
	Suite *s = suite_create("flow");
	TCase *tc;

	tc = tcase_create("key");
	tcase_add_test(tc, test_key_v4_order);
	tcase_add_test(tc, test_key_v4_equal_addresses);
	tcase_add_test(tc, test_key_v6_order);
	tcase_add_test(tc, test_key_padding_zero);
	tcase_add_test(tc, test_key_both_directions);
	tcase_add_test(tc, test_dir_of);
	suite_add_tcase(s, tc);

	tc = tcase_create("hash");
	tcase_add_test(tc, test_flow_hash_fields);
	tcase_add_test(tc, test_flow_hash_spread);
	suite_add_tcase(s, tc);

	tc = tcase_create("table");
	tcase_add_test(tc, test_init_rejects_buckets);
	tcase_add_test(tc, test_init_lists);
	tcase_add_test(tc, test_insert_lookup);
	tcase_add_test(tc, test_two_families_one_table);
	tcase_add_test(tc, test_insert_lookup_both_orders);
	tcase_add_test(tc, test_insert_lookup_v6);
	tcase_add_test(tc, test_lookup_absent);
	tcase_add_test(tc, test_family_proto_distinct);
	tcase_add_test(tc, test_count);
	tcase_add_test(tc, test_remove_head_middle_tail);
	tcase_add_test(tc, test_remove_reuse_clean);
	suite_add_tcase(s, tc);

	tc = tcase_create("lists");
	tcase_add_test(tc, test_list_insert_order);
	tcase_add_test(tc, test_touch_moves_newest);
	tcase_add_test(tc, test_touch_newest);
	tcase_add_test(tc, test_touch_other_list);
	tcase_add_test(tc, test_touch_same_second);
	tcase_add_test(tc, test_list_counts_every_path);
	tcase_add_test(tc, test_oldest_across_lists);
	tcase_add_test(tc, test_oldest_ties);
	tcase_add_test(tc, test_relist_moves);
	tcase_add_test(tc, test_relist_merge);
	tcase_add_test(tc, test_relist_empty);
	suite_add_tcase(s, tc);

	tc = tcase_create("expiry");
	tcase_add_test(tc, test_lazy_expiry_boundary);
	tcase_add_test(tc, test_lazy_expiry_self);
	tcase_add_test(tc, test_expiry_per_list);
	tcase_add_test(tc, test_expiry_uses_last_seen);
	tcase_add_test(tc, test_timeouts_in_place);
	tcase_add_test(tc, test_timeouts_in_place_expire);
	tcase_add_test(tc, test_expire_bounded);
	tcase_add_test(tc, test_expire_takes_turns);
	tcase_add_test(tc, test_expire_chain_positions);
	tcase_add_test(tc, test_expire_oldest_first);
	tcase_add_test(tc, test_expire_stops_at_live);
	tcase_add_test(tc, test_expire_max_across_lists);
	tcase_add_test(tc, test_expire_lists_timeouts);
	tcase_add_test(tc, test_expire_many_lists);
	tcase_add_test(tc, test_expire_during_rehash);
	suite_add_tcase(s, tc);

	tc = tcase_create("release");
	tcase_add_test(tc, test_release_lookup);
	tcase_add_test(tc, test_release_remove);
	tcase_add_test(tc, test_release_expire);
	tcase_add_test(tc, test_release_migrate);
	suite_add_tcase(s, tc);

	tc = tcase_create("capacity");
	tcase_add_test(tc, test_exhaustion);
	tcase_add_test(tc, test_grow);
	tcase_add_test(tc, test_grow_during_rehash);
	tcase_add_test(tc, test_bytes);
	suite_add_tcase(s, tc);

	tc = tcase_create("rehash");
	tcase_set_timeout(tc, 300);
	tcase_add_loop_test(tc, test_rehash, 0, (int)ARRAY_SIZE(rehash_cases));
	tcase_add_test(tc, test_rehash_drops_expired);
	tcase_add_test(tc, test_rehash_lazy_expiry);
	tcase_add_test(tc, test_rehash_second_resize);
	tcase_add_test(tc, test_rehash_second_resize_expiry);
	tcase_add_test(tc, test_expire_after_shrink);
	tcase_add_test(tc, test_resize_rejects);
	suite_add_tcase(s, tc);

	tc = tcase_create("walk");
	tcase_add_test(tc, test_walk_once);
	tcase_add_test(tc, test_walk_during_rehash);
	tcase_add_test(tc, test_walk_stops);
	suite_add_tcase(s, tc);

	tc = tcase_create("chains");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_chain_length);
	tcase_add_test(tc, test_hash_flood);
	suite_add_tcase(s, tc);

	tc = tcase_create("model");
	tcase_set_timeout(tc, 300);
	tcase_add_loop_test(tc, test_model_random, 0, 3);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(flow_suite());
}
