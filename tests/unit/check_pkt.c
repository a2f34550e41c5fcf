// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * check_pkt.c - tests of the header parser, pkt_parse() in src/pkt.c:
 * good IPv4/IPv6 packets of every protocol with exact checks of every
 * field, IPv4 options and padding, IPv6 extension header chains, ICMP
 * errors and their quotes, fragments, every malformed reason, GSO, the
 * name functions, and two bounded robustness loops (every prefix of every
 * good packet, and a deterministic random mutation loop), all parsed from
 * exact-size heap copies so that AddressSanitizer sees any overread.
 */
#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pkt.h"
#include "testutil.h"

#define A4 "192.0.2.1"
#define B4 "198.51.100.2"
#define R4 "203.0.113.9"
#define A6 "2001:db8::1"
#define B6 "2001:db8:0:1::2"
#define R6 "2001:db8:ffff::9"

#define BUFSZ 4096

/* ---- parsing and checking ------------------------------------------------ */

static void check_invariants(const struct pkt *p, enum pkt_kind k,
			     size_t caplen, size_t wirelen, const char *what)
{
	const char *why = tu_pkt_invariant(p, k, caplen, wirelen);

	ck_assert_msg(!why, "%s (caplen %zu wirelen %zu): %s", what, caplen,
		      wirelen, why);
}

/* Parse caplen bytes of b from an exact-size heap copy into a poisoned p. */
static enum pkt_kind parse_ex(struct pkt *p, const uint8_t *b, size_t caplen,
			      size_t wirelen, unsigned int flags)
{
	uint8_t *copy = tu_exact(b, caplen);
	enum pkt_kind k;

	memset(p, 0xa5, sizeof(*p));
	k = pkt_parse(p, copy, caplen, wirelen, flags);
	free(copy);
	check_invariants(p, k, caplen, wirelen, "parse");
	return k;
}

static enum pkt_kind parse(struct pkt *p, const uint8_t *b, size_t len)
{
	return parse_ex(p, b, len, len, 0);
}

/* An expected result: everything zero but these. */
static struct pkt want(uint8_t kind, uint8_t family, uint8_t proto,
		       const char *src, const char *dst)
{
	int af = family == 4 ? AF_INET : AF_INET6;
	struct pkt e;

	memset(&e, 0, sizeof(e));
	e.kind = kind;
	e.family = family;
	e.proto = proto;
	ck_assert_int_eq(inet_pton(af, src, e.src), 1);
	ck_assert_int_eq(inet_pton(af, dst, e.dst), 1);
	return e;
}

static void want_inner(struct pkt *e, uint8_t proto, const char *src,
		       const char *dst, uint16_t sport, uint16_t dport)
{
	int af = e->family == 4 ? AF_INET : AF_INET6;

	e->inner.family = e->family;
	e->inner.proto = proto;
	ck_assert_int_eq(inet_pton(af, src, e->inner.src), 1);
	ck_assert_int_eq(inet_pton(af, dst, e->inner.dst), 1);
	e->inner.sport = sport;
	e->inner.dport = dport;
}

#define EXPECT(p, e) expect_pkt(__LINE__, (p), (e))

/* Every field of p as in e. */
static void expect_pkt(int line, const struct pkt *p, const struct pkt *e)
{
#define EQ(f)                                                               \
	ck_assert_msg(p->f == e->f, "line %d: %s is %llu, want %llu", line, \
		      #f, (unsigned long long)p->f, (unsigned long long)e->f)
#define EQB(f)                                           \
	ck_assert_msg(!memcmp(p->f, e->f, sizeof(p->f)), \
		      "line %d: %s differs from what was wanted", line, #f)
	EQ(kind);
	EQ(err);
	EQ(family);
	EQ(proto);
	EQ(frag);
	EQB(src);
	EQB(dst);
	EQ(sport);
	EQ(dport);
	EQ(tcp_flags);
	EQ(tcp_seq);
	EQ(tcp_ack);
	EQ(tcp_win);
	EQ(tcp_doff);
	EQ(icmp_type);
	EQ(icmp_code);
	EQ(icmp_query);
	EQ(ip_len);
	EQ(l4_off);
	EQ(l4_len);
	EQ(inner.family);
	EQ(inner.proto);
	EQ(inner.has_ports);
	EQ(inner.icmp_type);
	EQB(inner.src);
	EQB(inner.dst);
	EQ(inner.sport);
	EQ(inner.dport);
#undef EQ
#undef EQB
}

#define EXPECT_ERR(p, e) expect_err(__LINE__, (p), (e))

static void expect_err(int line, const struct pkt *p, enum pkt_err err)
{
	ck_assert_msg(p->kind == PKT_MALFORMED && p->err == err,
		      "line %d: kind %u err %s, want malformed %s", line,
		      p->kind, pkt_err_name(p->err), pkt_err_name(err));
}

/* Are two results the same in every field? */
static bool pkt_same(const struct pkt *a, const struct pkt *b)
{
	return a->kind == b->kind && a->err == b->err &&
	       a->family == b->family && a->proto == b->proto &&
	       a->frag == b->frag && a->tcp_flags == b->tcp_flags &&
	       a->icmp_type == b->icmp_type && a->icmp_code == b->icmp_code &&
	       a->icmp_query == b->icmp_query && !memcmp(a->src, b->src, 16) &&
	       !memcmp(a->dst, b->dst, 16) && a->sport == b->sport &&
	       a->dport == b->dport && a->ip_len == b->ip_len &&
	       a->l4_off == b->l4_off && a->l4_len == b->l4_len &&
	       a->tcp_seq == b->tcp_seq && a->tcp_ack == b->tcp_ack &&
	       a->tcp_win == b->tcp_win && a->tcp_doff == b->tcp_doff &&
	       a->inner.family == b->inner.family &&
	       a->inner.proto == b->inner.proto &&
	       a->inner.has_ports == b->inner.has_ports &&
	       a->inner.icmp_type == b->inner.icmp_type &&
	       !memcmp(a->inner.src, b->inner.src, 16) &&
	       !memcmp(a->inner.dst, b->inner.dst, 16) &&
	       a->inner.sport == b->inner.sport &&
	       a->inner.dport == b->inner.dport;
}

/* ---- good packets -------------------------------------------------------- */

static size_t g_v4_tcp(uint8_t *b)
{
	uint8_t l4[64];
	size_t n = tu_tcp(l4, 40000, 443, TCPF_PSH | TCPF_ACK, 0x01020304,
			  0xa0b0c0d0);

	put16(l4 + 14, 0x1234);
	memset(l4 + n, 'x', 10);
	return tu_ip4(b, IPPROTO_TCP, A4, B4, l4, n + 10);
}

static size_t g_v4_tcp_opts(uint8_t *b)
{
	uint8_t l4[64];
	size_t n = tu_tcp_doff(l4, 1024, 25, TCPF_SYN, 0xfffffffe, 0, 40);

	memset(l4 + n, 'y', 5);
	return tu_ip4(b, IPPROTO_TCP, A4, B4, l4, n + 5);
}

static size_t g_v4_udp(uint8_t *b)
{
	uint8_t l4[64];

	return tu_ip4(b, IPPROTO_UDP, A4, B4, l4, tu_udp(l4, 53001, 53, 12));
}

/* UDP-Lite with coverage cov (0: all of it) and 24 bytes of payload. */
static size_t v4_udplite(uint8_t *b, uint16_t cov)
{
	uint8_t l4[64];
	size_t n = tu_udp(l4, 5004, 5005, 24);

	put16(l4 + 4, cov);
	return tu_ip4(b, IPPROTO_UDPLITE, A4, B4, l4, n);
}

static size_t g_v4_udplite(uint8_t *b)
{
	return v4_udplite(b, 8);
}

static size_t g_v4_udplite0(uint8_t *b)
{
	return v4_udplite(b, 0);
}

static size_t g_v4_sctp(uint8_t *b)
{
	uint8_t l4[64];
	size_t n = tu_sctp(l4, 5000, 36412, 0xdeadbeef);

	memset(l4 + n, 0, 16); /* an INIT chunk's worth */
	l4[n] = 1;
	return tu_ip4(b, IPPROTO_SCTP, A4, B4, l4, n + 16);
}

static size_t g_v4_dccp(uint8_t *b)
{
	uint8_t l4[64];

	return tu_ip4(b, IPPROTO_DCCP, A4, B4, l4, tu_dccp(l4, 5001, 5002, 0));
}

static size_t v4_icmp(uint8_t *b, uint8_t type, uint16_t id)
{
	uint8_t l4[64];
	size_t n = tu_icmp(l4, type, 0, id);

	memset(l4 + n, 'p', 16);
	return tu_ip4(b, IPPROTO_ICMP, A4, B4, l4, n + 16);
}

static size_t g_v4_echo(uint8_t *b)
{
	return v4_icmp(b, 8, 0x4242);
}

static size_t g_v4_echo_reply(uint8_t *b)
{
	return v4_icmp(b, 0, 0x4242);
}

static size_t g_v4_gre(uint8_t *b)
{
	static const uint8_t gre[4] = { 0, 0, 0x08, 0x00 };

	return tu_ip4(b, IPPROTO_GRE, A4, B4, gre, sizeof(gre));
}

/* TCP behind an IPv4 header of ihl bytes. */
static size_t v4_ihl(uint8_t *b, size_t ihl)
{
	uint8_t l4[64];
	size_t n = tu_tcp(l4, 33000, 8080, TCPF_ACK, 7, 9);

	return tu_ip4_ihl(b, ihl, IPPROTO_TCP, A4, B4, l4, n);
}

static size_t g_v4_ihl60(uint8_t *b)
{
	return v4_ihl(b, 60);
}

/* 32 bytes of IP (UDP, 4 bytes payload) padded to 46 by the link. */
static size_t g_v4_padded(uint8_t *b)
{
	uint8_t l4[64];
	size_t n = tu_ip4(b, IPPROTO_UDP, A4, B4, l4, tu_udp(l4, 68, 67, 4));

	memset(b + n, 0, 46 - n);
	return 46;
}

static size_t g_v6_tcp(uint8_t *b)
{
	uint8_t l4[64];
	size_t n = tu_tcp(l4, 50000, 22, TCPF_SYN | TCPF_ECE | TCPF_CWR,
			  0x80000000, 0);

	put16(l4 + 14, 64800);
	return tu_ip6(b, IPPROTO_TCP, A6, B6, l4, n);
}

static size_t g_v6_udp(uint8_t *b)
{
	uint8_t l4[64];

	return tu_ip6(b, IPPROTO_UDP, A6, B6, l4, tu_udp(l4, 546, 547, 30));
}

static size_t g_v6_udplite(uint8_t *b)
{
	uint8_t l4[64];
	size_t n = tu_udp(l4, 1234, 4321, 32);

	put16(l4 + 4, 16);
	return tu_ip6(b, IPPROTO_UDPLITE, A6, B6, l4, n);
}

static size_t g_v6_udplite0(uint8_t *b)
{
	uint8_t l4[64];
	size_t n = tu_udp(l4, 1234, 4321, 32);

	put16(l4 + 4, 0);
	return tu_ip6(b, IPPROTO_UDPLITE, A6, B6, l4, n);
}

static size_t g_v6_sctp(uint8_t *b)
{
	uint8_t l4[64];

	return tu_ip6(b, IPPROTO_SCTP, A6, B6, l4,
		      tu_sctp(l4, 2905, 2906, 0x01020304));
}

static size_t g_v6_dccp(uint8_t *b)
{
	uint8_t l4[64];

	return tu_ip6(b, IPPROTO_DCCP, A6, B6, l4, tu_dccp(l4, 6000, 6001, 1));
}

static size_t v6_icmp(uint8_t *b, uint8_t type, uint16_t id)
{
	uint8_t l4[64];
	size_t n = tu_icmp(l4, type, 0, id);

	memset(l4 + n, 'q', 8);
	return tu_ip6(b, IPPROTO_ICMPV6, A6, B6, l4, n + 8);
}

static size_t g_v6_echo(uint8_t *b)
{
	return v6_icmp(b, 128, 0x1234);
}

static size_t g_v6_echo_reply(uint8_t *b)
{
	return v6_icmp(b, 129, 0x1234);
}

static size_t g_v6_gre(uint8_t *b)
{
	static const uint8_t gre[4] = { 0, 0, 0x86, 0xdd };

	return tu_ip6(b, IPPROTO_GRE, A6, B6, gre, sizeof(gre));
}

/*
 * IPv6 from A6 to B6 through n extension headers of types[i] and lens[i]
 * bytes, then proto with l4 (l4len bytes).
 */
static size_t v6_chain(uint8_t *b, const uint8_t *types, const size_t *lens,
		       size_t n, uint8_t proto, const void *l4, size_t l4len)
{
	uint8_t rest[BUFSZ];
	size_t off = 0;

	for (size_t i = 0; i < n; i++)
		off += tu_ip6_ext(rest + off, types[i],
				  i + 1 < n ? types[i + 1] : proto, lens[i]);
	memcpy(rest + off, l4, l4len);
	return tu_ip6(b, n ? types[0] : proto, A6, B6, rest, off + l4len);
}

static size_t v6_ext_tcp(uint8_t *b, uint8_t type, size_t len)
{
	uint8_t l4[64];
	size_t n = tu_tcp(l4, 40001, 80, TCPF_ACK, 1, 2);

	return v6_chain(b, &type, &len, 1, IPPROTO_TCP, l4, n);
}

static size_t g_v6_hbh(uint8_t *b)
{
	return v6_ext_tcp(b, IPPROTO_HOPOPTS, 8);
}

static size_t g_v6_dst(uint8_t *b)
{
	uint8_t type = IPPROTO_DSTOPTS, l4[64];
	size_t len = 16;

	return v6_chain(b, &type, &len, 1, IPPROTO_UDP, l4,
			tu_udp(l4, 7000, 7001, 0));
}

static size_t g_v6_rt(uint8_t *b)
{
	return v6_ext_tcp(b, IPPROTO_ROUTING, 24);
}

static size_t g_v6_ah(uint8_t *b)
{
	return v6_ext_tcp(b, IPPROTO_AH, 24);
}

static const uint8_t chain_types[] = { IPPROTO_HOPOPTS, IPPROTO_DSTOPTS,
				       IPPROTO_ROUTING, IPPROTO_AH,
				       IPPROTO_DSTOPTS };
static const size_t chain_lens[] = { 8, 16, 24, 16, 8 };

static size_t g_v6_chain(uint8_t *b)
{
	uint8_t l4[64];

	return v6_chain(b, chain_types, chain_lens, 5, IPPROTO_UDP, l4,
			tu_udp(l4, 9000, 9001, 3));
}

static size_t g_v6_esp(uint8_t *b)
{
	uint8_t type = IPPROTO_HOPOPTS, esp[24];
	size_t len = 8;

	memset(esp, 0xee, sizeof(esp));
	return v6_chain(b, &type, &len, 1, IPPROTO_ESP, esp, sizeof(esp));
}

static size_t g_v6_nonext(uint8_t *b)
{
	uint8_t type = IPPROTO_DSTOPTS, junk[8];
	size_t len = 8;

	memset(junk, 0x55, sizeof(junk));
	return v6_chain(b, &type, &len, 1, IPPROTO_NONE, junk, sizeof(junk));
}

/* TCP after n destination options headers of 8 bytes. */
static size_t v6_many_ext(uint8_t *b, size_t n)
{
	uint8_t types[32], l4[64];
	size_t lens[32];

	for (size_t i = 0; i < n; i++) {
		types[i] = IPPROTO_DSTOPTS;
		lens[i] = 8;
	}
	return v6_chain(b, types, lens, n, IPPROTO_TCP, l4,
			tu_tcp(l4, 1, 2, TCPF_SYN, 3, 0));
}

static size_t g_v6_16ext(uint8_t *b)
{
	return v6_many_ext(b, 16);
}

/* 48 bytes of IPv6 (UDP, no payload) padded to 60 by the link. */
static size_t g_v6_padded(uint8_t *b)
{
	uint8_t l4[64];
	size_t n =
		tu_ip6(b, IPPROTO_UDP, A6, B6, l4, tu_udp(l4, 5353, 5353, 0));

	memset(b + n, 0, 60 - n);
	return 60;
}

/* ---- ICMP errors --------------------------------------------------------- */

enum quote { Q_TCP, Q_UDP, Q_ECHO, Q_GRE };

static const uint8_t q_proto[] = { IPPROTO_TCP, IPPROTO_UDP, 0, IPPROTO_GRE };

/* The transport part of the packet that A sent to B. */
static size_t orig_l4(uint8_t *l4, enum quote q, int family)
{
	size_t n = 0;

	switch (q) {
	case Q_TCP:
		n = tu_tcp(l4, 40000, 443, TCPF_SYN, 1000, 0);
		memset(l4 + n, 0, 40);
		return n + 40;
	case Q_UDP:
		return tu_udp(l4, 53001, 53, 40);
	case Q_ECHO:
		n = tu_icmp(l4, family == 4 ? 8 : 128, 0, 0x7777);
		memset(l4 + n, 0, 32);
		return n + 32;
	case Q_GRE:
		memset(l4, 0, 24);
		return 24;
	}
	return n;
}

static size_t orig4(uint8_t *b, enum quote q)
{
	uint8_t l4[128];
	size_t n = orig_l4(l4, q, 4);

	return tu_ip4(b, q == Q_ECHO ? IPPROTO_ICMP : q_proto[q], A4, B4, l4,
		      n);
}

static size_t orig6(uint8_t *b, enum quote q)
{
	uint8_t l4[128];
	size_t n = orig_l4(l4, q, 6);

	return tu_ip6(b, q == Q_ECHO ? IPPROTO_ICMPV6 : q_proto[q], A6, B6, l4,
		      n);
}

/* ICMPv4 error from R to A quoting qlen bytes of quote. */
static size_t err4_quoting(uint8_t *b, uint8_t type, uint8_t code,
			   const uint8_t *quote, size_t qlen)
{
	uint8_t l4[BUFSZ];

	return tu_ip4(b, IPPROTO_ICMP, R4, A4, l4,
		      tu_icmp_err(l4, type, code, quote, qlen));
}

static size_t err6_quoting(uint8_t *b, uint8_t type, uint8_t code,
			   const uint8_t *quote, size_t qlen)
{
	uint8_t l4[BUFSZ];

	return tu_ip6(b, IPPROTO_ICMPV6, R6, A6, l4,
		      tu_icmp_err(l4, type, code, quote, qlen));
}

/* ICMPv4 error quoting the IP header and 8 bytes, as RFC 792 has it. */
static size_t err4(uint8_t *b, uint8_t type, uint8_t code, enum quote q)
{
	uint8_t o[256];

	orig4(o, q);
	return err4_quoting(b, type, code, o, 28);
}

/* ICMPv6 error quoting all of the original packet. */
static size_t err6(uint8_t *b, uint8_t type, uint8_t code, enum quote q)
{
	uint8_t o[256];
	size_t n = orig6(o, q);

	return err6_quoting(b, type, code, o, n);
}

static size_t g_err4_tcp(uint8_t *b)
{
	return err4(b, 3, 1, Q_TCP);
}

static size_t g_err4_udp(uint8_t *b)
{
	return err4(b, 11, 0, Q_UDP);
}

static size_t g_err4_echo(uint8_t *b)
{
	return err4(b, 12, 0, Q_ECHO);
}

static size_t g_err6_tcp(uint8_t *b)
{
	return err6(b, 1, 4, Q_TCP);
}

static size_t g_err6_udp(uint8_t *b)
{
	return err6(b, 2, 0, Q_UDP);
}

static size_t g_err6_echo(uint8_t *b)
{
	return err6(b, 3, 0, Q_ECHO);
}

/* An ICMPv4 error quoting a header with options (IHL 7) and UDP. */
static size_t g_err4_opts(uint8_t *b)
{
	uint8_t o[256], l4[64];

	tu_ip4_ihl(o, 28, IPPROTO_UDP, A4, B4, l4, tu_udp(l4, 123, 123, 40));
	return err4_quoting(b, 3, 3, o, 28 + 8);
}

/* An ICMPv6 error quoting hop-by-hop, routing, fragment (first, M set),
 * destination options and then UDP. */
static size_t g_err6_ext(uint8_t *b)
{
	uint8_t o[256], rest[256];
	size_t n = 0;

	n += tu_ip6_ext(rest + n, IPPROTO_HOPOPTS, IPPROTO_ROUTING, 8);
	n += tu_ip6_ext(rest + n, IPPROTO_ROUTING, IPPROTO_FRAGMENT, 24);
	n += tu_ip6_frag(rest + n, IPPROTO_DSTOPTS, 0, 1, 0x55);
	n += tu_ip6_ext(rest + n, IPPROTO_DSTOPTS, IPPROTO_UDP, 16);
	n += tu_udp(rest + n, 4500, 4501, 20);
	n = tu_ip6(o, IPPROTO_HOPOPTS, A6, B6, rest, n);
	return err6_quoting(b, 1, 3, o, n);
}

/* ICMP errors quoting a non-first fragment: no transport header. */
static size_t g_err4_frag(uint8_t *b)
{
	uint8_t o[256];

	orig4(o, Q_TCP);
	tu_ip4_frag(o, 99, 1, 1480);
	return err4_quoting(b, 11, 1, o, 28);
}

static size_t g_err6_frag(uint8_t *b)
{
	uint8_t o[256], rest[128];
	size_t n = tu_ip6_frag(rest, IPPROTO_TCP, 2960, 1, 0x1234567);

	memset(rest + n, 0xab, 16);
	n = tu_ip6(o, IPPROTO_FRAGMENT, A6, B6, rest, n + 16);
	return err6_quoting(b, 3, 1, o, n);
}

static size_t g_err4_gre(uint8_t *b)
{
	return err4(b, 3, 2, Q_GRE);
}

/* ---- fragments ----------------------------------------------------------- */

static size_t g_v4_frag_first(uint8_t *b)
{
	uint8_t l4[64];
	size_t n = tu_tcp(l4, 2000, 3000, TCPF_ACK, 5, 6);

	memset(l4 + n, 'f', 12);
	n = tu_ip4(b, IPPROTO_TCP, A4, B4, l4, n + 12);
	tu_ip4_frag(b, 0x4711, 1, 0);
	return n;
}

static size_t g_v4_frag_later(uint8_t *b)
{
	uint8_t data[100];
	size_t n;

	/* Looks like a TCP header, but is the middle of a segment. */
	tu_tcp(data, 1, 2, TCPF_SYN, 3, 4);
	memset(data + 20, 'm', sizeof(data) - 20);
	n = tu_ip4(b, IPPROTO_TCP, A4, B4, data, sizeof(data));
	tu_ip4_frag(b, 0x4711, 1, 1480);
	return n;
}

static size_t g_v4_frag_last(uint8_t *b)
{
	uint8_t data[16];
	size_t n;

	memset(data, 'l', sizeof(data));
	n = tu_ip4(b, IPPROTO_UDP, A4, B4, data, sizeof(data));
	tu_ip4_frag(b, 0x4712, 0, 8);
	return n;
}

static size_t g_v6_frag_first(uint8_t *b)
{
	uint8_t rest[64];
	size_t n = tu_ip6_frag(rest, IPPROTO_TCP, 0, 1, 0xabcdef01);

	n += tu_tcp(rest + n, 443, 50001, TCPF_ACK | TCPF_PSH, 10, 20);
	return tu_ip6(b, IPPROTO_FRAGMENT, A6, B6, rest, n);
}

static size_t g_v6_frag_later(uint8_t *b)
{
	uint8_t rest[128];
	size_t n = tu_ip6_ext(rest, IPPROTO_HOPOPTS, IPPROTO_FRAGMENT, 8);

	n += tu_ip6_frag(rest + n, IPPROTO_UDP, 1232, 0, 0xabcdef02);
	memset(rest + n, 'z', 64);
	return tu_ip6(b, IPPROTO_HOPOPTS, A6, B6, rest, n + 64);
}

static size_t g_v6_frag_atomic(uint8_t *b)
{
	uint8_t rest[64];
	size_t n = tu_ip6_frag(rest, IPPROTO_UDP, 0, 0, 0xabcdef03);

	n += tu_udp(rest + n, 5353, 53, 4);
	return tu_ip6(b, IPPROTO_FRAGMENT, A6, B6, rest, n);
}

/* ---- GSO ----------------------------------------------------------------- */

/* A TSO packet as the stack queues it: IPv4 total length 0. */
static size_t g_v4_gso(uint8_t *b)
{
	uint8_t l4[256];
	size_t n = tu_tcp(l4, 45000, 5201, TCPF_ACK, 100, 200);

	memset(l4 + n, 'g', 200);
	n = tu_ip4(b, IPPROTO_TCP, A4, B4, l4, n + 200);
	put16(b + 2, 0);
	return n;
}

/* BIG TCP / GSO over IPv6: payload length 0. */
static size_t g_v6_gso(uint8_t *b)
{
	uint8_t l4[256];
	size_t n = tu_udp(l4, 4433, 4434, 200);

	put16(l4 + 4, 1208); /* the segment's length, not the whole */
	n = tu_ip6(b, IPPROTO_UDP, A6, B6, l4, n);
	put16(b + 4, 0);
	return n;
}

struct good {
	const char *name;
	size_t (*build)(uint8_t *b);
	unsigned int flags;
};

static const struct good goods[] = {
	{ "v4_tcp", g_v4_tcp, 0 },
	{ "v4_tcp_opts", g_v4_tcp_opts, 0 },
	{ "v4_udp", g_v4_udp, 0 },
	{ "v4_udplite", g_v4_udplite, 0 },
	{ "v4_udplite0", g_v4_udplite0, 0 },
	{ "v4_sctp", g_v4_sctp, 0 },
	{ "v4_dccp", g_v4_dccp, 0 },
	{ "v4_echo", g_v4_echo, 0 },
	{ "v4_echo_reply", g_v4_echo_reply, 0 },
	{ "v4_gre", g_v4_gre, 0 },
	{ "v4_ihl60", g_v4_ihl60, 0 },
	{ "v4_padded", g_v4_padded, 0 },
	{ "v6_tcp", g_v6_tcp, 0 },
	{ "v6_udp", g_v6_udp, 0 },
	{ "v6_udplite", g_v6_udplite, 0 },
	{ "v6_udplite0", g_v6_udplite0, 0 },
	{ "v6_sctp", g_v6_sctp, 0 },
	{ "v6_dccp", g_v6_dccp, 0 },
	{ "v6_echo", g_v6_echo, 0 },
	{ "v6_echo_reply", g_v6_echo_reply, 0 },
	{ "v6_gre", g_v6_gre, 0 },
	{ "v6_hbh", g_v6_hbh, 0 },
	{ "v6_dst", g_v6_dst, 0 },
	{ "v6_rt", g_v6_rt, 0 },
	{ "v6_ah", g_v6_ah, 0 },
	{ "v6_chain", g_v6_chain, 0 },
	{ "v6_esp", g_v6_esp, 0 },
	{ "v6_nonext", g_v6_nonext, 0 },
	{ "v6_16ext", g_v6_16ext, 0 },
	{ "v6_padded", g_v6_padded, 0 },
	{ "err4_tcp", g_err4_tcp, 0 },
	{ "err4_udp", g_err4_udp, 0 },
	{ "err4_echo", g_err4_echo, 0 },
	{ "err6_tcp", g_err6_tcp, 0 },
	{ "err6_udp", g_err6_udp, 0 },
	{ "err6_echo", g_err6_echo, 0 },
	{ "err4_opts", g_err4_opts, 0 },
	{ "err6_ext", g_err6_ext, 0 },
	{ "err4_frag", g_err4_frag, 0 },
	{ "err6_frag", g_err6_frag, 0 },
	{ "err4_gre", g_err4_gre, 0 },
	{ "v4_frag_first", g_v4_frag_first, 0 },
	{ "v4_frag_later", g_v4_frag_later, 0 },
	{ "v4_frag_last", g_v4_frag_last, 0 },
	{ "v6_frag_first", g_v6_frag_first, 0 },
	{ "v6_frag_later", g_v6_frag_later, 0 },
	{ "v6_frag_atomic", g_v6_frag_atomic, 0 },
	{ "v4_gso", g_v4_gso, PKT_F_GSO },
	{ "v6_gso", g_v6_gso, PKT_F_GSO },
};

#define NGOODS (sizeof(goods) / sizeof(goods[0]))

/* ---- good packets: exact results ----------------------------------------- */

START_TEST(v4_tcp)
{
	uint8_t b[BUFSZ];
	size_t n = g_v4_tcp(b);
	struct pkt p, e = want(PKT_FLOW, 4, IPPROTO_TCP, A4, B4);

	ck_assert_int_eq(parse(&p, b, n), PKT_FLOW);
	e.sport = 40000;
	e.dport = 443;
	e.tcp_flags = TCPF_PSH | TCPF_ACK;
	e.tcp_seq = 0x01020304;
	e.tcp_ack = 0xa0b0c0d0;
	e.tcp_win = 0x1234;
	e.tcp_doff = 20;
	e.ip_len = 50;
	e.l4_off = 20;
	e.l4_len = 30;
	EXPECT(&p, &e);
}
END_TEST

START_TEST(v4_tcp_options)
{
	uint8_t b[BUFSZ];
	size_t n = g_v4_tcp_opts(b);
	struct pkt p, e = want(PKT_FLOW, 4, IPPROTO_TCP, A4, B4);

	ck_assert_int_eq(parse(&p, b, n), PKT_FLOW);
	e.sport = 1024;
	e.dport = 25;
	e.tcp_flags = TCPF_SYN;
	e.tcp_seq = 0xfffffffe;
	e.tcp_win = 65535;
	e.tcp_doff = 40;
	e.ip_len = 65;
	e.l4_off = 20;
	e.l4_len = 45;
	EXPECT(&p, &e);
}
END_TEST

/* Data offset 15: 60 bytes of header, exactly the segment. */
START_TEST(v4_tcp_doff_max)
{
	uint8_t b[BUFSZ], l4[64];
	size_t n = tu_tcp_doff(l4, 1, 2, TCPF_FIN | TCPF_ACK, 8, 9, 60);
	struct pkt p, e = want(PKT_FLOW, 4, IPPROTO_TCP, A4, B4);

	n = tu_ip4(b, IPPROTO_TCP, A4, B4, l4, n);
	ck_assert_int_eq(parse(&p, b, n), PKT_FLOW);
	e.sport = 1;
	e.dport = 2;
	e.tcp_flags = TCPF_FIN | TCPF_ACK;
	e.tcp_seq = 8;
	e.tcp_ack = 9;
	e.tcp_win = 65535;
	e.tcp_doff = 60;
	e.ip_len = 80;
	e.l4_off = 20;
	e.l4_len = 60;
	EXPECT(&p, &e);
}
END_TEST

START_TEST(v4_udp)
{
	uint8_t b[BUFSZ];
	size_t n = g_v4_udp(b);
	struct pkt p, e = want(PKT_FLOW, 4, IPPROTO_UDP, A4, B4);

	ck_assert_int_eq(parse(&p, b, n), PKT_FLOW);
	e.sport = 53001;
	e.dport = 53;
	e.ip_len = 40;
	e.l4_off = 20;
	e.l4_len = 20;
	EXPECT(&p, &e);
}
END_TEST

/* A UDP length below the IP payload leaves trailing bytes: accepted, as
 * nf_conntrack does. */
START_TEST(v4_udp_short_length_field)
{
	uint8_t b[BUFSZ];
	size_t n = g_v4_udp(b);
	struct pkt p, e = want(PKT_FLOW, 4, IPPROTO_UDP, A4, B4);

	put16(b + 24, 8);
	ck_assert_int_eq(parse(&p, b, n), PKT_FLOW);
	e.sport = 53001;
	e.dport = 53;
	e.ip_len = 40;
	e.l4_off = 20;
	e.l4_len = 20;
	EXPECT(&p, &e);
}
END_TEST

/* UDP-Lite: the length field is the checksum coverage, 0 meaning all,
 * and anything from 8 to the whole datagram is valid. */
START_TEST(v4_udplite_coverage)
{
	static const uint16_t covs[] = { 0, 8, 9, 20, 32 };

	for (size_t i = 0; i < sizeof(covs) / sizeof(covs[0]); i++) {
		uint8_t b[BUFSZ];
		size_t n = v4_udplite(b, covs[i]);
		struct pkt p, e = want(PKT_FLOW, 4, IPPROTO_UDPLITE, A4, B4);

		ck_assert_int_eq(parse(&p, b, n), PKT_FLOW);
		e.sport = 5004;
		e.dport = 5005;
		e.ip_len = 52;
		e.l4_off = 20;
		e.l4_len = 32;
		EXPECT(&p, &e);
	}
}
END_TEST

START_TEST(v4_sctp)
{
	uint8_t b[BUFSZ];
	size_t n = g_v4_sctp(b);
	struct pkt p, e = want(PKT_FLOW, 4, IPPROTO_SCTP, A4, B4);

	ck_assert_int_eq(parse(&p, b, n), PKT_FLOW);
	e.sport = 5000;
	e.dport = 36412;
	e.ip_len = 48;
	e.l4_off = 20;
	e.l4_len = 28;
	EXPECT(&p, &e);
}
END_TEST

START_TEST(v4_dccp)
{
	uint8_t b[BUFSZ];
	size_t n = g_v4_dccp(b);
	struct pkt p, e = want(PKT_FLOW, 4, IPPROTO_DCCP, A4, B4);

	/* by addresses alone, as the kernel's generic tracker */
	ck_assert_int_eq(parse(&p, b, n), PKT_FLOW);
	e.ip_len = 32;
	e.l4_off = 20;
	e.l4_len = 12;
	EXPECT(&p, &e);
}
END_TEST

START_TEST(v4_icmp_echo)
{
	uint8_t b[BUFSZ];
	size_t n = g_v4_echo(b);
	struct pkt p, e = want(PKT_FLOW, 4, IPPROTO_ICMP, A4, B4);

	ck_assert_int_eq(parse(&p, b, n), PKT_FLOW);
	e.icmp_type = 8;
	e.icmp_query = 1;
	e.sport = 0x4242; /* identifier */
	e.dport = 8 << 8; /* request type, code */
	e.ip_len = 44;
	e.l4_off = 20;
	e.l4_len = 24;
	EXPECT(&p, &e);
}
END_TEST

START_TEST(v4_icmp_echo_reply)
{
	uint8_t b[BUFSZ];
	size_t n = g_v4_echo_reply(b);
	struct pkt p, e = want(PKT_FLOW, 4, IPPROTO_ICMP, A4, B4);

	ck_assert_int_eq(parse(&p, b, n), PKT_FLOW);
	e.icmp_type = 0;
	e.icmp_query = 2;
	e.sport = 0x4242;
	e.dport = 8 << 8; /* the request's type, as for the request */
	e.ip_len = 44;
	e.l4_off = 20;
	e.l4_len = 24;
	EXPECT(&p, &e);
}
END_TEST

/* Timestamp, information and address mask pair by id like echo; other
 * informational types (router advertisement 9) carry no id. */
START_TEST(v4_icmp_other_queries)
{
	static const uint8_t types[] = { 13, 14, 15, 16, 17, 18, 9, 10 };
	static const uint8_t query[] = { 1, 2, 1, 2, 1, 2, 0, 0 };
	static const uint8_t request[] = { 13, 13, 15, 15, 17, 17, 0, 0 };

	for (size_t i = 0; i < sizeof(types); i++) {
		uint8_t b[BUFSZ];
		size_t n = v4_icmp(b, types[i], 0x0102);
		struct pkt p, e = want(PKT_FLOW, 4, IPPROTO_ICMP, A4, B4);

		ck_assert_int_eq(parse(&p, b, n), PKT_FLOW);
		e.icmp_type = types[i];
		e.icmp_query = query[i];
		e.sport = query[i] ? 0x0102 : 0;
		e.dport = (uint16_t)(request[i] << 8);
		e.ip_len = 44;
		e.l4_off = 20;
		e.l4_len = 24;
		EXPECT(&p, &e);
	}
}
END_TEST

START_TEST(v4_unknown_proto)
{
	uint8_t b[BUFSZ];
	size_t n = g_v4_gre(b);
	struct pkt p, e = want(PKT_FLOW, 4, IPPROTO_GRE, A4, B4);

	ck_assert_int_eq(parse(&p, b, n), PKT_FLOW);
	e.ip_len = 24;
	e.l4_off = 20;
	e.l4_len = 4;
	EXPECT(&p, &e);

	/* Nothing at all after the header is fine too. */
	n = tu_ip4(b, 253, A4, B4, b + 20, 0);
	ck_assert_int_eq(parse(&p, b, n), PKT_FLOW);
	e.proto = 253;
	e.ip_len = 20;
	e.l4_len = 0;
	EXPECT(&p, &e);
}
END_TEST

/* AH is not walked in IPv4 (nor by nf_conntrack): a protocol like any. */
START_TEST(v4_ah_is_a_protocol)
{
	uint8_t b[BUFSZ], ah[24];
	size_t n = tu_ip6_ext(ah, IPPROTO_AH, IPPROTO_TCP, 24);
	struct pkt p, e = want(PKT_FLOW, 4, IPPROTO_AH, A4, B4);

	n = tu_ip4(b, IPPROTO_AH, A4, B4, ah, n);
	ck_assert_int_eq(parse(&p, b, n), PKT_FLOW);
	e.ip_len = 44;
	e.l4_off = 20;
	e.l4_len = 24;
	EXPECT(&p, &e);
}
END_TEST

/* ICMPv6 carried by IPv4 is no ICMP message: an address-only flow. */
START_TEST(v4_icmpv6_proto)
{
	uint8_t b[BUFSZ], l4[16];
	size_t n = tu_icmp(l4, 128, 0, 9);
	struct pkt p, e = want(PKT_FLOW, 4, IPPROTO_ICMPV6, A4, B4);

	n = tu_ip4(b, IPPROTO_ICMPV6, A4, B4, l4, n);
	ck_assert_int_eq(parse(&p, b, n), PKT_FLOW);
	e.ip_len = 28;
	e.l4_off = 20;
	e.l4_len = 8;
	EXPECT(&p, &e);
}
END_TEST

/* IHL 6 to 15: the transport header follows the options. */
START_TEST(v4_options)
{
	for (size_t ihl = 24; ihl <= 60; ihl += 4) {
		uint8_t b[BUFSZ];
		size_t n = v4_ihl(b, ihl);
		struct pkt p, e = want(PKT_FLOW, 4, IPPROTO_TCP, A4, B4);

		ck_assert_int_eq(parse(&p, b, n), PKT_FLOW);
		e.sport = 33000;
		e.dport = 8080;
		e.tcp_flags = TCPF_ACK;
		e.tcp_seq = 7;
		e.tcp_ack = 9;
		e.tcp_win = 65535;
		e.tcp_doff = 20;
		e.ip_len = (uint32_t)(ihl + 20);
		e.l4_off = (uint32_t)ihl;
		e.l4_len = 20;
		EXPECT(&p, &e);
	}
}
END_TEST

/* Ethernet pads short frames: bytes past the total length are ignored,
 * whether the padding was copied or not. */
START_TEST(v4_link_padding)
{
	uint8_t b[BUFSZ];
	size_t n = g_v4_padded(b);
	struct pkt p, e = want(PKT_FLOW, 4, IPPROTO_UDP, A4, B4);

	e.sport = 68;
	e.dport = 67;
	e.ip_len = 32;
	e.l4_off = 20;
	e.l4_len = 12;
	ck_assert_int_eq(parse(&p, b, n), PKT_FLOW);
	EXPECT(&p, &e);
	ck_assert_int_eq(parse_ex(&p, b, 32, n, 0), PKT_FLOW);
	EXPECT(&p, &e);
	ck_assert_int_eq(parse_ex(&p, b, 40, 1500, 0), PKT_FLOW);
	EXPECT(&p, &e);
}
END_TEST

/*
 * Padding is not the packet: a header that the total length cuts short
 * is short, whatever bytes the link added after it.
 */
START_TEST(v4_link_padding_not_parsed)
{
	static const uint8_t protos[] = { IPPROTO_TCP, IPPROTO_UDP,
					  IPPROTO_SCTP, IPPROTO_ICMP };
	struct pkt p;

	for (size_t i = 0; i < sizeof(protos); i++) {
		uint8_t b[BUFSZ], l4[64];
		size_t n = tu_tcp(l4, 1, 2, TCPF_SYN, 3, 0);

		/* 4 bytes of transport header in the packet, the rest of a
		 * plausible one in the padding. */
		put16(l4 + 4, 8);
		n = tu_ip4(b, protos[i], A4, B4, l4, n);
		put16(b + 2, 24);
		ck_assert_int_eq(parse(&p, b, n), PKT_MALFORMED);
		EXPECT_ERR(&p, PKT_ERR_L4_SHORT);
		n = tu_ip6(b,
			   protos[i] == IPPROTO_ICMP ? IPPROTO_ICMPV6 :
						       protos[i],
			   A6, B6, l4, n - 20);
		put16(b + 4, 4);
		ck_assert_int_eq(parse(&p, b, n), PKT_MALFORMED);
		EXPECT_ERR(&p, PKT_ERR_L4_SHORT);
	}
	/* An ICMP error whose quote lies in the padding. */
	{
		uint8_t b[BUFSZ];
		size_t n = g_err4_tcp(b);

		put16(b + 2, 28 + 20);
		ck_assert_int_eq(parse(&p, b, n), PKT_MALFORMED);
		EXPECT_ERR(&p, PKT_ERR_ICMP_INNER);
	}
}
END_TEST

/* Don't Fragment and the reserved flag make no fragment. */
START_TEST(v4_df_is_no_fragment)
{
	uint8_t b[BUFSZ];
	size_t n = g_v4_udp(b);
	struct pkt p, e = want(PKT_FLOW, 4, IPPROTO_UDP, A4, B4);

	e.sport = 53001;
	e.dport = 53;
	e.ip_len = 40;
	e.l4_off = 20;
	e.l4_len = 20;
	put16(b + 6, 0x4000);
	ck_assert_int_eq(parse(&p, b, n), PKT_FLOW);
	EXPECT(&p, &e);
	put16(b + 6, 0x8000);
	ck_assert_int_eq(parse(&p, b, n), PKT_FLOW);
	EXPECT(&p, &e);
}
END_TEST

START_TEST(v6_tcp)
{
	uint8_t b[BUFSZ];
	size_t n = g_v6_tcp(b);
	struct pkt p, e = want(PKT_FLOW, 6, IPPROTO_TCP, A6, B6);

	ck_assert_int_eq(parse(&p, b, n), PKT_FLOW);
	e.sport = 50000;
	e.dport = 22;
	e.tcp_flags = TCPF_SYN | TCPF_ECE | TCPF_CWR;
	e.tcp_seq = 0x80000000;
	e.tcp_win = 64800;
	e.tcp_doff = 20;
	e.ip_len = 60;
	e.l4_off = 40;
	e.l4_len = 20;
	EXPECT(&p, &e);
}
END_TEST

START_TEST(v6_udp)
{
	uint8_t b[BUFSZ];
	size_t n = g_v6_udp(b);
	struct pkt p, e = want(PKT_FLOW, 6, IPPROTO_UDP, A6, B6);

	ck_assert_int_eq(parse(&p, b, n), PKT_FLOW);
	e.sport = 546;
	e.dport = 547;
	e.ip_len = 78;
	e.l4_off = 40;
	e.l4_len = 38;
	EXPECT(&p, &e);
}
END_TEST

START_TEST(v6_udplite)
{
	uint8_t b[BUFSZ];
	size_t n = g_v6_udplite(b);
	struct pkt p, e = want(PKT_FLOW, 6, IPPROTO_UDPLITE, A6, B6);

	ck_assert_int_eq(parse(&p, b, n), PKT_FLOW);
	e.sport = 1234;
	e.dport = 4321;
	e.ip_len = 80;
	e.l4_off = 40;
	e.l4_len = 40;
	EXPECT(&p, &e);
	n = g_v6_udplite0(b);
	ck_assert_int_eq(parse(&p, b, n), PKT_FLOW);
	EXPECT(&p, &e);
}
END_TEST

START_TEST(v6_sctp)
{
	uint8_t b[BUFSZ];
	size_t n = g_v6_sctp(b);
	struct pkt p, e = want(PKT_FLOW, 6, IPPROTO_SCTP, A6, B6);

	ck_assert_int_eq(parse(&p, b, n), PKT_FLOW);
	e.sport = 2905;
	e.dport = 2906;
	e.ip_len = 52;
	e.l4_off = 40;
	e.l4_len = 12;
	EXPECT(&p, &e);
}
END_TEST

START_TEST(v6_dccp)
{
	uint8_t b[BUFSZ];
	size_t n = g_v6_dccp(b);
	struct pkt p, e = want(PKT_FLOW, 6, IPPROTO_DCCP, A6, B6);

	/* by addresses alone, as the kernel's generic tracker */
	ck_assert_int_eq(parse(&p, b, n), PKT_FLOW);
	e.ip_len = 52;
	e.l4_off = 40;
	e.l4_len = 12;
	EXPECT(&p, &e);
}
END_TEST

START_TEST(v6_icmp_echo)
{
	uint8_t b[BUFSZ];
	size_t n = g_v6_echo(b);
	struct pkt p, e = want(PKT_FLOW, 6, IPPROTO_ICMPV6, A6, B6);

	ck_assert_int_eq(parse(&p, b, n), PKT_FLOW);
	e.icmp_type = 128;
	e.icmp_query = 1;
	e.sport = 0x1234;
	e.dport = 128 << 8;
	e.ip_len = 56;
	e.l4_off = 40;
	e.l4_len = 16;
	EXPECT(&p, &e);

	n = g_v6_echo_reply(b);
	ck_assert_int_eq(parse(&p, b, n), PKT_FLOW);
	e.icmp_type = 129;
	e.icmp_query = 2;
	EXPECT(&p, &e);
}
END_TEST

/* Node information pairs like echo; neighbour discovery and MLD have
 * no id. */
START_TEST(v6_icmp_other)
{
	static const uint8_t types[] = { 139, 140, 133, 134, 135, 136, 130 };
	static const uint8_t query[] = { 1, 2, 0, 0, 0, 0, 0 };
	static const uint8_t request[] = { 139, 139, 0, 0, 0, 0, 0 };

	for (size_t i = 0; i < sizeof(types); i++) {
		uint8_t b[BUFSZ];
		size_t n = v6_icmp(b, types[i], 0x0a0b);
		struct pkt p, e = want(PKT_FLOW, 6, IPPROTO_ICMPV6, A6, B6);

		ck_assert_int_eq(parse(&p, b, n), PKT_FLOW);
		e.icmp_type = types[i];
		e.icmp_query = query[i];
		e.sport = query[i] ? 0x0a0b : 0;
		e.dport = (uint16_t)(request[i] << 8);
		e.ip_len = 56;
		e.l4_off = 40;
		e.l4_len = 16;
		EXPECT(&p, &e);
	}
}
END_TEST

START_TEST(v6_unknown_proto)
{
	uint8_t b[BUFSZ];
	size_t n = g_v6_gre(b);
	struct pkt p, e = want(PKT_FLOW, 6, IPPROTO_GRE, A6, B6);

	ck_assert_int_eq(parse(&p, b, n), PKT_FLOW);
	e.ip_len = 44;
	e.l4_off = 40;
	e.l4_len = 4;
	EXPECT(&p, &e);
}
END_TEST

/* ICMP (v4) carried by IPv6 is no ICMPv6 message. */
START_TEST(v6_icmpv4_proto)
{
	uint8_t b[BUFSZ], l4[16];
	size_t n = tu_icmp(l4, 8, 0, 9);
	struct pkt p, e = want(PKT_FLOW, 6, IPPROTO_ICMP, A6, B6);

	n = tu_ip6(b, IPPROTO_ICMP, A6, B6, l4, n);
	ck_assert_int_eq(parse(&p, b, n), PKT_FLOW);
	e.ip_len = 48;
	e.l4_off = 40;
	e.l4_len = 8;
	EXPECT(&p, &e);
}
END_TEST

static struct pkt want_v6_tcp_ext(uint32_t l4_off)
{
	struct pkt e = want(PKT_FLOW, 6, IPPROTO_TCP, A6, B6);

	e.sport = 40001;
	e.dport = 80;
	e.tcp_flags = TCPF_ACK;
	e.tcp_seq = 1;
	e.tcp_ack = 2;
	e.tcp_win = 65535;
	e.tcp_doff = 20;
	e.ip_len = l4_off + 20;
	e.l4_off = l4_off;
	e.l4_len = 20;
	return e;
}

START_TEST(v6_hop_by_hop)
{
	uint8_t b[BUFSZ];
	size_t n = g_v6_hbh(b);
	struct pkt p, e = want_v6_tcp_ext(48);

	ck_assert_int_eq(parse(&p, b, n), PKT_FLOW);
	EXPECT(&p, &e);
	/* The length field counts 8-byte units past the first 8. */
	for (size_t len = 16; len <= 2048; len += 8) {
		n = v6_ext_tcp(b, IPPROTO_HOPOPTS, len);
		e = want_v6_tcp_ext((uint32_t)(40 + len));
		ck_assert_int_eq(parse(&p, b, n), PKT_FLOW);
		EXPECT(&p, &e);
		if (len == 64)
			len = 2040; /* and the largest, 255 units */
	}
}
END_TEST

START_TEST(v6_dstopts)
{
	uint8_t b[BUFSZ];
	size_t n = g_v6_dst(b);
	struct pkt p, e = want(PKT_FLOW, 6, IPPROTO_UDP, A6, B6);

	ck_assert_int_eq(parse(&p, b, n), PKT_FLOW);
	e.sport = 7000;
	e.dport = 7001;
	e.ip_len = 64;
	e.l4_off = 56;
	e.l4_len = 8;
	EXPECT(&p, &e);
}
END_TEST

START_TEST(v6_routing)
{
	uint8_t b[BUFSZ];
	size_t n = g_v6_rt(b);
	struct pkt p, e = want_v6_tcp_ext(64);

	ck_assert_int_eq(parse(&p, b, n), PKT_FLOW);
	EXPECT(&p, &e);
}
END_TEST

/* AH counts 4-byte units minus 2: 24 bytes is 4, 8 bytes is 0 (as in
 * zeek's ipv6_zero_len_ah trace), 12 bytes is 1. */
START_TEST(v6_ah)
{
	static const size_t lens[] = { 24, 8, 12, 16, 1028 };
	uint8_t b[BUFSZ];
	size_t n = g_v6_ah(b);
	struct pkt p, e = want_v6_tcp_ext(64);

	ck_assert_int_eq(parse(&p, b, n), PKT_FLOW);
	EXPECT(&p, &e);
	ck_assert_uint_eq(b[41], 4);
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		n = v6_ext_tcp(b, IPPROTO_AH, lens[i]);
		ck_assert_uint_eq(b[41], lens[i] / 4 - 2);
		e = want_v6_tcp_ext((uint32_t)(40 + lens[i]));
		ck_assert_int_eq(parse(&p, b, n), PKT_FLOW);
		EXPECT(&p, &e);
	}
}
END_TEST

START_TEST(v6_ext_chain)
{
	uint8_t b[BUFSZ];
	size_t n = g_v6_chain(b);
	struct pkt p, e = want(PKT_FLOW, 6, IPPROTO_UDP, A6, B6);

	ck_assert_int_eq(parse(&p, b, n), PKT_FLOW);
	e.sport = 9000;
	e.dport = 9001;
	e.ip_len = 40 + 72 + 11;
	e.l4_off = 40 + 72;
	e.l4_len = 11;
	EXPECT(&p, &e);
}
END_TEST

/* Every pair of the four walked header types, in both orders. */
START_TEST(v6_ext_pairs)
{
	static const uint8_t t[] = { IPPROTO_HOPOPTS, IPPROTO_DSTOPTS,
				     IPPROTO_ROUTING, IPPROTO_AH };
	static const size_t l[] = { 16, 8, 24, 12 };

	for (size_t i = 0; i < 4; i++) {
		for (size_t j = 0; j < 4; j++) {
			uint8_t b[BUFSZ], l4[64], types[2] = { t[i], t[j] };
			size_t lens[2] = { l[i], l[j] };
			size_t n = tu_tcp(l4, 40001, 80, TCPF_ACK, 1, 2);
			struct pkt p, e;

			n = v6_chain(b, types, lens, 2, IPPROTO_TCP, l4, n);
			e = want_v6_tcp_ext((uint32_t)(40 + l[i] + l[j]));
			ck_assert_int_eq(parse(&p, b, n), PKT_FLOW);
			EXPECT(&p, &e);
		}
	}
}
END_TEST

/* ESP's payload is opaque: the walk ends there, protocol 50. */
START_TEST(v6_esp_ends_walk)
{
	uint8_t b[BUFSZ];
	size_t n = g_v6_esp(b);
	struct pkt p, e = want(PKT_FLOW, 6, IPPROTO_ESP, A6, B6);

	ck_assert_int_eq(parse(&p, b, n), PKT_FLOW);
	e.ip_len = 72;
	e.l4_off = 48;
	e.l4_len = 24;
	EXPECT(&p, &e);

	/* ESP right after the fixed header. */
	n = tu_ip6(b, IPPROTO_ESP, A6, B6, b + 48, 24);
	ck_assert_int_eq(parse(&p, b, n), PKT_FLOW);
	e.ip_len = 64;
	e.l4_off = 40;
	EXPECT(&p, &e);
}
END_TEST

START_TEST(v6_no_next_header)
{
	uint8_t b[BUFSZ];
	size_t n = g_v6_nonext(b);
	struct pkt p, e = want(PKT_FLOW, 6, IPPROTO_NONE, A6, B6);

	ck_assert_int_eq(parse(&p, b, n), PKT_FLOW);
	e.ip_len = 56;
	e.l4_off = 48;
	e.l4_len = 8;
	EXPECT(&p, &e);

	n = tu_ip6(b, IPPROTO_NONE, A6, B6, b + 40, 0);
	ck_assert_int_eq(parse(&p, b, n), PKT_FLOW);
	e.ip_len = 40;
	e.l4_off = 40;
	e.l4_len = 0;
	EXPECT(&p, &e);
}
END_TEST

/* Sixteen extension headers are the most allowed. */
START_TEST(v6_16_ext_headers)
{
	uint8_t b[BUFSZ];
	size_t n = g_v6_16ext(b);
	struct pkt p, e = want(PKT_FLOW, 6, IPPROTO_TCP, A6, B6);

	ck_assert_int_eq(parse(&p, b, n), PKT_FLOW);
	e.sport = 1;
	e.dport = 2;
	e.tcp_flags = TCPF_SYN;
	e.tcp_seq = 3;
	e.tcp_win = 65535;
	e.tcp_doff = 20;
	e.ip_len = 40 + 128 + 20;
	e.l4_off = 40 + 128;
	e.l4_len = 20;
	EXPECT(&p, &e);
}
END_TEST

START_TEST(v6_link_padding)
{
	uint8_t b[BUFSZ];
	size_t n = g_v6_padded(b);
	struct pkt p, e = want(PKT_FLOW, 6, IPPROTO_UDP, A6, B6);

	e.sport = 5353;
	e.dport = 5353;
	e.ip_len = 48;
	e.l4_off = 40;
	e.l4_len = 8;
	ck_assert_int_eq(parse(&p, b, n), PKT_FLOW);
	EXPECT(&p, &e);
	ck_assert_int_eq(parse_ex(&p, b, 48, 1500, 0), PKT_FLOW);
	EXPECT(&p, &e);
}
END_TEST

/* ---- ICMP errors: exact results ------------------------------------------ */

static const uint8_t err4_types[] = { 3, 4, 5, 11, 12 };
static const uint8_t err4_codes[] = { 3, 0, 1, 0, 0 };
static const uint8_t err6_types[] = { 1, 2, 3, 4 };
static const uint8_t err6_codes[] = { 4, 0, 0, 1 };

static struct pkt want_err4(uint8_t type, uint8_t code, size_t qlen)
{
	struct pkt e = want(PKT_ICMP_ERROR, 4, IPPROTO_ICMP, R4, A4);

	e.icmp_type = type;
	e.icmp_code = code;
	e.ip_len = (uint32_t)(28 + qlen);
	e.l4_off = 20;
	e.l4_len = (uint32_t)(8 + qlen);
	return e;
}

static struct pkt want_err6(uint8_t type, uint8_t code, size_t qlen)
{
	struct pkt e = want(PKT_ICMP_ERROR, 6, IPPROTO_ICMPV6, R6, A6);

	e.icmp_type = type;
	e.icmp_code = code;
	e.ip_len = (uint32_t)(48 + qlen);
	e.l4_off = 40;
	e.l4_len = (uint32_t)(8 + qlen);
	return e;
}

/* An ICMP error quoting a whole packet of each kind, under every error
 * type of its family (err4_types, err6_types): the quote's length, and
 * the quoted packet's protocol and ports (an echo's id and type). */
static const struct quote_case {
	int family;
	enum quote q;
	size_t qlen;
	uint8_t proto;
	uint16_t sport, dport;
	uint8_t icmp_type; /* the quoted echo's, or 0 */
} quote_cases[] = {
	{ 4, Q_TCP, 28, IPPROTO_TCP, 40000, 443, 0 },
	{ 4, Q_UDP, 28, IPPROTO_UDP, 53001, 53, 0 },
	{ 4, Q_ECHO, 28, IPPROTO_ICMP, 0x7777, 8 << 8, 8 },
	{ 6, Q_TCP, 100, IPPROTO_TCP, 40000, 443, 0 },
	{ 6, Q_UDP, 88, IPPROTO_UDP, 53001, 53, 0 },
	{ 6, Q_ECHO, 80, IPPROTO_ICMPV6, 0x7777, 128 << 8, 128 },
};

/* How many error types a case is run under. */
static size_t quote_case_types(const struct quote_case *qc)
{
	return qc->family == 4 ? sizeof(err4_types) : sizeof(err6_types);
}

/* Every (case, error type) pair, for tcase_add_loop_test. */
static int quote_case_runs(void)
{
	size_t n = 0;

	for (size_t i = 0; i < ARRAY_SIZE(quote_cases); i++)
		n += quote_case_types(&quote_cases[i]);
	return (int)n;
}

/* Run I of icmp_error_quoting: its case, and in *K its error type. */
static const struct quote_case *quote_case_run(int i, size_t *k)
{
	const struct quote_case *qc = quote_cases;

	*k = (size_t)i;
	while (*k >= quote_case_types(qc))
		*k -= quote_case_types(qc++);
	return qc;
}

START_TEST(icmp_error_quoting)
{
	size_t k;
	const struct quote_case *qc = quote_case_run(_i, &k);
	bool v4 = qc->family == 4;
	uint8_t b[BUFSZ], t = v4 ? err4_types[k] : err6_types[k],
			  c = v4 ? err4_codes[k] : err6_codes[k];
	size_t n = v4 ? err4(b, t, c, qc->q) : err6(b, t, c, qc->q);
	struct pkt p,
		e = v4 ? want_err4(t, c, qc->qlen) : want_err6(t, c, qc->qlen);

	ck_assert_int_eq(parse(&p, b, n), PKT_ICMP_ERROR);
	want_inner(&e, qc->proto, v4 ? A4 : A6, v4 ? B4 : B6, qc->sport,
		   qc->dport);
	e.inner.has_ports = 1;
	if (qc->icmp_type)
		e.inner.icmp_type = qc->icmp_type;
	EXPECT(&p, &e);
}
END_TEST

/* The quoted packet is cut: its own length fields are not checked, and
 * 4 bytes of TCP or UDP (the ports) are enough. */
static size_t g_err4_minimal(uint8_t *b)
{
	uint8_t o[256];

	orig4(o, Q_UDP);
	return err4_quoting(b, 3, 3, o, 24);
}

/* A quoted first fragment has its ports. */
static size_t g_err4_first_frag(uint8_t *b)
{
	uint8_t o[256];

	orig4(o, Q_TCP);
	tu_ip4_frag(o, 98, 1, 0);
	return err4_quoting(b, 3, 4, o, 28);
}

/* ICMP errors quoting packets of particular shapes (the g_err* generators)
 * and what parsing must find in them. */
static const struct shaped_err_case {
	size_t (*make)(uint8_t *b);
	int family;
	uint8_t type, code;
	size_t qlen;
	uint8_t proto;
	uint16_t sport, dport;
	bool has_ports;
} shaped_err_cases[] = {
	{ g_err4_minimal, 4, 3, 3, 24, IPPROTO_UDP, 53001, 53, true },
	{ g_err4_opts, 4, 3, 3, 36, IPPROTO_UDP, 123, 123, true },
	{ g_err6_ext, 6, 1, 3, 40 + 56 + 28, IPPROTO_UDP, 4500, 4501, true },
	/* a later fragment: no transport header, so no ports */
	{ g_err4_frag, 4, 11, 1, 28, IPPROTO_TCP, 0, 0, false },
	{ g_err6_frag, 6, 3, 1, 64, IPPROTO_TCP, 0, 0, false },
	{ g_err4_first_frag, 4, 3, 4, 28, IPPROTO_TCP, 40000, 443, true },
	{ g_err4_gre, 4, 3, 2, 28, IPPROTO_GRE, 0, 0, false },
};

START_TEST(icmp_error_quoting_shapes)
{
	const struct shaped_err_case *sc = &shaped_err_cases[_i];
	bool v4 = sc->family == 4;
	uint8_t b[BUFSZ];
	size_t n = sc->make(b);
	struct pkt p, e = v4 ? want_err4(sc->type, sc->code, sc->qlen) :
			       want_err6(sc->type, sc->code, sc->qlen);

	ck_assert_int_eq(parse(&p, b, n), PKT_ICMP_ERROR);
	want_inner(&e, sc->proto, v4 ? A4 : A6, v4 ? B4 : B6, sc->sport,
		   sc->dport);
	if (sc->has_ports)
		e.inner.has_ports = 1;
	EXPECT(&p, &e);
}
END_TEST

/* Errors about errors are never sent (RFC 1122 3.2.2, RFC 4443 2.4). */
START_TEST(icmp4_error_quoting_error)
{
	for (size_t i = 0; i < sizeof(err4_types); i++) {
		uint8_t b[BUFSZ], o[256], l4[64];
		size_t n = tu_icmp_err(l4, err4_types[i], 0, l4, 0);
		struct pkt p;

		memset(l4 + n, 0, 28);
		tu_ip4(o, IPPROTO_ICMP, A4, B4, l4, n + 28);
		n = err4_quoting(b, 3, 3, o, 28);
		ck_assert_int_eq(parse(&p, b, n), PKT_MALFORMED);
		EXPECT_ERR(&p, PKT_ERR_ICMP_INNER);
		ck_assert_uint_eq(p.family, 4);
	}
}
END_TEST

START_TEST(icmp6_error_quoting_error)
{
	for (size_t i = 0; i < sizeof(err6_types); i++) {
		uint8_t b[BUFSZ], o[256], l4[64];
		size_t n = tu_icmp_err(l4, err6_types[i], 0, l4, 0);
		struct pkt p;

		memset(l4 + n, 0, 48);
		n = tu_ip6(o, IPPROTO_ICMPV6, A6, B6, l4, n + 48);
		n = err6_quoting(b, 1, 0, o, n);
		ck_assert_int_eq(parse(&p, b, n), PKT_MALFORMED);
		EXPECT_ERR(&p, PKT_ERR_ICMP_INNER);
		ck_assert_uint_eq(p.family, 6);
	}
}
END_TEST

/* Quotes that end before the header they must hold. */
START_TEST(icmp4_error_quote_too_short)
{
	uint8_t b[BUFSZ], o[256];
	size_t n, qlen;
	struct pkt p;

	orig4(o, Q_TCP);
	for (qlen = 0; qlen < 24; qlen++) {
		n = err4_quoting(b, 3, 1, o, qlen);
		ck_assert_int_eq(parse(&p, b, n), PKT_MALFORMED);
		EXPECT_ERR(&p, PKT_ERR_ICMP_INNER);
	}
	orig4(o, Q_ECHO);
	for (qlen = 20; qlen < 28; qlen++) {
		n = err4_quoting(b, 3, 1, o, qlen);
		ck_assert_int_eq(parse(&p, b, n), PKT_MALFORMED);
		EXPECT_ERR(&p, PKT_ERR_ICMP_INNER);
	}
	/* Options announced but not quoted. */
	orig4(o, Q_UDP);
	memmove(o + 24, o + 20, 8);
	o[0] = 0x46;
	n = err4_quoting(b, 3, 1, o, 23);
	ck_assert_int_eq(parse(&p, b, n), PKT_MALFORMED);
	EXPECT_ERR(&p, PKT_ERR_ICMP_INNER);
}
END_TEST

START_TEST(icmp6_error_quote_too_short)
{
	uint8_t b[BUFSZ], o[256];
	size_t n, qlen;
	struct pkt p;

	orig6(o, Q_UDP);
	for (qlen = 0; qlen < 44; qlen++) {
		n = err6_quoting(b, 1, 0, o, qlen);
		ck_assert_int_eq(parse(&p, b, n), PKT_MALFORMED);
		EXPECT_ERR(&p, PKT_ERR_ICMP_INNER);
	}
	orig6(o, Q_ECHO);
	for (qlen = 40; qlen < 48; qlen++) {
		n = err6_quoting(b, 1, 0, o, qlen);
		ck_assert_int_eq(parse(&p, b, n), PKT_MALFORMED);
		EXPECT_ERR(&p, PKT_ERR_ICMP_INNER);
	}
	/* A quoted extension header cut short (zeek's
	 * icmp6-destunreach-ip6ext-trunc). */
	n = g_err6_ext(b);
	for (size_t cut = 41; cut < 40 + 56 + 4; cut++) {
		uint8_t q[256];

		memcpy(q, b + 48, cut);
		n = err6_quoting(b + 1024, 1, 3, q, cut);
		ck_assert_int_eq(parse(&p, b + 1024, n), PKT_MALFORMED);
		EXPECT_ERR(&p, PKT_ERR_ICMP_INNER);
	}
}
END_TEST

/* The quote must be of the same IP version, with a sane header length. */
START_TEST(icmp_error_quote_bad_header)
{
	uint8_t b[BUFSZ], o[256];
	size_t n, on;
	struct pkt p;

	on = orig6(o, Q_UDP);
	n = err4_quoting(b, 3, 3, o, on);
	ck_assert_int_eq(parse(&p, b, n), PKT_MALFORMED);
	EXPECT_ERR(&p, PKT_ERR_ICMP_INNER);

	on = orig4(o, Q_UDP);
	memset(o + on, 0, 40);
	n = err6_quoting(b, 1, 0, o, on + 40);
	ck_assert_int_eq(parse(&p, b, n), PKT_MALFORMED);
	EXPECT_ERR(&p, PKT_ERR_ICMP_INNER);

	/* Any version but the right one in an otherwise good quote. */
	for (unsigned v = 0; v < 16; v++) {
		if (v != 4) {
			orig4(o, Q_UDP);
			o[0] = (uint8_t)(v << 4 | 5);
			n = err4_quoting(b, 3, 3, o, 28);
			ck_assert_int_eq(parse(&p, b, n), PKT_MALFORMED);
			EXPECT_ERR(&p, PKT_ERR_ICMP_INNER);
		}
		if (v != 6) {
			on = orig6(o, Q_UDP);
			o[0] = (uint8_t)(v << 4);
			n = err6_quoting(b, 1, 0, o, on);
			ck_assert_int_eq(parse(&p, b, n), PKT_MALFORMED);
			EXPECT_ERR(&p, PKT_ERR_ICMP_INNER);
		}
	}

	for (uint8_t ihl = 0; ihl < 5; ihl++) {
		orig4(o, Q_UDP);
		o[0] = (uint8_t)(0x40 | ihl);
		n = err4_quoting(b, 3, 3, o, 28);
		ck_assert_int_eq(parse(&p, b, n), PKT_MALFORMED);
		EXPECT_ERR(&p, PKT_ERR_ICMP_INNER);
	}

	/* 17 quoted extension headers: walked, as the kernel does. */
	on = v6_many_ext(o, 17);
	n = err6_quoting(b, 1, 0, o, on);
	ck_assert_int_eq(parse(&p, b, n), PKT_ICMP_ERROR);
	ck_assert_uint_eq(p.inner.proto, IPPROTO_TCP);
}
END_TEST

/* A quote inside the packet but past the copied bytes: copy range. */
START_TEST(icmp_error_quote_past_copy)
{
	uint8_t b[BUFSZ];
	size_t n = g_err4_tcp(b), cap;
	struct pkt p;

	for (cap = 28; cap < n - 4; cap++) {
		ck_assert_int_eq(parse_ex(&p, b, cap, n, 0), PKT_MALFORMED);
		EXPECT_ERR(&p, PKT_ERR_COPY_RANGE);
	}
	n = g_err6_ext(b);
	for (cap = 48; cap < n - 24; cap++) {
		ck_assert_int_eq(parse_ex(&p, b, cap, n, 0), PKT_MALFORMED);
		EXPECT_ERR(&p, PKT_ERR_COPY_RANGE);
	}
}
END_TEST

/* An ICMP header shorter than 8 bytes. */
START_TEST(icmp_header_short)
{
	uint8_t b[BUFSZ], l4[16];
	struct pkt p;
	size_t n;

	for (size_t len = 0; len < 8; len++) {
		tu_icmp(l4, 3, 0, 0);
		n = tu_ip4(b, IPPROTO_ICMP, R4, A4, l4, len);
		ck_assert_int_eq(parse(&p, b, n), PKT_MALFORMED);
		EXPECT_ERR(&p, PKT_ERR_L4_SHORT);
		tu_icmp(l4, 128, 0, 0);
		n = tu_ip6(b, IPPROTO_ICMPV6, A6, B6, l4, len);
		ck_assert_int_eq(parse(&p, b, n), PKT_MALFORMED);
		EXPECT_ERR(&p, PKT_ERR_L4_SHORT);
	}
}
END_TEST

/* ---- fragments ----------------------------------------------------------- */

START_TEST(v4_first_fragment)
{
	uint8_t b[BUFSZ];
	size_t n = g_v4_frag_first(b);
	struct pkt p, e = want(PKT_FLOW, 4, IPPROTO_TCP, A4, B4);

	ck_assert_int_eq(parse(&p, b, n), PKT_FLOW);
	e.frag = PKT_FRAG_FIRST;
	e.sport = 2000;
	e.dport = 3000;
	e.tcp_flags = TCPF_ACK;
	e.tcp_seq = 5;
	e.tcp_ack = 6;
	e.tcp_win = 65535;
	e.tcp_doff = 20;
	e.ip_len = 52;
	e.l4_off = 20;
	e.l4_len = 32;
	EXPECT(&p, &e);
}
END_TEST

START_TEST(v4_later_fragment)
{
	uint8_t b[BUFSZ];
	size_t n = g_v4_frag_later(b);
	struct pkt p, e = want(PKT_FRAGMENT, 4, IPPROTO_TCP, A4, B4);

	ck_assert_int_eq(parse(&p, b, n), PKT_FRAGMENT);
	e.frag = PKT_FRAG_LATER;
	e.ip_len = 120;
	e.l4_off = 20;
	e.l4_len = 100;
	EXPECT(&p, &e);

	/* The last one (MF clear) too. */
	n = g_v4_frag_last(b);
	ck_assert_int_eq(parse(&p, b, n), PKT_FRAGMENT);
	e.proto = IPPROTO_UDP;
	e.ip_len = 36;
	e.l4_len = 16;
	EXPECT(&p, &e);

	/* A later fragment of an ICMP error is no ICMP error. */
	n = g_err4_tcp(b);
	tu_ip4_frag(b, 1, 0, 8);
	ck_assert_int_eq(parse(&p, b, n), PKT_FRAGMENT);
	e = want(PKT_FRAGMENT, 4, IPPROTO_ICMP, R4, A4);
	e.frag = PKT_FRAG_LATER;
	e.ip_len = 56;
	e.l4_off = 20;
	e.l4_len = 36;
	EXPECT(&p, &e);
}
END_TEST

START_TEST(v6_first_fragment)
{
	uint8_t b[BUFSZ];
	size_t n = g_v6_frag_first(b);
	struct pkt p, e = want(PKT_FLOW, 6, IPPROTO_TCP, A6, B6);

	ck_assert_int_eq(parse(&p, b, n), PKT_FLOW);
	e.frag = PKT_FRAG_FIRST;
	e.sport = 443;
	e.dport = 50001;
	e.tcp_flags = TCPF_ACK | TCPF_PSH;
	e.tcp_seq = 10;
	e.tcp_ack = 20;
	e.tcp_win = 65535;
	e.tcp_doff = 20;
	e.ip_len = 68;
	e.l4_off = 48;
	e.l4_len = 20;
	EXPECT(&p, &e);
}
END_TEST

START_TEST(v6_later_fragment)
{
	uint8_t b[BUFSZ];
	size_t n = g_v6_frag_later(b);
	struct pkt p, e = want(PKT_FRAGMENT, 6, IPPROTO_UDP, A6, B6);

	ck_assert_int_eq(parse(&p, b, n), PKT_FRAGMENT);
	e.frag = PKT_FRAG_LATER;
	e.ip_len = 120;
	e.l4_off = 56;
	e.l4_len = 64;
	EXPECT(&p, &e);
}
END_TEST

/* Every bit of the offset field makes a later fragment. */
START_TEST(fragment_offset_bits)
{
	for (uint32_t bit = 0; bit < 13; bit++) {
		uint8_t b[BUFSZ], rest[64];
		uint32_t off = 8u << bit;
		size_t n = tu_ip6_frag(rest, IPPROTO_TCP, off, 0, 5);
		struct pkt p;

		memset(rest + n, 0, 20);
		n = tu_ip6(b, IPPROTO_FRAGMENT, A6, B6, rest, n + 20);
		ck_assert_int_eq(parse(&p, b, n), PKT_FRAGMENT);
		ck_assert_uint_eq(p.l4_off, 48);
		n = tu_ip4(b, IPPROTO_TCP, A4, B4, rest + 8, 20);
		tu_ip4_frag(b, 5, 0, off);
		ck_assert_int_eq(parse(&p, b, n), PKT_FRAGMENT);
		ck_assert_uint_eq(p.l4_off, 20);
	}
}
END_TEST

/* Offset 0 and M clear (RFC 6946): no fragment at all. */
START_TEST(v6_atomic_fragment)
{
	uint8_t b[BUFSZ];
	size_t n = g_v6_frag_atomic(b);
	struct pkt p, e = want(PKT_FLOW, 6, IPPROTO_UDP, A6, B6);

	ck_assert_int_eq(parse(&p, b, n), PKT_FLOW);
	e.frag = PKT_FRAG_NONE;
	e.sport = 5353;
	e.dport = 53;
	e.ip_len = 60;
	e.l4_off = 48;
	e.l4_len = 12;
	EXPECT(&p, &e);
}
END_TEST

/* A first fragment must hold the whole transport header. */
START_TEST(v4_first_fragment_too_short)
{
	static const uint8_t protos[] = { IPPROTO_TCP, IPPROTO_UDP,
					  IPPROTO_UDPLITE, IPPROTO_SCTP,
					  IPPROTO_ICMP };
	static const size_t hdr[] = { 20, 8, 8, 12, 8 };

	for (size_t i = 0; i < sizeof(protos); i++) {
		for (size_t len = 0; len < hdr[i]; len++) {
			uint8_t b[BUFSZ], data[64];
			size_t n;
			struct pkt p;

			memset(data, 0x50, sizeof(data));
			n = tu_ip4(b, protos[i], A4, B4, data, len);
			tu_ip4_frag(b, 7, 1, 0);
			ck_assert_int_eq(parse(&p, b, n), PKT_MALFORMED);
			EXPECT_ERR(&p, PKT_ERR_FRAGMENT);
		}
	}
}
END_TEST

START_TEST(v6_first_fragment_too_short)
{
	for (size_t len = 0; len < 20; len++) {
		uint8_t b[BUFSZ], rest[64];
		size_t n = tu_ip6_frag(rest, IPPROTO_TCP, 0, 1, 1);
		struct pkt p;

		memset(rest + n, 0x50, 20);
		n = tu_ip6(b, IPPROTO_FRAGMENT, A6, B6, rest, n + len);
		ck_assert_int_eq(parse(&p, b, n), PKT_MALFORMED);
		EXPECT_ERR(&p, PKT_ERR_FRAGMENT);
	}
}
END_TEST

/* ... but a first fragment cut by the copy range is a copy range problem. */
START_TEST(first_fragment_past_copy)
{
	uint8_t b[BUFSZ];
	size_t n = g_v4_frag_first(b);
	struct pkt p;

	for (size_t cap = 20; cap < 40; cap++) {
		ck_assert_int_eq(parse_ex(&p, b, cap, n, 0), PKT_MALFORMED);
		EXPECT_ERR(&p, PKT_ERR_COPY_RANGE);
	}
	n = g_v6_frag_first(b);
	for (size_t cap = 48; cap < 68; cap++) {
		ck_assert_int_eq(parse_ex(&p, b, cap, n, 0), PKT_MALFORMED);
		EXPECT_ERR(&p, PKT_ERR_COPY_RANGE);
	}
}
END_TEST

/* Offset plus length past 65535 (a ping of death). */
START_TEST(v4_fragment_past_64k)
{
	uint8_t b[BUFSZ], data[64];
	size_t n;
	struct pkt p;

	memset(data, 0, sizeof(data));
	n = tu_ip4(b, IPPROTO_ICMP, A4, B4, data, 8);
	tu_ip4_frag(b, 1, 0, 65528);
	ck_assert_int_eq(parse(&p, b, n), PKT_MALFORMED);
	EXPECT_ERR(&p, PKT_ERR_FRAGMENT);

	n = tu_ip4(b, IPPROTO_UDP, A4, B4, data, 64);
	tu_ip4_frag(b, 1, 1, 65480);
	ck_assert_int_eq(parse(&p, b, n), PKT_MALFORMED);
	EXPECT_ERR(&p, PKT_ERR_FRAGMENT);

	/* The largest offset with a payload that still fits. */
	n = tu_ip4(b, IPPROTO_UDP, A4, B4, data, 3);
	tu_ip4_frag(b, 1, 0, 65512);
	ck_assert_int_eq(parse(&p, b, n), PKT_FRAGMENT);
	ck_assert_uint_eq(p.frag, PKT_FRAG_LATER);
}
END_TEST

/*
 * The reassembled datagram is header plus offset plus data, and its total
 * length is 16 bits (RFC 791; ip_frag_reasm() drops anything longer than
 * 65535 as "Oversized IP packet"). A later fragment at offset 65512 with 8
 * data bytes rebuilds 20 + 65520 = 65540 bytes.
 */
START_TEST(v4_fragment_reassembles_past_64k)
{
	uint8_t b[BUFSZ], data[16];
	size_t n;
	struct pkt p;

	memset(data, 0, sizeof(data));
	n = tu_ip4(b, IPPROTO_UDP, A4, B4, data, 8);
	tu_ip4_frag(b, 1, 0, 65512);
	ck_assert_int_eq(parse(&p, b, n), PKT_MALFORMED);
	EXPECT_ERR(&p, PKT_ERR_FRAGMENT);
}
END_TEST

/*
 * The same limit for IPv6 (RFC 8200 4.5: a fragment whose offset and
 * length make a payload over 65535 bytes is discarded with a parameter
 * problem; ip6_frag_queue() does so).
 */
START_TEST(v6_fragment_past_64k)
{
	uint8_t b[BUFSZ], rest[64];
	size_t n = tu_ip6_frag(rest, IPPROTO_UDP, 65528, 0, 1);
	struct pkt p;

	memset(rest + n, 0, 16);
	n = tu_ip6(b, IPPROTO_FRAGMENT, A6, B6, rest, n + 16);
	ck_assert_int_eq(parse(&p, b, n), PKT_MALFORMED);
	EXPECT_ERR(&p, PKT_ERR_FRAGMENT);
}
END_TEST

/*
 * The UDP length of a fragmented datagram is that of the whole datagram,
 * so it exceeds what the first fragment carries (real traffic: large DNS
 * and NFS replies, see check_corpus). The header is all there: a flow.
 */
START_TEST(v4_first_fragment_udp_length_of_datagram)
{
	uint8_t b[BUFSZ], l4[64];
	size_t n = tu_udp(l4, 2049, 789, 32);
	struct pkt p, e = want(PKT_FLOW, 4, IPPROTO_UDP, A4, B4);

	put16(l4 + 4, 8320);
	n = tu_ip4(b, IPPROTO_UDP, A4, B4, l4, n);
	tu_ip4_frag(b, 0x1ea0, 1, 0);
	ck_assert_int_eq(parse(&p, b, n), PKT_FLOW);
	e.frag = PKT_FRAG_FIRST;
	e.sport = 2049;
	e.dport = 789;
	e.ip_len = 60;
	e.l4_off = 20;
	e.l4_len = 40;
	EXPECT(&p, &e);
}
END_TEST

START_TEST(v6_first_fragment_udp_length_of_datagram)
{
	uint8_t b[BUFSZ], rest[64];
	size_t n = tu_ip6_frag(rest, IPPROTO_UDP, 0, 1, 0x77);
	struct pkt p, e = want(PKT_FLOW, 6, IPPROTO_UDP, A6, B6);

	n += tu_udp(rest + n, 53, 51851, 24);
	put16(rest + 8 + 4, 1800);
	n = tu_ip6(b, IPPROTO_FRAGMENT, A6, B6, rest, n);
	ck_assert_int_eq(parse(&p, b, n), PKT_FLOW);
	e.frag = PKT_FRAG_FIRST;
	e.sport = 53;
	e.dport = 51851;
	e.ip_len = 80;
	e.l4_off = 48;
	e.l4_len = 32;
	EXPECT(&p, &e);
}
END_TEST

/*
 * A first fragment that holds the fixed TCP header but not all of its
 * options (zeek's ipv4/fragmented-syn trace) is a first fragment too short
 * for its transport header, not a data offset past the segment: the
 * segment goes on in the next fragment.
 */
START_TEST(v4_first_fragment_tcp_options_cut)
{
	uint8_t b[BUFSZ], l4[64];
	size_t n = tu_tcp_doff(l4, 12345, 80, TCPF_SYN, 1000, 0, 40);
	struct pkt p;

	n = tu_ip4(b, IPPROTO_TCP, A4, B4, l4, 24);
	tu_ip4_frag(b, 1, 1, 0);
	ck_assert_int_eq(parse(&p, b, n), PKT_MALFORMED);
	EXPECT_ERR(&p, PKT_ERR_FRAGMENT);
}
END_TEST

/* ---- malformed ----------------------------------------------------------- */

START_TEST(err_short)
{
	uint8_t b[BUFSZ];
	size_t n = g_v4_udp(b);
	struct pkt p;

	ck_assert_int_eq(parse_ex(&p, b, 0, 0, 0), PKT_MALFORMED);
	EXPECT_ERR(&p, PKT_ERR_SHORT);
	for (size_t len = 1; len < 20; len++) {
		ck_assert_int_eq(parse(&p, b, len), PKT_MALFORMED);
		EXPECT_ERR(&p, PKT_ERR_SHORT);
		ck_assert_uint_eq(p.family, 4);
	}
	n = g_v6_udp(b);
	for (size_t len = 1; len < 40; len++) {
		ck_assert_int_eq(parse(&p, b, len), PKT_MALFORMED);
		EXPECT_ERR(&p, PKT_ERR_SHORT);
		ck_assert_uint_eq(p.family, 6);
	}
	(void)n;
}
END_TEST

START_TEST(err_version)
{
	for (unsigned v = 0; v < 16; v++) {
		uint8_t b[BUFSZ];
		size_t n = g_v4_tcp(b);
		struct pkt p;

		if (v == 4 || v == 6)
			continue;
		b[0] = (uint8_t)(v << 4 | 5);
		ck_assert_int_eq(parse(&p, b, n), PKT_MALFORMED);
		EXPECT_ERR(&p, PKT_ERR_VERSION);
		/* One byte is enough to tell. */
		ck_assert_int_eq(parse_ex(&p, b, 1, 1, 0), PKT_MALFORMED);
		EXPECT_ERR(&p, PKT_ERR_VERSION);
	}
}
END_TEST

START_TEST(err_ihl)
{
	for (uint8_t ihl = 0; ihl < 5; ihl++) {
		uint8_t b[BUFSZ];
		size_t n = g_v4_tcp(b);
		struct pkt p;

		b[0] = (uint8_t)(0x40 | ihl);
		ck_assert_int_eq(parse(&p, b, n), PKT_MALFORMED);
		EXPECT_ERR(&p, PKT_ERR_IHL);
		ck_assert_uint_eq(p.family, 4);
	}
}
END_TEST

START_TEST(err_length_v4)
{
	uint8_t b[BUFSZ];
	size_t n = g_v4_tcp(b);
	struct pkt p;

	/* Total length below the header length. */
	for (uint16_t tot = 0; tot < 20; tot++) {
		put16(b + 2, tot);
		ck_assert_int_eq(parse(&p, b, n), PKT_MALFORMED);
		EXPECT_ERR(&p, PKT_ERR_LENGTH);
	}
	n = v4_ihl(b, 40);
	put16(b + 2, 36);
	ck_assert_int_eq(parse(&p, b, n), PKT_MALFORMED);
	EXPECT_ERR(&p, PKT_ERR_LENGTH);

	/* Total length past the packet. */
	n = g_v4_tcp(b);
	put16(b + 2, (uint16_t)(n + 1));
	ck_assert_int_eq(parse(&p, b, n), PKT_MALFORMED);
	EXPECT_ERR(&p, PKT_ERR_LENGTH);
	put16(b + 2, 65535);
	ck_assert_int_eq(parse(&p, b, n), PKT_MALFORMED);
	EXPECT_ERR(&p, PKT_ERR_LENGTH);
	/* ... wherever the copy ends. */
	ck_assert_int_eq(parse_ex(&p, b, 20, n, 0), PKT_MALFORMED);
	EXPECT_ERR(&p, PKT_ERR_LENGTH);
}
END_TEST

START_TEST(err_length_v6)
{
	uint8_t b[BUFSZ];
	size_t n = g_v6_udp(b);
	struct pkt p;

	put16(b + 4, (uint16_t)(n - 40 + 1));
	ck_assert_int_eq(parse(&p, b, n), PKT_MALFORMED);
	EXPECT_ERR(&p, PKT_ERR_LENGTH);
	put16(b + 4, 65535);
	ck_assert_int_eq(parse(&p, b, n), PKT_MALFORMED);
	EXPECT_ERR(&p, PKT_ERR_LENGTH);
	ck_assert_int_eq(parse_ex(&p, b, 40, n, 0), PKT_MALFORMED);
	EXPECT_ERR(&p, PKT_ERR_LENGTH);
}
END_TEST

/* Extension headers longer than the packet. */
START_TEST(err_exthdr_truncated)
{
	static const uint8_t types[] = { IPPROTO_HOPOPTS, IPPROTO_DSTOPTS,
					 IPPROTO_ROUTING, IPPROTO_AH,
					 IPPROTO_FRAGMENT };
	struct pkt p;

	for (size_t i = 0; i < sizeof(types); i++) {
		for (size_t len = 0; len < 16; len++) {
			uint8_t b[BUFSZ], rest[64];
			size_t n;

			/* 16 bytes of header announced, len present. */
			if (types[i] == IPPROTO_FRAGMENT) {
				tu_ip6_frag(rest, IPPROTO_UDP, 0, 0, 1);
				if (len >= 8)
					continue;
			} else {
				tu_ip6_ext(rest, types[i], IPPROTO_UDP, 16);
			}
			n = tu_ip6(b, types[i], A6, B6, rest, len);
			ck_assert_int_eq(parse(&p, b, n), PKT_MALFORMED);
			EXPECT_ERR(&p, PKT_ERR_EXTHDR);
		}
	}
}
END_TEST

/* Any number of extension headers, as the kernel's walk takes them (a
 * chain of 153 fragment headers came in suricata-verify's frag-11). */
START_TEST(exthdr_many)
{
	uint8_t b[BUFSZ];
	struct pkt p;

	for (size_t k = 17; k <= 30; k += 13) {
		size_t n = v6_many_ext(b, k);

		ck_assert_int_eq(parse(&p, b, n), PKT_FLOW);
		ck_assert_uint_eq(p.proto, IPPROTO_TCP);
		ck_assert_uint_eq(p.l4_off, 40 + 8 * k);
		ck_assert_uint_eq(p.sport, 1);
	}
}
END_TEST

START_TEST(err_l4_short)
{
	static const uint8_t protos[] = { IPPROTO_TCP, IPPROTO_UDP,
					  IPPROTO_UDPLITE, IPPROTO_SCTP };
	static const size_t hdr[] = { 20, 8, 8, 12 };

	for (size_t i = 0; i < sizeof(protos); i++) {
		for (size_t len = 0; len < hdr[i]; len++) {
			uint8_t b[BUFSZ], data[64];
			size_t n;
			struct pkt p;

			memset(data, 0x50, sizeof(data));
			n = tu_ip4(b, protos[i], A4, B4, data, len);
			ck_assert_int_eq(parse(&p, b, n), PKT_MALFORMED);
			EXPECT_ERR(&p, PKT_ERR_L4_SHORT);
			n = tu_ip6(b, protos[i], A6, B6, data, len);
			ck_assert_int_eq(parse(&p, b, n), PKT_MALFORMED);
			EXPECT_ERR(&p, PKT_ERR_L4_SHORT);
		}
	}
}
END_TEST

START_TEST(err_tcp_doff)
{
	uint8_t b[BUFSZ];
	size_t n;
	struct pkt p;

	/* Below 5 words. */
	for (uint8_t doff = 0; doff < 5; doff++) {
		n = g_v4_tcp(b);
		b[32] = (uint8_t)(doff << 4);
		ck_assert_int_eq(parse(&p, b, n), PKT_MALFORMED);
		EXPECT_ERR(&p, PKT_ERR_TCP_DOFF);
		n = g_v6_tcp(b);
		b[52] = (uint8_t)(doff << 4);
		ck_assert_int_eq(parse(&p, b, n), PKT_MALFORMED);
		EXPECT_ERR(&p, PKT_ERR_TCP_DOFF);
	}
	/* Past the segment: 30 bytes of TCP, 32 to 60 announced. */
	for (uint8_t doff = 8; doff < 16; doff++) {
		n = g_v4_tcp(b);
		b[32] = (uint8_t)(doff << 4);
		ck_assert_int_eq(parse(&p, b, n), PKT_MALFORMED);
		EXPECT_ERR(&p, PKT_ERR_TCP_DOFF);
		/* ... even when the copy ends early. */
		ck_assert_int_eq(parse_ex(&p, b, 40, n, 0), PKT_MALFORMED);
		EXPECT_ERR(&p, PKT_ERR_TCP_DOFF);
	}
	/* pcapplusplus' tcp-malformed: 20 bytes of TCP, offset 7. */
	n = g_v6_tcp(b);
	b[52] = 7 << 4;
	ck_assert_int_eq(parse(&p, b, n), PKT_MALFORMED);
	EXPECT_ERR(&p, PKT_ERR_TCP_DOFF);
}
END_TEST

START_TEST(err_udp_len)
{
	static const uint16_t bad[] = { 0, 1, 7, 21, 9000, 65535 };
	uint8_t b[BUFSZ];
	size_t n;
	struct pkt p;

	/* v4_udp carries 20 bytes of UDP. */
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		n = g_v4_udp(b);
		put16(b + 24, bad[i]);
		ck_assert_int_eq(parse(&p, b, n), PKT_MALFORMED);
		EXPECT_ERR(&p, PKT_ERR_UDP_LEN);
	}
	/* v6_udp: 38 bytes. */
	n = g_v6_udp(b);
	put16(b + 44, 39);
	ck_assert_int_eq(parse(&p, b, n), PKT_MALFORMED);
	EXPECT_ERR(&p, PKT_ERR_UDP_LEN);
	put16(b + 44, 7);
	ck_assert_int_eq(parse(&p, b, n), PKT_MALFORMED);
	EXPECT_ERR(&p, PKT_ERR_UDP_LEN);
}
END_TEST

/* UDP-Lite coverage of 1 to 7, or past the datagram. */
START_TEST(err_udplite_coverage)
{
	static const uint16_t bad[] = { 1, 2, 7, 33, 65535 };
	uint8_t b[BUFSZ];
	size_t n;
	struct pkt p;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		n = v4_udplite(b, bad[i]);
		ck_assert_int_eq(parse(&p, b, n), PKT_MALFORMED);
		EXPECT_ERR(&p, PKT_ERR_UDP_LEN);
	}
	n = g_v6_udplite(b);
	put16(b + 44, 41);
	ck_assert_int_eq(parse(&p, b, n), PKT_MALFORMED);
	EXPECT_ERR(&p, PKT_ERR_UDP_LEN);
}
END_TEST

/* What PKT_F_CSUM makes of packet b (len bytes, all copied). */
static uint8_t csum_of(const uint8_t *b, size_t len, size_t caplen)
{
	uint8_t *copy = tu_exact(b, caplen);
	struct pkt p;

	pkt_parse(&p, copy, caplen, len, PKT_F_CSUM);
	free(copy);
	return p.csum;
}

/* Right, then each byte of the transport part spoiled in turn (but
 * UDP's length field, which says what the sum covers): the sum must
 * notice. */
static void csum_each_byte(uint8_t *b, size_t len, size_t l4)
{
	tu_csum(b, len);
	ck_assert_int_eq(csum_of(b, len, len), PKT_CSUM_OK);
	for (size_t i = l4; i < len; i++) {
		if (b[l4 > 20 ? 6 : 9] == IPPROTO_UDP &&
		    (i == l4 + 4 || i == l4 + 5))
			continue;
		b[i] ^= 0x21;
		ck_assert_msg(csum_of(b, len, len) == PKT_CSUM_BAD,
			      "byte %zu of %zu spoiled, sum still right", i,
			      len);
		b[i] ^= 0x21;
	}
}

START_TEST(csum_tcp_udp_icmp)
{
	uint8_t l4[20 + 37], b[40 + sizeof(l4)];
	size_t len;

	for (size_t i = 0; i < sizeof(l4); i++)
		l4[i] = (uint8_t)(i * 7 + 3);
	/* Odd lengths, both families. */
	tu_tcp(l4, 1, 2, TCPF_RST, 3, 4);
	len = tu_ip4(b, IPPROTO_TCP, "192.0.2.1", "192.0.2.2", l4, sizeof(l4));
	csum_each_byte(b, len, 20);
	len = tu_ip6(b, IPPROTO_TCP, "2001:db8::1", "2001:db8::2", l4,
		     sizeof(l4));
	csum_each_byte(b, len, 40);
	tu_udp(l4, 1, 2, 29);
	len = tu_ip4(b, IPPROTO_UDP, "192.0.2.1", "192.0.2.2", l4, 37);
	csum_each_byte(b, len, 20);
	len = tu_ip6(b, IPPROTO_UDP, "2001:db8::1", "2001:db8::2", l4, 37);
	csum_each_byte(b, len, 40);
	tu_icmp(l4, 8, 0, 77);
	len = tu_ip4(b, IPPROTO_ICMP, "192.0.2.1", "192.0.2.2", l4, 8);
	csum_each_byte(b, len, 20);
	len = tu_ip6(b, IPPROTO_ICMPV6, "2001:db8::1", "2001:db8::2", l4, 8);
	csum_each_byte(b, len, 40);
}
END_TEST

START_TEST(csum_special_cases)
{
	uint8_t l4[64] = { 0 }, b[40 + sizeof(l4)];
	size_t len;

	/* Not asked: none. */
	tu_tcp(l4, 1, 2, TCPF_SYN, 3, 0);
	len = tu_ip4(b, IPPROTO_TCP, "192.0.2.1", "192.0.2.2", l4, 20);
	{
		struct pkt p;

		pkt_parse(&p, b, len, len, 0);
		ck_assert_int_eq(p.csum, PKT_CSUM_NONE);
	}
	/* Not copied whole, or a fragment, or GSO: not checked. */
	tu_tcp(l4, 1, 2, TCPF_RST, 3, 0);
	len = tu_ip4(b, IPPROTO_TCP, "192.0.2.1", "192.0.2.2", l4, 64);
	tu_csum(b, len);
	ck_assert_int_eq(csum_of(b, len, len), PKT_CSUM_OK);
	ck_assert_int_eq(csum_of(b, len, len - 1), PKT_CSUM_PARTIAL);
	tu_ip4_frag(b, 9, 1, 0);
	ck_assert_int_eq(csum_of(b, len, len), PKT_CSUM_PARTIAL);
	/* UDP over IPv4 may go without, over IPv6 not. */
	tu_udp(l4, 1, 2, 4);
	len = tu_ip4(b, IPPROTO_UDP, "192.0.2.1", "192.0.2.2", l4, 12);
	ck_assert_int_eq(csum_of(b, len, len), PKT_CSUM_NONE);
	len = tu_ip6(b, IPPROTO_UDP, "2001:db8::1", "2001:db8::2", l4, 12);
	ck_assert_int_eq(csum_of(b, len, len), PKT_CSUM_BAD);
	/* UDP-Lite: coverage 8 leaves the payload out of the sum, whose
	 * pseudo-header holds 17 as the kernel's tracker has it, not the
	 * RFC's 136 (which it finds bad). */
	for (int rfc = 1; rfc >= 0; rfc--) {
		uint8_t proto = rfc ? IPPROTO_UDPLITE : IPPROTO_UDP;
		uint32_t sum;

		tu_udp(l4, 1, 2, 4);
		put16(l4 + 4, 8);
		len = tu_ip4(b, IPPROTO_UDPLITE, "192.0.2.1", "192.0.2.2", l4,
			     12);
		sum = tu_sum16(tu_sum16(0, b + 12, 8),
			       (const uint8_t[]){ 0, proto }, 2) +
		      12;
		sum = tu_sum16(sum, b + 20, 8);
		while (sum >> 16)
			sum = (sum & 0xffff) + (sum >> 16);
		put16(b + 26, (uint16_t)~sum);
		ck_assert_int_eq(csum_of(b, len, len),
				 rfc ? PKT_CSUM_BAD : PKT_CSUM_OK);
	}
	b[len - 1] ^= 1; /* past the coverage */
	ck_assert_int_eq(csum_of(b, len, len), PKT_CSUM_OK);
	b[27] ^= 1;
	ck_assert_int_eq(csum_of(b, len, len), PKT_CSUM_BAD);
	/* None at all is left to the engine (invalid_udplite_csum). */
	put16(b + 26, 0);
	ck_assert_int_eq(csum_of(b, len, len), PKT_CSUM_NONE);
	/* SCTP and others: none. */
	len = tu_ip4(b, IPPROTO_SCTP, "192.0.2.1", "192.0.2.2", l4,
		     tu_sctp(l4, 1, 2, 3));
	ck_assert_int_eq(csum_of(b, len, len), PKT_CSUM_NONE);
}
END_TEST

/* Headers inside the packet but past the copied bytes. */
START_TEST(err_copy_range)
{
	uint8_t b[BUFSZ];
	size_t n, cap;
	struct pkt p;

	/* The IP header itself. */
	n = g_v4_tcp(b);
	for (cap = 1; cap < 20; cap++) {
		ck_assert_int_eq(parse_ex(&p, b, cap, n, 0), PKT_MALFORMED);
		EXPECT_ERR(&p, PKT_ERR_COPY_RANGE);
	}
	n = g_v6_tcp(b);
	for (cap = 1; cap < 40; cap++) {
		ck_assert_int_eq(parse_ex(&p, b, cap, n, 0), PKT_MALFORMED);
		EXPECT_ERR(&p, PKT_ERR_COPY_RANGE);
	}
	/* IPv4 options. */
	n = g_v4_ihl60(b);
	for (cap = 20; cap < 60; cap++) {
		ck_assert_int_eq(parse_ex(&p, b, cap, n, 0), PKT_MALFORMED);
		EXPECT_ERR(&p, PKT_ERR_COPY_RANGE);
	}
	/* TCP options cut by the copy range. */
	n = g_v4_tcp_opts(b);
	for (cap = 20; cap < 60; cap++) {
		ck_assert_int_eq(parse_ex(&p, b, cap, n, 0), PKT_MALFORMED);
		EXPECT_ERR(&p, PKT_ERR_COPY_RANGE);
	}
	ck_assert_int_eq(parse_ex(&p, b, 60, n, 0), PKT_FLOW);
	/* UDP header. */
	n = g_v4_udp(b);
	for (cap = 20; cap < 28; cap++) {
		ck_assert_int_eq(parse_ex(&p, b, cap, n, 0), PKT_MALFORMED);
		EXPECT_ERR(&p, PKT_ERR_COPY_RANGE);
	}
	/* An IPv6 extension header past the copied bytes. */
	n = g_v6_chain(b);
	for (cap = 40; cap < 40 + 72 + 8; cap++) {
		ck_assert_int_eq(parse_ex(&p, b, cap, n, 0), PKT_MALFORMED);
		EXPECT_ERR(&p, PKT_ERR_COPY_RANGE);
	}
	ck_assert_int_eq(parse_ex(&p, b, 40 + 72 + 8, n, 0), PKT_FLOW);
	n = g_v6_hbh(b);
	ck_assert_int_eq(parse_ex(&p, b, 41, n, 0), PKT_MALFORMED);
	EXPECT_ERR(&p, PKT_ERR_COPY_RANGE);
	ck_assert_int_eq(parse_ex(&p, b, 47, n, 0), PKT_MALFORMED);
	EXPECT_ERR(&p, PKT_ERR_COPY_RANGE);
}
END_TEST

/* ---- GSO ----------------------------------------------------------------- */

START_TEST(gso_v4_length_zero)
{
	uint8_t b[BUFSZ];
	size_t n = g_v4_gso(b);
	struct pkt p, e = want(PKT_FLOW, 4, IPPROTO_TCP, A4, B4);

	e.sport = 45000;
	e.dport = 5201;
	e.tcp_flags = TCPF_ACK;
	e.tcp_seq = 100;
	e.tcp_ack = 200;
	e.tcp_win = 65535;
	e.tcp_doff = 20;
	e.ip_len = 240;
	e.l4_off = 20;
	e.l4_len = 220;
	ck_assert_int_eq(parse_ex(&p, b, n, n, PKT_F_GSO), PKT_FLOW);
	EXPECT(&p, &e);
	/* Only the headers copied; the length comes from wirelen, which
	 * may pass 64 KiB. */
	ck_assert_int_eq(parse_ex(&p, b, 40, 80000, PKT_F_GSO), PKT_FLOW);
	e.ip_len = 80000;
	e.l4_len = 80000 - 20;
	EXPECT(&p, &e);
	/* Without the flag, length 0 is malformed. */
	ck_assert_int_eq(parse_ex(&p, b, n, n, 0), PKT_MALFORMED);
	EXPECT_ERR(&p, PKT_ERR_LENGTH);
	/* A GSO packet with a length keeps it. */
	put16(b + 2, 100);
	ck_assert_int_eq(parse_ex(&p, b, n, n, PKT_F_GSO), PKT_FLOW);
	e.ip_len = 100;
	e.l4_len = 80;
	EXPECT(&p, &e);
}
END_TEST

START_TEST(gso_v6_length_zero)
{
	uint8_t b[BUFSZ];
	size_t n = g_v6_gso(b);
	struct pkt p, e = want(PKT_FLOW, 6, IPPROTO_UDP, A6, B6);

	e.sport = 4433;
	e.dport = 4434;
	e.ip_len = 248;
	e.l4_off = 40;
	e.l4_len = 208;
	ck_assert_int_eq(parse_ex(&p, b, n, n, PKT_F_GSO), PKT_FLOW);
	EXPECT(&p, &e);
	ck_assert_int_eq(parse_ex(&p, b, 48, 100000, PKT_F_GSO), PKT_FLOW);
	e.ip_len = 100000;
	e.l4_len = 100000 - 40;
	EXPECT(&p, &e);
	/* Without the flag the payload is empty: no room for UDP. */
	ck_assert_int_eq(parse_ex(&p, b, n, n, 0), PKT_MALFORMED);
	EXPECT_ERR(&p, PKT_ERR_L4_SHORT);
	/* tcpdump's bigtcp-ipv6: TCP straight after a zero length. */
	n = g_v6_tcp(b);
	put16(b + 4, 0);
	ck_assert_int_eq(parse_ex(&p, b, n, 80040, PKT_F_GSO), PKT_FLOW);
	ck_assert_uint_eq(p.ip_len, 80040);
	ck_assert_uint_eq(p.l4_len, 80000);
	ck_assert_uint_eq(p.sport, 50000);
	ck_assert_int_eq(parse_ex(&p, b, n, 80040, 0), PKT_MALFORMED);
	EXPECT_ERR(&p, PKT_ERR_L4_SHORT);
}
END_TEST

/* A GSO packet's UDP length is one segment's, or anything: unchecked. */
START_TEST(gso_udp_length_unchecked)
{
	static const uint16_t lens[] = { 0, 7, 1208, 65535 };
	uint8_t b[BUFSZ];
	size_t n;
	struct pkt p;

	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		n = g_v4_udp(b);
		put16(b + 24, lens[i]);
		ck_assert_int_eq(parse_ex(&p, b, n, n, PKT_F_GSO), PKT_FLOW);
		ck_assert_uint_eq(p.sport, 53001);
		ck_assert_uint_eq(p.dport, 53);
		ck_assert_uint_eq(p.ip_len, 40);
		if (lens[i] > 20 || lens[i] < 8) {
			ck_assert_int_eq(parse(&p, b, n), PKT_MALFORMED);
			EXPECT_ERR(&p, PKT_ERR_UDP_LEN);
		}
		n = v4_udplite(b, lens[i]);
		ck_assert_int_eq(parse_ex(&p, b, n, n, PKT_F_GSO), PKT_FLOW);
		n = g_v6_gso(b);
		put16(b + 44, lens[i]);
		ck_assert_int_eq(parse_ex(&p, b, n, n, PKT_F_GSO), PKT_FLOW);
	}
}
END_TEST

/* ---- robustness ---------------------------------------------------------- */

/*
 * Every prefix of every good packet: copied short of a packet that is
 * longer (wirelen = len) it parses as the whole packet or fails with
 * copy_range; cut short (wirelen = caplen) it must only keep the
 * invariants. With and without the GSO flag.
 */
START_TEST(prefixes)
{
	for (size_t g = 0; g < NGOODS; g++) {
		uint8_t b[BUFSZ];
		size_t len = goods[g].build(b);
		unsigned int fl = goods[g].flags;
		struct pkt full, p;

		ck_assert_msg(parse_ex(&full, b, len, len, fl) != PKT_MALFORMED,
			      "%s: good packet is malformed (%s)",
			      goods[g].name, pkt_err_name(full.err));
		for (size_t cap = 0; cap <= len; cap++) {
			parse_ex(&p, b, cap, len, fl);
			if (cap == len || p.kind != PKT_MALFORMED)
				ck_assert_msg(pkt_same(&p, &full),
					      "%s: caplen %zu of %zu differs "
					      "from the whole",
					      goods[g].name, cap, len);
			else if (cap > 0)
				ck_assert_msg(p.err == PKT_ERR_COPY_RANGE,
					      "%s: caplen %zu of %zu: %s, "
					      "want copy_range",
					      goods[g].name, cap, len,
					      pkt_err_name(p.err));
			parse_ex(&p, b, cap, cap, fl);
			parse_ex(&p, b, cap, cap, fl ^ PKT_F_GSO);
			parse_ex(&p, b, cap, len, fl ^ PKT_F_GSO);
		}
	}
}
END_TEST

static uint64_t rng;

static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 32);
}

#define MUTATIONS 200000
#define NINTERESTING 20

/* Random byte flips, interesting values and truncations of the good
 * packets, from a fixed seed. Checks the invariants and that every kind
 * and every error reason is reached. */
START_TEST(mutations)
{
	static const uint8_t interesting[NINTERESTING] = {
		0x00, 0xff, 0x7f, 0x80, 0x01, 0x40, 0x45, 0x4f, 0x60, 0x20,
		0x3f, 0x1f, 0x06, 0x11, 0x2c, 0x3a, 0x00, 0x3b, 0x33, 0x32
	};
	uint64_t kinds[4] = { 0 }, errs[PKT_ERR_COUNT] = { 0 };

	rng = 0x9e3779b97f4a7c15ull;
	for (unsigned it = 0; it < MUTATIONS; it++) {
		const struct good *g = &goods[rnd() % NGOODS];
		uint8_t b[BUFSZ], *copy;
		size_t len = g->build(b), caplen, wirelen;
		unsigned int nmut = 1 + rnd() % 4, flags = g->flags;
		enum pkt_kind k;
		struct pkt p;

		for (unsigned m = 0; m < nmut && len; m++) {
			/* Headers live in the first 128 bytes: aim there. */
			size_t at = rnd() % (len < 128 ? len : 128);

			switch (rnd() % 6) {
			case 0:
				b[at] ^= (uint8_t)(1u << (rnd() % 8));
				break;
			case 1:
				b[at] = (uint8_t)rnd();
				break;
			case 2:
			case 3:
				b[at] = interesting[rnd() % NINTERESTING];
				break;
			case 4:
				len = rnd() % (len + 1);
				break;
			case 5:
				flags ^= PKT_F_GSO;
				break;
			}
		}
		caplen = len;
		switch (rnd() % 4) {
		case 0:
			wirelen = caplen;
			break;
		case 1:
			wirelen = caplen + rnd() % 64;
			break;
		case 2:
			wirelen = rnd() % 70000;
			break;
		default:
			caplen = rnd() % (len + 1);
			wirelen = len;
			break;
		}
		copy = tu_exact(b, caplen);
		memset(&p, 0xa5, sizeof(p));
		k = pkt_parse(&p, copy, caplen, wirelen, flags);
		free(copy);
		check_invariants(&p, k, caplen, wirelen, "mutation");
		kinds[p.kind]++;
		errs[p.err]++;
	}
	for (int k = 0; k < 4; k++)
		ck_assert_msg(kinds[k] > 0, "kind %d never reached", k);
	for (int e = 1; e < PKT_ERR_COUNT; e++)
		ck_assert_msg(errs[e] > 0, "%s never reached",
			      pkt_err_name((enum pkt_err)e));
}
END_TEST

/* ---- names --------------------------------------------------------------- */

START_TEST(err_names)
{
	static const char *const names[PKT_ERR_COUNT] = {
		"none",	    "short",	"version",    "ihl",
		"length",   "fragment", "exthdr",     "l4_short",
		"tcp_doff", "udp_len",	"icmp_inner", "copy_range",
	};

	for (int i = 0; i < PKT_ERR_COUNT; i++) {
		const char *n = pkt_err_name((enum pkt_err)i);

		ck_assert_ptr_nonnull(n);
		ck_assert_str_ne(n, "?");
		ck_assert_str_eq(n, names[i]);
		for (int j = 0; j < i; j++)
			ck_assert_str_ne(n, pkt_err_name((enum pkt_err)j));
	}
	ck_assert_str_eq(pkt_err_name(PKT_ERR_COUNT), "?");
	ck_assert_str_eq(pkt_err_name((enum pkt_err)255), "?");
	ck_assert_str_eq(pkt_err_name((enum pkt_err) - 1), "?");
}
END_TEST

START_TEST(proto_names)
{
	static const struct {
		uint8_t proto;
		const char *name;
	} known[] = {
		{ IPPROTO_TCP, "TCP" },		{ IPPROTO_UDP, "UDP" },
		{ IPPROTO_UDPLITE, "UDPLITE" }, { IPPROTO_SCTP, "SCTP" },
		{ IPPROTO_DCCP, "DCCP" },	{ IPPROTO_ICMP, "ICMP" },
		{ IPPROTO_ICMPV6, "ICMPv6" },	{ IPPROTO_GRE, "GRE" },
		{ IPPROTO_ESP, "ESP" },		{ IPPROTO_AH, "AH" },
	};
	const char *seen[256] = { 0 };
	size_t named = 0;

	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		ck_assert_str_eq(pkt_proto_name(known[i].proto), known[i].name);
	for (unsigned pr = 0; pr < 256; pr++) {
		const char *n = pkt_proto_name((uint8_t)pr);

		if (!n)
			continue;
		for (unsigned q = 0; q < pr; q++)
			ck_assert(!seen[q] || strcmp(seen[q], n));
		seen[pr] = n;
		named++;
	}
	ck_assert_uint_eq(named, sizeof(known) / sizeof(known[0]));
	ck_assert_ptr_null(pkt_proto_name(0));
	ck_assert_ptr_null(pkt_proto_name(4));
	ck_assert_ptr_null(pkt_proto_name(41));
	ck_assert_ptr_null(pkt_proto_name(59));
	ck_assert_ptr_null(pkt_proto_name(255));
}
END_TEST

START_TEST(icmp_is_error)
{
	for (unsigned t = 0; t < 256; t++) {
		int v4 = t == 3 || t == 4 || t == 5 || t == 11 || t == 12;
		int v6 = t >= 1 && t <= 4;

		ck_assert_int_eq(!!pkt_icmp_is_error(4, (uint8_t)t), v4);
		ck_assert_int_eq(!!pkt_icmp_is_error(6, (uint8_t)t), v6);
	}
}
END_TEST

static Suite *pkt_suite(void)
{
	Suite *s = suite_create("pkt");
	TCase *tc;

	tc = tcase_create("good");
	tcase_add_test(tc, v4_tcp);
	tcase_add_test(tc, v4_tcp_options);
	tcase_add_test(tc, v4_tcp_doff_max);
	tcase_add_test(tc, v4_udp);
	tcase_add_test(tc, v4_udp_short_length_field);
	tcase_add_test(tc, v4_udplite_coverage);
	tcase_add_test(tc, v4_sctp);
	tcase_add_test(tc, v4_dccp);
	tcase_add_test(tc, v4_icmp_echo);
	tcase_add_test(tc, v4_icmp_echo_reply);
	tcase_add_test(tc, v4_icmp_other_queries);
	tcase_add_test(tc, v4_unknown_proto);
	tcase_add_test(tc, v4_ah_is_a_protocol);
	tcase_add_test(tc, v4_icmpv6_proto);
	tcase_add_test(tc, v4_options);
	tcase_add_test(tc, v4_link_padding);
	tcase_add_test(tc, v4_link_padding_not_parsed);
	tcase_add_test(tc, v4_df_is_no_fragment);
	tcase_add_test(tc, v6_tcp);
	tcase_add_test(tc, v6_udp);
	tcase_add_test(tc, v6_udplite);
	tcase_add_test(tc, v6_sctp);
	tcase_add_test(tc, v6_dccp);
	tcase_add_test(tc, v6_icmp_echo);
	tcase_add_test(tc, v6_icmp_other);
	tcase_add_test(tc, v6_unknown_proto);
	tcase_add_test(tc, v6_icmpv4_proto);
	tcase_add_test(tc, v6_hop_by_hop);
	tcase_add_test(tc, v6_dstopts);
	tcase_add_test(tc, v6_routing);
	tcase_add_test(tc, v6_ah);
	tcase_add_test(tc, v6_ext_chain);
	tcase_add_test(tc, v6_ext_pairs);
	tcase_add_test(tc, v6_esp_ends_walk);
	tcase_add_test(tc, v6_no_next_header);
	tcase_add_test(tc, v6_16_ext_headers);
	tcase_add_test(tc, v6_link_padding);
	suite_add_tcase(s, tc);

	tc = tcase_create("icmp_error");
	tcase_add_loop_test(tc, icmp_error_quoting, 0, quote_case_runs());
	tcase_add_loop_test(tc, icmp_error_quoting_shapes, 0,
			    (int)ARRAY_SIZE(shaped_err_cases));
	tcase_add_test(tc, icmp4_error_quoting_error);
	tcase_add_test(tc, icmp6_error_quoting_error);
	tcase_add_test(tc, icmp4_error_quote_too_short);
	tcase_add_test(tc, icmp6_error_quote_too_short);
	tcase_add_test(tc, icmp_error_quote_bad_header);
	tcase_add_test(tc, icmp_error_quote_past_copy);
	tcase_add_test(tc, icmp_header_short);
	suite_add_tcase(s, tc);

	tc = tcase_create("fragment");
	tcase_add_test(tc, v4_first_fragment);
	tcase_add_test(tc, v4_later_fragment);
	tcase_add_test(tc, v6_first_fragment);
	tcase_add_test(tc, v6_later_fragment);
	tcase_add_test(tc, v6_atomic_fragment);
	tcase_add_test(tc, fragment_offset_bits);
	tcase_add_test(tc, v4_first_fragment_too_short);
	tcase_add_test(tc, v6_first_fragment_too_short);
	tcase_add_test(tc, first_fragment_past_copy);
	tcase_add_test(tc, v4_fragment_past_64k);
	tcase_add_test(tc, v4_fragment_reassembles_past_64k);
	tcase_add_test(tc, v6_fragment_past_64k);
	tcase_add_test(tc, v4_first_fragment_udp_length_of_datagram);
	tcase_add_test(tc, v6_first_fragment_udp_length_of_datagram);
	tcase_add_test(tc, v4_first_fragment_tcp_options_cut);
	suite_add_tcase(s, tc);

	tc = tcase_create("malformed");
	tcase_add_test(tc, err_short);
	tcase_add_test(tc, err_version);
	tcase_add_test(tc, err_ihl);
	tcase_add_test(tc, err_length_v4);
	tcase_add_test(tc, err_length_v6);
	tcase_add_test(tc, err_exthdr_truncated);
	tcase_add_test(tc, exthdr_many);
	tcase_add_test(tc, err_l4_short);
	tcase_add_test(tc, err_tcp_doff);
	tcase_add_test(tc, err_udp_len);
	tcase_add_test(tc, err_udplite_coverage);
	tcase_add_test(tc, err_copy_range);
	tcase_add_test(tc, csum_tcp_udp_icmp);
	tcase_add_test(tc, csum_special_cases);
	suite_add_tcase(s, tc);

	tc = tcase_create("gso");
	tcase_add_test(tc, gso_v4_length_zero);
	tcase_add_test(tc, gso_v6_length_zero);
	tcase_add_test(tc, gso_udp_length_unchecked);
	suite_add_tcase(s, tc);

	tc = tcase_create("robust");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, prefixes);
	tcase_add_test(tc, mutations);
	suite_add_tcase(s, tc);

	tc = tcase_create("names");
	tcase_add_test(tc, err_names);
	tcase_add_test(tc, proto_names);
	tcase_add_test(tc, icmp_is_error);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(pkt_suite());
}
