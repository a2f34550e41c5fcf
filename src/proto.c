// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * proto.c - the per-protocol trackers but TCP's and SCTP's; see proto.h.
 */
#include <netinet/in.h>

#include "proto.h"

/* UDP: replies must go on this long before the flow is a stream. */
#define UDP_STREAM_MS 2000

enum {
	T_GENERIC,
	T_TCP,
	T_SCTP,
	T_UDP,
	T_GRE,
	T_ICMP,
	T_ICMPV6,
};

const struct proto_tracker proto_trackers[] = {
	[T_GENERIC] = { PROTO_GENERIC, PC_OTHER, TMO_GENERIC, false },
	[T_TCP] = { PROTO_TCP, PC_TCP, TMO_GENERIC, true }, /* tcp.c sets it */
	[T_SCTP] = { PROTO_SCTP, PC_OTHER, TMO_SCTP(SCTP_S_CLOSED), true },
	[T_UDP] = { PROTO_UDP, PC_UDP, TMO_UDP, false },
	[T_GRE] = { PROTO_GRE, PC_OTHER, TMO_GRE, false },
	[T_ICMP] = { PROTO_ICMP, PC_ICMP, TMO_ICMP, false },
	[T_ICMPV6] = { PROTO_ICMP, PC_ICMP, TMO_ICMPV6, false },
};

/* By IP version (0: IPv4, 1: IPv6), then protocol number; 0: generic. */
const uint8_t proto_index[2][256] = {
	[0][IPPROTO_TCP] = T_TCP,	[1][IPPROTO_TCP] = T_TCP, /* tcp.c */
	[0][IPPROTO_SCTP] = T_SCTP,	[1][IPPROTO_SCTP] = T_SCTP, /* sctp.c */
	[0][IPPROTO_UDP] = T_UDP,	[1][IPPROTO_UDP] = T_UDP, /* UDP */
	[0][IPPROTO_UDPLITE] = T_UDP,	[1][IPPROTO_UDPLITE] = T_UDP, /* Lite */
	[0][IPPROTO_GRE] = T_GRE,	[1][IPPROTO_GRE] = T_GRE, /* GRE */
	[0][IPPROTO_ICMP] = T_ICMP, /* ICMP over IPv4 only */
	[1][IPPROTO_ICMPV6] = T_ICMPV6, /* ICMPv6 over IPv6 only */
};

enum proto_class proto_class_of_tclass(unsigned tclass)
{
	if (tclass <= TMO_TCP_UNACK)
		return PC_TCP;
	if (tclass == TMO_UDP || tclass == TMO_UDP_STREAM)
		return PC_UDP;
	if (tclass == TMO_ICMP || tclass == TMO_ICMPV6)
		return PC_ICMP;
	return PC_OTHER;
}

static void udp_track(struct flow *f, const struct pkt *p, uint64_t now_ms)
{
	f->tclass = TMO_UDP;
	if (f->flags & FLOW_F_SEEN_REPLY) {
		/* UDP-Lite is a stream at the first reply; UDP once replies
		 * go on past two seconds, and stays one (assured): a flow
		 * older than the 49 days aux wraps in stays a stream. */
		uint32_t age_ms = (uint32_t)now_ms - f->aux;

		if (p->proto == IPPROTO_UDPLITE ||
		    (f->flags & FLOW_F_ASSURED) || age_ms > UDP_STREAM_MS) {
			f->tclass = TMO_UDP_STREAM;
			flow_flags_set(f, FLOW_F_ASSURED);
		}
	}
}

void proto_track(struct flow *f, const struct pkt *p, uint64_t now_ms)
{
	switch (p->proto) {
	case IPPROTO_UDP:
	case IPPROTO_UDPLITE:
		udp_track(f, p, now_ms);
		break;
	case IPPROTO_GRE:
		if (f->flags & FLOW_F_SEEN_REPLY) {
			f->tclass = TMO_GRE_STREAM;
			flow_flags_set(f, FLOW_F_ASSURED);
		}
		break;
	default:
		break;
	}
}
