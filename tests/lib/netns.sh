# shellcheck shell=bash
# The network namespaces of the integration tests (tests/integ/lib.sh), the
# soak (through it) and the benchmarks (tests/bench/run.sh): namespaces,
# veth pairs, addresses, static neighbours and the rules that send a link's
# traffic to NFQUEUE, made and removed in one place. Sourced; it defines
# functions only. Every function returns non-zero on the first step that
# fails. NETNS_MADE lists the namespaces made, for netns_cleanup.

NETNS_MADE=()

# netns_add NAME...: new namespaces, their loopback up.
netns_add() {
	local ns
	for ns in "$@"; do
		ip netns add "$ns" || return 1
		NETNS_MADE+=("$ns")
		ip -n "$ns" link set lo up || return 1
	done
}

# netns_cleanup: remove every namespace netns_add made (and with them
# their links and rules); quiet about those already gone.
netns_cleanup() {
	local ns
	for ns in "${NETNS_MADE[@]}"; do
		ip netns del "$ns" 2>/dev/null
	done
	NETNS_MADE=()
}

# netns_mac NS DEV: the link's MAC address.
netns_mac() {
	ip -n "$1" -br link show "$2" | awk '{ print $3 }'
}

# netns_veth NS DEV PEER_NS PEER_DEV: a veth pair between two namespaces,
# both ends up.
netns_veth() {
	ip link add "$2" netns "$1" type veth peer name "$4" netns "$3" || return 1
	ip -n "$1" link set "$2" up && ip -n "$3" link set "$4" up
}

# netns_addr NS DEV ADDR/LEN...: addresses on a link; IPv6 ones without
# duplicate address detection (usable at once).
netns_addr() {
	local ns=$1 dev=$2 a
	shift 2
	for a in "$@"; do
		case $a in
		*:*) ip -n "$ns" addr add "$a" dev "$dev" nodad || return 1 ;;
		*) ip -n "$ns" addr add "$a" dev "$dev" || return 1 ;;
		esac
	done
}

# netns_neigh NS DEV MAC ADDR...: static neighbours, so that no neighbour
# discovery rides along with the traffic a test counts.
netns_neigh() {
	local ns=$1 dev=$2 mac=$3 a
	shift 3
	for a in "$@"; do
		ip -n "$ns" neigh replace "$a" lladdr "$mac" dev "$dev" \
			nud permanent || return 1
	done
}

# netns_queue_target QUEUES: the NFQUEUE target's options for "N" (one
# queue) or "A-B" (several, --queue-balance), always --queue-bypass, as
# the README deploys it.
netns_queue_target() {
	case $1 in
	*-*) echo "--queue-balance ${1%-*}:${1#*-} --queue-bypass" ;;
	*) echo "--queue-num $1 --queue-bypass" ;;
	esac
}

# netns_queue_link NS DEV QUEUES [MATCH...]: DEV's traffic in NS untracked
# by the kernel (raw table, CT --notrack) and through NFQUEUE QUEUES
# (netns_queue_target), IPv4 and IPv6, in and out; the NFQUEUE rules with
# the matches MATCH if given (e.g. the shipped rules' skip of packets
# marked SEEN).
netns_queue_link() {
	local ns=$1 dev=$2 ipt target
	target=$(netns_queue_target "$3")
	shift 3
	for ipt in iptables ip6tables; do
		ip netns exec "$ns" $ipt -t raw -A PREROUTING -i "$dev" -j CT --notrack || return 1
		ip netns exec "$ns" $ipt -t raw -A OUTPUT -o "$dev" -j CT --notrack || return 1
		# shellcheck disable=SC2086
		ip netns exec "$ns" $ipt -A INPUT -i "$dev" "$@" -j NFQUEUE $target || return 1
		# shellcheck disable=SC2086
		ip netns exec "$ns" $ipt -A OUTPUT -o "$dev" "$@" -j NFQUEUE $target || return 1
	done
}
