// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * droplog.c - syslog lines about drops and evictions; see droplog.h.
 */
#include <arpa/inet.h>
#include <inttypes.h>
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

void droplog_packet(struct droplog *dl, const struct engine *e,
		    const struct engine_result *r, uint64_t now_ms)
{
	char line[640];
	bool dropped = r->verdict == VERDICT_DROP || r->shadow;
	struct fields fs;

	if (dropped)
		count(&dl->drops, r->reason, e, &r->pkt);
	if (r->evicted)
		count(&dl->evictions, r->evicted, e, &r->pkt);
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

void droplog_tick(struct droplog *dl, struct group *g, uint64_t now_ms)
{
	uint64_t n = ratelimit_report(&dl->rl, now_ms), unsourced;
	const struct policy *e = group_policy(g);
	uint32_t flows = group_flows(g), events = group_take_events(g);
	struct engine_stats st;
	char line[1024];

	group_stats(g, &st);
	unsourced = st.flows_unsourced;
	if (n)
		log_msg(LOG_WARNING, "%" PRIu64 " drop messages suppressed", n);
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
	/* The source table full: at most one line every 10 s. */
	if (unsourced > dl->unsourced_said &&
	    now_ms - dl->unsourced_ms >= 10000) {
		log_msg(LOG_WARNING,
			"source table full (%" PRIu32 " sources): %" PRIu64
			" new flows were not limited per source; raise "
			"max_sources",
			e->sources.count, unsourced - dl->unsourced_said);
		dl->unsourced_said = unsourced;
		dl->unsourced_ms = now_ms;
	}
	if (!dl->interval_s ||
	    now_ms - dl->interval_start_ms < (uint64_t)dl->interval_s * 1000)
		return;
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
