// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * carrier.bpf.c - the BPF carrier's kernel half: two eBPF socket filters
 * for the xtables bpf match (xt_bpf), which runs them from the network
 * header, and their maps. Built with clang -target bpf; the object is
 * linked into nfqtrackd (src/carrier_obj.S) and loaded by src/carrier.c;
 * the rules of src/carrierrule.c, in nfqtrackd's nftables table, run
 * them. The layout both halves share is include/carrier_map.h.
 *
 *   carry   before the NFQUEUE rules: matches a packet of a flow the
 *           daemon admitted (its own tuple in `flows`, alive), and the
 *           rule marks it ESTABLISHED, past the queue. A pure SYN never
 *           matches: every new flow is the daemon's to admit. Without
 *           SYN, FIN or RST it refreshes the entry (OPEN becomes EST); a
 *           FIN or RST moves both directions to CLOSING or CLOSE, never
 *           refreshed after (with accounting, it goes to the daemon
 *           instead, which reads the counters first).
 *   admit   after the filter table, on a packet whose verdict carried the
 *           admit mark: puts both directions of its flow in `flows`; for
 *           a SYN judge admitted, then writes it to the `learned` ring,
 *           which the daemon reads on its tick and makes the flow its
 *           own from.
 *   judge   before the NFQUEUE rules, on a pure SYN, when the daemon has
 *           turned it on: admits a new connection in the kernel while
 *           the daemon's budget lasts, taking a unit of it, and leaves
 *           the unit in `judged` for admit. What it admits: a tuple with
 *           no live entry, or one whose connection closed as the kernel's
 *           tracker lets a SYN reopen it; a retransmitted SYN of a
 *           connection admitted already matches without a budget.
 *           Anything else, and everything over the budget, goes on to
 *           the queue, where the daemon decides with every policy.
 *
 * The record is admit's, not judge's: a SYN the admin's filter drops
 * after judge never reaches admit, and is never the daemon's flow (as
 * the kernel's tracker never confirms an entry for a packet its filter
 * dropped). Its unit the daemon counts as returned a turn later (it has
 * every unit's number: the taken count before it, in each record).
 *
 * Per packet: a few loads, one hash lookup, the entry's time written in
 * place. Per admitted flow: two updates of a preallocated hash map (no
 * allocation); by judge, two lookups more, a compare-and-swap and an
 * update of `judged`; by admit then, a lookup and a delete of it and a
 * record of 168 bytes in the ring (no wakeup: the daemon polls it).
 * Nothing here removes an entry: a dead one (its state's
 * timeout run out) matches nothing, and the daemon removes it when it
 * ends the flow. Removing it here could remove a newer admission of the
 * same tuple made on another CPU in the meantime.
 */
#include <linux/bpf.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>

#include "carrier_map.h"

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_ACK 0x10

/* The daemon sets max_entries (2 per flow of its table) before loading. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, struct carrier_key);
	__type(value, struct carrier_flow);
} flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct carrier_conf);
} conf SEC(".maps");

/* The admission budget: CARRIER_BUDGET_GRANTED (the daemon's) and
 * CARRIER_BUDGET_TAKEN (judge's). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, CARRIER_BUDGETS);
	__type(key, __u32);
	__type(value, __u64);
} budget SEC(".maps");

/* The SYNs judge admitted and admit confirmed (struct carrier_syn), for
 * the daemon to learn. The daemon grants no more than it holds
 * (carrier_grant()): a record never finds it full but for a moment's
 * reservations. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20);
} learned SEC(".maps");

/* judge's units on their way to admit, by the SYN's tuple (struct
 * carrier_judged). A SYN the filter dropped leaves its entry behind, to
 * be replaced by a retransmission's or pushed out by newer ones (an LRU
 * map): what the daemon counts does not depend on it. Its size is many
 * ticks' worth of the largest grant. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct carrier_key);
	__type(value, struct carrier_judged);
} judged SEC(".maps");

/* User space's alone (accounting: what it has read of each entry's
 * counters); no program here touches it. Allocated as it fills: empty
 * without accounting. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct carrier_key);
	__type(value, struct carrier_seen);
} seen SEC(".maps");

/*
 * The packet's own tuple into k and its TCP flags into *flags (0 for
 * UDP). -1 for what is not carried: not IPv4 or IPv6, a fragment, an
 * IPv6 packet with extension headers, neither TCP nor UDP, too short.
 * Such packets go to the queue, where the daemon judges them whole.
 */
static __always_inline int parse(struct __sk_buff *skb, struct carrier_key *k,
				 __u8 *flags)
{
	__u8 ip[40], th[14];
	__u32 l4;

	if (bpf_skb_load_bytes(skb, 0, ip, 20))
		return -1;
	if ((ip[0] >> 4) == 4) {
		/* More fragments, or an offset: not the whole datagram. */
		if ((ip[6] & 0x3f) || ip[7])
			return -1;
		l4 = (ip[0] & 0xf) * 4;
		if (l4 < 20)
			return -1;
		k->proto = ip[9];
		k->family = 4;
		__builtin_memcpy(&k->src[0], ip + 12, 4);
		__builtin_memcpy(&k->dst[0], ip + 16, 4);
	} else if ((ip[0] >> 4) == 6) {
		if (bpf_skb_load_bytes(skb, 0, ip, 40))
			return -1;
		l4 = 40;
		k->proto = ip[6];
		k->family = 6;
		__builtin_memcpy(k->src, ip + 8, 16);
		__builtin_memcpy(k->dst, ip + 24, 16);
	} else {
		return -1;
	}
	if (k->proto == IPPROTO_TCP) {
		if (bpf_skb_load_bytes(skb, l4, th, 14))
			return -1;
		*flags = th[13];
	} else if (k->proto == IPPROTO_UDP) {
		if (bpf_skb_load_bytes(skb, l4, th, 8))
			return -1;
		*flags = 0;
	} else {
		return -1;
	}
	__builtin_memcpy(&k->sport, th, 2);
	__builtin_memcpy(&k->dport, th + 2, 2);
	return 0;
}

static __always_inline void reverse(const struct carrier_key *k,
				    struct carrier_key *r)
{
	__builtin_memcpy(r->src, k->dst, sizeof(r->src));
	__builtin_memcpy(r->dst, k->src, sizeof(r->dst));
	r->sport = k->dport;
	r->dport = k->sport;
	r->proto = k->proto;
	r->family = k->family;
}

/* The timeout of state st (0: none). Constant offsets only: a map value
 * indexed by a variable is pointer arithmetic that the verifier refuses
 * without CAP_PERFMON (its Spectre mitigation), and nfqtrackd loads the
 * programs with CAP_BPF alone. */
static __always_inline __u64 timeout_of(const struct carrier_conf *c, __u32 st)
{
	switch (st) {
	case CARRIER_OPEN:
		return c->timeout_ns[CARRIER_OPEN];
	case CARRIER_EST:
		return c->timeout_ns[CARRIER_EST];
	case CARRIER_CLOSING:
		return c->timeout_ns[CARRIER_CLOSING];
	case CARRIER_CLOSE:
		return c->timeout_ns[CARRIER_CLOSE];
	case CARRIER_UDP:
		return c->timeout_ns[CARRIER_UDP];
	}
	return 0;
}

static __always_inline int alive(const struct carrier_conf *c,
				 const struct carrier_flow *v, __u64 now)
{
	__u64 tmo = timeout_of(c, v->state);
	__s64 age = (__s64)(now - v->last_ns);

	/* A packet on another CPU may have written a time later than the
	 * one read here: that is no age at all, not a huge one. */
	return tmo && (age <= 0 || (__u64)age <= tmo);
}

static __always_inline void count(const struct carrier_conf *c,
				  struct carrier_flow *v,
				  const struct __sk_buff *skb)
{
	if (!(c->flags & CARRIER_F_ACCOUNTING))
		return;
	__sync_fetch_and_add(&v->packets, 1);
	__sync_fetch_and_add(&v->bytes, skb->len);
}

/* A FIN or RST (fl) of k's direction: what it sent, then both
 * directions to CLOSING or CLOSE, each once: the time first, so that a
 * reader that sees the new state sees the FIN's time. */
static __always_inline void close_both(const struct carrier_key *k,
				       struct carrier_flow *own, __u8 fl,
				       __u64 now)
{
	__u32 to = fl & TCP_RST ? CARRIER_CLOSE : CARRIER_CLOSING;
	struct carrier_key r = {};
	struct carrier_flow *rv;
	__u32 sent;

	reverse(k, &r);
	rv = bpf_map_lookup_elem(&flows, &r);
	if (fl & TCP_RST)
		sent = CARRIER_SENT_RST;
	else if (rv && (rv->sent & CARRIER_SENT_FIN))
		sent = CARRIER_SENT_FIN;
	else
		sent = CARRIER_SENT_FIN | CARRIER_SENT_FIN_FIRST;
	__sync_fetch_and_or(&own->sent, sent);
	if (own->state <= CARRIER_EST) {
		own->last_ns = now;
		__sync_lock_test_and_set(&own->state, to);
	}
	if (rv && rv->state <= CARRIER_EST) {
		rv->last_ns = now;
		__sync_lock_test_and_set(&rv->state, to);
	}
}

SEC("socket")
int carry(struct __sk_buff *skb)
{
	struct carrier_key k = {};
	struct carrier_flow *v;
	struct carrier_conf *c;
	__u32 zero = 0;
	__u8 fl = 0;
	__u64 now;

	c = bpf_map_lookup_elem(&conf, &zero);
	if (!c || !(c->flags & CARRIER_F_ON) || parse(skb, &k, &fl))
		return 0;
	if (k.proto == IPPROTO_UDP && !(c->flags & CARRIER_F_UDP))
		return 0;
	if (k.proto == IPPROTO_TCP && (fl & (TCP_SYN | TCP_ACK)) == TCP_SYN)
		return 0;
	v = bpf_map_lookup_elem(&flows, &k);
	if (!v)
		return 0;
	now = bpf_ktime_get_ns();
	if (!alive(c, v, now))
		return 0;
	if (k.proto == IPPROTO_UDP) {
		if (v->state != CARRIER_UDP)
			return 0;
		v->last_ns = now;
	} else if (v->state == CARRIER_UDP) {
		return 0;
	} else if (fl & (TCP_FIN | TCP_RST)) {
		if (c->flags & CARRIER_F_ACCOUNTING)
			return 0;
		close_both(&k, v, fl, now);
	} else if (!(fl & TCP_SYN) && v->state <= CARRIER_EST) {
		/* A SYN-ACK is carried but refreshes nothing: the handshake
		 * is not done until a packet without SYN goes by. */
		v->last_ns = now;
		if (v->state == CARRIER_OPEN)
			__sync_val_compare_and_swap(&v->state, CARRIER_OPEN,
						    CARRIER_EST);
	}
	count(c, v, skb);
	return 1;
}

/*
 * The unit judge took for this SYN (k), if it did and no other admit of
 * the same tuple claimed it first (the delete is the claim), into *j;
 * then its record in the ring, the SYN's head copied, into *rec. 0: not
 * judge's; 1: judge's, *rec to submit; -1: judge's, and the ring full
 * (never while the daemon grants within its room) or the head not read:
 * no entries then, and no record, so that the kernel never carries a
 * flow the daemon does not know; the daemon counts the unit returned.
 */
static __always_inline int claim(struct __sk_buff *skb,
				 const struct carrier_key *k,
				 struct carrier_judged *j,
				 struct carrier_syn **rec)
{
	struct carrier_judged *p = bpf_map_lookup_elem(&judged, k);
	__u32 len = skb->len < CARRIER_SYN_HEAD ? skb->len : CARRIER_SYN_HEAD;

	if (!p)
		return 0;
	*j = *p;
	if (bpf_map_delete_elem(&judged, k))
		return 0;
	*rec = bpf_ringbuf_reserve(&learned, sizeof(**rec), 0);
	if (!*rec)
		return -1;
	if (len < 20 || bpf_skb_load_bytes(skb, 0, (*rec)->head, len)) {
		bpf_ringbuf_discard(*rec, BPF_RB_NO_WAKEUP);
		return -1;
	}
	(*rec)->time_ns = j->time_ns;
	(*rec)->unit = j->unit;
	(*rec)->len = len;
	(*rec)->wirelen = skb->len;
	(*rec)->reopened = j->reopened;
	(*rec)->zero = 0;
	return 1;
}

SEC("socket")
int admit(struct __sk_buff *skb)
{
	struct carrier_flow fresh = {}, *v;
	struct carrier_key k = {}, r = {};
	struct carrier_syn *rec = NULL;
	struct carrier_judged j = {};
	struct carrier_conf *c;
	__u32 zero = 0;
	__u8 fl = 0;
	int mine = 0;

	c = bpf_map_lookup_elem(&conf, &zero);
	if (!c || !(c->flags & CARRIER_F_ON) || parse(skb, &k, &fl))
		return 0;
	if (k.proto == IPPROTO_UDP && !(c->flags & CARRIER_F_UDP))
		return 0;
	/* Whether judge is on or not: it may have been when it ran. */
	if (k.proto == IPPROTO_TCP && (fl & 0x3f) == TCP_SYN) {
		mine = claim(skb, &k, &j, &rec);
		if (mine < 0)
			return 0;
	}
	fresh.last_ns = bpf_ktime_get_ns();
	fresh.admitted_ns = fresh.last_ns;
	fresh.state = k.proto == IPPROTO_TCP ? CARRIER_OPEN : CARRIER_UDP;
	/* An admission that finds its flow alive in the same kind of state
	 * (a retransmitted SYN admitted twice, a UDP flow's second
	 * admission) changes nothing, its counters least; one closing or
	 * dead is replaced: a new connection on the old ports. */
	v = bpf_map_lookup_elem(&flows, &k);
	if (v && alive(c, v, fresh.last_ns) &&
	    (v->state <= CARRIER_EST) == (fresh.state <= CARRIER_EST))
		goto out;
	if (c->flags & CARRIER_F_ACCOUNTING) {
		/* Both start with the admitting packet, as the sets'
		 * elements do: the daemon counted it already and takes it
		 * off at its first reading (engine_fastpath_found()). */
		fresh.packets = 1;
		fresh.bytes = skb->len;
	}
	reverse(&k, &r);
	bpf_map_update_elem(&flows, &r, &fresh, BPF_ANY);
	if (fresh.state == CARRIER_OPEN)
		fresh.sent = CARRIER_SENT_SYN;
	bpf_map_update_elem(&flows, &k, &fresh, BPF_ANY);
out:
	/* The entries first: the daemon may take them back as soon as it
	 * reads the record. */
	if (mine)
		bpf_ringbuf_submit(rec, BPF_RB_NO_WAKEUP);
	return 1;
}

/*
 * May a SYN of own's direction reopen the closed connection of own and
 * rv (the other direction)? As the kernel's tracker decides it
 * (tcp_packet(), a SYN in TIME_WAIT or CLOSE): the connection is over
 * (both sent a FIN, or either a RST), and the other direction began the
 * close, or this one's RST was its end. The carrier keeps no final ACK
 * and no order of RSTs: both FINs stand for TIME_WAIT (LAST_ACK, where
 * only a broken or forged peer sends a SYN, is taken for it), and a RST
 * this direction sent for the last packet being that RST.
 */
static __always_inline int reopens(const struct carrier_flow *own,
				   const struct carrier_flow *rv)
{
	__u32 o = own->sent, r = rv ? rv->sent : 0;
	int over = (o & r & CARRIER_SENT_FIN) || ((o | r) & CARRIER_SENT_RST);

	return over && ((r & CARRIER_SENT_FIN_FIRST) || (o & CARRIER_SENT_RST));
}

/* One unit of the budget, if one is left and its lease runs at now:
 * taken < granted, taken raised by compare-and-swap (a few tries; a SYN
 * that loses them all goes to the queue, which is never wrong). Its
 * number (taken before it) into *unit. */
static __always_inline int take_budget(__u64 now, __u64 *unit)
{
	__u32 gk = CARRIER_BUDGET_GRANTED, tk = CARRIER_BUDGET_TAKEN,
	      uk = CARRIER_BUDGET_UNTIL;
	__u64 *granted = bpf_map_lookup_elem(&budget, &gk);
	__u64 *taken = bpf_map_lookup_elem(&budget, &tk);
	__u64 *until = bpf_map_lookup_elem(&budget, &uk);

	if (!granted || !taken || !until ||
	    (__s64)(*(volatile __u64 *)until - now) < 0)
		return 0;
#pragma unroll
	for (int i = 0; i < 4; i++) {
		__u64 was = *(volatile __u64 *)taken;

		if (was >= *(volatile __u64 *)granted)
			return 0;
		if (__sync_val_compare_and_swap(taken, was, was + 1) == was) {
			*unit = was;
			return 1;
		}
	}
	return 0;
}

SEC("socket")
int judge(struct __sk_buff *skb)
{
	struct carrier_key k = {}, r = {};
	struct carrier_flow *v, *rv;
	struct carrier_judged j = {};
	struct carrier_conf *c;
	__u32 zero = 0;
	__u8 fl = 0;
	__u64 now;

	c = bpf_map_lookup_elem(&conf, &zero);
	if (!c || (c->flags & (CARRIER_F_ON | CARRIER_F_JUDGE)) !=
			  (CARRIER_F_ON | CARRIER_F_JUDGE))
		return 0;
	/* A SYN and nothing of ACK, FIN, RST, PSH or URG (ECE and CWR are
	 * an ECN setup's): other combinations are the daemon's to judge. */
	if (parse(skb, &k, &fl) || k.proto != IPPROTO_TCP ||
	    (fl & 0x3f) != TCP_SYN)
		return 0;
	now = bpf_ktime_get_ns();
	v = bpf_map_lookup_elem(&flows, &k);
	if (v && alive(c, v, now)) {
		/* The opener's SYN again: admitted already, nothing new. */
		if (v->state == CARRIER_OPEN && (v->sent & CARRIER_SENT_SYN))
			return 1;
		if (v->state != CARRIER_CLOSING && v->state != CARRIER_CLOSE)
			return 0;
		reverse(&k, &r);
		rv = bpf_map_lookup_elem(&flows, &r);
		if (!reopens(v, rv))
			return 0;
		j.reopened = 1;
	}
	/* A unit taken and not in judged (no memory for it) is never
	 * claimed: the daemon counts it returned, and the SYN goes on to
	 * the queue, which is never wrong. */
	if (!take_budget(now, &j.unit))
		return 0;
	j.time_ns = now;
	return bpf_map_update_elem(&judged, &k, &j, BPF_ANY) ? 0 : 1;
}

char LICENSE[] SEC("license") = "GPL";
