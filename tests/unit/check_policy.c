// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * check_policy.c - the limits of engine.h: on_full (drop, early_drop,
 * evict_idle), per-source flow and rate limits with prefix aggregation,
 * per-protocol caps, exempt sources and the reserve, adaptive timeouts,
 * the warning mark, shadow mode, and reloads that change any of them.
 * Every case checks the verdict, the reason and the counters, and the
 * accounting invariant: per-class, exempt and per-source counts always
 * add up to the flows in the table.
 */
#include <check.h>
#include <stdio.h>

#include "enginetest.h"

#define C4B "192.0.2.99" /* the same /24 as C4 */
#define D4 "203.0.113.5" /* another /24 */

static void setup(void)
{
	setup_max(64);
}

/* Start over with conf as it is now (the tests set keys first). */
static void restart(void)
{
	engine_destroy(&e);
	ck_assert_int_eq(engine_init(&e, tu_params(&conf), &key, T0 * 1000ULL),
			 0);
}

static void sum_sources(const struct flow *f, void *arg)
{
	uint64_t *n = arg;

	n[0] += f->source != SOURCE_NIL;
}

/* The counts the limits work from agree with the table. */
static void check_accounting(void)
{
	struct flow_cursor cur = { 0, 0 };
	uint64_t sourced = 0, per_source = 0;
	uint32_t sum = engine_policy(&e)->exempt_count;

	for (int i = 0; i < PC_COUNT; i++)
		sum += engine_policy(&e)->proto_count[i];
	ck_assert_uint_eq(sum, e.table.count);
	while (flow_table_walk_step(&e.table, &cur, 1024, sum_sources,
				    &sourced))
		;
	for (uint32_t b = 0; b < engine_policy(&e)->sources.nbuckets; b++)
		for (uint32_t i = engine_policy(&e)->sources.bucket[b];
		     i != SOURCE_NIL;
		     i = source_at(&engine_policy(&e)->sources, i)->next)
			per_source +=
				source_at(&engine_policy(&e)->sources, i)->flows;
	ck_assert_uint_eq(sourced, per_source);
}

/* A full handshake: an assured, established connection. */
static void handshake(struct conv *cv)
{
	ck_assert_int_eq(c2s(cv, TCPF_SYN, 0), VERDICT_ACCEPT);
	ck_assert_int_eq(s2c(cv, TCPF_SYN | TCPF_ACK, 0), VERDICT_ACCEPT);
	ck_assert_int_eq(c2s(cv, TCPF_ACK, 0), VERDICT_ACCEPT);
	ck_assert(conv_flow(cv)->flags & FLOW_F_ASSURED);
}

/* Both ends close: the connection goes to TIME_WAIT. */
static void close_both(struct conv *cv)
{
	c2s(cv, TCPF_FIN | TCPF_ACK, 0);
	s2c(cv, TCPF_FIN | TCPF_ACK, 0);
	c2s(cv, TCPF_ACK, 0);
	ck_assert_uint_eq(conv_flow(cv)->state, TCP_S_TIME_WAIT);
}

static struct conv conv_from(const char *client, uint16_t cp)
{
	struct conv cv = conv4(cp);

	cv.c = client;
	return cv;
}

static enum verdict udp6(const char *src, const char *dst, uint16_t sport,
			 uint16_t dport)
{
	uint8_t l4[16], b[80];

	return feed(b, tu_ip6(b, IPPROTO_UDP, src, dst, l4,
			      tu_udp(l4, sport, dport, 8)));
}

START_TEST(early_drop_takes_oldest_unassured)
{
	struct conv a = conv4(1000), b = conv4(1001);

	conf_defaults(&conf);
	conf.max_flows = 4;
	restart();
	ck_assert_int_eq(engine_policy(&e)->on_full,
			 CONF_FULL_EARLY_DROP); /* the default */
	handshake(&a);
	handshake(&b);
	at(1);
	udp4(C4, S4, 5001, 53);
	at(2);
	udp4(C4, S4, 5002, 53);
	at(3);
	ck_assert_int_eq(udp4(C4, S4, 5003, 53), VERDICT_ACCEPT);
	ck_assert_int_eq(res.evicted, EVICT_EARLY_DROP);
	ck_assert_int_eq(res.ev.cause, DROP_TABLE_FULL);
	ck_assert_uint_eq(res.ev.idle, 2);
	ck_assert_ptr_null(find(C4, S4, IPPROTO_UDP, 5001, 53));
	ck_assert_ptr_nonnull(find(C4, S4, IPPROTO_UDP, 5002, 53));
	ck_assert_ptr_nonnull(conv_flow(&a));
	ck_assert_ptr_nonnull(conv_flow(&b));
	ck_assert_uint_eq(e.st.flows_evicted, 1);
	ck_assert_uint_eq(e.st.evicted[EVICT_EARLY_DROP], 1);
	ck_assert_uint_eq(e.table.count, 4);
	ck_assert_uint_eq(e.st.dropped, 0);
	check_accounting();
}
END_TEST

START_TEST(early_drop_refuses_when_all_assured)
{
	struct conv a = conv4(1000), b = conv4(1001), c = conv4(1002);

	conf_defaults(&conf);
	conf.max_flows = 2;
	restart();
	handshake(&a);
	handshake(&b);
	ck_assert_int_eq(c2s(&c, TCPF_SYN, 0), VERDICT_DROP);
	ck_assert_int_eq(res.reason, DROP_TABLE_FULL);
	ck_assert_uint_eq(res.limit, 2);
	ck_assert_uint_eq(res.count, 2);
	ck_assert_int_eq(res.evicted, EVICT_NONE);
	ck_assert_uint_eq(e.st.flows_evicted, 0);
	check_accounting();
}
END_TEST

START_TEST(early_drop_takes_closing_tcp)
{
	struct conv a = conv4(1000), b = conv4(1001), c = conv4(1002);

	conf_defaults(&conf);
	conf.max_flows = 2;
	restart();
	handshake(&a);
	close_both(&a); /* assured, but closing */
	at(1);
	handshake(&b);
	at(2);
	ck_assert_int_eq(c2s(&c, TCPF_SYN, 0), VERDICT_ACCEPT);
	ck_assert_int_eq(res.evicted, EVICT_EARLY_DROP);
	ck_assert_uint_eq(res.ev.state, TCP_S_TIME_WAIT);
	ck_assert_ptr_null(conv_flow(&a));
	ck_assert_ptr_nonnull(conv_flow(&b));
	check_accounting();
}
END_TEST

/*
 * The classic case: a web server behind a proxy churns through short
 * connections and its table fills with TIME_WAIT. The kernel's policy
 * fails new connections once the table is full; early_drop fails none.
 */
static uint32_t churn(uint32_t n)
{
	uint32_t failed = 0;

	for (uint32_t i = 0; i < n; i++) {
		struct conv cv = conv4((uint16_t)(10000 + i));

		at(i / 50); /* 50 connections a second */
		if (c2s(&cv, TCPF_SYN, 0) != VERDICT_ACCEPT) {
			failed++;
			continue;
		}
		s2c(&cv, TCPF_SYN | TCPF_ACK, 0);
		c2s(&cv, TCPF_ACK, 0);
		c2s(&cv, TCPF_ACK | TCPF_PSH, 100);
		s2c(&cv, TCPF_ACK | TCPF_PSH, 1000);
		close_both(&cv);
	}
	return failed;
}

START_TEST(time_wait_churn)
{
	conf_defaults(&conf);
	conf.max_flows = 100;
	conf.on_full = CONF_FULL_DROP;
	restart();
	ck_assert_uint_eq(churn(1000), 900);
	ck_assert_uint_eq(e.st.drop[DROP_TABLE_FULL], 900);

	conf.on_full = CONF_FULL_EARLY_DROP;
	restart();
	ck_assert_uint_eq(churn(1000), 0);
	ck_assert_uint_eq(e.st.flows_evicted, 900);
	ck_assert_uint_eq(e.table.count, 100);
	check_accounting();
}
END_TEST

START_TEST(evict_idle_takes_oldest_assured)
{
	struct conv a = conv4(1000), b = conv4(1001), c = conv4(1002);

	conf_defaults(&conf);
	conf.max_flows = 2;
	conf.on_full = CONF_FULL_EVICT_IDLE;
	restart();
	handshake(&a);
	at(1);
	handshake(&b);
	at(5);
	c2s(&a, TCPF_ACK | TCPF_PSH, 10); /* a is now the more recent */
	at(6);
	ck_assert_int_eq(c2s(&c, TCPF_SYN, 0), VERDICT_ACCEPT);
	ck_assert_int_eq(res.evicted, EVICT_IDLE);
	ck_assert_uint_eq(res.ev.idle, 5);
	ck_assert_ptr_nonnull(conv_flow(&a));
	ck_assert_ptr_null(conv_flow(&b));
	ck_assert_uint_eq(e.st.evicted[EVICT_IDLE], 1);
	check_accounting();
}
END_TEST

START_TEST(evict_idle_takes_unassured_first)
{
	struct conv a = conv4(1000);

	conf_defaults(&conf);
	conf.max_flows = 2;
	conf.on_full = CONF_FULL_EVICT_IDLE;
	restart();
	handshake(&a); /* old, assured */
	at(5);
	udp4(C4, S4, 5000, 53); /* recent, unassured */
	at(6);
	ck_assert_int_eq(udp4(C4, S4, 5001, 53), VERDICT_ACCEPT);
	ck_assert_int_eq(res.evicted, EVICT_EARLY_DROP);
	ck_assert_ptr_nonnull(conv_flow(&a));
	ck_assert_ptr_null(find(C4, S4, IPPROTO_UDP, 5000, 53));
}
END_TEST

START_TEST(expired_flow_reclaimed_before_evicting)
{
	struct conv a = conv4(1000);

	conf_defaults(&conf);
	conf.max_flows = 2;
	restart();
	handshake(&a);
	udp4(C4, S4, 5000, 53);
	at(conf.timeout[TMO_UDP]); /* no tick in between */
	ck_assert_int_eq(udp4(C4, S4, 5001, 53), VERDICT_ACCEPT);
	ck_assert_int_eq(res.evicted, EVICT_NONE);
	ck_assert_uint_eq(e.table.expired, 1);
	ck_assert_uint_eq(e.st.flows_evicted, 0);

	/* The kernel's policy too takes an expired flow's place. */
	conf.on_full = CONF_FULL_DROP;
	restart();
	handshake(&a);
	udp4(C4, S4, 5000, 53);
	at(conf.timeout[TMO_UDP]);
	ck_assert_int_eq(udp4(C4, S4, 5001, 53), VERDICT_ACCEPT);
	ck_assert_uint_eq(e.table.expired, 1);
	check_accounting();
}
END_TEST

START_TEST(source_limit)
{
	conf_defaults(&conf);
	conf.max_flows_per_source = 2;
	restart();
	ck_assert_int_eq(udp4(C4, S4, 5000, 53), VERDICT_ACCEPT);
	ck_assert_int_eq(udp4(C4, S4, 5001, 53), VERDICT_ACCEPT);
	ck_assert_int_eq(udp4(C4, S4, 5002, 53), VERDICT_DROP);
	ck_assert_int_eq(res.reason, DROP_SOURCE_LIMIT);
	ck_assert_uint_eq(res.limit, 2);
	ck_assert_uint_eq(res.count, 2);
	/* Known flows and other sources pass. */
	ck_assert_int_eq(udp4(S4, C4, 53, 5001), VERDICT_ACCEPT);
	ck_assert_int_eq(udp4(D4, S4, 5002, 53), VERDICT_ACCEPT);
	ck_assert_int_eq(udp4(C4B, S4, 5002, 53), VERDICT_ACCEPT);
	ck_assert_uint_eq(engine_policy(&e)->sources.count, 3);
	ck_assert_uint_eq(source_at(&engine_policy(&e)->sources,
				    source_find(&engine_policy(&e)->sources, 4,
						(uint8_t[]){ 192, 0, 2, 7 },
						32))
				  ->refused,
			  1);
	/* A flow gone frees its place. */
	at(conf.timeout[TMO_UDP]);
	engine_tick(&e);
	ck_assert_uint_eq(e.table.count, 0);
	ck_assert_uint_eq(engine_policy(&e)->sources.count, 0);
	ck_assert_int_eq(udp4(C4, S4, 5002, 53), VERDICT_ACCEPT);
	check_accounting();
}
END_TEST

/* As the kernel's connlimit: connections that are over do not count. */
START_TEST(source_limit_skips_closed_connections)
{
	struct conv a = conv4(1000), b = conv4(1001), c = conv4(1002),
		    d = conv4(1003), x = conv4(1004);

	conf_defaults(&conf);
	conf.max_flows_per_source = 2;
	restart();
	handshake(&a);
	handshake(&b);
	ck_assert_int_eq(c2s(&x, TCPF_SYN, 0), VERDICT_DROP);
	close_both(&a);
	close_both(&b);
	ck_assert_uint_eq(engine_policy(&e)->sources.count, 0);
	handshake(&c);
	handshake(&d);
	ck_assert_uint_eq(e.table.count, 4);
	ck_assert_int_eq(c2s(&x, TCPF_SYN, 0), VERDICT_DROP);
	ck_assert_int_eq(res.reason, DROP_SOURCE_LIMIT);
	check_accounting();
}
END_TEST

START_TEST(source_limit_edges)
{
	conf_defaults(&conf);
	conf.max_flows_per_source = 1;
	restart();
	ck_assert_int_eq(udp4(C4, S4, 5000, 53), VERDICT_ACCEPT);
	ck_assert_int_eq(udp4(C4, S4, 5001, 53), VERDICT_DROP);
	ck_assert_int_eq(res.reason, DROP_SOURCE_LIMIT);

	conf.max_flows_per_source = 0; /* no limit */
	restart();
	for (uint16_t i = 0; i < 64; i++)
		ck_assert_int_eq(udp4(C4, S4, (uint16_t)(5000 + i), 53),
				 VERDICT_ACCEPT);
	ck_assert_uint_eq(engine_policy(&e)->sources.count, 1);
	ck_assert_uint_eq(source_at(&engine_policy(&e)->sources, 0)->flows, 64);
	check_accounting();
}
END_TEST

START_TEST(source_prefix_aggregation)
{
	conf_defaults(&conf);
	conf.max_flows_per_source = 2;
	conf.source_prefix4 = 24;
	restart();
	ck_assert_int_eq(udp4(C4, S4, 5000, 53), VERDICT_ACCEPT);
	ck_assert_int_eq(udp4(C4B, S4, 5000, 53), VERDICT_ACCEPT);
	ck_assert_int_eq(udp4(C4B, S4, 5001, 53), VERDICT_DROP);
	ck_assert_int_eq(res.reason, DROP_SOURCE_LIMIT);
	ck_assert_int_eq(udp4(D4, S4, 5000, 53), VERDICT_ACCEPT);

	/* IPv6: a /64 is one source by default. */
	ck_assert_int_eq(udp6("2001:db8::7", "2001:db8:ff::1", 5000, 53),
			 VERDICT_ACCEPT);
	ck_assert_int_eq(udp6("2001:db8::8", "2001:db8:ff::1", 5000, 53),
			 VERDICT_ACCEPT);
	ck_assert_int_eq(udp6("2001:db8::9", "2001:db8:ff::1", 5000, 53),
			 VERDICT_DROP);
	ck_assert_int_eq(udp6("2001:db8:0:1::7", "2001:db8:ff::1", 5000, 53),
			 VERDICT_ACCEPT);
	ck_assert_uint_eq(engine_policy(&e)->sources.count, 4);
	check_accounting();
}
END_TEST

START_TEST(source_rate_limit)
{
	conf_defaults(&conf);
	conf.max_new_per_source = 10;
	conf.max_new_per_source_burst = 5;
	restart();
	for (uint16_t i = 0; i < 5; i++)
		ck_assert_int_eq(udp4(C4, S4, (uint16_t)(5000 + i), 53),
				 VERDICT_ACCEPT);
	ck_assert_int_eq(udp4(C4, S4, 5005, 53), VERDICT_DROP);
	ck_assert_int_eq(res.reason, DROP_SOURCE_RATE);
	ck_assert_uint_eq(res.limit, 10);
	/* Known flows are not new flows. */
	ck_assert_int_eq(udp4(C4, S4, 5004, 53), VERDICT_ACCEPT);
	/* One more every 100 ms. */
	engine_set_time(&e, T0 * 1000ULL + 99);
	ck_assert_int_eq(udp4(C4, S4, 5005, 53), VERDICT_DROP);
	engine_set_time(&e, T0 * 1000ULL + 100);
	ck_assert_int_eq(udp4(C4, S4, 5005, 53), VERDICT_ACCEPT);
	ck_assert_int_eq(udp4(C4, S4, 5006, 53), VERDICT_DROP);
	/* Refilled, never past the burst. */
	at(60);
	for (uint16_t i = 0; i < 5; i++)
		ck_assert_int_eq(udp4(C4, S4, (uint16_t)(6000 + i), 53),
				 VERDICT_ACCEPT);
	ck_assert_int_eq(udp4(C4, S4, 6005, 53), VERDICT_DROP);
	ck_assert_uint_eq(e.st.drop[DROP_SOURCE_RATE], 4);
	/* Another source has its own bucket. */
	ck_assert_int_eq(udp4(D4, S4, 6005, 53), VERDICT_ACCEPT);
	check_accounting();
}
END_TEST

/*
 * A hash chain at FLOW_CHAIN_MAX refuses the next flow that would join
 * it, whatever room the table has, and nothing else: with the test's
 * known key, find 65 client ports whose flows share a bucket.
 */
START_TEST(chain_full)
{
	uint32_t cli, srv, nb;
	uint16_t ports[FLOW_CHAIN_MAX + 1];
	unsigned n = 0;
	uint64_t want = 0;

	conf_defaults(&conf);
	conf.max_flows = 256; /* 256 buckets: a 65th port within 20,000 */
	restart();
	nb = flow_table_buckets(&e.table);
	inet_pton(AF_INET, C4, &cli);
	inet_pton(AF_INET, S4, &srv);
	for (uint32_t port = 1024; n <= FLOW_CHAIN_MAX && port < 65536;
	     port++) {
		struct flow_key k;
		uint64_t h;

		flow_key_make(&k, 4, IPPROTO_UDP, &cli, &srv, (uint16_t)port,
			      53);
		h = flow_hash(&e.table, &k) & (nb - 1);
		if (n == 0)
			want = h;
		if (h == want)
			ports[n++] = (uint16_t)port;
	}
	ck_assert_uint_eq(n, FLOW_CHAIN_MAX + 1);
	for (unsigned i = 0; i < FLOW_CHAIN_MAX; i++)
		ck_assert_int_eq(udp4(C4, S4, ports[i], 53), VERDICT_ACCEPT);
	ck_assert_int_eq(udp4(C4, S4, ports[FLOW_CHAIN_MAX], 53), VERDICT_DROP);
	ck_assert_int_eq(res.reason, DROP_CHAIN);
	ck_assert_uint_eq(e.st.drop[DROP_CHAIN], 1);
	ck_assert_uint_eq(e.table.count, FLOW_CHAIN_MAX);
	/* The flows already there go on; another bucket takes new ones. */
	ck_assert_int_eq(udp4(S4, C4, 53, ports[0]), VERDICT_ACCEPT);
	ck_assert_int_eq(udp4(C4, S4, 1000, 80), VERDICT_ACCEPT);
	check_accounting();
}
END_TEST

START_TEST(proto_cap_drop)
{
	conf_defaults(&conf);
	conf.on_full = CONF_FULL_DROP;
	conf.max_proto[PC_UDP] = 3;
	restart();
	for (uint16_t i = 0; i < 3; i++)
		ck_assert_int_eq(udp4(C4, S4, (uint16_t)(5000 + i), 53),
				 VERDICT_ACCEPT);
	ck_assert_int_eq(udp4(C4, S4, 5003, 53), VERDICT_DROP);
	ck_assert_int_eq(res.reason, DROP_PROTO_CAP);
	ck_assert_uint_eq(res.limit, 3);
	ck_assert_uint_eq(res.count, 3);
	/* UDP-Lite counts as UDP; TCP and ICMP are not held back. */
	ck_assert_int_eq(tcp4(C4, S4, 1000, 80, TCPF_SYN), VERDICT_ACCEPT);
	ck_assert_int_eq(icmp4(C4, S4, 8, 1), VERDICT_ACCEPT);
	ck_assert_uint_eq(engine_policy(&e)->proto_count[PC_UDP], 3);
	ck_assert_uint_eq(engine_policy(&e)->proto_count[PC_TCP], 1);
	ck_assert_uint_eq(engine_policy(&e)->proto_count[PC_ICMP], 1);
	check_accounting();
}
END_TEST

START_TEST(proto_cap_early_drop_evicts_its_own)
{
	conf_defaults(&conf);
	conf.max_proto[PC_UDP] = 2;
	restart();
	/* The oldest unassured flow is TCP, but a UDP flow makes room. */
	tcp4(C4, S4, 1000, 80, TCPF_SYN);
	at(1);
	udp4(C4, S4, 5000, 53);
	at(2);
	udp4(C4, S4, 5001, 53);
	at(3);
	ck_assert_int_eq(udp4(C4, S4, 5002, 53), VERDICT_ACCEPT);
	ck_assert_int_eq(res.evicted, EVICT_EARLY_DROP);
	ck_assert_int_eq(res.ev.cause, DROP_PROTO_CAP);
	ck_assert_int_eq(res.ev.key.proto, IPPROTO_UDP);
	ck_assert_ptr_null(find(C4, S4, IPPROTO_UDP, 5000, 53));
	ck_assert_ptr_nonnull(find(C4, S4, IPPROTO_TCP, 1000, 80));
	ck_assert_uint_eq(engine_policy(&e)->proto_count[PC_UDP], 2);
	check_accounting();
}
END_TEST

START_TEST(proto_cap_icmp_and_other)
{
	uint8_t l4[8] = { 0 }, b[64];

	conf_defaults(&conf);
	conf.on_full = CONF_FULL_DROP;
	conf.max_proto[PC_ICMP] = 1;
	conf.max_proto[PC_OTHER] = 1;
	restart();
	ck_assert_int_eq(icmp4(C4, S4, 8, 1), VERDICT_ACCEPT);
	ck_assert_int_eq(icmp4(C4, S4, 8, 2), VERDICT_DROP);
	ck_assert_int_eq(res.reason, DROP_PROTO_CAP);
	ck_assert_int_eq(feed(b, tu_ip4(b, 47, C4, S4, l4, 8)),
			 VERDICT_ACCEPT); /* GRE */
	ck_assert_int_eq(feed(b, tu_ip4(b, 50, C4, S4, l4, 8)), VERDICT_DROP);
	ck_assert_int_eq(res.reason, DROP_PROTO_CAP);
	ck_assert_uint_eq(engine_policy(&e)->proto_count[PC_OTHER], 1);
	check_accounting();
}
END_TEST

START_TEST(exempt_sources)
{
	const char *why;
	struct conv a = conv4(1000), b = conv4(1001);
	struct conv adm = conv_from(D4, 22);

	conf_defaults(&conf);
	conf.max_flows = 2;
	conf.on_full = CONF_FULL_DROP;
	conf.max_flows_per_source = 1;
	conf.max_proto[PC_TCP] = 1;
	/* The old rule, now asked for: exempt sources may take the whole
	 * table, assured connections too. */
	conf.exempt_max_percent = 100;
	conf.exempt_evict_assured = true;
	ck_assert_int_eq(prefix_parse(&conf.exempt[0], "203.0.113.0/24", false,
				      &why),
			 0);
	conf.nexempt = 1;
	restart();
	handshake(&a);
	ck_assert_int_eq(c2s(&b, TCPF_SYN, 0), VERDICT_DROP);
	ck_assert_int_eq(res.reason, DROP_SOURCE_LIMIT);
	/* Not limited per source or per protocol. */
	for (uint16_t i = 0; i < 1; i++)
		ck_assert_int_eq(tcp4(D4, S4, (uint16_t)(2000 + i), 80,
				      TCPF_SYN),
				 VERDICT_ACCEPT);
	ck_assert_uint_eq(engine_policy(&e)->exempt_count, 1);
	ck_assert_uint_eq(e.table.count, 2);
	/* The table is full of assured and exempt flows, on_full is drop:
	 * with exempt_evict_assured the admin still gets in, and the
	 * assured flow makes room. */
	ck_assert_int_eq(c2s(&adm, TCPF_SYN, 0), VERDICT_ACCEPT);
	ck_assert_int_eq(res.evicted, EVICT_FOR_EXEMPT);
	ck_assert_ptr_null(conv_flow(&a));
	ck_assert_uint_eq(e.st.evicted[EVICT_FOR_EXEMPT], 1);
	/* Now only exempt flows: nothing is evicted for anyone else, and a
	 * further exempt flow finds no room either (its cap, the table's
	 * size, is reached first). */
	ck_assert_int_eq(udp4(C4B, S4, 5000, 53), VERDICT_DROP);
	ck_assert_int_eq(res.reason, DROP_TABLE_FULL);
	ck_assert_int_eq(udp4(D4, S4, 5000, 53), VERDICT_DROP);
	ck_assert_int_eq(res.reason, DROP_EXEMPT_CAP);
	ck_assert_uint_eq(engine_policy(&e)->sources.count, 0);
	check_accounting();
}
END_TEST

/* An exempt address in 203.0.113.0/24, spoofed by anyone. */
static enum verdict exempt_udp(uint32_t i)
{
	char a[32];

	snprintf(a, sizeof(a), "203.0.113.%u", 1 + i % 250);
	return udp4(a, S4, (uint16_t)(5000 + i / 250), 53);
}

static void exempt_net(void)
{
	const char *why;

	ck_assert_int_eq(prefix_parse(&conf.exempt[0], "203.0.113.0/24", false,
				      &why),
			 0);
	conf.nexempt = 1;
}

/*
 * Spoofed UDP from an exempt prefix into a table full of assured
 * connections: refused, every connection kept. It takes only what
 * early_drop could (not assured, closing), whatever on_full says, and an
 * assured connection only with exempt_evict_assured.
 */
START_TEST(exempt_flood_keeps_assured_connections)
{
	struct conv cv[20];
	uint32_t i;

	conf_defaults(&conf);
	conf.max_flows = 20;
	conf.on_full = CONF_FULL_DROP;
	conf.exempt_max_percent = 100;
	exempt_net();
	restart();
	for (i = 0; i < 20; i++) {
		cv[i] = conv4((uint16_t)(1000 + i));
		handshake(&cv[i]);
	}
	for (i = 0; i < 100; i++) {
		ck_assert_int_eq(exempt_udp(i), VERDICT_DROP);
		ck_assert_int_eq(res.reason, DROP_TABLE_FULL);
	}
	ck_assert_uint_eq(e.st.evicted[EVICT_FOR_EXEMPT], 0);
	for (i = 0; i < 20; i++)
		ck_assert_ptr_nonnull(conv_flow(&cv[i]));
	/* A connection closing, and an unreplied UDP flow, are theirs to
	 * take (on_full = drop notwithstanding). */
	close_both(&cv[3]);
	ck_assert_int_eq(exempt_udp(0), VERDICT_ACCEPT);
	ck_assert_int_eq(res.evicted, EVICT_FOR_EXEMPT);
	ck_assert_ptr_null(conv_flow(&cv[3]));
	ck_assert_int_eq(exempt_udp(1), VERDICT_DROP);
	ck_assert_uint_eq(e.st.evicted[EVICT_FOR_EXEMPT], 1);
	check_accounting();

	/* Asked for: the old rule, the idlest assured connection goes. */
	conf.exempt_evict_assured = true;
	restart();
	for (i = 0; i < 20; i++) {
		cv[i] = conv4((uint16_t)(1000 + i));
		handshake(&cv[i]);
	}
	ck_assert_int_eq(exempt_udp(0), VERDICT_ACCEPT);
	ck_assert_int_eq(res.evicted, EVICT_FOR_EXEMPT);
	ck_assert_ptr_null(conv_flow(&cv[0]));
	check_accounting();
}
END_TEST

/* Exempt sources hold exempt_max_percent of max_flows at most (at least
 * the reserve); at the cap, on_full applies among exempt flows. */
START_TEST(exempt_cap)
{
	uint32_t i;

	conf_defaults(&conf);
	conf.max_flows = 20;
	conf.on_full = CONF_FULL_DROP;
	exempt_net();
	restart();
	ck_assert_uint_eq(engine_policy(&e)->max_exempt,
			  5); /* 25% by default */
	for (i = 0; i < 5; i++)
		ck_assert_int_eq(exempt_udp(i), VERDICT_ACCEPT);
	ck_assert_int_eq(exempt_udp(5), VERDICT_DROP);
	ck_assert_int_eq(res.reason, DROP_EXEMPT_CAP);
	ck_assert_uint_eq(res.limit, 5);
	ck_assert_uint_eq(e.st.drop[DROP_EXEMPT_CAP], 1);
	/* Others still find the rest of the table. */
	for (i = 0; i < 15; i++)
		ck_assert_int_eq(udp4(C4, S4, (uint16_t)(6000 + i), 53),
				 VERDICT_ACCEPT);
	ck_assert_uint_eq(engine_policy(&e)->exempt_count, 5);
	check_accounting();

	/* early_drop: the idlest exempt flow gives way, and no other. */
	conf.on_full = CONF_FULL_EARLY_DROP;
	restart();
	for (i = 0; i < 5; i++)
		ck_assert_int_eq(exempt_udp(i), VERDICT_ACCEPT);
	at(1);
	ck_assert_int_eq(udp4(C4, S4, 6000, 53), VERDICT_ACCEPT);
	ck_assert_int_eq(exempt_udp(5), VERDICT_ACCEPT);
	ck_assert_int_eq(res.evicted, EVICT_EARLY_DROP);
	ck_assert_int_eq(res.ev.cause, DROP_EXEMPT_CAP);
	ck_assert_ptr_null(find("203.0.113.1", S4, IPPROTO_UDP, 5000, 53));
	ck_assert_ptr_nonnull(find(C4, S4, IPPROTO_UDP, 6000, 53));
	ck_assert_uint_eq(engine_policy(&e)->exempt_count, 5);
	check_accounting();

	/* The reserve is theirs whatever the share. */
	conf.reserve = 8;
	restart();
	ck_assert_uint_eq(engine_policy(&e)->max_exempt, 8);
}
END_TEST

START_TEST(exempt_flows_never_evicted_for_others)
{
	const char *why;

	conf_defaults(&conf);
	conf.max_flows = 3;
	ck_assert_int_eq(prefix_parse(&conf.exempt[0], D4, false, &why), 0);
	conf.nexempt = 1;
	restart();
	udp4(D4, S4, 5000, 53); /* exempt, unassured, oldest */
	at(1);
	udp4(C4, S4, 5000, 53);
	udp4(C4, S4, 5001, 53);
	at(2);
	ck_assert_int_eq(udp4(C4, S4, 5002, 53), VERDICT_ACCEPT);
	ck_assert_ptr_nonnull(find(D4, S4, IPPROTO_UDP, 5000, 53));
	ck_assert_ptr_null(find(C4, S4, IPPROTO_UDP, 5000, 53));
	check_accounting();
}
END_TEST

START_TEST(reserve)
{
	const char *why;
	uint16_t i;

	conf_defaults(&conf);
	conf.max_flows = 10;
	conf.reserve = 3;
	conf.on_full = CONF_FULL_DROP;
	ck_assert_int_eq(prefix_parse(&conf.exempt[0], D4, false, &why), 0);
	conf.nexempt = 1;
	restart();
	for (i = 0; i < 7; i++)
		ck_assert_int_eq(tcp4(C4, S4, (uint16_t)(1000 + i), 80,
				      TCPF_SYN),
				 VERDICT_ACCEPT);
	ck_assert_int_eq(tcp4(C4, S4, 1007, 80, TCPF_SYN), VERDICT_DROP);
	ck_assert_int_eq(res.reason, DROP_TABLE_FULL);
	ck_assert_uint_eq(res.limit, 7);
	/* Not connections picked up mid-stream: anyone can forge those. */
	ck_assert_int_eq(tcp4(C4, S4, 1100, 80, TCPF_ACK), VERDICT_DROP);
	ck_assert_int_eq(res.reason, DROP_TABLE_FULL);
	ck_assert_uint_eq(res.limit, 7);
	/* Exempt sources may. */
	ck_assert_int_eq(tcp4(D4, S4, 1000, 22, TCPF_SYN), VERDICT_ACCEPT);
	ck_assert_int_eq(tcp4(D4, S4, 1001, 22, TCPF_SYN), VERDICT_ACCEPT);
	ck_assert_int_eq(tcp4(D4, S4, 1002, 22, TCPF_SYN), VERDICT_ACCEPT);
	ck_assert_uint_eq(e.table.count, 10);
	/* The reserve is their cap (exempt_max_percent's 2 is less). */
	ck_assert_int_eq(tcp4(D4, S4, 1003, 22, TCPF_SYN), VERDICT_DROP);
	ck_assert_int_eq(res.reason, DROP_EXEMPT_CAP);
	ck_assert_uint_eq(res.limit, 3);
	check_accounting();
}
END_TEST

/* A bare ACK from a spoofed address in 10/8, port by i. */
static enum verdict forged_ack(uint32_t i)
{
	char a[32];

	snprintf(a, sizeof(a), "10.0.%u.%u", (i >> 8) & 255, i & 255);
	return tcp4(a, S4, (uint16_t)(1024 + i), 80, TCPF_ACK);
}

/*
 * tcp_loose = yes: forged bare ACKs from anywhere open ESTABLISHED flows.
 * They take neither the reserve nor more than their budget
 * (midstream_max_percent); an answered pickup leaves the budget; at it,
 * early_drop evicts the oldest unanswered one.
 */
START_TEST(midstream_budget)
{
	struct conv cv = conv4(2000);
	uint32_t i, accepted = 0;
	const char *why;

	conf_defaults(&conf);
	conf.max_flows = 100;
	conf.reserve = 10;
	conf.on_full = CONF_FULL_DROP;
	ck_assert_int_eq(prefix_parse(&conf.exempt[0], D4, false, &why), 0);
	conf.nexempt = 1;
	restart();
	ck_assert_uint_eq(engine_policy(&e)->max_midstream,
			  10); /* 10% by default */
	for (i = 0; i < 200; i++)
		accepted += forged_ack(i) == VERDICT_ACCEPT;
	ck_assert_uint_eq(accepted, 10);
	ck_assert_int_eq(res.reason, DROP_MIDSTREAM_CAP);
	ck_assert_uint_eq(res.limit, 10);
	ck_assert_uint_eq(e.st.drop[DROP_MIDSTREAM_CAP], 190);
	ck_assert_uint_eq(engine_policy(&e)->midstream_count, 10);
	ck_assert_uint_eq(e.table.count, 10);
	/* New connections and the reserve are untouched. */
	ck_assert_int_eq(tcp4(C4, S4, 3000, 80, TCPF_SYN), VERDICT_ACCEPT);
	ck_assert_int_eq(tcp4(D4, S4, 3000, 22, TCPF_SYN), VERDICT_ACCEPT);
	ck_assert_uint_eq(engine_policy(&e)->midstream_count, 10);
	check_accounting();

	/* An answered pickup is a real connection: out of the budget. */
	cv.cseq = 1000;
	cv.sseq = 2000;
	ck_assert_int_eq(c2s(&cv, TCPF_ACK, 0), VERDICT_DROP);
	restart();
	ck_assert_int_eq(c2s(&cv, TCPF_ACK, 10), VERDICT_ACCEPT);
	ck_assert_uint_eq(engine_policy(&e)->midstream_count, 1);
	ck_assert_int_eq(s2c(&cv, TCPF_ACK, 10), VERDICT_ACCEPT);
	ck_assert_uint_eq(engine_policy(&e)->midstream_count, 1);
	ck_assert_int_eq(c2s(&cv, TCPF_ACK, 0), VERDICT_ACCEPT);
	ck_assert(conv_flow(&cv)->flags & FLOW_F_ASSURED);
	ck_assert_uint_eq(engine_policy(&e)->midstream_count, 0);
	for (i = 0, accepted = 0; i < 20; i++)
		accepted += forged_ack(i) == VERDICT_ACCEPT;
	ck_assert_uint_eq(accepted, 10);
	/* Gone, they leave the budget too. */
	ck_assert_int_eq(forged_ack(0), VERDICT_ACCEPT); /* in the table */
	at(conf.timeout[TMO_TCP_UNACK] + 1);
	engine_tick(&e);
	ck_assert_uint_eq(engine_policy(&e)->midstream_count, 0);
	check_accounting();

	/* early_drop: the oldest unanswered pickup gives way. */
	conf.on_full = CONF_FULL_EARLY_DROP;
	restart();
	for (i = 0; i < 10; i++) {
		at(i);
		ck_assert_int_eq(forged_ack(i), VERDICT_ACCEPT);
	}
	at(20);
	ck_assert_int_eq(forged_ack(10), VERDICT_ACCEPT);
	ck_assert_int_eq(res.evicted, EVICT_EARLY_DROP);
	ck_assert_int_eq(res.ev.cause, DROP_MIDSTREAM_CAP);
	ck_assert_ptr_null(find("10.0.0.0", S4, IPPROTO_TCP, 1024, 80));
	ck_assert_uint_eq(engine_policy(&e)->midstream_count, 10);
	ck_assert_uint_eq(e.table.count, 10);
	check_accounting();
}
END_TEST

START_TEST(adaptive_timeouts)
{
	struct conv a = conv4(1000);
	uint8_t l_ass, l_un;
	uint16_t i;

	conf_defaults(&conf);
	conf.max_flows = 100;
	conf.adaptive_start = 50;
	conf.adaptive_end = 100;
	restart();
	handshake(&a);
	l_ass = conv_flow(&a)->list;
	ck_assert_uint_eq(e.adaptive_permille, 1000);
	ck_assert_uint_eq(e.list_timeout[l_ass], 432000);
	for (i = 0; i < 74; i++)
		udp4(C4, S4, (uint16_t)(5000 + i), 53);
	ck_assert_uint_eq(e.table.count, 75);
	engine_tick(&e);
	/* Half way from 50 to 100 flows: assured timeouts halve, the
	 * others shrink twice as fast (adaptive_unassured_factor 2), down
	 * to the 2 s floor. */
	ck_assert_uint_eq(e.adaptive_permille, 500);
	ck_assert_uint_eq(e.list_timeout[l_ass], 216000);
	l_un = find(C4, S4, IPPROTO_UDP, 5000, 53)->list;
	ck_assert_uint_eq(e.list_timeout[l_un], 2);
	ck_assert_uint_eq(engine_flow_left(&e, conv_flow(&a)), 216000);
	/* So the unreplied UDP flows go in 2 s, and the scale comes back. */
	at(2);
	engine_tick(&e);
	ck_assert_uint_eq(e.table.count, 1);
	ck_assert_uint_eq(e.adaptive_permille, 1000);
	ck_assert_uint_eq(e.list_timeout[l_ass], 432000);
	check_accounting();
}
END_TEST

START_TEST(adaptive_edges)
{
	const char *why;
	uint16_t i;

	/* Off: 0 and 0. */
	conf_defaults(&conf);
	conf.max_flows = 10;
	restart();
	for (i = 0; i < 10; i++)
		udp4(C4, S4, (uint16_t)(5000 + i), 53);
	engine_tick(&e);
	ck_assert_uint_eq(e.adaptive_permille, 1000);

	/* Factor 1: unassured flows shrink like the others; exempt flows
	 * never shrink; at the end mark everything is at the floor. */
	conf.adaptive_start = 10;
	conf.adaptive_end = 100;
	conf.adaptive_unassured_factor = 1;
	ck_assert_int_eq(prefix_parse(&conf.exempt[0], D4, false, &why), 0);
	conf.nexempt = 1;
	restart();
	udp4(D4, S4, 5000, 53);
	for (i = 0; i < 9; i++)
		udp4(C4, S4, (uint16_t)(5000 + i), 53);
	engine_tick(&e);
	ck_assert_uint_eq(e.adaptive_permille, 0);
	ck_assert_uint_eq(
		e.list_timeout[find(C4, S4, IPPROTO_UDP, 5000, 53)->list], 2);
	ck_assert_uint_eq(
		e.list_timeout[find(D4, S4, IPPROTO_UDP, 5000, 53)->list], 30);
	/* 55 of 100: (100 - 55) / (100 - 10) = 0.5 */
	engine_destroy(&e);
	conf.max_flows = 100;
	ck_assert_int_eq(engine_init(&e, tu_params(&conf), &key, T0 * 1000ULL),
			 0);
	for (i = 0; i < 55; i++)
		udp4(C4, S4, (uint16_t)(5000 + i), 53);
	engine_tick(&e);
	ck_assert_uint_eq(e.adaptive_permille, 500);
	ck_assert_uint_eq(
		e.list_timeout[find(C4, S4, IPPROTO_UDP, 5000, 53)->list], 15);
}
END_TEST

START_TEST(warning_mark)
{
	uint16_t i;

	conf_defaults(&conf);
	conf.max_flows = 10;
	restart();
	ck_assert_uint_eq(engine_policy(&e)->warn_at, 80); /* the default */
	for (i = 0; i < 7; i++)
		udp4(C4, S4, (uint16_t)(5000 + i), 53);
	ck_assert_uint_eq(e.events, 0);
	udp4(C4, S4, 5007, 53);
	ck_assert_uint_eq(e.events, ENGINE_EV_WARN_ON);
	ck_assert(engine_policy(&e)->warn);
	e.events = 0;
	udp4(C4, S4, 5008, 53);
	ck_assert_uint_eq(e.events, 0);
	ck_assert_uint_eq(e.st.warnings, 1);
	/* Back under 72%: cleared once, at a tick. */
	at(conf.timeout[TMO_UDP]);
	udp4(C4, S4, 6000, 53);
	engine_tick(&e);
	ck_assert_uint_eq(e.table.count, 1);
	ck_assert_uint_eq(e.events, ENGINE_EV_WARN_OFF);
	ck_assert(!engine_policy(&e)->warn);

	conf.warn_at = 0;
	restart();
	for (i = 0; i < 10; i++)
		udp4(C4, S4, (uint16_t)(5000 + i), 53);
	ck_assert_uint_eq(e.events, 0);
}
END_TEST

/* One sequence of packets: a source over its limit, a full table. */
static void shadow_traffic(void)
{
	struct conv a = conv4(1000);

	handshake(&a);
	for (uint16_t i = 0; i < 6; i++)
		udp4(C4, S4, (uint16_t)(5000 + i), 53);
	for (uint16_t i = 0; i < 6; i++)
		udp4(D4, S4, (uint16_t)(5000 + i), 53);
	udp4(C4, S4, 5000, 53);
	udp4("198.18.0.1", S4, 5000, 53);
}

START_TEST(shadow_mode)
{
	struct engine_stats enforced;

	conf_defaults(&conf);
	conf.max_flows = 6;
	conf.max_flows_per_source = 3;
	conf.on_full = CONF_FULL_DROP;
	restart();
	shadow_traffic();
	enforced = e.st;
	ck_assert_uint_gt(enforced.dropped, 0);
	ck_assert_uint_gt(enforced.drop[DROP_SOURCE_LIMIT], 0);
	ck_assert_uint_gt(enforced.drop[DROP_TABLE_FULL], 0);

	conf.enforce = false;
	restart();
	shadow_traffic();
	/* The same decisions, counted as would-be drops; nothing dropped. */
	ck_assert_uint_eq(e.st.dropped, 0);
	ck_assert_uint_eq(e.st.accepted, e.st.packets);
	ck_assert_uint_eq(e.st.would_drop, enforced.dropped);
	for (int i = 0; i < DROP_REASON_COUNT; i++)
		ck_assert_uint_eq(e.st.would[i], enforced.drop[i]);
	ck_assert_uint_eq(e.st.flows_created, enforced.flows_created);
	ck_assert_uint_eq(udp4("198.18.0.2", S4, 6000, 53), VERDICT_ACCEPT);
	ck_assert(res.shadow);
	ck_assert_int_eq(res.reason, DROP_TABLE_FULL);
	check_accounting();
}
END_TEST

START_TEST(reload_lowers_limits)
{
	uint16_t i;

	conf_defaults(&conf);
	conf.max_flows_per_source = 10;
	restart();
	for (i = 0; i < 6; i++)
		udp4(C4, S4, (uint16_t)(5000 + i), 53);
	conf.max_flows_per_source = 3;
	conf.max_proto[PC_UDP] = 4;
	conf.on_full = CONF_FULL_DROP;
	ck_assert_int_eq(group_reconfigure(engine_group(&e), tu_params(&conf)),
			 0);
	/* Kept, not replaced. */
	ck_assert_uint_eq(e.table.count, 6);
	ck_assert_int_eq(udp4(C4, S4, 5006, 53), VERDICT_DROP);
	ck_assert_int_eq(res.reason, DROP_SOURCE_LIMIT);
	ck_assert_int_eq(udp4(D4, S4, 5006, 53), VERDICT_DROP);
	ck_assert_int_eq(res.reason, DROP_PROTO_CAP);
	ck_assert_uint_eq(e.table.count, 6);
	check_accounting();
}
END_TEST

START_TEST(reload_recounts_sources)
{
	const char *why;
	uint16_t i;

	conf_defaults(&conf);
	restart();
	for (i = 0; i < 3; i++)
		udp4(C4, S4, (uint16_t)(5000 + i), 53);
	udp4(C4B, S4, 5000, 53);
	udp4(D4, S4, 5000, 53);
	ck_assert_uint_eq(engine_policy(&e)->sources.count, 3);
	at(1);
	/* A /24 per source: C4 and C4B are one. */
	conf.source_prefix4 = 24;
	conf.max_flows_per_source = 4;
	ck_assert_int_eq(group_reconfigure(engine_group(&e), tu_params(&conf)),
			 0);
	ck_assert_uint_eq(engine_policy(&e)->sources.count, 2);
	check_accounting();
	ck_assert_int_eq(udp4(C4B, S4, 5001, 53), VERDICT_DROP);
	ck_assert_int_eq(res.reason, DROP_SOURCE_LIMIT);
	/* D4 becomes exempt: out of the source and protocol counts. */
	ck_assert_int_eq(prefix_parse(&conf.exempt[0], D4, false, &why), 0);
	conf.nexempt = 1;
	ck_assert_int_eq(group_reconfigure(engine_group(&e), tu_params(&conf)),
			 0);
	ck_assert_uint_eq(engine_policy(&e)->exempt_count, 1);
	ck_assert_uint_eq(engine_policy(&e)->proto_count[PC_UDP], 4);
	ck_assert_uint_eq(engine_policy(&e)->sources.count, 1);
	ck_assert(find(D4, S4, IPPROTO_UDP, 5000, 53)->flags & FLOW_F_EXEMPT);
	check_accounting();
	/* And back. */
	conf.nexempt = 0;
	ck_assert_int_eq(group_reconfigure(engine_group(&e), tu_params(&conf)),
			 0);
	ck_assert_uint_eq(engine_policy(&e)->exempt_count, 0);
	ck_assert_uint_eq(engine_policy(&e)->sources.count, 2);
	check_accounting();
	/* The expiry order survived the moves: C4's flows (t = 0) first. */
	at(conf.timeout[TMO_UDP]);
	engine_tick(&e);
	ck_assert_uint_eq(e.table.count, 0);
	check_accounting();
}
END_TEST

/* A spoofed one-packet UDP flow from each of n addresses in 10/8. */
static void spoof_sources(uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		char a[32];

		snprintf(a, sizeof(a), "10.%u.%u.%u", (i >> 16) & 255,
			 (i >> 8) & 255, i & 255);
		udp4(a, S4, 5000, 53);
	}
}

/*
 * A flood of spoofed sources, as many as the old default source table
 * (max_flows / 4) held and more, leaves the per-source limit in force:
 * one address still gets max_flows_per_source flows, no more.
 */
START_TEST(source_flood_keeps_source_limit)
{
	uint32_t accepted = 0;

	conf_defaults(&conf);
	conf.max_flows = 8192;
	conf.max_flows_per_source = 2;
	restart();
	spoof_sources(3000);
	ck_assert_uint_eq(e.table.count, 3000);
	for (uint16_t i = 0; i < 200; i++)
		accepted += udp4(C4, S4, (uint16_t)(6000 + i), 53) ==
			    VERDICT_ACCEPT;
	ck_assert_uint_eq(accepted, 2);
	ck_assert_int_eq(res.reason, DROP_SOURCE_LIMIT);
	ck_assert_uint_eq(e.st.flows_unsourced, 0);
	ck_assert_uint_eq(engine_policy(&e)->sources.full, 0);
	/* And so it goes on with the flow table full: early_drop takes the
	 * spoofed flows, their sources go with them. */
	spoof_sources(10000);
	ck_assert_uint_eq(e.table.count, 8192);
	ck_assert_int_eq(udp4(C4B, S4, 6000, 53), VERDICT_ACCEPT);
	ck_assert_int_eq(udp4(C4B, S4, 6001, 53), VERDICT_ACCEPT);
	ck_assert_int_eq(udp4(C4B, S4, 6002, 53), VERDICT_DROP);
	ck_assert_int_eq(res.reason, DROP_SOURCE_LIMIT);
	ck_assert_uint_eq(e.st.flows_unsourced, 0);
	check_accounting();
}
END_TEST

/* A max_sources below max_flows can be filled: a new source takes the
 * entry of a one-flow source whose flow early_drop would take, else it is
 * refused while a per-source limit is on, and made uncounted if not. */
START_TEST(source_table_full)
{
	struct conv a = conv_from(D4, 1000);

	conf_defaults(&conf);
	conf.max_sources = 2;
	conf.max_flows_per_source = 1;
	restart();
	ck_assert_int_eq(udp4(C4, S4, 5000, 53), VERDICT_ACCEPT);
	at(1);
	ck_assert_int_eq(udp4(D4, S4, 5000, 53), VERDICT_ACCEPT);
	/* C4's one flow is the oldest unassured: it goes, and its entry. */
	ck_assert_int_eq(udp4(C4B, S4, 5000, 53), VERDICT_ACCEPT);
	ck_assert_int_eq(res.evicted, EVICT_EARLY_DROP);
	ck_assert_int_eq(res.ev.cause, DROP_SOURCE_FULL);
	ck_assert_ptr_null(find(C4, S4, IPPROTO_UDP, 5000, 53));
	ck_assert_int_eq(udp4(C4B, S4, 5001, 53), VERDICT_DROP);
	ck_assert_int_eq(res.reason, DROP_SOURCE_LIMIT);
	ck_assert_uint_eq(e.st.flows_unsourced, 0);
	check_accounting();

	/* Nothing to reclaim (on_full = drop): refused, and counted. */
	conf.on_full = CONF_FULL_DROP;
	restart();
	ck_assert_int_eq(udp4(C4, S4, 5000, 53), VERDICT_ACCEPT);
	handshake(&a);
	ck_assert_int_eq(udp4(C4B, S4, 5000, 53), VERDICT_DROP);
	ck_assert_int_eq(res.reason, DROP_SOURCE_FULL);
	ck_assert_uint_eq(res.limit, 2);
	ck_assert_uint_eq(e.st.drop[DROP_SOURCE_FULL], 1);
	ck_assert_uint_eq(engine_policy(&e)->sources.full, 1);
	ck_assert_uint_eq(e.st.flows_unsourced, 0);
	ck_assert_int_eq(udp4(C4, S4, 5001, 53), VERDICT_DROP);
	ck_assert_int_eq(res.reason, DROP_SOURCE_LIMIT);
	check_accounting();

	/* No per-source limit: counting sources is only for `top`, so
	 * the flow is made, uncounted. */
	conf.max_flows_per_source = 0;
	restart();
	ck_assert_int_eq(udp4(C4, S4, 5000, 53), VERDICT_ACCEPT);
	ck_assert_int_eq(udp4(D4, S4, 5000, 53), VERDICT_ACCEPT);
	ck_assert_int_eq(udp4(C4B, S4, 5000, 53), VERDICT_ACCEPT);
	ck_assert_int_eq(res.evicted, EVICT_NONE);
	ck_assert_uint_eq(e.st.flows_unsourced, 1);
	check_accounting();
}
END_TEST

START_TEST(accounting_under_churn)
{
	const char *why;
	uint32_t seed = 7;

	conf_defaults(&conf);
	conf.max_flows = 50;
	conf.max_flows_per_source = 8;
	conf.max_new_per_source = 40;
	conf.max_proto[PC_UDP] = 30;
	conf.source_prefix4 = 30;
	conf.reserve = 5;
	ck_assert_int_eq(
		prefix_parse(&conf.exempt[0], "192.0.2.0/29", false, &why), 0);
	conf.nexempt = 1;
	restart();
	for (uint32_t i = 0; i < 20000; i++) {
		char src[32];
		uint32_t r;

		seed = seed * 1103515245 + 12345;
		r = seed >> 8;
		snprintf(src, sizeof(src), "192.0.2.%u", r % 32);
		engine_set_time(&e, T0 * 1000ULL + i * 10);
		switch (r % 5) {
		case 0:
			udp4(S4, src, 53, (uint16_t)(5000 + (r >> 8) % 20));
			break;
		case 1:
		case 2:
			udp4(src, S4, (uint16_t)(5000 + (r >> 8) % 20), 53);
			break;
		default:
			tcp4(src, S4, (uint16_t)(1000 + (r >> 8) % 40), 80,
			     (r >> 16) % 3 ? TCPF_SYN : TCPF_RST);
		}
		if (i % 100 == 0)
			engine_tick(&e);
		if (i % 1000 == 0)
			check_accounting();
		ck_assert_uint_le(e.table.count, 50);
	}
	check_accounting();
	ck_assert_uint_gt(e.st.flows_evicted, 0);
	ck_assert_uint_gt(
		e.st.drop[DROP_SOURCE_LIMIT] + e.st.drop[DROP_SOURCE_RATE], 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("policy");
	TCase *tc = tcase_create("policy");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, early_drop_takes_oldest_unassured);
	tcase_add_test(tc, early_drop_refuses_when_all_assured);
	tcase_add_test(tc, early_drop_takes_closing_tcp);
	tcase_add_test(tc, time_wait_churn);
	tcase_add_test(tc, evict_idle_takes_oldest_assured);
	tcase_add_test(tc, evict_idle_takes_unassured_first);
	tcase_add_test(tc, expired_flow_reclaimed_before_evicting);
	tcase_add_test(tc, source_limit);
	tcase_add_test(tc, source_limit_skips_closed_connections);
	tcase_add_test(tc, source_limit_edges);
	tcase_add_test(tc, source_prefix_aggregation);
	tcase_add_test(tc, source_rate_limit);
	tcase_add_test(tc, proto_cap_drop);
	tcase_add_test(tc, proto_cap_early_drop_evicts_its_own);
	tcase_add_test(tc, proto_cap_icmp_and_other);
	tcase_add_test(tc, exempt_sources);
	tcase_add_test(tc, exempt_flows_never_evicted_for_others);
	tcase_add_test(tc, exempt_flood_keeps_assured_connections);
	tcase_add_test(tc, exempt_cap);
	tcase_add_test(tc, reserve);
	tcase_add_test(tc, midstream_budget);
	tcase_add_test(tc, adaptive_timeouts);
	tcase_add_test(tc, adaptive_edges);
	tcase_add_test(tc, warning_mark);
	tcase_add_test(tc, shadow_mode);
	tcase_add_test(tc, reload_lowers_limits);
	tcase_add_test(tc, reload_recounts_sources);
	tcase_add_test(tc, source_flood_keeps_source_limit);
	tcase_add_test(tc, source_table_full);
	tcase_add_test(tc, accounting_under_churn);
	tcase_add_test(tc, chain_full);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
