// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * evsub.c - a subscriber of the flow events, its buffer and its lines;
 * see evsub.h.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dump.h"
#include "engine.h"
#include "evsub.h"

/* A buffered event, and the events lost just before it. */
struct slot {
	struct flow_event ev;
	uint64_t lost_before;
};

struct evsub {
	struct evhub_consumer c;
	struct evhub *hub;
	bool on_hub;
	unsigned how; /* enum evsub_how */
	struct dump_filter filter;
	uint32_t head, count; /* the ring: oldest, how many */
	uint64_t lost_pending; /* lost since the last one kept */
	uint64_t kept, lost;
	struct slot ring[EVSUB_EVENTS];
};

/* Lines a chunk holds at most: some 100 us of formatting a turn. */
#define EVSUB_CHUNK 256

uint32_t evsub_types(const char *list)
{
	uint32_t mask = 0;
	const char *p = list;

	while (*p) {
		size_t n = strcspn(p, ",");
		uint32_t m = 0;

		if (n == 3 && !strncasecmp(p, "ALL", 3))
			m = EVSUB_TYPES_DEFAULT;
		for (int t = 0; t < FEV_TYPES && !m; t++)
			if (t != FEV_ACTIVE &&
			    strlen(flow_event_name((enum flow_event_type)t)) ==
				    n &&
			    !strncasecmp(
				    p, flow_event_name((enum flow_event_type)t),
				    n))
				m = FEV_MASK(t);
		if (!m)
			return 0;
		mask |= m;
		p += n;
		if (*p == ',')
			p++;
	}
	return mask;
}

static void deliver(void *arg, const struct flow_event *ev, unsigned n);
static void lost(void *arg, uint64_t n);

struct evsub *evsub_new(struct evhub *hub, int argc, char *const argv[],
			const char **why, int *at)
{
	struct evsub *s = calloc(1, sizeof(*s));

	*at = -1;
	if (!s) {
		*why = "out of memory";
		return NULL;
	}
	s->hub = hub;
	s->c = (struct evhub_consumer){ .deliver = deliver,
					.lost = lost,
					.arg = s,
					.types = EVSUB_TYPES_DEFAULT };
	dump_filter_init(&s->filter);
	for (int i = 0; i < argc; i++) {
		const char *w = argv[i];

		*at = i;
		if (!strcmp(w, "json")) {
			s->how |= EVSUB_JSON;
		} else if (!strcmp(w, "timestamp")) {
			s->how |= EVSUB_STAMP;
		} else if (!strncmp(w, "types=", 6)) {
			s->c.types = evsub_types(w + 6);
			if (!s->c.types) {
				*why = "types are NEW, UPDATE, DESTROY, "
				       "REFUSED or ALL";
				free(s);
				return NULL;
			}
		} else if (dump_filter_add(&s->filter, w, why) < 0) {
			free(s);
			return NULL;
		}
	}
	return s;
}

void evsub_start(struct evsub *s)
{
	if (s->on_hub)
		return;
	evhub_add(s->hub, &s->c);
	s->on_hub = true;
}

struct evhub_consumer *evsub_consumer(struct evsub *s)
{
	return &s->c;
}

bool evsub_is(const struct evhub_consumer *c)
{
	return c->deliver == deliver;
}

void evsub_free(void *state)
{
	struct evsub *s = state;

	if (!s)
		return;
	if (s->on_hub)
		evhub_remove(s->hub, &s->c);
	free(s);
}

uint64_t evsub_kept(const struct evsub *s)
{
	return s->kept;
}

uint64_t evsub_lost(const struct evsub *s)
{
	return s->lost;
}

static void lost(void *arg, uint64_t n)
{
	struct evsub *s = arg;

	s->lost += n;
	s->lost_pending += n;
}

/* The event as dump reads a flow. */
static void view_of(const struct flow_event *ev, struct dump_view *v)
{
	v->key = ev->key;
	v->flags = ev->flags;
	v->state = ev->state;
}

/* O(1) an event: a type test, the filter, a copy. */
static void deliver(void *arg, const struct flow_event *ev, unsigned n)
{
	struct evsub *s = arg;

	for (unsigned i = 0; i < n; i++) {
		struct dump_view v;
		struct slot *sl;

		if (!(s->c.types & FEV_MASK(ev[i].type)))
			continue;
		view_of(&ev[i], &v);
		if (!dump_match_view(&s->filter, &v))
			continue;
		if (s->count == EVSUB_EVENTS) {
			lost(s, 1);
			continue;
		}
		sl = &s->ring[(s->head + s->count++) % EVSUB_EVENTS];
		sl->ev = ev[i];
		sl->lost_before = s->lost_pending;
		s->lost_pending = 0;
		s->kept++;
	}
}

size_t evsub_format_lost(char *buf, size_t len, uint64_t n, unsigned how)
{
	int r = snprintf(buf, len,
			 how & EVSUB_JSON ? "{\"lost\":%" PRIu64 "}\n" :
					    "# %" PRIu64 " events lost\n",
			 n);

	if (r < 0 || !len)
		return 0;
	return (size_t)r < len ? (size_t)r : len - 1;
}

bool evsub_more(void *state, struct ctl_reply *rep)
{
	struct evsub *s = state;
	char line[EVSUB_LINE_MAX];

	for (int i = 0; i < EVSUB_CHUNK && s->count; i++) {
		struct slot *sl = &s->ring[s->head];

		if (sl->lost_before) {
			evsub_format_lost(line, sizeof(line), sl->lost_before,
					  s->how);
			ctl_reply_printf(rep, "%s", line);
		}
		evsub_format(line, sizeof(line), &sl->ev,
			     evhub_wall_ms(s->hub, sl->ev.time_ms), s->how);
		ctl_reply_printf(rep, "%s", line);
		s->head = (s->head + 1) % EVSUB_EVENTS;
		s->count--;
	}
	if (!s->count && s->lost_pending) {
		evsub_format_lost(line, sizeof(line), s->lost_pending, s->how);
		ctl_reply_printf(rep, "%s", line);
		s->lost_pending = 0;
	}
	return !(rep->ending && !s->count);
}

/* What the kernel never tells, after the flow: why it ended, why it was
 * refused. */
static void put_extras(struct dump_out *o, const struct flow_event *ev,
		       bool json)
{
	const char *end = flow_end_name((enum flow_end)ev->end);
	const char *evict = engine_evict_name((enum evict_reason)ev->evict);
	const char *drop = engine_drop_name((enum drop_reason)ev->drop);

	if (ev->type == FEV_DESTROY && ev->end == FEND_EVICTED)
		dump_put(o,
			 json ? ",\"reason\":\"%s\",\"evict\":\"%s\"" :
				" reason=%s(%s)",
			 end, evict);
	else if (ev->type == FEV_DESTROY)
		dump_put(o, json ? ",\"reason\":\"%s\"" : " reason=%s", end);
	else if (ev->type == FEV_REFUSED)
		dump_put(o,
			 json ? ",\"reason\":\"%s\",\"limit\":%" PRIu32
				",\"count\":%" PRIu32 :
				" reason=%s limit=%" PRIu32 " count=%" PRIu32,
			 drop, ev->limit, ev->count);
}

size_t evsub_format(char *buf, size_t len, const struct flow_event *ev,
		    uint64_t wall_ms, unsigned how)
{
	struct dump_out o = { buf, len, 0 };
	bool json = how & EVSUB_JSON;
	const char *name = flow_event_name((enum flow_event_type)ev->type);
	/* The kernel's DESTROY has the time left unless it ran out; a
	 * refused flow has neither time nor state. */
	unsigned dh =
		DUMP_EVENT | (json ? DUMP_JSON : 0) |
		(ev->type == FEV_REFUSED ? DUMP_NO_TIMEOUT | DUMP_NO_STATE :
		 ev->type == FEV_DESTROY && !ev->timeout ? DUMP_NO_TIMEOUT :
							   0);
	/* Counters as the kernel's events carry them: at the end. */
	bool counters = ev->has_acct &&
			(ev->type == FEV_DESTROY || ev->type == FEV_ACTIVE);
	struct flow_acct acct = { .packets = { ev->packets[0], ev->packets[1] },
				  .bytes = { ev->bytes[0], ev->bytes[1] } };
	struct dump_view v;

	if (!len)
		return 0;
	buf[0] = '\0';
	view_of(ev, &v);
	if (json)
		dump_put(&o,
			 "{\"type\":\"%s\",\"time\":%" PRIu64 ".%03" PRIu64 ",",
			 name, wall_ms / 1000, wall_ms % 1000);
	else if (how & EVSUB_STAMP)
		dump_put(&o, "[%" PRIu64 ".%06" PRIu64 "]\t", wall_ms / 1000,
			 wall_ms % 1000 * 1000);
	if (!json) {
		char tag[16];

		snprintf(tag, sizeof(tag), "[%s]", name);
		dump_put(&o, "%9s ", tag);
	}
	if (o.pos < o.len - 1)
		o.pos += dump_format_view(o.buf + o.pos, o.len - o.pos, &v,
					  ev->timeout, counters ? &acct : NULL,
					  dh);
	put_extras(&o, ev, json);
	dump_put(&o, json ? "}\n" : "\n");
	return o.pos;
}
