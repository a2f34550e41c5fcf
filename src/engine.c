// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * engine.c - packet to verdict; see engine.h.
 *
 * Protocol behaviour follows nf_conntrack's, so that replacing the kernel's
 * tracker changes what is limited, not what is valid: TCP as tcp.c says;
 * UDP a stream (longer timeout, assured) once replies go on for two
 * seconds; GRE a stream once replied; ICMP query flows open on a request
 * only; ICMP errors open nothing and belong to the flow they quote, if they
 * are addressed to its end; neighbour discovery is not tracked at all.
 */
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "engine.h"
#include "tcp.h"

/* UDP: replies must go on this long before the flow is a stream. */
#define UDP_STREAM_MS 2000

static const char *const drop_names[DROP_REASON_COUNT] = {
	[DROP_NONE] = "none",		[DROP_TABLE_FULL] = "table_full",
	[DROP_MALFORMED] = "malformed", [DROP_INVALID] = "invalid",
	[DROP_FRAGMENT] = "fragment",
};

static const char *const invalid_names[INV_REASON_COUNT] = {
	[INV_NONE] = "none",
	[INV_TCP_FLAGS] = "tcp_flags",
	[INV_TCP_NEW] = "tcp_new",
	[INV_TCP_STATE] = "tcp_state",
	[INV_TCP_WINDOW] = "tcp_window",
	[INV_TCP_RST] = "tcp_rst",
	[INV_UDPLITE_CSUM] = "udplite_csum",
	[INV_ICMP_NEW] = "icmp_new",
	[INV_ICMP_ERROR_FLOW] = "icmp_error_flow",
	[INV_ICMP_ERROR_ADDR] = "icmp_error_addr",
	[INV_IPV6_NO_NEXT] = "ipv6_no_next",
};

const char *engine_drop_name(enum drop_reason r)
{
	return (unsigned)r < DROP_REASON_COUNT ? drop_names[r] : "?";
}

const char *engine_invalid_name(enum invalid_reason r)
{
	return (unsigned)r < INV_REASON_COUNT ? invalid_names[r] : "?";
}

uint64_t engine_bytes(const struct conf *c)
{
	return (uint64_t)c->max_flows * sizeof(struct flow) +
	       (uint64_t)conf_buckets(c) * sizeof(uint32_t);
}

static void set_limits(struct engine *e, const struct conf *c)
{
	e->max_flows = c->max_flows;
	e->invalid_verdict = c->invalid_verdict;
	e->fragment_verdict = c->fragment_verdict;
	memcpy(e->timeouts, c->timeout, sizeof(e->timeouts));
	e->tcp.timeouts = e->timeouts;
	e->tcp.max_retrans = c->tcp_max_retrans;
	e->tcp.loose = c->tcp_loose;
	e->tcp.liberal = c->tcp_liberal;
	e->tcp.ignore_invalid_rst = c->tcp_ignore_invalid_rst;
}

int engine_init(struct engine *e, const struct conf *c,
		const struct hash_key *hkey, uint64_t now_ms)
{
	memset(e, 0, sizeof(*e));
	set_limits(e, c);
	e->now_ms = now_ms;
	e->now = (uint32_t)(now_ms / 1000);
	return flow_table_init(&e->table, c->max_flows, conf_buckets(c), hkey,
			       e->timeouts);
}

void engine_destroy(struct engine *e)
{
	flow_table_destroy(&e->table);
}

int engine_reconfigure(struct engine *e, const struct conf *c)
{
	if (flow_table_grow(&e->table, c->max_flows) < 0)
		return -1;
	if (conf_buckets(c) != flow_table_buckets(&e->table) &&
	    flow_table_resize(&e->table, conf_buckets(c), e->now) < 0)
		return -1;
	set_limits(e, c);
	return 0;
}

uint32_t engine_sweep(struct engine *e, uint32_t max_buckets)
{
	return flow_table_sweep(&e->table, e->now, max_buckets);
}

uint32_t engine_tick(struct engine *e)
{
	uint32_t n = flow_table_buckets(&e->table) / ENGINE_SWEEP_TICKS;

	/* Bounded: at most 16384 buckets, some 100 us, per tick. */
	if (n < 64)
		n = 64;
	if (n > 16384)
		n = 16384;
	return engine_sweep(e, n);
}

uint32_t engine_flow_left(const struct engine *e, const struct flow *f)
{
	uint32_t idle = e->now - f->last_seen, to = e->timeouts[f->tclass];

	return idle < to ? to - idle : 0;
}

void engine_report(const struct engine *e,
		   void (*emit)(void *arg, const char *key, uint64_t value),
		   void *arg)
{
	const struct engine_stats *s = &e->st;
	uint64_t mem = flow_table_bytes(&e->table);
	char key[64];

	emit(arg, "flows", e->table.count);
	emit(arg, "flows_max", e->max_flows);
	emit(arg, "buckets", flow_table_buckets(&e->table));
	emit(arg, "rehashing", flow_table_rehashing(&e->table));
	emit(arg, "memory_bytes", mem);
	emit(arg, "bytes_per_flow",
	     e->table.slab.capacity ? mem / e->table.slab.capacity : 0);
	emit(arg, "packets", s->packets);
	emit(arg, "accepted", s->accepted);
	emit(arg, "dropped", s->dropped);
	for (int i = 1; i < DROP_REASON_COUNT; i++) {
		snprintf(key, sizeof(key), "dropped_%s", engine_drop_name(i));
		emit(arg, key, s->drop[i]);
	}
	for (int i = 1; i < PKT_ERR_COUNT; i++) {
		snprintf(key, sizeof(key), "malformed_%s", pkt_err_name(i));
		emit(arg, key, s->malformed[i]);
	}
	for (int i = 1; i < INV_REASON_COUNT; i++) {
		snprintf(key, sizeof(key), "invalid_%s",
			 engine_invalid_name(i));
		emit(arg, key, s->invalid[i]);
	}
	emit(arg, "fragments", s->fragments);
	emit(arg, "icmp_related", s->icmp_related);
	emit(arg, "untracked", s->untracked);
	emit(arg, "tcp_ignored", s->tcp_ignored);
	emit(arg, "flows_created", s->flows_created);
	emit(arg, "flows_reopened", s->flows_reopened);
	emit(arg, "flows_closed", s->flows_closed);
	emit(arg, "flows_expired", e->table.expired);
}

/* The verdict for a malformed or invalid packet. */
static void reject(struct engine *e, struct engine_result *r,
		   enum drop_reason why)
{
	r->reason = why;
	if (e->invalid_verdict == CONF_DROP)
		r->verdict = VERDICT_DROP;
}

static void invalid(struct engine *e, struct engine_result *r,
		    enum invalid_reason why)
{
	e->st.invalid[why]++;
	r->invalid = (uint8_t)why;
	reject(e, r, DROP_INVALID);
}

static uint8_t timeout_class(uint8_t family, uint8_t proto)
{
	switch (proto) {
	case IPPROTO_UDP:
	case IPPROTO_UDPLITE:
		return TMO_UDP;
	case IPPROTO_GRE:
		return TMO_GRE;
	case IPPROTO_ICMP:
		return family == 4 ? TMO_ICMP : TMO_GENERIC;
	case IPPROTO_ICMPV6:
		return family == 6 ? TMO_ICMPV6 : TMO_GENERIC;
	default:
		return TMO_GENERIC;
	}
}

/* ICMPv6 messages the kernel leaves untracked: multicast listener and
 * neighbour discovery, which are link-local housekeeping, not flows. */
static bool icmp6_untracked(uint8_t type)
{
	return (type >= 130 && type <= 136) || type == 143;
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

/*
 * TCP on a flow that exists. Returns false if the flow is gone: closed,
 * or (REOPEN) to be made again from this very packet.
 */
static bool tcp_track(struct engine *e, struct flow *f, const struct pkt *p,
		      enum flow_dir dir, struct engine_result *r, bool *reopen)
{
	struct tcp_seg seg;
	struct tcp_out out;

	tcp_seg_of(&seg, p);
	switch (tcp_packet(&f->u.tcp, &f->state, f->flags, dir, &seg, &e->tcp,
			   &out)) {
	case TCP_V_ACCEPT:
		f->tclass = out.tclass;
		f->last_seen = e->now;
		if (out.assured)
			f->flags |= FLOW_F_ASSURED;
		break;
	case TCP_V_NOREFRESH:
		if (out.ignored)
			e->st.tcp_ignored++;
		break;
	case TCP_V_INVALID:
		invalid(e, r, tcp_invalid_reason[out.invalid]);
		if (out.shorten) {
			uint32_t left = e->timeouts[f->tclass] -
					(e->now - f->last_seen);

			if (left >= 120 && left > e->timeouts[TMO_TCP_UNACK]) {
				f->tclass = TMO_TCP_UNACK;
				f->last_seen = e->now;
			}
		}
		break;
	case TCP_V_CLOSE:
		flow_table_remove(&e->table, f);
		e->st.flows_closed++;
		return false;
	case TCP_V_REOPEN:
		flow_table_remove(&e->table, f);
		e->st.flows_reopened++;
		*reopen = true;
		return false;
	}
	return true;
}

static void udp_track(struct engine *e, struct flow *f, const struct pkt *p)
{
	f->tclass = TMO_UDP;
	if (f->flags & FLOW_F_SEEN_REPLY) {
		/* UDP-Lite is a stream at the first reply; UDP once replies
		 * go on past two seconds. */
		if (p->proto == IPPROTO_UDPLITE || e->now_ms > f->u.stream_ms) {
			f->tclass = TMO_UDP_STREAM;
			f->flags |= FLOW_F_ASSURED;
		}
	}
	f->last_seen = e->now;
}

/* Make the flow for a packet that opens one; NULL if it may not. */
static struct flow *new_flow(struct engine *e, const struct flow_key *k,
			     uint64_t hash, bool swapped, const struct pkt *p,
			     struct engine_result *r)
{
	struct flow_tcp tcp;
	struct tcp_seg seg;
	struct flow *f;

	if (p->proto == IPPROTO_TCP) {
		tcp_seg_of(&seg, p);
		if (tcp_new(&tcp, &seg, &e->tcp) == TCP_S_INVALID) {
			invalid(e, r, INV_TCP_NEW);
			return NULL;
		}
	} else if (p->icmp_query == 2) {
		invalid(e, r, INV_ICMP_NEW);
		return NULL;
	}
	if (e->table.count >= e->max_flows ||
	    !(f = flow_table_insert(&e->table, k, hash, e->now))) {
		r->verdict = VERDICT_DROP;
		r->reason = DROP_TABLE_FULL;
		return NULL;
	}
	f->flags = swapped ? FLOW_F_ORIG_HI : 0;
	f->tclass = timeout_class(p->family, p->proto);
	if (p->proto == IPPROTO_TCP)
		f->u.tcp = tcp;
	else if (p->proto == IPPROTO_UDP || p->proto == IPPROTO_UDPLITE)
		f->u.stream_ms = e->now_ms + UDP_STREAM_MS;
	return f;
}

static bool is_icmp(const struct pkt *p)
{
	return (p->family == 4 && p->proto == IPPROTO_ICMP) ||
	       (p->family == 6 && p->proto == IPPROTO_ICMPV6);
}

static void track(struct engine *e, const struct pkt *p,
		  struct engine_result *r)
{
	enum flow_dir dir = FLOW_DIR_ORIGINAL;
	bool swapped, reopen = false, created = false;
	struct flow_key k;
	struct flow *f;
	uint64_t hash;

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
	if (is_icmp(p) && !p->icmp_query) {
		if (p->family == 6 && icmp6_untracked(p->icmp_type))
			e->st.untracked++;
		else
			invalid(e, r, INV_ICMP_NEW);
		return;
	}
	swapped = flow_key_make(&k, p->family, p->proto, p->src, p->dst,
				p->sport, p->dport);
	hash = flow_hash(&e->table, &k);
	f = flow_table_lookup(&e->table, &k, hash, e->now);
	if (f) {
		dir = flow_dir_of(f, swapped);
		/* A ping to oneself: the type tells the direction. */
		if (is_icmp(p) &&
		    !memcmp(k.addr[0], k.addr[1], sizeof(k.addr[0])))
			dir = p->icmp_query == 2 ? FLOW_DIR_REPLY :
						   FLOW_DIR_ORIGINAL;
	} else {
		f = new_flow(e, &k, hash, swapped, p, r);
		if (!f)
			return;
		created = true;
	}

	switch (p->proto) {
	case IPPROTO_TCP:
		if (!tcp_track(e, f, p, dir, r, &reopen)) {
			if (!reopen)
				return;
			/* The old connection is gone; this SYN opens the
			 * new one. */
			f = new_flow(e, &k, hash, swapped, p, r);
			if (!f)
				return;
			created = true;
			if (!tcp_track(e, f, p, FLOW_DIR_ORIGINAL, r, &reopen))
				return;
		}
		if (created && r->invalid) {
			/* The kernel keeps no flow whose first packet is
			 * invalid, and neither do we. */
			flow_table_remove(&e->table, f);
			return;
		}
		break;
	case IPPROTO_UDP:
	case IPPROTO_UDPLITE:
		udp_track(e, f, p);
		break;
	case IPPROTO_GRE:
		if (f->flags & FLOW_F_SEEN_REPLY) {
			f->tclass = TMO_GRE_STREAM;
			f->flags |= FLOW_F_ASSURED;
		}
		f->last_seen = e->now;
		break;
	default:
		f->last_seen = e->now;
	}
	if (dir == FLOW_DIR_REPLY)
		f->flags |= FLOW_F_SEEN_REPLY;
	if (created)
		e->st.flows_created++;
}

/*
 * An ICMP error is accepted as part of the flow it quotes, if it is sent
 * to the end that sent the quoted packet; otherwise it is invalid.
 */
static void icmp_error(struct engine *e, const struct pkt *p,
		       struct engine_result *r)
{
	const struct pkt_inner *in = &p->inner;
	size_t alen = p->family == 4 ? 4 : 16;
	struct flow_key k;

	if (!in->has_ports &&
	    (in->proto == IPPROTO_TCP || in->proto == IPPROTO_UDP ||
	     in->proto == IPPROTO_UDPLITE || in->proto == IPPROTO_SCTP ||
	     in->proto == IPPROTO_DCCP)) {
		invalid(e, r, INV_ICMP_ERROR_FLOW);
		return;
	}
	flow_key_make(&k, in->family, in->proto, in->src, in->dst, in->sport,
		      in->dport);
	if (!flow_table_lookup(&e->table, &k, flow_hash(&e->table, &k),
			       e->now)) {
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
}

void engine_packet(struct engine *e, const uint8_t *buf, size_t caplen,
		   size_t wirelen, unsigned int flags, struct engine_result *r)
{
	struct pkt *p = &r->pkt;

	r->verdict = VERDICT_ACCEPT;
	r->reason = DROP_NONE;
	r->invalid = INV_NONE;
	e->st.packets++;

	switch (pkt_parse(p, buf, caplen, wirelen, flags)) {
	case PKT_MALFORMED:
		e->st.malformed[p->err]++;
		reject(e, r, DROP_MALFORMED);
		break;
	case PKT_FRAGMENT:
		e->st.fragments++;
		if (e->fragment_verdict == CONF_DROP) {
			r->verdict = VERDICT_DROP;
			r->reason = DROP_FRAGMENT;
		}
		break;
	case PKT_ICMP_ERROR:
		icmp_error(e, p, r);
		break;
	case PKT_FLOW:
		track(e, p, r);
		break;
	}
	if (r->verdict == VERDICT_DROP) {
		e->st.dropped++;
		e->st.drop[r->reason]++;
	} else {
		e->st.accepted++;
	}
}
