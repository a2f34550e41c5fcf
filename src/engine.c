// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * engine.c - the packet path: prepare (parse, key, hash), look up, track,
 * decide, verdict; see engine.h. Opening a flow asks the limits
 * (policy.c); protocols are proto.c's trackers, tcp.c's and sctp.c's.
 * The engine's life around it (made, reconfigured, its tick, a flush,
 * the names of its reasons) is enginelife.c's.
 *
 * Protocol behaviour follows nf_conntrack's, so that replacing the kernel's
 * tracker changes what is limited, not what is valid: TCP as tcp.c says,
 * the others as proto.h says; ICMP errors open nothing and belong to the
 * flow they quote, if they are addressed to its end.
 */
#include <netinet/in.h>
#include <string.h>

#include "engine.h"
#include "policy.h"
#include "proto.h"
#include "tcp.h"

_Static_assert(sizeof(struct flow_sctp) <= sizeof(struct flow_tcp),
	       "SCTP state fits a TCP state's slot");

static struct flow_sctp *flow_sctp(const struct engine *e, const struct flow *f)
{
	return slab_ptr(&e->tcp, f->aux);
}

uint32_t engine_flow_left(const struct engine *e, const struct flow *f)
{
	uint32_t idle = e->now - f->last_seen, to = e->list_timeout[f->list];

	/* A fast flow: until its next check (fast_check()). */
	if (f->list >= AGE_LISTS)
		to = e->fast.ops.query ?
			     e->fast.check[FAST_LIST_KIND(f->list)] :
			     e->fast.timeout[FAST_LIST_KIND(f->list)];

	return idle < to ? to - idle : 0;
}

/* The verdict for a malformed or invalid packet; accepted, it is INVALID,
 * of no flow, as the kernel leaves a packet its tracker refused. */
static void reject(struct engine *e, struct engine_result *r,
		   enum drop_reason why)
{
	r->reason = why;
	r->ct_state = CT_STATE_INVALID;
	r->ct_reply = false;
	r->ct_assured = false;
	if (e->invalid_drop)
		r->verdict = VERDICT_DROP;
}

static void invalid(struct engine *e, struct engine_result *r,
		    enum invalid_reason why)
{
	e->st.invalid[why]++;
	r->invalid = (uint8_t)why;
	reject(e, r, DROP_INVALID);
}

static void tcp_seg_of(struct tcp_seg *s, const struct pkt *p)
{
	s->seq = p->tcp_seq;
	s->ack = p->tcp_ack;
	s->win = p->tcp_win;
	s->flags = p->tcp_flags;
	s->opt = p->tcp_opt;
	s->optlen = p->tcp_optlen;
	s->payload = pkt_tcp_payload(p);
}

static const enum invalid_reason tcp_invalid_reason[] = {
	[TCP_INV_STATE] = INV_TCP_STATE,
	[TCP_INV_WINDOW] = INV_TCP_WINDOW,
	[TCP_INV_RST] = INV_TCP_RST,
};

/* Packet p counted to flow f's direction dir (accounting = yes). */
static void acct_packet(struct engine *e, struct flow *f, const struct pkt *p,
			enum flow_dir dir)
{
	struct flow_acct *a = engine_flow_acct(e, f);

	a->packets[dir]++;
	a->bytes[dir] += p->ip_len;
	a->tcp_flags |= p->tcp_flags;
}

/*
 * TCP on a flow that exists. Returns false if the flow is gone: closed,
 * or (REOPEN) to be made again from this very packet. *refresh says
 * whether the packet renews the flow's timeout.
 */
static bool tcp_track(struct engine *e, struct flow *f, const struct pkt *p,
		      enum flow_dir dir, struct engine_result *r, bool *reopen,
		      bool *refresh)
{
	uint8_t old = f->state;
	struct tcp_seg seg;
	struct tcp_out out;

	tcp_seg_of(&seg, p);
	switch (tcp_packet(engine_flow_tcp(e, f), &f->state, f->flags, dir,
			   &seg, &e->tcp_params, &out)) {
	case TCP_V_ACCEPT:
		f->tclass = out.tclass;
		if (out.assured)
			flow_flags_set(f, FLOW_F_ASSURED);
		if (out.assured && (f->flags & FLOW_F_MIDSTREAM)) {
			/* Answered: a real connection, out of the budget. */
			policy_answered(e, f);
		}
		*refresh = true;
		if (old == TCP_S_CLOSE && f->state == TCP_S_CLOSE &&
		    seg.payload && !(f->flags & FLOW_F_REVIVED))
			policy_revive(e, f);
		if (f->source != SOURCE_NIL && !policy_counts_for_source(f))
			policy_source_done(e, f);
		break;
	case TCP_V_NOREFRESH:
		if (out.ignored)
			e->st.tcp_ignored++;
		break;
	case TCP_V_INVALID:
		invalid(e, r, tcp_invalid_reason[out.invalid]);
		if (out.shorten) {
			uint32_t left = engine_flow_left(e, f);

			if (left >= 120 && left > e->timeouts[TMO_TCP_UNACK]) {
				f->tclass = TMO_TCP_UNACK;
				*refresh = true;
			}
		}
		break;
	case TCP_V_CLOSE:
		/* nf_ct_kill_acct(): the RST that ends it is counted in the
		 * flow's last figures. */
		if (e->accounting)
			acct_packet(e, f, p, dir);
		engine_remove(e, f, FEND_CLOSED);
		e->st.flows_closed++;
		return false;
	case TCP_V_REOPEN:
		engine_remove(e, f, FEND_REOPENED);
		e->st.flows_reopened++;
		*reopen = true;
		return false;
	}
	return true;
}

static const enum invalid_reason sctp_invalid_reason[] = {
	[SCTP_INV_CHUNKS] = INV_SCTP_CHUNKS,
	[SCTP_INV_NEW] = INV_SCTP_NEW,
	[SCTP_INV_VTAG] = INV_SCTP_VTAG,
	[SCTP_INV_STATE] = INV_SCTP_STATE,
};

/* SCTP on a flow, new (created) or known. *refresh as for TCP. */
static void sctp_track(struct engine *e, struct flow *f, const struct pkt *p,
		       enum flow_dir dir, bool created, struct engine_result *r,
		       bool *refresh)
{
	struct sctp_out out;

	switch (sctp_packet(flow_sctp(e, f), &f->state, created, dir, p->l4,
			    p->l4_cap, p->l4_len, &out)) {
	case SCTP_V_ACCEPT:
		f->tclass = TMO_SCTP(out.state);
		*refresh = true;
		break;
	case SCTP_V_IGNORE:
		break;
	case SCTP_V_INVALID:
		invalid(e, r, sctp_invalid_reason[out.invalid]);
		break;
	}
	/* The kernel marks it assured on the way, whatever comes after. */
	if (out.assured)
		flow_flags_set(f, FLOW_F_ASSURED);
}

/* A dropped packet (or one shadow mode would drop): if a limit refused
 * its new flow, the FEV_REFUSED, if the sink wants it. Out of line: a
 * refusal is rare, or a flood's. */
static __attribute__((noinline)) void refused(struct engine *e,
					      const struct engine_result *r)
{
	struct flow_event ev;

	if (!(e->sink.types & FEV_MASK(FEV_REFUSED)) ||
	    r->pkt.kind != PKT_FLOW || r->reason == DROP_NONE ||
	    r->reason == DROP_MALFORMED || r->reason == DROP_INVALID ||
	    r->reason == DROP_FRAGMENT)
		return;
	memset(&ev, 0, sizeof(ev));
	ev.key = r->key;
	ev.type = FEV_REFUSED;
	ev.flags = r->swapped ? FLOW_F_ORIG_HI : 0;
	ev.drop = (uint8_t)r->reason;
	ev.limit = r->limit;
	ev.count = r->count;
	ev.time_ms = ev.last_ms = e->now_ms;
	e->sink.emit(e->sink.arg, &ev);
	e->st.events_emitted++;
}

/* Make the flow for a packet that opens one, if the tracker and the
 * policy let it; NULL if not, with r saying why. */
static struct flow *new_flow(struct engine *e, const struct flow_key *k,
			     uint64_t hash, bool swapped, const struct pkt *p,
			     struct engine_result *r)
{
	const struct proto_tracker *t = proto_tracker(p->family, p->proto);
	bool midstream = false;
	struct flow_tcp tcp;
	struct tcp_seg seg;
	struct flow *f;

	if (t->kind == PROTO_TCP) {
		tcp_seg_of(&seg, p);
		if (tcp_new(&tcp, &seg, &e->tcp_params) == TCP_S_INVALID) {
			invalid(e, r, INV_TCP_NEW);
			return NULL;
		}
		midstream = tcp_next_state(TCP_S_NONE, 0, p->tcp_flags) !=
			    TCP_S_SYN_SENT;
	} else if (p->icmp_query == 2) {
		invalid(e, r, INV_ICMP_NEW);
		return NULL;
	}
	if (flow_table_chain_full(&e->table, hash)) {
		r->verdict = VERDICT_DROP;
		r->reason = DROP_CHAIN;
		r->limit = FLOW_CHAIN_MAX;
		r->count = FLOW_CHAIN_MAX;
		return NULL;
	}
	f = policy_open(e, k, hash, swapped, midstream, t, p, r);
	if (!f)
		return NULL;
	/* The engine's own, out of the group's lock. */
	if (e->accounting) {
		struct flow_acct *a = engine_flow_acct(e, f);

		memset(a, 0, sizeof(*a));
		a->start_ms = a->active_ms = e->now_ms;
	}
	if (t->kind == PROTO_TCP)
		*engine_flow_tcp(e, f) = tcp;
	return f;
}

/*
 * Fast flow f leaves the kernel: its elements are removed before this
 * batch's verdicts go out, and it goes back on the age list of its
 * state, the daemon's again.
 */
static void fast_detach(struct engine *e, struct flow *f)
{
	struct flow_acct *a = engine_flow_acct(e, f);

	/* Its elements go unread, with what they counted of admissions. */
	if (a)
		a->admit_packets = a->admit_bytes = 0;
	engine_fastpath_forget(e, f);
	flow_flags_clear(f, FLOW_F_FAST | FLOW_F_CHECKED);
	flow_table_touch(&e->table, f, policy_list_of(f), e->now);
}

static bool tcp_handshake(uint8_t state)
{
	return state == TCP_S_SYN_SENT || state == TCP_S_SYN_RECV ||
	       state == TCP_S_SYN_SENT2;
}

/*
 * The daemon sees a packet of a flow the kernel carried: its elements
 * expired or were removed, or (with accounting) a FIN or RST, which the
 * kernel sends here so that the counters are read first (one query, the
 * packet path's only one, once a connection), or a pure SYN, which the
 * kernel always sends here. The daemon's TCP state is as old as the last
 * check and its windows older: they are forgotten, as for a connection
 * picked up mid-stream; and unless the kernel was just asked, a handshake
 * state that an ACK, data or a FIN follows is taken as established (the
 * SYN-ACK and ACK went by the kernel, e.g. before a reload turned the
 * fast path off, or the FIN of a close met the flow's elements between
 * sets or gone). Taken as a FIN in SYN_SENT, it was invalid: the flow
 * stayed SYN_SENT in the daemon, and the next connection on its ports
 * passed for a retransmitted SYN, not counted as new. A RST stays the
 * tracker's (a refusal answers a SYN). Out of line: rare.
 *
 * Returns true for a new connection on the flow's ports: a pure SYN the
 * original way, in a handshake state (not checked since its admission),
 * whose sequence number is not the admitted SYN's (fast_decide() keeps it
 * in last_seq). The daemon saw neither the FIN nor the RST that ended the
 * old connection in the kernel (a client reusing its port, tcp_tw_reuse),
 * whose close set would say it is over: it is, and this SYN reopens, as
 * it would after TIME_WAIT. The same number is a retransmission, as ever.
 * A pure SYN on an established one (checked) is the kernel's tracker's
 * case: ignored, remembered; the flow leaves the fast path, so that a
 * SYN-ACK answering it (the server took a new connection) resynchronises
 * the daemon's state as it does the kernel's, and anything else finds the
 * windows forgotten.
 */
static __attribute__((noinline)) bool fast_seen(struct engine *e,
						struct flow *f,
						const struct pkt *p,
						enum flow_dir dir)
{
	bool asked = false;
	struct flow_tcp *t;

	if (f->proto != IPPROTO_TCP)
		return false;
	t = engine_flow_tcp(e, f);
	if (tcp_handshake(f->state) &&
	    (p->tcp_flags & (TCPF_SYN | TCPF_ACK | TCPF_FIN | TCPF_RST)) ==
		    TCPF_SYN) {
		/* Else the tracker's, as ever. */
		return dir == FLOW_DIR_ORIGINAL && p->tcp_seq != t->last_seq;
	}
	if (e->accounting && (p->tcp_flags & (TCPF_FIN | TCPF_RST)) &&
	    e->fast.ops.query) {
		struct fastpath_tuple tu;
		struct fastpath_flow k;

		asked = true;
		engine_fastpath_tuple(f, &tu);
		if (e->fast.ops.query(e->fast.ops.arg, &tu, 1, true, &k) < 0) {
			e->st.fastpath_errors++;
		} else {
			e->st.fastpath_checks++;
			engine_fastpath_found(e, f, &k, FOUND_SEEN);
		}
		fast_detach(e, f);
	}
	if ((p->tcp_flags & TCPF_SYN) && tcp_handshake(f->state))
		return false; /* a SYN-ACK: the tracker as ever */
	for (int i = 0; i < 2; i++) {
		t->side[i].maxwin = 0;
		t->side[i].flags |= TCP_SIDE_BE_LIBERAL | TCP_SIDE_SACK_PERM;
	}
	t->retrans = 0;
	if (!asked && !(p->tcp_flags & (TCPF_SYN | TCPF_RST)) &&
	    tcp_handshake(f->state)) {
		f->state = TCP_S_ESTABLISHED;
		f->tclass = TCP_S_ESTABLISHED;
		flow_flags_set(f, FLOW_F_SEEN_REPLY);
	}
	return false;
}

/*
 * May the kernel carry f from packet p on (accepted, valid, tracked)?
 * TCP: the pure SYN that opens or reopens it, or a packet without SYN,
 * FIN or RST of a flow established and answered (pickups too, once
 * answered); UDP: once it has a reply and udp_after packets (counted
 * while the fast path is on). Nothing else (ICMP, SCTP, GRE, UDP-Lite:
 * the kernel's sets hold TCP and UDP).
 */
static bool fast_admissible(const struct engine *e, const struct flow *f,
			    const struct pkt *p)
{
	uint8_t fl = p->tcp_flags;

	switch (p->proto) {
	case IPPROTO_TCP:
		if ((fl & (TCPF_SYN | TCPF_ACK | TCPF_FIN | TCPF_RST)) ==
		    TCPF_SYN)
			return f->state == TCP_S_SYN_SENT;
		return !(fl & (TCPF_SYN | TCPF_FIN | TCPF_RST)) &&
		       f->state == TCP_S_ESTABLISHED &&
		       !(f->flags & FLOW_F_MIDSTREAM);
	case IPPROTO_UDP:
		return e->fast.udp_after && (f->flags & FLOW_F_SEEN_REPLY) &&
		       f->state >= (e->fast.udp_after < UINT8_MAX ?
					    e->fast.udp_after :
					    UINT8_MAX);
	default:
		return false;
	}
}

/* The end of track() with the fast path on, or for a fast flow: admit
 * it (the fast list of its kind, the open one for TCP), or take it back
 * from the kernel, or refresh it as usual. */
static __attribute__((noinline)) void
fast_decide(struct engine *e, struct flow *f, const struct pkt *p,
	    struct engine_result *r, bool refresh)
{
	/* UDP's state byte is free: its packets while the fast path is on,
	 * for fast_admissible() (saturating). */
	if (p->proto == IPPROTO_UDP && f->state < UINT8_MAX)
		f->state++;
	if (e->fast.on && r->verdict == VERDICT_ACCEPT &&
	    r->invalid == INV_NONE && fast_admissible(e, f, p)) {
		r->fast_admit = true;
		e->st.fastpath_admitted++;
		engine_fastpath_unforget(e, f);
		/* The SYN's own number, for fast_seen() to tell a new
		 * connection on these ports from its retransmission: the
		 * tracker reads last_seq only for ACKs, and a fast flow's
		 * first packet seen again has its windows forgotten. */
		if (p->proto == IPPROTO_TCP && (p->tcp_flags & TCPF_SYN))
			engine_flow_tcp(e, f)->last_seq = p->tcp_seq;
		if (e->accounting) {
			struct flow_acct *a = engine_flow_acct(e, f);

			a->admit_packets++;
			a->admit_bytes += p->ip_len;
		}
		flow_flags_set(f, FLOW_F_FAST);
		flow_flags_clear(f, FLOW_F_CHECKED);
		flow_table_touch(&e->table, f,
				 FAST_LIST(p->proto == IPPROTO_TCP ? FAST_OPEN :
								     FAST_UDP,
					   f->flags & FLOW_F_EXEMPT),
				 e->now);
		return;
	}
	if (f->flags & FLOW_F_FAST)
		fast_detach(e, f);
	else if (refresh)
		flow_table_touch(&e->table, f, policy_list_of(f), e->now);
}

/* The end of track() with a sink, for a new flow or a changed one: its
 * FEV_NEW or FEV_UPDATE, if wanted. Out of line. */
static __attribute__((noinline)) void
track_events(struct engine *e, const struct flow *f, bool created)
{
	enum flow_event_type t = created ? FEV_NEW : FEV_UPDATE;

	if (e->sink.types & FEV_MASK(t))
		engine_emit(e, f, t);
}

/*
 * A packet of a flow: find or open its flow and track it. Made three
 * times (plain and events constant): plain, with neither the fast path
 * nor events, the packet path with no trace of either; with the fast
 * path's end; and, out of line, with the snapshot a FEV_UPDATE needs and
 * the events at the end as well. track() picks one: e->plain, the test
 * that the fast path's was, so that events cost nothing per packet while
 * nobody wants them.
 */
static inline __attribute__((always_inline)) void
track_as(struct engine *e, const struct pkt *p, struct engine_result *r,
	 const bool plain, const bool events)
{
	enum flow_dir dir = FLOW_DIR_ORIGINAL;
	bool swapped = r->swapped, reopen = false, created = false,
	     refresh = true;
	uint8_t old_state = 0, old_flags = 0; /* for FEV_UPDATE */
	const struct flow_key *k = &r->key;
	uint64_t hash = r->hash;
	struct flow *f;

	if (p->proto == IPPROTO_TCP && !tcp_flags_valid(p->tcp_flags)) {
		invalid(e, r, INV_TCP_FLAGS);
		return;
	}
	if (p->proto == IPPROTO_UDPLITE && !p->udp_csum) {
		invalid(e, r, INV_UDPLITE_CSUM);
		return;
	}
	if (p->family == 6 && p->proto == IPPROTO_NONE) {
		/* The kernel finds no protocol to track it by. */
		invalid(e, r, INV_IPV6_NO_NEXT);
		return;
	}
	if (proto_is_icmp(p) && !p->icmp_query) {
		if (p->family == 6 && proto_icmp6_untracked(p->icmp_type)) {
			e->st.untracked++;
			r->ct_state = CT_STATE_UNTRACKED;
		} else {
			invalid(e, r, INV_ICMP_NEW);
		}
		return;
	}
	f = flow_table_lookup(&e->table, k, hash, e->now);
	if (f) {
		if (events) {
			old_state = f->state;
			old_flags = f->flags;
		}
		dir = flow_dir_of(f, swapped);
		if ((f->flags & FLOW_F_FAST) && fast_seen(e, f, p, dir)) {
			/* Over in the kernel: this SYN opens the next
			 * connection, counted and limited as new (its
			 * elements are forgotten before its admission). */
			engine_remove(e, f, FEND_REOPENED);
			e->st.flows_reopened++;
			f = new_flow(e, k, hash, swapped, p, r);
			if (!f)
				return;
			created = true;
		}
		/* A ping to oneself: the type tells the direction. */
		if (proto_is_icmp(p) &&
		    !memcmp(k->addr[0], k->addr[1], sizeof(k->addr[0])))
			dir = p->icmp_query == 2 ? FLOW_DIR_REPLY :
						   FLOW_DIR_ORIGINAL;
	} else {
		f = new_flow(e, k, hash, swapped, p, r);
		if (!f)
			return;
		created = true;
	}

	switch (p->proto) {
	case IPPROTO_TCP:
		refresh = false;
		if (!tcp_track(e, f, p, dir, r, &reopen, &refresh)) {
			if (!reopen) {
				/* A RST before any reply: the kernel forgets
				 * the flow, and the packet is of it. */
				r->ct_state = (uint8_t)(CT_STATE_NEW + dir);
				r->ct_reply = dir;
				return;
			}
			/* The old connection is gone; this SYN opens the
			 * new one, whichever way the old one went. */
			dir = FLOW_DIR_ORIGINAL;
			f = new_flow(e, k, hash, swapped, p, r);
			if (!f)
				return;
			created = true;
			refresh = false;
			if (!tcp_track(e, f, p, dir, r, &reopen, &refresh))
				return;
		}
		if (created && r->invalid) {
			/* The kernel keeps no flow whose first packet is
			 * invalid, and neither do we: nor tell of it. */
			engine_remove(e, f, ENGINE_END_SILENT);
			return;
		}
		break;
	case IPPROTO_SCTP:
		refresh = false;
		sctp_track(e, f, p, dir, created, r, &refresh);
		if (created && r->invalid) {
			engine_remove(e, f, ENGINE_END_SILENT);
			return;
		}
		break;
	default:
		proto_track(f, p, e->now_ms);
		break;
	}
	/* A packet the tracker took (accepted or ignored), as the kernel's
	 * resolve_normal_ct() names it: a reply, or a packet of a flow that
	 * had seen one before it, is ESTABLISHED, else NEW; ASSURED as the
	 * tracker left it. An invalid one is INVALID (reject()). And only
	 * then does a reply count as one, so that a forged packet cannot
	 * make a half-open flow replied, then assured. */
	if (r->invalid == INV_NONE) {
		uint8_t fl = f->flags;

		r->ct_state = (uint8_t)(CT_STATE_NEW +
					(dir | !!(fl & FLOW_F_SEEN_REPLY)));
		r->ct_reply = dir;
		r->ct_assured = !!(fl & FLOW_F_ASSURED);
		if (dir == FLOW_DIR_REPLY)
			flow_flags_set(f, FLOW_F_SEEN_REPLY);
	}
	/* nf_conntrack_acct counts where the tracker refreshes the timer:
	 * not a packet it found invalid, not one it ignored, not a SYN
	 * retransmitted before any reply. */
	if (e->accounting && refresh && r->invalid == INV_NONE)
		acct_packet(e, f, p, dir);
	/* Only a refresh moves a flow between lists: its state, class and
	 * assurance change on no other packet. But for the fast path's. */
	if (!plain && e->fast_live)
		fast_decide(e, f, p, r, refresh);
	else if (refresh)
		flow_table_touch(&e->table, f, policy_list_of(f), e->now);
	if (created)
		e->st.flows_created++;
	if (events && (created || engine_flow_changed(f, old_state, old_flags)))
		track_events(e, f, created);
}

static __attribute__((noinline)) void
track_events_on(struct engine *e, const struct pkt *p, struct engine_result *r)
{
	track_as(e, p, r, false, true);
}

static void track(struct engine *e, const struct pkt *p,
		  struct engine_result *r)
{
	if (e->plain)
		track_as(e, p, r, true, false);
	else if (!e->sink.types)
		track_as(e, p, r, false, false);
	else
		track_events_on(e, p, r);
}

/*
 * The flags of the flow of key k in the table of another engine of the
 * group (flow_flags(): its FLOW_F_ORIG_HI tells the directions), or -1 if
 * there is none. Under the group's lock, which their chains change under
 * (chain_guard()): an ICMP error is rare, and waits at worst for a tick's
 * expiry. A flow expired but not reclaimed yet counts, as its owner's
 * last_seen is not ours to read. O(queues x chain length).
 */
static int in_group(struct engine *e, const struct flow_key *k)
{
	const struct policy *l = e->pol;
	const struct flow *f = NULL;
	int flags = -1;

	if (l->ntables < 2)
		return -1;
	engine_lock(e);
	for (unsigned i = 0; i < l->ntables && !f; i++) {
		const struct flow_table *t = l->table[i];

		if (t != &e->table)
			f = flow_table_find(t, k, flow_hash(t, k));
	}
	if (f)
		flags = flow_flags(f);
	engine_unlock(e);
	return flags;
}

/*
 * An ICMP error is accepted as part of the flow it quotes (RELATED), if it
 * is sent to the end that sent the quoted packet; otherwise it is invalid.
 */
static void icmp_error(struct engine *e, const struct pkt *p,
		       struct engine_result *r)
{
	const struct pkt_inner *in = &p->inner;
	size_t alen = p->family == 4 ? 4 : 16;
	const struct flow *f;
	struct flow_key k;
	bool sw; /* the quoted packet's sender is endpoint 1 of k */
	int flags;

	if (!in->has_ports &&
	    (in->proto == IPPROTO_TCP || in->proto == IPPROTO_UDP ||
	     in->proto == IPPROTO_UDPLITE || in->proto == IPPROTO_SCTP)) {
		invalid(e, r, INV_ICMP_ERROR_FLOW);
		return;
	}
	/* A quoted ICMP reply went from the responder: the key is the
	 * requester's first (flow.h). */
	if (((in->family == 4 && in->proto == IPPROTO_ICMP) ||
	     (in->family == 6 && in->proto == IPPROTO_ICMPV6)) &&
	    pkt_icmp_query(in->family, in->icmp_type) == 2)
		sw = !flow_key_make(&k, in->family, in->proto, in->dst, in->src,
				    in->sport, in->dport);
	else
		sw = flow_key_make(&k, in->family, in->proto, in->src, in->dst,
				   in->sport, in->dport);
	f = flow_table_lookup(&e->table, &k, flow_hash(&e->table, &k), e->now);
	flags = f ? f->flags : in_group(e, &k);
	if (flags < 0) {
		invalid(e, r, INV_ICMP_ERROR_FLOW);
		return;
	}
	/* Only the host that sent the quoted packet may be told about it:
	 * else any host could pass packets to a third as "related". */
	if (memcmp(p->dst, in->src, alen)) {
		invalid(e, r, INV_ICMP_ERROR_ADDR);
		return;
	}
	e->st.icmp_related++;
	/* The kernel finds the flow by the quoted packet's tuple inverted:
	 * the error goes the reply way (IP_CT_IS_REPLY) when the quoted
	 * packet went the original way. The flow's status is the error's. */
	r->ct_state = CT_STATE_RELATED;
	r->ct_reply = sw == !!(flags & FLOW_F_ORIG_HI);
	r->ct_assured = !!(flags & FLOW_F_ASSURED);
}

/* The first half of engine_packet(): parse, and key and hash a packet of
 * a flow. Reads the packet and the hash key only. */
static void prepare(const struct engine *e, const uint8_t *buf, size_t caplen,
		    size_t wirelen, unsigned int flags, struct engine_result *r)
{
	struct pkt *p = &r->pkt;

	r->verdict = VERDICT_ACCEPT;
	r->ct_state = CT_STATE_NONE;
	r->ct_reply = false;
	r->ct_assured = false;
	r->reason = DROP_NONE;
	r->invalid = INV_NONE;
	r->shadow = false;
	r->fast_admit = false;
	r->evicted = EVICT_NONE;
	if (!e->checksum)
		flags &= ~(unsigned int)PKT_F_CSUM;
	if (pkt_parse(p, buf, caplen, wirelen, flags) != PKT_FLOW)
		return;
	/* An ICMP reply's key is its request's, the requester first: the
	 * kernel's tuple holds the type (flow.h). */
	if (p->icmp_query == 2)
		r->swapped = !flow_key_make(&r->key, p->family, p->proto,
					    p->dst, p->src, p->sport, p->dport);
	else
		r->swapped = flow_key_make(&r->key, p->family, p->proto, p->src,
					   p->dst, p->sport, p->dport);
	r->hash = flow_hash(&e->table, &r->key);
}

/*
 * As the kernel with nf_conntrack_checksum = 1: a packet whose checksum is
 * wrong changes nothing and is invalid. Only packets the kernel has not
 * verified are summed (PKT_F_CSUM), and only whole ones; of the others, a
 * RST, which could end a connection that still counts for its source, is
 * taken as wrong: a RST rarely carries data, and hardly ever that much.
 */
static bool checksum_ok(struct engine *e, const struct pkt *p,
			struct engine_result *r)
{
	switch (p->csum) {
	case PKT_CSUM_OK:
		e->st.checksums_verified++;
		return true;
	case PKT_CSUM_BAD:
		e->st.checksums_verified++;
		break;
	case PKT_CSUM_PARTIAL:
		if (p->proto != IPPROTO_TCP || !(p->tcp_flags & TCPF_RST))
			return true;
		break;
	default:
		return true;
	}
	invalid(e, r, INV_CHECKSUM);
	return false;
}

/* The second half: track it and decide. */
static void decide(struct engine *e, struct engine_result *r)
{
	struct pkt *p = &r->pkt;

	e->st.packets++;
	switch (p->kind) {
	case PKT_MALFORMED:
		e->st.malformed[p->err]++;
		if (p->err != PKT_ERR_COPY_RANGE) {
			reject(e, r, DROP_MALFORMED);
			break;
		}
		/* Not a bad packet, but one we could not read, whose flow
		 * would meet no limit: its verdict of its own refuses it
		 * by default, lest long headers become a way around them. */
		r->reason = DROP_MALFORMED;
		r->ct_state = CT_STATE_INVALID;
		if (e->copy_range_drop)
			r->verdict = VERDICT_DROP;
		break;
	case PKT_FRAGMENT:
		/* The kernel tracks reassembled packets only. */
		e->st.fragments++;
		r->ct_state = CT_STATE_UNTRACKED;
		if (e->fragment_drop) {
			r->verdict = VERDICT_DROP;
			r->reason = DROP_FRAGMENT;
		}
		break;
	case PKT_ICMP_ERROR:
		if (checksum_ok(e, p, r))
			icmp_error(e, p, r);
		break;
	case PKT_FLOW:
		if (checksum_ok(e, p, r))
			track(e, p, r);
		break;
	}
	if (r->verdict == VERDICT_DROP && e->sink.types)
		refused(e, r);
	if (r->verdict == VERDICT_DROP && !e->enforce) {
		/* Shadow mode: every decision as with enforce = yes, so
		 * that the counts say what it would drop; and accept. */
		r->verdict = VERDICT_ACCEPT;
		r->shadow = true;
		e->st.would_drop++;
		e->st.would[r->reason]++;
		/* Refused by a limit, it would have opened a flow, as the
		 * kernel's has no limits. */
		if (r->ct_state == CT_STATE_NONE)
			r->ct_state = CT_STATE_NEW;
	}
	if (r->verdict == VERDICT_DROP) {
		e->st.dropped++;
		e->st.drop[r->reason]++;
		r->ct_state = CT_STATE_NONE;
		r->ct_reply = false;
		r->ct_assured = false;
	} else {
		e->st.accepted++;
		e->st.state[r->ct_state]++;
	}
}

void engine_packet(struct engine *e, const uint8_t *buf, size_t caplen,
		   size_t wirelen, unsigned int flags, struct engine_result *r)
{
	prepare(e, buf, caplen, wirelen, flags, r);
	decide(e, r);
}

void engine_packets(struct engine *e, const struct engine_input *in,
		    unsigned int n, struct engine_result *r)
{
	/* A small table stays in the caches, where the staged passes only
	 * add work (engine_bench: 72 against 66 ns a packet at 1000 flows;
	 * 197 against 304 at 100,000). */
	if (e->table.count < e->batch_min_flows) {
		for (unsigned int i = 0; i < n; i++)
			engine_packet(e, in[i].buf, in[i].caplen, in[i].wirelen,
				      in[i].flags, &r[i]);
		return;
	}
	for (unsigned int i = 0; i < n; i++) {
		prepare(e, in[i].buf, in[i].caplen, in[i].wirelen, in[i].flags,
			&r[i]);
		if (r[i].pkt.kind == PKT_FLOW)
			flow_table_prefetch_bucket(&e->table, r[i].hash);
	}
	/* By now the first buckets have arrived: on to their flows. A
	 * packet may add a flow at the head of a chain that a later one
	 * looks in; the prefetch is only a hint, the lookup is exact. */
	for (unsigned int i = 0; i < n; i++)
		if (r[i].pkt.kind == PKT_FLOW)
			flow_table_prefetch_flow(&e->table, r[i].hash);
	/* And from the flows, the TCP states, out of line: the chain's
	 * first flow is the packet's unless the chain is longer than one. */
	for (unsigned int i = 0; i < n; i++) {
		const struct flow *f;

		if (r[i].pkt.kind != PKT_FLOW || r[i].pkt.proto != IPPROTO_TCP)
			continue;
		f = flow_table_peek(&e->table, r[i].hash);
		if (f && f->proto == IPPROTO_TCP && f->aux < e->tcp.capacity)
			__builtin_prefetch(engine_flow_tcp(e, f));
	}
	for (unsigned int i = 0; i < n; i++)
		decide(e, &r[i]);
}
