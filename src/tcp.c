// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * tcp.c - TCP state transitions; see tcp.h.
 *
 * The transitions are those of nf_conntrack's table (which documents each
 * of them); they are written here as one row per packet class and
 * direction, indexed by the current state.
 */
#include "pkt.h"
#include "tcp.h"

enum { SYN, SYNACK, FIN, ACK, RST, NONE, CLASSES };

#define sNO TCP_S_NONE
#define sSS TCP_S_SYN_SENT
#define sSR TCP_S_SYN_RECV
#define sES TCP_S_ESTABLISHED
#define sFW TCP_S_FIN_WAIT
#define sCW TCP_S_CLOSE_WAIT
#define sLA TCP_S_LAST_ACK
#define sTW TCP_S_TIME_WAIT
#define sCL TCP_S_CLOSE
#define sS2 TCP_S_SYN_SENT2
#define sIG TCP_S_IGNORE
#define sIV TCP_S_INVALID

/* next[dir][class][state]; columns: NO SS SR ES FW CW LA TW CL S2 */
static const uint8_t next[2][CLASSES][TCP_S_COUNT] = {
	{
		/* original direction */
		[SYN] = { sSS, sSS, sIG, sIG, sIG, sIG, sIG, sSS, sSS, sS2 },
		[SYNACK] = { sIV, sIV, sIG, sIG, sIG, sIG, sIG, sIG, sIG, sSR },
		[FIN] = { sIV, sIV, sFW, sFW, sLA, sLA, sLA, sTW, sCL, sIV },
		[ACK] = { sES, sIV, sES, sES, sCW, sCW, sTW, sTW, sCL, sIV },
		[RST] = { sIV, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL },
		[NONE] = { sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV },
	},
	{
		/* reply direction */
		[SYN] = { sIV, sS2, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sS2 },
		[SYNACK] = { sIV, sSR, sSR, sIG, sIG, sIG, sIG, sIG, sIG, sSR },
		[FIN] = { sIV, sIV, sFW, sFW, sLA, sLA, sLA, sTW, sCL, sIV },
		[ACK] = { sIV, sIG, sSR, sES, sCW, sCW, sTW, sTW, sCL, sIG },
		[RST] = { sIV, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL },
		[NONE] = { sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV },
	},
};

static const char *const names[TCP_S_COUNT] = {
	"NONE",	      "SYN_SENT", "SYN_RECV",  "ESTABLISHED", "FIN_WAIT",
	"CLOSE_WAIT", "LAST_ACK", "TIME_WAIT", "CLOSE",	      "SYN_SENT2",
};

const char *tcp_state_name(uint8_t state)
{
	return state < TCP_S_COUNT ? names[state] : "?";
}

bool tcp_flags_valid(uint8_t flags)
{
	switch (flags &
		(TCPF_FIN | TCPF_SYN | TCPF_RST | TCPF_ACK | TCPF_URG)) {
	case TCPF_SYN:
	case TCPF_SYN | TCPF_URG:
	case TCPF_SYN | TCPF_ACK:
	case TCPF_RST:
	case TCPF_RST | TCPF_ACK:
	case TCPF_FIN | TCPF_ACK:
	case TCPF_FIN | TCPF_ACK | TCPF_URG:
	case TCPF_ACK:
	case TCPF_ACK | TCPF_URG:
		return true;
	default:
		return false;
	}
}

static int flag_class(uint8_t flags)
{
	if (flags & TCPF_RST)
		return RST;
	if (flags & TCPF_SYN)
		return flags & TCPF_ACK ? SYNACK : SYN;
	if (flags & TCPF_FIN)
		return FIN;
	if (flags & TCPF_ACK)
		return ACK;
	return NONE;
}

uint8_t tcp_next_state(uint8_t state, int dir, uint8_t flags)
{
	if (state >= TCP_S_COUNT)
		return TCP_S_INVALID;
	return next[dir != 0][flag_class(flags)][state];
}
