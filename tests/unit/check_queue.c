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
 * accepted, whatever sends fail and whatever message is cut short; a
 * packet accepted or repeated gets exactly the verdict and the mark (or
 * none) decided for it, however runs of them are batched; a mark comes in
 * as NFQA_MARK and goes out in the batch verdicts.
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

enum { UNDECIDED, QUEUED, ACCEPTED, DROPPED, REPEATED };

static struct fake {
	uint8_t state[MAXID]; /* by packet id */
	bool marked[MAXID]; /* by packet id: a verdict set its mark */
	uint32_t mark[MAXID]; /* to this */
	unsigned batch_msgs, single_msgs; /* verdict messages taken */
	unsigned mark_attrs; /* of them with NFQA_MARK */
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

/* As nfnetlink_queue applies a verdict: one id, or (batch) every queued
 * id up to it; the mark, if the message has one, on each. */
static void verdict(uint32_t id, uint32_t v, bool batch, const uint32_t *mark)
{
	uint8_t to = v == NF_ACCEPT ? ACCEPTED :
		     v == NF_REPEAT ? REPEATED :
				      DROPPED;

	for (uint32_t i = batch ? 1 : id; i <= id && i < MAXID; i++)
		if (k.state[i] == QUEUED) {
			k.state[i] = to;
			k.marked[i] = mark != NULL;
			k.mark[i] = mark ? *mark : 0;
		}
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
		const struct nfqnl_msg_verdict_hdr *vh = NULL;
		uint32_t mark;
		bool has_mark = false;

		mnl_attr_for_each(a, nlh, sizeof(struct nfgenmsg))
		{
			if (mnl_attr_get_type(a) == NFQA_VERDICT_HDR)
				vh = mnl_attr_get_payload(a);
			if (mnl_attr_get_type(a) == NFQA_MARK) {
				mark = ntohl(mnl_attr_get_u32(a));
				has_mark = true;
			}
		}
		ck_assert_ptr_nonnull(vh);
		k.mark_attrs += has_mark;
		if (type == NFQNL_MSG_VERDICT_BATCH)
			k.batch_msgs++;
		else
			k.single_msgs++;
		verdict(ntohl(vh->id), ntohl(vh->verdict),
			type == NFQNL_MSG_VERDICT_BATCH,
			has_mark ? &mark : NULL);
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
static uint32_t in_mark; /* NFQA_MARK of the packets to come; 0: none */

/* Queue a packet of len bytes whose first byte says what the test wants
 * for it ('A': accept, 'D': drop, 'R': repeat) and whose second byte the
 * mark to set (0: none; else that byte times 0x01000000). Returns its
 * id. */
static uint32_t arrive_marked(char want, uint8_t mark, size_t len)
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
	if (in_mark)
		mnl_attr_put_u32(nlh, NFQA_MARK, htonl(in_mark));
	memset(data, 0, len);
	data[0] = (uint8_t)want;
	data[1] = mark;
	mnl_attr_put(nlh, NFQA_PAYLOAD, len, data);
	/* As the kernel sends it: the payload, last, not padded. */
	nlh->nlmsg_len -= (uint32_t)(MNL_ALIGN(len) - len);
	rx_push(buf, nlh->nlmsg_len);
	k.state[id] = QUEUED;
	return id;
}

static uint32_t arrive(char want, size_t len)
{
	return arrive_marked(want, 0, len);
}

static uint8_t want[MAXID]; /* by id: what the batch function decided */
static uint32_t want_mark[MAXID]; /* by id: the mark it set; 0: none */
static uint32_t got_mark[MAXID]; /* by id: NFQA_MARK as received */
static bool unverified[MAXID]; /* by id: checksum not verified */
static unsigned cut; /* packets judged on less than they were */

static void decide(void *arg, const struct queue_pkt *pkts, unsigned int n,
		   struct queue_verdict *v)
{
	(void)arg;
	for (unsigned int i = 0; i < n; i++) {
		uint32_t id = pkts[i].id;

		ck_assert_ptr_nonnull(pkts[i].data);
		ck_assert_uint_ge(pkts[i].caplen, 2);
		switch (pkts[i].data[0]) {
		case 'D':
			v[i].action = QUEUE_DROP;
			want[id] = DROPPED;
			break;
		case 'R':
			v[i].action = QUEUE_REPEAT;
			want[id] = REPEATED;
			break;
		default:
			v[i].action = QUEUE_ACCEPT;
			want[id] = ACCEPTED;
		}
		v[i].mark = (uint32_t)pkts[i].data[1] << 24;
		v[i].set_mark = v[i].mark && v[i].action != QUEUE_DROP;
		want_mark[id] = v[i].set_mark ? v[i].mark : 0;
		got_mark[id] = pkts[i].mark;
		cut += pkts[i].caplen < pkts[i].wirelen;
		unverified[id] = pkts[i].csum_unverified;
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
	memset(want_mark, 0, sizeof(want_mark));
	memset(got_mark, 0, sizeof(got_mark));
	in_mark = 0;
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

/* No packet meant to be dropped was accepted or repeated, nor one meant
 * to pass dropped; one that passed, with the verdict and the mark (or
 * none) decided for it; with all, every packet decided has its verdict. */
static void check_verdicts(bool all)
{
	for (uint32_t id = 1; id <= k.next_id; id++) {
		if (want[id] == DROPPED)
			ck_assert_msg(k.state[id] != ACCEPTED &&
					      k.state[id] != REPEATED,
				      "packet %u was to be dropped, but passed",
				      id);
		if (want[id] == ACCEPTED || want[id] == REPEATED) {
			ck_assert_msg(k.state[id] != DROPPED,
				      "packet %u was to pass, but was dropped",
				      id);
			if (k.state[id] != QUEUED)
				ck_assert_msg(
					k.state[id] == want[id] &&
						k.marked[id] ==
							!!want_mark[id] &&
						k.mark[id] == want_mark[id],
					"packet %u: verdict %u mark %d "
					"0x%08x, want %u 0x%08x",
					id, k.state[id], k.marked[id],
					k.mark[id], want[id], want_mark[id]);
		}
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

/* Accept mode sends what it always sent: one batch verdict for a run of
 * accepts, no NFQA_MARK, whatever mark the packets came with. */
START_TEST(accepts_one_batch_no_mark)
{
	in_mark = 0x00000042;
	for (int i = 0; i < 20; i++)
		arrive('A', 60);
	ck_assert_int_eq(queue_process(q, 1000, decide, NULL), 20);
	check_verdicts(true);
	ck_assert_uint_eq(k.batch_msgs, 1);
	ck_assert_uint_eq(k.single_msgs, 0);
	ck_assert_uint_eq(k.mark_attrs, 0);
	ck_assert_uint_eq(got_mark[7], 0x42);
}
END_TEST

/* A run is split where the verdict or the mark changes, and a drop gets a
 * verdict of its own: each run one batch verdict with its mark. */
START_TEST(runs_split_on_verdict_or_mark)
{
	static const struct {
		char want;
		uint8_t mark;
	} seq[] = { { 'A', 3 }, { 'A', 3 }, { 'A', 5 }, { 'A', 5 },
		    { 'R', 5 }, { 'R', 5 }, { 'D', 0 }, { 'R', 5 },
		    { 'A', 0 }, { 'A', 0 }, { 'R', 0 }, { 'R', 7 } };

	for (size_t i = 0; i < ARRAY_SIZE(seq); i++)
		arrive_marked(seq[i].want, seq[i].mark, 60);
	ck_assert_int_eq(queue_process(q, 1000, decide, NULL), ARRAY_SIZE(seq));
	check_verdicts(true);
	/* A3 A5 R5 | drop | R5 A- R- R7 */
	ck_assert_uint_eq(k.batch_msgs, 7);
	ck_assert_uint_eq(k.single_msgs, 1);
	ck_assert_uint_eq(k.mark_attrs, 5);
	ck_assert_uint_eq(queue_stats(q)->send_calls, 1);
	ck_assert_uint_eq(k.mark[2], 0x03000000);
	ck_assert(!k.marked[9]);
	ck_assert_int_eq(k.state[11], REPEATED);
}
END_TEST

/* Rounds of receives, each with a random pattern of drops, repeats, marks
 * and failed sends (some rounds fail every retry, some only the first
 * tries): no drop passes, and every packet that passes has its own
 * verdict and mark, never a neighbouring run's. */
START_TEST(random_send_failures_never_accept_a_drop)
{
	static const char wants[] = { 'A', 'A', 'R', 'D' };
	unsigned seed = 12345;

	for (int round = 0; round < 300 && k.next_id < MAXID - 80; round++) {
		int n = 1 + rand_r(&seed) % 70;

		for (int i = 0; i < n; i++)
			arrive_marked(wants[rand_r(&seed) % 4],
				      (uint8_t)(rand_r(&seed) % 3),
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
	tcase_add_test(tc, accepts_one_batch_no_mark);
	tcase_add_test(tc, runs_split_on_verdict_or_mark);
	tcase_add_test(tc, random_send_failures_never_accept_a_drop);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(queue_suite());
}
