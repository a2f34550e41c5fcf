/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * export.h - IPFIX export of flow records to collectors over UDP
 * (ipfix_collector, ipfix_template_interval, ipfix_observation_domain,
 * ipfix_active_timeout).
 *
 * A consumer of the event hub (evhub.h) in the main thread: each DESTROY
 * (and, with ipfix_active_timeout, each ACTIVE) event becomes a record
 * (ipfix.h) in a bounded queue; export_flush(), after each drain of the
 * hub and on the tick, packs the queue into messages of at most
 * EXPORT_MSG_MAX bytes and sends them to every collector on a connected,
 * non-blocking UDP socket of its own. Nothing ever waits: a message the
 * socket does not take (EAGAIN, ENOBUFS, ECONNREFUSED from an earlier
 * ICMP port unreachable, any error) is counted as its records lost and
 * still advances the sequence number, so that the collector sees the
 * gap. A full queue is flushed on the spot, in the main thread. The
 * workers never see any of this: their rings (evhub.h) are all that
 * stands between them and the exporter.
 *
 * Templates go first to a new collector, again every
 * ipfix_template_interval, and at once after a collector refused a
 * message (it may have restarted and forgotten them).
 *
 * At stop, export_stop() sends what is queued, waiting for a socket's
 * room at most EXPORT_STOP_MS in all: the workers are stopped by then,
 * no packet waits on it.
 *
 * Ownership: the exporter owns its sockets and its queue; the hub links
 * its consumer (export_consumer()) and must drop it (evhub_remove())
 * before export_free().
 */
#ifndef NFQT_EXPORT_H
#define NFQT_EXPORT_H

#include <stdbool.h>
#include <stdint.h>

#include "conf.h"
#include "evhub.h"
#include "ipfix.h"

#define EXPORT_MSG_MAX 1400 /* bytes: under any path MTU in practice */
#define EXPORT_QUEUE 16384 /* records: about 1.4 MiB */
#define EXPORT_STOP_MS 2000 /* what export_stop() may wait, in all */
/* Records that make a flush worth it before the tick: about 12 full
 * messages, so that the wake-ups of a busy main thread do not send
 * half-empty ones. */
#define EXPORT_BATCH 256

struct exporter;

/* Its counters, summed over the collectors (a record sent to two
 * collectors counts twice). */
struct export_stats {
	uint64_t records; /* data records sent */
	uint64_t lost; /* data records a socket did not take */
	uint64_t messages; /* messages sent */
	uint64_t templates; /* template sets sent */
	uint32_t collectors; /* collectors configured */
};

/*
 * An exporter for c's collectors (none: it sends nothing, and the daemon
 * need not make one). wall_offset_ms turns engine times into wall-clock
 * ones (the hub's). Sockets that cannot be made are logged and retried at
 * each template interval. Returns NULL with errno (ENOMEM).
 */
struct exporter *export_new(const struct conf *c, int64_t wall_offset_ms,
			    uint64_t now_ms);

/*
 * Apply c (a reload): collectors gone are closed, new ones opened and sent
 * templates at their first flush, those kept keep their socket and
 * sequence; the interval, domain and active timeout follow. The consumer's
 * types and active_timeout change: take it off the hub before and add it
 * again after. Logs what changed.
 */
void export_configure(struct exporter *x, const struct conf *c,
		      uint64_t now_ms);

/* The hub's consumer (to evhub_add()). */
struct evhub_consumer *export_consumer(struct exporter *x);

/* Send what is queued, and templates where due; with all false (a
 * wake-up between ticks) only once EXPORT_BATCH records wait, so that a
 * record waits a tick (100 ms) at most and messages go out full. Never
 * blocks. O(queued records x collectors): about 35 ns a record to
 * encode, a send() per message. */
void export_flush(struct exporter *x, uint64_t now_ms, bool all);

/* The last flush, at stop: may wait for a socket, EXPORT_STOP_MS at most.
 * Logs what was sent and lost. Once: a second call does nothing. */
void export_stop(struct exporter *x, uint64_t now_ms);

void export_get_stats(const struct exporter *x, struct export_stats *s);

/* Close and free; NULL is fine. */
void export_free(struct exporter *x);

#endif
