// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * ctlcmd.c - the control commands: a handler for each entry of the one
 * command table (cmdtab.h); see ctlcmd.h.
 *
 * Every handler runs on the main thread with the workers paused
 * (workers_pause()): the engines are its own meanwhile. A listing, a
 * flush and top go on over several turns of the loop, a bounded share of
 * buckets each (WALK_BUCKETS_PER_CHUNK), so that packets never wait long
 * on one.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmdtab.h"
#include "ctl.h"
#include "ctlcmd.h"
#include "daemon.h"
#include "engine.h"
#include "dump.h"
#include "evsub.h"
#include "metrics.h"
#include "prefix.h"
#include "reload.h"

/* Control socket reloads: this many at once, then one a second. */
#define RELOAD_BURST 5

static void emit_reply(void *arg, const char *key, uint64_t value)
{
	ctl_reply_printf(arg, "%s %" PRIu64 "\n", key, value);
}

static void stats_reply(struct daemon *d, const struct ctl_request *req,
			struct ctl_reply *rep)
{
	struct workers *ws = &d->workers;
	struct daemon_counters c;

	(void)req;
	daemon_counters(d, &c);
	ctl_reply_printf(rep, "version %s\n", VERSION);
	ctl_reply_printf(rep, "uptime_seconds %" PRIu64 "\n",
			 (mono_ms() - d->start_ms) / 1000);
	/* The group's gauges and counters, then the queues', the kernel's
	 * (when its file could be read) and the daemon's own: the counters
	 * table's rows (metrics.h), as the metrics and the stop line. */
	metrics_stats(&c.in, METRICS_ENGINE, emit_reply, rep);
	emit_reply(rep, "queue", d->conf.queue);
	emit_reply(rep, "queues", ws->n);
	for (unsigned i = 0; ws->n > 1 && i < ws->n; i++)
		ctl_reply_printf(rep, "queue_%" PRIu32 "_packets %" PRIu64 "\n",
				 ws->w[i].queue_num,
				 queue_stats(ws->w[i].queue)->packets);
	metrics_stats(&c.in, METRICS_DAEMON, emit_reply, rep);
}

/* The metrics, for the HTTP listener and the control socket: from the
 * same table as stats_reply()'s. */
size_t ctlcmd_render_metrics(void *arg, char *buf, size_t len)
{
	struct daemon_counters c;

	daemon_counters(arg, &c);
	return metrics_render(buf, len, &c.in);
}

/* "metrics": what GET /metrics serves, whatever metrics_listen says. */
static void metrics_reply(struct daemon *d, const struct ctl_request *req,
			  struct ctl_reply *rep)
{
	size_t cap = 16 << 10;
	char *text = NULL, *bigger;

	(void)req;
	/* Again with more room if the first try did not fit: the kernel's
	 * figures may have grown a digit in between. */
	while ((bigger = realloc(text, cap))) {
		size_t n = ctlcmd_render_metrics(d, bigger, cap);

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
	struct dump_filter filter;
	struct group_cursor cur; /* every queue's table in turn */
	bool json;
	uint64_t shown;
	struct ctl_reply *rep; /* the chunk being filled */
};

/* A listing's, a flush's or top's share of a turn of the loop: so many
 * buckets, whatever they hold or the filter takes (a filter that matches
 * nothing would otherwise walk the whole table at once), some 100 us. The
 * control server makes one chunk a turn. */
#define WALK_BUCKETS_PER_CHUNK 1024

static void list_one(const struct engine *e, const struct flow *f, void *arg)
{
	struct listing *l = arg;
	uint32_t left = engine_flow_left(e, f);
	char line[DUMP_LINE_MAX];

	/* An expired flow awaits reclaiming; a fast one whose time ran out
	 * awaits the tick's check with the kernel, and lives until the
	 * kernel says it ended. */
	if ((!left && !(f->flags & FLOW_F_FAST)) || !dump_match(&l->filter, f))
		return;
	dump_format(line, sizeof(line), f, left, engine_flow_acct(e, f),
		    l->json);
	if (l->json)
		ctl_reply_printf(l->rep, "%s%s", l->shown ? ",\n" : "[\n",
				 line);
	else
		ctl_reply_printf(l->rep, "%s", line);
	l->shown++;
}

/* The next chunk: WALK_BUCKETS_PER_CHUNK buckets, so that packets never
 * wait long on a listing (at most some 100 KB of lines: chains are
 * short). */
static bool list_more(void *state, struct ctl_reply *rep)
{
	struct listing *l = state;
	bool more;

	l->rep = rep;
	more = group_walk_step(&l->d->workers.group, &l->cur,
			       WALK_BUCKETS_PER_CHUNK, list_one, l);
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
	dump_filter_init(&l->filter);
	for (int i = 1; i < req->argc; i++) {
		if (!strcmp(req->argv[i], "json")) {
			l->json = true;
		} else if (dump_filter_add(&l->filter, req->argv[i], &why) <
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

/* The next share of a top: WALK_BUCKETS_PER_CHUNK buckets of the source
 * table, then the lines. */
static bool top_more(void *state, struct ctl_reply *rep)
{
	struct topping *tp = state;
	const struct source_table *st =
		&group_policy(&tp->d->workers.group)->sources;
	uint64_t now = group_engine(&tp->d->workers.group, 0)->now_ms;

	if (source_table_top_step(st, now, tp->idx, tp->n, &tp->t,
				  WALK_BUCKETS_PER_CHUNK))
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
	struct dump_filter filter;
	struct group_cursor cur; /* as in struct listing */
	uint32_t removed;
	bool json;
	bool all; /* no filter: the kernel's fast path sets are emptied too */
};

static bool flush_match(const struct flow *f, void *arg)
{
	return dump_match(arg, f);
}

/* The next share of a flush: a bounded number of buckets, so that packets
 * never wait long on it. */
static bool flush_more(void *state, struct ctl_reply *rep)
{
	struct flushing *fl = state;

	if (group_flush_step(&fl->d->workers.group, &fl->cur,
			     WALK_BUCKETS_PER_CHUNK, flush_match, &fl->filter,
			     &fl->removed))
		return true;
	/* The removed fast flows' elements went with them (their engines'
	 * sync); the whole table's flush empties the sets as well, with
	 * whatever they held that no flow names. One socket does for all:
	 * the table is one. */
	if (fl->all && fl->d->workers.n &&
	    engine_fastpath_flush(group_engine(&fl->d->workers.group, 0)) < 0)
		log_msg(LOG_WARNING,
			"flush: cannot empty the fastpath sets: %s",
			strerror(errno));
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
	fl->all = req->argc < 2;
	dump_filter_init(&fl->filter);
	for (int i = 1; i < req->argc; i++) {
		if (dump_filter_add(&fl->filter, req->argv[i], &why) < 0) {
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
	struct dump_filter pf;
	uint8_t a[16], b[16], family = 4;
	long sport, dport, type, code;
	char line[DUMP_LINE_MAX];
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
	dump_filter_init(&pf);
	{
		char term[48];

		snprintf(term, sizeof(term), "proto=%.40s", proto);
		if (dump_filter_add(&pf, term, &why) < 0) {
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
		f = group_find(&d->workers.group, &k, &e);
	}
	if (!f) {
		ctl_reply_error(rep, "no such flow");
		return;
	}
	dump_format(line, sizeof(line), f, engine_flow_left(e, f),
		    engine_flow_acct(e, f), json);
	ctl_reply_printf(rep, "%s%s", line, json ? "\n" : "");
}

/* "config": the configuration in effect, as nfqtrackd -t prints it. */
static void config_reply(struct daemon *d, const struct ctl_request *req,
			 struct ctl_reply *rep)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	(void)req;
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
static void reload_reply(struct daemon *d, const struct ctl_request *req,
			 struct ctl_reply *rep)
{
	struct reload_problems p;

	(void)req;
	if (!ratelimit_allow(&d->reload_rate, mono_ms()))
		ctl_reply_error(rep,
				"too many reloads (%d at once, then one a "
				"second): try again in a second",
				RELOAD_BURST);
	else if (reload_run(d, &p) < 0)
		ctl_reply_error(rep, "%s", p.text);
	else
		ctl_reply_printf(rep, "reloaded %s\n%s", d->conf_path,
				 p.warnings);
}

/* "count": flows in every table. */
static void count_reply(struct daemon *d, const struct ctl_request *req,
			struct ctl_reply *rep)
{
	(void)req;
	ctl_reply_printf(rep, "flows %" PRIu32 "\n", daemon_flows(d));
}

static void version_reply(struct daemon *d, const struct ctl_request *req,
			  struct ctl_reply *rep)
{
	(void)d;
	(void)req;
	ctl_reply_printf(rep, "version %s\n", VERSION);
}

/* "events [types=...] [json] [timestamp] [filters]": the connection
 * subscribes, and its reply is the stream of events (evsub.h), for as
 * long as it stays. */
static void events_reply(struct daemon *d, const struct ctl_request *req,
			 struct ctl_reply *rep)
{
	const struct evhub_consumer *c;
	const char *why;
	struct evsub *s;
	unsigned n = 0;
	int at;

	for (c = d->evhub.consumers; c; c = c->next)
		n += evsub_is(c);
	if (n >= EVSUB_MAX) {
		ctl_reply_error(rep, "too many event subscribers (%d at once)",
				EVSUB_MAX);
		return;
	}
	s = evsub_new(&d->evhub, req->argc - 1, req->argv + 1, &why, &at);
	if (!s) {
		if (at < 0)
			ctl_reply_error(rep, "%s", why);
		else
			ctl_reply_error(rep, "%s: %s", req->argv[at + 1], why);
		return;
	}
	evsub_start(s);
	rep->more = evsub_more;
	rep->more_state = s;
	rep->more_free = evsub_free;
	rep->stream = true;
}

typedef void (*cmd_handler)(struct daemon *d, const struct ctl_request *req,
			    struct ctl_reply *rep);

/* The handler of each command of the table, by its id. */
static const cmd_handler handlers[CMD_COUNT_] = {
	[CMD_STATS] = stats_reply,     [CMD_METRICS] = metrics_reply,
	[CMD_LIST] = list_reply,       [CMD_EVENTS] = events_reply,
	[CMD_COUNT] = count_reply,     [CMD_GET] = get_reply,
	[CMD_FLUSH] = flush_reply,     [CMD_RELOAD] = reload_reply,
	[CMD_CONFIG] = config_reply,   [CMD_TOP] = top_reply,
	[CMD_VERSION] = version_reply,
};

void ctlcmd_init(struct daemon *d, uint64_t now_ms)
{
	ratelimit_init(&d->reload_rate, 1, RELOAD_BURST, now_ms);
}

void ctlcmd_request(void *arg, const struct ctl_request *req,
		    struct ctl_reply *rep)
{
	const struct ctl_cmd *cmd = ctl_cmd_find(req->argv[0]);

	if (!cmd || !handlers[cmd->id])
		ctl_reply_error(rep, "unknown command '%.64s'", req->argv[0]);
	else if (!cmd->args && req->argc > 1)
		ctl_reply_error(rep, "%s takes no arguments", cmd->name);
	else
		handlers[cmd->id](arg, req, rep);
}
