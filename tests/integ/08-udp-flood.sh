#!/bin/bash
# A UDP flood against the table limit. An attacker namespace sends small
# datagrams with forged sources to many ports of the server, while a
# legitimate client holds established TCP connections, opens new ones and
# sends DNS-like queries (one datagram each, from a new source port,
# answered by an echo). With the kernel's policy (on_full = drop, no
# per-protocol cap) the unanswered UDP flows fill the table and the client
# can open nothing new; with max_flows_udp and early_drop the flood stays
# in its share and the client loses nothing. Each scenario runs against a
# fresh daemon and prints its figures.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/flood.sh"

FLOOD_RATE=${FLOOD_RATE:-20000} # the attacker's datagrams per second
FLOOD_SECS=${FLOOD_SECS:-6}     # how long it floods
FLOOD_LEAD=0.5                  # the flood's head start: the table fills
FLOOD_PORTS=10000-60000         # closed ports: the server's echo is at $PORT
MAX_FLOWS=2000                  # small, so that the flood fills it at once
HELD=20                         # connections established before the flood
CHURN_RATE=20                   # new connections and queries per second,
CHURN_N=100                     # as many as fit in the flood after the lead
CHURN_MS=2000                   # one not echoed by then failed (1 SYN retry)
QUERY_N=100
QUERY_MS=250                    # a query not answered by then failed
export TCP_CMD_WAIT=60

setup_net || { fail "network setup"; done_testing; }
setup_attacker || { fail "attacker setup"; done_testing; }
start_syslog || { fail "syslog"; done_testing; }
echo "# server: icmp_ratelimit=$(ip netns exec "$NS_S" sysctl -n net.ipv4.icmp_ratelimit)ms" \
	"icmp_msgs_per_sec=$(ip netns exec "$NS_S" sysctl -n net.ipv4.icmp_msgs_per_sec)" \
	"(port unreachable replies to the flood)"

# The kernel's failure, reproduced: nothing new gets through, for TCP or
# UDP; what was established lives.
kernel_like() {
	expect_pct_lt "$1: the client's new connections mostly fail" \
		"$NEW_OK" "$CHURN_N" 50
	expect_pct_lt "$1: the client's queries mostly fail" \
		"$QUERY_OK" "$QUERY_N" 50
	expect "$1: established connections survive" "$LOST" 0
}

protected() {
	expect "$1: no established connection lost" "$LOST" 0
	expect_pct_ge "$1: the client's new connections succeed" \
		"$NEW_OK" "$CHURN_N" 99
	expect_pct_ge "$1: the client's queries are answered" \
		"$QUERY_OK" "$QUERY_N" 99
}

flood_scenario on_full=drop udp "$SPOOF4" "$FLOOD_PORTS" kernel_like <<EOF
on_full = drop
EOF

# A cap alone: the flood keeps to its share, so TCP is not starved; the
# queries, which need new UDP flows, meet the full cap.
tcp_spared() {
	expect "$1: no established connection lost" "$LOST" 0
	expect_pct_ge "$1: the client's new connections succeed" \
		"$NEW_OK" "$CHURN_N" 99
	expect_pct_lt "$1: the client's queries meet the full cap" \
		"$QUERY_OK" "$QUERY_N" 50
	expect_ge "$1: refused for the UDP cap" "${S[dropped_proto_cap]:-0}" 1
}

flood_scenario max_flows_udp+drop udp "$SPOOF4" "$FLOOD_PORTS" tcp_spared <<EOF
on_full = drop
max_flows_udp = 500
EOF

flood_scenario max_flows_udp+early_drop udp "$SPOOF4" "$FLOOD_PORTS" protected <<EOF
on_full = early_drop
max_flows_udp = 500
EOF

done_testing
