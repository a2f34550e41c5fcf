// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * fuzz_packets.c - the packet path under libFuzzer: parser, flow engine
 * and limits on a sequence of packets, with the engine's bookkeeping
 * checked after every one.
 *
 * Input: CONF_BYTES bytes that choose a small configuration (see
 * conf_from()), then records:
 *
 *	u8 clock   how far the engine clock moves first (see advance())
 *	u8 flags   REC_* below (REC_CSUM shares a bit with REC_COPY's length)
 *	u16 len    big endian, then len bytes
 *
 * The bytes are an IP packet, or for REC_RECONF a new configuration
 * (group_reconfigure), or for REC_FLUSH a list filter term whose flows
 * are flushed. A short last record takes what is left. Tables are tiny
 * (at most 32 flows, maybe one bucket) so that limits, eviction and
 * expiry happen within a few packets.
 */
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "engine.h"
#include "dump.h"
#include "testutil.h" /* tu_pkt_invariant(): pure, Check's header only */

#define CONF_BYTES 5

enum {
	REC_GSO = 1 << 0, /* pkt_parse()'s PKT_F_GSO */
	REC_COPY = 1 << 1, /* the packet was longer than what was copied */
	REC_TICK = 1 << 2, /* engine_tick() after it */
	REC_RECONF = 1 << 3, /* bytes are a configuration, not a packet */
	REC_FLUSH = 1 << 4, /* bytes are a filter term: flush its flows */
	REC_LIST = 1 << 5, /* format every flow afterwards */
	/* bits 6 and 7: how much longer a REC_COPY packet was */
	REC_CSUM = 1 << 6, /* the kernel did not verify it: PKT_F_CSUM */
};

static const struct hash_key hkey = { 0x0123456789abcdefULL, 42 };

/* A configuration from b[0, CONF_BYTES), valid by construction: it keeps
 * the rules conf_parse() enforces between keys. */
static void conf_from(struct conf *c, const uint8_t *b)
{
	static const uint32_t sources[] = { 0, 2, 4, 8 };
	static const uint32_t warn[] = { 0, 50, 80, 100 };
	struct prefix *x;

	conf_defaults(c);
	c->on_full = (b[0] & 3) == 3 ? CONF_FULL_EARLY_DROP : b[0] & 3;
	c->enforce = !(b[0] & 4);
	c->invalid_verdict = b[0] & 8 ? CONF_DROP : CONF_ACCEPT;
	c->fragment_verdict = b[0] & 16 ? CONF_DROP : CONF_ACCEPT;
	/* The other way round from invalid_verdict: both pairs occur. */
	c->copy_range_verdict = b[0] & 8 ? CONF_ACCEPT : CONF_DROP;
	c->tcp_liberal = b[0] & 32;
	c->tcp_loose = !(b[0] & 64);
	c->tcp_ignore_invalid_rst = b[0] & 128;

	c->max_flows = 1 + (b[1] & 31);
	c->buckets = b[1] & 32 ? 1 : 0;
	if (b[1] & 64) {
		/* Adaptive timeouts between a third and two thirds full. */
		c->adaptive_start = 33;
		c->adaptive_end = 66;
	}
	if (b[1] & 128) {
		x = &c->exempt[c->nexempt++];
		prefix_parse(x, "192.0.2.0/24", false, &(const char *){ 0 });
		x = &c->exempt[c->nexempt++];
		prefix_parse(x, "2001:db8::/32", false, &(const char *){ 0 });
	}

	c->max_flows_per_source = b[2] & 7;
	c->max_new_per_source = (b[2] >> 3) & 7;
	if (c->max_new_per_source && b[2] & 64)
		c->max_new_per_source_burst = 2 * c->max_new_per_source;
	c->source_prefix4 = b[2] & 128 ? 24 : 32;
	c->source_prefix6 = b[2] & 128 ? 48 : 64;

	for (int i = 0; i < PC_COUNT; i++)
		c->max_proto[i] = (b[3] >> (2 * i)) & 3;

	c->max_sources = sources[b[4] & 3];
	c->reserve = (b[4] >> 2) & 3;
	if (c->reserve >= c->max_flows)
		c->reserve = 0;
	c->warn_at = warn[(b[4] >> 4) & 3];
	if (b[4] & 64) {
		/* Short timeouts, so that a few clock steps expire flows. */
		for (int i = 0; i < TMO_COUNT; i++)
			c->timeout[i] = 1 + (uint32_t)i % 5;
	}
	c->tcp_max_retrans = b[4] & 128 ? 0 : 3;
	c->accounting = b[4] & 64;
}

/* Milliseconds to move the clock for code a: small steps, seconds, or
 * jumps of up to ten hours past any default timeout but the TCP
 * established one. */
static uint64_t advance(uint8_t a)
{
	if (a < 128)
		return (uint64_t)a * 10;
	if (a < 224)
		return (uint64_t)(a - 128) * 1000;
	return (uint64_t)(a - 223) * 1200 * 1000;
}

/* The packet's length on the wire: with REC_COPY, longer than the len
 * bytes copied, by as much as flags' top bits say. */
static size_t wirelen(size_t len, uint8_t flags)
{
	return flags & REC_COPY ? len + 1 + (size_t)(flags >> 6) * 700 : len;
}

static uint64_t sum(const uint64_t *v, size_t n)
{
	uint64_t s = 0;

	for (size_t i = 0; i < n; i++)
		s += v[i];
	return s;
}

#define SUM(a) sum((a), sizeof(a) / sizeof((a)[0]))

/* The engine's counts agree with each other and with the table; r is
 * the last packet's result, or NULL after housekeeping. */
static int count_stateful(const struct flow *f, void *arg)
{
	uint32_t *n = arg;

	n[0] += f->proto == IPPROTO_TCP || f->proto == IPPROTO_SCTP;
	n[1] += !!(f->flags & FLOW_F_MIDSTREAM);
	return 0;
}

/* TCP and SCTP flows in the table (the flows that hold a slot of the
 * TCP states' slab), reclaimed or not, into n[0], and unanswered
 * mid-stream pickups into n[1]. O(buckets + flows). */
static void stateful_flows(const struct engine *e, uint32_t n[2])
{
	n[0] = n[1] = 0;
	flow_table_walk(&e->table, count_stateful, n);
}

static void check(const struct engine *e, const struct engine_result *r,
		  uint32_t count_before, uint32_t max_before)
{
	const struct engine_stats *s = &e->st;
	uint32_t lists = 0, classes = engine_policy(e)->exempt_count, tcp[2];

	if (s->packets != s->accepted + s->dropped)
		abort();
	if (s->dropped != SUM(s->drop) || s->would_drop != SUM(s->would))
		abort();
	if (s->flows_evicted != SUM(s->evicted))
		abort();
	if (r && r->verdict == VERDICT_DROP && r->reason == DROP_NONE)
		abort();
	if (r && r->shadow && (e->enforce || r->verdict != VERDICT_ACCEPT))
		abort();
	/* Every accepted packet has a state, a dropped one none; only a
	 * packet of a flow has a direction or assurance. */
	if (s->accepted != SUM(s->state) || s->state[CT_STATE_NONE])
		abort();
	if (r && (r->verdict == VERDICT_DROP) != (r->ct_state == CT_STATE_NONE))
		abort();
	if (r && (r->ct_state >= CT_STATE_COUNT ||
		  (r->ct_state == CT_STATE_NEW && r->ct_reply)))
		abort();
	if (r && (r->ct_reply || r->ct_assured) &&
	    r->ct_state != CT_STATE_NEW &&
	    r->ct_state != CT_STATE_ESTABLISHED &&
	    r->ct_state != CT_STATE_RELATED)
		abort();
	if (e->table.count > e->table.slab[0].capacity ||
	    e->table.count != e->table.slab[0].in_use + e->table.slab[1].in_use)
		abort();
	/* A state slot for every TCP and SCTP flow, and for nothing else;
	 * the pickups' budget counts the flows it says it does. */
	stateful_flows(e, tcp);
	if (e->tcp.in_use != tcp[0] ||
	    engine_policy(e)->midstream_count != tcp[1])
		abort();
	/* A packet adds one flow at most, and to a full table only by
	 * reclaiming or evicting one first. */
	if (r && count_before >= max_before && e->table.count > count_before)
		abort();
	if (r && count_before < max_before && e->table.count > max_before)
		abort();
	for (uint32_t i = 0; i < e->table.nlists; i++)
		lists += e->table.list[i].count;
	for (int i = 0; i < PC_COUNT; i++)
		classes += engine_policy(e)->proto_count[i];
	if (lists != e->table.count || classes != e->table.count)
		abort();
}

struct walk {
	const struct engine *e;
	const struct dump_filter *filter;
	uint32_t seen;
};

static int format_flow(const struct flow *f, void *arg)
{
	struct walk *w = arg;
	char line[DUMP_LINE_MAX];
	size_t n;

	w->seen++;
	dump_match(w->filter, f);
	for (int json = 0; json < 2; json++) {
		n = dump_format(line, sizeof(line), f,
				engine_flow_left(w->e, f),
				engine_flow_acct(w->e, f), json);
		if (n >= sizeof(line) || n != strlen(line))
			abort();
		/* Short buffers cut the line, never overrun it. */
		n = dump_format(line, 17, f, engine_flow_left(w->e, f),
				engine_flow_acct(w->e, f), json);
		if (n >= 17 || n != strlen(line))
			abort();
	}
	return 0;
}

static bool match(const struct flow *f, void *arg)
{
	return dump_match(arg, f);
}

/* Flush the flows that the filter term in b[0, len) selects. */
static void flush(struct engine *e, const uint8_t *b, size_t len)
{
	struct flow_cursor cur = { 0 };
	struct dump_filter lf;
	uint32_t removed = 0, count = e->table.count;
	const char *why;
	char term[64];

	if (len >= sizeof(term))
		len = sizeof(term) - 1;
	memcpy(term, b, len);
	term[len] = '\0';
	dump_filter_init(&lf);
	if (dump_filter_add(&lf, term, &why) < 0)
		return;
	while (engine_flush_step(e, &cur, 3, match, &lf, &removed))
		;
	if (e->table.count + removed != count)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct engine_result r;
	struct dump_filter any;
	struct engine e;
	struct conf c;
	uint64_t now = 1000000;

	if (size < CONF_BYTES)
		return 0;
	conf_from(&c, data);
	if (engine_init(&e, tu_params(&c), &hkey, now) < 0)
		abort();
	data += CONF_BYTES;
	size -= CONF_BYTES;
	dump_filter_init(&any);

	while (size >= 4) {
		uint8_t flags = data[1];
		size_t len = (size_t)data[2] << 8 | data[3];
		uint32_t count = e.table.count,
			 max = engine_policy(&e)->max_flows;
		uint8_t *pkt;

		now += advance(data[0]);
		data += 4;
		size -= 4;
		if (len > size)
			len = size;
		engine_set_time(&e, now);
		if (flags & REC_RECONF) {
			if (len >= CONF_BYTES) {
				conf_from(&c, data);
				/* Failure leaves the engine as it was. */
				group_reconfigure(engine_group(&e),
						  tu_params(&c));
			}
			check(&e, NULL, 0, 0);
		} else if (flags & REC_FLUSH) {
			flush(&e, data, len);
			check(&e, NULL, 0, 0);
		} else {
			/* An exact copy, so that ASan sees any read past
			 * the packet's end. */
			pkt = malloc(len ? len : 1);
			if (!pkt)
				abort();
			memcpy(pkt, data, len);
			engine_packet(&e, pkt, len, wirelen(len, flags),
				      (flags & REC_GSO ? PKT_F_GSO : 0) |
					      (flags & REC_CSUM ? PKT_F_CSUM :
								  0),
				      &r);
			free(pkt);
			if (tu_pkt_invariant(&r.pkt, r.pkt.kind, len,
					     wirelen(len, flags)))
				abort();
			check(&e, &r, count, max);
		}
		if (flags & REC_TICK) {
			engine_tick(&e);
			check(&e, NULL, 0, 0);
		}
		if (flags & REC_LIST) {
			struct walk w = { &e, &any, 0 };

			flow_table_walk(&e.table, format_flow, &w);
			if (w.seen != e.table.count)
				abort();
		}
		data += len;
		size -= len;
	}
	engine_destroy(&e);
	return 0;
}
