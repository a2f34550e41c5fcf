// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * check_tcp.c - TCP tracking against the behaviour of the kernel's
 * nf_conntrack_proto_tcp.c: every cell of the transition table (both
 * directions, every flag class, every state), the sequence-window checks,
 * RST rules, resynchronisation after ignored packets, reopening closed
 * connections, and the timeout class each situation gets.
 */
#include <check.h>
#include <string.h>

#include "conf.h"
#include "flow.h"
#include "pkt.h"
#include "tcp.h"
#include "testutil.h"

enum { ORIG = 0, REPLY = 1 };
#define SYN TCPF_SYN
#define SYNACK (TCPF_SYN | TCPF_ACK)
#define FIN (TCPF_FIN | TCPF_ACK)
#define ACK TCPF_ACK
#define RST TCPF_RST

/* The kernel's table, typed again from its source, row by row, to check
 * tcp.c's copy cell by cell. Columns: NO SS SR ES FW CW LA TW CL S2. */
#define NO TCP_S_NONE
#define SS TCP_S_SYN_SENT
#define SR TCP_S_SYN_RECV
#define ES TCP_S_ESTABLISHED
#define FW TCP_S_FIN_WAIT
#define CW TCP_S_CLOSE_WAIT
#define LA TCP_S_LAST_ACK
#define TW TCP_S_TIME_WAIT
#define CL TCP_S_CLOSE
#define S2 TCP_S_SYN_SENT2
#define IG TCP_S_IGNORE
#define IV TCP_S_INVALID

static const uint8_t want[2][TCP_C_COUNT][TCP_S_COUNT] = {
	{
		/* original: syn, synack, fin, ack, rst, none */
		{ SS, SS, IG, IG, IG, IG, IG, SS, SS, S2 },
		{ IV, IV, SR, IV, IV, IV, IV, IV, IV, SR },
		{ IV, IV, FW, FW, LA, LA, LA, TW, CL, IV },
		{ ES, IV, ES, ES, CW, CW, TW, TW, CL, IV },
		{ IV, CL, CL, CL, CL, CL, CL, CL, CL, CL },
		{ IV, IV, IV, IV, IV, IV, IV, IV, IV, IV },
	},
	{
		/* reply */
		{ IV, S2, IV, IV, IV, IV, IV, SS, IV, S2 },
		{ IV, SR, IG, IG, IG, IG, IG, IG, IG, SR },
		{ IV, IV, FW, FW, LA, LA, LA, TW, CL, IV },
		{ IV, IG, SR, ES, CW, CW, TW, TW, CL, IG },
		{ IV, CL, CL, CL, CL, CL, CL, CL, CL, CL },
		{ IV, IV, IV, IV, IV, IV, IV, IV, IV, IV },
	},
};

/* One flag combination of each class, plus variants that must classify
 * the same way (PSH, URG, ECE, CWR do not change the class). */
static const uint8_t class_flags[TCP_C_COUNT][3] = {
	[TCP_C_SYN] = { SYN, SYN | TCPF_ECE | TCPF_CWR, SYN | TCPF_URG },
	[TCP_C_SYNACK] = { SYNACK, SYNACK | TCPF_ECE, SYNACK | TCPF_PSH },
	[TCP_C_FIN] = { FIN, FIN | TCPF_PSH, FIN | TCPF_URG },
	[TCP_C_ACK] = { ACK, ACK | TCPF_PSH, ACK | TCPF_URG | TCPF_CWR },
	[TCP_C_RST] = { RST, RST | ACK, RST | TCPF_PSH },
	[TCP_C_NONE] = { 0, TCPF_PSH, TCPF_URG },
};

START_TEST(every_transition)
{
	int cells = 0;

	for (int dir = 0; dir < 2; dir++)
		for (int c = 0; c < TCP_C_COUNT; c++)
			for (int st = 0; st < TCP_S_COUNT; st++)
				for (int v = 0; v < 3; v++) {
					uint8_t got = tcp_next_state(
						(uint8_t)st, dir,
						class_flags[c][v]);

					ck_assert_msg(
						got == want[dir][c][st],
						"dir %d class %d state %s "
						"flags %#x: %u, want %u",
						dir, c, tcp_state_name(st),
						class_flags[c][v], got,
						want[dir][c][st]);
					cells++;
				}
	ck_assert_int_eq(cells, 2 * TCP_C_COUNT * TCP_S_COUNT * 3);
	ck_assert_uint_eq(tcp_next_state(TCP_S_COUNT, ORIG, ACK),
			  TCP_S_INVALID);
}
END_TEST

START_TEST(flag_classes)
{
	for (int c = 0; c < TCP_C_COUNT; c++)
		for (int v = 0; v < 3; v++)
			ck_assert_int_eq(tcp_class_of(class_flags[c][v]), c);
	/* RST wins over everything, SYN over FIN. */
	ck_assert_int_eq(tcp_class_of(RST | SYN | FIN), TCP_C_RST);
	ck_assert_int_eq(tcp_class_of(SYN | TCPF_FIN), TCP_C_SYN);
}
END_TEST

START_TEST(flag_combinations)
{
	int valid = 0;

	for (int f = 0; f < 256; f++)
		valid += tcp_flags_valid((uint8_t)f);
	/* 9 valid combinations of FIN SYN RST ACK URG, each with any of
	 * PSH, ECE and CWR (8 ways). */
	ck_assert_int_eq(valid, 9 * 8);
	ck_assert(tcp_flags_valid(SYN | TCPF_ECE | TCPF_CWR));
	ck_assert(tcp_flags_valid(ACK | TCPF_PSH));
	ck_assert(!tcp_flags_valid(SYN | TCPF_FIN));
	ck_assert(!tcp_flags_valid(SYN | RST));
	ck_assert(!tcp_flags_valid(TCPF_FIN));
	ck_assert(!tcp_flags_valid(0));
	ck_assert(!tcp_flags_valid(0xff));
}
END_TEST

START_TEST(names)
{
	ck_assert_str_eq(tcp_state_name(TCP_S_ESTABLISHED), "ESTABLISHED");
	ck_assert_str_eq(tcp_state_name(TCP_S_SYN_SENT2), "SYN_SENT2");
	ck_assert_str_eq(tcp_state_name(TCP_S_COUNT), "?");
}
END_TEST

/* A connection driven through tcp_new() and tcp_packet() directly. */
static struct conf conf;
static struct tcp_params params;
static struct flow_tcp t;
static uint8_t state, fflags;
static struct tcp_out out;
static uint32_t cseq, sseq; /* next sequence number of each side */

static void setup(void)
{
	conf_defaults(&conf);
	params = (struct tcp_params){
		.timeouts = conf.timeout,
		.max_retrans = conf.tcp_max_retrans,
		.loose = true,
	};
	memset(&t, 0, sizeof(t));
	state = fflags = 0;
	cseq = 1000;
	sseq = 50000;
}

static enum tcp_verdict pkt(int dir, uint8_t flags, uint32_t seq, uint32_t ack,
			    uint32_t len, uint16_t win)
{
	struct tcp_seg s = { .seq = seq,
			     .ack = ack,
			     .win = win,
			     .flags = flags,
			     .payload = len };
	enum tcp_verdict v =
		tcp_packet(&t, &state, fflags, dir, &s, &params, &out);

	if (v == TCP_V_ACCEPT && out.assured)
		fflags |= FLOW_F_ASSURED;
	if (dir == REPLY && (v == TCP_V_ACCEPT || v == TCP_V_NOREFRESH))
		fflags |= FLOW_F_SEEN_REPLY;
	return v;
}

static uint32_t adv(uint8_t flags, uint32_t len)
{
	return len + !!(flags & SYN) + !!(flags & TCPF_FIN);
}

/* The next segment from the client or the server, in step. */
static enum tcp_verdict c(uint8_t flags, uint32_t len)
{
	enum tcp_verdict v =
		pkt(ORIG, flags, cseq, flags & ACK ? sseq : 0, len, 29200);

	cseq += adv(flags, len);
	return v;
}

static enum tcp_verdict s(uint8_t flags, uint32_t len)
{
	enum tcp_verdict v =
		pkt(REPLY, flags, sseq, flags & ACK ? cseq : 0, len, 28960);

	sseq += adv(flags, len);
	return v;
}

static void open_conn(void)
{
	struct tcp_seg syn = { .seq = cseq, .win = 29200, .flags = SYN };

	ck_assert_uint_eq(tcp_new(&t, &syn, &params), TCP_S_NONE);
	ck_assert_int_eq(c(SYN, 0), TCP_V_ACCEPT);
	ck_assert_uint_eq(state, TCP_S_SYN_SENT);
	ck_assert_int_eq(s(SYNACK, 0), TCP_V_ACCEPT);
	ck_assert_uint_eq(state, TCP_S_SYN_RECV);
	ck_assert_int_eq(c(ACK, 0), TCP_V_ACCEPT);
	ck_assert_uint_eq(state, TCP_S_ESTABLISHED);
	ck_assert(fflags & FLOW_F_ASSURED);
}

START_TEST(new_connection_rules)
{
	struct tcp_seg sg = { .seq = 1, .win = 100 };

	sg.flags = SYN;
	ck_assert_uint_eq(tcp_new(&t, &sg, &params), TCP_S_NONE);
	ck_assert_uint_eq(t.side[ORIG].end, 2);
	ck_assert_uint_eq(t.side[ORIG].maxwin, 100);
	sg.flags = ACK;
	ck_assert_uint_eq(tcp_new(&t, &sg, &params), TCP_S_NONE);
	ck_assert(t.side[ORIG].flags & TCP_SIDE_BE_LIBERAL);
	ck_assert(t.side[REPLY].flags & TCP_SIDE_SACK_PERM);
	params.loose = false;
	ck_assert_uint_eq(tcp_new(&t, &sg, &params), TCP_S_INVALID);
	sg.flags = SYN;
	ck_assert_uint_eq(tcp_new(&t, &sg, &params), TCP_S_NONE);
	static const uint8_t bad[] = { RST, RST | ACK, FIN, SYNACK, 0 };

	for (size_t i = 0; i < sizeof(bad); i++) {
		uint8_t f = bad[i];

		sg.flags = f;
		ck_assert_uint_eq(tcp_new(&t, &sg, &params), TCP_S_INVALID);
	}
}
END_TEST

START_TEST(handshake_and_close)
{
	open_conn();
	ck_assert_int_eq(c(ACK | TCPF_PSH, 500), TCP_V_ACCEPT);
	ck_assert_uint_eq(out.tclass, TMO_TCP_UNACK); /* data in flight */
	ck_assert_int_eq(s(ACK, 0), TCP_V_ACCEPT);
	ck_assert_uint_eq(out.tclass, TCP_S_ESTABLISHED);
	ck_assert_int_eq(s(FIN, 0), TCP_V_ACCEPT); /* the server closes */
	ck_assert_uint_eq(state, TCP_S_FIN_WAIT);
	ck_assert(t.side[REPLY].flags & TCP_SIDE_CLOSE_INIT);
	ck_assert_int_eq(c(ACK, 0), TCP_V_ACCEPT);
	ck_assert_uint_eq(state, TCP_S_CLOSE_WAIT);
	ck_assert_int_eq(c(FIN, 0), TCP_V_ACCEPT);
	ck_assert_uint_eq(state, TCP_S_LAST_ACK);
	ck_assert_int_eq(s(ACK, 0), TCP_V_ACCEPT);
	ck_assert_uint_eq(state, TCP_S_TIME_WAIT);
	ck_assert_uint_eq(out.tclass, TCP_S_TIME_WAIT);
	/* A new SYN after a close: a new connection. */
	cseq += 100000;
	ck_assert_int_eq(c(SYN, 0), TCP_V_REOPEN);
}
END_TEST

START_TEST(rst_before_reply_closes_flow)
{
	struct tcp_seg syn = { .seq = cseq, .win = 29200, .flags = SYN };

	tcp_new(&t, &syn, &params);
	c(SYN, 0);
	/* Refused: RST|ACK with sequence 0, acknowledging the SYN. */
	ck_assert_int_eq(pkt(REPLY, RST | ACK, 0, cseq, 0, 0), TCP_V_CLOSE);
}
END_TEST

START_TEST(syn_retransmission_keeps_timer)
{
	struct tcp_seg syn = { .seq = cseq, .win = 29200, .flags = SYN };

	tcp_new(&t, &syn, &params);
	c(SYN, 0);
	ck_assert_int_eq(pkt(ORIG, SYN, cseq - 1, 0, 0, 29200),
			 TCP_V_NOREFRESH);
	ck_assert_uint_eq(state, TCP_S_SYN_SENT);
}
END_TEST

START_TEST(window_bounds)
{
	open_conn();
	/* I: data beyond what the server's window allows. */
	ck_assert_int_eq(pkt(ORIG, ACK, cseq + 29000 * 4, sseq, 10, 29200),
			 TCP_V_INVALID);
	ck_assert_uint_eq(out.invalid, TCP_INV_WINDOW);
	/* III: an ACK for bytes the server never sent. */
	ck_assert_int_eq(pkt(ORIG, ACK, cseq, sseq + 70000, 0, 29200),
			 TCP_V_INVALID);
	/* II: data from before the window: a stale retransmission is
	 * passed but not believed. */
	ck_assert_int_eq(pkt(ORIG, ACK, cseq - 100000, sseq, 10, 29200),
			 TCP_V_NOREFRESH);
	ck_assert(out.ignored);
	/* IV: an ACK far below the last acknowledged byte. */
	ck_assert_int_eq(pkt(ORIG, ACK, cseq, sseq - 200000, 0, 29200),
			 TCP_V_NOREFRESH);
	/* The connection itself is unharmed. */
	ck_assert_int_eq(c(ACK, 100), TCP_V_ACCEPT);
	ck_assert_uint_eq(state, TCP_S_ESTABLISHED);
	/* With liberal checking none of that is even looked at. */
	params.liberal = true;
	ck_assert_int_eq(pkt(ORIG, ACK, cseq + 29000 * 4, sseq, 10, 29200),
			 TCP_V_ACCEPT);
}
END_TEST

START_TEST(a_little_over_the_window)
{
	open_conn();
	/* Data right up to the window's edge is fine. */
	ck_assert_int_eq(pkt(ORIG, ACK, cseq + 28960, sseq, 0, 29200),
			 TCP_V_ACCEPT);
	/* A stack that sends a few bytes more than the window: ignored, but
	 * remembered, so that the ACK for them is in window. */
	ck_assert_int_eq(pkt(ORIG, ACK, cseq + 28960 + 50, sseq, 100, 29200),
			 TCP_V_NOREFRESH);
	ck_assert(t.side[ORIG].flags & TCP_SIDE_DATA_UNACK);
	ck_assert_int_eq(pkt(REPLY, ACK, sseq, cseq + 28960 + 150, 0, 28960),
			 TCP_V_ACCEPT);
}
END_TEST

START_TEST(window_scaling)
{
	uint8_t opts[4] = { 1, 3, 3, 7 }; /* NOP, window scale 7 */
	struct tcp_seg sg = { .seq = cseq,
			      .win = 64240,
			      .flags = SYN,
			      .opt = opts,
			      .optlen = 4 };

	ck_assert_uint_eq(tcp_new(&t, &sg, &params), TCP_S_NONE);
	ck_assert_uint_eq(t.side[ORIG].scale, 7);
	ck_assert(t.side[ORIG].flags & TCP_SIDE_WINDOW_SCALE);
	tcp_packet(&t, &state, fflags, ORIG, &sg, &params, &out);
	cseq++;
	/* Both sides scale: windows count shifted. */
	opts[3] = 8;
	sg = (struct tcp_seg){ .seq = sseq,
			       .ack = cseq,
			       .win = 65160,
			       .flags = SYNACK,
			       .opt = opts,
			       .optlen = 4 };
	ck_assert_int_eq(tcp_packet(&t, &state, fflags, REPLY, &sg, &params,
				    &out),
			 TCP_V_ACCEPT);
	fflags |= FLOW_F_SEEN_REPLY;
	sseq++;
	ck_assert_uint_eq(t.side[REPLY].scale, 8);
	ck_assert_int_eq(c(ACK, 0), TCP_V_ACCEPT);
	/* The server's window is 29200 << 8: data far past 29200 bytes
	 * is in window. */
	ck_assert_int_eq(pkt(ORIG, ACK, cseq, sseq, 1000000, 29200),
			 TCP_V_ACCEPT);
}
END_TEST

START_TEST(scaling_needs_both_sides)
{
	uint8_t opts[4] = { 1, 3, 3, 7 };
	struct tcp_seg sg = { .seq = cseq,
			      .win = 64240,
			      .flags = SYN,
			      .opt = opts,
			      .optlen = 4 };

	tcp_new(&t, &sg, &params);
	tcp_packet(&t, &state, fflags, ORIG, &sg, &params, &out);
	cseq++;
	sg = (struct tcp_seg){
		.seq = sseq, .ack = cseq, .win = 65160, .flags = SYNACK
	};
	tcp_packet(&t, &state, fflags, REPLY, &sg, &params, &out);
	ck_assert_uint_eq(t.side[ORIG].scale, 0);
	ck_assert_uint_eq(t.side[REPLY].scale, 0);
}
END_TEST

START_TEST(sack_blocks_raise_the_ack)
{
	/* SACK permitted by the server (its SYN-ACK): the client's SACK
	 * blocks count as acknowledgement. */
	uint8_t perm[4] = { 1, 1, 4, 2 };
	uint8_t sack[12] = { 1, 1, 5, 10 };
	struct tcp_seg sg = { .seq = cseq, .win = 29200, .flags = SYN };

	tcp_new(&t, &sg, &params);
	c(SYN, 0);
	sg = (struct tcp_seg){ .seq = sseq,
			       .ack = cseq,
			       .win = 28960,
			       .flags = SYNACK,
			       .opt = perm,
			       .optlen = 4 };
	tcp_packet(&t, &state, fflags, REPLY, &sg, &params, &out);
	fflags |= FLOW_F_SEEN_REPLY;
	sseq++;
	ck_assert(t.side[REPLY].flags & TCP_SIDE_SACK_PERM);
	c(ACK, 0);
	s(ACK, 5000);
	/* A SACK block whose right edge is beyond all the server sent is
	 * an ACK for unseen data: invalid. */
	put32(sack + 4, sseq - 1000);
	put32(sack + 8, sseq + 50000);
	sg = (struct tcp_seg){ .seq = cseq,
			       .ack = sseq - 5000,
			       .win = 29200,
			       .flags = ACK,
			       .opt = sack,
			       .optlen = 12 };
	ck_assert_int_eq(tcp_packet(&t, &state, fflags, ORIG, &sg, &params,
				    &out),
			 TCP_V_INVALID);
	put32(sack + 8, sseq);
	ck_assert_int_eq(tcp_packet(&t, &state, fflags, ORIG, &sg, &params,
				    &out),
			 TCP_V_ACCEPT);
}
END_TEST

START_TEST(retransmissions)
{
	open_conn();
	/* The first segment (open_conn's last ACK) and two copies. */
	for (int i = 0; i < 2; i++) {
		ck_assert_int_eq(pkt(ORIG, ACK, cseq, sseq, 0, 29200),
				 TCP_V_ACCEPT);
		ck_assert_uint_eq(out.tclass, TCP_S_ESTABLISHED);
	}
	/* The third copy of the same segment: max_retrans (3) reached. */
	ck_assert_int_eq(pkt(ORIG, ACK, cseq, sseq, 0, 29200), TCP_V_ACCEPT);
	ck_assert_uint_eq(t.retrans, 3);
	ck_assert_uint_eq(out.tclass, TMO_TCP_RETRANS);
	/* Progress resets the count. */
	ck_assert_int_eq(s(ACK, 10), TCP_V_ACCEPT);
	ck_assert_uint_eq(t.retrans, 0);
}
END_TEST

START_TEST(zero_window)
{
	open_conn();
	ck_assert_int_eq(pkt(REPLY, ACK, sseq, cseq, 0, 0), TCP_V_ACCEPT);
	ck_assert_uint_eq(out.tclass, TMO_TCP_RETRANS);
}
END_TEST

START_TEST(rst_rules)
{
	open_conn();
	c(ACK | TCPF_PSH, 100);
	s(ACK, 0);
	/* A RST far behind what the peer acknowledged: not believed. */
	ck_assert_int_eq(pkt(ORIG, RST, cseq - 5000, 0, 0, 0), TCP_V_INVALID);
	ck_assert_uint_eq(out.invalid, TCP_INV_RST);
	ck_assert_uint_eq(state, TCP_S_ESTABLISHED);
	/* Told to ignore that check, it passes; still not in step, it does
	 * not close the connection, only shortens its timer. */
	params.ignore_invalid_rst = true;
	ck_assert_int_eq(pkt(ORIG, RST, cseq - 5000, 0, 0, 0), TCP_V_ACCEPT);
	ck_assert_uint_eq(state, TCP_S_ESTABLISHED);
	ck_assert_uint_eq(out.tclass, TCP_S_CLOSE);
}
END_TEST

START_TEST(rst_in_step_closes)
{
	open_conn();
	ck_assert_int_eq(c(RST, 0), TCP_V_ACCEPT);
	ck_assert_uint_eq(state, TCP_S_CLOSE);
	ck_assert_uint_eq(out.tclass, TCP_S_CLOSE);
}
END_TEST

START_TEST(rst_slightly_off_keeps_state)
{
	open_conn();
	c(ACK | TCPF_PSH, 100);
	s(ACK, 0);
	/* In window but not at the exact acknowledged byte: the state
	 * stays, so that a challenge ACK can still get through. */
	ck_assert_int_eq(pkt(ORIG, RST, cseq + 10, 0, 0, 0), TCP_V_ACCEPT);
	ck_assert_uint_eq(state, TCP_S_ESTABLISHED);
	ck_assert_uint_eq(out.tclass, TCP_S_CLOSE);
}
END_TEST

START_TEST(resync_after_ignored_syn)
{
	open_conn();
	/* The client, having lost the connection, opens a new one on the
	 * same ports: a SYN in ESTABLISHED is ignored, but noted. */
	cseq += 123456;
	ck_assert_int_eq(pkt(ORIG, SYN, cseq, 0, 0, 29200), TCP_V_NOREFRESH);
	ck_assert_uint_eq(t.last_index, TCP_C_SYN);
	cseq++;
	/* The server answers it: both ends agree, so we follow. */
	ck_assert_int_eq(pkt(REPLY, SYNACK, 777, cseq, 0, 28960), TCP_V_ACCEPT);
	ck_assert_uint_eq(state, TCP_S_SYN_RECV);
	sseq = 778;
	ck_assert_int_eq(c(ACK, 0), TCP_V_ACCEPT);
	ck_assert_uint_eq(state, TCP_S_ESTABLISHED);
}
END_TEST

START_TEST(reopen_after_rst)
{
	open_conn();
	c(RST, 0);
	ck_assert_uint_eq(state, TCP_S_CLOSE);
	ck_assert_int_eq(pkt(ORIG, SYN, cseq + 999, 0, 0, 29200), TCP_V_REOPEN);
}
END_TEST

START_TEST(challenge_ack_in_last_ack)
{
	open_conn();
	c(FIN, 0);
	s(FIN, 0);
	ck_assert_uint_eq(state, TCP_S_LAST_ACK);
	/* A SYN from the client in LAST_ACK is ignored; the server's
	 * challenge ACK that follows must not count as the last ACK. */
	ck_assert_int_eq(pkt(ORIG, SYN, cseq + 5000, 0, 0, 29200),
			 TCP_V_NOREFRESH);
	ck_assert_int_eq(pkt(REPLY, ACK, sseq, cseq, 0, 28960),
			 TCP_V_NOREFRESH);
	ck_assert_uint_eq(state, TCP_S_LAST_ACK);
}
END_TEST

START_TEST(simultaneous_open)
{
	struct tcp_seg sg = { .seq = cseq, .win = 29200, .flags = SYN };

	tcp_new(&t, &sg, &params);
	c(SYN, 0);
	/* The server's own SYN: like the kernel, taken without renewing
	 * the timer (no reply was seen before it). */
	ck_assert_int_eq(s(SYN, 0), TCP_V_NOREFRESH);
	ck_assert_uint_eq(state, TCP_S_SYN_SENT2);
	ck_assert(t.last_flags & TCP_LAST_SIMULTANEOUS);
	ck_assert_int_eq(c(SYNACK, 0), TCP_V_ACCEPT);
	ck_assert_uint_eq(state, TCP_S_SYN_RECV);
	ck_assert_int_eq(s(SYNACK, 0), TCP_V_NOREFRESH); /* retransmitted */
	ck_assert_int_eq(s(ACK, 0), TCP_V_ACCEPT);
	ck_assert_uint_eq(state, TCP_S_ESTABLISHED);
}
END_TEST

START_TEST(midstream_pickup)
{
	struct tcp_seg sg = { .seq = 5000,
			      .ack = 9000,
			      .win = 1000,
			      .flags = ACK,
			      .payload = 10 };

	ck_assert_uint_eq(tcp_new(&t, &sg, &params), TCP_S_NONE);
	ck_assert_int_eq(tcp_packet(&t, &state, fflags, ORIG, &sg, &params,
				    &out),
			 TCP_V_ACCEPT);
	ck_assert_uint_eq(state, TCP_S_ESTABLISHED);
	/* Unanswered: five minutes, not five days. */
	ck_assert_uint_eq(conf.timeout[out.tclass], 300);
	/* The other side answers with anything plausible: assured. */
	fflags |= FLOW_F_SEEN_REPLY;
	sg = (struct tcp_seg){
		.seq = 9000, .ack = 5010, .win = 1000, .flags = ACK
	};
	ck_assert_int_eq(tcp_packet(&t, &state, fflags, REPLY, &sg, &params,
				    &out),
			 TCP_V_ACCEPT);
	ck_assert(out.assured);
}
END_TEST

static Suite *tcp_suite(void)
{
	Suite *s = suite_create("tcp");
	TCase *tc = tcase_create("table");
	TCase *tr = tcase_create("tracking");

	tcase_add_test(tc, every_transition);
	tcase_add_test(tc, flag_classes);
	tcase_add_test(tc, flag_combinations);
	tcase_add_test(tc, names);
	suite_add_tcase(s, tc);
	tcase_add_checked_fixture(tr, setup, NULL);
	tcase_add_test(tr, new_connection_rules);
	tcase_add_test(tr, handshake_and_close);
	tcase_add_test(tr, rst_before_reply_closes_flow);
	tcase_add_test(tr, syn_retransmission_keeps_timer);
	tcase_add_test(tr, window_bounds);
	tcase_add_test(tr, a_little_over_the_window);
	tcase_add_test(tr, window_scaling);
	tcase_add_test(tr, scaling_needs_both_sides);
	tcase_add_test(tr, sack_blocks_raise_the_ack);
	tcase_add_test(tr, retransmissions);
	tcase_add_test(tr, zero_window);
	tcase_add_test(tr, rst_rules);
	tcase_add_test(tr, rst_in_step_closes);
	tcase_add_test(tr, rst_slightly_off_keeps_state);
	tcase_add_test(tr, resync_after_ignored_syn);
	tcase_add_test(tr, reopen_after_rst);
	tcase_add_test(tr, challenge_ack_in_last_ack);
	tcase_add_test(tr, simultaneous_open);
	tcase_add_test(tr, midstream_pickup);
	suite_add_tcase(s, tr);
	return s;
}

int main(void)
{
	return tu_run(tcp_suite());
}
