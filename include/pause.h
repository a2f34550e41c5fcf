/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * pause.h - stop the world: one controlling thread brings a set of worker
 * threads to a halt at a point of their choosing, works on their state
 * while they wait, and lets them go.
 *
 * Workers look at pause_requested() where they hold nothing (between two
 * batches of packets) and call pause_park() when it says so; the
 * controller asks with pause_all(), which returns once every running
 * worker is parked, and ends the pause with pause_resume(). A worker
 * costs one load per look when no pause is asked for: no lock,
 * no shared write.
 */
#ifndef NFQT_PAUSE_H
#define NFQT_PAUSE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct pause {
	pthread_mutex_t lock;
	pthread_cond_t parked_cond; /* a worker parked or left */
	pthread_cond_t resume_cond; /* the pause is over */
	atomic_bool requested;
	unsigned running, parked;
	uint64_t generation; /* pauses ended */
};

int pause_init(struct pause *p);
void pause_destroy(struct pause *p);

/* A worker starts taking part, or stops (before its thread ends). */
void pause_enter(struct pause *p);
void pause_leave(struct pause *p);

static inline bool pause_requested(struct pause *p)
{
	return atomic_load_explicit(&p->requested, memory_order_acquire);
}

/* A worker: wait until the pause asked for is over. */
void pause_park(struct pause *p);

/* The controller: ask every worker to park, call wake(arg) so that those
 * asleep in poll() see it, and wait until all running workers are
 * parked. Then their state is the caller's until pause_resume(). */
void pause_all(struct pause *p, void (*wake)(void *arg), void *arg);
void pause_resume(struct pause *p);

#endif
