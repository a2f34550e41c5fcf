/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * carrier_map.h - the layout the BPF carrier's program (src/carrier.bpf.c)
 * and its user-space half (src/carrier.c) share: the flow map's key and
 * value and the configuration map's one entry. Included by both sides:
 * kernel types only, no libc.
 *
 * Each direction of an admitted flow is its own entry, keyed by the
 * packet's own tuple as the wire has it, so that a packet finds its flow
 * with one lookup and no reversal. An entry lives while its state's
 * timeout has not run out since last_ns; nothing removes it in the
 * kernel; the daemon removes it when it ends the flow or finds it dead.
 */
#ifndef NFQT_CARRIER_MAP_H
#define NFQT_CARRIER_MAP_H

#include <linux/types.h>

/* An entry's state: which of the daemon's timeouts it lives by. */
enum carrier_state {
	CARRIER_OPEN, /* admitted TCP, only SYNs since: timeout_open */
	CARRIER_EST, /* a packet without SYN, FIN or RST went by */
	CARRIER_CLOSING, /* a FIN went by: timeout_closing, from then */
	CARRIER_CLOSE, /* a RST went by: timeout_close, from then */
	CARRIER_UDP, /* admitted UDP, refreshed by every packet */
	CARRIER_STATES
};

/* The flow map's key: 40 bytes, padding zeroed on both sides. */
struct carrier_key {
	__u32 src[4], dst[4]; /* as on the wire; IPv4 in [0], the rest 0 */
	__u16 sport, dport; /* network byte order, as on the wire */
	__u8 proto; /* IPPROTO_TCP or IPPROTO_UDP */
	__u8 family; /* 4 or 6 */
	__u16 zero;
};

/* The flow map's value: 40 bytes. */
struct carrier_flow {
	/* bpf_ktime_get_ns() (CLOCK_MONOTONIC) of the last packet that
	 * refreshed it; for CLOSING and CLOSE, of the FIN or RST (never
	 * refreshed after). */
	__u64 last_ns;
	/* With accounting: packets and bytes (the IP length, a GSO packet
	 * whole) since the admission, the admitting packet included. */
	__u64 packets, bytes;
	__u64 admitted_ns; /* the admission's time: which admission this is */
	__u32 state; /* enum carrier_state */
	__u32 sent; /* CARRIER_SENT_*: what this direction's packets were */
};

/* carrier_flow.sent, for TCP: what this direction's own packets did, as
 * the kernel's tracker keeps it (ct->proto.tcp.seen[dir], last_dir):
 * judge() tells a retransmitted SYN and a reopened connection by it. */
#define CARRIER_SENT_SYN 0x1u /* the admitting SYN: the original direction */
#define CARRIER_SENT_FIN 0x2u /* a FIN */
#define CARRIER_SENT_FIN_FIRST 0x4u /* ... before the other direction did */
#define CARRIER_SENT_RST 0x8u /* a RST */

/* The seen map's value, written by user space alone: what the daemon
 * has read of an entry's counters, and of which admission. */
struct carrier_seen {
	__u64 admitted_ns;
	__u64 packets, bytes;
};

#define CARRIER_F_ON 0x1u /* carry; else every packet goes on to the queue */
#define CARRIER_F_ACCOUNTING 0x2u /* count; FIN and RST to the daemon */
#define CARRIER_F_UDP 0x4u /* UDP flows are carried */
#define CARRIER_F_JUDGE 0x8u /* judge() admits pure SYNs under the budget */

/* The configuration map's one entry (key 0). */
struct carrier_conf {
	__u64 timeout_ns[CARRIER_STATES];
	__u32 flags; /* CARRIER_F_* */
	__u32 zero;
};

/*
 * The admission budget (the budget map, an array of three): judge()
 * admits a new flow while taken < granted and the grant's lease runs,
 * taking one by compare-and-swap. Each side writes its own entries
 * alone, so that neither overwrites the other's: the daemon grants
 * (raises CARRIER_BUDGET_GRANTED, renews CARRIER_BUDGET_UNTIL on each
 * tick), the kernel takes (raises CARRIER_BUDGET_TAKEN). A daemon that
 * dies or stalls stops renewing the lease: once it runs out the kernel
 * admits nothing, as nothing is admitted through the queue then.
 */
#define CARRIER_BUDGET_GRANTED 0u
#define CARRIER_BUDGET_TAKEN 1u
#define CARRIER_BUDGET_UNTIL 2u /* bpf_ktime_get_ns() the lease ends at */
#define CARRIER_BUDGETS 3u

/* The head of a SYN judge() admitted (network header on) as the learned
 * ring's record carries it: enough for IPv4 or IPv6 and a TCP header
 * with every option. */
#define CARRIER_SYN_HEAD 128

/* What judge() leaves in the judged map, under the SYN's own tuple, for
 * admit() to find once the admin's filter has accepted the SYN. */
struct carrier_judged {
	__u64 unit; /* the budget's unit judge took: TAKEN before it */
	__u64 time_ns; /* bpf_ktime_get_ns() at judge */
	__u32 reopened; /* it replaces a closed connection's entries */
	__u32 zero;
};

/* A record of the learned ring: one SYN judge() admitted and the
 * admin's filter accepted, written by admit() once its entries are in
 * place. */
struct carrier_syn {
	__u64 time_ns; /* bpf_ktime_get_ns() at judge */
	__u64 unit; /* struct carrier_judged's */
	__u32 len; /* bytes of head[] that are the packet's */
	__u32 wirelen; /* the packet's length */
	__u32 reopened; /* it replaced a closed connection's entry */
	__u32 zero;
	__u8 head[CARRIER_SYN_HEAD];
};

#endif
