// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * engine.c - packet to verdict; see engine.h.
 *
 * Protocol behaviour follows nf_conntrack's, so that replacing the kernel's
 * tracker changes what is limited, not what is valid: a TCP flow opens on
 * a SYN or, picked up mid-stream, on a plain ACK; an ICMP query flow opens
 * on a request; ICMP errors never open flows, they belong to the flow they
 * quote; neighbour discovery is not tracked at all.
 */
#include <netinet/in.h>
#include <string.h>

#include "engine.h"
#include "tcp.h"

static const char *const drop_names[DROP_REASON_COUNT] = {
	[DROP_NONE] = "none",
	[DROP_TABLE_FULL] = "table_full",
	[DROP_MALFORMED] = "malformed",
	[DROP_INVALID] = "invalid",
};

static const char *const invalid_names[INV_REASON_COUNT] = {
	[INV_NONE] = "none",	     [INV_TCP_FLAGS] = "tcp_flags",
	[INV_TCP_NEW] = "tcp_new",   [INV_TCP_STATE] = "tcp_state",
	[INV_ICMP_NEW] = "icmp_new", [INV_ICMP_ERROR_FLOW] = "icmp_error_flow",
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
	memcpy(e->timeouts, c->timeout, sizeof(e->timeouts));
}

int engine_init(struct engine *e, const struct conf *c,
		const struct hash_key *hkey, uint32_t now)
{
	memset(e, 0, sizeof(*e));
	set_limits(e, c);
	e->now = now;
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

/* TCP on a flow that exists. Returns false if the flow was removed. */
static bool tcp_track(struct engine *e, struct flow *f, const struct pkt *p,
		      enum flow_dir dir, struct engine_result *r)
{
	uint8_t old = f->state, ns;

	if (!tcp_flags_valid(p->tcp_flags)) {
		invalid(e, r, INV_TCP_FLAGS);
		return true;
	}
	ns = tcp_next_state(old, dir, p->tcp_flags);
	if (ns == TCP_S_IGNORE)
		return true; /* may be valid: pass, but do not refresh */
	if (ns == TCP_S_INVALID) {
		invalid(e, r, INV_TCP_STATE);
		return true;
	}
	if ((old == TCP_S_TIME_WAIT || old == TCP_S_CLOSE) &&
	    ns == TCP_S_SYN_SENT) {
		/* A new connection on the same ports (RFC 1122 4.2.2.13):
		 * start over as a fresh flow. */
		f->flags &= FLOW_F_ORIG_HI;
		f->created = e->now;
	} else if (!(f->flags & FLOW_F_SEEN_REPLY)) {
		/* Nothing came back yet and a RST closes it: the flow is
		 * gone at once, as in the kernel. */
		if (p->tcp_flags & TCPF_RST) {
			flow_table_remove(&e->table, f);
			return false;
		}
	} else if (!(f->flags & FLOW_F_ASSURED) &&
		   (old == TCP_S_SYN_RECV || old == TCP_S_ESTABLISHED) &&
		   ns == TCP_S_ESTABLISHED) {
		f->flags |= FLOW_F_ASSURED;
	}
	f->state = ns;
	f->tclass = ns;
	f->last_seen = e->now;
	return true;
}

/* UDP: a reply makes it a stream; two-way traffic that lasts is assured. */
static void udp_track(struct engine *e, struct flow *f, enum flow_dir dir)
{
	if (dir == FLOW_DIR_REPLY)
		f->tclass = TMO_UDP_STREAM;
	if ((f->flags & FLOW_F_SEEN_REPLY) && e->now - f->created >= 2)
		f->flags |= FLOW_F_ASSURED;
	f->last_seen = e->now;
}

static void new_flow(struct engine *e, const struct flow_key *k, uint64_t hash,
		     bool swapped, const struct pkt *p, struct engine_result *r)
{
	uint8_t state = 0;
	struct flow *f;

	if (p->proto == IPPROTO_TCP) {
		if (!tcp_flags_valid(p->tcp_flags)) {
			invalid(e, r, INV_TCP_FLAGS);
			return;
		}
		state = tcp_next_state(TCP_S_NONE, FLOW_DIR_ORIGINAL,
				       p->tcp_flags);
		if (state >= TCP_S_COUNT) {
			invalid(e, r, INV_TCP_NEW);
			return;
		}
	} else if (p->icmp_query == 2) {
		invalid(e, r, INV_ICMP_NEW);
		return;
	}
	if (e->table.count >= e->max_flows ||
	    !(f = flow_table_insert(&e->table, k, hash, e->now))) {
		r->verdict = VERDICT_DROP;
		r->reason = DROP_TABLE_FULL;
		return;
	}
	e->st.flows_created++;
	f->flags = swapped ? FLOW_F_ORIG_HI : 0;
	f->state = state;
	f->tclass = p->proto == IPPROTO_TCP ?
			    state :
			    timeout_class(p->family, p->proto);
}

static void track(struct engine *e, const struct pkt *p,
		  struct engine_result *r)
{
	bool is_icmp = (p->family == 4 && p->proto == IPPROTO_ICMP) ||
		       (p->family == 6 && p->proto == IPPROTO_ICMPV6);
	enum flow_dir dir;
	struct flow_key k;
	struct flow *f;
	uint64_t hash;
	bool swapped;

	if (is_icmp && !p->icmp_query) {
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
	if (!f) {
		new_flow(e, &k, hash, swapped, p, r);
		return;
	}
	dir = flow_dir_of(f, swapped);
	if (is_icmp && !memcmp(k.addr[0], k.addr[1], sizeof(k.addr[0])))
		dir = p->icmp_query == 2 ? FLOW_DIR_REPLY : FLOW_DIR_ORIGINAL;

	switch (p->proto) {
	case IPPROTO_TCP:
		if (!tcp_track(e, f, p, dir, r))
			return;
		break;
	case IPPROTO_UDP:
	case IPPROTO_UDPLITE:
		udp_track(e, f, dir);
		break;
	default:
		f->last_seen = e->now;
	}
	if (dir == FLOW_DIR_REPLY)
		f->flags |= FLOW_F_SEEN_REPLY;
}

/* An ICMP error is accepted as part of the flow it quotes, or invalid. */
static void icmp_error(struct engine *e, const struct pkt *p,
		       struct engine_result *r)
{
	const struct pkt_inner *in = &p->inner;
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
	if (flow_table_lookup(&e->table, &k, flow_hash(&e->table, &k), e->now))
		e->st.icmp_related++;
	else
		invalid(e, r, INV_ICMP_ERROR_FLOW);
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
