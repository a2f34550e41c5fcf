/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * params.h - what the engines of a group are built from: limits,
 * timeouts, verdicts, tracking options, as numbers the core uses as they
 * are (bucket and source-table sizes already derived).
 *
 * The core (engine, limits, group) reads these and never the
 * configuration: conf.h is the file's syntax, this is the engine's
 * contract. params_from_conf() is the one place the configuration turns
 * into parameters; it lives outside the core (params.c, next to conf.c),
 * so that the core links without the parser.
 */
#ifndef NFQT_PARAMS_H
#define NFQT_PARAMS_H

#include <stdbool.h>
#include <stdint.h>

#include "prefix.h"
#include "timeout.h"

/* What a new flow does when a limit it is under is full. */
enum on_full {
	ON_FULL_DROP, /* refused, as the kernel's table does */
	ON_FULL_EARLY_DROP, /* evicts the oldest unassured or closing flow */
	ON_FULL_EVICT_IDLE, /* the same, then the oldest assured one */
};

/* Per-protocol caps, by the class a flow's protocol counts in
 * (proto_class()). */
enum proto_class { PC_TCP, PC_UDP, PC_ICMP, PC_OTHER, PC_COUNT };

#define PARAMS_EXEMPT_MAX 64 /* exempt prefixes at most */

struct engine_params {
	/* The table. */
	uint32_t max_flows;
	uint32_t buckets; /* in effect, never 0 */
	bool accounting; /* packets and bytes per flow and direction */
	/* The packet path's verdicts and checks. */
	bool invalid_drop; /* drop packets found invalid or malformed */
	bool fragment_drop; /* drop non-first fragments */
	bool copy_range_drop; /* drop packets cut before their headers */
	bool checksum; /* verify what the kernel has not */
	bool enforce; /* false: shadow mode, count and accept */
	/* Tracking. */
	uint32_t timeout[TMO_COUNT]; /* seconds, by timeout class */
	uint32_t tcp_max_retrans;
	bool tcp_loose, tcp_liberal, tcp_ignore_invalid_rst;
	/* The limits (policy.h), as percents or counts of max_flows. */
	uint32_t on_full; /* enum on_full */
	uint32_t reserve; /* flows kept for exempt sources */
	uint32_t midstream_max_percent; /* for TCP pickups */
	uint32_t max_proto[PC_COUNT]; /* 0: no cap */
	uint32_t max_flows_per_source; /* 0: no limit */
	uint32_t max_new_per_source; /* per second; 0: no limit */
	uint32_t max_new_per_source_burst; /* 0: max_new_per_source */
	uint8_t source_prefix4, source_prefix6;
	uint32_t max_sources; /* in effect, never 0 */
	uint32_t nexempt;
	struct prefix exempt[PARAMS_EXEMPT_MAX];
	uint32_t exempt_max_percent;
	bool exempt_evict_assured;
	uint32_t adaptive_start, adaptive_end; /* percent; 0, 0: off */
	uint32_t adaptive_unassured_factor;
	uint32_t warn_at; /* percent; 0: off */
	/* The fast path: the longest a fast flow goes without a check,
	 * seconds (0: each fast list's own timeout). */
	uint32_t fastpath_check_interval;
};

/* The parameters of configuration c, into *p. Outside the core (params.c):
 * the only function that reads a struct conf for the engine. O(1). */
struct conf;
void params_from_conf(struct engine_params *p, const struct conf *c);

#endif
