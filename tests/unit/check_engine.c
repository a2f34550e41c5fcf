// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * check_engine.c - the engine from packet to verdict: flows made and
 * found both ways, the table limit, TCP states and the assured flag,
 * ICMP pairing and errors, invalid and malformed packets under both
 * invalid_verdict settings, expiry, live reconfiguration.
 */
#include <check.h>
#include <stdio.h>

#include "enginetest.h"
#include "metrics.h"

static void setup(void)
{
	csum = csum_bad = false;
	setup_max(64);
}

START_TEST(udp_flow_both_ways)
{
	struct flow *f;

	ck_assert_int_eq(udp4(C4, S4, 40000, 53), VERDICT_ACCEPT);
	ck_assert_uint_eq(e.st.flows_created, 1);
	ck_assert_int_eq(udp4(S4, C4, 53, 40000), VERDICT_ACCEPT);
	ck_assert_uint_eq(e.st.flows_created, 1);
	ck_assert_uint_eq(e.table.count, 1);
	f = find(C4, S4, IPPROTO_UDP, 40000, 53);
	ck_assert_ptr_nonnull(f);
	ck_assert(f->flags & FLOW_F_SEEN_REPLY);
	ck_assert_uint_eq(f->tclass, TMO_UDP);
	/* Replies within two seconds: still a short-lived exchange. */
	engine_set_time(&e, T0 * 1000ULL + 2000);
	udp4(C4, S4, 40000, 53);
	ck_assert_uint_eq(f->tclass, TMO_UDP);
	ck_assert(!(f->flags & FLOW_F_ASSURED));
	/* Going on past two seconds: a stream, assured. */
	engine_set_time(&e, T0 * 1000ULL + 2001);
	udp4(S4, C4, 53, 40000);
	ck_assert_uint_eq(f->tclass, TMO_UDP_STREAM);
	ck_assert(f->flags & FLOW_F_ASSURED);
	ck_assert_uint_eq(e.st.packets, 4);
	ck_assert_uint_eq(e.st.accepted, 4);
}
END_TEST

START_TEST(udplite_stream_at_first_reply)
{
	uint8_t l4[16], b[64];
	struct flow *f;

	tu_udp(l4, 1000, 2000, 8);
	l4[4] = l4[5] = 0; /* checksum coverage: all */
	l4[7] = 1; /* UDP-Lite must carry a checksum */
	feed(b, tu_ip4(b, IPPROTO_UDPLITE, C4, S4, l4, 16));
	tu_udp(l4, 2000, 1000, 8);
	l4[4] = l4[5] = 0;
	l4[7] = 1;
	feed(b, tu_ip4(b, IPPROTO_UDPLITE, S4, C4, l4, 16));
	tu_udp(l4, 1000, 2000, 8);
	l4[4] = l4[5] = 0;
	l4[7] = 1;
	feed(b, tu_ip4(b, IPPROTO_UDPLITE, C4, S4, l4, 16));
	f = find(C4, S4, IPPROTO_UDPLITE, 1000, 2000);
	ck_assert_uint_eq(f->tclass, TMO_UDP_STREAM);
	ck_assert(f->flags & FLOW_F_ASSURED);
	l4[7] = 0; /* no checksum */
	feed(b, tu_ip4(b, IPPROTO_UDPLITE, C4, S4, l4, 16));
	ck_assert_int_eq(res.invalid, INV_UDPLITE_CSUM);
}
END_TEST

START_TEST(unreplied_udp_keeps_short_timeout)
{
	udp4(C4, S4, 40000, 53);
	udp4(C4, S4, 40000, 53);
	struct flow *f = find(C4, S4, IPPROTO_UDP, 40000, 53);
	ck_assert_uint_eq(f->tclass, TMO_UDP);
	ck_assert(!(f->flags & FLOW_F_SEEN_REPLY));
}
END_TEST

START_TEST(table_full_drops_new_keeps_known)
{
	engine_destroy(&e);
	setup_drop(3);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(udp4(C4, S4, (uint16_t)(1000 + i), 53),
				 VERDICT_ACCEPT);
	ck_assert_int_eq(udp4(C4, S4, 2000, 53), VERDICT_DROP);
	ck_assert_int_eq(res.reason, DROP_TABLE_FULL);
	ck_assert_int_eq(tcp4(C4, S4, 2001, 80, TCPF_SYN), VERDICT_DROP);
	ck_assert_int_eq(icmp4(C4, S4, 8, 7), VERDICT_DROP);
	/* Known flows pass, both ways. */
	ck_assert_int_eq(udp4(S4, C4, 53, 1001), VERDICT_ACCEPT);
	ck_assert_int_eq(udp4(C4, S4, 1002, 53), VERDICT_ACCEPT);
	ck_assert_uint_eq(e.st.drop[DROP_TABLE_FULL], 3);
	ck_assert_uint_eq(e.st.dropped, 3);
	ck_assert_uint_eq(e.st.accepted, 5);
	ck_assert_uint_eq(e.table.count, 3);
}
END_TEST

START_TEST(expired_flow_makes_room)
{
	engine_destroy(&e);
	setup_drop(1);
	udp4(C4, S4, 1000, 53);
	ck_assert_int_eq(udp4(C4, S4, 1001, 53), VERDICT_DROP);
	engine_set_time(&e,
			(uint64_t)(1000 + conf.timeout[TMO_UDP] - 1) * 1000);
	ck_assert_int_eq(udp4(C4, S4, 1001, 53), VERDICT_DROP);
	engine_set_time(&e, (uint64_t)(1000 + conf.timeout[TMO_UDP]) * 1000);
	engine_tick(&e);
	ck_assert_uint_eq(e.table.count, 0);
	ck_assert_uint_eq(e.table.expired, 1);
	ck_assert_int_eq(udp4(C4, S4, 1001, 53), VERDICT_ACCEPT);
}
END_TEST

START_TEST(clock_never_goes_back)
{
	engine_set_time(&e, (uint64_t)(2000) * 1000);
	engine_set_time(&e, (uint64_t)(1500) * 1000);
	ck_assert_uint_eq(e.now, 2000);
}
END_TEST

START_TEST(tcp_handshake_to_close)
{
	struct conv cv = conv4(5555);
	struct flow *f;

	c2s(&cv, TCPF_SYN, 0);
	f = conv_flow(&cv);
	ck_assert_uint_eq(f->state, TCP_S_SYN_SENT);
	ck_assert_uint_eq(f->tclass, TCP_S_SYN_SENT);
	s2c(&cv, TCPF_SYN | TCPF_ACK, 0);
	ck_assert_uint_eq(f->state, TCP_S_SYN_RECV);
	ck_assert(!(f->flags & FLOW_F_ASSURED));
	c2s(&cv, TCPF_ACK, 0);
	ck_assert_uint_eq(f->state, TCP_S_ESTABLISHED);
	ck_assert(f->flags & FLOW_F_ASSURED);
	ck_assert_uint_eq(f->tclass, TCP_S_ESTABLISHED);
	/* Data in flight: the shorter "unacknowledged" timeout, until the
	 * other side acknowledges it. */
	c2s(&cv, TCPF_ACK | TCPF_PSH, 100);
	ck_assert_uint_eq(f->tclass, TMO_TCP_UNACK);
	s2c(&cv, TCPF_ACK | TCPF_PSH, 300);
	c2s(&cv, TCPF_ACK, 0);
	ck_assert_uint_eq(f->tclass, TCP_S_ESTABLISHED);
	c2s(&cv, TCPF_FIN | TCPF_ACK, 0);
	ck_assert_uint_eq(f->state, TCP_S_FIN_WAIT);
	s2c(&cv, TCPF_ACK, 0);
	ck_assert_uint_eq(f->state, TCP_S_CLOSE_WAIT);
	s2c(&cv, TCPF_FIN | TCPF_ACK, 0);
	ck_assert_uint_eq(f->state, TCP_S_LAST_ACK);
	c2s(&cv, TCPF_ACK, 0);
	ck_assert_uint_eq(f->state, TCP_S_TIME_WAIT);
	ck_assert_uint_eq(f->tclass, TCP_S_TIME_WAIT);
	ck_assert_uint_eq(e.st.dropped + e.st.invalid[INV_TCP_WINDOW], 0);

	/* A new SYN on the same ports: a new connection. */
	cv.cseq += 1000000;
	c2s(&cv, TCPF_SYN, 0);
	f = conv_flow(&cv);
	ck_assert_uint_eq(f->state, TCP_S_SYN_SENT);
	ck_assert(!(f->flags & (FLOW_F_ASSURED | FLOW_F_SEEN_REPLY)));
	ck_assert_uint_eq(e.st.flows_reopened, 1);
	ck_assert_uint_eq(e.st.flows_created, 2);
	ck_assert_uint_eq(e.table.count, 1);
}
END_TEST

START_TEST(tcp_midstream_pickup)
{
	struct flow *f;

	ck_assert_int_eq(tcp4(C4, S4, 5555, 80, TCPF_ACK), VERDICT_ACCEPT);
	f = find(C4, S4, IPPROTO_TCP, 5555, 80);
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(f->state, TCP_S_ESTABLISHED);
	/* No answer yet: five minutes, not five days (the kernel's
	 * retransmission class here, as the window is not known yet). */
	ck_assert_uint_eq(e.timeouts[f->tclass], 300);
	tcp4(S4, C4, 80, 5555, TCPF_ACK);
	tcp4(C4, S4, 5555, 80, TCPF_ACK);
	ck_assert(f->flags & FLOW_F_ASSURED);
	ck_assert_uint_eq(e.st.invalid[INV_TCP_WINDOW], 0);
}
END_TEST

START_TEST(tcp_cannot_open_with_rst_fin_synack)
{
	ck_assert_int_eq(tcp4(C4, S4, 1, 80, TCPF_RST), VERDICT_ACCEPT);
	ck_assert_int_eq(res.reason, DROP_INVALID);
	ck_assert_int_eq(res.invalid, INV_TCP_NEW);
	tcp4(C4, S4, 2, 80, TCPF_FIN | TCPF_ACK);
	tcp4(C4, S4, 3, 80, TCPF_SYN | TCPF_ACK);
	ck_assert_uint_eq(e.st.invalid[INV_TCP_NEW], 3);
	ck_assert_uint_eq(e.table.count, 0);
	ck_assert_uint_eq(e.st.accepted, 3); /* invalid_verdict = accept */
}
END_TEST

START_TEST(tcp_bad_flags_invalid)
{
	tcp4(C4, S4, 1, 80, TCPF_SYN | TCPF_FIN);
	ck_assert_int_eq(res.invalid, INV_TCP_FLAGS);
	tcp4(C4, S4, 1, 80, 0);
	ck_assert_int_eq(res.invalid, INV_TCP_FLAGS);
	tcp4(C4, S4, 1, 80, TCPF_SYN);
	tcp4(C4, S4, 1, 80, TCPF_SYN | TCPF_RST);
	ck_assert_int_eq(res.invalid, INV_TCP_FLAGS);
	ck_assert_uint_eq(e.st.invalid[INV_TCP_FLAGS], 3);
}
END_TEST

START_TEST(tcp_invalid_transition)
{
	struct conv cv = conv4(1);

	c2s(&cv, TCPF_SYN, 0);
	/* The client cannot ACK before it saw a SYN-ACK. */
	c2s(&cv, TCPF_ACK, 0);
	ck_assert_int_eq(res.invalid, INV_TCP_STATE);
	ck_assert_uint_eq(conv_flow(&cv)->state, TCP_S_SYN_SENT);
}
END_TEST

START_TEST(tcp_out_of_window)
{
	struct conv cv = conv4(1);
	struct flow *f;

	c2s(&cv, TCPF_SYN, 0);
	s2c(&cv, TCPF_SYN | TCPF_ACK, 0);
	c2s(&cv, TCPF_ACK, 0);
	f = conv_flow(&cv);
	/* Data far beyond the window the server offered. */
	seg(C4, S4, 1, 80, TCPF_ACK, cv.cseq + 10000000, cv.sseq, 10);
	ck_assert_int_eq(res.invalid, INV_TCP_WINDOW);
	ck_assert_int_eq(res.verdict, VERDICT_ACCEPT); /* invalid_verdict */
	/* An ACK for data the server never sent. */
	seg(C4, S4, 1, 80, TCPF_ACK, cv.cseq, cv.sseq + 5000000, 0);
	ck_assert_int_eq(res.invalid, INV_TCP_WINDOW);
	ck_assert_uint_eq(e.st.invalid[INV_TCP_WINDOW], 2);
	ck_assert_uint_eq(f->state, TCP_S_ESTABLISHED);
	/* The connection itself goes on. */
	c2s(&cv, TCPF_ACK | TCPF_PSH, 10);
	ck_assert_int_eq(res.invalid, INV_NONE);
}
END_TEST

START_TEST(tcp_liberal_skips_window)
{
	struct conv cv = conv4(1);

	engine_destroy(&e);
	conf_defaults(&conf);
	conf.tcp_liberal = true;
	ck_assert_int_eq(engine_init(&e, tu_params(&conf), &key, T0 * 1000ULL),
			 0);
	c2s(&cv, TCPF_SYN, 0);
	s2c(&cv, TCPF_SYN | TCPF_ACK, 0);
	c2s(&cv, TCPF_ACK, 0);
	seg(C4, S4, 1, 80, TCPF_ACK, cv.cseq + 10000000, cv.sseq, 10);
	ck_assert_int_eq(res.invalid, INV_NONE);
}
END_TEST

START_TEST(tcp_retransmissions_shorten_timeout)
{
	struct conv cv = conv4(1);
	struct flow *f;

	c2s(&cv, TCPF_SYN, 0);
	s2c(&cv, TCPF_SYN | TCPF_ACK, 0);
	c2s(&cv, TCPF_ACK, 0);
	f = conv_flow(&cv);
	ck_assert_uint_eq(f->tclass, TCP_S_ESTABLISHED);
	/* The same ACK over and over: the peer is gone. */
	for (int i = 0; i <= 3; i++) {
		seg(C4, S4, 1, 80, TCPF_ACK, cv.cseq, cv.sseq, 0);
		ck_assert_int_eq(res.invalid, INV_NONE);
	}
	ck_assert_uint_eq(f->tclass, TMO_TCP_RETRANS);
	s2c(&cv, TCPF_ACK | TCPF_PSH, 5);
	ck_assert_uint_eq(f->tclass, TMO_TCP_UNACK);
}
END_TEST

START_TEST(tcp_syn_retransmit_keeps_timer)
{
	struct conv cv = conv4(1);
	struct flow *f;

	c2s(&cv, TCPF_SYN, 0);
	f = conv_flow(&cv);
	engine_set_time(&e, (uint64_t)(T0 + 3) * 1000);
	cv.cseq--;
	c2s(&cv, TCPF_SYN, 0);
	ck_assert_uint_eq(f->last_seen, T0);
	ck_assert_uint_eq(e.table.count, 1);
}
END_TEST

START_TEST(tcp_loose_off_refuses_midstream)
{
	engine_destroy(&e);
	conf_defaults(&conf);
	conf.tcp_loose = false;
	ck_assert_int_eq(engine_init(&e, tu_params(&conf), &key, T0 * 1000ULL),
			 0);
	ck_assert_int_eq(tcp4(C4, S4, 5555, 80, TCPF_ACK), VERDICT_ACCEPT);
	ck_assert_int_eq(res.invalid, INV_TCP_NEW);
	ck_assert_uint_eq(e.table.count, 0);
	ck_assert_int_eq(tcp4(C4, S4, 5555, 80, TCPF_SYN), VERDICT_ACCEPT);
	ck_assert_uint_eq(e.table.count, 1);
}
END_TEST

START_TEST(tcp_simultaneous_open)
{
	struct conv cv = conv4(7);
	struct flow *f;

	c2s(&cv, TCPF_SYN, 0);
	s2c(&cv, TCPF_SYN, 0); /* the server opens too */
	f = conv_flow(&cv);
	ck_assert_uint_eq(f->state, TCP_S_SYN_SENT2);
	c2s(&cv, TCPF_SYN | TCPF_ACK, 0);
	ck_assert_uint_eq(f->state, TCP_S_SYN_RECV);
	s2c(&cv, TCPF_SYN | TCPF_ACK, 0);
	s2c(&cv, TCPF_ACK, 0);
	ck_assert_uint_eq(f->state, TCP_S_ESTABLISHED);
	ck_assert_uint_eq(
		e.st.invalid[INV_TCP_STATE] + e.st.invalid[INV_TCP_WINDOW], 0);
}
END_TEST

START_TEST(tcp_rst_before_reply_removes_flow)
{
	struct conv cv = conv4(1);

	c2s(&cv, TCPF_SYN, 0);
	ck_assert_uint_eq(e.table.count, 1);
	/* Connection refused: RST, ACK with sequence 0. */
	cv.sseq = 0;
	s2c(&cv, TCPF_RST | TCPF_ACK, 0);
	ck_assert_int_eq(res.verdict, VERDICT_ACCEPT);
	ck_assert_int_eq(res.reason, DROP_NONE);
	ck_assert_uint_eq(e.table.count, 0);
	ck_assert_uint_eq(e.st.flows_closed, 1);
}
END_TEST

START_TEST(tcp_rst_after_reply_closes)
{
	struct conv cv = conv4(1);
	struct flow *f;

	c2s(&cv, TCPF_SYN, 0);
	s2c(&cv, TCPF_SYN | TCPF_ACK, 0);
	c2s(&cv, TCPF_ACK, 0);
	c2s(&cv, TCPF_RST, 0);
	f = conv_flow(&cv);
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(f->state, TCP_S_CLOSE);
	ck_assert_uint_eq(f->tclass, TCP_S_CLOSE);
}
END_TEST

/* Opens connection cv: handshake and a request; true if the SYN passed. */
static bool open_conv(struct conv *cv)
{
	bool passed = c2s(cv, TCPF_SYN, 0) == VERDICT_ACCEPT;

	s2c(cv, TCPF_SYN | TCPF_ACK, 0);
	c2s(cv, TCPF_ACK, 0);
	c2s(cv, TCPF_PSH | TCPF_ACK, 100);
	return passed;
}

static void limit_two_per_source(bool checksum)
{
	engine_destroy(&e);
	conf_defaults(&conf);
	conf.max_flows_per_source = 2;
	conf.checksum = checksum;
	ck_assert_int_eq(engine_init(&e, tu_params(&conf), &key, T0 * 1000ULL),
			 0);
	csum = true; /* the kernel verified none of them */
}

/* Issue 13, finding 3: a RST with a wrong checksum, which the host's stack
 * discards, moved the flow to CLOSE, where it no longer counted for its
 * source; data kept it open. So a client opened connection after
 * connection past max_flows_per_source = 2 (6 of 6 in a live test). */
START_TEST(bad_checksum_rst_changes_nothing)
{
	unsigned passed = 0, closed = 0;

	limit_two_per_source(true);
	for (uint16_t i = 0; i < 6; i++) {
		struct conv cv = conv4((uint16_t)(7000 + i));

		if (!open_conv(&cv))
			continue;
		passed++;
		csum_bad = true;
		c2s(&cv, TCPF_RST | TCPF_ACK, 0);
		csum_bad = false;
		c2s(&cv, TCPF_PSH | TCPF_ACK, 100);
		ck_assert_int_eq(res.verdict, VERDICT_ACCEPT);
		closed += conv_flow(&cv)->state != TCP_S_ESTABLISHED;
	}
	ck_assert_uint_eq(passed, 2);
	ck_assert_uint_eq(closed, 0);
	ck_assert_uint_eq(e.table.count, 2);
	/* Each refused connection: its SYN, and its ACK and data, which
	 * would open a flow mid-stream. */
	ck_assert_uint_eq(e.st.drop[DROP_SOURCE_LIMIT], 4 * 3);
	ck_assert_uint_eq(e.st.invalid[INV_CHECKSUM], 2);
	ck_assert_uint_ge(e.st.checksums_verified, 2 * 6 + 2 + 4);
}
END_TEST

/* The kernel's word is taken when it has one (no PKT_F_CSUM), and with
 * checksum = no nothing is verified: the old way. */
START_TEST(checksum_not_verified_when_off)
{
	struct conv cv = conv4(7000);

	limit_two_per_source(false);
	ck_assert(open_conv(&cv));
	csum_bad = true;
	c2s(&cv, TCPF_RST | TCPF_ACK, 0);
	ck_assert_int_eq(res.invalid, INV_NONE);
	ck_assert_uint_eq(conv_flow(&cv)->state, TCP_S_CLOSE);
	ck_assert_uint_eq(e.st.checksums_verified, 0);
}
END_TEST

/* A RST longer than was copied cannot be checked: it ends nothing. */
START_TEST(rst_past_copy_not_believed)
{
	struct conv cv = conv4(7000);
	uint8_t l4[20 + 600] = { 0 }, b[sizeof(l4) + 20], *p;
	size_t len;

	limit_two_per_source(true);
	ck_assert(open_conv(&cv));
	tu_tcp(l4, cv.cp, cv.sp, TCPF_RST | TCPF_ACK, cv.cseq, cv.sseq);
	len = tu_ip4(b, IPPROTO_TCP, cv.c, cv.s, l4, sizeof(l4));
	tu_csum(b, len);
	p = tu_exact(b, 512);
	engine_packet(&e, p, 512, len, PKT_F_CSUM, &res);
	free(p);
	ck_assert_int_eq(res.invalid, INV_CHECKSUM);
	ck_assert_uint_eq(conv_flow(&cv)->state, TCP_S_ESTABLISHED);
	/* Data past the copy is taken as it is: it changes no state. */
	c2s(&cv, TCPF_PSH | TCPF_ACK, 1000);
	ck_assert_int_eq(res.invalid, INV_NONE);
}
END_TEST

/* A closed connection that carries data again counts for its source
 * again: a right RST ends it, data revives it. */
START_TEST(closed_flow_with_data_counts_again)
{
	struct conv a = conv4(7000), b = conv4(7001), c = conv4(7002),
		    d = conv4(7003);

	limit_two_per_source(true);
	ck_assert(open_conv(&a));
	ck_assert(open_conv(&b));
	c2s(&a, TCPF_RST | TCPF_ACK, 0);
	ck_assert_uint_eq(conv_flow(&a)->state, TCP_S_CLOSE);
	ck_assert(open_conv(&c)); /* a no longer counts */
	ck_assert_uint_eq(e.st.flows_revived, 0);
	c2s(&a, TCPF_PSH | TCPF_ACK, 100);
	ck_assert_int_eq(res.verdict, VERDICT_ACCEPT);
	ck_assert_uint_eq(conv_flow(&a)->state, TCP_S_CLOSE);
	ck_assert_uint_eq(e.st.flows_revived, 1);
	ck_assert(!open_conv(&d)); /* a, b and c count */
	ck_assert_uint_eq(e.table.count, 3);
}
END_TEST

START_TEST(tcp_ignored_packet_does_not_refresh)
{
	struct conv cv = conv4(1);
	uint32_t synack_seq = cv.sseq;
	struct flow *f;

	c2s(&cv, TCPF_SYN, 0);
	s2c(&cv, TCPF_SYN | TCPF_ACK, 0);
	c2s(&cv, TCPF_ACK, 0);
	f = conv_flow(&cv);
	engine_set_time(&e, (uint64_t)(T0 + 100) * 1000);
	/* A late copy of the SYN-ACK: passed, ignored, no refresh. */
	seg(S4, C4, 80, 1, TCPF_SYN | TCPF_ACK, synack_seq, cv.cseq - 1, 0);
	ck_assert_int_eq(res.verdict, VERDICT_ACCEPT);
	ck_assert_uint_eq(f->last_seen, T0);
	ck_assert_uint_eq(f->state, TCP_S_ESTABLISHED);
	ck_assert_uint_eq(e.st.tcp_ignored, 1);
	s2c(&cv, TCPF_ACK, 0);
	ck_assert_uint_eq(f->last_seen, T0 + 100);
}
END_TEST

/*
 * The kernel marks a flow replied only when its tracker took the reply:
 * an invalid packet from the server leaves it unreplied (issue 18).
 */
START_TEST(tcp_invalid_reply_is_no_reply)
{
	struct conv cv = conv4(1);
	struct flow *f;

	c2s(&cv, TCPF_SYN, 0);
	f = conv_flow(&cv);
	s2c(&cv, TCPF_FIN | TCPF_ACK, 0); /* no FIN answers a SYN */
	ck_assert_int_eq(res.invalid, INV_TCP_STATE);
	ck_assert_uint_eq(f->state, TCP_S_SYN_SENT);
	ck_assert_uint_eq(f->flags & FLOW_F_SEEN_REPLY, 0);
	/* Its RST is then the only reply: the flow goes at once. */
	cv.sseq = 0;
	s2c(&cv, TCPF_RST | TCPF_ACK, 0);
	ck_assert_uint_eq(e.table.count, 0);
	ck_assert_uint_eq(e.st.flows_closed, 1);
}
END_TEST

/* One forged packet must not make a half-open flow assured. */
START_TEST(tcp_invalid_reply_does_not_assure)
{
	struct conv cv = conv4(2);
	struct flow *f;

	c2s(&cv, TCPF_ACK, 0); /* picked up mid-stream */
	f = conv_flow(&cv);
	ck_assert_ptr_nonnull(f);
	s2c(&cv, TCPF_SYN, 0); /* no SYN in ESTABLISHED from the server */
	ck_assert_int_ne(res.invalid, INV_NONE);
	c2s(&cv, TCPF_ACK, 0);
	ck_assert_uint_eq(f->state, TCP_S_ESTABLISHED);
	ck_assert_uint_eq(f->flags & (FLOW_F_SEEN_REPLY | FLOW_F_ASSURED), 0);
}
END_TEST

/*
 * accounting = yes counts what nf_conntrack_acct counts: packets the
 * tracker took, not a SYN retransmitted in SYN_SENT, not one it ignored,
 * not an invalid one (issue 18).
 */
START_TEST(accounting_only_what_the_tracker_took)
{
	struct conv cv = conv4(3);
	uint32_t synack_seq = cv.sseq;
	const struct flow_acct *a;
	struct flow *f;

	engine_destroy(&e);
	conf_defaults(&conf);
	conf.max_flows = 64;
	conf.accounting = true;
	ck_assert_int_eq(engine_init(&e, tu_params(&conf), &key, T0 * 1000ULL),
			 0);
	c2s(&cv, TCPF_SYN, 0);
	f = conv_flow(&cv);
	a = engine_flow_acct(&e, f);
	cv.cseq--;
	c2s(&cv, TCPF_SYN, 0); /* retransmitted: not counted */
	ck_assert_uint_eq(a->packets[0], 1);
	s2c(&cv, TCPF_FIN | TCPF_ACK, 0); /* invalid: not counted */
	cv.sseq--;
	ck_assert_uint_eq(a->packets[1], 0);
	s2c(&cv, TCPF_SYN | TCPF_ACK, 0);
	c2s(&cv, TCPF_ACK, 0);
	/* A late copy of the SYN-ACK: ignored, not counted. */
	seg(S4, C4, 80, 3, TCPF_SYN | TCPF_ACK, synack_seq, cv.cseq - 1, 0);
	ck_assert_uint_eq(e.st.tcp_ignored, 1);
	ck_assert_uint_eq(a->packets[0], 2);
	ck_assert_uint_eq(a->packets[1], 1);
	ck_assert_uint_eq(a->bytes[0], 80);
	ck_assert_uint_eq(a->bytes[1], 40);
}
END_TEST

START_TEST(invalid_verdict_drop)
{
	engine_destroy(&e);
	conf_defaults(&conf);
	conf.invalid_verdict = CONF_DROP;
	ck_assert_int_eq(engine_init(&e, tu_params(&conf), &key, T0 * 1000ULL),
			 0);
	ck_assert_int_eq(tcp4(C4, S4, 1, 80, TCPF_RST), VERDICT_DROP);
	ck_assert_int_eq(res.reason, DROP_INVALID);
	uint8_t junk[3] = { 0x45, 0, 0 };
	ck_assert_int_eq(feed(junk, sizeof(junk)), VERDICT_DROP);
	ck_assert_int_eq(res.reason, DROP_MALFORMED);
	ck_assert_uint_eq(e.st.drop[DROP_INVALID], 1);
	ck_assert_uint_eq(e.st.drop[DROP_MALFORMED], 1);
	ck_assert_uint_eq(e.st.malformed[PKT_ERR_SHORT], 1);
	ck_assert_uint_eq(e.st.dropped, 2);
}
END_TEST

START_TEST(malformed_accepted_by_default)
{
	uint8_t junk[20] = { 0x35 };
	ck_assert_int_eq(feed(junk, sizeof(junk)), VERDICT_ACCEPT);
	ck_assert_int_eq(res.reason, DROP_MALFORMED);
	ck_assert_uint_eq(e.st.malformed[PKT_ERR_VERSION], 1);
	ck_assert_uint_eq(e.st.accepted, 1);
	ck_assert_uint_eq(e.table.count, 0);
}
END_TEST

/* An IPv6 SYN whose TCP header lies past the first copy bytes, behind a
 * 264-byte destination options header, as the kernel would copy it. */
static enum verdict long_dstopts_syn(uint16_t sport, size_t copy)
{
	uint8_t rest[264 + 20], b[40 + sizeof(rest)], *p;
	size_t len;

	tu_ip6_ext(rest, IPPROTO_DSTOPTS, IPPROTO_TCP, 264);
	tu_tcp(rest + 264, sport, 80, TCPF_SYN, 1000, 0);
	len = tu_ip6(b, IPPROTO_DSTOPTS, C6, S6, rest, sizeof(rest));
	p = tu_exact(b, copy);
	engine_packet(&e, p, copy, len, 0, &res);
	free(p);
	return res.verdict;
}

/* Headers past the copy range were accepted unread (invalid_verdict =
 * accept), so they met no limit: 20 SYNs under max_new_per_source = 1
 * all passed. They have a verdict of their own now, drop by default. */
START_TEST(beyond_copy_range_meets_limits)
{
	unsigned passed = 0;

	engine_destroy(&e);
	conf_defaults(&conf);
	conf.max_new_per_source = 1;
	ck_assert_int_eq(engine_init(&e, tu_params(&conf), &key, T0 * 1000ULL),
			 0);
	for (uint16_t i = 0; i < 20; i++)
		passed += long_dstopts_syn((uint16_t)(5000 + i), 256) ==
			  VERDICT_ACCEPT;
	ck_assert_uint_le(passed, 1);
	ck_assert_uint_eq(e.st.malformed[PKT_ERR_COPY_RANGE], 20);
	ck_assert_uint_eq(e.st.drop[DROP_MALFORMED], 20);
	/* Copied whole, the same SYNs meet the rate limit. */
	passed = 0;
	for (uint16_t i = 0; i < 20; i++)
		passed += long_dstopts_syn((uint16_t)(6000 + i), 40 + 284) ==
			  VERDICT_ACCEPT;
	ck_assert_uint_eq(passed, 1);
	ck_assert_uint_eq(e.st.drop[DROP_SOURCE_RATE], 19);
}
END_TEST

/* copy_range_verdict = accept: the old way, counted all the same; other
 * malformed packets still follow invalid_verdict. */
START_TEST(copy_range_verdict_accept)
{
	uint8_t junk[20] = { 0x35 };

	engine_destroy(&e);
	conf_defaults(&conf);
	conf.copy_range_verdict = CONF_ACCEPT;
	conf.invalid_verdict = CONF_DROP;
	ck_assert_int_eq(engine_init(&e, tu_params(&conf), &key, T0 * 1000ULL),
			 0);
	ck_assert_int_eq(long_dstopts_syn(5000, 256), VERDICT_ACCEPT);
	ck_assert_int_eq(res.reason, DROP_MALFORMED);
	ck_assert_uint_eq(e.st.malformed[PKT_ERR_COPY_RANGE], 1);
	ck_assert_uint_eq(e.table.count, 0);
	ck_assert_int_eq(feed(junk, sizeof(junk)), VERDICT_DROP);
}
END_TEST

START_TEST(icmp_echo_pairs_by_id)
{
	struct flow *f;

	icmp4(C4, S4, 8, 77);
	ck_assert_uint_eq(e.table.count, 1);
	icmp4(S4, C4, 0, 77);
	ck_assert_uint_eq(e.table.count, 1);
	f = find(C4, S4, IPPROTO_ICMP, 77, 8 << 8);
	ck_assert_ptr_nonnull(f);
	ck_assert(f->flags & FLOW_F_SEEN_REPLY);
	ck_assert_uint_eq(f->tclass, TMO_ICMP);
	icmp4(C4, S4, 8, 78);
	ck_assert_uint_eq(e.table.count, 2);
	/* A timestamp query with the same id is another flow, as in the
	 * kernel. */
	icmp4(C4, S4, 13, 77);
	ck_assert_uint_eq(e.table.count, 3);
	/* A reply nobody asked for opens nothing. */
	icmp4(S4, C4, 0, 99);
	ck_assert_int_eq(res.invalid, INV_ICMP_NEW);
	/* Nor does a router advertisement. */
	icmp4(S4, C4, 9, 0);
	ck_assert_int_eq(res.invalid, INV_ICMP_NEW);
	ck_assert_uint_eq(e.table.count, 3);
}
END_TEST

START_TEST(icmp_echo_to_self)
{
	struct flow *f;

	icmp4(C4, C4, 8, 5);
	f = find(C4, C4, IPPROTO_ICMP, 5, 8 << 8);
	ck_assert_ptr_nonnull(f);
	ck_assert(!(f->flags & FLOW_F_SEEN_REPLY));
	icmp4(C4, C4, 0, 5);
	ck_assert(f->flags & FLOW_F_SEEN_REPLY);
}
END_TEST

/* An ICMP error from the server quoting the client's UDP datagram. */
static enum verdict port_unreachable(uint16_t sport)
{
	uint8_t quote[64], l4[128], b[160], udp[8];
	size_t qlen = tu_ip4(quote, IPPROTO_UDP, C4, S4, udp,
			     tu_udp(udp, sport, 53, 0));
	size_t n = tu_icmp(l4, 3, 3, 0);

	memcpy(l4 + n, quote, qlen);
	return feed(b, tu_ip4(b, IPPROTO_ICMP, S4, C4, l4, n + qlen));
}

START_TEST(icmp_error_related)
{
	udp4(C4, S4, 4444, 53);
	ck_assert_int_eq(port_unreachable(4444), VERDICT_ACCEPT);
	ck_assert_int_eq(res.reason, DROP_NONE);
	ck_assert_uint_eq(e.st.icmp_related, 1);
	ck_assert_uint_eq(e.table.count, 1); /* errors open no flow */
	port_unreachable(4445);
	ck_assert_int_eq(res.invalid, INV_ICMP_ERROR_FLOW);
	ck_assert_uint_eq(e.st.invalid[INV_ICMP_ERROR_FLOW], 1);
}
END_TEST

/* An error about the client's datagram, sent by from to to. */
static enum verdict unreachable_to(const char *from, const char *to)
{
	uint8_t quote[64], l4[128], b[160], udp[8];
	size_t qlen = tu_ip4(quote, IPPROTO_UDP, C4, S4, udp,
			     tu_udp(udp, 4444, 53, 0));
	size_t n = tu_icmp(l4, 3, 3, 0);

	memcpy(l4 + n, quote, qlen);
	return feed(b, tu_ip4(b, IPPROTO_ICMP, from, to, l4, n + qlen));
}

START_TEST(icmp_error_must_reach_the_sender)
{
	udp4(C4, S4, 4444, 53);
	/* A router on the way may send it: any source is fine. */
	unreachable_to("203.0.113.1", C4);
	ck_assert_int_eq(res.reason, DROP_NONE);
	/* But only to the host that sent the quoted datagram. */
	unreachable_to(S4, "203.0.113.9");
	ck_assert_int_eq(res.invalid, INV_ICMP_ERROR_ADDR);
	ck_assert_uint_eq(e.st.icmp_related, 1);
}
END_TEST

START_TEST(icmp6_error_related)
{
	uint8_t l4[16], b[160], quote[80], udp[8];
	size_t qlen, n;

	feed(b, tu_ip6(b, IPPROTO_UDP, C6, S6, l4, tu_udp(l4, 5000, 53, 8)));
	qlen = tu_ip6(quote, IPPROTO_UDP, C6, S6, udp,
		      tu_udp(udp, 5000, 53, 0));
	{
		uint8_t msg[128];

		n = tu_icmp(msg, 1, 4, 0); /* port unreachable */
		memcpy(msg + n, quote, qlen);
		feed(b, tu_ip6(b, IPPROTO_ICMPV6, S6, C6, msg, n + qlen));
	}
	ck_assert_int_eq(res.reason, DROP_NONE);
	ck_assert_uint_eq(e.st.icmp_related, 1);
	ck_assert_uint_eq(e.table.count, 1);
}
END_TEST

START_TEST(fragment_verdict_drop)
{
	uint8_t l4[8] = { 0 }, b[64];
	size_t n;

	engine_destroy(&e);
	conf_defaults(&conf);
	conf.fragment_verdict = CONF_DROP;
	ck_assert_int_eq(engine_init(&e, tu_params(&conf), &key, T0 * 1000ULL),
			 0);
	n = tu_ip4(b, IPPROTO_UDP, C4, S4, l4, tu_udp(l4, 1000, 53, 0));
	b[7] = 0x10; /* offset 128 bytes: a later fragment */
	ck_assert_int_eq(feed(b, n), VERDICT_DROP);
	ck_assert_int_eq(res.reason, DROP_FRAGMENT);
	ck_assert_uint_eq(e.st.fragments, 1);
	ck_assert_uint_eq(e.st.drop[DROP_FRAGMENT], 1);
	/* A first fragment is tracked by its header and passes. */
	b[6] = 0x20; /* more fragments */
	b[7] = 0;
	ck_assert_int_eq(feed(b, n), VERDICT_ACCEPT);
	ck_assert_uint_eq(e.table.count, 1);
}
END_TEST

START_TEST(icmp6_neighbour_discovery_untracked)
{
	uint8_t l4[8], b[64];

	feed(b, tu_ip6(b, IPPROTO_ICMPV6, C6, S6, l4, tu_icmp(l4, 135, 0, 0)));
	ck_assert_int_eq(res.verdict, VERDICT_ACCEPT);
	ck_assert_int_eq(res.reason, DROP_NONE);
	feed(b, tu_ip6(b, IPPROTO_ICMPV6, C6, S6, l4, tu_icmp(l4, 143, 0, 0)));
	ck_assert_uint_eq(e.st.untracked, 2);
	ck_assert_uint_eq(e.table.count, 0);
	feed(b, tu_ip6(b, IPPROTO_ICMPV6, C6, S6, l4, tu_icmp(l4, 128, 0, 9)));
	ck_assert_uint_eq(e.table.count, 1);
}
END_TEST

START_TEST(ipv6_tcp_flow)
{
	uint8_t l4[20], b[80];

	feed(b, tu_ip6(b, IPPROTO_TCP, C6, S6, l4,
		       tu_tcp(l4, 3333, 443, TCPF_SYN, 1, 0)));
	feed(b, tu_ip6(b, IPPROTO_TCP, S6, C6, l4,
		       tu_tcp(l4, 443, 3333, TCPF_SYN | TCPF_ACK, 1, 2)));
	feed(b, tu_ip6(b, IPPROTO_TCP, C6, S6, l4,
		       tu_tcp(l4, 3333, 443, TCPF_ACK, 2, 2)));
	ck_assert_uint_eq(e.table.count, 1);
	ck_assert_uint_eq(e.st.flows_created, 1);
	ck_assert_uint_eq(e.st.invalid[INV_TCP_STATE], 0);
}
END_TEST

START_TEST(later_fragment_passes_untracked)
{
	uint8_t l4[8] = { 0 }, b[64];
	size_t n = tu_ip4(b, IPPROTO_UDP, C4, S4, l4, sizeof(l4));

	b[6] = 0x00;
	b[7] = 0x10; /* offset 128 bytes */
	ck_assert_int_eq(feed(b, n), VERDICT_ACCEPT);
	ck_assert_uint_eq(e.st.fragments, 1);
	ck_assert_uint_eq(e.table.count, 0);
}
END_TEST

START_TEST(generic_protocol_by_addresses)
{
	uint8_t l4[8] = { 0 }, b[64];
	struct flow *f;

	feed(b, tu_ip4(b, IPPROTO_ESP, C4, S4, l4, sizeof(l4)));
	feed(b, tu_ip4(b, IPPROTO_ESP, S4, C4, l4, sizeof(l4)));
	ck_assert_uint_eq(e.table.count, 1);
	f = find(C4, S4, IPPROTO_ESP, 0, 0);
	ck_assert_uint_eq(f->tclass, TMO_GENERIC);
	ck_assert(f->flags & FLOW_F_SEEN_REPLY);
	ck_assert(!(f->flags & FLOW_F_ASSURED));
}
END_TEST

START_TEST(gre_stream_once_replied)
{
	uint8_t l4[4] = { 0 }, b[64];
	struct flow *f;

	feed(b, tu_ip4(b, IPPROTO_GRE, C4, S4, l4, sizeof(l4)));
	f = find(C4, S4, IPPROTO_GRE, 0, 0);
	ck_assert_uint_eq(f->tclass, TMO_GRE);
	feed(b, tu_ip4(b, IPPROTO_GRE, S4, C4, l4, sizeof(l4)));
	feed(b, tu_ip4(b, IPPROTO_GRE, C4, S4, l4, sizeof(l4)));
	ck_assert_uint_eq(f->tclass, TMO_GRE_STREAM);
	ck_assert(f->flags & FLOW_F_ASSURED);
}
END_TEST

START_TEST(reconfigure_keeps_flows)
{
	for (int i = 0; i < 40; i++)
		udp4(C4, S4, (uint16_t)(1000 + i), 53);
	conf.max_flows = 1000;
	conf.buckets = 1024;
	conf.timeout[TMO_UDP] = 5;
	ck_assert_int_eq(group_reconfigure(engine_group(&e), tu_params(&conf)),
			 0);
	ck_assert_uint_eq(engine_policy(&e)->max_flows, 1000);
	ck_assert_uint_eq(flow_table_buckets(&e.table), 1024);
	ck_assert_uint_eq(e.table.slab[0].capacity, 1000);
	for (int i = 0; i < 40; i++)
		ck_assert_ptr_nonnull(
			find(C4, S4, IPPROTO_UDP, (uint16_t)(1000 + i), 53));
	while (flow_table_rehashing(&e.table))
		engine_tick(&e);
	ck_assert_uint_eq(e.table.count, 40);
	/* The new UDP timeout applies to the old flows at once. */
	engine_set_time(&e, (uint64_t)(1005) * 1000);
	engine_tick(&e);
	ck_assert_uint_eq(e.table.count, 0);
}
END_TEST

START_TEST(reconfigure_lower_limit_keeps_flows)
{
	for (int i = 0; i < 10; i++)
		udp4(C4, S4, (uint16_t)(1000 + i), 53);
	conf.max_flows = 5;
	conf.on_full = CONF_FULL_DROP;
	ck_assert_int_eq(group_reconfigure(engine_group(&e), tu_params(&conf)),
			 0);
	ck_assert_uint_eq(e.table.count, 10);
	ck_assert_int_eq(udp4(C4, S4, 1003, 53), VERDICT_ACCEPT);
	ck_assert_int_eq(udp4(C4, S4, 2000, 53), VERDICT_DROP);
	ck_assert_int_eq(res.reason, DROP_TABLE_FULL);
}
END_TEST

START_TEST(names)
{
	ck_assert_str_eq(engine_drop_name(DROP_TABLE_FULL), "table_full");
	ck_assert_str_eq(engine_drop_name(DROP_REASON_COUNT), "?");
	for (int i = 0; i < INV_REASON_COUNT; i++)
		ck_assert_str_ne(engine_invalid_name(i), "?");
	ck_assert_uint_eq(
		group_bytes(tu_params(&conf), 1),
		64 * (sizeof(struct flow6) + sizeof(struct flow_tcp)) + 64 * 4 +
			source_table_bytes_for(1024));
	/* max_flows over all the queues' tables, a bucket array each, one
	 * source table. */
	ck_assert_uint_eq(
		group_bytes(tu_params(&conf), 3),
		64 * (sizeof(struct flow6) + sizeof(struct flow_tcp)) +
			3 * 64 * 4 + source_table_bytes_for(1024));
}
END_TEST

/*
 * engine_packets() decides as engine_packet() does, packet for packet,
 * whatever the batch boundaries: 20,000 random packets of a few hundred
 * flows (TCP with every flag class, UDP, ICMP, bad flags, truncated) into
 * a small table that evicts, fed one by one to one engine and in batches
 * of 1 to 64 to another with the same key.
 */
START_TEST(batch_same_as_one_by_one)
{
	enum { N = 20000, FLOWS = 300 };
	static const uint8_t flags[] = { TCPF_SYN, TCPF_SYN | TCPF_ACK,
					 TCPF_ACK, TCPF_FIN | TCPF_ACK,
					 TCPF_RST, TCPF_SYN | TCPF_FIN };
	static uint8_t bufs[N][64];
	static struct engine_input in[N];
	static struct engine_result one[N], many[64];
	struct engine b;
	uint64_t rng = 0x9e3779b97f4a7c15ULL;

	engine_destroy(&e);
	conf_defaults(&conf);
	conf.max_flows = 128;
	ck_assert_int_eq(engine_init(&e, tu_params(&conf), &key, T0 * 1000ULL),
			 0);
	ck_assert_int_eq(engine_init(&b, tu_params(&conf), &key, T0 * 1000ULL),
			 0);
	b.batch_min_flows = 0; /* the staged passes, however small */
	for (unsigned i = 0; i < N; i++) {
		uint8_t l4[40];
		char c[32];
		unsigned f, kind;
		size_t len;

		rng ^= rng << 13;
		rng ^= rng >> 7;
		rng ^= rng << 17;
		f = (unsigned)(rng % FLOWS);
		kind = (unsigned)(rng >> 32) % 8;
		snprintf(c, sizeof(c), "10.0.%u.%u", f / 200, f % 200 + 1);
		if (kind < 6) {
			uint32_t seq = (uint32_t)(rng >> 20) % 4 * 1000;

			tu_tcp(l4, (uint16_t)(1000 + f), 80, flags[kind], seq,
			       seq + 1);
			len = (rng >> 40) & 1 ? tu_ip4(bufs[i], IPPROTO_TCP, c,
						       S4, l4, 20) :
						tu_ip4(bufs[i], IPPROTO_TCP, S4,
						       c, l4, 20);
			if (((rng >> 41) & 15) == 0)
				len = 30; /* cut short: malformed */
		} else if (kind == 6) {
			tu_udp(l4, (uint16_t)(2000 + f), 53, 4);
			len = tu_ip4(bufs[i], IPPROTO_UDP, c, S4, l4, 12);
		} else {
			tu_icmp(l4, 8, 0, (uint16_t)f);
			len = tu_ip4(bufs[i], IPPROTO_ICMP, c, S4, l4, 8);
		}
		in[i] = (struct engine_input){ bufs[i], len, len, 0 };
		engine_packet(&e, in[i].buf, len, len, 0, &one[i]);
	}
	for (unsigned i = 0; i < N;) {
		unsigned n = 1 + (unsigned)(rng % 64);

		rng ^= rng << 13;
		rng ^= rng >> 7;
		rng ^= rng << 17;
		if (n > N - i)
			n = N - i;
		engine_packets(&b, in + i, n, many);
		for (unsigned j = 0; j < n; j++) {
			const struct engine_result *x = &one[i + j],
						   *y = &many[j];

			ck_assert_msg(x->verdict == y->verdict &&
					      x->reason == y->reason &&
					      x->invalid == y->invalid &&
					      x->evicted == y->evicted &&
					      x->shadow == y->shadow,
				      "packet %u differs", i + j);
		}
		i += n;
	}
	ck_assert_int_eq(memcmp(&e.st, &b.st, sizeof(e.st)), 0);
	ck_assert_uint_eq(e.table.count, b.table.count);
	ck_assert_uint_gt(e.st.flows_evicted, 0);
	ck_assert_uint_gt(e.st.dropped + e.st.accepted, 0);
	engine_destroy(&b);
}
END_TEST

static bool match_all(const struct flow *f, void *arg)
{
	(void)f;
	(void)arg;
	return true;
}

/* One figure of the stats (the counters table's group rows), by name. */
static uint64_t reported(const char *name)
{
	struct group_gauges gg;
	struct engine_stats st;
	struct metrics_input in = { .gauges = &gg, .stats = &st };
	uint64_t v = 0;

	group_gauges(engine_group(&e), &gg);
	group_stats(engine_group(&e), &st);
	in.flows_expired = group_expired(engine_group(&e));
	ck_assert_msg(metrics_stat(&in, name, &v), "no %s in the stats", name);
	return v;
}

/*
 * A TCP flow's state lives in the engine's TCP slab: one per TCP flow,
 * none for others, and back to the slab however the flow goes: expiry,
 * eviction, RST close, reopen, flush, a reload's relist.
 */
START_TEST(tcp_state_released_on_every_free_path)
{
	struct conv cv = conv4(1), cv2 = conv4(2);
	struct flow_cursor cur = { 0 };
	uint32_t removed = 0;

	/* RST before any reply: closed at once. */
	c2s(&cv, TCPF_SYN, 0);
	udp4(C4, S4, 5000, 53);
	ck_assert_uint_eq(e.tcp.in_use, 1);
	ck_assert_uint_eq(conv_flow(&cv)->aux, 0);
	cv.sseq = 0;
	s2c(&cv, TCPF_RST | TCPF_ACK, 0);
	ck_assert_uint_eq(e.st.flows_closed, 1);
	ck_assert_uint_eq(e.tcp.in_use, 0);

	/* Expiry, by a tick. */
	c2s(&cv2, TCPF_SYN, 0);
	ck_assert_uint_eq(e.tcp.in_use, 1);
	at(conf.timeout[TCP_S_SYN_SENT]);
	engine_tick(&e);
	ck_assert_ptr_null(conv_flow(&cv2));
	ck_assert_uint_eq(e.tcp.in_use, 0);

	/* A SYN on a closed connection's ports: the old state goes, the
	 * new connection gets one. */
	cv = conv4(3);
	c2s(&cv, TCPF_SYN, 0);
	s2c(&cv, TCPF_SYN | TCPF_ACK, 0);
	c2s(&cv, TCPF_ACK, 0);
	c2s(&cv, TCPF_RST, 0);
	ck_assert_uint_eq(conv_flow(&cv)->state, TCP_S_CLOSE);
	cv.cseq += 100000;
	c2s(&cv, TCPF_SYN, 0);
	ck_assert_uint_eq(e.st.flows_reopened, 1);
	ck_assert_uint_eq(conv_flow(&cv)->state, TCP_S_SYN_SENT);
	ck_assert_uint_eq(e.tcp.in_use, 1);

	/* A reload that recounts every flow (relist) keeps them. */
	conf.source_prefix4 = 24;
	ck_assert_int_eq(group_reconfigure(engine_group(&e), tu_params(&conf)),
			 0);
	ck_assert_uint_eq(e.tcp.in_use, 1);

	/* Flush. */
	while (engine_flush_step(&e, &cur, 64, match_all, NULL, &removed))
		;
	ck_assert_uint_eq(removed, 1); /* the UDP flow expired with cv2 */
	ck_assert_uint_eq(e.table.count, 0);
	ck_assert_uint_eq(e.tcp.in_use, 0);
}
END_TEST

/* Eviction frees the evicted flow's TCP state, and the new flow gets one. */
START_TEST(tcp_state_released_on_eviction)
{
	struct conv cv = conv4(1), cv2 = conv4(2);

	engine_destroy(&e);
	setup_max(1);
	c2s(&cv, TCPF_SYN, 0);
	ck_assert_uint_eq(e.tcp.in_use, 1);
	at(1);
	ck_assert_int_eq(c2s(&cv2, TCPF_SYN, 0), VERDICT_ACCEPT);
	ck_assert_uint_eq(res.evicted, EVICT_EARLY_DROP);
	ck_assert_uint_eq(e.table.count, 1);
	ck_assert_uint_eq(e.tcp.in_use, 1);
	ck_assert_ptr_null(conv_flow(&cv));
	ck_assert_ptr_nonnull(conv_flow(&cv2));
	/* A UDP flow in its place takes none. */
	at(2);
	ck_assert_int_eq(udp4(C4, S4, 5000, 53), VERDICT_ACCEPT);
	ck_assert_uint_eq(res.evicted, EVICT_EARLY_DROP);
	ck_assert_uint_eq(e.tcp.in_use, 0);
}
END_TEST

/* UDP's two-second stream mark, from the creation time in aux (engine
 * milliseconds, 32 bits): a stream stays one however long it lives. */
START_TEST(udp_stream_mark_from_aux)
{
	engine_set_time(&e, T0 * 1000ULL + 500);
	udp4(C4, S4, 5000, 53);
	ck_assert_uint_eq(find(C4, S4, IPPROTO_UDP, 5000, 53)->aux,
			  (uint32_t)(T0 * 1000ULL + 500));
	engine_set_time(&e, T0 * 1000ULL + 2500);
	udp4(S4, C4, 53, 5000);
	ck_assert_uint_eq(find(C4, S4, IPPROTO_UDP, 5000, 53)->tclass, TMO_UDP);
	engine_set_time(&e, T0 * 1000ULL + 2501);
	udp4(S4, C4, 53, 5000);
	ck_assert_uint_eq(find(C4, S4, IPPROTO_UDP, 5000, 53)->tclass,
			  TMO_UDP_STREAM);
	/* Kept alive for 2^32 ms, past where the clock's low 32 bits come
	 * back to just after the creation time. */
	for (uint64_t ms = 100000; ms < (1ULL << 32) + 1000; ms += 100000) {
		engine_set_time(&e, T0 * 1000ULL + 500 + ms);
		udp4(S4, C4, 53, 5000);
	}
	engine_set_time(&e, T0 * 1000ULL + 500 + (1ULL << 32) + 500);
	ck_assert_uint_eq((uint32_t)e.now_ms -
				  find(C4, S4, IPPROTO_UDP, 5000, 53)->aux,
			  500);
	udp4(S4, C4, 53, 5000);
	ck_assert_uint_eq(e.st.flows_created, 1);
	ck_assert_uint_eq(find(C4, S4, IPPROTO_UDP, 5000, 53)->tclass,
			  TMO_UDP_STREAM);
}
END_TEST

/* Both families in one table: their own slabs, one set of figures. */
START_TEST(bytes_per_flow_figures)
{
	uint8_t l4[16], b[80];
	uint64_t per_bucket = flow_table_bucket_bytes(&e.table) /
			      engine_policy(&e)->max_flows;

	ck_assert_uint_eq(reported("bytes_per_flow"), 0);
	ck_assert_uint_eq(reported("bytes_per_flow_v4"),
			  sizeof(struct flow4) + per_bucket);
	ck_assert_uint_eq(reported("bytes_per_flow_v6"),
			  sizeof(struct flow6) + per_bucket);
	ck_assert_uint_eq(reported("bytes_per_tcp_state"),
			  sizeof(struct flow_tcp));
	ck_assert_uint_eq(reported("memory_bytes"),
			  group_memory(engine_group(&e)));
	ck_assert_uint_eq(reported("memory_reserved_bytes"),
			  group_reserved(engine_group(&e)));
	ck_assert_uint_le(group_memory(engine_group(&e)),
			  group_reserved(engine_group(&e)));
	udp4(C4, S4, 5000, 53);
	feed(b, tu_ip6(b, IPPROTO_UDP, C6, S6, l4, tu_udp(l4, 5000, 53, 8)));
	ck_assert_uint_eq(e.table.slab[0].in_use, 1);
	ck_assert_uint_eq(e.table.slab[1].in_use, 1);
	ck_assert_uint_eq(reported("bytes_per_flow"),
			  (flow_table_populated_bytes(&e.table) +
			   slab_populated_bytes(&e.tcp)) /
				  2);
}
END_TEST

static Suite *engine_suite(void)
{
	Suite *s = suite_create("engine");
	TCase *tc = tcase_create("engine");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, udp_flow_both_ways);
	tcase_add_test(tc, udplite_stream_at_first_reply);
	tcase_add_test(tc, unreplied_udp_keeps_short_timeout);
	tcase_add_test(tc, table_full_drops_new_keeps_known);
	tcase_add_test(tc, expired_flow_makes_room);
	tcase_add_test(tc, clock_never_goes_back);
	tcase_add_test(tc, tcp_handshake_to_close);
	tcase_add_test(tc, tcp_midstream_pickup);
	tcase_add_test(tc, tcp_cannot_open_with_rst_fin_synack);
	tcase_add_test(tc, tcp_bad_flags_invalid);
	tcase_add_test(tc, tcp_invalid_transition);
	tcase_add_test(tc, tcp_out_of_window);
	tcase_add_test(tc, tcp_liberal_skips_window);
	tcase_add_test(tc, tcp_retransmissions_shorten_timeout);
	tcase_add_test(tc, tcp_syn_retransmit_keeps_timer);
	tcase_add_test(tc, tcp_loose_off_refuses_midstream);
	tcase_add_test(tc, tcp_simultaneous_open);
	tcase_add_test(tc, tcp_rst_before_reply_removes_flow);
	tcase_add_test(tc, tcp_rst_after_reply_closes);
	tcase_add_test(tc, tcp_ignored_packet_does_not_refresh);
	tcase_add_test(tc, bad_checksum_rst_changes_nothing);
	tcase_add_test(tc, checksum_not_verified_when_off);
	tcase_add_test(tc, rst_past_copy_not_believed);
	tcase_add_test(tc, closed_flow_with_data_counts_again);
	tcase_add_test(tc, tcp_invalid_reply_is_no_reply);
	tcase_add_test(tc, tcp_invalid_reply_does_not_assure);
	tcase_add_test(tc, accounting_only_what_the_tracker_took);
	tcase_add_test(tc, invalid_verdict_drop);
	tcase_add_test(tc, malformed_accepted_by_default);
	tcase_add_test(tc, beyond_copy_range_meets_limits);
	tcase_add_test(tc, copy_range_verdict_accept);
	tcase_add_test(tc, icmp_echo_pairs_by_id);
	tcase_add_test(tc, icmp_echo_to_self);
	tcase_add_test(tc, icmp_error_related);
	tcase_add_test(tc, icmp_error_must_reach_the_sender);
	tcase_add_test(tc, icmp6_error_related);
	tcase_add_test(tc, fragment_verdict_drop);
	tcase_add_test(tc, icmp6_neighbour_discovery_untracked);
	tcase_add_test(tc, ipv6_tcp_flow);
	tcase_add_test(tc, later_fragment_passes_untracked);
	tcase_add_test(tc, generic_protocol_by_addresses);
	tcase_add_test(tc, gre_stream_once_replied);
	tcase_add_test(tc, reconfigure_keeps_flows);
	tcase_add_test(tc, reconfigure_lower_limit_keeps_flows);
	tcase_add_test(tc, names);
	tcase_add_test(tc, batch_same_as_one_by_one);
	tcase_add_test(tc, tcp_state_released_on_every_free_path);
	tcase_add_test(tc, tcp_state_released_on_eviction);
	tcase_add_test(tc, udp_stream_mark_from_aux);
	tcase_add_test(tc, bytes_per_flow_figures);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(engine_suite());
}
