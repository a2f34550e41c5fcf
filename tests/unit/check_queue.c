// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * check_queue.c - unit tests for queue.c's verdicts against a fake kernel.
 *
 * The test links queue.o with the netlink calls it makes wrapped
 * (-Wl,--wrap): the fake keeps the kernel's queue of packet ids and applies
 * verdicts as nfnetlink_queue does (a batch verdict decides every queued
 * id up to its own), answers configuration messages, fails sends on
 * request (ENOBUFS) and cuts datagrams longer than the receive buffer
 * (MSG_TRUNC). What is checked: a packet meant to be dropped is never
 * accepted, whatever sends fail and whatever message is cut short.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_queue.h>

#include "queue.h"
#include "testutil.h"

#define MAXID 4096
#define MAXRX 256
#define PKT_MAX 8192

enum { UNDECIDED, QUEUED, ACCEPTED, DROPPED };

static struct fake {
	uint8_t state[MAXID]; /* by packet id */
	uint8_t rx[MAXRX][PKT_MAX + 256]; /* datagrams to receive */
	size_t rxlen[MAXRX];
	unsigned rxhead, rxtail;
	unsigned fail_sends; /* sends to fail with ENOBUFS */
	uint32_t next_id;
} k;

static int fake_sock;

struct mnl_socket *__wrap_mnl_socket_open2(int bus, int flags);
int __wrap_mnl_socket_bind(struct mnl_socket *nl, unsigned int groups,
			   pid_t pid);
int __wrap_mnl_socket_get_fd(const struct mnl_socket *nl);
unsigned int __wrap_mnl_socket_get_portid(const struct mnl_socket *nl);
int __wrap_mnl_socket_setsockopt(const struct mnl_socket *nl, int type,
				 void *buf, socklen_t len);
int __wrap_mnl_socket_close(struct mnl_socket *nl);
ssize_t __wrap_mnl_socket_sendto(const struct mnl_socket *nl, const void *buf,
				 size_t len);
int __wrap_recvmmsg(int fd, struct mmsghdr *msgs, unsigned int n, int flags,
		    struct timespec *timeout);
int __wrap_setsockopt(int fd, int level, int name, const void *val,
		      socklen_t len);

struct mnl_socket *__wrap_mnl_socket_open2(int bus, int flags)
{
	(void)bus;
	(void)flags;
	return (struct mnl_socket *)(void *)&fake_sock;
}

int __wrap_mnl_socket_bind(struct mnl_socket *nl, unsigned int groups,
			   pid_t pid)
{
	(void)nl;
	(void)groups;
	(void)pid;
	return 0;
}

int __wrap_mnl_socket_get_fd(const struct mnl_socket *nl)
{
	static int fd = -1;

	(void)nl;
	if (fd < 0)
		fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	return fd; /* always readable: poll() never waits */
}

unsigned int __wrap_mnl_socket_get_portid(const struct mnl_socket *nl)
{
	(void)nl;
	return 4242;
}

int __wrap_mnl_socket_setsockopt(const struct mnl_socket *nl, int type,
				 void *buf, socklen_t len)
{
	(void)nl;
	(void)type;
	(void)buf;
	(void)len;
	return 0;
}

int __wrap_mnl_socket_close(struct mnl_socket *nl)
{
	(void)nl;
	return 0;
}

int __wrap_setsockopt(int fd, int level, int name, const void *val,
		      socklen_t len)
{
	(void)fd;
	(void)level;
	(void)name;
	(void)val;
	(void)len;
	return 0;
}

static void rx_push(const void *buf, size_t len)
{
	ck_assert_uint_lt(k.rxtail - k.rxhead, MAXRX);
	ck_assert_uint_le(len, sizeof(k.rx[0]));
	memcpy(k.rx[k.rxtail % MAXRX], buf, len);
	k.rxlen[k.rxtail % MAXRX] = len;
	k.rxtail++;
}

/* The kernel's answer to a message that asked for one. */
static void ack(const struct nlmsghdr *req)
{
	char buf[256];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct nlmsgerr *e = mnl_nlmsg_put_extra_header(nlh, sizeof(*e));

	nlh->nlmsg_type = NLMSG_ERROR;
	nlh->nlmsg_seq = req->nlmsg_seq;
	e->error = 0;
	e->msg = *req;
	rx_push(buf, nlh->nlmsg_len);
}

static void verdict(uint32_t id, uint32_t v, bool batch)
{
	uint8_t to = v == NF_ACCEPT ? ACCEPTED : DROPPED;

	if (!batch) {
		if (id < MAXID && k.state[id] == QUEUED)
			k.state[id] = to;
		return;
	}
	for (uint32_t i = 1; i <= id && i < MAXID; i++)
		if (k.state[i] == QUEUED)
			k.state[i] = to;
}

ssize_t __wrap_mnl_socket_sendto(const struct mnl_socket *nl, const void *buf,
				 size_t len)
{
	const struct nlmsghdr *nlh = buf;
	int left = (int)len;

	(void)nl;
	if (k.fail_sends) {
		k.fail_sends--;
		errno = ENOBUFS;
		return -1;
	}
	for (; mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left)) {
		uint8_t type = NFNL_MSG_TYPE(nlh->nlmsg_type);
		const struct nlattr *a;

		if (type == NFQNL_MSG_CONFIG) {
			if (nlh->nlmsg_flags & NLM_F_ACK)
				ack(nlh);
			continue;
		}
		mnl_attr_for_each(a, nlh, sizeof(struct nfgenmsg))
		{
			const struct nfqnl_msg_verdict_hdr *vh;

			if (mnl_attr_get_type(a) != NFQA_VERDICT_HDR)
				continue;
			vh = mnl_attr_get_payload(a);
			verdict(ntohl(vh->id), ntohl(vh->verdict),
				type == NFQNL_MSG_VERDICT_BATCH);
		}
	}
	return (ssize_t)len;
}

int __wrap_recvmmsg(int fd, struct mmsghdr *msgs, unsigned int n, int flags,
		    struct timespec *timeout)
{
	unsigned int i;

	(void)fd;
	(void)flags;
	(void)timeout;
	for (i = 0; i < n && k.rxhead != k.rxtail; i++, k.rxhead++) {
		struct iovec *iov = msgs[i].msg_hdr.msg_iov;
		size_t len = k.rxlen[k.rxhead % MAXRX];

		msgs[i].msg_hdr.msg_flags = 0;
		if (len > iov->iov_len) {
			len = iov->iov_len;
			msgs[i].msg_hdr.msg_flags = MSG_TRUNC;
		}
		memcpy(iov->iov_base, k.rx[k.rxhead % MAXRX], len);
		/* What lies in the buffer past a datagram is no part of it:
		 * a packet header with another id, where a parser that
		 * steps past the unpadded payload would find it. */
		if (iov->iov_len >= MNL_ALIGN(len) + 16) {
			uint8_t *after =
				(uint8_t *)iov->iov_base + MNL_ALIGN(len);
			struct nlattr na = { .nla_len = 12,
					     .nla_type = NFQA_PACKET_HDR };
			struct nfqnl_msg_packet_hdr ph = { .packet_id = htonl(
								   MAXID - 1) };

			memcpy(after, &na, sizeof(na));
			memcpy(after + sizeof(na), &ph, sizeof(ph));
		}
		msgs[i].msg_len = (unsigned int)len;
	}
	if (!i) {
		errno = EAGAIN;
		return -1;
	}
	return (int)i;
}

static uint32_t skb_info; /* NFQA_SKB_INFO of the packets to come */

/* Queue a packet of len bytes whose first byte says what the test wants
 * for it ('D': drop). Returns its id. */
static uint32_t arrive(char want, size_t len)
{
	static uint8_t buf[PKT_MAX + 256];
	uint8_t data[PKT_MAX];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct nfgenmsg *g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	struct nfqnl_msg_packet_hdr ph = { 0 };
	uint32_t id = ++k.next_id;

	ck_assert_uint_lt(id, MAXID);
	ck_assert_uint_le(len, sizeof(data));
	nlh->nlmsg_type = NFNL_SUBSYS_QUEUE << 8 | NFQNL_MSG_PACKET;
	g->nfgen_family = AF_INET;
	g->res_id = htons(7);
	ph.packet_id = htonl(id);
	mnl_attr_put(nlh, NFQA_PACKET_HDR, sizeof(ph), &ph);
	if (skb_info)
		mnl_attr_put_u32(nlh, NFQA_SKB_INFO, htonl(skb_info));
	memset(data, 0, len);
	data[0] = (uint8_t)want;
	mnl_attr_put(nlh, NFQA_PAYLOAD, len, data);
	/* As the kernel sends it: the payload, last, not padded. */
	nlh->nlmsg_len -= (uint32_t)(MNL_ALIGN(len) - len);
	rx_push(buf, nlh->nlmsg_len);
	k.state[id] = QUEUED;
	return id;
}

static uint8_t want[MAXID]; /* by id: what the batch function decided */
static bool unverified[MAXID]; /* by id: checksum not verified */
static unsigned cut; /* packets judged on less than they were */

static void decide(void *arg, const struct queue_pkt *pkts, unsigned int n,
		   bool *drop)
{
	(void)arg;
	for (unsigned int i = 0; i < n; i++) {
		ck_assert_ptr_nonnull(pkts[i].data);
		ck_assert_uint_ge(pkts[i].caplen, 1);
		drop[i] = pkts[i].data[0] == 'D';
		want[pkts[i].id] = drop[i] ? DROPPED : ACCEPTED;
		cut += pkts[i].caplen < pkts[i].wirelen;
		unverified[pkts[i].id] = pkts[i].csum_unverified;
	}
}

static struct queue *q;

static void setup(void)
{
	struct queue_params p = {
		.queue = 7,
		.copy_range = 256,
		.queue_maxlen = 1024,
		.rcvbuf = 1 << 20,
	};
	char err[256];

	memset(&k, 0, sizeof(k));
	memset(want, 0, sizeof(want));
	memset(unverified, 0, sizeof(unverified));
	skb_info = 0;
	cut = 0;
	q = queue_open(&p, decide, NULL, err, sizeof(err));
	ck_assert_msg(q != NULL, "%s", err);
}

static void teardown(void)
{
	queue_close(q, decide, NULL);
}

/* No packet meant to be dropped was accepted, nor one meant to pass
 * dropped; with all, every packet decided has its verdict. */
static void check_verdicts(bool all)
{
	for (uint32_t id = 1; id <= k.next_id; id++) {
		if (want[id] == DROPPED)
			ck_assert_msg(k.state[id] != ACCEPTED,
				      "packet %u was to be dropped, but was "
				      "accepted",
				      id);
		if (want[id] == ACCEPTED)
			ck_assert_msg(k.state[id] != DROPPED,
				      "packet %u was to pass, but was dropped",
				      id);
		if (all && want[id])
			ck_assert_msg(k.state[id] == want[id],
				      "packet %u has no verdict", id);
	}
}

/* The sends of a receive all fail: the drop in it must not be accepted by
 * the next receive's batch verdict. */
START_TEST(drop_survives_failed_send)
{
	arrive('A', 61);
	arrive('D', 62);
	arrive('A', 63);
	k.fail_sends = 100;
	ck_assert_int_eq(queue_process(q, 1000, decide, NULL), 3);
	ck_assert_uint_ge(queue_stats(q)->send_errors, 1);
	k.fail_sends = 0;
	arrive('A', 60);
	arrive('A', 60);
	ck_assert_int_eq(queue_process(q, 1000, decide, NULL), 2);
	check_verdicts(true);
	ck_assert_int_eq(k.state[2], DROPPED);
}
END_TEST

/* Kept drops go out even when only drops follow. */
START_TEST(kept_drop_sent_without_accepts)
{
	arrive('D', 60);
	k.fail_sends = 100;
	ck_assert_int_eq(queue_process(q, 1000, decide, NULL), 1);
	k.fail_sends = 0;
	ck_assert_int_eq(k.state[1], QUEUED);
	arrive('D', 60);
	ck_assert_int_eq(queue_process(q, 1000, decide, NULL), 1);
	check_verdicts(true);
}
END_TEST

/* A message longer than the receive buffer (copy_range lowered by a
 * reload while longer copies were queued): its packet is judged on what
 * arrived and gets its own verdict, not the next batch's accept. */
START_TEST(cut_message_gets_own_verdict)
{
	arrive('A', 60);
	arrive('D', 6000); /* beyond 256 + 4096 bytes of buffer */
	arrive('A', 60);
	ck_assert_int_eq(queue_process(q, 1000, decide, NULL), 3);
	ck_assert_uint_eq(cut, 1);
	check_verdicts(true);
	ck_assert_int_eq(k.state[2], DROPPED);
}
END_TEST

/* The kernel's word on checksums reaches the engine: to verify only when
 * it says it has not (NFQA_SKB_CSUM_NOTVERIFIED), not when it is yet to
 * be computed (CSUMNOTREADY), nor when it says nothing (verified). */
START_TEST(checksum_hint_passed_on)
{
	skb_info = NFQA_SKB_CSUM_NOTVERIFIED;
	arrive('A', 60);
	skb_info = NFQA_SKB_CSUMNOTREADY | NFQA_SKB_GSO;
	arrive('A', 60);
	skb_info = 0;
	arrive('A', 60);
	ck_assert_int_eq(queue_process(q, 1000, decide, NULL), 3);
	ck_assert(unverified[1]);
	ck_assert(!unverified[2]);
	ck_assert(!unverified[3]);
	check_verdicts(true);
}
END_TEST

/* Rounds of receives, each with a random pattern of drops and of failed
 * sends (some rounds fail every retry, some only the first tries). */
START_TEST(random_send_failures_never_accept_a_drop)
{
	unsigned seed = 12345;

	for (int round = 0; round < 300 && k.next_id < MAXID - 80; round++) {
		int n = 1 + rand_r(&seed) % 70;

		for (int i = 0; i < n; i++)
			arrive(rand_r(&seed) % 4 ? 'A' : 'D',
			       37 + (size_t)(rand_r(&seed) % 8));
		k.fail_sends =
			(unsigned)(rand_r(&seed) % 3 ? 0 : rand_r(&seed) % 8);
		ck_assert_int_eq(queue_process(q, 1000, decide, NULL), n);
		check_verdicts(false);
	}
	k.fail_sends = 0;
	arrive('A', 40);
	ck_assert_int_eq(queue_process(q, 1000, decide, NULL), 1);
	check_verdicts(true);
}
END_TEST

static Suite *queue_suite(void)
{
	Suite *s = suite_create("queue");
	TCase *tc = tcase_create("verdicts");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, drop_survives_failed_send);
	tcase_add_test(tc, kept_drop_sent_without_accepts);
	tcase_add_test(tc, cut_message_gets_own_verdict);
	tcase_add_test(tc, checksum_hint_passed_on);
	tcase_add_test(tc, random_send_failures_never_accept_a_drop);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(queue_suite());
}
