// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * pcap2wire - make a capture sendable into a test network, for the kernel
 * agreement test: every IP packet of IN (any capture nfqtrackd --replay
 * takes) becomes an Ethernet frame to DMAC in OUT (classic pcap), with
 * VLAN tags and other link headers gone, truncated packets padded back to
 * their IP length, TTL and hop limit set to 64 (so that forwarding passes
 * them on), loopback addresses moved to 10.0.0.0/8 and fd00::/8 (which a
 * kernel accepts from a wire), and the IPv4 header checksum recomputed.
 * Frames that carry no IP, or that no kernel could take (an IPv4 length
 * of 0), are left out and counted.
 *
 *   pcap2wire IN OUT DMAC
 */
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "replay.h"

#define MAX_IP 65535

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void ip4_checksum(uint8_t *ip, size_t ihl)
{
	uint32_t sum = 0;

	ip[10] = ip[11] = 0;
	for (size_t i = 0; i < ihl; i += 2)
		sum += rd16(ip + i);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	sum = ~sum & 0xffff;
	ip[10] = (uint8_t)(sum >> 8);
	ip[11] = (uint8_t)sum;
}

static const uint8_t loop6[16] = { [15] = 1 };

/* Fix one IP packet in place; returns its length, or 0 to leave it out. */
static size_t fix(uint8_t *ip, size_t cap)
{
	size_t len;

	if (cap < 20)
		return 0;
	if (ip[0] >> 4 == 4) {
		size_t ihl = (size_t)(ip[0] & 15) * 4;

		len = rd16(ip + 2);
		if (ihl < 20 || len < ihl || cap < ihl)
			return 0;
		for (int a = 12; a <= 16; a += 4)
			if (ip[a] == 127)
				ip[a] = 10;
		ip[8] = 64;
		ip4_checksum(ip, ihl);
	} else {
		if (cap < 40)
			return 0;
		len = 40 + (size_t)rd16(ip + 4);
		for (int a = 8; a <= 24; a += 16)
			if (!memcmp(ip + a, loop6, 16))
				ip[a] = 0xfd;
		ip[7] = 64;
	}
	if (len > cap)
		memset(ip + cap, 0, len - cap); /* truncated by the capture */
	return len;
}

int main(int argc, char **argv)
{
	static uint8_t frame[14 + MAX_IP];
	char err[PCAP_ERRBUF_SIZE];
	unsigned int mac[6];
	unsigned long in = 0, out = 0;
	struct pcap_pkthdr *h;
	pcap_dumper_t *dump;
	const uint8_t *d;
	pcap_t *pc, *pd;
	int dlt;

	if (argc != 4 || sscanf(argv[3], "%x:%x:%x:%x:%x:%x", &mac[0], &mac[1],
				&mac[2], &mac[3], &mac[4], &mac[5]) != 6) {
		fprintf(stderr, "usage: pcap2wire IN OUT DMAC\n");
		return 2;
	}
	pc = pcap_open_offline(argv[1], err);
	if (!pc) {
		fprintf(stderr, "pcap2wire: %s\n", err);
		return 1;
	}
	dlt = pcap_datalink(pc);
	if (!replay_supported(dlt)) {
		fprintf(stderr, "pcap2wire: link type %d not supported\n", dlt);
		return 1;
	}
	pd = pcap_open_dead(DLT_EN10MB, 14 + MAX_IP);
	dump = pcap_dump_open(pd, argv[2]);
	if (!dump) {
		fprintf(stderr, "pcap2wire: %s\n", pcap_geterr(pd));
		return 1;
	}
	for (int i = 0; i < 6; i++) {
		frame[i] = (uint8_t)mac[i];
		frame[6 + i] = i == 0 ? 0x02 : (uint8_t)(i == 5);
	}
	while (pcap_next_ex(pc, &h, &d) == 1) {
		long off = replay_ip_offset(dlt, d, h->caplen);
		size_t cap, len;
		struct pcap_pkthdr oh;

		in++;
		if (off < 0)
			continue;
		cap = h->caplen - (size_t)off;
		if (cap > MAX_IP)
			cap = MAX_IP;
		memcpy(frame + 14, d + off, cap);
		len = fix(frame + 14, cap);
		if (!len)
			continue;
		frame[12] = frame[14] >> 4 == 4 ? 0x08 : 0x86;
		frame[13] = frame[14] >> 4 == 4 ? 0x00 : 0xdd;
		oh.ts = h->ts;
		oh.caplen = oh.len = (bpf_u_int32)(14 + len);
		pcap_dump((u_char *)dump, &oh, frame);
		out++;
	}
	pcap_dump_close(dump);
	pcap_close(pd);
	pcap_close(pc);
	fprintf(stderr, "pcap2wire: %lu frames in, %lu out\n", in, out);
	return 0;
}
