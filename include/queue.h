/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * queue.h - one NFQUEUE queue over libmnl: bind, receive in batches,
 * verdict in batches.
 *
 * Packets are received many per system call (recvmmsg). Each gets exactly
 * one verdict: a run of packets with the same verdict (accept or repeat)
 * and the same mark to set, or none, is answered by one
 * NFQNL_MSG_VERDICT_BATCH (which covers every queued id up to the run's
 * last, and carries the run's NFQA_MARK if it sets one); a change of
 * verdict or mark starts another run; a drop gets a verdict of its own
 * after the runs before it, and all verdicts of one receive go out in one
 * sendto(). No packet waits for more than the batch it arrived in, unless
 * the kernel refuses the send (ENOBUFS): then the drops are kept and go
 * out again, each on its own, ahead of any later batch verdict, so that a
 * batch never accepts a packet that was to be dropped, and the runs are
 * kept and go out again in their order, each with its own verdict and
 * mark. A message cut short by the receive buffer still yields its
 * packet, with the bytes that arrived. Not thread-safe: one struct queue
 * per thread.
 */
#ifndef NFQT_QUEUE_H
#define NFQT_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct queue_params {
	uint16_t queue;
	uint32_t copy_range; /* bytes of each packet copied to us */
	uint32_t queue_maxlen; /* packets the kernel holds for us */
	uint32_t rcvbuf; /* SO_RCVBUFFORCE bytes */
	bool fail_open; /* accept, not drop, when the queue is full */
};

struct queue_stats {
	uint64_t packets; /* packet messages received */
	uint64_t recv_calls; /* recvmmsg() calls that returned data */
	uint64_t send_calls; /* verdict sendto() calls */
	uint64_t verdict_msgs; /* verdict messages sent */
	uint64_t enobufs; /* receive overruns reported by the kernel */
	uint64_t recv_errors; /* receives that failed for want of memory */
	uint64_t eintr; /* interrupted system calls, retried */
	uint64_t send_errors; /* verdicts the kernel did not take */
	uint64_t nl_errors; /* error messages from the kernel */
	uint64_t bad_messages; /* messages we could not decode */
};

/* One packet of a batch: the IP packet (caplen bytes of it, wirelen
 * long; data NULL when the kernel sent none), its mark (NFQA_MARK; 0 when
 * the kernel sent none, which it does for a mark of 0), whether it is an
 * unsegmented GSO packet, and whether its checksum is yet to be verified
 * (NFQA_SKB_CSUM_NOTVERIFIED: neither the device nor the kernel has; not
 * set for one still to be computed, NFQA_SKB_CSUMNOTREADY). */
struct queue_pkt {
	const uint8_t *data;
	uint32_t caplen, wirelen;
	uint32_t id;
	uint32_t mark;
	bool gso;
	bool csum_unverified;
};

/* What becomes of a packet: NF_ACCEPT, NF_DROP or NF_REPEAT. */
enum queue_action { QUEUE_ACCEPT, QUEUE_DROP, QUEUE_REPEAT };

/* A packet's verdict: its action and, for an accept or a repeat, the mark
 * to give it (set_mark; mark is then the whole new mark) or none (the
 * mark stays as it is, and the verdict carries no NFQA_MARK). */
struct queue_verdict {
	uint8_t action; /* enum queue_action */
	bool set_mark;
	uint32_t mark; /* 0 unless set_mark */
};

/* The most packets one call of a queue_batch_fn gets. */
#define QUEUE_BATCH_MAX 64

/* Called with the packets of one receive, in the kernel's order, at most
 * QUEUE_BATCH_MAX at a time: set v[i] for each packet. The packets' data
 * is valid until it returns. */
typedef void (*queue_batch_fn)(void *arg, const struct queue_pkt *pkts,
			       unsigned int n, struct queue_verdict *v);

struct queue;

/*
 * Open a netlink socket and bind queue p->queue with all parameters set
 * in one message. Packets that arrive while waiting for the kernel's
 * answer go to fn. Returns NULL with errno set and a message in err
 * (EBUSY: another process holds the queue; EPERM: no CAP_NET_ADMIN).
 */
struct queue *queue_open(const struct queue_params *p, queue_batch_fn fn,
			 void *arg, char *err, size_t errlen);

/* Change copy range, queue length, receive buffer and fail-open on the
 * live queue (not the queue number). Returns 0 or -1 with errno set. */
int queue_configure(struct queue *q, const struct queue_params *p,
		    queue_batch_fn fn, void *arg);

int queue_fd(const struct queue *q);

/*
 * Receive and give verdicts to what the socket holds, up to max_packets.
 * Returns the number of packets handled (0: nothing was waiting), or -1
 * with errno set on an error that will not go away by retrying.
 */
int queue_process(struct queue *q, unsigned int max_packets, queue_batch_fn fn,
		  void *arg);

/*
 * Leave without losing packets: with fail-open, first let new packets
 * pass (queue length 0), then verdict what is queued, then unbind. Frees
 * q. Returns 0, or -1 with errno set (q is freed all the same).
 */
int queue_close(struct queue *q, queue_batch_fn fn, void *arg);

const struct queue_stats *queue_stats(const struct queue *q);

/* The kernel's line for this queue in /proc/net/netfilter/nfnetlink_queue:
 * packets waiting, dropped for a full queue, dropped for a full socket.
 * The file is opened by queue_open() and kept, so that it can still be
 * read once root is dropped. Returns 0, or -1 (not readable, or queue
 * not found). */
struct queue_kernel_stats {
	uint32_t queue_total, queue_dropped, user_dropped, id_sequence;
};
int queue_kernel_stats(struct queue *q, struct queue_kernel_stats *ks);

#endif
