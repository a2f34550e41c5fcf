// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * evhub.c - flow events from the workers' rings to the main thread's
 * consumers; see evhub.h.
 *
 * A feed is a single-producer single-consumer ring: the worker (the
 * engine's sink, feed_emit()) writes at tail, the main thread
 * (evhub_drain()) reads from head; each publishes its index with release
 * and reads the other's with acquire, so that an event is whole before
 * the reader sees it. No lock, no system call: an event costs a copy of
 * its 200 bytes and two atomic accesses.
 */
#include <string.h>

#include "engine.h"
#include "evhub.h"

void evhub_init(struct evhub *h, uint64_t engine_ms, uint64_t wall_ms)
{
	memset(h, 0, sizeof(*h));
	atomic_init(&h->types, 0);
	atomic_init(&h->active_timeout, 0);
	h->wall_offset_ms = (int64_t)wall_ms - (int64_t)engine_ms;
}

/* What the workers are to emit: the union of the consumers' types, and
 * the shortest active_timeout of those that want FEV_ACTIVE (a consumer
 * with a longer one gets them more often than it asked, and may skip
 * some). O(consumers). */
static void want(struct evhub *h)
{
	uint32_t types = 0, at = 0;

	for (const struct evhub_consumer *c = h->consumers; c; c = c->next) {
		types |= c->types;
		if ((c->types & FEV_MASK(FEV_ACTIVE)) && c->active_timeout &&
		    (!at || c->active_timeout < at))
			at = c->active_timeout;
	}
	if (!at)
		types &= ~FEV_MASK(FEV_ACTIVE);
	atomic_store_explicit(&h->active_timeout, at, memory_order_relaxed);
	atomic_store_explicit(&h->types, types, memory_order_release);
}

void evhub_add(struct evhub *h, struct evhub_consumer *c)
{
	c->next = h->consumers;
	h->consumers = c;
	want(h);
}

void evhub_remove(struct evhub *h, struct evhub_consumer *c)
{
	for (struct evhub_consumer **p = &h->consumers; *p; p = &(*p)->next) {
		if (*p == c) {
			*p = c->next;
			c->next = NULL;
			break;
		}
	}
	want(h);
}

void evhub_feed_init(struct evhub_feed *f)
{
	atomic_init(&f->head, 0);
	atomic_init(&f->tail, 0);
	atomic_init(&f->lost_pub, 0);
	f->lost = 0;
	f->lost_seen = 0;
	f->lost_woke = 0;
	f->woke_head = UINT32_MAX;
}

/* The engine's sink in a worker: one event into the ring, or counted
 * lost when the ring is full (the main thread is behind: the packet
 * path never waits for it). */
static void feed_emit(void *arg, const struct flow_event *ev)
{
	struct evhub_feed *f = arg;
	unsigned tail = atomic_load_explicit(&f->tail, memory_order_relaxed);
	unsigned head = atomic_load_explicit(&f->head, memory_order_acquire);

	if (tail - head >= EVHUB_RING) {
		f->lost++;
		atomic_store_explicit(&f->lost_pub, f->lost,
				      memory_order_release);
		return;
	}
	f->ring[tail % EVHUB_RING] = *ev;
	atomic_store_explicit(&f->tail, tail + 1, memory_order_release);
}

void evhub_feed_sink(struct evhub_feed *f, const struct evhub *h,
		     struct engine *e)
{
	struct flow_event_sink s = {
		.emit = feed_emit,
		.arg = f,
		.types = atomic_load_explicit(&h->types, memory_order_acquire),
		.active_timeout = atomic_load_explicit(&h->active_timeout,
						       memory_order_relaxed),
	};

	engine_set_event_sink(e, &s);
}

bool evhub_feed_wake(struct evhub_feed *f)
{
	unsigned tail = atomic_load_explicit(&f->tail, memory_order_relaxed);
	unsigned head = atomic_load_explicit(&f->head, memory_order_acquire);

	/* Once per drain: woken at this head already, the main thread has
	 * yet to come. A loss is worth a wake too: it reports it. */
	if (head == f->woke_head ||
	    (tail - head < EVHUB_RING / 4 && f->lost == f->lost_woke))
		return false;
	f->woke_head = head;
	f->lost_woke = f->lost;
	return true;
}

/* Is c still one of h's consumers? O(consumers). */
static bool listed(const struct evhub *h, const struct evhub_consumer *c)
{
	for (const struct evhub_consumer *p = h->consumers; p; p = p->next)
		if (p == c)
			return true;
	return false;
}

/* n events to each consumer, in runs of the types it wants; one that
 * removed itself meanwhile gets no more. O(n x consumers). */
static void hand(struct evhub *h, const struct flow_event *ev, unsigned n)
{
	struct evhub_consumer *next;

	for (struct evhub_consumer *c = h->consumers; c; c = next) {
		unsigned i = 0;

		next = c->next;
		while (i < n) {
			unsigned j = i;

			while (j < n && (c->types & FEV_MASK(ev[j].type)))
				j++;
			if (j > i) {
				c->deliver(c->arg, ev + i, j - i);
				if (!listed(h, c))
					break;
			}
			i = j + 1;
		}
	}
	h->delivered += n;
}

void evhub_deliver(struct evhub *h, const struct flow_event *ev, unsigned n)
{
	hand(h, ev, n);
}

uint64_t evhub_drain(struct evhub *h, struct evhub_feed *f)
{
	uint64_t lost =
		atomic_load_explicit(&f->lost_pub, memory_order_acquire);
	unsigned head = atomic_load_explicit(&f->head, memory_order_relaxed);
	unsigned tail = atomic_load_explicit(&f->tail, memory_order_acquire);
	uint64_t done = 0;

	if (lost != f->lost_seen) {
		uint64_t n = lost - f->lost_seen;

		f->lost_seen = lost;
		h->lost += n;
		struct evhub_consumer *next;

		for (struct evhub_consumer *c = h->consumers; c; c = next) {
			next = c->next;
			if (c->lost)
				c->lost(c->arg, n);
		}
	}
	while (head != tail) {
		unsigned at = head % EVHUB_RING, n = tail - head;

		if (n > EVHUB_RING - at)
			n = EVHUB_RING - at;
		hand(h, &f->ring[at], n);
		head += n;
		done += n;
		/* Room for the worker as soon as each run is out. */
		atomic_store_explicit(&f->head, head, memory_order_release);
	}
	return done;
}

static void direct_emit(void *arg, const struct flow_event *ev)
{
	evhub_deliver(arg, ev, 1);
}

void evhub_direct_sink(struct evhub *h, struct engine *e)
{
	struct flow_event_sink s = {
		.emit = direct_emit,
		.arg = h,
		.types = atomic_load_explicit(&h->types, memory_order_relaxed),
		.active_timeout = 0,
	};

	engine_set_event_sink(e, &s);
}
