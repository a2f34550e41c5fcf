// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * queue.c - NFQUEUE over libmnl and libnetfilter_queue's nlmsg API; see queue.h.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <libnetfilter_queue/libnetfilter_queue.h>

#include "queue.h"

#define KSTATS_PATH "/proc/net/netfilter/nfnetlink_queue"
#define RECV_BATCH 64 /* messages per recvmmsg() */
#define MSG_OVERHEAD 4096 /* netlink headers and attributes around a copy */
#define VERDICT_MSG 64 /* room for one verdict message, aligned */
#define OUT_SIZE ((2 * RECV_BATCH + 4) * VERDICT_MSG)
#define SYNC_TIMEOUT_MS 5000

/* Packets up to upto given the same verdict (NF_ACCEPT or NF_REPEAT) and
 * the same mark, or none (!set_mark). */
struct run {
	uint32_t upto;
	uint32_t mark;
	int verdict;
	bool set_mark;
};

struct queue {
	struct mnl_socket *nl;
	int fd;
	uint32_t portid;
	uint16_t queue;
	bool fail_open;
	uint32_t seq;

	uint8_t *bufs; /* RECV_BATCH buffers of bufsize bytes */
	size_t bufsize;
	struct mmsghdr msgs[RECV_BATCH];
	struct iovec iov[RECV_BATCH];

	char out[OUT_SIZE]; /* verdicts to send */
	size_t outlen;
	/* Runs of packets decided alike, oldest first, each to be one batch
	 * verdict: the first runs_out of them are in out, the rest not yet.
	 * A run leaves only once a send carried it to the kernel; a failed
	 * send leaves them all to go again, in their order. */
	struct run *runs;
	uint32_t nruns, runs_out;
	/* Drops the kernel has not taken (a send failed): sent again, each
	 * on its own, before any batch verdict, since a batch accepts every
	 * queued id up to its own. As many as the kernel can hold queued
	 * (runs too); should that ever not do, batch_off: accepts and
	 * repeats go one by one. */
	uint32_t *held;
	uint32_t nheld, held_cap;
	bool batch_off;

	struct queue_pkt batch[QUEUE_BATCH_MAX]; /* received, not decided */
	struct queue_verdict verdict[QUEUE_BATCH_MAX];
	unsigned int nbatch;

	uint32_t wait_seq; /* config message awaiting its answer */
	bool wait_done;
	int wait_errno;

	struct queue_stats st;
	/* The kernel's per-queue statistics, opened while we may (the file
	 * is root's, mode 0440) and read again from the start each time;
	 * -1 if it could not be opened yet. */
	int kstats;
};

/* Room to keep a drop, or a run, for every packet the kernel may hold
 * queued, and for those of one more receive; grown, never shrunk, since
 * a shorter queue keeps what it holds. */
static int set_held(struct queue *q, uint32_t queue_maxlen)
{
	uint32_t cap = queue_maxlen + 2 * RECV_BATCH;
	struct run *r;
	uint32_t *h;

	if (cap <= q->held_cap)
		return 0;
	h = realloc(q->held, cap * sizeof(*h));
	if (!h)
		return -1;
	q->held = h;
	r = realloc(q->runs, cap * sizeof(*r));
	if (!r)
		return -1; /* the old cap still holds for both */
	q->runs = r;
	q->held_cap = cap;
	return 0;
}

static int set_buffers(struct queue *q, uint32_t copy_range)
{
	size_t size = copy_range + MSG_OVERHEAD;
	uint8_t *b;

	if (q->bufs && size == q->bufsize)
		return 0;
	b = malloc(RECV_BATCH * size);
	if (!b)
		return -1;
	free(q->bufs);
	q->bufs = b;
	q->bufsize = size;
	for (int i = 0; i < RECV_BATCH; i++) {
		q->iov[i].iov_base = b + (size_t)i * size;
		q->iov[i].iov_len = size;
		memset(&q->msgs[i], 0, sizeof(q->msgs[i]));
		q->msgs[i].msg_hdr.msg_iov = &q->iov[i];
		q->msgs[i].msg_hdr.msg_iovlen = 1;
	}
	return 0;
}

/* Keep the drop for id until a send carries it to the kernel. */
static void hold_drop(struct queue *q, uint32_t id)
{
	if (q->nheld < q->held_cap)
		q->held[q->nheld++] = id;
	else
		q->batch_off = true; /* never accept past it */
}

/*
 * The kernel took none of the verdicts in q->out (a netlink send is one
 * message to the kernel, processed whole or not at all): keep the drops,
 * which go out again before any batch verdict. The batch verdicts' runs
 * are still in q->runs, to go again in their order. O(verdicts in
 * q->out).
 */
static void keep_unsent(struct queue *q)
{
	const struct nlmsghdr *nlh = (const struct nlmsghdr *)(void *)q->out;
	int left = (int)q->outlen;

	for (; mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left)) {
		const struct nlattr *a;

		if (NFNL_MSG_TYPE(nlh->nlmsg_type) != NFQNL_MSG_VERDICT)
			continue;
		mnl_attr_for_each(a, nlh, sizeof(struct nfgenmsg))
		{
			const struct nfqnl_msg_verdict_hdr *vh;

			if (mnl_attr_get_type(a) != NFQA_VERDICT_HDR ||
			    mnl_attr_get_payload_len(a) < sizeof(*vh))
				continue;
			vh = mnl_attr_get_payload(a);
			if (ntohl(vh->verdict) == NF_DROP)
				hold_drop(q, ntohl(vh->id));
			/* An accept or repeat of its own (batch_off) is
			 * lost: that packet waits in the kernel's queue,
			 * never accepted past a drop. */
		}
	}
}

/* The runs a send carried to the kernel are done. */
static void runs_sent(struct queue *q)
{
	if (!q->runs_out)
		return;
	q->nruns -= q->runs_out;
	memmove(q->runs, q->runs + q->runs_out, q->nruns * sizeof(*q->runs));
	q->runs_out = 0;
}

/* Send q->out. Returns 0, or -1 when the kernel would not take it; the
 * drops and accepts in it are then kept for the next send. */
static int send_out(struct queue *q)
{
	int tries = 0, ret = 0;

	while (q->outlen) {
		if (mnl_socket_sendto(q->nl, q->out, q->outlen) >= 0) {
			q->st.send_calls++;
			runs_sent(q);
			break;
		}
		if (errno == EINTR) {
			q->st.eintr++;
			continue;
		}
		/* ENOBUFS or ENOMEM: the kernel is short of memory for a
		 * moment. Retry a little; then keep the verdicts for the
		 * next send. */
		if ((errno == ENOBUFS || errno == ENOMEM) && ++tries < 3)
			continue;
		q->st.send_errors++;
		keep_unsent(q);
		q->runs_out = 0;
		ret = -1;
		break;
	}
	q->outlen = 0;
	return ret;
}

/* Room in q->out for one more verdict, sending what it holds if need be.
 * Returns 0, or -1 if a send failed. */
static int make_room(struct queue *q)
{
	if (q->outlen + VERDICT_MSG <= sizeof(q->out))
		return 0;
	return send_out(q);
}

/* A verdict message into q->out (room made), with NFQA_MARK if mark. */
static void put_msg(struct queue *q, int type, uint32_t id, int verdict,
		    const uint32_t *mark)
{
	struct nlmsghdr *nlh =
		nfq_nlmsg_put(q->out + q->outlen, type, q->queue);

	nfq_nlmsg_verdict_put(nlh, (int)id, verdict);
	if (mark)
		nfq_nlmsg_verdict_put_mark(nlh, *mark);
	q->outlen += NLMSG_ALIGN(nlh->nlmsg_len);
	q->st.verdict_msgs++;
}

/* A verdict of one packet's own; a drop that cannot go out now is kept. */
static void put_verdict(struct queue *q, uint32_t id, int verdict,
			const uint32_t *mark)
{
	if (make_room(q) < 0 && verdict == NF_DROP) {
		hold_drop(q, id);
		return;
	}
	put_msg(q, NFQNL_MSG_VERDICT, id, verdict, mark);
}

/*
 * The pending runs, each as one batch verdict in their order, behind every
 * drop kept from a failed send, in the same send: the kernel then drops
 * those before a batch can accept them. If they cannot be sent, the runs
 * wait too.
 */
static void put_runs(struct queue *q)
{
	if (q->runs_out == q->nruns || q->batch_off)
		return;
	while (q->nheld) {
		if (make_room(q) < 0)
			return; /* kept again by keep_unsent() */
		put_msg(q, NFQNL_MSG_VERDICT, q->held[--q->nheld], NF_DROP,
			NULL);
	}
	while (q->runs_out < q->nruns) {
		const struct run *r;

		/* A send in make_room() moves the runs it carried out. */
		if (make_room(q) < 0 || q->nheld)
			return;
		r = &q->runs[q->runs_out++];
		put_msg(q, NFQNL_MSG_VERDICT_BATCH, r->upto, r->verdict,
			r->set_mark ? &r->mark : NULL);
	}
}

/* Everything decided goes out; drops kept from a failed send go again
 * even when no run follows them. */
static void flush(struct queue *q)
{
	put_runs(q);
	while (q->nheld && make_room(q) == 0)
		put_msg(q, NFQNL_MSG_VERDICT, q->held[--q->nheld], NF_DROP,
			NULL);
	send_out(q);
}

/* Packet id, accepted or repeated as v says: onto the last run if it is
 * decided alike and not in q->out yet, else a run of its own (one by one
 * once batch_off). O(1). */
static void add_to_run(struct queue *q, uint32_t id,
		       const struct queue_verdict *v)
{
	int verdict = v->action == QUEUE_REPEAT ? NF_REPEAT : NF_ACCEPT;

	if (q->nruns > q->runs_out) {
		struct run *r = &q->runs[q->nruns - 1];

		if (r->verdict == verdict && r->set_mark == v->set_mark &&
		    (!v->set_mark || r->mark == v->mark)) {
			r->upto = id;
			return;
		}
	}
	if (q->nruns == q->held_cap) {
		/* Runs kept from sends that failed fill the room: send
		 * them now, or go one by one. */
		put_runs(q);
		send_out(q);
		if (q->nruns == q->held_cap)
			q->batch_off = true;
	}
	if (q->batch_off) {
		put_verdict(q, id, verdict, v->set_mark ? &v->mark : NULL);
		return;
	}
	q->runs[q->nruns++] = (struct run){
		.upto = id,
		.mark = v->set_mark ? v->mark : 0,
		.verdict = verdict,
		.set_mark = v->set_mark,
	};
}

/* Decide the packets collected so far, and queue their verdicts: a run of
 * packets decided alike becomes one batch verdict, sent before any drop
 * after it. */
static void run_batch(struct queue *q, queue_batch_fn fn, void *arg)
{
	if (!q->nbatch)
		return;
	fn(arg, q->batch, q->nbatch, q->verdict);
	for (unsigned int i = 0; i < q->nbatch; i++) {
		const struct queue_verdict *v = &q->verdict[i];

		if (v->action == QUEUE_DROP) {
			put_runs(q); /* ids before this one */
			put_verdict(q, q->batch[i].id, NF_DROP, NULL);
		} else {
			add_to_run(q, q->batch[i].id, v);
		}
	}
	q->nbatch = 0;
}

/*
 * One packet message, of which have bytes were received: all of it, or,
 * when the receive buffer cut the message short, its start. Attributes
 * before the payload are whole (the kernel puts the payload last), so the
 * packet keeps its id and gets a verdict of its own: it is judged on what
 * arrived, like a packet beyond the copy range, not covered unseen by a
 * later batch verdict.
 */
static void handle_packet(struct queue *q, const struct nlmsghdr *nlh,
			  size_t have, queue_batch_fn fn, void *arg)
{
	const uint8_t *payload = NULL, *at, *end = (const uint8_t *)nlh + have;
	uint32_t id = 0, wirelen = 0, skbinfo = 0, plen = 0, mark = 0;
	bool have_id = false;

	/* Signed: the payload, last, is not padded to the alignment that
	 * steps past it (the kernel's nlmsg_len is the skb's length). */
	at = mnl_nlmsg_get_payload_offset(nlh, sizeof(struct nfgenmsg));
	while (end - at >= (ptrdiff_t)MNL_ATTR_HDRLEN) {
		const struct nlattr *a =
			(const struct nlattr *)(const void *)at;
		size_t alen = a->nla_len, len;

		if (alen < MNL_ATTR_HDRLEN)
			break;
		if (alen > (size_t)(end - at)) {
			/* Cut short: the payload, which the kernel copied
			 * whole, is as long as the attribute says. */
			if (mnl_attr_get_type(a) == NFQA_PAYLOAD) {
				payload = mnl_attr_get_payload(a);
				plen = (uint32_t)(end - payload);
				if (wirelen < alen - MNL_ATTR_HDRLEN)
					wirelen = (uint32_t)(alen -
							     MNL_ATTR_HDRLEN);
			}
			break;
		}
		len = alen - MNL_ATTR_HDRLEN;
		switch (mnl_attr_get_type(a)) {
		case NFQA_PACKET_HDR:
			if (len >= sizeof(struct nfqnl_msg_packet_hdr)) {
				const struct nfqnl_msg_packet_hdr *ph =
					mnl_attr_get_payload(a);

				id = ntohl(ph->packet_id);
				have_id = true;
			}
			break;
		case NFQA_PAYLOAD:
			payload = mnl_attr_get_payload(a);
			plen = (uint32_t)len;
			break;
		case NFQA_CAP_LEN:
			if (len >= 4)
				wirelen = ntohl(mnl_attr_get_u32(a));
			break;
		case NFQA_SKB_INFO:
			if (len >= 4)
				skbinfo = ntohl(mnl_attr_get_u32(a));
			break;
		case NFQA_MARK:
			if (len >= 4)
				mark = ntohl(mnl_attr_get_u32(a));
			break;
		}
		at += MNL_ALIGN(alen);
	}
	if (!have_id) {
		/* No id, no verdict: a later batch verdict will cover it. */
		q->st.bad_messages++;
		return;
	}
	q->st.packets++;
	if (wirelen < plen)
		wirelen = plen; /* NFQA_CAP_LEN only comes when truncated */
	if (q->nbatch == QUEUE_BATCH_MAX)
		run_batch(q, fn, arg);
	q->batch[q->nbatch++] = (struct queue_pkt){
		.data = payload,
		.caplen = payload ? plen : 0,
		.wirelen = wirelen,
		.id = id,
		.mark = mark,
		.gso = skbinfo & NFQA_SKB_GSO,
		.csum_unverified = skbinfo & NFQA_SKB_CSUM_NOTVERIFIED,
	};
}

static bool is_packet(const struct nlmsghdr *nlh, size_t have)
{
	return NFNL_SUBSYS_ID(nlh->nlmsg_type) == NFNL_SUBSYS_QUEUE &&
	       NFNL_MSG_TYPE(nlh->nlmsg_type) == NFQNL_MSG_PACKET &&
	       have >= mnl_nlmsg_size(sizeof(struct nfgenmsg));
}

static void handle_msg(struct queue *q, const struct nlmsghdr *nlh,
		       queue_batch_fn fn, void *arg)
{
	if (nlh->nlmsg_type == NLMSG_ERROR) {
		const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);

		if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*e))) {
			q->st.bad_messages++;
		} else if (q->wait_seq && nlh->nlmsg_seq == q->wait_seq) {
			q->wait_done = true;
			q->wait_errno = -e->error;
		} else if (e->error) {
			q->st.nl_errors++;
		}
		return;
	}
	if (is_packet(nlh, nlh->nlmsg_len))
		handle_packet(q, nlh, nlh->nlmsg_len, fn, arg);
	else if (nlh->nlmsg_type != NLMSG_NOOP && nlh->nlmsg_type != NLMSG_DONE)
		q->st.bad_messages++;
}

static void handle_buf(struct queue *q, const uint8_t *buf, size_t len,
		       bool truncated, queue_batch_fn fn, void *arg)
{
	/* Receive buffers come from malloc() and messages are padded to
	 * NLMSG_ALIGNTO: the headers are aligned. */
	const struct nlmsghdr *nlh = (const struct nlmsghdr *)(const void *)buf;
	int left = (int)len;

	while (mnl_nlmsg_ok(nlh, left)) {
		handle_msg(q, nlh, fn, arg);
		nlh = mnl_nlmsg_next(nlh, &left);
	}
	if (left <= 0)
		return;
	q->st.bad_messages++;
	/* A message cut short by the buffer: its packet still gets a verdict
	 * (handle_packet()). */
	if (truncated && (size_t)left >= sizeof(*nlh) &&
	    nlh->nlmsg_len > (uint32_t)left && is_packet(nlh, (size_t)left))
		handle_packet(q, nlh, (size_t)left, fn, arg);
}

int queue_process(struct queue *q, unsigned int max_packets, queue_batch_fn fn,
		  void *arg)
{
	uint64_t start = q->st.packets;

	while (q->st.packets - start < max_packets) {
		int r = recvmmsg(q->fd, q->msgs, RECV_BATCH, MSG_DONTWAIT,
				 NULL);

		if (r < 0) {
			if (errno == EINTR) {
				q->st.eintr++;
				continue;
			}
			if (errno == ENOBUFS) {
				/* The kernel dropped messages for a full
				 * socket buffer; what follows is intact. */
				q->st.enobufs++;
				continue;
			}
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			if (errno == ENOMEM) {
				/* Short of memory for a moment: try again on
				 * the next turn of the loop. */
				q->st.recv_errors++;
				break;
			}
			flush(q);
			return -1;
		}
		q->st.recv_calls++;
		for (int i = 0; i < r; i++)
			handle_buf(q, q->iov[i].iov_base, q->msgs[i].msg_len,
				   q->msgs[i].msg_hdr.msg_flags & MSG_TRUNC, fn,
				   arg);
		run_batch(q, fn, arg); /* before the buffers are reused */
		flush(q);
	}
	return (int)(q->st.packets - start);
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Send a config message and wait for the kernel's answer, giving verdicts
 * to the packets that arrive meanwhile. Returns 0 or -1 with errno. */
static int config_sync(struct queue *q, struct nlmsghdr *nlh, queue_batch_fn fn,
		       void *arg)
{
	uint64_t deadline = now_ms() + SYNC_TIMEOUT_MS;

	nlh->nlmsg_flags |= NLM_F_ACK;
	nlh->nlmsg_seq = ++q->seq;
	q->wait_seq = nlh->nlmsg_seq;
	q->wait_done = false;
	if (mnl_socket_sendto(q->nl, nlh, nlh->nlmsg_len) < 0) {
		q->wait_seq = 0;
		return -1;
	}
	while (!q->wait_done) {
		struct pollfd pfd = { .fd = q->fd, .events = POLLIN };
		uint64_t t = now_ms();

		if (t >= deadline) {
			q->wait_seq = 0;
			errno = ETIMEDOUT;
			return -1;
		}
		if (poll(&pfd, 1, (int)(deadline - t)) < 0 && errno != EINTR) {
			q->wait_seq = 0;
			return -1;
		}
		/* Bounded, so that a flood cannot hide the answer from us. */
		if (queue_process(q, RECV_BATCH, fn, arg) < 0) {
			q->wait_seq = 0;
			return -1;
		}
	}
	q->wait_seq = 0;
	if (q->wait_errno) {
		errno = q->wait_errno;
		return -1;
	}
	return 0;
}

static void put_params(struct nlmsghdr *nlh, const struct queue_params *p)
{
	uint32_t flags = NFQA_CFG_F_GSO |
			 (p->fail_open ? NFQA_CFG_F_FAIL_OPEN : 0);

	nfq_nlmsg_cfg_put_params(nlh, NFQNL_COPY_PACKET, (int)p->copy_range);
	nfq_nlmsg_cfg_put_qmaxlen(nlh, p->queue_maxlen);
	mnl_attr_put_u32(nlh, NFQA_CFG_FLAGS, htonl(flags));
	mnl_attr_put_u32(nlh, NFQA_CFG_MASK,
			 htonl(NFQA_CFG_F_GSO | NFQA_CFG_F_FAIL_OPEN));
}

static int set_rcvbuf(struct queue *q, uint32_t bytes)
{
	int v = (int)bytes;

	return setsockopt(q->fd, SOL_SOCKET, SO_RCVBUFFORCE, &v, sizeof(v));
}

/* The line for queue in the kernel's statistics, read from the start
 * with read(2) each time: a stdio stream would serve the rewind from what
 * it buffered the first time, and the figures would never change. */
static int read_kernel_stats(int fd, uint16_t queue,
			     struct queue_kernel_stats *ks)
{
	unsigned int num, peer, total, mode, range, drop, udrop, seq;
	char buf[4096], *line, *nl;
	size_t len = 0;
	ssize_t r;

	if (lseek(fd, 0, SEEK_SET) < 0)
		return -1;
	for (;;) {
		r = read(fd, buf + len, sizeof(buf) - 1 - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		len += (size_t)r;
		buf[len] = '\0';
		for (line = buf; (nl = strchr(line, '\n')); line = nl + 1) {
			*nl = '\0';
			if (sscanf(line, "%u %u %u %u %u %u %u %u", &num, &peer,
				   &total, &mode, &range, &drop, &udrop,
				   &seq) == 8 &&
			    num == queue) {
				ks->queue_total = total;
				ks->queue_dropped = drop;
				ks->user_dropped = udrop;
				ks->id_sequence = seq;
				return 0;
			}
		}
		/* Keep the start of a line cut by the read; no line is as
		 * long as the buffer. */
		len -= (size_t)(line - buf);
		memmove(buf, line, len);
		if (len == sizeof(buf) - 1)
			len = 0;
	}
}

static void queue_free(struct queue *q)
{
	if (q->nl)
		mnl_socket_close(q->nl);
	if (q->kstats >= 0)
		close(q->kstats);
	free(q->bufs);
	free(q->held);
	free(q->runs);
	free(q);
}

struct queue *queue_open(const struct queue_params *p, queue_batch_fn fn,
			 void *arg, char *err, size_t errlen)
{
	char buf[8192];
	struct nlmsghdr *nlh;
	struct queue *q = calloc(1, sizeof(*q));
	int one = 1, e;

	if (!q) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	q->queue = p->queue;
	q->fail_open = p->fail_open;
	q->kstats = -1;
	q->seq = (uint32_t)time(NULL);
	if (set_buffers(q, p->copy_range) < 0 ||
	    set_held(q, p->queue_maxlen) < 0) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	q->nl = mnl_socket_open2(NETLINK_NETFILTER,
				 SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (!q->nl) {
		snprintf(err, errlen,
			 "cannot open a netfilter netlink socket: %s",
			 strerror(errno));
		goto fail;
	}
	if (mnl_socket_bind(q->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		snprintf(err, errlen, "cannot bind the netlink socket: %s",
			 strerror(errno));
		goto fail;
	}
	q->fd = mnl_socket_get_fd(q->nl);
	q->kstats = open(KSTATS_PATH, O_RDONLY | O_CLOEXEC);
	q->portid = mnl_socket_get_portid(q->nl);
	if (set_rcvbuf(q, p->rcvbuf) < 0) {
		snprintf(err, errlen,
			 "cannot set the receive buffer to %u bytes "
			 "(SO_RCVBUFFORCE needs CAP_NET_ADMIN): %s",
			 p->rcvbuf, strerror(errno));
		goto fail;
	}
	/* Overruns are counted by the kernel (nfnetlink_queue's
	 * user_dropped) and, with fail-open, not even that; an ENOBUFS error
	 * on every overrun would only cost receive calls. */
	if (mnl_socket_setsockopt(q->nl, NETLINK_NO_ENOBUFS, &one,
				  sizeof(one)) < 0) {
		snprintf(err, errlen, "cannot set NETLINK_NO_ENOBUFS: %s",
			 strerror(errno));
		goto fail;
	}

	/* Bind and set parameters in one message, so that no packet meets
	 * the queue while it would still refuse to copy it. */
	nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, p->queue);
	nfq_nlmsg_cfg_put_cmd(nlh, AF_INET, NFQNL_CFG_CMD_BIND);
	put_params(nlh, p);
	if (config_sync(q, nlh, fn, arg) < 0) {
		struct queue_kernel_stats ks;

		e = errno;
		/* The kernel answers EPERM both to a process without
		 * CAP_NET_ADMIN and when another socket holds the queue. */
		if (e == EBUSY ||
		    (e == EPERM && q->kstats >= 0 &&
		     read_kernel_stats(q->kstats, p->queue, &ks) == 0))
			snprintf(err, errlen,
				 "queue %u is already bound by "
				 "another process",
				 p->queue);
		else if (e == EPERM)
			snprintf(err, errlen,
				 "not allowed to bind queue %u "
				 "(needs CAP_NET_ADMIN)",
				 p->queue);
		else
			snprintf(err, errlen, "cannot bind queue %u: %s",
				 p->queue, strerror(e));
		errno = e;
		goto fail;
	}
	return q;
fail:
	e = errno;
	queue_free(q);
	errno = e;
	return NULL;
}

int queue_configure(struct queue *q, const struct queue_params *p,
		    queue_batch_fn fn, void *arg)
{
	char buf[8192];
	struct nlmsghdr *nlh;

	if (set_buffers(q, p->copy_range) < 0 ||
	    set_held(q, p->queue_maxlen) < 0 || set_rcvbuf(q, p->rcvbuf) < 0)
		return -1;
	nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, q->queue);
	put_params(nlh, p);
	if (config_sync(q, nlh, fn, arg) < 0)
		return -1;
	q->fail_open = p->fail_open;
	return 0;
}

int queue_fd(const struct queue *q)
{
	return q->fd;
}

const struct queue_stats *queue_stats(const struct queue *q)
{
	return &q->st;
}

int queue_close(struct queue *q, queue_batch_fn fn, void *arg)
{
	char buf[8192];
	struct nlmsghdr *nlh;
	int ret = 0, e = 0;

	if (q->fail_open) {
		/* A queue of length 0 with fail-open passes every new packet
		 * at once, so that none is queued only to be dropped when we
		 * unbind. */
		nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, q->queue);
		nfq_nlmsg_cfg_put_qmaxlen(nlh, 0);
		if (config_sync(q, nlh, fn, arg) < 0) {
			ret = -1;
			e = errno;
		}
	}
	/* Without fail-open new packets keep coming: drain a bounded amount. */
	for (int i = 0; i < 100 && queue_process(q, 1024, fn, arg) > 0; i++)
		;
	nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, q->queue);
	nfq_nlmsg_cfg_put_cmd(nlh, AF_INET, NFQNL_CFG_CMD_UNBIND);
	if (config_sync(q, nlh, fn, arg) < 0 && !ret) {
		ret = -1;
		e = errno;
	}
	queue_free(q);
	errno = e;
	return ret;
}

int queue_kernel_stats(struct queue *q, struct queue_kernel_stats *ks)
{
	if (q->kstats < 0)
		q->kstats = open(KSTATS_PATH, O_RDONLY | O_CLOEXEC);
	if (q->kstats < 0)
		return -1;
	return read_kernel_stats(q->kstats, q->queue, ks);
}
