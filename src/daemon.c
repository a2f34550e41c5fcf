// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * daemon.c - the running daemon's state; see daemon.h.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "carrier.h"
#include "carrierrule.h"
#include "ctl.h"
#include "daemon.h"
#include "export.h"
#include "http.h"

uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void daemon_init(struct daemon *d)
{
	memset(d, 0, sizeof(*d));
	workers_init(&d->workers);
	evhub_init(&d->evhub, 0, 0);
	d->epfd = d->sigfd = d->timerfd = -1;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

void daemon_stop(struct daemon *d)
{
	struct workers *ws = &d->workers;

	workers_stop(ws);
	/* What the workers left to say, before the queues go. */
	for (unsigned i = 0; d->droplog_made && i < ws->n; i++)
		droplog_drain(&d->droplog, ws->feeds[i],
			      group_engine(&ws->group, i));
	/* Every flow still in the tables ends here, for the exporter: a
	 * restart loses no record. Straight to the hub, as a million flows
	 * would not fit a ring; before the consumers close. */
	if (ws->group_made && !d->events_ended) {
		daemon_events_direct(d);
		for (unsigned i = 0; i < ws->n; i++)
			engine_events_all(group_engine(&ws->group, i),
					  FEND_STOPPED);
		d->events_ended = true;
	}
	/* Their records, and whatever else is queued, go now: the last
	 * flush, which may wait a little for a socket (export.h). */
	if (d->export)
		export_stop(d->export, mono_ms());
	workers_close_queues(ws);
}

void daemon_events_drain(struct daemon *d)
{
	struct workers *ws = &d->workers;

	for (unsigned i = 0; ws->w && i < ws->n; i++)
		if (ws->w[i].evfeed)
			evhub_drain(&d->evhub, ws->w[i].evfeed);
}

void daemon_events_direct(struct daemon *d)
{
	struct workers *ws = &d->workers;

	daemon_events_drain(d);
	for (unsigned i = 0; ws->group_made && i < ws->n; i++)
		evhub_direct_sink(&d->evhub, group_engine(&ws->group, i));
}

int daemon_export_apply(struct daemon *d)
{
	uint64_t now = mono_ms();

	if (d->export) {
		evhub_remove(&d->evhub, export_consumer(d->export));
		export_configure(d->export, &d->conf, now);
	} else if (d->conf.nipfix) {
		d->export = export_new(&d->conf, d->evhub.wall_offset_ms, now);
		if (!d->export) {
			log_msg(LOG_ERR, "ipfix: cannot make the exporter: %s",
				strerror(errno));
			return -1;
		}
	}
	if (d->conf.nipfix)
		evhub_add(&d->evhub, export_consumer(d->export));
	return 0;
}

void daemon_export_flush(struct daemon *d, bool all)
{
	if (d->export)
		export_flush(d->export, mono_ms(), all);
}

int daemon_fastpath_apply(struct daemon *d, const struct conf *c, bool keep,
			  char *err, size_t errlen)
{
	struct fastpath_params fp;

	conf_fastpath_params(c, &fp);
	if (fp.carrier == FASTPATH_CARRIER_BPF && !d->carrier) {
		snprintf(err, errlen,
			 "fastpath_carrier = bpf: the carrier is loaded at "
			 "start, with CAP_BPF (which nfqtrackd then drops): "
			 "turning the fast path on with it takes a restart");
		return -1;
	}
	/* The BPF carrier's table is made afresh each time, without the
	 * rules that run its programs: until they are in again, packets
	 * of carried flows reach the queue, where the daemon tracks them
	 * (a moment's cost, nothing lost). */
	if (fastpath_apply(&fp, keep, err, errlen) < 0)
		return -1;
	if (fp.carrier != FASTPATH_CARRIER_BPF)
		return 0;
	if ((!keep && carrier_flush(d->carrier) < 0) ||
	    carrier_configure(d->carrier, &fp, true) < 0) {
		snprintf(err, errlen, "the BPF carrier's maps: %s",
			 strerror(errno));
		return -1;
	}
	struct carrier_rule_progs progs = {
		carrier_prog_fd(d->carrier, CARRIER_PROG_CARRY),
		carrier_prog_fd(d->carrier, CARRIER_PROG_JUDGE),
		carrier_prog_fd(d->carrier, CARRIER_PROG_ADMIT),
	};

	return carrier_rules_add(fp.table, &progs, err, errlen);
}

void daemon_cleanup(struct daemon *d)
{
	daemon_stop(d);
	if (d->export) {
		evhub_remove(&d->evhub, export_consumer(d->export));
		export_free(d->export);
		d->export = NULL;
	}
	http_close(d->http);
	d->http = NULL;
	/* The event subscribers hear what the stop told (every flow's
	 * DESTROY, daemon_stop()), for a second at most, and the stream's
	 * end. */
	if (d->ctl)
		ctl_server_end_streams(d->ctl, 1000);
	ctl_server_close(d->ctl);
	d->ctl = NULL;
	workers_destroy(&d->workers);
	/* The table, and with it the rules naming its programs, went at
	 * stop: the kernel frees them with the last descriptor. */
	carrier_close(d->carrier);
	d->carrier = NULL;
	d->droplog_made = false;
	close_fd(&d->epfd);
	close_fd(&d->sigfd);
	close_fd(&d->timerfd);
}

void daemon_counters(struct daemon *d, struct daemon_counters *c)
{
	struct workers *ws = &d->workers;
	bool kernel = workers_queue_totals(ws, &c->qs, &c->ks);

	group_stats(&ws->group, &c->st);
	group_gauges(&ws->group, &c->gg);
	c->in = (struct metrics_input){
		.gauges = &c->gg,
		.stats = &c->st,
		.queue = &c->qs,
		.kernel = kernel ? &c->ks : NULL,
		.flows_expired = group_expired(&ws->group),
		.version = VERSION,
		.start_time = d->start_time,
		.reloads = d->reloads,
		.reload_errors = d->reload_errors,
		.log_suppressed = d->droplog.suppressed,
		.log_lost = log_lost(),
		.already_marked = workers_already_marked(ws),
		.events_lost = d->evhub.lost,
	};
	if (d->export) {
		struct export_stats es;

		export_get_stats(d->export, &es);
		c->in.ipfix_records = es.records;
		c->in.ipfix_lost = es.lost;
		c->in.ipfix_messages = es.messages;
		c->in.ipfix_templates = es.templates;
	}
}

uint32_t daemon_flows(const struct daemon *d)
{
	return group_flows(&d->workers.group);
}

struct queue_params daemon_queue_params(const struct conf *c, uint32_t num)
{
	return (struct queue_params){
		.queue = (uint16_t)num,
		.copy_range = c->copy_range,
		.queue_maxlen = c->queue_maxlen,
		.rcvbuf = c->rcvbuf,
		.fail_open = c->fail_open,
	};
}

void daemon_queues_text(const struct conf *c, char *buf, size_t len)
{
	if (c->queues[0] == c->queues[1])
		snprintf(buf, len, "queue %" PRIu32, c->queues[0]);
	else
		snprintf(buf, len, "queues %" PRIu32 "-%" PRIu32, c->queues[0],
			 c->queues[1]);
}

void daemon_log_settings(const struct daemon *d, const char *what)
{
	const struct conf *c = &d->conf;
	char queues[32];

	daemon_queues_text(c, queues, sizeof(queues));
	log_msg(LOG_NOTICE,
		"%s: %s, max_flows %" PRIu32 ", buckets %" PRIu32
		", fail_open %s, invalid_verdict %s, verdict_mode %s "
		"(mark_mask 0x%08" PRIx32 "), queue_maxlen %" PRIu32
		", copy_range %" PRIu32 ", log_rate %" PRIu32
		"/s burst %" PRIu32,
		what, queues, c->max_flows, conf_buckets(c),
		c->fail_open ? "yes" : "no",
		c->invalid_verdict == CONF_DROP ? "drop" : "accept",
		conf_verdict_mode_name(c->verdict_mode), c->mark_mask,
		c->queue_maxlen, c->copy_range, c->log_rate, c->log_burst);
	log_msg(LOG_NOTICE,
		"limits: on_full %s, enforce %s, reserve %" PRIu32
		", per source (/%" PRIu32 ", /%" PRIu32 ") %" PRIu32
		" flows and %" PRIu32 " new/s burst %" PRIu32
		", caps tcp %" PRIu32 " udp %" PRIu32 " icmp %" PRIu32
		" other %" PRIu32 " (0: none), %" PRIu32
		" exempt prefixes, adaptive %" PRIu32 "%%-%" PRIu32
		"%% (0-0: off), warn_at %" PRIu32 "%%",
		conf_on_full_name(c->on_full), c->enforce ? "yes" : "no",
		c->reserve, c->source_prefix4, c->source_prefix6,
		c->max_flows_per_source, c->max_new_per_source,
		c->max_new_per_source_burst ? c->max_new_per_source_burst :
					      c->max_new_per_source,
		c->max_proto[PC_TCP], c->max_proto[PC_UDP],
		c->max_proto[PC_ICMP], c->max_proto[PC_OTHER], c->nexempt,
		c->adaptive_start, c->adaptive_end, c->warn_at);
}
