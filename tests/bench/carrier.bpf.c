// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * carrier.bpf.c - make bench's `xb` case: what carrying admitted flows in
 * a BPF hash map would cost, measured beside the nftables sets of
 * `fastpath = yes`. Not a part of nfqtrackd: a measurement of a design.
 *
 * An eBPF socket filter for iptables' bpf match (xt_bpf), in INPUT and
 * OUTPUT before the NFQUEUE rules: it matches (and the rule marks SEEN,
 * past the queue) an IPv4 TCP packet whose 5-tuple is in the map. A pure
 * SYN puts both directions in the map itself, so that nothing is queued:
 * the ceiling of a design where the kernel admits within budgets the
 * daemon sets, as `fk` is for the sets. Per packet: two loads, one hash
 * lookup, and the entry's last-seen time and TCP flags written in place;
 * per connection: two inserts into a preallocated LRU map, no allocation
 * and no removal (the LRU reclaims).
 *
 * Built with -DCARRIER_BUDGETS (make bench's `xr`), a pure SYN is admitted
 * only while two budgets last, its source's and the global one, each
 * taken by an atomic decrement; the flow's tuple then goes to a ring
 * buffer without a wakeup, for the daemon to read on its tick
 * (tests/bench/ringreader.c stands in for it, refilling both budgets).
 * Its place in the ring is taken first, so that no flow is admitted that
 * the daemon would not hear of. A SYN from a source with no budget, or
 * over one, or with the ring full, is not matched: it goes to the queue,
 * for the daemon to decide.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_ACK 0x10

struct carrier_key {
	__u32 src, dst;
	__u16 sport, dport;
	__u32 proto;
};

struct carrier_entry {
	__u64 last_ns; /* last packet, bpf_ktime_get_ns() */
	__u64 flags; /* FIN and RST seen, for the daemon's reading */
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 524288);
	__type(key, struct carrier_key);
	__type(value, struct carrier_entry);
} carrier_flows SEC(".maps");

#ifdef CARRIER_BUDGETS
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __s64);
} carrier_budget SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32); /* the source address */
	__type(value, __s64);
} carrier_source_budget SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 22);
} carrier_admitted SEC(".maps");

/* One from budget b, if there is one left. */
static __always_inline int take(__s64 *b)
{
	if (__sync_fetch_and_add(b, -1) > 0)
		return 1;
	__sync_fetch_and_add(b, 1);
	return 0;
}

/* May the kernel admit k's SYN? Its source's budget, then the global. */
static __always_inline int budget_admits(const struct carrier_key *k)
{
	__u32 zero = 0;
	__s64 *g, *s;

	s = bpf_map_lookup_elem(&carrier_source_budget, &k->src);
	g = bpf_map_lookup_elem(&carrier_budget, &zero);
	if (!s || !g || !take(s))
		return 0;
	if (!take(g)) {
		__sync_fetch_and_add(s, 1);
		return 0;
	}
	return 1;
}
#endif

SEC("socket")
int carrier(struct __sk_buff *skb)
{
	struct carrier_entry fresh = {}, *v;
#ifdef CARRIER_BUDGETS
	struct carrier_key *told;
#endif
	struct carrier_key k = {}, r = {};
	__u8 ip[20], th[14];
	__u32 ihl;

	/* xt_bpf runs the program from the network header. */
	if (bpf_skb_load_bytes(skb, 0, ip, sizeof(ip)))
		return 0;
	if ((ip[0] >> 4) != 4 || ip[9] != 6)
		return 0;
	ihl = (ip[0] & 0xf) * 4;
	if (ihl < 20 || bpf_skb_load_bytes(skb, ihl, th, sizeof(th)))
		return 0;
	__builtin_memcpy(&k.src, ip + 12, 4);
	__builtin_memcpy(&k.dst, ip + 16, 4);
	__builtin_memcpy(&k.sport, th, 2);
	__builtin_memcpy(&k.dport, th + 2, 2);
	k.proto = 6;
	if ((th[13] & (TCP_SYN | TCP_ACK)) == TCP_SYN) {
#ifdef CARRIER_BUDGETS
		told = bpf_ringbuf_reserve(&carrier_admitted, sizeof(*told), 0);
		if (!told)
			return 0;
		if (!budget_admits(&k)) {
			bpf_ringbuf_discard(told, BPF_RB_NO_WAKEUP);
			return 0;
		}
		*told = k;
		bpf_ringbuf_submit(told, BPF_RB_NO_WAKEUP);
#endif
		r.src = k.dst;
		r.dst = k.src;
		r.sport = k.dport;
		r.dport = k.sport;
		r.proto = 6;
		fresh.last_ns = bpf_ktime_get_ns();
		bpf_map_update_elem(&carrier_flows, &k, &fresh, BPF_ANY);
		bpf_map_update_elem(&carrier_flows, &r, &fresh, BPF_ANY);
		return 1;
	}
	v = bpf_map_lookup_elem(&carrier_flows, &k);
	if (!v)
		return 0;
	v->last_ns = bpf_ktime_get_ns();
	if (th[13] & (TCP_FIN | TCP_RST))
		v->flags |= th[13] & (TCP_FIN | TCP_RST);
	return 1;
}

char LICENSE[] SEC("license") = "GPL";
