/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * worker.h - a thread per queue: receive a batch, decide, send the
 * verdicts, tick its engine; paused only when the main thread asks, for a
 * control request, a reload or a metrics scrape.
 *
 * One queue is one worker too, so there is one code path whatever the
 * queue count. The engines form a group (group.h) that shares their
 * limits; with several queues, under a lock taken only to open or free a
 * flow; with one, the engine takes no lock.
 *
 * What the main thread needs from a running worker comes without a pause
 * and without a lock: the drop log's lines and counts through the
 * worker's droplog_feed (a single-producer ring and double-buffered
 * reports), and a wake-up on workers.log_fd when there is something to
 * write.
 */
#ifndef NFQT_WORKER_H
#define NFQT_WORKER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf.h"
#include "droplog.h"
#include "engine.h"
#include "carrier.h"
#include "fastpathnl.h"
#include "learn.h"
#include "group.h"
#include "mutex.h"
#include "hash.h"
#include "mark.h"
#include "evhub.h"
#include "pause.h"
#include "queue.h"

struct workers;

/* A queue, its engine and its thread. */
struct worker {
	struct workers *ws;
	struct engine *engine; /* the group's, for its queue; NULL: none yet */
	struct queue *queue;
	uint32_t queue_num;
	/* on_packets()'s batch, through the engine; fed[j]: the packet of
	 * the batch whose input is inputs[j] (mark and repeat modes) */
	struct engine_input inputs[QUEUE_BATCH_MAX];
	struct engine_result results[QUEUE_BATCH_MAX];
	uint8_t fed[QUEUE_BATCH_MAX];
	/* verdict_mode and mark_mask in force; changed only while the
	 * worker is parked (workers_configure_verdicts()), so that a reload
	 * switches them between two batches, with no lock per packet */
	uint32_t verdict_mode; /* enum conf_verdict_mode */
	struct mark_layout marks;
	/* The fast path, set as the verdicts are: this thread's socket for
	 * its elements (NULL: off), the bit an admitting verdict carries
	 * (0: off). */
	struct fastpath_nl *fp;
	uint32_t admit_mark;
	/* Admission in the kernel (learn.h): with the BPF carrier and one
	 * queue, the learner of the flows judge admitted, taken through
	 * its engine on each tick; NULL: none. learn_failing: its last
	 * turn failed (logged once until one succeeds). */
	struct learner *learner;
	bool learn_failing;
	/* Packets that came marked SEEN already, passed untracked (the loop
	 * guard). Its own: written by its thread alone, read by the main
	 * thread while it is parked, as its queue's counters. */
	uint64_t already_marked;
	pthread_t thread;
	bool started;
	int wake_fd; /* eventfd: the main thread asks it to park; -1 */
	uint64_t tick_ms;
	int cpu; /* pinned to; -1: not */
	struct droplog_feed feed; /* its drop log, for the main thread */
	/* Its engine's flow events, for the main thread's hub: allocated
	 * (some 1.2 MiB, its pages committed as the ring fills). */
	struct evhub_feed *evfeed;
};

struct workers {
	struct worker *w;
	unsigned n;
	struct droplog_feed *feeds[CONF_QUEUES_MAX]; /* the workers' */
	struct group group; /* their engines */
	struct mutex group_lock; /* the group's, with several queues */
	bool grouped; /* several queues: the engines share limits */
	bool group_made;
	struct pause pause;
	bool pause_made;
	atomic_bool stopping; /* the workers are to end */
	/* eventfd: a worker met an error it cannot go on from, and ended */
	int failed_fd;
	/* eventfd: a worker has drop lines or events for the main thread */
	int log_fd;
	uint64_t start_ms; /* the engines' clock starts here (mono_ms) */
	/* The hub whose consumers' wishes each worker reads before each
	 * batch and tick (evhub_feed_sink()); NULL: no events. */
	const struct evhub *hub;
};

/* Nothing made: every descriptor -1, so workers_destroy() may run. */
void workers_init(struct workers *ws);

/* A worker per queue of c, with its descriptors; no engine, queue or
 * thread yet. Returns 0, or -1 (logged). */
int workers_setup(struct workers *ws, const struct conf *c, uint64_t start_ms);

/* The engines, sharing their limits when there are several. Returns 0,
 * or -1 with errno set (and none made). */
int workers_init_engines(struct workers *ws, const struct conf *c,
			 const struct hash_key *hkey);

/* Bind each worker's queue (as root: before privileges go). Returns 0,
 * or -1 with the reason in err. */
int workers_open_queues(struct workers *ws, const struct conf *c, char *err,
			size_t errlen);

/* A reloaded configuration's queue parameters (workers paused); what
 * cannot change is logged. */
void workers_configure_queues(struct workers *ws, const struct conf *c);

/* verdict_mode and mark_mask of c for every worker: at setup, and on a
 * reload with the workers paused. */
void workers_configure_verdicts(struct workers *ws, const struct conf *c);

/*
 * fastpath, fastpath_udp_after and fastpath_admit_mark of c for every
 * worker: callbacks into its engine to the kernel's flows, through a
 * socket each for the sets' elements, or through car, the BPF carrier
 * the daemon loaded (fastpath_carrier = bpf; shared); or none, off. At
 * setup, and on a reload with the workers paused (the table is there
 * already when on: daemon_fastpath_apply()). With car and one queue, the
 * worker's learner, and fastpath_kernel_admit on or off in it. Returns
 * 0, or -1 (logged) with the fast path off in every worker.
 */
int workers_configure_fastpath(struct workers *ws, const struct conf *c,
			       struct carrier *car);

/*
 * The verdict for result r of a packet that came with mark in, in
 * verdict_mode mode under layout m; drop: the engine dropped it. A packet
 * whose flow the kernel is to carry (r->fast_admit) has admit_mark in its
 * mark: in accept mode the mark it came with and that bit (the only mode
 * that then sets a mark), in mark and repeat modes the state mark and
 * that bit. Pure, inline: per packet.
 */
static inline struct queue_verdict
worker_verdict(uint32_t mode, const struct mark_layout *m, uint32_t admit_mark,
	       const struct engine_result *r, bool drop, uint32_t in)
{
	uint32_t admit = r->fast_admit ? admit_mark : 0;

	if (drop)
		return (struct queue_verdict){ .action = QUEUE_DROP };
	if (mode == CONF_MODE_ACCEPT)
		return (struct queue_verdict){ .action = QUEUE_ACCEPT,
					       .set_mark = admit != 0,
					       .mark = admit ? in | admit : 0 };
	return (struct queue_verdict){
		.action = mode == CONF_MODE_REPEAT ? QUEUE_REPEAT :
						     QUEUE_ACCEPT,
		.set_mark = true,
		.mark = mark_of(m, r->ct_state, r->ct_reply, r->ct_assured,
				in) |
			admit,
	};
}

/* A thread for each worker, each on a CPU of its own when pin (honoured
 * with several queues only, as documented). Returns 0, or -1 (logged;
 * workers_stop() ends those started). */
int workers_start(struct workers *ws, bool pin);

/* End the threads and wait for them; idempotent. */
void workers_stop(struct workers *ws);

/* Unbind the queues (after workers_stop()); idempotent. */
void workers_close_queues(struct workers *ws);

/* Free everything workers_setup() and workers_init_engines() made;
 * idempotent, safe after a failure at any point. */
void workers_destroy(struct workers *ws);

/* The engines and queues are the caller's until workers_resume(): every
 * running worker is parked between two batches. Costs a wake-up (an
 * eventfd write) and a condition wait per worker, and a worker once
 * resumed takes one turn (a batch) before it parks again, so that pauses
 * back to back never starve a queue: for control requests, reloads and
 * scrapes only, never for housekeeping. */
void workers_pause(struct workers *ws);
void workers_resume(struct workers *ws);

/* The queues' counters, summed; and the kernel's, false if it had none
 * to give for any of them (or a queue is not bound). Workers paused or
 * stopped. */
bool workers_queue_totals(struct workers *ws, struct queue_stats *q,
			  struct queue_kernel_stats *ks);

/* Packets the loop guard passed, of every worker. Workers paused or
 * stopped. */
uint64_t workers_already_marked(const struct workers *ws);

/* Bytes of the flow tables. Workers paused or stopped. */
uint64_t workers_table_bytes(const struct workers *ws);

#endif
