/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * pkt.h - pure parsing of an IP packet's headers into what the flow
 * engine needs, or a reason why it is malformed.
 *
 * The parser reads nothing past the bytes it is given and allocates
 * nothing. It takes two lengths: the bytes copied to us (caplen, limited
 * by the queue's copy range) and the packet's real length (wirelen). A
 * header that lies beyond the packet's own lengths is malformed; one that
 * lies inside the packet but beyond the copied bytes is PKT_ERR_COPY_RANGE,
 * which says that the copy range is too small, not that the packet is bad.
 */
#ifndef NFQT_PKT_H
#define NFQT_PKT_H

#include <stddef.h>
#include <stdint.h>

enum pkt_kind {
	PKT_FLOW, /* addresses, protocol and ports (or ICMP id) are set */
	PKT_FRAGMENT, /* a non-first IP fragment: no transport header */
	PKT_ICMP_ERROR, /* an ICMP(v6) error: inner holds the quoted tuple */
	PKT_MALFORMED, /* err says why */
};

/* Why a packet is malformed. Keep pkt_err_name() in step. */
enum pkt_err {
	PKT_ERR_NONE,
	PKT_ERR_SHORT, /* shorter than an IP header */
	PKT_ERR_VERSION, /* IP version neither 4 nor 6 */
	PKT_ERR_IHL, /* IPv4 header length below 20 */
	PKT_ERR_LENGTH, /* IP length field disagrees with the packet */
	PKT_ERR_FRAGMENT, /* fragment past 64 KiB, or first one too short */
	PKT_ERR_EXTHDR, /* IPv6 extension header truncated or too many */
	PKT_ERR_L4_SHORT, /* transport header truncated */
	PKT_ERR_TCP_DOFF, /* TCP data offset below 5 or past the segment */
	PKT_ERR_UDP_LEN, /* UDP length field disagrees with the packet */
	PKT_ERR_ICMP_INNER, /* ICMP error quoting no usable header */
	PKT_ERR_COPY_RANGE, /* headers go past the copied bytes */
	PKT_ERR_COUNT
};

enum pkt_frag { PKT_FRAG_NONE, PKT_FRAG_FIRST, PKT_FRAG_LATER };

/* TCP flag bits, as in the header's 13th byte. */
enum {
	TCPF_FIN = 0x01,
	TCPF_SYN = 0x02,
	TCPF_RST = 0x04,
	TCPF_PSH = 0x08,
	TCPF_ACK = 0x10,
	TCPF_URG = 0x20,
	TCPF_ECE = 0x40,
	TCPF_CWR = 0x80,
};

/* Flags for pkt_parse(). */
enum {
	PKT_F_GSO = 1 << 0, /* an unsegmented GSO packet: length 0 allowed */
	PKT_F_CSUM = 1 << 1, /* verify the transport checksum (the kernel
			      * has not: NFQA_SKB_CSUM_NOTVERIFIED) */
};

/* What PKT_F_CSUM found. TCP, UDP, UDP-Lite, ICMP and ICMPv6 checksums
 * are verified; SCTP's and DCCP's are not. */
enum pkt_csum {
	PKT_CSUM_NONE, /* not asked, or a protocol without one we check */
	PKT_CSUM_OK,
	PKT_CSUM_BAD,
	PKT_CSUM_PARTIAL, /* not copied whole, or a fragment: not checked */
};

/* The tuple quoted by an ICMP error. */
struct pkt_inner {
	uint8_t family, proto;
	uint8_t has_ports; /* ports (or ICMP id) are known */
	uint8_t icmp_type;
	uint8_t src[16], dst[16];
	uint16_t sport, dport;
};

/*
 * An ICMP query and its reply carry the same identifier; like the kernel,
 * a flow also tells the query's kind apart (echo, timestamp, ...). Both
 * packets of a pair get sport = identifier and dport = the request's type
 * << 8 | code, so that they build the same flow key.
 */
struct pkt {
	uint8_t kind; /* enum pkt_kind */
	uint8_t err; /* enum pkt_err, when kind == PKT_MALFORMED */
	uint8_t family; /* 4 or 6, once known */
	uint8_t proto; /* transport protocol number */
	uint8_t frag; /* enum pkt_frag */
	uint8_t tcp_flags;
	uint8_t icmp_type, icmp_code;
	uint8_t icmp_query; /* 1 request, 2 reply, 0 neither (ICMP only) */
	uint8_t tcp_optlen; /* bytes of TCP options at tcp_opt */
	uint8_t csum; /* enum pkt_csum */
	uint8_t src[16], dst[16]; /* network order; IPv4 uses 4 bytes */
	uint16_t sport, dport; /* host order; ICMP queries: see above */
	uint32_t ip_len; /* IP packet length */
	uint32_t l4_off; /* offset of the transport header */
	uint32_t l4_len; /* transport header + payload length */
	uint32_t tcp_seq, tcp_ack;
	uint16_t tcp_win;
	uint8_t tcp_doff; /* TCP header length in bytes */
	uint16_t udp_csum; /* UDP and UDP-Lite checksum field */
	const uint8_t *tcp_opt; /* into the parsed buffer */
	const uint8_t *l4; /* SCTP: its header, into the parsed buffer */
	uint32_t l4_cap; /* SCTP: bytes of it captured (to l4_len) */
	struct pkt_inner inner;
};

/*
 * Parse the IP packet at buf (caplen bytes present, wirelen bytes long).
 * Fills p and returns p->kind. Never reads outside buf[0, caplen). O(header
 * bytes); with PKT_F_CSUM, O(packet bytes) for a packet of a flow or an
 * ICMP error copied whole (p->csum).
 */
enum pkt_kind pkt_parse(struct pkt *p, const uint8_t *buf, size_t caplen,
			size_t wirelen, unsigned int flags);

/* Short stable name of an error, for counters and logs ("ihl", ...). */
const char *pkt_err_name(enum pkt_err err);

/* Name of a transport protocol for logs: "TCP", "UDP", ..., or NULL. */
const char *pkt_proto_name(uint8_t proto);

/* Is this ICMP (family 4) or ICMPv6 (family 6) type an error message? */
int pkt_icmp_is_error(uint8_t family, uint8_t type);

/* The reply type of an ICMP(v6) query type, or -1 for other types. */
int pkt_icmp_reply_type(uint8_t family, uint8_t type);

/* Is this ICMP(v6) type a query's request (1), its reply (2), or neither
 * (0)? */
int pkt_icmp_query(uint8_t family, uint8_t type);

/* Payload bytes of a parsed TCP segment. */
static inline uint32_t pkt_tcp_payload(const struct pkt *p)
{
	return p->ip_len - p->l4_off - p->tcp_doff;
}

#endif
