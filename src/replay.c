// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * replay.c - a capture through the engine; see replay.h.
 */
#include <pcap/pcap.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "replay.h"

#ifndef DLT_LINUX_SLL2
#define DLT_LINUX_SLL2 276
#endif

enum {
	ETH_IP = 0x0800,
	ETH_IP6 = 0x86dd,
	ETH_VLAN = 0x8100,
	ETH_QINQ = 0x88a8
};

static inline uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

long replay_ip_offset(int dlt, const uint8_t *d, size_t len)
{
	size_t off;
	uint16_t type;

	switch (dlt) {
	case DLT_EN10MB:
		off = 12;
		for (int tags = 0;; tags++) {
			if (off + 2 > len)
				return -1;
			type = rd16(d + off);
			if ((type != ETH_VLAN && type != ETH_QINQ) || tags == 2)
				break;
			off += 4;
		}
		off += 2;
		break;
	case DLT_LINUX_SLL:
		if (len < 16)
			return -1;
		type = rd16(d + 14);
		off = 16;
		break;
	case DLT_LINUX_SLL2:
		if (len < 20)
			return -1;
		type = rd16(d);
		off = 20;
		break;
	case DLT_NULL:
	case DLT_LOOP:
		/* A 4-byte address family whose value and byte order vary
		 * by system: the IP version nibble says more. */
		if (len < 5)
			return -1;
		return (d[4] >> 4 == 4 || d[4] >> 4 == 6) ? 4 : -1;
	default: /* raw IP */
		if (len < 1)
			return -1;
		return (d[0] >> 4 == 4 || d[0] >> 4 == 6) ? 0 : -1;
	}
	if (type != ETH_IP && type != ETH_IP6)
		return -1;
	return (long)off;
}

bool replay_supported(int dlt)
{
	switch (dlt) {
	case DLT_EN10MB:
	case DLT_LINUX_SLL:
	case DLT_LINUX_SLL2:
	case DLT_NULL:
	case DLT_LOOP:
	case DLT_RAW:
	case DLT_IPV4:
	case DLT_IPV6:
		return true;
	default:
		return false;
	}
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int replay_file(struct engine *e, const char *path, struct replay_stats *rs,
		char *err, size_t errlen)
{
	char perr[PCAP_ERRBUF_SIZE];
	struct engine_result res;
	struct pcap_pkthdr *h;
	struct defrag *df;
	uint64_t first = 0, next_tick = 0, t;
	const uint8_t *d, *ip;
	size_t caplen, wirelen;
	double start;
	pcap_t *pc;
	int dlt, r;

	memset(rs, 0, sizeof(*rs));
	pc = pcap_open_offline(path, perr);
	if (!pc) {
		snprintf(err, errlen, "%s: %s", path, perr);
		return -1;
	}
	dlt = pcap_datalink(pc);
	snprintf(rs->linktype, sizeof(rs->linktype), "%s",
		 pcap_datalink_val_to_name(dlt) ?
			 pcap_datalink_val_to_name(dlt) :
			 "?");
	if (!replay_supported(dlt)) {
		snprintf(err, errlen,
			 "%s: link type %s (%d) is not supported: replay "
			 "takes Ethernet, Linux cooked (SLL, SLL2), raw IP "
			 "and loopback captures",
			 path, rs->linktype, dlt);
		pcap_close(pc);
		return -1;
	}
	df = defrag_new();
	if (!df) {
		snprintf(err, errlen, "%s: no memory for reassembly", path);
		pcap_close(pc);
		return -1;
	}
	start = now_s();
	while ((r = pcap_next_ex(pc, &h, &d)) == 1) {
		uint64_t ts = (uint64_t)h->ts.tv_sec * 1000 +
			      (uint64_t)h->ts.tv_usec / 1000;
		long off = replay_ip_offset(dlt, d, h->caplen);

		if (!rs->frames++)
			first = ts;
		/* Relative to the first frame; a clock that jumps back stalls
		 * the engine's (engine_set_time) rather than winding it. */
		t = ts > first ? ts - first : 0;
		engine_set_time(e, t);
		while (e->now_ms >= next_tick) {
			engine_tick(e);
			next_tick = e->now_ms + ENGINE_TICK_MS;
		}
		if (off < 0) {
			rs->not_ip++;
			continue;
		}
		rs->packets++;
		ip = d + off;
		caplen = h->caplen - (size_t)off;
		wirelen = h->len > (size_t)off ? h->len - (size_t)off : 0;
		switch (defrag_packet(df, ip, caplen, wirelen, t, &ip,
				      &caplen)) {
		case DEFRAG_HELD:
		case DEFRAG_DROPPED:
			continue;
		case DEFRAG_DONE:
			wirelen = caplen;
			break;
		case DEFRAG_PASS:
			break;
		}
		engine_packet(e, ip, caplen, wirelen, 0, &res);
	}
	rs->defrag = *defrag_stats(df);
	defrag_free(df);
	rs->wall_seconds = now_s() - start;
	rs->trace_seconds = (double)e->now_ms / 1000;
	if (r == -1) {
		snprintf(err, errlen, "%s: after %llu frames: %s", path,
			 (unsigned long long)rs->frames, pcap_geterr(pc));
		pcap_close(pc);
		return -1;
	}
	pcap_close(pc);
	return 0;
}
