/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * enginetest.h - a harness for the engine's unit suites: one engine, one
 * result, and packets built and fed in one call: udp4(), tcp4(), icmp4(),
 * whole TCP conversations (struct conv, c2s(), s2c()), and find() to look
 * a flow up by its addresses. Times are seconds from T0.
 */
#ifndef NFQT_ENGINETEST_H
#define NFQT_ENGINETEST_H

#include <arpa/inet.h>
#include <check.h>

#include "engine.h"
#include "tcp.h"
#include "testutil.h"

#define C4 "192.0.2.7"
#define S4 "198.51.100.1"
#define C6 "2001:db8::7"
#define S6 "2001:db8::1"

/* Times in these tests are seconds; the engine counts milliseconds. */
#define T0 1000

static struct engine e;
static struct conf conf;
static struct engine_result res;
static const struct hash_key key = { 0x0123456789abcdefULL, 42 };

static inline void setup_max(uint32_t max_flows)
{
	conf_defaults(&conf);
	conf.max_flows = max_flows;
	ck_assert_int_eq(engine_init(&e, tu_params(&conf), &key, T0 * 1000ULL),
			 0);
}

/* A table of max_flows with the kernel's policy: refuse when full. */
static inline void setup_drop(uint32_t max_flows)
{
	conf_defaults(&conf);
	conf.max_flows = max_flows;
	conf.on_full = CONF_FULL_DROP;
	ck_assert_int_eq(engine_init(&e, tu_params(&conf), &key, T0 * 1000ULL),
			 0);
}

static inline void teardown(void)
{
	engine_destroy(&e);
}

/* With csum set, feed() gives each packet its right checksum and has the
 * engine verify it, as for one the kernel has not (PKT_F_CSUM); with
 * csum_bad as well, a wrong one (the host's stack would discard it). */
static bool csum, csum_bad;

static inline enum verdict feed(const uint8_t *b, size_t len)
{
	uint8_t *p = tu_exact(b, len);

	if (csum) {
		size_t at = tu_csum(p, len);

		if (csum_bad)
			p[at] ^= 0x5a;
	}
	engine_packet(&e, p, len, len, csum ? PKT_F_CSUM : 0, &res);
	free(p);
	return res.verdict;
}

static inline enum verdict tcp4(const char *src, const char *dst,
				uint16_t sport, uint16_t dport, uint8_t flags)
{
	uint8_t l4[20], b[64];

	tu_tcp(l4, sport, dport, flags, 1000, 2000);
	return feed(b, tu_ip4(b, IPPROTO_TCP, src, dst, l4, sizeof(l4)));
}

static inline struct flow *find(const char *src, const char *dst, uint8_t proto,
				uint16_t sport, uint16_t dport);

/* Both ends of a TCP connection, keeping their sequence numbers right. */
struct conv {
	const char *c, *s; /* client and server addresses */
	uint16_t cp, sp;
	uint32_t cseq, sseq; /* next sequence number each will send */
};

static inline enum verdict seg(const char *src, const char *dst, uint16_t sport,
			       uint16_t dport, uint8_t flags, uint32_t seq,
			       uint32_t ack, uint32_t len)
{
	uint8_t l4[20 + 1400] = { 0 }, b[sizeof(l4) + 20];

	tu_tcp(l4, sport, dport, flags, seq, ack);
	return feed(b, tu_ip4(b, IPPROTO_TCP, src, dst, l4, 20 + len));
}

static inline uint32_t advance(uint8_t flags, uint32_t len)
{
	return len + !!(flags & TCPF_SYN) + !!(flags & TCPF_FIN);
}

/* A segment from the client (c2s) or server (s2c) with len data bytes. */
static inline enum verdict c2s(struct conv *cv, uint8_t flags, uint32_t len)
{
	enum verdict v = seg(cv->c, cv->s, cv->cp, cv->sp, flags, cv->cseq,
			     flags & TCPF_ACK ? cv->sseq : 0, len);

	cv->cseq += advance(flags, len);
	return v;
}

static inline enum verdict s2c(struct conv *cv, uint8_t flags, uint32_t len)
{
	enum verdict v = seg(cv->s, cv->c, cv->sp, cv->cp, flags, cv->sseq,
			     flags & TCPF_ACK ? cv->cseq : 0, len);

	cv->sseq += advance(flags, len);
	return v;
}

static inline struct conv conv4(uint16_t cp)
{
	return (struct conv){ C4, S4, cp, 80, 100000, 900000 };
}

static inline struct flow *conv_flow(const struct conv *cv)
{
	return find(cv->c, cv->s, IPPROTO_TCP, cv->cp, cv->sp);
}

static inline enum verdict udp4(const char *src, const char *dst,
				uint16_t sport, uint16_t dport)
{
	uint8_t l4[16], b[64];

	return feed(b, tu_ip4(b, IPPROTO_UDP, src, dst, l4,
			      tu_udp(l4, sport, dport, 8)));
}

static inline enum verdict icmp4(const char *src, const char *dst, uint8_t type,
				 uint16_t id)
{
	uint8_t l4[8], b[64];

	return feed(b, tu_ip4(b, IPPROTO_ICMP, src, dst, l4,
			      tu_icmp(l4, type, 0, id)));
}

/* The one flow in a table of one chain walk: find it by key. */
static inline struct flow *find(const char *src, const char *dst, uint8_t proto,
				uint16_t sport, uint16_t dport)
{
	uint8_t s[4], d[4];
	struct flow_key k;

	inet_pton(AF_INET, src, s);
	inet_pton(AF_INET, dst, d);
	flow_key_make(&k, 4, proto, s, d, sport, dport);
	return flow_table_lookup(&e.table, &k, flow_hash(&e.table, &k), e.now);
}

/* The engine clock at T0 + sec seconds. */
static inline void at(uint32_t sec)
{
	engine_set_time(&e, (uint64_t)(T0 + sec) * 1000);
}

#endif
