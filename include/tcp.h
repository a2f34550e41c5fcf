/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * tcp.h - TCP connection tracking as nf_conntrack does it: states and
 * transitions, sequence-window checks (Guido van Rooij's bounds, as the
 * kernel adapts them), retransmission and unacknowledged-data timeouts,
 * resynchronisation after packets the tracker had to ignore.
 *
 * The states, their meaning and every transition are the kernel's
 * (net/netfilter/nf_conntrack_proto_tcp.c), so that nfqtrackctl list and
 * conntrack -L print the same word for the same connection, and each
 * state's timeout has the kernel's default and sysctl name. The module is
 * pure: it works on a flow's struct flow_tcp and one segment's numbers.
 */
#ifndef NFQT_TCP_H
#define NFQT_TCP_H

#include <stdbool.h>
#include <stdint.h>

/* One side of a TCP connection, as nf_conntrack's ip_ct_tcp_state.
 * Packed (18 bytes, not 20) to bring struct flow_tcp from 60 bytes to 56:
 * one is kept per TCP flow. */
struct tcp_side {
	uint32_t end; /* highest sequence number sent, plus one */
	uint32_t maxend; /* highest sequence number it may send */
	uint32_t maxwin; /* largest window it advertised */
	uint32_t maxack; /* highest ack it sent */
	uint8_t scale; /* window scale it announced */
	uint8_t flags; /* TCP_SIDE_* below */
} __attribute__((packed, aligned(2)));

/*
 * TCP tracking state beyond the flow's state byte: window bounds per
 * side, and the last packet's numbers for retransmission and
 * resynchronisation. The engine keeps one per TCP flow, out of the flow
 * object, in a slab of its own: most flows of a busy table are not TCP,
 * and a lookup never reads it.
 */
struct flow_tcp {
	struct tcp_side side[2];
	uint32_t last_seq, last_ack, last_end;
	uint16_t last_win;
	uint8_t last_index; /* flag class of the last packet */
	uint8_t last_dir;
	uint8_t last_wscale;
	uint8_t last_flags;
	uint8_t retrans;
};

_Static_assert(sizeof(struct flow_tcp) == 56, "TCP state is 56 bytes");

enum tcp_state {
	TCP_S_NONE,
	TCP_S_SYN_SENT,
	TCP_S_SYN_RECV,
	TCP_S_ESTABLISHED,
	TCP_S_FIN_WAIT,
	TCP_S_CLOSE_WAIT,
	TCP_S_LAST_ACK,
	TCP_S_TIME_WAIT,
	TCP_S_CLOSE,
	TCP_S_SYN_SENT2,
	TCP_S_COUNT,
	/* Results of tcp_next_state() that are not states: */
	TCP_S_IGNORE = TCP_S_COUNT, /* maybe valid: pass, change nothing */
	TCP_S_INVALID, /* not a valid packet in this state */
};

/* What a segment's flags make it, for the transition table. */
enum tcp_class {
	TCP_C_SYN,
	TCP_C_SYNACK,
	TCP_C_FIN,
	TCP_C_ACK,
	TCP_C_RST,
	TCP_C_NONE,
	TCP_C_COUNT
};

/* struct tcp_side flags, with the kernel's values. */
enum {
	TCP_SIDE_WINDOW_SCALE = 0x01, /* announced window scaling */
	TCP_SIDE_SACK_PERM = 0x02, /* announced SACK */
	TCP_SIDE_CLOSE_INIT = 0x04, /* sent the first FIN */
	TCP_SIDE_BE_LIBERAL = 0x08, /* no window checks (picked up) */
	TCP_SIDE_DATA_UNACK = 0x10, /* sent data not yet acknowledged */
	TCP_SIDE_MAXACK_SET = 0x20, /* maxack holds a value */
	/* in flow_tcp.last_flags only: */
	TCP_LAST_CHALLENGE_ACK = 0x40, /* an RFC 5961 challenge ACK may come */
	TCP_LAST_SIMULTANEOUS = 0x80, /* simultaneous open */
};

/* What tracking needs from one TCP segment. */
struct tcp_seg {
	uint32_t seq, ack;
	uint16_t win;
	uint8_t flags; /* TCPF_* (pkt.h) */
	uint8_t optlen; /* bytes of options at opt */
	uint32_t payload; /* data bytes */
	const uint8_t *opt; /* the options, or NULL */
};

struct tcp_params {
	const uint32_t *timeouts; /* seconds, by timeout class (timeout.h) */
	uint32_t max_retrans; /* retransmissions before TMO_TCP_RETRANS */
	bool loose; /* pick up connections mid-stream */
	bool liberal; /* accept out-of-window packets */
	bool ignore_invalid_rst;
};

enum tcp_verdict {
	TCP_V_ACCEPT, /* valid: the flow is updated, refresh its timer */
	TCP_V_NOREFRESH, /* pass, but keep the timer as it is */
	TCP_V_INVALID, /* not valid for this connection */
	TCP_V_CLOSE, /* pass, and forget the flow (RST, no reply seen) */
	TCP_V_REOPEN, /* a new connection on a closed one's ports:
			  * forget the flow and start over with this packet */
};

/* What tcp_packet() decided beyond the verdict. */
enum tcp_invalid {
	TCP_INV_STATE, /* no transition for it from this state */
	TCP_INV_WINDOW, /* outside the sequence or acknowledgement window */
	TCP_INV_RST, /* a RST whose sequence number is not believable */
};

struct tcp_out {
	uint8_t tclass; /* TCP_V_ACCEPT: the timeout class from now on */
	bool assured; /* TCP_V_ACCEPT: the flow just became assured */
	bool ignored; /* TCP_V_NOREFRESH: a packet we cannot place */
	uint8_t invalid; /* TCP_V_INVALID: enum tcp_invalid */
	bool shorten; /* TCP_V_INVALID: an assured flow whose ends
			  * disagree; cut its timer to TMO_TCP_UNACK */
};

/* "ESTABLISHED", ... for states; "?" otherwise. */
const char *tcp_state_name(uint8_t state);

/* Does this combination of SYN, FIN, RST, ACK and URG make sense? (PSH,
 * ECE and CWR are ignored.) */
bool tcp_flags_valid(uint8_t flags);

enum tcp_class tcp_class_of(uint8_t flags);

/*
 * The transition table: the state after a packet with these flags in
 * direction dir (0 original, 1 reply) from state. TCP_S_NONE is a flow not
 * yet created. Returns a state, TCP_S_IGNORE or TCP_S_INVALID. O(1).
 */
uint8_t tcp_next_state(uint8_t state, int dir, uint8_t flags);

/*
 * Start tracking with a connection's first packet (original direction):
 * fills t and returns TCP_S_NONE, from which tcp_packet() takes the
 * packet on; returns TCP_S_INVALID if this packet cannot open a flow (a
 * RST, a SYN-ACK, ..., or a mid-stream packet when p->loose is off).
 */
uint8_t tcp_new(struct flow_tcp *t, const struct tcp_seg *s,
		const struct tcp_params *p);

/*
 * Track one segment of a known connection travelling in direction dir.
 * state is the flow's TCP state and flow_flags its FLOW_F_* flags (only
 * read: SEEN_REPLY is what the flow had before this packet). O(options).
 */
enum tcp_verdict tcp_packet(struct flow_tcp *t, uint8_t *state,
			    uint8_t flow_flags, int dir,
			    const struct tcp_seg *s, const struct tcp_params *p,
			    struct tcp_out *out);

#endif
