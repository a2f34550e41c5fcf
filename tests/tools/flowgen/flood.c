// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * flowgen's flood mode: spoofed-source packet floods for the integration
 * tests' flood scenarios and the soak, sent between network namespaces
 * the test creates. Every run is bounded in packets and in time; main.c
 * describes the options.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip6.h>
#include <netinet/tcp.h>
#include <netinet/udp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "flowgen.h"

#define BATCH 64 /* packets per sendmmsg() */
#define PKT_MAX 128
#define MAX_SECONDS 60.0
#define MAX_COUNT 10000000L
#define MAX_PPS 1000000L
#define UDP_PAYLOAD 16

enum mode { MODE_SYN, MODE_UDP };

struct flood {
	enum mode mode;
	int family;
	union {
		struct in_addr v4;
		struct in6_addr v6;
	} src, dst;
	unsigned int host_bits; /* bits of the source that vary */
	uint16_t port_lo, port_hi;
	struct sockaddr_storage to;
	socklen_t to_len;
	uint64_t rng;
};

static void sleep_until(int64_t ns)
{
	struct timespec ts = { .tv_sec = ns / 1000000000LL,
			       .tv_nsec = ns % 1000000000LL };

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) ==
		       EINTR &&
	       !flowgen_stop)
		;
}

/* xorshift64*: fast, and plenty random for ports and sequence numbers. */
static uint64_t rnd(struct flood *f)
{
	f->rng ^= f->rng >> 12;
	f->rng ^= f->rng << 25;
	f->rng ^= f->rng >> 27;
	return f->rng * 0x2545F4914F6CDD1DULL;
}

static uint32_t csum_add(uint32_t sum, const void *data, size_t len)
{
	const uint8_t *p = data;

	for (; len > 1; len -= 2, p += 2)
		sum += (uint32_t)(p[0] << 8 | p[1]);
	if (len)
		sum += (uint32_t)(p[0] << 8);
	return sum;
}

static uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return htons((uint16_t)~sum);
}

/* The transport checksum over the pseudo-header of either family. */
static uint16_t l4_csum(const struct flood *f, const void *src, const void *l4,
			size_t len, uint8_t proto)
{
	size_t alen = f->family == AF_INET ? 4 : 16;
	uint32_t sum = 0;

	sum = csum_add(sum, src, alen);
	sum = csum_add(sum, &f->dst, alen);
	sum += proto;
	sum += (uint32_t)len;
	return csum_fold(csum_add(sum, l4, len));
}

/*
 * The i-th source: multiplying by an odd constant permutes the host part,
 * so that consecutive packets come from scattered addresses and every
 * address is used once before any is used again.
 */
static void source_addr(const struct flood *f, uint64_t i, void *out)
{
	uint64_t host = i * 0x9E3779B97F4A7C15ULL;

	host = f->host_bits >= 64 ? host : host & ((1ULL << f->host_bits) - 1);
	if (f->family == AF_INET) {
		struct in_addr a = f->src.v4;

		a.s_addr = htonl(ntohl(a.s_addr) | (uint32_t)host);
		memcpy(out, &a, sizeof(a));
	} else {
		struct in6_addr a = f->src.v6;

		for (int b = 15; b >= 8; b--, host >>= 8)
			a.s6_addr[b] |= (uint8_t)host;
		memcpy(out, &a, sizeof(a));
	}
}

/* One packet into buf; returns its length. */
static size_t build(struct flood *f, uint64_t i, uint8_t *buf)
{
	size_t iphl = f->family == AF_INET ? sizeof(struct iphdr) :
					     sizeof(struct ip6_hdr);
	size_t l4len = f->mode == MODE_SYN ?
			       sizeof(struct tcphdr) + 4 :
			       sizeof(struct udphdr) + UDP_PAYLOAD;
	uint16_t span = (uint16_t)(f->port_hi - f->port_lo);
	uint16_t sport = (uint16_t)(1024 + rnd(f) % (65536 - 1024));
	uint16_t dport = (uint16_t)(f->port_lo + rnd(f) % (span + 1U));
	uint8_t *l4 = buf + iphl;
	uint8_t src[16];

	memset(buf, 0, iphl + l4len);
	source_addr(f, i, src);
	if (f->family == AF_INET) {
		struct iphdr *ip = (struct iphdr *)buf;

		ip->version = 4;
		ip->ihl = 5;
		ip->tot_len = htons((uint16_t)(iphl + l4len));
		ip->id = (uint16_t)rnd(f);
		ip->frag_off = htons(IP_DF);
		ip->ttl = 64;
		ip->protocol = f->mode == MODE_SYN ? IPPROTO_TCP : IPPROTO_UDP;
		memcpy(&ip->saddr, src, 4);
		ip->daddr = f->dst.v4.s_addr;
		ip->check = csum_fold(csum_add(0, ip, iphl));
	} else {
		struct ip6_hdr *ip6 = (struct ip6_hdr *)buf;

		ip6->ip6_flow = htonl(6U << 28);
		ip6->ip6_plen = htons((uint16_t)l4len);
		ip6->ip6_nxt = f->mode == MODE_SYN ? IPPROTO_TCP : IPPROTO_UDP;
		ip6->ip6_hlim = 64;
		memcpy(&ip6->ip6_src, src, 16);
		ip6->ip6_dst = f->dst.v6;
	}
	if (f->mode == MODE_SYN) {
		struct tcphdr *th = (struct tcphdr *)l4;
		uint8_t *opt = l4 + sizeof(*th);
		uint16_t mss = f->family == AF_INET ? 1460 : 1440;

		th->source = htons(sport);
		th->dest = htons(dport);
		th->seq = (uint32_t)rnd(f);
		th->doff = (uint16_t)(l4len / 4);
		th->syn = 1;
		th->window = htons(64240);
		opt[0] = TCPOPT_MAXSEG;
		opt[1] = TCPOLEN_MAXSEG;
		opt[2] = (uint8_t)(mss >> 8);
		opt[3] = (uint8_t)mss;
		th->check = l4_csum(f, src, l4, l4len, IPPROTO_TCP);
	} else {
		struct udphdr *uh = (struct udphdr *)l4;

		uh->source = htons(sport);
		uh->dest = htons(dport);
		uh->len = htons((uint16_t)l4len);
		snprintf((char *)l4 + sizeof(*uh), UDP_PAYLOAD,
			 "nfqt-flood %04x", (unsigned int)(i & 0xffff));
		uh->check = l4_csum(f, src, l4, l4len, IPPROTO_UDP);
		if (!uh->check)
			uh->check = 0xffff; /* zero means "none" */
	}
	return iphl + l4len;
}

static void parse_cidr(struct flood *f, const char *arg)
{
	char addr[INET6_ADDRSTRLEN + 8];
	const char *slash = strchr(arg, '/');
	size_t alen = slash ? (size_t)(slash - arg) : strlen(arg);
	unsigned int bits, len;
	char *end;

	if (alen >= sizeof(addr))
		flowgen_fatal("bad source range '%s'", arg);
	memcpy(addr, arg, alen);
	addr[alen] = '\0';
	if (inet_pton(AF_INET, addr, &f->src.v4) == 1)
		f->family = AF_INET;
	else if (inet_pton(AF_INET6, addr, &f->src.v6) == 1)
		f->family = AF_INET6;
	else
		flowgen_fatal("bad source address '%s'", addr);
	bits = f->family == AF_INET ? 32 : 128;
	len = bits;
	if (slash) {
		errno = 0;
		len = (unsigned int)strtoul(slash + 1, &end, 10);
		if (errno || end == slash + 1 || *end || len > bits)
			flowgen_fatal("bad prefix length in '%s'", arg);
	}
	f->host_bits = bits - len > 64 ? 64 : bits - len;
	/* Clear the host part, so that the range is what the prefix says. */
	if (f->family == AF_INET) {
		uint32_t mask = len ? ~0U << (32 - len) : 0;

		f->src.v4.s_addr = htonl(ntohl(f->src.v4.s_addr) & mask);
	} else {
		for (unsigned int b = 0; b < 16; b++) {
			unsigned int keep = len > b * 8 ? len - b * 8 : 0;

			if (keep < 8)
				f->src.v6.s6_addr[b] &=
					(uint8_t)(0xff00 >> keep);
		}
	}
}

static void parse_dst(struct flood *f, const char *arg)
{
	memset(&f->to, 0, sizeof(f->to));
	if (f->family == AF_INET && inet_pton(AF_INET, arg, &f->dst.v4) == 1) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&f->to;

		sin->sin_family = AF_INET;
		sin->sin_addr = f->dst.v4;
		f->to_len = sizeof(*sin);
	} else if (f->family == AF_INET6 &&
		   inet_pton(AF_INET6, arg, &f->dst.v6) == 1) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&f->to;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_addr = f->dst.v6;
		f->to_len = sizeof(*sin6);
	} else {
		flowgen_fatal(
			"bad destination '%s' (it must be of the source range's "
			"family)",
			arg);
	}
}

static void parse_ports(struct flood *f, const char *arg)
{
	char *end;
	unsigned long lo, hi;

	errno = 0;
	lo = strtoul(arg, &end, 10);
	hi = lo;
	if (!errno && end != arg && *end == '-') {
		const char *p = end + 1;

		hi = strtoul(p, &end, 10);
		if (end == p)
			hi = 0;
	}
	if (errno || *end || lo < 1 || hi > 65535 || lo > hi)
		flowgen_fatal("bad port range '%s'", arg);
	f->port_lo = (uint16_t)lo;
	f->port_hi = (uint16_t)hi;
}

static void usage(void)
{
	flowgen_fatal("usage: flowgen flood -m syn|udp -s SRC_CIDR -d DST_ADDR "
		      "-p DPORT[-DPORT2] [-r PPS] [-t SECONDS] [-n COUNT]");
}

int flowgen_flood_main(int argc, char **argv)
{
	static uint8_t pkts[BATCH][PKT_MAX];
	struct mmsghdr msgs[BATCH];
	struct iovec iov[BATCH];
	struct flood f = { .mode = MODE_SYN };
	const char *mode = NULL, *src = NULL, *dst = NULL, *ports = NULL;
	long pps = 20000, count = 1000000, sent = 0, errors = 0, burst;
	double secs = 5;
	int64_t t0, end, now;
	int opt, fd, one = 1;

	while ((opt = getopt(argc, argv, "m:s:d:p:r:t:n:")) != -1) {
		switch (opt) {
		case 'm':
			mode = optarg;
			break;
		case 's':
			src = optarg;
			break;
		case 'd':
			dst = optarg;
			break;
		case 'p':
			ports = optarg;
			break;
		case 'r':
			pps = flowgen_num("r", optarg, 1, MAX_PPS);
			break;
		case 't':
			secs = flowgen_seconds(optarg, MAX_SECONDS);
			break;
		case 'n':
			count = flowgen_num("n", optarg, 1, MAX_COUNT);
			break;
		default:
			usage();
		}
	}
	if (!mode || !src || !dst || !ports || optind != argc)
		usage();
	if (!strcmp(mode, "syn"))
		f.mode = MODE_SYN;
	else if (!strcmp(mode, "udp"))
		f.mode = MODE_UDP;
	else
		flowgen_fatal("bad mode '%s' (syn or udp)", mode);
	parse_cidr(&f, src);
	parse_dst(&f, dst);
	parse_ports(&f, ports);
	if (getrandom(&f.rng, sizeof(f.rng), 0) != sizeof(f.rng) || !f.rng)
		f.rng = ((uint64_t)flowgen_now_ns() ^ (uint64_t)getpid()
							      << 32) |
			1;

	flowgen_check_namespace(true);
	/* IPPROTO_RAW implies that we write the IP header ourselves. */
	fd = socket(f.family, SOCK_RAW, IPPROTO_RAW);
	if (fd < 0)
		flowgen_fatal("raw socket: %s", strerror(errno));
	if (f.family == AF_INET &&
	    setsockopt(fd, IPPROTO_IP, IP_HDRINCL, &one, sizeof(one)) < 0)
		flowgen_fatal("IP_HDRINCL: %s", strerror(errno));

	flowgen_on_signals(true);
	alarm((unsigned int)secs + 5); /* a hard stop, whatever happens */

	for (int k = 0; k < BATCH; k++) {
		iov[k].iov_base = pkts[k];
		msgs[k].msg_hdr = (struct msghdr){ .msg_name = &f.to,
						   .msg_namelen = f.to_len,
						   .msg_iov = &iov[k],
						   .msg_iovlen = 1 };
	}
	/*
	 * Pace against the start time: packet n is due at t0 + n / pps, and
	 * between bursts of about a millisecond's worth we sleep rather than
	 * spin, so that the flooder leaves a core to the daemon under test.
	 */
	burst = pps / 1000;
	burst = burst < 1 ? 1 : burst > BATCH ? BATCH : burst;
	t0 = flowgen_now_ns();
	end = t0 + (int64_t)(secs * 1e9);
	now = t0;
	while (sent < count && !flowgen_stop) {
		int64_t due;
		int n, r;

		now = flowgen_now_ns();
		if (now >= end)
			break;
		due = (now - t0) * pps / 1000000000LL + 1;
		if (due > count)
			due = count;
		if (due <= sent) {
			int64_t next = t0 + (sent + burst) * 1000000000LL / pps;

			sleep_until(next < end ? next : end);
			continue;
		}
		n = due - sent > BATCH ? BATCH : (int)(due - sent);
		for (int k = 0; k < n; k++)
			iov[k].iov_len =
				build(&f, (uint64_t)(sent + k), pkts[k]);
		r = sendmmsg(fd, msgs, (unsigned int)n, 0);
		if (r < 0) {
			if (errno != ENOBUFS && errno != EAGAIN &&
			    errno != EINTR)
				flowgen_fatal("send: %s", strerror(errno));
			/* Transient: the device's queue is full. Back off. */
			errors++;
			sleep_until(flowgen_now_ns() + 200000);
			continue;
		}
		sent += r;
	}
	now = flowgen_now_ns();
	close(fd);
	if (errors)
		fprintf(stderr,
			"flowgen flood: %ld sends failed for a full queue\n",
			errors);
	{
		double s = (double)(now - t0) / 1e9;

		printf("flood sent=%ld seconds=%.2f pps=%.0f\n", sent, s,
		       s > 0 ? (double)sent / s : 0.0);
	}
	return 0;
}
