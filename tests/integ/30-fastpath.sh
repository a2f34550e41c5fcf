#!/bin/bash
# nfqtrackd with fastpath = yes: its table made at start, TCP admitted at
# the SYN and UDP after fastpath_udp_after packets with a reply; their
# packets then pass by the kernel, off the queue (the queue rules skip
# SEEN, as the shipped ones do); list shows them [FAST]; flush empties the
# sets; a reload turns it off (the table goes, connections carry on
# through the queue) and on again; the stop removes the table.
QUEUE_RULES=no
. "$(dirname "$0")/lib.sh"

setup_net || { fail "network setup"; done_testing; }
# The server's side untracked by the kernel and queued, but for packets
# marked SEEN (the fast path's, or judged already).
for ipt in iptables ip6tables; do
	ip netns exec "$NS_S" $ipt -t raw -A PREROUTING -i veth-s -j CT --notrack
	ip netns exec "$NS_S" $ipt -t raw -A OUTPUT -o veth-s -j CT --notrack
	ip netns exec "$NS_S" $ipt -A INPUT -i veth-s -m mark ! --mark 0x01000000/0x01000000 -j NFQUEUE --queue-num 0
	ip netns exec "$NS_S" $ipt -A OUTPUT -o veth-s -m mark ! --mark 0x01000000/0x01000000 -j NFQUEUE --queue-num 0
done
start_syslog || { fail "syslog"; done_testing; }
write_conf "$T/on.conf" <<EOF
fastpath = yes
fastpath_udp_after = 8
EOF
write_conf "$T/off.conf" </dev/null
cp "$T/on.conf" "$T/nfqtrack.conf"
start_daemon "$T/nfqtrack.conf" || { fail "daemon start"; done_testing; }
start_server
nft_s() { ip netns exec "$NS_S" nft "$@" 2>/dev/null; }
elements() { nft_s list set inet nfqtrack "$1" | grep -c 'expires'; }
check "the table is made at start" nft_s list table inet nfqtrack

tcp_client "$V4_S"
r=$(tcp_cmd open 5 3000)
expect "5 TCP connections open" "$r" "open ok=5 fail=0"
for _ in $(seq 20); do
	r=$(tcp_cmd echo 3000)
	[ "$r" = "echo ok=5 fail=0" ] || break
done
expect "data flows on all of them, 20 times" "$r" "echo ok=5 fail=0"
snapshot
expect "the 5 SYNs admitted" "${S[fastpath_admitted]}" 5
expect "5 fast flows" "${S[fastpath_flows]}" 5
# 5 SYNs; the handshakes and 200 echoes went by the kernel.
expect_ge "the kernel carried the echoes: few packets queued (20 at most)" 20 "${S[queue_packets]}"
expect "fast flows listed [FAST]" "$("$NFQTRACKCTL" -s "$CTL" list 2>/dev/null | grep -c '\[FAST\]')" 5
expect "and \"fast\": true in JSON" "$("$NFQTRACKCTL" -s "$CTL" -o json list 2>/dev/null | grep -o '"fast":true' | wc -l)" 5
expect "both directions in est4" "$(elements est4)" 10

# UDP: 8 packets with a reply through the queue, the rest by the kernel.
r=$(ip netns exec "$NS_C" "$FLOWGEN" udp -d "$V4_S" -p "$PORT" -n 50 -f 1 -w 1000)
expect "UDP echoed" "$r" "udp sent=50 recv=50"
snapshot
expect "UDP admitted once" "${S[fastpath_admitted]}" 6
expect_ge "UDP: at most 9 of its 100 packets queued" 9 "$((S[queue_packets] - 5))"
expect "both directions in udp4" "$(elements udp4)" 2

# flush: the daemon's table and the kernel's sets.
r=$("$NFQTRACKCTL" -s "$CTL" flush 2>&1)
expect "flush" "$r" "nfqtrackctl: 6 flow entries have been deleted."
expect "est4 emptied" "$(elements est4)" 0
expect "udp4 emptied" "$(elements udp4)" 0
snapshot
expect "their elements forgotten" "${S[fastpath_forgotten]}" 6
# The connections carry on: picked up through the queue, admitted again.
r=$(tcp_cmd echo 3000)
expect "the connections carry on after the flush" "$r" "echo ok=5 fail=0"
expect_ge "picked up and admitted again" "$(counter fastpath_admitted)" 11

# A reload turns it off: the table goes, the connections carry on.
cp "$T/off.conf" "$T/nfqtrack.conf"
r=$("$NFQTRACKCTL" -s "$CTL" reload 2>&1)
expect "reload off" "$(echo "$r" | head -1)" "reloaded $T/nfqtrack.conf"
check "the table is gone" bash -c "! ip netns exec $NS_S nft list table inet nfqtrack >/dev/null 2>&1"
r=$(tcp_cmd echo 3000)
expect "the connections carry on with it off" "$r" "echo ok=5 fail=0"
expect "no fast flow left" "$(counter fastpath_flows)" 0
cp "$T/on.conf" "$T/nfqtrack.conf"
r=$("$NFQTRACKCTL" -s "$CTL" reload 2>&1)
expect "reload on" "$(echo "$r" | head -1)" "reloaded $T/nfqtrack.conf"
check "the table is back" nft_s list table inet nfqtrack
r=$(tcp_cmd echo 3000)
expect "and with it on again" "$r" "echo ok=5 fail=0"
tcp_done

snapshot
expect "no fast path error" "${S[fastpath_errors]}" 0
expect "nothing dropped" "${S[dropped]}" 0
stop_daemon
expect "nfqtrackd exit status" "$DAEMON_RC" 0
check "the stop removes the table" bash -c "! ip netns exec $NS_S nft list table inet nfqtrack >/dev/null 2>&1"

done_testing
