// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * check_sctp.c - the SCTP tracker as the kernel's: the four-way handshake
 * to ESTABLISHED (assured on the way), shutdown to CLOSED, verification
 * tags checked, INIT retransmissions ignored, what may not open an
 * association, a HEARTBEAT pickup, misplaced chunks, chunks past the
 * capture.
 */
#include <check.h>
#include <string.h>

#include "sctp.h"
#include "testutil.h"

enum {
	C_DATA = 0,
	C_INIT = 1,
	C_INIT_ACK = 2,
	C_SACK = 3,
	C_HB = 4,
	C_HB_ACK = 5,
	C_ABORT = 6,
	C_SHUTDOWN = 7,
	C_SHUTDOWN_ACK = 8,
	C_COOKIE_ECHO = 10,
	C_COOKIE_ACK = 11,
	C_SHUTDOWN_COMPLETE = 14
};

#define ATAG 0x11110000u /* the client's initiate tag */
#define BTAG 0x22220000u /* the server's */

static struct flow_sctp s;
static uint8_t state;
static struct sctp_out out;
static uint8_t pkt[256];
static size_t plen;

/* Start a packet with this verification tag. */
static void begin(uint32_t vtag)
{
	plen = tu_sctp(pkt, 5000, 3868, vtag);
}

/* Add a chunk of type with len bytes of body (INIT and INIT ACK: the
 * tag leads it). */
static void add(uint8_t type, uint8_t flags, uint32_t tag, size_t len)
{
	uint8_t *c = pkt + plen;

	memset(c, 0, 4 + len);
	c[0] = type;
	c[1] = flags;
	put16(c + 2, (uint16_t)(4 + len));
	if (len >= 4)
		put32(c + 4, tag);
	plen += (4 + len + 3) & ~(size_t)3;
}

static enum sctp_verdict go(bool is_new, int dir)
{
	return sctp_packet(&s, &state, is_new, dir, pkt, plen, plen, &out);
}

static enum sctp_verdict one(bool is_new, int dir, uint32_t vtag, uint8_t type,
			     uint32_t tag)
{
	begin(vtag);
	add(type, 0, tag,
	    type == C_INIT || type == C_INIT_ACK ? 16 :
	    type == C_DATA			 ? 16 :
	    type == C_SACK			 ? 12 :
						   0);
	return go(is_new, dir);
}

static void handshake(void)
{
	ck_assert_int_eq(one(true, 0, 0, C_INIT, ATAG), SCTP_V_ACCEPT);
	ck_assert_uint_eq(state, SCTP_S_CLOSED);
	ck_assert_int_eq(one(false, 1, ATAG, C_INIT_ACK, BTAG), SCTP_V_ACCEPT);
	ck_assert_uint_eq(state, SCTP_S_COOKIE_WAIT);
	ck_assert_int_eq(one(false, 0, BTAG, C_COOKIE_ECHO, 0), SCTP_V_ACCEPT);
	ck_assert_uint_eq(state, SCTP_S_COOKIE_ECHOED);
	ck_assert(!out.assured);
	ck_assert_int_eq(one(false, 1, ATAG, C_COOKIE_ACK, 0), SCTP_V_ACCEPT);
	ck_assert_uint_eq(state, SCTP_S_ESTABLISHED);
	ck_assert(out.assured);
}

static void setup(void)
{
	memset(&s, 0xa5, sizeof(s)); /* the engine's slot is not cleared */
	state = SCTP_S_NONE;
}

START_TEST(handshake_to_established_then_shutdown)
{
	handshake();
	ck_assert_int_eq(one(false, 0, BTAG, C_DATA, 0), SCTP_V_ACCEPT);
	ck_assert_uint_eq(out.state, SCTP_S_ESTABLISHED);
	ck_assert(!out.assured); /* once, on the way in */
	ck_assert_int_eq(one(false, 0, BTAG, C_SHUTDOWN, 0), SCTP_V_ACCEPT);
	ck_assert_uint_eq(state, SCTP_S_SHUTDOWN_SENT);
	ck_assert(sctp_closing(state));
	ck_assert_int_eq(one(false, 1, ATAG, C_SHUTDOWN_ACK, 0), SCTP_V_ACCEPT);
	ck_assert_uint_eq(state, SCTP_S_SHUTDOWN_ACK_SENT);
	ck_assert_int_eq(one(false, 0, BTAG, C_SHUTDOWN_COMPLETE, 0),
			 SCTP_V_ACCEPT);
	ck_assert_uint_eq(state, SCTP_S_CLOSED);
	ck_assert_str_eq(sctp_state_name(state), "CLOSED");
}
END_TEST

START_TEST(wrong_vtag_invalid)
{
	handshake();
	ck_assert_int_eq(one(false, 0, 0xdead, C_DATA, 0), SCTP_V_INVALID);
	ck_assert_uint_eq(out.invalid, SCTP_INV_VTAG);
	/* A reply carries the client's tag, not the server's. */
	ck_assert_int_eq(one(false, 1, BTAG, C_SACK, 0), SCTP_V_INVALID);
	/* ABORT: its own tag, or with T the peer's. */
	ck_assert_int_eq(one(false, 1, BTAG, C_ABORT, 0), SCTP_V_INVALID);
	begin(BTAG);
	add(C_ABORT, 1, 0, 0);
	ck_assert_int_eq(go(false, 1), SCTP_V_ACCEPT);
	ck_assert_uint_eq(state, SCTP_S_CLOSED);
}
END_TEST

START_TEST(init_retransmission_ignored)
{
	ck_assert_int_eq(one(true, 0, 0, C_INIT, ATAG), SCTP_V_ACCEPT);
	ck_assert_int_eq(one(false, 0, 0, C_INIT, ATAG), SCTP_V_IGNORE);
	/* An INIT must carry tag 0. */
	ck_assert_int_eq(one(false, 0, 7, C_INIT, ATAG), SCTP_V_INVALID);
}
END_TEST

START_TEST(what_cannot_open)
{
	static const uint8_t no[] = { C_DATA, C_SACK, C_ABORT,
				      C_SHUTDOWN_COMPLETE, C_COOKIE_ACK };

	for (size_t i = 0; i < sizeof(no); i++) {
		setup();
		ck_assert_int_eq(one(true, 0, 5, no[i], 0), SCTP_V_INVALID);
	}
	setup();
	ck_assert_int_eq(one(true, 0, 5, C_INIT, ATAG), SCTP_V_INVALID);
	ck_assert_uint_eq(out.invalid, SCTP_INV_NEW);
	/* A reply may not open one: the engine never asks, but a new
	 * flow in the reply direction has no row. */
	setup();
	ck_assert_int_eq(one(false, 1, 0, C_INIT, ATAG), SCTP_V_INVALID);
	ck_assert_uint_eq(out.invalid, SCTP_INV_STATE);
}
END_TEST

START_TEST(heartbeat_pickup)
{
	ck_assert_int_eq(one(true, 0, BTAG, C_HB, 0), SCTP_V_ACCEPT);
	ck_assert_uint_eq(state, SCTP_S_HEARTBEAT_SENT);
	ck_assert_int_eq(one(false, 1, ATAG, C_HB_ACK, 0), SCTP_V_ACCEPT);
	ck_assert_uint_eq(state, SCTP_S_ESTABLISHED);
	ck_assert(out.assured);
	/* Both tags are learnt. */
	ck_assert_int_eq(one(false, 0, BTAG, C_DATA, 0), SCTP_V_ACCEPT);
	ck_assert_int_eq(one(false, 1, BTAG, C_SACK, 0), SCTP_V_INVALID);
}
END_TEST

START_TEST(misplaced_chunks_invalid)
{
	handshake();
	/* COOKIE ECHO only first; INIT only alone; no zero length. */
	begin(BTAG);
	add(C_DATA, 3, 0, 16);
	add(C_COOKIE_ECHO, 0, 0, 4);
	ck_assert_int_eq(go(false, 0), SCTP_V_INVALID);
	ck_assert_uint_eq(out.invalid, SCTP_INV_CHUNKS);
	begin(0);
	add(C_INIT, 0, ATAG, 16);
	add(C_DATA, 3, 0, 16);
	ck_assert_int_eq(go(false, 0), SCTP_V_INVALID);
	begin(BTAG);
	ck_assert_int_eq(go(false, 0), SCTP_V_INVALID); /* no chunk */
	begin(BTAG);
	add(C_DATA, 3, 0, 16);
	pkt[14] = pkt[15] = 0;
	ck_assert_int_eq(go(false, 0), SCTP_V_INVALID);
	ck_assert_uint_eq(state, SCTP_S_ESTABLISHED);
}
END_TEST

START_TEST(chunks_past_capture_unseen)
{
	handshake();
	begin(BTAG);
	add(C_DATA, 3, 0, 16);
	add(C_SHUTDOWN, 0, 0, 4);
	/* Captured up to the DATA chunk only: the SHUTDOWN is not seen. */
	ck_assert_int_eq(sctp_packet(&s, &state, false, 0, pkt, 32, plen, &out),
			 SCTP_V_ACCEPT);
	ck_assert_uint_eq(state, SCTP_S_ESTABLISHED);
	ck_assert_int_eq(go(false, 0), SCTP_V_ACCEPT);
	ck_assert_uint_eq(state, SCTP_S_SHUTDOWN_SENT);
}
END_TEST

static Suite *sctp_suite(void)
{
	Suite *su = suite_create("sctp");
	TCase *tc = tcase_create("sctp");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, handshake_to_established_then_shutdown);
	tcase_add_test(tc, wrong_vtag_invalid);
	tcase_add_test(tc, init_retransmission_ignored);
	tcase_add_test(tc, what_cannot_open);
	tcase_add_test(tc, heartbeat_pickup);
	tcase_add_test(tc, misplaced_chunks_invalid);
	tcase_add_test(tc, chunks_past_capture_unseen);
	suite_add_tcase(su, tc);
	return su;
}

int main(void)
{
	return tu_run(sctp_suite());
}
