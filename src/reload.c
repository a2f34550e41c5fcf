// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * reload.c - a new configuration into a running daemon, or the reasons it
 * stays out; see reload.h.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "daemon.h"
#include "engine.h"
#include "fastpath.h"
#include "log.h"
#include "reload.h"

int reload_load_conf(struct daemon *d, struct conf *c, conf_error_fn err,
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

uint64_t reload_memory_need(const struct conf *c, unsigned nqueues)
{
	struct engine_params p;

	params_from_conf(&p, c);
	return group_bytes(&p, nqueues);
}

int reload_check_memory(const struct conf *c, unsigned nqueues,
			uint64_t already)
{
	uint64_t need = reload_memory_need(c, nqueues), avail = mem_available();

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

static void gather_problem(void *arg, const char *msg)
{
	struct reload_problems *p = arg;

	log_msg(LOG_ERR, "%s", msg);
	if (p->len < sizeof(p->text))
		p->len += (size_t)snprintf(p->text + p->len,
					   sizeof(p->text) - p->len, "%s%s",
					   p->len ? "; " : "", msg);
}

/* A setting a reload keeps until a restart, into p as well as the log. */
static void reload_warning(struct reload_problems *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void reload_warning(struct reload_problems *p, const char *fmt, ...)
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

/* A text setting only a restart changes: what the file has now (cur) goes
 * back to the running value (run), with a warning saying what. cur and run
 * are arrays of the same size. */
static void keep_text(struct reload_problems *p, const char *what, char *cur,
		      const char *run)
{
	if (!strcmp(cur, run))
		return;
	reload_warning(p, "%s takes a restart; staying on %s", what, run);
	strcpy(cur, run);
}

/* Why a reload failed, into p as well as the log. */
static void reload_failed(struct daemon *d, struct reload_problems *p,
			  const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void reload_failed(struct daemon *d, struct reload_problems *p,
			  const char *fmt, ...)
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
static int apply_reload(struct daemon *d, struct reload_problems *p)
{
	struct engine_params np;
	struct conf nc;
	bool want_fast;
	int n;

	d->reloads++;
	p->len = p->wlen = 0;
	p->text[0] = p->warnings[0] = '\0';
	n = reload_load_conf(d, &nc, gather_problem, p);
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
	keep_text(p, "ctl_socket: a new path", nc.ctl_socket,
		  d->conf.ctl_socket);
	if (strcmp(nc.user, d->conf.user) || strcmp(nc.group, d->conf.group)) {
		reload_warning(p,
			       "user, group: a change takes a restart; "
			       "staying %s:%s",
			       d->conf.user, d->conf.group);
		strcpy(nc.user, d->conf.user);
		strcpy(nc.group, d->conf.group);
	}
	/* The table's name is in every worker's netlink messages and the
	 * old table would be left behind: a new name waits for a restart. */
	keep_text(p, "fastpath_table: a new name", nc.fastpath_table,
		  d->conf.fastpath_table);
	/* The BPF carrier is loaded at start only (CAP_BPF). */
	if (nc.fastpath_carrier != d->conf.fastpath_carrier) {
		reload_warning(p,
			       "fastpath_carrier: a change takes a restart; "
			       "staying on %s",
			       conf_carrier_name(d->conf.fastpath_carrier));
		nc.fastpath_carrier = d->conf.fastpath_carrier;
	}
	if (nc.fastpath && nc.fastpath_carrier == FASTPATH_CARRIER_BPF &&
	    !d->carrier) {
		reload_warning(p,
			       "fastpath: on with fastpath_carrier = bpf takes "
			       "a restart (loading the carrier needs CAP_BPF, "
			       "which nfqtrackd has at start only); staying "
			       "off");
		nc.fastpath = false;
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
	if (reload_check_memory(&nc, d->workers.n,
				group_memory(&d->workers.group)) < 0) {
		reload_failed(d, p,
			      "reload failed: max_flows = %" PRIu32
			      " needs more memory than is available; the "
			      "running configuration stays in force",
			      nc.max_flows);
		return -1;
	}
	/* The kernel's table first, the one step here that may fail for
	 * reasons of its own: on and on, the chains replaced and the
	 * elements kept; turned on, made afresh. */
	if (nc.fastpath) {
		char err[512];

		if (daemon_fastpath_apply(d, &nc, d->conf.fastpath, err,
					  sizeof(err)) < 0) {
			reload_failed(d, p,
				      "reload failed: fastpath: %s; the "
				      "running configuration stays in force",
				      err);
			return -1;
		}
	}
	params_from_conf(&np, &nc);
	if (group_reconfigure(&d->workers.group, &np) < 0) {
		reload_failed(d, p,
			      "reload failed: cannot resize the flow table "
			      "(%s); the running configuration stays in force",
			      strerror(errno));
		return -1;
	}
	workers_configure_queues(&d->workers, &nc);
	workers_configure_verdicts(&d->workers, &nc);
	/* Turned off, the table goes once the engines owe it nothing. A
	 * socket that cannot be opened leaves it off (logged). */
	want_fast = nc.fastpath;
	if (workers_configure_fastpath(&d->workers, &nc, d->carrier) < 0)
		nc.fastpath = false;
	if ((d->conf.fastpath || want_fast) && !nc.fastpath) {
		char err[512];

		if (fastpath_remove(nc.fastpath_table, err, sizeof(err)) < 0)
			reload_warning(p,
				       "fastpath: cannot remove table %s: %s",
				       nc.fastpath_table, err);
	}
	log_configure(nc.syslog_facility, nc.syslog_socket);
	droplog_configure(&d->droplog, &nc);
	d->conf = nc;
	/* Collectors may come and go; a failure to make the exporter is
	 * logged and leaves export off, the rest of the reload stands. */
	daemon_export_apply(d);
	daemon_log_settings(d, "reloaded");
	if (daemon_flows(d) > nc.max_flows)
		log_msg(LOG_NOTICE,
			"%" PRIu32 " flows are above the new "
			"max_flows %" PRIu32 ": they are kept, and new "
			"flows are handled as at a full table (on_full) "
			"until they expire below it",
			daemon_flows(d), nc.max_flows);
	return 0;
}

int reload_run(struct daemon *d, struct reload_problems *p)
{
	int r;

	notify_reloading(&d->notify);
	r = apply_reload(d, p);
	notify_ready(&d->notify);
	return r;
}
