// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * check_fastengine.c - the fast path's daemon side in the engine: which
 * packets admit their flow, the fast lists' checks with the kernel (a
 * fake one here: the callbacks of struct engine_fastpath_ops), and every
 * end of a fast flow removing its elements.
 */
#include <check.h>
#include <string.h>

#include "enginetest.h"

/* The fake kernel: what every query finds, what it was asked. */
static struct {
	bool fail; /* queries and removals fail */
	struct fastpath_flow answer; /* for every flow queried */
	unsigned queries, queried; /* calls, flows */
	bool reset; /* the last query's */
	unsigned forgets, forgotten; /* calls, flows */
	struct fastpath_tuple last_forgotten;
	unsigned flushes;
} fk;

static int fake_query(void *arg, const struct fastpath_tuple *t, unsigned n,
		      bool reset, struct fastpath_flow *out)
{
	(void)arg;
	(void)t;
	ck_assert_uint_le(n, FASTPATH_BATCH_MAX);
	fk.queries++;
	if (fk.fail)
		return -1;
	fk.queried += n;
	fk.reset = reset;
	for (unsigned i = 0; i < n; i++)
		out[i] = fk.answer;
	return 0;
}

static int fake_forget(void *arg, const struct fastpath_tuple *t, unsigned n)
{
	(void)arg;
	ck_assert_uint_le(n, FASTPATH_BATCH_MAX);
	fk.forgets++;
	if (fk.fail)
		return -1;
	fk.forgotten += n;
	fk.last_forgotten = t[n - 1];
	return 0;
}

static int fake_flush(void *arg)
{
	(void)arg;
	fk.flushes++;
	return 0;
}

static const struct engine_fastpath_ops ops = { fake_query, fake_forget,
						fake_flush, NULL };

static void fast_on(uint32_t udp_after)
{
	engine_fastpath_set(&e, &ops, udp_after);
}

/* An engine of max_flows with conf's other settings as they are. */
static void remake(void)
{
	engine_destroy(&e);
	ck_assert_int_eq(engine_init(&e, tu_params(&conf), &key, T0 * 1000ULL),
			 0);
	fast_on(4);
}

static void setup(void)
{
	csum = csum_bad = false;
	memset(&fk, 0, sizeof(fk));
	setup_max(64);
	fast_on(4);
}

static bool on_fast_list(const struct flow *f, enum fast_kind kind)
{
	return (f->flags & FLOW_F_FAST) && f->list == FAST_LIST(kind, false);
}

/* The handshake, with the fast path off, then on: an open connection. */
static struct flow *established(struct conv *cv)
{
	engine_fastpath_set(&e, NULL, 0);
	c2s(cv, TCPF_SYN, 0);
	s2c(cv, TCPF_SYN | TCPF_ACK, 0);
	c2s(cv, TCPF_ACK, 0);
	fast_on(4);
	ck_assert_uint_eq(conv_flow(cv)->state, TCP_S_ESTABLISHED);
	return conv_flow(cv);
}

START_TEST(pure_syn_admits)
{
	struct conv cv = conv4(1000);
	struct flow *f;

	c2s(&cv, TCPF_SYN, 0);
	ck_assert(res.fast_admit);
	f = conv_flow(&cv);
	ck_assert(on_fast_list(f, FAST_OPEN));
	ck_assert_uint_eq(f->state, TCP_S_SYN_SENT);
	ck_assert_uint_eq(e.st.fastpath_admitted, 1);
	ck_assert_uint_eq(engine_fast_flows(&e), 1);
	/* Off: no admission. */
	engine_fastpath_set(&e, NULL, 0);
	c2s(&(struct conv){ C4, S4, 1001, 80, 5, 9 }, TCPF_SYN, 0);
	ck_assert(!res.fast_admit);
}
END_TEST

START_TEST(reopen_admits)
{
	struct conv cv = conv4(1002);

	established(&cv);
	c2s(&cv, TCPF_ACK, 0);
	ck_assert(res.fast_admit);
	/* Back at the daemon (the elements gone): its FIN closes as ever. */
	c2s(&cv, TCPF_FIN | TCPF_ACK, 0);
	ck_assert(!res.fast_admit);
	s2c(&cv, TCPF_FIN | TCPF_ACK, 0);
	c2s(&cv, TCPF_ACK, 0);
	ck_assert_uint_eq(conv_flow(&cv)->state, TCP_S_TIME_WAIT);
	cv.cseq += 1000000;
	c2s(&cv, TCPF_SYN, 0);
	ck_assert(res.fast_admit);
	ck_assert_uint_eq(e.st.flows_reopened, 1);
	ck_assert(on_fast_list(conv_flow(&cv), FAST_OPEN));
}
END_TEST

START_TEST(synack_fin_rst_do_not_admit)
{
	struct conv cv = conv4(1003);

	engine_fastpath_set(&e, NULL, 0);
	c2s(&cv, TCPF_SYN, 0);
	fast_on(4);
	s2c(&cv, TCPF_SYN | TCPF_ACK, 0);
	ck_assert_int_eq(res.verdict, VERDICT_ACCEPT);
	ck_assert(!res.fast_admit);
	/* The ACK that completes the handshake: established, admitted. */
	c2s(&cv, TCPF_ACK, 0);
	ck_assert(res.fast_admit);
	c2s(&cv, TCPF_ACK | TCPF_FIN, 0);
	ck_assert(!res.fast_admit);
	ck_assert(!(conv_flow(&cv)->flags & FLOW_F_FAST));
	/* What the kernel held of it goes before the verdict. */
	engine_fastpath_sync(&e);
	ck_assert_uint_eq(fk.forgotten, 1);

	struct conv r = conv4(1004);

	established(&r);
	c2s(&r, TCPF_RST, 0);
	ck_assert(!res.fast_admit);
}
END_TEST

START_TEST(unanswered_pickup_does_not_admit)
{
	/* A bare ACK picked up: established, not answered. */
	ck_assert_int_eq(tcp4(C4, S4, 1005, 80, TCPF_ACK), VERDICT_ACCEPT);
	ck_assert(!res.fast_admit);
	ck_assert(find(C4, S4, IPPROTO_TCP, 1005, 80)->flags &
		  FLOW_F_MIDSTREAM);
}
END_TEST

START_TEST(dropped_does_not_admit)
{
	conf.invalid_verdict = CONF_DROP;
	remake();
	/* Invalid: no flow, and dropped. */
	ck_assert_int_eq(tcp4(C4, S4, 1006, 80, TCPF_SYN | TCPF_FIN),
			 VERDICT_DROP);
	ck_assert(!res.fast_admit);
	/* The table full: refused. */
	conf.invalid_verdict = CONF_ACCEPT;
	conf.max_flows = 1;
	conf.on_full = CONF_FULL_DROP;
	remake();
	udp4(C4, S4, 1, 53);
	ck_assert_int_eq(tcp4(C4, S4, 1007, 80, TCPF_SYN), VERDICT_DROP);
	ck_assert(!res.fast_admit);
}
END_TEST

START_TEST(invalid_accepted_does_not_admit)
{
	struct conv cv = conv4(1008);

	established(&cv);
	/* Far out of the window: invalid, accepted by default. */
	cv.cseq += 2000000000u;
	ck_assert_int_eq(c2s(&cv, TCPF_ACK, 0), VERDICT_ACCEPT);
	ck_assert_uint_ne(res.invalid, INV_NONE);
	ck_assert(!res.fast_admit);
}
END_TEST

START_TEST(shadow_does_not_admit)
{
	conf.enforce = false;
	conf.max_flows = 1;
	conf.on_full = CONF_FULL_DROP;
	remake();
	udp4(C4, S4, 1, 53);
	ck_assert_int_eq(tcp4(C4, S4, 1009, 80, TCPF_SYN), VERDICT_ACCEPT);
	ck_assert(res.shadow);
	ck_assert(!res.fast_admit);
}
END_TEST

START_TEST(udp_after_n_with_reply)
{
	/* Never without a reply. */
	for (int i = 0; i < 10; i++) {
		udp4(C4, S4, 2000, 53);
		ck_assert(!res.fast_admit);
	}
	/* 4 packets, a reply among them: the 4th admits. */
	udp4(C4, S4, 2001, 53);
	udp4(S4, C4, 53, 2001);
	udp4(C4, S4, 2001, 53);
	ck_assert(!res.fast_admit);
	udp4(S4, C4, 53, 2001);
	ck_assert(res.fast_admit);
	ck_assert(on_fast_list(find(C4, S4, IPPROTO_UDP, 2001, 53), FAST_UDP));
	/* udp_after 0: UDP never. */
	fast_on(0);
	for (int i = 0; i < 6; i++) {
		udp4(C4, S4, 2002, 53);
		udp4(S4, C4, 53, 2002);
		ck_assert(!res.fast_admit);
	}
}
END_TEST

START_TEST(icmp_never_admits)
{
	for (int i = 0; i < 10; i++) {
		icmp4(C4, S4, 8, 7);
		ck_assert(!res.fast_admit);
		icmp4(S4, C4, 0, 7);
		ck_assert(!res.fast_admit);
	}
}
END_TEST

/* An admitted SYN's flow, its open time run out, ticked with the fake
 * kernel's answer. */
static struct flow *checked(struct conv *cv, uint8_t set, uint32_t tmo_ms)
{
	c2s(cv, TCPF_SYN, 0);
	ck_assert(res.fast_admit);
	fk.answer.dir[0].set = set;
	fk.answer.dir[1].set = set;
	fk.answer.dir[0].timeout_ms = fk.answer.dir[1].timeout_ms = tmo_ms;
	at(e.fast.timeout[FAST_OPEN]);
	engine_tick(&e);
	ck_assert_uint_eq(fk.queries, 0); /* not yet: a second to spare */
	at(e.fast.timeout[FAST_OPEN] + 1);
	engine_tick(&e);
	ck_assert_uint_eq(fk.queries, 1);
	ck_assert_uint_eq(e.st.fastpath_checks, 1);
	return conv_flow(cv);
}

START_TEST(check_alive_established)
{
	struct conv cv = conv4(1010);
	struct flow *f = checked(&cv, FP_SET_EST, 0);

	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(f->state, TCP_S_ESTABLISHED);
	ck_assert(f->flags & FLOW_F_ASSURED);
	ck_assert(f->flags & FLOW_F_SEEN_REPLY);
	ck_assert(on_fast_list(f, FAST_EST));
	ck_assert_uint_eq(e.st.fastpath_alive, 1);
	ck_assert(!fk.reset); /* no accounting */
	/* Next asked after fastpath_check_interval, not days. */
	ck_assert_uint_eq(e.fast.check[FAST_EST], 120);
	ck_assert_uint_eq(engine_flow_left(&e, f), 120);
}
END_TEST

START_TEST(check_alive_outlived_admission)
{
	struct conv cv = conv4(1022);
	struct flow *f;

	/* A kernel that moves the expiry of an element it updates, not its
	 * timeout: still admission's, little time left; but alive after
	 * admission's timeout ran out, so refreshed. */
	fk.answer.dir[0].expires_ms = fk.answer.dir[1].expires_ms = 500;
	f = checked(&cv, FP_SET_EST, e.fast.timeout[FAST_OPEN] * 1000);
	ck_assert_uint_eq(f->state, TCP_S_ESTABLISHED);
	ck_assert(f->flags & FLOW_F_ASSURED);
	ck_assert(on_fast_list(f, FAST_EST));
}
END_TEST

START_TEST(check_alive_closing)
{
	struct conv cv = conv4(1011);
	struct flow *f =
		checked(&cv, FP_SET_CLOSE, e.fast.timeout[FAST_CLOSING] * 1000);

	ck_assert_uint_eq(f->state, TCP_S_TIME_WAIT);
	ck_assert(on_fast_list(f, FAST_CLOSING));
	/* Then gone from the kernel: closed. */
	fk.answer.dir[0].set = fk.answer.dir[1].set = FP_SET_NONE;
	at(e.fast.timeout[FAST_OPEN] + 2 + e.fast.timeout[FAST_CLOSING]);
	engine_tick(&e);
	ck_assert_ptr_null(conv_flow(&cv));
	ck_assert_uint_eq(e.st.flows_closed, 1);
	ck_assert_uint_eq(e.st.fastpath_ended, 1);
	ck_assert_uint_eq(fk.forgets, 0);
}
END_TEST

START_TEST(check_alive_reset)
{
	struct conv cv = conv4(1012);
	struct flow *f;

	/* timeout_close must differ from timeout_closing to tell them. */
	ck_assert_uint_ne(e.fast.timeout[FAST_CLOSE],
			  e.fast.timeout[FAST_CLOSING]);
	f = checked(&cv, FP_SET_CLOSE, e.fast.timeout[FAST_CLOSE] * 1000);
	ck_assert_uint_eq(f->state, TCP_S_CLOSE);
	ck_assert(on_fast_list(f, FAST_CLOSE));
}
END_TEST

/* A UDP flow from port cp to 53, admitted by its fourth packet. */
static void udp_admitted(uint16_t cp)
{
	for (int i = 0; i < 2; i++) {
		udp4(C4, S4, cp, 53);
		udp4(S4, C4, 53, cp);
	}
	ck_assert(res.fast_admit);
}

START_TEST(check_alive_udp)
{
	struct flow *f;

	udp_admitted(2003);
	fk.answer.dir[0].set = FP_SET_UDP;
	at(e.fast.timeout[FAST_UDP] + 1);
	engine_tick(&e);
	f = find(C4, S4, IPPROTO_UDP, 2003, 53);
	ck_assert_ptr_nonnull(f);
	ck_assert(on_fast_list(f, FAST_UDP));
	ck_assert_uint_eq(f->last_seen, T0 + e.fast.timeout[FAST_UDP] + 1);
	ck_assert_uint_eq(e.st.fastpath_alive, 1);
}
END_TEST

START_TEST(check_absent_reclaims)
{
	struct conv cv = conv4(1013);
	uint64_t expired = e.table.expired;

	ck_assert_ptr_null(checked(&cv, FP_SET_NONE, 0));
	ck_assert_uint_eq(e.st.fastpath_ended, 1);
	ck_assert_uint_eq(e.table.expired, expired + 1);
	ck_assert_uint_eq(e.table.count, 0);
	ck_assert_uint_eq(e.pol->flows, 0);
	ck_assert_uint_eq(fk.forgets, 0);
	ck_assert_uint_eq(engine_fast_flows(&e), 0);
}
END_TEST

START_TEST(check_failed_keeps)
{
	struct conv cv = conv4(1014);
	struct flow *f;

	c2s(&cv, TCPF_SYN, 0);
	fk.fail = true;
	at(e.fast.timeout[FAST_OPEN] + 1);
	engine_tick(&e);
	f = conv_flow(&cv);
	ck_assert_ptr_nonnull(f);
	ck_assert(on_fast_list(f, FAST_OPEN));
	ck_assert_uint_eq(e.st.fastpath_errors, 1);
	ck_assert_uint_eq(e.st.fastpath_checks, 0);
	/* Retried at the next tick. */
	fk.fail = false;
	fk.answer.dir[0].set = FP_SET_EST;
	engine_tick(&e);
	ck_assert(on_fast_list(conv_flow(&cv), FAST_EST));
	ck_assert_uint_eq(e.st.fastpath_checks, 1);
}
END_TEST

START_TEST(check_bounded_per_tick)
{
	unsigned n = 4 * FASTPATH_BATCH_MAX + 10;

	engine_destroy(&e);
	conf.max_flows = 1024;
	remake();
	for (unsigned i = 0; i < n; i++)
		c2s(&(struct conv){ C4, S4, (uint16_t)(3000 + i), 80, 5, 9 },
		    TCPF_SYN, 0);
	ck_assert_uint_eq(engine_fast_flows(&e), n);
	fk.answer.dir[0].set = FP_SET_EST;
	at(e.fast.timeout[FAST_OPEN] + 1);
	engine_tick(&e);
	ck_assert_uint_eq(fk.queries, 4);
	ck_assert_uint_eq(fk.queried, 4 * FASTPATH_BATCH_MAX);
	engine_tick(&e);
	ck_assert_uint_eq(fk.queried, n);
	ck_assert_uint_eq(e.table.list[FAST_LIST(FAST_EST, 0)].count, n);
}
END_TEST

/* The engine made again with fastpath_check_interval = iv. */
static void with_interval(uint32_t iv)
{
	engine_destroy(&e);
	conf.fastpath_check_interval = iv;
	remake();
}

/* fastpath_check_interval: an established fast flow asked again after it,
 * not timeout_tcp_established; found closed, then gone: reclaimed. */
START_TEST(check_interval_established)
{
	struct conv cv = conv4(1030);
	uint32_t t0 = e.fast.timeout[FAST_OPEN] + 1;
	struct flow *f;

	with_interval(30);
	f = checked(&cv, FP_SET_EST, 0);
	ck_assert(on_fast_list(f, FAST_EST));
	ck_assert_uint_eq(engine_flow_left(&e, f), 30);
	at(t0 + 30);
	engine_tick(&e);
	ck_assert_uint_eq(fk.queries, 1);
	at(t0 + 31);
	engine_tick(&e);
	ck_assert_uint_eq(fk.queries, 2);
	ck_assert(on_fast_list(f, FAST_EST));
	ck_assert_uint_eq(e.st.fastpath_alive, 2);
	/* The kernel saw its FIN: TIME_WAIT, no longer its source's. */
	fk.answer.dir[0].set = fk.answer.dir[1].set = FP_SET_CLOSE;
	fk.answer.dir[0].timeout_ms = fk.answer.dir[1].timeout_ms =
		e.fast.timeout[FAST_CLOSING] * 1000;
	at(t0 + 62);
	engine_tick(&e);
	ck_assert_uint_eq(fk.queries, 3);
	ck_assert_uint_eq(f->state, TCP_S_TIME_WAIT);
	ck_assert(on_fast_list(f, FAST_CLOSING));
	ck_assert_uint_eq(f->source, SOURCE_NIL);
	/* Gone from the kernel: gone from the table, within an interval. */
	fk.answer.dir[0].set = fk.answer.dir[1].set = FP_SET_NONE;
	at(t0 + 93);
	engine_tick(&e);
	ck_assert_uint_eq(fk.queries, 4);
	ck_assert_ptr_null(conv_flow(&cv));
	ck_assert_uint_eq(e.st.flows_closed, 1);
	ck_assert_uint_eq(e.pol->flows, 0);
}
END_TEST

/* UDP likewise; the handshake's list keeps its timeout (its check reads
 * an element outliving it as refreshed). */
START_TEST(check_interval_udp_not_open)
{
	struct conv cv = conv4(1031);

	with_interval(5);
	ck_assert_uint_eq(e.fast.check[FAST_OPEN], e.fast.timeout[FAST_OPEN]);
	ck_assert_uint_gt(e.fast.timeout[FAST_OPEN], 6);
	ck_assert_uint_eq(e.fast.check[FAST_UDP], 5);
	ck_assert_uint_eq(e.fast.check[FAST_CLOSE], 5);
	c2s(&cv, TCPF_SYN, 0);
	udp_admitted(2005);
	fk.answer.dir[0].set = FP_SET_UDP;
	at(6);
	engine_tick(&e);
	ck_assert_uint_eq(fk.queried, 1); /* the UDP flow, not the SYN's */
	ck_assert(on_fast_list(conv_flow(&cv), FAST_OPEN));
}
END_TEST

/* Off, fast flows left are reclaimed unasked after their set's timeout,
 * not the interval: an idle connection is not dropped at 2 minutes. */
START_TEST(check_interval_off_waits_timeout)
{
	struct conv cv = conv4(1032);
	uint32_t t0 = e.fast.timeout[FAST_OPEN] + 1;

	with_interval(30);
	checked(&cv, FP_SET_EST, 0);
	engine_fastpath_set(&e, NULL, 0);
	at(t0 + 31);
	engine_tick(&e);
	ck_assert_ptr_nonnull(conv_flow(&cv));
	ck_assert_uint_eq(engine_flow_left(&e, conv_flow(&cv)),
			  e.fast.timeout[FAST_EST] - 31);
	at(t0 + e.fast.timeout[FAST_EST] + 1);
	engine_tick(&e);
	ck_assert_ptr_null(conv_flow(&cv));
	ck_assert_uint_eq(fk.queries, 1);
}
END_TEST

/* A client reusing its port (tcp_tw_reuse) after the kernel carried and
 * closed the connection, unseen: a pure SYN of another number on a fast
 * flow still in its handshake is a new connection, counted and admitted;
 * the admission replaces the old one's elements in the kernel, so no
 * removal is sent (a netlink transaction, ~50 us, once a connection). */
START_TEST(port_reuse_reopens)
{
	struct conv cv = conv4(1040);

	c2s(&cv, TCPF_SYN, 0);
	ck_assert(res.fast_admit);
	cv.cseq += 5000000; /* the kernel carried it, then its FINs */
	c2s(&cv, TCPF_SYN, 0);
	ck_assert(res.fast_admit);
	ck_assert_uint_eq(res.verdict, VERDICT_ACCEPT);
	ck_assert_uint_eq(e.st.flows_reopened, 1);
	ck_assert_uint_eq(e.st.flows_created, 2);
	ck_assert_uint_eq(e.st.fastpath_admitted, 2);
	ck_assert_uint_eq(e.pol->flows, 1);
	ck_assert(on_fast_list(conv_flow(&cv), FAST_OPEN));
	engine_fastpath_sync(&e);
	ck_assert_uint_eq(fk.forgotten, 0);
	/* Its SYN again, the same number: a retransmission, as ever. */
	cv.cseq--;
	c2s(&cv, TCPF_SYN, 0);
	ck_assert(res.fast_admit);
	ck_assert_uint_eq(e.st.flows_reopened, 1);
	ck_assert_uint_eq(e.st.flows_created, 2);
	engine_fastpath_sync(&e);
	ck_assert_uint_eq(fk.forgotten, 0);
}
END_TEST

/* The flow's one connection over, the next on its ports: new, counted,
 * admitted. */
static void next_connection_reopens(struct conv *cv)
{
	cv->cseq += 5000000;
	c2s(cv, TCPF_SYN, 0);
	ck_assert(res.fast_admit);
	ck_assert_uint_eq(e.st.flows_reopened, 1);
	ck_assert_uint_eq(e.st.flows_created, 2);
	ck_assert(on_fast_list(conv_flow(cv), FAST_OPEN));
}

/* A FIN of a fast flow reaches the daemon unasked (its elements between
 * sets in a simultaneous close, or gone): the kernel carried the
 * handshake, so the daemon's SYN_SENT is taken as established and the
 * close tracked, not judged invalid; the next connection on the ports is
 * new, counted. */
START_TEST(fin_unasked_closes)
{
	struct conv cv = conv4(1043);

	c2s(&cv, TCPF_SYN, 0);
	ck_assert(res.fast_admit);
	/* The kernel carried the handshake, the request and the answer. */
	cv.sseq += 1 + 1258;
	cv.cseq += 69;
	ck_assert_int_eq(s2c(&cv, TCPF_FIN | TCPF_ACK, 0), VERDICT_ACCEPT);
	ck_assert_uint_eq(e.st.invalid[INV_TCP_STATE], 0);
	ck_assert_uint_eq(conv_flow(&cv)->state, TCP_S_FIN_WAIT);
	ck_assert(!(conv_flow(&cv)->flags & FLOW_F_FAST));
	c2s(&cv, TCPF_FIN | TCPF_ACK, 0);
	s2c(&cv, TCPF_ACK, 0);
	ck_assert_uint_eq(conv_flow(&cv)->state, TCP_S_TIME_WAIT);
	ck_assert_uint_eq(e.st.invalid[INV_TCP_STATE], 0);
	next_connection_reopens(&cv);
}
END_TEST

/* The new connection meets the limits as any: refused by its source's
 * rate, it opens nothing, and the old one is gone all the same. */
/* A pure SYN of cv from port p: its verdict (res has the rest). */
static enum verdict syn_from(struct conv *cv, uint16_t p)
{
	cv->cp = p;
	c2s(cv, TCPF_SYN, 0);
	return res.verdict;
}

/*
 * Admission in the kernel (fastpath_kernel_admit): the grant is at most
 * half the room every limit leaves, what the kernel holds already
 * counted in; what the kernel holds counts as
 * taken by each of them, so that the daemon's own admissions stop short
 * of it (here, on_full = drop: refused at max_flows less what is held);
 * a SYN learned turns a held place into a flow, through the tracker.
 */
START_TEST(kernel_hold_limits)
{
	struct conv cv = conv4(2000);

	conf.max_flows = 10;
	conf.on_full = CONF_FULL_DROP;
	remake();
	ck_assert_uint_eq(engine_kernel_room(&e), 5);
	engine_kernel_hold(&e, 5);
	for (uint16_t p = 2000; p < 2005; p++)
		ck_assert_uint_eq(syn_from(&cv, p), VERDICT_ACCEPT);
	/* 5 flows, 5 held: full for the daemon. */
	ck_assert_uint_eq(syn_from(&cv, 2005), VERDICT_DROP);
	ck_assert_uint_eq(res.reason, DROP_TABLE_FULL);
	ck_assert_uint_eq(engine_kernel_room(&e), 0);
	/* Two of the held learned: two flows, three held, one place. */
	engine_kernel_learned(&e, 2);
	for (uint16_t p = 3000; p < 3002; p++) {
		ck_assert_uint_eq(syn_from(&cv, p), VERDICT_ACCEPT);
		ck_assert(res.fast_admit);
	}
	ck_assert_uint_eq(e.st.fastpath_learned, 2);
	ck_assert_uint_eq(e.st.flows_created, 7);
	ck_assert_uint_eq(syn_from(&cv, 3002), VERDICT_DROP);
	/* Nothing held: the table's last places are the daemon's again,
	 * and no room is left to grant. */
	engine_kernel_hold(&e, 0);
	c2s(&cv, TCPF_SYN, 0);
	ck_assert_uint_eq(res.verdict, VERDICT_ACCEPT);
	ck_assert_uint_eq(engine_kernel_room(&e), 1);
}
END_TEST

/* TCP's cap and the reserve bound the grant too; per-source limits and
 * exempt sources leave nothing to grant. */
START_TEST(kernel_room_limits)
{
	struct conv cv = conv4(4000);

	conf.max_flows = 100;
	conf.reserve = 20;
	conf.on_full = CONF_FULL_DROP;
	remake();
	ck_assert_uint_eq(engine_kernel_room(&e), 40);
	conf.max_proto[PC_TCP] = 30;
	remake();
	ck_assert_uint_eq(engine_kernel_room(&e), 15);
	engine_kernel_hold(&e, 15);
	ck_assert_uint_eq(engine_kernel_room(&e), 7);
	/* TCP's cap counts what is held: 15 more TCP flows, no more. */
	for (uint16_t p = 4000; p < 4016; p++)
		syn_from(&cv, p);
	ck_assert_uint_eq(res.verdict, VERDICT_DROP);
	ck_assert_uint_eq(res.reason, DROP_PROTO_CAP);
	ck_assert_uint_eq(e.st.flows_created, 15);
	conf.max_proto[PC_TCP] = 0;
	conf.max_flows_per_source = 50;
	remake();
	ck_assert_uint_eq(engine_kernel_room(&e), 0);
	conf.max_flows_per_source = 0;
	conf.max_new_per_source = 10;
	remake();
	ck_assert_uint_eq(engine_kernel_room(&e), 0);
}
END_TEST

START_TEST(port_reuse_limited)
{
	struct conv cv = conv4(1041);

	engine_destroy(&e);
	conf.max_new_per_source = 1;
	remake();
	c2s(&cv, TCPF_SYN, 0);
	ck_assert(res.fast_admit);
	cv.cseq += 5000000;
	c2s(&cv, TCPF_SYN, 0);
	ck_assert(!res.fast_admit);
	ck_assert_uint_eq(res.verdict, VERDICT_DROP);
	ck_assert_uint_eq(res.reason, DROP_SOURCE_RATE);
	ck_assert_ptr_null(conv_flow(&cv));
	ck_assert_uint_eq(e.st.flows_reopened, 1);
	engine_fastpath_sync(&e);
	ck_assert_uint_eq(fk.forgotten, 1);
}
END_TEST

/* Found closed by a FIN in the kernel (TIME_WAIT): a SYN reopens, as after
 * the kernel's TIME_WAIT. */
START_TEST(port_reuse_after_check_reopens)
{
	struct conv cv = conv4(1042);

	checked(&cv, FP_SET_CLOSE, e.fast.timeout[FAST_CLOSING] * 1000);
	ck_assert_uint_eq(conv_flow(&cv)->state, TCP_S_TIME_WAIT);
	next_connection_reopens(&cv);
}
END_TEST

/* A pure SYN on an established fast flow: as the kernel's tracker,
 * ignored (passed, no new flow) and remembered; the flow leaves the fast
 * path, so that the server's SYN-ACK to it resynchronises the daemon... */
START_TEST(syn_on_established_resyncs)
{
	struct conv cv = conv4(1043);

	checked(&cv, FP_SET_EST, 0);
	ck_assert_uint_eq(conv_flow(&cv)->state, TCP_S_ESTABLISHED);
	cv.cseq += 5000000;
	c2s(&cv, TCPF_SYN, 0);
	ck_assert_uint_eq(res.verdict, VERDICT_ACCEPT);
	ck_assert(!res.fast_admit);
	ck_assert_uint_eq(e.st.flows_reopened, 0);
	ck_assert(!(conv_flow(&cv)->flags & FLOW_F_FAST));
	engine_fastpath_sync(&e);
	ck_assert_uint_eq(fk.forgotten, 1);
	s2c(&cv, TCPF_SYN | TCPF_ACK, 0);
	ck_assert_uint_eq(res.invalid, INV_NONE);
	ck_assert_uint_eq(conv_flow(&cv)->state, TCP_S_SYN_RECV);
	c2s(&cv, TCPF_ACK, 0);
	ck_assert_uint_eq(conv_flow(&cv)->state, TCP_S_ESTABLISHED);
	ck_assert(res.fast_admit);
	ck_assert_uint_eq(e.st.flows_created, 1);
}
END_TEST

/* ... and the old connection, if it lives on (a stray SYN), carries on
 * with the windows forgotten, which the kernel moved far on unseen. */
START_TEST(syn_on_established_stray)
{
	struct conv cv = conv4(1044), old;

	checked(&cv, FP_SET_EST, 0);
	old = cv;
	old.cseq += 10000000;
	old.sseq += 10000000;
	cv.cseq += 5000000;
	c2s(&cv, TCPF_SYN, 0);
	ck_assert(!res.fast_admit);
	s2c(&old, TCPF_ACK, 0); /* the server's challenge ACK */
	ck_assert_uint_eq(res.invalid, INV_NONE);
	c2s(&old, TCPF_ACK | TCPF_PSH, 100);
	ck_assert_uint_eq(res.invalid, INV_NONE);
	ck_assert(res.fast_admit);
	ck_assert_uint_eq(conv_flow(&cv)->state, TCP_S_ESTABLISHED);
	ck_assert_uint_eq(e.st.flows_created, 1);
}
END_TEST

START_TEST(off_reclaims_unasked)
{
	struct conv cv = conv4(1015);

	c2s(&cv, TCPF_SYN, 0);
	engine_fastpath_set(&e, NULL, 0);
	at(e.fast.timeout[FAST_OPEN] + 1);
	engine_tick(&e);
	ck_assert_ptr_null(conv_flow(&cv));
	ck_assert_uint_eq(fk.queries, 0);
	ck_assert_uint_eq(fk.forgets, 0);
}
END_TEST

/* The fake kernel's answer for a flow admitted and not refreshed since
 * (the handshake: only SYNs passed), or refreshed by an ACK since. */
static void est_answer(bool refreshed)
{
	for (int d = 0; d < 2; d++) {
		fk.answer.dir[d].set = FP_SET_EST;
		fk.answer.dir[d].timeout_ms = e.fast.timeout[FAST_OPEN] * 1000;
		fk.answer.dir[d].expires_ms =
			refreshed ? e.fast.timeout[FAST_EST] * 1000 - 500 :
				    e.fast.timeout[FAST_OPEN] * 1000 - 1500;
	}
}

static void half_open_answer(void)
{
	est_answer(false);
}

/* In the close set since a FIN ago_s seconds ago. */
static void closed_answer(uint32_t ago_s)
{
	for (int d = 0; d < 2; d++) {
		fk.answer.dir[d].set = FP_SET_CLOSE;
		fk.answer.dir[d].timeout_ms =
			e.fast.timeout[FAST_CLOSING] * 1000;
		fk.answer.dir[d].expires_ms =
			(e.fast.timeout[FAST_CLOSING] - ago_s) * 1000;
	}
}

/* A table full of one admitted connection, established in the kernel
 * (its third ACK refreshed its elements) before its first check: a new
 * flow asks the kernel first, and early_drop finds no half-open flow to
 * take: refused, as without the fast path. */
START_TEST(settle_established_not_evicted)
{
	struct conv cv = conv4(1040);
	struct flow *f;

	conf.max_flows = 1;
	conf.on_full = CONF_FULL_EARLY_DROP;
	remake();
	c2s(&cv, TCPF_SYN, 0);
	ck_assert(res.fast_admit);
	at(1);
	est_answer(true);
	ck_assert_int_eq(udp4(C4, S4, 1, 53), VERDICT_DROP);
	ck_assert_uint_eq(res.reason, DROP_TABLE_FULL);
	ck_assert_uint_eq(res.evicted, EVICT_NONE);
	ck_assert_uint_eq(fk.queries, 1);
	ck_assert_uint_eq(e.st.fastpath_early, 1);
	ck_assert_uint_eq(e.st.fastpath_checks, 1);
	f = conv_flow(&cv);
	ck_assert_uint_eq(f->state, TCP_S_ESTABLISHED);
	ck_assert(f->flags & FLOW_F_ASSURED);
	ck_assert(on_fast_list(f, FAST_EST));
	/* Asked this second: not again for the next refusal. */
	ck_assert_int_eq(udp4(C4, S4, 2, 53), VERDICT_DROP);
	ck_assert_uint_eq(fk.queries, 1);
}
END_TEST

/* A half-open one asked early is taken by early_drop, and flagged: the
 * next refusals do not ask about it again before its tick. */
START_TEST(settle_half_open_evicted_once_asked)
{
	struct conv a = conv4(1041), b = conv4(1042);

	conf.max_flows = 2;
	conf.on_full = CONF_FULL_EARLY_DROP;
	remake();
	c2s(&a, TCPF_SYN, 0);
	c2s(&b, TCPF_SYN, 0);
	at(1);
	half_open_answer();
	udp4(C4, S4, 1, 53);
	ck_assert_uint_eq(fk.queries, 1);
	ck_assert_uint_eq(fk.queried, 2);
	ck_assert_uint_eq(res.evicted, EVICT_EARLY_DROP);
	ck_assert_ptr_null(conv_flow(&a));
	ck_assert(conv_flow(&b)->flags & FLOW_F_CHECKED);
	ck_assert(on_fast_list(conv_flow(&b), FAST_OPEN));
	ck_assert_uint_eq(conv_flow(&b)->last_seen, T0); /* in place */
	/* Known half-open: taken next, unasked. */
	udp4(C4, S4, 2, 53);
	ck_assert_uint_eq(res.evicted, EVICT_EARLY_DROP);
	ck_assert_uint_eq(fk.queries, 1);
	ck_assert_ptr_null(conv_flow(&b));
}
END_TEST

/* Gone from the kernel (its admitting packet dropped by the admin's
 * filter, say): reclaimed, room without an eviction; but not one
 * admitted this second, whose verdict may not have gone out yet. */
START_TEST(settle_gone_reclaims)
{
	struct conv a = conv4(1043), b = conv4(1044);

	conf.max_flows = 2;
	conf.on_full = CONF_FULL_DROP;
	remake();
	c2s(&a, TCPF_SYN, 0);
	at(1);
	c2s(&b, TCPF_SYN, 0);
	ck_assert_int_eq(udp4(C4, S4, 1, 53), VERDICT_ACCEPT);
	ck_assert_uint_eq(res.evicted, EVICT_NONE);
	ck_assert_uint_eq(fk.queried, 2);
	ck_assert_ptr_null(conv_flow(&a));
	ck_assert_ptr_nonnull(conv_flow(&b));
	ck_assert_uint_eq(e.st.fastpath_ended, 1);
	ck_assert_uint_eq(fk.forgets, 0);
}
END_TEST

/* max_flows_per_source: the source's connections the kernel saw close
 * before their first check no longer count for it (TIME_WAIT), asked
 * about when the source is at its limit; at most once a second. */
START_TEST(settle_source_closed)
{
	struct conv a = conv4(1045), b = conv4(1046), c = conv4(1047);

	conf.max_flows_per_source = 1;
	remake();
	c2s(&a, TCPF_SYN, 0);
	at(3);
	closed_answer(1);
	ck_assert_int_eq(c2s(&b, TCPF_SYN, 0), VERDICT_ACCEPT);
	ck_assert_uint_eq(fk.queries, 1);
	ck_assert_uint_eq(conv_flow(&a)->state, TCP_S_TIME_WAIT);
	ck_assert_uint_eq(conv_flow(&a)->source, SOURCE_NIL);
	ck_assert(on_fast_list(conv_flow(&a), FAST_CLOSING));
	/* Idle since its FIN, for early_drop and its next check. */
	ck_assert_uint_eq(conv_flow(&a)->last_seen, T0 + 2);
	/* b holds the source now, and answers established: c refused,
	 * and the source not asked about again this second. */
	est_answer(true);
	at(4);
	ck_assert_int_eq(c2s(&c, TCPF_SYN, 0), VERDICT_DROP);
	ck_assert_uint_eq(res.reason, DROP_SOURCE_LIMIT);
	ck_assert_uint_eq(fk.queries, 2);
	ck_assert_int_eq(c2s(&c, TCPF_SYN, 0), VERDICT_DROP);
	ck_assert_uint_eq(fk.queries, 2);
}
END_TEST

/* A flood of refused packets: at most FAST_SETTLE_PER_TICK queries a
 * tick, then the limits decide as without them. */
START_TEST(settle_bounded_per_tick)
{
	conf.max_flows = 4;
	conf.on_full = CONF_FULL_DROP;
	remake();
	for (uint16_t i = 0; i < 4; i++)
		c2s(&(struct conv){ C4, S4, (uint16_t)(1050 + i), 80, 5, 9 },
		    TCPF_SYN, 0);
	at(1);
	fk.fail = true; /* nothing learnt: every refusal would ask */
	for (uint16_t i = 0; i < 20; i++)
		ck_assert_int_eq(udp4(C4, S4, (uint16_t)(100 + i), 53),
				 VERDICT_DROP);
	ck_assert_uint_eq(fk.queries, FAST_SETTLE_PER_TICK);
	ck_assert_uint_eq(e.st.fastpath_errors, FAST_SETTLE_PER_TICK);
	engine_tick(&e);
	udp4(C4, S4, 200, 53);
	ck_assert_uint_eq(fk.queries, FAST_SETTLE_PER_TICK + 1);
	/* No limit near: no query at all. */
	engine_destroy(&e);
	conf.max_flows = 64;
	remake();
	memset(&fk, 0, sizeof(fk));
	c2s(&(struct conv){ C4, S4, 1060, 80, 5, 9 }, TCPF_SYN, 0);
	at(1);
	udp4(C4, S4, 1, 53);
	ck_assert_uint_eq(fk.queries, 0);
}
END_TEST

/* A FIN's close element outlives the daemon's TIME_WAIT (a reload made
 * timeout_tcp_time_wait shorter than the element's): the flow ends by
 * the daemon's timeout, its elements removed. */
START_TEST(check_closed_past_daemon_timeout)
{
	struct conv cv = conv4(1048);

	c2s(&cv, TCPF_SYN, 0);
	for (int d = 0; d < 2; d++) {
		fk.answer.dir[d].set = FP_SET_CLOSE;
		fk.answer.dir[d].timeout_ms =
			(e.fast.timeout[FAST_CLOSING] + 100) * 1000;
		fk.answer.dir[d].expires_ms = 50 * 1000;
	}
	at(e.fast.timeout[FAST_OPEN] + 1);
	engine_tick(&e);
	ck_assert_uint_eq(fk.queries, 1);
	ck_assert_ptr_null(conv_flow(&cv));
	ck_assert_uint_eq(e.st.flows_closed, 1);
	ck_assert_uint_eq(fk.forgotten, 1);
}
END_TEST

START_TEST(eviction_forgets)
{
	struct conv cv = conv4(1016);
	uint8_t s[4];

	conf.max_flows = 1;
	conf.on_full = CONF_FULL_EARLY_DROP;
	remake();
	c2s(&cv, TCPF_SYN, 0);
	ck_assert(res.fast_admit);
	at(1);
	/* Asked first: still in its handshake, so evictable. */
	half_open_answer();
	udp4(C4, S4, 1, 53);
	ck_assert_uint_eq(fk.queries, 1);
	ck_assert_uint_eq(res.evicted, EVICT_EARLY_DROP);
	ck_assert_uint_eq(fk.forgets, 0); /* until the batch's end */
	engine_fastpath_sync(&e);
	ck_assert_uint_eq(fk.forgotten, 1);
	ck_assert_uint_eq(e.st.fastpath_forgotten, 1);
	/* The original direction's tuple. */
	inet_pton(AF_INET, C4, s);
	ck_assert_uint_eq(fk.last_forgotten.family, 4);
	ck_assert_uint_eq(fk.last_forgotten.proto, IPPROTO_TCP);
	ck_assert_uint_eq(fk.last_forgotten.sport, 1016);
	ck_assert_uint_eq(fk.last_forgotten.dport, 80);
	ck_assert(!memcmp(fk.last_forgotten.src, s, 4));
}
END_TEST

START_TEST(established_fast_not_evicted_idle)
{
	struct conv cv = conv4(1017);

	conf.max_flows = 1;
	conf.on_full = CONF_FULL_EVICT_IDLE;
	remake();
	checked(&cv, FP_SET_EST, 0);
	at(100000);
	ck_assert_int_eq(udp4(C4, S4, 1, 53), VERDICT_DROP);
	ck_assert_uint_eq(res.reason, DROP_TABLE_FULL);
	ck_assert_ptr_nonnull(conv_flow(&cv));
}
END_TEST

static bool all(const struct flow *f, void *arg)
{
	(void)f;
	(void)arg;
	return true;
}

START_TEST(flush_forgets)
{
	struct flow_cursor cur = { 0, 0 };
	uint32_t removed = 0;

	c2s(&(struct conv){ C4, S4, 1018, 80, 5, 9 }, TCPF_SYN, 0);
	c2s(&(struct conv){ C4, S4, 1019, 80, 5, 9 }, TCPF_SYN, 0);
	udp4(C4, S4, 1, 53); /* not fast: nothing to forget */
	while (engine_flush_step(&e, &cur, 1000, all, NULL, &removed))
		;
	ck_assert_uint_eq(removed, 3);
	ck_assert_uint_eq(fk.forgotten, 2);
	ck_assert_int_eq(engine_fastpath_flush(&e), 0);
	ck_assert_uint_eq(fk.flushes, 1);
}
END_TEST

START_TEST(drop_forgets)
{
	struct conv cv = conv4(1020);

	conf.invalid_verdict = CONF_DROP;
	remake();
	established(&cv);
	c2s(&cv, TCPF_ACK, 0);
	ck_assert(res.fast_admit);
	/* A SYN-ACK from the client: invalid in its state, dropped. */
	ck_assert_int_eq(c2s(&cv, TCPF_SYN | TCPF_ACK, 0), VERDICT_DROP);
	ck_assert(!(conv_flow(&cv)->flags & FLOW_F_FAST));
	ck_assert(conv_flow(&cv)->list < AGE_LISTS);
	engine_fastpath_sync(&e);
	ck_assert_uint_eq(fk.forgotten, 1);
}
END_TEST

START_TEST(accounting_adds_kernel_counters)
{
	struct conv cv = conv4(1021);
	const struct flow_acct *a;
	struct flow *f;

	conf.accounting = true;
	remake();
	fk.answer.dir[0] = (struct fastpath_elem){ FP_SET_EST, 0, 0, 10, 1000 };
	fk.answer.dir[1] = (struct fastpath_elem){ FP_SET_EST, 0, 0, 7, 9000 };
	f = checked(&cv, FP_SET_EST, 0);
	ck_assert(fk.reset);
	a = engine_flow_acct(&e, f);
	/* The SYN (40 bytes), counted here; the kernel's, less that SYN,
	 * which its admission counted in both directions' elements. */
	ck_assert_uint_eq(a->packets[0], 1 + 10 - 1);
	ck_assert_uint_eq(a->bytes[0], 40 + 1000 - 40);
	ck_assert_uint_eq(a->packets[1], 7 - 1);
	ck_assert_uint_eq(a->bytes[1], 9000 - 40);
	/* A FIN with accounting: read (reset) once more, all of it now,
	 * then forgotten. */
	c2s(&cv, TCPF_FIN | TCPF_ACK, 0);
	ck_assert_uint_eq(fk.queries, 2);
	ck_assert_uint_eq(a->packets[0], 10 + 10 + 1);
	ck_assert_uint_eq(a->packets[1], 6 + 7);
	ck_assert(!res.fast_admit);
	ck_assert_int_eq(res.verdict, VERDICT_ACCEPT);
	ck_assert_uint_eq(res.invalid, INV_NONE);
	ck_assert_uint_eq(f->state, TCP_S_FIN_WAIT);
	engine_fastpath_sync(&e);
	ck_assert_uint_eq(fk.forgotten, 1);
}
END_TEST

/* With accounting, a RST answering the admitted SYN comes to the daemon:
 * the kernel says handshake, and the RST before any reply closes it. */
START_TEST(accounting_rst_refused)
{
	struct conv cv = conv4(1023);

	conf.accounting = true;
	remake();
	c2s(&cv, TCPF_SYN, 0);
	fk.answer.dir[0] = (struct fastpath_elem){
		FP_SET_EST, e.fast.timeout[FAST_OPEN] * 1000, 0, 0, 0
	};
	fk.answer.dir[1] = fk.answer.dir[0];
	s2c(&cv, TCPF_RST | TCPF_ACK, 0);
	ck_assert_uint_eq(fk.queries, 1);
	ck_assert(fk.reset);
	ck_assert_uint_eq(res.invalid, INV_NONE);
	ck_assert_ptr_null(conv_flow(&cv));
	ck_assert_uint_eq(e.st.flows_closed, 1);
	engine_fastpath_sync(&e);
	ck_assert_uint_eq(fk.forgotten, 1);
}
END_TEST

/* With accounting, a RST of an established fast flow: read, forgotten,
 * and the flow closes in the daemon. */
START_TEST(accounting_rst_established)
{
	struct conv cv = conv4(1024);
	struct flow *f;

	conf.accounting = true;
	remake();
	f = checked(&cv, FP_SET_EST, 0);
	ck_assert_uint_eq(f->state, TCP_S_ESTABLISHED);
	cv.sseq += 5000;
	cv.cseq += 7000;
	c2s(&cv, TCPF_RST | TCPF_ACK, 0);
	ck_assert_uint_eq(res.invalid, INV_NONE);
	f = conv_flow(&cv);
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(f->state, TCP_S_CLOSE);
	ck_assert(!(f->flags & FLOW_F_FAST));
	engine_fastpath_sync(&e);
	ck_assert_uint_eq(fk.forgotten, 1);
}
END_TEST

/* With accounting, a FIN soon after admission, of a connection the
 * kernel carried: its element's time left is past admission's, so
 * established; the FIN is tracked from there. */
START_TEST(accounting_fin_refreshed)
{
	struct conv cv = conv4(1026);
	struct flow *f;

	conf.accounting = true;
	remake();
	c2s(&cv, TCPF_SYN, 0);
	fk.answer.dir[0] = (struct fastpath_elem){
		FP_SET_EST, e.fast.timeout[FAST_OPEN] * 1000,
		e.fast.timeout[FAST_EST] * 1000 - 10, 5, 500
	};
	fk.answer.dir[1] = fk.answer.dir[0];
	cv.sseq += 1;
	c2s(&cv, TCPF_FIN | TCPF_ACK, 0);
	f = conv_flow(&cv);
	ck_assert_uint_eq(res.invalid, INV_NONE);
	ck_assert_uint_eq(f->state, TCP_S_FIN_WAIT);
	ck_assert(f->flags & FLOW_F_ASSURED);
	ck_assert_uint_eq(engine_flow_acct(&e, f)->packets[1], 5 - 1);
	ck_assert_uint_eq(engine_flow_acct(&e, f)->bytes[0],
			  40 + 500 - 40 + 40);
}
END_TEST

/* Turned off (the table gone), an established fast flow's next packets
 * are the daemon's again: taken as they come, windows forgotten. */
START_TEST(off_flow_carries_on)
{
	struct conv cv = conv4(1025);

	conf.invalid_verdict = CONF_DROP;
	remake();
	c2s(&cv, TCPF_SYN, 0);
	ck_assert(res.fast_admit);
	/* The kernel carried the handshake and much data. */
	cv.sseq += 1;
	cv.cseq += 123456;
	cv.sseq += 654321;
	engine_fastpath_set(&e, NULL, 0);
	ck_assert_int_eq(c2s(&cv, TCPF_ACK, 100), VERDICT_ACCEPT);
	ck_assert_int_eq(s2c(&cv, TCPF_ACK, 0), VERDICT_ACCEPT);
	ck_assert_uint_eq(conv_flow(&cv)->state, TCP_S_ESTABLISHED);
	ck_assert(!(conv_flow(&cv)->flags & FLOW_F_FAST));
	ck_assert(conv_flow(&cv)->list < AGE_LISTS);
	ck_assert_uint_eq(e.st.dropped, 0);
}
END_TEST

static Suite *fastpath_suite(void)
{
	Suite *s = suite_create("fastpath");
	TCase *tc = tcase_create("engine");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, pure_syn_admits);
	tcase_add_test(tc, reopen_admits);
	tcase_add_test(tc, port_reuse_reopens);
	tcase_add_test(tc, port_reuse_limited);
	tcase_add_test(tc, kernel_hold_limits);
	tcase_add_test(tc, kernel_room_limits);
	tcase_add_test(tc, fin_unasked_closes);
	tcase_add_test(tc, port_reuse_after_check_reopens);
	tcase_add_test(tc, syn_on_established_resyncs);
	tcase_add_test(tc, syn_on_established_stray);
	tcase_add_test(tc, synack_fin_rst_do_not_admit);
	tcase_add_test(tc, unanswered_pickup_does_not_admit);
	tcase_add_test(tc, dropped_does_not_admit);
	tcase_add_test(tc, invalid_accepted_does_not_admit);
	tcase_add_test(tc, shadow_does_not_admit);
	tcase_add_test(tc, udp_after_n_with_reply);
	tcase_add_test(tc, icmp_never_admits);
	tcase_add_test(tc, check_alive_established);
	tcase_add_test(tc, check_alive_outlived_admission);
	tcase_add_test(tc, check_alive_closing);
	tcase_add_test(tc, check_alive_reset);
	tcase_add_test(tc, check_alive_udp);
	tcase_add_test(tc, check_absent_reclaims);
	tcase_add_test(tc, check_failed_keeps);
	tcase_add_test(tc, check_bounded_per_tick);
	tcase_add_test(tc, check_interval_established);
	tcase_add_test(tc, check_interval_udp_not_open);
	tcase_add_test(tc, check_interval_off_waits_timeout);
	tcase_add_test(tc, off_reclaims_unasked);
	tcase_add_test(tc, eviction_forgets);
	tcase_add_test(tc, settle_established_not_evicted);
	tcase_add_test(tc, settle_half_open_evicted_once_asked);
	tcase_add_test(tc, settle_gone_reclaims);
	tcase_add_test(tc, settle_source_closed);
	tcase_add_test(tc, settle_bounded_per_tick);
	tcase_add_test(tc, check_closed_past_daemon_timeout);
	tcase_add_test(tc, established_fast_not_evicted_idle);
	tcase_add_test(tc, flush_forgets);
	tcase_add_test(tc, drop_forgets);
	tcase_add_test(tc, accounting_adds_kernel_counters);
	tcase_add_test(tc, accounting_rst_refused);
	tcase_add_test(tc, accounting_rst_established);
	tcase_add_test(tc, accounting_fin_refreshed);
	tcase_add_test(tc, off_flow_carries_on);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(fastpath_suite());
}
