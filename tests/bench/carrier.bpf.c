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

SEC("socket")
int carrier(struct __sk_buff *skb)
{
	struct carrier_entry fresh = {}, *v;
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
