/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * replay.h - run the flow engine over a packet capture, offline.
 *
 * The capture's own timestamps drive the engine's clock, so timeouts
 * behave as they would have on the wire, only as fast as the machine
 * goes. pcap and pcapng through libpcap; link types Ethernet (with VLAN
 * tags), Linux cooked (SLL and SLL2), raw IP and loopback/NULL.
 *
 * Fragments are reassembled first (defrag.h), as the kernel does before
 * the NFQUEUE rule, so that the engine sees what the live daemon would:
 * whole datagrams, and none of the fragments the kernel drops.
 */
#ifndef NFQT_REPLAY_H
#define NFQT_REPLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "defrag.h"
#include "engine.h"

struct replay_stats {
	uint64_t frames; /* records in the capture */
	uint64_t packets; /* IP packets given to the engine */
	uint64_t not_ip; /* frames carrying no IPv4 or IPv6 */
	double wall_seconds; /* how long the replay took */
	double trace_seconds; /* first to last timestamp */
	struct defrag_stats defrag; /* fragments, reassembled as the kernel
				     * does before conntrack */
	char linktype[32];
};

/*
 * Feed every IP packet of the capture at path to e, in order, with the
 * engine clock at each packet's timestamp (relative to the first) and
 * housekeeping every ENGINE_TICK_MS of capture time. Returns 0, or -1
 * with a message in err (unreadable file, unsupported link type).
 */
int replay_file(struct engine *e, const char *path, struct replay_stats *rs,
		char *err, size_t errlen);

/* Does replay take captures of this libpcap link type (DLT_*)? */
bool replay_supported(int dlt);

/* Where the IP packet starts in a frame of link type dlt (len bytes at
 * d), or -1 if the frame carries none. */
long replay_ip_offset(int dlt, const uint8_t *d, size_t len);

#endif
