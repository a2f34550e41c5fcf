/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sctp.h - SCTP association tracking as nf_conntrack does it: the
 * kernel's states and transitions by chunk type and direction, its
 * verification tag checks (RFC 9260 8.5, 8.5.1), its timeouts, and which
 * packets it takes, ignores or finds invalid
 * (net/netfilter/nf_conntrack_proto_sctp.c).
 *
 * Like tcp.h, pure: it works on a flow's struct flow_sctp and the bytes of
 * one packet's SCTP header and chunks. Chunks past what was captured (the
 * queue's copy_range) are not seen; state-changing chunks come first in a
 * packet, so this matters only for bundles the kernel would read further.
 */
#ifndef NFQT_SCTP_H
#define NFQT_SCTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The kernel's states, with its numbers and names. */
enum sctp_state {
	SCTP_S_NONE,
	SCTP_S_CLOSED,
	SCTP_S_COOKIE_WAIT,
	SCTP_S_COOKIE_ECHOED,
	SCTP_S_ESTABLISHED,
	SCTP_S_SHUTDOWN_SENT,
	SCTP_S_SHUTDOWN_RECD,
	SCTP_S_SHUTDOWN_ACK_SENT,
	SCTP_S_HEARTBEAT_SENT,
	SCTP_S_COUNT,
	SCTP_S_INVALID = SCTP_S_COUNT, /* a result, not a state */
};

/* Per association, beside the flow's state byte: the verification tag
 * each direction must carry, which sides sent an INIT, and a HEARTBEAT
 * seen with a tag we did not know (a restarted peer, or a new path). */
struct flow_sctp {
	uint32_t vtag[2]; /* by direction */
	uint8_t init[2]; /* an INIT went this way, no COOKIE ACK since */
	uint8_t hb_vtag_failed;
	uint8_t last_dir; /* of that HEARTBEAT */
};

enum sctp_verdict {
	SCTP_V_ACCEPT, /* taken: refresh the timer by the new state */
	SCTP_V_IGNORE, /* pass, keep the timer (an INIT retransmitted, a
			* HEARTBEAT on a path we cannot check yet) */
	SCTP_V_INVALID, /* not valid for this association */
};

/* Why a packet was invalid. */
enum sctp_invalid {
	SCTP_INV_CHUNKS, /* no chunk, a zero length, or INIT, INIT ACK,
			  * COOKIE ECHO, COOKIE ACK, SHUTDOWN COMPLETE
			  * bundled where they may not be */
	SCTP_INV_NEW, /* cannot open an association (Sec 8.4) */
	SCTP_INV_VTAG, /* verification tag check failed */
	SCTP_INV_STATE, /* no transition for the chunk in this state */
};

struct sctp_out {
	uint8_t state; /* SCTP_V_ACCEPT: the state now (timeout class) */
	bool assured; /* SCTP_V_ACCEPT: just reached ESTABLISHED */
	uint8_t invalid; /* SCTP_V_INVALID: enum sctp_invalid */
};

/* "ESTABLISHED", ... for states; "?" otherwise. */
const char *sctp_state_name(uint8_t state);

/* Shutdown states: the kernel's early drop takes these even when the
 * association is assured. */
bool sctp_closing(uint8_t state);

/*
 * Track one packet: l4 holds cap bytes of the SCTP header and chunks (the
 * packet's SCTP part is len bytes; cap may be less). is_new: the flow was
 * made for this packet, *s is to be set up, *state is SCTP_S_NONE. dir: 0
 * original, 1 reply. On SCTP_V_ACCEPT, *state is the new state. O(chunks).
 */
enum sctp_verdict sctp_packet(struct flow_sctp *s, uint8_t *state, bool is_new,
			      int dir, const uint8_t *l4, size_t cap,
			      size_t len, struct sctp_out *out);

#endif
