// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * flowgen's raw modes, the benchmark's UDP load (tests/bench/run.sh): a
 * sender of raw IPv4/UDP packets over many flows (tx), and a receiver
 * that counts what arrives (rx). Every run is bounded in packets and in
 * time; main.c describes the options.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "flowgen.h"

#define BATCH 64 /* packets per sendmmsg() and recvmmsg() */
#define SIZE_MAX_PAYLOAD 1472 /* a 1500-byte IP packet */
#define PKT_MAX \
	(sizeof(struct iphdr) + sizeof(struct udphdr) + SIZE_MAX_PAYLOAD)
#define TX_MAX_SECONDS 60.0
#define TX_MAX_COUNT 100000000L
#define RX_MAX_SECONDS 600.0
#define FLOWS_PER_ADDR 1000
#define SPORT_BASE 1024

static double now_s(void)
{
	return (double)flowgen_now_ns() / 1e9;
}

struct tx {
	struct in_addr src, dst;
	uint16_t dport;
	unsigned int size;
	unsigned long flows, addrs, next;
	long count;
	double secs;
};

/* The packet of flow tx->next into p; returns its length. The kernel
 * fills the IP checksum and ID of IP_HDRINCL packets (raw(7)); a UDP
 * checksum of 0 means none, legal for IPv4. */
static size_t build(struct tx *t, uint8_t *p)
{
	struct iphdr *ip = (struct iphdr *)(void *)p;
	struct udphdr *udp = (struct udphdr *)(void *)(p + sizeof(*ip));
	unsigned long f = t->next;
	size_t len = sizeof(*ip) + sizeof(*udp) + t->size;

	if (++t->next == t->flows)
		t->next = 0;
	ip->saddr = htonl(ntohl(t->src.s_addr) + (uint32_t)(f % t->addrs));
	udp->source = htons((uint16_t)(SPORT_BASE + f / t->addrs));
	ip->tot_len = htons((uint16_t)len);
	udp->len = htons((uint16_t)(len - sizeof(*ip)));
	return len;
}

int flowgen_tx_main(int argc, char **argv)
{
	static uint8_t pkts[BATCH][PKT_MAX] __attribute__((aligned(64)));
	struct tx t = {
		.size = 64, .flows = 1, .count = TX_MAX_COUNT, .secs = 3
	};
	struct mmsghdr msgs[BATCH];
	struct iovec iov[BATCH];
	struct sockaddr_in to = { .sin_family = AF_INET };
	bool have_src = false, have_dst = false;
	double start, end;
	long sent = 0;
	int opt, fd, one = 1;

	flowgen_on_signals(false);
	setvbuf(stdout, NULL, _IOLBF, 0);
	while ((opt = getopt(argc, argv, "s:d:p:S:f:a:n:t:")) != -1) {
		switch (opt) {
		case 's':
			have_src = inet_pton(AF_INET, optarg, &t.src) == 1;
			break;
		case 'd':
			have_dst = inet_pton(AF_INET, optarg, &t.dst) == 1;
			break;
		case 'p':
			t.dport = (uint16_t)flowgen_num("p", optarg, 1, 65535);
			break;
		case 'S':
			t.size = (unsigned int)flowgen_num("S", optarg, 0,
							   SIZE_MAX_PAYLOAD);
			break;
		case 'f':
			t.flows = (unsigned long)flowgen_num("f", optarg, 1,
							     10000000);
			break;
		case 'a':
			t.addrs = (unsigned long)flowgen_num("a", optarg, 1,
							     65536);
			break;
		case 'n':
			t.count = flowgen_num("n", optarg, 1, TX_MAX_COUNT);
			break;
		case 't':
			t.secs = flowgen_seconds(optarg, TX_MAX_SECONDS);
			break;
		default:
			return 2;
		}
	}
	if (!have_src || !have_dst || !t.dport)
		flowgen_fatal(
			"tx needs -s SRC -d DST -p DPORT (IPv4 addresses)");
	if (!t.addrs)
		t.addrs = (t.flows + FLOWS_PER_ADDR - 1) / FLOWS_PER_ADDR;
	if (t.addrs > t.flows)
		t.addrs = t.flows;
	if ((t.flows + t.addrs - 1) / t.addrs > 65535 - SPORT_BASE)
		flowgen_fatal(
			"%lu flows over %lu addresses: too many ports per address",
			t.flows, t.addrs);
	flowgen_check_namespace(true);

	fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
	if (fd < 0)
		flowgen_fatal("raw socket: %s", strerror(errno));
	if (setsockopt(fd, IPPROTO_IP, IP_HDRINCL, &one, sizeof(one)) < 0)
		flowgen_fatal("IP_HDRINCL: %s", strerror(errno));
	to.sin_addr = t.dst;
	for (int i = 0; i < BATCH; i++) {
		struct iphdr *ip = (struct iphdr *)(void *)pkts[i];
		struct udphdr *udp =
			(struct udphdr *)(void *)(pkts[i] + sizeof(*ip));

		ip->version = 4;
		ip->ihl = 5;
		ip->ttl = 64;
		ip->protocol = IPPROTO_UDP;
		ip->daddr = t.dst.s_addr;
		udp->dest = htons(t.dport);
		memset(pkts[i] + sizeof(*ip) + sizeof(*udp), 'x',
		       SIZE_MAX_PAYLOAD);
		iov[i].iov_base = pkts[i];
		memset(&msgs[i], 0, sizeof(msgs[i]));
		msgs[i].msg_hdr.msg_name = &to;
		msgs[i].msg_hdr.msg_namelen = sizeof(to);
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
	}

	start = now_s();
	end = start;
	while (!flowgen_stop && sent < t.count && end - start < t.secs) {
		int n = (int)(t.count - sent < BATCH ? t.count - sent : BATCH);
		int r;

		for (int i = 0; i < n; i++)
			iov[i].iov_len = build(&t, pkts[i]);
		r = sendmmsg(fd, msgs, (unsigned int)n, 0);
		if (r < 0 && errno != EINTR && errno != ENOBUFS)
			flowgen_fatal("sendmmsg: %s", strerror(errno));
		if (r > 0)
			sent += r;
		end = now_s();
	}
	printf("tx sent=%ld secs=%.3f pps=%.0f\n", sent, end - start,
	       end > start ? (double)sent / (end - start) : 0.0);
	close(fd);
	return 0;
}

int flowgen_rx_main(int argc, char **argv)
{
	static uint8_t bufs[BATCH][2048];
	struct mmsghdr msgs[BATCH];
	struct iovec iov[BATCH];
	struct sockaddr_in sa = { .sin_family = AF_INET };
	long count = 0, limit = -1, idle_ms = 1000;
	double secs = 30, start, first = 0, last = 0;
	int opt, fd, rcvbuf = 64 << 20;

	flowgen_on_signals(false);
	setvbuf(stdout, NULL, _IOLBF, 0);
	while ((opt = getopt(argc, argv, "p:n:t:i:")) != -1) {
		switch (opt) {
		case 'p':
			sa.sin_port = htons(
				(uint16_t)flowgen_num("p", optarg, 1, 65535));
			break;
		case 'n':
			limit = flowgen_num("n", optarg, 1, TX_MAX_COUNT);
			break;
		case 't':
			secs = flowgen_seconds(optarg, RX_MAX_SECONDS);
			break;
		case 'i':
			idle_ms = flowgen_num("i", optarg, 1, 600000);
			break;
		default:
			return 2;
		}
	}
	if (!sa.sin_port)
		flowgen_fatal("rx needs -p PORT");
	flowgen_check_namespace(false);
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		flowgen_fatal("socket: %s", strerror(errno));
	/* A big buffer, so that the receiver is never what drops: FORCE
	 * needs CAP_NET_ADMIN, else the plain one up to rmem_max. */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf,
		       sizeof(rcvbuf)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		flowgen_fatal("bind port %u: %s", ntohs(sa.sin_port),
			      strerror(errno));
	for (int i = 0; i < BATCH; i++) {
		iov[i].iov_base = bufs[i];
		iov[i].iov_len = sizeof(bufs[i]);
		memset(&msgs[i], 0, sizeof(msgs[i]));
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
	}

	start = now_s();
	while (!flowgen_stop && (limit < 0 || count < limit)) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		double t = now_s(), wait = start + secs - t;
		int r;

		if (wait <= 0)
			break;
		if (count && wait > (double)idle_ms / 1000 - (t - last))
			wait = (double)idle_ms / 1000 - (t - last);
		if (wait <= 0)
			break;
		r = poll(&pfd, 1, (int)(wait * 1000) + 1);
		if (r < 0 && errno != EINTR)
			flowgen_fatal("poll: %s", strerror(errno));
		if (r <= 0)
			continue;
		r = recvmmsg(fd, msgs, BATCH, MSG_DONTWAIT, NULL);
		if (r < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			flowgen_fatal("recvmmsg: %s", strerror(errno));
		}
		last = now_s();
		if (!count)
			first = last;
		count += r;
	}
	printf("rx pkts=%ld secs=%.3f pps=%.0f\n", count, last - first,
	       last > first ? (double)count / (last - first) : 0.0);
	close(fd);
	return 0;
}
