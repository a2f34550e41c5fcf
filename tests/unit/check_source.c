// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * check_source.c - unit tests for source.c, the source table: entries per
 * address prefix (IPv4 and IPv6 aggregation, families and prefix lengths
 * kept apart, find never creating), capacity (refusal and reclaiming of
 * idle sources), the token bucket's arithmetic (thousandths of a flow, the
 * extreme rates over very long gaps), settling, closing and the idle list
 * with its expiry, the per-second rate, adoption, clearing, growth, the
 * top list, and a randomized run against a simple reference model.
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "source.h"
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
static const struct hash_key skey = {
	.k0 = 0x0706050403020100ULL,
	.k1 = 0x0f0e0d0c0b0a0908ULL,
};

#define DAY_MS (86400ULL * 1000)

static void init(struct source_table *st, uint32_t capacity)
{
	ck_assert_int_eq(source_table_init(st, capacity, &skey), 0);
	ck_assert_uint_eq(st->count, 0);
	ck_assert_uint_eq(st->idle_oldest, SOURCE_NIL);
	ck_assert_uint_eq(st->idle_newest, SOURCE_NIL);
}

static void addr4(uint8_t *out, const char *text)
{
	ck_assert_msg(inet_pton(AF_INET, text, out) == 1, "bad address %s",
		      text);
}

static void addr6(uint8_t *out, const char *text)
{
	ck_assert_msg(inet_pton(AF_INET6, text, out) == 1, "bad address %s",
		      text);
}

static uint32_t get4(struct source_table *st, const char *text, uint8_t bits,
		     uint64_t now)
{
	uint8_t a[4];

	addr4(a, text);
	return source_get(st, 4, a, bits, now);
}

static uint32_t find4(const struct source_table *st, const char *text,
		      uint8_t bits)
{
	uint8_t a[4];

	addr4(a, text);
	return source_find(st, 4, a, bits);
}

static uint32_t get6(struct source_table *st, const char *text, uint8_t bits,
		     uint64_t now)
{
	uint8_t a[16];

	addr6(a, text);
	return source_get(st, 6, a, bits, now);
}

static uint32_t find6(const struct source_table *st, const char *text,
		      uint8_t bits)
{
	uint8_t a[16];

	addr6(a, text);
	return source_find(st, 6, a, bits);
}

/* IPv4 host number i as 10.x.y.z, bits 32. */
static uint32_t get_host(struct source_table *st, uint32_t i, uint64_t now)
{
	uint8_t a[4] = { 10, (uint8_t)(i >> 16), (uint8_t)(i >> 8),
			 (uint8_t)i };

	return source_get(st, 4, a, 32, now);
}

static uint32_t find_host(const struct source_table *st, uint32_t i)
{
	uint8_t a[4] = { 10, (uint8_t)(i >> 16), (uint8_t)(i >> 8),
			 (uint8_t)i };

	return source_find(st, 4, a, 32);
}

static struct source *at(const struct source_table *st, uint32_t idx)
{
	ck_assert_uint_ne(idx, SOURCE_NIL);
	return source_at(st, idx);
}

/* Open n flows for idx at now, every one allowed. */
static void open_n(struct source_table *st, uint32_t idx, uint32_t n,
		   uint64_t now)
{
	for (uint32_t i = 0; i < n; i++) {
		CHECK(source_may_open(st, source_at(st, idx), now),
		      "open %u of %u refused at %llu", i + 1, n,
		      (unsigned long long)now);
		source_opened(st, idx, now);
	}
}

/* Open flows for idx at now until one is refused (at most limit).
 * Returns how many were allowed. */
static uint64_t drain(struct source_table *st, uint32_t idx, uint64_t now,
		      uint64_t limit)
{
	uint64_t n = 0;

	while (n < limit && source_may_open(st, source_at(st, idx), now)) {
		source_opened(st, idx, now);
		n++;
	}
	return n;
}

/* Close n flows of idx at now. */
static void close_n(struct source_table *st, uint32_t idx, uint32_t n,
		    uint64_t now)
{
	for (uint32_t i = 0; i < n; i++)
		source_closed(st, idx, now);
}

/*
 * The idle list, oldest first, into out[] (at most max): checks that the
 * links agree both ways, that every member is marked idle and that the
 * list ends at idle_newest. Returns its length.
 */
static uint32_t idle_list(const struct source_table *st, uint32_t *out,
			  uint32_t max)
{
	uint32_t n = 0, prev = SOURCE_NIL;

	for (uint32_t idx = st->idle_oldest; idx != SOURCE_NIL;
	     idx = source_at(st, idx)->newer) {
		const struct source *s = source_at(st, idx);

		CHECK(n < max, "idle list longer than %u (a cycle?)", max);
		CHECK(s->idle, "source %u on the idle list but not marked",
		      idx);
		CHECK(s->older == prev, "source %u: older %u, expected %u", idx,
		      s->older, prev);
		CHECK(s->flows == 0, "idle source %u holds %u flows", idx,
		      s->flows);
		out[n++] = idx;
		prev = idx;
	}
	CHECK(st->idle_newest == prev, "idle_newest %u, list ends at %u",
	      st->idle_newest, prev);
	return n;
}

static uint32_t idle_len(const struct source_table *st)
{
	uint32_t buf[4096];

	return idle_list(st, buf, 4096);
}

/* Entries reachable through the bucket array. */
static uint32_t chained(const struct source_table *st)
{
	uint32_t n = 0;

	for (uint32_t b = 0; b < st->nbuckets; b++)
		for (uint32_t idx = st->bucket[b]; idx != SOURCE_NIL;
		     idx = source_at(st, idx)->next) {
			n++;
			CHECK(n <= st->slab.capacity, "bucket chains cycle");
		}
	return n;
}

/* ---- get and find ---- */

START_TEST(test_bytes_for)
{
	ck_assert_uint_eq(source_table_bytes_for(1), 64 + 64 * 4);
	ck_assert_uint_eq(source_table_bytes_for(64), 64 * 64 + 64 * 4);
	ck_assert_uint_eq(source_table_bytes_for(65), 65 * 64 + 128 * 4);
	ck_assert_uint_eq(source_table_bytes_for(1000), 1000 * 64 + 1024 * 4);
}
END_TEST

START_TEST(test_init_rejects_zero)
{
	struct source_table st;

	errno = 0;
	ck_assert_int_eq(source_table_init(&st, 0, &skey), -1);
	ck_assert_int_eq(errno, EINVAL);
}
END_TEST

START_TEST(test_get_prefix4)
{
	struct source_table st;
	const uint8_t net[16] = { 10, 1, 2, 0 };
	uint32_t a, b, c;
	struct source *s;

	init(&st, 16);
	a = get4(&st, "10.1.2.3", 24, 1000);
	ck_assert_uint_ne(a, SOURCE_NIL);
	b = get4(&st, "10.1.2.200", 24, 1000);
	ck_assert_uint_eq(a, b);
	ck_assert_uint_eq(st.count, 1);
	s = at(&st, a);
	ck_assert_uint_eq(s->family, 4);
	ck_assert_uint_eq(s->bits, 24);
	ck_assert_mem_eq(s->addr, net, 16);
	ck_assert_uint_eq(s->flows, 0);
	ck_assert(!s->idle);

	c = get4(&st, "10.1.3.3", 24, 1000);
	ck_assert_uint_ne(c, SOURCE_NIL);
	ck_assert_uint_ne(c, a);
	ck_assert_uint_eq(st.count, 2);

	ck_assert_uint_eq(find4(&st, "10.1.2.77", 24), a);
	ck_assert_uint_eq(find4(&st, "10.1.2.255", 24), a);
	ck_assert_uint_eq(find4(&st, "10.1.3.0", 24), c);
	ck_assert_uint_eq(find4(&st, "10.1.4.1", 24), SOURCE_NIL);
	/* The same address under another prefix length is another source. */
	ck_assert_uint_eq(find4(&st, "10.1.2.3", 32), SOURCE_NIL);
	ck_assert_uint_eq(find4(&st, "10.1.2.3", 16), SOURCE_NIL);
	b = get4(&st, "10.1.2.3", 32, 1000);
	ck_assert_uint_ne(b, SOURCE_NIL);
	ck_assert_uint_ne(b, a);
	ck_assert_uint_ne(b, c);
	ck_assert_uint_eq(st.count, 3);
	ck_assert_uint_eq(find4(&st, "10.1.2.3", 32), b);
	ck_assert_uint_eq(find4(&st, "10.1.2.4", 32), SOURCE_NIL);
	ck_assert_uint_eq(find4(&st, "10.1.2.4", 24), a);
	ck_assert_uint_eq(chained(&st), 3);
	source_table_destroy(&st);
}
END_TEST

START_TEST(test_get_prefix_odd_bits)
{
	struct source_table st;
	uint32_t a;

	init(&st, 16);
	/* /20: 10.1.16.0 - 10.1.31.255. */
	a = get4(&st, "10.1.16.0", 20, 0);
	ck_assert_uint_eq(get4(&st, "10.1.31.255", 20, 0), a);
	ck_assert_uint_eq(get4(&st, "10.1.23.9", 20, 0), a);
	ck_assert_uint_eq(st.count, 1);
	ck_assert_uint_ne(get4(&st, "10.1.32.0", 20, 0), a);
	ck_assert_uint_ne(get4(&st, "10.1.15.255", 20, 0), a);
	ck_assert_uint_eq(st.count, 3);
	/* /1: every address of one half. */
	a = get4(&st, "1.2.3.4", 1, 0);
	ck_assert_uint_eq(get4(&st, "127.255.255.255", 1, 0), a);
	ck_assert_uint_ne(get4(&st, "128.0.0.0", 1, 0), a);
	ck_assert_uint_eq(st.count, 5);
	source_table_destroy(&st);
}
END_TEST

START_TEST(test_get_prefix6)
{
	struct source_table st;
	uint8_t net[16];
	uint32_t a, b, c;

	init(&st, 16);
	a = get6(&st, "2001:db8:1:2::1", 64, 0);
	ck_assert_uint_ne(a, SOURCE_NIL);
	b = get6(&st, "2001:db8:1:2:ffff:ffff:ffff:fffe", 64, 0);
	ck_assert_uint_eq(a, b);
	ck_assert_uint_eq(get6(&st, "2001:db8:1:2:abcd::9", 64, 0), a);
	ck_assert_uint_eq(st.count, 1);
	addr6(net, "2001:db8:1:2::");
	ck_assert_mem_eq(at(&st, a)->addr, net, 16);
	ck_assert_uint_eq(at(&st, a)->family, 6);
	ck_assert_uint_eq(at(&st, a)->bits, 64);

	c = get6(&st, "2001:db8:1:3::1", 64, 0);
	ck_assert_uint_ne(c, SOURCE_NIL);
	ck_assert_uint_ne(c, a);
	ck_assert_uint_eq(find6(&st, "2001:db8:1:3:1:2:3:4", 64), c);
	ck_assert_uint_eq(find6(&st, "2001:db8:1:4::1", 64), SOURCE_NIL);
	/* /48 and /128 of the same address are other sources. */
	ck_assert_uint_eq(find6(&st, "2001:db8:1:2::1", 48), SOURCE_NIL);
	ck_assert_uint_eq(find6(&st, "2001:db8:1:2::1", 128), SOURCE_NIL);
	b = get6(&st, "2001:db8:1:2::1", 128, 0);
	ck_assert_uint_ne(b, a);
	ck_assert_uint_eq(find6(&st, "2001:db8:1:2::2", 128), SOURCE_NIL);
	ck_assert_uint_eq(st.count, 3);
	source_table_destroy(&st);
}
END_TEST

/* 10.0.0.0/8 and 0a00::/8 mask to the same bytes: still two sources. */
START_TEST(test_families_apart)
{
	struct source_table st;
	uint32_t a, b;

	init(&st, 16);
	a = get4(&st, "10.0.0.0", 8, 0);
	ck_assert_uint_eq(find6(&st, "a00::", 8), SOURCE_NIL);
	b = get6(&st, "a00::", 8, 0);
	ck_assert_uint_ne(a, SOURCE_NIL);
	ck_assert_uint_ne(b, SOURCE_NIL);
	ck_assert_uint_ne(a, b);
	ck_assert_mem_eq(at(&st, a)->addr, at(&st, b)->addr, 16);
	ck_assert_uint_eq(find4(&st, "10.9.9.9", 8), a);
	ck_assert_uint_eq(find6(&st, "aff::1", 8), b);
	ck_assert_uint_eq(st.count, 2);
	source_table_destroy(&st);
}
END_TEST

/*
 * Sources whose masked bytes are equal but whose family or prefix length
 * differ: thousands of such pairs, so that many share a bucket chain, and
 * the lookup must still tell them apart.
 */
START_TEST(test_same_bytes_apart)
{
	struct source_table st;

	init(&st, 8);
	for (uint32_t i = 0; i < 4000; i++) {
		uint8_t a[16] = { 10, (uint8_t)(i >> 8), (uint8_t)i, 0 };
		uint32_t v4, v4s, v6;

		v4 = source_get(&st, 4, a, 24, 0);
		v4s = source_get(&st, 4, a, 32, 0);
		v6 = source_get(&st, 6, a, 24, 0);
		CHECK(v4 != SOURCE_NIL && v4s != SOURCE_NIL && v6 != SOURCE_NIL,
		      "pair %u refused", i);
		CHECK(v4 != v4s && v4 != v6 && v4s != v6, "pair %u merged", i);
		CHECK(source_find(&st, 4, a, 24) == v4 &&
			      source_find(&st, 4, a, 32) == v4s &&
			      source_find(&st, 6, a, 24) == v6,
		      "pair %u mixed up", i);
		CHECK(source_at(&st, v4)->family == 4 &&
			      source_at(&st, v4)->bits == 24 &&
			      source_at(&st, v4s)->bits == 32 &&
			      source_at(&st, v6)->family == 6,
		      "pair %u: wrong entry", i);
		/* No limit: settling frees them. */
		source_settle(&st, v6, 0);
		source_settle(&st, v4, 0);
		source_settle(&st, v4s, 0);
		CHECK(st.count == 0, "pair %u: %u left", i, st.count);
	}
	ck_assert_uint_eq(st.full, 0);
	source_table_destroy(&st);
}
END_TEST

/* The bucket source idx hangs in. */
static uint32_t bucket_of(const struct source_table *st, uint32_t idx)
{
	for (uint32_t b = 0; b < st->nbuckets; b++)
		for (uint32_t i = st->bucket[b]; i != SOURCE_NIL;
		     i = source_at(st, i)->next)
			if (i == idx)
				return b;
	ck_abort_msg("source %u in no bucket", idx);
	return 0;
}

/* Family and prefix length are hashed too: such pairs spread over the
 * buckets rather than always sharing one. */
START_TEST(test_same_bytes_spread)
{
	struct source_table st;
	uint32_t same_bits = 0, same_family = 0;

	init(&st, 64);
	for (uint32_t i = 0; i < 256; i++) {
		uint8_t a[16] = { 10, 1, (uint8_t)i, 0 };
		uint32_t v4, v4s, v6;

		v4 = source_get(&st, 4, a, 24, 0);
		v4s = source_get(&st, 4, a, 32, 0);
		v6 = source_get(&st, 6, a, 24, 0);
		same_bits += bucket_of(&st, v4) == bucket_of(&st, v4s);
		same_family += bucket_of(&st, v4) == bucket_of(&st, v6);
		source_table_clear(&st);
	}
	/* About 4 of 256 by chance, with 64 buckets. */
	ck_assert_uint_lt(same_bits, 32);
	ck_assert_uint_lt(same_family, 32);
	source_table_destroy(&st);
}
END_TEST

START_TEST(test_find_does_not_create)
{
	struct source_table st;
	uint32_t a;

	init(&st, 4);
	for (int i = 0; i < 10; i++) {
		ck_assert_uint_eq(find4(&st, "192.0.2.1", 32), SOURCE_NIL);
		ck_assert_uint_eq(find6(&st, "2001:db8::1", 64), SOURCE_NIL);
	}
	ck_assert_uint_eq(st.count, 0);
	ck_assert_uint_eq(st.slab.in_use, 0);
	ck_assert_uint_eq(chained(&st), 0);
	a = get4(&st, "192.0.2.1", 32, 0);
	ck_assert_uint_eq(find4(&st, "192.0.2.1", 32), a);
	ck_assert_uint_eq(st.count, 1);
	ck_assert_uint_eq(st.full, 0);
	source_table_destroy(&st);
}
END_TEST

START_TEST(test_new_source_state)
{
	struct source_table st;
	struct source *s;
	uint32_t a;

	init(&st, 4);
	source_table_set_rate(&st, 10, 20);
	a = get4(&st, "192.0.2.1", 32, 123456);
	s = at(&st, a);
	ck_assert_uint_eq(s->flows, 0);
	ck_assert_uint_eq(s->tokens, 20000);
	ck_assert_uint_eq(s->refill_ms, 123456);
	ck_assert_uint_eq(s->refused, 0);
	ck_assert(!s->idle);
	ck_assert_uint_eq(source_rate(s, 123456), 0);
	/* Getting it again changes nothing. */
	ck_assert_uint_eq(get4(&st, "192.0.2.1", 32, 999999), a);
	ck_assert_uint_eq(s->refill_ms, 123456);
	ck_assert_uint_eq(st.count, 1);
	source_table_destroy(&st);
}
END_TEST

/* ---- capacity ---- */

START_TEST(test_full)
{
	enum { N = 8 };
	struct source_table st;
	uint32_t idx[N];

	init(&st, N);
	for (uint32_t i = 0; i < N; i++) {
		idx[i] = get_host(&st, i, 0);
		ck_assert_uint_ne(idx[i], SOURCE_NIL);
		open_n(&st, idx[i], 1, 0);
	}
	ck_assert_uint_eq(st.count, N);
	ck_assert_uint_eq(st.full, 0);
	ck_assert_uint_eq(get_host(&st, N, 0), SOURCE_NIL);
	ck_assert_uint_eq(st.full, 1);
	ck_assert_uint_eq(get_host(&st, N + 1, 5), SOURCE_NIL);
	ck_assert_uint_eq(st.full, 2);
	ck_assert_uint_eq(find_host(&st, N), SOURCE_NIL);
	ck_assert_uint_eq(st.reclaimed, 0);
	ck_assert_uint_eq(st.count, N);
	/* Sources already there are still got, without counting as full. */
	for (uint32_t i = 0; i < N; i++)
		ck_assert_uint_eq(get_host(&st, i, 0), idx[i]);
	ck_assert_uint_eq(st.full, 2);
	/* Once one is gone, a newcomer fits. */
	source_closed(&st, idx[3], 0);
	ck_assert_uint_eq(st.count, N - 1);
	ck_assert_uint_eq(find_host(&st, 3), SOURCE_NIL);
	ck_assert_uint_eq(get_host(&st, N, 0), idx[3]);
	ck_assert_uint_eq(st.full, 2);
	ck_assert_uint_eq(st.reclaimed, 0);
	source_table_destroy(&st);
}
END_TEST

START_TEST(test_reclaim_idle)
{
	struct source_table st;
	uint32_t a, b, c, d, e;

	init(&st, 3);
	source_table_set_rate(&st, 10, 2);
	a = get_host(&st, 1, 1000);
	b = get_host(&st, 2, 1000);
	c = get_host(&st, 3, 1000);
	open_n(&st, a, 1, 1000);
	open_n(&st, b, 1, 1000);
	open_n(&st, c, 1, 1000);
	/* a, then b, go idle with half-empty buckets. */
	source_closed(&st, a, 1010);
	source_closed(&st, b, 1020);
	ck_assert_uint_eq(st.count, 3);
	ck_assert_uint_eq(idle_len(&st), 2);
	ck_assert_uint_eq(st.idle_oldest, a);

	/* The oldest idle one makes room. */
	d = get_host(&st, 4, 1030);
	ck_assert_uint_eq(d, a);
	ck_assert_uint_eq(st.reclaimed, 1);
	ck_assert_uint_eq(st.full, 0);
	ck_assert_uint_eq(st.count, 3);
	ck_assert_uint_eq(find_host(&st, 1), SOURCE_NIL);
	ck_assert_uint_eq(find_host(&st, 4), d);
	ck_assert(!at(&st, d)->idle);
	ck_assert_uint_eq(at(&st, d)->flows, 0);
	ck_assert_uint_eq(at(&st, d)->tokens, 2000);
	ck_assert_uint_eq(idle_len(&st), 1);
	ck_assert_uint_eq(st.idle_oldest, b);
	open_n(&st, d, 1, 1030);

	e = get_host(&st, 5, 1040);
	ck_assert_uint_eq(e, b);
	ck_assert_uint_eq(st.reclaimed, 2);
	ck_assert_uint_eq(find_host(&st, 2), SOURCE_NIL);
	ck_assert_uint_eq(idle_len(&st), 0);
	open_n(&st, e, 1, 1040);

	/* Nothing idle: refused. */
	ck_assert_uint_eq(get_host(&st, 6, 1050), SOURCE_NIL);
	ck_assert_uint_eq(st.full, 1);
	ck_assert_uint_eq(st.reclaimed, 2);
	ck_assert_uint_eq(st.count, 3);
	ck_assert_uint_eq(find_host(&st, 3), c);
	ck_assert_uint_eq(find_host(&st, 4), d);
	ck_assert_uint_eq(find_host(&st, 5), e);
	ck_assert_uint_eq(chained(&st), 3);
	source_table_destroy(&st);
}
END_TEST

/* A source just got, before its flow is opened or it is settled, is
 * neither counted as holding a flow nor reclaimable. */
START_TEST(test_just_got_not_reclaimed)
{
	struct source_table st;
	uint32_t a;

	init(&st, 1);
	source_table_set_rate(&st, 10, 2);
	a = get_host(&st, 1, 0);
	ck_assert_uint_ne(a, SOURCE_NIL);
	ck_assert_uint_eq(get_host(&st, 2, 0), SOURCE_NIL);
	ck_assert_uint_eq(st.full, 1);
	ck_assert_uint_eq(st.reclaimed, 0);
	ck_assert_uint_eq(find_host(&st, 1), a);
	source_table_destroy(&st);
}
END_TEST

/* ---- the token bucket ---- */

START_TEST(test_rate_unlimited)
{
	struct source_table st;
	uint32_t a;

	init(&st, 4);
	source_table_set_rate(&st, 0, 20);
	ck_assert_uint_eq(st.rate, 0);
	ck_assert_uint_eq(st.burst, 0);
	a = get_host(&st, 1, 0);
	ck_assert_uint_eq(drain(&st, a, 0, 100000), 100000);
	ck_assert_uint_eq(at(&st, a)->flows, 100000);
	ck_assert_uint_eq(drain(&st, a, 1, 1000), 1000);
	source_table_destroy(&st);
}
END_TEST

START_TEST(test_rate_burst)
{
	const uint64_t t = 50000;
	struct source_table st;
	struct source *s;
	uint32_t a;

	init(&st, 4);
	source_table_set_rate(&st, 10, 20);
	ck_assert_uint_eq(st.burst, 20);
	a = get_host(&st, 1, t);
	s = at(&st, a);
	open_n(&st, a, 20, t);
	ck_assert_uint_eq(s->tokens, 0);
	ck_assert_uint_eq(s->flows, 20);
	/* The 21st is refused, as often as it is asked. */
	ck_assert(!source_may_open(&st, s, t));
	ck_assert(!source_may_open(&st, s, t));
	ck_assert(!source_may_open(&st, s, t + 50));
	ck_assert(!source_may_open(&st, s, t + 99));
	ck_assert_uint_eq(s->flows, 20);
	/* 100 ms at 10/s: exactly one more. */
	ck_assert(source_may_open(&st, s, t + 100));
	ck_assert(source_may_open(&st, s, t + 100));
	source_opened(&st, a, t + 100);
	ck_assert(!source_may_open(&st, s, t + 100));
	ck_assert(!source_may_open(&st, s, t + 199));
	ck_assert_uint_eq(drain(&st, a, t + 200, 100), 1);
	/* 2 s refill the whole bucket, and no more. */
	ck_assert_uint_eq(drain(&st, a, t + 2200, 100), 20);
	ck_assert_uint_eq(drain(&st, a, t + 2200 + 3600 * 1000, 100), 20);
	/* Half of it after 1 s. */
	ck_assert_uint_eq(drain(&st, a, t + 2200 + 3601 * 1000, 100), 10);
	ck_assert_uint_eq(s->flows, 20 + 1 + 1 + 20 + 20 + 10);
	source_table_destroy(&st);
}
END_TEST

START_TEST(test_may_open_takes_nothing)
{
	struct source_table st;
	struct source *s;
	uint32_t a;

	init(&st, 4);
	source_table_set_rate(&st, 5, 1);
	a = get_host(&st, 1, 1000);
	s = at(&st, a);
	for (int i = 0; i < 50; i++)
		ck_assert(source_may_open(&st, s, 1000 + (uint64_t)i));
	ck_assert_uint_eq(s->tokens, 1000);
	ck_assert_uint_eq(s->flows, 0);
	source_opened(&st, a, 1049);
	ck_assert_uint_eq(s->tokens, 0);
	ck_assert_uint_eq(s->flows, 1);
	ck_assert(!source_may_open(&st, s, 1049));
	ck_assert(!source_may_open(&st, s, 1248));
	ck_assert(source_may_open(&st, s, 1249));
	source_table_destroy(&st);
}
END_TEST

START_TEST(test_burst_zero)
{
	struct source_table st;
	uint32_t a;

	init(&st, 4);
	source_table_set_rate(&st, 7, 0);
	ck_assert_uint_eq(st.rate, 7);
	ck_assert_uint_eq(st.burst, 7);
	a = get_host(&st, 1, 0);
	ck_assert_uint_eq(at(&st, a)->tokens, 7000);
	ck_assert_uint_eq(drain(&st, a, 0, 100), 7);
	ck_assert_uint_eq(drain(&st, a, 1000, 100), 7);
	ck_assert_uint_eq(drain(&st, a, 100000, 100), 7);
	source_table_destroy(&st);
}
END_TEST

/* Thousandths: 3 flows/s is one every 333.33 ms. */
START_TEST(test_rate_thousandths)
{
	struct source_table st;
	struct source *s;
	uint32_t a;

	init(&st, 4);
	source_table_set_rate(&st, 3, 5);
	a = get_host(&st, 1, 0);
	s = at(&st, a);
	ck_assert_uint_eq(drain(&st, a, 0, 10), 5);
	ck_assert(!source_may_open(&st, s, 333));
	ck_assert_uint_eq(s->tokens, 999);
	ck_assert(source_may_open(&st, s, 334));
	ck_assert_uint_eq(s->tokens, 1002);
	source_opened(&st, a, 334);
	ck_assert_uint_eq(s->tokens, 2);
	ck_assert_uint_eq(drain(&st, a, 1334, 10), 3);
	ck_assert_uint_eq(s->tokens, 2);
	ck_assert_uint_eq(drain(&st, a, 2333, 10), 2);
	ck_assert_uint_eq(s->tokens, 999);
	ck_assert_uint_eq(drain(&st, a, 2334, 10), 1);
	ck_assert_uint_eq(s->tokens, 2);
	/* 7 flows in 2334 ms at 3/s: floor(7.002), nothing lost. */
	ck_assert_uint_eq(s->flows, 5 + 7);
	source_table_destroy(&st);
}
END_TEST

START_TEST(test_rate_one_long_gaps)
{
	const uint64_t gaps[] = { 49 * DAY_MS,	       50 * DAY_MS, 1ULL << 32,
				  (1ULL << 32) + 1,    1ULL << 40,  1ULL << 52,
				  (1ULL << 62) + 12345 };
	struct source_table st;
	struct source *s;
	uint64_t t = 1000;
	uint32_t a;

	init(&st, 4);
	source_table_set_rate(&st, 1, 1);
	a = get_host(&st, 1, t);
	s = at(&st, a);
	ck_assert_uint_eq(drain(&st, a, t, 10), 1);
	ck_assert(!source_may_open(&st, s, t + 999));
	ck_assert(source_may_open(&st, s, t + 1000));
	t += 1000;
	ck_assert_uint_eq(drain(&st, a, t, 10), 1);
	for (size_t i = 0; i < sizeof(gaps) / sizeof(gaps[0]); i++) {
		t += gaps[i];
		ck_assert_msg(source_may_open(&st, s, t), "gap %zu", i);
		ck_assert_uint_eq(s->tokens, 1000);
		ck_assert_uint_eq(drain(&st, a, t, 10), 1);
		ck_assert_uint_eq(s->tokens, 0);
	}
	source_table_destroy(&st);
}
END_TEST

START_TEST(test_rate_one_big_burst)
{
	struct source_table st;
	struct source *s;
	uint64_t t = 7;
	uint32_t a;

	init(&st, 4);
	source_table_set_rate(&st, 1, 1000000);
	a = get_host(&st, 1, t);
	s = at(&st, a);
	ck_assert_uint_eq(s->tokens, 1000000000u);
	ck_assert_uint_eq(drain(&st, a, t, 2000000), 1000000);
	/* 123.456 s: 123 flows, 456 thousandths left over. */
	t += 123456;
	ck_assert_uint_eq(drain(&st, a, t, 1000), 123);
	ck_assert_uint_eq(s->tokens, 456);
	t += 544;
	ck_assert_uint_eq(drain(&st, a, t, 1000), 1);
	ck_assert_uint_eq(s->tokens, 0);
	/* 2^32 + 500 ms: full, not the 500 ms a 32-bit wrap would leave. */
	t += (1ULL << 32) + 500;
	ck_assert_uint_eq(drain(&st, a, t, 2000000), 1000000);
	t += 49 * DAY_MS;
	ck_assert_uint_eq(drain(&st, a, t, 2000000), 1000000);
	source_table_destroy(&st);
}
END_TEST

START_TEST(test_rate_max)
{
	const uint64_t gaps[] = { 1ULL << 32, 1ULL << 40, 1ULL << 45,
				  1ULL << 55, (1ULL << 63) - 1 };
	struct source_table st;
	struct source *s;
	uint64_t t = 1;
	uint32_t a;

	init(&st, 4);
	source_table_set_rate(&st, SOURCE_RATE_MAX, SOURCE_RATE_MAX);
	a = get_host(&st, 1, t);
	s = at(&st, a);
	ck_assert_uint_eq(s->tokens, 1000000000u);
	ck_assert_uint_eq(drain(&st, a, t, 2000000), 1000000);
	ck_assert(!source_may_open(&st, s, t));
	/* 1 ms at 10^6/s: 1000 flows. */
	ck_assert_uint_eq(drain(&st, a, t + 1, 2000000), 1000);
	ck_assert_uint_eq(drain(&st, a, t + 8, 2000000), 7000);
	t += 8;
	/* 4295 and 5000 ms: 4.295e9 and 5e9 thousandths, more than 32
	 * bits hold, capped at the bucket's size. */
	ck_assert_uint_eq(drain(&st, a, t + 4295, 2000000), 1000000);
	t += 4295;
	ck_assert_uint_eq(drain(&st, a, t + 5000, 2000000), 1000000);
	t += 5000;
	/* A gap whose product with the rate is 2^64 + 448384: a wrapping
	 * multiplication would leave less than one flow. */
	ck_assert_uint_eq(drain(&st, a, t + 18446744073710ULL, 2000000),
			  1000000);
	t += 18446744073710ULL;
	/* 999 ms: 999000, 1000 ms: the whole bucket. */
	ck_assert_uint_eq(drain(&st, a, t + 999, 2000000), 999000);
	t += 999;
	ck_assert_uint_eq(drain(&st, a, t + 1001, 2000000), 1000000);
	t += 1001;
	for (size_t i = 0; i < sizeof(gaps) / sizeof(gaps[0]); i++) {
		t += gaps[i];
		ck_assert_msg(source_may_open(&st, s, t), "gap %zu", i);
		ck_assert_uint_eq(s->tokens, 1000000000u);
		ck_assert_uint_eq(drain(&st, a, t, 2000000), 1000000);
	}
	source_table_destroy(&st);
}
END_TEST

START_TEST(test_rate_max_burst_one)
{
	struct source_table st;
	uint32_t a;

	init(&st, 4);
	source_table_set_rate(&st, SOURCE_RATE_MAX, 1);
	a = get_host(&st, 1, 10);
	ck_assert_uint_eq(drain(&st, a, 10, 100), 1);
	ck_assert_uint_eq(drain(&st, a, 11, 100), 1);
	ck_assert_uint_eq(drain(&st, a, 1ULL << 50, 100), 1);
	ck_assert_uint_eq(at(&st, a)->tokens, 0);
	source_table_destroy(&st);
}
END_TEST

/* A clock that steps back adds nothing, and breaks nothing. */
START_TEST(test_clock_back)
{
	struct source_table st;
	struct source *s;
	uint32_t a;

	init(&st, 4);
	source_table_set_rate(&st, 10, 2);
	a = get_host(&st, 1, 10000);
	s = at(&st, a);
	ck_assert_uint_eq(drain(&st, a, 10000, 10), 2);
	ck_assert(!source_may_open(&st, s, 5000));
	ck_assert(!source_may_open(&st, s, 0));
	ck_assert_uint_eq(s->tokens, 0);
	ck_assert(!source_may_open(&st, s, 10099));
	ck_assert(source_may_open(&st, s, 10100));
	source_table_destroy(&st);
}
END_TEST

/* A smaller burst holds at the next refill. */
START_TEST(test_burst_lowered)
{
	struct source_table st;
	uint32_t a;

	init(&st, 4);
	source_table_set_rate(&st, 10, 20);
	a = get_host(&st, 1, 1000);
	source_table_set_rate(&st, 10, 5);
	ck_assert_uint_eq(drain(&st, a, 1001, 100), 5);
	ck_assert_uint_eq(drain(&st, a, 60000, 100), 5);
	source_table_destroy(&st);
}
END_TEST

/* ---- settling, closing and the idle list ---- */

START_TEST(test_close_full_frees)
{
	struct source_table st;
	uint32_t a, b;

	/* No limit: every bucket is full. */
	init(&st, 4);
	a = get_host(&st, 1, 0);
	open_n(&st, a, 3, 0);
	close_n(&st, a, 2, 0);
	ck_assert_uint_eq(st.count, 1);
	ck_assert_uint_eq(at(&st, a)->flows, 1);
	source_closed(&st, a, 0);
	ck_assert_uint_eq(st.count, 0);
	ck_assert_uint_eq(find_host(&st, 1), SOURCE_NIL);
	ck_assert_uint_eq(idle_len(&st), 0);
	ck_assert_uint_eq(chained(&st), 0);
	ck_assert_uint_eq(st.slab.in_use, 0);

	/* A limit, and a bucket full again by the time the flow closes. */
	source_table_set_rate(&st, 10, 20);
	a = get_host(&st, 1, 1000);
	b = get_host(&st, 2, 1000);
	open_n(&st, a, 1, 1000);
	open_n(&st, b, 1, 1000);
	source_closed(&st, a, 1100);
	ck_assert_uint_eq(st.count, 1);
	ck_assert_uint_eq(find_host(&st, 1), SOURCE_NIL);
	ck_assert_uint_eq(find_host(&st, 2), b);
	ck_assert_uint_eq(idle_len(&st), 0);
	/* One ms short of full: idle. */
	source_closed(&st, b, 1099);
	ck_assert_uint_eq(st.count, 1);
	ck_assert(at(&st, b)->idle);
	ck_assert_uint_eq(idle_len(&st), 1);
	source_table_destroy(&st);
}
END_TEST

START_TEST(test_close_depleted_idles)
{
	struct source_table st;
	uint32_t a;

	init(&st, 4);
	source_table_set_rate(&st, 10, 20);
	a = get_host(&st, 1, 1000);
	open_n(&st, a, 3, 1000);
	close_n(&st, a, 2, 1000);
	ck_assert(!at(&st, a)->idle);
	ck_assert_uint_eq(idle_len(&st), 0);
	source_closed(&st, a, 1000);
	ck_assert_uint_eq(st.count, 1);
	ck_assert(at(&st, a)->idle);
	ck_assert_uint_eq(st.idle_oldest, a);
	ck_assert_uint_eq(st.idle_newest, a);
	ck_assert_uint_eq(find_host(&st, 1), a);
	/* 300 ms bring back the 3 tokens. */
	ck_assert_uint_eq(source_table_expire(&st, 1000, 10), 0);
	ck_assert_uint_eq(source_table_expire(&st, 1299, 10), 0);
	ck_assert_uint_eq(st.count, 1);
	ck_assert_uint_eq(source_table_expire(&st, 1300, 0), 0);
	ck_assert_uint_eq(st.count, 1);
	ck_assert_uint_eq(source_table_expire(&st, 1300, 10), 1);
	ck_assert_uint_eq(st.count, 0);
	ck_assert_uint_eq(find_host(&st, 1), SOURCE_NIL);
	ck_assert_uint_eq(idle_len(&st), 0);
	ck_assert_uint_eq(source_table_expire(&st, 99999, 10), 0);
	ck_assert_uint_eq(st.slab.in_use, 0);
	source_table_destroy(&st);
}
END_TEST

START_TEST(test_expire_oldest_first)
{
	enum { N = 6 };
	struct source_table st;
	uint32_t idx[N], list[N];

	init(&st, N);
	source_table_set_rate(&st, 10, 20);
	/* Each takes one token and goes idle 10 ms after the one before:
	 * each is full 100 ms after it went idle. */
	for (uint32_t i = 0; i < N; i++) {
		idx[i] = get_host(&st, i, 1000 + 10 * i);
		open_n(&st, idx[i], 1, 1000 + 10 * i);
		source_closed(&st, idx[i], 1000 + 10 * i);
	}
	ck_assert_uint_eq(idle_list(&st, list, N), N);
	for (uint32_t i = 0; i < N; i++)
		ck_assert_uint_eq(list[i], idx[i]);
	ck_assert_uint_eq(source_table_expire(&st, 1099, 100), 0);
	ck_assert_uint_eq(source_table_expire(&st, 1100, 100), 1);
	ck_assert_uint_eq(find_host(&st, 0), SOURCE_NIL);
	ck_assert_uint_eq(find_host(&st, 1), idx[1]);
	/* Four are full by 1140: max 2 frees the two oldest. */
	ck_assert_uint_eq(source_table_expire(&st, 1140, 2), 2);
	ck_assert_uint_eq(find_host(&st, 1), SOURCE_NIL);
	ck_assert_uint_eq(find_host(&st, 2), SOURCE_NIL);
	ck_assert_uint_eq(find_host(&st, 3), idx[3]);
	ck_assert_uint_eq(st.idle_oldest, idx[3]);
	ck_assert_uint_eq(source_table_expire(&st, 1140, 100), 2);
	ck_assert_uint_eq(st.count, 1);
	ck_assert_uint_eq(idle_list(&st, list, N), 1);
	ck_assert_uint_eq(list[0], idx[5]);
	ck_assert_uint_eq(source_table_expire(&st, 1150, 100), 1);
	ck_assert_uint_eq(st.count, 0);
	ck_assert_uint_eq(idle_len(&st), 0);
	source_table_destroy(&st);
}
END_TEST

/* A source that went idle with a fuller bucket is full first, even when
 * an older one is still refilling: expiry does not wait for the older. */
START_TEST(test_expire_skips_refilling)
{
	struct source_table st;
	uint32_t a, b;

	init(&st, 4);
	source_table_set_rate(&st, 10, 20);
	a = get_host(&st, 0, 0);
	open_n(&st, a, 20, 0);
	for (int i = 0; i < 20; i++)
		source_closed(&st, a, 0);
	b = get_host(&st, 1, 1);
	open_n(&st, b, 1, 1);
	source_closed(&st, b, 1);
	ck_assert_uint_eq(source_table_expire(&st, 500, 100), 1);
	ck_assert_uint_eq(find_host(&st, 0), a);
	ck_assert_uint_eq(find_host(&st, 1), SOURCE_NIL);
	ck_assert_uint_eq(source_table_expire(&st, 2000, 100), 1);
	ck_assert_uint_eq(st.count, 0);
	source_table_destroy(&st);
}
END_TEST

/* Turning a rate limit on: sources already there start with a full
 * bucket, not the empty one a table without a limit gave them. */
START_TEST(test_rate_turned_on_fills_buckets)
{
	struct source_table st;
	uint32_t a;

	init(&st, 4);
	source_table_set_rate(&st, 0, 0);
	a = get_host(&st, 0, 1000);
	open_n(&st, a, 1, 1000);
	source_table_set_rate(&st, 10, 20);
	ck_assert(source_may_open(&st, source_at(&st, a), 1000));
	open_n(&st, a, 20, 1000);
	ck_assert(!source_may_open(&st, source_at(&st, a), 1000));
	/* Changing a limit that is on takes nothing back, gives nothing. */
	source_table_set_rate(&st, 20, 40);
	ck_assert(!source_may_open(&st, source_at(&st, a), 1000));
	source_table_destroy(&st);
}
END_TEST

/* Sources holding flows are never expired, idle or not. */
START_TEST(test_expire_spares_busy)
{
	struct source_table st;
	uint32_t a, b;

	init(&st, 4);
	source_table_set_rate(&st, 10, 20);
	a = get_host(&st, 1, 0);
	b = get_host(&st, 2, 0);
	open_n(&st, a, 5, 0);
	open_n(&st, b, 1, 0);
	source_closed(&st, b, 0);
	ck_assert_uint_eq(source_table_expire(&st, 1ULL << 40, 100), 1);
	ck_assert_uint_eq(st.count, 1);
	ck_assert_uint_eq(find_host(&st, 1), a);
	ck_assert_uint_eq(at(&st, a)->flows, 5);
	source_table_destroy(&st);
}
END_TEST

START_TEST(test_reopen_leaves_idle)
{
	struct source_table st;
	uint32_t a, b, c, list[4];

	init(&st, 4);
	source_table_set_rate(&st, 10, 20);
	a = get_host(&st, 1, 0);
	b = get_host(&st, 2, 0);
	c = get_host(&st, 3, 0);
	open_n(&st, a, 1, 0);
	open_n(&st, b, 1, 0);
	open_n(&st, c, 1, 0);
	source_closed(&st, a, 0);
	source_closed(&st, b, 1);
	source_closed(&st, c, 2);
	ck_assert_uint_eq(idle_list(&st, list, 4), 3);

	/* Got again, b is still idle until it opens. */
	ck_assert_uint_eq(get_host(&st, 2, 10), b);
	ck_assert(at(&st, b)->idle);
	ck_assert_uint_eq(idle_len(&st), 3);
	open_n(&st, b, 1, 10);
	ck_assert(!at(&st, b)->idle);
	ck_assert_uint_eq(idle_list(&st, list, 4), 2);
	ck_assert_uint_eq(list[0], a);
	ck_assert_uint_eq(list[1], c);
	/* The newest and then the oldest leave. */
	open_n(&st, c, 1, 10);
	ck_assert_uint_eq(idle_list(&st, list, 4), 1);
	ck_assert_uint_eq(list[0], a);
	open_n(&st, a, 1, 10);
	ck_assert_uint_eq(idle_len(&st), 0);
	ck_assert_uint_eq(st.idle_oldest, SOURCE_NIL);
	ck_assert_uint_eq(st.idle_newest, SOURCE_NIL);
	/* Busy sources are not expired. */
	ck_assert_uint_eq(source_table_expire(&st, 1ULL << 30, 100), 0);
	ck_assert_uint_eq(st.count, 3);
	/* And going idle again puts them at the new end. */
	source_closed(&st, c, 20);
	source_closed(&st, c, 20);
	source_closed(&st, a, 21);
	source_closed(&st, a, 21);
	ck_assert_uint_eq(idle_list(&st, list, 4), 2);
	ck_assert_uint_eq(list[0], c);
	ck_assert_uint_eq(list[1], a);
	source_table_destroy(&st);
}
END_TEST

START_TEST(test_settle)
{
	struct source_table st;
	uint32_t a, b, list[4];

	init(&st, 4);
	/* No limit: a source got for a refused flow goes at once. */
	a = get_host(&st, 1, 0);
	source_settle(&st, a, 0);
	ck_assert_uint_eq(st.count, 0);
	ck_assert_uint_eq(find_host(&st, 1), SOURCE_NIL);

	source_table_set_rate(&st, 10, 2);
	/* A new source has a full bucket: it goes at once too. */
	a = get_host(&st, 1, 0);
	source_settle(&st, a, 0);
	ck_assert_uint_eq(st.count, 0);
	ck_assert_uint_eq(idle_len(&st), 0);

	/* A source holding a flow stays as it is. */
	a = get_host(&st, 1, 0);
	open_n(&st, a, 2, 0);
	source_settle(&st, a, 0);
	ck_assert_uint_eq(st.count, 1);
	ck_assert(!at(&st, a)->idle);
	ck_assert_uint_eq(at(&st, a)->flows, 2);

	/* Emptied with an empty bucket: idle, and settling again (got for
	 * a flow that was then refused) leaves it there just once. */
	close_n(&st, a, 2, 0);
	b = get_host(&st, 2, 0);
	open_n(&st, b, 1, 0);
	source_closed(&st, b, 0);
	ck_assert_uint_eq(idle_list(&st, list, 4), 2);
	ck_assert_uint_eq(get_host(&st, 1, 50), a);
	ck_assert(!source_may_open(&st, at(&st, a), 50));
	source_settle(&st, a, 50);
	source_settle(&st, a, 60);
	ck_assert_uint_eq(idle_list(&st, list, 4), 2);
	ck_assert_uint_eq(list[0], a);
	ck_assert_uint_eq(list[1], b);
	ck_assert_uint_eq(st.count, 2);
	/* Once full, it is expired rather than settled away. */
	ck_assert_uint_eq(source_table_expire(&st, 200, 10), 2);
	ck_assert_uint_eq(st.count, 0);
	source_table_destroy(&st);
}
END_TEST

/* ---- the per-second rate ---- */

START_TEST(test_source_rate)
{
	struct source_table st;
	struct source *s;
	uint32_t a;

	init(&st, 4);
	a = get_host(&st, 1, 5000);
	s = at(&st, a);
	open_n(&st, a, 3, 5000);
	open_n(&st, a, 1, 5999);
	/* Second 5 is reported during second 6. */
	ck_assert_uint_eq(source_rate(s, 5000), 0);
	ck_assert_uint_eq(source_rate(s, 5999), 0);
	ck_assert_uint_eq(source_rate(s, 6000), 4);
	ck_assert_uint_eq(source_rate(s, 6999), 4);
	ck_assert_uint_eq(source_rate(s, 7000), 0);
	ck_assert_uint_eq(source_rate(s, 100000), 0);
	/* Opens during second 6: second 5 still reported through it. */
	open_n(&st, a, 2, 6500);
	ck_assert_uint_eq(source_rate(s, 6500), 4);
	ck_assert_uint_eq(source_rate(s, 6999), 4);
	ck_assert_uint_eq(source_rate(s, 7000), 2);
	ck_assert_uint_eq(source_rate(s, 8000), 0);
	/* Second 7 empty, opens in second 8: second 7 is 0. */
	open_n(&st, a, 5, 8100);
	ck_assert_uint_eq(source_rate(s, 8100), 0);
	ck_assert_uint_eq(source_rate(s, 9100), 5);
	/* Then second 9 empty too, opens in 10: 0, then the new count. */
	open_n(&st, a, 1, 10000);
	ck_assert_uint_eq(source_rate(s, 10000), 0);
	ck_assert_uint_eq(source_rate(s, 11000), 1);
	/* Back to back: 11 reports 10 while 11 is being counted. */
	open_n(&st, a, 7, 11000);
	ck_assert_uint_eq(source_rate(s, 11999), 1);
	ck_assert_uint_eq(source_rate(s, 12000), 7);
	/* A long gap: nothing. */
	open_n(&st, a, 2, 10 * DAY_MS);
	ck_assert_uint_eq(source_rate(s, 10 * DAY_MS), 0);
	ck_assert_uint_eq(source_rate(s, 10 * DAY_MS + 1000), 2);
	ck_assert_uint_eq(source_rate(s, 10 * DAY_MS + 2000), 0);
	source_table_destroy(&st);
}
END_TEST

/* The count saturates rather than wrapping. */
START_TEST(test_source_rate_saturates)
{
	struct source_table st;
	struct source *s;
	uint32_t a;

	init(&st, 4);
	a = get_host(&st, 1, 3000);
	s = at(&st, a);
	open_n(&st, a, 70000, 3000);
	ck_assert_uint_eq(source_rate(s, 4000), UINT16_MAX);
	source_table_destroy(&st);
}
END_TEST

/* ---- adoption ---- */

START_TEST(test_adopt)
{
	struct source_table st;
	struct source *s;
	uint32_t a, b;

	init(&st, 4);
	source_table_set_rate(&st, 10, 1);
	a = get_host(&st, 1, 1000);
	s = at(&st, a);
	for (int i = 0; i < 5; i++)
		source_adopt(&st, a);
	ck_assert_uint_eq(s->flows, 5);
	ck_assert_uint_eq(s->tokens, 1000);
	ck_assert(source_may_open(&st, s, 1000));
	ck_assert(!s->idle);
	ck_assert_uint_eq(source_rate(s, 2000), 0);
	/* Adopted flows close like others. */
	close_n(&st, a, 4, 1000);
	ck_assert_uint_eq(s->flows, 1);
	source_closed(&st, a, 1000);
	ck_assert_uint_eq(st.count, 0);

	/* An idle source adopted leaves the idle list. */
	a = get_host(&st, 1, 2000);
	b = get_host(&st, 2, 2000);
	open_n(&st, a, 1, 2000);
	open_n(&st, b, 1, 2000);
	source_closed(&st, a, 2000);
	source_closed(&st, b, 2000);
	ck_assert_uint_eq(idle_len(&st), 2);
	source_adopt(&st, a);
	ck_assert(!at(&st, a)->idle);
	ck_assert_uint_eq(at(&st, a)->flows, 1);
	ck_assert_uint_eq(at(&st, a)->tokens, 0);
	ck_assert_uint_eq(idle_len(&st), 1);
	ck_assert_uint_eq(st.idle_oldest, b);
	ck_assert_uint_eq(source_table_expire(&st, 1ULL << 40, 100), 1);
	ck_assert_uint_eq(st.count, 1);
	ck_assert_uint_eq(find_host(&st, 1), a);
	source_table_destroy(&st);
}
END_TEST

/* ---- clear ---- */

START_TEST(test_clear)
{
	enum { N = 40 };
	struct source_table st;
	uint32_t idx;

	init(&st, N);
	source_table_set_rate(&st, 10, 2);
	for (uint32_t i = 0; i < N; i++) {
		idx = get_host(&st, i, 0);
		open_n(&st, idx, 1 + i % 2, 0);
		if (i % 3 == 0)
			close_n(&st, idx, 1 + i % 2, 0); /* idle */
	}
	ck_assert_uint_eq(st.count, N);
	ck_assert_uint_gt(idle_len(&st), 0);

	source_table_clear(&st);
	ck_assert_uint_eq(st.count, 0);
	ck_assert_uint_eq(st.slab.in_use, 0);
	ck_assert_uint_eq(st.idle_oldest, SOURCE_NIL);
	ck_assert_uint_eq(st.idle_newest, SOURCE_NIL);
	ck_assert_uint_eq(chained(&st), 0);
	for (uint32_t i = 0; i <= N; i++)
		ck_assert_uint_eq(find_host(&st, i), SOURCE_NIL);
	ck_assert_uint_eq(source_table_expire(&st, 1ULL << 40, 1000), 0);
	/* The whole capacity is there again, for new and old sources. */
	for (uint32_t i = 0; i < N; i++) {
		idx = get_host(&st, N + i, 5);
		ck_assert_uint_ne(idx, SOURCE_NIL);
		ck_assert_uint_eq(at(&st, idx)->flows, 0);
		ck_assert(!at(&st, idx)->idle);
		open_n(&st, idx, 2, 5);
	}
	ck_assert_uint_eq(st.count, N);
	ck_assert_uint_eq(get_host(&st, 0, 5), SOURCE_NIL);
	ck_assert_uint_eq(chained(&st), N);
	/* Clearing an empty table, twice, is harmless. */
	source_table_clear(&st);
	source_table_clear(&st);
	ck_assert_uint_eq(st.count, 0);
	idx = get_host(&st, 0, 5);
	ck_assert_uint_ne(idx, SOURCE_NIL);
	ck_assert_uint_eq(find_host(&st, 0), idx);
	source_table_destroy(&st);
}
END_TEST

/* ---- growth ---- */

START_TEST(test_grow)
{
	enum { N = 50, M = 5000 };
	struct source_table st;
	uint32_t *idx = calloc(M, sizeof(*idx)), list[N], nidle;

	ck_assert_ptr_nonnull(idx);
	init(&st, N);
	source_table_set_rate(&st, 10, 20);
	ck_assert_uint_eq(st.nbuckets, 64);
	for (uint32_t i = 0; i < N; i++) {
		idx[i] = get_host(&st, i, 0);
		open_n(&st, idx[i], 1 + i % 7, 0);
		if (i % 5 == 0)
			close_n(&st, idx[i], 1 + i % 7, 0);
	}
	nidle = idle_list(&st, list, N);
	ck_assert_uint_eq(nidle, 10);
	/* Growing within the bucket array's size keeps it. */
	ck_assert_int_eq(source_table_grow(&st, 60), 0);
	ck_assert_uint_eq(st.nbuckets, 64);
	ck_assert_uint_eq(st.slab.capacity, 60);
	/* Never shrinks. */
	ck_assert_int_eq(source_table_grow(&st, 10), 0);
	ck_assert_uint_eq(st.slab.capacity, 60);

	ck_assert_int_eq(source_table_grow(&st, M), 0);
	ck_assert_uint_eq(st.nbuckets, 8192);
	ck_assert_uint_eq(st.slab.capacity, M);
	ck_assert_uint_eq(st.count, N);
	ck_assert_uint_eq(chained(&st), N);
	for (uint32_t i = 0; i < N; i++) {
		struct source *s;

		ck_assert_uint_eq(find_host(&st, i), idx[i]);
		s = source_at(&st, idx[i]);
		ck_assert_uint_eq(s->flows, i % 5 ? 1 + i % 7 : 0);
		ck_assert_uint_eq(s->idle, i % 5 == 0);
	}
	ck_assert_uint_eq(idle_list(&st, idx + N, N), nidle);
	ck_assert_mem_eq(idx + N, list, nidle * sizeof(list[0]));
	/* Room for the rest, and no reclaiming needed for it. */
	for (uint32_t i = N; i < M; i++) {
		idx[i] = get_host(&st, i, 0);
		CHECK(idx[i] != SOURCE_NIL, "source %u refused", i);
		source_opened(&st, idx[i], 0);
	}
	ck_assert_uint_eq(st.reclaimed, 0);
	ck_assert_uint_eq(st.full, 0);
	ck_assert_uint_eq(st.count, M);
	ck_assert_uint_eq(idle_len(&st), 10);
	for (uint32_t i = 0; i < M; i++)
		CHECK(find_host(&st, i) == idx[i], "source %u lost", i);
	/* Full: an idle one is reclaimed, then none is left. */
	for (uint32_t i = 0; i < 10; i++)
		ck_assert_uint_ne(get_host(&st, M + i, 0), SOURCE_NIL);
	ck_assert_uint_eq(st.reclaimed, 10);
	ck_assert_uint_eq(get_host(&st, M + 10, 0), SOURCE_NIL);
	ck_assert_uint_eq(st.full, 1);
	free(idx);
	source_table_destroy(&st);
}
END_TEST

/* ---- top ---- */

/* Is the list out[0..n) ordered, most first, and made of distinct
 * sources? */
static void check_ranked(const struct source_table *st, const uint32_t *out,
			 uint32_t n, uint64_t now)
{
	for (uint32_t i = 0; i < n; i++) {
		CHECK(out[i] < st->slab.capacity, "top[%u] = %u", i, out[i]);
		for (uint32_t j = 0; j < i; j++)
			CHECK(out[i] != out[j], "top[%u] repeats top[%u]", i,
			      j);
		if (i) {
			const struct source *p = source_at(st, out[i - 1]);
			const struct source *s = source_at(st, out[i]);

			CHECK(p->flows > s->flows ||
				      (p->flows == s->flows &&
				       source_rate(p, now) >=
					       source_rate(s, now)),
			      "top[%u] ranks above top[%u]", i, i - 1);
		}
	}
}

START_TEST(test_top)
{
	struct source_table st;
	uint32_t a, b, c, d, e, out[10];

	init(&st, 16);
	/* b and c hold 3 flows each, c opened them in the last second. */
	b = get_host(&st, 2, 9000);
	open_n(&st, b, 3, 9000);
	a = get_host(&st, 1, 10000);
	c = get_host(&st, 3, 10000);
	d = get_host(&st, 4, 10000);
	open_n(&st, a, 5, 10000);
	open_n(&st, c, 3, 10000);
	open_n(&st, d, 1, 10000);
	e = get_host(&st, 5, 10000); /* no flow yet */

	memset(out, 0xee, sizeof(out));
	ck_assert_uint_eq(source_table_top(&st, 11000, out, 0), 0);
	ck_assert_uint_eq(out[0], 0xeeeeeeee);
	ck_assert_uint_eq(source_table_top(&st, 11000, out, 1), 1);
	ck_assert_uint_eq(out[0], a);
	ck_assert_uint_eq(out[1], 0xeeeeeeee);
	ck_assert_uint_eq(source_table_top(&st, 11000, out, 3), 3);
	ck_assert_uint_eq(out[0], a);
	ck_assert_uint_eq(out[1], c);
	ck_assert_uint_eq(out[2], b);
	ck_assert_uint_eq(out[3], 0xeeeeeeee);
	ck_assert_uint_eq(source_table_top(&st, 11000, out, 5), 5);
	ck_assert_uint_eq(out[3], d);
	ck_assert_uint_eq(out[4], e);
	memset(out, 0xee, sizeof(out));
	ck_assert_uint_eq(source_table_top(&st, 11000, out, 10), 5);
	ck_assert_uint_eq(out[0], a);
	ck_assert_uint_eq(out[1], c);
	ck_assert_uint_eq(out[2], b);
	ck_assert_uint_eq(out[3], d);
	ck_assert_uint_eq(out[4], e);
	ck_assert_uint_eq(out[5], 0xeeeeeeee);
	/* A second later neither b nor c opened anything in the last
	 * second: tied. */
	ck_assert_uint_eq(source_table_top(&st, 12000, out, 3), 3);
	ck_assert_uint_eq(out[0], a);
	ck_assert((out[1] == b && out[2] == c) || (out[1] == c && out[2] == b));
	check_ranked(&st, out, 3, 12000);
	/* Now b is the faster one. */
	open_n(&st, b, 1, 12500);
	ck_assert_uint_eq(source_table_top(&st, 13000, out, 2), 2);
	ck_assert_uint_eq(out[0], a);
	ck_assert_uint_eq(out[1], b);
	/* Flows come first, whatever the rate. */
	open_n(&st, d, 5, 13000);
	ck_assert_uint_eq(source_table_top(&st, 14000, out, 2), 2);
	ck_assert_uint_eq(out[0], d);
	ck_assert_uint_eq(out[1], a);
	source_table_destroy(&st);
}
END_TEST

START_TEST(test_top_empty)
{
	struct source_table st;
	uint32_t out[4];

	init(&st, 4);
	ck_assert_uint_eq(source_table_top(&st, 0, out, 4), 0);
	source_table_destroy(&st);
}
END_TEST

START_TEST(test_top_ties)
{
	enum { N = 12 };
	struct source_table st;
	uint32_t idx[N], out[N], top;

	init(&st, N + 4);
	for (uint32_t i = 0; i < N; i++) {
		idx[i] = get_host(&st, i, 5000);
		open_n(&st, idx[i], 2, 5000);
	}
	top = get_host(&st, 100, 5000);
	open_n(&st, top, 3, 5000);
	for (uint32_t n = 1; n <= 4; n++) {
		ck_assert_uint_eq(source_table_top(&st, 6000, out, n), n);
		ck_assert_uint_eq(out[0], top);
		check_ranked(&st, out, n, 6000);
		for (uint32_t i = 1; i < n; i++)
			ck_assert_uint_eq(source_at(&st, out[i])->flows, 2);
	}
	ck_assert_uint_eq(source_table_top(&st, 6000, out, N), N);
	check_ranked(&st, out, N, 6000);
	source_table_destroy(&st);
}
END_TEST

/* Against a sort, on many sources and every n. */
START_TEST(test_top_many)
{
	enum { N = 300 };
	struct source_table st;
	uint32_t idx[N], out[N + 5], nflows[N + 1] = { 0 }, k;
	uint32_t x = 12345;

	init(&st, N);
	for (uint32_t i = 0; i < N; i++) {
		uint32_t f;

		x = x * 1103515245u + 12345u;
		f = (x >> 16) % 20;
		idx[i] = get_host(&st, i, 1000);
		open_n(&st, idx[i], f, (x >> 8) % 2 ? 1000 : 2000);
		nflows[i] = f;
	}
	/* The expected flow counts, most first. */
	for (uint32_t i = 1; i < N; i++)
		for (uint32_t j = i; j > 0 && nflows[j] > nflows[j - 1]; j--) {
			uint32_t t = nflows[j];

			nflows[j] = nflows[j - 1];
			nflows[j - 1] = t;
		}
	for (uint32_t n = 0; n <= N + 5; n++) {
		k = source_table_top(&st, 3000, out, n);
		CHECK(k == (n < N ? n : N), "top %u gave %u", n, k);
		check_ranked(&st, out, k, 3000);
		for (uint32_t i = 0; i < k; i++)
			CHECK(source_at(&st, out[i])->flows == nflows[i],
			      "top %u: [%u] holds %u, expected %u", n, i,
			      source_at(&st, out[i])->flows, nflows[i]);
	}
	source_table_destroy(&st);
}
END_TEST

/* In steps of a few buckets, as nfqtrackctl top is served: the same top
 * as at once; and a source whose count changes between two steps is
 * ranked by its new count, once. */
START_TEST(test_top_in_steps)
{
	enum { N = 40 };
	struct source_table st;
	uint32_t idx[N], whole[8], out[8], steps = 0;
	struct source_top t = { 0 };

	init(&st, N);
	for (uint32_t i = 0; i < N; i++) {
		idx[i] = get_host(&st, i, 1000);
		open_n(&st, idx[i], 1 + i % 7, 1000);
	}
	ck_assert_uint_eq(source_table_top(&st, 3000, whole, 8), 8);
	while (source_table_top_step(&st, 3000, out, 8, &t, 2))
		steps++;
	ck_assert_uint_ge(steps, st.nbuckets / 2 - 1);
	ck_assert_uint_eq(t.have, 8);
	for (uint32_t i = 0; i < 8; i++)
		ck_assert_uint_eq(source_at(&st, out[i])->flows,
				  source_at(&st, whole[i])->flows);

	/* The last of the eight gains flows once it has been kept: it is
	 * first at the end, and not twice. */
	memset(&t, 0, sizeof(t));
	while (source_table_top_step(&st, 3000, out, 8, &t, 2) && t.have < 8)
		;
	open_n(&st, out[t.have - 1], 20, 2500);
	while (source_table_top_step(&st, 3000, out, 8, &t, 2))
		;
	check_ranked(&st, out, t.have, 3000);
	ck_assert_uint_ge(source_at(&st, out[0])->flows, 21);
	for (uint32_t i = 1; i < t.have; i++)
		ck_assert_uint_ne(out[i], out[0]);
	source_table_destroy(&st);
}
END_TEST

/* ---- a randomized run against a reference model ---- */

enum { M_GROUPS = 300, M_CAP = 96, M_STEPS = 20000, M_FLOWS = 1 << 16 };

struct msrc {
	bool present, idle;
	uint32_t idx, flows;
	uint64_t tokens, at; /* thousandths, as of time at */
	uint64_t idle_seq;
	/* The two latest seconds with opens: a the newer. */
	bool has_a, has_b;
	uint64_t sec_a, sec_b;
	uint32_t cnt_a, cnt_b;
};

struct model {
	struct msrc src[M_GROUPS];
	uint32_t count;
	uint64_t rate, cap, seq, full, reclaimed;
	/* How often each path was taken. */
	uint64_t freed, idled, expired, refused;
	uint32_t owner[M_FLOWS]; /* one entry per open flow: its group */
	uint32_t nflows;
};

static uint64_t rng_state;

static uint64_t rnd(void)
{
	/* splitmix64 */
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint32_t rnd_below(uint32_t n)
{
	return (uint32_t)(rnd() % n);
}

/*
 * Group g's address, with host part h: a third are IPv6 /64s
 * (2001:db8:0:g::h), a third IPv4 /24s (10.0.g.h, 10.1.g.h...), a third
 * single IPv4 hosts (172.16.g.1, /32).
 */
static uint8_t group_addr(uint32_t g, uint32_t h, uint8_t *a, uint8_t *bits)
{
	memset(a, 0, 16);
	switch (g % 3) {
	case 0:
		a[0] = 0x20;
		a[1] = 0x01;
		a[2] = 0x0d;
		a[3] = 0xb8;
		a[6] = (uint8_t)(g >> 8);
		a[7] = (uint8_t)g;
		a[12] = (uint8_t)(h >> 24);
		a[13] = (uint8_t)(h >> 16);
		a[14] = (uint8_t)(h >> 8);
		a[15] = (uint8_t)h;
		*bits = 64;
		return 6;
	case 1:
		a[0] = 10;
		a[1] = (uint8_t)(g >> 8);
		a[2] = (uint8_t)g;
		a[3] = (uint8_t)h;
		*bits = 24;
		return 4;
	default:
		a[0] = 172;
		a[1] = 16;
		a[2] = (uint8_t)(g >> 8);
		a[3] = (uint8_t)g;
		*bits = 32;
		return 4;
	}
}

static uint32_t m_find(const struct source_table *st, uint32_t g)
{
	uint8_t a[16], bits, fam = group_addr(g, (uint32_t)rnd(), a, &bits);

	return source_find(st, fam, a, bits);
}

static uint32_t m_get(struct source_table *st, uint32_t g, uint64_t now)
{
	uint8_t a[16], bits, fam = group_addr(g, (uint32_t)rnd(), a, &bits);

	return source_get(st, fam, a, bits, now);
}

/* Group g's tokens at now (rate > 0). */
static uint64_t m_tokens(struct model *m, struct msrc *s, uint64_t now)
{
	if (now > s->at) {
		uint64_t dt = now - s->at;

		/* dt * rate, saturating at the bucket's size. */
		if (dt >= m->cap || dt * m->rate >= m->cap - s->tokens)
			s->tokens = m->cap;
		else
			s->tokens += dt * m->rate;
		s->at = now;
	}
	return s->tokens;
}

static bool m_full(struct model *m, struct msrc *s, uint64_t now)
{
	return !m->rate || m_tokens(m, s, now) >= m->cap;
}

static uint32_t m_rate(const struct msrc *s, uint64_t now)
{
	uint64_t sec = now / 1000;

	if (!sec)
		return 0;
	if (s->has_a && s->sec_a == sec - 1)
		return s->cnt_a;
	if (s->has_b && s->sec_b == sec - 1)
		return s->cnt_b;
	return 0;
}

static void m_remove(struct model *m, uint32_t g)
{
	memset(&m->src[g], 0, sizeof(m->src[g]));
	m->count--;
}

static void m_settle(struct model *m, uint32_t g, uint64_t now)
{
	struct msrc *s = &m->src[g];

	if (s->flows || s->idle)
		return;
	if (m_full(m, s, now)) {
		m_remove(m, g);
		m->freed++;
	} else {
		m->idled++;
		s->idle = true;
		s->idle_seq = ++m->seq;
	}
}

/* The idle group that went idle first, or -1. */
static int m_oldest_idle(const struct model *m)
{
	int best = -1;

	for (uint32_t g = 0; g < M_GROUPS; g++)
		if (m->src[g].present && m->src[g].idle &&
		    (best < 0 || m->src[g].idle_seq < m->src[best].idle_seq))
			best = (int)g;
	return best;
}

/* What source_get() must do for group g: false if it must refuse. */
static bool m_get_expect(struct model *m, uint32_t g, uint64_t now)
{
	struct msrc *s = &m->src[g];

	if (s->present)
		return true;
	if (m->count == M_CAP) {
		int old = m_oldest_idle(m);

		if (old < 0) {
			m->full++;
			return false;
		}
		m_remove(m, (uint32_t)old);
		m->reclaimed++;
	}
	memset(s, 0, sizeof(*s));
	s->present = true;
	s->tokens = m->cap;
	s->at = now;
	m->count++;
	return true;
}

static void m_opened(struct model *m, uint32_t g, uint64_t now)
{
	struct msrc *s = &m->src[g];
	uint64_t sec = now / 1000;

	if (m->rate) {
		uint64_t t = m_tokens(m, s, now);

		s->tokens = t >= 1000 ? t - 1000 : 0;
	}
	s->idle = false;
	s->flows++;
	if (s->has_a && s->sec_a == sec) {
		s->cnt_a++;
	} else {
		s->has_b = s->has_a;
		s->sec_b = s->sec_a;
		s->cnt_b = s->cnt_a;
		s->has_a = true;
		s->sec_a = sec;
		s->cnt_a = 1;
	}
	ck_assert_uint_lt(m->nflows, M_FLOWS);
	m->owner[m->nflows++] = g;
}

/* Compare the whole table with the model. */
static void m_check(struct source_table *st, struct model *m, uint64_t now,
		    uint32_t step)
{
	uint32_t list[M_CAP + 1], group_of[M_CAP], nidle, n = 0;
	uint64_t last_seq = 0;

	CHECK(st->count == m->count, "step %u: count %u, model %u", step,
	      st->count, m->count);
	CHECK(st->slab.in_use == m->count, "step %u: slab holds %u", step,
	      st->slab.in_use);
	CHECK(st->full == m->full, "step %u: full %llu, model %llu", step,
	      (unsigned long long)st->full, (unsigned long long)m->full);
	CHECK(st->reclaimed == m->reclaimed,
	      "step %u: reclaimed %llu, model %llu", step,
	      (unsigned long long)st->reclaimed,
	      (unsigned long long)m->reclaimed);
	CHECK(chained(st) == m->count, "step %u: chains hold %u", step,
	      chained(st));
	for (uint32_t g = 0; g < M_GROUPS; g++) {
		struct msrc *ms = &m->src[g];
		uint32_t idx = m_find(st, g);
		const struct source *s;

		if (!ms->present) {
			CHECK(idx == SOURCE_NIL,
			      "step %u: group %u found, not in the model", step,
			      g);
			continue;
		}
		CHECK(idx == ms->idx, "step %u: group %u at %u, model %u", step,
		      g, idx, ms->idx);
		s = source_at(st, idx);
		CHECK(s->flows == ms->flows,
		      "step %u: group %u holds %u flows, model %u", step, g,
		      s->flows, ms->flows);
		CHECK(!!s->idle == ms->idle, "step %u: group %u idle %u", step,
		      g, s->idle);
		CHECK(s->flows || s->idle,
		      "step %u: group %u holds no flow and is not idle", step,
		      g);
		CHECK(source_rate(s, now) == m_rate(ms, now),
		      "step %u: group %u rate %u, model %u", step, g,
		      source_rate(s, now), m_rate(ms, now));
		if (m->rate) {
			uint64_t t = s->tokens, cap = m->cap;

			/* The real bucket brought up to now, without
			 * touching it. */
			if (now > s->refill_ms && t < cap) {
				uint64_t dt = now - s->refill_ms;

				t = dt >= cap ? cap : t + dt * m->rate;
				if (t > cap)
					t = cap;
			}
			CHECK(t == m_tokens(m, ms, now),
			      "step %u: group %u tokens %llu, model %llu", step,
			      g, (unsigned long long)t,
			      (unsigned long long)ms->tokens);
		}
	}
	/* The idle list: in the order the model put them there. */
	for (uint32_t i = 0; i < M_CAP; i++)
		group_of[i] = UINT32_MAX;
	for (uint32_t g = 0; g < M_GROUPS; g++)
		if (m->src[g].present) {
			CHECK(m->src[g].idx < M_CAP, "step %u: slot %u", step,
			      m->src[g].idx);
			group_of[m->src[g].idx] = g;
			n += m->src[g].idle;
		}
	nidle = idle_list(st, list, M_CAP + 1);
	CHECK(nidle == n, "step %u: %u idle, model %u", step, nidle, n);
	for (uint32_t i = 0; i < nidle; i++) {
		uint32_t g = group_of[list[i]];

		CHECK(g != UINT32_MAX, "step %u: idle %u unknown", step,
		      list[i]);
		CHECK(m->src[g].idle_seq > last_seq,
		      "step %u: idle list out of order at %u", step, i);
		last_seq = m->src[g].idle_seq;
	}
}

/* The limit, and how often (in %) a flow closes rather than opens. */
static const struct {
	uint32_t rate, burst, close;
} m_configs[] = {
	{ 0, 0, 38 }, { 10, 3, 38 }, { 100, 2, 42 }, { 1, 2, 25 }, { 5, 0, 33 },
};

START_TEST(test_model)
{
	struct source_table st;
	struct model *m = calloc(1, sizeof(*m));
	uint64_t now = 100000;
	uint32_t out[16];

	ck_assert_ptr_nonnull(m);
	rng_state = 0x5eed0000u + (uint64_t)_i;
	init(&st, M_CAP);
	source_table_set_rate(&st, m_configs[_i].rate, m_configs[_i].burst);
	m->rate = st.rate;
	m->cap = (uint64_t)st.burst * 1000;
	ck_assert_uint_eq(st.burst, m_configs[_i].burst ? m_configs[_i].burst :
							  m_configs[_i].rate);

	for (uint32_t step = 0; step < M_STEPS; step++) {
		uint32_t op = rnd_below(100), g, idx;

		/* Mostly small steps, sometimes a long pause. */
		if (rnd_below(200) == 0)
			now += rnd_below(20000);
		else
			now += rnd_below(4);
		/* A hot few, and a long tail. */
		g = rnd_below(2) ? rnd_below(12) : rnd_below(M_GROUPS);

		if (op < 93 - m_configs[_i].close) {
			/* A new flow, as the engine admits it. */
			struct msrc *ms = &m->src[g];
			bool expect, was;

			idx = m_find(&st, g);
			CHECK((idx != SOURCE_NIL) == ms->present,
			      "step %u: find %u", step, g);
			if (idx != SOURCE_NIL) {
				bool may = source_may_open(
					&st, source_at(&st, idx), now);

				CHECK(may == (!m->rate ||
					      m_tokens(m, ms, now) >= 1000),
				      "step %u: group %u may_open %d", step, g,
				      may);
				if (!may) {
					m->refused++;
					goto check;
				}
			}
			was = ms->present;
			expect = m_get_expect(m, g, now);
			idx = m_get(&st, g, now);
			CHECK((idx != SOURCE_NIL) == expect,
			      "step %u: get %u gave %u", step, g, idx);
			if (idx == SOURCE_NIL)
				goto check;
			CHECK(!was || idx == ms->idx, "step %u: group %u moved",
			      step, g);
			if (!was) {
				/* A new entry, in a slot no other holds. */
				for (uint32_t o = 0; o < M_GROUPS; o++)
					CHECK(o == g || !m->src[o].present ||
						      m->src[o].idx != idx,
					      "step %u: %u given to %u and %u",
					      step, idx, g, o);
				CHECK(!source_at(&st, idx)->idle &&
					      !source_at(&st, idx)->flows,
				      "step %u: new source not clean", step);
			}
			ms->idx = idx;
			if (rnd_below(10)) {
				source_opened(&st, idx, now);
				m_opened(m, g, now);
			} else {
				/* The flow table had no room. */
				source_settle(&st, idx, now);
				m_settle(m, g, now);
			}
		} else if (op < 93) {
			/* A flow closes. */
			uint32_t k;

			if (!m->nflows)
				goto check;
			k = rnd_below(m->nflows);
			g = m->owner[k];
			m->owner[k] = m->owner[--m->nflows];
			source_closed(&st, m->src[g].idx, now);
			m->src[g].flows--;
			m_settle(m, g, now);
		} else if (op < 95) {
			/* A flow counted again after a rebuild. */
			bool expect = m_get_expect(m, g, now);

			idx = m_get(&st, g, now);
			CHECK((idx != SOURCE_NIL) == expect,
			      "step %u: get %u for adopt gave %u", step, g,
			      idx);
			if (idx == SOURCE_NIL)
				goto check;
			m->src[g].idx = idx;
			source_adopt(&st, idx);
			m->src[g].flows++;
			m->src[g].idle = false;
			ck_assert_uint_lt(m->nflows, M_FLOWS);
			m->owner[m->nflows++] = g;
		} else {
			/* Housekeeping. */
			uint32_t max = rnd_below(6), n = 0, got, seen;
			uint64_t after = 0;

			/* The max oldest idle sources are looked at; the
			 * full ones among them go. */
			for (seen = 0; seen < max; seen++) {
				int old = -1;

				for (uint32_t h = 0; h < M_GROUPS; h++)
					if (m->src[h].present &&
					    m->src[h].idle &&
					    m->src[h].idle_seq > after &&
					    (old < 0 ||
					     m->src[h].idle_seq <
						     m->src[old].idle_seq))
						old = (int)h;
				if (old < 0)
					break;
				after = m->src[old].idle_seq;
				if (m_full(m, &m->src[old], now)) {
					m_remove(m, (uint32_t)old);
					m->expired++;
					n++;
				}
			}
			got = source_table_expire(&st, now, max);
			CHECK(got == n, "step %u: expire %u freed %u, model %u",
			      step, max, got, n);
		}
check:
		m_check(&st, m, now, step);
		if (step % 97 == 0) {
			uint32_t k = source_table_top(&st, now, out, 16);

			CHECK(k == (m->count < 16 ? m->count : 16),
			      "step %u: top gave %u", step, k);
			check_ranked(&st, out, k, now);
			/* Nothing left out ranks above the last. */
			for (uint32_t g2 = 0; k == 16 && g2 < M_GROUPS; g2++) {
				const struct msrc *ms = &m->src[g2];
				const struct source *l =
					source_at(&st, out[15]);
				bool in = false;

				for (uint32_t i = 0; i < k; i++)
					in |= ms->present && out[i] == ms->idx;
				CHECK(!ms->present || in ||
					      ms->flows < l->flows ||
					      (ms->flows == l->flows &&
					       m_rate(ms, now) <=
						       source_rate(l, now)),
				      "step %u: group %u left out", step, g2);
			}
		}
	}
	/* The run went through every path. */
	ck_assert_uint_gt(m->full, 0);
	ck_assert_uint_gt(m->freed, 0);
	if (m->rate) {
		ck_assert_uint_gt(m->reclaimed, 0);
		ck_assert_uint_gt(m->idled, 0);
		ck_assert_uint_gt(m->expired, 0);
		ck_assert_uint_gt(m->refused, 0);
	} else {
		ck_assert_uint_eq(m->idled, 0);
	}
	/* Close everything: only idle sources remain, and they all go. */
	while (m->nflows) {
		uint32_t g = m->owner[--m->nflows];

		source_closed(&st, m->src[g].idx, now);
		m->src[g].flows--;
		m_settle(m, g, now);
	}
	m_check(&st, m, now, M_STEPS);
	ck_assert_uint_eq(st.count, idle_len(&st));
	source_table_expire(&st, now + (1ULL << 40), UINT32_MAX);
	ck_assert_uint_eq(st.count, 0);
	ck_assert_uint_eq(st.slab.in_use, 0);
	free(m);
	source_table_destroy(&st);
}
END_TEST

static Suite *source_suite(void)
{
	Suite *s = suite_create("source");
	TCase *tc;

	tc = tcase_create("get");
	tcase_add_test(tc, test_bytes_for);
	tcase_add_test(tc, test_init_rejects_zero);
	tcase_add_test(tc, test_get_prefix4);
	tcase_add_test(tc, test_get_prefix_odd_bits);
	tcase_add_test(tc, test_get_prefix6);
	tcase_add_test(tc, test_families_apart);
	tcase_add_test(tc, test_same_bytes_apart);
	tcase_add_test(tc, test_same_bytes_spread);
	tcase_add_test(tc, test_find_does_not_create);
	tcase_add_test(tc, test_new_source_state);
	suite_add_tcase(s, tc);

	tc = tcase_create("capacity");
	tcase_add_test(tc, test_full);
	tcase_add_test(tc, test_reclaim_idle);
	tcase_add_test(tc, test_just_got_not_reclaimed);
	suite_add_tcase(s, tc);

	tc = tcase_create("bucket");
	tcase_add_test(tc, test_rate_unlimited);
	tcase_add_test(tc, test_rate_burst);
	tcase_add_test(tc, test_may_open_takes_nothing);
	tcase_add_test(tc, test_burst_zero);
	tcase_add_test(tc, test_rate_thousandths);
	tcase_add_test(tc, test_rate_one_long_gaps);
	tcase_add_test(tc, test_rate_one_big_burst);
	tcase_add_test(tc, test_rate_max);
	tcase_add_test(tc, test_rate_max_burst_one);
	tcase_add_test(tc, test_clock_back);
	tcase_add_test(tc, test_burst_lowered);
	suite_add_tcase(s, tc);

	tc = tcase_create("idle");
	tcase_add_test(tc, test_close_full_frees);
	tcase_add_test(tc, test_close_depleted_idles);
	tcase_add_test(tc, test_expire_oldest_first);
	tcase_add_test(tc, test_expire_spares_busy);
	tcase_add_test(tc, test_expire_skips_refilling);
	tcase_add_test(tc, test_rate_turned_on_fills_buckets);
	tcase_add_test(tc, test_reopen_leaves_idle);
	tcase_add_test(tc, test_settle);
	suite_add_tcase(s, tc);

	tc = tcase_create("rate");
	tcase_add_test(tc, test_source_rate);
	tcase_add_test(tc, test_source_rate_saturates);
	suite_add_tcase(s, tc);

	tc = tcase_create("table");
	tcase_add_test(tc, test_adopt);
	tcase_add_test(tc, test_clear);
	tcase_add_test(tc, test_grow);
	suite_add_tcase(s, tc);

	tc = tcase_create("top");
	tcase_add_test(tc, test_top);
	tcase_add_test(tc, test_top_empty);
	tcase_add_test(tc, test_top_ties);
	tcase_add_test(tc, test_top_many);
	tcase_add_test(tc, test_top_in_steps);
	suite_add_tcase(s, tc);

	tc = tcase_create("model");
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, test_model, 0,
			    sizeof(m_configs) / sizeof(m_configs[0]));
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(source_suite());
}
