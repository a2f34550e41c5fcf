# shellcheck shell=bash
# Shared by the flood tests (07-syn-flood.sh, 08-udp-flood.sh), sourced
# after lib.sh: an attacker namespace that floods the server with forged
# sources (flowgen flood), the figures that say what the flood did to the
# server and to a legitimate client, and one scenario run.

V4_A=10.232.0.1
V4_SA=10.232.0.2
V6_A=fd00:232::1
V6_SA=fd00:232::2
SPOOF4=10.66.0.0/16
SPOOF6=fd00:66::/48

# The attacker: a third namespace, joined to the server by a second veth
# pair (veth-a -- veth-sa), from which flowgen flood sends packets with
# forged sources in $SPOOF4 and $SPOOF6. The server routes those ranges
# back through veth-sa, so that its answers to the forged sources (SYN-ACKs,
# RSTs, ICMP errors) go to the attacker and nowhere else, and it queues
# veth-sa's traffic to nfqtrackd as setup_net does veth-s's. The attacker
# stays silent, as a spoofing attacker's victims' addresses would: if its
# stack answered the SYN-ACKs with RSTs, the server would free the
# half-open connections and nfqtrackd the flows, and the flood would be
# milder than a real one. So everything arriving on veth-a is dropped in
# the raw table (before the stack or conntrack sees it), and any RST or
# ICMP error it might still send is dropped on the way out.
setup_attacker() {
	netns_add "$NS_A" || return 1
	queue_link "$NS_A" veth-a veth-sa "$V4_A" "$V4_SA" "$V6_A" "$V6_SA" || return 1
	# The attacker reaches the server's service addresses, those the
	# client uses; the server reaches the forged ranges through it.
	ip -n "$NS_A" route add "${V4_S%.*}.0/24" via "$V4_SA" dev veth-a || return 1
	ip -n "$NS_A" route add "${V6_S%::*}::/64" via "$V6_SA" dev veth-a || return 1
	ip -n "$NS_S" route add "$SPOOF4" via "$V4_A" dev veth-sa || return 1
	ip -n "$NS_S" route add "$SPOOF6" via "$V6_A" dev veth-sa || return 1
	local ipt
	for ipt in iptables ip6tables; do
		ip netns exec "$NS_A" $ipt -t raw -A PREROUTING -i veth-a -j DROP || return 1
		ip netns exec "$NS_A" $ipt -t raw -A OUTPUT -p tcp --tcp-flags RST RST -j DROP || return 1
	done
	ip netns exec "$NS_A" iptables -t raw -A OUTPUT -p icmp --icmp-type destination-unreachable -j DROP || return 1
	ip netns exec "$NS_A" ip6tables -t raw -A OUTPUT -p icmpv6 --icmpv6-type destination-unreachable -j DROP || return 1
}

# With fail_open = yes the kernel lets through, unfiltered, the packets
# that find the queue full or the daemon's socket buffer full, and counts
# them nowhere (kernel_queue_dropped and kernel_user_dropped count only
# without fail-open). The NFQUEUE rules count every packet they send to
# the queue, and the kernel numbers those it really queued
# (kernel_id_sequence): the difference is what slipped past the daemon.
# zero_queue_rules starts the count (the daemon must be running);
# bypassed_packets prints "BYPASSED/QUEUED_BY_RULES" since then.
zero_queue_rules() {
	local ipt
	for ipt in iptables ip6tables; do
		ip netns exec "$NS_S" $ipt -w -Z INPUT
		ip netns exec "$NS_S" $ipt -w -Z OUTPUT
	done
	QUEUE_ID0=$(counter kernel_id_sequence)
}

bypassed_packets() {
	local ipt n id
	n=$(for ipt in iptables ip6tables; do
		ip netns exec "$NS_S" $ipt -w -L INPUT -v -x -n
		ip netns exec "$NS_S" $ipt -w -L OUTPUT -v -x -n
	done | awk '$3 == "NFQUEUE" { n += $1 } END { print n + 0 }')
	id=$(counter kernel_id_sequence)
	echo "$((n - ${id:-0} + ${QUEUE_ID0:-0}))/$n"
}

# server_stat GROUP:NAME: one of the server namespace's protocol counters
# from /proc/net/netstat or /proc/net/snmp, e.g. TcpExt:SyncookiesSent.
server_stat() {
	ip netns exec "$NS_S" cat /proc/net/netstat /proc/net/snmp |
		awk -v k="$1" '
			!($1 in names) { names[$1] = $0; next }
			{
				n = split(names[$1], name)
				for (i = 2; i <= n; i++)
					if ($1 name[i] == k)
						print $i
				delete names[$1]
			}'
}

# cpu_seconds PID: the CPU time (user + system) a process has used so far.
cpu_seconds() {
	awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' \
		"/proc/$1/stat" 2>/dev/null
}

# pct OK N: OK out of N as a percentage with one decimal.
pct() {
	if [ "$2" -gt 0 ]; then
		printf '%d.%d' $(($1 * 100 / $2)) $(($1 * 1000 / $2 % 10))
	else
		printf 'n/a'
	fi
}

# expect_pct_ge DESCRIPTION OK N PERCENT: at least PERCENT % of N are OK.
expect_pct_ge() {
	if [ "$3" -gt 0 ] && [ $(($2 * 100)) -ge $(($4 * $3)) ]; then
		ok "$1 ($2/$3 >= $4%)"
	else
		fail "$1: $2/$3, expected at least $4%"
	fi
}

# expect_pct_lt DESCRIPTION OK N PERCENT: fewer than PERCENT % of N are OK.
expect_pct_lt() {
	if [ "$3" -gt 0 ] && [ $(($2 * 100)) -lt $(($4 * $3)) ]; then
		ok "$1 ($2/$3 < $4%)"
	else
		fail "$1: $2/$3, expected less than $4%"
	fi
}

# Flood scenarios (07-syn-flood.sh, 08-udp-flood.sh): the test sets
#   FLOOD_RATE, FLOOD_SECS  the attacker's packets per second, and for how long
#   MAX_FLOWS               the table's size, added to every configuration
#   HELD                    connections the client establishes before the flood
#   CHURN_N, CHURN_RATE, CHURN_MS
#                           the client's new connections during the flood
#                           (flowgen churn), starting FLOOD_LEAD seconds in
#   QUERY_N, QUERY_MS       DNS-like queries during the flood, each from a
#                           new source port, waiting QUERY_MS for its echo
#                           (0: none), at CHURN_RATE a second
# and calls flood_scenario NAME MODE SOURCES PORTS CHECKS < config snippet:
# a fresh daemon with that configuration, the echo server, the client with
# its HELD connections; then `flood -m MODE -s SOURCES -p PORTS` from the
# attacker namespace while the client churns (and queries); then an echo
# on the held connections. It prints the figures, then CHECKS (a function,
# given NAME) asserts on them: SENT (attack packets), NEW_OK/CHURN_N,
# QUERY_OK/QUERY_N, LOST (held connections that no longer echo) and the
# counters in S.
flood_scenario() {
	local name=$1 mode=$2 src=$3 ports=$4 checks=$5 conf=$T/$1.conf
	local r fpid qpid t0=$SECONDS cpu cookies drops unreach
	{
		echo "max_flows = $MAX_FLOWS"
		cat
	} | write_conf "$conf"
	start_daemon "$conf" || { fail "$name: daemon start"; return 1; }
	zero_queue_rules
	start_server
	cookies=$(server_stat TcpExt:SyncookiesSent)
	drops=$(server_stat TcpExt:ListenDrops)
	unreach=$(server_stat Icmp:OutDestUnreachs)
	tcp_client "$V4_S"
	r=$(tcp_cmd open "$HELD" 3000)
	expect "$name: $HELD connections established before the flood" "$r" \
		"open ok=$HELD fail=0"

	ip netns exec "$NS_A" "$FLOWGEN" flood -m "$mode" -s "$src" -d "$V4_S" \
		-p "$ports" -r "$FLOOD_RATE" -t "$FLOOD_SECS" \
		-n $((FLOOD_RATE * FLOOD_SECS)) >"$T/$name.flood" 2>&1 &
	fpid=$!
	PIDS+=("$fpid")
	sleep "$FLOOD_LEAD"
	if [ "${QUERY_N:-0}" -gt 0 ]; then
		ip netns exec "$NS_C" "$FLOWGEN" udp -d "$V4_S" -p "$PORT" \
			-n "$QUERY_N" -f "$QUERY_N" -w "$QUERY_MS" \
			-i $((1000 / CHURN_RATE)) -t 60 >"$T/$name.query" 2>&1 &
		qpid=$!
		PIDS+=("$qpid")
	fi
	r=$(tcp_cmd churn "$CHURN_N" "$CHURN_RATE" "$CHURN_MS")
	NEW_OK=$(field ok "$r")
	NEW_OK=${NEW_OK:-0}
	NEW_MAX_MS=$(field max_ms "$r")
	wait "$fpid"
	forget_pid "$fpid"
	SENT=$(field sent "$(cat "$T/$name.flood")")
	QUERY_OK=0
	if [ -n "${qpid:-}" ]; then
		wait "$qpid"
		forget_pid "$qpid"
		QUERY_OK=$(field recv "$(cat "$T/$name.query")")
		QUERY_OK=${QUERY_OK:-0}
	fi
	r=$(tcp_cmd echo 3000)
	r=$(field ok "$r")
	LOST=$((HELD - ${r:-0}))

	snapshot
	cpu=$(cpu_seconds "$DAEMON_PID")
	echo "# figures $name: attack_sent=${SENT:-?}" \
		"($(field pps "$(cat "$T/$name.flood")") pps)" \
		"legit_new ok=$NEW_OK/$CHURN_N ($(pct "$NEW_OK" "$CHURN_N")%, slowest ${NEW_MAX_MS:-?}ms)" \
		${qpid:+"legit_queries ok=$QUERY_OK/$QUERY_N ($(pct "$QUERY_OK" "$QUERY_N")%)"} \
		"established_lost=$LOST flows=${S[flows]:-}" \
		"dropped_table_full=${S[dropped_table_full]:-}" \
		"dropped_source_limit=${S[dropped_source_limit]:-}" \
		"dropped_source_rate=${S[dropped_source_rate]:-}" \
		"dropped_proto_cap=${S[dropped_proto_cap]:-}" \
		"evicted=${S[flows_evicted]:-}" \
		"evicted_early_drop=${S[evicted_early_drop]:-}" \
		"kernel_queue_dropped=${S[kernel_queue_dropped]:-}" \
		"kernel_user_dropped=${S[kernel_user_dropped]:-}" \
		"bypassed=$(bypassed_packets)" \
		"daemon_cpu=${cpu}s/$((SECONDS - t0))s" \
		"server: syncookies_sent=$(($(server_stat TcpExt:SyncookiesSent) - cookies))" \
		"listen_drops=$(($(server_stat TcpExt:ListenDrops) - drops))" \
		"icmp_unreachable_sent=$(($(server_stat Icmp:OutDestUnreachs) - unreach))"
	[ -n "$SENT" ] || fail "$name: flood: $(cat "$T/$name.flood")"
	"$checks" "$name"
	check_accounting "$name" any

	tcp_done
	stop_pid "$SERVER_PID"
	stop_daemon
}
