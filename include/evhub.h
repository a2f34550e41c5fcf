/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * evhub.h - flow events from the workers to their consumers: the
 * subscribers of `nfqtrackctl events` and the IPFIX exporter.
 *
 * Each worker writes its engine's events into a ring of its own (struct
 * evhub_feed, single producer, single consumer, no lock, no system call
 * per event); the main thread drains every ring (on the workers' log_fd
 * wake-up and on its tick) and hands each batch to every consumer that
 * wants its type. A full ring counts what it could not take, and every
 * consumer is told ("N events lost"), as netlink reports ENOBUFS: the
 * packet path never waits for a reader. Each consumer keeps its own
 * bounded buffer and counts what overflows it, so that a slow subscriber
 * loses its own events and nobody else's.
 *
 * The workers emit only what some consumer wants (the union of their
 * types, read once per batch): with no consumer, no event is built.
 */
#ifndef NFQT_EVHUB_H
#define NFQT_EVHUB_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "flowevent.h"

struct engine;

/* Events a worker's ring holds: a busy table's burst between two
 * drains (100 ms at most) of about 80,000 events per second. */
#define EVHUB_RING 8192

/* A worker's events on their way to the main thread. */
struct evhub_feed {
	atomic_uint head; /* main: next to read */
	atomic_uint tail; /* worker: next to write */
	uint64_t lost; /* worker: events the ring had no room for */
	atomic_uint_fast64_t lost_pub;
	uint64_t lost_seen; /* main */
	/* worker: the head and losses at its last wake-up of the main
	 * thread (evhub_feed_wake()) */
	unsigned woke_head;
	uint64_t lost_woke;
	struct flow_event ring[EVHUB_RING];
};

/* A consumer, in the main thread. Its deliver() and lost() may remove
 * it (evhub_remove(), e.g. a subscriber gone): it gets nothing more of
 * that drain. They must not add or remove another. */
struct evhub_consumer {
	/* n events, in the order their worker emitted them (one worker's
	 * at a time). */
	void (*deliver)(void *arg, const struct flow_event *ev, unsigned n);
	/* n events were lost before they reached the hub. */
	void (*lost)(void *arg, uint64_t n);
	void *arg;
	uint32_t types; /* FEV_MASK()s wanted */
	uint32_t active_timeout; /* seconds, FEV_ACTIVE; 0: none */
	struct evhub_consumer *next; /* the hub's */
};

struct evhub {
	struct evhub_consumer *consumers;
	/* What the workers are to emit: the union of the consumers'
	 * types and the shortest active_timeout. The main thread stores,
	 * the workers load once per batch. */
	atomic_uint types;
	atomic_uint active_timeout;
	/* Wall-clock milliseconds minus engine milliseconds. */
	int64_t wall_offset_ms;
	uint64_t delivered, lost; /* events, for the metrics */
};

/* An empty hub; engine clock time engine_ms is wall-clock wall_ms. */
void evhub_init(struct evhub *h, uint64_t engine_ms, uint64_t wall_ms);

/* Add or remove consumer c (main thread); the workers follow at their
 * next batch. */
void evhub_add(struct evhub *h, struct evhub_consumer *c);
void evhub_remove(struct evhub *h, struct evhub_consumer *c);

/* Wall-clock milliseconds of engine time t (modulo 2^64: no signed
 * overflow, whatever t). */
static inline uint64_t evhub_wall_ms(const struct evhub *h, uint64_t t)
{
	return t + (uint64_t)h->wall_offset_ms;
}

/* An empty feed. */
void evhub_feed_init(struct evhub_feed *f);

/* The worker, before each batch: point e's sink at feed f with what
 * the hub wants now (none: the sink is cleared). O(1). */
void evhub_feed_sink(struct evhub_feed *f, const struct evhub *h,
		     struct engine *e);

/* The worker, after a batch or tick: should it wake the main thread
 * (workers.log_fd)? True when the ring is a quarter full or lost events,
 * once until the main thread drains. O(1), no system call. */
bool evhub_feed_wake(struct evhub_feed *f);

/* The main thread: hand what feed f holds to the consumers. Returns
 * the events delivered. */
uint64_t evhub_drain(struct evhub *h, struct evhub_feed *f);

/* The main thread, without a ring (the workers parked or stopped): hand
 * ev to the consumers at once. For what the main thread makes itself: a
 * flush's DESTROYs, the FEND_STOPPED ones at stop. */
void evhub_deliver(struct evhub *h, const struct flow_event *ev, unsigned n);

/* The main thread, workers parked: point e's sink straight at the hub
 * (evhub_deliver()), for a flush or engine_events_all(), so that no
 * event is lost to a full ring. Drain e's feed first, to keep the order;
 * the worker's next evhub_feed_sink() points it back. */
void evhub_direct_sink(struct evhub *h, struct engine *e);

#endif
