#!/bin/bash
# Traffic flows through nfqtrackd, and its counters match what was sent:
# UDP and ICMP over IPv4 and IPv6 with exact packet and flow counts, TCP
# connections opened, used and closed.
. "$(dirname "$0")/lib.sh"

setup_net || { fail "network setup"; done_testing; }
start_syslog || { fail "syslog"; done_testing; }
write_conf "$T/nfqtrack.conf" </dev/null
start_daemon "$T/nfqtrack.conf" || { fail "daemon start"; done_testing; }
start_server

r=$(ip netns exec "$NS_C" "$FLOWGEN" udp -d "$V4_S" -p "$PORT" -n 50 -f 5 -w 1000)
expect "UDP/IPv4 echoed through the queue" "$r" "udp sent=50 recv=50"
r=$(ip netns exec "$NS_C" "$FLOWGEN" udp -d "$V6_S" -p "$PORT" -n 20 -f 2 -w 1000)
expect "UDP/IPv6 echoed through the queue" "$r" "udp sent=20 recv=20"
check "ICMP echo over IPv4" quiet ip netns exec "$NS_C" ping -q -c 5 -i 0.2 -W 1 "$V4_S"
check "ICMPv6 echo" quiet ip netns exec "$NS_C" ping -6 -q -c 3 -i 0.2 -W 1 "$V6_S"

# 50+50 UDP/IPv4, 20+20 UDP/IPv6, 5+5 ICMP, 3+3 ICMPv6 packets; the
# kernel's own multicast listener reports ride along, counted as untracked.
snapshot
expect "packets counted (less untracked listener reports)" \
	"$((S[packets] - S[untracked]))" 156
expect "accepted = packets" "${S[accepted]}" "${S[packets]}"
expect "nothing dropped" "${S[dropped]}" 0
expect "flows created: 5 + 2 UDP, 1 ICMP, 1 ICMPv6" "${S[flows_created]}" 9
expect "flows in the table" "${S[flows]}" 9
malformed=0
for k in "${!S[@]}"; do
	case $k in malformed_*) malformed=$((malformed + S[$k])) ;; esac
done
expect "no malformed packet" "$malformed" 0
expect "queue saw the same packets" "${S[queue_packets]}" "${S[packets]}"
# Every packet the kernel queued reached us, and none waits for a verdict.
expect "kernel queued what we received" "${S[kernel_id_sequence]}" "${S[queue_packets]}"
expect "no packet left waiting in the kernel" "${S[kernel_queue_total]}" 0
expect "kernel queue dropped nothing" "${S[kernel_queue_dropped]}" 0
expect "socket dropped nothing" "${S[kernel_user_dropped]}" 0

tcp_client "$V4_S"
r=$(tcp_cmd open 10 3000)
expect "10 TCP connections open" "$r" "open ok=10 fail=0"
r=$(tcp_cmd echo 3000)
expect "data flows on all of them" "$r" "echo ok=10 fail=0"
expect "TCP flows created" "$(counter flows_created)" 19
r=$(tcp_cmd close)
sleep 0.5
expect "flows stay for TIME_WAIT after close" "$(counter flows)" 19

# The same over IPv6.
tcp_client "$V6_S"
r=$(tcp_cmd open 4 3000)
expect "TCP/IPv6 connections open" "$r" "open ok=4 fail=0"
r=$(tcp_cmd echo 3000)
expect "TCP/IPv6 data" "$r" "echo ok=4 fail=0"

# Real connections from a real stack: every packet within its window,
# nothing invalid.
snapshot
invalid=0
for k in "${!S[@]}"; do
	case $k in invalid_*) invalid=$((invalid + S[$k])) ;; esac
done
expect "no invalid packet in real TCP traffic" "$invalid" 0
expect "no TCP packet ignored" "${S[tcp_ignored]}" 0

# Every counter nfqtrackctl prints is documented in its man page.
missing=$("$NFQTRACKCTL" -s "$CTL" stats | awk '{ print $1 }' | while read -r k; do
	grep -qw -- "$k" "$TOP/man/nfqtrackctl.8" || echo "$k"
done | tr '\n' ' ')
expect "every stats counter is in nfqtrackctl(8)" "$missing" ""

json=$("$NFQTRACKCTL" -s "$CTL" -o json stats)
check "stats -o json is JSON with the counters" \
	python3 -c 'import json,sys; d=json.loads(sys.argv[1]); assert d["flows_created"] == 23, d' "$json"

check_accounting "end"
stop_daemon TERM
expect "SIGTERM: exit status 0" "$DAEMON_RC" 0
check "final counters logged" wait_syslog \
	'^daemon\.notice nfqtrackd\[[0-9]+\]: stopping \(SIGTERM\): [0-9]+ packets'
done_testing
