// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * check_flowevent.c - the engine's flow events (flowevent.h) and their
 * hub (evhub.h): the sequences each way a flow begins, changes and ends
 * gives, REFUSED per limit, ACTIVE with its counters, nothing with no
 * sink, and a full ring counted and told.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "enginetest.h"
#include "evhub.h"

#define MAXEV 64

static struct flow_event got[MAXEV];
static unsigned ngot;

static void collect(void *arg, const struct flow_event *ev)
{
	(void)arg;
	if (ngot < MAXEV)
		got[ngot] = *ev;
	ngot++;
}

static void sink_on(uint32_t types, uint32_t active_timeout)
{
	struct flow_event_sink s = { collect, NULL, types, active_timeout };

	engine_set_event_sink(&e, &s);
	ngot = 0;
}

static void setup(void)
{
	setup_max(1000);
	sink_on(~0u, 0);
}

static void setup_full(void)
{
	setup_max(2);
	sink_on(~0u, 0);
}

static void setup_refuse(void)
{
	setup_drop(1);
	sink_on(~0u, 0);
}

static void expect(unsigned i, enum flow_event_type t, enum flow_end end)
{
	ck_assert_uint_gt(ngot, i);
	ck_assert_msg(got[i].type == t, "event %u is %s, not %s", i,
		      flow_event_name(got[i].type), flow_event_name(t));
	if (t == FEV_DESTROY)
		ck_assert_msg(got[i].end == end, "event %u ends %s, not %s", i,
			      flow_end_name(got[i].end), flow_end_name(end));
}

/* A whole TCP connection: NEW on the SYN, an UPDATE for each state the
 * handshake and the close move it to, none for a packet that changes
 * nothing, and nothing when the sink is gone. */
START_TEST(tcp_connection_sequence)
{
	struct conv cv = conv4(40000);

	c2s(&cv, TCPF_SYN, 0);
	ck_assert_uint_eq(ngot, 1);
	expect(0, FEV_NEW, 0);
	ck_assert_uint_eq(got[0].state, TCP_S_SYN_SENT);
	ck_assert_uint_eq(got[0].flags & FLOW_F_SEEN_REPLY, 0);
	ck_assert_uint_gt(got[0].timeout, 0);
	s2c(&cv, TCPF_SYN | TCPF_ACK, 0);
	expect(1, FEV_UPDATE, 0);
	ck_assert_uint_eq(got[1].state, TCP_S_SYN_RECV);
	ck_assert_uint_ne(got[1].flags & FLOW_F_SEEN_REPLY, 0);
	c2s(&cv, TCPF_ACK, 0);
	expect(2, FEV_UPDATE, 0);
	ck_assert_uint_eq(got[2].state, TCP_S_ESTABLISHED);
	ngot = 0;
	c2s(&cv, TCPF_ACK, 100); /* data: no change, no event */
	s2c(&cv, TCPF_ACK, 100);
	ck_assert_uint_eq(ngot, 0);
	c2s(&cv, TCPF_FIN | TCPF_ACK, 0);
	expect(0, FEV_UPDATE, 0);
	ck_assert_uint_eq(got[0].state, TCP_S_FIN_WAIT);
	/* Off: nothing built, nothing counted. */
	engine_set_event_sink(&e, NULL);
	ngot = 0;
	uint64_t emitted = e.st.events_emitted;

	s2c(&cv, TCPF_FIN | TCPF_ACK, 0);
	c2s(&cv, TCPF_ACK, 0);
	ck_assert_uint_eq(ngot, 0);
	ck_assert_uint_eq(e.st.events_emitted, emitted);
}
END_TEST

/* A RST before any reply removes the flow at once: closed. */
START_TEST(destroy_closed)
{
	struct conv cv = conv4(40001);

	c2s(&cv, TCPF_SYN, 0);
	c2s(&cv, TCPF_RST, 0);
	ck_assert_uint_eq(ngot, 2);
	expect(1, FEV_DESTROY, FEND_CLOSED);
	ck_assert_uint_eq(e.table.count, 0);
}
END_TEST

/* A SYN on the ports of a closed connection: the old one's DESTROY
 * (reopened), then the new one's NEW. */
START_TEST(destroy_reopened)
{
	struct conv cv = conv4(40002);

	c2s(&cv, TCPF_SYN, 0);
	s2c(&cv, TCPF_SYN | TCPF_ACK, 0);
	c2s(&cv, TCPF_ACK, 0);
	c2s(&cv, TCPF_RST, 0);
	cv.cseq += 100000;
	ngot = 0;
	c2s(&cv, TCPF_SYN, 0);
	ck_assert_uint_eq(e.st.flows_reopened, 1);
	ck_assert_uint_eq(ngot, 2);
	expect(0, FEV_DESTROY, FEND_REOPENED);
	expect(1, FEV_NEW, 0);
}
END_TEST

/* Expired in a tick, or found expired by a lookup: expired. */
START_TEST(destroy_expired)
{
	at(0);
	udp4(C4, S4, 1000, 53);
	udp4(C4, S4, 1001, 53);
	expect(0, FEV_NEW, 0);
	ck_assert_uint_eq(got[0].key.proto, IPPROTO_UDP);
	ngot = 0;
	at(1000);
	engine_tick(&e);
	ck_assert_uint_eq(ngot, 2);
	expect(0, FEV_DESTROY, FEND_EXPIRED);
	expect(1, FEV_DESTROY, FEND_EXPIRED);
	ck_assert_uint_eq(got[0].evict, EVICT_NONE);
}
END_TEST

/* A full table evicts for a new flow: evicted, by early_drop. */
START_TEST(destroy_evicted)
{
	udp4(C4, S4, 1000, 53);
	udp4(C4, S4, 1001, 53);
	ngot = 0;
	udp4(C4, S4, 1002, 53);
	ck_assert_uint_eq(res.evicted, EVICT_EARLY_DROP);
	ck_assert_uint_eq(ngot, 2);
	expect(0, FEV_DESTROY, FEND_EVICTED);
	ck_assert_uint_eq(got[0].evict, EVICT_EARLY_DROP);
	expect(1, FEV_NEW, 0);
	/* The remover's reason is not left for the next. */
	ck_assert_uint_eq(e.end, FEND_NONE);
	ck_assert_uint_eq(e.end_evict, EVICT_NONE);
}
END_TEST

static bool match_all(const struct flow *f, void *arg)
{
	(void)f;
	(void)arg;
	return true;
}

/* A flush: flushed, for each. */
START_TEST(destroy_flushed)
{
	struct flow_cursor cur = { 0 };
	uint32_t removed = 0;

	udp4(C4, S4, 1000, 53);
	icmp4(C4, S4, 8, 7);
	ngot = 0;
	while (engine_flush_step(&e, &cur, 64, match_all, NULL, &removed))
		;
	ck_assert_uint_eq(removed, 2);
	ck_assert_uint_eq(ngot, 2);
	expect(0, FEV_DESTROY, FEND_FLUSHED);
	expect(1, FEV_DESTROY, FEND_FLUSHED);
}
END_TEST

/* The stop's word on every flow left, which stay. */
START_TEST(events_all_stopped)
{
	udp4(C4, S4, 1000, 53);
	udp4(C4, S4, 1001, 53);
	ngot = 0;
	engine_events_all(&e, FEND_STOPPED);
	ck_assert_uint_eq(ngot, 2);
	expect(0, FEV_DESTROY, FEND_STOPPED);
	expect(1, FEV_DESTROY, FEND_STOPPED);
	ck_assert_uint_eq(e.table.count, 2);
	ck_assert_uint_eq(e.end, FEND_NONE);
}
END_TEST

/* A first packet that opens nothing (a SYN-ACK) tells nothing. */
START_TEST(invalid_first_packet_silent)
{
	tcp4(C4, S4, 1000, 80, TCPF_SYN | TCPF_ACK);
	tcp4(C4, S4, 1000, 80, TCPF_FIN);
	ck_assert_uint_eq(e.table.count, 0);
	ck_assert_uint_eq(ngot, 0);
}
END_TEST

/* The table at max_flows with on_full = drop: REFUSED, its key the
 * packet's, with the limit and its count. */
START_TEST(refused_table_full)
{
	udp4(C4, S4, 1000, 53);
	ngot = 0;
	ck_assert_int_eq(udp4(S4, C4, 1001, 53), VERDICT_DROP);
	ck_assert_uint_eq(ngot, 1);
	expect(0, FEV_REFUSED, 0);
	ck_assert_uint_eq(got[0].drop, DROP_TABLE_FULL);
	ck_assert_uint_eq(got[0].limit, 1);
	ck_assert_uint_eq(got[0].count, 1);
	/* S4 > C4: the sender is the key's second end. */
	ck_assert_uint_eq(got[0].flags, FLOW_F_ORIG_HI);
	ck_assert_uint_eq(got[0].key.port[0], 53);
	/* Only what the sink wants. */
	sink_on(FEV_MASK(FEV_NEW), 0);
	udp4(S4, C4, 1002, 53);
	ck_assert_uint_eq(ngot, 0);
}
END_TEST

/* Per-source limit: REFUSED says which. */
START_TEST(refused_source_limit)
{
	teardown();
	conf_defaults(&conf);
	conf.max_flows = 100;
	conf.max_flows_per_source = 1;
	ck_assert_int_eq(engine_init(&e, tu_params(&conf), &key, T0 * 1000ULL),
			 0);
	sink_on(~0u, 0);
	udp4(C4, S4, 1000, 53);
	udp4(C4, S4, 1001, 53);
	ck_assert_uint_eq(ngot, 2);
	expect(1, FEV_REFUSED, 0);
	ck_assert_uint_eq(got[1].drop, DROP_SOURCE_LIMIT);
	ck_assert_uint_eq(got[1].limit, 1);
}
END_TEST

/* With accounting: ACTIVE once a flow has lived active_timeout, with its
 * totals, and the next one with what the first carried; DESTROY with
 * start, counters and the TCP flags. */
START_TEST(active_with_counters)
{
	struct conv cv = conv4(40003);

	teardown();
	conf_defaults(&conf);
	conf.max_flows = 100;
	conf.accounting = true;
	ck_assert_int_eq(engine_init(&e, tu_params(&conf), &key, T0 * 1000ULL),
			 0);
	sink_on(~0u, 5);
	at(0);
	c2s(&cv, TCPF_SYN, 0);
	s2c(&cv, TCPF_SYN | TCPF_ACK, 0);
	c2s(&cv, TCPF_ACK, 10);
	at(4);
	ngot = 0;
	engine_tick(&e);
	ck_assert_uint_eq(ngot, 0);
	at(5);
	engine_tick(&e);
	ck_assert_uint_eq(ngot, 1);
	expect(0, FEV_ACTIVE, 0);
	ck_assert_uint_eq(got[0].has_acct, 1);
	ck_assert_uint_eq(got[0].start_ms, T0 * 1000ULL);
	ck_assert_uint_eq(got[0].packets[0], 2);
	ck_assert_uint_eq(got[0].packets[1], 1);
	ck_assert_uint_eq(got[0].bytes[0], 40 + 50);
	ck_assert_uint_eq(got[0].sent_packets[0], 0);
	s2c(&cv, TCPF_ACK, 20);
	at(9);
	ngot = 0;
	engine_tick(&e);
	ck_assert_uint_eq(ngot, 0);
	at(10);
	engine_tick(&e);
	ck_assert_uint_eq(ngot, 1);
	expect(0, FEV_ACTIVE, 0);
	ck_assert_uint_eq(got[0].packets[1], 2);
	ck_assert_uint_eq(got[0].sent_packets[0], 2);
	ck_assert_uint_eq(got[0].sent_packets[1], 1);
	ck_assert_uint_eq(got[0].sent_bytes[0], 90);
	c2s(&cv, TCPF_RST | TCPF_ACK, 0);
	ngot = 0;
	engine_events_all(&e, FEND_STOPPED);
	expect(0, FEV_DESTROY, FEND_STOPPED);
	ck_assert_uint_eq(got[0].tcp_flags, TCPF_SYN | TCPF_ACK | TCPF_RST);
	ck_assert_uint_eq(got[0].start_ms, T0 * 1000ULL);
	/* No ACTIVE without its timeout. */
	sink_on(~0u, 0);
	at(100);
	udp4(C4, S4, 1000, 53);
	at(200);
	engine_tick(&e);
	for (unsigned i = 0; i < ngot; i++)
		ck_assert_uint_ne(got[i].type, FEV_ACTIVE);
}
END_TEST

/* The hub: a consumer gets only its types, in order; a full ring counts
 * what it could not take and every consumer is told. */
struct seen {
	unsigned n, calls;
	uint64_t lost;
	uint8_t types[16];
};

static void deliver(void *arg, const struct flow_event *ev, unsigned n)
{
	struct seen *s = arg;

	for (unsigned i = 0; i < n; i++) {
		if (s->n < 16)
			s->types[s->n] = ev[i].type;
		s->n++;
	}
	s->calls++;
}

static void lost(void *arg, uint64_t n)
{
	((struct seen *)arg)->lost += n;
}

START_TEST(hub_filters_and_counts_losses)
{
	static struct evhub h;
	struct evhub_feed *f = malloc(sizeof(*f));
	struct seen a = { 0 }, b = { 0 };
	struct evhub_consumer ca = {
		deliver, lost, &a, FEV_MASK(FEV_NEW) | FEV_MASK(FEV_DESTROY),
		0,	 NULL
	};
	struct evhub_consumer cb = { deliver, lost, &b, FEV_MASK(FEV_DESTROY),
				     0,	      NULL };
	struct flow_event ev = { 0 };

	ck_assert_ptr_nonnull(f);
	evhub_init(&h, 1000, 5000);
	ck_assert_uint_eq(evhub_wall_ms(&h, 1500), 5500);
	evhub_feed_init(f);
	/* No consumer: the sink is cleared. */
	evhub_feed_sink(f, &h, &e);
	ck_assert_uint_eq(e.sink.types, 0);
	evhub_add(&h, &ca);
	evhub_add(&h, &cb);
	ck_assert_uint_eq(atomic_load(&h.types),
			  FEV_MASK(FEV_NEW) | FEV_MASK(FEV_DESTROY));
	evhub_feed_sink(f, &h, &e);
	ck_assert_uint_eq(e.sink.types,
			  FEV_MASK(FEV_NEW) | FEV_MASK(FEV_DESTROY));
	/* Through the engine: NEW, and DESTROY at expiry. */
	at(0);
	udp4(C4, S4, 1000, 53);
	at(1000);
	engine_tick(&e);
	ck_assert_uint_eq(evhub_drain(&h, f), 2);
	ck_assert_uint_eq(a.n, 2);
	ck_assert_uint_eq(a.types[0], FEV_NEW);
	ck_assert_uint_eq(a.types[1], FEV_DESTROY);
	ck_assert_uint_eq(b.n, 1);
	ck_assert_uint_eq(b.types[0], FEV_DESTROY);
	ck_assert(!evhub_feed_wake(f));
	/* A ring's worth and more, undrained. */
	a.n = b.n = 0;
	ev.type = FEV_DESTROY;
	for (unsigned i = 0; i < EVHUB_RING + 100; i++)
		e.sink.emit(e.sink.arg, &ev);
	ck_assert(evhub_feed_wake(f));
	ck_assert(!evhub_feed_wake(f)); /* once until drained */
	ck_assert_uint_eq(evhub_drain(&h, f), EVHUB_RING);
	ck_assert_uint_eq(a.n, EVHUB_RING);
	ck_assert_uint_eq(a.lost, 100);
	ck_assert_uint_eq(b.lost, 100);
	ck_assert_uint_eq(h.lost, 100);
	ck_assert_uint_eq(evhub_drain(&h, f), 0);
	ck_assert_uint_eq(a.lost, 100);
	/* Around the ring's end, in order. */
	for (unsigned i = 0; i < 10; i++)
		e.sink.emit(e.sink.arg, &ev);
	ck_assert_uint_eq(evhub_drain(&h, f), 10);
	/* Gone: nothing more for it; none left, the sink goes. */
	evhub_remove(&h, &ca);
	b.n = a.n = 0;
	evhub_deliver(&h, &ev, 1);
	ck_assert_uint_eq(a.n, 0);
	ck_assert_uint_eq(b.n, 1);
	evhub_remove(&h, &cb);
	evhub_feed_sink(f, &h, &e);
	ck_assert_uint_eq(e.sink.types, 0);
	free(f);
}
END_TEST

/* A consumer that leaves from its deliver() (a subscriber gone) gets no
 * more; the others get all. */
static struct evhub leave_hub;

struct leaver {
	struct evhub_consumer c;
	unsigned n, calls;
};

static void deliver_and_leave(void *arg, const struct flow_event *ev,
			      unsigned n)
{
	struct leaver *l = arg;

	(void)ev;
	l->n += n;
	l->calls++;
	evhub_remove(&leave_hub, &l->c);
}

START_TEST(hub_consumer_leaves_in_deliver)
{
	struct seen b = { 0 };
	struct leaver l = { { deliver_and_leave, NULL, &l, FEV_MASK(FEV_NEW), 0,
			      NULL },
			    0,
			    0 };
	struct evhub_consumer cb = { deliver, NULL, &b, ~0u, 0, NULL };
	struct flow_event ev[3] = { { .type = FEV_NEW },
				    { .type = FEV_DESTROY },
				    { .type = FEV_NEW } };

	evhub_init(&leave_hub, 0, 0);
	evhub_add(&leave_hub, &cb);
	evhub_add(&leave_hub, &l.c); /* first in the list */
	evhub_deliver(&leave_hub, ev, 3);
	ck_assert_uint_eq(l.calls, 1);
	ck_assert_uint_eq(l.n, 1);
	ck_assert_ptr_eq(leave_hub.consumers, &cb);
	ck_assert_uint_eq(b.n, 3);
	evhub_deliver(&leave_hub, ev, 3);
	ck_assert_uint_eq(b.n, 6);
	ck_assert_uint_eq(l.calls, 1);
}
END_TEST

/* ACTIVE goes to the workers only with a timeout, the shortest. */
START_TEST(hub_active_timeout)
{
	static struct evhub h;
	struct seen a = { 0 }, b = { 0 };
	struct evhub_consumer ca = { deliver, lost, &a, FEV_MASK(FEV_ACTIVE),
				     60,      NULL };
	struct evhub_consumer cb = { deliver, lost, &b, FEV_MASK(FEV_ACTIVE),
				     30,      NULL };

	evhub_init(&h, 0, 0);
	evhub_add(&h, &ca);
	ck_assert_uint_eq(atomic_load(&h.active_timeout), 60);
	evhub_add(&h, &cb);
	ck_assert_uint_eq(atomic_load(&h.active_timeout), 30);
	evhub_remove(&h, &cb);
	ck_assert_uint_eq(atomic_load(&h.active_timeout), 60);
	ca.active_timeout = 0;
	evhub_remove(&h, &ca);
	evhub_add(&h, &ca);
	ck_assert_uint_eq(atomic_load(&h.types), 0);
}
END_TEST

START_TEST(names)
{
	ck_assert_str_eq(flow_event_name(FEV_NEW), "NEW");
	ck_assert_str_eq(flow_event_name(FEV_REFUSED), "REFUSED");
	ck_assert_str_eq(flow_event_name(FEV_TYPES), "?");
	ck_assert_str_eq(flow_end_name(FEND_EVICTED), "evicted");
	ck_assert_str_eq(flow_end_name(FEND_STOPPED), "stopped");
	ck_assert_str_eq(flow_end_name(FEND_COUNT), "?");
	for (int t = 0; t < FEV_TYPES; t++)
		ck_assert_ptr_nonnull(flow_event_name(t));
	for (int r = 0; r < FEND_COUNT; r++)
		ck_assert_ptr_nonnull(flow_end_name(r));
}
END_TEST

static Suite *flowevent_suite(void)
{
	Suite *s = suite_create("flowevent");
	TCase *tc = tcase_create("engine");
	TCase *full = tcase_create("full");
	TCase *refuse = tcase_create("refuse");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, tcp_connection_sequence);
	tcase_add_test(tc, destroy_closed);
	tcase_add_test(tc, destroy_reopened);
	tcase_add_test(tc, destroy_expired);
	tcase_add_test(tc, destroy_flushed);
	tcase_add_test(tc, events_all_stopped);
	tcase_add_test(tc, invalid_first_packet_silent);
	tcase_add_test(tc, refused_source_limit);
	tcase_add_test(tc, active_with_counters);
	tcase_add_test(tc, hub_filters_and_counts_losses);
	tcase_add_test(tc, hub_active_timeout);
	tcase_add_test(tc, hub_consumer_leaves_in_deliver);
	tcase_add_test(tc, names);
	suite_add_tcase(s, tc);
	tcase_add_checked_fixture(full, setup_full, teardown);
	tcase_add_test(full, destroy_evicted);
	suite_add_tcase(s, full);
	tcase_add_checked_fixture(refuse, setup_refuse, teardown);
	tcase_add_test(refuse, refused_table_full);
	suite_add_tcase(s, refuse);
	return s;
}

int main(void)
{
	return tu_run(flowevent_suite());
}
