// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * sctp.c - SCTP association tracking; see sctp.h.
 */
#include <string.h>

#include "sctp.h"

/* Chunk types (RFC 9260 3.2) the tracker acts on. */
enum {
	CH_DATA = 0,
	CH_INIT = 1,
	CH_INIT_ACK = 2,
	CH_HEARTBEAT = 4,
	CH_HEARTBEAT_ACK = 5,
	CH_ABORT = 6,
	CH_SHUTDOWN = 7,
	CH_SHUTDOWN_ACK = 8,
	CH_ERROR = 9,
	CH_COOKIE_ECHO = 10,
	CH_COOKIE_ACK = 11,
	CH_SHUTDOWN_COMPLETE = 14,
};

#define FLAG_T 0x01 /* ABORT, SHUTDOWN COMPLETE: the peer's tag */

static const char *const names[SCTP_S_COUNT] = {
	[SCTP_S_NONE] = "NONE",
	[SCTP_S_CLOSED] = "CLOSED",
	[SCTP_S_COOKIE_WAIT] = "COOKIE_WAIT",
	[SCTP_S_COOKIE_ECHOED] = "COOKIE_ECHOED",
	[SCTP_S_ESTABLISHED] = "ESTABLISHED",
	[SCTP_S_SHUTDOWN_SENT] = "SHUTDOWN_SENT",
	[SCTP_S_SHUTDOWN_RECD] = "SHUTDOWN_RECD",
	[SCTP_S_SHUTDOWN_ACK_SENT] = "SHUTDOWN_ACK_SENT",
	[SCTP_S_HEARTBEAT_SENT] = "HEARTBEAT_SENT",
};

const char *sctp_state_name(uint8_t state)
{
	return state < SCTP_S_COUNT ? names[state] : "?";
}

bool sctp_closing(uint8_t state)
{
	return state == SCTP_S_SHUTDOWN_SENT || state == SCTP_S_SHUTDOWN_RECD ||
	       state == SCTP_S_SHUTDOWN_ACK_SENT;
}

/*
 * The kernel's transitions: by direction, chunk (the row index below)
 * and current state, the next state. Other chunks (DATA, SACK, ...) leave
 * the state as it is.
 */
enum {
	R_INIT,
	R_INIT_ACK,
	R_ABORT,
	R_SHUTDOWN,
	R_SHUTDOWN_ACK,
	R_ERROR,
	R_COOKIE_ECHO,
	R_COOKIE_ACK,
	R_SHUTDOWN_COMPLETE,
	R_HEARTBEAT,
	R_HEARTBEAT_ACK,
	R_COUNT
};

#define NO SCTP_S_NONE
#define CL SCTP_S_CLOSED
#define CW SCTP_S_COOKIE_WAIT
#define CE SCTP_S_COOKIE_ECHOED
#define ES SCTP_S_ESTABLISHED
#define SS SCTP_S_SHUTDOWN_SENT
#define SR SCTP_S_SHUTDOWN_RECD
#define SA SCTP_S_SHUTDOWN_ACK_SENT
#define HS SCTP_S_HEARTBEAT_SENT
#define IV SCTP_S_INVALID

/* clang-format off */
static const uint8_t next[2][R_COUNT][SCTP_S_COUNT] = {
	{ /* original direction; from NO CL CW CE ES SS SR SA HS */
	[R_INIT] =		{ CL, CL, CW, CE, ES, CL, CL, SA, CW },
	[R_INIT_ACK] =		{ CL, CL, CW, CE, ES, SS, SR, SA, CL },
	[R_ABORT] =		{ CL, CL, CL, CL, CL, CL, CL, CL, CL },
	[R_SHUTDOWN] =		{ CL, CL, CW, CE, SS, SS, SR, SA, CL },
	[R_SHUTDOWN_ACK] =	{ SA, CL, CW, CE, ES, SA, SA, SA, SA },
	[R_ERROR] =		{ CL, CL, CW, CE, ES, SS, SR, SA, CL },
	[R_COOKIE_ECHO] =	{ CL, CL, CE, CE, ES, SS, SR, SA, CL },
	[R_COOKIE_ACK] =	{ CL, CL, CW, ES, ES, SS, SR, SA, CL },
	[R_SHUTDOWN_COMPLETE] =	{ CL, CL, CW, CE, ES, SS, SR, CL, CL },
	[R_HEARTBEAT] =		{ HS, CL, CW, CE, ES, SS, SR, SA, HS },
	[R_HEARTBEAT_ACK] =	{ CL, CL, CW, CE, ES, SS, SR, SA, HS },
	},
	{ /* reply direction; from NO CL CW CE ES SS SR SA HS */
	[R_INIT] =		{ IV, CL, CW, CE, ES, SS, SR, SA, IV },
	[R_INIT_ACK] =		{ IV, CW, CW, CE, ES, SS, SR, SA, IV },
	[R_ABORT] =		{ IV, CL, CL, CL, CL, CL, CL, CL, IV },
	[R_SHUTDOWN] =		{ IV, CL, CW, CE, SR, SS, SR, SA, IV },
	[R_SHUTDOWN_ACK] =	{ IV, CL, CW, CE, ES, SA, SA, SA, IV },
	[R_ERROR] =		{ IV, CL, CW, CL, ES, SS, SR, SA, IV },
	[R_COOKIE_ECHO] =	{ IV, CL, CE, CE, ES, SS, SR, SA, IV },
	[R_COOKIE_ACK] =	{ IV, CL, CW, ES, ES, SS, SR, SA, IV },
	[R_SHUTDOWN_COMPLETE] =	{ IV, CL, CW, CE, ES, SS, SR, CL, IV },
	[R_HEARTBEAT] =		{ IV, CL, CW, CE, ES, SS, SR, SA, HS },
	[R_HEARTBEAT_ACK] =	{ IV, CL, CW, CE, ES, SS, SR, SA, ES },
	},
};
/* clang-format on */

static int row_of(uint8_t type)
{
	switch (type) {
	case CH_INIT:
		return R_INIT;
	case CH_INIT_ACK:
		return R_INIT_ACK;
	case CH_ABORT:
		return R_ABORT;
	case CH_SHUTDOWN:
		return R_SHUTDOWN;
	case CH_SHUTDOWN_ACK:
		return R_SHUTDOWN_ACK;
	case CH_ERROR:
		return R_ERROR;
	case CH_COOKIE_ECHO:
		return R_COOKIE_ECHO;
	case CH_COOKIE_ACK:
		return R_COOKIE_ACK;
	case CH_SHUTDOWN_COMPLETE:
		return R_SHUTDOWN_COMPLETE;
	case CH_HEARTBEAT:
		return R_HEARTBEAT;
	case CH_HEARTBEAT_ACK:
		return R_HEARTBEAT_ACK;
	default:
		return -1;
	}
}

static uint8_t next_state(int dir, uint8_t cur, uint8_t type)
{
	int row = row_of(type);

	return row < 0 ? cur : next[dir][row][cur];
}

static inline uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

/* A walk over the chunks we can read: at *off, while a chunk header fits
 * both the packet and the capture. */
struct walk {
	const uint8_t *l4;
	size_t cap, len, off;
};

static bool chunk(const struct walk *w, uint8_t *type, uint8_t *flags,
		  uint16_t *clen)
{
	if (w->off >= w->len || w->off + 4 > w->cap || w->off + 4 > w->len)
		return false;
	*type = w->l4[w->off];
	*flags = w->l4[w->off + 1];
	*clen = (uint16_t)(w->l4[w->off + 2] << 8 | w->l4[w->off + 3]);
	return true;
}

static void step(struct walk *w, uint16_t clen)
{
	w->off += ((size_t)clen + 3) & ~(size_t)3;
}

/* The initiate tag of an INIT or INIT ACK chunk at w->off, if captured. */
static bool init_tag(const struct walk *w, uint32_t *tag)
{
	if (w->off + 8 > w->cap || w->off + 8 > w->len)
		return false;
	*tag = rd32(w->l4 + w->off + 4);
	return true;
}

static bool has(const uint8_t map[32], uint8_t type)
{
	return map[type / 8] & (1u << (type % 8));
}

/* The kernel's basic checks: at least one chunk, none of length 0;
 * COOKIE ECHO and COOKIE ACK only first; INIT, INIT ACK and SHUTDOWN
 * COMPLETE only alone. Fills map with the chunk types present. */
static bool basic_checks(struct walk w, uint8_t map[32])
{
	bool alone = false;
	uint8_t type, flags;
	uint16_t clen;
	unsigned n = 0;

	memset(map, 0, 32);
	for (; chunk(&w, &type, &flags, &clen); step(&w, clen), n++) {
		if (type == CH_INIT || type == CH_INIT_ACK ||
		    type == CH_SHUTDOWN_COMPLETE)
			alone = true;
		if (((type == CH_COOKIE_ACK || type == CH_COOKIE_ECHO ||
		      alone) &&
		     n) ||
		    !clen)
			return false;
		map[type / 8] |= (uint8_t)(1u << (type % 8));
	}
	return n > 0;
}

/* A packet that would open an association: the tags to expect from it. */
static bool open_new(struct flow_sctp *s, struct walk w, uint32_t vtag)
{
	uint8_t type, flags;
	uint16_t clen;

	memset(s, 0, sizeof(*s));
	for (; chunk(&w, &type, &flags, &clen); step(&w, clen)) {
		uint8_t ns = next_state(0, SCTP_S_NONE, type);
		uint32_t tag;

		if (ns == SCTP_S_NONE || ns == SCTP_S_INVALID)
			return false;
		if (type == CH_INIT) {
			if (vtag || !init_tag(&w, &tag))
				return false; /* Sec 8.5.1 (A) */
			s->vtag[1] = tag;
		} else if (type == CH_HEARTBEAT) {
			s->vtag[0] = vtag;
		} else {
			/* Out of the blue: the answer (SHUTDOWN COMPLETE,
			 * ABORT) carries this packet's tag. */
			s->vtag[1] = vtag;
		}
	}
	return true;
}

/* A HEARTBEAT or HEARTBEAT ACK: learns the tag of a path not seen yet;
 * one that carries another tag is let through untouched once (a
 * restarted peer), and its answer teaches the new tag. Returns -1
 * invalid, 1 skip the chunk (ignore the packet), 0 go on. */
static int heartbeat(struct flow_sctp *s, int dir, uint8_t type, uint32_t vtag,
		     bool data, bool ignore)
{
	if (!s->vtag[dir]) {
		s->vtag[dir] = vtag;
	} else if (vtag != s->vtag[dir]) {
		if (data || ignore)
			return -1;
		if (type == CH_HEARTBEAT) {
			s->hb_vtag_failed = 1;
			s->last_dir = (uint8_t)dir;
			return 1;
		}
		if (!s->hb_vtag_failed || s->last_dir == dir)
			return -1;
		s->hb_vtag_failed = 0;
		s->vtag[dir] = vtag;
		s->vtag[!dir] = 0;
	} else {
		s->hb_vtag_failed = 0;
	}
	return 0;
}

static enum sctp_verdict invalid(struct sctp_out *out, enum sctp_invalid why)
{
	out->invalid = (uint8_t)why;
	return SCTP_V_INVALID;
}

enum sctp_verdict sctp_packet(struct flow_sctp *s, uint8_t *state, bool is_new,
			      int dir, const uint8_t *l4, size_t cap,
			      size_t len, struct sctp_out *out)
{
	struct walk w = { l4, cap, len, 12 };
	uint8_t map[32], type, flags, old, ns = SCTP_S_NONE;
	bool ignore = false;
	uint32_t vtag, tag;
	uint16_t clen;

	memset(out, 0, sizeof(*out));
	dir = dir != 0;
	if (cap < 12 || len < 12 || !basic_checks(w, map))
		return invalid(out, SCTP_INV_CHUNKS);
	vtag = rd32(l4 + 4);
	if (is_new) {
		/* Out of the blue, these must not open one (Sec 8.4). */
		if (has(map, CH_ABORT) || has(map, CH_SHUTDOWN_COMPLETE) ||
		    has(map, CH_COOKIE_ACK) || !open_new(s, w, vtag))
			return invalid(out, SCTP_INV_NEW);
		*state = SCTP_S_NONE;
	}
	/* Sec 8.5: the tag, but for the chunks checked one by one below. */
	if (!has(map, CH_INIT) && !has(map, CH_SHUTDOWN_COMPLETE) &&
	    !has(map, CH_COOKIE_ECHO) && !has(map, CH_ABORT) &&
	    !has(map, CH_SHUTDOWN_ACK) && !has(map, CH_HEARTBEAT) &&
	    !has(map, CH_HEARTBEAT_ACK) && vtag != s->vtag[dir])
		return invalid(out, SCTP_INV_VTAG);

	/* As the kernel, chunk by chunk, keeping what earlier chunks did
	 * even when a later one is invalid. */
	for (; chunk(&w, &type, &flags, &clen); step(&w, clen)) {
		switch (type) {
		case CH_INIT:
			if (vtag) /* Sec 8.5.1 (A) */
				return invalid(out, SCTP_INV_VTAG);
			break;
		case CH_ABORT:
		case CH_SHUTDOWN_COMPLETE: /* (B), (C) */
			if (vtag != s->vtag[(flags & FLAG_T) ? !dir : dir])
				return invalid(out, SCTP_INV_VTAG);
			break;
		case CH_COOKIE_ECHO: /* (D) */
			if (vtag != s->vtag[dir])
				return invalid(out, SCTP_INV_VTAG);
			break;
		case CH_COOKIE_ACK:
			s->init[0] = s->init[1] = 0;
			break;
		case CH_HEARTBEAT:
		case CH_HEARTBEAT_ACK:
			switch (heartbeat(s, dir, type, vtag, has(map, CH_DATA),
					  ignore)) {
			case -1:
				return invalid(out, SCTP_INV_VTAG);
			case 1:
				ignore = true;
				continue;
			}
			break;
		}
		old = *state;
		ns = next_state(dir, old, type);
		if (ns == SCTP_S_INVALID)
			return invalid(out, SCTP_INV_STATE);
		if (type == CH_INIT) {
			if (!init_tag(&w, &tag))
				return invalid(out, SCTP_INV_CHUNKS);
			if (s->init[dir] && s->init[!dir])
				s->init[!dir] = 0;
			s->init[dir] = 1;
			s->vtag[!dir] = tag;
			/* An INIT retransmitted: no refresh, so that a
			 * reused port cannot keep the entry alive. */
			if (ns == SCTP_S_CLOSED && old == SCTP_S_CLOSED &&
			    !is_new)
				ignore = true;
		} else if (type == CH_INIT_ACK) {
			uint32_t want = s->vtag[!dir];

			if (!init_tag(&w, &tag))
				return invalid(out, SCTP_INV_CHUNKS);
			if (!s->init[!dir] && want && want != tag)
				return invalid(out, SCTP_INV_VTAG);
			if (s->init[dir] && s->init[!dir] && want != tag)
				return invalid(out,
					       SCTP_INV_VTAG); /* collision */
			s->vtag[!dir] = tag;
		}
		*state = ns;
		if (old != ns && ns == SCTP_S_ESTABLISHED)
			out->assured = true;
	}
	if (ignore)
		return SCTP_V_IGNORE;
	out->state = ns;
	return SCTP_V_ACCEPT;
}
