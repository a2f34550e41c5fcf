#!/bin/bash
# Several queues: queues = 0-1 behind iptables --queue-balance 0:1, a
# thread and a flow table per queue. The kernel sends both directions of
# every flow to the same queue, traffic between many address pairs
# spreads over both queues, and the limits hold for the two together,
# exactly, also when new flows race in on both at once. Control requests,
# a reload and a flush see and change both tables. An ICMP error, which
# may reach the other queue, finds its flow in either table.
. "$(dirname "$0")/lib.sh"

NSRC=16 # client addresses: two queues, all on one by chance: 2^-15
MAX=40  # flows; the clients try 48
QUEUE_RULES=no setup_net || { fail "network setup"; done_testing; }
mac=$(ip -n "$NS_C" -br link show veth-c | awk '{print $3}')
SRCS=()
for i in $(seq "$NSRC"); do
	a=10.231.0.$((100 + i))
	SRCS+=("$a")
	ip -n "$NS_C" addr add "$a/24" dev veth-c
	ip -n "$NS_S" neigh replace "$a" lladdr "$mac" dev veth-s nud permanent
done
for ipt in iptables ip6tables; do
	ip netns exec "$NS_S" $ipt -t raw -A PREROUTING -i veth-s -j CT --notrack &&
	ip netns exec "$NS_S" $ipt -t raw -A OUTPUT -o veth-s -j CT --notrack &&
	ip netns exec "$NS_S" $ipt -A INPUT -i veth-s -j NFQUEUE --queue-balance 0:1 --queue-bypass &&
	ip netns exec "$NS_S" $ipt -A OUTPUT -o veth-s -j NFQUEUE --queue-balance 0:1 --queue-bypass ||
		{ fail "$ipt rules"; done_testing; }
done
start_syslog || { fail "syslog"; done_testing; }
write_conf "$T/nfqtrack.conf" <<EOF2
queues = 0-1
max_flows = $MAX
on_full = drop
log_rate = 1000
log_burst = 1000
EOF2
start_daemon "$T/nfqtrack.conf" || { fail "daemon start"; done_testing; }
start_server
check "both queues bound, one thread each" wait_syslog \
	"queues 0-1 bound"
expect "stats: two queues" "$(counter queues)" 2

# udp_from SRC WAIT_MS: three UDP flows from SRC, one datagram each,
# waiting for the echoes; prints how many came back.
udp_from() {
	local r
	r=$(ip netns exec "$NS_C" "$FLOWGEN" udp -d "$V4_S" -s "$1" -p "$PORT" \
		-n 3 -f 3 -w "$2" -t 20)
	field recv "$r"
}

# One source after the other: the first MAX flows in, the rest refused.
got=0
for a in "${SRCS[@]}"; do
	got=$((got + $(udp_from "$a" 300)))
done
expect "$MAX of $((3 * NSRC)) UDP flows answered (max_flows over both queues)" "$got" "$MAX"
expect "the tables hold max_flows between them" "$(counter flows)" "$MAX"
expect "the other flows were refused, one packet each" "$(counter dropped_table_full)" "$((3 * NSRC - MAX))"
q0=$(counter queue_0_packets)
q1=$(counter queue_1_packets)
echo "# queue 0: $q0 packets, queue 1: $q1 packets"
expect_ge "queue 0 had traffic" "$q0" 1
expect_ge "queue 1 had traffic" "$q1" 1
expect "the queues' packets add up" "$((q0 + q1))" "$(counter queue_packets)"
"$NFQTRACKCTL" -s "$CTL" list -p udp >"$T/list" 2>"$T/list.err"
expect "list shows the flows of both tables" "$(grep -c '^udp' "$T/list")" "$MAX"
expect "every flow saw its reply: both directions went to one queue" \
	"$(grep -c UNREPLIED "$T/list")" 0
expect "no packet was invalid for its flow" "$(counter invalid_icmp_new)$(counter invalid_tcp_new)" "00"
line=$(grep -m1 '^udp' "$T/list")
first=$(echo "$line" | grep -o 'src=[0-9.]*' | head -1)
first=${first#src=}
sport=$(echo "$line" | grep -o 'sport=[0-9]*' | head -1)
sport=${sport#sport=}
if "$NFQTRACKCTL" -s "$CTL" get -p udp --src "$first" --dst "$V4_S" --sport "$sport" \
	--dport "$PORT" | grep -q "src=$first"; then
	ok "get finds a flow in whichever table holds it"
else
	fail "get finds a flow in whichever table holds it"
fi
r=$("$NFQTRACKCTL" -s "$CTL" flush 2>&1)
expect "flush empties both tables" "$r" "nfqtrackctl: $MAX flow entries have been deleted."
expect "no flows left" "$(counter flows)" 0

# All sources at once: the threads race for the last places.
before=$(counter dropped_table_full)
for a in "${SRCS[@]}"; do
	udp_from "$a" 1000 >"$T/race.$a" &
	PIDS+=($!)
done
for a in "${SRCS[@]}"; do
	wait "${PIDS[-1]}" 2>/dev/null
	forget_pid "${PIDS[-1]}"
done
got=0
for a in "${SRCS[@]}"; do
	got=$((got + $(cat "$T/race.$a")))
done
expect "racing on both queues: exactly $MAX flows answered" "$got" "$MAX"
expect "racing: the tables hold exactly max_flows" "$(counter flows)" "$MAX"
expect "racing: the rest refused" "$(($(counter dropped_table_full) - before))" "$((3 * NSRC - MAX))"
expect "list agrees with the count" "$("$NFQTRACKCTL" -s "$CTL" list 2>/dev/null | grep -c '^udp')" "$MAX"

# A reload reaches both tables: room for TCP connections from every
# source, each seen whole (ASSURED needs both directions).
sed -i "s/^max_flows = .*/max_flows = 200/" "$T/nfqtrack.conf"
kill -HUP "$DAEMON_PID"
for _ in $(seq 50); do
	[ "$(counter flows_max)" = 200 ] && break
	sleep 0.1
done
expect "SIGHUP: the new max_flows holds" "$(counter flows_max)" 200
for a in "${SRCS[@]}"; do
	tcp_client "$V4_S" "$a"
	r=$(tcp_cmd open 2 3000)
	[ "$r" = "open ok=2 fail=0" ] || fail "TCP from $a: $r"
	r=$(tcp_cmd echo 3000)
	[ "$r" = "echo ok=2 fail=0" ] || fail "TCP echo from $a: $r"
	tcp_done
done
"$NFQTRACKCTL" -s "$CTL" list -p tcp >"$T/tcp" 2>/dev/null
expect "$((2 * NSRC)) TCP connections tracked" "$(grep -c '^tcp' "$T/tcp")" "$((2 * NSRC))"
expect "every one assured: both directions seen by one queue" \
	"$(grep -c 'ASSURED' "$T/tcp")" "$((2 * NSRC))"
expect "none left half-open or invalid" "$(counter invalid_tcp_state)$(counter invalid_tcp_window)" "00"
expect "flows_tcp counts them over both tables" "$(counter flows_tcp)" "$((2 * NSRC))"

# ICMP errors: the kernel balances by addresses and protocol, so the port
# unreachable the server answers a datagram to a closed port with takes
# the other queue about half the time; it belongs to the datagram's flow
# all the same (else frag-needed is dropped too: PMTU black holes).
rel=$(counter icmp_related)
inv=$(counter invalid_icmp_error_flow)
for a in "${SRCS[@]}"; do
	ip netns exec "$NS_C" "$FLOWGEN" udp -d "$V4_S" -s "$a" -p 9 -n 1 \
		-f 1 -w 200 -t 5 >/dev/null 2>&1
done
expect "every port unreachable related to its flow, on either queue" \
	"$(($(counter icmp_related) - rel))" "$NSRC"
expect "no ICMP error judged against the wrong table" \
	"$(($(counter invalid_icmp_error_flow) - inv))" 0

check_accounting "end"
stop_daemon TERM
expect "SIGTERM: exit status 0" "$DAEMON_RC" 0
bound=$(ip netns exec "$NS_S" awk '$1 == 0 || $1 == 1' /proc/net/netfilter/nfnetlink_queue 2>/dev/null | wc -l)
expect "both queues unbound" "$bound" 0
done_testing
