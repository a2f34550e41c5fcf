// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * check_tcp.c - TCP state transitions and flag validity, against the
 * behaviour documented in nf_conntrack_proto_tcp.c.
 */
#include <check.h>

#include "pkt.h"
#include "tcp.h"
#include "testutil.h"

enum { ORIG = 0, REPLY = 1 };
#define SYN TCPF_SYN
#define SYNACK (TCPF_SYN | TCPF_ACK)
#define FIN (TCPF_FIN | TCPF_ACK)
#define ACK TCPF_ACK
#define RST TCPF_RST

START_TEST(opening)
{
	ck_assert_uint_eq(tcp_next_state(TCP_S_NONE, ORIG, SYN),
			  TCP_S_SYN_SENT);
	ck_assert_uint_eq(tcp_next_state(TCP_S_NONE, ORIG, ACK),
			  TCP_S_ESTABLISHED);
	ck_assert_uint_eq(tcp_next_state(TCP_S_NONE, ORIG, SYNACK),
			  TCP_S_INVALID);
	ck_assert_uint_eq(tcp_next_state(TCP_S_NONE, ORIG, FIN), TCP_S_INVALID);
	ck_assert_uint_eq(tcp_next_state(TCP_S_NONE, ORIG, RST), TCP_S_INVALID);
	ck_assert_uint_eq(tcp_next_state(TCP_S_NONE, ORIG, 0), TCP_S_INVALID);
}
END_TEST

START_TEST(three_way_handshake)
{
	uint8_t s = TCP_S_SYN_SENT;

	ck_assert_uint_eq(tcp_next_state(s, ORIG, SYN), TCP_S_SYN_SENT);
	ck_assert_uint_eq(tcp_next_state(s, ORIG, ACK), TCP_S_INVALID);
	ck_assert_uint_eq(tcp_next_state(s, REPLY, ACK), TCP_S_IGNORE);
	s = tcp_next_state(s, REPLY, SYNACK);
	ck_assert_uint_eq(s, TCP_S_SYN_RECV);
	ck_assert_uint_eq(tcp_next_state(s, REPLY, SYNACK), TCP_S_SYN_RECV);
	ck_assert_uint_eq(tcp_next_state(s, ORIG, SYN), TCP_S_IGNORE);
	s = tcp_next_state(s, ORIG, ACK);
	ck_assert_uint_eq(s, TCP_S_ESTABLISHED);
	ck_assert_uint_eq(tcp_next_state(s, REPLY, SYNACK), TCP_S_IGNORE);
	ck_assert_uint_eq(tcp_next_state(s, REPLY, SYN), TCP_S_INVALID);
}
END_TEST

START_TEST(simultaneous_open)
{
	uint8_t s = tcp_next_state(TCP_S_SYN_SENT, REPLY, SYN);

	ck_assert_uint_eq(s, TCP_S_SYN_SENT2);
	ck_assert_uint_eq(tcp_next_state(s, ORIG, SYN), TCP_S_SYN_SENT2);
	ck_assert_uint_eq(tcp_next_state(s, ORIG, SYNACK), TCP_S_SYN_RECV);
	ck_assert_uint_eq(tcp_next_state(s, REPLY, SYNACK), TCP_S_SYN_RECV);
}
END_TEST

START_TEST(closing)
{
	for (int dir = 0; dir < 2; dir++) {
		uint8_t s = tcp_next_state(TCP_S_ESTABLISHED, dir, FIN);

		ck_assert_uint_eq(s, TCP_S_FIN_WAIT);
		s = tcp_next_state(s, !dir, ACK);
		ck_assert_uint_eq(s, TCP_S_CLOSE_WAIT);
		s = tcp_next_state(s, !dir, FIN);
		ck_assert_uint_eq(s, TCP_S_LAST_ACK);
		ck_assert_uint_eq(tcp_next_state(s, !dir, FIN), TCP_S_LAST_ACK);
		s = tcp_next_state(s, dir, ACK);
		ck_assert_uint_eq(s, TCP_S_TIME_WAIT);
		ck_assert_uint_eq(tcp_next_state(s, dir, ACK), TCP_S_TIME_WAIT);
	}
	/* FINs crossing. */
	ck_assert_uint_eq(tcp_next_state(TCP_S_FIN_WAIT, REPLY, FIN),
			  TCP_S_LAST_ACK);
}
END_TEST

START_TEST(reset)
{
	for (uint8_t s = TCP_S_SYN_SENT; s < TCP_S_COUNT; s++) {
		ck_assert_uint_eq(tcp_next_state(s, ORIG, RST), TCP_S_CLOSE);
		ck_assert_uint_eq(tcp_next_state(s, REPLY, RST), TCP_S_CLOSE);
		ck_assert_uint_eq(tcp_next_state(s, ORIG, RST | ACK),
				  TCP_S_CLOSE);
	}
}
END_TEST

START_TEST(reopen_from_time_wait)
{
	ck_assert_uint_eq(tcp_next_state(TCP_S_TIME_WAIT, ORIG, SYN),
			  TCP_S_SYN_SENT);
	ck_assert_uint_eq(tcp_next_state(TCP_S_CLOSE, ORIG, SYN),
			  TCP_S_SYN_SENT);
	ck_assert_uint_eq(tcp_next_state(TCP_S_TIME_WAIT, REPLY, SYN),
			  TCP_S_INVALID);
}
END_TEST

START_TEST(no_flags_never_valid)
{
	for (uint8_t s = 0; s < TCP_S_COUNT; s++)
		for (int dir = 0; dir < 2; dir++)
			ck_assert_uint_eq(tcp_next_state(s, dir, TCPF_PSH),
					  TCP_S_INVALID);
	ck_assert_uint_eq(tcp_next_state(TCP_S_COUNT, ORIG, ACK),
			  TCP_S_INVALID);
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

static Suite *tcp_suite(void)
{
	Suite *s = suite_create("tcp");
	TCase *tc = tcase_create("tcp");

	tcase_add_test(tc, opening);
	tcase_add_test(tc, three_way_handshake);
	tcase_add_test(tc, simultaneous_open);
	tcase_add_test(tc, closing);
	tcase_add_test(tc, reset);
	tcase_add_test(tc, reopen_from_time_wait);
	tcase_add_test(tc, no_flags_never_valid);
	tcase_add_test(tc, flag_combinations);
	tcase_add_test(tc, names);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(tcp_suite());
}
