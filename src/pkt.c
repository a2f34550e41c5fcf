// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * pkt.c - header parser; see pkt.h.
 *
 * Every read goes through need(), which checks it against both the bytes
 * we hold and the packet's own length. Offsets are size_t and lengths come
 * from at most 16-bit fields, so no sum below can overflow.
 */
#include <netinet/in.h>
#include <string.h>

#include "pkt.h"

#ifndef IPPROTO_MH
#define IPPROTO_MH 135
#endif

struct cur {
	const uint8_t *b;
	size_t cap; /* bytes we hold, never more than lim */
	size_t lim; /* where the packet (or quoted packet) ends */
};

static const char *const err_names[PKT_ERR_COUNT] = {
	[PKT_ERR_NONE] = "none",
	[PKT_ERR_SHORT] = "short",
	[PKT_ERR_VERSION] = "version",
	[PKT_ERR_IHL] = "ihl",
	[PKT_ERR_LENGTH] = "length",
	[PKT_ERR_FRAGMENT] = "fragment",
	[PKT_ERR_EXTHDR] = "exthdr",
	[PKT_ERR_L4_SHORT] = "l4_short",
	[PKT_ERR_TCP_DOFF] = "tcp_doff",
	[PKT_ERR_UDP_LEN] = "udp_len",
	[PKT_ERR_ICMP_INNER] = "icmp_inner",
	[PKT_ERR_COPY_RANGE] = "copy_range",
};

const char *pkt_err_name(enum pkt_err err)
{
	return (unsigned)err < PKT_ERR_COUNT ? err_names[err] : "?";
}

const char *pkt_proto_name(uint8_t proto)
{
	switch (proto) {
	case IPPROTO_TCP:
		return "TCP";
	case IPPROTO_UDP:
		return "UDP";
	case IPPROTO_UDPLITE:
		return "UDPLITE";
	case IPPROTO_SCTP:
		return "SCTP";
	case IPPROTO_DCCP:
		return "DCCP";
	case IPPROTO_ICMP:
		return "ICMP";
	case IPPROTO_ICMPV6:
		return "ICMPv6";
	case IPPROTO_GRE:
		return "GRE";
	case IPPROTO_ESP:
		return "ESP";
	case IPPROTO_AH:
		return "AH";
	default:
		return NULL;
	}
}

int pkt_icmp_is_error(uint8_t family, uint8_t type)
{
	if (family == 6)
		return type >= 1 && type <= 4;
	/* unreachable, source quench, redirect, time exceeded, param problem */
	return type == 3 || type == 4 || type == 5 || type == 11 || type == 12;
}

static inline uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static enum pkt_kind fail(struct pkt *p, enum pkt_err err)
{
	p->kind = PKT_MALFORMED;
	p->err = err;
	return PKT_MALFORMED;
}

/* Can [off, off + n) be read? If not, classify why into *err. */
static inline int need(const struct cur *c, size_t off, size_t n,
		       enum pkt_err why, enum pkt_err *err)
{
	if (off <= c->cap && n <= c->cap - off)
		return 1;
	*err = (off <= c->lim && n <= c->lim - off) ? PKT_ERR_COPY_RANGE : why;
	return 0;
}

/* ICMP query types that pair a request with a reply by identifier:
 * 1 for a request, 2 for a reply, 0 otherwise. */
static uint8_t icmp_query(uint8_t family, uint8_t type)
{
	if (family == 4) {
		switch (type) {
		case 8: /* echo */
		case 13: /* timestamp */
		case 15: /* information */
		case 17: /* address mask */
			return 1;
		case 0:
		case 14:
		case 16:
		case 18:
			return 2;
		}
		return 0;
	}
	switch (type) {
	case 128: /* echo */
	case 139: /* node information */
		return 1;
	case 129:
	case 140:
		return 2;
	}
	return 0;
}

int pkt_icmp_query(uint8_t family, uint8_t type)
{
	return icmp_query(family, type);
}

int pkt_icmp_reply_type(uint8_t family, uint8_t type)
{
	if (family == 4) {
		switch (type) {
		case 8: /* echo */
			return 0;
		case 0:
			return 8;
		case 13: /* timestamp */
		case 15: /* information */
		case 17: /* address mask */
			return type + 1;
		case 14:
		case 16:
		case 18:
			return type - 1;
		}
		return -1;
	}
	switch (type) {
	case 128: /* echo */
	case 139: /* node information */
		return type + 1;
	case 129:
	case 140:
		return type - 1;
	}
	return -1;
}

/* The ports of an ICMP query's flow key: identifier, and request type and
 * code (see pkt.h). */
static void icmp_ports(uint8_t family, uint8_t type, uint8_t code, uint16_t id,
		       uint16_t *sport, uint16_t *dport)
{
	uint8_t req = icmp_query(family, type) == 2 ?
			      (uint8_t)pkt_icmp_reply_type(family, type) :
			      type;

	*sport = id;
	*dport = (uint16_t)(req << 8 | code);
}

static int is_icmp_proto(uint8_t family, uint8_t proto)
{
	return (family == 4 && proto == IPPROTO_ICMP) ||
	       (family == 6 && proto == IPPROTO_ICMPV6);
}

/* DCCP is not among them: the kernel's DCCP tracker is gone (Linux
 * 6.17), and its generic tracker keys DCCP by addresses alone. */
static int has_ports(uint8_t proto)
{
	return proto == IPPROTO_TCP || proto == IPPROTO_UDP ||
	       proto == IPPROTO_UDPLITE || proto == IPPROTO_SCTP;
}

/*
 * Walk IPv6 extension headers from *off with next header *nh. Stops at the
 * first upper-layer header, at ESP (whose payload is opaque) or at a
 * non-first fragment (*frag = PKT_FRAG_LATER). Returns 0 or -1 with *err.
 * As the kernel's ipv6_skip_exthdr(), it takes any number of headers: the
 * bytes held bound it, each header being 8 bytes at least.
 */
static int walk_ext(const struct cur *c, size_t *off, uint8_t *nh,
		    uint8_t *frag, size_t *fragsize, enum pkt_err *err)
{
	for (;;) {
		size_t len;

		switch (*nh) {
		case IPPROTO_HOPOPTS:
		case IPPROTO_ROUTING:
		case IPPROTO_DSTOPTS:
			if (!need(c, *off, 2, PKT_ERR_EXTHDR, err))
				return -1;
			len = ((size_t)c->b[*off + 1] + 1) * 8;
			break;
		case IPPROTO_AH:
			if (!need(c, *off, 2, PKT_ERR_EXTHDR, err))
				return -1;
			len = ((size_t)c->b[*off + 1] + 2) * 4;
			break;
		case IPPROTO_FRAGMENT:
			if (!need(c, *off, 8, PKT_ERR_EXTHDR, err))
				return -1;
			len = 8;
			if (rd16(c->b + *off + 2) & 0xfff8) {
				*frag = PKT_FRAG_LATER;
			} else if (rd16(c->b + *off + 2) & 1) {
				*frag = PKT_FRAG_FIRST;
			}
			/* The payload it rebuilds: what precedes this
			 * header after the fixed one, the offset, and the
			 * fragment's own data. */
			if (fragsize)
				*fragsize = (*off - 40) +
					    (rd16(c->b + *off + 2) & 0xfff8) +
					    (c->lim > *off + 8 ?
						     c->lim - *off - 8 :
						     0);
			break;
		default:
			return 0; /* upper layer, ESP, or no next header */
		}
		if (!need(c, *off, len, PKT_ERR_EXTHDR, err))
			return -1;
		*nh = c->b[*off];
		*off += len;
		if (*frag == PKT_FRAG_LATER)
			return 0;
	}
}

/* Parse the header quoted by an ICMP error at off. */
static int parse_inner(const struct cur *outer, size_t off, uint8_t family,
		       struct pkt_inner *in, enum pkt_err *err)
{
	/* The quote is cut short by design: its own length fields are not
	 * checked against what is there, only our buffer is. */
	struct cur c = *outer;
	uint8_t frag = PKT_FRAG_NONE, nh;
	size_t l4;

	in->family = family;
	if (family == 4) {
		size_t ihl;

		if (!need(&c, off, 20, PKT_ERR_ICMP_INNER, err))
			return -1;
		ihl = (size_t)(c.b[off] & 15) * 4;
		if (c.b[off] >> 4 != 4 || ihl < 20 ||
		    !need(&c, off, ihl, PKT_ERR_ICMP_INNER, err)) {
			*err = *err == PKT_ERR_COPY_RANGE ? *err :
							    PKT_ERR_ICMP_INNER;
			return -1;
		}
		in->proto = c.b[off + 9];
		memcpy(in->src, c.b + off + 12, 4);
		memcpy(in->dst, c.b + off + 16, 4);
		if (rd16(c.b + off + 6) & 0x1fff)
			frag = PKT_FRAG_LATER;
		l4 = off + ihl;
	} else {
		if (!need(&c, off, 40, PKT_ERR_ICMP_INNER, err))
			return -1;
		if (c.b[off] >> 4 != 6) {
			*err = PKT_ERR_ICMP_INNER;
			return -1;
		}
		memcpy(in->src, c.b + off + 8, 16);
		memcpy(in->dst, c.b + off + 24, 16);
		nh = c.b[off + 6];
		l4 = off + 40;
		if (walk_ext(&c, &l4, &nh, &frag, NULL, err) < 0) {
			if (*err != PKT_ERR_COPY_RANGE)
				*err = PKT_ERR_ICMP_INNER;
			return -1;
		}
		in->proto = nh;
	}
	if (frag == PKT_FRAG_LATER)
		return 0; /* no transport header quoted */
	if (has_ports(in->proto)) {
		if (!need(&c, l4, 4, PKT_ERR_ICMP_INNER, err))
			return -1;
		in->sport = rd16(c.b + l4);
		in->dport = rd16(c.b + l4 + 2);
		in->has_ports = 1;
	} else if (is_icmp_proto(family, in->proto)) {
		if (!need(&c, l4, 8, PKT_ERR_ICMP_INNER, err))
			return -1;
		in->icmp_type = c.b[l4];
		if (pkt_icmp_is_error(family, in->icmp_type)) {
			*err = PKT_ERR_ICMP_INNER; /* errors about errors */
			return -1;
		}
		icmp_ports(family, in->icmp_type, c.b[l4 + 1],
			   rd16(c.b + l4 + 4), &in->sport, &in->dport);
		in->has_ports = 1;
	}
	return 0;
}

static enum pkt_kind parse_l4(struct pkt *p, const struct cur *c, size_t off,
			      unsigned int flags)
{
	enum pkt_err err = PKT_ERR_NONE;
	size_t len = c->lim - off;

	p->l4_off = (uint32_t)off;
	p->l4_len = (uint32_t)len;
	if (p->frag == PKT_FRAG_LATER)
		return p->kind = PKT_FRAGMENT;

	switch (p->proto) {
	case IPPROTO_TCP:
		if (!need(c, off, 20, PKT_ERR_L4_SHORT, &err))
			break;
		p->tcp_doff = (uint8_t)((c->b[off + 12] >> 4) * 4);
		if (p->tcp_doff < 20)
			return fail(p, PKT_ERR_TCP_DOFF);
		if (p->tcp_doff > len)
			return fail(p, p->frag == PKT_FRAG_FIRST ?
					       PKT_ERR_FRAGMENT :
					       PKT_ERR_TCP_DOFF);
		if (!need(c, off, p->tcp_doff, PKT_ERR_TCP_DOFF, &err))
			break;
		p->sport = rd16(c->b + off);
		p->dport = rd16(c->b + off + 2);
		p->tcp_seq = rd32(c->b + off + 4);
		p->tcp_ack = rd32(c->b + off + 8);
		p->tcp_flags = c->b[off + 13];
		p->tcp_win = rd16(c->b + off + 14);
		p->tcp_opt = c->b + off + 20;
		p->tcp_optlen = (uint8_t)(p->tcp_doff - 20);
		return p->kind = PKT_FLOW;
	case IPPROTO_UDP:
	case IPPROTO_UDPLITE:
		if (!need(c, off, 8, PKT_ERR_L4_SHORT, &err))
			break;
		if (!(flags & PKT_F_GSO)) {
			/* UDP: the datagram's length. UDP-Lite: the checksum
			 * coverage, 0 meaning all of it. */
			size_t ulen = rd16(c->b + off + 4);

			if (p->proto == IPPROTO_UDPLITE && ulen == 0)
				ulen = len;
			/* A first fragment holds only part of the
			 * datagram that the length field counts. */
			if (ulen < 8 ||
			    (ulen > len && p->frag != PKT_FRAG_FIRST))
				return fail(p, PKT_ERR_UDP_LEN);
		}
		p->sport = rd16(c->b + off);
		p->dport = rd16(c->b + off + 2);
		p->udp_csum = rd16(c->b + off + 6);
		return p->kind = PKT_FLOW;
	case IPPROTO_GRE:
		/* Enhanced GRE (version 1, PPTP) carries a call id, which the
		 * kernel tracks it by; other GRE, even cut short, goes by
		 * addresses alone. */
		if (c->cap >= off + 8 && (c->b[off + 1] & 7) == 1 &&
		    rd16(c->b + off + 2) == 0x880b)
			p->dport = rd16(c->b + off + 6);
		return p->kind = PKT_FLOW;
	case IPPROTO_SCTP:
		/* The common header is 12 bytes; the ports lead it. */
		if (!need(c, off, 12, PKT_ERR_L4_SHORT, &err))
			break;
		p->sport = rd16(c->b + off);
		p->dport = rd16(c->b + off + 2);
		/* Its chunks, for the SCTP tracker. */
		p->l4 = c->b + off;
		p->l4_cap =
			(uint32_t)((c->cap < c->lim ? c->cap : c->lim) - off);
		return p->kind = PKT_FLOW;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		if (!is_icmp_proto(p->family, p->proto))
			return p->kind = PKT_FLOW; /* ICMP in v6 or v.v. */
		if (!need(c, off, 8, PKT_ERR_L4_SHORT, &err))
			break;
		p->icmp_type = c->b[off];
		p->icmp_code = c->b[off + 1];
		if (pkt_icmp_is_error(p->family, p->icmp_type)) {
			if (parse_inner(c, off + 8, p->family, &p->inner,
					&err) < 0)
				break;
			return p->kind = PKT_ICMP_ERROR;
		}
		p->icmp_query = icmp_query(p->family, p->icmp_type);
		if (p->icmp_query)
			icmp_ports(p->family, p->icmp_type, p->icmp_code,
				   rd16(c->b + off + 4), &p->sport, &p->dport);
		return p->kind = PKT_FLOW;
	default:
		/* Tracked by addresses alone, DCCP too: as the kernel since
		 * its DCCP tracker went (6.17), whatever the header holds. */
		return p->kind = PKT_FLOW;
	}
	/* A first fragment must carry the whole transport header. */
	if (p->frag == PKT_FRAG_FIRST && err != PKT_ERR_COPY_RANGE)
		err = PKT_ERR_FRAGMENT;
	return fail(p, err);
}

/*
 * The one's complement sum of n bytes at b added to sum (RFC 1071), eight
 * bytes a step in host order: the folded result is the same in either
 * order. b need not be aligned. With a 128-bit sum the carries wait for
 * the end (add with carry): 0.05 ns a byte here, against 0.12 for a
 * carry test at each step.
 */
static uint64_t csum_add(uint64_t sum, const uint8_t *b, size_t n)
{
	uint64_t w;
	uint32_t v;
	uint16_t h;

#ifdef __SIZEOF_INT128__
	unsigned __int128 wide = sum;

	for (; n >= 8; b += 8, n -= 8) {
		memcpy(&w, b, 8);
		wide += w;
	}
	sum = (uint64_t)wide;
	w = (uint64_t)(wide >> 64);
	sum += w;
	sum += sum < w;
#else
	for (; n >= 8; b += 8, n -= 8) {
		memcpy(&w, b, 8);
		sum += w;
		sum += sum < w;
	}
#endif
	if (n >= 4) {
		memcpy(&v, b, 4);
		sum += v;
		sum += sum < v;
		b += 4;
		n -= 4;
	}
	if (n >= 2) {
		memcpy(&h, b, 2);
		sum += h;
		sum += sum < h;
		b += 2;
		n -= 2;
	}
	if (n) {
		uint8_t last[2] = { b[0], 0 };

		memcpy(&h, last, 2);
		sum += h;
		sum += sum < h;
	}
	return sum;
}

static uint16_t csum_fold(uint64_t sum)
{
	sum = (sum & 0xffffffff) + (sum >> 32);
	sum = (sum & 0xffffffff) + (sum >> 32);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)((sum & 0xffff) + (sum >> 16));
}

/*
 * Verify the transport checksum of a packet copied whole: over the
 * pseudo-header (but for ICMP) and cover bytes of the transport header
 * and payload, checksum field included, the sum is all ones.
 */
static uint8_t csum_check(const struct pkt *p, const uint8_t *b,
			  unsigned int flags)
{
	size_t off = p->l4_off, len = p->l4_len, cover = len;
	uint8_t pseudo[40] = { 0 };
	size_t alen = p->family == 4 ? 4 : 16;
	uint64_t sum = 0;

	switch (p->proto) {
	case IPPROTO_TCP:
		break;
	case IPPROTO_UDP:
		/* IPv4 UDP may go without (0); IPv6 UDP may not (RFC 8200),
		 * and the kernel's tracker holds such a datagram invalid. */
		if (p->family == 4 && !p->udp_csum)
			return PKT_CSUM_NONE;
		cover = len = rd16(b + off + 4);
		break;
	case IPPROTO_UDPLITE:
		if (!p->udp_csum)
			return PKT_CSUM_NONE; /* invalid for want of one */
		cover = rd16(b + off + 4);
		if (!cover)
			cover = len;
		if (cover < 8 || cover > len)
			return PKT_CSUM_BAD;
		break;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		if (!is_icmp_proto(p->family, p->proto))
			return PKT_CSUM_NONE;
		break;
	default:
		return PKT_CSUM_NONE;
	}
	if ((flags & PKT_F_GSO) || p->frag != PKT_FRAG_NONE)
		return PKT_CSUM_PARTIAL; /* the sum covers more than this */
	if (p->proto != IPPROTO_ICMP) {
		/* UDP-Lite's pseudo-header holds 17, not its own 136 (RFC
		 * 3828): the kernel's tracker sums it so (udplite_error()
		 * passes IPPROTO_UDP), and finds the RFC's sum bad. */
		uint8_t proto = p->proto == IPPROTO_UDPLITE ? IPPROTO_UDP :
							      p->proto;

		memcpy(pseudo, p->src, alen);
		memcpy(pseudo + alen, p->dst, alen);
		if (p->family == 4) {
			pseudo[9] = proto;
			pseudo[10] = (uint8_t)(len >> 8);
			pseudo[11] = (uint8_t)len;
		} else {
			pseudo[34] = (uint8_t)(len >> 8);
			pseudo[35] = (uint8_t)len;
			pseudo[39] = proto;
		}
		sum = csum_add(0, pseudo, alen == 4 ? 12 : 40);
	}
	sum = csum_add(sum, b + off, cover);
	return csum_fold(sum) == 0xffff ? PKT_CSUM_OK : PKT_CSUM_BAD;
}

static enum pkt_kind parse_v4(struct pkt *p, struct cur *c, size_t wirelen,
			      unsigned int flags)
{
	enum pkt_err err = PKT_ERR_NONE;
	size_t ihl, tot, fragoff;
	uint16_t fo;

	if (!need(c, 0, 20, PKT_ERR_SHORT, &err))
		return fail(p, err);
	ihl = (size_t)(c->b[0] & 15) * 4;
	if (ihl < 20)
		return fail(p, PKT_ERR_IHL);
	tot = rd16(c->b + 2);
	if (tot == 0 && (flags & PKT_F_GSO))
		tot = wirelen; /* TSO packets may carry no length */
	if (tot < ihl || tot > wirelen)
		return fail(p, PKT_ERR_LENGTH);
	c->lim = tot;
	if (c->cap > tot)
		c->cap = tot; /* ignore link-layer padding */
	if (!need(c, 0, ihl, PKT_ERR_IHL, &err))
		return fail(p, err);
	p->ip_len = (uint32_t)tot;
	p->proto = c->b[9];
	memcpy(p->src, c->b + 12, 4);
	memcpy(p->dst, c->b + 16, 4);
	fo = rd16(c->b + 6);
	fragoff = (size_t)(fo & 0x1fff) * 8;
	if (fo & 0x3fff) {
		/* Reassembled, header included, it must fit 64 KiB: the
		 * kernel drops such a datagram ("ping of death"). */
		if (fragoff + tot > 65535)
			return fail(p, PKT_ERR_FRAGMENT);
		p->frag = fragoff ? PKT_FRAG_LATER : PKT_FRAG_FIRST;
	}
	return parse_l4(p, c, ihl, flags);
}

static enum pkt_kind parse_v6(struct pkt *p, struct cur *c, size_t wirelen,
			      unsigned int flags)
{
	enum pkt_err err = PKT_ERR_NONE;
	size_t tot, off = 40, fragsize = 0;
	uint8_t nh;

	if (!need(c, 0, 40, PKT_ERR_SHORT, &err))
		return fail(p, err);
	tot = 40 + (size_t)rd16(c->b + 4);
	if (tot == 40 && (flags & PKT_F_GSO))
		tot = wirelen; /* BIG TCP and friends */
	if (tot > wirelen)
		return fail(p, PKT_ERR_LENGTH);
	c->lim = tot;
	if (c->cap > tot)
		c->cap = tot;
	p->ip_len = (uint32_t)tot;
	memcpy(p->src, c->b + 8, 16);
	memcpy(p->dst, c->b + 24, 16);
	nh = c->b[6];
	if (walk_ext(c, &off, &nh, &p->frag, &fragsize, &err) < 0)
		return fail(p, err);
	if (fragsize > 65535)
		return fail(p, PKT_ERR_FRAGMENT); /* RFC 8200 4.5 */
	p->proto = nh;
	return parse_l4(p, c, off, flags);
}

enum pkt_kind pkt_parse(struct pkt *p, const uint8_t *buf, size_t caplen,
			size_t wirelen, unsigned int flags)
{
	struct cur c = { .b = buf, .cap = caplen, .lim = wirelen };

	memset(p, 0, sizeof(*p));
	if (wirelen < caplen)
		c.lim = wirelen = caplen;
	if (caplen < 1)
		return fail(p, wirelen ? PKT_ERR_COPY_RANGE : PKT_ERR_SHORT);
	switch (buf[0] >> 4) {
	case 4:
		p->family = 4;
		parse_v4(p, &c, wirelen, flags);
		break;
	case 6:
		p->family = 6;
		parse_v6(p, &c, wirelen, flags);
		break;
	default:
		return fail(p, PKT_ERR_VERSION);
	}
	if ((flags & PKT_F_CSUM) &&
	    (p->kind == PKT_FLOW || p->kind == PKT_ICMP_ERROR))
		p->csum = c.cap < p->ip_len ? PKT_CSUM_PARTIAL :
					      csum_check(p, buf, flags);
	return p->kind;
}
