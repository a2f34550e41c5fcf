// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * nfqtrackd.c - the daemon's main(): options, configuration, wiring, the
 * event loop, signals, and one cleanup. This is the only file that exits.
 *
 * Each queue has a worker thread (worker.h): its queue socket, its flow
 * table (the engines of several queues share their limits, engine.h), its
 * housekeeping tick. The main thread keeps everything else in one epoll
 * set: the control server, the metrics listener's own epoll set, a
 * signalfd for SIGHUP/SIGTERM/SIGINT, a 100 ms timerfd for housekeeping,
 * and two eventfds from the workers (one has drop lines to write, one has
 * failed). Whatever reads or changes the engines (control requests,
 * metrics scrapes, reloads) runs while the workers are parked between two
 * batches; the drop log's lines and reports reach the main thread
 * without that (droplog.h).
 *
 * The commands are in ctlcmd.c, reload in reload.c, the daemon's state in
 * daemon.c, --replay in replaycli.c.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "carrier.h"
#include "conf.h"
#include "ctl.h"
#include "ctlcmd.h"
#include "daemon.h"
#include "droplog.h"
#include "engine.h"
#include "fastpath.h"
#include "hash.h"
#include "http.h"
#include "log.h"
#include "mark.h"
#include "metrics.h"
#include "notify.h"
#include "privs.h"
#include "reload.h"
#include "replaycli.h"
#include "worker.h"

/* What the command line asked for, beside the config path. */
struct options {
	const char *socket_path, *replay_path;
	int dump; /* 1: text, 2: JSON */
	bool to_stderr, test, quiet;
	bool marks; /* --marks: print the translation table */
	bool fastpath_rules; /* --fastpath-rules: print the nft table */
};

static void print_error(void *arg, const char *msg)
{
	(void)arg;
	fprintf(stderr, "nfqtrackd: %s\n", msg);
}

/* The wall clock in milliseconds. */
static uint64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* The engines are the main thread's until resume(), and what the workers
 * had to say is written first, so that the counters read meanwhile
 * (log_suppressed) are up to date. */
static void pause_workers(struct daemon *d)
{
	struct workers *ws = &d->workers;

	workers_pause(ws);
	for (unsigned i = 0; i < ws->n; i++)
		droplog_drain(&d->droplog, ws->feeds[i],
			      group_engine(&ws->group, i));
	/* A flush meanwhile tells its DESTROYs to the hub at once. */
	daemon_events_direct(d);
}

static void resume_workers(struct daemon *d)
{
	workers_resume(&d->workers);
}

/* The 100 ms housekeeping of the main thread: it never pauses the
 * workers (each ticks its own engine); the drop log reads their feeds. */
static void tick(struct daemon *d)
{
	struct workers *ws = &d->workers;
	uint64_t now = mono_ms(), expirations, dropped = 0;
	uint32_t nflows = 0;

	if (read(d->timerfd, &expirations, sizeof(expirations)) < 0)
		return;
	daemon_events_drain(d);
	daemon_export_flush(d, true);
	ctl_server_expire(d->ctl, now);
	notify_tick(&d->notify, now);
	droplog_feed_tick(&d->droplog, ws->feeds, &ws->group, now);
	if (now - d->status_ms < 1000)
		return;
	for (unsigned i = 0; i < ws->n; i++) {
		dropped += atomic_load_explicit(&ws->feeds[i]->dropped_pub,
						memory_order_relaxed);
		nflows += atomic_load_explicit(&ws->feeds[i]->flows_pub,
					       memory_order_relaxed);
	}
	notify_status(&d->notify,
		      "%" PRIu32 "/%" PRIu32 " flows, %" PRIu64 " drops/s",
		      nflows, group_policy(&ws->group)->max_flows,
		      (dropped - d->status_dropped) * 1000 /
			      (now - d->status_ms));
	d->status_ms = now;
	d->status_dropped = dropped;
}

static void on_signal(struct daemon *d)
{
	struct signalfd_siginfo si;

	while (read(d->sigfd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			struct reload_problems p;

			pause_workers(d);
			reload_run(d, &p);
			resume_workers(d);
		} else
			d->stop_signal = (int)si.ssi_signo;
	}
}

/* A worker has drop lines or events: write them. */
static void on_log(struct daemon *d)
{
	struct workers *ws = &d->workers;
	uint64_t n;

	if (read(ws->log_fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		return;
	for (unsigned i = 0; i < ws->n; i++)
		droplog_drain(&d->droplog, ws->feeds[i],
			      group_engine(&ws->group, i));
	daemon_events_drain(d);
	daemon_export_flush(d, false);
}

enum { EV_CTL = 1, EV_STREAM, EV_SIGNAL, EV_TIMER, EV_HTTP, EV_FAILED, EV_LOG };

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
	    add_fd(d->epfd, ctl_server_fd(d->ctl), EV_CTL) < 0 ||
	    add_fd(d->epfd, ctl_server_stream_fd(d->ctl), EV_STREAM) < 0 ||
	    add_fd(d->epfd, d->workers.failed_fd, EV_FAILED) < 0 ||
	    add_fd(d->epfd, d->workers.log_fd, EV_LOG) < 0)
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
			case EV_CTL:
				pause_workers(d);
				ctl_server_run(d->ctl, mono_ms(),
					       ctlcmd_request, d);
				resume_workers(d);
				break;
			case EV_STREAM:
				/* The event subscribers take their lines:
				 * the workers go on meanwhile. */
				ctl_server_run_streams(d->ctl, mono_ms());
				break;
			case EV_FAILED:
				return -1; /* the worker said why */
			case EV_SIGNAL:
				on_signal(d);
				break;
			case EV_TIMER:
				tick(d);
				break;
			case EV_LOG:
				on_log(d);
				break;
			case EV_HTTP:
				pause_workers(d);
				http_run(d->http);
				resume_workers(d);
				break;
			}
		}
		/* Events came (a drain on the workers' wake-up or the
		 * tick, a flush): the idle subscribers have lines to take.
		 * O(control clients). */
		ctl_server_kick(d->ctl);
		/* A client's timeout fell due, or libmicrohttpd left work
		 * that its descriptor will not announce again. */
		if (d->http && http_timeout(d->http) == 0) {
			pause_workers(d);
			http_run(d->http);
			resume_workers(d);
		}
	}
	return 0;
}

/* A counter of the table (metrics.h) by its stats name. */
static uint64_t counter(const struct daemon_counters *c, const char *key)
{
	uint64_t v = 0;

	metrics_stat(&c->in, key, &v);
	return v;
}

/* The stop line: its figures come from the counters table, as the stats'
 * and the metrics' do. */
static void log_final(struct daemon *d, const char *why)
{
	struct daemon_counters c;
	char by_reason[256] = "", key[64];
	size_t used = 0;

	daemon_counters(d, &c);
	for (int i = 1; i < DROP_REASON_COUNT && used < sizeof(by_reason);
	     i++) {
		snprintf(key, sizeof(key), "dropped_%s", engine_drop_name(i));
		used += (size_t)snprintf(by_reason + used,
					 sizeof(by_reason) - used,
					 "%s%s %" PRIu64, i > 1 ? ", " : "",
					 engine_drop_name(i), counter(&c, key));
	}
	log_msg(LOG_NOTICE,
		"stopping (%s): %" PRIu64 " packets, %" PRIu64
		" accepted, %" PRIu64 " dropped (%s), %" PRIu64
		" would drop; %" PRIu64 "/%" PRIu64 " flows, %" PRIu64
		" created, %" PRIu64 " expired, %" PRIu64 " evicted",
		why, counter(&c, "packets"), counter(&c, "accepted"),
		counter(&c, "dropped"), by_reason, counter(&c, "would_drop"),
		counter(&c, "flows"), counter(&c, "flows_max"),
		counter(&c, "flows_created"), counter(&c, "flows_expired"),
		counter(&c, "flows_evicted"));
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: nfqtrackd [-c FILE] [-s SOCKET] [-e] [-t [-q]]\n"
		"       nfqtrackd [-c FILE] --replay FILE [--dump[=json]]\n"
		"       nfqtrackd [-c FILE] --marks\n"
		"       nfqtrackd [-c FILE] --fastpath-rules\n"
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
		"      --marks         print the mark match that stands for "
		"each conntrack\n"
		"                      match under the configured "
		"mark_mask, exit\n"
		"      --fastpath-rules\n"
		"                      print the kernel fast path's nftables "
		"table for the\n"
		"                      configuration (nft -f loads it), exit\n"
		"  -V, --version       print the version and exit\n"
		"  -h, --help          this help\n",
		CONF_DEFAULT_PATH);
}

/* The command line into o and d (the config path); returns -1 to go on,
 * else the exit status. */
static int parse_options(int argc, char **argv, struct daemon *d,
			 struct options *o)
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
		{ "marks", no_argument, NULL, 'M' },
		{ "fastpath-rules", no_argument, NULL, 'F' },
		{ NULL, 0, NULL, 0 },
	};
	int opt;

	d->conf_path = CONF_DEFAULT_PATH;
	while ((opt = getopt_long(argc, argv, "c:s:etqVh", opts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			d->conf_path = optarg;
			d->conf_given = true;
			break;
		case 's':
			o->socket_path = optarg;
			break;
		case 'e':
			o->to_stderr = true;
			break;
		case 't':
			o->test = true;
			break;
		case 'q':
			o->quiet = true;
			break;
		case 'R':
			o->replay_path = optarg;
			break;
		case 'M':
			o->marks = true;
			break;
		case 'F':
			o->fastpath_rules = true;
			break;
		case 'D':
			if (!optarg || !strcmp(optarg, "text")) {
				o->dump = 1;
			} else if (!strcmp(optarg, "json")) {
				o->dump = 2;
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

	return -1;
}

/* The configuration, -s over it, and the modes that stop there (-t,
 * --replay); returns -1 to go on and run, else the exit status. */
static int load(struct daemon *d, const struct options *o)
{
	int n;

	n = reload_load_conf(d, &d->conf, print_error, NULL);
	if (!n && o->socket_path) {
		if (o->socket_path[0] != '/' ||
		    strlen(o->socket_path) >= sizeof(d->conf.ctl_socket)) {
			fprintf(stderr,
				"nfqtrackd: -s: '%s' is not an absolute "
				"path of at most 107 bytes\n",
				o->socket_path);
			return 1;
		}
		strcpy(d->conf.ctl_socket, o->socket_path);
	}
	if (n) {
		fprintf(stderr, "nfqtrackd: %d problem%s in %s\n", n,
			n == 1 ? "" : "s", d->conf_path);
		return 1;
	}
	if (o->dump && !o->replay_path) {
		fprintf(stderr, "nfqtrackd: --dump goes with --replay\n");
		return 2;
	}
	if (o->quiet && !o->test) {
		fprintf(stderr, "nfqtrackd: -q goes with -t\n");
		return 2;
	}
	if (o->replay_path)
		return replaycli_run(&d->conf, o->replay_path, o->dump);
	if (o->marks) {
		struct mark_layout l;

		mark_layout_init(&l, d->conf.mark_mask); /* conf.c checked it */
		printf("# verdict_mode = %s\n",
		       conf_verdict_mode_name(d->conf.verdict_mode));
		mark_print(&l, stdout);
		return 0;
	}
	if (o->fastpath_rules) {
		struct fastpath_params p;
		char *buf;
		size_t len;

		conf_fastpath_params(&d->conf, &p);
		len = fastpath_rules(&p, NULL, 0) + 1;
		buf = malloc(len);
		if (!buf) {
			fprintf(stderr, "nfqtrackd: out of memory\n");
			return 1;
		}
		fastpath_rules(&p, buf, len);
		fputs(buf, stdout);
		free(buf);
		return 0;
	}
	if (o->test) {
		/* -q (the unit's ExecStartPre=): the one line only, not the
		 * whole configuration into the journal at every start. */
		if (d->conf_missing)
			printf("%sno %s: built-in defaults\n",
			       o->quiet ? "" : "# ", d->conf_path);
		else
			printf("%s%s: configuration OK\n", o->quiet ? "" : "# ",
			       d->conf_path);
		if (!o->quiet)
			conf_print(&d->conf, stdout);
		return 0;
	}

	return -1;
}

/* The control socket, the event loop and the metrics listener: bound
 * while still root. Returns 0, or -1 (logged). */
static int open_sockets(struct daemon *d, const struct privs_ids *ids)
{
	char err[256];

	d->ctl = ctl_server_open(d->conf.ctl_socket, ids->uid, ids->group, err,
				 sizeof(err));
	if (!d->ctl) {
		log_msg(LOG_ERR, "control socket: %s", err);
		return -1;
	}
	if (setup_loop(d) < 0) {
		log_msg(LOG_ERR, "event loop: %s", strerror(errno));
		return -1;
	}
	/* Bound now, while still root: the port may be below 1024. */
	if (!strcmp(d->conf.metrics_listen, "off"))
		return 0;
	d->http = http_open(d->conf.metrics_listen, ctlcmd_render_metrics, d,
			    err, sizeof(err));
	if (!d->http) {
		log_msg(LOG_ERR, "%s", err);
		return -1;
	}
	if (add_fd(d->epfd, http_fd(d->http), EV_HTTP) < 0) {
		log_msg(LOG_ERR, "event loop: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* The workers and their engines. Returns 0, or -1 (logged). */
static int make_workers(struct daemon *d)
{
	struct workers *ws = &d->workers;
	struct hash_key hkey;

	if (workers_setup(ws, &d->conf, d->start_ms) < 0 ||
	    reload_check_memory(&d->conf, ws->n, 0) < 0)
		return -1;
	if (hash_key_random(&hkey) < 0) {
		log_msg(LOG_ERR, "getrandom: %s", strerror(errno));
		return -1;
	}
	if (workers_init_engines(ws, &d->conf, &hkey) < 0) {
		log_msg(LOG_ERR,
			"cannot allocate the flow table%s (%" PRIu64
			" MiB): %s",
			ws->n > 1 ? "s" : "",
			reload_memory_need(&d->conf, ws->n) >> 20,
			strerror(errno));
		return -1;
	}
	droplog_init(&d->droplog, &d->conf, mono_ms());
	d->droplog_made = true;
	/* The events' times, engine milliseconds since start_ms, as wall
	 * clock. */
	d->evhub.wall_offset_ms =
		(int64_t)wall_ms() - (int64_t)(mono_ms() - d->start_ms);
	ws->hub = &d->evhub;
	return daemon_export_apply(d);
}

/* "queue 0 bound; control socket ...": the daemon is up. Made before
 * the threads start (the tables are theirs then), logged after. */
static void started_line(struct daemon *d, char *buf, size_t len)
{
	struct workers *ws = &d->workers;
	char queues[32];

	daemon_queues_text(&d->conf, queues, sizeof(queues));
	snprintf(buf, len,
		 "%s bound; control socket %s; metrics "
		 "%s%s; flow table%s %.1f MiB, source table %.1f MiB",
		 queues, d->conf.ctl_socket, d->http ? "on http://" : "off",
		 d->http ? d->conf.metrics_listen : "", ws->n > 1 ? "s" : "",
		 (double)workers_table_bytes(ws) / (1 << 20),
		 (double)source_table_bytes_for(
			 group_policy(&ws->group)->sources.slab.capacity) /
			 (1 << 20));
}

/* The BPF carrier, for fastpath_carrier = bpf: loaded now, before the
 * privileges go, as loading needs CAP_BPF. Returns 0, or -1 (logged). */
static int load_carrier(struct daemon *d)
{
	char err[256];

	if (!d->conf.fastpath ||
	    d->conf.fastpath_carrier != FASTPATH_CARRIER_BPF)
		return 0;
	/* Both directions of every flow, and of those freed whose removal
	 * waits for a batch's end (FASTPATH_BATCH_MAX a queue at most). */
	d->carrier = carrier_load(
		2 * (d->conf.max_flows + FASTPATH_BATCH_MAX * d->workers.n),
		err, sizeof(err));
	if (!d->carrier) {
		log_msg(LOG_ERR, "fastpath: %s", err);
		return -1;
	}
	return 0;
}

/*
 * The kernel's fast path, when on: its table made afresh (what an
 * earlier run left is cleared; its connections come back through the
 * queue), then the workers' sockets. A failure fails the start, with
 * libnftables' word. Off: a table of its name that a killed run left is
 * deleted, else the flows it admitted would pass, unseen, until their
 * elements expire; one line when there was one, a warning if it stays
 * (the start goes on: nftables may not even be there). Returns 0, or -1
 * (logged).
 */
static int start_fastpath(struct daemon *d)
{
	bool found;
	char err[512];

	if (!d->conf.fastpath) {
		if (fastpath_remove_left(d->conf.fastpath_table, &found, err,
					 sizeof(err)) == 0) {
			if (found)
				log_msg(LOG_NOTICE,
					"fastpath: removed table %s, left by an "
					"earlier run (fastpath = no)",
					d->conf.fastpath_table);
		} else if (found) {
			log_msg(LOG_WARNING,
				"fastpath: cannot remove table %s, left by an "
				"earlier run: %s",
				d->conf.fastpath_table, err);
		}
		return 0;
	}
	if (daemon_fastpath_apply(d, &d->conf, false, err, sizeof(err)) < 0) {
		log_msg(LOG_ERR, "fastpath: cannot make table %s: %s",
			d->conf.fastpath_table, err);
		return -1;
	}
	return workers_configure_fastpath(&d->workers, &d->conf, d->carrier);
}

/*
 * From the configuration to a running daemon: the user to become, the
 * workers, the sockets, the queues, privileges dropped, the threads.
 * Returns 0, or -1 (logged); *bound says whether the queues were reached
 * (then a stop line is due whatever happens).
 */
static int start(struct daemon *d, bool *bound)
{
	struct privs_ids ids = { (uid_t)-1, (gid_t)-1, (gid_t)-1, 1 };
	char err[256], line[512];

	/* Root: find the user to become and the socket's group now, before
	 * anything is bound. Started as that user already: nothing to do. */
	if (geteuid() == 0 && strcmp(d->conf.user, "root") &&
	    privs_lookup(&ids, d->conf.user, d->conf.group, err, sizeof(err)) <
		    0) {
		log_msg(LOG_ERR, "%s", err);
		return -1;
	}
	if (make_workers(d) < 0 || open_sockets(d, &ids) < 0)
		return -1;
	*bound = true;
	if (workers_open_queues(&d->workers, &d->conf, err, sizeof(err)) < 0) {
		log_msg(LOG_ERR, "%s", err);
		return -1;
	}
	if (load_carrier(d) < 0)
		return -1;
	if (privs_drop(&ids, err, sizeof(err)) < 0) {
		log_msg(LOG_ERR, "%s", err);
		return -1;
	}
	if (start_fastpath(d) < 0)
		return -1;
	privs_describe(err, sizeof(err));
	log_msg(LOG_NOTICE, "running as %s", err);
	d->status_ms = mono_ms();
	ctlcmd_init(d, d->status_ms);
	notify_status(&d->notify, "%" PRIu32 "/%" PRIu32 " flows, 0 drops/s",
		      daemon_flows(d), d->conf.max_flows);
	started_line(d, line, sizeof(line));
	/* Only now: a thread has the credentials of the one that made it,
	 * and capabilities are a thread's own. */
	if (workers_start(&d->workers, d->conf.pin_threads) < 0)
		return -1;
	notify_ready(&d->notify);
	log_msg(LOG_NOTICE, "%s", line);
	return 0;
}

/* The queues were reached: stop the workers, tell systemd, unbind, and
 * say why and with what counts. */
static void stop(struct daemon *d)
{
	char why[32], err[256];

	workers_stop(&d->workers);
	notify_stopping(&d->notify);
	/* The table goes with the daemon (a kill -9 leaves it: admitted
	 * flows then pass until their elements expire). */
	if (d->conf.fastpath &&
	    fastpath_remove(d->conf.fastpath_table, err, sizeof(err)) < 0)
		log_msg(LOG_WARNING, "fastpath: cannot remove table %s: %s",
			d->conf.fastpath_table, err);
	if (d->stop_signal)
		snprintf(why, sizeof(why), "SIG%s",
			 sigabbrev_np(d->stop_signal));
	else
		snprintf(why, sizeof(why), "error");
	daemon_stop(d);
	log_final(d, why);
}

int main(int argc, char **argv)
{
	static struct daemon d;
	struct options o = { 0 };
	bool bound = false;
	int ret;

	daemon_init(&d);
	ret = parse_options(argc, argv, &d, &o);
	if (ret < 0)
		ret = load(&d, &o);
	if (ret >= 0)
		return ret;

	log_init("nfqtrackd", o.to_stderr);
	notify_init(&d.notify);
	log_configure(d.conf.syslog_facility, d.conf.syslog_socket);
	d.start_ms = mono_ms();
	d.start_time = (uint64_t)time(NULL);
	daemon_log_settings(&d, "nfqtrackd " VERSION " starting");
	if (d.conf_missing)
		log_msg(LOG_NOTICE, "no %s: running on built-in defaults",
			d.conf_path);

	ret = start(&d, &bound) < 0 || run(&d) < 0 ? 1 : 0;
	if (bound)
		stop(&d);
	daemon_cleanup(&d);
	log_close();
	return ret;
}
