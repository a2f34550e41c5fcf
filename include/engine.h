/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * engine.h - from a packet to a verdict: parse, find or create the flow,
 * track its state, apply the table limit, count every outcome.
 *
 * The engine is pure: no sockets, no clock, no logging. The caller sets
 * the time (engine_set_time), feeds packets, and logs what the returned
 * verdict and reason say. The daemon, the tests and an offline replay all
 * drive the very same code.
 */
#ifndef NFQT_ENGINE_H
#define NFQT_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "conf.h"
#include "flow.h"
#include "pkt.h"
#include "tcp.h"

enum verdict { VERDICT_ACCEPT, VERDICT_DROP };

/* Why a packet was dropped (or, for the invalid ones, would be under
 * invalid_verdict = drop). Keep engine_drop_name() in step. */
enum drop_reason {
	DROP_NONE,
	DROP_TABLE_FULL, /* would create a flow, table at max_flows */
	DROP_MALFORMED, /* pkt_parse() said malformed */
	DROP_INVALID, /* well formed, but not valid for its flow */
	DROP_FRAGMENT, /* a non-first fragment, fragment_verdict = drop */
	DROP_REASON_COUNT
};

/* What made a well-formed packet invalid. Keep engine_invalid_name()
 * in step. */
enum invalid_reason {
	INV_NONE,
	INV_TCP_FLAGS, /* impossible flag combination */
	INV_TCP_NEW, /* cannot open a flow (RST, FIN, SYN-ACK, ...) */
	INV_TCP_STATE, /* not valid in the flow's state */
	INV_TCP_WINDOW, /* outside the sequence or ACK window */
	INV_TCP_RST, /* a RST with an unbelievable sequence number */
	INV_UDPLITE_CSUM, /* UDP-Lite without the checksum it mandates */
	INV_ICMP_NEW, /* ICMP reply or other type without a request */
	INV_ICMP_ERROR_FLOW, /* ICMP error about no flow we know */
	INV_ICMP_ERROR_ADDR, /* ICMP error not addressed to the flow's end */
	INV_IPV6_NO_NEXT, /* IPv6 with no next header: nothing to track */
	INV_REASON_COUNT
};

/* Every counter. Monotonic; read them whole for `nfqtrackctl stats`. */
struct engine_stats {
	uint64_t packets;
	uint64_t accepted;
	uint64_t dropped;
	uint64_t drop[DROP_REASON_COUNT];
	uint64_t malformed[PKT_ERR_COUNT];
	uint64_t invalid[INV_REASON_COUNT];
	uint64_t fragments; /* non-first fragments: no transport header */
	uint64_t icmp_related; /* ICMP errors that matched a flow */
	uint64_t untracked; /* neighbour discovery and the like */
	uint64_t tcp_ignored; /* TCP packets passed without belief (the
				* kernel's "ignored": out of step, maybe ok) */
	uint64_t flows_created;
	uint64_t flows_reopened; /* TCP connections reusing closed ports */
	uint64_t flows_closed; /* removed at once: RST before any reply */
};

struct engine {
	struct flow_table table;
	uint32_t max_flows;
	uint32_t invalid_verdict; /* enum conf_verdict */
	uint32_t fragment_verdict; /* enum conf_verdict */
	uint32_t timeouts[TMO_COUNT];
	struct tcp_params tcp;
	uint32_t now; /* seconds */
	uint64_t now_ms; /* the same clock, in milliseconds */
	struct engine_stats st;
};

/* What engine_packet() decided, with what the caller needs to log it. */
struct engine_result {
	enum verdict verdict;
	enum drop_reason reason; /* also set for accepted invalid packets */
	uint8_t invalid; /* enum invalid_reason */
	struct pkt pkt;
};

/* Bytes of memory an engine with this configuration holds. */
uint64_t engine_bytes(const struct conf *c);

/*
 * Make an engine for conf c, seeded with hkey. Allocates and touches all
 * of the table's memory now. Returns 0, or -1 with errno set.
 */
int engine_init(struct engine *e, const struct conf *c,
		const struct hash_key *hkey, uint64_t now_ms);
void engine_destroy(struct engine *e);

/*
 * Apply a new configuration to a running engine without losing flows:
 * limits and timeouts at once; a new bucket count by incremental rehash.
 * Returns 0, or -1 with errno set and nothing changed.
 */
int engine_reconfigure(struct engine *e, const struct conf *c);

/* The engine clock, in milliseconds from any fixed start; it never goes
 * back (a capture whose timestamps jump back just stalls it). */
static inline void engine_set_time(struct engine *e, uint64_t now_ms)
{
	if (now_ms > e->now_ms) {
		e->now_ms = now_ms;
		e->now = (uint32_t)(now_ms / 1000);
	}
}

/*
 * Decide on one IP packet (caplen bytes of it at buf, wirelen long;
 * flags as for pkt_parse()). Fills r. O(1) on average; no allocation,
 * no system call.
 */
void engine_packet(struct engine *e, const uint8_t *buf, size_t caplen,
		   size_t wirelen, unsigned int flags, struct engine_result *r);

/* Housekeeping: visit at most max_buckets buckets (see flow_table_sweep).
 * Returns the flows reclaimed. */
uint32_t engine_sweep(struct engine *e, uint32_t max_buckets);

/* How often engine_tick() is meant to run, and how it paces the sweep:
 * every bucket about once per ENGINE_SWEEP_TICKS ticks. */
#define ENGINE_TICK_MS 100
#define ENGINE_SWEEP_TICKS 100

/* The housekeeping of one tick: a bounded share of the sweep (or of a
 * rehash under way). */
uint32_t engine_tick(struct engine *e);

/* Seconds flow f has left to live, 0 if expired. */
uint32_t engine_flow_left(const struct engine *e, const struct flow *f);

/* Every counter and gauge of the engine, by name, to emit(), in a fixed
 * order: the common part of `nfqtrackctl stats` and of a replay's. */
void engine_report(const struct engine *e,
		   void (*emit)(void *arg, const char *key, uint64_t value),
		   void *arg);

const char *engine_drop_name(enum drop_reason r);
const char *engine_invalid_name(enum invalid_reason r);

#endif
