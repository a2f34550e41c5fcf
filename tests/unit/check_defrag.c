// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * check_defrag.c - reassembly for replay as the kernel's nf_defrag does
 * it: in order and out of order, IPv4 and IPv6, duplicates dropped alone,
 * overlaps and corrupt ends dropping the datagram, unaligned IPv6
 * fragments, the 64 KiB limit and the queue timeouts.
 */
#include <check.h>

#include "defrag.h"
#include "pkt.h"
#include "testutil.h"

#define C4 "192.0.2.7"
#define S4 "198.51.100.1"
#define C6 "2001:db8::7"
#define S6 "2001:db8::1"

static struct defrag *d;
static uint8_t dgram[4000]; /* a UDP datagram: header and pattern */
static size_t dlen;
static const uint8_t *out;
static size_t outlen;

static void setup(void)
{
	d = defrag_new();
	ck_assert_ptr_nonnull(d);
	dlen = tu_udp(dgram, 5000, 53, 3000 - 8);
	for (size_t i = 8; i < dlen; i++)
		dgram[i] = (uint8_t)(i * 7);
}

static void teardown(void)
{
	defrag_free(d);
}

/* Bytes [off, off + n) of dgram as an IPv4 fragment, given at time ms. */
static enum defrag_result v4(uint32_t off, size_t n, int mf, uint64_t ms)
{
	uint8_t b[2000];
	const uint8_t *data = off + n <= sizeof(dgram) ? dgram + off : dgram;
	size_t len = tu_ip4(b, IPPROTO_UDP, C4, S4, data, n);

	tu_ip4_frag(b, 77, mf, off);
	return defrag_packet(d, b, len, len, ms, &out, &outlen);
}

static enum defrag_result v6(uint32_t off, size_t n, int m, uint64_t ms)
{
	uint8_t rest[2000], b[2100];
	size_t len = tu_ip6_frag(rest, IPPROTO_UDP, off, m, 99);

	memcpy(rest + len, off + n <= sizeof(dgram) ? dgram + off : dgram, n);
	len = tu_ip6(b, IPPROTO_FRAGMENT, C6, S6, rest, len + n);
	return defrag_packet(d, b, len, len, ms, &out, &outlen);
}

/* What came out is dgram whole, in an IPv4 or IPv6 packet that the
 * parser takes as one unfragmented UDP datagram. */
static void whole(int family)
{
	size_t hl = family == 4 ? 20 : 40;
	struct pkt p;

	ck_assert_uint_eq(outlen, hl + dlen);
	ck_assert_mem_eq(out + hl, dgram, dlen);
	ck_assert_int_eq(pkt_parse(&p, out, outlen, outlen, 0), PKT_FLOW);
	ck_assert_uint_eq(p.frag, PKT_FRAG_NONE);
	ck_assert_uint_eq(p.proto, IPPROTO_UDP);
	ck_assert_uint_eq(p.ip_len, hl + dlen);
}

START_TEST(not_a_fragment_passes)
{
	uint8_t b[100];
	size_t len = tu_ip4(b, IPPROTO_UDP, C4, S4, dgram, 20);

	ck_assert_int_eq(defrag_packet(d, b, len, len, 0, &out, &outlen),
			 DEFRAG_PASS);
	ck_assert_uint_eq(defrag_stats(d)->fragments, 0);
}
END_TEST

START_TEST(v4_in_order)
{
	ck_assert_int_eq(v4(0, 1480, 1, 0), DEFRAG_HELD);
	ck_assert_int_eq(v4(1480, 1480, 1, 1), DEFRAG_HELD);
	ck_assert_int_eq(v4(2960, dlen - 2960, 0, 2), DEFRAG_DONE);
	whole(4);
	ck_assert_uint_eq(defrag_stats(d)->reassembled, 1);
	ck_assert_uint_eq(defrag_stats(d)->held_bytes, 0);
}
END_TEST

START_TEST(v4_out_of_order)
{
	ck_assert_int_eq(v4(2960, dlen - 2960, 0, 0), DEFRAG_HELD);
	ck_assert_int_eq(v4(0, 1480, 1, 1), DEFRAG_HELD);
	ck_assert_int_eq(v4(1480, 1480, 1, 2), DEFRAG_DONE);
	whole(4);
}
END_TEST

START_TEST(duplicate_dropped_alone)
{
	ck_assert_int_eq(v4(0, 1480, 1, 0), DEFRAG_HELD);
	ck_assert_int_eq(v4(1480, 1480, 1, 0), DEFRAG_HELD);
	/* inside the run the two make: a duplicate, though it spans both */
	ck_assert_int_eq(v4(8, 1480, 1, 0), DEFRAG_DROPPED);
	ck_assert_uint_eq(defrag_stats(d)->dropped[DEFRAG_DROP_DUPLICATE], 1);
	ck_assert_int_eq(v4(2960, dlen - 2960, 0, 2), DEFRAG_DONE);
	whole(4);
}
END_TEST

START_TEST(overlap_drops_datagram)
{
	ck_assert_int_eq(v4(0, 1480, 1, 0), DEFRAG_HELD);
	ck_assert_int_eq(v4(1472, 1480, 1, 0), DEFRAG_DROPPED);
	ck_assert_uint_eq(defrag_stats(d)->dropped[DEFRAG_DROP_OVERLAP], 2);
	/* the first is gone with it: the rest alone completes nothing */
	ck_assert_int_eq(v4(1480, 1480, 1, 0), DEFRAG_HELD);
	ck_assert_int_eq(v4(2960, dlen - 2960, 0, 0), DEFRAG_HELD);
}
END_TEST

START_TEST(corrupt_end_drops_datagram)
{
	ck_assert_int_eq(v4(2960, dlen - 2960, 0, 0), DEFRAG_HELD);
	/* a second last fragment that ends elsewhere */
	ck_assert_int_eq(v4(1480, 1480, 0, 0), DEFRAG_DROPPED);
	ck_assert_uint_eq(defrag_stats(d)->dropped[DEFRAG_DROP_CORRUPT], 2);
}
END_TEST

START_TEST(timeout_v4_30s_v6_60s)
{
	ck_assert_int_eq(v4(0, 1480, 1, 0), DEFRAG_HELD);
	ck_assert_int_eq(v6(0, 1448, 1, 0), DEFRAG_HELD);
	/* 30 s on, the IPv4 datagram is gone, the IPv6 one is not */
	ck_assert_int_eq(v4(1480, 1480, 1, 30000), DEFRAG_HELD);
	ck_assert_uint_eq(defrag_stats(d)->dropped[DEFRAG_DROP_TIMEOUT], 1);
	ck_assert_int_eq(v6(1448, 1448, 1, 59999), DEFRAG_HELD);
	ck_assert_int_eq(v6(2896, dlen - 2896, 0, 59999), DEFRAG_DONE);
	whole(6);
	ck_assert_int_eq(v4(2960, dlen - 2960, 0, 30001), DEFRAG_HELD);
}
END_TEST

START_TEST(v6_out_of_order)
{
	ck_assert_int_eq(v6(1448, dlen - 1448, 0, 0), DEFRAG_HELD);
	ck_assert_int_eq(v6(0, 1448, 1, 0), DEFRAG_DONE);
	whole(6);
}
END_TEST

START_TEST(v6_unaligned_dropped_alone)
{
	ck_assert_int_eq(v6(0, 1001, 1, 0), DEFRAG_DROPPED);
	ck_assert_uint_eq(defrag_stats(d)->dropped[DEFRAG_DROP_UNALIGNED], 1);
	/* IPv4 cuts such a fragment down instead */
	ck_assert_int_eq(v4(0, 1001, 1, 0), DEFRAG_HELD);
	ck_assert_int_eq(v4(1000, 1000, 1, 0), DEFRAG_HELD);
	ck_assert_int_eq(v4(2000, dlen - 2000, 0, 0), DEFRAG_DONE);
	whole(4);
}
END_TEST

START_TEST(over_64k_dropped)
{
	uint32_t off;

	/* 65528 bytes of data and a 20-byte header: past 65535 */
	for (off = 0; off < 65520; off += 1480)
		ck_assert_int_eq(
			v4(off, off + 1480 > 65520 ? 65520 - off : 1480, 1, 0),
			DEFRAG_HELD);
	ck_assert_int_eq(v4(65520, 8, 0, 0), DEFRAG_DROPPED);
	ck_assert_uint_eq(defrag_stats(d)->reassembled, 0);
	ck_assert_uint_eq(defrag_stats(d)->dropped[DEFRAG_DROP_OVERSIZE],
			  65520 / 1480 + 2);
	/* IPv6: a fragment ending past 65535 is dropped at once */
	ck_assert_int_eq(v6(65528, 16, 0, 0), DEFRAG_DROPPED);
	ck_assert_uint_eq(defrag_stats(d)->dropped[DEFRAG_DROP_OVERSIZE],
			  65520 / 1480 + 3);
	ck_assert_uint_eq(defrag_stats(d)->held_bytes, 0);
}
END_TEST

static Suite *defrag_suite(void)
{
	Suite *s = suite_create("defrag");
	TCase *tc = tcase_create("defrag");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, not_a_fragment_passes);
	tcase_add_test(tc, v4_in_order);
	tcase_add_test(tc, v4_out_of_order);
	tcase_add_test(tc, duplicate_dropped_alone);
	tcase_add_test(tc, overlap_drops_datagram);
	tcase_add_test(tc, corrupt_end_drops_datagram);
	tcase_add_test(tc, timeout_v4_30s_v6_60s);
	tcase_add_test(tc, v6_out_of_order);
	tcase_add_test(tc, v6_unaligned_dropped_alone);
	tcase_add_test(tc, over_64k_dropped);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(defrag_suite());
}
