/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * testutil.h - packet builders for the unit tests, and the invariants
 * that every pkt_parse() result keeps. Checksums are left zero unless
 * tu_csum() fills them in.
 */
#ifndef NFQT_TESTUTIL_H
#define NFQT_TESTUTIL_H

#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The number of elements of array A. */
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#include "conf.h"
#include "params.h"
#include "pkt.h"

/* The engine parameters of configuration c (params_from_conf()), in a
 * static struct that the next call overwrites. */
static inline const struct engine_params *tu_params(const struct conf *c)
{
	static struct engine_params p;

	params_from_conf(&p, c);
	return &p;
}

static inline void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

/* TCP header (20 bytes, no options) at b. Returns 20. */
static inline size_t tu_tcp(uint8_t *b, uint16_t sport, uint16_t dport,
			    uint8_t flags, uint32_t seq, uint32_t ack)
{
	memset(b, 0, 20);
	put16(b, sport);
	put16(b + 2, dport);
	put32(b + 4, seq);
	put32(b + 8, ack);
	b[12] = 5 << 4;
	b[13] = flags;
	put16(b + 14, 65535);
	return 20;
}

/* UDP header with len bytes of payload after it. Returns 8 + len. */
static inline size_t tu_udp(uint8_t *b, uint16_t sport, uint16_t dport,
			    size_t len)
{
	memset(b, 0, 8 + len);
	put16(b, sport);
	put16(b + 2, dport);
	put16(b + 4, (uint16_t)(8 + len));
	return 8 + len;
}

/* ICMP or ICMPv6 header: type, code, identifier (sequence 1). */
static inline size_t tu_icmp(uint8_t *b, uint8_t type, uint8_t code,
			     uint16_t id)
{
	memset(b, 0, 8);
	b[0] = type;
	b[1] = code;
	put16(b + 4, id);
	put16(b + 6, 1);
	return 8;
}

/* IPv4 packet of proto carrying l4 (l4len bytes) at b. Returns its length. */
static inline size_t tu_ip4(uint8_t *b, uint8_t proto, const char *src,
			    const char *dst, const void *l4, size_t l4len)
{
	memset(b, 0, 20);
	b[0] = 0x45;
	put16(b + 2, (uint16_t)(20 + l4len));
	b[8] = 64;
	b[9] = proto;
	inet_pton(AF_INET, src, b + 12);
	inet_pton(AF_INET, dst, b + 16);
	memmove(b + 20, l4, l4len);
	return 20 + l4len;
}

/* IPv6 packet with next header nh; rest (len bytes) follows the fixed
 * header: extension headers and/or the transport header. */
static inline size_t tu_ip6(uint8_t *b, uint8_t nh, const char *src,
			    const char *dst, const void *rest, size_t len)
{
	memset(b, 0, 40);
	b[0] = 0x60;
	put16(b + 4, (uint16_t)len);
	b[6] = nh;
	b[7] = 64;
	inet_pton(AF_INET6, src, b + 8);
	inet_pton(AF_INET6, dst, b + 24);
	memmove(b + 40, rest, len);
	return 40 + len;
}

/* TCP header of doff bytes (20..60, a multiple of 4): options are NOPs.
 * Returns doff. */
static inline size_t tu_tcp_doff(uint8_t *b, uint16_t sport, uint16_t dport,
				 uint8_t flags, uint32_t seq, uint32_t ack,
				 size_t doff)
{
	tu_tcp(b, sport, dport, flags, seq, ack);
	b[12] = (uint8_t)((doff / 4) << 4);
	memset(b + 20, 1, doff - 20);
	return doff;
}

/* SCTP common header: ports and verification tag. Returns 12. */
static inline size_t tu_sctp(uint8_t *b, uint16_t sport, uint16_t dport,
			     uint32_t vtag)
{
	memset(b, 0, 12);
	put16(b, sport);
	put16(b + 2, dport);
	put32(b + 4, vtag);
	return 12;
}

/* DCCP generic header with 24-bit sequence numbers (X = 0). Returns 12. */
static inline size_t tu_dccp(uint8_t *b, uint16_t sport, uint16_t dport,
			     uint8_t type)
{
	memset(b, 0, 12);
	put16(b, sport);
	put16(b + 2, dport);
	b[4] = 3; /* data offset, in 32-bit words */
	b[8] = (uint8_t)(type << 1);
	return 12;
}

/* ICMP or ICMPv6 error: type, code, then qlen bytes of the quoted
 * packet. Returns 8 + qlen. */
static inline size_t tu_icmp_err(uint8_t *b, uint8_t type, uint8_t code,
				 const void *quote, size_t qlen)
{
	memset(b, 0, 8);
	b[0] = type;
	b[1] = code;
	memmove(b + 8, quote, qlen);
	return 8 + qlen;
}

/* IPv4 packet as tu_ip4(), with a header of ihl bytes (20..60, a multiple
 * of 4): options are NOPs ending with an end-of-list byte. */
static inline size_t tu_ip4_ihl(uint8_t *b, size_t ihl, uint8_t proto,
				const char *src, const char *dst,
				const void *l4, size_t l4len)
{
	memmove(b + ihl, l4, l4len);
	tu_ip4(b, proto, src, dst, b + ihl, 0);
	b[0] = (uint8_t)(0x40 | ihl / 4);
	put16(b + 2, (uint16_t)(ihl + l4len));
	if (ihl > 20) {
		memset(b + 20, 1, ihl - 20);
		b[ihl - 1] = 0;
	}
	return ihl + l4len;
}

/* Make the IPv4 packet at ip a fragment: identification, More Fragments
 * and the offset in bytes (a multiple of 8). */
static inline void tu_ip4_frag(uint8_t *ip, uint16_t id, int mf, uint32_t off)
{
	put16(ip + 4, id);
	put16(ip + 6, (uint16_t)((mf ? 0x2000 : 0) | (off / 8)));
}

/* IPv6 extension header of type (hop-by-hop, routing, destination
 * options or AH) and len bytes, followed by next. Option headers hold
 * one PadN; the routing header is a segment routing header with nothing
 * left to visit. len: a multiple of 8 (AH: of 4), at least 8. Returns
 * len. */
static inline size_t tu_ip6_ext(uint8_t *b, uint8_t type, uint8_t next,
				size_t len)
{
	memset(b, 0, len);
	b[0] = next;
	if (type == IPPROTO_AH) {
		b[1] = (uint8_t)(len / 4 - 2);
		put32(b + 4, 0x1000); /* SPI */
		put32(b + 8, 1); /* sequence number */
	} else if (type == IPPROTO_ROUTING) {
		b[1] = (uint8_t)(len / 8 - 1);
		b[2] = 4; /* segment routing, segments left 0 */
	} else {
		b[1] = (uint8_t)(len / 8 - 1);
		b[2] = 1; /* PadN */
		b[3] = (uint8_t)(len - 4 > 255 ? 255 : len - 4);
	}
	return len;
}

/* IPv6 fragment header: next header, offset in bytes (a multiple of 8),
 * M flag, identification. Returns 8. */
static inline size_t tu_ip6_frag(uint8_t *b, uint8_t next, uint32_t off, int m,
				 uint32_t id)
{
	memset(b, 0, 8);
	b[0] = next;
	put16(b + 2, (uint16_t)(off | (m ? 1 : 0)));
	put32(b + 4, id);
	return 8;
}

/* RFC 1071 the plain way, 16 bits at a time in network order: a second
 * opinion on pkt.c's. */
static inline uint32_t tu_sum16(uint32_t sum, const uint8_t *b, size_t n)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)(b[i] << 8 | b[i + 1]);
	if (n & 1)
		sum += (uint32_t)b[n - 1] << 8;
	return sum;
}

/*
 * Fill in the transport checksum of the IPv4 or IPv6 packet at b (len
 * bytes; no IPv6 extension headers): TCP, UDP, ICMP or ICMPv6, over the
 * whole payload. Returns the offset of the checksum field.
 */
static inline size_t tu_csum(uint8_t *b, size_t len)
{
	size_t off = b[0] >> 4 == 4 ? (size_t)(b[0] & 15) * 4 : 40;
	uint8_t proto = b[0] >> 4 == 4 ? b[9] : b[6];
	size_t at = proto == IPPROTO_TCP ? 16 : proto == IPPROTO_UDP ? 6 : 2;
	uint32_t sum = 0;

	put16(b + off + at, 0);
	if (b[0] >> 4 == 4 && proto != IPPROTO_ICMP)
		sum = tu_sum16(tu_sum16(0, b + 12, 8),
			       (const uint8_t[]){ 0, proto }, 2) +
		      (uint32_t)(len - off);
	else if (b[0] >> 4 == 6)
		sum = tu_sum16(0, b + 8, 32) + proto + (uint32_t)(len - off);
	sum = tu_sum16(sum, b + off, len - off);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	put16(b + off + at, (uint16_t)~sum);
	return off + at;
}

/* A copy of len bytes in a heap block of exactly that size, so that
 * AddressSanitizer catches any read past it. Free it with free(). */
static inline uint8_t *tu_exact(const uint8_t *b, size_t len)
{
	uint8_t *p = malloc(len ? len : 1);

	if (len)
		memcpy(p, b, len);
	return p;
}

/*
 * What must hold for whatever pkt_parse() made of any input (k is what it
 * returned, for caplen and wirelen): NULL, or which rule p breaks.
 */
static inline const char *tu_pkt_invariant(const struct pkt *p, enum pkt_kind k,
					   size_t caplen, size_t wirelen)
{
	size_t wl = wirelen < caplen ? caplen : wirelen;
	bool icmp;

	if ((unsigned)k != p->kind)
		return "return value is not p->kind";
	if (p->kind > PKT_MALFORMED)
		return "kind out of range";
	if (p->err >= PKT_ERR_COUNT)
		return "err out of range";
	if (p->kind == PKT_MALFORMED)
		return p->err == PKT_ERR_NONE ? "malformed with err none" :
						NULL;
	if (p->err != PKT_ERR_NONE)
		return "err set on a packet that is not malformed";
	if (p->family != 4 && p->family != 6)
		return "family neither 4 nor 6";
	if (p->frag > PKT_FRAG_LATER)
		return "frag out of range";
	if (p->ip_len > wl || p->ip_len < (p->family == 4 ? 20u : 40u))
		return "ip_len outside [header, wirelen]";
	if (p->l4_off > p->ip_len || p->l4_off + p->l4_len != p->ip_len)
		return "l4_off + l4_len is not ip_len";
	if (p->l4_off > caplen)
		return "transport header starts past the copied bytes";
	if ((p->kind == PKT_FRAGMENT) != (p->frag == PKT_FRAG_LATER))
		return "kind FRAGMENT and frag LATER disagree";
	icmp = (p->family == 4 && p->proto == IPPROTO_ICMP) ||
	       (p->family == 6 && p->proto == IPPROTO_ICMPV6);
	if (p->kind == PKT_ICMP_ERROR) {
		if (!icmp || !pkt_icmp_is_error(p->family, p->icmp_type))
			return "ICMP error that is no ICMP error";
		if (p->inner.family != p->family)
			return "inner family differs";
		if (p->l4_off + 8 + (p->family == 4 ? 20 : 40) > caplen)
			return "quote read past the copied bytes";
	}
	if (p->kind == PKT_FLOW && icmp) {
		if (p->l4_off + 8 > caplen)
			return "ICMP header past the copied bytes";
		if (pkt_icmp_is_error(p->family, p->icmp_type))
			return "ICMP error classified as a flow";
		if (p->icmp_query > 2 ||
		    (p->icmp_query && (p->dport & 0xff) != p->icmp_code))
			return "ICMP query key";
	}
	if (p->kind == PKT_ICMP_ERROR &&
	    p->l4_len < 8u + (p->family == 4 ? 20 : 40))
		return "quote past the IP length";
	if (p->kind == PKT_FLOW) {
		uint32_t hdr = 0;

		if (p->proto == IPPROTO_UDP || p->proto == IPPROTO_UDPLITE ||
		    icmp)
			hdr = 8;
		else if (p->proto == IPPROTO_SCTP)
			hdr = 12;
		if (p->l4_len < hdr)
			return "transport header past the IP length";
	}
	if (p->kind == PKT_FLOW && p->proto == IPPROTO_TCP) {
		if (p->tcp_doff < 20 || p->tcp_doff > 60 || p->tcp_doff % 4)
			return "tcp_doff";
		if (p->tcp_doff > p->l4_len)
			return "tcp_doff past the segment";
		if (p->l4_off + p->tcp_doff > caplen)
			return "TCP header past the copied bytes";
	}
	return NULL;
}

/* Run a suite with Check's summary line; the exit status for main(). */
static inline int tu_run(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

#endif
