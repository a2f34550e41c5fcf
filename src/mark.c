// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * mark.c - the state marks' layout and translation table; see mark.h.
 */
#include <inttypes.h>
#include <stdio.h>

#include "engine.h"
#include "mark.h"

_Static_assert(CT_STATE_COUNT <= 8, "enum ct_state fits the 3-bit field");

int mark_layout_init(struct mark_layout *l, uint32_t mask)
{
	uint8_t shift = 0;
	bool full;

	if (!mask)
		return -1;
	while (!(mask >> shift & 1))
		shift++;
	full = shift <= 32 - MARK_BITS &&
	       mask >> shift == (1u << MARK_BITS) - 1;
	if (!full && (shift > 32 - MARK_BITS_STATE ||
		      mask >> shift != (1u << MARK_BITS_STATE) - 1))
		return -1;
	*l = (struct mark_layout){
		.mask = mask,
		.seen = 1u << shift,
		.state = 7u << (shift + 1),
		.reply = full ? 1u << (shift + 4) : 0,
		.assured = full ? 1u << (shift + 5) : 0,
		.shift = shift,
	};
	return 0;
}

/* The SEEN bit with state s, and the field mask with SEEN. */
static uint32_t state_value(const struct mark_layout *l, enum ct_state s)
{
	return l->seen | (uint32_t)s << (l->shift + 1);
}

size_t mark_matches(const struct mark_layout *l, struct mark_match *m)
{
	static const struct {
		const char *ct;
		enum ct_state s;
	} states[] = {
		{ "--ctstate NEW", CT_STATE_NEW },
		{ "--ctstate ESTABLISHED", CT_STATE_ESTABLISHED },
		{ "--ctstate RELATED", CT_STATE_RELATED },
		{ "--ctstate INVALID", CT_STATE_INVALID },
		{ "--ctstate UNTRACKED", CT_STATE_UNTRACKED },
	};
	uint32_t field = l->seen | l->state;
	size_t n = 0;

	for (size_t i = 0; i < sizeof(states) / sizeof(states[0]); i++)
		m[n++] = (struct mark_match){
			.ct = states[i].ct,
			.value = state_value(l, states[i].s),
			.mask = field,
			.set_mask = field,
		};
	/* ESTABLISHED (2) and RELATED (3) differ in the state's low bit
	 * only: one masked match for iptables; a set for nftables. */
	m[n++] = (struct mark_match){
		.ct = "--ctstate ESTABLISHED,RELATED",
		.value = state_value(l, CT_STATE_ESTABLISHED),
		.mask = field & ~(1u << (l->shift + 1)),
		.set_mask = field,
		.set2 = state_value(l, CT_STATE_RELATED),
	};
	if (!l->reply)
		goto seen;
	m[n++] = (struct mark_match){
		.ct = "--ctdir ORIGINAL",
		.value = l->seen,
		.mask = l->seen | l->reply,
	};
	m[n++] = (struct mark_match){
		.ct = "--ctdir REPLY",
		.value = l->seen | l->reply,
		.mask = l->seen | l->reply,
	};
	m[n++] = (struct mark_match){
		.ct = "--ctstatus ASSURED",
		.value = l->seen | l->assured,
		.mask = l->seen | l->assured,
	};
	m[n++] = (struct mark_match){
		.ct = "! --ctstatus ASSURED",
		.value = l->seen,
		.mask = l->seen | l->assured,
	};
seen:
	m[n++] = (struct mark_match){
		.ct = "(not seen by nfqtrackd)",
		.value = l->seen,
		.mask = l->seen,
		.negate = true,
	};
	return n;
}

void mark_print(const struct mark_layout *l, FILE *out)
{
	struct mark_match m[MARK_MATCHES];
	size_t n = mark_matches(l, m);

	fprintf(out,
		"# mark_mask 0x%08" PRIx32 ": SEEN 0x%08" PRIx32
		", STATE 0x%08" PRIx32,
		l->mask, l->seen, l->state);
	if (l->reply)
		fprintf(out, ", REPLY 0x%08" PRIx32 ", ASSURED 0x%08" PRIx32,
			l->reply, l->assured);
	else
		fprintf(out, " (the state alone: no --ctdir, no --ctstatus)");
	fprintf(out, "\n");
	fprintf(out, "# iptables (-m conntrack MATCH becomes -m mark ...)\n");
	for (size_t i = 0; i < n; i++)
		fprintf(out,
			"%-30s -m mark %s--mark 0x%08" PRIx32 "/0x%08" PRIx32
			"\n",
			m[i].ct, m[i].negate ? "! " : "", m[i].value,
			m[i].mask);
	fprintf(out, "# nftables (ct state/direction/status MATCH becomes "
		     "meta mark ...)\n");
	for (size_t i = 0; i < n; i++) {
		fprintf(out, "%-30s ", m[i].ct);
		if (m[i].negate)
			fprintf(out, "meta mark & 0x%08" PRIx32 " == 0\n",
				m[i].mask);
		else if (m[i].set2)
			fprintf(out,
				"meta mark & 0x%08" PRIx32 " { 0x%08" PRIx32
				", 0x%08" PRIx32 " }\n",
				m[i].set_mask, m[i].value, m[i].set2);
		else
			fprintf(out,
				"meta mark & 0x%08" PRIx32 " == 0x%08" PRIx32
				"\n",
				m[i].mask, m[i].value);
	}
}
