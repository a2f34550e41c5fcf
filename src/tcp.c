// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * tcp.c - TCP connection tracking; see tcp.h.
 *
 * This follows nf_conntrack_proto_tcp.c closely on purpose: a connection
 * nfqtrackd calls valid must be one the kernel would, state for state, or
 * replacing the kernel's tracker would change what a server accepts. The
 * kernel's comments explain each rule at length; the ones here say what
 * each piece is for.
 */
#include <string.h>

#include "flow.h"
#include "pkt.h"
#include "tcp.h"
#include "timeout.h"

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

enum { ORIGINAL, REPLY };

/* next[dir][class][state]; columns: NO SS SR ES FW CW LA TW CL S2 */
static const uint8_t next[2][TCP_C_COUNT][TCP_S_COUNT] = {
	[ORIGINAL] = {
		[TCP_C_SYN] = { sSS, sSS, sIG, sIG, sIG, sIG, sIG, sSS, sSS, sS2 },
		[TCP_C_SYNACK] = { sIV, sIV, sSR, sIV, sIV, sIV, sIV, sIV, sIV, sSR },
		[TCP_C_FIN] = { sIV, sIV, sFW, sFW, sLA, sLA, sLA, sTW, sCL, sIV },
		[TCP_C_ACK] = { sES, sIV, sES, sES, sCW, sCW, sTW, sTW, sCL, sIV },
		[TCP_C_RST] = { sIV, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL },
		[TCP_C_NONE] = { sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV },
	},
	[REPLY] = {
		[TCP_C_SYN] = { sIV, sS2, sIV, sIV, sIV, sIV, sIV, sSS, sIV, sS2 },
		[TCP_C_SYNACK] = { sIV, sSR, sIG, sIG, sIG, sIG, sIG, sIG, sIG, sSR },
		[TCP_C_FIN] = { sIV, sIV, sFW, sFW, sLA, sLA, sLA, sTW, sCL, sIV },
		[TCP_C_ACK] = { sIV, sIG, sSR, sES, sCW, sCW, sTW, sTW, sCL, sIG },
		[TCP_C_RST] = { sIV, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL },
		[TCP_C_NONE] = { sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV },
	},
};

static const char *const names[TCP_S_COUNT] = {
	"NONE",	      "SYN_SENT", "SYN_RECV",  "ESTABLISHED", "FIN_WAIT",
	"CLOSE_WAIT", "LAST_ACK", "TIME_WAIT", "CLOSE",	      "SYN_SENT2",
};

/* The kernel's MAXACKWINCONST: how far below the last byte sent an ACK
 * may lag and still count. */
#define MAX_ACK_WIN_CONST 66000u
#define MAX_WSCALE 14

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

enum tcp_class tcp_class_of(uint8_t flags)
{
	if (flags & TCPF_RST)
		return TCP_C_RST;
	if (flags & TCPF_SYN)
		return flags & TCPF_ACK ? TCP_C_SYNACK : TCP_C_SYN;
	if (flags & TCPF_FIN)
		return TCP_C_FIN;
	if (flags & TCPF_ACK)
		return TCP_C_ACK;
	return TCP_C_NONE;
}

uint8_t tcp_next_state(uint8_t state, int dir, uint8_t flags)
{
	if (state >= TCP_S_COUNT)
		return TCP_S_INVALID;
	return next[dir != 0][tcp_class_of(flags)][state];
}

/* Sequence-number comparisons that survive wrapping. */
static inline bool before(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) < 0;
}

static inline bool after(uint32_t a, uint32_t b)
{
	return before(b, a);
}

static inline uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

/* The sequence number after this segment: data, plus one for SYN and FIN. */
static uint32_t seg_end(const struct tcp_seg *s)
{
	return s->seq + s->payload + !!(s->flags & TCPF_SYN) +
	       !!(s->flags & TCPF_FIN);
}

/* Walk the options, calling back for each complete one. Malformed or
 * partial options end the walk, as in the kernel. */
#define OPT_EOL 0
#define OPT_NOP 1
#define OPT_WINDOW 3
#define OPT_SACK_PERM 4
#define OPT_SACK 5

/* A walk over a segment's options. */
struct opt_walk {
	const uint8_t *p;
	int len;
};

/* The next option's kind, data and total size; false at the end of the
 * list or at an option whose length does not fit, as the kernel stops. */
static bool next_option(struct opt_walk *w, uint8_t *kind, const uint8_t **data,
			int *size)
{
	while (w->len > 0) {
		uint8_t op = w->p[0];

		if (op == OPT_EOL)
			return false;
		if (op == OPT_NOP) {
			w->p++;
			w->len--;
			continue;
		}
		if (w->len < 2 || w->p[1] < 2 || w->p[1] > w->len)
			return false;
		*kind = op;
		*data = w->p + 2;
		*size = w->p[1];
		w->p += *size;
		w->len -= *size;
		return true;
	}
	return false;
}

/* Window scale and SACK permission from a SYN's options. */
static void read_options(const struct tcp_seg *s, struct tcp_side *side)
{
	struct opt_walk w = { s->opt, s->optlen };
	const uint8_t *data;
	uint8_t kind;
	int size;

	if (!w.len || !w.p)
		return;
	side->scale = 0;
	side->flags &= TCP_SIDE_BE_LIBERAL;
	while (next_option(&w, &kind, &data, &size)) {
		if (kind == OPT_SACK_PERM && size == 2) {
			side->flags |= TCP_SIDE_SACK_PERM;
		} else if (kind == OPT_WINDOW && size == 3) {
			side->scale = *data < MAX_WSCALE ? *data : MAX_WSCALE;
			side->flags |= TCP_SIDE_WINDOW_SCALE;
		}
	}
}

/* The highest right edge of the first SACK option's blocks, if it is
 * above *sack. */
static void read_sack(const struct tcp_seg *s, uint32_t *sack)
{
	struct opt_walk w = { s->opt, s->optlen };
	const uint8_t *data;
	uint8_t kind;
	int size;

	if (!w.len || !w.p)
		return;
	while (next_option(&w, &kind, &data, &size)) {
		if (kind == OPT_SACK && size >= 10 && (size - 2) % 8 == 0) {
			for (int i = 0; i < size - 2; i += 8) {
				uint32_t right = rd32(data + i + 4);

				if (after(right, *sack))
					*sack = right;
			}
			return;
		}
	}
}

/* A SYN or SYN-ACK (re)starts a side's window. */
static void init_sender(struct tcp_side *snd, struct tcp_side *rcv,
			const struct tcp_seg *s, uint32_t end, int dir)
{
	snd->end = snd->maxend = end;
	snd->maxwin = s->win ? s->win : 1;
	read_options(s, snd);
	/* RFC 1323: scaling only when both sides asked for it. */
	if (dir == REPLY && !(snd->flags & TCP_SIDE_WINDOW_SCALE &&
			      rcv->flags & TCP_SIDE_WINDOW_SCALE)) {
		snd->scale = 0;
		rcv->scale = 0;
	}
}

uint8_t tcp_new(struct flow_tcp *t, const struct tcp_seg *s,
		const struct tcp_params *p)
{
	uint8_t st = next[ORIGINAL][tcp_class_of(s->flags)][TCP_S_NONE];
	struct tcp_side *o = &t->side[ORIGINAL];

	if (st >= TCP_S_COUNT || (st != TCP_S_SYN_SENT && !p->loose))
		return TCP_S_INVALID;
	memset(t, 0, sizeof(*t));
	o->end = seg_end(s);
	o->maxwin = s->win ? s->win : 1;
	if (st == TCP_S_SYN_SENT) {
		o->maxend = o->end;
		read_options(s, o);
	} else {
		/* Picked up mid-stream: the window history is lost, so
		 * assume SACK and check no window, as the kernel does. */
		o->maxend = o->end + o->maxwin;
		o->flags = TCP_SIDE_SACK_PERM | TCP_SIDE_BE_LIBERAL;
		t->side[REPLY].flags = o->flags;
	}
	t->last_index = TCP_C_NONE;
	return TCP_S_NONE;
}

enum window { W_ACCEPT, W_IGNORE, W_INVALID };

/* A failed window check: ignored or invalid, unless the sender's window
 * is not to be checked at all. */
static enum window window_fail(const struct tcp_side *snd,
			       const struct tcp_params *p, enum window w)
{
	return (snd->flags & TCP_SIDE_BE_LIBERAL) || p->liberal ? W_ACCEPT : w;
}

static enum window in_window(struct flow_tcp *t, uint8_t state, int dir,
			     enum tcp_class idx, const struct tcp_seg *s,
			     const struct tcp_params *p)
{
	struct tcp_side *snd = &t->side[dir], *rcv = &t->side[!dir];
	uint32_t seq = s->seq, ack = s->ack, sack = s->ack;
	uint32_t end = seg_end(s), win = s->win, swin, maxackwin;
	bool syn = s->flags & TCPF_SYN, has_ack = s->flags & TCPF_ACK;

	if (rcv->flags & TCP_SIDE_SACK_PERM)
		read_sack(s, &sack);

	if (snd->maxwin == 0) {
		if (syn) {
			init_sender(snd, rcv, s, end, dir);
			if (!has_ack)
				return W_ACCEPT; /* simultaneous open */
		} else {
			/* First packet this way of a picked-up connection. */
			snd->end = end;
			swin = win << snd->scale;
			snd->maxwin = swin ? swin : 1;
			snd->maxend = end + snd->maxwin;
			if (rcv->maxwin == 0)
				rcv->end = rcv->maxend = sack;
			else if (sack == rcv->end + 1)
				rcv->end++; /* a reply to a keepalive */
		}
	} else if (syn && after(end, snd->end) &&
		   (state == TCP_S_SYN_SENT || state == TCP_S_SYN_RECV)) {
		/* A reinitialised SYN (RFC 793): start this side over. */
		init_sender(snd, rcv, s, end, dir);
		if (dir == REPLY && !has_ack)
			return W_ACCEPT;
	}

	if (!has_ack ||
	    ((s->flags & (TCPF_ACK | TCPF_RST)) == (TCPF_ACK | TCPF_RST) &&
	     ack == 0))
		ack = sack = rcv->end; /* no ACK, or a broken stack's RST */

	if ((s->flags & TCPF_RST) && seq == 0 && state == TCP_S_SYN_SENT)
		seq = end = snd->end; /* RST answering a SYN */

	maxackwin = snd->maxwin > MAX_ACK_WIN_CONST ? snd->maxwin :
						      MAX_ACK_WIN_CONST;
	if (!before(seq, snd->maxend + 1)) {
		/* Sequence number beyond what the receiver allowed. */
		uint32_t overshot = end - snd->maxend + 1;
		bool ack_ok = after(sack, rcv->end - maxackwin - 1);
		bool in_rcv = rcv->maxwin &&
			      after(end, snd->end - rcv->maxwin - 1);

		if (in_rcv && ack_ok && overshot <= rcv->maxwin &&
		    before(sack, rcv->end + 1)) {
			/* A stack that sends a little more than the window
			 * allows: remember the data so its ACK fits. */
			snd->end = end;
			snd->flags |= TCP_SIDE_DATA_UNACK;
			return window_fail(snd, p, W_IGNORE);
		}
		return window_fail(snd, p, W_INVALID);
	}
	if (!before(sack, rcv->end + 1))
		return window_fail(snd, p, W_INVALID); /* ACKs unseen data */
	if (rcv->maxwin && !after(end, snd->end - rcv->maxwin - 1))
		return window_fail(snd, p, W_IGNORE); /* old data again */
	if (!after(sack, rcv->end - maxackwin - 1))
		return window_fail(snd, p, W_IGNORE); /* very late ACK */

	if (!syn)
		win <<= snd->scale;

	swin = win + (sack - ack);
	if (snd->maxwin < swin)
		snd->maxwin = swin;
	if (after(end, snd->end)) {
		snd->end = end;
		snd->flags |= TCP_SIDE_DATA_UNACK;
	}
	if (has_ack) {
		if (!(snd->flags & TCP_SIDE_MAXACK_SET)) {
			snd->maxack = ack;
			snd->flags |= TCP_SIDE_MAXACK_SET;
		} else if (after(ack, snd->maxack)) {
			snd->maxack = ack;
		}
	}
	if (rcv->maxwin != 0 && after(end, snd->maxend))
		rcv->maxwin += end - snd->maxend;
	if (after(sack + win, rcv->maxend - 1)) {
		rcv->maxend = sack + win;
		if (win == 0)
			rcv->maxend++;
	}
	if (ack == rcv->end)
		rcv->flags &= (uint8_t)~TCP_SIDE_DATA_UNACK;

	/* The same ACK segment again and again: a retransmission. */
	if (idx == TCP_C_ACK) {
		if (t->last_dir == dir && t->last_seq == seq &&
		    t->last_ack == ack && t->last_end == end &&
		    t->last_win == s->win) {
			if (t->retrans < UINT8_MAX)
				t->retrans++;
		} else {
			t->last_dir = (uint8_t)dir;
			t->last_seq = seq;
			t->last_ack = ack;
			t->last_end = end;
			t->last_win = s->win;
			t->retrans = 0;
		}
	}
	return W_ACCEPT;
}

static bool closing(uint8_t state)
{
	return state == TCP_S_FIN_WAIT || state == TCP_S_CLOSE_WAIT ||
	       state == TCP_S_LAST_ACK || state == TCP_S_TIME_WAIT ||
	       state == TCP_S_CLOSE;
}

static bool established(uint8_t state)
{
	return state == TCP_S_ESTABLISHED;
}

/* Remember a packet we let through without believing it, so that the
 * answer to it can bring us back in step (the kernel's cases a to c). */
static void note_ignored(struct flow_tcp *t, uint8_t old, int dir,
			 enum tcp_class idx, const struct tcp_seg *s)
{
	t->last_index = (uint8_t)idx;
	t->last_dir = (uint8_t)dir;
	t->last_seq = s->seq;
	t->last_end = seg_end(s);
	t->last_win = s->win;
	if (idx == TCP_C_SYN && dir == ORIGINAL) {
		/* a) A SYN we think makes no sense: keep its options in case
		 * the server takes it and answers. */
		struct tcp_side seen = { 0 };

		t->last_flags = 0;
		t->last_wscale = 0;
		read_options(s, &seen);
		if (seen.flags & TCP_SIDE_WINDOW_SCALE) {
			t->last_flags |= TCP_SIDE_WINDOW_SCALE;
			t->last_wscale = seen.scale;
		}
		if (seen.flags & TCP_SIDE_SACK_PERM)
			t->last_flags |= TCP_SIDE_SACK_PERM;
		/* The server may answer with an RFC 5961 challenge ACK,
		 * which in LAST_ACK must not count as the last ACK. */
		if (old == TCP_S_LAST_ACK)
			t->last_flags |= TCP_LAST_CHALLENGE_ACK;
	}
	/* c) Maybe a challenge ACK answering our SYN. */
	if (old == TCP_S_SYN_SENT && idx == TCP_C_ACK && dir == REPLY)
		t->last_ack = s->ack;
}

/* The timeout class after an accepted packet, as the kernel picks it. */
static uint8_t pick_timeout(const struct flow_tcp *t, uint8_t st,
			    enum tcp_class idx, const struct tcp_params *p)
{
	const uint32_t *to = p->timeouts;

	if (t->retrans >= p->max_retrans && to[st] > to[TMO_TCP_RETRANS])
		return TMO_TCP_RETRANS;
	if (idx == TCP_C_RST)
		return TCP_S_CLOSE;
	if ((t->side[0].flags | t->side[1].flags) & TCP_SIDE_DATA_UNACK &&
	    to[st] > to[TMO_TCP_UNACK])
		return TMO_TCP_UNACK;
	if (t->last_win == 0 && to[st] > to[TMO_TCP_RETRANS])
		return TMO_TCP_RETRANS;
	return st;
}

enum tcp_verdict tcp_packet(struct flow_tcp *t, uint8_t *state,
			    uint8_t flow_flags, int dir,
			    const struct tcp_seg *s, const struct tcp_params *p,
			    struct tcp_out *out)
{
	bool seen_reply = flow_flags & FLOW_F_SEEN_REPLY;
	bool assured = flow_flags & FLOW_F_ASSURED;
	enum tcp_class idx = tcp_class_of(s->flags);
	uint8_t old = *state, ns;
	struct tcp_side *ld;

	dir = dir != 0;
	ns = old < TCP_S_COUNT ? next[dir][idx][old] : TCP_S_INVALID;
	memset(out, 0, sizeof(*out));

	switch (ns) {
	case TCP_S_SYN_SENT:
		if (old < TCP_S_TIME_WAIT)
			break;
		/* A SYN on a closed or aborted connection's ports: a new
		 * connection (RFC 1122 4.2.2.13). */
		if (((t->side[dir].flags | t->side[!dir].flags) &
		     TCP_SIDE_CLOSE_INIT) ||
		    (t->last_dir == dir && t->last_index == TCP_C_RST))
			return TCP_V_REOPEN;
		/* fall through */
	case TCP_S_IGNORE:
		if (idx == TCP_C_SYNACK && t->last_index == TCP_C_SYN &&
		    t->last_dir != dir && s->ack == t->last_end) {
			/* b) The server accepted a SYN we ignored: both
			 * ends are in step, we were not. Take the SYN's
			 * values and carry on from SYN_SENT. */
			old = TCP_S_SYN_SENT;
			ns = TCP_S_SYN_RECV;
			ld = &t->side[t->last_dir];
			ld->end = ld->maxend = t->last_end;
			ld->maxwin = t->last_win ? t->last_win : 1;
			ld->scale = t->last_wscale;
			t->last_flags &= (uint8_t)~TCP_LAST_CHALLENGE_ACK;
			ld->flags = t->last_flags;
			memset(&t->side[dir], 0, sizeof(t->side[dir]));
			break;
		}
		note_ignored(t, old, dir, idx, s);
		out->ignored = true;
		return TCP_V_NOREFRESH;
	case TCP_S_INVALID:
		out->invalid = TCP_INV_STATE;
		return TCP_V_INVALID;
	case TCP_S_TIME_WAIT:
		if (old == TCP_S_LAST_ACK && idx == TCP_C_ACK &&
		    t->last_dir != dir && t->last_index == TCP_C_SYN &&
		    (t->last_flags & TCP_LAST_CHALLENGE_ACK)) {
			/* A challenge ACK, not the last ACK. */
			t->last_flags &= (uint8_t)~TCP_LAST_CHALLENGE_ACK;
			return TCP_V_NOREFRESH;
		}
		break;
	case TCP_S_SYN_SENT2:
		t->last_flags |= TCP_LAST_SIMULTANEOUS;
		break;
	case TCP_S_SYN_RECV:
		if (dir == REPLY && idx == TCP_C_ACK &&
		    (t->last_flags & TCP_LAST_SIMULTANEOUS))
			ns = TCP_S_ESTABLISHED;
		break;
	case TCP_S_CLOSE:
		if (idx != TCP_C_RST)
			break;
		if (closing(old))
			goto in_window;
		if ((t->side[!dir].flags & TCP_SIDE_MAXACK_SET) &&
		    t->last_index != TCP_C_SYN) {
			uint32_t maxack = t->side[!dir].maxack;

			if (s->seq == 0 && !established(old))
				break; /* answers a SYN we let through */
			if (before(s->seq, maxack) && !p->ignore_invalid_rst) {
				out->invalid = TCP_INV_RST;
				return TCP_V_INVALID;
			}
			if (!established(old) || s->seq == maxack)
				break;
			if (t->last_index == TCP_C_ACK && t->last_dir == dir &&
			    s->seq == t->last_end)
				break; /* the end of a data train */
			/* Not exactly in step: keep the state, so that a
			 * challenge ACK can still get through. */
			ns = old;
		}
		if (((seen_reply && t->last_index == TCP_C_SYN) ||
		     (!assured && t->last_index == TCP_C_ACK)) &&
		    s->ack == t->last_end)
			goto in_window; /* RST to a packet we let through */
		if (old == TCP_S_SYN_SENT && t->last_index == TCP_C_ACK &&
		    t->last_dir == REPLY && s->seq == t->last_ack)
			goto in_window; /* RST after a challenge ACK */
		break;
	default:
		break;
	}

	switch (in_window(t, old, dir, idx, s, p)) {
	case W_IGNORE:
		out->ignored = true;
		return TCP_V_NOREFRESH;
	case W_INVALID:
		out->invalid = TCP_INV_WINDOW;
		/* An assured connection whose ends send FIN or RST the
		 * other does not believe is probably dead: don't let it
		 * sit in ESTABLISHED for days. */
		if (assured && (idx == TCP_C_RST || idx == TCP_C_FIN)) {
			if (t->last_dir != dir &&
			    (t->last_index == TCP_C_FIN ||
			     t->last_index == TCP_C_RST)) {
				out->shorten = true;
			} else {
				t->last_index = (uint8_t)idx;
				t->last_dir = (uint8_t)dir;
			}
		}
		return TCP_V_INVALID;
	case W_ACCEPT:
		break;
	}
in_window:
	t->last_index = (uint8_t)idx;
	t->last_dir = (uint8_t)dir;
	*state = ns;
	if (old != ns && ns == TCP_S_FIN_WAIT)
		t->side[dir].flags |= TCP_SIDE_CLOSE_INIT;
	out->tclass = pick_timeout(t, ns, idx, p);

	if (!seen_reply) {
		if (s->flags & TCPF_RST)
			return TCP_V_CLOSE; /* refused: forget it now */
		if (idx == TCP_C_SYN && old == TCP_S_SYN_SENT)
			return TCP_V_NOREFRESH; /* a SYN retransmission */
		/* Picked up mid-stream and no answer yet: not for days. */
		if (ns == TCP_S_ESTABLISHED &&
		    p->timeouts[out->tclass] > p->timeouts[TMO_TCP_UNACK])
			out->tclass = TMO_TCP_UNACK;
	} else if (!assured &&
		   (old == TCP_S_SYN_RECV || old == TCP_S_ESTABLISHED) &&
		   ns == TCP_S_ESTABLISHED) {
		out->assured = true;
	}
	return TCP_V_ACCEPT;
}
