/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * defrag.h - IPv4 and IPv6 fragment reassembly for --replay, as the
 * kernel's nf_defrag_ipv4 and nf_defrag_ipv6 do it before conntrack.
 *
 * Live, the kernel reassembles before the NFQUEUE rule (the shipped
 * CT --notrack rules leave conntrack's defragmentation on), so the daemon
 * only ever sees whole datagrams; a capture holds the fragments. Replay
 * gives each fragment here and tracks what comes out: nothing while a
 * datagram is incomplete, the whole datagram once its last piece is in.
 *
 * The kernel's rules (net/ipv4/ip_fragment.c, net/ipv6/netfilter/
 * nf_conntrack_reasm.c, net/ipv4/inet_fragment.c): a datagram is keyed
 * by addresses and identification (and, for IPv4, protocol); its queue
 * lives 30 s (IPv4, ipfrag_time) or 60 s (IPv6, nf_conntrack_frag6_timeout)
 * from its first fragment; a fragment wholly inside one already held is a
 * duplicate and dropped alone, any other overlap drops the whole
 * datagram (RFC 5722, and IPv4 since Linux 4.19); a last fragment that
 * disagrees with the length known so far, or data past the last
 * fragment's end, drops it too; an IPv6 fragment other than the last
 * whose length is not a multiple of 8 is dropped alone (an IPv4 one is
 * cut down to a multiple of 8); a datagram over 64 KiB is dropped; when
 * the fragments held pass 4 MiB (ipfrag_high_thresh), new datagrams are
 * refused until some complete or expire. Not modelled: ECN mixing
 * (ip4_frag_ecn), ipfrag_max_dist, the kernel's per-skb memory overhead.
 *
 * Offline only: it allocates (per datagram, per fragment) and is not
 * used by the daemon's packet path.
 */
#ifndef NFQT_DEFRAG_H
#define NFQT_DEFRAG_H

#include <stddef.h>
#include <stdint.h>

/* What became of a fragment. Keep defrag_drop_name() in step. */
enum defrag_drop {
	DEFRAG_DROP_DUPLICATE, /* wholly inside a piece already held */
	DEFRAG_DROP_OVERLAP, /* overlaps one: the datagram is dropped */
	DEFRAG_DROP_CORRUPT, /* end disagrees with the datagram's length */
	DEFRAG_DROP_UNALIGNED, /* IPv6, not last, not a multiple of 8 */
	DEFRAG_DROP_OVERSIZE, /* past 64 KiB reassembled */
	DEFRAG_DROP_MEMORY, /* over 4 MiB of fragments held */
	DEFRAG_DROP_TIMEOUT, /* its datagram never completed in time */
	DEFRAG_DROP_COUNT
};

struct defrag_stats {
	uint64_t fragments; /* fragments given */
	uint64_t reassembled; /* datagrams completed */
	uint64_t dropped[DEFRAG_DROP_COUNT]; /* fragments, by reason */
	uint64_t held_bytes; /* fragment data held now */
};

enum defrag_result {
	DEFRAG_PASS, /* not a fragment (or not one to reassemble): as is */
	DEFRAG_HELD, /* kept until its datagram completes */
	DEFRAG_DONE, /* completed: the datagram is at *out */
	DEFRAG_DROPPED, /* dropped, as the kernel would (counted) */
};

struct defrag;

/* A reassembler with nothing held; NULL with errno on no memory. */
struct defrag *defrag_new(void);

/* Frees d and all it holds (NULL is fine). */
void defrag_free(struct defrag *d);

/*
 * One IP packet (caplen bytes at ip, wirelen on the wire; bytes not
 * captured count as zeros) at time now_ms. DEFRAG_DONE leaves the whole
 * datagram at *out, *outlen bytes, valid until the next call. Datagrams
 * older than their timeout are dropped first. O(fragments of its
 * datagram) plus the expired ones.
 */
enum defrag_result defrag_packet(struct defrag *d, const uint8_t *ip,
				 size_t caplen, size_t wirelen, uint64_t now_ms,
				 const uint8_t **out, size_t *outlen);

const struct defrag_stats *defrag_stats(const struct defrag *d);

/* "duplicate", "overlap", ... */
const char *defrag_drop_name(enum defrag_drop why);

#endif
