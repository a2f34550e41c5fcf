// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * check_flow.c - unit tests for flow.c, the flow table: canonical keys and
 * directions, flow_hash() sensitivity and spread, insert/lookup/remove,
 * lazy expiry against the caller's timeout array, the bounded sweep, slab
 * exhaustion and growth, the incremental rehash (lookups, inserts, removes
 * and expiry while flows move between bucket arrays), walking, memory
 * accounting and chain lengths under a fixed hash key.
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <stdint.h>
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

enum { TC_LONG, TC_SHORT, TC_OTHER, TC_N };

/* The caller-owned timeout table; every test sets it up first. */
static uint32_t timeouts[TC_N];

static void reset_timeouts(void)
{
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

/* Insert p as the engine would; tag the flow with id in u.tcp.last_seq. */
static struct flow *add_pkt(struct flow_table *t, const struct tpkt *p,
			    uint32_t id, uint8_t tclass, uint32_t now)
{
	struct flow_key k;
	bool sw = pkt_key(&k, p, 0);
	struct flow *f = flow_table_insert(t, &k, flow_hash(t, &k), now);

	if (f) {
		if (sw)
			f->flags |= FLOW_F_ORIG_HI;
		f->tclass = tclass;
		f->u.tcp.last_seq = id;
	}
	return f;
}

static struct flow *add_n(struct flow_table *t, uint32_t i, uint8_t tclass,
			  uint32_t now)
{
	struct tpkt p = pkt_n(i);

	return add_pkt(t, &p, i, tclass, now);
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
		CHECK(f->u.tcp.last_seq == i, "flow %u found as %u", i,
		      f->u.tcp.last_seq);
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
	return f->u.tcp.last_seq;
}

static void expect_absent(struct flow_table *t, uint32_t i, uint32_t now)
{
	CHECK(find_n(t, i, 0, now) == NULL, "flow %u still found", i);
	CHECK(find_n(t, i, 1, now) == NULL, "flow %u still found", i);
}

static void table_init(struct flow_table *t, uint32_t capacity,
		       uint32_t nbuckets)
{
	reset_timeouts();
	ck_assert_int_eq(
		flow_table_init(t, capacity, nbuckets, &fkey, timeouts), 0);
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

	if (f->u.tcp.last_seq < v->ntags)
		v->seen[f->u.tcp.last_seq]++;
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
		ck_assert_int_eq(flow_table_init(&t2, 4, 4, &other, timeouts),
				 0);
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
		ck_assert_int_eq(
			flow_table_init(&t, 100, bad[i], &fkey, timeouts), -1);
		ck_assert_int_eq(errno, EINVAL);
	}
	/* Capacity 0 is refused too (by the slab). */
	errno = 0;
	ck_assert_int_eq(flow_table_init(&t, 0, 16, &fkey, timeouts), -1);
	ck_assert_int_eq(errno, EINVAL);

	for (uint32_t n = 1; n <= (1u << 20); n <<= 1) {
		ck_assert_int_eq(flow_table_init(&t, 10, n, &fkey, timeouts),
				 0);
		ck_assert_uint_eq(flow_table_buckets(&t), n);
		ck_assert(!flow_table_rehashing(&t));
		ck_assert_uint_eq(t.count, 0);
		flow_table_destroy(&t);
	}
}
END_TEST

START_TEST(test_insert_lookup)
{
	struct flow_table t;
	struct flow *f;
	struct flow_key k;
	struct tpkt p = pkt_n(42);
	bool sw;

	table_init(&t, 16, 8);
	sw = pkt_key(&k, &p, 0);
	f = flow_table_insert(&t, &k, flow_hash(&t, &k), 500);
	ck_assert_ptr_nonnull(f);
	ck_assert_mem_eq(&f->key, &k, sizeof(k));
	ck_assert_uint_eq(f->created, 500);
	ck_assert_uint_eq(f->last_seen, 500);
	ck_assert_uint_eq(f->state, 0);
	ck_assert_uint_eq(f->flags, 0);
	ck_assert_uint_eq(f->tclass, 0);
	{
		static const uint8_t zero[sizeof(f->u)];

		ck_assert_mem_eq(&f->u, zero, sizeof(zero));
	}
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
	/* A lookup does not refresh or change the flow. */
	ck_assert_uint_eq(f->last_seen, 500);
	ck_assert_uint_eq(t.count, 1);
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
		ck_assert_ptr_nonnull(add_n(&t, i, TC_LONG, 1));
		ck_assert_uint_eq(t.count, i + 1);
	}
	for (uint32_t i = 0; i < 1000; i += 2) {
		f = find_n(&t, i, i & 2 ? 1 : 0, 2);
		ck_assert_ptr_nonnull(f);
		flow_table_remove(&t, f);
	}
	ck_assert_uint_eq(t.count, 500);
	ck_assert_uint_eq(t.slab.in_use, 500);
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
	     idx = ((const struct flow *)slab_ptr(&t->slab, idx))->next) {
		ck_assert_uint_lt(n, max);
		out[n++] = ((const struct flow *)slab_ptr(&t->slab, idx))
				   ->u.tcp.last_seq;
	}
	return n;
}

START_TEST(test_remove_head_middle_tail)
{
	struct flow_table t;
	uint32_t tags[8], n;

	table_init(&t, 16, 1);
	chain_of(&t, 5); /* chain: 4 3 2 1 0 */
	n = chain_tags(&t, tags, 8);
	ck_assert_uint_eq(n, 5);
	ck_assert_uint_eq(tags[0], 4);
	ck_assert_uint_eq(tags[4], 0);

	flow_table_remove(&t, must_find_n(&t, 2, 2)); /* middle */
	ck_assert_uint_eq(t.count, 4);
	n = chain_tags(&t, tags, 8);
	ck_assert_uint_eq(n, 4);
	ck_assert_uint_eq(tags[0], 4);
	ck_assert_uint_eq(tags[1], 3);
	ck_assert_uint_eq(tags[2], 1);
	ck_assert_uint_eq(tags[3], 0);
	expect_absent(&t, 2, 2);

	flow_table_remove(&t, must_find_n(&t, 4, 2)); /* head */
	ck_assert_uint_eq(t.count, 3);
	n = chain_tags(&t, tags, 8);
	ck_assert_uint_eq(n, 3);
	ck_assert_uint_eq(tags[0], 3);
	expect_absent(&t, 4, 2);

	flow_table_remove(&t, must_find_n(&t, 0, 2)); /* tail */
	ck_assert_uint_eq(t.count, 2);
	n = chain_tags(&t, tags, 8);
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(tags[0], 3);
	ck_assert_uint_eq(tags[1], 1);
	expect_absent(&t, 0, 2);
	expect_found(&t, 1, 2);
	expect_found(&t, 3, 2);

	/* Down to empty. */
	flow_table_remove(&t, must_find_n(&t, 1, 2));
	flow_table_remove(&t, must_find_n(&t, 3, 2));
	ck_assert_uint_eq(t.count, 0);
	ck_assert_uint_eq(t.bucket[0][0], FLOW_NIL);
	ck_assert_uint_eq(t.slab.in_use, 0);
	/* And usable again. */
	chain_of(&t, 3);
	for (uint32_t i = 0; i < 3; i++)
		expect_found(&t, i, 3);
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
	idx = slab_index(&t.slab, f);
	f->state = 9;
	f->flags = 0xff;
	f->u.tcp.retrans = 3;
	f->u.tcp.last_ack = 0xdeadbeef;
	flow_table_remove(&t, f);
	f = add_n(&t, 2, TC_LONG, 20);
	ck_assert_uint_eq(slab_index(&t.slab, f), idx);
	ck_assert_uint_eq(f->state, 0);
	ck_assert_uint_eq(f->u.tcp.retrans, 0);
	ck_assert_uint_eq(f->u.tcp.last_ack, 0);
	ck_assert_uint_eq(f->created, 20);
	ck_assert_uint_eq(f->flags & ~FLOW_F_ORIG_HI, 0);
	expect_absent(&t, 1, 21);
	expect_found(&t, 2, 21);
	flow_table_destroy(&t);
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
	old_idx = slab_index(&t.slab, old);
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
	ck_assert_uint_eq(t.slab.in_use, 1);
	expect_absent(&t, 0, 1030);
	expect_found(&t, 1, 1030);

	/* The slot comes back for the next insert. */
	ck_assert_uint_eq(slab_index(&t.slab, add_n(&t, 5, TC_LONG, 1030)),
			  old_idx);
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
	/* And it can be inserted again. */
	ck_assert_ptr_nonnull(add_n(&t, 3, TC_OTHER, 120));
	expect_found(&t, 3, 121);
	flow_table_destroy(&t);
}
END_TEST

/* Each flow uses the timeout of its own class. */
START_TEST(test_expiry_per_class)
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

/* A refreshed flow (last_seen moved on by the engine) lives longer. */
START_TEST(test_expiry_uses_last_seen)
{
	struct flow_table t;
	struct flow *f;

	table_init(&t, 8, 4);
	f = add_n(&t, 0, TC_SHORT, 100);
	f->last_seen = 125;
	ck_assert_ptr_nonnull(find_n(&t, 0, 0, 154));
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

/* The sweep honours changed timeouts too. */
START_TEST(test_timeouts_in_place_sweep)
{
	struct flow_table t;

	table_init(&t, 64, 8);
	for (uint32_t i = 0; i < 40; i++)
		add_n(&t, i, TC_OTHER, 0);
	ck_assert_uint_eq(flow_table_sweep(&t, 100, 8), 0);
	timeouts[TC_OTHER] = 100;
	ck_assert_uint_eq(flow_table_sweep(&t, 100, 8), 40);
	ck_assert_uint_eq(t.count, 0);
	ck_assert_uint_eq(t.expired, 40);
	flow_table_destroy(&t);
}
END_TEST

#define SWEEP_BUCKETS 8u

/*
 * Find test ids, from first on, whose flows land in each of the buckets
 * of t (nbuckets = SWEEP_BUCKETS): per of them for each bucket.
 */
static void ids_by_bucket(const struct flow_table *t, uint32_t first,
			  uint32_t per, uint32_t ids[][4])
{
	uint32_t have[SWEEP_BUCKETS] = { 0 }, done = 0;

	ck_assert_uint_le(per, 4);
	for (uint32_t i = first; done < SWEEP_BUCKETS * per; i++) {
		struct tpkt p = pkt_n(i);
		struct flow_key k;
		uint32_t b;

		pkt_key(&k, &p, 0);
		b = (uint32_t)flow_hash(t, &k) & (SWEEP_BUCKETS - 1);
		if (have[b] < per) {
			ids[b][have[b]++] = i;
			done++;
		}
	}
}

START_TEST(test_sweep_bounded)
{
	struct flow_table t;
	uint32_t dead[SWEEP_BUCKETS][4], live[SWEEP_BUCKETS][4];
	struct visits v;

	table_init(&t, 64, SWEEP_BUCKETS);
	ids_by_bucket(&t, 0, 1, dead);
	ids_by_bucket(&t, 100000, 2, live);
	for (uint32_t b = 0; b < SWEEP_BUCKETS; b++) {
		add_n(&t, dead[b][0], TC_SHORT, 0); /* expired at 30 */
		add_n(&t, live[b][0], TC_LONG, 0);
		add_n(&t, live[b][1], TC_LONG, 0);
	}
	ck_assert_uint_eq(t.count, 3 * SWEEP_BUCKETS);

	/* Nothing expired yet: a full pass reclaims nothing. */
	ck_assert_uint_eq(flow_table_sweep(&t, 29, SWEEP_BUCKETS), 0);
	ck_assert_uint_eq(t.count, 3 * SWEEP_BUCKETS);

	/* Three buckets per call, continuing where the last call stopped. */
	for (uint32_t call = 0; call < 3; call++) {
		uint32_t got = flow_table_sweep(&t, 100, 3);
		uint32_t want = 0;

		walk_tags(&t, &v, 200000);
		for (uint32_t b = 0; b < SWEEP_BUCKETS; b++) {
			/* Calls visit buckets 0-2, 3-5, 6-7-0. */
			int visited = b < 3 * (call + 1) ||
				      (call == 2 && b == 0);

			ck_assert_msg(v.seen[dead[b][0]] == !visited,
				      "call %u: bucket %u %s", call, b,
				      visited ? "not swept" : "swept early");
			ck_assert_uint_eq(v.seen[live[b][0]], 1);
			ck_assert_uint_eq(v.seen[live[b][1]], 1);
		}
		free(v.seen);
		want = call < 2 ? 3 : 2;
		ck_assert_uint_eq(got, want);
	}
	ck_assert_uint_eq(t.count, 2 * SWEEP_BUCKETS);
	ck_assert_uint_eq(t.expired, SWEEP_BUCKETS);

	/*
	 * A budget above the bucket count (and not a multiple of it) visits
	 * each bucket once: a full circle, so the next call starts where
	 * this one did (bucket 1, after the three calls above).
	 */
	for (uint32_t b = 0; b < SWEEP_BUCKETS; b++)
		add_n(&t, dead[b][0], TC_SHORT, 100);
	ck_assert_uint_eq(flow_table_sweep(&t, 129, SWEEP_BUCKETS + 5), 0);
	ck_assert_uint_eq(flow_table_sweep(&t, 130, SWEEP_BUCKETS + 5),
			  SWEEP_BUCKETS);
	ck_assert_uint_eq(t.count, 2 * SWEEP_BUCKETS);
	/* A zero budget does nothing. */
	for (uint32_t b = 0; b < SWEEP_BUCKETS; b++)
		add_n(&t, dead[b][0], TC_SHORT, 200);
	ck_assert_uint_eq(flow_table_sweep(&t, 1000, 0), 0);
	ck_assert_uint_eq(t.count, 3 * SWEEP_BUCKETS);
	/* Still at bucket 1: this call sweeps buckets 1-3. */
	ck_assert_uint_eq(flow_table_sweep(&t, 1000, 3), 3);
	walk_tags(&t, &v, 200000);
	for (uint32_t b = 0; b < SWEEP_BUCKETS; b++)
		ck_assert_msg(v.seen[dead[b][0]] == (b < 1 || b > 3),
			      "bucket %u", b);
	free(v.seen);
	/* One bucket at a time: 4, 5, 6, 7, 0. */
	{
		uint32_t total = 0;

		for (uint32_t i = 0; i < SWEEP_BUCKETS - 3; i++) {
			uint32_t n = flow_table_sweep(&t, 1000, 1);

			ck_assert_uint_eq(n, 1);
			total += n;
		}
		ck_assert_uint_eq(total, SWEEP_BUCKETS - 3);
	}
	ck_assert_uint_eq(t.count, 2 * SWEEP_BUCKETS);
	ck_assert_uint_eq(t.expired, 3 * SWEEP_BUCKETS);
	for (uint32_t b = 0; b < SWEEP_BUCKETS; b++) {
		expect_found(&t, live[b][0], 1000);
		expect_found(&t, live[b][1], 1000);
	}
	flow_table_destroy(&t);
}
END_TEST

/* Sweeping a long chain reclaims expired flows anywhere in it. */
START_TEST(test_sweep_chain_positions)
{
	struct flow_table t;
	struct visits v;

	table_init(&t, 64, 1);
	for (uint32_t i = 0; i < 30; i++) /* every third expires */
		add_n(&t, i, i % 3 == 0 ? TC_SHORT : TC_LONG, 0);
	ck_assert_uint_eq(flow_table_sweep(&t, 40, 1), 10);
	walk_tags(&t, &v, 30);
	for (uint32_t i = 0; i < 30; i++)
		ck_assert_uint_eq(v.seen[i], i % 3 ? 1 : 0);
	free(v.seen);
	ck_assert_uint_eq(t.count, 20);
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
	for (uint32_t i = 0; i < 10; i++)
		expect_found(&t, i, 1);
	expect_absent(&t, 10, 1);
	/* Room again after a remove ... */
	flow_table_remove(&t, must_find_n(&t, 4, 1));
	ck_assert_ptr_nonnull(add_n(&t, 10, TC_SHORT, 1));
	ck_assert_ptr_null(add_n(&t, 11, TC_SHORT, 1));
	/* ... and after expiry. */
	ck_assert_uint_eq(flow_table_sweep(&t, 30, 4), 9);
	ck_assert_ptr_nonnull(add_n(&t, 11, TC_SHORT, 30));
	expect_found(&t, 10, 30);
	expect_found(&t, 11, 30);
	flow_table_destroy(&t);
}
END_TEST

START_TEST(test_grow)
{
	struct flow_table t;

	table_init(&t, 100, 64);
	for (uint32_t i = 0; i < 100; i++)
		ck_assert_ptr_nonnull(add_n(&t, i, TC_LONG, 0));
	ck_assert_ptr_null(add_n(&t, 100, TC_LONG, 0));
	ck_assert_int_eq(flow_table_grow(&t, 250), 0);
	ck_assert_uint_eq(t.slab.capacity, 250);
	ck_assert_uint_eq(t.count, 100);
	for (uint32_t i = 0; i < 100; i++)
		expect_found(&t, i, 1);
	for (uint32_t i = 100; i < 250; i++)
		ck_assert_ptr_nonnull(add_n(&t, i, TC_LONG, 1));
	ck_assert_ptr_null(add_n(&t, 250, TC_LONG, 1));
	for (uint32_t i = 0; i < 250; i++)
		expect_found(&t, i, 2);
	/* Not lowered. */
	ck_assert_int_eq(flow_table_grow(&t, 10), 0);
	ck_assert_uint_eq(t.slab.capacity, 250);
	for (uint32_t i = 0; i < 250; i++)
		expect_found(&t, i, 2);
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
	flow_table_sweep(&t, 1, 20);
	ck_assert(flow_table_rehashing(&t));
	ck_assert_int_eq(flow_table_grow(&t, 1 << 16), 0);
	for (uint32_t i = 0; i < 1000; i++)
		expect_found(&t, i, 1);
	for (uint32_t i = 1000; i < 3000; i++)
		ck_assert_ptr_nonnull(add_n(&t, i, TC_LONG, 1));
	while (flow_table_rehashing(&t))
		flow_table_sweep(&t, 2, 20);
	for (uint32_t i = 0; i < 3000; i++)
		expect_found(&t, i, 2);
	ck_assert_uint_eq(t.count, 3000);
	flow_table_destroy(&t);
}
END_TEST

START_TEST(test_bytes)
{
	struct flow_table t;

	table_init(&t, 1000, 256);
	ck_assert_uint_eq(flow_table_bytes(&t),
			  1000 * sizeof(struct flow) + 256 * 4);
	ck_assert_int_eq(flow_table_resize(&t, 1024, 0), 0);
	ck_assert_uint_eq(flow_table_bytes(&t),
			  1000 * sizeof(struct flow) + (256 + 1024) * 4);
	while (flow_table_rehashing(&t))
		flow_table_sweep(&t, 0, 100);
	ck_assert_uint_eq(flow_table_bytes(&t),
			  1000 * sizeof(struct flow) + 1024 * 4);
	ck_assert_int_eq(flow_table_grow(&t, 5000), 0);
	ck_assert_uint_eq(flow_table_bytes(&t),
			  5000 * sizeof(struct flow) + 1024 * 4);
	ck_assert_int_eq(flow_table_resize(&t, 2, 0), 0);
	ck_assert_uint_eq(flow_table_bytes(&t),
			  5000 * sizeof(struct flow) + (1024 + 2) * 4);
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
	ck_assert_uint_eq(m->t.slab.in_use, m->npresent);
	ck_assert_int_eq(walk_tags(&m->t, &v, m->max_ids), 0);
	ck_assert_uint_eq(v.total, m->npresent);
	for (uint32_t i = 0; i < m->next_id; i++)
		CHECK(v.seen[i] == m->present[i], "flow %u walked %u times", i,
		      v.seen[i]);
	free(v.seen);
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

/* Resize and drive the move with small sweeps, checking every step. */
static void rehash_run(struct model *m, uint32_t to, uint32_t budget,
		       uint32_t *now)
{
	uint32_t from = m->t.nbuckets[0], steps = 0;

	ck_assert_int_eq(flow_table_resize(&m->t, to, *now), 0);
	ck_assert(flow_table_rehashing(&m->t));
	ck_assert_uint_eq(flow_table_buckets(&m->t), to);
	while (flow_table_rehashing(&m->t)) {
		model_verify(m, *now);
		model_churn(m, 3, 2, *now);
		model_verify(m, *now);
		ck_assert_uint_eq(flow_table_sweep(&m->t, *now, budget), 0);
		ck_assert_uint_eq(flow_table_buckets(&m->t), to);
		(*now)++;
		steps++;
		ck_assert_uint_le(steps, from / budget + 1);
	}
	ck_assert_uint_eq(steps, (from + budget - 1) / budget);
	ck_assert_uint_eq(m->t.nbuckets[0], to);
	ck_assert_uint_eq(flow_table_buckets(&m->t), to);
	ck_assert_uint_eq(m->t.expired, 0);
	model_verify(m, *now);
}

START_TEST(test_rehash_grow)
{
	struct model m;
	uint32_t now = 10;

	model_init(&m, 16384, 256, 10000, 12000);
	rehash_run(&m, 4096, 5, &now);
	/* Everything still works afterwards. */
	model_churn(&m, 100, 100, now);
	model_verify(&m, now);
	model_free(&m);
}
END_TEST

START_TEST(test_rehash_shrink)
{
	struct model m;
	uint32_t now = 10;

	model_init(&m, 16384, 4096, 10000, 12000);
	rehash_run(&m, 16, 200, &now);
	model_churn(&m, 100, 100, now);
	model_verify(&m, now);
	model_free(&m);
}
END_TEST

START_TEST(test_rehash_both_ways)
{
	struct model m;
	uint32_t now = 10;

	model_init(&m, 16384, 256, 10000, 12000);
	rehash_run(&m, 4096, 64, &now);
	rehash_run(&m, 16, 256, &now);
	rehash_run(&m, 256, 3, &now);
	model_free(&m);
}
END_TEST

/* Small tables, one bucket per step, growing and shrinking. */
START_TEST(test_rehash_small_steps)
{
	struct model m;
	uint32_t now = 10;

	model_init(&m, 4096, 1, 300, 2000);
	rehash_run(&m, 2, 1, &now);
	rehash_run(&m, 64, 1, &now);
	rehash_run(&m, 8, 1, &now);
	rehash_run(&m, 1, 1, &now);
	rehash_run(&m, 1024, 1, &now);
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
	swept = flow_table_sweep(&t, 1030, 16);
	ck_assert_uint_gt(expect_first, 0);
	ck_assert_uint_eq(swept, expect_first);
	ck_assert_uint_eq(t.count, 2000 - expect_first);
	ck_assert_uint_eq(t.expired, expect_first);
	/* Unmoved buckets still hold their dead flows until moved. */
	walk_tags(&t, &v, 2000);
	ck_assert_uint_eq(v.total, 2000 - expect_first);
	free(v.seen);
	while (flow_table_rehashing(&t)) {
		swept += flow_table_sweep(&t, 1030, 16);
		n++;
	}
	ck_assert_uint_eq(n, 15);
	ck_assert_uint_eq(swept, 1000);
	ck_assert_uint_eq(t.count, 1000);
	ck_assert_uint_eq(t.expired, 1000);
	ck_assert_uint_eq(t.slab.in_use, 1000);
	walk_tags(&t, &v, 2000);
	for (uint32_t i = 0; i < 2000; i++)
		ck_assert_uint_eq(v.seen[i], i & 1 ? 0 : 1);
	free(v.seen);
	for (uint32_t i = 0; i < 2000; i += 2)
		expect_found(&t, i, 1030);
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
	flow_table_sweep(&t, 0, 32); /* half moved */
	ck_assert(flow_table_rehashing(&t));
	for (uint32_t i = 1; i < 2000; i += 2)
		ck_assert_ptr_null(find_n(&t, i, 0, 30));
	ck_assert_uint_eq(t.count, 1000);
	ck_assert_uint_eq(t.expired, 1000);
	for (uint32_t i = 0; i < 2000; i += 2)
		expect_found(&t, i, 30);
	while (flow_table_rehashing(&t))
		ck_assert_uint_eq(flow_table_sweep(&t, 30, 7), 0);
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
	flow_table_sweep(&m.t, now, 10);
	flow_table_sweep(&m.t, now, 10);
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
		flow_table_sweep(&m.t, now, 100);
		model_verify(&m, now);
	}
	ck_assert_uint_eq(m.t.nbuckets[0], 1024);

	/* Resizing to the current target mid-move: finished, no new move. */
	ck_assert_int_eq(flow_table_resize(&m.t, 64, now), 0);
	flow_table_sweep(&m.t, now, 100);
	ck_assert(flow_table_rehashing(&m.t));
	ck_assert_int_eq(flow_table_resize(&m.t, 64, now), 0);
	ck_assert(!flow_table_rehashing(&m.t));
	ck_assert_uint_eq(flow_table_buckets(&m.t), 64);
	model_verify(&m, now);

	/* Back to the size being moved from, mid-move. */
	ck_assert_int_eq(flow_table_resize(&m.t, 2048, now), 0);
	flow_table_sweep(&m.t, now, 5);
	ck_assert_int_eq(flow_table_resize(&m.t, 64, now), 0);
	ck_assert_uint_eq(m.t.nbuckets[0], 2048);
	ck_assert(flow_table_rehashing(&m.t));
	ck_assert_uint_eq(flow_table_buckets(&m.t), 64);
	model_verify(&m, now);
	while (flow_table_rehashing(&m.t))
		flow_table_sweep(&m.t, now, 1);
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
	for (uint32_t i = 0; i < 1000; i += 2)
		expect_found(&t, i, 100);
	flow_table_destroy(&t);
}
END_TEST

/*
 * After a shrink the sweep starts over in the new, smaller array: a sweep
 * position left from the old array must not be used to index it.
 */
START_TEST(test_sweep_after_shrink)
{
	struct flow_table t;

	table_init(&t, 1024, 1024);
	for (uint32_t i = 0; i < 500; i++)
		add_n(&t, i, TC_SHORT, 0);
	ck_assert_uint_eq(flow_table_sweep(&t, 1, 1000), 0);
	ck_assert_int_eq(flow_table_resize(&t, 8, 1), 0);
	while (flow_table_rehashing(&t))
		ck_assert_uint_eq(flow_table_sweep(&t, 1, 100), 0);
	ck_assert_uint_eq(t.count, 500);
	/* Two calls of four buckets cover all eight. */
	ck_assert_uint_eq(flow_table_sweep(&t, 100, 4) +
				  flow_table_sweep(&t, 100, 4),
			  500);
	ck_assert_uint_eq(t.count, 0);
	ck_assert_uint_eq(t.expired, 500);
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
	/* A rejected resize mid-move leaves that move under way. */
	ck_assert_int_eq(flow_table_resize(&m.t, 128, 0), 0);
	flow_table_sweep(&m.t, 0, 3);
	ck_assert_int_eq(flow_table_resize(&m.t, 100, 0), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert(flow_table_rehashing(&m.t));
	ck_assert_uint_eq(m.t.migrate_pos, 3);
	ck_assert_uint_eq(flow_table_buckets(&m.t), 128);
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
			flow_table_sweep(&t, 0, 5);
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
	flow_table_sweep(&t, 0, 32);
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
		CHECK(flow_table_insert(&t, &k, h, 0) != NULL, "insert");
		inserted++;
	}
	for (uint32_t b = 0; b < NBUCKETS; b++) {
		uint32_t len = 0;

		for (uint32_t idx = t.bucket[0][b]; idx != FLOW_NIL;) {
			const struct flow *f = slab_ptr(&t.slab, idx);

			/* Each flow is in the bucket its hash names. */
			CHECK((flow_hash(&t, &f->key) & (NBUCKETS - 1)) == b,
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
	tcase_add_test(tc, test_insert_lookup);
	tcase_add_test(tc, test_insert_lookup_both_orders);
	tcase_add_test(tc, test_insert_lookup_v6);
	tcase_add_test(tc, test_lookup_absent);
	tcase_add_test(tc, test_family_proto_distinct);
	tcase_add_test(tc, test_count);
	tcase_add_test(tc, test_remove_head_middle_tail);
	tcase_add_test(tc, test_remove_reuse_clean);
	suite_add_tcase(s, tc);

	tc = tcase_create("expiry");
	tcase_add_test(tc, test_lazy_expiry_boundary);
	tcase_add_test(tc, test_lazy_expiry_self);
	tcase_add_test(tc, test_expiry_per_class);
	tcase_add_test(tc, test_expiry_uses_last_seen);
	tcase_add_test(tc, test_timeouts_in_place);
	tcase_add_test(tc, test_timeouts_in_place_sweep);
	tcase_add_test(tc, test_sweep_bounded);
	tcase_add_test(tc, test_sweep_chain_positions);
	suite_add_tcase(s, tc);

	tc = tcase_create("capacity");
	tcase_add_test(tc, test_exhaustion);
	tcase_add_test(tc, test_grow);
	tcase_add_test(tc, test_grow_during_rehash);
	tcase_add_test(tc, test_bytes);
	suite_add_tcase(s, tc);

	tc = tcase_create("rehash");
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_rehash_grow);
	tcase_add_test(tc, test_rehash_shrink);
	tcase_add_test(tc, test_rehash_both_ways);
	tcase_add_test(tc, test_rehash_small_steps);
	tcase_add_test(tc, test_rehash_drops_expired);
	tcase_add_test(tc, test_rehash_lazy_expiry);
	tcase_add_test(tc, test_rehash_second_resize);
	tcase_add_test(tc, test_rehash_second_resize_expiry);
	tcase_add_test(tc, test_sweep_after_shrink);
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
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(flow_suite());
}
