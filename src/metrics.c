// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * metrics.c - the counters in Prometheus's text format, from one table.
 *
 * Each row of the table is one metric family, or one more series of the
 * family above it: its name, type and help, its label, and where its
 * value lives (which struct, at what offset, how wide). A family with a
 * label per reason (drops by reason, flows by protocol) is one row that
 * runs over an array of counters and the matching names, so that a new
 * drop reason in the engine shows up here without a change. The rows are
 * in the order of `nfqtrackctl stats`, which the golden files and the
 * integration tests hold; the metrics' families follow it (Prometheus
 * reads families in any order).
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "metrics.h"

/* Where a value lives. */
enum src {
	SRC_ONE, /* the constant 1 (build_info) */
	SRC_GAUGES, /* struct group_gauges */
	SRC_STATS, /* struct engine_stats */
	SRC_QUEUE, /* struct queue_stats */
	SRC_KERNEL, /* struct queue_kernel_stats */
	SRC_INPUT, /* struct metrics_input */
};

struct metric {
	const char *name; /* NULL: no metric, a stats counter only */
	const char *type; /* NULL: another series of the family above */
	const char *help;
	const char *label; /* NULL: no label */
	const char *lvalue; /* the label's value, if fixed */
	/* else the i-th series' label value, for i in [first, end) */
	const char *(*lname)(const struct metrics_input *in, int i);
	uint8_t first, end;
	uint8_t src;
	uint8_t width; /* bytes: 1 (bool), 4 or 8 */
	uint32_t off;
	/* Its name in `nfqtrackctl stats` (for a row over reasons, the
	 * prefix of each reason's name), or NULL: not there. */
	const char *stat;
	bool daemon; /* the daemon's own, not the engines' */
};

#define FIELD(s, type, f) \
	.src = (s), .width = sizeof(((type *)0)->f), .off = offsetof(type, f)
#define GROUP(f) FIELD(SRC_GAUGES, struct group_gauges, f)
#define STATS(f) FIELD(SRC_STATS, struct engine_stats, f)
#define QUEUE(f) FIELD(SRC_QUEUE, struct queue_stats, f)
#define KERNEL(f) FIELD(SRC_KERNEL, struct queue_kernel_stats, f)
#define INPUT(f) FIELD(SRC_INPUT, struct metrics_input, f)

static const char *version_name(const struct metrics_input *in, int i)
{
	(void)i;
	return in->version ? in->version : "unknown";
}

static const char *proto_name(const struct metrics_input *in, int i)
{
	static const char *const names[PC_COUNT] = {
		[PC_TCP] = "tcp",
		[PC_UDP] = "udp",
		[PC_ICMP] = "icmp",
		[PC_OTHER] = "other",
	};

	(void)in;
	return names[i];
}

static const char *drop_name(const struct metrics_input *in, int i)
{
	(void)in;
	return engine_drop_name((enum drop_reason)i);
}

static const char *evict_name(const struct metrics_input *in, int i)
{
	(void)in;
	return engine_evict_name((enum evict_reason)i);
}

static const char *invalid_name(const struct metrics_input *in, int i)
{
	(void)in;
	return engine_invalid_name((enum invalid_reason)i);
}

static const char *state_name(const struct metrics_input *in, int i)
{
	(void)in;
	return engine_state_name((enum ct_state)i);
}

static const char *malformed_name(const struct metrics_input *in, int i)
{
	(void)in;
	return pkt_err_name((enum pkt_err)i);
}

/* An array of counters labelled lab, series 1 to the end (0 is "none",
 * never counted): reasons, states. */
#define BY(s, type, f, fn, lab)                                    \
	.src = (s), .width = sizeof(((type *)0)->f[0]),            \
	.off = offsetof(type, f), .first = 1,                      \
	.end = sizeof(((type *)0)->f) / sizeof(((type *)0)->f[0]), \
	.label = (lab), .lname = (fn)
#define REASONS(s, type, f, fn) BY(s, type, f, fn, "reason")

#define COUNTER "counter"
#define GAUGE "gauge"
#define STAT(k) .stat = (k)
#define DAEMON(k) .stat = (k), .daemon = true

static const struct metric metrics[] = {
	{ "nfqtrack_build_info", GAUGE, "The daemon's version; always 1.",
	  .label = "version", .lname = version_name, .src = SRC_ONE },
	{ "nfqtrack_start_time_seconds", GAUGE,
	  "When the daemon started, in seconds since the epoch.",
	  INPUT(start_time) },
	{ "nfqtrack_flows", GAUGE, "Flows in the table.", GROUP(flows),
	  STAT("flows") },
	{ "nfqtrack_flows_max", GAUGE, "The table's size (max_flows).",
	  GROUP(max_flows), STAT("flows_max") },
	{ "nfqtrack_flows_by_protocol", GAUGE,
	  "Flows by protocol class, exempt sources' flows not counted.",
	  .label = "protocol", .lname = proto_name, .first = 0, .end = PC_COUNT,
	  .src = SRC_GAUGES,
	  .width = sizeof(((struct group_gauges *)0)->proto_count[0]),
	  .off = offsetof(struct group_gauges, proto_count), STAT("flows_") },
	{ "nfqtrack_flows_exempt", GAUGE, "Flows of exempt sources.",
	  GROUP(exempt_count), STAT("flows_exempt") },
	{ "nfqtrack_flows_midstream", GAUGE,
	  "TCP connections picked up mid-stream, not yet answered.",
	  GROUP(midstream_count), STAT("flows_midstream") },
	{ "nfqtrack_fastpath_flows", GAUGE,
	  "Flows the kernel's fast path carries (fastpath = yes).",
	  GROUP(fast_flows), STAT("fastpath_flows") },
	{ "nfqtrack_table_warning", GAUGE,
	  "1 while the table is past warn_at, else 0.", GROUP(warn),
	  STAT("table_warning") },
	{ NULL, GROUP(adaptive_permille), STAT("adaptive_scale_permille") },
	{ "nfqtrack_enforce", GAUGE,
	  "1 when limits drop packets, 0 in shadow mode (enforce = no).",
	  GROUP(enforce), STAT("enforce") },
	{ "nfqtrack_sources", GAUGE,
	  "Sources (addresses or prefixes) counted in the source table.",
	  GROUP(sources), STAT("sources") },
	{ "nfqtrack_sources_max", GAUGE, "The source table's size.",
	  GROUP(sources_max), STAT("sources_max") },
	{ NULL, GROUP(buckets), STAT("buckets") },
	{ NULL, GROUP(rehashing), STAT("rehashing") },
	{ NULL, GROUP(memory), STAT("memory_bytes") },
	{ NULL, GROUP(reserved), STAT("memory_reserved_bytes") },
	{ NULL, GROUP(bytes_per_flow), STAT("bytes_per_flow") },
	{ NULL, GROUP(bytes_per_flow_v4), STAT("bytes_per_flow_v4") },
	{ NULL, GROUP(bytes_per_flow_v6), STAT("bytes_per_flow_v6") },
	{ NULL, GROUP(bytes_per_tcp_state), STAT("bytes_per_tcp_state") },
	{ NULL, STATS(packets), STAT("packets") },
	{ "nfqtrack_packets_total", COUNTER,
	  "Packets given a verdict, by verdict.", .label = "verdict",
	  .lvalue = "accept", STATS(accepted), STAT("accepted") },
	{ "nfqtrack_packets_total", .label = "verdict", .lvalue = "drop",
	  STATS(dropped), STAT("dropped") },
	{ "nfqtrack_drops_total", COUNTER, "Packets dropped, by reason.",
	  REASONS(SRC_STATS, struct engine_stats, drop, drop_name),
	  STAT("dropped_") },
	{ "nfqtrack_packets_by_state_total", COUNTER,
	  "Packets accepted, by the state they were given (--ctstate's).",
	  BY(SRC_STATS, struct engine_stats, state, state_name, "state"),
	  STAT("state_") },
	{ "nfqtrack_malformed_packets_total", COUNTER,
	  "Malformed packets, by what was wrong with them.",
	  REASONS(SRC_STATS, struct engine_stats, malformed, malformed_name),
	  STAT("malformed_") },
	{ "nfqtrack_invalid_packets_total", COUNTER,
	  "Well-formed packets not valid for their flow, by reason.",
	  REASONS(SRC_STATS, struct engine_stats, invalid, invalid_name),
	  STAT("invalid_") },
	{ "nfqtrack_fragments_total", COUNTER,
	  "Non-first fragments, passed by fragment_verdict untracked.",
	  STATS(fragments), STAT("fragments") },
	{ "nfqtrack_icmp_related_total", COUNTER,
	  "ICMP errors about a flow in the table.", STATS(icmp_related),
	  STAT("icmp_related") },
	{ "nfqtrack_untracked_packets_total", COUNTER,
	  "Packets passed untracked (neighbour discovery and the like).",
	  STATS(untracked), STAT("untracked") },
	{ "nfqtrack_tcp_ignored_packets_total", COUNTER,
	  "TCP packets passed without changing their flow (out of step).",
	  STATS(tcp_ignored), STAT("tcp_ignored") },
	{ "nfqtrack_checksums_verified_total", COUNTER,
	  "Packets whose checksum nfqtrackd verified (the kernel had not).",
	  STATS(checksums_verified), STAT("checksums_verified") },
	{ "nfqtrack_flows_created_total", COUNTER, "Flows created.",
	  STATS(flows_created), STAT("flows_created") },
	{ "nfqtrack_flows_reopened_total", COUNTER,
	  "TCP connections that reopened a closing flow's ports.",
	  STATS(flows_reopened), STAT("flows_reopened") },
	{ "nfqtrack_flows_revived_total", COUNTER,
	  "Closed TCP flows that carried data again, counted again.",
	  STATS(flows_revived), STAT("flows_revived") },
	{ "nfqtrack_flows_closed_total", COUNTER,
	  "Flows removed at once (a RST before any reply).",
	  STATS(flows_closed), STAT("flows_closed") },
	{ "nfqtrack_flows_expired_total", COUNTER,
	  "Flows removed because they timed out.", INPUT(flows_expired),
	  STAT("flows_expired") },
	{ NULL, STATS(flows_evicted), STAT("flows_evicted") },
	{ "nfqtrack_flows_evicted_total", COUNTER,
	  "Flows evicted to make room for new ones, by reason.",
	  REASONS(SRC_STATS, struct engine_stats, evicted, evict_name),
	  STAT("evicted_") },
	{ NULL, STATS(would_drop), STAT("would_drop") },
	{ "nfqtrack_would_drops_total", COUNTER,
	  "Packets that enforce = yes would have dropped, by reason.",
	  REASONS(SRC_STATS, struct engine_stats, would, drop_name),
	  STAT("would_drop_") },
	{ "nfqtrack_flows_unsourced_total", COUNTER,
	  "Flows made with no room in the source table to count them.",
	  STATS(flows_unsourced), STAT("flows_unsourced") },
	{ "nfqtrack_flows_flushed_total", COUNTER,
	  "Flows removed by nfqtrackctl flush.", STATS(flows_flushed),
	  STAT("flows_flushed") },
	{ "nfqtrack_events_total", COUNTER,
	  "Flow events the engines emitted (nfqtrackctl events, export).",
	  STATS(events_emitted), STAT("events_emitted") },
	{ "nfqtrack_fastpath_admitted_total", COUNTER,
	  "Packets whose verdict admitted their flow to the fast path.",
	  STATS(fastpath_admitted), STAT("fastpath_admitted") },
	{ "nfqtrack_fastpath_checks_total", COUNTER,
	  "Fast flows asked of the kernel when their time ran out.",
	  STATS(fastpath_checks), STAT("fastpath_checks") },
	{ "nfqtrack_fastpath_early_total", COUNTER,
	  "Of those, asked early: a new flow met a limit they filled.",
	  STATS(fastpath_early), STAT("fastpath_early") },
	{ "nfqtrack_fastpath_alive_total", COUNTER,
	  "Fast flows the kernel still held when asked.", STATS(fastpath_alive),
	  STAT("fastpath_alive") },
	{ "nfqtrack_fastpath_ended_total", COUNTER,
	  "Fast flows gone from the kernel when asked, removed.",
	  STATS(fastpath_ended), STAT("fastpath_ended") },
	{ "nfqtrack_fastpath_forgotten_total", COUNTER,
	  "Fast flows whose elements nfqtrackd removed (flow ended here).",
	  STATS(fastpath_forgotten), STAT("fastpath_forgotten") },
	{ "nfqtrack_fastpath_errors_total", COUNTER,
	  "Fast path queries or removals that failed.", STATS(fastpath_errors),
	  STAT("fastpath_errors") },
	{ "nfqtrack_fastpath_learned_total", COUNTER,
	  "New TCP flows the kernel admitted under the budget, learned.",
	  STATS(fastpath_learned), STAT("fastpath_learned") },
	{ "nfqtrack_fastpath_unlearned_total", COUNTER,
	  "Of those, taken back from the kernel: not admissible here.",
	  STATS(fastpath_unlearned), STAT("fastpath_unlearned") },
	{ "nfqtrack_fastpath_filtered_total", COUNTER,
	  "SYNs the kernel admitted under the budget that the filter then "
	  "dropped: never flows, their units returned.",
	  STATS(fastpath_filtered), STAT("fastpath_filtered") },
	{ "nfqtrack_sources_full_total", COUNTER,
	  "New sources that found no room in the source table.",
	  GROUP(sources_full), STAT("sources_full") },
	{ "nfqtrack_sources_reclaimed_total", COUNTER,
	  "Idle sources freed early to make room.", GROUP(sources_reclaimed),
	  STAT("sources_reclaimed") },
	{ "nfqtrack_table_warnings_total", COUNTER,
	  "Times the table went past warn_at.", STATS(warnings),
	  STAT("table_warnings") },
	{ "nfqtrack_queue_packets_total", COUNTER,
	  "Packets received from the queue.", QUEUE(packets),
	  DAEMON("queue_packets") },
	{ "nfqtrack_already_marked_packets_total", COUNTER,
	  "Packets that came marked by nfqtrackd already (verdict_mode "
	  "mark, repeat): accepted as they were, untracked.",
	  INPUT(already_marked), DAEMON("already_marked") },
	/* The queue's system calls: a diagnostic for stats, not a metric
	 * (they move with any packet, as queue_packets does). */
	{ NULL, QUEUE(recv_calls), DAEMON("queue_recv_calls") },
	{ NULL, QUEUE(send_calls), DAEMON("queue_send_calls") },
	{ NULL, QUEUE(verdict_msgs), DAEMON("queue_verdict_msgs") },
	{ "nfqtrack_queue_enobufs_total", COUNTER,
	  "Receive overruns (ENOBUFS): packets lost to a full socket buffer.",
	  QUEUE(enobufs), DAEMON("queue_enobufs") },
	{ NULL, QUEUE(eintr), DAEMON("queue_eintr") },
	{ "nfqtrack_queue_recv_errors_total", COUNTER,
	  "Receives that failed for want of memory.", QUEUE(recv_errors),
	  DAEMON("queue_recv_errors") },
	{ "nfqtrack_queue_send_errors_total", COUNTER,
	  "Verdicts the kernel did not take.", QUEUE(send_errors),
	  DAEMON("queue_send_errors") },
	{ "nfqtrack_queue_netlink_errors_total", COUNTER,
	  "Error messages from the kernel on the queue's socket.",
	  QUEUE(nl_errors), DAEMON("queue_nl_errors") },
	{ "nfqtrack_queue_bad_messages_total", COUNTER,
	  "Messages from the queue that could not be decoded.",
	  QUEUE(bad_messages), DAEMON("queue_bad_messages") },
	{ "nfqtrack_kernel_queue_length", GAUGE,
	  "Packets waiting in the kernel for a verdict.", KERNEL(queue_total),
	  DAEMON("kernel_queue_total") },
	{ "nfqtrack_kernel_queue_dropped_total", COUNTER,
	  "Packets the kernel dropped for a full queue (fail_open = no).",
	  KERNEL(queue_dropped), DAEMON("kernel_queue_dropped") },
	{ "nfqtrack_kernel_user_dropped_total", COUNTER,
	  "Packets the kernel dropped for a full socket (fail_open = no).",
	  KERNEL(user_dropped), DAEMON("kernel_user_dropped") },
	{ NULL, KERNEL(id_sequence), DAEMON("kernel_id_sequence") },
	{ "nfqtrack_log_suppressed_total", COUNTER,
	  "Drop and eviction lines held back by log_rate.",
	  INPUT(log_suppressed), DAEMON("log_suppressed") },
	{ "nfqtrack_log_lost_total", COUNTER,
	  "Log lines that syslog did not take.", INPUT(log_lost),
	  DAEMON("log_lost") },
	{ "nfqtrack_events_lost_total", COUNTER,
	  "Flow events lost to a worker's full ring.", INPUT(events_lost),
	  DAEMON("events_lost") },
	{ "nfqtrack_config_reloads_total", COUNTER,
	  "Configuration reloads asked for (SIGHUP, nfqtrackctl reload).",
	  INPUT(reloads), DAEMON("reloads") },
	{ "nfqtrack_config_reload_errors_total", COUNTER,
	  "Reloads refused: the running configuration stayed.",
	  INPUT(reload_errors), DAEMON("reload_errors") },
	{ "nfqtrack_ipfix_records_total", COUNTER,
	  "IPFIX flow records sent (each collector's counted).",
	  INPUT(ipfix_records), DAEMON("ipfix_records") },
	{ "nfqtrack_ipfix_records_lost_total", COUNTER,
	  "IPFIX flow records a collector's socket did not take.",
	  INPUT(ipfix_lost), DAEMON("ipfix_records_lost") },
	{ "nfqtrack_ipfix_messages_total", COUNTER, "IPFIX messages sent.",
	  INPUT(ipfix_messages), DAEMON("ipfix_messages") },
	{ "nfqtrack_ipfix_templates_total", COUNTER,
	  "IPFIX template sets sent (first, on schedule, after a refusal).",
	  INPUT(ipfix_templates), DAEMON("ipfix_templates") },
};

/* Text appended to a caller's buffer, counting what did not fit. */
struct out {
	char *buf;
	size_t len, used;
};

static void put(struct out *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void put(struct out *o, const char *fmt, ...)
{
	size_t room = o->used < o->len ? o->len - o->used : 0;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(room ? o->buf + o->used : NULL, room, fmt, ap);
	va_end(ap);
	if (n > 0)
		o->used += (size_t)n;
}

/* s escaped as the format wants: backslash and newline always, and the
 * double quote inside a label value. */
static void put_escaped(struct out *o, const char *s, bool quote)
{
	for (; *s; s++) {
		if (*s == '\\')
			put(o, "\\\\");
		else if (*s == '\n')
			put(o, "\\n");
		else if (*s == '"' && quote)
			put(o, "\\\"");
		else
			put(o, "%c", *s);
	}
}

static const void *source(const struct metrics_input *in, enum src s)
{
	switch (s) {
	case SRC_GAUGES:
		return in->gauges;
	case SRC_STATS:
		return in->stats;
	case SRC_QUEUE:
		return in->queue;
	case SRC_KERNEL:
		return in->kernel;
	case SRC_INPUT:
		return in;
	default:
		return NULL;
	}
}

/* The i-th value of row m; false if its source is not there. */
static bool value(const struct metrics_input *in, const struct metric *m, int i,
		  uint64_t *v)
{
	const unsigned char *p;
	uint32_t v32;

	if (m->src == SRC_ONE) {
		*v = 1;
		return true;
	}
	p = source(in, m->src);
	if (!p)
		return false;
	p += m->off + (size_t)i * m->width;
	switch (m->width) {
	case 1:
		*v = *p;
		break;
	case 4:
		memcpy(&v32, p, sizeof(v32));
		*v = v32;
		break;
	default:
		memcpy(v, p, sizeof(*v));
	}
	return true;
}

size_t metrics_render(char *buf, size_t len, const struct metrics_input *in)
{
	struct out o = { buf, len, 0 };
	const struct metric *family = NULL;

	if (len)
		buf[0] = '\0';
	for (size_t r = 0; r < sizeof(metrics) / sizeof(metrics[0]); r++) {
		const struct metric *m = &metrics[r];
		int first = m->first, end = m->end > m->first ? m->end : 1;
		uint64_t v;

		if (!m->name)
			continue;
		if (m->type)
			family = m;
		for (int i = first; i < end; i++) {
			if (!value(in, m, i, &v))
				break;
			/* The header once, before the family's first series:
			 * a family with no source at all is left out. */
			if (family) {
				put(&o, "# HELP %s ", family->name);
				put_escaped(&o, family->help, false);
				put(&o, "\n# TYPE %s %s\n", family->name,
				    family->type);
				family = NULL;
			}
			put(&o, "%s", m->name);
			if (m->label) {
				put(&o, "{%s=\"", m->label);
				put_escaped(&o,
					    m->lvalue ? m->lvalue :
							m->lname(in, i),
					    true);
				put(&o, "\"}");
			}
			put(&o, " %" PRIu64 "\n", v);
		}
	}
	return o.used;
}

/* The stats name of row m's i-th value into key. */
static void stat_key(const struct metrics_input *in, const struct metric *m,
		     int i, char *key, size_t len)
{
	if (m->lname && m->end > m->first)
		snprintf(key, len, "%s%s", m->stat, m->lname(in, i));
	else
		snprintf(key, len, "%s", m->stat);
}

void metrics_stats(const struct metrics_input *in, enum metrics_part part,
		   void (*emit)(void *arg, const char *key, uint64_t value),
		   void *arg)
{
	char key[64];

	for (size_t r = 0; r < sizeof(metrics) / sizeof(metrics[0]); r++) {
		const struct metric *m = &metrics[r];
		int end = m->end > m->first ? m->end : m->first + 1;
		uint64_t v;

		if (!m->stat || m->daemon != (part == METRICS_DAEMON))
			continue;
		for (int i = m->first; i < end && value(in, m, i, &v); i++) {
			stat_key(in, m, i, key, sizeof(key));
			emit(arg, key, v);
		}
	}
}

bool metrics_stat(const struct metrics_input *in, const char *key, uint64_t *v)
{
	char k[64];

	for (size_t r = 0; r < sizeof(metrics) / sizeof(metrics[0]); r++) {
		const struct metric *m = &metrics[r];
		int end = m->end > m->first ? m->end : m->first + 1;

		if (!m->stat || strncmp(key, m->stat, strlen(m->stat)))
			continue;
		for (int i = m->first; i < end; i++) {
			stat_key(in, m, i, k, sizeof(k));
			if (!strcmp(k, key))
				return value(in, m, i, v);
		}
	}
	return false;
}
