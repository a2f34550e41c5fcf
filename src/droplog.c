// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * droplog.c - syslog lines about drops and evictions; see droplog.h.
 */
#include <arpa/inet.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "droplog.h"
#include "prefix.h"
#include "proto.h"

void droplog_init(struct droplog *dl, const struct conf *c, uint64_t now_ms)
{
	memset(dl, 0, sizeof(*dl));
	ratelimit_init(&dl->rl, c->log_rate, c->log_burst, now_ms);
	report_init(&dl->drops, DROP_REASON_COUNT, engine_drop_names());
	report_init(&dl->evictions, EVICT_REASON_COUNT, engine_evict_names());
	dl->interval_s = c->report_interval;
	dl->interval_start_ms = now_ms;
}

void droplog_configure(struct droplog *dl, const struct conf *c)
{
	ratelimit_set(&dl->rl, c->log_rate, c->log_burst);
	dl->interval_s = c->report_interval;
}

static void fmt_endpoint(char *buf, size_t len, uint8_t family,
			 const void *addr, uint16_t port, bool with_port)
{
	char a[INET6_ADDRSTRLEN] = "?";

	inet_ntop(family == 6 ? AF_INET6 : AF_INET, addr, a, sizeof(a));
	if (!with_port)
		snprintf(buf, len, "%s", a);
	else if (family == 6)
		snprintf(buf, len, "[%s]:%u", a, port);
	else
		snprintf(buf, len, "%s:%u", a, port);
}

static const char *proto_label(uint8_t proto, char *buf, size_t len)
{
	const char *name = pkt_proto_name(proto);

	if (name)
		return name;
	snprintf(buf, len, "proto %u", proto);
	return buf;
}

void droplog_fmt_packet(char *buf, size_t len, const struct pkt *p)
{
	bool icmp = p->proto == IPPROTO_ICMP || p->proto == IPPROTO_ICMPV6;
	bool ports = !icmp && (p->sport || p->dport);
	char src[64], dst[64], pname[16];
	const char *name = proto_label(p->proto, pname, sizeof(pname));

	if (!p->family) {
		snprintf(buf, len, "(not IP)");
		return;
	}
	fmt_endpoint(src, sizeof(src), p->family, p->src, p->sport, ports);
	fmt_endpoint(dst, sizeof(dst), p->family, p->dst, p->dport, ports);
	if (icmp && p->icmp_query)
		snprintf(buf, len, "%s %s -> %s type %u code %u id %u", name,
			 src, dst, p->icmp_type, p->icmp_code, p->sport);
	else if (icmp)
		snprintf(buf, len, "%s %s -> %s type %u code %u", name, src,
			 dst, p->icmp_type, p->icmp_code);
	else
		snprintf(buf, len, "%s %s -> %s", name, src, dst);
}

/* An evicted flow, from its key: "TCP 192.0.2.7:5132 -> 198.51.100.1:80
 * TIME_WAIT". */
static void fmt_flow(char *buf, size_t len, const struct evicted_flow *ev)
{
	const struct flow_key *k = &ev->key;
	int s = ev->orig_hi ? 1 : 0;
	bool icmp = k->proto == IPPROTO_ICMP || k->proto == IPPROTO_ICMPV6;
	bool ports = !icmp && (k->port[0] || k->port[1]);
	char src[64], dst[64], pname[16];
	const char *name = proto_label(k->proto, pname, sizeof(pname));

	fmt_endpoint(src, sizeof(src), k->family, k->addr[s], k->port[s],
		     ports);
	fmt_endpoint(dst, sizeof(dst), k->family, k->addr[!s], k->port[!s],
		     ports);
	if (k->proto == IPPROTO_TCP)
		snprintf(buf, len, "%s %s -> %s %s", name, src, dst,
			 tcp_state_name(ev->state));
	else
		snprintf(buf, len, "%s %s -> %s", name, src, dst);
}

static const char *const class_names[PC_COUNT] = {
	[PC_TCP] = "TCP",
	[PC_UDP] = "UDP",
	[PC_ICMP] = "ICMP",
	[PC_OTHER] = "other-protocol",
};

void droplog_fmt_drop(char *buf, size_t len, const struct engine *e,
		      const struct engine_result *r)
{
	const struct pkt *p = &r->pkt;
	const char *verb = r->shadow ? "would drop" : "dropping";
	char what[256], src[PREFIX_STR_MAX];
	uint8_t masked[16];

	droplog_fmt_packet(what, sizeof(what), p);
	src[0] = '\0';
	if (p->family) {
		uint8_t bits = engine_source_bits(e, p->family);

		prefix_mask(p->family, p->src, bits, masked);
		prefix_format(src, sizeof(src), p->family, masked, bits);
	}
	switch (r->reason) {
	case DROP_TABLE_FULL:
		snprintf(buf, len,
			 "table full (%" PRIu32 "/%" PRIu32 " flows), %s "
			 "packet: %s",
			 r->count, r->limit, verb, what);
		break;
	case DROP_SOURCE_LIMIT:
		snprintf(buf, len,
			 "source limit (%" PRIu32 "/%" PRIu32
			 " flows from %s), "
			 "%s packet: %s",
			 r->count, r->limit, src, verb, what);
		break;
	case DROP_SOURCE_RATE:
		snprintf(buf, len,
			 "source rate (over %" PRIu32 " new flows/s from %s), "
			 "%s packet: %s",
			 r->limit, src, verb, what);
		break;
	case DROP_PROTO_CAP:
		snprintf(buf, len,
			 "%s cap (%" PRIu32 "/%" PRIu32 " flows), %s packet: "
			 "%s",
			 class_names[proto_class(p->family, p->proto)],
			 r->count, r->limit, verb, what);
		break;
	case DROP_CHAIN:
		snprintf(buf, len,
			 "hash chain full (%" PRIu32 " flows in one bucket), "
			 "%s packet: %s",
			 r->limit, verb, what);
		break;
	case DROP_SOURCE_FULL:
		snprintf(buf, len,
			 "source table full (%" PRIu32 "/%" PRIu32
			 " sources, none to reclaim), %s packet from new "
			 "source %s: %s",
			 r->count, r->limit, verb, src, what);
		break;
	case DROP_EXEMPT_CAP:
	case DROP_MIDSTREAM_CAP: {
		bool ex = r->reason == DROP_EXEMPT_CAP;

		snprintf(buf, len,
			 "%s (%" PRIu32 "/%" PRIu32 " %s), %s packet: %s",
			 ex ? "exempt cap" : "mid-stream budget", r->count,
			 r->limit,
			 ex ? "flows of exempt sources" :
			      "unanswered TCP pickups",
			 verb, what);
		break;
	}
	case DROP_MALFORMED:
		snprintf(buf, len, "malformed packet (%s), %s: %s",
			 pkt_err_name(p->err), verb, what);
		break;
	case DROP_FRAGMENT:
		snprintf(buf, len, "non-first fragment, %s: %s", verb, what);
		break;
	default:
		snprintf(buf, len, "invalid packet (%s), %s: %s",
			 engine_invalid_name(r->invalid), verb, what);
	}
}

void droplog_fmt_evict(char *buf, size_t len, const struct engine *e,
		       const struct engine_result *r)
{
	char old[256], what[256], cause[32];

	(void)e;
	if (r->ev.cause == DROP_PROTO_CAP)
		snprintf(cause, sizeof(cause), "%s cap",
			 class_names[proto_class(r->ev.key.family,
						 r->ev.key.proto)]);
	else if (r->ev.cause == DROP_MIDSTREAM_CAP)
		snprintf(cause, sizeof(cause), "mid-stream budget");
	else if (r->ev.cause == DROP_EXEMPT_CAP)
		snprintf(cause, sizeof(cause), "exempt cap");
	else if (r->ev.cause == DROP_SOURCE_FULL)
		snprintf(cause, sizeof(cause), "source table full");
	else
		snprintf(cause, sizeof(cause), "table full");
	fmt_flow(old, sizeof(old), &r->ev);
	droplog_fmt_packet(what, sizeof(what), &r->pkt);
	snprintf(buf, len, "%s, evicted (%s) %s, idle %" PRIu32 " s, for %s",
		 cause, engine_evict_name(r->evicted), old, r->ev.idle, what);
}

/* Count the event for the interval's report, by the packet's source. */
static void count(struct report *rep, unsigned reason, const struct engine *e,
		  const struct pkt *p)
{
	uint8_t masked[16], bits;

	if (!p->family) {
		report_add(rep, reason, 0, NULL, 0);
		return;
	}
	bits = engine_source_bits(e, p->family);
	prefix_mask(p->family, p->src, bits, masked);
	report_add(rep, reason, p->family, masked, bits);
}

/* The journal's fields for a packet's line: what happened, why, and the
 * packet's protocol and endpoints, for journalctl NFQTRACK_REASON=... */
struct fields {
	struct log_field f[7];
	unsigned n;
	char proto[16], src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN];
	char sport[8], dport[8];
};

static void packet_fields(struct fields *fs, const char *event,
			  const char *reason, const struct pkt *p)
{
	const char *name;

	fs->n = 0;
	fs->f[fs->n++] = (struct log_field){ "NFQTRACK_EVENT", event };
	fs->f[fs->n++] = (struct log_field){ "NFQTRACK_REASON", reason };
	if (!p->family)
		return;
	name = proto_label(p->proto, fs->proto, sizeof(fs->proto));
	if (name != fs->proto)
		snprintf(fs->proto, sizeof(fs->proto), "%s", name);
	inet_ntop(p->family == 6 ? AF_INET6 : AF_INET, p->src, fs->src,
		  sizeof(fs->src));
	inet_ntop(p->family == 6 ? AF_INET6 : AF_INET, p->dst, fs->dst,
		  sizeof(fs->dst));
	fs->f[fs->n++] = (struct log_field){ "NFQTRACK_PROTO", fs->proto };
	fs->f[fs->n++] = (struct log_field){ "NFQTRACK_SRC", fs->src };
	fs->f[fs->n++] = (struct log_field){ "NFQTRACK_DST", fs->dst };
	if (p->proto == IPPROTO_ICMP || p->proto == IPPROTO_ICMPV6 ||
	    !(p->sport || p->dport))
		return;
	snprintf(fs->sport, sizeof(fs->sport), "%u", p->sport);
	snprintf(fs->dport, sizeof(fs->dport), "%u", p->dport);
	fs->f[fs->n++] = (struct log_field){ "NFQTRACK_SPORT", fs->sport };
	fs->f[fs->n++] = (struct log_field){ "NFQTRACK_DPORT", fs->dport };
}

/* Count the outcome for the interval's report. */
static void count_packet(struct report *drops, struct report *evictions,
			 const struct engine *e, const struct engine_result *r)
{
	if (r->verdict == VERDICT_DROP || r->shadow)
		count(drops, r->reason, e, &r->pkt);
	if (r->evicted)
		count(evictions, r->evicted, e, &r->pkt);
}

/* Write the outcome's lines, as the rate limit allows. */
static void say_packet(struct droplog *dl, const struct engine *e,
		       const struct engine_result *r, uint64_t now_ms)
{
	char line[640];
	bool dropped = r->verdict == VERDICT_DROP || r->shadow;
	struct fields fs;

	if (r->evicted) {
		if (ratelimit_allow(&dl->rl, now_ms)) {
			droplog_fmt_evict(line, sizeof(line), e, r);
			packet_fields(&fs, "evict",
				      engine_evict_name(r->evicted), &r->pkt);
			log_fields(LOG_WARNING, fs.f, fs.n, "%s", line);
		} else {
			dl->suppressed++;
		}
	}
	if (dropped) {
		if (ratelimit_allow(&dl->rl, now_ms)) {
			droplog_fmt_drop(line, sizeof(line), e, r);
			packet_fields(&fs, r->shadow ? "would_drop" : "drop",
				      engine_drop_name(r->reason), &r->pkt);
			log_fields(LOG_WARNING, fs.f, fs.n, "%s", line);
		} else {
			dl->suppressed++;
		}
	}
}

void droplog_packet(struct droplog *dl, const struct engine *e,
		    const struct engine_result *r, uint64_t now_ms)
{
	count_packet(&dl->drops, &dl->evictions, e, r);
	say_packet(dl, e, r, now_ms);
}

/* The warning mark's lines. */
static void say_warn(const struct policy *e, uint32_t events, uint32_t flows)
{
	if (events & ENGINE_EV_WARN_ON)
		log_msg(LOG_WARNING,
			"flow table %" PRIu32 "%% full: %" PRIu32 " of %" PRIu32
			" flows (warn_at = %" PRIu32 ")",
			(uint32_t)((uint64_t)flows * 100 / e->max_flows), flows,
			e->max_flows, e->warn_at);
	if (events & ENGINE_EV_WARN_OFF)
		log_msg(LOG_NOTICE,
			"flow table back under %" PRIu32 "%%: %" PRIu32
			" of %" PRIu32 " flows",
			e->warn_at * 9 / 10, flows, e->max_flows);
}

/* The count of lines the rate limit held back: at most once a second. */
static void say_suppressed(struct droplog *dl, uint64_t now_ms)
{
	uint64_t n = ratelimit_report(&dl->rl, now_ms);

	if (n)
		log_msg(LOG_WARNING, "%" PRIu64 " drop messages suppressed", n);
}

/* The source table full: at most one line every 10 s. */
static void say_unsourced(struct droplog *dl, uint64_t unsourced,
			  uint32_t sources, uint64_t now_ms)
{
	if (unsourced > dl->unsourced_said &&
	    now_ms - dl->unsourced_ms >= 10000) {
		log_msg(LOG_WARNING,
			"source table full (%" PRIu32 " sources): %" PRIu64
			" new flows were not limited per source; raise "
			"max_sources",
			sources, unsourced - dl->unsourced_said);
		dl->unsourced_said = unsourced;
		dl->unsourced_ms = now_ms;
	}
}

/* Has the interval ended? */
static bool interval_over(const struct droplog *dl, uint64_t now_ms)
{
	return dl->interval_s && now_ms - dl->interval_start_ms >=
					 (uint64_t)dl->interval_s * 1000;
}

/* The interval's report lines, and a new interval. */
static void say_interval(struct droplog *dl, const struct policy *e,
			 uint64_t now_ms)
{
	char line[1024];

	if (!report_empty(&dl->drops)) {
		report_format(&dl->drops, e->enforce ? "dropped" : "would drop",
			      "packets", dl->interval_s, line, sizeof(line));
		log_msg(LOG_WARNING, "%s", line);
	}
	if (!report_empty(&dl->evictions)) {
		report_format(&dl->evictions, "evicted", "flows",
			      dl->interval_s, line, sizeof(line));
		log_msg(LOG_WARNING, "%s", line);
	}
	report_reset(&dl->drops);
	report_reset(&dl->evictions);
	dl->interval_start_ms = now_ms;
}

void droplog_tick(struct droplog *dl, struct group *g, uint64_t now_ms)
{
	const struct policy *e = group_policy(g);
	uint32_t events = group_take_events(g);
	struct engine_stats st;

	group_stats(g, &st);
	say_suppressed(dl, now_ms);
	say_warn(e, events, e->flows);
	say_unsourced(dl, st.flows_unsourced, e->sources.count, now_ms);
	if (interval_over(dl, now_ms))
		say_interval(dl, e, now_ms);
}

void droplog_feed_init(struct droplog_feed *f)
{
	/* Not the ring: its pages are touched only once lines go through
	 * (a worker's memory is calloc's, untouched until used). */
	memset(f, 0, offsetof(struct droplog_feed, ring));
	for (int i = 0; i < 2; i++) {
		report_init(&f->drops[i], DROP_REASON_COUNT,
			    engine_drop_names());
		report_init(&f->evictions[i], EVICT_REASON_COUNT,
			    engine_evict_names());
	}
	atomic_init(&f->wanted, true);
}

void droplog_feed_packet(struct droplog_feed *f, const struct engine *e,
			 const struct engine_result *r, uint64_t now_ms)
{
	unsigned head = atomic_load_explicit(&f->head, memory_order_acquire);
	struct droplog_entry *en;

	count_packet(&f->drops[f->cur], &f->evictions[f->cur], e, r);
	if (f->tail_local - head >= DROPLOG_RING) {
		/* What the line(s) would have been: held back. */
		f->lost += (r->evicted ? 1 : 0) +
			   (r->verdict == VERDICT_DROP || r->shadow ? 1 : 0);
		atomic_store_explicit(&f->lost_pub, f->lost,
				      memory_order_relaxed);
		return;
	}
	en = &f->ring[f->tail_local % DROPLOG_RING];
	en->r = *r;
	en->now_ms = now_ms;
	atomic_store_explicit(&f->tail, ++f->tail_local, memory_order_release);
	f->pushed = true;
}

/* A count only its writer changes: a plain store, no locked add. */
static void publish64(atomic_uint_fast64_t *to, uint64_t v)
{
	atomic_store_explicit(to, v, memory_order_relaxed);
}

bool droplog_feed_publish(struct droplog_feed *f, struct engine *e)
{
	unsigned flip = atomic_load_explicit(&f->flip, memory_order_acquire);
	bool news = f->pushed;

	if (flip != f->acked) {
		/* The reports counted so far are the main thread's from the
		 * release below. */
		f->cur = flip & 1;
		f->acked = flip;
		atomic_store_explicit(&f->ack, flip, memory_order_release);
	}
	if (e->events || e->st.flows_unsourced != f->unsourced) {
		engine_lock(e);
		atomic_store_explicit(&f->warn_flows, engine_policy(e)->flows,
				      memory_order_relaxed);
		atomic_store_explicit(&f->sources_pub,
				      engine_policy(e)->sources.count,
				      memory_order_relaxed);
		engine_unlock(e);
		f->warn_on += !!(e->events & ENGINE_EV_WARN_ON);
		f->warn_off += !!(e->events & ENGINE_EV_WARN_OFF);
		atomic_store_explicit(&f->warn_on_pub, f->warn_on,
				      memory_order_release);
		atomic_store_explicit(&f->warn_off_pub, f->warn_off,
				      memory_order_release);
		news |= e->events != 0;
		e->events = 0;
		f->unsourced = e->st.flows_unsourced;
		publish64(&f->unsourced_pub, f->unsourced);
	}
	publish64(&f->dropped_pub, e->st.dropped);
	atomic_store_explicit(&f->flows_pub, e->table.count,
			      memory_order_relaxed);
	f->pushed = false;
	if (!news)
		return false;
	/* Against droplog_drain()'s store of wanted and look at the ring:
	 * one of the two sees the other's, so nothing waits unannounced
	 * (one full fence per batch that had something to say). */
	atomic_thread_fence(memory_order_seq_cst);
	if (!atomic_load_explicit(&f->wanted, memory_order_relaxed))
		return false;
	atomic_store_explicit(&f->wanted, false, memory_order_relaxed);
	return true;
}

/* One pass over what the feed holds now. */
static void drain_once(struct droplog *dl, struct droplog_feed *f,
		       const struct engine *e)
{
	unsigned head = atomic_load_explicit(&f->head, memory_order_relaxed),
		 tail = atomic_load_explicit(&f->tail, memory_order_acquire);
	uint64_t lost =
		atomic_load_explicit(&f->lost_pub, memory_order_relaxed);
	uint32_t on = atomic_load_explicit(&f->warn_on_pub,
					   memory_order_acquire),
		 off = atomic_load_explicit(&f->warn_off_pub,
					    memory_order_acquire);

	while (head != tail) {
		const struct droplog_entry *en = &f->ring[head % DROPLOG_RING];

		say_packet(dl, e, &en->r, en->now_ms);
		atomic_store_explicit(&f->head, ++head, memory_order_release);
	}
	if (lost != f->lost_seen) {
		dl->suppressed += lost - f->lost_seen;
		dl->rl.suppressed += lost - f->lost_seen;
		f->lost_seen = lost;
	}
	if (on != f->warn_on_seen || off != f->warn_off_seen) {
		say_warn(engine_policy(e),
			 (on != f->warn_on_seen ? ENGINE_EV_WARN_ON : 0) |
				 (off != f->warn_off_seen ? ENGINE_EV_WARN_OFF :
							    0),
			 atomic_load_explicit(&f->warn_flows,
					      memory_order_relaxed));
		f->warn_on_seen = on;
		f->warn_off_seen = off;
	}
}

void droplog_drain(struct droplog *dl, struct droplog_feed *f,
		   const struct engine *e)
{
	drain_once(dl, f, e);
	atomic_store_explicit(&f->wanted, true, memory_order_relaxed);
	/* See droplog_feed_publish(). */
	atomic_thread_fence(memory_order_seq_cst);
	drain_once(dl, f, e);
}

void droplog_feed_tick(struct droplog *dl, struct droplog_feed *const *fs,
		       struct group *g, uint64_t now_ms)
{
	unsigned n = g->n;
	uint64_t unsourced = 0;
	uint32_t sources = 0;
	bool swapped = true;

	for (unsigned i = 0; i < n; i++) {
		uint32_t one;

		droplog_drain(dl, fs[i], group_engine(g, i));
		unsourced += atomic_load_explicit(&fs[i]->unsourced_pub,
						  memory_order_relaxed);
		/* The group's count, as the last worker to see it saw it. */
		one = atomic_load_explicit(&fs[i]->sources_pub,
					   memory_order_relaxed);
		sources = one > sources ? one : sources;
	}
	say_suppressed(dl, now_ms);
	say_unsourced(dl, unsourced, sources, now_ms);
	if (!dl->collecting) {
		if (!interval_over(dl, now_ms))
			return;
		for (unsigned i = 0; i < n; i++)
			atomic_store_explicit(
				&fs[i]->flip,
				atomic_load_explicit(&fs[i]->flip,
						     memory_order_relaxed) +
					1,
				memory_order_release);
		dl->collecting = true;
		dl->interval_start_ms = now_ms;
	}
	for (unsigned i = 0; i < n; i++)
		swapped &= atomic_load_explicit(&fs[i]->ack,
						memory_order_acquire) ==
			   atomic_load_explicit(&fs[i]->flip,
						memory_order_relaxed);
	if (!swapped)
		return;
	for (unsigned i = 0; i < n; i++) {
		unsigned old = !(atomic_load_explicit(&fs[i]->flip,
						      memory_order_relaxed) &
				 1);

		report_merge(&dl->drops, &fs[i]->drops[old]);
		report_merge(&dl->evictions, &fs[i]->evictions[old]);
		report_reset(&fs[i]->drops[old]);
		report_reset(&fs[i]->evictions[old]);
	}
	dl->collecting = false;
	/* The next interval began at the swap. */
	say_interval(dl, group_policy(g), dl->interval_start_ms);
}
