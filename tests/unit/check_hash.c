// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * check_hash.c - unit tests for hash.c: SipHash-2-4 against the published
 * reference vectors, SipHash-1-3 over words (hash_words13) against the
 * published SipHash-1-3 vectors and for its avalanche and length
 * properties, hash_key_random(), and the spread of flow-like keys over
 * a power-of-two bucket array.
 */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "testutil.h"

/* The reference key: bytes 00 01 .. 0f, read as two little-endian words. */
static const struct hash_key ref_key = {
	.k0 = 0x0706050403020100ULL,
	.k1 = 0x0f0e0d0c0b0a0908ULL,
};

/*
 * SipHash-2-4 of the message 00 01 .. i-1 under ref_key, i = 0..63: the
 * vectors_sip64 table of the reference implementation (veorq/SipHash,
 * vectors.h; stored there as little-endian bytes), which extends the
 * paper's Appendix A example (i = 15). Checked against a second published
 * copy of the table and an independent implementation.
 */
static const uint64_t sip24_vectors[64] = {
	0x726fdb47dd0e0e31ULL, 0x74f839c593dc67fdULL, 0x0d6c8009d9a94f5aULL,
	0x85676696d7fb7e2dULL, 0xcf2794e0277187b7ULL, 0x18765564cd99a68dULL,
	0xcbc9466e58fee3ceULL, 0xab0200f58b01d137ULL, 0x93f5f5799a932462ULL,
	0x9e0082df0ba9e4b0ULL, 0x7a5dbbc594ddb9f3ULL, 0xf4b32f46226bada7ULL,
	0x751e8fbc860ee5fbULL, 0x14ea5627c0843d90ULL, 0xf723ca908e7af2eeULL,
	0xa129ca6149be45e5ULL, 0x3f2acc7f57c29bdbULL, 0x699ae9f52cbe4794ULL,
	0x4bc1b3f0968dd39cULL, 0xbb6dc91da77961bdULL, 0xbed65cf21aa2ee98ULL,
	0xd0f2cbb02e3b67c7ULL, 0x93536795e3a33e88ULL, 0xa80c038ccd5ccec8ULL,
	0xb8ad50c6f649af94ULL, 0xbce192de8a85b8eaULL, 0x17d835b85bbb15f3ULL,
	0x2f2e6163076bcfadULL, 0xde4daaaca71dc9a5ULL, 0xa6a2506687956571ULL,
	0xad87a3535c49ef28ULL, 0x32d892fad841c342ULL, 0x7127512f72f27cceULL,
	0xa7f32346f95978e3ULL, 0x12e0b01abb051238ULL, 0x15e034d40fa197aeULL,
	0x314dffbe0815a3b4ULL, 0x027990f029623981ULL, 0xcadcd4e59ef40c4dULL,
	0x9abfd8766a33735cULL, 0x0e3ea96b5304a7d0ULL, 0xad0c42d6fc585992ULL,
	0x187306c89bc215a9ULL, 0xd4a60abcf3792b95ULL, 0xf935451de4f21df2ULL,
	0xa9538f0419755787ULL, 0xdb9acddff56ca510ULL, 0xd06c98cd5c0975ebULL,
	0xe612a3cb9ecba951ULL, 0xc766e62cfcadaf96ULL, 0xee64435a9752fe72ULL,
	0xa192d576b245165aULL, 0x0a8787bf8ecb74b2ULL, 0x81b3e73d20b49b6fULL,
	0x7fa8220ba3b2eceaULL, 0x245731c13ca42499ULL, 0xb78dbfaf3a8d83bdULL,
	0xea1ad565322a1a0bULL, 0x60e61c23a3795013ULL, 0x6606d7e446282b93ULL,
	0x6ca4ecb15c5f91e1ULL, 0x9f626da15c9625f3ULL, 0xe51b38608ef25f57ULL,
	0x958a324ceb064572ULL,
};

/*
 * SipHash-1-3 (the reference code built with cROUNDS=1, dROUNDS=3) of the
 * message 00 01 .. 8n-1 under ref_key, n = 0..7: the entries for lengths
 * 0, 8, .., 56 of the published SipHash-1-3 vector table. A message of n
 * whole words is exactly what hash_words13() hashes.
 */
static const uint64_t sip13_word_vectors[8] = {
	0xabac0158050fc4dcULL, 0x369095118d299a8eULL, 0xcc4fdd1a7d908b66ULL,
	0xf464aeb267349c8cULL, 0x81157b6c16a7b60dULL, 0xc1d2363299e41531ULL,
	0x9f3143f8df074c46ULL, 0xb4bcc0db243c6d75ULL,
};

static void fill_bytes(uint8_t *buf, size_t n)
{
	for (size_t i = 0; i < n; i++)
		buf[i] = (uint8_t)i;
}

/* Word i of the byte string 00 01 02 .., little-endian. */
static uint64_t seq_word(size_t i)
{
	uint64_t w = 0;

	for (int b = 7; b >= 0; b--)
		w = (w << 8) | (uint8_t)(8 * i + (size_t)b);
	return w;
}

START_TEST(test_siphash24_vectors)
{
	uint8_t msg[64];

	fill_bytes(msg, sizeof(msg));
	/* _i is the loop index of the tcase_add_loop_test() below. */
	ck_assert_msg(
		hash_siphash24(&ref_key, msg, (size_t)_i) == sip24_vectors[_i],
		"SipHash-2-4 of %d bytes: got %#018llx, want %#018llx", _i,
		(unsigned long long)hash_siphash24(&ref_key, msg, (size_t)_i),
		(unsigned long long)sip24_vectors[_i]);
}
END_TEST

/* The values named in the paper and in the brief, spelled out. */
START_TEST(test_siphash24_paper_examples)
{
	uint8_t msg[64];

	fill_bytes(msg, sizeof(msg));
	ck_assert_uint_eq(hash_siphash24(&ref_key, msg, 0),
			  0x726fdb47dd0e0e31ULL);
	ck_assert_uint_eq(hash_siphash24(&ref_key, msg, 15),
			  0xa129ca6149be45e5ULL);
	ck_assert_uint_eq(hash_siphash24(&ref_key, msg, 8),
			  0x93f5f5799a932462ULL);
}
END_TEST

/* The message is read bytewise: an unaligned copy hashes the same. */
START_TEST(test_siphash24_unaligned)
{
	uint8_t buf[64 + 1];

	for (size_t len = 0; len < 64; len++) {
		for (size_t i = 0; i < len; i++)
			buf[1 + i] = (uint8_t)i;
		ck_assert_uint_eq(hash_siphash24(&ref_key, buf + 1, len),
				  sip24_vectors[len]);
	}
}
END_TEST

START_TEST(test_words13_vectors)
{
	uint64_t w[8];

	for (size_t i = 0; i < 8; i++)
		w[i] = seq_word(i);
	ck_assert_uint_eq(w[0], 0x0706050403020100ULL);
	for (size_t n = 0; n < 8; n++)
		ck_assert_msg(hash_words13(&ref_key, w, n) ==
				      sip13_word_vectors[n],
			      "SipHash-1-3 of %zu words: got %#018llx", n,
			      (unsigned long long)hash_words13(&ref_key, w, n));
}
END_TEST

START_TEST(test_words13_deterministic)
{
	const struct hash_key key = { 0x0123456789abcdefULL,
				      0xfedcba9876543210ULL };
	uint64_t w[5] = { 1, 2, 3, 4, 5 };
	uint64_t h = hash_words13(&key, w, 5);

	for (int i = 0; i < 100; i++)
		ck_assert_uint_eq(hash_words13(&key, w, 5), h);
	/* A copy of the key and of the input gives the same value too. */
	{
		struct hash_key k2 = key;
		uint64_t w2[5];

		memcpy(w2, w, sizeof(w2));
		ck_assert_uint_eq(hash_words13(&k2, w2, 5), h);
	}
}
END_TEST

START_TEST(test_words13_key_matters)
{
	struct hash_key a = { 1, 2 }, b = { 1, 3 }, c = { 2, 2 };
	uint64_t w[5] = { 0x11, 0x22, 0x33, 0x44, 0x55 };
	uint64_t ha = hash_words13(&a, w, 5);

	ck_assert_uint_ne(ha, hash_words13(&b, w, 5));
	ck_assert_uint_ne(ha, hash_words13(&c, w, 5));
	ck_assert_uint_ne(hash_words13(&b, w, 5), hash_words13(&c, w, 5));
	/* Every single key bit matters, in k0 and in k1. */
	for (int bit = 0; bit < 64; bit++) {
		struct hash_key k0 = a, k1 = a;

		k0.k0 ^= 1ULL << bit;
		k1.k1 ^= 1ULL << bit;
		ck_assert_uint_ne(hash_words13(&k0, w, 5), ha);
		ck_assert_uint_ne(hash_words13(&k1, w, 5), ha);
	}
}
END_TEST

/*
 * Flipping any one of the 320 input bits changes the output, and changes
 * about half of its bits on average (SipHash-1-3 still avalanches fully).
 */
START_TEST(test_words13_bit_flips)
{
	const struct hash_key key = { 0x5555aaaa5555aaaaULL,
				      0x0f0f0f0ff0f0f0f0ULL };
	uint64_t w[5] = { 0x0000001100500035ULL, 0x0a0000010a000002ULL, 0,
			  0xffffffffffffffffULL, 0x8000000000000001ULL };
	uint64_t h = hash_words13(&key, w, 5);
	unsigned long total = 0;

	for (int word = 0; word < 5; word++) {
		for (int bit = 0; bit < 64; bit++) {
			uint64_t h2;

			w[word] ^= 1ULL << bit;
			h2 = hash_words13(&key, w, 5);
			w[word] ^= 1ULL << bit;
			ck_assert_msg(h2 != h, "flipping word %d bit %d", word,
				      bit);
			total += (unsigned long)__builtin_popcountll(h ^ h2);
		}
	}
	ck_assert_uint_eq(hash_words13(&key, w, 5), h);
	/* Mean flipped bits over 320 trials: 32 expected, sd ~0.22. */
	ck_assert_uint_gt(total, 320UL * 28);
	ck_assert_uint_lt(total, 320UL * 36);
}
END_TEST

/* The length is hashed: a trailing zero word is not a no-op. */
START_TEST(test_words13_length_matters)
{
	const struct hash_key key = { 7, 9 };
	uint64_t w[6] = { 0xdeadbeefULL, 0xcafef00dULL, 0, 0, 0, 0 };

	ck_assert_uint_ne(hash_words13(&key, w, 2), hash_words13(&key, w, 3));
	ck_assert_uint_ne(hash_words13(&key, w, 3), hash_words13(&key, w, 4));
	ck_assert_uint_ne(hash_words13(&key, w, 5), hash_words13(&key, w, 6));
	ck_assert_uint_ne(hash_words13(&key, w, 0),
			  hash_words13(&key, w + 2, 1));
}
END_TEST

START_TEST(test_key_random)
{
	struct hash_key a, b, zero;

	memset(&zero, 0, sizeof(zero));
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	ck_assert_int_eq(hash_key_random(&a), 0);
	ck_assert_int_eq(hash_key_random(&b), 0);
	ck_assert(memcmp(&a, &zero, sizeof(a)) != 0);
	ck_assert(memcmp(&b, &zero, sizeof(b)) != 0);
	ck_assert(memcmp(&a, &b, sizeof(a)) != 0);
	/* Both halves are filled (2^-64 chance each of a false failure). */
	ck_assert_uint_ne(a.k0, 0);
	ck_assert_uint_ne(a.k1, 0);
	ck_assert_uint_ne(a.k0, b.k0);
	ck_assert_uint_ne(a.k1, b.k1);
}
END_TEST

#define DIST_KEYS (1u << 20)
#define DIST_BUCKETS (1u << 16)

/*
 * Spread of 2^20 sequential IPv4 flow keys (as flow_hash() builds them:
 * ports, proto and family in word 0, the two addresses in word 1) over
 * 2^16 buckets by hash & mask. Expected load is 16 per bucket.
 */
static void check_spread(const struct hash_key *key, int vary_port)
{
	uint32_t *load = calloc(DIST_BUCKETS, sizeof(*load));
	uint32_t max = 0, empty = 0;
	double chi2 = 0, e = (double)DIST_KEYS / DIST_BUCKETS;

	ck_assert_ptr_nonnull(load);
	for (uint32_t i = 0; i < DIST_KEYS; i++) {
		uint64_t w[2];
		uint32_t src = 0x0a000000u + (vary_port ? 0 : i);
		uint16_t sport = (uint16_t)(vary_port ? i : 40000);

		w[0] = (uint64_t)sport | (uint64_t)443 << 16 |
		       (uint64_t)6 << 32 | (uint64_t)4 << 40;
		w[1] = (uint64_t)src | (uint64_t)0xc0a80101u << 32;
		if (vary_port) /* ports only have 16 bits: vary an address */
			w[1] += (uint64_t)(i >> 16) << 32;
		load[hash_words13(key, w, 2) & (DIST_BUCKETS - 1)]++;
	}
	for (uint32_t b = 0; b < DIST_BUCKETS; b++) {
		double d = load[b] - e;

		chi2 += d * d / e;
		if (load[b] > max)
			max = load[b];
		empty += !load[b];
	}
	free(load);
	ck_assert_msg(max < 60, "max bucket load %u (expected ~35)", max);
	/* P(Poisson(16) = 0) * 65536 ~ 0.007: none should be empty. */
	ck_assert_msg(empty < 10, "%u empty buckets", empty);
	/* 65535 degrees of freedom: mean 65535, sd 362. Allow +-10%. */
	ck_assert_msg(chi2 > 0.9 * (DIST_BUCKETS - 1) &&
			      chi2 < 1.1 * (DIST_BUCKETS - 1),
		      "chi-square %.0f for 65535 degrees of freedom", chi2);
}

START_TEST(test_bucket_spread_fixed_key)
{
	check_spread(&ref_key, 0);
	check_spread(&ref_key, 1);
}
END_TEST

START_TEST(test_bucket_spread_random_key)
{
	struct hash_key key;

	ck_assert_int_eq(hash_key_random(&key), 0);
	check_spread(&key, 0);
}
END_TEST

static Suite *hash_suite(void)
{
	Suite *s = suite_create("hash");
	TCase *tc;

	tc = tcase_create("siphash24");
	tcase_add_loop_test(tc, test_siphash24_vectors, 0, 64);
	tcase_add_test(tc, test_siphash24_paper_examples);
	tcase_add_test(tc, test_siphash24_unaligned);
	suite_add_tcase(s, tc);

	tc = tcase_create("words13");
	tcase_add_test(tc, test_words13_vectors);
	tcase_add_test(tc, test_words13_deterministic);
	tcase_add_test(tc, test_words13_key_matters);
	tcase_add_test(tc, test_words13_bit_flips);
	tcase_add_test(tc, test_words13_length_matters);
	suite_add_tcase(s, tc);

	tc = tcase_create("key");
	tcase_add_test(tc, test_key_random);
	suite_add_tcase(s, tc);

	tc = tcase_create("distribution");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_bucket_spread_fixed_key);
	tcase_add_test(tc, test_bucket_spread_random_key);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(hash_suite());
}
