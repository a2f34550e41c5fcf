/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * tcp.h - TCP connection states and transitions, as nf_conntrack has them.
 *
 * The states and their meaning follow the kernel's (net/netfilter/
 * nf_conntrack_proto_tcp.c), so that `nfqtrackctl` and `conntrack -L`
 * print the same word for the same connection, and each state's timeout
 * has the kernel's default and the kernel's sysctl name.
 */
#ifndef NFQT_TCP_H
#define NFQT_TCP_H

#include <stdbool.h>
#include <stdint.h>

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

/* "ESTABLISHED", ... for states; "?" otherwise. */
const char *tcp_state_name(uint8_t state);

/* Does this combination of SYN, FIN, RST, ACK and URG make sense? (PSH,
 * ECE and CWR are ignored.) */
bool tcp_flags_valid(uint8_t flags);

/*
 * The state after a packet with these flags travels in direction dir (0
 * original, 1 reply) from state. TCP_S_NONE is a flow not yet created.
 * Returns a state, TCP_S_IGNORE or TCP_S_INVALID. O(1).
 */
uint8_t tcp_next_state(uint8_t state, int dir, uint8_t flags);

#endif
