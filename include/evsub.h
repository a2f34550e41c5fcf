/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * evsub.h - a subscriber of the flow events: what one `nfqtrackctl events`
 * connection asked for (types, list's filters, text or JSON, timestamps),
 * its bounded buffer, and its lines, as `conntrack -E` prints them:
 *
 *       [NEW] tcp      6 120 SYN_SENT src=192.0.2.7 dst=198.51.100.1
 *     sport=51324 dport=443 [UNREPLIED] src=198.51.100.1 dst=192.0.2.7
 *     sport=443 dport=51324
 *   [DESTROY] tcp      6 TIME_WAIT src=... packets=6 bytes=322 src=...
 *     packets=4 bytes=218 [ASSURED] reason=expired
 *
 * (one line each), with what the kernel never tells after the flow's
 * flags, where a conntrack -E parser stops reading: reason=closed,
 * reason=evicted(early_drop), ...; and [REFUSED] lines for new flows a
 * limit refused (reason=source_limit limit=100 count=100).
 *
 * The hub (evhub.h) hands the subscriber its events in the main thread;
 * it keeps those of its types that pass its filters, as they are, in a
 * ring of EVSUB_EVENTS, and formats them only as the connection takes
 * them (evsub_more()), so that a subscriber that never reads costs a copy
 * per event and nothing more. What does not fit is counted, and told in
 * its place in the stream: "# N events lost" ({"lost":N} in JSON), as
 * conntrack -E hears ENOBUFS. Main thread only.
 */
#ifndef NFQT_EVSUB_H
#define NFQT_EVSUB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ctl.h"
#include "dump.h"
#include "evhub.h"
#include "flowevent.h"

/* A subscriber's buffer: events, some 1.3 MB (allocated at once, pages
 * used as filled). Holds a full worker ring's drain. */
#define EVSUB_EVENTS 8192
/* Subscribers at once: half the control server's clients, so that
 * requests still find a slot. */
#define EVSUB_MAX 8

/* How events are written (evsub_format()). */
enum evsub_how {
	EVSUB_JSON = 1 << 0, /* one JSON object a line */
	EVSUB_STAMP = 1 << 1, /* text: "[SECONDS.MICROSECONDS]\t" first, as
			       * conntrack -E -o timestamp */
};

/* The types a subscriber gets unless it names them: all but FEV_ACTIVE
 * (the exporter's periodic records). */
#define EVSUB_TYPES_DEFAULT                                                 \
	(FEV_MASK(FEV_NEW) | FEV_MASK(FEV_UPDATE) | FEV_MASK(FEV_DESTROY) | \
	 FEV_MASK(FEV_REFUSED))

struct evsub;

/*
 * A subscriber for the words of an events request (after the command):
 * types=NEW,UPDATE,DESTROY,REFUSED,ALL, json, timestamp, and list's
 * filters (dump_filter_add()). Its consumer is not yet on hub: see
 * evsub_start(). Returns NULL with *why set, and *at the index of the
 * word it refused (-1: out of memory).
 */
struct evsub *evsub_new(struct evhub *hub, int argc, char *const argv[],
			const char **why, int *at);

/* Put it on its hub: from now on it gets events. */
void evsub_start(struct evsub *s);

/* Its consumer (for tests that deliver without a hub). */
struct evhub_consumer *evsub_consumer(struct evsub *s);

/* Is c a subscriber's (to count them)? */
bool evsub_is(const struct evhub_consumer *c);

/*
 * A ctl_more_fn: append the lines of at most 256 buffered events (and
 * the loss notes among them) to rep, empty when nothing waits. Returns
 * true, the stream goes on; false once rep->ending asked it to end and
 * its buffer is empty.
 */
bool evsub_more(void *state, struct ctl_reply *rep);

/* Events it kept and events it lost (its buffer full, or lost before
 * the hub: told it as well). */
uint64_t evsub_kept(const struct evsub *s);
uint64_t evsub_lost(const struct evsub *s);

/* Off its hub and freed (a ctl more_free); NULL is fine. */
void evsub_free(void *state);

/*
 * Write event ev as a line (with '\n') as how says (enum evsub_how);
 * wall_ms is when it happened, wall-clock milliseconds. Returns the
 * length (at most len - 1, NUL-terminated); EVSUB_LINE_MAX is always
 * enough. Pure.
 */
#define EVSUB_LINE_MAX (DUMP_LINE_MAX + 160)
size_t evsub_format(char *buf, size_t len, const struct flow_event *ev,
		    uint64_t wall_ms, unsigned how);

/* The loss note for n events: "# N events lost\n" or {"lost":N}. */
size_t evsub_format_lost(char *buf, size_t len, uint64_t n, unsigned how);

/* FEV_MASK()s of a list like "NEW,DESTROY" (case ignored; ALL: every
 * type but FEV_ACTIVE). Returns 0 when a word is not a type. */
uint32_t evsub_types(const char *list);

#endif
