// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * check_replay.c - replaying captures: every link type replay takes, in
 * pcap and pcapng, VLAN tags, non-IP frames skipped, the capture's clock
 * driving timeouts, and a clear error for what it does not take. The
 * captures are written here, with libpcap, at test time.
 */
#define _GNU_SOURCE
#include <check.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "replay.h"
#include "testutil.h"

#ifndef DLT_LINUX_SLL2
#define DLT_LINUX_SLL2 276
#endif

static char dir[64], path[128];
static struct engine e;
static struct replay_stats rs;
static char err[512];

static void setup(void)
{
	struct hash_key k = { 1, 2 };
	struct conf c;

	strcpy(dir, "/tmp/check_replay.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/cap", dir);
	conf_defaults(&c);
	c.max_flows = 256;
	ck_assert_int_eq(engine_init(&e, tu_params(&c), &k, 0), 0);
}

static void teardown(void)
{
	engine_destroy(&e);
	unlink(path);
	rmdir(dir);
}

/* A little exchange: UDP there and back, then a ping, then 40 seconds
 * later the same UDP flow again (its 30 s unreplied... no: it was
 * replied, but within two seconds, so 30 s apply and it has expired). */
struct frame {
	long sec;
	uint8_t ip[128];
	size_t len;
};

static size_t frames(struct frame *f)
{
	uint8_t l4[16];

	f[0].sec = 100;
	f[0].len = tu_ip4(f[0].ip, IPPROTO_UDP, "10.1.0.1", "10.1.0.2", l4,
			  tu_udp(l4, 4000, 53, 8));
	f[1].sec = 100;
	f[1].len = tu_ip4(f[1].ip, IPPROTO_UDP, "10.1.0.2", "10.1.0.1", l4,
			  tu_udp(l4, 53, 4000, 8));
	f[2].sec = 101;
	f[2].len = tu_ip6(f[2].ip, IPPROTO_ICMPV6, "2001:db8::1", "2001:db8::2",
			  l4, tu_icmp(l4, 128, 0, 9));
	f[3].sec = 141;
	f[3].len = tu_ip4(f[3].ip, IPPROTO_UDP, "10.1.0.1", "10.1.0.2", l4,
			  tu_udp(l4, 4000, 53, 8));
	return 4;
}

/* Write the frames with link header hdr (hlen bytes, its protocol field
 * patched by fix()) as a pcap of link type dlt; one non-IP frame too. */
static void write_pcap(int dlt, const uint8_t *hdr, size_t hlen,
		       void (*fix)(uint8_t *h, int ipv6))
{
	pcap_t *pd = pcap_open_dead(dlt, 65535);
	pcap_dumper_t *dump = pcap_dump_open(pd, path);
	struct frame f[8];
	size_t n = frames(f);

	ck_assert_ptr_nonnull(dump);
	for (size_t i = 0; i <= n; i++) {
		uint8_t buf[256];
		struct pcap_pkthdr h = { 0 };
		size_t len = hlen;

		if (hlen)
			memcpy(buf, hdr, hlen);
		if (i < n) {
			fix(buf, f[i].ip[0] >> 4 == 6);
			memcpy(buf + hlen, f[i].ip, f[i].len);
			len += f[i].len;
			h.ts.tv_sec = f[i].sec;
		} else {
			/* An ARP frame or junk: skipped. */
			fix(buf, -1);
			memset(buf + hlen, 0x11, 28);
			len += 28;
			h.ts.tv_sec = 141;
		}
		h.caplen = h.len = (bpf_u_int32)len;
		pcap_dump((u_char *)dump, &h, buf);
	}
	pcap_dump_close(dump);
	pcap_close(pd);
}

static void check_result(const char *linktype)
{
	ck_assert_msg(replay_file(&e, path, &rs, err, sizeof(err)) == 0, "%s",
		      err);
	ck_assert_str_eq(rs.linktype, linktype);
	ck_assert_uint_eq(rs.frames, 5);
	ck_assert_uint_eq(rs.packets, 4);
	ck_assert_uint_eq(rs.not_ip, 1);
	ck_assert_uint_eq(e.st.packets, 4);
	/* The UDP and ICMPv6 flows expired in the 40 s gap (30 s timeouts),
	 * and the UDP flow came back: 3 flows made, 2 expired. */
	ck_assert_uint_eq(e.st.flows_created, 3);
	ck_assert_uint_eq(e.table.expired, 2);
	ck_assert_uint_eq(e.table.count, 1);
	ck_assert_int_eq((int)rs.trace_seconds, 41);
}

static void fix_eth(uint8_t *h, int v6)
{
	put16(h + 12, v6 < 0 ? 0x0806 : v6 ? 0x86dd : 0x0800);
}

START_TEST(ethernet)
{
	uint8_t h[14] = { 0 };

	write_pcap(DLT_EN10MB, h, sizeof(h), fix_eth);
	check_result("EN10MB");
}
END_TEST

static void fix_vlan(uint8_t *h, int v6)
{
	put16(h + 12, 0x88a8); /* 802.1ad outer tag */
	put16(h + 16, 0x8100); /* 802.1Q inner tag */
	put16(h + 20, v6 < 0 ? 0x0806 : v6 ? 0x86dd : 0x0800);
}

START_TEST(ethernet_two_vlan_tags)
{
	uint8_t h[22] = { 0 };

	write_pcap(DLT_EN10MB, h, sizeof(h), fix_vlan);
	check_result("EN10MB");
}
END_TEST

static void fix_sll(uint8_t *h, int v6)
{
	put16(h + 14, v6 < 0 ? 0x0806 : v6 ? 0x86dd : 0x0800);
}

START_TEST(linux_sll)
{
	uint8_t h[16] = { 0 };

	write_pcap(DLT_LINUX_SLL, h, sizeof(h), fix_sll);
	check_result("LINUX_SLL");
}
END_TEST

static void fix_sll2(uint8_t *h, int v6)
{
	put16(h, v6 < 0 ? 0x0806 : v6 ? 0x86dd : 0x0800);
}

START_TEST(linux_sll2)
{
	uint8_t h[20] = { 0 };

	write_pcap(DLT_LINUX_SLL2, h, sizeof(h), fix_sll2);
	check_result("LINUX_SLL2");
}
END_TEST

static void fix_none(uint8_t *h, int v6)
{
	(void)h;
	(void)v6;
}

START_TEST(raw_ip)
{
	write_pcap(DLT_RAW, NULL, 0, fix_none);
	check_result("RAW");
}
END_TEST

static void fix_null(uint8_t *h, int v6)
{
	h[0] = v6 ? 30 : 2; /* AF_INET6 on BSD, AF_INET, little-endian */
}

START_TEST(loopback_null)
{
	uint8_t h[4] = { 0 };

	write_pcap(DLT_NULL, h, sizeof(h), fix_null);
	check_result("NULL");
}
END_TEST

START_TEST(loopback_loop)
{
	uint8_t h[4] = { 0 };

	write_pcap(DLT_LOOP, h, sizeof(h), fix_null);
	check_result("LOOP");
}
END_TEST

/* pcapng, built by hand: a section header, one Ethernet interface and
 * an enhanced packet block per frame (timestamps in microseconds). */
static void put32le(FILE *f, uint32_t v)
{
	uint8_t b[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16),
			 (uint8_t)(v >> 24) };

	fwrite(b, 1, 4, f);
}

START_TEST(pcapng)
{
	struct frame fr[8];
	size_t n = frames(fr);
	FILE *f = fopen(path, "wb");

	ck_assert_ptr_nonnull(f);
	put32le(f, 0x0a0d0d0a); /* section header block */
	put32le(f, 28);
	put32le(f, 0x1a2b3c4d);
	put32le(f, 0x00000001); /* version 1.0 */
	put32le(f, 0xffffffff); /* section length unknown */
	put32le(f, 0xffffffff);
	put32le(f, 28);
	put32le(f, 1); /* interface description block */
	put32le(f, 20);
	put32le(f, 1); /* Ethernet, reserved 0 */
	put32le(f, 65535);
	put32le(f, 20);
	for (size_t i = 0; i <= n; i++) {
		uint8_t frame[256] = { 0 };
		size_t len = 14, pad;
		uint64_t us = (uint64_t)(i < n ? fr[i].sec : 141) * 1000000;

		if (i < n) {
			fix_eth(frame, fr[i].ip[0] >> 4 == 6);
			memcpy(frame + 14, fr[i].ip, fr[i].len);
			len += fr[i].len;
		} else {
			fix_eth(frame, -1);
			len += 28;
		}
		pad = (4 - len % 4) % 4;
		put32le(f, 6); /* enhanced packet block */
		put32le(f, (uint32_t)(32 + len + pad));
		put32le(f, 0);
		put32le(f, (uint32_t)(us >> 32));
		put32le(f, (uint32_t)us);
		put32le(f, (uint32_t)len);
		put32le(f, (uint32_t)len);
		fwrite(frame, 1, len + pad, f);
		put32le(f, (uint32_t)(32 + len + pad));
	}
	fclose(f);
	check_result("EN10MB");
}
END_TEST

START_TEST(unsupported_link_type)
{
	uint8_t h[24] = { 0 };

	write_pcap(DLT_IEEE802_11, h, sizeof(h), fix_none);
	ck_assert_int_eq(replay_file(&e, path, &rs, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "link type IEEE802_11 (105) is "
					  "not supported"));
	ck_assert_uint_eq(e.st.packets, 0);
}
END_TEST

START_TEST(not_a_capture)
{
	FILE *f = fopen(path, "w");

	fputs("this is not a capture\n", f);
	fclose(f);
	ck_assert_int_eq(replay_file(&e, path, &rs, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, path));
	ck_assert_int_eq(replay_file(&e, "/nonexistent.pcap", &rs, err,
				     sizeof(err)),
			 -1);
	ck_assert_ptr_nonnull(strstr(err, "/nonexistent.pcap"));
}
END_TEST

START_TEST(truncated_capture)
{
	uint8_t h[14] = { 0 };
	long size;
	FILE *f;

	write_pcap(DLT_EN10MB, h, sizeof(h), fix_eth);
	f = fopen(path, "r+");
	fseek(f, 0, SEEK_END);
	size = ftell(f);
	ck_assert_int_eq(ftruncate(fileno(f), size - 10), 0);
	fclose(f);
	/* What was read stays counted; the cut is reported. */
	ck_assert_int_eq(replay_file(&e, path, &rs, err, sizeof(err)), -1);
	ck_assert_uint_eq(rs.packets, 4);
	ck_assert_ptr_nonnull(strstr(err, "after 4 frames"));
}
END_TEST

/* Issue 13, finding 1, as an attacker sends it and a capture of snap
 * length 256 (the old copy_range) holds it: 20 IPv6 SYNs from one address,
 * their TCP headers behind 264 bytes of destination options. Under
 * max_new_per_source = 1 they must not all pass. */
START_TEST(long_extension_headers_meet_limits)
{
	pcap_t *pd = pcap_open_dead(DLT_RAW, 256);
	pcap_dumper_t *dump = pcap_dump_open(pd, path);
	struct hash_key k = { 1, 2 };
	struct conf c;

	ck_assert_ptr_nonnull(dump);
	for (uint16_t i = 0; i < 20; i++) {
		uint8_t rest[264 + 20], b[40 + sizeof(rest)];
		struct pcap_pkthdr h = { .ts = { .tv_sec = 100 } };

		tu_ip6_ext(rest, IPPROTO_DSTOPTS, IPPROTO_TCP, 264);
		tu_tcp(rest + 264, (uint16_t)(40000 + i), 80, TCPF_SYN, 7, 0);
		h.len = (bpf_u_int32)tu_ip6(b, IPPROTO_DSTOPTS, "2001:db8::66",
					    "2001:db8::1", rest, sizeof(rest));
		h.caplen = 256;
		pcap_dump((u_char *)dump, &h, b);
	}
	pcap_dump_close(dump);
	pcap_close(pd);

	engine_destroy(&e);
	conf_defaults(&c);
	c.max_new_per_source = 1;
	ck_assert_int_eq(engine_init(&e, tu_params(&c), &k, 0), 0);
	ck_assert_msg(replay_file(&e, path, &rs, err, sizeof(err)) == 0, "%s",
		      err);
	ck_assert_uint_eq(rs.packets, 20);
	ck_assert_uint_eq(e.st.malformed[PKT_ERR_COPY_RANGE], 20);
	ck_assert_uint_ge(e.st.dropped, 19);
}
END_TEST

/*
 * Fragments are reassembled before the engine, as the kernel does before
 * conntrack: one UDP datagram in two fragments is one packet of its whole
 * length; a lone fragment of another never reaches the engine.
 */
START_TEST(fragments_reassembled)
{
	pcap_t *pd = pcap_open_dead(DLT_RAW, 65535);
	pcap_dumper_t *dump = pcap_dump_open(pd, path);
	uint8_t dg[1208], ip[4][1300];
	size_t len[4], n = 0;

	ck_assert_ptr_nonnull(dump);
	tu_udp(dg, 4000, 53, sizeof(dg) - 8);
	len[n] = tu_ip4(ip[n], IPPROTO_UDP, "10.1.0.1", "10.1.0.2", dg, 608);
	tu_ip4_frag(ip[n++], 5, 1, 0);
	len[n] = tu_ip4(ip[n], IPPROTO_UDP, "10.1.0.1", "10.1.0.2", dg + 608,
			600);
	tu_ip4_frag(ip[n++], 5, 0, 608);
	len[n] = tu_ip4(ip[n], IPPROTO_UDP, "10.1.0.1", "10.1.0.3", dg, 608);
	tu_ip4_frag(ip[n++], 6, 1, 0);
	for (size_t i = 0; i < n; i++) {
		struct pcap_pkthdr h = { .ts = { 100, (long)i },
					 .caplen = (bpf_u_int32)len[i],
					 .len = (bpf_u_int32)len[i] };

		pcap_dump((u_char *)dump, &h, ip[i]);
	}
	pcap_dump_close(dump);
	pcap_close(pd);
	ck_assert_int_eq(replay_file(&e, path, &rs, err, sizeof(err)), 0);
	ck_assert_uint_eq(rs.packets, 3);
	ck_assert_uint_eq(e.st.packets, 1);
	ck_assert_uint_eq(e.st.fragments, 0);
	ck_assert_uint_eq(e.table.count, 1);
	ck_assert_uint_eq(rs.defrag.reassembled, 1);
	ck_assert_uint_eq(rs.defrag.fragments, 3);
}
END_TEST

static Suite *replay_suite(void)
{
	Suite *s = suite_create("replay");
	TCase *tc = tcase_create("replay");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, ethernet);
	tcase_add_test(tc, ethernet_two_vlan_tags);
	tcase_add_test(tc, linux_sll);
	tcase_add_test(tc, linux_sll2);
	tcase_add_test(tc, raw_ip);
	tcase_add_test(tc, loopback_null);
	tcase_add_test(tc, loopback_loop);
	tcase_add_test(tc, pcapng);
	tcase_add_test(tc, unsupported_link_type);
	tcase_add_test(tc, not_a_capture);
	tcase_add_test(tc, truncated_capture);
	tcase_add_test(tc, long_extension_headers_meet_limits);
	tcase_add_test(tc, fragments_reassembled);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(replay_suite());
}
