/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * flowevent.h - what the engine tells about its flows as they begin,
 * change and end, and about new flows it refused: the daemon's
 * `conntrack -E` (nfqtrackctl events) and the source of its flow records
 * (IPFIX export).
 *
 * The engine stays pure: it hands each event to a sink (a function and
 * its argument) that its owner sets, and emits nothing while no sink is
 * set or the sink wants none of its type, which costs the packet path
 * one test per flow change, nothing per packet of a flow that does not
 * change. In the daemon the sink is the worker's ring (evhub.h), which
 * the main thread drains to the subscribers and the exporter.
 */
#ifndef NFQT_FLOWEVENT_H
#define NFQT_FLOWEVENT_H

#include <stdint.h>

#include "flow.h"

enum flow_event_type {
	FEV_NEW, /* a flow was opened (the first packet's verdict is accept) */
	FEV_UPDATE, /* its state, or SEEN_REPLY or ASSURED, changed */
	FEV_DESTROY, /* it was freed: end tells why */
	FEV_REFUSED, /* a new flow was refused by a limit: drop tells which */
	FEV_ACTIVE, /* it has lived active_timeout since its start or its
		     * last FEV_ACTIVE: a periodic record (IPFIX) */
	FEV_TYPES
};

#define FEV_MASK(t) (1u << (t))

/* Why a flow was freed. Keep flow_end_name() in step. */
enum flow_end {
	FEND_NONE,
	FEND_EXPIRED, /* its timeout ran out (or, carried by the kernel's
		       * fast path, its elements did) */
	FEND_CLOSED, /* removed at once by its protocol: a RST before any
		      * reply */
	FEND_REOPENED, /* a SYN reused its ports: a new flow follows */
	FEND_EVICTED, /* for a new flow, under a full limit: evict tells
		       * by which policy */
	FEND_FLUSHED, /* nfqtrackctl flush */
	FEND_STOPPED, /* the daemon stopped with the flow in its table */
	FEND_COUNT
};

/*
 * One event. Times are the engine's clock in milliseconds (monotonic:
 * evhub_wall_ms() turns them into wall-clock time). Counters and
 * start_ms are valid when has_acct (accounting = yes); then sent_* are
 * the totals that the flow's earlier FEV_ACTIVE events carried, so that
 * a record of what is new since is packets - sent_packets.
 */
struct flow_event {
	struct flow_key key; /* canonical, as the table stores it */
	uint8_t type; /* enum flow_event_type */
	uint8_t flags; /* the flow's enum flow_flags as of the event
			* (FLOW_F_ORIG_HI: which end of key opened it);
			* for FEV_REFUSED only FLOW_F_ORIG_HI */
	uint8_t state; /* protocol state (enum tcp_state, sctp's), as
			* the flow's state byte */
	uint8_t end; /* enum flow_end, FEV_DESTROY */
	uint8_t evict; /* enum evict_reason, FEND_EVICTED */
	uint8_t drop; /* enum drop_reason, FEV_REFUSED */
	uint8_t tcp_flags; /* TCP flags seen either way, ORed (has_acct) */
	uint8_t has_acct;
	uint32_t timeout; /* seconds left, FEV_NEW and FEV_UPDATE */
	uint32_t limit, count; /* FEV_REFUSED: the limit, what reached it */
	uint64_t time_ms; /* when it happened */
	uint64_t start_ms; /* the flow's first packet (has_acct) */
	uint64_t last_ms; /* its last packet the daemon saw */
	uint64_t packets[2], bytes[2]; /* totals by direction (has_acct) */
	uint64_t sent_packets[2], sent_bytes[2]; /* see above */
};

/*
 * Where an engine's events go (engine_set_event_sink()). emit() runs on
 * the engine's thread, on the packet path: it must not block, allocate
 * or make a system call.
 */
struct flow_event_sink {
	void (*emit)(void *arg, const struct flow_event *ev);
	void *arg;
	uint32_t types; /* FEV_MASK()s wanted; 0: none */
	uint32_t active_timeout; /* seconds, FEV_ACTIVE; 0: none */
};

/* "expired", "closed", ...: the DESTROY reasons' names. */
const char *flow_end_name(enum flow_end e);
/* "NEW", "UPDATE", "DESTROY", "REFUSED", "ACTIVE" (conntrack -E's). */
const char *flow_event_name(enum flow_event_type t);

#endif
