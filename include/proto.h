/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * proto.h - the per-protocol trackers, as nf_conntrack's l4proto table:
 * for each transport protocol, the class its flows count in, the timeout
 * class a new flow starts in, whether it keeps state out of the flow, and
 * what a packet does to a flow that exists.
 *
 * UDP and UDP-Lite, GRE, ICMP and ICMPv6 and the generic tracker are
 * here; TCP's state machine is tcp.c's and SCTP's sctp.c's, each reached
 * through its entry (PROTO_TCP, PROTO_SCTP), whose packets the engine
 * hands to those modules with the engine's own bookkeeping around them.
 *
 * Behaviour follows nf_conntrack's: UDP a stream (longer timeout,
 * assured) once replies go on for two seconds, UDP-Lite at its first
 * reply; GRE a stream once replied; ICMP query flows open on a request
 * only; neighbour discovery is not tracked at all.
 *
 * Pure: no state, O(1) everything. The table is data (class, timeout
 * class, state), read when a flow opens or goes; a packet of a flow is
 * dispatched by a switch on its protocol, not through function pointers:
 * an indirect call on every packet of an established flow would cost more
 * than the trackers themselves.
 */
#ifndef NFQT_PROTO_H
#define NFQT_PROTO_H

#include <stdbool.h>
#include <stdint.h>

#include "flow.h"
#include "params.h"
#include "pkt.h"

/* Which tracker a protocol has. */
enum proto_kind {
	PROTO_GENERIC, /* by addresses only */
	PROTO_TCP, /* tcp.c */
	PROTO_SCTP, /* sctp.c */
	PROTO_UDP, /* UDP and UDP-Lite */
	PROTO_GRE,
	PROTO_ICMP, /* ICMP over IPv4, ICMPv6 over IPv6 */
};

struct proto_tracker {
	uint8_t kind; /* enum proto_kind */
	uint8_t pclass; /* enum proto_class its flows count in */
	uint8_t tclass; /* the timeout class a new flow starts in */
	bool state; /* keeps state out of the flow (the engine's slab) */
};

/* The table: trackers, and for each IP version (0: IPv4, 1: IPv6) and
 * protocol number the index of its tracker (0: generic). Read through
 * proto_tracker(). */
extern const struct proto_tracker proto_trackers[];
extern const uint8_t proto_index[2][256];

/* The tracker of protocol proto over IP version family (4 or 6): ICMP
 * over IPv6 and ICMPv6 over IPv4 are generic, as the kernel has them.
 * Two loads: it is on every packet's path. */
static inline const struct proto_tracker *proto_tracker(uint8_t family,
							uint8_t proto)
{
	return &proto_trackers[proto_index[family == 6][proto]];
}

/* The protocol class a flow of this protocol counts in. */
static inline enum proto_class proto_class(uint8_t family, uint8_t proto)
{
	return (enum proto_class)proto_tracker(family, proto)->pclass;
}

/* The protocol class of the flows of a timeout class (the same as
 * proto_class() of their protocol). */
enum proto_class proto_class_of_tclass(unsigned tclass);

/* Does packet p (a flow's, parsed) belong to an ICMP or ICMPv6 flow? */
static inline bool proto_is_icmp(const struct pkt *p)
{
	return (p->family == 4 && p->proto == IPPROTO_ICMP) ||
	       (p->family == 6 && p->proto == IPPROTO_ICMPV6);
}

/* ICMPv6 messages the kernel leaves untracked: multicast listener and
 * neighbour discovery, which are link-local housekeeping, not flows. */
static inline bool proto_icmp6_untracked(uint8_t type)
{
	return (type >= 130 && type <= 136) || type == 143;
}

/* A new flow's aux word for tracker t, if it keeps no state out of the
 * flow (UDP: when it was made, in ms; else 0). */
static inline uint32_t proto_new_aux(const struct proto_tracker *t,
				     uint64_t now_ms)
{
	return t->kind == PROTO_UDP ? (uint32_t)now_ms : 0;
}

/*
 * Packet p of flow f, for the trackers here (not TCP, not SCTP): the
 * flow's timeout class and assurance. now_ms is the engine clock. O(1).
 * Reached by the engine's switch on the protocol, as the kernel's
 * nf_conntrack_handle_packet() reaches its trackers: a direct call, not a
 * table lookup and an indirect one, on every packet of a flow.
 */
void proto_track(struct flow *f, const struct pkt *p, uint64_t now_ms);

#endif
