// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * export.c - IPFIX export over UDP; see export.h.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>

#include "export.h"
#include "log.h"

struct collector {
	char text[CONF_LISTEN_MAX];
	struct sockaddr_storage addr;
	unsigned int addr_len;
	int fd; /* -1: not made yet, or failed */
	uint32_t seq; /* data records of this session before the next */
	uint64_t template_due_ms; /* 0: at the next flush */
	bool failing; /* its socket could not be made: logged once */
	uint64_t logged_ms; /* when a loss was last logged */
	struct export_stats st;
};

struct exporter {
	struct evhub_consumer consumer;
	int64_t wall_offset_ms;
	uint32_t template_ms, domain;
	unsigned ncoll;
	struct collector coll[CONF_IPFIX_MAX];
	struct export_stats gone; /* of collectors no longer configured:
				   * the counters never go back */
	bool stopping;
	uint64_t stop_deadline_ms;
	unsigned head, count; /* the queue: a ring of EXPORT_QUEUE */
	struct ipfix_record queue[EXPORT_QUEUE];
};

/* Wall-clock seconds for the header; time() is a vDSO call. */
static uint32_t export_time(void)
{
	return (uint32_t)time(NULL);
}

static uint64_t mono_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void coll_close(struct collector *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

/* A connected, non-blocking UDP socket: send() then reports the ICMP
 * errors of earlier datagrams (ECONNREFUSED), which sendto() on an
 * unconnected one never does. Returns 0 or -1 (logged). */
static int coll_open(struct collector *c)
{
	int fd = socket(c->addr.ss_family,
			SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0 ||
	    connect(fd, (struct sockaddr *)&c->addr, c->addr_len) < 0) {
		if (!c->failing)
			log_msg(LOG_WARNING,
				"ipfix: collector %s: cannot open a socket: %s "
				"(retried every ipfix_template_interval)",
				c->text, strerror(errno));
		c->failing = true;
		if (fd >= 0)
			close(fd);
		return -1;
	}
	c->fd = fd;
	c->failing = false;
	return 0;
}

static void deliver(void *arg, const struct flow_event *ev, unsigned n);

static void lost(void *arg, uint64_t n)
{
	/* Events the workers' rings had no room for are counted by the
	 * hub (nfqtrack_events_lost_total); nothing to add here. */
	(void)arg;
	(void)n;
}

/* The consumer's wishes under c. */
static void set_consumer(struct exporter *x, const struct conf *c)
{
	x->consumer.types = FEV_MASK(FEV_DESTROY);
	x->consumer.active_timeout = 0;
	if (c->ipfix_active_timeout && c->accounting) {
		x->consumer.types |= FEV_MASK(FEV_ACTIVE);
		x->consumer.active_timeout = c->ipfix_active_timeout;
	}
}

struct exporter *export_new(const struct conf *c, int64_t wall_offset_ms,
			    uint64_t now_ms)
{
	struct exporter *x = calloc(1, sizeof(*x));

	if (!x)
		return NULL;
	x->consumer.deliver = deliver;
	x->consumer.lost = lost;
	x->consumer.arg = x;
	x->wall_offset_ms = wall_offset_ms;
	export_configure(x, c, now_ms);
	return x;
}

void export_configure(struct exporter *x, const struct conf *c, uint64_t now_ms)
{
	struct collector old[CONF_IPFIX_MAX];
	unsigned nold = x->ncoll;
	/* Templates and sequence numbers belong to an observation domain:
	 * a new one starts both afresh at every collector kept. */
	bool new_domain = c->ipfix_observation_domain != x->domain;

	memcpy(old, x->coll, sizeof(old));
	x->template_ms = c->ipfix_template_interval * 1000u;
	x->domain = c->ipfix_observation_domain;
	set_consumer(x, c);
	x->ncoll = 0;
	for (uint32_t i = 0; i < c->nipfix && i < CONF_IPFIX_MAX; i++) {
		struct collector *n = &x->coll[x->ncoll];
		bool kept = false;

		memset(n, 0, sizeof(*n));
		n->fd = -1;
		snprintf(n->text, sizeof(n->text), "%s", c->ipfix_collector[i]);
		/* Checked by the parser; a failure here is not reachable. */
		if (conf_listen_addr(n->text, &n->addr, &n->addr_len) != 0)
			continue;
		x->ncoll++;
		for (unsigned j = 0; j < nold; j++) {
			if (old[j].addr_len == n->addr_len &&
			    !memcmp(&old[j].addr, &n->addr, n->addr_len)) {
				*n = old[j];
				snprintf(n->text, sizeof(n->text), "%s",
					 c->ipfix_collector[i]);
				old[j].fd = -1; /* moved */
				old[j].addr_len = 0;
				kept = true;
				if (new_domain) {
					n->seq = 0;
					n->template_due_ms = 0;
				}
				/* A shorter interval applies now. */
				if (n->template_due_ms >
				    now_ms + x->template_ms)
					n->template_due_ms =
						now_ms + x->template_ms;
				break;
			}
		}
		if (!kept) {
			log_msg(LOG_NOTICE, "ipfix: exporting to %s", n->text);
			coll_open(n);
		}
	}
	for (unsigned j = 0; j < nold; j++) {
		if (!old[j].addr_len)
			continue;
		log_msg(LOG_NOTICE,
			"ipfix: no longer exporting to %s (%" PRIu64
			" records sent, %" PRIu64 " lost)",
			old[j].text, old[j].st.records, old[j].st.lost);
		x->gone.records += old[j].st.records;
		x->gone.lost += old[j].st.lost;
		x->gone.messages += old[j].st.messages;
		x->gone.templates += old[j].st.templates;
		coll_close(&old[j]);
	}
}

struct evhub_consumer *export_consumer(struct exporter *x)
{
	return &x->consumer;
}

/* Wait for room in fd's send buffer, at stop only, within the deadline.
 * Returns true if there may be room. */
static bool stop_wait(struct exporter *x, int fd)
{
	uint64_t now = mono_now_ms();
	struct pollfd p = { .fd = fd, .events = POLLOUT };

	if (now >= x->stop_deadline_ms)
		return false;
	return poll(&p, 1, (int)(x->stop_deadline_ms - now)) == 1;
}

/* Send message buf (len bytes, records data records) to c: counted sent
 * or lost, never waited for but at stop. */
static void coll_send(struct exporter *x, struct collector *c,
		      const uint8_t *buf, size_t len, uint32_t records,
		      bool templates)
{
	ssize_t n = -1;
	int err;

	c->seq += records; /* sent or not: the collector sees the gap */
	if (c->fd >= 0) {
		do {
			n = send(c->fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
		} while (n < 0 && x->stopping &&
			 (errno == EAGAIN || errno == ENOBUFS) &&
			 stop_wait(x, c->fd));
	} else {
		errno = ENOTCONN;
	}
	if (n == (ssize_t)len) {
		c->st.records += records;
		c->st.messages++;
		c->st.templates += templates;
		return;
	}
	err = n < 0 ? errno : EMSGSIZE;
	c->st.lost += records;
	/* Refused: it may come back without our templates. */
	if (err == ECONNREFUSED)
		c->template_due_ms = 0;
	/* A line a minute at most: a dead collector refuses every other
	 * datagram (each ICMP error fails the next send). */
	if (c->logged_ms && mono_now_ms() - c->logged_ms < 60000)
		return;
	c->logged_ms = mono_now_ms();
	log_msg(LOG_WARNING,
		"ipfix: collector %s: send: %s; %" PRIu64 " records lost "
		"so far (nfqtrack_ipfix_records_lost_total)",
		c->text, strerror(err), c->st.lost);
}

/* The queue to collector c, in as many messages as it takes. */
static void coll_flush(struct exporter *x, struct collector *c, uint64_t now_ms)
{
	uint8_t buf[EXPORT_MSG_MAX];
	struct ipfix_msg m;
	unsigned i = 0;
	bool templates;

	if (c->fd < 0 && (c->template_due_ms > now_ms || coll_open(c) < 0)) {
		/* Retried once per template interval, not per flush. */
		if (c->template_due_ms <= now_ms)
			c->template_due_ms = now_ms + x->template_ms;
		if (x->count)
			coll_send(x, c, NULL, 0, x->count, false);
		return;
	}
	templates = c->template_due_ms <= now_ms;
	if (!templates && !x->count)
		return;
	do {
		ipfix_msg_begin(&m, buf, sizeof(buf));
		if (templates) {
			ipfix_msg_add_templates(&m);
			c->template_due_ms = now_ms + x->template_ms;
		}
		for (; i < x->count; i++) {
			unsigned at = (x->head + i) % EXPORT_QUEUE;

			if (ipfix_msg_add_record(&m, &x->queue[at]) < 0)
				break;
		}
		ipfix_msg_end(&m, export_time(), c->seq, x->domain);
		coll_send(x, c, buf, m.len, m.records, templates);
		templates = false;
	} while (i < x->count);
}

void export_flush(struct exporter *x, uint64_t now_ms, bool all)
{
	if (!all && x->count < EXPORT_BATCH)
		return;
	for (unsigned i = 0; i < x->ncoll; i++)
		coll_flush(x, &x->coll[i], now_ms);
	x->head = (x->head + x->count) % EXPORT_QUEUE;
	x->count = 0;
}

/* The hub's: n events of one worker, in order. A full queue is sent at
 * once (the main thread's time, not the workers'). */
static void deliver(void *arg, const struct flow_event *ev, unsigned n)
{
	struct exporter *x = arg;

	for (unsigned i = 0; i < n; i++) {
		struct ipfix_record *r;

		if (x->count == EXPORT_QUEUE)
			export_flush(x, mono_now_ms(), true);
		r = &x->queue[(x->head + x->count) % EXPORT_QUEUE];
		if (ipfix_record_from_event(r, &ev[i], x->wall_offset_ms) == 0)
			x->count++;
	}
}

void export_stop(struct exporter *x, uint64_t now_ms)
{
	struct export_stats s;

	if (x->stopping)
		return; /* once: daemon_stop() may come again */
	x->stopping = true;
	x->stop_deadline_ms = mono_now_ms() + EXPORT_STOP_MS;
	export_flush(x, now_ms, true);
	export_get_stats(x, &s);
	if (x->ncoll)
		log_msg(LOG_NOTICE,
			"ipfix: %" PRIu64 " records sent in %" PRIu64
			" messages, %" PRIu64 " lost",
			s.records, s.messages, s.lost);
}

void export_get_stats(const struct exporter *x, struct export_stats *s)
{
	memset(s, 0, sizeof(*s));
	if (!x)
		return;
	*s = x->gone;
	for (unsigned i = 0; i < x->ncoll; i++) {
		s->records += x->coll[i].st.records;
		s->lost += x->coll[i].st.lost;
		s->messages += x->coll[i].st.messages;
		s->templates += x->coll[i].st.templates;
	}
	s->collectors = x->ncoll;
}

void export_free(struct exporter *x)
{
	if (!x)
		return;
	for (unsigned i = 0; i < x->ncoll; i++)
		coll_close(&x->coll[i]);
	free(x);
}
