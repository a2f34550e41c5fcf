// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * worker.c - a thread per queue and its pause; see worker.h.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"
#include "worker.h"

#define BATCH_PACKETS 1024 /* packets per turn of a worker's loop */

/* The engine's input for packet p. */
static struct engine_input input_of(const struct queue_pkt *p)
{
	return (struct engine_input){
		.buf = p->data,
		.caplen = p->caplen,
		.wirelen = p->wirelen,
		.flags = (p->gso ? PKT_F_GSO : 0) |
			 (p->csum_unverified ? PKT_F_CSUM : 0),
	};
}

/* What the drop log wants of result r; whether it is a drop. */
static bool judged(struct worker *w, const struct engine_result *r)
{
	if (r->verdict == VERDICT_DROP || r->shadow || r->evicted)
		droplog_feed_packet(&w->feed, w->engine, r, mono_ms());
	return r->verdict == VERDICT_DROP;
}

/*
 * verdict_mode = mark or repeat: a packet marked SEEN already is passed
 * as it is, untracked (the loop guard: a queue rule that does not skip
 * marked packets would otherwise get a repeated packet back forever); the
 * others go to the engine, and those it accepts get the state mark, with
 * NF_ACCEPT or NF_REPEAT.
 */
static void on_packets_marked(struct worker *w, const struct queue_pkt *pkts,
			      unsigned int n, struct queue_verdict *v)
{
	struct engine_result *r = w->results;
	unsigned int m = 0;

	for (unsigned int i = 0; i < n; i++) {
		if (mark_seen(&w->marks, pkts[i].mark)) {
			v[i] = (struct queue_verdict){ .action = QUEUE_ACCEPT };
			w->already_marked++;
			continue;
		}
		w->fed[m] = (uint8_t)i;
		w->inputs[m++] = input_of(&pkts[i]);
	}
	engine_packets(w->engine, w->inputs, m, r);
	for (unsigned int j = 0; j < m; j++) {
		unsigned int i = w->fed[j];

		v[i] = worker_verdict(w->verdict_mode, &w->marks, w->admit_mark,
				      &r[j], judged(w, &r[j]), pkts[i].mark);
	}
}

static void on_packets(void *arg, const struct queue_pkt *pkts, unsigned int n,
		       struct queue_verdict *v)
{
	struct worker *w = arg;
	struct engine_result *r = w->results;

	if (w->verdict_mode != CONF_MODE_ACCEPT) {
		on_packets_marked(w, pkts, n, v);
	} else {
		for (unsigned int i = 0; i < n; i++)
			w->inputs[i] = input_of(&pkts[i]);
		engine_packets(w->engine, w->inputs, n, r);
		for (unsigned int i = 0; i < n; i++)
			v[i] = worker_verdict(CONF_MODE_ACCEPT, &w->marks,
					      w->admit_mark, &r[i],
					      judged(w, &r[i]), pkts[i].mark);
	}
	/* Before the verdicts go: the elements of the fast flows this batch
	 * freed (none, mostly: no system call). */
	engine_fastpath_sync(w->engine);
}

/* The engine's callbacks to the kernel (engine.h), on the worker's
 * socket. */
static int fp_query(void *arg, const struct fastpath_tuple *t, unsigned n,
		    bool reset, struct fastpath_flow *out)
{
	return fastpath_query(((struct worker *)arg)->fp, t, n, reset, out);
}

static int fp_forget(void *arg, const struct fastpath_tuple *t, unsigned n)
{
	return fastpath_forget(((struct worker *)arg)->fp, t, n);
}

static int fp_flush(void *arg)
{
	return fastpath_flush(((struct worker *)arg)->fp);
}

/* The same for the BPF carrier: its maps, shared by the workers. */
static int car_query(void *arg, const struct fastpath_tuple *t, unsigned n,
		     bool reset, struct fastpath_flow *out)
{
	return carrier_query(arg, t, n, reset, out);
}

static int car_forget(void *arg, const struct fastpath_tuple *t, unsigned n)
{
	return carrier_forget(arg, t, n);
}

static int car_flush(void *arg)
{
	return carrier_flush(arg);
}

/* Worker w's fast path off: its engine first, which may owe the kernel
 * removals through the socket, then the socket. */
static void fastpath_off(struct worker *w)
{
	if (w->engine)
		engine_fastpath_set(w->engine, NULL, 0);
	w->admit_mark = 0;
	if (w->fp)
		fastpath_nl_close(w->fp);
	w->fp = NULL;
}

/* Worker w's learner (made once, kept: the grant it revokes when off
 * outlives a reload) on or off. Returns 0, or -1 (logged). */
static int configure_learner(struct worker *w, struct carrier *car, bool on)
{
	if (!w->learner && !on)
		return 0;
	if (!w->learner)
		w->learner = learner_new(car);
	if (!w->learner || learner_set(w->learner, on) < 0) {
		log_msg(LOG_ERR, "fastpath_kernel_admit: %s",
			strerror(w->learner ? errno : ENOMEM));
		return -1;
	}
	return 0;
}

int workers_configure_fastpath(struct workers *ws, const struct conf *c,
			       struct carrier *car)
{
	if (car && ws->n == 1 &&
	    configure_learner(&ws->w[0], car,
			      c->fastpath && c->fastpath_kernel_admit) < 0)
		return -1;
	for (unsigned i = 0; i < ws->n; i++) {
		struct worker *w = &ws->w[i];
		struct engine_fastpath_ops ops = { fp_query, fp_forget,
						   fp_flush, w };

		if (!c->fastpath) {
			fastpath_off(w);
			continue;
		}
		if (c->fastpath_carrier == FASTPATH_CARRIER_BPF) {
			struct engine_fastpath_ops bops = { car_query,
							    car_forget,
							    car_flush, car };

			if (w->fp)
				fastpath_off(w);
			engine_fastpath_set(w->engine, &bops,
					    c->fastpath_udp_after);
			w->admit_mark = c->fastpath_admit_mark;
			continue;
		}
		if (!w->fp)
			w->fp = fastpath_nl_open(c->fastpath_table);
		if (!w->fp) {
			log_msg(LOG_ERR,
				"fastpath: queue %" PRIu32
				": cannot open a netlink socket: %s",
				w->queue_num, strerror(errno));
			for (unsigned j = 0; j < ws->n; j++)
				fastpath_off(&ws->w[j]);
			return -1;
		}
		engine_fastpath_set(w->engine, &ops, c->fastpath_udp_after);
		w->admit_mark = c->fastpath_admit_mark;
	}
	return 0;
}

void workers_init(struct workers *ws)
{
	memset(ws, 0, sizeof(*ws));
	ws->failed_fd = ws->log_fd = -1;
	atomic_init(&ws->stopping, false);
}

int workers_setup(struct workers *ws, const struct conf *c, uint64_t start_ms)
{
	unsigned n = conf_queue_count(c);

	ws->start_ms = start_ms;
	ws->w = calloc(n, sizeof(*ws->w));
	if (!ws->w) {
		log_msg(LOG_ERR, "out of memory");
		return -1;
	}
	ws->n = n;
	ws->grouped = n > 1;
	/* None made yet: a failure below leaves nothing to close but what
	 * was made (calloc's 0 would be standard input). */
	for (unsigned i = 0; i < n; i++)
		ws->w[i].wake_fd = -1;
	for (unsigned i = 0; i < n; i++) {
		struct worker *w = &ws->w[i];

		w->ws = ws;
		w->queue_num = c->queues[0] + i;
		w->cpu = -1;
		ws->feeds[i] = &w->feed;
		droplog_feed_init(&w->feed);
		w->evfeed = malloc(sizeof(*w->evfeed));
		if (!w->evfeed) {
			log_msg(LOG_ERR, "out of memory");
			return -1;
		}
		evhub_feed_init(w->evfeed);
		w->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (w->wake_fd < 0) {
			log_msg(LOG_ERR, "eventfd: %s", strerror(errno));
			return -1;
		}
	}
	ws->failed_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	ws->log_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (ws->failed_fd < 0 || ws->log_fd < 0 || pause_init(&ws->pause) < 0) {
		log_msg(LOG_ERR, "threads: %s", strerror(errno));
		return -1;
	}
	ws->pause_made = true;
	workers_configure_verdicts(ws, c);
	return 0;
}

int workers_init_engines(struct workers *ws, const struct conf *c,
			 const struct hash_key *hkey)
{
	struct policy_lock lk;
	struct engine_params p;

	params_from_conf(&p, c);
	if (ws->grouped) {
		if (mutex_init(&ws->group_lock) < 0)
			return -1;
		lk = mutex_lock_ops(&ws->group_lock);
	}
	if (group_init(&ws->group, &p, hkey, ws->n, ws->grouped ? &lk : NULL,
		       0) < 0) {
		if (ws->grouped)
			mutex_destroy(&ws->group_lock);
		return -1;
	}
	ws->group_made = true;
	for (unsigned i = 0; i < ws->n; i++)
		ws->w[i].engine = group_engine(&ws->group, i);
	return 0;
}

int workers_open_queues(struct workers *ws, const struct conf *c, char *err,
			size_t errlen)
{
	for (unsigned i = 0; i < ws->n; i++) {
		struct worker *w = &ws->w[i];
		struct queue_params qp = daemon_queue_params(c, w->queue_num);

		w->queue = queue_open(&qp, on_packets, w, err, errlen);
		if (!w->queue)
			return -1;
	}
	return 0;
}

void workers_configure_queues(struct workers *ws, const struct conf *c)
{
	for (unsigned i = 0; i < ws->n; i++) {
		struct worker *w = &ws->w[i];
		struct queue_params qp = daemon_queue_params(c, w->queue_num);

		if (queue_configure(w->queue, &qp, on_packets, w) < 0)
			log_msg(LOG_ERR,
				"reload: cannot change queue %" PRIu32
				"'s parameters: %s",
				w->queue_num, strerror(errno));
	}
}

void workers_configure_verdicts(struct workers *ws, const struct conf *c)
{
	for (unsigned i = 0; i < ws->n; i++) {
		struct worker *w = &ws->w[i];

		w->verdict_mode = c->verdict_mode;
		/* conf.c took only a valid mask. */
		if (mark_layout_init(&w->marks, c->mark_mask) < 0)
			mark_layout_init(&w->marks, MARK_MASK_DEFAULT);
	}
}

/* Wake the workers, asleep in poll(), to see the pause or the stop asked
 * for: a write to each one's eventfd. */
static void wake_workers(void *arg)
{
	struct workers *ws = arg;
	uint64_t one = 1;

	for (unsigned i = 0; i < ws->n; i++)
		if (ws->w[i].wake_fd >= 0 &&
		    write(ws->w[i].wake_fd, &one, sizeof(one)) < 0)
			continue; /* full: it has a wake-up waiting already */
}

void workers_pause(struct workers *ws)
{
	pause_all(&ws->pause, wake_workers, ws);
}

void workers_resume(struct workers *ws)
{
	pause_resume(&ws->pause);
}

/* Tell the main thread: a drop line or event waits (log_fd), or this
 * worker has ended on an error (failed_fd). */
static void tell_main(int fd)
{
	uint64_t one = 1;

	if (write(fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_msg(LOG_ERR, "cannot tell the main thread: %s",
			strerror(errno));
}

/* The flows the kernel admitted since the last tick, and a new grant. */
static void learn(struct worker *w)
{
	bool failed;

	if (!w->learner)
		return;
	failed = learner_turn(w->learner, w->engine) < 0;
	if (failed && !w->learn_failing)
		log_msg(LOG_ERR,
			"queue %" PRIu32 ": learning the kernel's "
			"admissions: %s (tried again each tick)",
			w->queue_num, strerror(errno));
	w->learn_failing = failed;
}

/* A worker's thread: its queue, its engine's tick, its drop log handed
 * over, and a pause when the main thread asks for one, until the daemon
 * stops or the queue fails. */
static void *worker_run(void *arg)
{
	struct worker *w = arg;
	struct workers *ws = w->ws;
	struct pollfd pfd[2] = {
		{ .fd = queue_fd(w->queue), .events = POLLIN },
		{ .fd = w->wake_fd, .events = POLLIN },
	};
	uint64_t woken;
	bool resumed = false;

	w->tick_ms = mono_ms();
	while (!atomic_load_explicit(&ws->stopping, memory_order_relaxed)) {
		uint64_t now;

		/* Once resumed, one turn (a batch) before the next pause:
		 * control requests back to back (a client looping a walk of
		 * the table) must not keep the queue waiting, as they never
		 * did when one thread took turns at both. */
		if (!resumed && pause_requested(&ws->pause)) {
			pause_park(&ws->pause);
			resumed = true;
			continue;
		}
		resumed = false;
		if (poll(pfd, 2, ENGINE_TICK_MS) < 0 && errno != EINTR) {
			log_msg(LOG_ERR, "queue %" PRIu32 ": poll: %s",
				w->queue_num, strerror(errno));
			break;
		}
		if (pfd[1].revents & POLLIN &&
		    read(w->wake_fd, &woken, sizeof(woken)) < 0)
			woken = 0;
		now = mono_ms();
		engine_set_time(w->engine, now - ws->start_ms);
		/* What the consumers want now, for this turn's batch and tick:
		 * an atomic load and a copy (a pause may have pointed the
		 * sink at the hub itself). */
		if (ws->hub)
			evhub_feed_sink(w->evfeed, ws->hub, w->engine);
		if (pfd[0].revents &&
		    queue_process(w->queue, BATCH_PACKETS, on_packets, w) < 0) {
			log_msg(LOG_ERR, "receiving from queue %" PRIu32 ": %s",
				w->queue_num, strerror(errno));
			break;
		}
		if (now - w->tick_ms >= ENGINE_TICK_MS) {
			engine_tick(w->engine);
			learn(w);
			w->tick_ms = now;
		}
		/* At most one wake-up a turn, never one per event. */
		if (droplog_feed_publish(&w->feed, w->engine) |
		    evhub_feed_wake(w->evfeed))
			tell_main(ws->log_fd);
	}
	learn(w); /* the last flows the kernel admitted, for the stop */
	droplog_feed_publish(&w->feed, w->engine);
	if (!atomic_load(&ws->stopping))
		tell_main(ws->failed_fd);
	pause_leave(&ws->pause);
	return NULL;
}

/* The CPUs this process may run on, in order; returns how many. */
static unsigned allowed_cpus(int *cpus, unsigned max)
{
	cpu_set_t set;
	unsigned n = 0;

	if (sched_getaffinity(0, sizeof(set), &set) < 0)
		return 0;
	for (int c = 0; c < CPU_SETSIZE && n < max; c++)
		if (CPU_ISSET(c, &set))
			cpus[n++] = c;
	return n;
}

/* Start worker w's thread, pinned to a CPU of cpus[] (ncpus of them; 0:
 * not pinned). Returns 0 or an errno value. */
static int start_one(struct worker *w, const int *cpus, unsigned *ncpus,
		     unsigned i)
{
	pthread_attr_t attr;
	int err = pthread_attr_init(&attr);

	if (!err && *ncpus) {
		cpu_set_t one;

		w->cpu = cpus[i % *ncpus];
		CPU_ZERO(&one);
		CPU_SET(w->cpu, &one);
		err = pthread_attr_setaffinity_np(&attr, sizeof(one), &one);
	}
	if (!err)
		err = pthread_create(&w->thread, &attr, worker_run, w);
	pthread_attr_destroy(&attr);
	if (err == EPERM && w->cpu >= 0) {
		/* sched_setaffinity denied: the shipped unit's
		 * SystemCallFilter=~@resources. Run unpinned rather than not
		 * at all, and say once how to allow it. */
		log_msg(LOG_WARNING,
			"pin_threads: cannot pin the queue threads, "
			"sched_setaffinity: %s (the unit's "
			"SystemCallFilter denies it; a drop-in with "
			"[Service] SystemCallFilter=sched_setaffinity "
			"allows it): running them unpinned",
			strerror(err));
		*ncpus = 0; /* for the threads still to come */
		w->cpu = -1;
		err = pthread_create(&w->thread, NULL, worker_run, w);
	}
	return err;
}

int workers_start(struct workers *ws, bool pin)
{
	int cpus[CPU_SETSIZE];
	unsigned ncpus;

	pin = pin && ws->n > 1;
	ncpus = pin ? allowed_cpus(cpus, CPU_SETSIZE) : 0;
	if (pin && ncpus < ws->n)
		log_msg(LOG_WARNING,
			"pin_threads: %u queues but %u CPUs to run on: "
			"some share one",
			ws->n, ncpus);
	for (unsigned i = 0; i < ws->n; i++) {
		struct worker *w = &ws->w[i];
		int err;

		pause_enter(&ws->pause);
		err = start_one(w, cpus, &ncpus, i);
		if (err) {
			pause_leave(&ws->pause);
			log_msg(LOG_ERR, "queue %" PRIu32 ": no thread: %s",
				w->queue_num, strerror(err));
			return -1;
		}
		w->started = true;
		if (w->cpu >= 0)
			log_msg(LOG_INFO, "queue %" PRIu32 ": thread on CPU %d",
				w->queue_num, w->cpu);
	}
	return 0;
}

void workers_stop(struct workers *ws)
{
	atomic_store(&ws->stopping, true);
	wake_workers(ws);
	for (unsigned i = 0; i < ws->n; i++)
		if (ws->w[i].started) {
			pthread_join(ws->w[i].thread, NULL);
			ws->w[i].started = false;
		}
}

void workers_close_queues(struct workers *ws)
{
	for (unsigned i = 0; i < ws->n; i++) {
		struct worker *w = &ws->w[i];

		if (w->queue && queue_close(w->queue, on_packets, w) < 0)
			log_msg(LOG_WARNING, "unbinding queue %" PRIu32 ": %s",
				w->queue_num, strerror(errno));
		w->queue = NULL;
	}
}

void workers_destroy(struct workers *ws)
{
	for (unsigned i = 0; ws->w && i < ws->n; i++) {
		struct worker *w = &ws->w[i];

		fastpath_off(w);
		learner_free(w->learner);
		w->learner = NULL;
		w->engine = NULL;
		free(w->evfeed);
		w->evfeed = NULL;
		if (w->wake_fd >= 0)
			close(w->wake_fd);
	}
	if (ws->group_made) {
		group_destroy(&ws->group);
		if (ws->grouped)
			mutex_destroy(&ws->group_lock);
	}
	if (ws->failed_fd >= 0)
		close(ws->failed_fd);
	if (ws->log_fd >= 0)
		close(ws->log_fd);
	if (ws->pause_made)
		pause_destroy(&ws->pause);
	free(ws->w);
	workers_init(ws);
}

bool workers_queue_totals(struct workers *ws, struct queue_stats *q,
			  struct queue_kernel_stats *ks)
{
	bool kernel = true;

	_Static_assert(sizeof(*q) % sizeof(uint64_t) == 0,
		       "queue_stats is counters only");
	memset(q, 0, sizeof(*q));
	memset(ks, 0, sizeof(*ks));
	for (unsigned i = 0; i < ws->n; i++) {
		const uint64_t *from;
		struct queue_kernel_stats one;

		if (!ws->w[i].queue) { /* not bound, or unbound already */
			kernel = false;
			continue;
		}
		from = (const uint64_t *)queue_stats(ws->w[i].queue);
		for (size_t j = 0; j < sizeof(*q) / sizeof(uint64_t); j++)
			((uint64_t *)q)[j] += from[j];
		if (queue_kernel_stats(ws->w[i].queue, &one) < 0) {
			kernel = false;
			continue;
		}
		ks->queue_total += one.queue_total;
		ks->queue_dropped += one.queue_dropped;
		ks->user_dropped += one.user_dropped;
		ks->id_sequence += one.id_sequence;
	}
	return kernel;
}

uint64_t workers_already_marked(const struct workers *ws)
{
	uint64_t n = 0;

	for (unsigned i = 0; i < ws->n; i++)
		n += ws->w[i].already_marked;
	return n;
}

uint64_t workers_table_bytes(const struct workers *ws)
{
	return group_table_bytes(&ws->group);
}
