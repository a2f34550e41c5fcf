// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * check_dump.c - flows in conntrack -L format and JSON, field for field,
 * and the filters of nfqtrackctl list.
 */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "engine.h"
#include "dump.h"
#include "testutil.h"

static struct engine e;
static struct engine_result res;
static const struct hash_key key = { 7, 8 };

static void setup(void)
{
	struct conf c;

	conf_defaults(&c);
	c.max_flows = 64;
	ck_assert_int_eq(engine_init(&e, tu_params(&c), &key, 5000000), 0);
}

static void teardown(void)
{
	engine_destroy(&e);
}

static void feed(const uint8_t *b, size_t len)
{
	engine_packet(&e, b, len, len, 0, &res);
}

/* The only flow in the table. */
static const struct flow *only(void)
{
	const struct flow *found = NULL;

	for (uint32_t b = 0; b < e.table.nbuckets[0]; b++)
		if (e.table.bucket[0][b] != FLOW_NIL) {
			ck_assert_ptr_null(found);
			found = flow_table_at(&e.table, e.table.bucket[0][b]);
		}
	ck_assert_ptr_nonnull(found);
	return found;
}

static const char *line(bool json)
{
	static char buf[DUMP_LINE_MAX];
	const struct flow *f = only();

	dump_format(buf, sizeof(buf), f, engine_flow_left(&e, f),
		    engine_flow_acct(&e, f), json);
	return buf;
}

START_TEST(tcp_unreplied_then_assured)
{
	uint8_t l4[20], b[64];

	feed(b, tu_ip4(b, IPPROTO_TCP, "192.0.2.7", "198.51.100.1", l4,
		       tu_tcp(l4, 51324, 443, TCPF_SYN, 100, 0)));
	ck_assert_str_eq(
		line(false),
		"tcp      6 120 SYN_SENT src=192.0.2.7 dst=198.51.100.1 "
		"sport=51324 dport=443 [UNREPLIED] src=198.51.100.1 "
		"dst=192.0.2.7 sport=443 dport=51324 mark=0 use=1\n");
	feed(b, tu_ip4(b, IPPROTO_TCP, "198.51.100.1", "192.0.2.7", l4,
		       tu_tcp(l4, 443, 51324, TCPF_SYN | TCPF_ACK, 900, 101)));
	feed(b, tu_ip4(b, IPPROTO_TCP, "192.0.2.7", "198.51.100.1", l4,
		       tu_tcp(l4, 51324, 443, TCPF_ACK, 101, 901)));
	ck_assert_str_eq(line(false),
			 "tcp      6 432000 ESTABLISHED src=192.0.2.7 "
			 "dst=198.51.100.1 sport=51324 dport=443 "
			 "src=198.51.100.1 dst=192.0.2.7 sport=443 "
			 "dport=51324 [ASSURED] mark=0 use=1\n");
	ck_assert_str_eq(
		line(true),
		"{\"family\":\"ipv4\",\"proto\":\"tcp\",\"protonum\":6,"
		"\"timeout\":432000,\"state\":\"ESTABLISHED\","
		"\"src\":\"192.0.2.7\",\"dst\":\"198.51.100.1\","
		"\"sport\":51324,\"dport\":443,"
		"\"reply_src\":\"198.51.100.1\","
		"\"reply_dst\":\"192.0.2.7\",\"reply_sport\":443,"
		"\"reply_dport\":51324,\"unreplied\":false,"
		"\"assured\":true}");
	/* Time passes: the seconds left go down. */
	engine_set_time(&e, 5000000 + 1000 * 1000);
	ck_assert_ptr_nonnull(strstr(line(false), " 431000 ESTABLISHED "));
}
END_TEST

/* A flow the kernel's fast path carries: flagged, in both forms. */
START_TEST(fast_flow_flagged)
{
	uint8_t l4[20], b[64];

	feed(b, tu_ip4(b, IPPROTO_TCP, "192.0.2.7", "198.51.100.1", l4,
		       tu_tcp(l4, 51324, 443, TCPF_SYN, 100, 0)));
	ck_assert_ptr_null(strstr(line(false), "[FAST]"));
	ck_assert_ptr_null(strstr(line(true), "fast"));
	flow_flags_set((struct flow *)only(), FLOW_F_FAST);
	ck_assert_ptr_nonnull(strstr(line(false), " [FAST] mark=0 use=1\n"));
	ck_assert_ptr_nonnull(
		strstr(line(true), ",\"assured\":false,\"fast\":true}"));
}
END_TEST

/*
 * accounting = yes: packets and IP bytes by direction after each tuple,
 * as conntrack -L prints them with nf_conntrack_acct = 1; an invalid
 * packet is not counted; switched on by a reload, flows count from 0;
 * off again, the lines are as before.
 */
START_TEST(accounting_counters)
{
	uint8_t l4[20], b[64];
	struct conf c;
	uint64_t mem;

	conf_defaults(&c);
	c.max_flows = 64;
	c.accounting = true;
	engine_destroy(&e);
	ck_assert_int_eq(engine_init(&e, tu_params(&c), &key, 5000000), 0);
	/* A small table is populated in full, counters too. */
	ck_assert_uint_eq(group_memory(engine_group(&e)),
			  group_reserved(engine_group(&e)));
	ck_assert_uint_eq(e.acct[1].populated, 64);
	feed(b, tu_ip4(b, IPPROTO_TCP, "192.0.2.7", "198.51.100.1", l4,
		       tu_tcp(l4, 51324, 443, TCPF_SYN, 100, 0)));
	ck_assert_str_eq(
		line(false),
		"tcp      6 120 SYN_SENT src=192.0.2.7 dst=198.51.100.1 "
		"sport=51324 dport=443 packets=1 bytes=40 [UNREPLIED] "
		"src=198.51.100.1 dst=192.0.2.7 sport=443 dport=51324 "
		"packets=0 bytes=0 mark=0 use=1\n");
	feed(b, tu_ip4(b, IPPROTO_TCP, "198.51.100.1", "192.0.2.7", l4,
		       tu_tcp(l4, 443, 51324, TCPF_SYN | TCPF_ACK, 900, 101)));
	feed(b, tu_ip4(b, IPPROTO_TCP, "192.0.2.7", "198.51.100.1", l4,
		       tu_tcp(l4, 51324, 443, TCPF_ACK, 101, 901)));
	/* Impossible flags: invalid, not counted. */
	feed(b, tu_ip4(b, IPPROTO_TCP, "192.0.2.7", "198.51.100.1", l4,
		       tu_tcp(l4, 51324, 443, TCPF_SYN | TCPF_FIN, 101, 901)));
	ck_assert_int_ne(res.invalid, INV_NONE);
	ck_assert_ptr_nonnull(
		strstr(line(false), "dport=443 packets=2 bytes=80 src="));
	ck_assert_ptr_nonnull(strstr(
		line(false), "dport=51324 packets=1 bytes=40 [ASSURED]"));
	ck_assert_ptr_nonnull(strstr(
		line(true), "\"dport\":443,\"packets\":2,\"bytes\":80,"));
	ck_assert_ptr_nonnull(
		strstr(line(true), "\"reply_packets\":1,\"reply_bytes\":40,"));

	/* Off by a reload: no counters, no memory for them. */
	mem = group_memory(engine_group(&e));
	c.accounting = false;
	ck_assert_int_eq(group_reconfigure(engine_group(&e), tu_params(&c)), 0);
	ck_assert_ptr_null(strstr(line(false), "packets="));
	ck_assert_ptr_null(e.acct[0].base);
	ck_assert_ptr_null(e.acct[1].base);
	ck_assert_uint_le(group_memory(engine_group(&e)) +
				  2 * 64 * sizeof(struct flow_acct),
			  mem);
	/* On again: the flow counts from 0. */
	c.accounting = true;
	ck_assert_int_eq(group_reconfigure(engine_group(&e), tu_params(&c)), 0);
	feed(b, tu_ip4(b, IPPROTO_TCP, "198.51.100.1", "192.0.2.7", l4,
		       tu_tcp(l4, 443, 51324, TCPF_ACK, 901, 101)));
	ck_assert_ptr_nonnull(
		strstr(line(false), "dport=443 packets=0 bytes=0 src="));
	ck_assert_ptr_nonnull(strstr(
		line(false), "dport=51324 packets=1 bytes=40 [ASSURED]"));

	/* A reload that grows the table grows the counters first: flows in
	 * the new slots count too. */
	c.max_flows = 256;
	ck_assert_int_eq(group_reconfigure(engine_group(&e), tu_params(&c)), 0);
	for (int v6 = 0; v6 < 2; v6++)
		ck_assert_uint_ge(e.acct[v6].capacity,
				  e.table.slab[v6].capacity);
	for (uint16_t port = 1; port <= 200; port++) {
		uint8_t u[8];

		feed(b, tu_ip4(b, IPPROTO_UDP, "192.0.2.9", "198.51.100.1", u,
			       tu_udp(u, port, 53, 0)));
	}
	ck_assert_uint_eq(e.table.count, 201);
	ck_assert_uint_gt(e.table.slab[0].hwm, 64);
	for (uint32_t i = 64; i < e.table.slab[0].hwm; i++) {
		const struct flow_acct *a = slab_ptr(&e.acct[0], i);

		ck_assert_uint_eq(a->packets[FLOW_DIR_ORIGINAL], 1);
	}
}
END_TEST

START_TEST(originator_is_the_reply_side_of_the_key)
{
	/* The flow's key puts the lower address first; the listing must
	 * still show who opened it. */
	uint8_t l4[16], b[64];

	feed(b, tu_ip4(b, IPPROTO_UDP, "203.0.113.9", "10.0.0.1", l4,
		       tu_udp(l4, 5353, 53, 8)));
	ck_assert_str_eq(
		line(false),
		"udp      17 30 src=203.0.113.9 dst=10.0.0.1 sport=5353 "
		"dport=53 [UNREPLIED] src=10.0.0.1 dst=203.0.113.9 "
		"sport=53 dport=5353 mark=0 use=1\n");
}
END_TEST

START_TEST(icmp_and_icmpv6)
{
	uint8_t l4[8], b[64];

	feed(b, tu_ip4(b, IPPROTO_ICMP, "10.0.0.1", "10.0.0.2", l4,
		       tu_icmp(l4, 8, 0, 4242)));
	ck_assert_str_eq(
		line(false),
		"icmp     1 30 src=10.0.0.1 dst=10.0.0.2 type=8 code=0 "
		"id=4242 [UNREPLIED] src=10.0.0.2 dst=10.0.0.1 type=0 "
		"code=0 id=4242 mark=0 use=1\n");
	teardown();
	setup();
	feed(b, tu_ip6(b, IPPROTO_ICMPV6, "2001:db8::1", "2001:db8::2", l4,
		       tu_icmp(l4, 128, 0, 7)));
	feed(b, tu_ip6(b, IPPROTO_ICMPV6, "2001:db8::2", "2001:db8::1", l4,
		       tu_icmp(l4, 129, 0, 7)));
	ck_assert_str_eq(
		line(false),
		"icmpv6   58 30 src=2001:db8::1 dst=2001:db8::2 type=128 "
		"code=0 id=7 src=2001:db8::2 dst=2001:db8::1 "
		"type=129 code=0 id=7 mark=0 use=1\n");
	ck_assert_ptr_nonnull(strstr(line(true), "\"reply_type\":129"));
}
END_TEST

START_TEST(other_protocols)
{
	uint8_t l4[8] = { 0 }, b[64];

	feed(b, tu_ip4(b, IPPROTO_GRE, "10.0.0.1", "10.0.0.2", l4, 4));
	ck_assert_str_eq(line(false),
			 "gre      47 30 src=10.0.0.1 dst=10.0.0.2 srckey=0x0 "
			 "dstkey=0x0 [UNREPLIED] src=10.0.0.2 dst=10.0.0.1 "
			 "srckey=0x0 dstkey=0x0 mark=0 use=1\n");
	teardown();
	setup();
	feed(b, tu_ip4(b, IPPROTO_ESP, "10.0.0.1", "10.0.0.2", l4, 8));
	ck_assert_str_eq(
		line(false),
		"unknown  50 600 src=10.0.0.1 dst=10.0.0.2 [UNREPLIED] "
		"src=10.0.0.2 dst=10.0.0.1 mark=0 use=1\n");
	ck_assert_str_eq(dump_proto_name(6, IPPROTO_ICMP), "unknown");
}
END_TEST

START_TEST(short_buffer)
{
	uint8_t l4[20], b[64];
	char small[20];

	feed(b, tu_ip6(b, IPPROTO_TCP, "2001:db8:ffff:ffff:ffff:ffff:ffff:1",
		       "2001:db8:ffff:ffff:ffff:ffff:ffff:2", l4,
		       tu_tcp(l4, 65535, 65535, TCPF_SYN, 1, 0)));
	ck_assert_uint_eq(dump_format(small, sizeof(small), only(), 1, NULL,
				      false),
			  sizeof(small) - 1);
	ck_assert_uint_eq(strlen(small), sizeof(small) - 1);
	ck_assert_uint_lt(strlen(line(false)), 300);
	ck_assert_uint_lt(strlen(line(true)), 400);
}
END_TEST

static bool matches(const char *terms)
{
	struct dump_filter f;
	char copy[256], *t, *save = NULL;
	const char *why;

	dump_filter_init(&f);
	snprintf(copy, sizeof(copy), "%s", terms);
	for (t = strtok_r(copy, " ", &save); t; t = strtok_r(NULL, " ", &save))
		ck_assert_msg(dump_filter_add(&f, t, &why) == 0, "%s: %s", t,
			      why);
	return dump_match(&f, only());
}

START_TEST(filters)
{
	uint8_t l4[20], b[64];

	feed(b, tu_ip4(b, IPPROTO_TCP, "192.0.2.7", "198.51.100.1", l4,
		       tu_tcp(l4, 51324, 443, TCPF_SYN, 100, 0)));
	ck_assert(matches(""));
	ck_assert(matches("proto=tcp"));
	ck_assert(matches("proto=TCP"));
	ck_assert(matches("proto=6"));
	ck_assert(!matches("proto=udp"));
	ck_assert(matches("family=ipv4"));
	ck_assert(!matches("family=ipv6"));
	ck_assert(matches("state=SYN_SENT"));
	ck_assert(matches("state=syn_sent"));
	ck_assert(!matches("state=ESTABLISHED"));
	ck_assert(matches("src=192.0.2.7"));
	ck_assert(matches("src=192.0.2.0/24"));
	ck_assert(matches("src=0.0.0.0/0"));
	ck_assert(!matches("src=198.51.100.1"));
	ck_assert(matches("dst=198.51.100.0/25"));
	ck_assert(!matches("dst=198.51.100.128/25"));
	ck_assert(matches("addr=198.51.100.1"));
	ck_assert(matches("addr=192.0.2.7/32"));
	ck_assert(!matches("addr=203.0.113.0/24"));
	ck_assert(!matches("src=2001:db8::/32"));
	ck_assert(matches("proto=tcp src=192.0.2.6/31 dst=198.51.100.1"));
	ck_assert(!matches("proto=tcp src=192.0.2.0/30 dst=198.51.100.2"));
	/* Odd prefix lengths mask within a byte. */
	ck_assert(matches("src=192.0.2.6/31"));
	ck_assert(!matches("src=192.0.2.4/31"));
}
END_TEST

/* An SCTP association listed as the kernel lists it: its state after the
 * timeout, and state= finds TCP and SCTP flows alike. */
START_TEST(sctp_state_listed_and_filtered)
{
	uint8_t l4[64], b[128];
	size_t n;

	/* An INIT: tag 0, then the chunk, with the client's tag 0x1111. */
	n = tu_sctp(l4, 5000, 3868, 0);
	memset(l4 + n, 0, 20);
	l4[n] = 1;
	put16(l4 + n + 2, 20);
	put32(l4 + n + 4, 0x1111);
	feed(b,
	     tu_ip4(b, IPPROTO_SCTP, "192.0.2.7", "198.51.100.1", l4, n + 20));
	ck_assert_str_eq(line(false),
			 "sctp     132 10 CLOSED src=192.0.2.7 "
			 "dst=198.51.100.1 sport=5000 dport=3868 [UNREPLIED] "
			 "src=198.51.100.1 dst=192.0.2.7 sport=3868 "
			 "dport=5000 mark=0 use=1\n");
	ck_assert_ptr_nonnull(strstr(line(true), ",\"state\":\"CLOSED\","));
	ck_assert(matches("state=CLOSED"));
	ck_assert(matches("proto=sctp state=closed"));
	ck_assert(!matches("state=ESTABLISHED"));
	ck_assert(!matches("state=SYN_SENT"));
}
END_TEST

START_TEST(bad_filters)
{
	static const char *const bad[] = {
		"proto",       "proto=",	"proto=999", "proto=frob",
		"family=7",    "state=OPEN",	"src=1.2.3", "src=1.2.3.4/33",
		"dst=::1/129", "addr=1.2.3.4/", "addr=x",    "colour=red",
	};
	struct dump_filter f;
	const char *why;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		dump_filter_init(&f);
		why = NULL;
		ck_assert_msg(dump_filter_add(&f, bad[i], &why) < 0, "%s",
			      bad[i]);
		ck_assert_ptr_nonnull(why);
	}
}
END_TEST

static Suite *list_suite(void)
{
	Suite *s = suite_create("list");
	TCase *tc = tcase_create("list");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, tcp_unreplied_then_assured);
	tcase_add_test(tc, fast_flow_flagged);
	tcase_add_test(tc, originator_is_the_reply_side_of_the_key);
	tcase_add_test(tc, accounting_counters);
	tcase_add_test(tc, icmp_and_icmpv6);
	tcase_add_test(tc, other_protocols);
	tcase_add_test(tc, short_buffer);
	tcase_add_test(tc, filters);
	tcase_add_test(tc, bad_filters);
	tcase_add_test(tc, sctp_state_listed_and_filtered);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(list_suite());
}
