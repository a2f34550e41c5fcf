/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * mark.h - the state marks: nfqtrackd's verdict on a packet written into
 * the packet's netfilter mark (verdict_mode = mark or repeat), for the
 * admin's rules to match as they match the kernel's --ctstate.
 *
 * mark_mask is 6 contiguous bits, or 4. From its lowest bit up: SEEN (1
 * bit, always set: nfqtrackd judged the packet), STATE (3 bits: enum
 * ct_state, engine.h), and with 6, REPLY (1 bit: --ctdir REPLY) and
 * ASSURED (1 bit: --ctstatus ASSURED). The 4-bit layout, the state alone,
 * is for rules that match --ctstate only: far more packets in a row then
 * carry the same mark, and a batch verdict carries one mark (queue.h), so
 * fewer verdict messages go out. Bits outside the mask are the admin's
 * and are kept as they came. With the default mask 0x3f000000: SEEN 0x01000000, NEW 0x03000000,
 * ESTABLISHED 0x05000000, RELATED 0x07000000, INVALID 0x09000000,
 * UNTRACKED 0x0b000000, REPLY 0x10000000, ASSURED 0x20000000.
 *
 * Pure: no allocation, no state beyond the caller's struct mark_layout.
 * Not in the core only because mark_print() writes to a stdio stream.
 */
#ifndef NFQT_MARK_H
#define NFQT_MARK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define MARK_MASK_DEFAULT 0x3f000000u
#define MARK_BITS 6 /* the mask's width with direction and ASSURED */
#define MARK_BITS_STATE 4 /* the mask's width for the state alone */

/* The fields of one mask, each a mask of its own in the mark. */
struct mark_layout {
	uint32_t mask; /* all its bits */
	uint32_t seen; /* SEEN */
	uint32_t state; /* STATE (3 bits) */
	uint32_t reply; /* REPLY; 0 in the 4-bit layout */
	uint32_t assured; /* ASSURED; 0 in the 4-bit layout */
	uint8_t shift; /* the mask's lowest bit */
};

/* Fill l for mask. Returns 0, or -1 when mask is not exactly MARK_BITS or
 * MARK_BITS_STATE contiguous bits (l is then left alone). */
int mark_layout_init(struct mark_layout *l, uint32_t mask);

/*
 * The mark out for a packet nfqtrackd accepts, from its mark in (NFQA_MARK,
 * 0 when the kernel sent none) and the engine's word on it (engine_result's
 * ct_state, ct_reply, ct_assured): the bits outside the mask as they came,
 * SEEN, the state, REPLY and ASSURED (those two only if the layout has
 * them: the mask cuts them off). A state of CT_STATE_NONE (which the
 * engine never gives an accepted packet) yields SEEN alone, which no state
 * match takes. O(1).
 */
static inline uint32_t mark_of(const struct mark_layout *l, uint8_t ct_state,
			       bool reply, bool assured, uint32_t in)
{
	uint32_t bits = 1u | (uint32_t)(ct_state & 7) << 1 |
			(uint32_t)reply << 4 | (uint32_t)assured << 5;

	return (in & ~l->mask) | (bits << l->shift & l->mask);
}

/* Has the packet been judged already (SEEN set: it is back in a chain
 * after NF_REPEAT, or a rule queued it twice)? O(1). */
static inline bool mark_seen(const struct mark_layout *l, uint32_t in)
{
	return (in & l->seen) != 0;
}

/* One line of the translation table: the kernel's conntrack match, and
 * the mark match that stands for it. */
struct mark_match {
	const char *ct; /* "--ctstate NEW", ... */
	uint32_t value, mask; /* iptables: -m mark [!] --mark value/mask */
	bool negate; /* "! --mark": not seen by nfqtrackd */
	/* nftables: meta mark & mask == value; with set2, the set
	 * { value, set2 } under set_mask instead */
	uint32_t set_mask, set2;
};

#define MARK_MATCHES 11

/* The translation table for l, MARK_MATCHES lines into m: each --ctstate,
 * the ESTABLISHED,RELATED pair, each --ctdir and --ctstatus ASSURED (not
 * in the 4-bit layout), and "not seen by nfqtrackd". Returns how many:
 * MARK_MATCHES at most. */
size_t mark_matches(const struct mark_layout *l, struct mark_match *m);

/* Write the translation table for l to out: the layout, then each match
 * for iptables (-m mark --mark V/M) and for nftables (meta mark & M == V),
 * as `nfqtrackd --marks` prints it. */
void mark_print(const struct mark_layout *l, FILE *out);

#endif
