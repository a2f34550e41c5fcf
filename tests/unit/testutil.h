/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * testutil.h - packet builders for the unit tests. Checksums are left
 * zero: nothing here verifies them.
 */
#ifndef NFQT_TESTUTIL_H
#define NFQT_TESTUTIL_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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

/* A copy of len bytes in a heap block of exactly that size, so that
 * AddressSanitizer catches any read past it. Free it with free(). */
static inline uint8_t *tu_exact(const uint8_t *b, size_t len)
{
	uint8_t *p = malloc(len ? len : 1);

	if (len)
		memcpy(p, b, len);
	return p;
}

#endif
