/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fastpath.h - the kernel fast path: admitted flows carried by nftables,
 * off the queue.
 *
 * nfqtrackd decides, the kernel carries. The daemon owns one nftables
 * table (inet, named by fastpath_table) with, per family, three sets of
 * admitted flows keyed by the concatenated 5-tuple (addr . addr . proto .
 * port . port, each direction its own element) with per-element timeouts
 * and, with accounting (counters), counters:
 *   est   TCP flows admitted and not closing; an element is added with
 *         timeout_open at admission and refreshed to timeout_established
 *         by every packet without SYN, FIN or RST;
 *   close TCP flows that sent a FIN (timeout_closing) or a RST
 *         (timeout_close), moved there by the kernel; never refreshed;
 *   udp   UDP flows, refreshed to timeout_udp by every packet.
 * A base chain in input and output before the iptables mangle and filter
 * tables (priority -160) gives a packet whose own tuple is in a set the
 * mark bits of an ESTABLISHED packet (mark_of(): SEEN, ESTABLISHED,
 * ASSURED) and lets it go; the shipped queue rules skip SEEN packets, so it
 * never reaches the queue. Pure SYNs always go to the queue. A second
 * chain after filter (priority 10) adds both directions' elements for a
 * packet whose verdict mark carries admit_mark (the daemon's admission,
 * applied only if the admin's filter accepted the packet) and clears that
 * bit. With accounting, FIN and RST go to the queue instead of moving the
 * flow to close in the kernel, so that the daemon reads the counters of
 * the est elements before they go (fastpath_query() with reset).
 *
 * With the BPF carrier (fastpath_carrier = bpf) the table has no sets:
 * the same two base chains hold one rule each that runs a program of
 * carrier.bpf.c (added by carrierrule.h), and the flows are in its map.
 *
 * Two halves. The table (fastpath_rules(), fastpath_apply(),
 * fastpath_remove(), here) is nft text run through libnftables: at start,
 * reload and stop, never on the packet path. The elements (struct
 * fastpath_nl, fastpathnl.h) are read and removed with nf_tables netlink
 * messages on one socket per thread, batched, a few microseconds per
 * element. This header holds the types both share, which the engine
 * uses through its callbacks (engine.h).
 */
#ifndef NFQT_FASTPATH_H
#define NFQT_FASTPATH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FASTPATH_TABLE_DEFAULT "nfqtrack"
#define FASTPATH_ADMIT_MARK_DEFAULT 0x00800000u
#define FASTPATH_TABLE_MAX 32 /* bytes with the NUL */

/* What carries the admitted flows' packets: the table's own sets, or
 * the BPF carrier's map (carrier.h), through rules carrierrule.h adds. */
enum fastpath_carrier { FASTPATH_CARRIER_NFT, FASTPATH_CARRIER_BPF };

struct fastpath_params {
	char table[FASTPATH_TABLE_MAX]; /* the inet table's name */
	uint8_t carrier; /* enum fastpath_carrier */
	uint32_t admit_mark; /* one bit, outside mark_mask */
	uint32_t mark_mask; /* the state marks' mask (mark.h) */
	uint32_t max_elements; /* each set's size: 2 x max_flows */
	bool accounting; /* FIN/RST to the daemon (see above) */
	bool counters; /* per-element counters in the sets (accounting) */
	bool udp; /* UDP flows may be admitted (fastpath_udp_after > 0) */
	/* Seconds. */
	uint32_t timeout_open; /* handshake: timeout_tcp_syn_recv */
	uint32_t timeout_established; /* timeout_tcp_established */
	uint32_t timeout_closing; /* after a FIN: timeout_tcp_time_wait */
	uint32_t timeout_close; /* after a RST: timeout_tcp_close */
	uint32_t timeout_udp; /* timeout_udp_stream */
};

/*
 * The nft script for p: "table inet T { ... }" after an "add table" and a
 * "delete table" of the same name (nft 1.0.6 has no "destroy"), so
 * running it creates the table afresh and empty.
 * Writes at most len bytes with the NUL; returns the length it needed
 * (snprintf's contract). Pure: also what `nfqtrackd --fastpath-rules`
 * prints.
 */
size_t fastpath_rules(const struct fastpath_params *p, char *buf, size_t len);

/*
 * Create or replace the table for p, empty: at start (what an earlier run
 * left is cleared) and when a reload turns the fast path on or changes
 * p. keep_elements = true (a reload) replaces the chains in one
 * transaction and keeps the sets and their elements: timeouts, marks,
 * accounting and UDP apply at once, new set sizes from the next restart
 * (a missing table or set is made). Returns 0, or -1 with libnftables'
 * message in err.
 */
int fastpath_apply(const struct fastpath_params *p, bool keep_elements,
		   char *err, size_t errlen);

/* Delete the table (stop, or a reload turning the fast path off).
 * Returns 0 (also when there was none) or -1 with the message in err. */
int fastpath_remove(const char *table, char *err, size_t errlen);

/*
 * At a start with the fast path off: delete table if it is there, left by
 * a run that was killed (its elements would keep passing admitted flows,
 * unseen, until they expire). *found says whether it was. Returns 0, or
 * -1 with libnftables' message in err (*found: whether the listing showed
 * it).
 */
int fastpath_remove_left(const char *table, bool *found, char *err,
			 size_t errlen);

/* A flow as the kernel sees it: its original direction. Addresses in
 * network byte order (IPv4 in src[0]/dst[0]), ports in host order. */
struct fastpath_tuple {
	uint8_t family; /* 4 or 6 */
	uint8_t proto; /* IPPROTO_TCP or IPPROTO_UDP */
	uint16_t sport, dport;
	uint32_t src[4], dst[4];
};

enum fastpath_set { FP_SET_NONE, FP_SET_EST, FP_SET_CLOSE, FP_SET_UDP };

/*
 * One direction's element, as fastpath_query() found it. timeout_ms is
 * the one the element was created with (Linux 6.18: a refresh by the
 * packet path moves the expiry, not this): timeout_open for est, the
 * FIN's timeout_closing or the RST's timeout_close for close,
 * timeout_udp for udp. The counters count each packet that met the
 * element once; the admission creates both directions' elements with
 * the admitting packet, so each starts with that packet (the reply's
 * too) until the first reset.
 */
struct fastpath_elem {
	uint8_t set; /* enum fastpath_set; FP_SET_NONE: not in the kernel */
	uint32_t timeout_ms; /* the timeout it was created with */
	uint32_t expires_ms; /* left to live */
	uint64_t packets, bytes; /* its counter (since the last reset) */
};

/* What the kernel holds of one flow: [0] original, [1] reply direction. */
struct fastpath_flow {
	struct fastpath_elem dir[2];
};

/* Flows per call of fastpath_query() and fastpath_forget() (fastpathnl.h). */
#define FASTPATH_BATCH_MAX 64

/* The name of set (FP_SET_EST, FP_SET_CLOSE or FP_SET_UDP) in the table,
 * without its family's digit: "est", "close", "udp". */
const char *fastpath_set_name(enum fastpath_set set);

#endif
