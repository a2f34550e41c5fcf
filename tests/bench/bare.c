// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * bare - the benchmark's baseline: an NFQUEUE loop that accepts every
 * packet and does nothing else, the least any consumer must do. It
 * receives as nfqtrackd does (libmnl, recvmmsg, a copy range) and answers
 * each receive with one NFQNL_MSG_VERDICT_BATCH, so that what nfqtrackd
 * costs beyond it is its tracking.
 *
 *   bare [-q QUEUE] [-c COPY] [-r RCVBUF] [-Q MAXLEN] [-N] [-F] [-G]
 *        [-t SECONDS] [-i IDLE_MS]
 *
 *	-q  queue number (default 0)
 *	-c  bytes of each packet copied to us (default 128)
 *	-r  SO_RCVBUFFORCE bytes (default 8 MiB)
 *	-Q  queue maxlen (default: the kernel's, 1024)
 *	-N  NETLINK_NO_ENOBUFS: overruns are counted, not reported
 *	-F  fail-open: accept, not drop, what a full queue cannot hold
 *	-G  take GSO packets whole (NFQA_CFG_F_GSO, as nfqtrackd does), not
 *	    segmented by the kernel before they are queued
 *	-t  stop after SECONDS (default 60, at most 3600)
 *	-i  stop IDLE_MS after the last packet (default 0: never)
 *
 * Stops cleanly (unbinds) on SIGTERM or SIGINT, and then prints
 * "bare pkts=N secs=S pps=P recv_calls=R enobufs=E" (secs from the
 * first packet to the last).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <libnetfilter_queue/libnetfilter_queue.h>

#define BATCH 64 /* messages per recvmmsg() */
#define MSG_ROOM 4096 /* netlink headers and attributes around a copy */

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct bare {
	struct mnl_socket *nl;
	uint16_t queue;
	uint32_t seq;
	uint64_t packets, recv_calls, enobufs;
};

static long num(int opt, const char *s, long min, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max) {
		fprintf(stderr, "bare: -%c %s: a number from %ld to %ld\n", opt,
			s, min, max);
		exit(2);
	}
	return v;
}

/* Send a config message and wait for its acknowledgement. Packets that
 * arrive meanwhile are not counted; a later batch verdict covers them. */
static int config(struct bare *b, struct nlmsghdr *nlh)
{
	static char buf[65536 + MSG_ROOM];
	int fd = mnl_socket_get_fd(b->nl);

	nlh->nlmsg_flags |= NLM_F_ACK;
	nlh->nlmsg_seq = ++b->seq;
	if (mnl_socket_sendto(b->nl, nlh, nlh->nlmsg_len) < 0)
		return -1;
	for (int tries = 0; tries < 1000; tries++) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		const struct nlmsghdr *m = (const void *)buf;
		ssize_t n;
		int left;

		if (poll(&pfd, 1, 5000) <= 0)
			break;
		n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN ||
			    errno == ENOBUFS)
				continue;
			return -1;
		}
		for (left = (int)n; mnl_nlmsg_ok(m, left);
		     m = mnl_nlmsg_next(m, &left)) {
			const struct nlmsgerr *e = mnl_nlmsg_get_payload(m);

			if (m->nlmsg_type != NLMSG_ERROR ||
			    m->nlmsg_seq != b->seq)
				continue;
			if (e->error) {
				errno = -e->error;
				return -1;
			}
			return 0;
		}
	}
	errno = ETIMEDOUT;
	return -1;
}

/* The packet id of one queue message, or 0 when it has none. */
static uint32_t packet_id(const struct nlmsghdr *nlh)
{
	const struct nlattr *a;

	if (NFNL_SUBSYS_ID(nlh->nlmsg_type) != NFNL_SUBSYS_QUEUE ||
	    NFNL_MSG_TYPE(nlh->nlmsg_type) != NFQNL_MSG_PACKET)
		return 0;
	mnl_attr_for_each(a, nlh, sizeof(struct nfgenmsg))
	{
		if (mnl_attr_get_type(a) == NFQA_PACKET_HDR &&
		    mnl_attr_get_payload_len(a) >=
			    sizeof(struct nfqnl_msg_packet_hdr)) {
			const struct nfqnl_msg_packet_hdr *ph =
				mnl_attr_get_payload(a);

			return ntohl(ph->packet_id);
		}
	}
	return 0;
}

static int verdict_batch(struct bare *b, uint32_t id)
{
	char buf[256];
	struct nlmsghdr *nlh;

	nlh = nfq_nlmsg_put(buf, NFQNL_MSG_VERDICT_BATCH, b->queue);
	nfq_nlmsg_verdict_put(nlh, (int)id, NF_ACCEPT);
	while (mnl_socket_sendto(b->nl, nlh, nlh->nlmsg_len) < 0)
		if (errno != EINTR)
			return -1;
	return 0;
}

int main(int argc, char **argv)
{
	uint8_t *bufs;
	struct mmsghdr msgs[BATCH];
	struct iovec iov[BATCH];
	struct sigaction sa = { .sa_handler = on_signal };
	struct bare b = { .seq = (uint32_t)time(NULL) };
	char cbuf[512];
	struct nlmsghdr *nlh;
	long copy = 128, rcvbuf = 8 << 20, maxlen = 0, idle_ms = 0;
	double secs = 60, start, first = 0, last = 0;
	bool no_enobufs = false, fail_open = false, gso = false;
	int opt, fd, ret = 0;

	while ((opt = getopt(argc, argv, "q:c:r:Q:NFGt:i:")) != -1) {
		switch (opt) {
		case 'q':
			b.queue = (uint16_t)num(opt, optarg, 0, 65535);
			break;
		case 'c':
			copy = num(opt, optarg, 64, 65531);
			break;
		case 'r':
			rcvbuf = num(opt, optarg, 65536, 1L << 30);
			break;
		case 'Q':
			maxlen = num(opt, optarg, 1, 1 << 20);
			break;
		case 'N':
			no_enobufs = true;
			break;
		case 'F':
			fail_open = true;
			break;
		case 'G':
			gso = true;
			break;
		case 't':
			secs = (double)num(opt, optarg, 1, 3600);
			break;
		case 'i':
			idle_ms = num(opt, optarg, 0, 600000);
			break;
		default:
			fprintf(stderr,
				"usage: bare [-q QUEUE] [-c COPY] "
				"[-r RCVBUF] [-Q MAXLEN] [-N] [-F] [-G] "
				"[-t SECONDS] [-i IDLE_MS]\n");
			return 2;
		}
	}
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	b.nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
	if (!b.nl || mnl_socket_bind(b.nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		perror("bare: netlink socket");
		return 1;
	}
	fd = mnl_socket_get_fd(b.nl);
	{
		int v = (int)rcvbuf, one = 1;

		if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &v, sizeof(v)) <
		    0) {
			perror("bare: SO_RCVBUFFORCE");
			return 1;
		}
		if (no_enobufs &&
		    mnl_socket_setsockopt(b.nl, NETLINK_NO_ENOBUFS, &one,
					  sizeof(one)) < 0) {
			perror("bare: NETLINK_NO_ENOBUFS");
			return 1;
		}
	}

	/* Bind with every parameter in one message, as nfqtrackd does. */
	nlh = nfq_nlmsg_put(cbuf, NFQNL_MSG_CONFIG, b.queue);
	nfq_nlmsg_cfg_put_cmd(nlh, AF_INET, NFQNL_CFG_CMD_BIND);
	nfq_nlmsg_cfg_put_params(nlh, NFQNL_COPY_PACKET, (int)copy);
	if (maxlen)
		nfq_nlmsg_cfg_put_qmaxlen(nlh, (uint32_t)maxlen);
	mnl_attr_put_u32(nlh, NFQA_CFG_FLAGS,
			 htonl((fail_open ? NFQA_CFG_F_FAIL_OPEN : 0) |
			       (gso ? NFQA_CFG_F_GSO : 0)));
	mnl_attr_put_u32(nlh, NFQA_CFG_MASK,
			 htonl(NFQA_CFG_F_FAIL_OPEN | NFQA_CFG_F_GSO));
	if (config(&b, nlh) < 0) {
		perror("bare: binding the queue");
		return 1;
	}

	bufs = malloc(BATCH * (size_t)(copy + MSG_ROOM));
	if (!bufs) {
		perror("bare");
		return 1;
	}
	for (int i = 0; i < BATCH; i++) {
		iov[i].iov_base = bufs + (size_t)i * (size_t)(copy + MSG_ROOM);
		iov[i].iov_len = (size_t)(copy + MSG_ROOM);
		memset(&msgs[i], 0, sizeof(msgs[i]));
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
	}
	start = now_s();
	while (!stop) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		double t = now_s(), wait = start + secs - t;
		uint32_t upto = 0;
		int r;

		if (idle_ms && b.packets &&
		    wait > (double)idle_ms / 1000 - (t - last))
			wait = (double)idle_ms / 1000 - (t - last);
		if (wait <= 0)
			break;
		r = recvmmsg(fd, msgs, BATCH, MSG_DONTWAIT, NULL);
		if (r < 0) {
			if (errno == ENOBUFS) {
				b.enobufs++;
				continue;
			}
			if (errno == EAGAIN) {
				/* Wake up at least every 100 ms to check the
				 * limits. */
				poll(&pfd, 1,
				     wait > 0.1 ? 100 : 1 + (int)(wait * 1000));
				continue;
			}
			if (errno == EINTR)
				continue;
			perror("bare: recvmmsg");
			ret = 1;
			break;
		}
		b.recv_calls++;
		for (int i = 0; i < r; i++) {
			const struct nlmsghdr *m = iov[i].iov_base;
			int left = (int)msgs[i].msg_len;

			for (; mnl_nlmsg_ok(m, left);
			     m = mnl_nlmsg_next(m, &left)) {
				uint32_t id = packet_id(m);

				if (id) {
					upto = id;
					b.packets++;
				}
			}
		}
		/* One verdict for the whole receive: ids are in order, and
		 * a batch verdict covers every queued id up to upto. */
		if (upto && verdict_batch(&b, upto) < 0) {
			perror("bare: verdict");
			ret = 1;
			break;
		}
		if (upto) {
			last = now_s();
			if (!first)
				first = last;
		}
	}

	nlh = nfq_nlmsg_put(cbuf, NFQNL_MSG_CONFIG, b.queue);
	nfq_nlmsg_cfg_put_cmd(nlh, AF_INET, NFQNL_CFG_CMD_UNBIND);
	if (config(&b, nlh) < 0)
		perror("bare: unbinding the queue");
	mnl_socket_close(b.nl);
	free(bufs);
	printf("bare pkts=%" PRIu64 " secs=%.3f pps=%.0f recv_calls=%" PRIu64
	       " enobufs=%" PRIu64 "\n",
	       b.packets, last - first,
	       last > first ? (double)b.packets / (last - first) : 0.0,
	       b.recv_calls, b.enobufs);
	return ret;
}
