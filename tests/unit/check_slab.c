// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * check_slab.c - unit tests for slab.c, the preallocated pool of fixed-size
 * objects named by index: argument checks, allocation up to capacity, the
 * LIFO free list, the in-use count, disjoint objects, slab_grow() keeping
 * indices and contents, index/pointer round trips, re-initialisation and
 * a large pool.
 */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "slab.h"
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

/* Fill object idx with bytes derived from its index and a seed. */
static void stamp(struct slab *s, uint32_t idx, uint32_t seed)
{
	uint8_t *p = slab_ptr(s, idx);

	for (size_t i = 0; i < s->obj_size; i++)
		p[i] = (uint8_t)(idx * 31u + seed + i * 7u);
}

static int stamped(const struct slab *s, uint32_t idx, uint32_t seed)
{
	const uint8_t *p = slab_ptr(s, idx);

	for (size_t i = 0; i < s->obj_size; i++)
		if (p[i] != (uint8_t)(idx * 31u + seed + i * 7u))
			return 0;
	return 1;
}

/* Init must fail with EINVAL and leave a slab that destroy accepts. */
static void expect_einval(size_t obj_size, uint32_t capacity)
{
	struct slab s;

	memset(&s, 0xa5, sizeof(s));
	errno = 0;
	ck_assert_int_eq(slab_init(&s, obj_size, capacity), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_ptr_null(s.base);
	slab_destroy(&s);
}

START_TEST(test_init_rejects)
{
	expect_einval(0, 16);
	expect_einval(1, 16);
	expect_einval(2, 16);
	expect_einval(3, 16);
	expect_einval(5, 16);
	expect_einval(6, 16);
	expect_einval(7, 16);
	expect_einval(62, 16);
	expect_einval(65, 16);
	expect_einval(8, 0);
	expect_einval(8, SLAB_NIL);
	expect_einval(3, 0);
}
END_TEST

START_TEST(test_init_accepts_smallest)
{
	struct slab s;

	ck_assert_int_eq(slab_init(&s, 4, 1), 0);
	ck_assert_ptr_nonnull(s.base);
	ck_assert_uint_eq(s.capacity, 1);
	ck_assert_uint_eq(s.in_use, 0);
	ck_assert_uint_eq(slab_alloc(&s), 0);
	ck_assert_uint_eq(slab_alloc(&s), SLAB_NIL);
	slab_destroy(&s);
}
END_TEST

START_TEST(test_alloc_to_capacity)
{
	enum { CAP = 1000 };
	struct slab s;
	uint8_t *seen = calloc(CAP, 1);

	ck_assert_ptr_nonnull(seen);
	ck_assert_int_eq(slab_init(&s, 24, CAP), 0);
	for (uint32_t i = 0; i < CAP; i++) {
		uint32_t idx = slab_alloc(&s);

		ck_assert_uint_ne(idx, SLAB_NIL);
		ck_assert_uint_lt(idx, CAP);
		ck_assert_msg(!seen[idx], "index %u handed out twice", idx);
		seen[idx] = 1;
		ck_assert_uint_eq(s.in_use, i + 1);
	}
	ck_assert_uint_eq(slab_alloc(&s), SLAB_NIL);
	ck_assert_uint_eq(slab_alloc(&s), SLAB_NIL);
	ck_assert_uint_eq(s.in_use, CAP);
	free(seen);
	slab_destroy(&s);
}
END_TEST

START_TEST(test_in_use_counts)
{
	struct slab s;
	uint32_t a, b, c;

	ck_assert_int_eq(slab_init(&s, 8, 4), 0);
	ck_assert_uint_eq(s.in_use, 0);
	a = slab_alloc(&s);
	b = slab_alloc(&s);
	c = slab_alloc(&s);
	ck_assert_uint_eq(s.in_use, 3);
	slab_free(&s, b);
	ck_assert_uint_eq(s.in_use, 2);
	slab_free(&s, a);
	slab_free(&s, c);
	ck_assert_uint_eq(s.in_use, 0);
	/* A failed alloc does not count. */
	for (int i = 0; i < 4; i++)
		ck_assert_uint_ne(slab_alloc(&s), SLAB_NIL);
	ck_assert_uint_eq(slab_alloc(&s), SLAB_NIL);
	ck_assert_uint_eq(s.in_use, 4);
	slab_destroy(&s);
}
END_TEST

START_TEST(test_free_lifo)
{
	struct slab s;
	uint32_t idx[8];

	ck_assert_int_eq(slab_init(&s, 16, 8), 0);
	for (int i = 0; i < 8; i++)
		idx[i] = slab_alloc(&s);
	/* One free: the same index comes back at once. */
	slab_free(&s, idx[5]);
	ck_assert_uint_eq(slab_alloc(&s), idx[5]);
	/* Several: they come back in reverse order of freeing. */
	slab_free(&s, idx[1]);
	slab_free(&s, idx[6]);
	slab_free(&s, idx[3]);
	ck_assert_uint_eq(slab_alloc(&s), idx[3]);
	ck_assert_uint_eq(slab_alloc(&s), idx[6]);
	ck_assert_uint_eq(slab_alloc(&s), idx[1]);
	ck_assert_uint_eq(slab_alloc(&s), SLAB_NIL);
	slab_destroy(&s);
}
END_TEST

/* Freed objects are preferred over fresh ones beyond the high-water mark. */
START_TEST(test_free_before_fresh)
{
	struct slab s;
	uint32_t a, b;

	ck_assert_int_eq(slab_init(&s, 4, 100), 0);
	a = slab_alloc(&s);
	b = slab_alloc(&s);
	ck_assert_uint_ne(a, b);
	slab_free(&s, a);
	ck_assert_uint_eq(slab_alloc(&s), a);
	/* Free list empty again: the next is a fresh, distinct index. */
	{
		uint32_t c = slab_alloc(&s);

		ck_assert_uint_ne(c, a);
		ck_assert_uint_ne(c, b);
		ck_assert_uint_lt(c, 100);
	}
	slab_destroy(&s);
}
END_TEST

START_TEST(test_objects_disjoint)
{
	static const size_t sizes[] = { 4, 8, 12, 60, 64, 100, 4096 };

	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		enum { CAP = 257 };
		struct slab s;
		uint32_t idx[CAP];

		ck_assert_int_eq(slab_init(&s, sizes[k], CAP), 0);
		for (uint32_t i = 0; i < CAP; i++) {
			idx[i] = slab_alloc(&s);
			stamp(&s, idx[i], (uint32_t)k);
		}
		for (uint32_t i = 0; i < CAP; i++)
			ck_assert_msg(stamped(&s, idx[i], (uint32_t)k),
				      "object %u of size %zu overwritten",
				      idx[i], sizes[k]);
		/* Pointers are obj_size apart and inside the pool. */
		for (uint32_t i = 0; i < CAP; i++) {
			uint8_t *p = slab_ptr(&s, idx[i]);

			ck_assert(p >= s.base);
			ck_assert(p + sizes[k] <= s.base + slab_bytes(&s));
		}
		slab_destroy(&s);
	}
}
END_TEST

/* Freeing and reusing objects leaves the other objects' contents alone. */
START_TEST(test_free_keeps_neighbours)
{
	enum { CAP = 64 };
	struct slab s;

	ck_assert_int_eq(slab_init(&s, 32, CAP), 0);
	for (uint32_t i = 0; i < CAP; i++) {
		ck_assert_uint_eq(slab_alloc(&s), i);
		stamp(&s, i, 1);
	}
	for (uint32_t i = 0; i < CAP; i += 3)
		slab_free(&s, i);
	for (uint32_t i = 0; i < CAP; i++)
		if (i % 3)
			ck_assert(stamped(&s, i, 1));
	for (uint32_t i = 0; i < CAP; i += 3) {
		uint32_t idx = slab_alloc(&s);

		ck_assert_uint_eq(idx % 3, 0);
		stamp(&s, idx, 2);
	}
	ck_assert_uint_eq(slab_alloc(&s), SLAB_NIL);
	for (uint32_t i = 0; i < CAP; i++)
		ck_assert(stamped(&s, i, i % 3 ? 1 : 2));
	slab_destroy(&s);
}
END_TEST

START_TEST(test_bytes)
{
	struct slab s;

	ck_assert_int_eq(slab_init(&s, 64, 1000), 0);
	ck_assert_uint_eq(slab_bytes(&s), 64000);
	ck_assert_int_eq(slab_grow(&s, 3000), 0);
	ck_assert_uint_eq(slab_bytes(&s), 192000);
	slab_destroy(&s);
	ck_assert_uint_eq(slab_bytes(&s), 0);
	ck_assert_int_eq(slab_init(&s, 4, 7), 0);
	ck_assert_uint_eq(slab_bytes(&s), 28);
	slab_destroy(&s);
}
END_TEST

/*
 * slab_reserve(): the whole capacity is usable, but only a margin past
 * the high-water mark is populated, and slab_populate_ahead() keeps it
 * ahead; objects handed out past it count as populated (they are
 * faulted in). slab_init() populates everything.
 */
START_TEST(test_reserve_keeps_a_margin)
{
	const uint32_t cap = 2000000, page_objs = 4096 / 16;
	uint32_t margin;
	struct slab s;

	ck_assert_int_eq(slab_reserve(&s, 16, cap), 0);
	margin = slab_margin(&s);
	ck_assert_uint_eq(margin, cap / 16);
	ck_assert_uint_ge(s.populated, margin);
	ck_assert_uint_le(s.populated, margin + page_objs);
	ck_assert_uint_lt(slab_populated_bytes(&s), slab_bytes(&s) / 8);
	for (uint32_t i = 0; i < 300000; i++) {
		uint32_t idx = slab_alloc(&s);

		ck_assert_uint_eq(idx, i);
		memset(slab_ptr(&s, idx), 0xab, 16);
	}
	ck_assert_uint_ge(s.populated, 300000);
	ck_assert_int_eq(slab_populate_ahead(&s), 0);
	ck_assert_uint_ge(s.populated, 300000 + margin);
	ck_assert_uint_le(s.populated, 300000 + margin + page_objs);
	/* Populating never touches what is in use. */
	for (uint32_t i = 0; i < 300000; i += 997)
		ck_assert_uint_eq(((uint8_t *)slab_ptr(&s, i))[15], 0xab);
	/* Growth keeps it lazy; the margin follows the new capacity. */
	ck_assert_int_eq(slab_grow(&s, 2 * cap), 0);
	ck_assert_uint_lt(s.populated, s.capacity);
	ck_assert_uint_eq(((uint8_t *)slab_ptr(&s, 299999))[0], 0xab);
	ck_assert_int_eq(slab_populate(&s, UINT32_MAX), 0);
	ck_assert_uint_eq(s.populated, s.capacity);
	ck_assert_uint_eq(slab_populated_bytes(&s), slab_bytes(&s));
	slab_destroy(&s);

	ck_assert_int_eq(slab_init(&s, 16, cap), 0);
	ck_assert_uint_eq(s.populated, cap);
	slab_destroy(&s);
}
END_TEST

START_TEST(test_grow_keeps_contents)
{
	enum { CAP = 300, NEWCAP = 100000 };
	struct slab s;
	uint32_t idx[CAP];

	ck_assert_int_eq(slab_init(&s, 64, CAP), 0);
	for (uint32_t i = 0; i < CAP; i++) {
		idx[i] = slab_alloc(&s);
		stamp(&s, idx[i], 9);
	}
	ck_assert_int_eq(slab_grow(&s, NEWCAP), 0);
	ck_assert_uint_eq(s.capacity, NEWCAP);
	ck_assert_uint_eq(s.in_use, CAP);
	for (uint32_t i = 0; i < CAP; i++)
		ck_assert_msg(stamped(&s, idx[i], 9), "object %u lost", idx[i]);
	/* The new room is usable all the way to the end. */
	for (uint32_t i = CAP; i < NEWCAP; i++) {
		uint32_t j = slab_alloc(&s);

		CHECK(j >= CAP && j < NEWCAP, "index %u after grow", j);
		stamp(&s, j, 9);
	}
	ck_assert_uint_eq(slab_alloc(&s), SLAB_NIL);
	for (uint32_t i = 0; i < NEWCAP; i++)
		CHECK(stamped(&s, i, 9), "object %u overwritten", i);
	slab_destroy(&s);
}
END_TEST

START_TEST(test_grow_no_shrink)
{
	struct slab s;
	uint8_t *base;

	ck_assert_int_eq(slab_init(&s, 16, 50), 0);
	base = s.base;
	stamp(&s, slab_alloc(&s), 3);
	ck_assert_int_eq(slab_grow(&s, 50), 0);
	ck_assert_uint_eq(s.capacity, 50);
	ck_assert_ptr_eq(s.base, base);
	ck_assert_int_eq(slab_grow(&s, 10), 0);
	ck_assert_uint_eq(s.capacity, 50);
	ck_assert_int_eq(slab_grow(&s, 0), 0);
	ck_assert_uint_eq(s.capacity, 50);
	ck_assert_ptr_eq(s.base, base);
	ck_assert_uint_eq(slab_bytes(&s), 16 * 50);
	ck_assert(stamped(&s, 0, 3));
	ck_assert_uint_eq(s.in_use, 1);
	slab_destroy(&s);
}
END_TEST

START_TEST(test_grow_to_nil_rejected)
{
	struct slab s;

	ck_assert_int_eq(slab_init(&s, 4, 8), 0);
	errno = 0;
	ck_assert_int_eq(slab_grow(&s, SLAB_NIL), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_uint_eq(s.capacity, 8);
	ck_assert_uint_ne(slab_alloc(&s), SLAB_NIL);
	slab_destroy(&s);
}
END_TEST

/* Full, grow, keep allocating: fresh indices continue after the old end. */
START_TEST(test_alloc_after_grow)
{
	struct slab s;

	ck_assert_int_eq(slab_init(&s, 8, 4), 0);
	for (uint32_t i = 0; i < 4; i++)
		ck_assert_uint_eq(slab_alloc(&s), i);
	ck_assert_uint_eq(slab_alloc(&s), SLAB_NIL);
	ck_assert_int_eq(slab_grow(&s, 6), 0);
	ck_assert_uint_eq(slab_alloc(&s), 4);
	ck_assert_uint_eq(slab_alloc(&s), 5);
	ck_assert_uint_eq(slab_alloc(&s), SLAB_NIL);
	ck_assert_uint_eq(s.in_use, 6);
	slab_destroy(&s);
}
END_TEST

/* The free list is kept across a grow and is still used first. */
START_TEST(test_grow_keeps_free_list)
{
	struct slab s;

	ck_assert_int_eq(slab_init(&s, 8, 4), 0);
	for (uint32_t i = 0; i < 4; i++)
		ck_assert_uint_eq(slab_alloc(&s), i);
	slab_free(&s, 1);
	slab_free(&s, 3);
	ck_assert_int_eq(slab_grow(&s, 1 << 16), 0);
	ck_assert_uint_eq(s.in_use, 2);
	ck_assert_uint_eq(slab_alloc(&s), 3);
	ck_assert_uint_eq(slab_alloc(&s), 1);
	ck_assert_uint_eq(slab_alloc(&s), 4);
	ck_assert_uint_eq(s.in_use, 5);
	slab_destroy(&s);
}
END_TEST

START_TEST(test_ptr_index_round_trip)
{
	static const size_t sizes[] = { 4, 12, 64, 1000 };

	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		struct slab s;

		ck_assert_int_eq(slab_init(&s, sizes[k], 500), 0);
		for (uint32_t i = 0; i < 500; i++) {
			uint32_t idx = slab_alloc(&s);
			uint8_t *p = slab_ptr(&s, idx);

			ck_assert_uint_eq(slab_index(&s, p), idx);
			ck_assert_ptr_eq(p, s.base + (size_t)idx * sizes[k]);
		}
		/* Any byte inside an object maps to that object. */
		ck_assert_uint_eq(slab_index(&s, (uint8_t *)slab_ptr(&s, 17) +
							 sizes[k] - 1),
				  17);
		/* Still true after the pool may have moved. */
		ck_assert_int_eq(slab_grow(&s, 1 << 18), 0);
		for (uint32_t i = 0; i < 500; i++)
			ck_assert_uint_eq(slab_index(&s, slab_ptr(&s, i)), i);
		slab_destroy(&s);
	}
}
END_TEST

START_TEST(test_destroy_and_reinit)
{
	struct slab s;

	for (int round = 0; round < 3; round++) {
		ck_assert_int_eq(slab_init(&s, 32, 16), 0);
		ck_assert_uint_eq(s.in_use, 0);
		for (uint32_t i = 0; i < 16; i++) {
			uint32_t idx = slab_alloc(&s);

			ck_assert_uint_eq(idx, i);
			stamp(&s, idx, (uint32_t)round);
		}
		ck_assert_uint_eq(slab_alloc(&s), SLAB_NIL);
		for (uint32_t i = 0; i < 16; i++)
			ck_assert(stamped(&s, i, (uint32_t)round));
		slab_free(&s, 7);
		slab_destroy(&s);
		ck_assert_ptr_null(s.base);
		ck_assert_uint_eq(s.capacity, 0);
		ck_assert_uint_eq(s.in_use, 0);
		ck_assert_uint_eq(s.free_head, SLAB_NIL);
	}
	/* Destroying twice is harmless. */
	slab_destroy(&s);
}
END_TEST

/* 2^22 objects of 64 bytes: 256 MiB, every one usable and distinct. */
START_TEST(test_large)
{
	const uint32_t cap = 1u << 22;
	struct slab s;
	uint32_t n = 0;

	ck_assert_int_eq(slab_init(&s, 64, cap), 0);
	ck_assert_uint_eq(slab_bytes(&s), (size_t)64 << 22);
	for (;;) {
		uint32_t idx = slab_alloc(&s);
		uint32_t *p;

		if (idx == SLAB_NIL)
			break;
		CHECK(idx < cap, "index %u out of range", idx);
		p = slab_ptr(&s, idx);
		p[0] = idx;
		p[15] = ~idx;
		n++;
	}
	ck_assert_uint_eq(n, cap);
	ck_assert_uint_eq(s.in_use, cap);
	for (uint32_t i = 0; i < cap; i++) {
		const uint32_t *p = slab_ptr(&s, i);

		CHECK(p[0] == i && p[15] == ~i, "object %u overwritten", i);
	}
	slab_free(&s, cap - 1);
	slab_free(&s, 12345);
	ck_assert_uint_eq(slab_alloc(&s), 12345);
	ck_assert_uint_eq(slab_alloc(&s), cap - 1);
	ck_assert_uint_eq(slab_alloc(&s), SLAB_NIL);
	slab_destroy(&s);
}
END_TEST

static Suite *slab_suite(void)
{
	Suite *s = suite_create("slab");
	TCase *tc;

	tc = tcase_create("init");
	tcase_add_test(tc, test_init_rejects);
	tcase_add_test(tc, test_init_accepts_smallest);
	tcase_add_test(tc, test_destroy_and_reinit);
	suite_add_tcase(s, tc);

	tc = tcase_create("alloc");
	tcase_add_test(tc, test_alloc_to_capacity);
	tcase_add_test(tc, test_in_use_counts);
	tcase_add_test(tc, test_free_lifo);
	tcase_add_test(tc, test_free_before_fresh);
	tcase_add_test(tc, test_objects_disjoint);
	tcase_add_test(tc, test_free_keeps_neighbours);
	tcase_add_test(tc, test_ptr_index_round_trip);
	tcase_add_test(tc, test_bytes);
	suite_add_tcase(s, tc);

	tc = tcase_create("grow");
	tcase_add_test(tc, test_grow_keeps_contents);
	tcase_add_test(tc, test_grow_no_shrink);
	tcase_add_test(tc, test_grow_to_nil_rejected);
	tcase_add_test(tc, test_alloc_after_grow);
	tcase_add_test(tc, test_grow_keeps_free_list);
	tcase_add_test(tc, test_reserve_keeps_a_margin);
	suite_add_tcase(s, tc);

	tc = tcase_create("large");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_large);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(slab_suite());
}
