// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * nfqtrackd.c - the daemon: options, configuration, wiring, event loop.
 *
 * One queue: one thread, one epoll set: the queue socket, the control
 * server, the metrics listener's own epoll set, a signalfd for
 * SIGHUP/SIGTERM/SIGINT and a 100 ms timerfd for housekeeping. Packets
 * are handled in bounded batches so that signals, control requests and
 * housekeeping are never starved by a flood.
 *
 * Several queues (queues = N-M): a worker thread per queue, each with its
 * own queue socket and flow table (the engines share their limits, see
 * engine.h), its own housekeeping tick, and no lock on a packet's way but
 * when it opens or frees a flow. The main thread keeps everything else;
 * whatever reads or changes the engines (control requests, metrics,
 * reloads, the drop log's tick) runs while the workers are parked
 * between two batches (pause.h).
 * This is the only file that exits.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sched.h>
#include <stdatomic.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "ctl.h"
#include "droplog.h"
#include "engine.h"
#include "hash.h"
#include "http.h"
#include "log.h"
#include "metrics.h"
#include "notify.h"
#include "pause.h"
#include "privs.h"
#include "list.h"
#include "queue.h"
#include "replay.h"

#ifndef VERSION
#define VERSION "unknown"
#endif

#define BATCH_PACKETS 1024 /* packets per turn of the loop */

struct daemon;

/* A queue, its engine and, with several queues, its thread. */
struct worker {
	struct daemon *d;
	struct engine engine;
	struct queue *queue;
	uint32_t queue_num;
	/* on_packets()'s batch, through the engine */
	struct engine_input inputs[QUEUE_BATCH_MAX];
	struct engine_result results[QUEUE_BATCH_MAX];
	pthread_t thread;
	bool started;
	int wake_fd; /* eventfd: the main thread asks it to park */
	uint64_t tick_ms;
	int cpu; /* pinned to; -1: not */
};

struct daemon {
	struct conf conf;
	const char *conf_path;
	bool conf_given; /* -c: the file must exist */
	bool conf_missing; /* no file: built-in defaults */
	struct worker *workers;
	unsigned nworkers;
	struct engine *engines[CONF_QUEUES_MAX]; /* the workers' */
	struct engine_shared shared; /* theirs, with several queues */
	bool threaded; /* a thread per queue */
	struct pause pause;
	atomic_bool stopping; /* the workers are to end */
	int failed_fd; /* eventfd: a worker met an error it cannot go on
			* from, and ended */
	pthread_mutex_t droplog_lock; /* workers log drops through it */
	bool sync_made; /* pause and droplog_lock */
	struct ctl_server *ctl;
	struct http_server *http; /* NULL: metrics_listen = off */
	struct droplog droplog;
	struct notify notify;
	int epfd, sigfd, timerfd;
	int stop_signal;
	uint64_t start_ms;
	uint64_t start_time; /* the same instant, seconds since the epoch */
	uint64_t reloads, reload_errors;
	/* `nfqtrackctl reload`s: a member of the socket's group may ask, and
	 * each reads the file, pauses the queues and writes log lines. */
	struct ratelimit reload_rate;
	uint64_t status_ms, status_dropped; /* the last status line's */
};

/* Control socket reloads: this many at once, then one a second. */
#define RELOAD_BURST 5

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Flows in every table. */
static uint32_t flows(const struct daemon *d)
{
	return d->engines[0]->sh->flows;
}

/* The engine clock: milliseconds since the daemon started. */
static uint64_t engine_now(const struct daemon *d)
{
	return mono_ms() - d->start_ms;
}

static void print_error(void *arg, const char *msg)
{
	(void)arg;
	fprintf(stderr, "nfqtrackd: %s\n", msg);
}

/*
 * Load the configuration into c. A missing file is fine when it is the
 * default path (built-in defaults apply); problems go to err. Returns the
 * number of problems.
 */
static int load_conf(struct daemon *d, struct conf *c, conf_error_fn err,
		     void *arg)
{
	FILE *f = fopen(d->conf_path, "re");
	int n;

	d->conf_missing = false;
	if (!f) {
		if (errno == ENOENT && !d->conf_given) {
			d->conf_missing = true;
			conf_defaults(c);
			return 0;
		}
		return conf_load(c, d->conf_path, err, arg);
	}
	n = conf_parse(c, f, d->conf_path, err, arg);
	fclose(f);
	return n;
}

/* MemAvailable from /proc/meminfo, in bytes; 0 if unknown. */
static uint64_t mem_available(void)
{
	FILE *f = fopen("/proc/meminfo", "re");
	char line[256];
	uint64_t kb = 0;

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "MemAvailable: %" SCNu64 " kB", &kb) == 1)
			break;
	if (f)
		fclose(f);
	return kb * 1024;
}

static int check_memory(const struct conf *c, unsigned nqueues,
			uint64_t already)
{
	uint64_t need = engine_bytes(c, nqueues), avail = mem_available();

	if (need <= already || !avail || need - already < avail)
		return 0;
	log_msg(LOG_ERR,
		"max_flows = %" PRIu32 " needs %" PRIu64 " MiB of memory "
		"for the flow and source tables%s, but only %" PRIu64
		" MiB are available",
		c->max_flows, need >> 20,
		nqueues > 1 ? " (a flow table per queue)" : "", avail >> 20);
	return -1;
}

static void on_packets(void *arg, const struct queue_pkt *pkts, unsigned int n,
		       bool *drop)
{
	struct worker *w = arg;
	struct daemon *d = w->d;
	struct engine_input *in = w->inputs;
	struct engine_result *r = w->results;

	for (unsigned int i = 0; i < n; i++)
		in[i] = (struct engine_input){
			.buf = pkts[i].data,
			.caplen = pkts[i].caplen,
			.wirelen = pkts[i].wirelen,
			.flags = (pkts[i].gso ? PKT_F_GSO : 0) |
				 (pkts[i].csum_unverified ? PKT_F_CSUM : 0),
		};
	engine_packets(&w->engine, in, n, r);
	for (unsigned int i = 0; i < n; i++) {
		if (r[i].verdict == VERDICT_DROP || r[i].shadow ||
		    r[i].evicted) {
			if (d->threaded)
				pthread_mutex_lock(&d->droplog_lock);
			droplog_packet(&d->droplog, &w->engine, &r[i],
				       mono_ms());
			if (d->threaded)
				pthread_mutex_unlock(&d->droplog_lock);
		}
		drop[i] = r[i].verdict == VERDICT_DROP;
	}
}

static struct queue_params queue_params(const struct conf *c, uint32_t num)
{
	return (struct queue_params){
		.queue = (uint16_t)num,
		.copy_range = c->copy_range,
		.queue_maxlen = c->queue_maxlen,
		.rcvbuf = c->rcvbuf,
		.fail_open = c->fail_open,
	};
}

/* "queue N" or "queues N-M", for the log. */
static void queues_text(const struct conf *c, char *buf, size_t len)
{
	if (c->queues[0] == c->queues[1])
		snprintf(buf, len, "queue %" PRIu32, c->queues[0]);
	else
		snprintf(buf, len, "queues %" PRIu32 "-%" PRIu32, c->queues[0],
			 c->queues[1]);
}

static void log_settings(const struct daemon *d, const char *what)
{
	const struct conf *c = &d->conf;

	char queues[32];

	queues_text(c, queues, sizeof(queues));
	log_msg(LOG_NOTICE,
		"%s: %s, max_flows %" PRIu32 ", buckets %" PRIu32
		", fail_open %s, invalid_verdict %s, queue_maxlen %" PRIu32
		", copy_range %" PRIu32 ", log_rate %" PRIu32
		"/s burst %" PRIu32,
		what, queues, c->max_flows, conf_buckets(c),
		c->fail_open ? "yes" : "no",
		c->invalid_verdict == CONF_DROP ? "drop" : "accept",
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

/* Problems found by a reload, logged one by one and gathered for the
 * control request that asked for it; and warnings, the same way, about
 * what it could not apply but did not refuse it for. */
struct problems {
	char text[1024];
	size_t len;
	char warnings[1024];
	size_t wlen;
};

static void gather_problem(void *arg, const char *msg)
{
	struct problems *p = arg;

	log_msg(LOG_ERR, "%s", msg);
	if (p->len < sizeof(p->text))
		p->len += (size_t)snprintf(p->text + p->len,
					   sizeof(p->text) - p->len, "%s%s",
					   p->len ? "; " : "", msg);
}

/* A setting a reload keeps until a restart, into p as well as the log. */
static void reload_warning(struct problems *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void reload_warning(struct problems *p, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_msg(LOG_WARNING, "%s", msg);
	if (p->wlen < sizeof(p->warnings))
		p->wlen += (size_t)snprintf(p->warnings + p->wlen,
					    sizeof(p->warnings) - p->wlen,
					    "warning: %s\n", msg);
}

/* Why a reload failed, into p as well as the log. */
static void reload_failed(struct daemon *d, struct problems *p, const char *fmt,
			  ...) __attribute__((format(printf, 3, 4)));

static void reload_failed(struct daemon *d, struct problems *p, const char *fmt,
			  ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	d->reload_errors++;
	gather_problem(p, msg);
}

/*
 * Read the configuration again and apply it without losing a flow; on any
 * problem the running configuration stays. Returns 0, or -1 with the
 * problems (each also logged) in p.
 */
static int apply_reload(struct daemon *d, struct problems *p)
{
	struct conf nc;
	int n;

	d->reloads++;
	p->len = p->wlen = 0;
	p->text[0] = p->warnings[0] = '\0';
	n = load_conf(d, &nc, gather_problem, p);
	if (n) {
		reload_failed(d, p,
			      "reload failed: %d problem%s in %s; the running "
			      "configuration stays in force",
			      n, n == 1 ? "" : "s", d->conf_path);
		return -1;
	}
	if (nc.queues[0] != d->conf.queues[0] ||
	    nc.queues[1] != d->conf.queues[1]) {
		reload_warning(p,
			       "queue, queues: new queue numbers take a "
			       "restart; staying on %" PRIu32 "-%" PRIu32,
			       d->conf.queues[0], d->conf.queues[1]);
		nc.queue = d->conf.queue;
		memcpy(nc.queues, d->conf.queues, sizeof(nc.queues));
	}
	if (nc.pin_threads != d->conf.pin_threads) {
		reload_warning(p,
			       "pin_threads: a change takes a restart; "
			       "staying %s",
			       d->conf.pin_threads ? "yes" : "no");
		nc.pin_threads = d->conf.pin_threads;
	}
	if (strcmp(nc.ctl_socket, d->conf.ctl_socket)) {
		reload_warning(p,
			       "ctl_socket: a new path takes a restart; "
			       "staying on %s",
			       d->conf.ctl_socket);
		strcpy(nc.ctl_socket, d->conf.ctl_socket);
	}
	if (strcmp(nc.user, d->conf.user) || strcmp(nc.group, d->conf.group)) {
		reload_warning(p,
			       "user, group: a change takes a restart; "
			       "staying %s:%s",
			       d->conf.user, d->conf.group);
		strcpy(nc.user, d->conf.user);
		strcpy(nc.group, d->conf.group);
	}
	/* The listener was bound as root, maybe to a port below 1024: it
	 * cannot move once privileges are gone. */
	if (strcmp(nc.metrics_listen, d->conf.metrics_listen)) {
		reload_warning(p,
			       "metrics_listen changed: takes effect at "
			       "restart; staying on %s",
			       d->conf.metrics_listen);
		strcpy(nc.metrics_listen, d->conf.metrics_listen);
	}
	if (check_memory(&nc, d->nworkers,
			 engine_memory(d->engines, d->nworkers)) < 0) {
		reload_failed(d, p,
			      "reload failed: max_flows = %" PRIu32
			      " needs more memory than is available; the "
			      "running configuration stays in force",
			      nc.max_flows);
		return -1;
	}
	if (engine_group_reconfigure(d->engines, d->nworkers, &nc) < 0) {
		reload_failed(d, p,
			      "reload failed: cannot resize the flow table "
			      "(%s); the running configuration stays in force",
			      strerror(errno));
		return -1;
	}
	for (unsigned i = 0; i < d->nworkers; i++) {
		struct worker *w = &d->workers[i];
		struct queue_params qp = queue_params(&nc, w->queue_num);

		if (queue_configure(w->queue, &qp, on_packets, w) < 0)
			log_msg(LOG_ERR,
				"reload: cannot change queue %" PRIu32
				"'s parameters: %s",
				w->queue_num, strerror(errno));
	}
	log_configure(nc.syslog_facility, nc.syslog_socket);
	droplog_configure(&d->droplog, &nc);
	d->conf = nc;
	log_settings(d, "reloaded");
	if (flows(d) > nc.max_flows)
		log_msg(LOG_NOTICE,
			"%" PRIu32 " flows are above the new "
			"max_flows %" PRIu32 ": they are kept, and new "
			"flows are handled as at a full table (on_full) "
			"until they expire below it",
			flows(d), nc.max_flows);
	return 0;
}

/* A reload, as systemd is told: reloading, then ready again. */
static int reload(struct daemon *d, struct problems *p)
{
	int r;

	notify_reloading(&d->notify);
	r = apply_reload(d, p);
	notify_ready(&d->notify);
	return r;
}

static void emit_reply(void *arg, const char *key, uint64_t value)
{
	ctl_reply_printf(arg, "%s %" PRIu64 "\n", key, value);
}

/* The queues' counters, summed; and the kernel's, false if it had none
 * to give for any of them. */
static bool queue_totals(struct daemon *d, struct queue_stats *q,
			 struct queue_kernel_stats *ks)
{
	bool kernel = true;

	memset(q, 0, sizeof(*q));
	memset(ks, 0, sizeof(*ks));
	for (unsigned i = 0; i < d->nworkers; i++) {
		const uint64_t *from =
			(const uint64_t *)queue_stats(d->workers[i].queue);
		struct queue_kernel_stats one;

		for (size_t j = 0; j < sizeof(*q) / sizeof(uint64_t); j++)
			((uint64_t *)q)[j] += from[j];
		if (queue_kernel_stats(d->workers[i].queue, &one) < 0) {
			kernel = false;
			continue;
		}
		ks->queue_total += one.queue_total;
		ks->queue_dropped += one.queue_dropped;
		ks->user_dropped += one.user_dropped;
		ks->id_sequence += one.id_sequence;
	}
	return kernel;
}

static void stats_reply(struct daemon *d, struct ctl_reply *rep)
{
	struct queue_stats qs, *q = &qs;
	struct queue_kernel_stats ks;
	bool kernel = queue_totals(d, q, &ks);

	_Static_assert(sizeof(qs) % sizeof(uint64_t) == 0,
		       "queue_stats is counters only");
	ctl_reply_printf(rep, "version %s\n", VERSION);
	ctl_reply_printf(rep, "uptime_seconds %" PRIu64 "\n",
			 (mono_ms() - d->start_ms) / 1000);
	engine_report(d->engines, d->nworkers, emit_reply, rep);
	emit_reply(rep, "queue", d->conf.queue);
	emit_reply(rep, "queues", d->nworkers);
	for (unsigned i = 0; d->nworkers > 1 && i < d->nworkers; i++)
		ctl_reply_printf(rep, "queue_%" PRIu32 "_packets %" PRIu64 "\n",
				 d->workers[i].queue_num,
				 queue_stats(d->workers[i].queue)->packets);
	emit_reply(rep, "queue_packets", q->packets);
	emit_reply(rep, "queue_recv_calls", q->recv_calls);
	emit_reply(rep, "queue_send_calls", q->send_calls);
	emit_reply(rep, "queue_verdict_msgs", q->verdict_msgs);
	emit_reply(rep, "queue_enobufs", q->enobufs);
	emit_reply(rep, "queue_eintr", q->eintr);
	emit_reply(rep, "queue_recv_errors", q->recv_errors);
	emit_reply(rep, "queue_send_errors", q->send_errors);
	emit_reply(rep, "queue_nl_errors", q->nl_errors);
	emit_reply(rep, "queue_bad_messages", q->bad_messages);
	if (kernel) {
		emit_reply(rep, "kernel_queue_total", ks.queue_total);
		emit_reply(rep, "kernel_queue_dropped", ks.queue_dropped);
		emit_reply(rep, "kernel_user_dropped", ks.user_dropped);
		emit_reply(rep, "kernel_id_sequence", ks.id_sequence);
	}
	emit_reply(rep, "log_suppressed", d->droplog.suppressed);
	emit_reply(rep, "log_lost", log_lost());
	emit_reply(rep, "reloads", d->reloads);
	emit_reply(rep, "reload_errors", d->reload_errors);
}

/* The metrics, for the HTTP listener and the control socket: from the
 * same counters as stats_reply(). */
static size_t render_metrics(void *arg, char *buf, size_t len)
{
	struct daemon *d = arg;
	struct queue_kernel_stats ks;
	struct engine_stats st;
	struct queue_stats qs;
	bool kernel = queue_totals(d, &qs, &ks);
	uint64_t expired = 0;
	struct metrics_input in;

	engine_sum_stats(&st, d->engines, d->nworkers);
	for (unsigned i = 0; i < d->nworkers; i++)
		expired += d->engines[i]->table.expired;
	in = (struct metrics_input){
		.engine = d->engines[0],
		.stats = &st,
		.queue = &qs,
		.kernel = kernel ? &ks : NULL,
		.flows_expired = expired,
		.version = VERSION,
		.start_time = d->start_time,
		.reloads = d->reloads,
		.reload_errors = d->reload_errors,
		.log_suppressed = d->droplog.suppressed,
		.log_lost = log_lost(),
	};

	return metrics_render(buf, len, &in);
}

/* "metrics": what GET /metrics serves, whatever metrics_listen says. */
static void metrics_reply(struct daemon *d, struct ctl_reply *rep)
{
	size_t cap = 16 << 10;
	char *text = NULL, *bigger;

	/* Again with more room if the first try did not fit: the kernel's
	 * figures may have grown a digit in between. */
	while ((bigger = realloc(text, cap))) {
		size_t n = render_metrics(d, bigger, cap);

		text = bigger;
		if (n < cap) {
			ctl_reply_printf(rep, "%s", text);
			free(text);
			return;
		}
		cap = n + 64;
	}
	free(text);
	ctl_reply_error(rep, "out of memory");
}

/* A listing in progress: what to show and how far it got. */
struct listing {
	struct daemon *d;
	struct list_filter filter;
	unsigned table; /* the worker whose table is being walked */
	struct flow_cursor cur;
	bool json;
	uint64_t shown;
	struct ctl_reply *rep; /* the chunk being filled */
};

/* A listing's, a flush's or top's share of a turn of the loop: so many
 * buckets, whatever they hold or the filter takes (a filter that matches
 * nothing would otherwise walk the whole table at once), some 100 us. The
 * control server makes one chunk a turn. */
#define LIST_BUCKETS_PER_CHUNK 1024

static void list_one(const struct flow *f, void *arg)
{
	struct listing *l = arg;
	const struct engine *e = l->d->engines[l->table];
	uint32_t left = engine_flow_left(e, f);
	char line[LIST_LINE_MAX];

	if (!left || !list_match(&l->filter, f))
		return;
	list_format(line, sizeof(line), f, left, engine_flow_acct(e, f),
		    l->json);
	if (l->json)
		ctl_reply_printf(l->rep, "%s%s", l->shown ? ",\n" : "[\n",
				 line);
	else
		ctl_reply_printf(l->rep, "%s", line);
	l->shown++;
}

/* The next chunk: LIST_BUCKETS_PER_CHUNK buckets, so that packets never
 * wait long on a listing (at most some 100 KB of lines: chains are
 * short). */
static bool list_more(void *state, struct ctl_reply *rep)
{
	struct listing *l = state;
	bool more;

	l->rep = rep;
	more = flow_table_walk_step(&l->d->engines[l->table]->table, &l->cur,
				    LIST_BUCKETS_PER_CHUNK, list_one, l);
	if (!more && l->table + 1 < l->d->nworkers) {
		l->table++;
		memset(&l->cur, 0, sizeof(l->cur));
		more = true;
	}
	if (!more && l->json)
		ctl_reply_printf(rep, "%s", l->shown ? "\n]\n" : "[]\n");
	return more;
}

static void list_reply(struct daemon *d, const struct ctl_request *req,
		       struct ctl_reply *rep)
{
	struct listing *l = calloc(1, sizeof(*l));
	const char *why;

	if (!l) {
		ctl_reply_error(rep, "out of memory");
		return;
	}
	l->d = d;
	list_filter_init(&l->filter);
	for (int i = 1; i < req->argc; i++) {
		if (!strcmp(req->argv[i], "json")) {
			l->json = true;
		} else if (list_filter_add(&l->filter, req->argv[i], &why) <
			   0) {
			ctl_reply_error(rep, "%s: %s", req->argv[i], why);
			free(l);
			return;
		}
	}
	rep->more = list_more;
	rep->more_state = l;
	rep->more_free = free;
}

#define TOP_MAX 1000

/* A top in progress: the sources kept so far, and how far it got. */
struct topping {
	struct daemon *d;
	uint32_t n;
	bool json;
	struct source_top t;
	uint32_t idx[TOP_MAX];
};

/* The next share of a top: LIST_BUCKETS_PER_CHUNK buckets of the source
 * table, then the lines. */
static bool top_more(void *state, struct ctl_reply *rep)
{
	struct topping *tp = state;
	const struct source_table *st = &tp->d->engines[0]->sh->sources;
	uint64_t now = tp->d->engines[0]->now_ms;

	if (source_table_top_step(st, now, tp->idx, tp->n, &tp->t,
				  LIST_BUCKETS_PER_CHUNK))
		return true;
	if (tp->json)
		ctl_reply_printf(rep, "[");
	for (uint32_t i = 0; i < tp->t.have; i++) {
		const struct source *s = source_at(st, tp->idx[i]);
		char name[PREFIX_STR_MAX];

		prefix_format(name, sizeof(name), s->family, s->addr, s->bits);
		if (tp->json)
			ctl_reply_printf(rep,
					 "%s\n{\"source\": \"%s\", \"flows\": "
					 "%" PRIu32 ", \"new_per_second\": "
					 "%" PRIu32 ", \"refused\": %" PRIu32
					 "}",
					 i ? "," : "", name, s->flows,
					 source_rate(s, now), s->refused);
		else
			ctl_reply_printf(rep,
					 "%s %" PRIu32 " %" PRIu32 " %" PRIu32
					 "\n",
					 name, s->flows, source_rate(s, now),
					 s->refused);
	}
	if (tp->json)
		ctl_reply_printf(rep, "%s]\n", tp->t.have ? "\n" : "");
	return false;
}

/* "top [N] [json]": the N sources holding the most flows, one per line:
 * "SOURCE FLOWS NEW_PER_SECOND REFUSED", or a JSON array. */
static void top_reply(struct daemon *d, const struct ctl_request *req,
		      struct ctl_reply *rep)
{
	struct topping *tp = calloc(1, sizeof(*tp));

	if (!tp) {
		ctl_reply_error(rep, "out of memory");
		return;
	}
	tp->d = d;
	tp->n = 10;
	for (int i = 1; i < req->argc; i++) {
		unsigned long n;
		char *end;

		if (!strcmp(req->argv[i], "json")) {
			tp->json = true;
			continue;
		}
		n = strtoul(req->argv[i], &end, 10);
		if (*end || !*req->argv[i] || n < 1 || n > TOP_MAX) {
			ctl_reply_error(rep,
					"top: '%.32s' is not a count "
					"from 1 to 1000",
					req->argv[i]);
			free(tp);
			return;
		}
		tp->n = (uint32_t)n;
	}
	rep->more = top_more;
	rep->more_state = tp;
	rep->more_free = free;
}

/* A flush in progress: which flows, how far, how many so far. */
struct flushing {
	struct daemon *d;
	struct list_filter filter;
	unsigned table; /* as in struct listing */
	struct flow_cursor cur;
	uint32_t removed;
	bool json;
};

static bool flush_match(const struct flow *f, void *arg)
{
	return list_match(arg, f);
}

/* The next share of a flush: a bounded number of buckets, so that packets
 * never wait long on it. */
static bool flush_more(void *state, struct ctl_reply *rep)
{
	struct flushing *fl = state;

	if (engine_flush_step(fl->d->engines[fl->table], &fl->cur,
			      LIST_BUCKETS_PER_CHUNK, flush_match, &fl->filter,
			      &fl->removed))
		return true;
	if (fl->table + 1 < fl->d->nworkers) {
		fl->table++;
		memset(&fl->cur, 0, sizeof(fl->cur));
		return true;
	}
	ctl_reply_printf(rep, "deleted %" PRIu32 "\n", fl->removed);
	log_msg(LOG_NOTICE, "flush: %" PRIu32 " flows removed by request",
		fl->removed);
	return false;
}

/* "flush [filter...]": remove the flows that match (all without one). */
static void flush_reply(struct daemon *d, const struct ctl_request *req,
			struct ctl_reply *rep)
{
	struct flushing *fl = calloc(1, sizeof(*fl));
	const char *why;

	if (!fl) {
		ctl_reply_error(rep, "out of memory");
		return;
	}
	fl->d = d;
	list_filter_init(&fl->filter);
	for (int i = 1; i < req->argc; i++) {
		if (list_filter_add(&fl->filter, req->argv[i], &why) < 0) {
			ctl_reply_error(rep, "%s: %s", req->argv[i], why);
			free(fl);
			return;
		}
	}
	rep->more = flush_more;
	rep->more_state = fl;
	rep->more_free = free;
}

/* The value of "key=value" in argv[1...], or NULL. */
static const char *arg_value(const struct ctl_request *req, const char *key)
{
	size_t klen = strlen(key);

	for (int i = 1; i < req->argc; i++)
		if (!strncmp(req->argv[i], key, klen) &&
		    req->argv[i][klen] == '=')
			return req->argv[i] + klen + 1;
	return NULL;
}

/* A number from 0 to max in "key=value", or -1 (with an error reply)
 * when it is there and bad; dflt when it is not there. */
static long arg_number(const struct ctl_request *req, const char *key, long max,
		       long dflt, struct ctl_reply *rep)
{
	const char *v = arg_value(req, key);
	char *end;
	long n;

	if (!v)
		return dflt;
	n = strtol(v, &end, 10);
	if (!*v || *end || n < 0 || n > max) {
		ctl_reply_error(rep,
				"%s: '%.40s' is not a number from 0 to %ld",
				key, v, max);
		return -1;
	}
	return n;
}

/*
 * "get proto=P src=A dst=B sport=X dport=Y" (ICMP: id=, type=, code=; the
 * original or the reply direction, either finds it): the one flow, in the
 * listing's format.
 */
static void get_reply(struct daemon *d, const struct ctl_request *req,
		      struct ctl_reply *rep)
{
	const char *proto = arg_value(req, "proto"),
		   *src = arg_value(req, "src"), *dst = arg_value(req, "dst");
	struct list_filter pf;
	uint8_t a[16], b[16], family = 4;
	long sport, dport, type, code;
	char line[LIST_LINE_MAX];
	struct engine *e = NULL;
	struct flow *f = NULL;
	struct flow_key k;
	const char *why;
	bool icmp, json = false;
	uint8_t pnum;

	for (int i = 1; i < req->argc; i++)
		json |= !strcmp(req->argv[i], "json");
	if (!proto || !src || !dst) {
		ctl_reply_error(rep, "get needs proto=, src= and dst=");
		return;
	}
	list_filter_init(&pf);
	{
		char term[48];

		snprintf(term, sizeof(term), "proto=%.40s", proto);
		if (list_filter_add(&pf, term, &why) < 0) {
			ctl_reply_error(rep, "proto: %s", why);
			return;
		}
	}
	pnum = (uint8_t)pf.proto;
	if (inet_pton(AF_INET, src, a) != 1 ||
	    inet_pton(AF_INET, dst, b) != 1) {
		family = 6;
		if (inet_pton(AF_INET6, src, a) != 1 ||
		    inet_pton(AF_INET6, dst, b) != 1) {
			ctl_reply_error(rep, "src and dst must be two IPv4 or "
					     "two IPv6 addresses");
			return;
		}
	}
	icmp = (family == 4 && pnum == IPPROTO_ICMP) ||
	       (family == 6 && pnum == IPPROTO_ICMPV6);
	if (icmp) {
		sport = arg_number(req, "id", 65535, -2, rep);
		type = arg_number(req, "type", 255, family == 4 ? 8 : 128, rep);
		code = arg_number(req, "code", 255, 0, rep);
		if (sport == -2) {
			ctl_reply_error(rep, "get: an ICMP flow needs id=");
			return;
		}
		if (sport < 0 || type < 0 || code < 0)
			return;
		/* Keys name the request, the requester first (flow.h). */
		if (pkt_icmp_query(family, (uint8_t)type) == 2) {
			uint8_t t[16];

			type = pkt_icmp_reply_type(family, (uint8_t)type);
			memcpy(t, a, sizeof(t));
			memcpy(a, b, sizeof(t));
			memcpy(b, t, sizeof(t));
		}
		dport = type << 8 | code;
	} else {
		sport = arg_number(req, "sport", 65535, 0, rep);
		dport = arg_number(req, "dport", 65535, 0, rep);
		if (sport < 0 || dport < 0)
			return;
	}
	/* In whichever queue's table it is; an ICMP query's either way
	 * (its key keeps the requester first). */
	for (int way = 0; way < (icmp ? 2 : 1) && !f; way++) {
		flow_key_make(&k, family, pnum, way ? b : a, way ? a : b,
			      (uint16_t)sport, (uint16_t)dport);
		for (unsigned i = 0; i < d->nworkers && !f; i++) {
			e = d->engines[i];
			f = flow_table_lookup(&e->table, &k,
					      flow_hash(&e->table, &k), e->now);
		}
	}
	if (!f) {
		ctl_reply_error(rep, "no such flow");
		return;
	}
	list_format(line, sizeof(line), f, engine_flow_left(e, f),
		    engine_flow_acct(e, f), json);
	ctl_reply_printf(rep, "%s%s", line, json ? "\n" : "");
}

/* "config": the configuration in effect, as nfqtrackd -t prints it. */
static void config_reply(struct daemon *d, struct ctl_reply *rep)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	if (!f) {
		ctl_reply_error(rep, "out of memory");
		return;
	}
	conf_print(&d->conf, f);
	fclose(f);
	ctl_reply_printf(rep, "%s", text ? text : "");
	free(text);
}

/* "reload": as SIGHUP, but answered: done, or why not. */
static void reload_reply(struct daemon *d, struct ctl_reply *rep)
{
	struct problems p;

	if (!ratelimit_allow(&d->reload_rate, mono_ms()))
		ctl_reply_error(rep,
				"too many reloads (%d at once, then one a "
				"second): try again in a second",
				RELOAD_BURST);
	else if (reload(d, &p) < 0)
		ctl_reply_error(rep, "%s", p.text);
	else
		ctl_reply_printf(rep, "reloaded %s\n%s", d->conf_path,
				 p.warnings);
}

static void on_request(void *arg, const struct ctl_request *req,
		       struct ctl_reply *rep)
{
	struct daemon *d = arg;
	const char *cmd = req->argv[0];

	if (!strcmp(cmd, "stats") && req->argc == 1)
		stats_reply(d, rep);
	else if (!strcmp(cmd, "metrics") && req->argc == 1)
		metrics_reply(d, rep);
	else if (!strcmp(cmd, "list"))
		list_reply(d, req, rep);
	else if (!strcmp(cmd, "top"))
		top_reply(d, req, rep);
	else if (!strcmp(cmd, "count") && req->argc == 1)
		ctl_reply_printf(rep, "flows %" PRIu32 "\n", flows(d));
	else if (!strcmp(cmd, "get"))
		get_reply(d, req, rep);
	else if (!strcmp(cmd, "flush"))
		flush_reply(d, req, rep);
	else if (!strcmp(cmd, "config") && req->argc == 1)
		config_reply(d, rep);
	else if (!strcmp(cmd, "reload") && req->argc == 1)
		reload_reply(d, rep);
	else if (!strcmp(cmd, "version") && req->argc == 1)
		ctl_reply_printf(rep, "version %s\n", VERSION);
	else if (!strcmp(cmd, "stats") || !strcmp(cmd, "metrics") ||
		 !strcmp(cmd, "version") || !strcmp(cmd, "count") ||
		 !strcmp(cmd, "config") || !strcmp(cmd, "reload"))
		ctl_reply_error(rep, "%s takes no arguments", cmd);
	else
		ctl_reply_error(rep, "unknown command '%.64s'", cmd);
}

/* Wake the workers, asleep in poll(), to see the pause asked for. */
static void wake_workers(void *arg)
{
	struct daemon *d = arg;
	uint64_t one = 1;

	for (unsigned i = 0; i < d->nworkers; i++)
		if (d->workers[i].wake_fd >= 0 &&
		    write(d->workers[i].wake_fd, &one, sizeof(one)) < 0)
			continue; /* full: it has a wake-up waiting already */
}

/* The engines are the main thread's until resume(): a no-op with one
 * queue, where they are its own anyway. */
static void stop_workers(struct daemon *d)
{
	if (d->threaded)
		pause_all(&d->pause, wake_workers, d);
}

static void resume_workers(struct daemon *d)
{
	if (d->threaded)
		pause_resume(&d->pause);
}

static void tick(struct daemon *d)
{
	uint64_t now = mono_ms(), expirations;

	if (read(d->timerfd, &expirations, sizeof(expirations)) < 0)
		return;
	/* With threads, each worker ticks its own engine. */
	if (!d->threaded) {
		engine_set_time(d->engines[0], engine_now(d));
		engine_tick(d->engines[0]);
	}
	ctl_server_expire(d->ctl, now);
	notify_tick(&d->notify, now);
	stop_workers(d);
	droplog_tick(&d->droplog, d->engines, d->nworkers, now);
	if (now - d->status_ms >= 1000) {
		struct engine_stats st;

		engine_sum_stats(&st, d->engines, d->nworkers);
		notify_status(&d->notify,
			      "%" PRIu32 "/%" PRIu32 " flows, %" PRIu64
			      " drops/s",
			      flows(d), d->engines[0]->max_flows,
			      (st.dropped - d->status_dropped) * 1000 /
				      (now - d->status_ms));
		d->status_ms = now;
		d->status_dropped = st.dropped;
	}
	resume_workers(d);
}

static void on_signal(struct daemon *d)
{
	struct signalfd_siginfo si;

	while (read(d->sigfd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			struct problems p;

			stop_workers(d);
			reload(d, &p);
			resume_workers(d);
		} else
			d->stop_signal = (int)si.ssi_signo;
	}
}

enum { EV_QUEUE = 1, EV_CTL, EV_SIGNAL, EV_TIMER, EV_HTTP, EV_FAILED };

static int add_fd(int epfd, int fd, uint32_t tag)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = tag };

	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
}

static int setup_loop(struct daemon *d)
{
	struct itimerspec its = {
		.it_interval = { 0, ENGINE_TICK_MS * 1000000L },
		.it_value = { 0, ENGINE_TICK_MS * 1000000L },
	};
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -1;
	signal(SIGPIPE, SIG_IGN);
	d->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	d->timerfd =
		timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	d->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (d->sigfd < 0 || d->timerfd < 0 || d->epfd < 0 ||
	    timerfd_settime(d->timerfd, 0, &its, NULL) < 0 ||
	    add_fd(d->epfd, d->sigfd, EV_SIGNAL) < 0 ||
	    add_fd(d->epfd, d->timerfd, EV_TIMER) < 0 ||
	    add_fd(d->epfd, ctl_server_fd(d->ctl), EV_CTL) < 0)
		return -1;
	return 0;
}

static int run(struct daemon *d)
{
	struct epoll_event evs[8];

	while (!d->stop_signal) {
		int n = epoll_wait(d->epfd, evs, 8,
				   d->http ? http_timeout(d->http) : -1);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			log_msg(LOG_ERR, "epoll_wait: %s", strerror(errno));
			return -1;
		}
		for (int i = 0; i < n; i++) {
			switch (evs[i].data.u32) {
			case EV_QUEUE: {
				struct worker *w = &d->workers[0];

				engine_set_time(&w->engine, engine_now(d));
				if (queue_process(w->queue, BATCH_PACKETS,
						  on_packets, w) < 0) {
					log_msg(LOG_ERR,
						"receiving from the "
						"queue: %s",
						strerror(errno));
					return -1;
				}
				/* The warning mark, as soon as it is
				 * crossed. */
				if (w->engine.events)
					droplog_tick(&d->droplog, d->engines, 1,
						     mono_ms());
				break;
			}
			case EV_CTL:
				stop_workers(d);
				ctl_server_run(d->ctl, mono_ms(), on_request,
					       d);
				resume_workers(d);
				break;
			case EV_FAILED:
				return -1; /* the worker said why */
			case EV_SIGNAL:
				on_signal(d);
				break;
			case EV_TIMER:
				tick(d);
				break;
			case EV_HTTP:
				stop_workers(d);
				http_run(d->http);
				resume_workers(d);
				break;
			}
		}
		/* A client's timeout fell due, or libmicrohttpd left work
		 * that its descriptor will not announce again. */
		if (d->http && http_timeout(d->http) == 0) {
			stop_workers(d);
			http_run(d->http);
			resume_workers(d);
		}
	}
	return 0;
}

/* A worker's thread: its queue, its engine's tick, and a pause when the
 * main thread asks for one, until the daemon stops or the queue fails. */
static void *worker_run(void *arg)
{
	struct worker *w = arg;
	struct daemon *d = w->d;
	struct pollfd pfd[2] = {
		{ .fd = queue_fd(w->queue), .events = POLLIN },
		{ .fd = w->wake_fd, .events = POLLIN },
	};
	uint64_t one = 1, woken;

	w->tick_ms = mono_ms();
	while (!atomic_load_explicit(&d->stopping, memory_order_relaxed)) {
		uint64_t now;

		if (pause_requested(&d->pause)) {
			pause_park(&d->pause);
			continue;
		}
		if (poll(pfd, 2, ENGINE_TICK_MS) < 0 && errno != EINTR) {
			log_msg(LOG_ERR, "queue %" PRIu32 ": poll: %s",
				w->queue_num, strerror(errno));
			break;
		}
		if (pfd[1].revents & POLLIN &&
		    read(w->wake_fd, &woken, sizeof(woken)) < 0)
			woken = 0;
		now = mono_ms();
		engine_set_time(&w->engine, now - d->start_ms);
		if (pfd[0].revents &&
		    queue_process(w->queue, BATCH_PACKETS, on_packets, w) < 0) {
			log_msg(LOG_ERR, "receiving from queue %" PRIu32 ": %s",
				w->queue_num, strerror(errno));
			break;
		}
		if (now - w->tick_ms >= ENGINE_TICK_MS) {
			engine_tick(&w->engine);
			w->tick_ms = now;
		}
	}
	if (!atomic_load(&d->stopping) &&
	    write(d->failed_fd, &one, sizeof(one)) < 0)
		log_msg(LOG_ERR, "cannot tell the main thread: %s",
			strerror(errno));
	pause_leave(&d->pause);
	return NULL;
}

/* The CPUs this process may run on, in order; returns how many. */
static unsigned allowed_cpus(int *cpus, unsigned max)
{
	cpu_set_t set;
	unsigned n = 0;

	if (sched_getaffinity(0, sizeof(set), &set) < 0)
		return 0;
	for (int c = 0; c < CPU_SETSIZE && n < max; c++)
		if (CPU_ISSET(c, &set))
			cpus[n++] = c;
	return n;
}

/* A thread for each queue, each on a CPU of its own with pin_threads.
 * Returns 0, or -1 (logged; the threads started are stopped by
 * stop_threads()). */
static int start_threads(struct daemon *d)
{
	int cpus[CPU_SETSIZE];
	unsigned ncpus = d->conf.pin_threads ? allowed_cpus(cpus, CPU_SETSIZE) :
					       0;

	if (d->conf.pin_threads && ncpus < d->nworkers)
		log_msg(LOG_WARNING,
			"pin_threads: %u queues but %u CPUs to run on: "
			"some share one",
			d->nworkers, ncpus);
	for (unsigned i = 0; i < d->nworkers; i++) {
		struct worker *w = &d->workers[i];
		pthread_attr_t attr;
		int err = pthread_attr_init(&attr);

		if (!err && ncpus) {
			cpu_set_t one;

			w->cpu = cpus[i % ncpus];
			CPU_ZERO(&one);
			CPU_SET(w->cpu, &one);
			err = pthread_attr_setaffinity_np(&attr, sizeof(one),
							  &one);
		}
		pause_enter(&d->pause);
		if (!err)
			err = pthread_create(&w->thread, &attr, worker_run, w);
		pthread_attr_destroy(&attr);
		if (err == EPERM && w->cpu >= 0) {
			/* sched_setaffinity denied: the shipped unit's
			 * SystemCallFilter=~@resources. Run unpinned rather
			 * than not at all, and say once how to allow it. */
			log_msg(LOG_WARNING,
				"pin_threads: cannot pin the queue threads, "
				"sched_setaffinity: %s (the unit's "
				"SystemCallFilter denies it; a drop-in with "
				"[Service] SystemCallFilter=sched_setaffinity "
				"allows it): running them unpinned",
				strerror(err));
			ncpus = 0; /* for the threads still to come */
			w->cpu = -1;
			err = pthread_create(&w->thread, NULL, worker_run, w);
		}
		if (err) {
			pause_leave(&d->pause);
			log_msg(LOG_ERR, "queue %" PRIu32 ": no thread: %s",
				w->queue_num, strerror(err));
			return -1;
		}
		w->started = true;
		if (w->cpu >= 0)
			log_msg(LOG_INFO, "queue %" PRIu32 ": thread on CPU %d",
				w->queue_num, w->cpu);
	}
	return 0;
}

static void stop_threads(struct daemon *d)
{
	atomic_store(&d->stopping, true);
	wake_workers(d);
	for (unsigned i = 0; i < d->nworkers; i++)
		if (d->workers[i].started) {
			pthread_join(d->workers[i].thread, NULL);
			d->workers[i].started = false;
		}
}

static void log_final(const struct daemon *d, const char *why)
{
	struct engine_stats st, *s = &st;
	char by_reason[256] = "";
	uint64_t expired = 0;
	size_t used = 0;

	engine_sum_stats(&st, d->engines, d->nworkers);
	for (unsigned i = 0; i < d->nworkers; i++)
		expired += d->engines[i]->table.expired;
	for (int i = 1; i < DROP_REASON_COUNT && used < sizeof(by_reason); i++)
		used += (size_t)snprintf(by_reason + used,
					 sizeof(by_reason) - used,
					 "%s%s %" PRIu64, i > 1 ? ", " : "",
					 engine_drop_name(i), s->drop[i]);
	log_msg(LOG_NOTICE,
		"stopping (%s): %" PRIu64 " packets, %" PRIu64
		" accepted, %" PRIu64 " dropped (%s), %" PRIu64
		" would drop; %" PRIu32 "/%" PRIu32 " flows, %" PRIu64
		" created, %" PRIu64 " expired, %" PRIu64 " evicted",
		why, s->packets, s->accepted, s->dropped, by_reason,
		s->would_drop, flows(d), d->engines[0]->max_flows,
		s->flows_created, expired, s->flows_evicted);
}

static void emit_line(void *arg, const char *key, uint64_t value)
{
	fprintf(arg, "%s %" PRIu64 "\n", key, value);
}

struct dump {
	const struct engine *e;
	bool json;
	uint64_t shown;
};

static int dump_flow(const struct flow *f, void *arg)
{
	struct dump *dp = arg;
	uint32_t left = engine_flow_left(dp->e, f);
	char line[LIST_LINE_MAX];

	if (!left)
		return 0; /* expired, not yet reclaimed: gone */
	list_format(line, sizeof(line), f, left, engine_flow_acct(dp->e, f),
		    dp->json);
	if (dp->json)
		fputs(dp->shown ? ",\n" : "[\n", stdout);
	fputs(line, stdout);
	dp->shown++;
	return 0;
}

/*
 * --replay: the engine over a capture, with the capture's clock; the
 * counters go to stdout, or with --dump the flow table goes to stdout and
 * the counters to stderr.
 */
static int replay(struct daemon *d, const char *path, int dump)
{
	struct engine *e = calloc(1, sizeof(*e));
	struct dump dp = { .e = e, .json = dump == 2 };
	FILE *out = dump ? stderr : stdout;
	struct hash_key hkey;
	struct replay_stats rs;
	char err[512];
	int ret = 0;

	if (!e || hash_key_random(&hkey) < 0 ||
	    engine_init(e, &d->conf, &hkey, 0) < 0) {
		fprintf(stderr, "nfqtrackd: cannot make the flow table: %s\n",
			strerror(errno));
		free(e);
		return 1;
	}
	if (replay_file(e, path, &rs, err, sizeof(err)) < 0) {
		fprintf(stderr, "nfqtrackd: %s\n", err);
		ret = 1;
	}
	fprintf(out, "replay_file %s\n", path);
	fprintf(out, "replay_linktype %s\n", rs.linktype);
	emit_line(out, "replay_frames", rs.frames);
	emit_line(out, "replay_not_ip", rs.not_ip);
	emit_line(out, "replay_fragments", rs.defrag.fragments);
	emit_line(out, "replay_reassembled", rs.defrag.reassembled);
	for (int i = 0; i < DEFRAG_DROP_COUNT; i++) {
		char name[64];

		snprintf(name, sizeof(name), "replay_fragments_dropped_%s",
			 defrag_drop_name((enum defrag_drop)i));
		emit_line(out, name, rs.defrag.dropped[i]);
	}
	fprintf(out, "replay_trace_seconds %.3f\n", rs.trace_seconds);
	fprintf(out, "replay_wall_seconds %.3f\n", rs.wall_seconds);
	emit_line(out, "replay_packets_per_second",
		  rs.wall_seconds > 0 ?
			  (uint64_t)((double)rs.packets / rs.wall_seconds) :
			  0);
	engine_report(&e, 1, emit_line, out);
	if (dump) {
		flow_table_walk(&e->table, dump_flow, &dp);
		if (dp.json)
			printf(dp.shown ? "\n]\n" : "[]\n");
	}
	engine_destroy(e);
	free(e);
	return ret;
}

/* The workers, one per queue of the configuration: no thread yet. */
static int setup_workers(struct daemon *d)
{
	unsigned n = conf_queue_count(&d->conf);

	d->failed_fd = -1;
	d->workers = calloc(n, sizeof(*d->workers));
	if (!d->workers) {
		log_msg(LOG_ERR, "out of memory");
		return -1;
	}
	d->nworkers = n;
	d->threaded = n > 1;
	for (unsigned i = 0; i < n; i++) {
		struct worker *w = &d->workers[i];

		w->d = d;
		w->queue_num = d->conf.queues[0] + i;
		w->wake_fd = -1;
		w->cpu = -1;
		d->engines[i] = &w->engine;
		if (d->threaded) {
			w->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
			if (w->wake_fd < 0) {
				log_msg(LOG_ERR, "eventfd: %s",
					strerror(errno));
				return -1;
			}
		}
	}
	if (!d->threaded)
		return 0;
	d->failed_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (d->failed_fd < 0 || pause_init(&d->pause) < 0) {
		log_msg(LOG_ERR, "threads: %s", strerror(errno));
		return -1;
	}
	errno = pthread_mutex_init(&d->droplog_lock, NULL);
	if (errno) {
		pause_destroy(&d->pause);
		log_msg(LOG_ERR, "threads: %s", strerror(errno));
		return -1;
	}
	d->sync_made = true;
	return 0;
}

/* The engines, sharing their limits when there are several. Returns 0,
 * or -1 with errno set (and none made). */
static int init_engines(struct daemon *d, const struct hash_key *hkey)
{
	unsigned i;

	if (d->threaded &&
	    engine_shared_init(&d->shared, &d->conf, hkey, true) < 0)
		return -1;
	for (i = 0; i < d->nworkers; i++)
		if (engine_init_shared(&d->workers[i].engine, &d->conf, hkey, 0,
				       d->threaded ? &d->shared : NULL) < 0)
			break;
	if (i == d->nworkers)
		return 0;
	while (i--)
		engine_destroy(&d->workers[i].engine);
	if (d->threaded)
		engine_shared_destroy(&d->shared);
	return -1;
}

static void destroy_engines(struct daemon *d)
{
	for (unsigned i = 0; i < d->nworkers; i++)
		engine_destroy(&d->workers[i].engine);
	if (d->threaded)
		engine_shared_destroy(&d->shared);
}

static void free_workers(struct daemon *d)
{
	for (unsigned i = 0; d->workers && i < d->nworkers; i++)
		if (d->workers[i].wake_fd >= 0)
			close(d->workers[i].wake_fd);
	if (d->failed_fd >= 0)
		close(d->failed_fd);
	if (d->sync_made) {
		pause_destroy(&d->pause);
		pthread_mutex_destroy(&d->droplog_lock);
	}
	free(d->workers);
}

/* The flow tables' bytes. */
static uint64_t table_bytes(const struct daemon *d)
{
	uint64_t bytes = 0;

	for (unsigned i = 0; i < d->nworkers; i++)
		bytes += flow_table_bytes(&d->engines[i]->table);
	return bytes;
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: nfqtrackd [-c FILE] [-s SOCKET] [-e] [-t [-q]]\n"
		"       nfqtrackd [-c FILE] --replay FILE [--dump[=json]]\n"
		"  -c, --config FILE   configuration file (default %s)\n"
		"  -s, --socket PATH   control socket (overrides ctl_socket)\n"
		"  -e, --stderr        also log to standard error\n"
		"  -t, --test          check the configuration, print the "
		"effective settings, exit\n"
		"  -q, --quiet         with -t: one line if it is good, "
		"only the problems if not\n"
		"      --replay FILE   run a pcap or pcapng capture through "
		"the tracker, print\n"
		"                      the counters, exit\n"
		"      --dump[=json]   with --replay: print the flow table "
		"left at the end\n"
		"                      (conntrack -L format, or JSON)\n"
		"  -V, --version       print the version and exit\n"
		"  -h, --help          this help\n",
		CONF_DEFAULT_PATH);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "socket", required_argument, NULL, 's' },
		{ "stderr", no_argument, NULL, 'e' },
		{ "test", no_argument, NULL, 't' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ "replay", required_argument, NULL, 'R' },
		{ "dump", optional_argument, NULL, 'D' },
		{ NULL, 0, NULL, 0 },
	};
	static struct daemon d;
	struct privs_ids ids = { (uid_t)-1, (gid_t)-1, (gid_t)-1, 1 };
	const char *replay_path = NULL;
	int dump = 0;
	const char *socket_path = NULL;
	bool to_stderr = false, test = false, quiet = false;
	struct queue_params qp;
	struct hash_key hkey;
	char err[256], queues[32];
	int opt, n, ret = 1;

	d.conf_path = CONF_DEFAULT_PATH;
	while ((opt = getopt_long(argc, argv, "c:s:etqVh", opts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			d.conf_path = optarg;
			d.conf_given = true;
			break;
		case 's':
			socket_path = optarg;
			break;
		case 'e':
			to_stderr = true;
			break;
		case 't':
			test = true;
			break;
		case 'q':
			quiet = true;
			break;
		case 'R':
			replay_path = optarg;
			break;
		case 'D':
			if (!optarg || !strcmp(optarg, "text")) {
				dump = 1;
			} else if (!strcmp(optarg, "json")) {
				dump = 2;
			} else {
				fprintf(stderr,
					"nfqtrackd: --dump=%s: text or "
					"json\n",
					optarg);
				return 2;
			}
			break;
		case 'V':
			printf("nfqtrackd %s\n", VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "nfqtrackd: unexpected argument '%s'\n",
			argv[optind]);
		usage(stderr);
		return 2;
	}

	n = load_conf(&d, &d.conf, print_error, NULL);
	if (!n && socket_path) {
		if (socket_path[0] != '/' ||
		    strlen(socket_path) >= sizeof(d.conf.ctl_socket)) {
			fprintf(stderr,
				"nfqtrackd: -s: '%s' is not an absolute "
				"path of at most 107 bytes\n",
				socket_path);
			return 1;
		}
		strcpy(d.conf.ctl_socket, socket_path);
	}
	if (n) {
		fprintf(stderr, "nfqtrackd: %d problem%s in %s\n", n,
			n == 1 ? "" : "s", d.conf_path);
		return 1;
	}
	if (dump && !replay_path) {
		fprintf(stderr, "nfqtrackd: --dump goes with --replay\n");
		return 2;
	}
	if (quiet && !test) {
		fprintf(stderr, "nfqtrackd: -q goes with -t\n");
		return 2;
	}
	if (replay_path)
		return replay(&d, replay_path, dump);
	if (test) {
		/* -q (the unit's ExecStartPre=): the one line only, not the
		 * whole configuration into the journal at every start. */
		if (d.conf_missing)
			printf("%sno %s: built-in defaults\n",
			       quiet ? "" : "# ", d.conf_path);
		else
			printf("%s%s: configuration OK\n", quiet ? "" : "# ",
			       d.conf_path);
		if (!quiet)
			conf_print(&d.conf, stdout);
		return 0;
	}

	log_init("nfqtrackd", to_stderr);
	notify_init(&d.notify);
	log_configure(d.conf.syslog_facility, d.conf.syslog_socket);
	d.start_ms = mono_ms();
	d.start_time = (uint64_t)time(NULL);
	d.sigfd = d.timerfd = d.epfd = -1;
	log_settings(&d, "nfqtrackd " VERSION " starting");
	if (d.conf_missing)
		log_msg(LOG_NOTICE, "no %s: running on built-in defaults",
			d.conf_path);

	/* Root: find the user to become and the socket's group now, before
	 * anything is bound. Started as that user already: nothing to do. */
	if (geteuid() == 0 && strcmp(d.conf.user, "root") &&
	    privs_lookup(&ids, d.conf.user, d.conf.group, err, sizeof(err)) <
		    0) {
		log_msg(LOG_ERR, "%s", err);
		goto out;
	}
	if (setup_workers(&d) < 0)
		goto out;
	if (check_memory(&d.conf, d.nworkers, 0) < 0)
		goto out;
	if (hash_key_random(&hkey) < 0) {
		log_msg(LOG_ERR, "getrandom: %s", strerror(errno));
		goto out;
	}
	if (init_engines(&d, &hkey) < 0) {
		log_msg(LOG_ERR,
			"cannot allocate the flow table%s (%" PRIu64
			" MiB): %s",
			d.nworkers > 1 ? "s" : "",
			engine_bytes(&d.conf, d.nworkers) >> 20,
			strerror(errno));
		goto out;
	}
	droplog_init(&d.droplog, &d.conf, mono_ms());
	d.ctl = ctl_server_open(d.conf.ctl_socket, ids.uid, ids.group, err,
				sizeof(err));
	if (!d.ctl) {
		log_msg(LOG_ERR, "control socket: %s", err);
		goto out_engine;
	}
	if (setup_loop(&d) < 0 ||
	    (d.threaded && add_fd(d.epfd, d.failed_fd, EV_FAILED) < 0)) {
		log_msg(LOG_ERR, "event loop: %s", strerror(errno));
		goto out_ctl;
	}
	/* Bound now, while still root: the port may be below 1024. */
	if (strcmp(d.conf.metrics_listen, "off")) {
		d.http = http_open(d.conf.metrics_listen, render_metrics, &d,
				   err, sizeof(err));
		if (!d.http) {
			log_msg(LOG_ERR, "%s", err);
			goto out_ctl;
		}
		if (add_fd(d.epfd, http_fd(d.http), EV_HTTP) < 0) {
			log_msg(LOG_ERR, "event loop: %s", strerror(errno));
			goto out_ctl;
		}
	}
	for (unsigned i = 0; i < d.nworkers; i++) {
		struct worker *w = &d.workers[i];

		qp = queue_params(&d.conf, w->queue_num);
		w->queue = queue_open(&qp, on_packets, w, err, sizeof(err));
		if (!w->queue) {
			log_msg(LOG_ERR, "%s", err);
			goto out_nfq;
		}
		if (!d.threaded &&
		    add_fd(d.epfd, queue_fd(w->queue), EV_QUEUE) < 0) {
			log_msg(LOG_ERR, "event loop: %s", strerror(errno));
			goto out_nfq;
		}
	}
	if (privs_drop(&ids, err, sizeof(err)) < 0) {
		log_msg(LOG_ERR, "%s", err);
		goto out_nfq;
	}
	privs_describe(err, sizeof(err));
	log_msg(LOG_NOTICE, "running as %s", err);
	/* Only now: a thread has the credentials of the one that made it,
	 * and capabilities are a thread's own. */
	if (d.threaded && start_threads(&d) < 0)
		goto out_nfq;
	d.status_ms = mono_ms();
	ratelimit_init(&d.reload_rate, 1, RELOAD_BURST, d.status_ms);
	notify_status(&d.notify, "%" PRIu32 "/%" PRIu32 " flows, 0 drops/s",
		      flows(&d), d.conf.max_flows);
	notify_ready(&d.notify);
	queues_text(&d.conf, queues, sizeof(queues));
	log_msg(LOG_NOTICE,
		"%s bound; control socket %s; metrics "
		"%s%s; flow table%s %.1f MiB, source table %.1f MiB",
		queues, d.conf.ctl_socket, d.http ? "on http://" : "off",
		d.http ? d.conf.metrics_listen : "", d.threaded ? "s" : "",
		(double)table_bytes(&d) / (1 << 20),
		(double)source_table_bytes_for(
			d.engines[0]->sh->sources.slab.capacity) /
			(1 << 20));

	ret = run(&d) < 0 ? 1 : 0;
out_nfq:
	stop_threads(&d);
	notify_stopping(&d.notify);
	for (unsigned i = 0; i < d.nworkers; i++) {
		struct worker *w = &d.workers[i];

		if (w->queue && queue_close(w->queue, on_packets, w) < 0)
			log_msg(LOG_WARNING, "unbinding queue %" PRIu32 ": %s",
				w->queue_num, strerror(errno));
	}
	if (d.stop_signal)
		snprintf(err, sizeof(err), "SIG%s",
			 sigabbrev_np(d.stop_signal));
	else
		snprintf(err, sizeof(err), "error");
	log_final(&d, err);
out_ctl:
	http_close(d.http);
	ctl_server_close(d.ctl);
out_engine:
	destroy_engines(&d);
out:
	free_workers(&d);
	if (d.epfd >= 0)
		close(d.epfd);
	if (d.sigfd >= 0)
		close(d.sigfd);
	if (d.timerfd >= 0)
		close(d.timerfd);
	log_close();
	return ret;
}
